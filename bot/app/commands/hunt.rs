//! `/hunt <hypothesis> [T-ids]` registers a hunt case (H-n) so hunts that
//! find nothing are recorded too; `/hunt list` shows open ones; `/hunt close
//! H-n found|nothing [F-n] [notes]` records the result.

use serde_json::json;

use super::{MAX_TEXT_CHARS, check_length, finding_id, first_word, hunt_id};
use crate::app::context::Ctx;
use crate::app::error::{CommandResult, UserError};
use crate::domain::attack::find_technique_ids;
use crate::domain::types::fold;
use crate::store::{self, hunts::HuntRow};

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let (sub, rest) = first_word(args);
    match fold(sub).as_str() {
        "list" | "lista" => list(ctx).await,
        "close" | "cerrar" => close(ctx, rest).await,
        "" => Err(UserError::new("missing_text")
            .arg("command", ctx.command_text("hunt"))
            .into()),
        _ => register(ctx, args.trim()).await,
    }
}

async fn register(ctx: &mut Ctx<'_>, hypothesis: &str) -> CommandResult {
    check_length("@field.hypothesis", hypothesis, MAX_TEXT_CHARS)?;
    let mut techniques = Vec::new();
    for id in find_technique_ids(hypothesis) {
        let resolved = ctx
            .shared
            .catalog
            .resolve(id.as_str())
            .map_err(|error| UserError::new(error.code()).arg("value", id.as_str()))?;
        techniques.push(json!({ "id": resolved.id, "name": resolved.name }));
    }
    let number = store::counters::next(ctx.conn, "hunt").await?;
    let id = format!("H-{number}");
    let row = HuntRow {
        id: id.clone(),
        hypothesis: hypothesis.to_string(),
        techniques: serde_json::to_string(&techniques).map_err(anyhow::Error::from)?,
        status: "open".into(),
        result: None,
        notes: None,
        hunter: ctx.actor.id.clone(),
        platform: ctx.event.platform.clone(),
        room_id: ctx.event.room_id.clone(),
        finding_id: None,
        created_at: ctx.now_millis(),
        closed_at: None,
    };
    store::hunts::insert(ctx.conn, &row).await?;
    ctx.reply("hunt", json!({ "id": id, "hypothesis": hypothesis, "techniques": techniques, "hunter": row.hunter }))
        .await?;
    Ok(())
}

async fn list(ctx: &mut Ctx<'_>) -> CommandResult {
    let hunts = store::hunts::list_open(ctx.conn).await?;
    let items: Vec<_> = hunts
        .iter()
        .map(|hunt| json!({ "id": hunt.id, "hypothesis": hunt.hypothesis, "hunter": hunt.hunter }))
        .collect();
    ctx.reply("hunt_list", json!({ "hunts": items })).await?;
    Ok(())
}

async fn close(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let (id_text, rest) = first_word(args);
    if id_text.is_empty() {
        return Err(UserError::new("missing_hunt_id").into());
    }
    let id = hunt_id(id_text)?;
    let (result_text, notes) = first_word(rest);
    let result = match fold(result_text).as_str() {
        "found" | "encontrado" | "hallado" => "found",
        "nothing" | "nada" => "nothing",
        _ => {
            return Err(UserError::new("invalid_hunt_result")
                .arg("value", result_text)
                .into());
        }
    };
    let hunt = store::hunts::get(ctx.conn, &id)
        .await?
        .ok_or_else(|| UserError::new("hunt_not_found").arg("id", &id))?;
    if hunt.status != "open" {
        return Err(UserError::new("hunt_closed").arg("id", &id).into());
    }
    check_length("@field.notes", notes, MAX_TEXT_CHARS)?;

    // `found F-3 …` links the hunt to the finding it led to.
    let (maybe_finding, after) = first_word(notes);
    let (linked, notes) = match finding_id(maybe_finding) {
        Ok(finding) if result == "found" => {
            if store::findings::get(ctx.conn, &finding).await?.is_none() {
                return Err(UserError::new("finding_not_found")
                    .arg("id", &finding)
                    .into());
            }
            (Some(finding), after)
        }
        _ => (None, notes),
    };
    let now = ctx.now_millis();
    store::hunts::close(ctx.conn, &id, result, notes, now).await?;
    if let Some(finding) = &linked {
        store::hunts::link_finding(ctx.conn, &id, finding).await?;
    }
    ctx.reply_text(
        "hunt_closed",
        json!({ "id": id, "result": format!("@hunt.result.{result}"), "finding": linked.unwrap_or_default() }),
    )
    .await?;
    Ok(())
}
