//! Catch-up from room history: commands and ✅ reactions that the sync never
//! handed to the event handlers are read with `/messages` and handled, oldest
//! first.
//!
//! Two cases leave such a gap:
//! - matrix-sdk saves the sync token before the handlers run, so a crash in
//!   between loses the rest of that sync response. At start-up each joined
//!   room is read back from its newest event.
//! - A room with more than [`super::MISSED_EVENTS_LIMIT`] new events arrives
//!   `limited`: the sync response holds only the newest ones. That room is
//!   read back from the response's `prev_batch` token.
//!
//! Reading back stops at the first event that was already handled (the
//! inbound ledger contains it), at the bot's own join, or after
//! [`MAX_EVENTS`] events. It also stops at the history floor: the time of the
//! store's first sync, before which nothing gets a reply. Events handled twice are harmless: the
//! inbound ledger turns the second time into a no-op.

use std::path::Path;

use anyhow::Context as _;
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncStateEvent, AnySyncTimelineEvent, SyncMessageLikeEvent,
    SyncStateEvent,
};
use matrix_sdk::ruma::{MilliSecondsSinceUnixEpoch, UInt};
use matrix_sdk::{Client, Room};
use tracing::{info, warn};

use super::PLATFORM;
use super::inbound::{self, Inbound};
use crate::store;

/// Events read back per room in one catch-up. Commands older than that in a
/// gap get no reply, and a warning is logged.
pub const MAX_EVENTS: usize = 2_000;
/// Events per `/messages` request.
const PAGE_SIZE: u32 = 100;
/// The file under `matrix.store_path` with the history floor, in
/// milliseconds since the Unix epoch.
const FLOOR_FILE: &str = "history-floor";

/// Reads the history floor saved by [`save_floor`].
pub fn read_floor(store_path: &Path) -> anyhow::Result<Option<u64>> {
    let path = store_path.join(FLOOR_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .parse()
            .map(Some)
            .with_context(|| format!("{} does not hold a number", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("failed to read {}", path.display())),
    }
}

/// Saves `floor_ms` as the history floor: a catch-up replies to no event
/// older than it.
pub fn save_floor(store_path: &Path, floor_ms: u64) -> anyhow::Result<()> {
    let path = store_path.join(FLOOR_FILE);
    std::fs::write(&path, format!("{floor_ms}\n"))
        .with_context(|| format!("failed to write {}", path.display()))
}

/// Returns the bot host's time in milliseconds since the Unix epoch.
// NOTE: the floor is taken from this host's clock and compared with the
// homeserver's event timestamps, so a clock skew between the two moves it.
pub fn now_ms() -> u64 {
    MilliSecondsSinceUnixEpoch::now().get().into()
}

/// Handles the unhandled commands and reactions of `room`, reading back from
/// `from` (a pagination token) or from the newest event. Returns how many
/// events were passed to the handlers.
pub async fn room(
    inbound: &Inbound,
    client: &Client,
    room: &Room,
    from: Option<String>,
    floor_ms: u64,
) -> anyhow::Result<usize> {
    let room_id = room.room_id().to_owned();
    let mut from = from;
    // Newest first while reading back.
    let mut unhandled: Vec<AnySyncTimelineEvent> = Vec::new();
    let mut read = 0usize;
    let stop = 'pages: loop {
        let mut options = MessagesOptions::backward();
        options.limit = UInt::from(PAGE_SIZE);
        options.from = from.take();
        let page = room
            .messages(options)
            .await
            .with_context(|| format!("failed to read the history of {room_id}"))?;
        for timeline_event in &page.chunk {
            read += 1;
            let Ok(event) = timeline_event.raw().deserialize() else {
                continue;
            };
            if u64::from(event.origin_server_ts().get()) < floor_ms {
                break 'pages "history floor";
            }
            if is_own_join(&event, inbound) {
                break 'pages "own join";
            }
            if !is_candidate(&event, inbound) {
                continue;
            }
            let mut conn = inbound.app.store().conn().await?;
            if store::inbound::seen(&mut conn, PLATFORM, event.event_id().as_str()).await? {
                break 'pages "handled event";
            }
            unhandled.push(event);
        }
        if read >= MAX_EVENTS {
            break 'pages "event limit";
        }
        match page.end {
            Some(end) if !page.chunk.is_empty() => from = Some(end),
            _ => break 'pages "start of the room",
        }
    };
    if stop == "event limit" {
        warn!(room = %room_id, read, "catch-up stopped at its event limit; older commands in the gap get no reply");
    }
    let found = unhandled.len();
    if found > 0 {
        info!(room = %room_id, found, read, stop, "catch-up found unhandled events");
    }
    for event in unhandled.into_iter().rev() {
        match event {
            AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
                SyncMessageLikeEvent::Original(message),
            )) => inbound::on_message(inbound, client, room, message).await,
            AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::Reaction(
                SyncMessageLikeEvent::Original(reaction),
            )) => inbound::on_reaction(inbound, room, reaction).await,
            _ => {}
        }
    }
    Ok(found)
}

/// Checks for a command or a ✅ from someone else: what the handlers act on.
fn is_candidate(event: &AnySyncTimelineEvent, inbound: &Inbound) -> bool {
    if event.sender() == inbound.own_user {
        return false;
    }
    match event {
        AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
            SyncMessageLikeEvent::Original(message),
        )) => inbound::message_command(inbound, message).is_some(),
        AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::Reaction(
            SyncMessageLikeEvent::Original(reaction),
        )) => inbound::is_accept_key(&reaction.content.relates_to.key),
        _ => false,
    }
}

/// Checks for the bot's own join: anything older was sent before it was a
/// member.
pub(super) fn is_own_join(event: &AnySyncTimelineEvent, inbound: &Inbound) -> bool {
    let AnySyncTimelineEvent::State(AnySyncStateEvent::RoomMember(SyncStateEvent::Original(
        member,
    ))) = event
    else {
        return false;
    };
    member.state_key == inbound.own_user
        && member.content.membership == MembershipState::Join
        && member
            .unsigned
            .prev_content
            .as_ref()
            .is_none_or(|previous| previous.membership != MembershipState::Join)
}
