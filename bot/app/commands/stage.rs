//! `/stage [next|<stage>]`: shows or moves the incident's stage. Moves go one
//! stage forward at a time.

use serde_json::json;

use crate::app::context::Ctx;
use crate::app::error::{CommandResult, UserError};
use crate::app::view::kind;
use crate::domain::stage::{Move, Stage, StageError, StageTarget};
use crate::store;

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let incident_id = ctx.require_incident_room()?;
    let incident = store::incidents::get(ctx.conn, &incident_id)
        .await?
        .ok_or_else(|| UserError::new("incident_not_found").arg("id", &incident_id))?;
    let current = Stage::parse(&incident.stage).map_err(|_| {
        anyhow::anyhow!(
            "stored stage {:?} of {incident_id} is invalid",
            incident.stage
        )
    })?;

    let value = args.trim();
    if value.is_empty() {
        ctx.reply("stage", stage_context(&incident_id, current, None))
            .await?;
        return Ok(());
    }
    let target = StageTarget::parse(value).map_err(stage_error)?;
    match current.apply(target).map_err(stage_error)? {
        Move::AlreadyThere(stage) => {
            ctx.reply_text(
                "stage_already",
                json!({ "incident": incident_id, "stage": format!("@stage.{}", stage.as_str()), "number": stage.number().to_string() }),
            )
            .await?;
        }
        Move::Advanced { from, to } => {
            store::incidents::set_stage(ctx.conn, &incident_id, to.as_str()).await?;
            ctx.timeline(
                Some(&incident_id),
                None,
                kind::STAGE_CHANGED,
                Some(to.as_str()),
                json!({ "from": from.as_str(), "to": to.as_str() }),
            )
            .await?;
            ctx.reply("stage", stage_context(&incident_id, to, Some(from)))
                .await?;
        }
    }
    Ok(())
}

fn stage_context(incident: &str, current: Stage, from: Option<Stage>) -> serde_json::Value {
    let stages: Vec<_> = Stage::ALL
        .iter()
        .map(|stage| {
            json!({
                "code": stage.as_str(),
                "number": stage.number(),
                "done": *stage < current,
                "current": *stage == current,
            })
        })
        .collect();
    json!({
        "incident": incident,
        "current": current.as_str(),
        "from": from.map(Stage::as_str),
        "stages": stages,
    })
}

/// Turns a stage error into a reply naming the value and the allowed move.
fn stage_error(error: StageError) -> UserError {
    let user = UserError::new(error.code());
    match error {
        StageError::Unknown { value } => user.arg("value", value),
        StageError::Backwards {
            from,
            to,
            expected: None,
        } => UserError::new("stage_backwards_last")
            .arg("from", format!("@stage.{}", from.as_str()))
            .arg("to", format!("@stage.{}", to.as_str())),
        StageError::Backwards { from, to, expected } => user
            .arg("from", format!("@stage.{}", from.as_str()))
            .arg("to", format!("@stage.{}", to.as_str()))
            .arg(
                "expected",
                expected
                    .map(|s| format!("@stage.{}", s.as_str()))
                    .unwrap_or_default(),
            ),
        StageError::Skipped { from, to, expected } => user
            .arg("from", format!("@stage.{}", from.as_str()))
            .arg("to", format!("@stage.{}", to.as_str()))
            .arg("expected", format!("@stage.{}", expected.as_str())),
        StageError::NoNextStage { from } => user.arg("from", format!("@stage.{}", from.as_str())),
    }
}
