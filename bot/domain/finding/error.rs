//! Errors that reject a finding ([`FindingError`]) and warnings that the
//! reply shows about an accepted one ([`FindingWarning`]).
//!
//! Both carry data and a stable `code()`, so the render layer picks a
//! localized message. Their `Display` text is English for logs only.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::keys::Field;
use crate::domain::attack::{AttackError, AttackWarning};
use crate::domain::ioc::{IocError, IocKind};

/// A finding that cannot be stored as written. Line numbers are 1-based and
/// count the command line as line 1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FindingError {
    #[error("the finding has no title")]
    EmptyTitle,
    /// `length` and `max` are in bytes for [`Field::Input`] and in characters
    /// otherwise.
    #[error("{field} is too long ({length} > {max})")]
    TooLong {
        field: Field,
        length: usize,
        max: usize,
        line: Option<usize>,
    },
    #[error("too many {field} ({count} > {max})")]
    TooMany {
        field: Field,
        count: usize,
        max: usize,
    },
    /// `key` is as typed. `suggestion` is the closest accepted key, if any is
    /// close.
    #[error("unknown key {key:?} on line {line}")]
    UnknownKey {
        key: String,
        line: usize,
        suggestion: Option<&'static str>,
    },
    #[error("key {key:?} on line {line} repeats line {first_line}")]
    DuplicateKey {
        key: String,
        field: Field,
        line: usize,
        first_line: usize,
    },
    /// A key with nothing after it and no items below it.
    #[error("{field} on line {line} has no value")]
    MissingValue { field: Field, line: usize },
    /// `allowed` lists the codes of the accepted values.
    #[error("invalid {field} value {value:?} on line {line}")]
    InvalidValue {
        field: Field,
        value: String,
        line: usize,
        allowed: &'static [&'static str],
    },
    #[error("invalid technique {value:?} on line {line}")]
    InvalidTechnique {
        value: String,
        line: usize,
        #[source]
        cause: AttackError,
    },
    /// An `iocs:` item that is not one indicator of the `accepted` kinds.
    #[error("invalid indicator {value:?} on line {line}")]
    InvalidIoc {
        value: String,
        line: usize,
        accepted: &'static [IocKind],
        #[source]
        cause: IocError,
    },
    /// `line` is the line of the opening fence.
    #[error("code block opened on line {line} is not closed")]
    UnterminatedCodeBlock { line: usize },
}

impl FindingError {
    /// Stable code for the render layer.
    pub fn code(&self) -> &'static str {
        match self {
            FindingError::EmptyTitle => "finding_empty_title",
            FindingError::TooLong { .. } => "finding_too_long",
            FindingError::TooMany { .. } => "finding_too_many",
            FindingError::UnknownKey { .. } => "finding_unknown_key",
            FindingError::DuplicateKey { .. } => "finding_duplicate_key",
            FindingError::MissingValue { .. } => "finding_missing_value",
            FindingError::InvalidValue { .. } => "finding_invalid_value",
            FindingError::InvalidTechnique { .. } => "finding_invalid_technique",
            FindingError::InvalidIoc { .. } => "finding_invalid_ioc",
            FindingError::UnterminatedCodeBlock { .. } => "finding_unterminated_code_block",
        }
    }

    /// Returns the line the error is on, when it is about one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            FindingError::EmptyTitle => Some(1),
            FindingError::TooLong { line, .. } => *line,
            FindingError::TooMany { .. } => None,
            FindingError::UnknownKey { line, .. }
            | FindingError::DuplicateKey { line, .. }
            | FindingError::MissingValue { line, .. }
            | FindingError::InvalidValue { line, .. }
            | FindingError::InvalidTechnique { line, .. }
            | FindingError::InvalidIoc { line, .. }
            | FindingError::UnterminatedCodeBlock { line } => Some(*line),
        }
    }
}

/// Something the reply should point out about an accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FindingWarning {
    /// A technique was accepted with a remark (revoked, deprecated, removed).
    Technique { warning: AttackWarning },
    /// A well-formed technique ID in the text is not in the catalog, so it
    /// was not added.
    UnknownTechniqueInText { id: String },
}

impl FindingWarning {
    /// Stable code for the render layer.
    pub fn code(&self) -> &'static str {
        match self {
            FindingWarning::Technique { warning } => warning.code(),
            FindingWarning::UnknownTechniqueInText { .. } => "technique_unknown_in_text",
        }
    }
}
