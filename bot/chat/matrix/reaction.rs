//! Lookup of the finding behind a handoff card in the IR room, by the card's
//! event ID. The outbox worker stores each delivery's [`Delivered`] (with the
//! Matrix event ID as `message_id`) next to the effect that produced it, so
//! the outbox is the table. Nothing is kept in memory, and a ✅ on a card
//! posted before a restart still works.

use anyhow::Context;
use sqlx::Row;

use super::PLATFORM;
use crate::app::App;
use crate::app::effects::Effect;
use crate::chat::Delivered;

/// The template of the card posted to the IR room for each new finding.
const HANDOFF_TEMPLATE: &str = "handoff_card";

/// Returns the finding ID (`F-n`) of the handoff card delivered as
/// `event_id`, or `None` when that event is not a handoff card.
// NOTE: the adapter reads the outbox table here, and the LIKE filter scans
// all delivered rows. A store function with an indexed message ID column
// would fit the layering and scale better.
pub async fn handoff_finding(app: &App, event_id: &str) -> anyhow::Result<Option<String>> {
    if event_id.contains(['%', '\\']) {
        return Ok(None);
    }
    let pattern = format!("%\"message_id\":\"{event_id}\"%");
    let mut conn = app.store().conn().await?;
    let rows = sqlx::query(
        "SELECT effect, result FROM outbox \
         WHERE platform = $1 AND status = 'delivered' AND result LIKE $2 ORDER BY id",
    )
    .bind(PLATFORM)
    .bind(pattern)
    .fetch_all(&mut *conn)
    .await
    .context("failed to read delivered outbox entries")?;
    for row in rows {
        let effect: String = row.try_get("effect")?;
        let result: Option<String> = row.try_get("result")?;
        let delivered: Option<Delivered> = result.and_then(|json| serde_json::from_str(&json).ok());
        if delivered
            .and_then(|delivered| delivered.message_id)
            .as_deref()
            != Some(event_id)
        {
            continue;
        }
        if let Some(finding) = card_finding(&effect) {
            return Ok(Some(finding));
        }
    }
    Ok(None)
}

/// Extracts the finding ID from a stored `handoff_card` post effect.
fn card_finding(effect_json: &str) -> Option<String> {
    let Ok(Effect::Post { message, .. }) = serde_json::from_str::<Effect>(effect_json) else {
        return None;
    };
    if message.template != HANDOFF_TEMPLATE {
        return None;
    }
    message.context["f"]["id"].as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::app::effects::Target;
    use crate::domain::types::Lang;
    use crate::render::Message;

    fn post(template: &str) -> String {
        serde_json::to_string(&Effect::Post {
            target: Target::Room {
                room_id: "!ir:localhost".into(),
            },
            message: Message {
                template: template.into(),
                lang: Lang::En,
                context: json!({ "f": { "id": "F-7", "restricted": true } }),
            },
            reply_to: None,
            pin: false,
        })
        .unwrap()
    }

    #[test]
    fn handoff_card_names_its_finding() {
        assert_eq!(card_finding(&post("handoff_card")).as_deref(), Some("F-7"));
    }

    #[test]
    fn other_posts_name_no_finding() {
        assert_eq!(card_finding(&post("finding_card")), None);
        assert_eq!(card_finding("{}"), None);
    }
}
