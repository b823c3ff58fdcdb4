//! Outgoing effects: what handlers ask the platform to do. They are stored in
//! the outbox in the handler's transaction and delivered later.

use serde::{Deserialize, Serialize};

use crate::domain::types::Lang;
use crate::render::Message;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A platform room by ID.
    Room { room_id: String },
    /// The room of an incident, known once the room has been created.
    Incident { incident: String },
}

/// One effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    Post {
        target: Target,
        message: Message,
        reply_to: Option<String>,
        pin: bool,
    },
    CreateIncidentRoom {
        incident: String,
        lang: Lang,
        alias: String,
        name: String,
        topic: String,
        invite: Vec<String>,
        encrypted: bool,
    },
    Upload {
        target: Target,
        file_id: i64,
        caption: Option<Message>,
    },
}
