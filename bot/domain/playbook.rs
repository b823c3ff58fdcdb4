//! Response playbooks: ordered checklists that `/playbook <name>` posts in an
//! incident room.
//!
//! A playbook is a YAML document with an `id`, optional `aliases`, a `title`
//! in Spanish and English, and `steps`. Each step has both texts and the
//! response phase it belongs to:
//!
//! ```yaml
//! id: malware-persistente
//! aliases: [persistent-malware]
//! title:
//!   es: Malware persistente
//!   en: Persistent malware
//! steps:
//!   - phase: contain
//!     es: Aislar el equipo de la red.
//!     en: Isolate the host from the network.
//! ```
//!
//! Names (`id` and `aliases`) are lowercase ASCII letters, digits and hyphens.
//! Lookup ignores case and accents and treats spaces and underscores as
//! hyphens, so `Malware Persistente` finds `malware-persistente`. The shipped
//! playbooks live in `playbooks/` and are embedded in the binary.
//! Operators can add playbooks or override shipped ones by `id`: the app
//! reads their files and passes the contents to [`Playbooks::parse_files`].

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::types::{Lang, fold};

/// The playbooks shipped in `playbooks/`, as (file name, contents).
const SHIPPED: [(&str, &str); 3] = [
    (
        "malware-persistente.yml",
        include_str!("../../playbooks/malware-persistente.yml"),
    ),
    (
        "cuenta-comprometida.yml",
        include_str!("../../playbooks/cuenta-comprometida.yml"),
    ),
    ("phishing.yml", include_str!("../../playbooks/phishing.yml")),
];

/// Response phase of a step, after the incident handling phases of NIST
/// SP 800-61: analysis, containment, eradication and recovery, plus the
/// communication that runs through all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Analysis,
    Communication,
    Contain,
    Eradicate,
    Recover,
}

impl Phase {
    /// Stable code, also the YAML value. `contain`, `eradicate` and `recover`
    /// match the `/action` kinds.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Analysis => "analysis",
            Phase::Communication => "communication",
            Phase::Contain => "contain",
            Phase::Eradicate => "eradicate",
            Phase::Recover => "recover",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    #[serde(deserialize_with = "non_empty")]
    pub es: String,
    #[serde(deserialize_with = "non_empty")]
    pub en: String,
}

impl Localized {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Es => &self.es,
            Lang::En => &self.en,
        }
    }
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub phase: Phase,
    #[serde(deserialize_with = "non_empty")]
    pub es: String,
    #[serde(deserialize_with = "non_empty")]
    pub en: String,
}

impl Step {
    pub fn text(&self, lang: Lang) -> &str {
        match lang {
            Lang::Es => &self.es,
            Lang::En => &self.en,
        }
    }
}

/// A parsed, validated playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default, deserialize_with = "aliases")]
    pub aliases: Vec<String>,
    pub title: Localized,
    #[serde(deserialize_with = "steps")]
    pub steps: Vec<Step>,
}

impl Playbook {
    /// Parses one YAML document. `file` names the source in errors.
    pub fn parse(file: &str, yaml: &str) -> Result<Playbook, PlaybookError> {
        let playbook: Playbook = serde_yaml_ng::from_str(yaml).map_err(|error| {
            let location = error.location();
            let mut message = error.to_string();

            // The location goes in its own fields, so drop it from the text.
            if let Some(location) = &location {
                let suffix = format!(" at line {} column {}", location.line(), location.column());
                if let Some(stripped) = message.strip_suffix(&suffix) {
                    message = stripped.to_string();
                }
            }
            PlaybookError::Invalid {
                file: file.to_string(),
                line: location.as_ref().map(|l| l.line()),
                column: location.as_ref().map(|l| l.column()),
                message,
            }
        })?;
        if let Some(alias) = playbook.aliases.iter().find(|a| **a == playbook.id) {
            return Err(PlaybookError::Invalid {
                file: file.to_string(),
                line: None,
                column: None,
                message: format!("alias {alias:?} repeats the id"),
            });
        }
        Ok(playbook)
    }

    /// Iterates over the id, then the aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// A playbook file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlaybookError {
    /// Invalid YAML, a wrong or missing field, or a value that fails
    /// validation. `line` and `column` (1-based) are known for everything the
    /// YAML parser reports, which covers all checks but a repeated alias. For
    /// a value that fails validation they point at the start of the mapping
    /// that contains it (the step, for an empty step text), and `message`
    /// starts with the path, such as `steps[0]`.
    #[error("{file}{}: {message}", location(*line, *column))]
    Invalid {
        file: String,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// Two playbooks claim the same id or alias.
    #[error("playbook name {name:?} is used in both {first_file} and {second_file}")]
    DuplicateName {
        name: String,
        first_file: String,
        second_file: String,
    },
}

impl PlaybookError {
    /// Stable code for the render layer and `check-config`.
    pub fn code(&self) -> &'static str {
        match self {
            PlaybookError::Invalid { .. } => "playbook_invalid",
            PlaybookError::DuplicateName { .. } => "playbook_duplicate_name",
        }
    }
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(":{line}:{column}"),
        (Some(line), None) => format!(":{line}"),
        _ => String::new(),
    }
}

/// A `/playbook` name that matches no playbook.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown playbook {name:?}, available: {}", available.join(", "))]
pub struct UnknownPlaybook {
    pub name: String,
    /// Every accepted name: each playbook's id, then its aliases, in load
    /// order.
    pub available: Vec<String>,
}

impl UnknownPlaybook {
    /// Stable code for the render layer.
    pub fn code(&self) -> &'static str {
        "playbook_unknown"
    }
}

/// A set of playbooks with unique names.
#[derive(Debug, Clone, Default)]
pub struct Playbooks {
    /// (file name, playbook), in load order.
    entries: Vec<(String, Playbook)>,
}

impl Playbooks {
    /// Returns the playbooks shipped in `playbooks/`, parsed on first use.
    ///
    /// Panics if a shipped file is invalid, which the unit tests rule out.
    pub fn shipped() -> &'static Playbooks {
        static SHIPPED_PLAYBOOKS: OnceLock<Playbooks> = OnceLock::new();
        SHIPPED_PLAYBOOKS
            .get_or_init(|| Playbooks::parse_files(SHIPPED).expect("shipped playbooks are valid"))
    }

    /// Parses (file name, YAML) pairs, such as the files of a configured
    /// directory. Names must be unique across all files.
    pub fn parse_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Playbooks, PlaybookError> {
        let mut playbooks = Playbooks::default();
        for (file, yaml) in files {
            let playbook = Playbook::parse(file, yaml)?;
            playbooks.insert(file, playbook)?;
        }
        Ok(playbooks)
    }

    /// Adds `overrides` to these playbooks. An override with the id of an
    /// existing playbook replaces it. Any other name clash is an error.
    pub fn with_overrides(mut self, overrides: Playbooks) -> Result<Playbooks, PlaybookError> {
        for (file, playbook) in overrides.entries {
            self.entries
                .retain(|(_, existing)| existing.id != playbook.id);
            self.insert(&file, playbook)?;
        }
        Ok(self)
    }

    /// Finds a playbook by id or alias, ignoring case and accents and taking
    /// spaces and underscores as hyphens.
    pub fn find(&self, name: &str) -> Result<&Playbook, UnknownPlaybook> {
        let wanted = lookup_key(name);
        self.iter()
            .find(|playbook| playbook.names().any(|n| n == wanted))
            .ok_or_else(|| UnknownPlaybook {
                name: name.to_string(),
                available: self
                    .iter()
                    .flat_map(|p| p.names().map(str::to_string))
                    .collect(),
            })
    }

    /// Playbooks in load order.
    pub fn iter(&self) -> impl Iterator<Item = &Playbook> {
        self.entries.iter().map(|(_, playbook)| playbook)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, file: &str, playbook: Playbook) -> Result<(), PlaybookError> {
        for name in playbook.names() {
            let clash = self
                .entries
                .iter()
                .find(|(_, existing)| existing.names().any(|n| n == name));
            if let Some((first_file, _)) = clash {
                return Err(PlaybookError::DuplicateName {
                    name: name.to_string(),
                    first_file: first_file.clone(),
                    second_file: file.to_string(),
                });
            }
        }
        self.entries.push((file.to_string(), playbook));
        Ok(())
    }
}

fn lookup_key(name: &str) -> String {
    fold(name.trim())
        .chars()
        .map(|c| if c == ' ' || c == '_' { '-' } else { c })
        .collect()
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

// Validation runs inside deserialization so that serde_yaml_ng reports the
// line and column of the offending value.

fn non_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.trim().is_empty() {
        return Err(serde::de::Error::custom("text must not be empty"));
    }
    Ok(text.trim().to_string())
}

fn id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let id = String::deserialize(deserializer)?;
    if !is_valid_name(&id) {
        return Err(serde::de::Error::custom(format!(
            "invalid id {id:?}, expected lowercase ASCII letters, digits and inner hyphens"
        )));
    }
    Ok(id)
}

fn aliases<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let aliases = Vec::<String>::deserialize(deserializer)?;
    if let Some(bad) = aliases.iter().find(|n| !is_valid_name(n)) {
        return Err(serde::de::Error::custom(format!(
            "invalid alias {bad:?}, expected lowercase ASCII letters, digits and inner hyphens"
        )));
    }
    Ok(aliases)
}

fn steps<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Step>, D::Error> {
    let steps = Vec::<Step>::deserialize(deserializer)?;
    if steps.is_empty() {
        return Err(serde::de::Error::custom(
            "a playbook needs at least one step",
        ));
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "\
id: prueba
aliases: [test-playbook]
title:
  es: Prueba
  en: Test
steps:
  - phase: contain
    es: Aislar el equipo.
    en: Isolate the host.
";

    #[test]
    fn shipped_playbooks_parse() {
        let shipped = Playbooks::shipped();
        assert_eq!(shipped.len(), 3);
        for playbook in shipped.iter() {
            assert!(!playbook.steps.is_empty(), "{}", playbook.id);
            assert!(!playbook.aliases.is_empty(), "{}", playbook.id);
        }
    }

    #[test]
    fn malware_playbook_covers_the_response() {
        let playbook = Playbooks::shipped().find("malware-persistente").unwrap();
        assert_eq!(playbook.title.get(Lang::Es), "Malware persistente");
        assert_eq!(playbook.title.get(Lang::En), "Persistent malware");
        let phases: Vec<Phase> = playbook.steps.iter().map(|s| s.phase).collect();
        for phase in [
            Phase::Contain,
            Phase::Eradicate,
            Phase::Recover,
            Phase::Analysis,
        ] {
            assert!(phases.contains(&phase), "missing {phase}");
        }

        // Containment comes before eradication, and eradication before recovery.
        let first = |phase| phases.iter().position(|p| *p == phase).unwrap();
        assert!(first(Phase::Contain) < first(Phase::Eradicate));
        assert!(first(Phase::Eradicate) < first(Phase::Recover));

        // The persistence step names the usual Windows locations.
        let english: String = playbook.steps.iter().map(|s| s.text(Lang::En)).collect();
        for place in ["Run", "services", "scheduled tasks", "WMI"] {
            assert!(english.contains(place), "missing {place}");
        }
    }

    #[test]
    fn find_by_alias_ignores_case_and_accents() {
        let shipped = Playbooks::shipped();
        for name in [
            "malware-persistente",
            "persistent-malware",
            "Malware Persistente",
            "MALWARE_PERSISTENTE",
            " persistent-malware ",
        ] {
            assert_eq!(
                shipped.find(name).unwrap().id,
                "malware-persistente",
                "{name:?}"
            );
        }
        assert_eq!(
            shipped.find("Cuenta Comprometida").unwrap().id,
            "cuenta-comprometida"
        );
        assert_eq!(
            shipped.find("compromised-account").unwrap().id,
            "cuenta-comprometida"
        );
        assert_eq!(shipped.find("phishing").unwrap().id, "phishing");
        assert_eq!(shipped.find("suplantación").unwrap().id, "phishing");
    }

    #[test]
    fn find_unknown_lists_names() {
        let error = Playbooks::shipped().find("ransomware").unwrap_err();
        assert_eq!(error.name, "ransomware");
        assert_eq!(error.code(), "playbook_unknown");
        assert_eq!(
            error.available.first().map(String::as_str),
            Some("malware-persistente")
        );
        assert!(error.available.contains(&"persistent-malware".to_string()));
        assert!(error.available.contains(&"phishing".to_string()));
    }

    #[test]
    fn parse_minimal_playbook() {
        let playbook = Playbook::parse("prueba.yml", MINIMAL).unwrap();
        assert_eq!(playbook.id, "prueba");
        assert_eq!(playbook.aliases, ["test-playbook"]);
        assert_eq!(playbook.steps.len(), 1);
        assert_eq!(playbook.steps[0].phase, Phase::Contain);
        assert_eq!(playbook.steps[0].text(Lang::Es), "Aislar el equipo.");
        assert_eq!(playbook.steps[0].text(Lang::En), "Isolate the host.");
        assert_eq!(
            playbook.names().collect::<Vec<_>>(),
            ["prueba", "test-playbook"]
        );
    }

    #[test]
    fn parse_error_names_file_and_line() {
        let yaml = MINIMAL.replace("phase: contain", "phase: panic");
        let error = Playbook::parse("custom/prueba.yml", &yaml).unwrap_err();
        let PlaybookError::Invalid {
            file,
            line,
            message,
            ..
        } = &error
        else {
            panic!("expected Invalid, got {error:?}");
        };
        assert_eq!(file, "custom/prueba.yml");
        assert_eq!(*line, Some(7));
        assert!(message.contains("panic"), "{message}");
        assert_eq!(error.code(), "playbook_invalid");
        assert!(
            error.to_string().starts_with("custom/prueba.yml:7:"),
            "{error}"
        );
    }

    #[test]
    fn parse_rejects_empty_step_text() {
        let yaml = MINIMAL.replace("en: Isolate the host.", "en: \"  \"");
        let error = Playbook::parse("prueba.yml", &yaml).unwrap_err();
        let PlaybookError::Invalid { line, message, .. } = &error else {
            panic!("expected Invalid, got {error:?}");
        };
        // The line of the step with the empty text.
        assert_eq!(*line, Some(7), "{error}");
        assert_eq!(message, "steps[0]: text must not be empty");
        assert_eq!(
            error.to_string(),
            "prueba.yml:7:5: steps[0]: text must not be empty"
        );
    }

    #[test]
    fn parse_rejects_missing_language() {
        let yaml = MINIMAL.replace("    en: Isolate the host.\n", "");
        let error = Playbook::parse("prueba.yml", &yaml).unwrap_err();
        assert!(error.to_string().contains("en"), "{error}");
        let PlaybookError::Invalid { line, .. } = error else {
            panic!("expected Invalid");
        };
        assert!(line.is_some());
    }

    #[test]
    fn parse_rejects_bad_names() {
        for (from, to) in [
            ("id: prueba", "id: Prueba Uno"),
            ("[test-playbook]", "[\"con espacio\"]"),
        ] {
            let yaml = MINIMAL.replace(from, to);
            let error = Playbook::parse("prueba.yml", &yaml).unwrap_err();
            let PlaybookError::Invalid { line, message, .. } = &error else {
                panic!("expected Invalid, got {error:?}");
            };
            assert!(message.contains("invalid"), "{message}");
            assert!(line.is_some(), "{error}");
        }
    }

    #[test]
    fn parse_rejects_no_steps_and_unknown_fields() {
        let no_steps = "id: x\ntitle: {es: X, en: X}\nsteps: []\n";
        let error = Playbook::parse("x.yml", no_steps).unwrap_err();
        assert!(error.to_string().contains("at least one step"), "{error}");

        let extra = format!("{MINIMAL}owner: ana\n");
        let error = Playbook::parse("x.yml", &extra).unwrap_err();
        assert!(error.to_string().contains("owner"), "{error}");

        let error = Playbook::parse("x.yml", "id: [unclosed").unwrap_err();
        assert_eq!(error.code(), "playbook_invalid");
    }

    #[test]
    fn parse_rejects_alias_equal_to_id() {
        let yaml = MINIMAL.replace("[test-playbook]", "[prueba]");
        let error = Playbook::parse("prueba.yml", &yaml).unwrap_err();
        assert!(error.to_string().contains("repeats the id"), "{error}");
    }

    #[test]
    fn parse_files_rejects_duplicate_names() {
        let other = MINIMAL.replace("id: prueba", "id: otra");
        let error =
            Playbooks::parse_files([("a.yml", MINIMAL), ("b.yml", other.as_str())]).unwrap_err();
        assert_eq!(
            error,
            PlaybookError::DuplicateName {
                name: "test-playbook".into(),
                first_file: "a.yml".into(),
                second_file: "b.yml".into(),
            }
        );
        assert_eq!(error.code(), "playbook_duplicate_name");
    }

    #[test]
    fn overrides_replace_by_id() {
        let custom = "\
id: malware-persistente
aliases: [persistent-malware]
title: {es: Malware persistente (local), en: Persistent malware (local)}
steps:
  - {phase: contain, es: Llamar al SOC 24x7., en: Call the 24x7 SOC.}
";
        let overrides =
            Playbooks::parse_files([("local.yml", custom), ("prueba.yml", MINIMAL)]).unwrap();
        let merged = Playbooks::shipped()
            .clone()
            .with_overrides(overrides)
            .unwrap();
        assert_eq!(merged.len(), 4);
        let playbook = merged.find("persistent-malware").unwrap();
        assert_eq!(playbook.steps.len(), 1);
        assert_eq!(playbook.title.en, "Persistent malware (local)");
        assert_eq!(merged.find("test-playbook").unwrap().id, "prueba");
    }

    #[test]
    fn overrides_reject_alias_clash() {
        let clash = MINIMAL.replace("[test-playbook]", "[phishing]");
        let overrides = Playbooks::parse_files([("mine.yml", clash.as_str())]).unwrap();
        let error = Playbooks::shipped()
            .clone()
            .with_overrides(overrides)
            .unwrap_err();
        assert_eq!(
            error,
            PlaybookError::DuplicateName {
                name: "phishing".into(),
                first_file: "phishing.yml".into(),
                second_file: "mine.yml".into(),
            }
        );
    }

    #[test]
    fn phase_codes() {
        assert_eq!(Phase::Contain.as_str(), "contain");
        assert_eq!(
            serde_json::to_string(&Phase::Eradicate).unwrap(),
            "\"eradicate\""
        );
    }
}
