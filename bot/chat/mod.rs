//! The boundary between chat platforms and the app layer.
//!
//! Adapters turn platform events into [`ChatEvent`]s for
//! [`crate::app::App::handle`], and deliver what the outbox worker hands them
//! ([`Delivery`]) in the platform's own form. No business logic lives in an
//! adapter: authorization, parsing, TLP rules and wording all happen in `app`.

pub mod matrix;
pub mod shell;

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::render::{Format, Rendered};

/// An inbound message, as a platform-neutral value.
#[derive(Debug, Clone)]
pub struct ChatEvent {
    /// `shell`, `matrix` or `slack`.
    pub platform: String,
    /// The platform's event ID; repeats are ignored.
    pub event_id: String,
    pub room_id: String,
    pub sender: String,
    /// The plain-text body.
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub received_at: DateTime<Utc>,
}

/// A file that came with a message or that the message refers to.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub mime: String,
    pub content: Vec<u8>,
}

/// One outgoing effect, rendered for the adapter's format.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// Posts a message, optionally as a reply and optionally pinned.
    Post {
        room_id: String,
        message: Rendered,
        reply_to: Option<String>,
        pin: bool,
    },
    /// Creates a private room and invites people.
    CreateRoom {
        /// A short room alias or channel name (`inc-2026-0001`).
        alias: String,
        name: String,
        topic: String,
        invite: Vec<String>,
        encrypted: bool,
    },
    /// Uploads a file to a room.
    Upload {
        room_id: String,
        name: String,
        mime: String,
        content: Vec<u8>,
        caption: Option<Rendered>,
    },
}

/// The platform IDs a delivery produced.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Delivered {
    pub room_id: Option<String>,
    pub message_id: Option<String>,
}

/// The reason a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A failure that can heal (rate limit, timeout, 5xx).
    #[error("temporary failure: {reason}")]
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// A failure that will not heal by retrying.
    #[error("permanent failure: {reason}")]
    Permanent { reason: String },
}

/// A chat platform, as the outbox worker uses it.
pub trait ChatAdapter: Send + Sync + 'static {
    /// Returns the platform name stored with events and outbox rows.
    fn platform(&self) -> &str;

    /// Returns the rich-text format the platform displays, besides plain text.
    fn format(&self) -> Format;

    /// Returns how many order keys (an incident, the replies to one command,
    /// a room's other posts) the outbox worker delivers to at once. Each key's
    /// entries go in order, one at a time. The default of 1 keeps the whole
    /// output in outbox order.
    fn concurrent_deliveries(&self) -> usize {
        1
    }

    /// Delivers one effect. `idempotency_key` is stable across retries of the
    /// same outbox entry (a Matrix transaction ID, for example), so a retry
    /// after a crash does not post twice.
    fn deliver(
        &self,
        idempotency_key: &str,
        delivery: Delivery,
    ) -> impl Future<Output = Result<Delivered, DeliveryError>> + Send;
}
