//! The context a handler runs in: the open transaction, the actor, the room
//! and its language, and helpers that store effects and timeline entries in
//! that same transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Shared;
use super::auth::Actor;
use super::effects::{Effect, Target};
use super::error::{CommandError, UserError};
use crate::chat::ChatEvent;
use crate::domain::types::Lang;
use crate::render::Message;
use crate::store::{self, AnyConnection, timeline::TimelineRow};

/// The kind of room a command came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomKind {
    Hunting,
    Ir,
    Leads,
    Incident(String),
    Other,
}

/// A handler's view of one command.
pub struct Ctx<'a> {
    pub shared: &'a Shared,
    pub conn: &'a mut AnyConnection,
    pub event: &'a ChatEvent,
    pub actor: Actor,
    pub lang: Lang,
    pub room: RoomKind,
    pub now: DateTime<Utc>,
}

impl Ctx<'_> {
    /// Writes a command as users of this adapter type it: `/note` on the
    /// shell, `!note` on Matrix with the default prefixes.
    pub fn command_text(&self, command: &str) -> String {
        format!("{}{command}", self.shared.command_prefix)
    }

    pub fn now_millis(&self) -> i64 {
        store::to_millis(self.now)
    }

    pub fn platform(&self) -> &str {
        &self.event.platform
    }

    /// Returns the incident of the command's room, or an error that asks the
    /// user to run the command in an incident room.
    pub fn require_incident_room(&self) -> Result<String, CommandError> {
        match &self.room {
            RoomKind::Incident(incident) => Ok(incident.clone()),
            _ => Err(UserError::new("not_incident_room").into()),
        }
    }

    /// Stores an effect in the outbox.
    pub async fn enqueue(&mut self, effect: Effect) -> anyhow::Result<i64> {
        let json = serde_json::to_string(&effect)?;
        let now = self.now_millis();
        let platform = self.event.platform.clone();
        store::outbox::enqueue(self.conn, &platform, &json, now).await
    }

    /// Replies in the command's room, in its language.
    pub async fn reply(&mut self, template: &str, context: Value) -> anyhow::Result<()> {
        let message = Message {
            template: template.to_string(),
            lang: self.lang,
            context,
        };
        let effect = Effect::Post {
            target: Target::Room {
                room_id: self.event.room_id.clone(),
            },
            message,
            reply_to: Some(self.event.event_id.clone()),
            pin: false,
        };
        self.enqueue(effect).await?;
        Ok(())
    }

    /// Replies with a one-line catalog string (`key` under `reply.`).
    pub async fn reply_text(&mut self, key: &str, args: Value) -> anyhow::Result<()> {
        self.reply(
            "line",
            serde_json::json!({ "key": format!("reply.{key}"), "args": args }),
        )
        .await
    }

    /// Posts a message to a room in that room's language.
    pub async fn post(
        &mut self,
        target: Target,
        template: &str,
        context: Value,
        pin: bool,
    ) -> anyhow::Result<()> {
        let lang = self.lang_of(&target).await?;
        let message = Message {
            template: template.to_string(),
            lang,
            context,
        };
        self.enqueue(Effect::Post {
            target,
            message,
            reply_to: None,
            pin,
        })
        .await?;
        Ok(())
    }

    /// Returns the language of a target room: its `/lang` setting or the default.
    pub async fn lang_of(&mut self, target: &Target) -> anyhow::Result<Lang> {
        let platform = self.event.platform.clone();
        let stored = match target {
            Target::Room { room_id } => store::rooms::lang(self.conn, &platform, room_id).await?,
            Target::Incident { incident } => {
                match store::rooms::incident_room(self.conn, &platform, incident).await? {
                    Some(room_id) => store::rooms::lang(self.conn, &platform, &room_id).await?,
                    // The room does not exist yet: it takes the language of
                    // the room where the incident was opened.
                    None => return Ok(self.lang),
                }
            }
        };
        Ok(stored
            .and_then(|code| code.parse().ok())
            .unwrap_or(self.shared.config.lang))
    }

    /// Appends a timeline entry at the command's time.
    pub async fn timeline(
        &mut self,
        incident_id: Option<&str>,
        finding_id: Option<&str>,
        kind: &str,
        stage: Option<&str>,
        detail: Value,
    ) -> anyhow::Result<()> {
        let entry = TimelineRow {
            incident_id: incident_id.map(str::to_string),
            finding_id: finding_id.map(str::to_string),
            at: self.now_millis(),
            actor: self.actor.id.clone(),
            kind: kind.to_string(),
            stage: stage.map(str::to_string),
            detail: detail.to_string(),
        };
        store::timeline::append(self.conn, &entry).await
    }
}
