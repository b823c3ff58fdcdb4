//! Incidents (INC-yyyy-nnnn) and their participants.

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::AnyConnection;

/// A stored incident.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub tlp: String,
    pub stage: String,
    pub status: String,
    pub owner: String,
    pub platform: String,
    pub resolution: Option<String>,
    pub summary: Option<String>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
}

const COLUMNS: &str = "id, title, severity, tlp, stage, status, owner, platform, resolution, \
    summary, created_at, closed_at";

fn from_row(row: &AnyRow) -> Result<IncidentRow, sqlx::Error> {
    Ok(IncidentRow {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        severity: row.try_get("severity")?,
        tlp: row.try_get("tlp")?,
        stage: row.try_get("stage")?,
        status: row.try_get("status")?,
        owner: row.try_get("owner")?,
        platform: row.try_get("platform")?,
        resolution: row.try_get("resolution")?,
        summary: row.try_get("summary")?,
        created_at: row.try_get("created_at")?,
        closed_at: row.try_get("closed_at")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, incident: &IncidentRow) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO incidents (id, title, severity, tlp, stage, status, owner, platform, \
         resolution, summary, created_at, closed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&incident.id)
    .bind(&incident.title)
    .bind(&incident.severity)
    .bind(&incident.tlp)
    .bind(&incident.stage)
    .bind(&incident.status)
    .bind(&incident.owner)
    .bind(&incident.platform)
    .bind(&incident.resolution)
    .bind(&incident.summary)
    .bind(incident.created_at)
    .bind(incident.closed_at)
    .execute(conn)
    .await
    .with_context(|| format!("failed to store incident {}", incident.id))?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> anyhow::Result<Option<IncidentRow>> {
    let sql = format!("SELECT {COLUMNS} FROM incidents WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
        .with_context(|| format!("failed to read incident {id}"))?;
    row.as_ref()
        .map(from_row)
        .transpose()
        .context("failed to decode an incident row")
}

/// Open incidents, oldest first.
pub async fn list_open(conn: &mut AnyConnection) -> anyhow::Result<Vec<IncidentRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM incidents WHERE status = 'open' ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await
        .context("failed to list open incidents")?;
    rows.iter()
        .map(from_row)
        .collect::<Result<_, _>>()
        .context("failed to decode incident rows")
}

pub async fn set_stage(conn: &mut AnyConnection, id: &str, stage: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE incidents SET stage = $2 WHERE id = $1")
        .bind(id)
        .bind(stage)
        .execute(conn)
        .await
        .with_context(|| format!("failed to set the stage of {id}"))?;
    Ok(())
}

pub async fn set_severity(
    conn: &mut AnyConnection,
    id: &str,
    severity: &str,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE incidents SET severity = $2 WHERE id = $1")
        .bind(id)
        .bind(severity)
        .execute(conn)
        .await
        .with_context(|| format!("failed to set the severity of {id}"))?;
    Ok(())
}

/// Adds a participant; an existing participant keeps their first role.
pub async fn add_participant(
    conn: &mut AnyConnection,
    incident_id: &str,
    user_id: &str,
    role: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO participants (incident_id, user_id, role) VALUES ($1, $2, $3) \
         ON CONFLICT (incident_id, user_id) DO NOTHING",
    )
    .bind(incident_id)
    .bind(user_id)
    .bind(role)
    .execute(conn)
    .await
    .with_context(|| format!("failed to add {user_id} to {incident_id}"))?;
    Ok(())
}

/// Participants as `(user_id, role)`, ordered by role and user.
pub async fn participants(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT user_id, role FROM participants WHERE incident_id = $1 ORDER BY role, user_id",
    )
    .bind(incident_id)
    .fetch_all(conn)
    .await
    .with_context(|| format!("failed to list participants of {incident_id}"))?;
    rows.iter()
        .map(|row| Ok((row.try_get("user_id")?, row.try_get("role")?)))
        .collect::<Result<_, sqlx::Error>>()
        .context("failed to decode participant rows")
}

/// Closes an incident with its resolution and summary.
pub async fn close(
    conn: &mut AnyConnection,
    id: &str,
    resolution: &str,
    summary: &str,
    at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE incidents SET status = 'closed', resolution = $2, summary = $3, closed_at = $4 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(resolution)
    .bind(summary)
    .bind(at)
    .execute(conn)
    .await
    .with_context(|| format!("failed to close {id}"))?;
    Ok(())
}
