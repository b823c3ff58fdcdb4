//! Sigma rules: the proposal type, and the step that turns a rule draft into
//! a finished rule with tags, references, a stable ID and its YAML text.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::attack::Resolved;
use crate::domain::types::Severity;

use super::Context;
use super::yaml::{Detection, Logsource, RuleDocument, logic_text};

/// Namespace of the version 5 UUIDs of generated rules. The name hashed
/// under it is the incident ID and the rule's logsource and detection, so
/// closing the same incident again gives the same IDs.
const RULE_ID_NAMESPACE: Uuid = Uuid::from_u128(0x3f7c_1f0e_9b2d_4c8a_a6e5_5d1b_7c2e_8f40);

/// Prefix of the reference that links a rule to its incident.
pub const INCIDENT_REFERENCE_PREFIX: &str = "huntbridge:";

/// A proposed Sigma rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigmaRule {
    /// The rule's `id`: a version 5 UUID of the incident ID and the rule
    /// logic.
    pub id: Uuid,
    /// The rule's `title`, in English.
    pub title: String,
    pub kind: SigmaKind,
    /// The rule's `level`, equal to the incident severity.
    pub level: Severity,
    /// ATT&CK technique IDs of the rule's tags.
    pub techniques: Vec<String>,
    /// The whole rule, ready to write to `<id>.yml`.
    pub yaml: String,
}

/// The log a rule reads, which decides what it can detect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigmaKind {
    /// Process creation (Sysmon event 1, Security 4688, EDR process events).
    ProcessCreation,
    /// Image (DLL) load (Sysmon event 7).
    ImageLoad,
    /// Network connection of a process (Sysmon event 3).
    NetworkConnection,
    /// DNS query of a process (Sysmon event 22).
    DnsQuery,
    /// Process creation of a file with a known hash.
    FileHash,
    /// Firewall log: traffic to an IP address or CIDR block.
    Firewall,
    /// DNS server log: resolution of a domain.
    Dns,
    /// Web proxy log: request for a URL.
    Proxy,
}

impl SigmaKind {
    /// Stable code, also the serde form: `process_creation`, `image_load`…
    pub fn as_str(self) -> &'static str {
        match self {
            SigmaKind::ProcessCreation => "process_creation",
            SigmaKind::ImageLoad => "image_load",
            SigmaKind::NetworkConnection => "network_connection",
            SigmaKind::DnsQuery => "dns_query",
            SigmaKind::FileHash => "file_hash",
            SigmaKind::Firewall => "firewall",
            SigmaKind::Dns => "dns",
            SigmaKind::Proxy => "proxy",
        }
    }

    /// Returns the `logsource` section for the kind.
    pub(super) fn logsource(self) -> Logsource {
        let (category, product) = match self {
            SigmaKind::ProcessCreation | SigmaKind::FileHash => {
                ("process_creation", Some("windows"))
            }
            SigmaKind::ImageLoad => ("image_load", Some("windows")),
            SigmaKind::NetworkConnection => ("network_connection", Some("windows")),
            SigmaKind::DnsQuery => ("dns_query", Some("windows")),
            SigmaKind::Firewall => ("firewall", None),
            SigmaKind::Dns => ("dns", None),
            SigmaKind::Proxy => ("proxy", None),
        };
        Logsource { category, product }
    }
}

/// A rule before its tags, references, ID and YAML are filled in.
#[derive(Debug, Clone)]
pub(super) struct RuleDraft {
    pub kind: SigmaKind,
    /// Title without the incident ID, which [`finish`] appends.
    pub title: String,
    pub description: String,
    pub falsepositives: Vec<String>,
    pub techniques: Vec<Resolved>,
    pub detection: Detection,
}

/// Builds every Sigma rule for a true positive: behaviour rules first, then
/// indicator rules. A draft whose logic repeats an earlier one is dropped.
pub(super) fn rules(context: &Context) -> Vec<SigmaRule> {
    let mut drafts = super::detect::drafts(context);
    drafts.extend(super::indicators::drafts(context));

    let mut rules: Vec<SigmaRule> = Vec::new();
    for draft in drafts {
        let rule = finish(context, draft);
        if !rules.iter().any(|known| known.id == rule.id) {
            rules.push(rule);
        }
    }
    rules
}

/// Fills in the parts every rule shares and writes the YAML.
fn finish(context: &Context, draft: RuleDraft) -> SigmaRule {
    let input = context.input;
    let logsource = draft.kind.logsource();
    let logic = logic_text(logsource, &draft.detection);
    let id = Uuid::new_v5(
        &RULE_ID_NAMESPACE,
        format!("{}\n{logic}", input.incident_id).as_bytes(),
    );
    let id_text = id.to_string();

    let title = format!("{} ({})", draft.title, input.incident_id);
    let mut references = vec![format!("{INCIDENT_REFERENCE_PREFIX}{}", input.incident_id)];
    references.extend(draft.techniques.iter().map(|t| technique_url(&t.id)));
    let tags = attack_tags(&draft.techniques);
    let level = input.severity;

    let yaml = RuleDocument {
        title: &title,
        id: &id_text,
        description: &draft.description,
        references: &references,
        author: input.author,
        date: input.date,
        tags: &tags,
        logsource,
        detection: &draft.detection,
        falsepositives: &draft.falsepositives,
        level: level.as_str(),
    }
    .to_yaml();

    SigmaRule {
        id,
        title,
        kind: draft.kind,
        level,
        techniques: draft.techniques.iter().map(|t| t.id.clone()).collect(),
        yaml,
    }
}

/// Returns the ATT&CK page of a technique:
/// `https://attack.mitre.org/techniques/T1218/010/` for `T1218.010`.
pub(super) fn technique_url(id: &str) -> String {
    format!(
        "https://attack.mitre.org/techniques/{}/",
        id.replace('.', "/")
    )
}

/// Returns the `attack.*` tags of the techniques: the shortnames of their
/// current tactics (`attack.stealth`) in order of first appearance, then the
/// technique IDs (`attack.t1218.010`). Retired tactics such as
/// `defense-evasion` are left out, because ATT&CK v19 no longer has them.
pub(super) fn attack_tags(techniques: &[Resolved]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    let tactic_tags = techniques
        .iter()
        .flat_map(|technique| &technique.tactics)
        .filter(|tactic| tactic.current)
        .map(|tactic| format!("attack.{}", tactic.shortname));
    let technique_tags = techniques
        .iter()
        .map(|technique| format!("attack.{}", technique.id.to_ascii_lowercase()));
    for tag in tactic_tags.chain(technique_tags) {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}
