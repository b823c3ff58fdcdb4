//! `/note <text>`: adds a note to the incident timeline.

use serde_json::json;

use super::{MAX_TEXT_CHARS, check_length};
use crate::app::context::Ctx;
use crate::app::error::{CommandResult, UserError};
use crate::app::view::{self, kind};

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let incident = ctx.require_incident_room()?;
    let text = args.trim();
    if text.is_empty() {
        return Err(UserError::new("missing_text")
            .arg("command", ctx.command_text("note"))
            .into());
    }
    check_length("@field.note", text, MAX_TEXT_CHARS)?;
    let stage = crate::store::incidents::get(ctx.conn, &incident)
        .await?
        .map(|row| row.stage);
    ctx.timeline(
        Some(&incident),
        None,
        kind::NOTE,
        stage.as_deref(),
        json!({ "text": text }),
    )
    .await?;
    ctx.reply_text(
        "note_added",
        json!({ "incident": incident, "actor": ctx.actor.id, "time": view::time_text(ctx.now_millis()) }),
    )
    .await?;
    Ok(())
}
