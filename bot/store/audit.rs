//! The append-only audit log: every command, who ran it and the outcome.

use anyhow::Context;

use super::AnyConnection;

/// One audit entry.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub at: i64,
    pub platform: &'a str,
    pub event_id: &'a str,
    pub room_id: &'a str,
    pub actor: &'a str,
    pub command: &'a str,
    pub outcome: &'a str,
}

pub async fn append(conn: &mut AnyConnection, entry: &AuditEntry<'_>) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, platform, event_id, room_id, actor, command, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.at)
    .bind(entry.platform)
    .bind(entry.event_id)
    .bind(entry.room_id)
    .bind(entry.actor)
    .bind(entry.command)
    .bind(entry.outcome)
    .execute(conn)
    .await
    .context("failed to append to the audit log")?;
    Ok(())
}

/// Counts audit entries; used by tests and the status page.
pub async fn count(conn: &mut AnyConnection) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(conn)
        .await
        .context("failed to count audit entries")
}
