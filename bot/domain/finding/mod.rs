//! Parsing of `/finding` (`/hallazgo`) messages into validated findings.
//!
//! The input is everything after the command word. The rest of the first
//! line is the title. Each following line is one of:
//!
//! - **A key line**: optional leading whitespace, a single word of two or
//!   more letters, then a colon not followed by `//`, as in `tlp: amber`,
//!   `TLP:RED` or `hipótesis: …`. Keys ignore case and accents and exist in
//!   English and Spanish: hypothesis/hipótesis, techniques/técnicas/ttps,
//!   hosts/equipos, users/usuarios, severity/severidad, confidence/confianza,
//!   tlp, iocs, evidence/evidencia and notes/notas, singular forms included.
//!   An unknown key is an error naming the key, its line and the closest
//!   accepted key. A line whose text before the colon has several words
//!   ("Adjunto los eventos: …"), a URL (`http://…`) and a drive path (`C:\…`)
//!   are not key lines.
//! - **A list item**: `- item`, `* item`, `• item`, `1. item` or `1) item`
//!   after a list key (techniques, hosts, users, iocs, evidence). Blank lines
//!   may separate items. An item anywhere else is free text.
//! - **A fenced code block**: from a line starting with three or more
//!   backticks (an optional language tag may follow) to a line of at least as
//!   many backticks. Its content is kept verbatim as an evidence block
//!   wherever it appears. Nothing inside it is a key. Slack's form, where
//!   content starts right after the opening fence and the closing fence ends
//!   the last line, is accepted too.
//! - **Free text**: any other line, kept in `notes`.
//!
//! A list key splits its own value on commas. An item line is one value.
//! Techniques also split on semicolons and whitespace, and descriptive words
//! after an ID are ignored (`T1218.010 (Regsvr32)`). Evidence values are
//! never split.
//!
//! Each `iocs:` item must be exactly one indicator, possibly defanged.
//! Indicators are also extracted from the title, hypothesis, notes, evidence
//! and the `iocs:` items themselves (the host of a URL), and merged without
//! duplicates. Values listed under `hosts` are the affected assets, so an
//! extracted indicator equal to one of them is not reported, but an `iocs:`
//! item always is.
//! Technique IDs found in that text are added when the catalog lists them
//! and produce a warning otherwise.
//!
//! Severity and confidence default to medium and TLP to AMBER.
//! [`ParsedFinding::defaults_applied`] lists the defaults used, so the reply
//! can show them. The limits are the `MAX_*` constants. The input size is
//! checked before anything else.

mod build;
mod error;
mod keys;
mod lines;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::domain::attack::{Catalog, Resolved};
use crate::domain::ioc::{Extractor, Ioc};
use crate::domain::types::{Confidence, Severity, Tlp};

use build::{Fields, check_length};
pub use error::{FindingError, FindingWarning};
pub use keys::{Field, KEYS};

/// Maximum size of the whole input in bytes, below Matrix's 65,536-byte
/// event limit so that the bot's reply, which repeats the finding, fits too.
pub const MAX_INPUT_BYTES: usize = 48 * 1024;
/// Maximum title length in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Maximum length in characters of the hypothesis and of each host, user,
/// technique and IOC value. Evidence and notes are limited only by
/// [`MAX_INPUT_BYTES`].
pub const MAX_VALUE_CHARS: usize = 2_000;
/// Maximum values in one list field (hosts, users, techniques, iocs, evidence).
pub const MAX_LIST_ITEMS: usize = 50;
/// Maximum IOCs in a finding, listed and extracted together.
pub const MAX_IOCS: usize = 500;
/// Maximum techniques in a finding, listed and found in the text together.
pub const MAX_TECHNIQUES: usize = 30;

/// A validated finding, ready to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedFinding {
    pub title: String,
    pub hypothesis: Option<String>,
    /// Listed techniques first, then those found in the text, without
    /// duplicates.
    pub techniques: Vec<Resolved>,
    /// Affected hosts, without case-insensitive duplicates.
    pub hosts: Vec<String>,
    /// Affected accounts, without case-insensitive duplicates.
    pub users: Vec<String>,
    pub severity: Severity,
    pub confidence: Confidence,
    pub tlp: Tlp,
    /// Listed IOCs first, then extracted ones, without duplicates.
    pub iocs: Vec<Ioc>,
    /// Code blocks and `evidence:` values, verbatim, in order.
    pub evidence: Vec<String>,
    /// Free-text lines and `notes:` values, joined by newlines.
    pub notes: String,
    pub warnings: Vec<FindingWarning>,
    /// Fields that were absent and took their default
    /// ([`Field::Severity`], [`Field::Confidence`], [`Field::Tlp`]).
    pub defaults_applied: Vec<Field>,
}

/// Most errors [`parse_finding_all`] returns for one message; the reply
/// counts the rest.
pub const MAX_ERRORS: usize = 10;

/// Parses and validates a finding, returning its first error (see
/// [`parse_finding_all`]).
pub fn parse_finding(
    input: &str,
    catalog: &Catalog,
    extractor: &Extractor,
) -> Result<ParsedFinding, FindingError> {
    parse_finding_all(input, catalog, extractor).map_err(|errors| {
        errors
            .errors
            .into_iter()
            .next()
            .expect("a failed parse has an error")
    })
}

/// The errors of a finding that cannot be stored, in line order: at most
/// [`MAX_ERRORS`], with the number left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingErrors {
    pub errors: Vec<FindingError>,
    pub omitted: usize,
}

/// Parses and validates a finding. See the module documentation for the
/// syntax, the defaults and the limits. A mistake on one line does not stop
/// the parse, so every line with a mistake is reported at once. Limits on
/// the whole finding (counts of values) are checked only when no line has a
/// mistake.
pub fn parse_finding_all(
    input: &str,
    catalog: &Catalog,
    extractor: &Extractor,
) -> Result<ParsedFinding, FindingErrors> {
    // Checked first, so an oversized message costs no scan.
    if input.len() > MAX_INPUT_BYTES {
        return Err(FindingErrors::from(vec![FindingError::TooLong {
            field: Field::Input,
            length: input.len(),
            max: MAX_INPUT_BYTES,
            line: None,
        }]));
    }

    let mut errors = Vec::new();
    let (title_line, body) = input.split_once('\n').unwrap_or((input, ""));
    let title = title_line.trim();
    if title.is_empty() {
        errors.push(FindingError::EmptyTitle);
    } else if let Err(error) = check_length(Field::Title, title, MAX_TITLE_CHARS, 1) {
        errors.push(error);
    }

    let mut fields = Fields::default();
    for element in lines::split(body, 2) {
        if matches!(element, lines::Element::Invalid(_))
            && let Err(error) = fields.close_list()
        {
            errors.push(error);
        }
        if let Err(error) = fields.add(element, catalog, extractor) {
            errors.push(error);
            errors.append(&mut fields.later_errors);
        }
    }
    if !errors.is_empty() {
        return Err(FindingErrors::from(errors));
    }
    fields
        .finish(title, catalog, extractor)
        .map_err(|error| FindingErrors::from(vec![error]))
}

impl From<Vec<FindingError>> for FindingErrors {
    /// Sorts by line (errors without a line last) and keeps the first
    /// [`MAX_ERRORS`].
    fn from(mut errors: Vec<FindingError>) -> Self {
        errors.sort_by_key(|error| error.line().unwrap_or(usize::MAX));
        let omitted = errors.len().saturating_sub(MAX_ERRORS);
        errors.truncate(MAX_ERRORS);
        Self { errors, omitted }
    }
}
