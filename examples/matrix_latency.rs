//! Benchmark harness: `/finding` reply latency and memory of `huntbridge run`
//! on a local Synapse, next to the round trip of a minimal echo client.
//!
//! scripts/bench-matrix.sh starts Synapse on 127.0.0.1, builds this example
//! and the bot in release mode, and runs it. By hand, with a Synapse from
//! `HUNTBRIDGE_SYNAPSE_DIR=target/bench-synapse scripts/synapse.sh start`:
//!
//!     cargo run --release --example matrix_latency -- --env target/bench-synapse/env
//!
//! One run, on one homeserver:
//!
//! 1. Ana (the tester, a matrix-sdk client) creates an unencrypted hunting
//!    room and an IR room with the bot invited, and an echo room with Luis.
//! 2. The bot starts (`huntbridge run --config FILE`, fresh database and
//!    store) and joins. Once it has joined and been quiet for a few seconds,
//!    its VmRSS and VmHWM are read from /proc/PID/status (idle memory).
//! 3. Floor: Luis runs a minimal echo client that replies to every text message
//!    from Ana in the echo room with an `m.notice` replying to it. Ana sends
//!    `--commands` finding messages at `--rate` per second.
//! 4. Bot: Ana sends the same number of `/finding` commands at the same rate
//!    in the hunting room, while VmRSS is sampled every 50 ms.
//!
//! Each latency is the time from the start of Ana's send request to the
//! moment Ana's own sync delivers the `m.notice` that replies to that event.
//! Ana and Luis sync with the bot's own loop
//! (`huntbridge::chat::matrix::sync_loop`), so all three read new events
//! the same way.
//! Every wait has a timeout, so the harness stops by itself. It refuses a
//! homeserver that is not on the loopback interface.

// matrix-sdk's futures are deeply nested: spawning the sync loop overflows
// the default limit of 128 while proving them `Send`.
#![recursion_limit = "256"]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Utc};
use clap::Parser;
use huntbridge::chat::matrix::sync_loop;
use huntbridge::logging::RUN_LOG_FILTER;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::room::create_room::v3::{
    Request as CreateRoomRequest, RoomPreset,
};
use matrix_sdk::ruma::api::client::sync::sync_events;
use matrix_sdk::ruma::events::relation::{InReplyTo, Reply};
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use matrix_sdk::{Client, Room, RoomState};

/// The shipped case whose first message is the finding the tester sends.
const CASE_CONVERSATION: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/cases/regsvr32-squiblydoo/conversation.chat"
);

/// Maximum wait for one step of the setup (login, join, room visible).
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Maximum wait for missing replies after the last command was sent.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Maximum timeline events per room in one sync response of the tester and
/// the echo client, far above what arrives between two syncs at 20 messages/s.
const TIMELINE_LIMIT: u32 = 1000;

/// Time the bot gets after joining before its idle memory is read.
const IDLE_SETTLE: Duration = Duration::from_secs(3);

/// Interval of the VmRSS samples during the load.
const RSS_SAMPLE_INTERVAL: Duration = Duration::from_millis(50);

#[derive(Parser, Debug)]
#[command(about = "Measures /finding reply latency and RSS of huntbridge on a local Synapse")]
struct Args {
    /// Env file written by `scripts/synapse.sh start` (homeserver URL and accounts).
    #[arg(long, default_value = "target/bench-synapse/env")]
    env: PathBuf,

    /// The huntbridge binary. Default: `huntbridge` in the folder above this
    /// example's executable (target/release for a release build).
    #[arg(long)]
    bot: Option<PathBuf>,

    /// Commands sent in each phase (floor and bot).
    #[arg(long, default_value_t = 200)]
    commands: usize,

    /// Commands sent per second, at fixed intervals.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,

    /// Folder for the bot's configuration, database, store, log and the
    /// results (results.json). Created if missing; must be empty.
    #[arg(long, default_value = "target/bench-matrix")]
    out: PathBuf,

    /// The echo client also posts a notice in a second room for each message,
    /// as the bot posts an IR handoff card for each finding: a floor with
    /// the bot's number of events per message.
    #[arg(long)]
    echo_second_room: bool,

    /// Size in bytes of each echo notice's plain body (and of its HTML
    /// body), filled with words. 0 sends the short body "echo". One handoff
    /// card of the bot measured 1,981 bytes of plain body and 2,393 of HTML.
    #[arg(long, default_value_t = 0)]
    echo_body_bytes: usize,

    /// Measures the echo floor again after the bot phase, to show whether
    /// the homeserver slowed down during the run (its database grows).
    #[arg(long)]
    floor_after: bool,

    /// Log filter for the bot (`HUNTBRIDGE_LOG`). The default is the filter
    /// of `huntbridge run` with the bot's own debug lines, which time each
    /// command inside the bot.
    #[arg(long)]
    bot_log: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.commands > 0, "--commands must be at least 1");
    ensure!(
        args.rate > 0.0 && args.rate.is_finite(),
        "--rate must be a positive number of commands per second"
    );
    if args.commands < 200 {
        eprintln!(
            "note: {} commands per phase; results with fewer than 200 are a trial",
            args.commands
        );
    }
    let _ = rustls::crypto::ring::default_provider().install_default();

    let env = read_env(&args.env)?;
    let url = env
        .get("HUNTBRIDGE_TEST_MATRIX_URL")
        .with_context(|| {
            format!(
                "HUNTBRIDGE_TEST_MATRIX_URL is missing from {}",
                args.env.display()
            )
        })?
        .clone();
    check_loopback(&url)?;
    let account = |name: &str| -> anyhow::Result<(OwnedUserId, String)> {
        let upper = name.to_uppercase();
        let user = env
            .get(&format!("HUNTBRIDGE_TEST_MATRIX_{upper}_USER"))
            .with_context(|| format!("no user for {name} in {}", args.env.display()))?;
        let password = env
            .get(&format!("HUNTBRIDGE_TEST_MATRIX_{upper}_PASSWORD"))
            .with_context(|| format!("no password for {name} in {}", args.env.display()))?;
        Ok((UserId::parse(user.as_str())?, password.clone()))
    };
    let (bot_user, bot_password) = account("huntbridge")?;
    let (tester_user, tester_password) = account("ana")?;
    let (echo_user, echo_password) = account("luis")?;

    let bot_binary = match &args.bot {
        Some(path) => path.clone(),
        None => default_bot_binary()?,
    };
    ensure!(
        bot_binary.is_file(),
        "bot binary {} not found; build it with `cargo build --release --bin huntbridge` or pass --bot",
        bot_binary.display()
    );
    prepare_out_folder(&args.out)?;
    let finding = FindingTemplate::load(Path::new(CASE_CONVERSATION))?;

    eprintln!("==> logging in the tester and the echo client on {url}");
    let tester = Tester::login(&url, &tester_user, &tester_password, "bench tester").await?;
    let echo = login(&url, &echo_user, &echo_password, "bench echo").await?;

    let hunting = tester.create_room("bench-hunting", &[&bot_user]).await?;
    let ir = tester.create_room("bench-ir", &[&bot_user]).await?;
    let echo_room = tester.create_room("bench-echo", &[&echo_user]).await?;
    join_when_invited(&echo, &echo_room).await?;
    let echo_second_room = if args.echo_second_room {
        let room = tester
            .create_room("bench-echo-second", &[&echo_user])
            .await?;
        join_when_invited(&echo, &room).await?;
        Some(room)
    } else {
        None
    };
    let echo_sync = start_echo(
        echo.clone(),
        echo_room.clone(),
        echo_second_room,
        tester_user.clone(),
        args.echo_body_bytes,
    )
    .await?;
    tester.wait_for_member(&echo_room, &echo_user).await?;

    let config_path = write_bot_config(
        &args.out,
        &url,
        &bot_user,
        &bot_password,
        &tester_user,
        &hunting,
        &ir,
    )?;
    let log_path = args.out.join("huntbridge.log");
    eprintln!(
        "==> starting {} (log: {})",
        bot_binary.display(),
        log_path.display()
    );
    let bot_log = args
        .bot_log
        .clone()
        .unwrap_or_else(|| format!("{RUN_LOG_FILTER},huntbridge=debug"));
    let mut bot = BotProcess::start(&bot_binary, &config_path, &log_path, &bot_log)?;
    tester.wait_for_member(&hunting, &bot_user).await?;
    tester.wait_for_member(&ir, &bot_user).await?;
    tokio::time::sleep(IDLE_SETTLE).await;
    bot.check_running()?;
    let idle = read_memory(bot.pid())?;
    eprintln!(
        "==> bot idle: VmRSS {:.1} MiB (RssAnon {:.1} MiB, RssFile {:.1} MiB), VmHWM {:.1} MiB",
        mib(idle.rss_kib),
        mib(idle.anon_kib),
        mib(idle.file_kib),
        mib(idle.hwm_kib)
    );

    let finding = &finding;
    let echo_phase = |name: &'static str, suffix: &'static str| {
        eprintln!(
            "==> {name}: {} messages at {}/s to the echo client",
            args.commands, args.rate
        );
        tester.run_phase(&echo_room, &echo_user, args.commands, args.rate, move |n| {
            finding.command(&format!("{suffix} {n}"))
        })
    };

    let floor = echo_phase("floor", "echo").await?;
    floor.print_summary("echo floor");

    eprintln!(
        "==> bot: {} /finding commands at {}/s",
        args.commands, args.rate
    );
    let sampler = RssSampler::start(bot.pid());
    let bot_phase = tester
        .run_phase(&hunting, &bot_user, args.commands, args.rate, |n| {
            finding.command(&format!("bench {n}"))
        })
        .await?;
    let load_peak_rss_kib = sampler.stop().await;
    bot.check_running()?;
    let after_load = read_memory(bot.pid())?;
    bot_phase.print_summary("bot");
    let floor_after = if args.floor_after {
        let phase = echo_phase("floor after the bot", "echo after").await?;
        phase.print_summary("echo floor after the bot");
        Some(phase)
    } else {
        None
    };

    echo_sync.abort();
    bot.stop();
    let breakdown = bot_log_breakdown(&bot.log(), &bot_phase);

    let results = Results {
        date: Utc::now(),
        homeserver: url,
        commands: args.commands,
        rate_per_second: args.rate,
        echo_second_room: args.echo_second_room,
        echo_body_bytes: args.echo_body_bytes,
        floor: floor.stats(),
        floor_after: floor_after.as_ref().map(Phase::stats),
        bot: bot_phase.stats(),
        idle,
        load_peak_rss_kib,
        after_load,
        breakdown,
        floor_messages: floor.messages_json(),
        bot_messages: bot_phase.messages_json(),
    };
    results.print();
    let results_path = args.out.join("results.json");
    std::fs::write(
        &results_path,
        serde_json::to_string_pretty(&results.to_json())?,
    )
    .with_context(|| format!("failed to write {}", results_path.display()))?;
    eprintln!("==> results written to {}", results_path.display());

    if let Err(error) = tester.client.matrix_auth().logout().await {
        eprintln!("tester failed to log out: {error}");
    }
    if let Err(error) = echo.matrix_auth().logout().await {
        eprintln!("echo client failed to log out: {error}");
    }
    ensure!(
        floor.missing() == 0 && bot_phase.missing() == 0,
        "{} echo replies and {} bot replies did not arrive within {DRAIN_TIMEOUT:?}",
        floor.missing(),
        bot_phase.missing()
    );
    Ok(())
}

/// Reads `KEY=value` lines; variables named `HUNTBRIDGE_TEST_MATRIX_*` in
/// the process environment override the file.
fn read_env(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "failed to read {}; start Synapse with \
             `HUNTBRIDGE_SYNAPSE_DIR=target/bench-synapse scripts/synapse.sh start` \
             or run scripts/bench-matrix.sh",
            path.display()
        )
    })?;
    let mut vars: BTreeMap<String, String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    for (key, value) in std::env::vars() {
        if key.starts_with("HUNTBRIDGE_TEST_MATRIX_") {
            vars.insert(key, value);
        }
    }
    Ok(vars)
}

/// Rejects a homeserver URL whose host is not a loopback address, so the
/// harness never sends load to a real server.
fn check_loopback(url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("invalid homeserver URL {url}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    ensure!(
        loopback,
        "homeserver {url} is not on the loopback interface; this harness only runs against a \
         local Synapse"
    );
    Ok(())
}

fn default_bot_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("failed to find this executable's path")?;
    // target/<profile>/examples/matrix_latency -> target/<profile>/huntbridge
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("unexpected executable path; pass --bot")?;
    Ok(profile_dir.join("huntbridge"))
}

fn prepare_out_folder(out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("failed to create {}", out.display()))?;
    let not_empty = std::fs::read_dir(out)?.next().is_some();
    ensure!(
        !not_empty,
        "{} is not empty; remove it or pass another --out folder",
        out.display()
    );
    Ok(())
}

/// The first message of the shipped case, a `/finding` with a title line.
struct FindingTemplate {
    title: String,
    rest: String,
}

impl FindingTemplate {
    fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        let mut lines = text.lines().skip_while(|line| !line.starts_with("--- "));
        lines.next();
        let message: Vec<&str> = lines.take_while(|line| !line.starts_with("--- ")).collect();
        let Some((first, rest)) = message.split_first() else {
            bail!("{} has no first message", path.display());
        };
        let Some(title) = first.strip_prefix("/finding ") else {
            bail!("the first message of {} is not a /finding", path.display());
        };
        Ok(Self {
            title: title.to_string(),
            rest: rest.join("\n").trim_end().to_string(),
        })
    }

    /// Returns the finding with `suffix` appended to its title.
    fn command(&self, suffix: &str) -> String {
        format!("/finding {} ({suffix})\n{}", self.title, self.rest)
    }
}

async fn login(url: &str, user: &UserId, password: &str, device: &str) -> anyhow::Result<Client> {
    let client = Client::builder().homeserver_url(url).build().await?;
    client
        .matrix_auth()
        .login_username(user, password)
        .initial_device_display_name(device)
        .await
        .with_context(|| format!("{user} failed to log in"))?;
    Ok(client)
}

/// Syncs once (to skip history) and then in a background task.
async fn start_sync(client: Client) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let first = client.sync_once(SyncSettings::default()).await?;
    // Without a filter, Synapse (1.163.2, synapse/api/filtering.py) sends at
    // most 10 timeline events per room in one sync response and marks the timeline limited, so replies that
    // arrive while the tester's sync falls behind are never seen.
    let mut filter = FilterDefinition::default();
    filter.room.timeline.limit = Some(TIMELINE_LIMIT.into());
    let settings = SyncSettings::default()
        .filter(sync_events::v3::Filter::FilterDefinition(filter))
        .token(first.next_batch)
        .timeout(Duration::from_secs(10));
    // The bot's own sync loop: matrix-sdk's `Client::sync` waits a second
    // between requests that start less than a second apart, which would put
    // up to a second of the tester's and the echo client's own waiting into
    // every measurement.
    Ok(tokio::spawn(async move {
        if let Err(error) = sync_loop::run(&client, settings, |_| async {}).await {
            eprintln!("sync loop ended: {error:#}");
        }
    }))
}

async fn join_when_invited(client: &Client, room_id: &RoomId) -> anyhow::Result<()> {
    let deadline = Instant::now() + SETUP_TIMEOUT;
    loop {
        match client.join_room_by_id(room_id).await {
            Ok(_) => return Ok(()),
            Err(error) if Instant::now() < deadline => {
                eprintln!("join of {room_id} failed, retrying: {error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => bail!("failed to join {room_id}: {error}"),
        }
    }
}

/// Starts the echo client: every text message from `sender` in `room_id`
/// gets an `m.notice` reply, sent from its own task so replies never wait
/// for each other. With `second_room`, each message also gets a notice
/// there, sent at the same time as the reply.
async fn start_echo(
    client: Client,
    room_id: OwnedRoomId,
    second_room: Option<OwnedRoomId>,
    sender: OwnedUserId,
    body_bytes: usize,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let notice = echo_notice(body_bytes);
    client.add_event_handler(move |event: OriginalSyncRoomMessageEvent, room: Room| {
        let room_id = room_id.clone();
        let second_room = second_room.clone();
        let sender = sender.clone();
        let notice = notice.clone();
        async move {
            if room.room_id() != room_id
                || event.sender != sender
                || !matches!(event.content.msgtype, MessageType::Text(_))
            {
                return;
            }
            let mut reply = notice.clone();
            reply.relates_to = Some(Relation::Reply(Reply::new(InReplyTo::new(
                event.event_id.clone(),
            ))));
            if let Some(second) = second_room.and_then(|id| room.client().get_room(&id)) {
                let event_id = event.event_id.clone();
                tokio::spawn(async move {
                    if let Err(error) = second.send(notice).await {
                        eprintln!("echo notice for {event_id} failed: {error}");
                    }
                });
            }
            tokio::spawn(async move {
                if let Err(error) = room.send(reply).await {
                    eprintln!("echo reply to {} failed: {error}", event.event_id);
                }
            });
        }
    });
    start_sync(client).await
}

/// Builds the echo client's notice: the plain body "echo" for 0 bytes,
/// otherwise `bytes` bytes of words as the plain body and the same text as
/// the HTML body, as the bot sends both.
fn echo_notice(bytes: usize) -> RoomMessageEventContent {
    if bytes == 0 {
        return RoomMessageEventContent::notice_plain("echo");
    }
    const WORDS: &str = "regsvr32 scrobj.dll beacon 198.51.100.7 persistence T1218.010 ";
    let body: String = WORDS.chars().cycle().take(bytes).collect();
    RoomMessageEventContent::notice_html(&body, format!("<p>{body}</p>"))
}

/// When the tester's sync delivered each reply, by the event it replies to.
type ReplyTimes = Arc<Mutex<HashMap<OwnedEventId, SeenReply>>>;

/// The homeserver's timestamp (`origin_server_ts`, ms) of each text message
/// the tester's sync delivered, by event ID.
type ServerTimes = Arc<Mutex<HashMap<OwnedEventId, u64>>>;

/// A reply as the tester's sync delivered it.
struct SeenReply {
    sender: OwnedUserId,
    event_id: OwnedEventId,
    seen: Instant,
    /// The homeserver's timestamp of the reply, in ms.
    server_ts: u64,
}

/// Ana: sends the load and records when replies arrive in her sync.
struct Tester {
    client: Client,
    replies: ReplyTimes,
    sent_server_times: ServerTimes,
    _sync: tokio::task::JoinHandle<()>,
}

impl Tester {
    async fn login(url: &str, user: &UserId, password: &str, device: &str) -> anyhow::Result<Self> {
        let client = login(url, user, password, device).await?;
        let replies: ReplyTimes = Arc::default();
        let sent_server_times: ServerTimes = Arc::default();
        let recorded = replies.clone();
        let recorded_sent = sent_server_times.clone();
        client.add_event_handler(move |event: OriginalSyncRoomMessageEvent| {
            let seen = Instant::now();
            let recorded = recorded.clone();
            let recorded_sent = recorded_sent.clone();
            async move {
                let server_ts: u64 = event.origin_server_ts.get().into();
                if matches!(event.content.msgtype, MessageType::Text(_)) {
                    recorded_sent
                        .lock()
                        .unwrap()
                        .insert(event.event_id, server_ts);
                    return;
                }
                if !matches!(event.content.msgtype, MessageType::Notice(_)) {
                    return;
                }
                if let Some(Relation::Reply(reply)) = event.content.relates_to {
                    recorded
                        .lock()
                        .unwrap()
                        .entry(reply.in_reply_to.event_id)
                        .or_insert(SeenReply {
                            sender: event.sender,
                            event_id: event.event_id,
                            seen,
                            server_ts,
                        });
                }
            }
        });
        let sync = start_sync(client.clone()).await?;
        Ok(Self {
            client,
            replies,
            sent_server_times,
            _sync: sync,
        })
    }

    async fn create_room(&self, name: &str, invite: &[&UserId]) -> anyhow::Result<OwnedRoomId> {
        let mut request = CreateRoomRequest::new();
        request.name = Some(name.to_string());
        request.preset = Some(RoomPreset::PrivateChat);
        request.invite = invite.iter().map(|user| (*user).to_owned()).collect();
        let room = self
            .client
            .create_room(request)
            .await
            .with_context(|| format!("failed to create room {name}"))?;
        Ok(room.room_id().to_owned())
    }

    async fn room(&self, room_id: &RoomId) -> anyhow::Result<Room> {
        let deadline = Instant::now() + SETUP_TIMEOUT;
        loop {
            if let Some(room) = self.client.get_room(room_id)
                && room.state() == RoomState::Joined
            {
                return Ok(room);
            }
            ensure!(
                Instant::now() < deadline,
                "the tester's sync never showed room {room_id}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_for_member(&self, room_id: &RoomId, user: &UserId) -> anyhow::Result<()> {
        let room = self.room(room_id).await?;
        let deadline = Instant::now() + SETUP_TIMEOUT;
        loop {
            if let Ok(Some(member)) = room.get_member_no_sync(user).await
                && *member.membership() == MembershipState::Join
            {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "{user} did not join {room_id} within {SETUP_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `count` messages to `room_id` at `rate` per second, on a fixed
    /// schedule that does not wait for earlier sends, then waits up to
    /// `DRAIN_TIMEOUT` for the replies from `responder`.
    async fn run_phase(
        &self,
        room_id: &RoomId,
        responder: &UserId,
        count: usize,
        rate: f64,
        body: impl Fn(usize) -> String,
    ) -> anyhow::Result<Phase> {
        let room = self.room(room_id).await?;
        let period = Duration::from_secs_f64(1.0 / rate);
        let start = tokio::time::Instant::now();
        let mut sends = Vec::with_capacity(count);
        for n in 0..count {
            tokio::time::sleep_until(start + period * n as u32).await;
            let room = room.clone();
            let content = RoomMessageEventContent::text_plain(body(n + 1));
            sends.push(tokio::spawn(async move {
                let started = Instant::now();
                let started_wall = SystemTime::now();
                let result = room.send(content).await;
                (started, started_wall, Instant::now(), result)
            }));
        }
        let send_span = start.elapsed();

        let mut sent = Vec::with_capacity(count);
        for task in sends {
            let (started, started_wall, responded, result) = task.await?;
            let event_id = result
                .context("sending a message failed")?
                .response
                .event_id;
            sent.push(Sent {
                event_id,
                started,
                started_wall,
                send_request: responded - started,
            });
        }

        let deadline = Instant::now() + DRAIN_TIMEOUT;
        loop {
            let answered = {
                let replies = self.replies.lock().unwrap();
                sent.iter()
                    .filter(|s| {
                        replies
                            .get(&s.event_id)
                            .is_some_and(|reply| reply.sender == responder)
                    })
                    .count()
            };
            if answered == sent.len() || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // The tester's own messages come back in the same syncs as the
        // replies, or earlier.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let all_known = {
                let known = self.sent_server_times.lock().unwrap();
                sent.iter().all(|s| known.contains_key(&s.event_id))
            };
            if all_known {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let server_times: Vec<(Option<u64>, Option<u64>)> = {
            let replies = self.replies.lock().unwrap();
            let sent_times = self.sent_server_times.lock().unwrap();
            sent.iter()
                .map(|s| {
                    let reply = replies
                        .get(&s.event_id)
                        .filter(|reply| reply.sender == responder);
                    (
                        sent_times.get(&s.event_id).copied(),
                        reply.map(|reply| reply.server_ts),
                    )
                })
                .collect()
        };
        let server_latencies = server_times
            .iter()
            .map(|(sent_ts, reply_ts)| {
                Some(Duration::from_millis(
                    (*reply_ts)?.saturating_sub((*sent_ts)?),
                ))
            })
            .collect();
        let replies = self.replies.lock().unwrap();
        let replies_to_sent: Vec<Option<(OwnedEventId, Duration)>> = sent
            .iter()
            .map(|s| {
                replies
                    .get(&s.event_id)
                    .filter(|reply| reply.sender == responder)
                    .map(|reply| (reply.event_id.clone(), reply.seen - s.started))
            })
            .collect();
        let latencies = replies_to_sent
            .iter()
            .map(|reply| reply.as_ref().map(|(_, latency)| *latency))
            .collect();
        let reply_ids = replies_to_sent
            .into_iter()
            .map(|reply| reply.map(|(event_id, _)| event_id))
            .collect();
        Ok(Phase {
            sent,
            latencies,
            server_times,
            server_latencies,
            reply_ids,
            send_span,
        })
    }
}

/// One message the tester sent.
struct Sent {
    event_id: OwnedEventId,
    started: Instant,
    /// Wall-clock start, to line up with the bot's log timestamps.
    started_wall: SystemTime,
    /// Duration of the send request (until Synapse returned the event ID).
    send_request: Duration,
}

/// The messages of one phase and their reply latencies (None: no reply).
struct Phase {
    sent: Vec<Sent>,
    latencies: Vec<Option<Duration>>,
    /// Time from each message to its reply by the homeserver's timestamps
    /// (`origin_server_ts`): the tester's sync is not part of it.
    server_latencies: Vec<Option<Duration>>,
    /// The homeserver's timestamps (ms) of each message and of its reply.
    server_times: Vec<(Option<u64>, Option<u64>)>,
    /// The reply to each message, when one arrived.
    reply_ids: Vec<Option<OwnedEventId>>,
    /// Time from the first to the last scheduled send.
    send_span: Duration,
}

impl Phase {
    fn missing(&self) -> usize {
        self.latencies.iter().filter(|l| l.is_none()).count()
    }

    fn stats(&self) -> LatencyStats {
        let mut latencies: Vec<Duration> = self.latencies.iter().flatten().copied().collect();
        latencies.sort();
        let mut send_requests: Vec<Duration> = self.sent.iter().map(|s| s.send_request).collect();
        send_requests.sort();
        let mut server: Vec<Duration> = self.server_latencies.iter().flatten().copied().collect();
        server.sort();
        LatencyStats {
            sent: self.sent.len(),
            replied: latencies.len(),
            achieved_rate: (self.sent.len().saturating_sub(1)) as f64
                / self.send_span.as_secs_f64().max(f64::EPSILON),
            p50: percentile(&latencies, 50.0),
            p99: percentile(&latencies, 99.0),
            max: latencies.last().copied(),
            send_request_p50: percentile(&send_requests, 50.0),
            server_p50: percentile(&server, 50.0),
            server_p99: percentile(&server, 99.0),
        }
    }

    /// Returns one record per message, in sending order: its event ID, the
    /// send request's duration, the reply's event ID, the latency and the
    /// homeserver's timestamps of both (null when no reply arrived).
    fn messages_json(&self) -> serde_json::Value {
        let records = self
            .sent
            .iter()
            .zip(&self.latencies)
            .zip(&self.reply_ids)
            .zip(&self.server_times)
            .map(|(((sent, latency), reply_id), (sent_ts, reply_ts))| {
                serde_json::json!({
                    "event_id": sent.event_id.as_str(),
                    "send_request_ms": as_ms(sent.send_request),
                    "reply_event_id": reply_id.as_ref().map(|id| id.as_str()),
                    "latency_ms": latency.map(as_ms),
                    "server_ts": sent_ts,
                    "reply_server_ts": reply_ts,
                })
            })
            .collect();
        serde_json::Value::Array(records)
    }

    fn print_summary(&self, name: &str) {
        let stats = self.stats();
        eprintln!(
            "    {name}: {}/{} replies, p50 {}, p99 {}",
            stats.replied,
            stats.sent,
            millis(stats.p50),
            millis(stats.p99)
        );
    }
}

/// Returns the nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

struct LatencyStats {
    sent: usize,
    replied: usize,
    achieved_rate: f64,
    p50: Option<Duration>,
    p99: Option<Duration>,
    max: Option<Duration>,
    send_request_p50: Option<Duration>,
    /// Percentiles of the latencies by the homeserver's timestamps.
    server_p50: Option<Duration>,
    server_p99: Option<Duration>,
}

impl LatencyStats {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "sent": self.sent,
            "replied": self.replied,
            "achieved_rate_per_second": self.achieved_rate,
            "p50_ms": self.p50.map(as_ms),
            "p99_ms": self.p99.map(as_ms),
            "max_ms": self.max.map(as_ms),
            "send_request_p50_ms": self.send_request_p50.map(as_ms),
            "server_p50_ms": self.server_p50.map(as_ms),
            "server_p99_ms": self.server_p99.map(as_ms),
        })
    }
}

fn as_ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn millis(duration: Option<Duration>) -> String {
    duration.map_or_else(|| "n/a".into(), |d| format!("{:.1} ms", as_ms(d)))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[allow(clippy::too_many_arguments)]
fn write_bot_config(
    out: &Path,
    url: &str,
    bot_user: &UserId,
    bot_password: &str,
    tester: &UserId,
    hunting: &RoomId,
    ir: &RoomId,
) -> anyhow::Result<PathBuf> {
    let out = std::path::absolute(out)?;
    let config = format!(
        r#"lang = "es"

[database]
url = "sqlite://{database}?mode=rwc"

[rooms]
hunting = ["{hunting}"]
ir = ["{ir}"]
leads = ["{ir}"]

[users]
"{tester}" = ["hunter"]

[exports]
dir = "{exports}"

[matrix]
homeserver = "{url}"
user = "{bot_user}"
password = "{bot_password}"
device_name = "huntbridge bench"
store_path = "{store}"
command_prefixes = ["/", "!"]
"#,
        database = out.join("huntbridge.db").display(),
        exports = out.join("exports").display(),
        store = out.join("matrix-store").display(),
    );
    let path = out.join("huntbridge.toml");
    std::fs::write(&path, config).with_context(|| format!("failed to write {}", path.display()))?;
    Ok(path)
}

/// `huntbridge run --config FILE` as a child process; stopped on drop.
struct BotProcess {
    child: Option<Child>,
    pid: u32,
    log_path: PathBuf,
}

impl BotProcess {
    fn start(binary: &Path, config: &Path, log_path: &Path, filter: &str) -> anyhow::Result<Self> {
        let log = std::fs::File::create(log_path)
            .with_context(|| format!("failed to create {}", log_path.display()))?;
        let child = Command::new(binary)
            .arg("run")
            .arg("--config")
            .arg(config)
            .env("HUNTBRIDGE_LOG", filter)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("failed to start {}", binary.display()))?;
        Ok(Self {
            pid: child.id(),
            child: Some(child),
            log_path: log_path.to_path_buf(),
        })
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            bail!(
                "huntbridge exited with {status}; see {}",
                self.log_path.display()
            );
        }
        Ok(())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends SIGTERM and waits up to 10 s before killing the bot.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
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
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// VmRSS and VmHWM (peak resident set size since start) of a process, in KiB.
#[derive(Clone, Copy)]
struct Memory {
    rss_kib: u64,
    hwm_kib: u64,
    /// The anonymous part of VmRSS (heap, stacks) and the part backed by
    /// files (the binary's code and data, shared libraries).
    anon_kib: u64,
    file_kib: u64,
}

fn read_memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status =
        std::fs::read_to_string(&path).with_context(|| format!("failed to read {path}"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .with_context(|| format!("{name} missing from {path}"))?;
        let kib = line.trim().trim_end_matches("kB").trim();
        kib.parse()
            .with_context(|| format!("invalid {name} value {kib:?} in {path}"))
    };
    Ok(Memory {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
        anon_kib: field("RssAnon:")?,
        file_kib: field("RssFile:")?,
    })
}

/// Samples VmRSS until stopped and keeps the maximum.
struct RssSampler {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<u64>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut max_kib = 0;
            let mut interval = tokio::time::interval(RSS_SAMPLE_INTERVAL);
            loop {
                tokio::select! {
                    _ = interval.tick() => {
                        if let Ok(memory) = read_memory(pid) {
                            max_kib = max_kib.max(memory.rss_kib);
                        }
                    }
                    _ = stopped.wait_for(|stop| *stop) => return max_kib,
                }
            }
        });
        Self { stop, task }
    }

    async fn stop(self) -> u64 {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or(0)
    }
}

/// Time split of the bot phase, from the timestamps of the bot's debug
/// log: the command's send to "matrix event handled" (Synapse to the bot's
/// sync, parse, extract, store, outbox entry), that to "notice sent" (outbox
/// worker, render, send request), and that to the tester seeing the reply.
/// Medians over the commands whose log lines were found.
struct Breakdown {
    matched: usize,
    to_handled: Option<Duration>,
    handled_to_sent: Option<Duration>,
    sent_to_seen: Option<Duration>,
}

fn bot_log_breakdown(log: &str, phase: &Phase) -> Breakdown {
    // "2026-12-04T22:14:14.123456Z DEBUG target: message key=value ..."
    let timestamp = |line: &str| -> Option<SystemTime> {
        let first = line.split_whitespace().next()?;
        let parsed: DateTime<Utc> = first.parse().ok()?;
        Some(parsed.into())
    };

    let field = |line: &str, key: &str| -> Option<String> {
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(key))
            .map(str::to_string)
    };

    let mut handled = HashMap::new();
    let mut notices = HashMap::new();
    for line in log.lines() {
        if line.contains("matrix event handled") {
            if let (Some(at), Some(event)) = (timestamp(line), field(line, "event=")) {
                handled.insert(event, at);
            }
        } else if line.contains("notice sent")
            && let (Some(at), Some(event)) = (timestamp(line), field(line, "event="))
        {
            notices.insert(event, at);
        }
    }

    let mut to_handled = Vec::new();
    let mut handled_to_sent = Vec::new();
    let mut sent_to_seen = Vec::new();
    for ((sent, latency), reply_id) in phase
        .sent
        .iter()
        .zip(&phase.latencies)
        .zip(&phase.reply_ids)
    {
        let (Some(latency), Some(reply_id)) = (latency, reply_id) else {
            continue;
        };
        let (Some(at_handled), Some(at_sent)) = (
            handled.get(sent.event_id.as_str()),
            notices.get(reply_id.as_str()),
        ) else {
            continue;
        };
        let seen = sent.started_wall + *latency;
        // The bot's log and this process read the same system clock, so
        // differences stay within the clock's resolution (microseconds).
        let elapsed =
            |from: SystemTime, to: SystemTime| to.duration_since(from).unwrap_or_default();
        to_handled.push(elapsed(sent.started_wall, *at_handled));
        handled_to_sent.push(elapsed(*at_handled, *at_sent));
        sent_to_seen.push(elapsed(*at_sent, seen));
    }

    let median = |mut values: Vec<Duration>| {
        values.sort();
        percentile(&values, 50.0)
    };
    Breakdown {
        matched: to_handled.len(),
        to_handled: median(to_handled),
        handled_to_sent: median(handled_to_sent),
        sent_to_seen: median(sent_to_seen),
    }
}

struct Results {
    date: DateTime<Utc>,
    homeserver: String,
    commands: usize,
    rate_per_second: f64,
    /// Whether the echo client also posted a notice in a second room.
    echo_second_room: bool,
    /// Plain body size of each echo notice, 0 for "echo".
    echo_body_bytes: usize,
    floor: LatencyStats,
    /// The floor measured again after the bot phase (`--floor-after`).
    floor_after: Option<LatencyStats>,
    bot: LatencyStats,
    idle: Memory,
    load_peak_rss_kib: u64,
    after_load: Memory,
    breakdown: Breakdown,
    floor_messages: serde_json::Value,
    bot_messages: serde_json::Value,
}

impl Results {
    fn ratio(&self) -> Option<f64> {
        Some(as_ms(self.bot.p50?) / as_ms(self.floor.p50?))
    }

    fn print(&self) {
        println!("date: {}", self.date.format("%Y-%m-%d %H:%M:%S UTC"));
        println!(
            "{} messages per phase at {}/s (achieved: floor {:.2}/s, bot {:.2}/s)",
            self.commands, self.rate_per_second, self.floor.achieved_rate, self.bot.achieved_rate
        );
        if self.echo_second_room {
            println!("the echo client posted two events per message (--echo-second-room)");
        }
        if self.echo_body_bytes > 0 {
            println!(
                "echo notices carried {} bytes of plain body and as much HTML (--echo-body-bytes)",
                self.echo_body_bytes
            );
        }

        println!();
        println!("| measurement | echo floor | bot |");
        println!("|---|---|---|");
        println!(
            "| replies received | {}/{} | {}/{} |",
            self.floor.replied, self.floor.sent, self.bot.replied, self.bot.sent
        );
        println!(
            "| p50 | {} | {} |",
            millis(self.floor.p50),
            millis(self.bot.p50)
        );
        println!(
            "| p99 | {} | {} |",
            millis(self.floor.p99),
            millis(self.bot.p99)
        );
        println!(
            "| max | {} | {} |",
            millis(self.floor.max),
            millis(self.bot.max)
        );
        println!(
            "| send request p50 | {} | {} |",
            millis(self.floor.send_request_p50),
            millis(self.bot.send_request_p50)
        );
        println!(
            "| p50 by server timestamps | {} | {} |",
            millis(self.floor.server_p50),
            millis(self.bot.server_p50)
        );
        println!(
            "| p99 by server timestamps | {} | {} |",
            millis(self.floor.server_p99),
            millis(self.bot.server_p99)
        );

        println!();
        match self.ratio() {
            Some(ratio) => println!("bot p50 / floor p50 = {ratio:.2} (goal: at most 1.10)"),
            None => println!("bot p50 / floor p50: n/a"),
        }
        if let (Some(bot), Some(floor)) = (self.bot.server_p50, self.floor.server_p50) {
            println!(
                "by server timestamps: bot p50 / floor p50 = {:.2} ({} / {})",
                as_ms(bot) / as_ms(floor).max(f64::EPSILON),
                millis(Some(bot)),
                millis(Some(floor))
            );
        }
        if let Some(after) = &self.floor_after {
            println!(
                "echo floor after the bot phase: p50 {}, p99 {}, p50 by server timestamps {}",
                millis(after.p50),
                millis(after.p99),
                millis(after.server_p50)
            );
        }
        println!(
            "bot memory: idle VmRSS {:.1} MiB (goal: at most 30 MB = 28.6 MiB), idle VmHWM {:.1} MiB, \
             peak VmRSS sampled under load {:.1} MiB, VmHWM after load {:.1} MiB, VmRSS after load {:.1} MiB",
            mib(self.idle.rss_kib),
            mib(self.idle.hwm_kib),
            mib(self.load_peak_rss_kib),
            mib(self.after_load.hwm_kib),
            mib(self.after_load.rss_kib),
        );
        println!(
            "bot time split (medians over {} commands, from the bot's debug log): send to \
             \"matrix event handled\" {}, to \"notice sent\" {}, to the tester's sync {}",
            self.breakdown.matched,
            millis(self.breakdown.to_handled),
            millis(self.breakdown.handled_to_sent),
            millis(self.breakdown.sent_to_seen),
        );
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "date": self.date.to_rfc3339(),
            "homeserver": self.homeserver,
            "commands_per_phase": self.commands,
            "rate_per_second": self.rate_per_second,
            "echo_second_room": self.echo_second_room,
            "echo_body_bytes": self.echo_body_bytes,
            "floor_after": self.floor_after.as_ref().map(LatencyStats::to_json),
            "floor": self.floor.to_json(),
            "bot": self.bot.to_json(),
            "floor_messages": self.floor_messages,
            "bot_messages": self.bot_messages,
            "bot_p50_over_floor_p50": self.ratio(),
            "bot_memory_kib": {
                "idle_vm_rss": self.idle.rss_kib,
                "idle_vm_hwm": self.idle.hwm_kib,
                "idle_rss_anon": self.idle.anon_kib,
                "idle_rss_file": self.idle.file_kib,
                "load_peak_vm_rss_sampled": self.load_peak_rss_kib,
                "after_load_vm_hwm": self.after_load.hwm_kib,
                "after_load_vm_rss": self.after_load.rss_kib,
            },
            "bot_time_split_median_ms": {
                "commands_matched": self.breakdown.matched,
                "send_to_event_handled": self.breakdown.to_handled.map(as_ms),
                "event_handled_to_notice_sent": self.breakdown.handled_to_sent.map(as_ms),
                "notice_sent_to_tester_sync": self.breakdown.sent_to_seen.map(as_ms),
            },
        })
    }
}
