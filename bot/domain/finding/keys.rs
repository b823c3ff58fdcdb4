//! The `key:` names of a finding in English and Spanish, and the lookup that
//! ignores case and accents and suggests the closest name for a typo.

use serde::{Deserialize, Serialize};

use crate::domain::types::fold;

/// A part of a finding, as named in errors, limits and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The whole text after the command word.
    Input,
    Title,
    Hypothesis,
    Techniques,
    Hosts,
    Users,
    Severity,
    Confidence,
    Tlp,
    Iocs,
    Evidence,
    Notes,
}

impl Field {
    /// Stable code, the English key name.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Input => "input",
            Field::Title => "title",
            Field::Hypothesis => "hypothesis",
            Field::Techniques => "techniques",
            Field::Hosts => "hosts",
            Field::Users => "users",
            Field::Severity => "severity",
            Field::Confidence => "confidence",
            Field::Tlp => "tlp",
            Field::Iocs => "iocs",
            Field::Evidence => "evidence",
            Field::Notes => "notes",
        }
    }

    /// Returns whether the key takes several values, by commas or `- item` lines.
    pub(super) fn is_list(self) -> bool {
        matches!(
            self,
            Field::Techniques | Field::Hosts | Field::Users | Field::Iocs | Field::Evidence
        )
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every accepted key as people write it, with the field it sets. The first
/// spelling of each language is the one suggested for typos.
pub const KEYS: &[(&str, Field)] = &[
    ("hypothesis", Field::Hypothesis),
    ("hipótesis", Field::Hypothesis),
    ("techniques", Field::Techniques),
    ("technique", Field::Techniques),
    ("técnicas", Field::Techniques),
    ("técnica", Field::Techniques),
    ("ttps", Field::Techniques),
    ("ttp", Field::Techniques),
    ("hosts", Field::Hosts),
    ("host", Field::Hosts),
    ("equipos", Field::Hosts),
    ("equipo", Field::Hosts),
    ("users", Field::Users),
    ("user", Field::Users),
    ("usuarios", Field::Users),
    ("usuario", Field::Users),
    ("severity", Field::Severity),
    ("severidad", Field::Severity),
    ("confidence", Field::Confidence),
    ("confianza", Field::Confidence),
    ("tlp", Field::Tlp),
    ("iocs", Field::Iocs),
    ("ioc", Field::Iocs),
    ("evidence", Field::Evidence),
    ("evidencia", Field::Evidence),
    ("evidencias", Field::Evidence),
    ("notes", Field::Notes),
    ("note", Field::Notes),
    ("notas", Field::Notes),
    ("nota", Field::Notes),
];

/// Minimum similarity (normalized Damerau-Levenshtein, 0 to 1) for a key to
/// be suggested. 0.6 accepts one typo in a three-letter key (`tpl` -> `tlp`).
const SUGGESTION_THRESHOLD: f64 = 0.6;

/// Looks up the field a key sets, ignoring case and accents.
pub(super) fn lookup(key: &str) -> Option<Field> {
    let folded = fold(key);
    KEYS.iter()
        .find(|(name, _)| fold(name) == folded)
        .map(|(_, field)| *field)
}

/// Finds the accepted key closest to an unknown one, if any is close enough.
/// A key that starts an accepted key (`sev`, `conf`) also matches.
pub(super) fn suggest(key: &str) -> Option<&'static str> {
    let folded = fold(key);
    let mut best: Option<(f64, &'static str)> = None;
    for (name, _) in KEYS {
        let candidate = fold(name);
        let mut score = strsim::normalized_damerau_levenshtein(&folded, &candidate);
        if folded.chars().count() >= 3 && candidate.starts_with(&folded) {
            score = score.max(0.9);
        }
        if score >= SUGGESTION_THRESHOLD && best.is_none_or(|(top, _)| score > top) {
            best = Some((score, name));
        }
    }
    best.map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_accents() {
        assert_eq!(lookup("hipótesis"), Some(Field::Hypothesis));
        assert_eq!(lookup("HIPOTESIS"), Some(Field::Hypothesis));
        assert_eq!(lookup("Técnicas"), Some(Field::Techniques));
        assert_eq!(lookup("tecnica"), Some(Field::Techniques));
        assert_eq!(lookup("TTPs"), Some(Field::Techniques));
        assert_eq!(lookup("Equipo"), Some(Field::Hosts));
        assert_eq!(lookup("usuario"), Some(Field::Users));
        assert_eq!(lookup("IOC"), Some(Field::Iocs));
        assert_eq!(lookup("Evidencia"), Some(Field::Evidence));
        assert_eq!(lookup("resumen"), None);
    }

    #[test]
    fn every_field_but_input_and_title_has_keys() {
        for field in [
            Field::Hypothesis,
            Field::Techniques,
            Field::Hosts,
            Field::Users,
            Field::Severity,
            Field::Confidence,
            Field::Tlp,
            Field::Iocs,
            Field::Evidence,
            Field::Notes,
        ] {
            assert!(KEYS.iter().any(|(_, f)| *f == field), "{field}");
            assert_eq!(lookup(field.as_str()), Some(field), "{field}");
        }
    }

    #[test]
    fn suggest_fixes_typos() {
        assert_eq!(suggest("hipotesys"), Some("hipótesis"));
        assert_eq!(suggest("hypotesis"), Some("hypothesis"));
        assert_eq!(suggest("sevridad"), Some("severidad"));
        assert_eq!(suggest("tpl"), Some("tlp"));
        assert_eq!(suggest("sev"), Some("severity"));
        assert_eq!(suggest("equpos"), Some("equipos"));
    }

    #[test]
    fn suggest_nothing_for_unrelated_words() {
        assert_eq!(suggest("sysmon"), None);
        assert_eq!(suggest("adjunto"), None);
        assert_eq!(suggest("xy"), None);
    }
}
