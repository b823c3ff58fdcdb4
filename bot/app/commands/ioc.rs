//! `/ioc add <value…>` and `/ioc list`: indicators of the incident. New
//! values are refanged, classified and checked against other findings and
//! incidents for overlap.

use serde_json::json;

use super::first_word;
use crate::app::context::Ctx;
use crate::app::error::{CommandResult, UserError};
use crate::app::view::{self, kind};
use crate::domain::types::fold;
use crate::store::{self, iocs::IocRow};

/// The maximum number of indicators in one `/ioc add`.
pub const MAX_IOCS_PER_COMMAND: usize = 100;

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let incident = ctx.require_incident_room()?;
    let (sub, rest) = first_word(args);
    match fold(sub).as_str() {
        "add" | "anadir" | "agregar" => add(ctx, &incident, rest).await,
        "list" | "lista" | "" => list(ctx, &incident).await,
        _ => Err(UserError::new("invalid_subcommand")
            .arg("command", ctx.command_text("ioc"))
            .arg("value", sub)
            .arg("allowed", "add, list")
            .into()),
    }
}

async fn add(ctx: &mut Ctx<'_>, incident: &str, values: &str) -> CommandResult {
    let tokens: Vec<&str> = values.split_whitespace().collect();
    if tokens.is_empty() {
        return Err(UserError::new("missing_ioc").into());
    }
    if tokens.len() > MAX_IOCS_PER_COMMAND {
        return Err(UserError::new("too_many")
            .arg("field", "@field.iocs")
            .arg("count", tokens.len())
            .arg("max", MAX_IOCS_PER_COMMAND)
            .into());
    }
    // Classify every value before storing any, so one bad value stores nothing.
    let mut iocs = Vec::new();
    for token in &tokens {
        let ioc = ctx
            .shared
            .extractor
            .classify_one(token)
            .map_err(|_| UserError::new("invalid_ioc").arg("value", *token))?;
        iocs.push(ioc);
    }

    let existing = store::iocs::list_for_incident(ctx.conn, incident).await?;
    let mut added = Vec::new();
    let mut overlaps = Vec::new();
    for ioc in &iocs {
        let code = view::kind_code(ioc.kind);
        if existing
            .iter()
            .any(|row| row.kind == code && row.value == ioc.value)
        {
            continue;
        }
        let row = IocRow {
            finding_id: None,
            incident_id: Some(incident.to_string()),
            kind: code.clone(),
            value: ioc.value.clone(),
            flags: serde_json::to_string(&ioc.flags).map_err(anyhow::Error::from)?,
            source: "manual".into(),
            added_by: ctx.actor.id.clone(),
            created_at: ctx.now_millis(),
        };
        store::iocs::insert(ctx.conn, &row).await?;
        let room = ctx.room.clone();
        overlaps.extend(view::visible_overlaps(ctx.conn, &room, ioc, None, Some(incident)).await?);
        added.push(view::ioc(ioc));
    }
    ctx.timeline(
        Some(incident),
        None,
        kind::IOC_ADDED,
        None,
        json!({ "count": added.len() }),
    )
    .await?;
    ctx.reply(
        "ioc_added",
        json!({ "incident": incident, "added": added, "skipped": iocs.len() - added.len(), "overlaps": overlaps }),
    )
    .await?;
    Ok(())
}

async fn list(ctx: &mut Ctx<'_>, incident: &str) -> CommandResult {
    let rows = store::iocs::list_for_incident(ctx.conn, incident).await?;
    let iocs: Vec<_> = rows
        .iter()
        .filter_map(|row| view::ioc_from_row(row).map(|ioc| (row, ioc)))
        .map(|(row, ioc)| {
            let mut value = view::ioc(&ioc);
            value["source"] = json!(row.source);
            value
        })
        .collect();
    ctx.reply("ioc_list", json!({ "incident": incident, "iocs": iocs }))
        .await?;
    Ok(())
}
