//! Rooms: finding the joined room a delivery goes to, resolving the aliases
//! in `[rooms]`, and creating private incident rooms.
//!
//! Room creation has no transaction ID in the Matrix API. Created rooms are
//! therefore journaled by outbox key in `created-rooms.jsonl` under
//! `matrix.store_path`, and a retry of the same key returns the room created
//! before.
// NOTE: a crash between the homeserver's reply and the journal write leaves
// that room orphaned and the retry creates a second one.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, bail};
use matrix_sdk::ruma::api::client::room::create_room::v3::RoomPreset;
use matrix_sdk::ruma::api::client::room::create_room::{self, RoomPowerLevelsContentOverride};
use matrix_sdk::ruma::events::InitialStateEvent;
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{
    Int, OwnedRoomAliasId, OwnedRoomId, OwnedUserId, RoomAliasId, RoomId, RoomOrAliasId, UserId,
};
use matrix_sdk::{Client, Room, RoomState};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::outbound::{Failure, classify};
use crate::app::auth::{Directory, Role};
use crate::chat::{Delivered, DeliveryError};
use crate::config::RoomsConfig;

/// Power level of moderators in the default power levels of the spec.
const MODERATOR: i64 = 50;
/// Power level of the creator in room versions before 12.
const ADMIN: i64 = 100;

/// Finds the joined room that `room` names (a room ID or an alias).
pub async fn joined_room(client: &Client, room: &str) -> Result<Room, DeliveryError> {
    let room_or_alias = RoomOrAliasId::parse(room).map_err(|_| DeliveryError::Permanent {
        reason: format!("{room:?} is not a Matrix room ID or alias"),
    })?;
    let parsed: Result<OwnedRoomId, OwnedRoomAliasId> = room_or_alias.try_into();
    let room_id = match parsed {
        Ok(room_id) => room_id,
        Err(alias) => {
            client
                .resolve_room_alias(&alias)
                .await
                .map_err(|error| classify(&format!("failed to resolve {alias}"), &error.into()))?
                .room_id
        }
    };
    let joined = client
        .get_room(&room_id)
        .filter(|room| room.state() == RoomState::Joined);
    joined.ok_or_else(|| DeliveryError::Retry {
        reason: format!("the bot has not joined room {room_id} (yet)"),
        after: None,
    })
}

/// Replaces each alias in `[rooms]` by its room ID, so the app compares
/// event room IDs with configured rooms directly.
pub async fn resolve_configured(client: &Client, rooms: &mut RoomsConfig) -> anyhow::Result<()> {
    for (key, list) in [
        ("rooms.hunting", &mut rooms.hunting),
        ("rooms.ir", &mut rooms.ir),
        ("rooms.leads", &mut rooms.leads),
    ] {
        for entry in list.iter_mut() {
            if RoomId::parse(entry.as_str()).is_ok() {
                continue;
            }
            let Ok(alias) = RoomAliasId::parse(entry.as_str()) else {
                bail!(
                    "{key} has {entry:?}, which is not a Matrix room ID (!id:server) or alias (#name:server)"
                );
            };
            let room_id = client
                .resolve_room_alias(&alias)
                .await
                .with_context(|| {
                    format!(
                        "failed to resolve {key} alias {alias}: create the room or give its room ID"
                    )
                })?
                .room_id;
            info!(alias = %alias, room = %room_id, "configured room alias resolved");
            *entry = room_id.to_string();
        }
    }
    Ok(())
}

/// Joins the configured rooms the bot is not in yet. A failure (the room is
/// invite-only and no invite came) is logged, and the bot goes on.
pub async fn join_configured(client: &Client, rooms: &RoomsConfig) {
    let mut seen = std::collections::HashSet::new();
    for entry in rooms.hunting.iter().chain(&rooms.ir).chain(&rooms.leads) {
        let Ok(room_id) = RoomId::parse(entry.as_str()) else {
            continue;
        };
        if !seen.insert(room_id.clone()) {
            continue;
        }
        let joined = client
            .get_room(&room_id)
            .is_some_and(|room| room.state() == RoomState::Joined);
        if joined {
            continue;
        }
        match client.join_room_by_id(&room_id).await {
            Ok(_) => info!(room = %room_id, "configured room joined"),
            Err(error) => {
                warn!(room = %room_id, %error, "cannot join configured room: invite the bot to it")
            }
        }
    }
}

/// Settings of a room to create.
pub struct NewRoom<'a> {
    pub name: &'a str,
    pub topic: &'a str,
    pub invite: &'a [String],
    pub encrypted: bool,
}

/// Creates private rooms and remembers them by outbox key.
pub struct RoomCreator {
    journal_path: PathBuf,
    created: Mutex<HashMap<String, String>>,
}

#[derive(Serialize, Deserialize)]
struct JournalEntry {
    key: String,
    room_id: String,
}

impl RoomCreator {
    /// Opens the journal under `store_path`, reading the rooms created before.
    pub fn open(store_path: &Path) -> anyhow::Result<Self> {
        let journal_path = store_path.join("created-rooms.jsonl");
        let mut created = HashMap::new();
        if journal_path.exists() {
            let file = fs::File::open(&journal_path)
                .with_context(|| format!("failed to open {}", journal_path.display()))?;
            for line in BufReader::new(file).lines() {
                // A line cut by a crash mid-write is skipped.
                if let Ok(entry) = serde_json::from_str::<JournalEntry>(&line?) {
                    created.insert(entry.key, entry.room_id);
                }
            }
        }
        Ok(Self {
            journal_path,
            created: Mutex::new(created),
        })
    }

    /// Creates an invite-only room (end-to-end encrypted when asked) where
    /// invited responders are moderators, and returns its ID.
    pub async fn create(
        &self,
        client: &Client,
        directory: &Directory,
        key: &str,
        room: NewRoom<'_>,
    ) -> Result<Delivered, DeliveryError> {
        let known = self
            .created
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(key)
            .cloned();
        if let Some(room_id) = known {
            return Ok(Delivered {
                room_id: Some(room_id),
                message_id: None,
            });
        }

        let own_user = client
            .user_id()
            .ok_or_else(|| DeliveryError::Permanent {
                reason: "the Matrix client is not logged in".into(),
            })?
            .to_owned();
        let invite = invitees(room.invite, &own_user);
        let creators_privileged = creators_privileged(client).await?;
        let power_levels = power_levels(&invite, directory, &own_user, creators_privileged);

        let mut request = create_room::v3::Request::new();
        request.name = Some(room.name.to_string());
        request.topic = Some(room.topic.to_string());
        request.preset = Some(RoomPreset::PrivateChat);
        request.invite = invite;
        request.power_level_content_override =
            Some(
                Raw::new(&power_levels).map_err(|error| DeliveryError::Permanent {
                    reason: format!("failed to encode power levels: {error}"),
                })?,
            );
        if room.encrypted {
            let encryption = InitialStateEvent::with_empty_state_key(
                RoomEncryptionEventContent::with_recommended_defaults(),
            );
            request.initial_state = vec![encryption.to_raw_any()];
        }
        let created = client
            .create_room(request)
            .await
            .map_err(|error| classify("failed to create the room", &error))?;
        let room_id = created.room_id().to_string();
        info!(room = %room_id, encrypted = room.encrypted, "room created");
        self.remember(key, &room_id)?;
        Ok(Delivered {
            room_id: Some(room_id),
            message_id: None,
        })
    }

    fn remember(&self, key: &str, room_id: &str) -> Result<(), DeliveryError> {
        let line = serde_json::to_string(&JournalEntry {
            key: key.into(),
            room_id: room_id.into(),
        })
        .map_err(|error| DeliveryError::Permanent {
            reason: error.to_string(),
        })?;
        let write = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.journal_path)
            .and_then(|mut file| writeln!(file, "{line}").and_then(|()| file.sync_data()));
        if let Err(error) = write {
            // The room exists; only a later retry of this key would miss it.
            warn!(room = %room_id, path = %self.journal_path.display(), %error, "failed to journal a created room");
        }
        self.created
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(key.into(), room_id.into());
        Ok(())
    }
}

/// Parses `invite` into user IDs, without the bot itself, duplicates and
/// invalid IDs (logged).
fn invitees(invite: &[String], own_user: &UserId) -> Vec<OwnedUserId> {
    let mut users = Vec::new();
    for user in invite {
        match UserId::parse(user.as_str()) {
            Ok(user_id) if user_id != own_user => {
                if !users.contains(&user_id) {
                    users.push(user_id);
                }
            }
            Ok(_) => {}
            Err(_) => warn!(user = %user, "invitee is not a Matrix user ID, skipped"),
        }
    }
    users
}

/// Power levels over the preset's defaults: invited responders (and
/// admins) moderate. Since room version 12 the creator has unlimited power
/// and must not be listed, so it is added only for older room versions.
fn power_levels(
    invite: &[OwnedUserId],
    directory: &Directory,
    own_user: &UserId,
    creators_privileged: bool,
) -> RoomPowerLevelsContentOverride {
    let mut users = BTreeMap::new();
    for user in invite {
        let roles = directory.roles_of(user.as_str());
        if roles.contains(&Role::Responder) || roles.contains(&Role::Admin) {
            users.insert(user.clone(), Int::from(MODERATOR as i32));
        }
    }
    if !creators_privileged {
        users.insert(own_user.to_owned(), Int::from(ADMIN as i32));
    }
    let mut content = RoomPowerLevelsContentOverride::new();
    content.users = users;
    content
}

/// Whether the homeserver's default room version gives creators unlimited
/// power (room version 12 and later).
async fn creators_privileged(client: &Client) -> Result<bool, DeliveryError> {
    let versions = client
        .homeserver_capabilities()
        .room_versions()
        .await
        .map_err(|error| {
            Failure::of(&error)
                .into_delivery_error(format!("failed to read the room versions: {error}"))
        })?;
    Ok(versions
        .default
        .rules()
        .is_none_or(|rules| rules.authorization.explicitly_privilege_room_creators))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> OwnedUserId {
        UserId::parse(id).unwrap()
    }

    #[test]
    fn responders_moderate_and_creator_is_not_listed() {
        let directory = Directory::default();
        directory.grant("@rita:localhost", Role::Responder);
        directory.grant("@hugo:localhost", Role::Hunter);
        let invite = [user("@rita:localhost"), user("@hugo:localhost")];
        let bot = user("@bot:localhost");
        let content = power_levels(&invite, &directory, &bot, true);
        assert_eq!(content.users.len(), 1);
        assert_eq!(content.users[&user("@rita:localhost")], Int::from(50));
        let json = serde_json::to_value(&content).unwrap();
        assert!(json["users"].get("@bot:localhost").is_none(), "{json}");
    }

    #[test]
    fn creator_listed_for_old_room_versions() {
        let directory = Directory::default();
        let bot = user("@bot:localhost");
        let content = power_levels(&[], &directory, &bot, false);
        assert_eq!(content.users[&bot], Int::from(100));
    }

    #[test]
    fn invitees_skip_bot_duplicates_and_invalid() {
        let bot = user("@bot:localhost");
        let invite = [
            "@ana:localhost".to_string(),
            "@bot:localhost".to_string(),
            "ana".to_string(),
            "@ana:localhost".to_string(),
        ];
        assert_eq!(invitees(&invite, &bot), vec![user("@ana:localhost")]);
    }

    #[test]
    fn journal_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let creator = RoomCreator::open(dir.path()).unwrap();
        creator.remember("hb-3", "!inc:localhost").unwrap();
        let reopened = RoomCreator::open(dir.path()).unwrap();
        let created = reopened.created.lock().unwrap();
        assert_eq!(
            created.get("hb-3").map(String::as_str),
            Some("!inc:localhost")
        );
    }
}
