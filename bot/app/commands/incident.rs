//! `/incident open F-n [F-m…] [--severity S]` opens an incident from findings;
//! `/incident link F-n`, run in an incident room, adds a finding to it.
//! [`open`] is also what accepting a handoff runs.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::info;

use super::{finding, finding_id};
use crate::app::context::{Ctx, RoomKind};
use crate::app::effects::{Effect, Target};
use crate::app::error::{CommandResult, UserError};
use crate::app::view::{self, kind};
use crate::domain::stage::Stage;
use crate::domain::types::{Severity, Tlp, fold};
use crate::render::Message;
use crate::store::{self, files::NewFile, findings::FindingRow, incidents::IncidentRow};

/// The maximum number of findings one `/incident open` takes.
const MAX_FINDINGS_PER_OPEN: usize = 20;

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let (sub, rest) = super::first_word(args);
    match fold(sub).as_str() {
        "open" | "abrir" => open_command(ctx, rest).await,
        "link" | "vincular" | "enlazar" => link_command(ctx, rest).await,
        _ => Err(UserError::new("invalid_subcommand")
            .arg("command", ctx.command_text("incident"))
            .arg("value", sub)
            .arg("allowed", "open, link")
            .into()),
    }
}

async fn open_command(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let mut ids = Vec::new();
    let mut severity = None;
    let mut words = args.split_whitespace();
    while let Some(word) = words.next() {
        if word == "--severity" || word == "--severidad" {
            let value = words.next().unwrap_or("");
            severity = Some(value.parse::<Severity>().map_err(|_| {
                UserError::new("invalid_value")
                    .arg("field", "@field.severity")
                    .arg("value", value)
                    .arg("allowed", "low, medium, high, critical")
            })?);
        } else {
            ids.push(finding_id(word)?);
        }
    }
    if ids.is_empty() {
        return Err(UserError::new("missing_finding_id")
            .arg("command", ctx.command_text("incident open"))
            .into());
    }
    if ids.len() > MAX_FINDINGS_PER_OPEN {
        return Err(UserError::new("too_many")
            .arg("field", "@field.findings")
            .arg("count", ids.len())
            .arg("max", MAX_FINDINGS_PER_OPEN)
            .into());
    }
    let mut findings = Vec::new();
    for id in &ids {
        let row = store::findings::get(ctx.conn, id)
            .await?
            .ok_or_else(|| UserError::new("finding_not_found").arg("id", id))?;
        if let Some(incident) = &row.incident_id {
            return Err(UserError::new("finding_in_incident")
                .arg("id", id)
                .arg("incident", incident)
                .into());
        }
        findings.push(row);
    }
    let incident = open(ctx, findings, severity).await?;
    ctx.reply_text(
        "incident_opened",
        json!({ "incident": incident, "actor": ctx.actor.id }),
    )
    .await?;
    Ok(())
}

async fn link_command(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let incident = match ctx.room.clone() {
        RoomKind::Incident(incident) => incident,
        _ => return Err(UserError::new("not_incident_room").into()),
    };
    let id = finding_id(args.trim())?;
    let finding = store::findings::get(ctx.conn, &id)
        .await?
        .ok_or_else(|| UserError::new("finding_not_found").arg("id", &id))?;
    if let Some(other) = &finding.incident_id {
        return Err(UserError::new("finding_in_incident")
            .arg("id", &id)
            .arg("incident", other)
            .into());
    }
    store::findings::link_incident(ctx.conn, &id, &incident).await?;
    store::incidents::add_participant(ctx.conn, &incident, &finding.reporter, "hunter").await?;
    ctx.timeline(
        Some(&incident),
        Some(&id),
        kind::FINDING_LINKED,
        None,
        json!({ "finding": id }),
    )
    .await?;
    let target = Target::Incident {
        incident: incident.clone(),
    };
    let card = finding::card_context(ctx, &finding, true).await?;
    ctx.post(target.clone(), "finding_card", json!({ "f": card }), false)
        .await?;
    for file in store::files::list_for_finding(ctx.conn, &id).await? {
        ctx.enqueue(Effect::Upload {
            target: target.clone(),
            file_id: file.id,
            caption: None,
        })
        .await?;
    }
    ctx.reply_text(
        "finding_linked",
        json!({ "finding": id, "incident": incident }),
    )
    .await?;
    Ok(())
}

/// Opens an incident from findings: stores it at stage Coordination, links
/// the findings, and queues the incident room with its invitations, the
/// pinned summary, the evidence files and an IOC file. Returns the ID.
pub async fn open(
    ctx: &mut Ctx<'_>,
    findings: Vec<FindingRow>,
    severity: Option<Severity>,
) -> Result<String, crate::app::error::CommandError> {
    let now = ctx.now;
    let year = now.format("%Y").to_string();
    let number = store::counters::next(ctx.conn, &format!("incident-{year}")).await?;
    let id = format!("INC-{year}-{number:04}");

    let lead = &findings[0];
    let severity = severity.map(|s| s.as_str().to_string()).unwrap_or_else(|| {
        highest(&findings, |f| f.severity.parse::<Severity>().ok()).unwrap_or(lead.severity.clone())
    });
    let tlp = highest(&findings, |f| f.tlp.parse::<Tlp>().ok()).unwrap_or(lead.tlp.clone());
    let row = IncidentRow {
        id: id.clone(),
        title: lead.title.clone(),
        severity,
        tlp: tlp.clone(),
        stage: Stage::Coordination.as_str().into(),
        status: "open".into(),
        owner: ctx.actor.id.clone(),
        platform: ctx.event.platform.clone(),
        resolution: None,
        summary: None,
        created_at: store::to_millis(now),
        closed_at: None,
    };
    store::incidents::insert(ctx.conn, &row).await?;

    let mut invite = Vec::new();
    for finding in &findings {
        store::findings::link_incident(ctx.conn, &finding.id, &id).await?;
        store::incidents::add_participant(ctx.conn, &id, &finding.reporter, "hunter").await?;
        if !invite.contains(&finding.reporter) {
            invite.push(finding.reporter.clone());
        }
    }
    store::incidents::add_participant(ctx.conn, &id, &ctx.actor.id, "responder").await?;
    if !invite.contains(&ctx.actor.id) {
        invite.push(ctx.actor.id.clone());
    }
    let finding_ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    ctx.timeline(
        Some(&id),
        None,
        kind::INCIDENT_OPENED,
        Some(Stage::Coordination.as_str()),
        json!({ "findings": finding_ids }),
    )
    .await?;
    ctx.timeline(
        Some(&id),
        None,
        kind::STAGE_CHANGED,
        Some(Stage::Coordination.as_str()),
        json!({ "from": Stage::Communication.as_str(), "to": Stage::Coordination.as_str() }),
    )
    .await?;

    // The room takes the language of the room where the incident was opened.
    let lang = ctx.lang;
    let renderer = &ctx.shared.renderer;
    let tlp_value = tlp.parse::<Tlp>().unwrap_or(Tlp::Amber);
    let title = view::defang_free_text(&ctx.shared.extractor, &row.title);
    let severity_label = renderer.text(lang, &format!("severity.{}", row.severity), &[]);
    let (name, topic) = if tlp_value == Tlp::Red {
        (
            renderer.text(lang, "room.name_restricted", &[("id", &id)]),
            renderer.text(
                lang,
                "room.topic_restricted",
                &[("severity", &severity_label)],
            ),
        )
    } else {
        (
            renderer.text(lang, "room.name", &[("id", &id), ("title", &title)]),
            renderer.text(
                lang,
                "room.topic",
                &[
                    ("severity", &severity_label),
                    ("tlp", tlp_value.label()),
                    ("title", &title),
                ],
            ),
        )
    };
    ctx.enqueue(Effect::CreateIncidentRoom {
        incident: id.clone(),
        lang,
        alias: id.to_lowercase(),
        name,
        topic,
        invite: invite.clone(),
        encrypted: true,
    })
    .await?;

    // Summary, pinned, with every finding in full: this is the incident room.
    let target = Target::Incident {
        incident: id.clone(),
    };
    let mut cards = Vec::new();
    for finding in &findings {
        cards.push(finding::card_context(ctx, finding, true).await?);
    }
    let summary = json!({
        "incident": view::incident_line(&ctx.shared.extractor, &row, Value::Null, now, false),
        "findings": cards,
        "invited": invite,
        "owner": ctx.actor.id,
    });
    ctx.enqueue(Effect::Post {
        target: target.clone(),
        message: Message {
            template: "incident_summary".into(),
            lang,
            context: summary,
        },
        reply_to: None,
        pin: true,
    })
    .await?;

    // Evidence files, then the IOC file.
    for file in store::files::list_for_incident(ctx.conn, &id).await? {
        ctx.enqueue(Effect::Upload {
            target: target.clone(),
            file_id: file.id,
            caption: None,
        })
        .await?;
    }
    let ioc_file = ioc_file(ctx, &id).await?;
    ctx.enqueue(Effect::Upload {
        target,
        file_id: ioc_file,
        caption: None,
    })
    .await?;
    info!(incident = %id, findings = ?finding_ids, "incident opened");
    Ok(id)
}

/// Returns the highest per-finding value (severity or TLP), as its code.
fn highest<T: Ord + Copy + AsCode>(
    findings: &[FindingRow],
    get: impl Fn(&FindingRow) -> Option<T>,
) -> Option<String> {
    findings
        .iter()
        .filter_map(get)
        .max()
        .map(|value| value.code().to_string())
}

trait AsCode {
    fn code(self) -> &'static str;
}

impl AsCode for Severity {
    fn code(self) -> &'static str {
        self.as_str()
    }
}

impl AsCode for Tlp {
    fn code(self) -> &'static str {
        self.as_str()
    }
}

/// Writes the incident's indicators, defanged, as a tab-separated file and
/// stores it. Returns the file ID.
async fn ioc_file(ctx: &mut Ctx<'_>, incident: &str) -> anyhow::Result<i64> {
    let rows = store::iocs::list_for_incident(ctx.conn, incident).await?;
    let renderer = &ctx.shared.renderer;
    let mut text = renderer.text(ctx.lang, "file.ioc_header", &[("incident", incident)]);
    text.push_str("\n# type\tvalue_defanged\tflags\tsource\n");
    for row in &rows {
        if let Some(ioc) = view::ioc_from_row(row) {
            let flags: Vec<String> = ioc
                .flags
                .iter()
                .map(|flag| view::flag_code(*flag))
                .collect();
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\n",
                row.kind,
                ioc.defanged(),
                flags.join(","),
                row.source
            ));
        }
    }
    let name = format!("{incident}-iocs.tsv");
    let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
    let actor = ctx.actor.id.clone();
    store::files::insert(
        ctx.conn,
        &NewFile {
            finding_id: None,
            incident_id: Some(incident),
            name: &name,
            mime: "text/tab-separated-values",
            sha256: &sha256,
            content: text.as_bytes(),
            generated: true,
            added_by: &actor,
            created_at: ctx.now_millis(),
        },
    )
    .await
}
