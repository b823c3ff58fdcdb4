//! The closing report: the incident report and the hunt record of one
//! incident, rendered from the `report` template as Markdown and HTML in a
//! room's language.

use serde_json::{Value, json};

use super::dossier::Dossier;
use super::view;
use crate::domain::ioc::{Extractor, Ioc, IocKind};
use crate::domain::metrics::Metric;
use crate::domain::types::{Lang, Tlp};
use crate::render::{Format, Message, Renderer, markdown_to_html};
use crate::store::proposals::ProposalRow;

/// A rendered report.
#[derive(Debug, Clone)]
pub struct Report {
    pub markdown: String,
    pub html: String,
}

/// Builds the context of the `report` template.
pub fn context(
    dossier: &Dossier,
    proposals: &[ProposalRow],
    extractor: &Extractor,
    lessons: Option<&str>,
) -> Value {
    let incident = &dossier.incident;
    let defang = |text: &str| view::defang_free_text(extractor, text);
    let findings: Vec<Value> = dossier
        .findings
        .iter()
        .map(|(row, parsed)| {
            json!({
                "id": row.id,
                "title": view::defang_text(&parsed.title, &parsed.iocs),
                "reporter": row.reporter,
                "hypothesis": parsed.hypothesis.as_deref().map(|text| view::defang_text(text, &parsed.iocs)),
                "evidence_blocks": parsed.evidence.len(),
            })
        })
        .collect();
    let iocs: Vec<Value> = dossier
        .iocs
        .iter()
        .map(|(ioc, source)| {
            let mut value = view::ioc(ioc);
            value["source"] = json!(source);
            value
        })
        .collect();
    let techniques: Vec<Value> = dossier
        .techniques
        .iter()
        .map(|technique| {
            json!({
                "id": technique.id,
                "name": technique.name,
                "tactics": technique.tactics.iter().map(|tactic| tactic.name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let timeline: Vec<Value> = dossier
        .timeline
        .iter()
        .map(|entry| view::timeline_entry(extractor, entry))
        .collect();
    let mut actions = serde_json::Map::new();
    for phase in ["contain", "eradicate", "recover"] {
        let entries: Vec<Value> = timeline
            .iter()
            .filter(|entry| entry["kind"] == view::kind::ACTION && entry["detail"]["phase"] == phase)
            .map(|entry| json!({ "at": entry["at"], "actor": entry["actor"], "text": entry["args"]["text"] }))
            .collect();
        actions.insert(phase.to_string(), json!(entries));
    }
    let metrics = dossier.times.metrics();
    let files: Vec<Value> = dossier
        .files
        .iter()
        .filter(|f| !f.generated)
        .map(view::file)
        .collect();
    let hunts: Vec<Value> = dossier
        .hunts
        .iter()
        .map(|hunt| {
            json!({
                "id": hunt.id,
                "hypothesis": defang(&hunt.hypothesis),
                "result": hunt.result,
                "notes": hunt.notes.as_deref().map(defang),
                "finding": hunt.finding_id,
            })
        })
        .collect();
    json!({
        "incident": {
            "id": incident.id,
            "title": defang(&incident.title),
            "severity": incident.severity,
            "tlp_label": incident.tlp.parse::<Tlp>().map(|tlp| tlp.label()).unwrap_or("TLP:AMBER"),
            "owner": incident.owner,
            "resolution": incident.resolution,
            "summary": incident.summary.as_deref().map(defang),
            "opened": view::time_text(incident.created_at),
            "closed": incident.closed_at.map(view::time_text),
        },
        "lessons": lessons.map(str::to_string).or_else(|| stored_lessons(dossier)).as_deref().map(defang),
        "findings": findings,
        "hosts": dossier.hosts,
        "users": dossier.users,
        "iocs": iocs,
        "techniques": techniques,
        "timeline": timeline,
        "actions": actions,
        "metrics": view::metrics(&metrics),
        "metrics_missing": metrics.unavailable.iter().map(|(metric, _)| metric.as_str()).collect::<Vec<_>>(),
        "mttc_defined": metrics.get(Metric::Mttc).is_some(),
        "files": files,
        "hunts": hunts,
        "proposals": proposals.iter().map(proposal_line).collect::<Vec<_>>(),
    })
}

/// Builds the one-line context of a proposal for lists. Indicator values in
/// the body are defanged, but the Sigma YAML stays exact because it is a rule
/// to copy.
pub fn proposal_line(row: &ProposalRow) -> Value {
    let mut body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
    defang_body(&mut body);
    let hunt_args = hunt_case_args(&body["basis"]);
    let excluded_groups = group_exclusions(&body["excluded"]);
    json!({
        "id": row.id,
        "hunt_args": hunt_args,
        "excluded_groups": excluded_groups,
        "incident": row.incident_id,
        "kind": row.kind,
        "title": row.title,
        "status": row.status,
        "decided_by": row.decided_by,
        "note": row.decision_note,
        "body": body,
    })
}

/// Renders the report in `lang` as Markdown and HTML.
pub fn render(renderer: &Renderer, lang: Lang, context: Value) -> anyhow::Result<Report> {
    let title = format!(
        "{} · {}",
        context["incident"]["id"].as_str().unwrap_or_default(),
        context["incident"]["title"].as_str().unwrap_or_default()
    );
    let message = Message {
        template: "report".into(),
        lang,
        context,
    };
    let markdown = renderer.render(&message, Format::Markdown)?;
    let html = markdown_to_html(&title, lang, &markdown);
    Ok(Report { markdown, html })
}

/// Defangs every `{kind, value}` indicator in a proposal body, and the
/// addresses and URLs of hunt case bases.
fn defang_body(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let kind = map
                .get("kind")
                .and_then(|kind| serde_json::from_value::<IocKind>(kind.clone()).ok());
            if let (Some(kind), Some(Value::String(text))) = (kind, map.get("value")) {
                let defanged = Ioc {
                    kind,
                    value: text.clone(),
                    flags: Vec::new(),
                }
                .defanged();
                map.insert("value".into(), Value::String(defanged));
            }
            if let Some(Value::String(ip)) = map.get("ip") {
                let kind = if ip.contains(':') {
                    IocKind::Ipv6
                } else {
                    IocKind::Ipv4
                };
                let defanged = Ioc {
                    kind,
                    value: ip.clone(),
                    flags: Vec::new(),
                }
                .defanged();
                map.insert("ip".into(), Value::String(defanged));
            }
            if let Some(Value::Array(urls)) = map.get_mut("urls") {
                for url in urls.iter_mut() {
                    if let Value::String(text) = url {
                        *text = Ioc {
                            kind: IocKind::Url,
                            value: text.clone(),
                            flags: Vec::new(),
                        }
                        .defanged();
                    }
                }
            }
            for (key, child) in map.iter_mut() {
                if key != "yaml" {
                    defang_body(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(defang_body),
        _ => {}
    }
}

/// Builds the arguments of a hunt case's `hunt_case.<code>` sentence, from the
/// (defanged) serde form of its basis.
fn hunt_case_args(basis: &Value) -> Value {
    let text = |name: &str| match &basis[name] {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => String::new(),
    };
    let list = |name: &str| {
        basis[name]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|item| match item {
                        Value::String(text) => text.clone(),
                        Value::Object(map) => map
                            .get("value")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|joined| !joined.is_empty())
            .unwrap_or_else(|| "-".into())
    };
    let mut code = text("code");
    if code == "same_technique_other_hosts" && list("exclude_hosts") == "-" {
        code = "same_technique_any_host".into();
    }
    json!({
        "code": code,
        "technique": text("technique"),
        "hosts": if basis["exclude_hosts"].is_array() { list("exclude_hosts") } else { list("hosts") },
        "parent": text("parent"),
        "child": text("child"),
        "image": text("image"),
        "modules": list("modules"),
        "ip": text("ip"),
        "port": text("port"),
        "connections": text("connections"),
        "interval": text("interval_seconds"),
        "internal": basis["internal"].as_bool().unwrap_or(false),
        "urls": list("urls"),
        "indicators": list("indicators"),
        "resolution": format!("@resolution.{}", text("resolution")),
        "users": list("users"),
        "images": list("images"),
    })
}

/// Groups a blocklist's exclusions by reason, keeping first-seen order, so a
/// message states each reason and its advice once.
fn group_exclusions(excluded: &Value) -> Value {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for item in excluded.as_array().into_iter().flatten() {
        let reason = item["reason"].as_str().unwrap_or_default().to_string();
        let value = item["value"].as_str().unwrap_or_default();
        let shown = match item["component_path"].as_str() {
            Some(path) => format!("{value} ({path})"),
            None => value.to_string(),
        };
        match groups.iter_mut().find(|(known, _)| *known == reason) {
            Some((_, values)) => values.push(shown),
            None => groups.push((reason, vec![shown])),
        }
    }
    Value::Array(
        groups
            .into_iter()
            .map(|(reason, values)| json!({ "reason": reason, "count": values.len(), "values": values }))
            .collect(),
    )
}

/// Returns the lessons recorded when the incident was closed, if any.
fn stored_lessons(dossier: &Dossier) -> Option<String> {
    dossier
        .timeline
        .iter()
        .rev()
        .find(|entry| entry.kind == view::kind::INCIDENT_CLOSED)
        .and_then(|entry| serde_json::from_str::<Value>(&entry.detail).ok())
        .and_then(|detail| detail["lessons"].as_str().map(str::to_string))
}
