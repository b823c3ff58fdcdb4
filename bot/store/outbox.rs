//! The outbox: outgoing effects written in the same transaction as the state
//! change that caused them, then delivered by a worker with retries.

use anyhow::Context;
use sqlx::Row;

use super::AnyConnection;

/// A pending or finished outbox entry. `effect` is the JSON of the effect.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub platform: String,
    pub effect: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub result: Option<String>,
}

/// Adds an effect to deliver on `platform` and returns its ID.
pub async fn enqueue(
    conn: &mut AnyConnection,
    platform: &str,
    effect: &str,
    now: i64,
) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO outbox (platform, effect, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, 'pending', 0, $3, $3) RETURNING id",
    )
    .bind(platform)
    .bind(effect)
    .bind(now)
    .fetch_one(conn)
    .await
    .context("failed to add an effect to the outbox")
}

/// Pending entries for `platform` in ID order, including those not yet due,
/// so the worker can keep per-room order.
pub async fn pending(
    conn: &mut AnyConnection,
    platform: &str,
    limit: i64,
) -> anyhow::Result<Vec<OutboxRow>> {
    let rows = sqlx::query(
        "SELECT id, platform, effect, status, attempts, next_attempt_at, last_error, result \
         FROM outbox WHERE platform = $1 AND status = 'pending' ORDER BY id LIMIT $2",
    )
    .bind(platform)
    .bind(limit)
    .fetch_all(conn)
    .await
    .context("failed to read the outbox")?;
    rows.iter()
        .map(|row| {
            Ok(OutboxRow {
                id: row.try_get("id")?,
                platform: row.try_get("platform")?,
                effect: row.try_get("effect")?,
                status: row.try_get("status")?,
                attempts: row.try_get("attempts")?,
                next_attempt_at: row.try_get("next_attempt_at")?,
                last_error: row.try_get("last_error")?,
                result: row.try_get("result")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .context("failed to decode outbox rows")
}

/// The scheduling columns of a pending entry, read without its effect so
/// the worker can look at many entries cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingHead {
    pub id: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
}

/// Pending entries for `platform` in ID order, without their effects.
pub async fn pending_heads(
    conn: &mut AnyConnection,
    platform: &str,
    limit: i64,
) -> anyhow::Result<Vec<PendingHead>> {
    let rows = sqlx::query(
        "SELECT id, attempts, next_attempt_at FROM outbox \
         WHERE platform = $1 AND status = 'pending' ORDER BY id LIMIT $2",
    )
    .bind(platform)
    .bind(limit)
    .fetch_all(conn)
    .await
    .context("failed to read the outbox")?;
    rows.iter()
        .map(|row| {
            Ok(PendingHead {
                id: row.try_get("id")?,
                attempts: row.try_get("attempts")?,
                next_attempt_at: row.try_get("next_attempt_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .context("failed to decode outbox rows")
}

/// Entries read per query by [`effects`].
const IDS_PER_QUERY: usize = 500;

/// Returns the effect JSON of each listed entry that is still pending, in ID
/// order.
pub async fn effects(conn: &mut AnyConnection, ids: &[i64]) -> anyhow::Result<Vec<(i64, String)>> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    let mut found = Vec::with_capacity(sorted.len());
    for chunk in sorted.chunks(IDS_PER_QUERY) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT id, effect FROM outbox WHERE status = 'pending' AND id IN ({}) ORDER BY id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        let rows = query
            .fetch_all(&mut *conn)
            .await
            .context("failed to read outbox effects")?;
        for row in &rows {
            found.push((row.try_get("id")?, row.try_get("effect")?));
        }
    }
    Ok(found)
}

/// Records a delivery: the platform's response as JSON (`result`) and the ID
/// of the message it posted, if any, which [`delivered_effect`] looks up.
pub async fn mark_delivered(
    conn: &mut AnyConnection,
    id: i64,
    result: &str,
    message_id: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'delivered', result = $2, message_id = $3, \
         delivered_at = $4, attempts = attempts + 1, last_error = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(result)
    .bind(message_id)
    .bind(now)
    .execute(conn)
    .await
    .with_context(|| format!("failed to mark outbox entry {id} delivered"))?;
    Ok(())
}

/// Returns the effect JSON of the delivered entry that posted `message_id`
/// on `platform`, or `None` when the bot did not post that message.
pub async fn delivered_effect(
    conn: &mut AnyConnection,
    platform: &str,
    message_id: &str,
) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT effect FROM outbox \
         WHERE platform = $1 AND message_id = $2 AND status = 'delivered' \
         ORDER BY id LIMIT 1",
    )
    .bind(platform)
    .bind(message_id)
    .fetch_optional(conn)
    .await
    .with_context(|| format!("failed to look up the entry that posted message {message_id}"))
}

/// Records a failed attempt and when to try again.
pub async fn mark_retry(
    conn: &mut AnyConnection,
    id: i64,
    error: &str,
    next_attempt_at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(next_attempt_at)
    .execute(conn)
    .await
    .with_context(|| format!("failed to schedule a retry of outbox entry {id}"))?;
    Ok(())
}

/// Gives up on an entry; it stays in the table with its last error.
pub async fn mark_failed(conn: &mut AnyConnection, id: i64, error: &str) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(conn)
    .await
    .with_context(|| format!("failed to mark outbox entry {id} failed"))?;
    Ok(())
}

/// Counts entries by status.
pub async fn count(conn: &mut AnyConnection, status: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = $1")
        .bind(status)
        .fetch_one(conn)
        .await
        .context("failed to count outbox entries")
}
