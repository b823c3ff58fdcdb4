//! Small value types shared by findings, incidents and replies: severity,
//! confidence, TLP and the reply language.
//!
//! Each type has a stable lowercase code (`as_str`), which is also its serde
//! form, and a lenient parser for what people type in chat: English or
//! Spanish words, any case, with or without accents (`alta`, `CRÍTICA`,
//! `TLP:AMBER`, `ámbar`). The render layer turns codes into localized text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Lowercases `text` and strips the accents used in Spanish and other Latin
/// scripts (`Hipótesis` -> `hipotesis`, `ñ` -> `n`), including combining marks
/// left by decomposed input.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        let base = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            // Combining diacritical marks, as in "hipo\u{301}tesis".
            '\u{300}'..='\u{36f}' => continue,
            other => other,
        };
        folded.push(base);
    }
    folded
}

/// The vocabulary a value is parsed against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    Severity,
    Confidence,
    Tlp,
    Lang,
}

impl ValueKind {
    /// Stable code of the vocabulary, for messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Severity => "severity",
            ValueKind::Confidence => "confidence",
            ValueKind::Tlp => "tlp",
            ValueKind::Lang => "lang",
        }
    }

    /// Codes of the accepted values, in order. Parsers also accept the
    /// Spanish words and the other spellings listed on each type.
    pub fn allowed(self) -> &'static [&'static str] {
        match self {
            ValueKind::Severity => &["low", "medium", "high", "critical"],
            ValueKind::Confidence => &["low", "medium", "high"],
            ValueKind::Tlp => &["clear", "green", "amber", "amber+strict", "red"],
            ValueKind::Lang => &["es", "en"],
        }
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value outside a type's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {kind} value {value:?}, expected one of: {}", kind.allowed().join(", "))]
pub struct InvalidValue {
    pub kind: ValueKind,
    pub value: String,
}

impl InvalidValue {
    /// Stable code for the render layer.
    pub fn code(&self) -> &'static str {
        "invalid_value"
    }

    fn new(kind: ValueKind, value: &str) -> Self {
        InvalidValue {
            kind,
            value: value.to_string(),
        }
    }
}

/// Severity of a finding or incident, ordered from `Low` to `Critical`.
///
/// Accepts `low`/`baja`/`bajo`, `medium`/`media`/`medio`/`moderate`/`moderada`,
/// `high`/`alta`/`alto` and `critical`/`crítica`/`crítico`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Stable lowercase code: `low`, `medium`, `high` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl FromStr for Severity {
    type Err = InvalidValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match fold(value.trim()).as_str() {
            "low" | "baja" | "bajo" => Ok(Severity::Low),
            "medium" | "media" | "medio" | "moderate" | "moderada" | "moderado" => {
                Ok(Severity::Medium)
            }
            "high" | "alta" | "alto" => Ok(Severity::High),
            "critical" | "critica" | "critico" => Ok(Severity::Critical),
            _ => Err(InvalidValue::new(ValueKind::Severity, value)),
        }
    }
}

/// The reporter's confidence in a finding, ordered from `Low` to `High`.
///
/// Accepts `low`/`baja`/`bajo`, `medium`/`media`/`medio` and `high`/`alta`/`alto`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    #[default]
    Medium,
    High,
}

impl Confidence {
    pub const ALL: [Confidence; 3] = [Confidence::Low, Confidence::Medium, Confidence::High];

    /// Stable lowercase code: `low`, `medium` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl FromStr for Confidence {
    type Err = InvalidValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match fold(value.trim()).as_str() {
            "low" | "baja" | "bajo" => Ok(Confidence::Low),
            "medium" | "media" | "medio" => Ok(Confidence::Medium),
            "high" | "alta" | "alto" => Ok(Confidence::High),
            _ => Err(InvalidValue::new(ValueKind::Confidence, value)),
        }
    }
}

/// Destination of a message with finding content, for the TLP check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The incident room of the finding.
    IncidentRoom,
    /// Any other room the organization configured for the bot (triage,
    /// hunting and IR channels, other incident rooms).
    OrganizationRoom,
    /// A room the organization did not configure, such as a shared channel
    /// with another organization.
    OutsideOrganization,
}

/// Traffic Light Protocol 2.0 label. Ordered from least to most restrictive:
/// `Clear < Green < Amber < AmberStrict < Red`, so the label of merged
/// findings is the `max` of theirs.
///
/// Parsing accepts the label with or without the `TLP:` prefix and English or
/// Spanish colour words (`rojo`, `ámbar`, `verde`, `blanco`). It takes `white`
/// as `Clear`, because TLP 2.0 renamed WHITE to CLEAR. `amber+strict` may be
/// spelled with `+`, `-`, `_`, a space or nothing between the words, and
/// `ámbar estricto` works too.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub enum Tlp {
    #[serde(rename = "clear")]
    Clear,
    #[serde(rename = "green")]
    Green,
    #[default]
    #[serde(rename = "amber")]
    Amber,
    #[serde(rename = "amber+strict")]
    AmberStrict,
    #[serde(rename = "red")]
    Red,
}

impl Tlp {
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// Stable lowercase code: `clear`, `green`, `amber`, `amber+strict` or `red`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// Returns the label as TLP 2.0 writes it, e.g. `TLP:AMBER+STRICT`. It is
    /// the same in every language.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// Returns whether the content of a finding (IOCs, hosts, users, evidence)
    /// may be posted in a room other than its incident room. It is false only
    /// for RED, whose content stays in the incident room. Elsewhere the bot
    /// may only post that a TLP:RED finding exists.
    pub fn allows_outside_incident_room(self) -> bool {
        self != Tlp::Red
    }

    /// Returns whether the content may be posted outside the organization's
    /// configured rooms, which is false for AMBER+STRICT and RED.
    ///
    /// NOTE: AMBER and below are not restricted further here. TLP 2.0 lets
    /// AMBER reach the recipient's clients on a need-to-know basis, which the
    /// room configuration has to express.
    pub fn allows_outside_organization(self) -> bool {
        self < Tlp::AmberStrict
    }

    /// Returns whether the content may be posted to `audience`, combining the
    /// two rules above.
    pub fn allows(self, audience: Audience) -> bool {
        match audience {
            Audience::IncidentRoom => true,
            Audience::OrganizationRoom => self.allows_outside_incident_room(),
            Audience::OutsideOrganization => self.allows_outside_organization(),
        }
    }
}

impl FromStr for Tlp {
    type Err = InvalidValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let folded = fold(value.trim());
        let label = folded
            .strip_prefix("tlp")
            .map(|rest| rest.trim_start_matches([':', ' ', '-', '_']))
            .unwrap_or(&folded);

        // Drop separators so "amber+strict", "amber strict" and "amberstrict" match.
        let compact: String = label
            .chars()
            .filter(|c| !matches!(c, '+' | '-' | '_' | ' ' | '\t'))
            .collect();
        match compact.as_str() {
            "clear" | "white" | "blanco" | "blanca" => Ok(Tlp::Clear),
            "green" | "verde" => Ok(Tlp::Green),
            "amber" | "ambar" => Ok(Tlp::Amber),
            "amberstrict" | "ambarstrict" | "amberestricto" | "ambarestricto" => {
                Ok(Tlp::AmberStrict)
            }
            "red" | "rojo" | "roja" => Ok(Tlp::Red),
            _ => Err(InvalidValue::new(ValueKind::Tlp, value)),
        }
    }
}

/// The language of replies in a room. Spanish is the default.
///
/// Accepts `es`, `español`, `castellano`, `spanish`, `en`, `english`,
/// `inglés` and locale tags such as `es-ES` or `en_US`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Es,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Es, Lang::En];

    /// Stable code: `es` or `en`, the name of the template folder.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }
}

impl FromStr for Lang {
    type Err = InvalidValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let folded = fold(value.trim());
        let primary = folded.split(['-', '_']).next().unwrap_or_default();
        match primary {
            "es" | "spa" | "espanol" | "castellano" | "spanish" => Ok(Lang::Es),
            "en" | "eng" | "english" | "ingles" => Ok(Lang::En),
            _ => Err(InvalidValue::new(ValueKind::Lang, value)),
        }
    }
}

macro_rules! display_as_code {
    ($($name:ty),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

display_as_code!(Severity, Confidence, Tlp, Lang);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_strips_accents_and_case() {
        assert_eq!(fold("Hipótesis"), "hipotesis");
        assert_eq!(fold("CRÍTICA"), "critica");
        assert_eq!(fold("Ámbar"), "ambar");
        assert_eq!(fold("año"), "ano");
        assert_eq!(fold("hipo\u{301}tesis"), "hipotesis");
        assert_eq!(fold("pingüino"), "pinguino");
    }

    #[test]
    fn severity_parses_english_and_spanish() {
        let cases = [
            ("low", Severity::Low),
            ("Baja", Severity::Low),
            ("MEDIUM", Severity::Medium),
            ("media", Severity::Medium),
            ("moderada", Severity::Medium),
            ("high", Severity::High),
            ("alta", Severity::High),
            (" Alto ", Severity::High),
            ("critical", Severity::Critical),
            ("crítica", Severity::Critical),
            ("CRITICA", Severity::Critical),
            ("crítico", Severity::Critical),
        ];
        for (input, expected) in cases {
            assert_eq!(input.parse::<Severity>(), Ok(expected), "input {input:?}");
        }
    }

    #[test]
    fn severity_rejects_unknown_word() {
        let error = "urgent".parse::<Severity>().unwrap_err();
        assert_eq!(error.kind, ValueKind::Severity);
        assert_eq!(error.value, "urgent");
        assert_eq!(error.code(), "invalid_value");
        assert_eq!(
            error.to_string(),
            "invalid severity value \"urgent\", expected one of: low, medium, high, critical"
        );
    }

    #[test]
    fn severity_orders_low_to_critical() {
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::Medium < Severity::High);
        assert!(Severity::High < Severity::Critical);
        assert_eq!(Severity::ALL.iter().max(), Some(&Severity::Critical));
    }

    #[test]
    fn codes_round_trip_through_parse() {
        for severity in Severity::ALL {
            assert_eq!(severity.as_str().parse::<Severity>(), Ok(severity));
        }
        for confidence in Confidence::ALL {
            assert_eq!(confidence.as_str().parse::<Confidence>(), Ok(confidence));
        }
        for tlp in Tlp::ALL {
            assert_eq!(tlp.as_str().parse::<Tlp>(), Ok(tlp));
            assert_eq!(tlp.label().parse::<Tlp>(), Ok(tlp));
        }
        for lang in Lang::ALL {
            assert_eq!(lang.as_str().parse::<Lang>(), Ok(lang));
        }
    }

    #[test]
    fn allowed_lists_match_codes() {
        let severities: Vec<_> = Severity::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(ValueKind::Severity.allowed(), severities.as_slice());
        let confidences: Vec<_> = Confidence::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(ValueKind::Confidence.allowed(), confidences.as_slice());
        let tlps: Vec<_> = Tlp::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(ValueKind::Tlp.allowed(), tlps.as_slice());
        let langs: Vec<_> = Lang::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(ValueKind::Lang.allowed(), langs.as_slice());
    }

    #[test]
    fn confidence_parses_english_and_spanish() {
        assert_eq!("Media".parse::<Confidence>(), Ok(Confidence::Medium));
        assert_eq!("alta".parse::<Confidence>(), Ok(Confidence::High));
        assert_eq!("low".parse::<Confidence>(), Ok(Confidence::Low));
        let error = "critical".parse::<Confidence>().unwrap_err();
        assert_eq!(error.kind, ValueKind::Confidence);
    }

    #[test]
    fn tlp_parses_labels_and_words() {
        let cases = [
            ("TLP:AMBER", Tlp::Amber),
            ("amber", Tlp::Amber),
            ("ámbar", Tlp::Amber),
            ("Ambar", Tlp::Amber),
            ("tlp:amber+strict", Tlp::AmberStrict),
            ("AMBER+STRICT", Tlp::AmberStrict),
            ("amber strict", Tlp::AmberStrict),
            ("amber-strict", Tlp::AmberStrict),
            ("ámbar estricto", Tlp::AmberStrict),
            ("TLP: RED", Tlp::Red),
            ("rojo", Tlp::Red),
            ("green", Tlp::Green),
            ("verde", Tlp::Green),
            ("clear", Tlp::Clear),
            ("TLP:WHITE", Tlp::Clear),
            ("white", Tlp::Clear),
            ("blanco", Tlp::Clear),
        ];
        for (input, expected) in cases {
            assert_eq!(input.parse::<Tlp>(), Ok(expected), "input {input:?}");
        }
    }

    #[test]
    fn tlp_rejects_unknown_colour() {
        for input in ["purple", "tlp:", "", "strict", "tlp:amberish"] {
            let error = input.parse::<Tlp>().unwrap_err();
            assert_eq!(error.kind, ValueKind::Tlp, "input {input:?}");
            assert_eq!(error.value, input);
        }
    }

    #[test]
    fn tlp_orders_by_restrictiveness() {
        assert!(Tlp::Clear < Tlp::Green);
        assert!(Tlp::Green < Tlp::Amber);
        assert!(Tlp::Amber < Tlp::AmberStrict);
        assert!(Tlp::AmberStrict < Tlp::Red);
        assert_eq!(Tlp::Amber.max(Tlp::Red), Tlp::Red);
    }

    #[test]
    fn tlp_red_stays_in_incident_room() {
        assert!(!Tlp::Red.allows_outside_incident_room());
        assert!(!Tlp::Red.allows_outside_organization());
        assert!(Tlp::Red.allows(Audience::IncidentRoom));
        assert!(!Tlp::Red.allows(Audience::OrganizationRoom));
        assert!(!Tlp::Red.allows(Audience::OutsideOrganization));
    }

    #[test]
    fn tlp_amber_strict_stays_in_organization() {
        assert!(Tlp::AmberStrict.allows_outside_incident_room());
        assert!(!Tlp::AmberStrict.allows_outside_organization());
        assert!(Tlp::AmberStrict.allows(Audience::OrganizationRoom));
        assert!(!Tlp::AmberStrict.allows(Audience::OutsideOrganization));
    }

    #[test]
    fn tlp_lower_labels_may_leave() {
        for tlp in [Tlp::Clear, Tlp::Green, Tlp::Amber] {
            assert!(tlp.allows(Audience::IncidentRoom), "{tlp}");
            assert!(tlp.allows(Audience::OrganizationRoom), "{tlp}");
            assert!(tlp.allows(Audience::OutsideOrganization), "{tlp}");
        }
    }

    #[test]
    fn lang_parses_names_and_tags() {
        let cases = [
            ("es", Lang::Es),
            ("ES", Lang::Es),
            ("español", Lang::Es),
            ("Espanol", Lang::Es),
            ("castellano", Lang::Es),
            ("es-ES", Lang::Es),
            ("es_MX", Lang::Es),
            ("en", Lang::En),
            ("English", Lang::En),
            ("inglés", Lang::En),
            ("en-US", Lang::En),
        ];
        for (input, expected) in cases {
            assert_eq!(input.parse::<Lang>(), Ok(expected), "input {input:?}");
        }
        assert_eq!("fr".parse::<Lang>().unwrap_err().kind, ValueKind::Lang);
    }

    #[test]
    fn defaults_are_medium_amber_spanish() {
        assert_eq!(Severity::default(), Severity::Medium);
        assert_eq!(Confidence::default(), Confidence::Medium);
        assert_eq!(Tlp::default(), Tlp::Amber);
        assert_eq!(Lang::default(), Lang::Es);
    }

    #[test]
    fn serde_uses_codes() {
        assert_eq!(
            serde_json::to_string(&Tlp::AmberStrict).unwrap(),
            "\"amber+strict\""
        );
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"critical\""
        );
        assert_eq!(serde_json::to_string(&Lang::Es).unwrap(), "\"es\"");
        let tlp: Tlp = serde_json::from_str("\"amber+strict\"").unwrap();
        assert_eq!(tlp, Tlp::AmberStrict);
        let confidence: Confidence = serde_json::from_str("\"high\"").unwrap();
        assert_eq!(confidence, Confidence::High);
        assert!(serde_json::from_str::<Severity>("\"alta\"").is_err());
    }

    #[test]
    fn display_prints_code() {
        assert_eq!(Tlp::AmberStrict.to_string(), "amber+strict");
        assert_eq!(Severity::High.to_string(), "high");
        assert_eq!(ValueKind::Tlp.to_string(), "tlp");
    }
}
