//! Machine-readable exports of an incident's indicators: a STIX 2.1 bundle, a
//! MISP event in the MISP core format, and CSV. The builders are pure: they
//! take an [`ExportInput`] and return the document as a string, and the
//! caller writes or posts it.
//!
//! # Rules shared by every format
//!
//! - Values are written refanged, because the consumers are tools (a TIP, a
//!   firewall, a SIEM) that match the real value. Chat messages keep showing
//!   the defanged form.
//! - An indicator is *blockable* when it has no [`IocFlag`] and the incident
//!   was not closed as `false-positive` or `benign`. Only blockable values
//!   become STIX indicators, MISP attributes with `to_ids: true` and CSV rows
//!   with `to_block` set to `true`. The other values stay in every export
//!   with the reason, so the record of what was seen is complete.
//! - The export is marked with the incident's TLP: the TLP 2.0 marking
//!   definitions in STIX, a `tlp:` tag and a matching distribution in MISP,
//!   and a `tlp` column in CSV.
//! - Identifiers are UUIDv5 values derived from the incident ID and the
//!   exported value, so exporting the same incident again gives the same IDs.
//! - A value given twice (same kind and value) and a technique given twice
//!   are exported once.
//!
//! NOTE: the human-readable texts in the exports (descriptions, comments)
//! are in English only, as [`ExportInput`] carries no language.

mod csv;
mod misp;
mod stix;

#[cfg(test)]
mod tests;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::attack::Resolved;
use super::ioc::{Ioc, IocFlag};
use super::types::{Severity, Tlp};

pub use self::csv::{CSV_COLUMNS, csv};
pub use self::misp::misp_event;
pub use self::stix::stix_bundle;

/// Namespace of every UUIDv5 these exports derive, except the STIX
/// cyber-observable IDs, which use the namespace the STIX 2.1 specification
/// fixes for them.
const EXPORT_NAMESPACE: Uuid = Uuid::from_u128(0x35ab83c2_efc6_40d6_afe2_8faf26724426);

/// Everything an export needs from one incident.
#[derive(Debug, Clone)]
pub struct ExportInput<'a> {
    /// Incident ID, e.g. `INC-2026-0001`.
    pub incident_id: &'a str,
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub severity: Severity,
    pub tlp: Tlp,
    /// `true-positive`, `false-positive` or `benign` once the incident is
    /// closed; `None` while it is open. Another value is exported as given
    /// and leaves the indicators blockable.
    pub resolution: Option<&'a str>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub iocs: &'a [Ioc],
    pub techniques: &'a [Resolved],
    pub hosts: &'a [String],
    pub users: &'a [String],
    /// Name of the organization that publishes the export, e.g. `huntbridge`.
    pub organization: &'a str,
    /// Export time: the STIX `modified` and `published` times and the MISP
    /// `timestamp`.
    pub now: DateTime<Utc>,
}

/// Resolution of a closed incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolution {
    TruePositive,
    FalsePositive,
    Benign,
}

impl Resolution {
    fn parse(value: &str) -> Option<Resolution> {
        match value {
            "true-positive" => Some(Resolution::TruePositive),
            "false-positive" => Some(Resolution::FalsePositive),
            "benign" => Some(Resolution::Benign),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Resolution::TruePositive => "true-positive",
            Resolution::FalsePositive => "false-positive",
            Resolution::Benign => "benign",
        }
    }
}

impl ExportInput<'_> {
    fn resolution(&self) -> Option<Resolution> {
        self.resolution.and_then(Resolution::parse)
    }

    /// Returns whether the resolution marks the activity as not malicious,
    /// so that no value of the incident is to be blocked.
    fn cleared(&self) -> bool {
        matches!(
            self.resolution(),
            Some(Resolution::FalsePositive | Resolution::Benign)
        )
    }

    /// Returns whether `ioc` is to be blocked and fed to detection.
    fn blockable(&self, ioc: &Ioc) -> bool {
        ioc.flags.is_empty() && !self.cleared()
    }

    /// Returns why `ioc` is not to be blocked, or `None` when it is.
    fn reason_not_blockable(&self, ioc: &Ioc) -> Option<String> {
        if !ioc.flags.is_empty() {
            let reasons: Vec<String> = ioc
                .flags
                .iter()
                .map(|&flag| format!("{flag} ({})", flag_meaning(flag)))
                .collect();
            return Some(reasons.join("; "));
        }
        let resolution = self.resolution().filter(|_| self.cleared())?;
        Some(format!(
            "the incident was closed as {}",
            resolution.as_str()
        ))
    }

    /// Returns the indicators without repeats, in the order given.
    fn unique_iocs(&self) -> Vec<&Ioc> {
        let mut seen = HashSet::new();
        self.iocs
            .iter()
            .filter(|ioc| seen.insert((ioc.kind, ioc.value.as_str())))
            .collect()
    }

    /// Returns the techniques without repeats of the recorded ID, in the
    /// order given.
    fn unique_techniques(&self) -> Vec<&Resolved> {
        let mut seen = HashSet::new();
        self.techniques
            .iter()
            .filter(|technique| seen.insert(technique.id.as_str()))
            .collect()
    }

    /// Returns `{incident_id}: {title}` on one line.
    fn headline(&self) -> String {
        let title: String = self
            .title
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("{}: {}", self.incident_id, title.trim())
    }
}

/// Returns the meaning of `flag` as a short English phrase.
fn flag_meaning(flag: IocFlag) -> &'static str {
    match flag {
        IocFlag::Private => "private address space or an internal name",
        IocFlag::Loopback => "loopback address or name",
        IocFlag::LinkLocal => "link-local address",
        IocFlag::Multicast => "multicast address",
        IocFlag::Reserved => "reserved address space that does not route on the internet",
        IocFlag::Documentation => "documentation address or name",
        IocFlag::KnownGood => "on the known-good list",
    }
}

/// Returns a UUIDv5 in [`EXPORT_NAMESPACE`] from `parts`, joined with the
/// ASCII unit separator so that no two lists of parts give the same name.
fn stable_uuid(parts: &[&str]) -> Uuid {
    Uuid::new_v5(&EXPORT_NAMESPACE, parts.join("\u{1f}").as_bytes())
}
