//! The outbox worker: delivers stored effects through a chat adapter, in ID
//! order per order key (see `order_key`), several keys at once up to the
//! adapter's limit, with capped exponential backoff. It records what the
//! platform returned, such as the ID of a new incident room.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
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
use crate::store::{self, outbox::PendingHead};

/// Attempts before an entry is given up and marked failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// First retry delay; doubles per attempt up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Pending entries the worker looks at in one read. Only their IDs and
/// schedules are read each time; an effect is read to learn its order key
/// once, and again when it is delivered.
const HEADS: i64 = 5_000;
/// Entries of one order key handed to one delivery task; the rest follow in
/// the next task.
const GROUP_LIMIT: usize = 50;

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

/// Due entries grouped by order key, read at `now`.
struct Plan {
    now: i64,
    groups: Vec<Group>,
    /// Entries marked failed while reading (undecodable).
    failed: usize,
    /// Entries left for later: not due yet, or behind one that is not.
    waiting: usize,
}

/// The due entries of one order key, oldest first.
struct Group {
    key: String,
    entries: Vec<(PendingHead, Effect)>,
    /// Entries of the key that come after `entries` in this plan.
    behind: usize,
}

/// The due entries of one order key before their effects are read.
struct KeyHeads {
    key: String,
    heads: Vec<PendingHead>,
    /// Due entries of the key beyond [`GROUP_LIMIT`].
    behind: usize,
}

/// Delivers outbox entries for one platform.
pub struct OutboxWorker<A: ChatAdapter> {
    app: App,
    adapter: Arc<A>,
    /// The order key of each pending entry already read, by entry ID.
    keys: Mutex<HashMap<i64, String>>,
}

impl<A: ChatAdapter> OutboxWorker<A> {
    pub fn new(app: App, adapter: Arc<A>) -> Self {
        Self {
            app,
            adapter,
            keys: Mutex::new(HashMap::new()),
        }
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
                let planning = std::time::Instant::now();
                match this.plan(&busy_keys, limit - busy.len()).await {
                    Ok(plan) => {
                        debug!(
                            groups = plan.groups.len(),
                            busy = busy.len(),
                            elapsed_us = planning.elapsed().as_micros() as u64,
                            "outbox read"
                        );
                        for group in plan.groups {
                            let worker = Arc::clone(&this);
                            let now = plan.now;
                            let key = group.key.clone();
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
        let plan = self.plan(&HashSet::new(), usize::MAX).await?;
        let mut report = DrainReport {
            failed: plan.failed,
            waiting: plan.waiting,
            ..DrainReport::default()
        };
        let limit = self.adapter.concurrent_deliveries().max(1);
        let now = plan.now;
        let results: Vec<anyhow::Result<DrainReport>> = stream::iter(plan.groups)
            .map(|group| self.deliver_in_order(group, now))
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

    /// Reads the pending entries and groups the due ones by order key,
    /// oldest key first, leaving out the keys in `busy`. Returns at most
    /// `slots` groups, with their effects read. Undecodable entries are
    /// marked failed.
    ///
    /// Each call reads only the IDs and schedules of the pending entries. An
    /// entry's effect is read and decoded the first time it is seen, to learn
    /// its order key, and again when its group is returned.
    async fn plan(&self, busy: &HashSet<String>, slots: usize) -> anyhow::Result<Plan> {
        let store = self.app.store();
        let platform = self.adapter.platform().to_string();
        let heads = {
            let mut conn = store.conn().await?;
            store::outbox::pending_heads(&mut conn, &platform, HEADS).await?
        };
        let now = store::to_millis(Utc::now());
        let mut plan = Plan {
            now,
            groups: Vec::new(),
            failed: 0,
            waiting: 0,
        };

        let mut decoded = self.learn_keys(&heads, &mut plan.failed).await?;
        let due = self.due_by_key(&heads, busy, now, &mut plan.waiting);
        let handed_out: Vec<KeyHeads> = due.into_iter().take(slots).collect();

        // Effects not decoded above were seen by an earlier call.
        let missing: Vec<i64> = handed_out
            .iter()
            .flat_map(|group| &group.heads)
            .map(|head| head.id)
            .filter(|id| !decoded.contains_key(id))
            .collect();
        if !missing.is_empty() {
            let mut conn = store.conn().await?;
            for (id, json) in store::outbox::effects(&mut conn, &missing).await? {
                // It decoded when it was first read, so an error cannot occur here.
                if let Ok(effect) = serde_json::from_str::<Effect>(&json) {
                    decoded.insert(id, effect);
                }
            }
        }

        for group in handed_out {
            // An entry that is gone (delivered or failed meanwhile) ends the
            // group, so a later entry cannot overtake it.
            let mut entries = Vec::with_capacity(group.heads.len());
            let mut cut = 0;
            for head in &group.heads {
                match decoded.remove(&head.id) {
                    Some(effect) if cut == 0 => entries.push((*head, effect)),
                    _ => cut += 1,
                }
            }
            if !entries.is_empty() {
                plan.groups.push(Group {
                    key: group.key,
                    entries,
                    behind: group.behind + cut,
                });
            }
        }
        Ok(plan)
    }

    /// Reads, decodes and keys the entries among `heads` seen for the first
    /// time, and drops the cached keys of entries no longer pending. Returns
    /// the decoded effects. Undecodable entries are marked failed and counted
    /// in `failed`.
    async fn learn_keys(
        &self,
        heads: &[PendingHead],
        failed: &mut usize,
    ) -> anyhow::Result<HashMap<i64, Effect>> {
        let unknown: Vec<i64> = {
            let mut keys = lock(&self.keys);
            let pending: HashSet<i64> = heads.iter().map(|head| head.id).collect();
            keys.retain(|id, _| pending.contains(id));
            heads
                .iter()
                .map(|head| head.id)
                .filter(|id| !keys.contains_key(id))
                .collect()
        };
        let mut decoded = HashMap::new();
        if unknown.is_empty() {
            return Ok(decoded);
        }
        let store = self.app.store();
        let rows = {
            let mut conn = store.conn().await?;
            store::outbox::effects(&mut conn, &unknown).await?
        };
        let mut room_incidents: HashMap<String, Option<String>> = HashMap::new();
        for (id, json) in rows {
            match serde_json::from_str::<Effect>(&json) {
                Ok(effect) => {
                    let key = self.order_key(&effect, &mut room_incidents).await?;
                    lock(&self.keys).insert(id, key);
                    decoded.insert(id, effect);
                }
                Err(cause) => {
                    error!(outbox = id, error = %cause, "undecodable outbox entry dropped");
                    let mut conn = store.conn().await?;
                    store::outbox::mark_failed(&mut conn, id, "undecodable effect").await?;
                    *failed += 1;
                }
            }
        }
        Ok(decoded)
    }

    /// Groups the due entries among `heads` by their known key, in ID order,
    /// leaving out the keys in `busy`. A key's entries after one that is not
    /// due wait with it and are counted in `waiting`. Keys with no due entry
    /// are left out.
    fn due_by_key(
        &self,
        heads: &[PendingHead],
        busy: &HashSet<String>,
        now: i64,
        waiting: &mut usize,
    ) -> Vec<KeyHeads> {
        let keys = lock(&self.keys);
        let mut groups: Vec<KeyHeads> = Vec::new();
        let mut group_of_key: HashMap<&str, usize> = HashMap::new();
        let mut stopped: HashSet<&str> = HashSet::new();
        for head in heads {
            let Some(key) = keys.get(&head.id) else {
                continue;
            };
            if busy.contains(key) {
                continue;
            }
            if stopped.contains(key.as_str()) {
                *waiting += 1;
                continue;
            }
            let index = *group_of_key.entry(key.as_str()).or_insert_with(|| {
                groups.push(KeyHeads {
                    key: key.clone(),
                    heads: Vec::new(),
                    behind: 0,
                });
                groups.len() - 1
            });
            let group = &mut groups[index];
            if head.next_attempt_at > now {
                stopped.insert(key);
                *waiting += 1;
            } else if group.heads.len() < GROUP_LIMIT {
                group.heads.push(*head);
            } else {
                group.behind += 1;
            }
        }
        groups.retain(|group| !group.heads.is_empty());
        groups
    }

    /// Delivers the entries of one order key, oldest first, until one has to
    /// wait (its room missing, a retry) or fails permanently.
    async fn deliver_in_order(&self, group: Group, now: i64) -> anyhow::Result<DrainReport> {
        let store = self.app.store();
        let mut report = DrainReport::default();
        let total = group.entries.len();
        for (done, (row, effect)) in group.entries.into_iter().enumerate() {
            let held_back = total - done + group.behind;
            let preparing = std::time::Instant::now();
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
            debug!(
                outbox = row.id,
                prepare_us = preparing.elapsed().as_micros() as u64,
                "outbox delivery started"
            );
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
        row: &PendingHead,
        effect: &Effect,
        delivered: &Delivered,
    ) -> anyhow::Result<()> {
        let mut tx = self.app.store().begin().await?;
        if let Effect::CreateIncidentRoom { incident, lang, .. } = effect {
            let room_id = delivered
                .room_id
                .as_deref()
                .context("the adapter created a room but returned no room ID")?;
            store::rooms::bind_incident(
                &mut tx,
                self.adapter.platform(),
                room_id,
                incident,
                lang.as_str(),
            )
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

/// Locks the key cache, also after a panic elsewhere, because a panic
/// cannot leave the cache inconsistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
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
