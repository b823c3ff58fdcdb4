//! `/task add <text>`, `/task done <n>`, `/task list`: incident tasks.

use serde_json::json;

use super::{MAX_TEXT_CHARS, check_length, first_word};
use crate::app::context::Ctx;
use crate::app::error::{CommandResult, UserError};
use crate::app::view::{self, kind};
use crate::domain::types::fold;
use crate::store;

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let incident = ctx.require_incident_room()?;
    let (sub, rest) = first_word(args);
    match fold(sub).as_str() {
        "add" | "nueva" | "anadir" | "agregar" => add(ctx, &incident, rest).await,
        "done" | "hecha" | "hecho" | "cerrar" => done(ctx, &incident, rest).await,
        "list" | "lista" | "" => list(ctx, &incident).await,
        _ => Err(UserError::new("invalid_subcommand")
            .arg("command", ctx.command_text("task"))
            .arg("value", sub)
            .arg("allowed", "add, done, list")
            .into()),
    }
}

async fn add(ctx: &mut Ctx<'_>, incident: &str, text: &str) -> CommandResult {
    if text.is_empty() {
        return Err(UserError::new("missing_text")
            .arg("command", ctx.command_text("task add"))
            .into());
    }
    check_length("@field.task", text, MAX_TEXT_CHARS)?;
    let now = ctx.now_millis();
    let actor = ctx.actor.id.clone();
    let number = store::tasks::add(ctx.conn, incident, text, &actor, now).await?;
    ctx.timeline(
        Some(incident),
        None,
        kind::TASK_ADDED,
        None,
        json!({ "number": number, "text": text }),
    )
    .await?;
    ctx.reply_text(
        "task_added",
        json!({ "incident": incident, "number": number.to_string(), "text": text }),
    )
    .await?;
    Ok(())
}

async fn done(ctx: &mut Ctx<'_>, incident: &str, value: &str) -> CommandResult {
    let number: i64 = value
        .trim()
        .trim_start_matches('#')
        .parse()
        .map_err(|_| UserError::new("invalid_task_number").arg("value", value))?;
    let now = ctx.now_millis();
    let actor = ctx.actor.id.clone();
    let task = store::tasks::complete(ctx.conn, incident, number, &actor, now)
        .await?
        .ok_or_else(|| {
            UserError::new("task_not_found")
                .arg("number", number)
                .arg("incident", incident)
        })?;
    if task.status != "open" {
        return Err(UserError::new("task_already_done")
            .arg("number", number)
            .arg("user", task.done_by.unwrap_or_default())
            .into());
    }
    ctx.timeline(
        Some(incident),
        None,
        kind::TASK_DONE,
        None,
        json!({ "number": number, "text": task.text }),
    )
    .await?;
    ctx.reply_text(
        "task_done",
        json!({ "number": number.to_string(), "text": view::defang_free_text(&ctx.shared.extractor, &task.text), "actor": actor }),
    )
    .await?;
    Ok(())
}

async fn list(ctx: &mut Ctx<'_>, incident: &str) -> CommandResult {
    let tasks = store::tasks::list(ctx.conn, incident).await?;
    let items: Vec<_> = tasks
        .iter()
        .map(|task| {
            json!({
                "number": task.number,
                "text": view::defang_free_text(&ctx.shared.extractor, &task.text),
                "done": task.status == "done",
                "done_by": task.done_by,
                "done_at": task.done_at.map(view::time_text),
            })
        })
        .collect();
    ctx.reply("task_list", json!({ "incident": incident, "tasks": items }))
        .await?;
    Ok(())
}
