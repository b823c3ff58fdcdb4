//! The STIX 2.1 bundle of an incident.
//!
//! The bundle holds, in this order:
//! - the TLP 2.0 marking definition of the incident's TLP;
//! - an `identity` for the publishing organization, the `created_by_ref` of
//!   every other object;
//! - one `indicator` with a STIX pattern for each blockable value;
//! - one `attack-pattern` for each ATT&CK technique, with its
//!   `mitre-attack` external reference and kill chain phases;
//! - for values that are not blockable, a cyber-observable object each (an
//!   `ipv4-addr`, `url`, `file`…) and one `note` that gives the reason none
//!   of them is an indicator;
//! - a `report` for the incident whose `object_refs` lists all of the above
//!   except the marking definition.
//!
//! There are no `indicates` relationships between indicators and attack
//! patterns, because the incident does not record which value goes with
//! which technique. The report groups them instead.
//!
//! Every object except the identity carries the TLP marking in
//! `object_marking_refs`. The identity stays unmarked and has fixed
//! timestamps, so every export of the same organization contains the same
//! identity object.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ExportInput, Resolution, stable_uuid};
use crate::domain::attack::Resolved;
use crate::domain::ioc::{Ioc, IocKind};
use crate::domain::types::Tlp;

/// Namespace of the deterministic IDs of STIX cyber-observable objects,
/// fixed by STIX 2.1 (the `stix2` Python library calls it
/// `SCO_DET_ID_NAMESPACE`).
const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// Creation time of the identity object. Fixed, because the identity must be
/// the same object in every export and must not look like a new version.
const IDENTITY_CREATED: &str = "2026-01-01T00:00:00.000Z";

/// Creation time of the TLP 2.0 marking definitions, as published by OASIS.
const TLP_MARKING_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// ID of the STIX extension definition for TLP 2.0 markings.
const TLP_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// Returns the ID of the official TLP 2.0 marking definition for `tlp`.
///
/// Source: OASIS `cti-stix-common-objects`, folder
/// `extension-definition-specifications/tlp-2.0` (the extension definition
/// schema and one example bundle per level).
fn tlp_marking_id(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// Builds the STIX 2.1 bundle of the incident as pretty-printed JSON.
pub fn stix_bundle(input: &ExportInput) -> String {
    let marking = tlp_marking(input.tlp);
    let identity = identity(input.organization);
    let identity_id = id_of(&identity);
    let builder = Builder {
        input,
        identity_id: &identity_id,
        marking_id: tlp_marking_id(input.tlp),
    };

    let mut linked = vec![identity];
    let mut not_blockable = Vec::new();
    for ioc in input.unique_iocs() {
        if input.blockable(ioc) {
            linked.push(builder.indicator(ioc));
        } else {
            let observable = builder.observable(ioc);
            not_blockable.push((ioc, id_of(&observable)));
            linked.push(observable);
        }
    }
    for technique in input.unique_techniques() {
        linked.push(builder.attack_pattern(technique));
    }
    if !not_blockable.is_empty() {
        linked.push(builder.note(&not_blockable));
    }
    let report = builder.report(&linked, not_blockable.len());

    let mut objects = vec![marking];
    objects.extend(linked);
    objects.push(report);
    let bundle = json!({
        "type": "bundle",
        "id": format!("bundle--{}", stable_uuid(&["bundle", input.incident_id])),
        "objects": objects,
    });
    serde_json::to_string_pretty(&bundle).expect("a JSON value always serializes")
}

/// Formats a STIX timestamp: RFC 3339 in UTC with milliseconds and `Z`.
fn timestamp(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn id_of(object: &Value) -> String {
    object["id"]
        .as_str()
        .expect("every STIX object built here has an id")
        .to_string()
}

fn tlp_marking(tlp: Tlp) -> Value {
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": tlp_marking_id(tlp),
        "created": TLP_MARKING_CREATED,
        "name": tlp.label(),
        "extensions": {
            TLP_EXTENSION_ID: {
                "extension_type": "property-extension",
                "tlp_2_0": tlp.as_str(),
            },
        },
    })
}

fn identity(organization: &str) -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": format!("identity--{}", stable_uuid(&["identity", organization])),
        "created": IDENTITY_CREATED,
        "modified": IDENTITY_CREATED,
        "name": organization,
        "identity_class": "organization",
    })
}

/// The parts every object of one export shares.
struct Builder<'a> {
    input: &'a ExportInput<'a>,
    identity_id: &'a str,
    marking_id: &'static str,
}

impl Builder<'_> {
    /// Returns a STIX ID derived from the incident and `key`.
    ///
    /// NOTE: STIX 2.1 recommends (SHOULD) UUIDv4 for domain objects, and the
    /// strict mode of the OASIS validator reports these UUIDv5 IDs. They are UUIDv5 so
    /// that a second export of an incident updates the same objects.
    fn id(&self, stix_type: &str, key: &[&str]) -> String {
        let mut parts = vec![stix_type, self.input.incident_id];
        parts.extend_from_slice(key);
        format!("{stix_type}--{}", stable_uuid(&parts))
    }

    /// Returns `created` and `modified`: the incident's creation time, and
    /// the export time unless that is earlier.
    fn times(&self) -> (String, String) {
        let created = self.input.created_at;
        (timestamp(created), timestamp(self.input.now.max(created)))
    }

    fn indicator(&self, ioc: &Ioc) -> Value {
        let (created, modified) = self.times();
        let indicator_type = match self.input.resolution() {
            Some(Resolution::TruePositive) => "malicious-activity",
            _ => "anomalous-activity",
        };
        json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": self.id("indicator", &[ioc.kind.as_str(), &ioc.value]),
            "created": created,
            "modified": modified,
            "created_by_ref": self.identity_id,
            "name": format!("{} {}", kind_label(ioc.kind), ioc.defanged()),
            "description": format!("Seen in {}.", self.input.headline()),
            "indicator_types": [indicator_type],
            "pattern": pattern(ioc),
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": timestamp(self.input.created_at),
            "object_marking_refs": [self.marking_id],
        })
    }

    /// Returns the cyber-observable object of a value that is not blockable.
    fn observable(&self, ioc: &Ioc) -> Value {
        let (stix_type, contributing) = observable_properties(ioc);
        let id = format!(
            "{stix_type}--{}",
            Uuid::new_v5(&SCO_NAMESPACE, canonical_json(&contributing).as_bytes())
        );
        let mut object = json!({
            "type": stix_type,
            "spec_version": "2.1",
            "id": id,
            "object_marking_refs": [self.marking_id],
        });
        let fields = object.as_object_mut().expect("built as an object");
        if let Value::Object(properties) = contributing {
            fields.extend(properties);
        }
        object
    }

    fn attack_pattern(&self, technique: &Resolved) -> Value {
        let (created, modified) = self.times();
        let phases: Vec<Value> = technique
            .tactics
            .iter()
            .map(
                |tactic| json!({"kill_chain_name": "mitre-attack", "phase_name": tactic.shortname}),
            )
            .collect();
        let mut object = json!({
            "type": "attack-pattern",
            "spec_version": "2.1",
            "id": self.id("attack-pattern", &[&technique.id]),
            "created": created,
            "modified": modified,
            "created_by_ref": self.identity_id,
            "name": technique.name,
            "external_references": [{
                "source_name": "mitre-attack",
                "external_id": technique.id,
                "url": attack_url(&technique.id),
            }],
            "object_marking_refs": [self.marking_id],
        });
        // STIX forbids empty lists, so a technique without tactics has no phases.
        if !phases.is_empty() {
            object["kill_chain_phases"] = Value::Array(phases);
        }
        object
    }

    /// Returns the note that lists the values that are not indicators.
    fn note(&self, not_blockable: &[(&Ioc, String)]) -> Value {
        let (created, modified) = self.times();
        let mut content = format!(
            "Values seen in {} that are not indicators to block:",
            self.input.incident_id
        );
        for (ioc, _) in not_blockable {
            let reason = self.input.reason_not_blockable(ioc).unwrap_or_default();
            content.push_str(&format!("\n- {} {}: {reason}", ioc.kind, ioc.defanged()));
        }
        let refs: Vec<&str> = not_blockable.iter().map(|(_, id)| id.as_str()).collect();
        json!({
            "type": "note",
            "spec_version": "2.1",
            "id": self.id("note", &["not-blockable"]),
            "created": created,
            "modified": modified,
            "created_by_ref": self.identity_id,
            "abstract": "Values that are not indicators",
            "content": content,
            "object_refs": refs,
            "object_marking_refs": [self.marking_id],
        })
    }

    fn report(&self, linked: &[Value], not_blockable: usize) -> Value {
        let (created, modified) = self.times();
        let refs: Vec<String> = linked.iter().map(id_of).collect();
        json!({
            "type": "report",
            "spec_version": "2.1",
            "id": self.id("report", &[]),
            "created": created,
            "modified": modified,
            "created_by_ref": self.identity_id,
            "name": self.input.headline(),
            "description": self.report_description(not_blockable),
            "report_types": ["threat-report"],
            "published": timestamp(self.input.now),
            "object_refs": refs,
            "object_marking_refs": [self.marking_id],
        })
    }

    fn report_description(&self, not_blockable: usize) -> String {
        let input = self.input;
        let mut lines = Vec::new();
        if let Some(summary) = input.summary.filter(|s| !s.trim().is_empty()) {
            lines.push(summary.trim().to_string());
        }
        lines.push(format!(
            "Severity: {}. {}.",
            input.severity,
            input.tlp.label()
        ));
        match (input.resolution, input.closed_at) {
            (Some(resolution), Some(closed)) => {
                lines.push(format!("Closed as {resolution} at {}.", timestamp(closed)))
            }
            (Some(resolution), None) => lines.push(format!("Resolution: {resolution}.")),
            (None, _) => lines.push("Open.".to_string()),
        }
        if !input.hosts.is_empty() {
            lines.push(format!("Hosts: {}.", input.hosts.join(", ")));
        }
        if !input.users.is_empty() {
            lines.push(format!("Users: {}.", input.users.join(", ")));
        }
        if not_blockable > 0 {
            lines.push(format!(
                "{not_blockable} value(s) seen are not indicators to block; the note lists them \
                 with the reason."
            ));
        }
        lines.join("\n")
    }
}

/// Returns the name of a kind of value as STIX users write it.
fn kind_label(kind: IocKind) -> &'static str {
    match kind {
        IocKind::Ipv4 => "IPv4",
        IocKind::Ipv6 => "IPv6",
        IocKind::Cidr => "CIDR",
        IocKind::Domain => "Domain",
        IocKind::Url => "URL",
        IocKind::Email => "E-mail",
        IocKind::Md5 => "MD5",
        IocKind::Sha1 => "SHA-1",
        IocKind::Sha256 => "SHA-256",
        IocKind::Filename => "File name",
        IocKind::RegistryKey => "Registry key",
    }
}

/// Returns the STIX pattern that matches `ioc`.
///
/// A CIDR block uses `ISSUBSET`, so that the pattern matches every address
/// in the block and not only an observed object whose value is the block.
pub(super) fn pattern(ioc: &Ioc) -> String {
    let value = quote(&stix_value(ioc));
    match ioc.kind {
        IocKind::Ipv4 => format!("[ipv4-addr:value = {value}]"),
        IocKind::Ipv6 => format!("[ipv6-addr:value = {value}]"),
        IocKind::Cidr => format!("[{}:value ISSUBSET {value}]", address_type(&ioc.value)),
        IocKind::Domain => format!("[domain-name:value = {value}]"),
        IocKind::Url => format!("[url:value = {value}]"),
        IocKind::Email => format!("[email-addr:value = {value}]"),
        IocKind::Md5 => format!("[file:hashes.MD5 = {value}]"),
        IocKind::Sha1 => format!("[file:hashes.'SHA-1' = {value}]"),
        IocKind::Sha256 => format!("[file:hashes.'SHA-256' = {value}]"),
        IocKind::Filename => format!("[file:name = {value}]"),
        IocKind::RegistryKey => format!("[windows-registry-key:key = {value}]"),
    }
}

/// Returns a STIX pattern string literal: the grammar escapes `\` and `'`
/// with a backslash.
fn quote(value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
    format!("'{escaped}'")
}

/// Returns the observable type and the properties that STIX uses to derive
/// the object's ID. For a `file`, only one of `hashes` and `name` is set.
fn observable_properties(ioc: &Ioc) -> (&'static str, Value) {
    let value = stix_value(ioc);
    match ioc.kind {
        IocKind::Ipv4 => ("ipv4-addr", json!({ "value": value })),
        IocKind::Ipv6 => ("ipv6-addr", json!({ "value": value })),
        IocKind::Cidr => (address_type(&ioc.value), json!({ "value": value })),
        IocKind::Domain => ("domain-name", json!({ "value": value })),
        IocKind::Url => ("url", json!({ "value": value })),
        IocKind::Email => ("email-addr", json!({ "value": value })),
        IocKind::Md5 => ("file", json!({ "hashes": { "MD5": value } })),
        IocKind::Sha1 => ("file", json!({ "hashes": { "SHA-1": value } })),
        IocKind::Sha256 => ("file", json!({ "hashes": { "SHA-256": value } })),
        IocKind::Filename => ("file", json!({ "name": value })),
        IocKind::RegistryKey => ("windows-registry-key", json!({ "key": value })),
    }
}

/// Returns the value as STIX wants it. Registry keys get the full hive name,
/// because STIX 2.1 requires `HKEY_LOCAL_MACHINE` instead of `HKLM` in the
/// `key` property of a `windows-registry-key`.
fn stix_value(ioc: &Ioc) -> String {
    if ioc.kind != IocKind::RegistryKey {
        return ioc.value.clone();
    }
    let (hive, rest) = match ioc.value.split_once('\\') {
        Some((hive, rest)) => (hive, Some(rest)),
        None => (ioc.value.as_str(), None),
    };
    let full = match hive.to_ascii_uppercase().as_str() {
        "HKLM" => "HKEY_LOCAL_MACHINE",
        "HKCU" => "HKEY_CURRENT_USER",
        "HKCR" => "HKEY_CLASSES_ROOT",
        "HKU" => "HKEY_USERS",
        "HKCC" => "HKEY_CURRENT_CONFIG",
        _ => hive,
    };
    match rest {
        Some(rest) => format!("{full}\\{rest}"),
        None => full.to_string(),
    }
}

/// Returns `ipv6-addr` for an IPv6 address or block, else `ipv4-addr`.
fn address_type(value: &str) -> &'static str {
    if value.contains(':') {
        "ipv6-addr"
    } else {
        "ipv4-addr"
    }
}

/// Serializes the ID-contributing properties for the UUIDv5 name. STIX
/// requires RFC 8785 canonical JSON there. serde_json gives the same bytes
/// for these objects, because each has a single key and string values, and
/// serde_json escapes strings as RFC 8785 does.
fn canonical_json(properties: &Value) -> String {
    serde_json::to_string(properties).expect("a JSON value always serializes")
}

/// Returns the ATT&CK page of a technique: `T1218.010` is
/// `https://attack.mitre.org/techniques/T1218/010/`.
fn attack_url(id: &str) -> String {
    format!(
        "https://attack.mitre.org/techniques/{}/",
        id.replace('.', "/")
    )
}
