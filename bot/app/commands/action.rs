//! `/action <contain|eradicate|recover> <text>`: records a response action in
//! the incident timeline. The first containment action sets MTTC.

use serde_json::json;

use super::{MAX_TEXT_CHARS, check_length, first_word};
use crate::app::context::Ctx;
use crate::app::error::{CommandResult, UserError};
use crate::app::view::{self, kind};
use crate::domain::metrics::Metric;
use crate::domain::types::fold;
use crate::store;

/// A response phase, by its English code.
fn phase(word: &str) -> Option<&'static str> {
    match fold(word).as_str() {
        "contain" | "containment" | "contener" | "contencion" | "contenido" => Some("contain"),
        "eradicate" | "eradication" | "erradicar" | "erradicacion" => Some("eradicate"),
        "recover" | "recovery" | "recuperar" | "recuperacion" => Some("recover"),
        _ => None,
    }
}

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let incident_id = ctx.require_incident_room()?;
    let (word, text) = first_word(args);
    if word.is_empty() {
        return Err(UserError::new("missing_phase").into());
    }
    let phase = phase(word).ok_or_else(|| UserError::new("invalid_phase").arg("value", word))?;
    if text.is_empty() {
        return Err(UserError::new("missing_text")
            .arg("command", ctx.command_text("action"))
            .into());
    }
    check_length("@field.action", text, MAX_TEXT_CHARS)?;
    let incident = store::incidents::get(ctx.conn, &incident_id)
        .await?
        .ok_or_else(|| UserError::new("incident_not_found").arg("id", &incident_id))?;

    let earlier = view::incident_times(ctx.conn, &incident).await?;
    ctx.timeline(
        Some(&incident_id),
        None,
        kind::ACTION,
        Some(&incident.stage),
        json!({ "phase": phase, "text": text }),
    )
    .await?;

    // The first containment action is the end of MTTC.
    let mttc = if phase == "contain" && earlier.contained_at.is_none() {
        let times = view::incident_times(ctx.conn, &incident).await?;
        times
            .metrics()
            .get(Metric::Mttc)
            .map(|delta| crate::render::format_duration(delta.num_milliseconds()))
    } else {
        None
    };
    ctx.reply(
        "action",
        json!({
            "incident": incident_id,
            "phase": phase,
            "text": view::defang_free_text(&ctx.shared.extractor, text),
            "actor": ctx.actor.id,
            "time": view::time_text(ctx.now_millis()),
            "mttc": mttc,
        }),
    )
    .await?;
    Ok(())
}
