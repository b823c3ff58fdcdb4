//! The bot on a real Synapse homeserver, seen from real Matrix clients: the
//! shipped regsvr32 case end to end, a restart with commands sent while the
//! bot is down, a crash before a command was recorded, a redelivered event,
//! and a handoff accepted with a ✅.
//!
//! Needs the Synapse that `scripts/synapse.sh start` runs on 127.0.0.1
//! (scripts/test.sh starts and stops it). Without it these tests fail.
//!
//! The bot runs as the `huntbridge run --config FILE` binary with a fresh
//! database and matrix-sdk store per test. Ana (hunter), Luis (responder) and
//! Marta (lead) are matrix-sdk clients, each a new device with its own store.
//! Every check reads what those clients received, never the bot's log.
//! The tests share one bot account, so they take turns through a file lock.

// matrix-sdk's futures are deeply nested: spawning the sync loop overflows
// the default limit of 128 while proving them `Send`.
#![recursion_limit = "256"]

mod common;
#[path = "common/matrix.rs"]
mod matrix;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{Datelike, Utc};
use huntbridge::app::{App, Outcome};
use huntbridge::chat::ChatEvent;
use huntbridge::chat::shell::parse_script;
use huntbridge::config::Config;
use huntbridge::store::Store;
use matrix_sdk::RoomMemberships;
use matrix_sdk::ruma::events::room::MediaSource;
use matrix_sdk::ruma::events::room::join_rules::JoinRule;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};

use common::repo_path;
use matrix::{
    Account, BotAccountLock, BotProcess, MatrixEnv, REPLY_TIMEOUT, Received, TestClient, sha256_hex,
};

const CASE_DIR: &str = "cases/regsvr32-squiblydoo";

/// How long a test keeps watching after the last expected reply, to catch a
/// reply that comes twice.
const QUIET_PERIOD: Duration = Duration::from_secs(3);

/// Testers, their rooms and a configured (not yet started) bot.
struct Scenario {
    /// Keeps other tests' bots off the shared bot account.
    _bot_account: BotAccountLock,
    ana: TestClient,
    luis: TestClient,
    marta: TestClient,
    bot_user: OwnedUserId,
    /// Encrypted, created by Ana: the bot must decrypt commands and files.
    hunting: OwnedRoomId,
    /// Not encrypted, created by Luis, with Marta as a member.
    ir: OwnedRoomId,
    config_path: PathBuf,
    database_url: String,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Scenario {
    /// Logs the testers in, creates the hunting and IR rooms with the bot
    /// invited and writes the bot's configuration.
    async fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let env = MatrixEnv::load();
        let bot_account = env.lock_bot_account().await;
        let bot: Account = env.account("huntbridge");
        // Devices of bots from earlier tests, including failed ones.
        matrix::delete_all_devices(&env, &bot).await;
        let (ana, luis, marta) = tokio::join!(
            TestClient::login(&env, "ana"),
            TestClient::login(&env, "luis"),
            TestClient::login(&env, "marta"),
        );

        let hunting = ana
            .create_room(
                "caza",
                &[&bot.user_id, luis.user_id(), marta.user_id()],
                true,
            )
            .await;
        let ir = luis
            .create_room("ir", &[&bot.user_id, ana.user_id(), marta.user_id()], false)
            .await;
        marta
            .wait_for_invite(REPLY_TIMEOUT, |room, _| room == ir)
            .await;
        marta.join(&ir).await;

        let dir = tempfile::tempdir().expect("temporary folder");
        let database_url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("huntbridge.db").display()
        );
        let config = format!(
            r#"lang = "es"

[database]
url = "{database_url}"

[rooms]
hunting = ["{hunting}"]
ir = ["{ir}"]
leads = ["{ir}"]

[users]
"{ana}" = ["hunter"]
"{luis}" = ["responder"]
"{marta}" = ["lead"]

[exports]
dir = "{exports}"

[matrix]
homeserver = "{url}"
user = "{bot_user}"
password = "{bot_password}"
device_name = "huntbridge e2e"
store_path = "{store}"
# The default: replies write commands with "!", and "/" is accepted too.
command_prefixes = ["!", "/"]
"#,
            ana = ana.user_id(),
            luis = luis.user_id(),
            marta = marta.user_id(),
            exports = dir.path().join("exports").display(),
            url = env.url,
            bot_user = bot.user_id,
            bot_password = bot.password,
            store = dir.path().join("matrix-store").display(),
        );
        let config_path = dir.path().join("huntbridge.toml");
        std::fs::write(&config_path, config).expect("write bot config");
        let log_path = dir.path().join("huntbridge.log");
        Self {
            _bot_account: bot_account,
            ana,
            luis,
            marta,
            bot_user: bot.user_id,
            hunting,
            ir,
            config_path,
            database_url,
            log_path,
            _dir: dir,
        }
    }

    /// Starts the bot and waits until it has joined both rooms.
    async fn start_bot(&self) -> BotProcess {
        let bot = BotProcess::start(&self.config_path, &self.log_path);
        self.ana
            .wait_for_member(&self.hunting, &self.bot_user)
            .await;
        self.luis.wait_for_member(&self.ir, &self.bot_user).await;
        bot
    }

    /// Logs the testers out, so their devices do not pile up on the
    /// homeserver. Failed tests skip it.
    async fn finish(self) {
        let Scenario {
            ana, luis, marta, ..
        } = self;
        tokio::join!(ana.logout(), luis.logout(), marta.logout());
    }

    fn client(&self, user: &str) -> &TestClient {
        match user {
            "@ana" => &self.ana,
            "@luis" => &self.luis,
            "@marta" => &self.marta,
            other => panic!("no test client for {other}"),
        }
    }

    /// Messages from the bot that reply to `command`, as `client` received them.
    fn replies_to(&self, client: &TestClient, command: &OwnedEventId) -> Vec<Received> {
        client
            .messages()
            .into_iter()
            .filter(|m| m.sender == self.bot_user && m.reply_to() == Some(command))
            .collect()
    }

    /// Returns the joined and invited members of `room`, as Luis sees them.
    async fn incident_members(&self, room: &OwnedRoomId) -> BTreeSet<String> {
        self.luis
            .room(room)
            .await
            .members(RoomMemberships::JOIN | RoomMemberships::INVITE)
            .await
            .expect("room members")
            .iter()
            .map(|member| member.user_id().to_string())
            .collect()
    }

    /// Returns the members an incident room must have: the bot, Ana (who
    /// reported) and Luis (who accepted).
    fn expected_incident_members(&self) -> BTreeSet<String> {
        [
            &self.bot_user,
            &self.ana.account.user_id,
            &self.luis.account.user_id,
        ]
        .iter()
        .map(|user| user.to_string())
        .collect()
    }

    /// Waits for the invite to the incident room, checks it comes from the
    /// bot, and joins it as Luis and Ana.
    async fn join_incident_room(&self) -> OwnedRoomId {
        let bot = self.bot_user.clone();
        let room = self
            .luis
            .wait_for_invite(REPLY_TIMEOUT, |room, inviter| {
                inviter == bot && room != self.hunting && room != self.ir
            })
            .await;
        self.ana
            .wait_for_invite(REPLY_TIMEOUT, |invited, _| invited == room)
            .await;
        self.luis.join(&room).await;
        self.ana.join(&room).await;
        room
    }
}

fn incident_id() -> String {
    format!("INC-{}-0001", Utc::now().year())
}

/// Returns the shipped case up to `/status all`, without the closing commands.
fn case_until_status() -> String {
    let text = std::fs::read_to_string(repo_path(&format!("{CASE_DIR}/conversation.chat")))
        .expect("read the shipped case");
    let end = text
        .find("--- @luis:ir #INC\n/close")
        .expect("case has /close");
    text[..end].to_string()
}

/// Returns the file named by an `/evidence F-n FILE` command.
fn evidence_file_name(text: &str) -> Option<&str> {
    let mut words = text.split_whitespace();
    if !matches!(words.next(), Some("/evidence" | "/evidencia")) {
        return None;
    }
    words.nth(1)
}

fn assert_notice_with_html(message: &Received) {
    assert!(
        message.is_notice(),
        "bot message {} is not m.notice: {:?}",
        message.event_id,
        message.content.msgtype
    );
    let html = message.html().unwrap_or_else(|| {
        panic!(
            "bot message {} has no HTML body: {:.300}",
            message.event_id,
            message.body()
        )
    });
    assert!(
        !html.trim().is_empty(),
        "empty HTML body in {}",
        message.event_id
    );
    assert!(
        !html.contains("<script") && !html.contains("javascript:"),
        "unsafe HTML in {}: {html}",
        message.event_id
    );
}

/// Checks the harness without the bot: an encrypted room between two test
/// clients, a reply and a file that decrypts to the same bytes. When this
/// fails, the other tests' failures do not point at the bot.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn test_clients_share_encrypted_file() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let env = MatrixEnv::load();
    let (ana, luis) = tokio::join!(
        TestClient::login(&env, "ana"),
        TestClient::login(&env, "luis"),
    );
    let room = ana.create_room("harness", &[luis.user_id()], true).await;
    luis.wait_for_invite(REPLY_TIMEOUT, |invited, _| invited == room)
        .await;
    luis.join(&room).await;
    ana.wait_for_member(&room, luis.user_id()).await;

    let evidence = std::fs::read(repo_path(&format!("{CASE_DIR}/events.jsonl"))).unwrap();
    let file_event = ana
        .send_file(
            &room,
            "events.jsonl",
            "application/x-ndjson",
            evidence.clone(),
        )
        .await;
    let command = ana
        .send_reply(&room, "/evidence F-1 events.jsonl", &file_event)
        .await;

    let file = luis
        .wait_for("the file from Ana", REPLY_TIMEOUT, |m| {
            m.event_id == file_event
        })
        .await;
    let content = file.file().expect("m.file message");
    assert!(
        matches!(content.source, MediaSource::Encrypted(_)),
        "file in an encrypted room was sent in the clear"
    );
    assert_eq!(
        sha256_hex(&luis.download(content).await),
        sha256_hex(&evidence)
    );
    let reply = luis
        .wait_for("the reply from Ana", REPLY_TIMEOUT, |m| {
            m.event_id == command
        })
        .await;
    assert_eq!(reply.reply_to(), Some(&file_event));
    assert_eq!(reply.body(), "/evidence F-1 events.jsonl");

    let history = luis.history(&room).await;
    assert!(
        history.iter().any(|m| m.event_id == command),
        "history misses the reply: {history:#?}"
    );
    tokio::join!(ana.logout(), luis.logout());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regsvr32_case_on_synapse() {
    let s = Scenario::new().await;
    let mut bot = s.start_bot().await;
    let incident = incident_id();
    let evidence_path = repo_path(&format!("{CASE_DIR}/events.jsonl"));
    let evidence = std::fs::read(&evidence_path).expect("read the shipped evidence");

    let mut incident_room: Option<OwnedRoomId> = None;
    let mut replies: Vec<(String, Received)> = Vec::new();
    for message in parse_script(&case_until_status()).expect("valid transcript") {
        bot.assert_running();
        let client = s.client(&message.user);
        let room = match message.room.as_str() {
            "#caza" => s.hunting.clone(),
            "#ir" => s.ir.clone(),
            "#INC" => incident_room
                .clone()
                .expect("incident room opened before use"),
            other => panic!("unknown room {other} in the case"),
        };

        // `/evidence F-1 events.jsonl` is sent as a reply to the file event.
        let command = if let Some(name) = evidence_file_name(&message.text) {
            let content = std::fs::read(repo_path(&format!("{CASE_DIR}/{name}")))
                .unwrap_or_else(|error| panic!("failed to read evidence file {name}: {error}"));
            let file_event = client
                .send_file(&room, name, "application/x-ndjson", content)
                .await;
            client.send_reply(&room, &message.text, &file_event).await
        } else {
            client.send_text(&room, &message.text).await
        };
        let reply = client.wait_for_reply(&s.bot_user, &command).await;
        assert_notice_with_html(&reply);
        replies.push((message.text.lines().next().unwrap().to_string(), reply));

        if message.text.starts_with("/handoff") {
            incident_room = Some(s.join_incident_room().await);
        }
    }
    let reply = |prefix: &str| {
        replies
            .iter()
            .find(|(command, _)| command.starts_with(prefix))
            .map(|(_, reply)| reply.body().to_string())
            .unwrap_or_else(|| panic!("no reply to {prefix}"))
    };

    // The finding card: indicators defanged, techniques, severity and TLP.
    let finding = reply("/finding");
    assert!(finding.contains("F-1"), "{finding}");
    assert!(
        finding.contains("hxxp://10[.]10[.]10[.]5:8444/launcher.sct"),
        "{finding}"
    );
    assert!(finding.contains("T1218.010"), "{finding}");
    assert!(finding.contains("T1059.001"), "{finding}");
    assert!(finding.contains("TLP:AMBER"), "{finding}");
    assert!(
        !finding.contains("http://10.10.10.5"),
        "live URL: {finding}"
    );

    // The bot downloaded and decrypted the file from the encrypted hunting
    // room: its reply names the original's SHA-256.
    let evidence_reply = reply("/evidence");
    assert!(evidence_reply.contains("events.jsonl"), "{evidence_reply}");
    assert!(
        evidence_reply.contains(&sha256_hex(&evidence)),
        "the bot stored a different file: {evidence_reply}"
    );

    // The handoff card reached the IR room.
    let card = s
        .luis
        .wait_for("the handoff card in the IR room", REPLY_TIMEOUT, |m| {
            m.room_id == s.ir
                && m.sender == s.bot_user
                && m.body().contains("F-1")
                && m.body().contains("Traspaso a IR")
        })
        .await;
    assert_notice_with_html(&card);
    assert!(
        card.body().contains("!handoff F-1 accept"),
        "the card should write commands with the first prefix: {}",
        card.body()
    );

    // The incident room: invite only, encrypted with Megolm, exactly the
    // bot, Ana and Luis, the summary pinned.
    let incident_room = incident_room.expect("incident room opened");
    let room = s.luis.room(&incident_room).await;
    assert_eq!(room.join_rule(), Some(JoinRule::Invite), "join rule");
    let encryption = room
        .latest_encryption_state()
        .await
        .expect("encryption state");
    assert!(encryption.is_encrypted(), "incident room is not encrypted");
    let settings = serde_json::to_value(room.encryption_settings().expect("m.room.encryption"))
        .expect("encryption settings as JSON");
    assert_eq!(settings["algorithm"], "m.megolm.v1.aes-sha2", "{settings}");
    assert_eq!(
        s.incident_members(&incident_room).await,
        s.expected_incident_members(),
        "incident room members"
    );
    let name = room.name().unwrap_or_default();
    assert!(name.contains(&incident), "room name {name:?}");

    let pinned = room.pinned_event_ids().unwrap_or_default();
    assert_eq!(pinned.len(), 1, "pinned events: {pinned:?}");
    let summary = s
        .luis
        .event(&incident_room, &pinned[0])
        .await
        .expect("pinned summary is a decryptable message");
    assert_eq!(summary.sender, s.bot_user);
    assert!(summary.body().contains(&incident), "{}", summary.body());
    assert_notice_with_html(&summary);

    // Evidence and IOC files, downloaded and decrypted on Luis's device.
    let history = s.luis.history(&incident_room).await;
    let evidence_event = history
        .iter()
        .find(|m| {
            m.sender == s.bot_user && m.file().is_some_and(|f| f.filename() == "events.jsonl")
        })
        .unwrap_or_else(|| panic!("no events.jsonl in the incident room: {history:#?}"));
    let file = evidence_event.file().unwrap();
    assert!(
        matches!(file.source, MediaSource::Encrypted(_)),
        "evidence was not sent as an encrypted attachment"
    );
    let downloaded = s.luis.download(file).await;
    assert_eq!(
        sha256_hex(&downloaded),
        sha256_hex(&evidence),
        "evidence SHA-256"
    );
    let ioc_name = format!("{incident}-iocs.tsv");
    let ioc_event = history
        .iter()
        .find(|m| m.sender == s.bot_user && m.file().is_some_and(|f| f.filename() == ioc_name))
        .unwrap_or_else(|| panic!("no {ioc_name} in the incident room"));
    let iocs = String::from_utf8(s.luis.download(ioc_event.file().unwrap()).await).unwrap();
    assert!(
        iocs.contains("hxxp://10[.]10[.]10[.]5:8444/launcher.sct"),
        "{iocs}"
    );
    assert!(!iocs.contains("http://10.10.10.5"), "{iocs}");

    // Stages, playbook and actions, as Luis and Ana saw them.
    let playbook = reply("/playbook");
    assert!(playbook.contains("Malware persistente"), "{playbook}");
    let stage = reply("/stage");
    assert!(stage.contains("Coordinación"), "{stage}");
    let contain = reply("/action contain");
    assert!(
        contain.contains("acción de contención registrada"),
        "{contain}"
    );
    assert!(contain.contains("MTTC"), "{contain}");

    // `/status all` from Marta in the IR room.
    let status = reply("/status all");
    assert!(status.contains("Incidentes abiertos: 1"), "{status}");
    assert!(status.contains(&incident), "{status}");
    assert!(status.contains("Coordinación"), "{status}");
    assert!(status.contains("severidad alta"), "{status}");
    assert!(status.contains("luis"), "{status}");

    // Every text message the bot sent anywhere is a notice with HTML.
    for client in [&s.ana, &s.luis, &s.marta] {
        for message in client.messages() {
            if message.sender == s.bot_user && message.file().is_none() {
                assert_notice_with_html(&message);
            }
        }
    }
    bot.stop();
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_handles_missed_commands_once() {
    let s = Scenario::new().await;
    let mut bot = s.start_bot().await;

    let finding = s
        .ana
        .send_text(
            &s.hunting,
            "/finding Beacon a 198.51.100.7\nseveridad: alta",
        )
        .await;
    s.ana.wait_for_reply(&s.bot_user, &finding).await;
    let accept = s.luis.send_text(&s.ir, "/handoff F-1 accept").await;
    s.luis.wait_for_reply(&s.bot_user, &accept).await;
    let incident_room = s.join_incident_room().await;
    let first_note = s
        .luis
        .send_text(&incident_room, "/note antes de reiniciar")
        .await;
    s.luis.wait_for_reply(&s.bot_user, &first_note).await;

    // Two commands while the bot is down: one in the encrypted incident room
    // and one in the IR room.
    bot.stop();
    let missed_note = s
        .luis
        .send_text(&incident_room, "/note enviada con el bot parado")
        .await;
    let missed_status = s.marta.send_text(&s.ir, "/status all").await;

    let mut bot = BotProcess::start(&s.config_path, &s.log_path);
    let note_reply = s.luis.wait_for_reply(&s.bot_user, &missed_note).await;
    assert_notice_with_html(&note_reply);
    let status_reply = s.marta.wait_for_reply(&s.bot_user, &missed_status).await;
    assert!(
        status_reply.body().contains(&incident_id()),
        "{}",
        status_reply.body()
    );

    // After the restart it still reads and writes in the encrypted room.
    let after = s.luis.send_text(&incident_room, "/status").await;
    let after_reply = s.luis.wait_for_reply(&s.bot_user, &after).await;
    assert!(
        after_reply.body().contains(&incident_id()),
        "{}",
        after_reply.body()
    );
    assert!(
        after_reply.body().contains("enviada con el bot parado"),
        "the note sent while the bot was down is missing from the timeline: {}",
        after_reply.body()
    );

    tokio::time::sleep(QUIET_PERIOD).await;
    bot.assert_running();
    for (client, command, what) in [
        (&s.ana, &finding, "/finding"),
        (&s.luis, &accept, "/handoff F-1 accept"),
        (&s.luis, &first_note, "the note before the restart"),
        (&s.luis, &missed_note, "the note sent while down"),
        (&s.marta, &missed_status, "/status all sent while down"),
        (&s.luis, &after, "/status after the restart"),
    ] {
        let replies = s.replies_to(client, command);
        assert_eq!(replies.len(), 1, "replies to {what}: {replies:#?}");
    }
    let cards = s
        .luis
        .messages()
        .into_iter()
        .filter(|m| {
            m.room_id == s.ir && m.sender == s.bot_user && m.body().contains("Traspaso a IR")
        })
        .count();
    assert_eq!(cards, 1, "handoff cards in the IR room");
    bot.stop();
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redelivered_event_has_one_effect() {
    let s = Scenario::new().await;
    let mut bot = s.start_bot().await;
    bot.stop();

    // Ana's command arrives three times: twice handed to the app directly,
    // as a redelivering adapter would, and once more through the bot's own
    // sync when it starts again from its saved sync token.
    let text = "/finding Beacon a 198.51.100.7\nseveridad: alta";
    let command = s.ana.send_text(&s.hunting, text).await;
    let config = Config::load(Some(&s.config_path)).expect("bot config loads");
    let store = Store::connect(&s.database_url)
        .await
        .expect("open the bot database");
    store.migrate().await.expect("migrate the bot database");
    let app = App::new(config, store.clone()).expect("app starts");
    let event = ChatEvent {
        platform: "matrix".into(),
        event_id: command.to_string(),
        room_id: s.hunting.to_string(),
        sender: s.ana.user_id().to_string(),
        text: text.into(),
        attachments: Vec::new(),
        received_at: Utc::now(),
    };
    assert_eq!(app.handle(event.clone()).await.unwrap(), Outcome::Done);
    assert_eq!(app.handle(event).await.unwrap(), Outcome::Duplicate);
    store.close().await;

    let mut bot = BotProcess::start(&s.config_path, &s.log_path);
    let reply = s.ana.wait_for_reply(&s.bot_user, &command).await;
    assert!(reply.body().contains("F-1"), "{}", reply.body());
    tokio::time::sleep(QUIET_PERIOD).await;
    bot.assert_running();

    let replies = s.replies_to(&s.ana, &command);
    assert_eq!(
        replies.len(),
        1,
        "replies to the redelivered finding: {replies:#?}"
    );
    let second_findings: Vec<Received> = s
        .ana
        .messages()
        .into_iter()
        .filter(|m| m.room_id == s.hunting && m.sender == s.bot_user && m.body().contains("F-2"))
        .collect();
    assert!(
        second_findings.is_empty(),
        "a second finding was created: {second_findings:#?}"
    );
    bot.stop();
    s.finish().await;
}

/// A ✅ from a responder on the handoff card accepts the handoff like
/// `/handoff F-n accept`; the same reaction from a lead changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn responder_reaction_accepts_handoff() {
    let s = Scenario::new().await;
    let mut bot = s.start_bot().await;

    let finding = s
        .ana
        .send_text(
            &s.hunting,
            "/finding Beacon a 198.51.100.7\nseveridad: alta",
        )
        .await;
    s.ana.wait_for_reply(&s.bot_user, &finding).await;
    let card = s
        .luis
        .wait_for("the handoff card in the IR room", REPLY_TIMEOUT, |m| {
            m.room_id == s.ir && m.sender == s.bot_user && m.body().contains("Traspaso a IR")
        })
        .await;

    // Marta is a lead, not a responder: her ✅ is ignored. Luis's ✅ comes
    // with the emoji variation selector, as many clients send it.
    let by_lead = s.marta.react(&s.ir, &card.event_id, "\u{2705}").await;
    let by_responder = s
        .luis
        .react(&s.ir, &card.event_id, "\u{2705}\u{fe0f}")
        .await;
    let accepted = s.luis.wait_for_reply(&s.bot_user, &by_responder).await;
    assert_notice_with_html(&accepted);
    assert!(
        accepted.body().contains("aceptó el traspaso de F-1")
            && accepted.body().contains(&incident_id()),
        "{}",
        accepted.body()
    );
    let incident_room = s.join_incident_room().await;
    assert_eq!(
        s.incident_members(&incident_room).await,
        s.expected_incident_members(),
        "incident room members"
    );

    // A second ✅ from Luis on the same card opens nothing new.
    let again = s.luis.react(&s.ir, &card.event_id, "\u{2705}").await;
    let decided = s.luis.wait_for_reply(&s.bot_user, &again).await;
    assert!(decided.body().contains("ya está"), "{}", decided.body());
    tokio::time::sleep(QUIET_PERIOD).await;
    bot.assert_running();
    assert!(
        s.replies_to(&s.marta, &by_lead).is_empty(),
        "the bot answered the lead's reaction"
    );
    assert_eq!(s.replies_to(&s.luis, &by_responder).len(), 1);
    let second_incident = format!("INC-{}-0002", Utc::now().year());
    assert!(
        s.luis
            .messages()
            .iter()
            .all(|m| !m.body().contains(&second_incident)),
        "a second incident was opened"
    );
    bot.stop();
    s.finish().await;
}

/// The bot aborts after matrix-sdk has taken a command from the sync and
/// before the app recorded it (a crash hook, `HUNTBRIDGE_TEST_ABORT_ON_COMMAND`).
/// After the restart the command is read back from the room history and
/// gets one reply, before a command sent while the bot was down.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_lost_command_replied_after_restart() {
    let s = Scenario::new().await;
    let mut bot = s.start_bot().await;
    let first = s
        .ana
        .send_text(&s.hunting, "/finding Primer beacon a 198.51.100.7")
        .await;
    s.ana.wait_for_reply(&s.bot_user, &first).await;
    bot.stop();

    let marker = "caida-de-prueba";
    let mut bot = BotProcess::start_with_env(
        &s.config_path,
        &s.log_path,
        &[("HUNTBRIDGE_TEST_ABORT_ON_COMMAND", marker)],
    );
    let lost = s
        .ana
        .send_text(
            &s.hunting,
            &format!("/finding Segundo beacon {marker} a 203.0.113.9\nseveridad: alta"),
        )
        .await;
    let status = bot
        .wait_exit(REPLY_TIMEOUT)
        .expect("the bot did not abort on the marked command");
    assert!(!status.success(), "the bot exited cleanly: {status}");
    let while_down = s
        .ana
        .send_text(&s.hunting, "/finding Tercer beacon a 192.0.2.44")
        .await;

    let mut bot = BotProcess::start(&s.config_path, &s.log_path);
    let lost_reply = s.ana.wait_for_reply(&s.bot_user, &lost).await;
    assert!(lost_reply.body().contains("F-2"), "{}", lost_reply.body());
    let down_reply = s.ana.wait_for_reply(&s.bot_user, &while_down).await;
    assert!(down_reply.body().contains("F-3"), "{}", down_reply.body());

    tokio::time::sleep(QUIET_PERIOD).await;
    bot.assert_running();
    for (command, what) in [
        (&first, "the finding before the crash"),
        (&lost, "the finding that crashed the bot"),
        (&while_down, "the finding sent while the bot was down"),
    ] {
        let replies = s.replies_to(&s.ana, command);
        assert_eq!(replies.len(), 1, "replies to {what}: {replies:#?}");
    }
    bot.stop();
    s.finish().await;
}

/// Returns the first finding ID (`F-n`) in `text`.
fn first_finding_number(text: &str) -> Option<u32> {
    text.match_indices("F-").find_map(|(start, _)| {
        let digits: String = text[start + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cut_short_sync_keeps_command_order() {
    let s = Scenario::new().await;
    // With three events per room and sync, seven commands sent while the
    // bot is paused come back in a response that Synapse cuts short.
    let mut bot = BotProcess::start_with_env(
        &s.config_path,
        &s.log_path,
        &[(huntbridge::chat::matrix::SYNC_TIMELINE_LIMIT_ENV, "3")],
    );
    s.ana.wait_for_member(&s.hunting, &s.bot_user).await;
    s.luis.wait_for_member(&s.ir, &s.bot_user).await;
    let warm_up = s.ana.send_text(&s.hunting, "/status").await;
    s.ana.wait_for_reply(&s.bot_user, &warm_up).await;

    bot.pause();
    let mut commands = Vec::new();
    for n in 1..=7 {
        let command = s
            .ana
            .send_text(
                &s.hunting,
                &format!("/finding Orden {n} hacia 198.51.100.{n}"),
            )
            .await;
        commands.push(command);
    }
    bot.resume();

    // Findings are numbered in the order they are handled.
    for (index, command) in commands.iter().enumerate() {
        let reply = s.ana.wait_for_reply(&s.bot_user, command).await;
        assert_eq!(
            first_finding_number(reply.body()),
            Some(index as u32 + 1),
            "reply to command {} of 7: {}",
            index + 1,
            reply.body()
        );
    }
    assert!(
        bot.log().contains("catch-up found unhandled events"),
        "the sync was not cut short, so the test did not reach the gap"
    );

    tokio::time::sleep(QUIET_PERIOD).await;
    bot.assert_running();
    for (index, command) in commands.iter().enumerate() {
        let replies = s.replies_to(&s.ana, command);
        assert_eq!(
            replies.len(),
            1,
            "replies to command {}: {replies:#?}",
            index + 1
        );
    }
    bot.stop();
    s.finish().await;
}
