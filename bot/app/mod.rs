//! The application layer: one handler per command. A handler authorizes the
//! actor, runs the domain, and writes the state change, its timeline entries
//! and its outgoing effects in one database transaction.
//!
//! [`App::handle`] records the inbound event ID in that same transaction, so a
//! redelivered event does nothing and a crash before commit leaves nothing
//! half-written.

pub mod auth;
pub mod command;
pub mod commands;
pub mod context;
pub mod dossier;
pub mod effects;
pub mod error;
pub mod outbox;
pub mod report;
pub mod view;

use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use tokio::sync::Notify;
use tracing::{debug, error, info, instrument, warn};

use crate::chat::ChatEvent;
use crate::config::Config;
use crate::domain::attack::Catalog;
use crate::domain::ioc::{Extractor, KnownGood};
use crate::domain::playbook::Playbooks;
use crate::domain::types::Lang;
use crate::render::Renderer;
use crate::store::{self, Store};

use auth::{Actor, Directory};
use command::Invocation;
use context::{Ctx, RoomKind};
use error::{CommandError, UserError};

/// The largest message the bot reads, in bytes. Matrix events are capped at
/// 65,536 bytes; larger evidence goes in a file with `/evidence`.
pub const MAX_MESSAGE_BYTES: usize = 65_536;

/// The largest file accepted as evidence, in bytes (25 MiB).
pub const MAX_FILE_BYTES: usize = 25 * 1024 * 1024;

/// Everything handlers share.
#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    pub store: Store,
    pub renderer: Renderer,
    pub catalog: &'static Catalog,
    pub extractor: Extractor,
    pub playbooks: Playbooks,
    pub directory: Directory,
    /// Woken when a handler has stored new outbox entries.
    pub outbox_ready: Notify,
    /// Prefix that replies write before a command: `/` on the shell, the
    /// first configured prefix on Matrix.
    pub command_prefix: String,
}

/// The app, cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    shared: Arc<Shared>,
}

/// The outcome of handling an inbound event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not a command: the bot stays quiet.
    Ignored,
    /// The event ID was handled before; nothing was done.
    Duplicate,
    /// The command ran and its reply is in the outbox.
    Done,
    /// The command was rejected with a reply naming the problem.
    Rejected,
    /// The command failed inside the bot; the user got a notice.
    Failed,
}

impl App {
    /// Builds the app from configuration and a migrated store.
    pub fn new(config: Config, store: Store) -> anyhow::Result<Self> {
        Self::with_command_prefix(config, store, "/")
    }

    /// Builds the app for an adapter whose users type commands with
    /// `prefix`: replies and cards then write `!handoff` instead of
    /// `/handoff`.
    pub fn with_command_prefix(config: Config, store: Store, prefix: &str) -> anyhow::Result<Self> {
        let mut known_good = KnownGood::shipped();
        if let Some(path) = &config.iocs.known_good_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("failed to read known-good file {}", path.display()))?;
            known_good
                .extend_from_str(&text)
                .with_context(|| format!("invalid known-good file {}", path.display()))?;
        }
        let mut playbooks = Playbooks::shipped().clone();
        if let Some(dir) = &config.playbooks.dir {
            playbooks = playbooks
                .with_overrides(load_playbook_dir(dir)?)
                .with_context(|| format!("invalid playbook in {}", dir.display()))?;
        }
        let renderer = Renderer::with_command_prefix(prefix, &command::words())
            .context("invalid embedded template")?;
        let directory = Directory::from_config(&config.users);
        let shared = Shared {
            config,
            store,
            renderer,
            catalog: Catalog::embedded(),
            extractor: Extractor::new(known_good),
            playbooks,
            directory,
            outbox_ready: Notify::new(),
            command_prefix: prefix.to_string(),
        };
        Ok(Self {
            shared: Arc::new(shared),
        })
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    pub fn renderer(&self) -> &Renderer {
        &self.shared.renderer
    }

    pub fn directory(&self) -> &Directory {
        &self.shared.directory
    }

    /// Handles one inbound event: records it, runs the command and stores the
    /// reply, all in one transaction.
    #[instrument(skip_all, fields(platform = %event.platform, room = %event.room_id, event = %event.event_id, actor = %event.sender))]
    pub async fn handle(&self, event: ChatEvent) -> anyhow::Result<Outcome> {
        let Some(invocation) = command::split(&event.text) else {
            return Ok(Outcome::Ignored);
        };
        let shared = &*self.shared;
        let mut tx = shared.store.begin().await?;
        let now = Utc::now();

        let first_time = store::inbound::record(
            &mut tx,
            &event.platform,
            &event.event_id,
            &event.room_id,
            &event.sender,
            store::to_millis(now),
        )
        .await?;
        if !first_time {
            debug!("duplicate event ignored");
            return Ok(Outcome::Duplicate);
        }

        let room = room_kind(shared, &mut tx, &event).await?;
        let lang = store::rooms::lang(&mut tx, &event.platform, &event.room_id)
            .await?
            .and_then(|code| code.parse::<Lang>().ok())
            .unwrap_or(shared.config.lang);
        let actor = Actor {
            id: event.sender.clone(),
            roles: shared.directory.roles_of(&event.sender),
        };
        let word = invocation.word.to_string();

        // The handler runs in a savepoint, so a rejected or failed command
        // leaves no partial state while its reply and the event record stay.
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        let result = {
            let mut ctx = Ctx {
                shared,
                conn: &mut savepoint,
                event: &event,
                actor,
                lang,
                room,
                now,
            };
            dispatch(&mut ctx, &invocation).await
        };
        let outcome = match result {
            Ok(()) => {
                savepoint.commit().await?;
                debug!(command = %word, "command done");
                Outcome::Done
            }
            Err(CommandError::User(user_error)) => {
                savepoint.rollback().await?;
                debug!(command = %word, reason = %user_error.key, "command rejected");
                reply_error(shared, &mut tx, &event, lang, now, &user_error).await?;
                Outcome::Rejected
            }
            Err(CommandError::Internal(cause)) => {
                savepoint.rollback().await?;
                error!(command = %word, error = %format!("{cause:#}"), "command failed");
                let notice = UserError::new("internal").arg("event", &event.event_id);
                reply_error(shared, &mut tx, &event, lang, now, &notice).await?;
                Outcome::Failed
            }
        };

        store::audit::append(
            &mut tx,
            &store::audit::AuditEntry {
                at: store::to_millis(now),
                platform: &event.platform,
                event_id: &event.event_id,
                room_id: &event.room_id,
                actor: &event.sender,
                command: &word,
                outcome: match outcome {
                    Outcome::Done => "done",
                    Outcome::Rejected => "rejected",
                    _ => "failed",
                },
            },
        )
        .await?;
        tx.commit().await.context("failed to commit the command")?;
        shared.outbox_ready.notify_one();
        if outcome == Outcome::Done {
            info!(command = %word, "command handled");
        }
        Ok(outcome)
    }
}

/// Reads every `*.yml` and `*.yaml` file of a configured playbook folder.
fn load_playbook_dir(dir: &std::path::Path) -> anyhow::Result<Playbooks> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("failed to read playbook folder {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let is_yaml = path
            .extension()
            .is_some_and(|ext| ext == "yml" || ext == "yaml");
        if is_yaml {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    files.sort();
    Playbooks::parse_files(
        files
            .iter()
            .map(|(name, text)| (name.as_str(), text.as_str())),
    )
    .with_context(|| format!("invalid playbook in {}", dir.display()))
}

/// Stores an error reply outside the handler's savepoint.
async fn reply_error(
    shared: &Shared,
    conn: &mut store::AnyConnection,
    event: &ChatEvent,
    lang: Lang,
    now: chrono::DateTime<Utc>,
    error: &UserError,
) -> anyhow::Result<()> {
    let effect = effects::Effect::Post {
        target: effects::Target::Room {
            room_id: event.room_id.clone(),
        },
        message: crate::render::Message {
            template: "error".into(),
            lang,
            context: error.context(),
        },
        reply_to: Some(event.event_id.clone()),
        pin: false,
    };
    let _ = shared;
    store::outbox::enqueue(
        conn,
        &event.platform,
        &serde_json::to_string(&effect)?,
        store::to_millis(now),
    )
    .await?;
    Ok(())
}

async fn room_kind(
    shared: &Shared,
    conn: &mut store::AnyConnection,
    event: &ChatEvent,
) -> anyhow::Result<RoomKind> {
    if let Some(incident) =
        store::rooms::incident_of_room(conn, &event.platform, &event.room_id).await?
    {
        return Ok(RoomKind::Incident(incident));
    }
    let rooms = &shared.config.rooms;
    let listed = |list: &[String]| list.iter().any(|room| room == &event.room_id);
    Ok(if listed(&rooms.ir) {
        RoomKind::Ir
    } else if listed(&rooms.hunting) {
        RoomKind::Hunting
    } else if listed(&rooms.leads) {
        RoomKind::Leads
    } else {
        RoomKind::Other
    })
}

/// Checks size and roles, then runs the command's handler.
async fn dispatch(ctx: &mut Ctx<'_>, invocation: &Invocation<'_>) -> error::CommandResult {
    let Some(command) = invocation.command else {
        // The word alone: the adapter may have rewritten the prefix typed.
        let typed = invocation.word;
        let error = match command::suggest(invocation.word) {
            Some(suggestion) => UserError::new("unknown_command")
                .arg("command", typed)
                .arg("suggestion", ctx.command_text(suggestion)),
            None => UserError::new("unknown_command_no_suggestion").arg("command", typed),
        };
        return Err(error.into());
    };
    if ctx.event.text.len() > MAX_MESSAGE_BYTES {
        return Err(UserError::new("message_too_long")
            .arg("size", ctx.event.text.len())
            .arg("max", MAX_MESSAGE_BYTES)
            .into());
    }
    if ctx.actor.roles.is_empty() && !command.roles().is_empty() {
        return Err(UserError::new("no_role").arg("user", &ctx.actor.id).into());
    }
    if !command.roles().is_empty() && !ctx.actor.may(command.roles()) {
        let allowed: Vec<&str> = command.roles().iter().map(|role| role.as_str()).collect();
        warn!(command = command.name(), actor = %ctx.actor.id, room = %ctx.event.room_id, "permission denied");
        return Err(UserError::new("forbidden")
            .arg("command", ctx.command_text(command.name()))
            .arg("roles", allowed.join(", "))
            .into());
    }
    commands::run(ctx, command, invocation.args).await
}
