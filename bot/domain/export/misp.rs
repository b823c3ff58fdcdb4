//! The MISP event of an incident, in the MISP core format
//! (draft-dulaunoy-misp-core-format).
//!
//! The event carries the fields the core format requires (`uuid`, `info`,
//! `date`, `threat_level_id`, `analysis`, `distribution`, `published`,
//! `timestamp`, `publish_timestamp`, `first_publication`, the creating
//! organization as `Orgc`), tags and attributes. Numeric codes are JSON
//! strings and flags are JSON booleans, as the format requires. The fields
//! that only have a meaning inside one MISP instance (`id`, `event_id`,
//! `org_id`, `orgc_id`) are left out, as in the feeds PyMISP writes, because
//! MISP assigns them on import.
//!
//! NOTE: the output is checked against the core format rules by
//! `scripts/misp_check.py`, but no test imports it into a running MISP.
//!
//! Mappings:
//!
//! | huntbridge | MISP |
//! |---|---|
//! | severity critical, high / medium / low | `threat_level_id` "1" (high) / "2" / "3" |
//! | open / closed | `analysis` "1" (ongoing) / "2" (complete) |
//! | TLP:CLEAR | `distribution` "3" (all communities) |
//! | TLP:GREEN | `distribution` "1" (this community only) |
//! | TLP:AMBER, AMBER+STRICT, RED | `distribution` "0" (your organisation only) |
//!
//! TLP:AMBER maps to "0" as well, because "1" would show the event to every
//! organisation on the receiving instance, which is wider than the
//! recipient's organization and its clients. The receiving team can widen it
//! to a sharing group. Every attribute has `distribution` "5", which inherits
//! the event's.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{ExportInput, stable_uuid};
use crate::domain::attack::Resolved;
use crate::domain::ioc::{Ioc, IocKind};
use crate::domain::types::{Severity, Tlp};

/// Display colour of the ATT&CK galaxy tags. MISP keeps its own colour for
/// a tag it already has.
const GALAXY_TAG_COLOUR: &str = "#0088cc";

/// Builds the MISP event of the incident as pretty-printed JSON:
/// `{"Event": {...}}`.
pub fn misp_event(input: &ExportInput) -> String {
    let timestamp = input.now.timestamp().to_string();
    let event_uuid = stable_uuid(&["misp-event", input.incident_id]);
    let attributes = attributes(input, &timestamp);

    let mut tags = vec![tlp_tag(input.tlp)];
    tags.extend(input.unique_techniques().into_iter().map(galaxy_tag));

    let info: String = input.headline().chars().take(256).collect();
    let event = json!({
        "Event": {
            "uuid": event_uuid.to_string(),
            "info": info,
            "date": input.created_at.format("%Y-%m-%d").to_string(),
            "threat_level_id": threat_level_id(input.severity),
            "analysis": if input.closed_at.is_some() { "2" } else { "1" },
            "distribution": distribution(input.tlp),
            "sharing_group_id": "0",
            "published": false,
            "timestamp": timestamp,
            "publish_timestamp": "0",
            "first_publication": "0",
            "attribute_count": attributes.len().to_string(),
            "Orgc": {
                "uuid": stable_uuid(&["organization", input.organization]).to_string(),
                "name": input.organization,
            },
            "Tag": tags,
            "Attribute": attributes,
        }
    });
    serde_json::to_string_pretty(&event).expect("a JSON value always serializes")
}

/// Returns the `threat_level_id` for `severity`. MISP has one level above
/// medium, so critical and high both map to "1".
fn threat_level_id(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "1",
        Severity::Medium => "2",
        Severity::Low => "3",
    }
}

/// Returns the event `distribution` for `tlp`. The module documentation
/// gives the reasons.
fn distribution(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "3",
        Tlp::Green => "1",
        Tlp::Amber | Tlp::AmberStrict | Tlp::Red => "0",
    }
}

/// Returns the `tlp:` tag of the MISP `tlp` taxonomy, with the colour that
/// taxonomy (version 10) gives it.
fn tlp_tag(tlp: Tlp) -> Value {
    let colour = match tlp {
        Tlp::Clear => "#ffffff",
        Tlp::Green => "#33FF00",
        Tlp::Amber | Tlp::AmberStrict => "#FFC000",
        Tlp::Red => "#FF2B2B",
    };
    json!({ "name": format!("tlp:{}", tlp.as_str()), "colour": colour, "exportable": true })
}

/// Returns the tag of the technique's cluster in the MISP
/// `mitre-attack-pattern` galaxy, whose values read `Regsvr32 - T1218.010`:
/// the sub-technique's own name without its parent's.
///
/// NOTE: the name comes from the bundled catalog. Where MISP's galaxy names a
/// technique differently, MISP keeps the tag as a plain tag without the
/// galaxy cluster.
fn galaxy_tag(technique: &Resolved) -> Value {
    let name = technique
        .name
        .rsplit_once(": ")
        .map_or(technique.name.as_str(), |(_, own)| own);
    json!({
        "name": format!("misp-galaxy:mitre-attack-pattern=\"{name} - {}\"", technique.id),
        "colour": GALAXY_TAG_COLOUR,
        "exportable": true,
    })
}

/// Returns the MISP `type` and `category` of an indicator.
///
/// IP addresses and CIDR blocks are `ip-dst`, because the addresses an
/// incident records are those the compromised host connected to. The
/// categories are the defaults MISP gives each type, except `email`, which
/// goes in "Network activity" because the direction (sender or recipient) is
/// not recorded.
pub(super) fn type_and_category(kind: IocKind) -> (&'static str, &'static str) {
    match kind {
        IocKind::Ipv4 | IocKind::Ipv6 | IocKind::Cidr => ("ip-dst", "Network activity"),
        IocKind::Domain => ("domain", "Network activity"),
        IocKind::Url => ("url", "Network activity"),
        IocKind::Email => ("email", "Network activity"),
        IocKind::Md5 => ("md5", "Payload delivery"),
        IocKind::Sha1 => ("sha1", "Payload delivery"),
        IocKind::Sha256 => ("sha256", "Payload delivery"),
        IocKind::Filename => ("filename", "Payload delivery"),
        IocKind::RegistryKey => ("regkey", "Persistence mechanism"),
    }
}

fn attributes(input: &ExportInput, timestamp: &str) -> Vec<Value> {
    let attribute = |kind: &str, category: &str, value: &str, to_ids: bool, comment: String| {
        json!({
            "uuid": stable_uuid(&["misp-attribute", input.incident_id, kind, value]).to_string(),
            "type": kind,
            "category": category,
            "value": value,
            "to_ids": to_ids,
            "comment": comment,
            "distribution": "5",
            "sharing_group_id": "0",
            "timestamp": timestamp,
            "deleted": false,
            "disable_correlation": false,
        })
    };

    // The incident itself, then its indicators, then the targeted hosts and users.
    let state = match input.resolution {
        Some(resolution) => format!("closed as {resolution}"),
        None => "open".to_string(),
    };
    let mut attributes = vec![attribute(
        "text",
        "Internal reference",
        input.incident_id,
        false,
        format!("huntbridge incident, {state}"),
    )];
    if let Some(summary) = input.summary.filter(|s| !s.trim().is_empty()) {
        attributes.push(attribute(
            "comment",
            "Other",
            summary.trim(),
            false,
            "incident summary".to_string(),
        ));
    }
    for ioc in input.unique_iocs() {
        attributes.push(ioc_attribute(input, ioc, &attribute));
    }
    for host in unique(input.hosts) {
        let comment = "host in the incident".to_string();
        attributes.push(attribute(
            "target-machine",
            "Targeting data",
            host,
            false,
            comment,
        ));
    }
    for user in unique(input.users) {
        let comment = "user in the incident".to_string();
        attributes.push(attribute(
            "target-user",
            "Targeting data",
            user,
            false,
            comment,
        ));
    }
    attributes
}

fn ioc_attribute(
    input: &ExportInput,
    ioc: &Ioc,
    attribute: &impl Fn(&str, &str, &str, bool, String) -> Value,
) -> Value {
    let (kind, category) = type_and_category(ioc.kind);
    let comment = match input.reason_not_blockable(ioc) {
        Some(reason) => format!("not for blocking: {reason}"),
        None => String::new(),
    };
    attribute(kind, category, &ioc.value, input.blockable(ioc), comment)
}

/// Returns `values` without repeats, in the order given.
fn unique(values: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    values
        .iter()
        .map(String::as_str)
        .filter(|value| seen.insert(*value))
        .collect()
}
