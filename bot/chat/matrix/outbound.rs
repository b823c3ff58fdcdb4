//! Deliveries to Matrix: notices with an HTML body, files, and the mapping
//! of matrix-sdk errors to [`DeliveryError`].
//!
//! Every event is sent with the outbox key as its transaction ID, so when a
//! retry repeats a send whose response was lost, the homeserver returns the
//! first event instead of posting twice.
// NOTE: homeservers remember transaction IDs for a limited time only, so a
// retry after a long outage may still post twice.

use std::time::{Duration, SystemTime};

use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::config::RequestConfig;
use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
use matrix_sdk::ruma::events::relation::Reply;
use matrix_sdk::ruma::events::room::message::{
    Relation, RoomMessageEventContent, TextMessageEventContent,
};
use matrix_sdk::ruma::{EventId, OwnedEventId, OwnedTransactionId};
use matrix_sdk::{HttpError, Room};
use tracing::{debug, info};

use crate::chat::{Delivered, DeliveryError};
use crate::render::{Format, Rendered, escape};

/// The Matrix limit on a whole event (PDU) in bytes, envelope and
/// signatures included.
const MAX_EVENT_BYTES: usize = 65_536;
/// Bytes left for the event envelope (IDs, hashes, signatures, auth and
/// prev events) around the content.
const ENVELOPE_BYTES: usize = 4_096;
/// Content bytes allowed in an unencrypted room.
const PLAIN_CONTENT_BUDGET: usize = MAX_EVENT_BYTES - ENVELOPE_BYTES;
/// Content bytes allowed in an encrypted room. Megolm sends the plaintext
/// event (content, type and room ID) base64-encoded, which grows it by a
/// third; 1,024 bytes cover the type, room ID, padding and MAC.
const ENCRYPTED_CONTENT_BUDGET: usize = PLAIN_CONTENT_BUDGET / 4 * 3 - 1_024;
/// Characters of the original message kept in the short notice that
/// announces an oversized message sent as a file.
const PREVIEW_CHARS: usize = 300;
/// Timeout of one send; matrix-sdk does not retry it, the outbox does.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Returns the content bytes a message may have in a room.
pub fn content_budget(encrypted: bool) -> usize {
    if encrypted {
        ENCRYPTED_CONTENT_BUDGET
    } else {
        PLAIN_CONTENT_BUDGET
    }
}

/// Measures the serialized size of a message content in bytes.
pub fn content_size(content: &RoomMessageEventContent) -> usize {
    serde_json::to_vec(content).map_or(usize::MAX, |json| json.len())
}

/// Builds the notice content of a rendered message, as a reply when
/// `reply_to` is a Matrix event ID.
pub fn notice(message: &Rendered, reply_to: Option<&str>) -> RoomMessageEventContent {
    let mut content = match &message.formatted {
        Some(html) => RoomMessageEventContent::notice_html(&message.plain, html),
        None => RoomMessageEventContent::notice_plain(&message.plain),
    };
    if let Some(event_id) = reply_to.and_then(|id| EventId::parse(id).ok()) {
        content.relates_to = Some(Relation::Reply(Reply::with_event_id(event_id)));
    }
    content
}

/// Builds the short notice sent in place of a message too large for one
/// event. It contains the first line and a pointer to the file that follows,
/// in both languages because the adapter does not know the room's language.
pub fn overflow_notice(message: &Rendered) -> Rendered {
    let first_line = message.plain.lines().find(|line| !line.trim().is_empty());
    let mut preview: String = first_line
        .unwrap_or("")
        .chars()
        .take(PREVIEW_CHARS)
        .collect();
    if first_line.is_some_and(|line| line.chars().count() > PREVIEW_CHARS) {
        preview.push('…');
    }
    let note = "Mensaje demasiado largo para Matrix: el texto completo va en el archivo adjunto. \
                / Message too long for Matrix: the full text is in the attached file.";
    Rendered {
        plain: format!("{preview}\n\n{note}"),
        formatted: Some(format!(
            "<p><strong>{}</strong></p><p>{}</p>",
            escape(Format::Html, &preview),
            escape(Format::Html, note)
        )),
    }
}

/// Sends a notice, splitting it into a short notice plus a text file when
/// it is too large for one event, and pins it when asked.
pub async fn post(
    room: &Room,
    key: &str,
    message: Rendered,
    reply_to: Option<&str>,
    pin: bool,
) -> Result<Delivered, DeliveryError> {
    let encrypted = room
        .latest_encryption_state()
        .await
        .map_err(|error| classify("failed to read the room's encryption state", &error))?
        .is_encrypted();
    let content = notice(&message, reply_to);
    let size = content_size(&content);
    let event_id = if size <= content_budget(encrypted) {
        send(room, key, content).await?
    } else {
        info!(room = %room.room_id(), size, "message too large for one event, sent as a file");
        let short = notice(&overflow_notice(&message), reply_to);
        let event_id = send(room, key, short).await?;
        let file_key = format!("{key}-file");
        let config = AttachmentConfig::new().txn_id(OwnedTransactionId::from(file_key.as_str()));
        room.send_attachment(
            "huntbridge-message.txt",
            &mime::TEXT_PLAIN_UTF_8,
            message.plain.into_bytes(),
            config,
        )
        .await
        .map_err(|error| classify("failed to upload the full message", &error))?;
        event_id
    };
    if pin {
        room.pin_event(&event_id)
            .await
            .map_err(|error| classify("failed to pin the message", &error))?;
    }
    debug!(room = %room.room_id(), event = %event_id, key, reply_to, "notice sent");
    Ok(Delivered {
        room_id: Some(room.room_id().to_string()),
        message_id: Some(event_id.to_string()),
    })
}

async fn send(
    room: &Room,
    key: &str,
    content: RoomMessageEventContent,
) -> Result<OwnedEventId, DeliveryError> {
    let response = room
        .send(content)
        .with_transaction_id(OwnedTransactionId::from(key))
        .with_request_config(RequestConfig::new().timeout(SEND_TIMEOUT).disable_retry())
        .await
        .map_err(|error| classify("failed to send the message", &error))?;
    Ok(response.response.event_id)
}

/// Uploads a file (encrypted in an encrypted room) with an optional caption.
pub async fn upload(
    room: &Room,
    key: &str,
    name: &str,
    mime_type: &str,
    content: Vec<u8>,
    caption: Option<Rendered>,
) -> Result<Delivered, DeliveryError> {
    let mime_type: mime::Mime = mime_type.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let caption = caption.map(|caption| match caption.formatted {
        Some(html) => TextMessageEventContent::html(caption.plain, html),
        None => TextMessageEventContent::plain(caption.plain),
    });
    let config = AttachmentConfig::new()
        .txn_id(OwnedTransactionId::from(key))
        .caption(caption);
    let size = content.len();
    let response = room
        .send_attachment(name, &mime_type, content, config)
        .await
        .map_err(|error| classify("failed to upload the file", &error))?;
    info!(room = %room.room_id(), event = %response.event_id, size, "file uploaded");
    Ok(Delivered {
        room_id: Some(room.room_id().to_string()),
        message_id: Some(response.event_id.to_string()),
    })
}

/// Cause of a failed request, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `M_LIMIT_EXCEEDED`, with the wait the homeserver asked for.
    RateLimited(Option<Duration>),
    /// An error response with this HTTP status.
    Status(u16),
    /// No response: connection refused, reset or timed out.
    Network,
    /// A local error that will not change on retry (invalid ID, bad JSON).
    Invalid,
    /// Any other local error (store, encryption), possibly temporary.
    Local,
}

impl Failure {
    /// Sorts a matrix-sdk error.
    pub fn of(error: &matrix_sdk::Error) -> Self {
        if let Some(ErrorKind::LimitExceeded(data)) = error.client_api_error_kind() {
            return Self::RateLimited(data.retry_after.as_ref().and_then(retry_delay));
        }
        if let Some(api_error) = error.as_client_api_error() {
            return Self::Status(api_error.status_code.as_u16());
        }
        match error {
            matrix_sdk::Error::Http(http) => match http.as_ref() {
                HttpError::Reqwest(_) => Self::Network,
                HttpError::IntoHttp(_) => Self::Invalid,
                _ => Self::Local,
            },
            matrix_sdk::Error::Timeout => Self::Network,
            matrix_sdk::Error::Identifier(_)
            | matrix_sdk::Error::SerdeJson(_)
            | matrix_sdk::Error::Url(_) => Self::Invalid,
            _ => Self::Local,
        }
    }

    /// Rate limits, timeouts, network errors, 5xx and 429 can heal; other
    /// 4xx and invalid requests cannot.
    pub fn into_delivery_error(self, reason: String) -> DeliveryError {
        match self {
            Self::RateLimited(after) => DeliveryError::Retry { reason, after },
            Self::Status(status) if status >= 500 || status == 429 || status == 408 => {
                DeliveryError::Retry {
                    reason,
                    after: None,
                }
            }
            Self::Status(_) | Self::Invalid => DeliveryError::Permanent { reason },
            Self::Network | Self::Local => DeliveryError::Retry {
                reason,
                after: None,
            },
        }
    }
}

fn retry_delay(retry_after: &RetryAfter) -> Option<Duration> {
    match retry_after {
        RetryAfter::Delay(delay) => Some(*delay),
        RetryAfter::DateTime(at) => at.duration_since(SystemTime::now()).ok(),
    }
}

/// Converts a matrix-sdk error into a delivery error whose reason starts
/// with `failed_step`.
pub fn classify(failed_step: &str, error: &matrix_sdk::Error) -> DeliveryError {
    Failure::of(error).into_delivery_error(format!("{failed_step}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(plain: &str, html: Option<&str>) -> Rendered {
        Rendered {
            plain: plain.into(),
            formatted: html.map(str::to_string),
        }
    }

    #[test]
    fn notice_has_plain_and_html() {
        let content = notice(&rendered("F-1 ok", Some("<b>F-1</b> ok")), None);
        let json = serde_json::to_value(&content).unwrap();
        assert_eq!(json["msgtype"], "m.notice");
        assert_eq!(json["body"], "F-1 ok");
        assert_eq!(json["format"], "org.matrix.custom.html");
        assert_eq!(json["formatted_body"], "<b>F-1</b> ok");
        assert!(json.get("m.relates_to").is_none());
    }

    #[test]
    fn notice_replies_to_matrix_event() {
        let content = notice(&rendered("ok", None), Some("$abc:localhost"));
        let json = serde_json::to_value(&content).unwrap();
        assert_eq!(
            json["m.relates_to"]["m.in_reply_to"]["event_id"],
            "$abc:localhost"
        );
    }

    #[test]
    fn notice_ignores_non_matrix_reply_id() {
        let content = notice(&rendered("ok", None), Some("script:1"));
        let json = serde_json::to_value(&content).unwrap();
        assert!(json.get("m.relates_to").is_none());
    }

    #[test]
    fn large_message_exceeds_budget() {
        let text = "x".repeat(50_000);
        let size = content_size(&notice(&rendered(&text, Some(&text)), None));
        assert!(size > content_budget(false));
        assert!(size > content_budget(true));
        let small = content_size(&notice(&rendered("short", Some("<b>short</b>")), None));
        assert!(small < content_budget(true));
    }

    #[test]
    fn encrypted_budget_fits_after_base64() {
        // Megolm ciphertext is base64 of the plaintext event, plus a
        // 16-byte block of padding and an 8-byte MAC.
        let plaintext_event = ENCRYPTED_CONTENT_BUDGET + 300;
        let ciphertext = (plaintext_event + 16 + 8).div_ceil(3) * 4;
        assert!(ciphertext + 2_000 < MAX_EVENT_BYTES);
        const { assert!(PLAIN_CONTENT_BUDGET + 2_000 < MAX_EVENT_BYTES) };
    }

    #[test]
    fn overflow_notice_keeps_first_line_escaped() {
        let message = rendered("\n<Report> INC-2026-0001\nline two", None);
        let short = overflow_notice(&message);
        assert!(short.plain.starts_with("<Report> INC-2026-0001\n\n"));
        assert!(!short.plain.contains("line two"));
        let html = short.formatted.unwrap();
        assert!(html.contains("&lt;Report&gt; INC-2026-0001"), "{html}");
    }

    #[test]
    fn overflow_notice_cuts_long_line() {
        let message = rendered(&"y".repeat(5_000), None);
        let short = overflow_notice(&message);
        let first = short.plain.lines().next().unwrap();
        assert_eq!(first.chars().count(), PREVIEW_CHARS + 1);
        assert!(first.ends_with('…'));
    }

    #[test]
    fn failures_map_to_retry_or_permanent() {
        let retry_after = Some(Duration::from_millis(1500));
        let cases = [
            (Failure::RateLimited(retry_after), true, retry_after),
            (Failure::RateLimited(None), true, None),
            (Failure::Status(502), true, None),
            (Failure::Status(429), true, None),
            (Failure::Network, true, None),
            (Failure::Local, true, None),
            (Failure::Status(403), false, None),
            (Failure::Status(413), false, None),
            (Failure::Invalid, false, None),
        ];
        for (failure, retry, expected_after) in cases {
            match failure.into_delivery_error("x".into()) {
                DeliveryError::Retry { after, .. } => {
                    assert!(retry, "{failure:?} should be permanent");
                    assert_eq!(after, expected_after, "{failure:?}");
                }
                DeliveryError::Permanent { .. } => assert!(!retry, "{failure:?} should retry"),
            }
        }
    }
}
