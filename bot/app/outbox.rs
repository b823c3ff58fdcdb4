//! The outbox worker: delivers stored effects through a chat adapter, in ID
//! order per order key (see `order_key`), several keys at once up to the
//! adapter's limit, with capped exponential backoff. It records what the
//! platform returned, such as the ID of a new incident room.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use futures_util::StreamExt as _;
use futures_util::stream;
use tokio::task::{Id as TaskId, JoinError, JoinSet};
use tracing::{debug, error, info, warn};

use super::App;
use super::effects::{Effect, Target};
use crate::chat::{ChatAdapter, Delivered, Delivery, DeliveryError};
use crate::store::{self, outbox::OutboxRow};

/// Attempts before an entry is given up and marked failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// First retry delay; doubles per attempt up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Entries read per pass.
const BATCH: i64 = 200;

/// Counts from one pass over the outbox.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
    /// Entries waiting for an earlier entry of the same room or for the
    /// incident room to exist.
    pub waiting: usize,
}

/// Pending entries grouped by order key, read at `now`.
struct Plan {
    now: i64,
    groups: Vec<(String, Vec<(OutboxRow, Effect)>)>,
    /// Entries marked failed while reading (undecodable).
    failed: usize,
}

/// Delivers outbox entries for one platform.
pub struct OutboxWorker<A: ChatAdapter> {
    app: App,
    adapter: Arc<A>,
}

impl<A: ChatAdapter> OutboxWorker<A> {
    pub fn new(app: App, adapter: Arc<A>) -> Self {
        Self { app, adapter }
    }

    /// Delivers everything that is due, repeating while deliveries unblock
    /// later entries (a new incident room unblocks the messages for it).
    pub async fn drain(&self) -> anyhow::Result<DrainReport> {
        let mut total = DrainReport::default();
        loop {
            let pass = self.pass().await?;
            total.delivered += pass.delivered;
            total.retrying += pass.retrying;
            total.failed += pass.failed;
            total.waiting = pass.waiting;
            // A delivery may unblock an entry for a new room; a permanent
            // failure ends the wait of the entries queued behind it.
            if pass.delivered == 0 && pass.failed == 0 {
                return Ok(total);
            }
        }
    }

    /// Runs until `shutdown` resolves, then delivers what is due and returns.
    ///
    /// Each order key has at most one delivery task at a time, and up to the
    /// adapter's limit run at once. The outbox is read again whenever a task
    /// ends or new entries are stored, so a busy room does not hold back the
    /// replies for other rooms. Tasks run on their own (spawned), so a task
    /// inside a database transaction goes on while this loop waits for a
    /// pooled connection.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        info!(platform = self.adapter.platform(), "outbox worker started");
        let limit = self.adapter.concurrent_deliveries().max(1);
        let this = Arc::new(self);
        let mut busy: HashMap<TaskId, String> = HashMap::new();
        let mut tasks: JoinSet<anyhow::Result<DrainReport>> = JoinSet::new();
        loop {
            // Every wake-up reads the outbox again: a task ended, new entries
            // were stored, or a retry may have come due.
            if busy.len() < limit {
                let busy_keys: HashSet<String> = busy.values().cloned().collect();
                match this.plan(&busy_keys).await {
                    Ok(plan) => {
                        for (key, group) in plan.groups {
                            if busy.len() >= limit {
                                break;
                            }
                            let worker = Arc::clone(&this);
                            let now = plan.now;
                            let task = tasks
                                .spawn(async move { worker.deliver_in_order(group, now).await });
                            busy.insert(task.id(), key);
                        }
                    }
                    Err(error) => error!(error = %format!("{error:#}"), "outbox read failed"),
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    finish_task(&mut busy, joined);
                }
                _ = this.app.shared().outbox_ready.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        while let Some(joined) = tasks.join_next_with_id().await {
            finish_task(&mut busy, joined);
        }
        if let Err(error) = this.drain().await {
            error!(error = %format!("{error:#}"), "final outbox pass failed");
        }
        info!(platform = this.adapter.platform(), "outbox worker stopped");
    }

    /// Reads the pending entries, groups them by order key and delivers the
    /// groups, up to the adapter's limit at once. Inside a group entries go
    /// one at a time; the first that cannot go now holds back the rest.
    async fn pass(&self) -> anyhow::Result<DrainReport> {
        let plan = self.plan(&HashSet::new()).await?;
        let mut report = DrainReport {
            failed: plan.failed,
            ..DrainReport::default()
        };
        let limit = self.adapter.concurrent_deliveries().max(1);
        let now = plan.now;
        let results: Vec<anyhow::Result<DrainReport>> = stream::iter(plan.groups)
            .map(|(_, group)| self.deliver_in_order(group, now))
            .buffer_unordered(limit)
            .collect()
            .await;
        for result in results {
            let group = result?;
            report.delivered += group.delivered;
            report.retrying += group.retrying;
            report.failed += group.failed;
            report.waiting += group.waiting;
        }
        Ok(report)
    }

    /// Reads the pending entries and groups them by order key, oldest key
    /// first, leaving out the keys in `busy`. Undecodable entries are marked
    /// failed.
    async fn plan(&self, busy: &HashSet<String>) -> anyhow::Result<Plan> {
        let store = self.app.store();
        let platform = self.adapter.platform().to_string();
        let rows = {
            let mut conn = store.conn().await?;
            store::outbox::pending(&mut conn, &platform, BATCH).await?
        };
        let mut plan = Plan {
            now: store::to_millis(Utc::now()),
            groups: Vec::new(),
            failed: 0,
        };
        let mut room_incidents: HashMap<String, Option<String>> = HashMap::new();
        let mut group_of_key: HashMap<String, usize> = HashMap::new();
        for row in rows {
            let effect: Effect = match serde_json::from_str(&row.effect) {
                Ok(effect) => effect,
                Err(cause) => {
                    error!(outbox = row.id, error = %cause, "undecodable outbox entry dropped");
                    let mut conn = store.conn().await?;
                    store::outbox::mark_failed(&mut conn, row.id, "undecodable effect").await?;
                    plan.failed += 1;
                    continue;
                }
            };
            let key = self.order_key(&effect, &mut room_incidents).await?;
            if busy.contains(&key) {
                continue;
            }
            let index = match group_of_key.get(&key) {
                Some(index) => *index,
                None => {
                    plan.groups.push((key.clone(), Vec::new()));
                    group_of_key.insert(key, plan.groups.len() - 1);
                    plan.groups.len() - 1
                }
            };
            plan.groups[index].1.push((row, effect));
        }
        Ok(plan)
    }

    /// Delivers the entries of one order key, oldest first, until one has to
    /// wait (not due, its room missing, a retry) or fails permanently.
    async fn deliver_in_order(
        &self,
        group: Vec<(OutboxRow, Effect)>,
        now: i64,
    ) -> anyhow::Result<DrainReport> {
        let store = self.app.store();
        let mut report = DrainReport::default();
        let total = group.len();
        for (done, (row, effect)) in group.into_iter().enumerate() {
            let held_back = total - done;
            if row.next_attempt_at > now {
                report.waiting += held_back;
                break;
            }
            let delivery = match self.prepare(&effect).await {
                Ok(Some(delivery)) => delivery,
                Ok(None) => {
                    report.waiting += held_back;
                    break;
                }
                Err(cause) => {
                    error!(outbox = row.id, error = %format!("{cause:#}"), "outbox entry cannot be prepared; giving up");
                    let mut conn = store.conn().await?;
                    store::outbox::mark_failed(&mut conn, row.id, &format!("{cause:#}")).await?;
                    report.failed += 1;
                    continue;
                }
            };
            let idempotency_key = format!("hb-{}", row.id);
            match self.adapter.deliver(&idempotency_key, delivery).await {
                Ok(delivered) => {
                    self.record_delivery(&row, &effect, &delivered).await?;
                    report.delivered += 1;
                }
                Err(DeliveryError::Retry { reason, after }) => {
                    report.waiting += held_back - 1;
                    if row.attempts + 1 >= MAX_ATTEMPTS {
                        error!(outbox = row.id, attempts = row.attempts + 1, reason = %reason, "delivery given up");
                        let mut conn = store.conn().await?;
                        store::outbox::mark_failed(&mut conn, row.id, &reason).await?;
                        report.failed += 1;
                    } else {
                        let delay = after.unwrap_or_else(|| backoff(row.id, row.attempts));
                        warn!(outbox = row.id, retry_in_ms = delay.as_millis() as u64, reason = %reason, "delivery will be retried");
                        let mut conn = store.conn().await?;
                        store::outbox::mark_retry(
                            &mut conn,
                            row.id,
                            &reason,
                            now + delay.as_millis() as i64,
                        )
                        .await?;
                        report.retrying += 1;
                    }
                    break;
                }
                Err(DeliveryError::Permanent { reason }) => {
                    report.waiting += held_back - 1;
                    error!(outbox = row.id, reason = %reason, "delivery failed permanently");
                    let mut conn = store.conn().await?;
                    store::outbox::mark_failed(&mut conn, row.id, &reason).await?;
                    report.failed += 1;
                    break;
                }
            }
        }
        Ok(report)
    }

    /// The key whose entries must stay in order: the incident for anything
    /// addressed to an incident or to its room (by either name). In other
    /// rooms, replies to one command keep their order, and so do posts that
    /// reply to nothing. Replies to different commands may overtake each
    /// other, because each is shown as a reply to its own command.
    async fn order_key(
        &self,
        effect: &Effect,
        room_incidents: &mut HashMap<String, Option<String>>,
    ) -> anyhow::Result<String> {
        let (target, reply_to) = match effect {
            Effect::Post {
                target, reply_to, ..
            } => (target, reply_to.as_deref()),
            Effect::Upload { target, .. } => (target, None),
            Effect::CreateIncidentRoom { incident, .. } => {
                return Ok(format!("incident:{incident}"));
            }
        };
        match target {
            Target::Incident { incident } => Ok(format!("incident:{incident}")),
            Target::Room { room_id } => {
                if !room_incidents.contains_key(room_id) {
                    let mut conn = self.app.store().conn().await?;
                    let incident =
                        store::rooms::incident_of_room(&mut conn, self.adapter.platform(), room_id)
                            .await?;
                    room_incidents.insert(room_id.clone(), incident);
                }
                Ok(match (&room_incidents[room_id], reply_to) {
                    (Some(incident), _) => format!("incident:{incident}"),
                    (None, Some(command)) => format!("room:{room_id}:reply:{command}"),
                    (None, None) => format!("room:{room_id}"),
                })
            }
        }
    }

    /// Renders and resolves an effect. `None` means it must wait (its
    /// incident room does not exist yet).
    async fn prepare(&self, effect: &Effect) -> anyhow::Result<Option<Delivery>> {
        let renderer = self.app.renderer();
        let format = self.adapter.format();
        Ok(Some(match effect {
            Effect::Post {
                target,
                message,
                reply_to,
                pin,
            } => {
                let Some(room_id) = self.resolve(target).await? else {
                    return Ok(None);
                };
                Delivery::Post {
                    room_id,
                    message: renderer.rendered(message, format)?,
                    reply_to: reply_to.clone(),
                    pin: *pin,
                }
            }
            Effect::CreateIncidentRoom {
                alias,
                name,
                topic,
                invite,
                encrypted,
                ..
            } => Delivery::CreateRoom {
                alias: alias.clone(),
                name: name.clone(),
                topic: topic.clone(),
                invite: invite.clone(),
                encrypted: *encrypted,
            },
            Effect::Upload {
                target,
                file_id,
                caption,
            } => {
                let Some(room_id) = self.resolve(target).await? else {
                    return Ok(None);
                };
                let mut conn = self.app.store().conn().await?;
                let (meta, content) = store::files::get(&mut conn, *file_id)
                    .await?
                    .with_context(|| format!("file {file_id} is missing"))?;
                let caption = caption
                    .as_ref()
                    .map(|caption| renderer.rendered(caption, format))
                    .transpose()?;
                Delivery::Upload {
                    room_id,
                    name: meta.name,
                    mime: meta.mime,
                    content,
                    caption,
                }
            }
        }))
    }

    async fn resolve(&self, target: &Target) -> anyhow::Result<Option<String>> {
        match target {
            Target::Room { room_id } => Ok(Some(room_id.clone())),
            Target::Incident { incident } => {
                let mut conn = self.app.store().conn().await?;
                store::rooms::incident_room(&mut conn, self.adapter.platform(), incident).await
            }
        }
    }

    async fn record_delivery(
        &self,
        row: &OutboxRow,
        effect: &Effect,
        delivered: &Delivered,
    ) -> anyhow::Result<()> {
        let mut tx = self.app.store().begin().await?;
        if let Effect::CreateIncidentRoom { incident, lang, .. } = effect {
            let room_id = delivered
                .room_id
                .as_deref()
                .context("the adapter created a room but returned no room ID")?;
            store::rooms::bind_incident(&mut tx, &row.platform, room_id, incident, lang.as_str())
                .await?;
            info!(incident = %incident, room = %room_id, "incident room created");
        }
        let result = serde_json::to_string(delivered)?;
        store::outbox::mark_delivered(
            &mut tx,
            row.id,
            &result,
            delivered.message_id.as_deref(),
            store::to_millis(Utc::now()),
        )
        .await?;
        tx.commit().await.context("failed to record a delivery")?;
        debug!(outbox = row.id, "delivered");
        Ok(())
    }
}

/// Frees the order key of an ended delivery task and logs its failure. The
/// entries of a task that panicked stay pending and are read again.
fn finish_task(
    busy: &mut HashMap<TaskId, String>,
    joined: Result<(TaskId, anyhow::Result<DrainReport>), JoinError>,
) {
    match joined {
        Ok((id, result)) => {
            let key = busy.remove(&id).unwrap_or_default();
            if let Err(error) = result {
                error!(key = %key, error = %format!("{error:#}"), "outbox delivery failed");
            }
        }
        Err(error) => {
            let key = busy.remove(&error.id()).unwrap_or_default();
            error!(key = %key, error = %error, "outbox delivery task panicked");
        }
    }
}

/// Capped exponential backoff with a jitter of up to a quarter of the delay,
/// derived from the entry ID so retries of different entries spread out.
fn backoff(id: i64, attempts: i64) -> Duration {
    let exponent = attempts.clamp(0, 20) as u32;
    let delay = BASE_BACKOFF
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(MAX_BACKOFF);
    let spread = (id.unsigned_abs().wrapping_mul(2_654_435_761) % 1000) as u32;
    delay + delay / 4 * spread / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert!(backoff(1, 0) >= BASE_BACKOFF);
        assert!(backoff(1, 3) > backoff(1, 2));
        assert!(backoff(1, 30) <= MAX_BACKOFF + MAX_BACKOFF / 4);
    }
}
