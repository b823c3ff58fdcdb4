//! The outbox worker's `run` loop with an adapter that delivers to several
//! rooms at once: every entry arrives, each order key keeps its order, and
//! eight concurrent deliveries on a pool of fewer connections do not stall.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use huntbridge::app::App;
use huntbridge::app::effects::{Effect, Target};
use huntbridge::app::outbox::OutboxWorker;
use huntbridge::chat::{ChatAdapter, Delivered, Delivery, DeliveryError};
use huntbridge::config::{Config, Secret};
use huntbridge::domain::types::Lang;
use huntbridge::render::{Format, Message};
use huntbridge::store;
use serde_json::json;

use common::{Db, test_store};

const ROOMS: usize = 6;
const COMMANDS_PER_ROOM: usize = 5;
const POSTS_PER_COMMAND: usize = 3;
/// Far above the time the deliveries need (90 posts at 5 ms, 8 at once). A
/// stalled worker fails the test at this deadline instead of hanging it.
const DEADLINE: Duration = Duration::from_secs(60);

/// Records every post with its room and text; each delivery takes 5 ms.
#[derive(Default)]
struct Recorder {
    posts: Mutex<Vec<(String, String)>>,
}

impl ChatAdapter for Recorder {
    fn platform(&self) -> &str {
        "test"
    }

    fn format(&self) -> Format {
        Format::Plain
    }

    fn concurrent_deliveries(&self) -> usize {
        8
    }

    async fn deliver(
        &self,
        idempotency_key: &str,
        delivery: Delivery,
    ) -> Result<Delivered, DeliveryError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let Delivery::Post {
            room_id, message, ..
        } = delivery
        else {
            return Err(DeliveryError::Permanent {
                reason: "only posts are expected".into(),
            });
        };
        self.posts.lock().unwrap().push((room_id, message.plain));
        Ok(Delivered {
            room_id: None,
            message_id: Some(format!("${idempotency_key}")),
        })
    }
}

/// Builds a post whose text names its room, command and position.
fn post(room: usize, command: usize, position: usize) -> String {
    let effect = Effect::Post {
        target: Target::Room {
            room_id: format!("!room{room}:test"),
        },
        message: Message {
            template: "line".into(),
            lang: Lang::En,
            context: json!({
                "key": "error.hunt_closed",
                "args": { "id": format!("r{room} c{command} p{position}") },
            }),
        },
        reply_to: Some(format!("$command{room}-{command}")),
        pin: false,
    };
    serde_json::to_string(&effect).unwrap()
}

async fn worker_delivers_rooms_at_once_in_order(db: Db) {
    let t = test_store(db).await;
    let mut config = Config::default();
    config.database.url = Secret::new(t.url.clone());
    let app = App::new(config, t.store.clone()).expect("app starts");
    {
        let mut conn = t.store.conn().await.unwrap();
        for position in 0..POSTS_PER_COMMAND {
            for command in 0..COMMANDS_PER_ROOM {
                for room in 0..ROOMS {
                    store::outbox::enqueue(&mut conn, "test", &post(room, command, position), 1)
                        .await
                        .unwrap();
                }
            }
        }
    }
    let total = ROOMS * COMMANDS_PER_ROOM * POSTS_PER_COMMAND;

    let adapter = Arc::new(Recorder::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(OutboxWorker::new(app, adapter.clone()).run(async {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    while adapter.posts.lock().unwrap().len() < total && started.elapsed() < DEADLINE {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    worker.await.unwrap();

    let posts = adapter.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), total, "posts delivered before the deadline");
    let mut conn = t.store.conn().await.unwrap();
    assert_eq!(
        store::outbox::count(&mut conn, "delivered").await.unwrap(),
        total as i64
    );
    // The replies to one command arrive in the order they were stored.
    let mut positions: HashMap<String, Vec<String>> = HashMap::new();
    for (room, text) in &posts {
        // "Hunt r0 c1 p2 is already closed."
        let mut words = text.split_whitespace().skip(1);
        let (room_word, command, position) = (
            words.next().unwrap(),
            words.next().unwrap(),
            words.next().unwrap(),
        );
        assert_eq!(format!("!room{}:test", &room_word[1..]), *room, "{text}");
        positions
            .entry(format!("{room_word} {command}"))
            .or_default()
            .push(position.to_string());
    }
    let expected: Vec<String> = (0..POSTS_PER_COMMAND).map(|p| format!("p{p}")).collect();
    for (command, seen) in &positions {
        assert_eq!(seen, &expected, "order of the replies to {command}");
    }
}

on_both_databases!(worker_delivers_rooms_at_once_in_order);
