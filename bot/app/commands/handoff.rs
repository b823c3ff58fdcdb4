//! `/handoff F-n accept|decline [reason]`: IR's answer to a handoff card.
//! Accepting opens the incident; declining records why. The hunter's room
//! hears about both.

use serde_json::json;

use super::{MAX_TEXT_CHARS, check_length, finding_id, first_word, incident};
use crate::app::context::Ctx;
use crate::app::effects::Target;
use crate::app::error::{CommandResult, UserError};
use crate::app::view::kind;
use crate::domain::stage::Stage;
use crate::domain::types::fold;
use crate::store;

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let (id_text, rest) = first_word(args);
    if id_text.is_empty() {
        return Err(UserError::new("missing_finding_id")
            .arg("command", ctx.command_text("handoff"))
            .into());
    }
    let id = finding_id(id_text)?;
    let (decision, reason) = first_word(rest);
    if decision.is_empty() {
        return Err(UserError::new("missing_decision").arg("id", &id).into());
    }
    let accept = match fold(decision).as_str() {
        "accept" | "aceptar" | "acepto" => true,
        "decline" | "rechazar" | "rechazo" => false,
        _ => {
            return Err(UserError::new("invalid_decision")
                .arg("value", decision)
                .into());
        }
    };
    check_length("@field.reason", reason, MAX_TEXT_CHARS)?;
    let finding = store::findings::get(ctx.conn, &id)
        .await?
        .ok_or_else(|| UserError::new("finding_not_found").arg("id", &id))?;
    if finding.status == "accepted" || finding.status == "declined" || finding.incident_id.is_some()
    {
        return Err(UserError::new("handoff_decided")
            .arg("id", &id)
            .arg("status", format!("@finding.status.{}", finding.status))
            .arg("user", finding.decided_by.clone().unwrap_or_default())
            .into());
    }

    let actor = ctx.actor.id.clone();
    let now = ctx.now_millis();
    let hunting_room = Target::Room {
        room_id: finding.room_id.clone(),
    };
    if accept {
        store::findings::decide(ctx.conn, &id, "accepted", &actor, None, now).await?;
        ctx.timeline(
            None,
            Some(&id),
            kind::HANDOFF_ACCEPTED,
            Some(Stage::Communication.as_str()),
            json!({}),
        )
        .await?;
        let incident = incident::open(ctx, vec![finding.clone()], None).await?;
        ctx.reply_text(
            "handoff_accepted",
            json!({ "finding": id, "incident": incident, "actor": actor }),
        )
        .await?;
        if finding.room_id != ctx.event.room_id {
            ctx.post(
                hunting_room,
                "line",
                json!({ "key": "reply.handoff_accepted", "args": { "finding": id, "incident": incident, "actor": actor } }),
                false,
            )
            .await?;
        }
    } else {
        let reason = if reason.is_empty() {
            None
        } else {
            Some(reason)
        };
        store::findings::decide(ctx.conn, &id, "declined", &actor, reason, now).await?;
        ctx.timeline(
            None,
            Some(&id),
            kind::HANDOFF_DECLINED,
            Some(Stage::Communication.as_str()),
            json!({ "reason": reason }),
        )
        .await?;
        let args = json!({ "finding": id, "actor": actor, "reason": reason.unwrap_or("-") });
        ctx.reply_text("handoff_declined", args.clone()).await?;
        if finding.room_id != ctx.event.room_id {
            ctx.post(
                hunting_room,
                "line",
                json!({ "key": "reply.handoff_declined", "args": args }),
                false,
            )
            .await?;
        }
    }
    Ok(())
}
