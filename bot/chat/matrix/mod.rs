//! The Matrix adapter: the bot as a normal Matrix user with a persistent
//! device, built on matrix-sdk with its SQLite state and crypto stores.
//!
//! - [`session`]: first login or restore of the saved session.
//! - [`inbound`]: commands, invites and ✅ reactions from the sync loop,
//!   handed to [`App::handle`].
//! - [`catch_up`]: the same for events the sync loop skipped (after a crash
//!   or a cut-short sync), read back from room history.
//! - [`outbound`] and [`rooms`]: deliveries from the outbox worker as
//!   `m.notice` messages with an HTML body, files and private rooms.
//! - [`sync_loop`]: `/sync` requests one after another, without the pause
//!   of matrix-sdk's own loop.
//!
//! [`run`] ties them together for `huntbridge run`.
//!
//! One process per database runs the adapter: [`run`] claims `matrix` on the
//! store (see [`crate::store::claim`]) and locks `matrix.store_path`, and a
//! second process stops with an error. There is no standby that takes over.

mod catch_up;
mod inbound;
mod outbound;
mod reaction;
mod rooms;
mod session;
pub mod sync_loop;

use std::collections::HashSet;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use matrix_sdk::Client;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::UInt;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::sync::SyncResponse;
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use super::{ChatAdapter, Delivered, Delivery, DeliveryError};
use crate::app::App;
use crate::app::outbox::OutboxWorker;
use crate::config::Config;
use crate::render::Format;
use crate::store::Store;
use inbound::Inbound;
use rooms::{NewRoom, RoomCreator};

/// The platform name of Matrix events and outbox rows.
pub const PLATFORM: &str = "matrix";

/// Order keys the outbox worker delivers to at once: incidents, and in other
/// rooms the replies to one command. Each key's messages go one at a time.
const CONCURRENT_DELIVERIES: usize = 8;
/// Long-poll time of one sync request.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// Delivers outbox effects through a logged-in matrix-sdk client.
pub struct MatrixAdapter {
    client: Client,
    app: App,
    rooms: RoomCreator,
}

impl MatrixAdapter {
    /// Wraps a logged-in client; created rooms are journaled under
    /// `store_path`.
    pub fn new(client: Client, app: App, store_path: &std::path::Path) -> anyhow::Result<Self> {
        Ok(Self {
            client,
            app,
            rooms: RoomCreator::open(store_path)?,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl ChatAdapter for MatrixAdapter {
    fn platform(&self) -> &str {
        PLATFORM
    }

    fn format(&self) -> Format {
        Format::Html
    }

    fn concurrent_deliveries(&self) -> usize {
        CONCURRENT_DELIVERIES
    }

    async fn deliver(&self, key: &str, delivery: Delivery) -> Result<Delivered, DeliveryError> {
        match delivery {
            Delivery::Post {
                room_id,
                message,
                reply_to,
                pin,
            } => {
                let room = rooms::joined_room(&self.client, &room_id).await?;
                outbound::post(&room, key, message, reply_to.as_deref(), pin).await
            }
            // NOTE: the incident room gets no alias: incident numbers restart
            // with a new database while aliases are unique per homeserver.
            Delivery::CreateRoom {
                alias: _,
                name,
                topic,
                invite,
                encrypted,
            } => {
                let room = NewRoom {
                    name: &name,
                    topic: &topic,
                    invite: &invite,
                    encrypted,
                };
                self.rooms
                    .create(&self.client, self.app.directory(), key, room)
                    .await
            }
            Delivery::Upload {
                room_id,
                name,
                mime,
                content,
                caption,
            } => {
                let room = rooms::joined_room(&self.client, &room_id).await?;
                outbound::upload(&room, key, &name, &mime, content, caption).await
            }
        }
    }
}

/// Runs the bot on Matrix until `shutdown` resolves: logs in or restores
/// the session, resolves the configured rooms, starts the outbox worker and
/// syncs. On shutdown the sync stops, the outbox is drained and the store
/// is left as it is (the device is never logged out).
pub async fn run(
    mut config: Config,
    store: Store,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    config.matrix.validate()?;
    let matrix = config.matrix.clone();
    let _claim = store.claim(PLATFORM).await?;
    let connection = session::connect(&matrix).await?;
    let client = connection.client;
    let own_user = client
        .user_id()
        .context("the Matrix client has no user ID after login")?
        .to_owned();
    rooms::resolve_configured(&client, &mut config.rooms).await?;
    let configured_rooms: HashSet<String> = config
        .rooms
        .hunting
        .iter()
        .chain(&config.rooms.ir)
        .chain(&config.rooms.leads)
        .cloned()
        .collect();
    let rooms_config = config.rooms.clone();

    // Replies write commands with the first prefix: with the default
    // `["!", "/"]` that is `!`, which Element sends as a message.
    let prefix = matrix
        .command_prefixes
        .first()
        .cloned()
        .unwrap_or_else(|| "/".to_string());
    let app = App::with_command_prefix(config, store, &prefix)?;
    let adapter = Arc::new(MatrixAdapter::new(
        client.clone(),
        app.clone(),
        &matrix.store_path,
    )?);
    let inbound = Arc::new(Inbound {
        app: app.clone(),
        own_user: own_user.clone(),
        prefixes: matrix.command_prefixes.clone(),
        auto_join: matrix.auto_join,
        configured_rooms,
        abort_on: std::env::var(inbound::ABORT_ON_COMMAND_ENV)
            .ok()
            .filter(|marker| !marker.is_empty()),
        queue: std::sync::Mutex::new(Vec::new()),
    });

    // The outbox worker delivers while the sync runs and drains on shutdown.
    let (stop_worker, worker_stopped) = watch::channel(false);
    let worker = OutboxWorker::new(app.clone(), adapter);
    let worker_task = tokio::spawn(worker.run(stopped(worker_stopped)));

    let sync_result = tokio::select! {
        result = sync(&client, inbound, &rooms_config, &matrix.store_path, connection.fresh_store) => result,
        () = shutdown => {
            info!("shutdown requested, sync stopped");
            Ok(())
        }
    };

    let _ = stop_worker.send(true);
    if let Err(error) = worker_task.await {
        error!(%error, "outbox worker task failed");
    }
    info!(user = %own_user, "matrix adapter stopped");
    sync_result
}

async fn stopped(mut receiver: watch::Receiver<bool>) {
    let _ = receiver.wait_for(|stop| *stop).await;
}

/// Events per room that one sync returns, so commands sent while the bot was
/// down are not cut off at Synapse's default of 10.
const MISSED_EVENTS_LIMIT: u32 = 500;

/// Test hook: replaces [`MISSED_EVENTS_LIMIT`], so a test can make the
/// homeserver cut a sync response short with a few commands.
pub const SYNC_TIMELINE_LIMIT_ENV: &str = "HUNTBRIDGE_TEST_SYNC_TIMELINE_LIMIT";

/// Runs the sync loop. A fresh store first syncs once without handlers, so
/// the history the homeserver sends on a first sync gets no reply, and
/// saves that moment as the history floor. A restored store first catches
/// up on every joined room (see [`catch_up`]), then resumes from its saved
/// token, so commands sent while the bot was down are handled. A room whose
/// sync update is cut short (`limited`) is caught up from its `prev_batch`.
async fn sync(
    client: &Client,
    inbound: Arc<Inbound>,
    rooms_config: &crate::config::RoomsConfig,
    store_path: &Path,
    fresh_store: bool,
) -> anyhow::Result<()> {
    // Synapse sends only the latest 10 events of a room per sync unless the
    // filter requests more; the catch-up reads what a cut-short room misses.
    let mut filter = FilterDefinition::empty();
    let timeline_limit = std::env::var(SYNC_TIMELINE_LIMIT_ENV)
        .ok()
        .and_then(|value| value.parse::<u32>().ok())
        .filter(|limit| *limit > 0)
        .unwrap_or(MISSED_EVENTS_LIMIT);
    filter.room.timeline.limit = Some(UInt::from(timeline_limit));
    let mut settings = SyncSettings::default()
        .timeout(SYNC_TIMEOUT)
        .filter(filter.into());
    if fresh_store {
        let response = client
            .sync_once(SyncSettings::default())
            .await
            .context("the first Matrix sync failed")?;
        info!("first sync done, earlier messages get no reply");
        settings = settings.token(response.next_batch);
    }
    let saved_floor = if fresh_store {
        None
    } else {
        catch_up::read_floor(store_path)?
    };
    let floor = match saved_floor {
        Some(floor) => floor,
        None => {
            // A new store, or one from a version without a floor: nothing
            // older than now is caught up.
            let floor = catch_up::now_ms();
            catch_up::save_floor(store_path, floor)?;
            floor
        }
    };
    rooms::join_configured(client, rooms_config).await;

    // Invites that came before the handlers existed.
    for room in client.invited_rooms() {
        match room.invite_details().await {
            Ok(invite) => inbound::answer_invite(&inbound, room, invite.inviter_id),
            Err(error) => warn!(room = %room.room_id(), %error, "cannot read a pending invite"),
        }
    }
    inbound::register(client, inbound.clone());
    if saved_floor.is_some() {
        for room in client.joined_rooms() {
            if let Err(error) = catch_up::room(&inbound, client, &room, None, floor).await {
                warn!(room = %room.room_id(), error = %format!("{error:#}"), "catch-up failed");
            }
        }
    }
    info!("matrix sync started");

    let inbound = &*inbound;
    sync_loop::run(client, settings, move |response| async move {
        let events: usize = response
            .rooms
            .joined
            .values()
            .map(|room| room.timeline.events.len())
            .sum();
        // The gap of a cut-short room is older than the response's own
        // events, so it is handled first.
        catch_up_limited(client, inbound, &response, floor).await;
        inbound.handle_queued(client).await;
        debug!(events, "sync response handled");
    })
    .await
}

/// Catches up on each room whose timeline in `response` was cut short,
/// unless the bot joined it in this response (its history before the join
/// is not for the bot).
async fn catch_up_limited(client: &Client, inbound: &Inbound, response: &SyncResponse, floor: u64) {
    for (room_id, update) in &response.rooms.joined {
        if !update.timeline.limited {
            continue;
        }
        let joined_now = update.timeline.events.iter().any(|event| {
            event
                .raw()
                .deserialize()
                .is_ok_and(|event| catch_up::is_own_join(&event, inbound))
        });
        let Some(room) = client.get_room(room_id).filter(|_| !joined_now) else {
            continue;
        };
        let from = update.timeline.prev_batch.clone();
        if let Err(error) = catch_up::room(inbound, client, &room, from, floor).await {
            warn!(room = %room_id, error = %format!("{error:#}"), "catch-up failed");
        }
    }
}
