//! The outbox worker: delivers stored effects through a chat adapter, in ID
//! order per room, with capped exponential backoff, and records what the
//! platform returned (such as the ID of a new incident room).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
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
            if pass.delivered == 0 {
                return Ok(total);
            }
        }
    }

    /// Runs until `shutdown` resolves, then delivers what is due and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        info!(platform = self.adapter.platform(), "outbox worker started");
        loop {
            if let Err(error) = self.drain().await {
                error!(error = %format!("{error:#}"), "outbox pass failed");
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.app.shared().outbox_ready.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        if let Err(error) = self.drain().await {
            error!(error = %format!("{error:#}"), "final outbox pass failed");
        }
        info!(platform = self.adapter.platform(), "outbox worker stopped");
    }

    async fn pass(&self) -> anyhow::Result<DrainReport> {
        let store = self.app.store();
        let platform = self.adapter.platform().to_string();
        let rows = {
            let mut conn = store.conn().await?;
            store::outbox::pending(&mut conn, &platform, BATCH).await?
        };
        let now = store::to_millis(Utc::now());
        let mut report = DrainReport::default();
        let mut blocked: HashSet<String> = HashSet::new();
        let mut room_incidents: HashMap<String, Option<String>> = HashMap::new();

        for row in rows {
            let effect: Effect = match serde_json::from_str(&row.effect) {
                Ok(effect) => effect,
                Err(cause) => {
                    error!(outbox = row.id, error = %cause, "undecodable outbox entry dropped");
                    let mut conn = store.conn().await?;
                    store::outbox::mark_failed(&mut conn, row.id, "undecodable effect").await?;
                    report.failed += 1;
                    continue;
                }
            };
            let key = self.order_key(&effect, &mut room_incidents).await?;
            if blocked.contains(&key) || row.next_attempt_at > now {
                blocked.insert(key);
                report.waiting += 1;
                continue;
            }
            let delivery = match self.prepare(&effect).await {
                Ok(Some(delivery)) => delivery,
                Ok(None) => {
                    blocked.insert(key);
                    report.waiting += 1;
                    continue;
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
                    blocked.insert(key);
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
                }
                Err(DeliveryError::Permanent { reason }) => {
                    blocked.insert(key);
                    error!(outbox = row.id, reason = %reason, "delivery failed permanently");
                    let mut conn = store.conn().await?;
                    store::outbox::mark_failed(&mut conn, row.id, &reason).await?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// The key whose entries must stay in order: the incident for anything
    /// addressed to an incident or to its room (by either name), else the room.
    async fn order_key(
        &self,
        effect: &Effect,
        room_incidents: &mut HashMap<String, Option<String>>,
    ) -> anyhow::Result<String> {
        let target = match effect {
            Effect::Post { target, .. } | Effect::Upload { target, .. } => target,
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
                Ok(match &room_incidents[room_id] {
                    Some(incident) => format!("incident:{incident}"),
                    None => format!("room:{room_id}"),
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
        store::outbox::mark_delivered(&mut tx, row.id, &result, store::to_millis(Utc::now()))
            .await?;
        tx.commit().await.context("failed to record a delivery")?;
        debug!(outbox = row.id, "delivered");
        Ok(())
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
