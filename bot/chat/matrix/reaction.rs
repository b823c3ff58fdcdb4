//! Lookup of the finding behind a handoff card in the IR room, by the card's
//! event ID. The outbox worker stores the Matrix event ID of each delivered
//! message next to the effect that produced it, so the outbox is the table.
//! Nothing is kept in memory, and a ✅ on a card posted before a restart
//! still works.

use super::PLATFORM;
use crate::app::App;
use crate::app::effects::Effect;
use crate::store;

/// The template of the card posted to the IR room for each new finding.
const HANDOFF_TEMPLATE: &str = "handoff_card";

/// Returns the finding ID (`F-n`) of the handoff card delivered as
/// `event_id`, or `None` when that event is not a handoff card.
pub async fn handoff_finding(app: &App, event_id: &str) -> anyhow::Result<Option<String>> {
    let mut conn = app.store().conn().await?;
    let effect = store::outbox::delivered_effect(&mut conn, PLATFORM, event_id).await?;
    Ok(effect.as_deref().and_then(card_finding))
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
