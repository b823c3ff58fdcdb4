//! Template contexts built from stored rows and domain values, and the TLP
//! rule that decides whether a room may see a finding's content. Indicators
//! enter a context only in defanged form.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::context::RoomKind;
use crate::domain::attack::AttackWarning;
use crate::domain::finding::{FindingWarning, ParsedFinding};
use crate::domain::ioc::{Extractor, Ioc, IocFlag, IocKind};
use crate::domain::metrics::{IncidentTimes, Metric, Metrics};
use crate::domain::types::Tlp;
use crate::store::{self, AnyConnection, files::FileMeta, incidents::IncidentRow, iocs::IocRow};

/// Cases named per indicator in an overlap list; the rest are counted.
pub const MAX_OVERLAP_CASES: usize = 5;
/// Cases read per indicator to build an overlap list. An indicator seen in
/// more cases is counted as "N+ more", so a common value does not make every
/// card read its whole history.
pub const MAX_OVERLAP_READ: i64 = 100;

/// Timeline entry kinds.
pub mod kind {
    pub const FINDING_CREATED: &str = "finding_created";
    pub const EVIDENCE_ADDED: &str = "evidence_added";
    pub const HANDOFF_SENT: &str = "handoff_sent";
    pub const HANDOFF_ACCEPTED: &str = "handoff_accepted";
    pub const HANDOFF_DECLINED: &str = "handoff_declined";
    pub const INCIDENT_OPENED: &str = "incident_opened";
    pub const FINDING_LINKED: &str = "finding_linked";
    pub const STAGE_CHANGED: &str = "stage_changed";
    pub const TASK_ADDED: &str = "task_added";
    pub const TASK_DONE: &str = "task_done";
    pub const NOTE: &str = "note";
    pub const ACTION: &str = "action";
    pub const IOC_ADDED: &str = "ioc_added";
    pub const PLAYBOOK: &str = "playbook";
    pub const INCIDENT_CLOSED: &str = "incident_closed";
    pub const RULES_PROPOSED: &str = "rules_proposed";
    pub const RULE_DECIDED: &str = "rule_decided";
    pub const EXPORTED: &str = "exported";
}

/// Returns whether content under `tlp` that belongs to `incident` (if any)
/// may be posted in `room`. TLP:RED content stays in its incident room;
/// AMBER+STRICT content stays in the organization's configured rooms and
/// incident rooms.
pub fn may_show(tlp: Tlp, room: &RoomKind, incident: Option<&str>) -> bool {
    match tlp {
        Tlp::Red => {
            matches!((room, incident), (RoomKind::Incident(room), Some(owner)) if room == owner)
        }
        Tlp::AmberStrict => !matches!(room, RoomKind::Other),
        _ => true,
    }
}

/// Builds the context of one indicator: its kind, defanged value and flags.
pub fn ioc(ioc: &Ioc) -> Value {
    json!({
        "kind": kind_code(ioc.kind),
        "value": ioc.defanged(),
        "flags": ioc.flags.iter().map(|flag| flag_label(ioc, *flag)).collect::<Vec<_>>(),
    })
}

/// Returns the catalog key, under `flag.`, that names `flag` on `ioc`. The
/// `private` flag of a name (a domain, an e-mail address or a URL on a
/// name) reads "internal name", because it is not an address.
fn flag_label(ioc: &Ioc, flag: IocFlag) -> String {
    let names_an_address = match ioc.kind {
        IocKind::Ipv4 | IocKind::Ipv6 | IocKind::Cidr => true,
        IocKind::Url => url::Url::parse(&ioc.value).is_ok_and(|url| {
            matches!(
                url.host(),
                Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_))
            )
        }),
        _ => false,
    };
    if flag == IocFlag::Private && !names_an_address {
        "internal_name".to_string()
    } else {
        flag_code(flag)
    }
}

/// Rebuilds a domain indicator from a stored row.
pub fn ioc_from_row(row: &IocRow) -> Option<Ioc> {
    let kind: IocKind = serde_json::from_value(Value::String(row.kind.clone())).ok()?;
    let flags: Vec<IocFlag> = serde_json::from_str(&row.flags).unwrap_or_default();
    Some(Ioc {
        kind,
        value: row.value.clone(),
        flags,
    })
}

pub fn kind_code(kind: IocKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn flag_code(flag: IocFlag) -> String {
    serde_json::to_value(flag)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Builds the context of a stored file.
pub fn file(meta: &FileMeta) -> Value {
    json!({
        "name": meta.name,
        "size": meta.size,
        "sha256": meta.sha256,
        "generated": meta.generated,
    })
}

/// Reads the raw timestamps of an incident from its findings and timeline.
pub async fn incident_times(
    conn: &mut AnyConnection,
    incident: &IncidentRow,
) -> anyhow::Result<IncidentTimes> {
    let findings = store::findings::list_for_incident(&mut *conn, &incident.id).await?;
    let timeline = store::timeline::list_for_incident(&mut *conn, &incident.id).await?;
    let mut times = IncidentTimes {
        finding_at: findings
            .iter()
            .map(|f| store::from_millis(f.created_at))
            .min(),
        handoff_at: findings
            .iter()
            .filter_map(|f| f.handed_off_at)
            .map(store::from_millis)
            .min(),
        accepted_at: Some(store::from_millis(incident.created_at)),
        closed_at: incident.closed_at.map(store::from_millis),
        ..IncidentTimes::default()
    };
    for entry in &timeline {
        let detail: Value = serde_json::from_str(&entry.detail).unwrap_or(Value::Null);
        let carries_activity =
            entry.kind == kind::FINDING_CREATED || entry.kind == kind::EVIDENCE_ADDED;
        if let Some(first) = detail["first_activity"]
            .as_i64()
            .map(store::from_millis)
            .filter(|_| carries_activity)
        {
            times.first_activity = Some(times.first_activity.map_or(first, |t| t.min(first)));
        }
        if entry.kind == kind::ACTION
            && detail["phase"] == "contain"
            && times.contained_at.is_none()
        {
            times.contained_at = Some(store::from_millis(entry.at));
        }
    }
    Ok(times)
}

/// Builds the metrics context: milliseconds per metric, or null when unknown.
pub fn metrics(metrics: &Metrics) -> Value {
    let mut out = serde_json::Map::new();
    for metric in Metric::ALL {
        let value = metrics
            .get(metric)
            .map(|delta| json!(delta.num_milliseconds()))
            .unwrap_or(Value::Null);
        out.insert(metric.as_str().to_string(), value);
    }
    Value::Object(out)
}

/// Builds a one-line status context for an incident. Restricted incidents
/// show no title.
pub fn incident_line(
    extractor: &Extractor,
    incident: &IncidentRow,
    metrics_value: Value,
    now: DateTime<Utc>,
    restricted: bool,
) -> Value {
    json!({
        "id": incident.id,
        "title": if restricted { Value::Null } else { json!(defang_free_text(extractor, &incident.title)) },
        "restricted": restricted,
        "severity": incident.severity,
        "tlp": incident.tlp,
        "tlp_label": incident.tlp.parse::<Tlp>().map(|tlp| tlp.label()).unwrap_or("TLP:AMBER"),
        "stage": incident.stage,
        "stage_number": incident.stage.parse::<crate::domain::stage::Stage>().map(|s| s.number()).unwrap_or(0),
        "status": incident.status,
        "owner": incident.owner,
        "age": (now - store::from_millis(incident.created_at)).num_milliseconds(),
        "metrics": metrics_value,
    })
}

/// Formats a timestamp as replies show it: `2026-12-04 20:33:05 UTC`.
pub fn time_text(millis: i64) -> String {
    store::from_millis(millis)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// Defangs the indicators found in free text typed in a command (notes,
/// actions, tasks, titles), so echoing it in chat creates no live link.
pub fn defang_free_text(extractor: &Extractor, text: &str) -> String {
    defang_text(text, &extractor.extract(text))
}

/// Replaces every occurrence of the given indicators in free text with their
/// defanged form, longest value first, so evidence and notes shown in chat
/// carry no live link. Hashes and file names are left as they are. Matching
/// ignores ASCII case (extracted domains are lowercase, and a host typed as
/// `EVIL.Example.COM` must not stay live), and each occurrence keeps the case
/// it was typed in.
pub fn defang_text(text: &str, iocs: &[Ioc]) -> String {
    let mut linkable: Vec<&Ioc> = iocs
        .iter()
        .filter(|ioc| {
            matches!(
                ioc.kind,
                IocKind::Url | IocKind::Domain | IocKind::Ipv4 | IocKind::Email | IocKind::Cidr
            )
        })
        .collect();
    linkable.sort_by_key(|ioc| std::cmp::Reverse(ioc.value.len()));
    let mut out = text.to_string();
    for ioc in linkable {
        out = defang_occurrences(&out, ioc);
    }
    out
}

/// Defangs each ASCII-case-insensitive occurrence of `ioc` in `text`.
/// ASCII lowercasing keeps every byte offset, so offsets found in the
/// lowercase copy are valid in `text`.
fn defang_occurrences(text: &str, ioc: &Ioc) -> String {
    let haystack = text.to_ascii_lowercase();
    let needle = ioc.value.to_ascii_lowercase();
    if needle.is_empty() || !haystack.contains(&needle) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    for (start, matched) in haystack.match_indices(&needle) {
        let end = start + matched.len();
        out.push_str(&text[copied..start]);
        let typed = Ioc {
            value: text[start..end].to_string(),
            ..ioc.clone()
        };
        out.push_str(&typed.defanged());
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Builds the card context of a parsed finding, without the parts that need
/// the database (files, overlaps). Free text is defanged, and the caller
/// applies the TLP rule. `assets` are the hosts and users that read as
/// public names, addresses or e-mail addresses: they are not indicators, but
/// chat clients would make them links, so they are defanged too, in their
/// lists and in the text.
pub fn finding(id: &str, reporter: &str, parsed: &ParsedFinding, assets: &[Ioc]) -> Value {
    let techniques: Vec<Value> = parsed
        .techniques
        .iter()
        .map(|technique| {
            json!({
                "id": technique.id,
                "requested": technique.requested,
                "name": technique.name,
                "tactics": technique.tactics.iter().map(|tactic| tactic.name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut linkable = parsed.iocs.clone();
    linkable.extend(assets.iter().cloned());
    let evidence: Vec<String> = parsed
        .evidence
        .iter()
        .map(|block| defang_text(block, &linkable))
        .collect();
    let defang_all = |values: &[String]| -> Vec<String> {
        values
            .iter()
            .map(|value| defang_text(value, assets))
            .collect()
    };
    json!({
        "id": id,
        "restricted": false,
        "title": defang_text(&parsed.title, &linkable),
        "hypothesis": parsed.hypothesis.as_deref().map(|text| defang_text(text, &linkable)),
        "techniques": techniques,
        "hosts": defang_all(&parsed.hosts),
        "users": defang_all(&parsed.users),
        "severity": parsed.severity.as_str(),
        "confidence": parsed.confidence.as_str(),
        "tlp_label": parsed.tlp.label(),
        "iocs": parsed.iocs.iter().map(ioc).collect::<Vec<_>>(),
        "evidence": evidence,
        "notes": defang_text(&parsed.notes, &linkable),
        "files": [],
        "warnings": warnings(parsed),
        "defaults": parsed.defaults_applied.iter().map(|field| field.as_str()).collect::<Vec<_>>(),
        "overlaps": [],
        "reporter": reporter,
        "incident": null,
    })
}

/// Parser warnings as catalog keys with arguments.
fn warnings(parsed: &ParsedFinding) -> Vec<Value> {
    parsed
        .warnings
        .iter()
        .map(|warning| {
            let args = match warning {
                FindingWarning::Technique { warning } => match warning {
                    AttackWarning::Revoked { id, replaced_by, replacement_name } => {
                        json!({ "id": id, "replaced_by": replaced_by, "replacement_name": replacement_name })
                    }
                    AttackWarning::Deprecated { id } | AttackWarning::RemovedInV19 { id } => json!({ "id": id }),
                },
                FindingWarning::UnknownTechniqueInText { id } => json!({ "id": id }),
            };
            json!({ "key": format!("warning.{}", warning.code()), "args": args })
        })
        .collect()
}

/// Builds the context of a timeline entry: time, actor, stage, kind, its detail and
/// the arguments of its `timeline.<kind>` catalog string, with free text
/// defanged.
pub fn timeline_entry(extractor: &Extractor, entry: &store::timeline::TimelineRow) -> Value {
    let detail: Value = serde_json::from_str(&entry.detail).unwrap_or(Value::Null);
    let text = |name: &str| detail[name].as_str().unwrap_or_default().to_string();
    let number = |name: &str| {
        detail[name]
            .as_i64()
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    let args = json!({
        "finding": entry.finding_id.clone().unwrap_or_default(),
        "name": text("name"),
        "from": format!("@stage.{}", text("from")),
        "to": format!("@stage.{}", text("to")),
        "number": number("number"),
        "text": defang_free_text(extractor, &text("text")),
        "phase": format!("@phase.{}", text("phase")),
        "count": number("count"),
        "playbook": text("playbook"),
        "resolution": format!("@resolution.{}", text("resolution")),
        "rules": number("rules"),
        "rule": text("rule"),
        "status": format!("@rule.status.{}", text("status")),
    });
    json!({
        "at": time_text(entry.at),
        "at_ms": entry.at,
        "actor": entry.actor,
        "kind": entry.kind,
        "stage": entry.stage,
        "detail": detail,
        "args": args,
    })
}

/// Other findings and incidents holding the same indicator that `room` may
/// learn about: a TLP:RED case is not named outside its own incident room,
/// so an overlap cannot reveal what a restricted case contains. Returns
/// `{ioc, cases, more, more_capped}`: the [`MAX_OVERLAP_CASES`] most recent
/// cases and the count of the other visible ones among the
/// [`MAX_OVERLAP_READ`] most recent (`more_capped` when older ones were not
/// read), or `None` when no case is visible.
pub async fn visible_overlaps(
    conn: &mut AnyConnection,
    room: &RoomKind,
    ioc: &Ioc,
    exclude_finding: Option<&str>,
    exclude_incident: Option<&str>,
) -> anyhow::Result<Option<Value>> {
    let code = kind_code(ioc.kind);
    let found = store::iocs::overlaps(
        &mut *conn,
        &code,
        &ioc.value,
        exclude_finding,
        exclude_incident,
        MAX_OVERLAP_READ,
    )
    .await?;
    let visible: Vec<Value> = found
        .cases
        .into_iter()
        .filter(|case| {
            let tlp = case
                .tlp
                .as_deref()
                .and_then(|code| code.parse::<Tlp>().ok())
                .unwrap_or(Tlp::Amber);
            may_show(tlp, room, case.incident.as_deref())
        })
        .map(|case| json!({ "finding": case.finding, "incident": case.incident }))
        .collect();
    if visible.is_empty() {
        return Ok(None);
    }
    let more = visible.len().saturating_sub(MAX_OVERLAP_CASES);
    let cases: Vec<Value> = visible.into_iter().take(MAX_OVERLAP_CASES).collect();
    Ok(Some(
        json!({ "ioc": self::ioc(ioc), "cases": cases, "more": more, "more_capped": !found.complete }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ioc(kind: IocKind, value: &str) -> Ioc {
        Ioc {
            kind,
            value: value.into(),
            flags: Vec::new(),
        }
    }

    #[test]
    fn defang_ignores_case_and_keeps_it() {
        let iocs = [
            ioc(IocKind::Domain, "evil.example.com"),
            ioc(IocKind::Url, "http://evil.example.com/Payload.sct"),
        ];
        let text = "Beacon a EVIL.Example.COM y HTTP://EVIL.example.com/Payload.sct";
        let defanged = defang_text(text, &iocs);
        assert_eq!(
            defanged,
            "Beacon a EVIL[.]Example[.]COM y hxxp://EVIL[.]example[.]com/Payload.sct"
        );
    }

    #[test]
    fn defang_leaves_other_text_alone() {
        let iocs = [ioc(IocKind::Ipv4, "10.10.10.5")];
        assert_eq!(
            defang_text("Conexión a 10.10.10.5 desde SRV-Ñandú", &iocs),
            "Conexión a 10[.]10[.]10[.]5 desde SRV-Ñandú"
        );
    }

    #[test]
    fn private_flag_labels_by_kind() {
        let flagged = |kind, value: &str| Ioc {
            kind,
            value: value.to_string(),
            flags: vec![IocFlag::Private],
        };
        let labels = |ioc: Ioc| super::ioc(&ioc)["flags"].clone();
        assert_eq!(
            labels(flagged(IocKind::Ipv4, "10.0.0.5")),
            json!(["private"])
        );
        assert_eq!(
            labels(flagged(IocKind::Url, "http://10.10.10.5:8444/a.sct")),
            json!(["private"])
        );
        assert_eq!(
            labels(flagged(IocKind::Domain, "workstation5.mordor.local")),
            json!(["internal_name"])
        );
        assert_eq!(
            labels(flagged(IocKind::Url, "http://intranet.corp.local/x")),
            json!(["internal_name"])
        );
    }
}
