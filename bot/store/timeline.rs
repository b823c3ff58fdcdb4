//! The timeline: immutable, timestamped records of who did what and when, at
//! which stage. Metrics are computed from it.

use anyhow::Context;
use sqlx::Row;

use super::AnyConnection;

/// A timeline entry. `detail` is a JSON object whose shape depends on `kind`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    pub incident_id: Option<String>,
    pub finding_id: Option<String>,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub stage: Option<String>,
    pub detail: String,
}

pub async fn append(conn: &mut AnyConnection, entry: &TimelineRow) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO timeline (incident_id, finding_id, at, actor, kind, stage, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&entry.incident_id)
    .bind(&entry.finding_id)
    .bind(entry.at)
    .bind(&entry.actor)
    .bind(&entry.kind)
    .bind(&entry.stage)
    .bind(&entry.detail)
    .execute(conn)
    .await
    .context("failed to append to the timeline")?;
    Ok(())
}

/// The timeline of an incident, including the entries of its findings, in
/// time order.
pub async fn list_for_incident(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> anyhow::Result<Vec<TimelineRow>> {
    let rows = sqlx::query(
        "SELECT incident_id, finding_id, at, actor, kind, stage, detail FROM timeline \
         WHERE incident_id = $1 OR finding_id IN \
         (SELECT finding_id FROM incident_findings WHERE incident_id = $1) ORDER BY at, id",
    )
    .bind(incident_id)
    .fetch_all(conn)
    .await
    .with_context(|| format!("failed to read the timeline of {incident_id}"))?;
    rows.iter()
        .map(|row| {
            Ok(TimelineRow {
                incident_id: row.try_get("incident_id")?,
                finding_id: row.try_get("finding_id")?,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                kind: row.try_get("kind")?,
                stage: row.try_get("stage")?,
                detail: row.try_get("detail")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .context("failed to decode timeline rows")
}
