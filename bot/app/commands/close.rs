//! `/close <true-positive|false-positive|benign> <summary>`: moves the
//! incident through Documentation (the report and hunt record) and
//! Improvement (rule proposals R-n), posts both in the incident room and in
//! the leads' room, and closes it. A line starting with `lecciones:` or
//! `lessons:` begins the lessons learned.

use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::info;

use super::{MAX_TEXT_CHARS, check_length, first_word};
use crate::app::context::{Ctx, RoomKind};
use crate::app::dossier::Dossier;
use crate::app::effects::{Effect, Target};
use crate::app::error::{CommandResult, UserError};
use crate::app::report;
use crate::app::view::{self, kind};
use crate::domain::rules::{Proposal, Resolution, propose};
use crate::domain::stage::Stage;
use crate::domain::types::{Lang, Tlp, fold};
use crate::store::{self, files::NewFile, proposals::ProposalRow};

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let incident_id = ctx.require_incident_room()?;
    let (word, rest) = first_word(args);
    if word.is_empty() {
        return Err(UserError::new("missing_resolution").into());
    }
    let resolution: Resolution = word
        .parse()
        .map_err(|_| UserError::new("invalid_resolution").arg("value", word))?;
    let (summary, lessons) = split_lessons(rest);
    if summary.is_empty() {
        return Err(UserError::new("missing_text")
            .arg("command", ctx.command_text("close"))
            .into());
    }
    check_length("@field.summary", &summary, MAX_TEXT_CHARS)?;
    if let Some(lessons) = &lessons {
        check_length("@field.lessons", lessons, MAX_TEXT_CHARS)?;
    }
    let incident = store::incidents::get(ctx.conn, &incident_id)
        .await?
        .ok_or_else(|| UserError::new("incident_not_found").arg("id", &incident_id))?;
    if incident.status != "open" {
        return Err(UserError::new("incident_closed")
            .arg("id", &incident_id)
            .into());
    }

    // Documentation: the stage moves forward to it, then the incident closes.
    let current = Stage::parse(&incident.stage).unwrap_or(Stage::Coordination);
    if current < Stage::Documentation {
        move_stage(ctx, &incident_id, current, Stage::Documentation).await?;
    }
    let now = ctx.now_millis();
    store::incidents::close(ctx.conn, &incident_id, resolution.as_str(), &summary, now).await?;
    ctx.timeline(
        Some(&incident_id),
        None,
        kind::INCIDENT_CLOSED,
        Some(Stage::Documentation.as_str()),
        json!({ "resolution": resolution.as_str(), "text": summary, "lessons": lessons }),
    )
    .await?;

    // Improvement: rule proposals from everything the incident holds.
    let dossier = Dossier::load(ctx.conn, &incident_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{incident_id} vanished while closing"))?;
    let proposals = store_proposals(ctx, &dossier, resolution).await?;
    move_stage(ctx, &incident_id, Stage::Documentation, Stage::Improvement).await?;

    // The report, in the incident room's language and, if it differs, in the
    // leads' room language.
    let dossier = Dossier::load(ctx.conn, &incident_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{incident_id} vanished while closing"))?;
    let incident_target = Target::Incident {
        incident: incident_id.clone(),
    };
    let lines: Vec<_> = proposals.iter().map(report::proposal_line).collect();
    let summary_context = json!({
        "incident": incident_id,
        "resolution": resolution.as_str(),
        "metrics": view::metrics(&dossier.times.metrics()),
        "proposals": lines,
        "restricted": false,
    });
    let room_lang = ctx.lang_of(&incident_target).await?;
    let files = report_files(ctx, &dossier, &proposals, lessons.as_deref(), room_lang).await?;
    ctx.post(
        incident_target.clone(),
        "close_summary",
        summary_context.clone(),
        false,
    )
    .await?;
    for file_id in files {
        ctx.enqueue(Effect::Upload {
            target: incident_target.clone(),
            file_id,
            caption: None,
        })
        .await?;
    }

    let tlp = dossier.incident.tlp.parse::<Tlp>().unwrap_or(Tlp::Amber);
    for leads_room in ctx.shared.config.rooms.leads.clone() {
        let target = Target::Room {
            room_id: leads_room.clone(),
        };
        let leads = RoomKind::Leads;
        if !view::may_show(tlp, &leads, None) {
            let mut restricted = summary_context.clone();
            restricted["restricted"] = json!(true);
            restricted["proposals"] = json!([]);
            ctx.post(target, "close_summary", restricted, false).await?;
            continue;
        }
        ctx.post(
            target.clone(),
            "close_summary",
            summary_context.clone(),
            false,
        )
        .await?;
        let leads_lang = ctx.lang_of(&target).await?;
        let files = if leads_lang == room_lang {
            store::files::list_for_incident(ctx.conn, &incident_id)
                .await?
                .into_iter()
                .filter(|file| file.generated && file.name.contains("-report-"))
                .map(|file| file.id)
                .collect()
        } else {
            report_files(ctx, &dossier, &proposals, lessons.as_deref(), leads_lang).await?
        };
        for file_id in files {
            ctx.enqueue(Effect::Upload {
                target: target.clone(),
                file_id,
                caption: None,
            })
            .await?;
        }
    }
    info!(incident = %incident_id, resolution = resolution.as_str(), proposals = proposals.len(), "incident closed");
    Ok(())
}

/// Splits the summary from the lessons learned.
fn split_lessons(text: &str) -> (String, Option<String>) {
    let mut summary = Vec::new();
    let mut lessons: Option<Vec<&str>> = None;
    for line in text.lines() {
        let folded = fold(line.trim_start());
        let marker = [
            "lecciones:",
            "lessons:",
            "lecciones aprendidas:",
            "lessons learned:",
        ]
        .iter()
        .find(|marker| folded.starts_with(*marker));
        match (marker, lessons.as_mut()) {
            (Some(marker), _) => {
                let start = line.len() - line.trim_start().len() + marker.len();
                lessons = Some(vec![line.get(start..).unwrap_or("").trim()]);
            }
            (None, Some(lessons)) => lessons.push(line),
            (None, None) => summary.push(line),
        }
    }
    let summary = summary.join("\n").trim().to_string();
    let lessons = lessons
        .map(|lines| lines.join("\n").trim().to_string())
        .filter(|text| !text.is_empty());
    (summary, lessons)
}

async fn move_stage(
    ctx: &mut Ctx<'_>,
    incident: &str,
    from: Stage,
    to: Stage,
) -> anyhow::Result<()> {
    store::incidents::set_stage(ctx.conn, incident, to.as_str()).await?;
    ctx.timeline(
        Some(incident),
        None,
        kind::STAGE_CHANGED,
        Some(to.as_str()),
        json!({ "from": from.as_str(), "to": to.as_str() }),
    )
    .await
}

/// Generates and stores the rule proposals (R-n).
async fn store_proposals(
    ctx: &mut Ctx<'_>,
    dossier: &Dossier,
    resolution: Resolution,
) -> anyhow::Result<Vec<ProposalRow>> {
    let iocs = dossier.ioc_values();
    let evidence: Vec<&str> = dossier.evidence.iter().map(String::as_str).collect();
    let input = dossier.rule_input(
        &iocs,
        &evidence,
        resolution,
        &ctx.actor.id,
        ctx.now.date_naive(),
        ctx.shared.catalog,
    );
    let mut rows = Vec::new();
    for proposal in propose(&input) {
        let number = store::counters::next(ctx.conn, "rule").await?;
        let (kind, title) = match &proposal {
            Proposal::Sigma(rule) => ("sigma", rule.title.clone()),
            Proposal::Blocklist(list) => ("blocklist", list.kind.as_str().to_string()),
            Proposal::HuntCase(case) => ("hunt_case", case.basis.code().to_string()),
        };
        let row = ProposalRow {
            id: format!("R-{number}"),
            incident_id: dossier.incident.id.clone(),
            kind: kind.into(),
            title,
            body: serde_json::to_string(&proposal)?,
            status: "proposed".into(),
            decided_by: None,
            decision_note: None,
            decided_at: None,
            created_at: ctx.now_millis(),
        };
        store::proposals::insert(ctx.conn, &row).await?;
        rows.push(row);
    }
    ctx.timeline(
        Some(&dossier.incident.id),
        None,
        kind::RULES_PROPOSED,
        Some(Stage::Improvement.as_str()),
        json!({ "rules": rows.len() }),
    )
    .await?;
    Ok(rows)
}

/// Renders the report in `lang` and stores it as Markdown and HTML files.
async fn report_files(
    ctx: &mut Ctx<'_>,
    dossier: &Dossier,
    proposals: &[ProposalRow],
    lessons: Option<&str>,
    lang: Lang,
) -> anyhow::Result<Vec<i64>> {
    let context = report::context(dossier, proposals, &ctx.shared.extractor, lessons);
    let rendered = report::render(&ctx.shared.renderer, lang, context)?;
    let id = &dossier.incident.id;
    let mut ids = Vec::new();
    for (extension, mime, content) in [
        ("md", "text/markdown", rendered.markdown),
        ("html", "text/html", rendered.html),
    ] {
        let name = format!("{id}-report-{}.{extension}", lang.as_str());
        let sha256 = hex::encode(Sha256::digest(content.as_bytes()));
        let actor = ctx.actor.id.clone();
        let file_id = store::files::insert(
            ctx.conn,
            &NewFile {
                finding_id: None,
                incident_id: Some(id),
                name: &name,
                mime,
                sha256: &sha256,
                content: content.as_bytes(),
                generated: true,
                added_by: &actor,
                created_at: ctx.now_millis(),
            },
        )
        .await?;
        ids.push(file_id);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lessons_split_from_summary() {
        let (summary, lessons) =
            split_lessons("Contenido en 1 equipo.\nLecciones: vigilar regsvr32\ny mshta");
        assert_eq!(summary, "Contenido en 1 equipo.");
        assert_eq!(lessons.as_deref(), Some("vigilar regsvr32\ny mshta"));
        let (summary, lessons) = split_lessons("solo resumen");
        assert_eq!(summary, "solo resumen");
        assert!(lessons.is_none());
    }
}
