//! Named sequences for human-facing IDs (F-n, H-n, INC-yyyy-nnnn).

use anyhow::Context;

use super::AnyConnection;

/// Returns the next value of sequence `name`, starting at 1.
pub async fn next(conn: &mut AnyConnection, name: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 \
         RETURNING value",
    )
    .bind(name)
    .fetch_one(conn)
    .await
    .with_context(|| format!("failed to advance counter {name}"))
}
