//! The inbound event ledger: every platform event is recorded by its ID
//! before it is handled, so a redelivered event does nothing twice.

use anyhow::Context;

use super::AnyConnection;

/// Records an inbound event. Returns `false` when it was recorded before.
pub async fn record(
    conn: &mut AnyConnection,
    platform: &str,
    event_id: &str,
    room_id: &str,
    actor: &str,
    received_at: i64,
) -> anyhow::Result<bool> {
    let result = sqlx::query(
        "INSERT INTO inbound_events (platform, event_id, room_id, actor, received_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform, event_id) DO NOTHING",
    )
    .bind(platform)
    .bind(event_id)
    .bind(room_id)
    .bind(actor)
    .bind(received_at)
    .execute(conn)
    .await
    .with_context(|| format!("failed to record inbound event {event_id}"))?;
    Ok(result.rows_affected() == 1)
}

/// Checks whether an inbound event was recorded, that is, already handled.
pub async fn seen(
    conn: &mut AnyConnection,
    platform: &str,
    event_id: &str,
) -> anyhow::Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM inbound_events WHERE platform = $1 AND event_id = $2")
            .bind(platform)
            .bind(event_id)
            .fetch_optional(conn)
            .await
            .with_context(|| format!("failed to look up inbound event {event_id}"))?;
    Ok(found.is_some())
}
