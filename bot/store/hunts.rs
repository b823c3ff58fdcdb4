//! Hunt cases (H-n): hypotheses registered before anything is found, so hunts
//! that find nothing are recorded too.

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::AnyConnection;

/// A stored hunt case. `techniques` is a JSON array of technique IDs.
#[derive(Debug, Clone, PartialEq)]
pub struct HuntRow {
    pub id: String,
    pub hypothesis: String,
    pub techniques: String,
    pub status: String,
    pub result: Option<String>,
    pub notes: Option<String>,
    pub hunter: String,
    pub platform: String,
    pub room_id: String,
    pub finding_id: Option<String>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
}

const COLUMNS: &str = "id, hypothesis, techniques, status, result, notes, hunter, platform, \
    room_id, finding_id, created_at, closed_at";

fn from_row(row: &AnyRow) -> Result<HuntRow, sqlx::Error> {
    Ok(HuntRow {
        id: row.try_get("id")?,
        hypothesis: row.try_get("hypothesis")?,
        techniques: row.try_get("techniques")?,
        status: row.try_get("status")?,
        result: row.try_get("result")?,
        notes: row.try_get("notes")?,
        hunter: row.try_get("hunter")?,
        platform: row.try_get("platform")?,
        room_id: row.try_get("room_id")?,
        finding_id: row.try_get("finding_id")?,
        created_at: row.try_get("created_at")?,
        closed_at: row.try_get("closed_at")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, hunt: &HuntRow) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO hunts (id, hypothesis, techniques, status, result, notes, hunter, platform, \
         room_id, finding_id, created_at, closed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&hunt.id)
    .bind(&hunt.hypothesis)
    .bind(&hunt.techniques)
    .bind(&hunt.status)
    .bind(&hunt.result)
    .bind(&hunt.notes)
    .bind(&hunt.hunter)
    .bind(&hunt.platform)
    .bind(&hunt.room_id)
    .bind(&hunt.finding_id)
    .bind(hunt.created_at)
    .bind(hunt.closed_at)
    .execute(conn)
    .await
    .with_context(|| format!("failed to store hunt {}", hunt.id))?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> anyhow::Result<Option<HuntRow>> {
    let sql = format!("SELECT {COLUMNS} FROM hunts WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
        .with_context(|| format!("failed to read hunt {id}"))?;
    row.as_ref()
        .map(from_row)
        .transpose()
        .context("failed to decode a hunt row")
}

/// Open hunt cases, oldest first.
pub async fn list_open(conn: &mut AnyConnection) -> anyhow::Result<Vec<HuntRow>> {
    let sql = format!("SELECT {COLUMNS} FROM hunts WHERE status = 'open' ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await
        .context("failed to list open hunts")?;
    rows.iter()
        .map(from_row)
        .collect::<Result<_, _>>()
        .context("failed to decode hunt rows")
}

/// Links a hunt to the finding it led to.
pub async fn link_finding(
    conn: &mut AnyConnection,
    hunt_id: &str,
    finding_id: &str,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE hunts SET finding_id = $2 WHERE id = $1")
        .bind(hunt_id)
        .bind(finding_id)
        .execute(conn)
        .await
        .with_context(|| format!("failed to link {hunt_id} to {finding_id}"))?;
    Ok(())
}

/// Closes a hunt with its result (`found` or `nothing`) and notes.
pub async fn close(
    conn: &mut AnyConnection,
    id: &str,
    result: &str,
    notes: &str,
    at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE hunts SET status = 'closed', result = $2, notes = $3, closed_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(result)
    .bind(notes)
    .bind(at)
    .execute(conn)
    .await
    .with_context(|| format!("failed to close hunt {id}"))?;
    Ok(())
}

/// Hunts that led to any finding of an incident.
pub async fn list_for_incident(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> anyhow::Result<Vec<HuntRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM hunts WHERE finding_id IN \
         (SELECT finding_id FROM incident_findings WHERE incident_id = $1) ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(incident_id)
        .fetch_all(conn)
        .await
        .with_context(|| format!("failed to list hunts of {incident_id}"))?;
    rows.iter()
        .map(from_row)
        .collect::<Result<_, _>>()
        .context("failed to decode hunt rows")
}
