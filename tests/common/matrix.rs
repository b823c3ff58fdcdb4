//! Matrix test clients and the bot process for the end-to-end tests against
//! the Synapse that `scripts/synapse.sh start` runs on 127.0.0.1.
//!
//! Each tester is a real matrix-sdk client with its own SQLite store, so it
//! has its own device and encryption keys, as a user's client would. Every room
//! message the client syncs (decrypted in encrypted rooms) and every invite is
//! recorded, and the test waits on those records with a timeout.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::api::client::room::create_room::v3::{
    Request as CreateRoomRequest, RoomPreset,
};
use matrix_sdk::ruma::events::reaction::ReactionEventContent;
use matrix_sdk::ruma::events::relation::{Annotation, InReplyTo};
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::room::member::{MembershipState, StrippedRoomMemberEvent};
use matrix_sdk::ruma::events::room::message::{
    FileMessageEventContent, MessageFormat, MessageType, OriginalSyncRoomMessageEvent, Relation,
    RoomMessageEventContent,
};
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncTimelineEvent, InitialStateEvent, SyncMessageLikeEvent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use matrix_sdk::{Client, Room, RoomState};

/// The env file that `scripts/synapse.sh start` writes.
pub const ENV_FILE_VAR: &str = "HUNTBRIDGE_TEST_MATRIX_ENV";
pub const URL_VAR: &str = "HUNTBRIDGE_TEST_MATRIX_URL";

/// How long a test waits for one reply from the bot or one sync.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// The homeserver and accounts from `target/synapse/env` (or the file named by
/// `HUNTBRIDGE_TEST_MATRIX_ENV`); variables set in the process win.
#[derive(Debug, Clone)]
pub struct MatrixEnv {
    pub url: String,
    pub server_name: String,
    /// The env file's path; the bot account lock sits next to it.
    pub path: PathBuf,
    vars: BTreeMap<String, String>,
}

/// Exclusive use of the bot account, released on drop.
pub struct BotAccountLock {
    _file: std::fs::File,
}

/// One registered account.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub user_id: OwnedUserId,
    pub password: String,
}

impl MatrixEnv {
    /// Loads the env file and checks that the homeserver accepts connections.
    /// Panics with the command to run when Synapse is not set up: these tests
    /// fail rather than skip.
    pub fn load() -> Self {
        let path = std::env::var(ENV_FILE_VAR)
            .map(PathBuf::from)
            .unwrap_or_else(|_| crate::common::repo_path("target/synapse/env"));
        let mut vars = BTreeMap::new();
        if let Ok(text) = std::fs::read_to_string(&path) {
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Some((key, value)) = line.split_once('=') {
                    vars.insert(key.to_string(), value.to_string());
                }
            }
        }
        for (key, value) in std::env::vars() {
            if key.starts_with("HUNTBRIDGE_TEST_MATRIX_") {
                vars.insert(key, value);
            }
        }
        let Some(url) = vars.get(URL_VAR).cloned() else {
            panic!(
                "{URL_VAR} is missing: no Synapse env file at {}. Run `scripts/synapse.sh start` \
                 first (or the whole suite with scripts/test.sh, which starts and stops Synapse)",
                path.display()
            );
        };
        let address = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        if let Err(error) = std::net::TcpStream::connect(&address) {
            panic!(
                "Synapse does not accept connections at {url} ({error}); the env file {} is \
                 stale. Run `scripts/synapse.sh start` again",
                path.display()
            );
        }
        let server_name = vars
            .get("HUNTBRIDGE_TEST_MATRIX_SERVER_NAME")
            .cloned()
            .unwrap_or_else(|| "localhost".into());
        Self {
            url,
            server_name,
            path,
            vars,
        }
    }

    /// Waits for exclusive use of the bot account and returns the guard.
    ///
    /// Every bot process logs in as the same account, and a room joined by
    /// one device is joined by all of them, so two bots running at once would
    /// both reply to commands. The lock is an OS file lock (`flock`) next to the
    /// env file: it serializes tests across test binaries and parallel
    /// `cargo test` runs, and the OS releases it when a test process dies.
    pub async fn lock_bot_account(&self) -> BotAccountLock {
        // Without an env file (all settings from the environment), the lock
        // goes to the temporary folder.
        let folder = self
            .path
            .parent()
            .filter(|folder| folder.is_dir())
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        let path = folder.join("huntbridge-bot-account.lock");
        tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .unwrap_or_else(|error| panic!("failed to open {}: {error}", path.display()));
            file.lock()
                .unwrap_or_else(|error| panic!("failed to lock {}: {error}", path.display()));
            BotAccountLock { _file: file }
        })
        .await
        .expect("bot account lock task")
    }

    /// Returns the account `name` (`huntbridge`, `ana`, `luis` or `marta`).
    pub fn account(&self, name: &str) -> Account {
        let upper = name.to_uppercase();
        let get = |suffix: &str| {
            let key = format!("HUNTBRIDGE_TEST_MATRIX_{upper}_{suffix}");
            self.vars
                .get(&key)
                .cloned()
                .unwrap_or_else(|| panic!("{key} is missing from the Synapse env file"))
        };
        Account {
            name: name.to_string(),
            user_id: UserId::parse(get("USER")).expect("valid user ID in the env file"),
            password: get("PASSWORD"),
        }
    }
}

/// Deletes every device of `account` on the homeserver, signing in once
/// more to do it (device deletion requires the password).
///
/// Each test logs in as new devices and the bot encrypts room keys for every
/// device of every member, so devices left by earlier runs make later runs
/// slower. Call it only while no client of that account is in use.
pub async fn delete_all_devices(env: &MatrixEnv, account: &Account) {
    use matrix_sdk::ruma::api::client::uiaa::{
        AuthData, MatrixUserIdentifier, Password, UserIdentifier,
    };

    let client = Client::builder()
        .homeserver_url(&env.url)
        .build()
        .await
        .expect("build Matrix client");
    client
        .matrix_auth()
        .login_username(&account.user_id, &account.password)
        .initial_device_display_name("huntbridge e2e cleanup")
        .await
        .unwrap_or_else(|error| panic!("{} failed to log in: {error}", account.name));
    let devices: Vec<_> = client
        .devices()
        .await
        .expect("list devices")
        .devices
        .into_iter()
        .map(|device| device.device_id)
        .collect();
    let Err(error) = client.delete_devices(&devices, None).await else {
        return;
    };
    let info = error
        .as_uiaa_response()
        .unwrap_or_else(|| panic!("failed to delete the devices of {}: {error}", account.name));
    let mut password = Password::new(
        UserIdentifier::Matrix(MatrixUserIdentifier::new(account.user_id.to_string())),
        account.password.clone(),
    );
    password.session = info.session.clone();
    client
        .delete_devices(&devices, Some(AuthData::Password(password)))
        .await
        .unwrap_or_else(|error| {
            panic!("failed to delete the devices of {}: {error}", account.name)
        });
}

/// A room message as a tester's client received it (decrypted).
#[derive(Debug, Clone)]
pub struct Received {
    pub room_id: OwnedRoomId,
    pub event_id: OwnedEventId,
    pub sender: OwnedUserId,
    pub content: RoomMessageEventContent,
}

impl Received {
    pub fn body(&self) -> &str {
        self.content.body()
    }

    pub fn is_notice(&self) -> bool {
        matches!(self.content.msgtype, MessageType::Notice(_))
    }

    /// Returns the HTML body of a text or notice message.
    pub fn html(&self) -> Option<&str> {
        let formatted = match &self.content.msgtype {
            MessageType::Notice(notice) => notice.formatted.as_ref(),
            MessageType::Text(text) => text.formatted.as_ref(),
            _ => None,
        }?;
        (formatted.format == MessageFormat::Html).then_some(formatted.body.as_str())
    }

    /// Returns the event this message replies to, directly or inside a thread.
    pub fn reply_to(&self) -> Option<&OwnedEventId> {
        match self.content.relates_to.as_ref()? {
            Relation::Reply(reply) => Some(&reply.in_reply_to.event_id),
            Relation::Thread(thread) => thread.in_reply_to.as_ref().map(|r| &r.event_id),
            _ => None,
        }
    }

    pub fn file(&self) -> Option<&FileMessageEventContent> {
        match &self.content.msgtype {
            MessageType::File(file) => Some(file),
            _ => None,
        }
    }
}

/// Everything a tester's sync loop recorded.
#[derive(Default)]
struct Inbox {
    messages: Vec<Received>,
    /// Rooms this user was invited to, with the inviter.
    invites: Vec<(OwnedRoomId, OwnedUserId)>,
}

/// A logged-in tester with a running sync loop.
pub struct TestClient {
    pub account: Account,
    pub client: Client,
    inbox: Arc<Mutex<Inbox>>,
    sync_task: tokio::task::JoinHandle<()>,
    _store: tempfile::TempDir,
}

impl Drop for TestClient {
    fn drop(&mut self) {
        self.sync_task.abort();
    }
}

impl TestClient {
    /// Logs in as a new device with a fresh SQLite store, skips the history
    /// of earlier runs with one sync, then syncs in the background.
    pub async fn login(env: &MatrixEnv, name: &str) -> Self {
        let account = env.account(name);
        let store = tempfile::tempdir().expect("temporary store folder");
        let client = Client::builder()
            .homeserver_url(&env.url)
            .sqlite_store(store.path(), None)
            .build()
            .await
            .expect("build Matrix client");
        client
            .matrix_auth()
            .login_username(&account.user_id, &account.password)
            .initial_device_display_name(&format!("huntbridge e2e {name}"))
            .await
            .unwrap_or_else(|error| panic!("{name} failed to log in: {error}"));
        let first = client
            .sync_once(SyncSettings::default())
            .await
            .unwrap_or_else(|error| panic!("first sync of {name} failed: {error}"));

        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let messages = inbox.clone();
        client.add_event_handler(move |event: OriginalSyncRoomMessageEvent, room: Room| {
            let messages = messages.clone();
            async move {
                messages.lock().unwrap().messages.push(Received {
                    room_id: room.room_id().to_owned(),
                    event_id: event.event_id,
                    sender: event.sender,
                    content: event.content,
                });
            }
        });
        let invites = inbox.clone();
        let own_id = account.user_id.clone();
        client.add_event_handler(move |event: StrippedRoomMemberEvent, room: Room| {
            let invites = invites.clone();
            let own_id = own_id.clone();
            async move {
                if event.state_key == own_id && room.state() == RoomState::Invited {
                    invites
                        .lock()
                        .unwrap()
                        .invites
                        .push((room.room_id().to_owned(), event.sender));
                }
            }
        });

        let sync_client = client.clone();
        let settings = SyncSettings::default()
            .token(first.next_batch)
            .timeout(Duration::from_secs(5));
        let sync_task = tokio::spawn(async move {
            if let Err(error) = sync_client.sync(settings).await {
                eprintln!("sync loop ended: {error}");
            }
        });
        Self {
            account,
            client,
            inbox,
            sync_task,
            _store: store,
        }
    }

    pub fn user_id(&self) -> &UserId {
        &self.account.user_id
    }

    /// Stops syncing and logs out, which deletes this device on the server.
    pub async fn logout(self) {
        self.sync_task.abort();
        if let Err(error) = self.client.matrix_auth().logout().await {
            eprintln!("{} failed to log out: {error}", self.account.name);
        }
    }

    /// Creates a private room, encrypted or not, and invites `invite`.
    pub async fn create_room(
        &self,
        name: &str,
        invite: &[&UserId],
        encrypted: bool,
    ) -> OwnedRoomId {
        let mut request = CreateRoomRequest::new();
        request.name = Some(name.to_string());
        request.preset = Some(RoomPreset::PrivateChat);
        request.invite = invite.iter().map(|user| (*user).to_owned()).collect();
        if encrypted {
            request.initial_state = vec![
                InitialStateEvent::with_empty_state_key(
                    RoomEncryptionEventContent::with_recommended_defaults(),
                )
                .to_raw_any(),
            ];
        }
        let room = self
            .client
            .create_room(request)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "{} failed to create room {name}: {error}",
                    self.account.name
                )
            });
        room.room_id().to_owned()
    }

    /// Waits until this client's sync has seen the room and returns it.
    pub async fn room(&self, room_id: &RoomId) -> Room {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if let Some(room) = self.client.get_room(room_id) {
                return room;
            }
            assert!(
                Instant::now() < deadline,
                "{} never saw room {room_id}",
                self.account.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Joins a room this user was invited to. Retries, because a join right
    /// after the invite can race with the homeserver.
    pub async fn join(&self, room_id: &RoomId) -> Room {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            match self.client.join_room_by_id(room_id).await {
                Ok(room) => return room,
                Err(error) if Instant::now() < deadline => {
                    eprintln!(
                        "{} failed to join {room_id}, retrying: {error}",
                        self.account.name
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("{} failed to join {room_id}: {error}", self.account.name),
            }
        }
    }

    /// Waits until `user` has joined `room_id`, as this client sees it.
    pub async fn wait_for_member(&self, room_id: &RoomId, user: &UserId) {
        let room = self.room(room_id).await;
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if let Ok(Some(member)) = room.get_member_no_sync(user).await
                && *member.membership() == MembershipState::Join
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{user} did not join {room_id} within {REPLY_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends a plain text message (what a person types) and returns its ID.
    pub async fn send_text(&self, room_id: &RoomId, body: &str) -> OwnedEventId {
        self.send(room_id, RoomMessageEventContent::text_plain(body))
            .await
    }

    /// Sends a plain text message as a reply to `in_reply_to`.
    pub async fn send_reply(
        &self,
        room_id: &RoomId,
        body: &str,
        in_reply_to: &OwnedEventId,
    ) -> OwnedEventId {
        let mut content = RoomMessageEventContent::text_plain(body);
        content.relates_to = Some(Relation::Reply(
            matrix_sdk::ruma::events::relation::Reply::new(InReplyTo::new(in_reply_to.clone())),
        ));
        self.send(room_id, content).await
    }

    /// Reacts to `event` with `key` (an emoji) and returns the reaction's ID.
    pub async fn react(&self, room_id: &RoomId, event: &OwnedEventId, key: &str) -> OwnedEventId {
        let room = self.room(room_id).await;
        let content = ReactionEventContent::new(Annotation::new(event.clone(), key.to_string()));
        room.send(content)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "{} failed to react in {room_id}: {error}",
                    self.account.name
                )
            })
            .response
            .event_id
    }

    async fn send(&self, room_id: &RoomId, content: RoomMessageEventContent) -> OwnedEventId {
        let room = self.room(room_id).await;
        room.send(content)
            .await
            .unwrap_or_else(|error| {
                panic!("{} failed to send to {room_id}: {error}", self.account.name)
            })
            .response
            .event_id
    }

    /// Uploads a file as `m.file` (encrypted in encrypted rooms).
    pub async fn send_file(
        &self,
        room_id: &RoomId,
        name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> OwnedEventId {
        let room = self.room(room_id).await;
        let mime: mime::Mime = mime.parse().expect("valid MIME type");
        room.send_attachment(name, &mime, bytes, AttachmentConfig::new())
            .await
            .unwrap_or_else(|error| {
                panic!("{} failed to upload {name}: {error}", self.account.name)
            })
            .event_id
    }

    /// Returns all messages received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().messages.clone()
    }

    /// Waits for a message that matches `predicate`; panics with what did
    /// arrive in the room after the timeout.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        predicate: impl Fn(&Received) -> bool,
    ) -> Received {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self
                .inbox
                .lock()
                .unwrap()
                .messages
                .iter()
                .find(|m| predicate(m))
            {
                return found.clone();
            }
            if Instant::now() >= deadline {
                let seen: Vec<String> = self
                    .messages()
                    .iter()
                    .map(|m| {
                        format!(
                            "{} {} {}: {:.200}",
                            m.room_id,
                            m.event_id,
                            m.sender,
                            m.body()
                        )
                    })
                    .collect();
                panic!(
                    "{} waited {timeout:?} for {what}; received instead:\n{}",
                    self.account.name,
                    seen.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits for the bot's reply to the command event `command`.
    pub async fn wait_for_reply(&self, bot: &UserId, command: &OwnedEventId) -> Received {
        self.wait_for(
            &format!("a reply from {bot} to {command}"),
            REPLY_TIMEOUT,
            |m| m.sender == bot && m.reply_to() == Some(command),
        )
        .await
    }

    /// Waits for an invite that `predicate` accepts (by room ID and inviter).
    pub async fn wait_for_invite(
        &self,
        timeout: Duration,
        predicate: impl Fn(&RoomId, &UserId) -> bool,
    ) -> OwnedRoomId {
        let deadline = Instant::now() + timeout;
        loop {
            let invites = self.inbox.lock().unwrap().invites.clone();
            if let Some((room_id, _)) = invites
                .iter()
                .find(|(room, inviter)| predicate(room, inviter))
            {
                return room_id.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{} received no matching invite within {timeout:?}; invites: {invites:?}",
                self.account.name
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Reads a room's message history from the server, oldest first,
    /// decrypted where this device has the keys.
    pub async fn history(&self, room_id: &RoomId) -> Vec<Received> {
        let room = self.room(room_id).await;
        let mut from = None;
        let mut found = Vec::new();
        loop {
            let mut options = MessagesOptions::backward().from(from.as_deref());
            options.limit = 100u32.into();
            let page = room.messages(options).await.expect("read room history");
            for event in &page.chunk {
                if let Some(message) = as_message(room_id, event.raw().deserialize().ok()) {
                    found.push(message);
                }
            }
            match page.end {
                Some(end) if !page.chunk.is_empty() => from = Some(end),
                _ => break,
            }
        }
        found.reverse();
        found
    }

    /// Fetches one event and decrypts it.
    pub async fn event(&self, room_id: &RoomId, event_id: &OwnedEventId) -> Option<Received> {
        let room = self.room(room_id).await;
        let event = room.event(event_id, None).await.expect("fetch event");
        as_message(room_id, event.raw().deserialize().ok())
    }

    /// Downloads a file message's content, decrypting it when it was sent
    /// encrypted.
    pub async fn download(&self, file: &FileMessageEventContent) -> Vec<u8> {
        self.client
            .media()
            .get_file(file, false)
            .await
            .expect("download media")
            .expect("file message has a source")
    }
}

fn as_message(room_id: &RoomId, event: Option<AnySyncTimelineEvent>) -> Option<Received> {
    let Some(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
        SyncMessageLikeEvent::Original(event),
    ))) = event
    else {
        return None;
    };
    Some(Received {
        room_id: room_id.to_owned(),
        event_id: event.event_id,
        sender: event.sender,
        content: event.content,
    })
}

/// The bot as a child process: `huntbridge run --config FILE`.
pub struct BotProcess {
    child: Option<Child>,
    pub log_path: PathBuf,
}

impl BotProcess {
    /// Starts the bot binary; its log (`HUNTBRIDGE_LOG=info`) goes to
    /// `log_path`, appended across restarts.
    pub fn start(config: &Path, log_path: &Path) -> Self {
        Self::start_with_env(config, log_path, &[])
    }

    /// Starts the bot with extra environment variables (test hooks).
    pub fn start_with_env(config: &Path, log_path: &Path, env: &[(&str, &str)]) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .expect("open bot log");
        let child = Command::new(env!("CARGO_BIN_EXE_huntbridge"))
            .arg("run")
            .arg("--config")
            .arg(config)
            .env("HUNTBRIDGE_LOG", "info,huntbridge=debug")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("bot log handle"))
            .stderr(log)
            .spawn()
            .expect("start huntbridge run");
        Self {
            child: Some(child),
            log_path: log_path.to_path_buf(),
        }
    }

    /// Stops the bot with SIGTERM, as systemd or Ctrl-C would, and waits up
    /// to 10 s before killing it.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        // A paused bot handles the SIGTERM only once it runs again.
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("huntbridge did not stop within 10 s after SIGTERM; killing it");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Suspends the bot (SIGSTOP): its requests stay open and nothing is
    /// handled until [`BotProcess::resume`].
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Resumes a bot suspended by [`BotProcess::pause`] (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the bot is not running");
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .expect("failed to run kill");
        assert!(status.success(), "kill {signal} failed: {status}");
    }

    /// Waits up to `timeout` for the bot to exit on its own and returns how
    /// it exited, or `None` when it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Fails the test when the bot exited on its own.
    pub fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            panic!(
                "huntbridge exited with {status}; log:\n{}",
                std::fs::read_to_string(&self.log_path).unwrap_or_default()
            );
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for BotProcess {
    /// Stops the bot. When a test fails, prints the end of the bot's log
    /// for diagnosis (the checks themselves never read it).
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let start = lines.len().saturating_sub(200);
            eprintln!(
                "--- last {} lines of the huntbridge log {} ---\n{}",
                lines.len() - start,
                self.log_path.display(),
                lines[start..].join("\n")
            );
        }
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
