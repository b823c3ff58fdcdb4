//! `/lang es|en`: sets the language of the room.

use serde_json::json;

use crate::app::context::Ctx;
use crate::app::error::{CommandResult, UserError};
use crate::domain::types::Lang;
use crate::store;

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let value = args.trim();
    if value.is_empty() {
        ctx.reply_text("lang_current", json!({ "lang": ctx.lang.as_str() }))
            .await?;
        return Ok(());
    }
    let lang: Lang = value
        .parse()
        .map_err(|_| UserError::new("invalid_lang").arg("value", value))?;
    let platform = ctx.event.platform.clone();
    let room = ctx.event.room_id.clone();
    store::rooms::set_lang(ctx.conn, &platform, &room, lang.as_str()).await?;
    ctx.lang = lang;
    ctx.reply_text("lang_set", json!({ "lang": lang.as_str() }))
        .await?;
    Ok(())
}
