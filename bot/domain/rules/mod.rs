//! Rule proposals made when an incident closes: Sigma rules, blocklists and
//! new hunt cases, built from the incident's techniques, indicators and
//! evidence. [`propose`] is the entry point. It is pure: the app layer
//! stores the proposals and renders them in the room's language.
//!
//! # Layout
//!
//! - `evidence`: Sysmon records read from evidence text (JSON or the
//!   Event Viewer text form).
//! - `behaviour`: tables of proxy-execution binaries, interpreters and
//!   script engines, and command-line features.
//! - `sigma`, `detect`, `indicators`, `yaml`: Sigma rules from behaviour and
//!   from indicators, and their YAML text.
//! - `blocklist`: firewall, DNS/proxy and EDR blocklists with exclusions.
//! - `hunt`, `beacon`: follow-up hunt cases and tuning notes, and the beacon
//!   detection they and the network rules share.
//!
//! # What is proposed
//!
//! For a true positive:
//!
//! - **Sigma rules**, only where the evidence or the indicators support
//!   them. Behaviour rules generalise these Sysmon records:
//!   - a proxy binary given a remote URL (event 1),
//!   - a proxy binary starting an interpreter (event 1),
//!   - PowerShell with an encoded command (event 1),
//!   - a proxy binary loading a script engine (event 7),
//!   - a proxy binary opening connections or resolving names (events 3
//!     and 22),
//!   - connections to and queries for the destinations that the incident's
//!     indicators, a proxy binary or a beacon point at (events 3 and 22).
//!
//!   Indicator rules cover the unflagged hashes, IP addresses, domains and
//!   URLs.
//! - **Blocklists**: firewall (IPv4, IPv6, CIDR), DNS/proxy (domains, URLs)
//!   and EDR (MD5, SHA-1, SHA-256), each proposed when it has an entry or an
//!   exclusion. A flagged indicator, or a hash that the evidence shows
//!   belongs to a Windows system file, is listed under `excluded` with an
//!   [`ExclusionReason`] and never as an entry.
//! - **Hunt cases**: see [`HuntBasis`].
//!
//! For a false positive or a benign result, nothing is blocked and no
//! detection is built from the evidence, because it shows legitimate
//! activity. The only proposal is a [`HuntBasis::TuningException`] hunt case
//! that lists the hosts, users, images and indicators to exclude from the
//! hunt queries and detections of the incident's techniques.
//!
//! The YAML of a Sigma rule is in English, as rules shared between teams
//! and tools are. Everything else a person reads is returned as codes and
//! data for the templates.

mod beacon;
mod behaviour;
mod blocklist;
mod detect;
mod evidence;
mod hunt;
mod indicators;
mod sigma;
mod yaml;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::attack::{Catalog, Resolved, Status};
use crate::domain::ioc::{Extractor, Ioc, IocFlag, IocKind};
use crate::domain::types::{Severity, fold};

pub use blocklist::{BlockEntry, Blocklist, BlocklistKind, Excluded, ExclusionReason};
pub use hunt::{HuntBasis, HuntCase, Indicator};
pub use sigma::{SigmaKind, SigmaRule};

use evidence::SysmonEvent;

/// The outcome of an incident, given when it is closed.
///
/// Parsing accepts `true-positive`, `false-positive` and `benign`, the
/// Spanish `verdadero-positivo`, `falso-positivo` and `benigno`/`benigna`,
/// in any case, with `-`, `_` or a space between the words, and the short
/// forms `tp` and `fp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Resolution {
    #[serde(rename = "true-positive")]
    TruePositive,
    #[serde(rename = "false-positive")]
    FalsePositive,
    #[serde(rename = "benign")]
    Benign,
}

impl Resolution {
    pub const ALL: [Resolution; 3] = [
        Resolution::TruePositive,
        Resolution::FalsePositive,
        Resolution::Benign,
    ];

    /// Stable code: `true-positive`, `false-positive` or `benign`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::TruePositive => "true-positive",
            Resolution::FalsePositive => "false-positive",
            Resolution::Benign => "benign",
        }
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resolution word outside the accepted list.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "invalid resolution {value:?}, expected one of: true-positive, false-positive, benign \
     (or verdadero-positivo, falso-positivo, benigno)"
)]
pub struct InvalidResolution {
    pub value: String,
}

impl InvalidResolution {
    /// Stable code for the render layer.
    pub fn code(&self) -> &'static str {
        "invalid_resolution"
    }
}

impl FromStr for Resolution {
    type Err = InvalidResolution;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let words: String = fold(value.trim())
            .chars()
            .map(|c| if matches!(c, '_' | ' ') { '-' } else { c })
            .collect();
        match words.as_str() {
            "true-positive" | "tp" | "verdadero-positivo" => Ok(Resolution::TruePositive),
            "false-positive" | "fp" | "falso-positivo" => Ok(Resolution::FalsePositive),
            "benign" | "benigno" | "benigna" => Ok(Resolution::Benign),
            _ => Err(InvalidResolution {
                value: value.to_string(),
            }),
        }
    }
}

/// The facts about a closed incident that [`propose`] reads.
#[derive(Debug, Clone, Copy)]
pub struct RuleInput<'a> {
    /// Incident ID (`INC-2026-0001`). It goes into rule references and rule
    /// IDs.
    pub incident_id: &'a str,
    /// Incident title and hypothesis. Neither is copied into a rule: rules
    /// describe behaviour, and a title may name hosts or people.
    pub title: &'a str,
    pub hypothesis: Option<&'a str>,
    pub severity: Severity,
    pub resolution: Resolution,
    pub techniques: &'a [Resolved],
    pub iocs: &'a [Ioc],
    pub hosts: &'a [String],
    pub users: &'a [String],
    /// Code blocks of the findings and the text of evidence files (a whole
    /// Sysmon JSON-lines export, for example).
    pub evidence: &'a [&'a str],
    /// Author written into Sigma rules.
    pub author: &'a str,
    /// Date written into Sigma rules.
    pub date: NaiveDate,
    pub catalog: &'a Catalog,
}

/// One proposal for a lead to approve or reject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Proposal {
    Sigma(SigmaRule),
    Blocklist(Blocklist),
    HuntCase(HuntCase),
}

/// Proposes Sigma rules, blocklists and hunt cases for a closed incident.
/// The same input always gives the same proposals, in the same order and
/// with the same rule IDs. See the module documentation for what is
/// proposed.
pub fn propose(input: &RuleInput) -> Vec<Proposal> {
    let context = Context::new(input);
    if input.resolution != Resolution::TruePositive {
        return vec![Proposal::HuntCase(hunt::tuning_exception(&context))];
    }

    let mut proposals: Vec<Proposal> = sigma::rules(&context)
        .into_iter()
        .map(Proposal::Sigma)
        .collect();
    proposals.extend(
        blocklist::blocklists(&context)
            .into_iter()
            .map(Proposal::Blocklist),
    );
    proposals.extend(
        hunt::hunt_cases(&context)
            .into_iter()
            .map(Proposal::HuntCase),
    );
    proposals
}

/// Windows's own files as the evidence shows them: hashes of Windows system
/// files, and names of the prefetch files Windows wrote. Blocking the first
/// breaks Windows and blocking the second stops nothing, so neither is
/// marked for blocking.
#[derive(Debug, Default)]
pub struct WindowsFiles {
    /// SHA-256, SHA-1 and MD5 values of Windows system files, lowercase,
    /// with the path of the file.
    system_hashes: BTreeMap<String, String>,
    /// Lowercase prefetch file names, with their paths.
    prefetch_names: BTreeMap<String, String>,
}

impl WindowsFiles {
    /// Reads the Sysmon events in `evidence`.
    pub fn read(evidence: &[&str]) -> Self {
        Self::from_events(&evidence::parse(evidence))
    }

    fn from_events(events: &[SysmonEvent]) -> Self {
        Self {
            system_hashes: evidence::system_file_hashes(events),
            prefetch_names: evidence::prefetch_files(events),
        }
    }

    /// Returns whether the evidence shows the indicator to be a Windows file.
    pub fn contains(&self, kind: IocKind, value: &str) -> bool {
        let value = value.to_ascii_lowercase();
        match kind {
            IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 => {
                self.system_hashes.contains_key(&value)
            }
            IocKind::Filename => self.prefetch_names.contains_key(&value),
            _ => false,
        }
    }

    /// Adds the `known_good` flag to the indicators that are Windows files,
    /// so no card, list or file offers them for blocking. Returns how many
    /// indicators got the flag.
    pub fn flag(&self, iocs: &mut [Ioc]) -> usize {
        let mut flagged = 0;
        for ioc in iocs.iter_mut() {
            if self.contains(ioc.kind, &ioc.value) && !ioc.flags.contains(&IocFlag::KnownGood) {
                ioc.flags.push(IocFlag::KnownGood);
                ioc.flags.sort();
                flagged += 1;
            }
        }
        flagged
    }
}

/// Returns the indicators of `input` that its evidence shows to be Windows
/// files (see [`WindowsFiles`]).
pub fn windows_files(input: &RuleInput<'_>) -> Vec<(IocKind, String)> {
    let files = WindowsFiles::read(input.evidence);
    input
        .iocs
        .iter()
        .filter(|ioc| files.contains(ioc.kind, &ioc.value))
        .map(|ioc| (ioc.kind, ioc.value.clone()))
        .collect()
}

/// The input with the evidence read once.
struct Context<'a> {
    input: &'a RuleInput<'a>,
    events: Vec<SysmonEvent>,
    /// Extractor that classifies values found only in the evidence.
    // NOTE: this uses the shipped known-good lists. Indicators keep the
    // flags they were stored with, which include the operator's entries, but
    // an address or domain seen only in the evidence is not checked against
    // those entries.
    extractor: Extractor,
    /// Windows's own files in the evidence.
    windows: WindowsFiles,
}

impl<'a> Context<'a> {
    fn new(input: &'a RuleInput<'a>) -> Self {
        let events = evidence::parse(input.evidence);
        let windows = WindowsFiles::from_events(&events);
        Context {
            input,
            events,
            extractor: Extractor::default(),
            windows,
        }
    }

    /// Events with the given Sysmon event ID.
    fn events_with_id(&self, id: u32) -> impl Iterator<Item = &SysmonEvent> {
        self.events.iter().filter(move |event| event.id == id)
    }

    /// Resolves technique IDs that the evidence points to, keeping those
    /// that are active in the catalog. With none left, returns the
    /// incident's active techniques.
    fn techniques_for(&self, derived: &[&str]) -> Vec<Resolved> {
        let mut techniques: Vec<Resolved> = Vec::new();
        for id in derived {
            let Ok(resolved) = self.input.catalog.resolve(id) else {
                continue;
            };
            if resolved.status == Status::Active
                && !techniques.iter().any(|known| known.id == resolved.id)
            {
                techniques.push(resolved);
            }
        }
        if techniques.is_empty() {
            techniques = self.incident_techniques();
        }
        techniques
    }

    /// Returns the incident's techniques that are active in the catalog,
    /// because Sigma's tag check rejects deprecated and removed ones.
    fn incident_techniques(&self) -> Vec<Resolved> {
        let mut techniques: Vec<Resolved> = Vec::new();
        for technique in self.input.techniques {
            if technique.status == Status::Active
                && !techniques.iter().any(|known| known.id == technique.id)
            {
                techniques.push(technique.clone());
            }
        }
        techniques
    }
}
