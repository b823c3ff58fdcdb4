//! `/status [INC-…|all|mine]`: open incidents with stage, severity, owner,
//! age and metrics; one incident in detail with its timeline. TLP:RED
//! incidents show only their ID, stage and severity outside their room.

use serde_json::{Value, json};

use crate::app::context::{Ctx, RoomKind};
use crate::app::error::{CommandResult, UserError};
use crate::app::view::{self, kind};
use crate::domain::types::{Tlp, fold};
use crate::store::{self, incidents::IncidentRow};

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let value = args.trim();
    let folded = fold(value);
    match folded.as_str() {
        "" => match ctx.room.clone() {
            RoomKind::Incident(incident) => detail(ctx, &incident).await,
            _ => overview(ctx, false).await,
        },
        "all" | "todo" | "todos" | "todas" => overview(ctx, false).await,
        "mine" | "mio" | "mios" | "mias" => overview(ctx, true).await,
        _ if folded.starts_with("inc-") => detail(ctx, &value.to_uppercase()).await,
        _ => Err(UserError::new("invalid_status_arg")
            .arg("value", value)
            .into()),
    }
}

fn restricted(ctx: &Ctx<'_>, incident: &IncidentRow) -> bool {
    let tlp = incident.tlp.parse::<Tlp>().unwrap_or(Tlp::Amber);
    !view::may_show(tlp, &ctx.room, Some(&incident.id))
}

async fn overview(ctx: &mut Ctx<'_>, mine: bool) -> CommandResult {
    let mut incidents = store::incidents::list_open(ctx.conn).await?;
    if mine {
        let mut kept = Vec::new();
        for incident in incidents {
            let participants = store::incidents::participants(ctx.conn, &incident.id).await?;
            if incident.owner == ctx.actor.id
                || participants.iter().any(|(user, _)| *user == ctx.actor.id)
            {
                kept.push(incident);
            }
        }
        incidents = kept;
    }
    let mut lines = Vec::new();
    for incident in &incidents {
        let times = view::incident_times(ctx.conn, incident).await?;
        let hidden = restricted(ctx, incident);
        lines.push(view::incident_line(
            &ctx.shared.extractor,
            incident,
            view::metrics(&times.metrics()),
            ctx.now,
            hidden,
        ));
    }
    let waiting = if mine {
        let findings = store::findings::list_open_by_reporter(ctx.conn, &ctx.actor.id).await?;
        findings
            .iter()
            .map(|finding| {
                let tlp = finding.tlp.parse::<Tlp>().unwrap_or(Tlp::Amber);
                let hidden = !view::may_show(tlp, &ctx.room, None);
                json!({
                    "id": finding.id,
                    "title": if hidden { Value::Null } else { json!(finding.title) },
                    "status": finding.status,
                    "severity": finding.severity,
                    "tlp_label": tlp.label(),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    ctx.reply(
        "status",
        json!({ "mine": mine, "incidents": lines, "findings": waiting, "user": ctx.actor.id }),
    )
    .await?;
    Ok(())
}

async fn detail(ctx: &mut Ctx<'_>, id: &str) -> CommandResult {
    let incident = store::incidents::get(ctx.conn, id)
        .await?
        .ok_or_else(|| UserError::new("incident_not_found").arg("id", id))?;
    let times = view::incident_times(ctx.conn, &incident).await?;
    let hidden = restricted(ctx, &incident);
    let line = view::incident_line(
        &ctx.shared.extractor,
        &incident,
        view::metrics(&times.metrics()),
        ctx.now,
        hidden,
    );
    let timeline = if hidden {
        Vec::new()
    } else {
        store::timeline::list_for_incident(ctx.conn, id)
            .await?
            .into_iter()
            .map(|entry| view::timeline_entry(&ctx.shared.extractor, &entry))
            .filter(|entry| entry["kind"] != kind::IOC_ADDED || entry["detail"]["count"] != 0)
            .collect()
    };
    let tasks = if hidden {
        Vec::new()
    } else {
        store::tasks::list(ctx.conn, id)
            .await?
            .into_iter()
            .map(|task| json!({ "number": task.number, "text": view::defang_free_text(&ctx.shared.extractor, &task.text), "done": task.status == "done" }))
            .collect()
    };
    ctx.reply(
        "status_incident",
        json!({ "incident": line, "timeline": timeline, "tasks": tasks }),
    )
    .await?;
    Ok(())
}
