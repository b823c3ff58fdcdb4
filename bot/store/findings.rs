//! Findings (F-n). The parsed finding is kept whole as JSON in `body`; the
//! columns hold what queries filter on.

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::AnyConnection;

/// A stored finding.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub tlp: String,
    pub status: String,
    pub reporter: String,
    pub platform: String,
    pub room_id: String,
    pub source_event: String,
    pub body: String,
    pub incident_id: Option<String>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: i64,
    pub handed_off_at: Option<i64>,
    pub decided_at: Option<i64>,
}

const COLUMNS: &str = "id, title, severity, tlp, status, reporter, platform, room_id, \
    source_event, body, incident_id, decided_by, decision_note, created_at, handed_off_at, \
    decided_at";

fn from_row(row: &AnyRow) -> Result<FindingRow, sqlx::Error> {
    Ok(FindingRow {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        severity: row.try_get("severity")?,
        tlp: row.try_get("tlp")?,
        status: row.try_get("status")?,
        reporter: row.try_get("reporter")?,
        platform: row.try_get("platform")?,
        room_id: row.try_get("room_id")?,
        source_event: row.try_get("source_event")?,
        body: row.try_get("body")?,
        incident_id: row.try_get("incident_id")?,
        decided_by: row.try_get("decided_by")?,
        decision_note: row.try_get("decision_note")?,
        created_at: row.try_get("created_at")?,
        handed_off_at: row.try_get("handed_off_at")?,
        decided_at: row.try_get("decided_at")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, finding: &FindingRow) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO findings (id, title, severity, tlp, status, reporter, platform, room_id, \
         source_event, body, incident_id, decided_by, decision_note, created_at, handed_off_at, \
         decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&finding.id)
    .bind(&finding.title)
    .bind(&finding.severity)
    .bind(&finding.tlp)
    .bind(&finding.status)
    .bind(&finding.reporter)
    .bind(&finding.platform)
    .bind(&finding.room_id)
    .bind(&finding.source_event)
    .bind(&finding.body)
    .bind(&finding.incident_id)
    .bind(&finding.decided_by)
    .bind(&finding.decision_note)
    .bind(finding.created_at)
    .bind(finding.handed_off_at)
    .bind(finding.decided_at)
    .execute(conn)
    .await
    .with_context(|| format!("failed to store finding {}", finding.id))?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> anyhow::Result<Option<FindingRow>> {
    let sql = format!("SELECT {COLUMNS} FROM findings WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
        .with_context(|| format!("failed to read finding {id}"))?;
    row.as_ref()
        .map(from_row)
        .transpose()
        .with_context(|| format!("failed to decode finding {id}"))
}

/// Findings that belong to an incident, oldest first.
pub async fn list_for_incident(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> anyhow::Result<Vec<FindingRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM findings WHERE id IN \
         (SELECT finding_id FROM incident_findings WHERE incident_id = $1) ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(incident_id)
        .fetch_all(conn)
        .await
        .with_context(|| format!("failed to list findings of {incident_id}"))?;
    rows.iter()
        .map(from_row)
        .collect::<Result<_, _>>()
        .context("failed to decode findings")
}

/// Marks a finding as handed to IR.
pub async fn mark_handed_off(conn: &mut AnyConnection, id: &str, at: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE findings SET status = 'handed_off', handed_off_at = $2 WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(conn)
        .await
        .with_context(|| format!("failed to mark {id} as handed off"))?;
    Ok(())
}

/// Records the decision on a handoff (`accepted` or `declined`).
pub async fn decide(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    by: &str,
    note: Option<&str>,
    at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE findings SET status = $2, decided_by = $3, decision_note = $4, decided_at = $5 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(by)
    .bind(note)
    .bind(at)
    .execute(conn)
    .await
    .with_context(|| format!("failed to record the decision on {id}"))?;
    Ok(())
}

/// Links a finding to an incident.
pub async fn link_incident(
    conn: &mut AnyConnection,
    finding_id: &str,
    incident_id: &str,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE findings SET incident_id = $2 WHERE id = $1")
        .bind(finding_id)
        .bind(incident_id)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("failed to link {finding_id} to {incident_id}"))?;
    sqlx::query(
        "INSERT INTO incident_findings (incident_id, finding_id) VALUES ($1, $2) \
         ON CONFLICT (incident_id, finding_id) DO NOTHING",
    )
    .bind(incident_id)
    .bind(finding_id)
    .execute(conn)
    .await
    .with_context(|| format!("failed to link {finding_id} to {incident_id}"))?;
    Ok(())
}

/// Findings reported by a user that are not yet in an incident, newest first.
pub async fn list_open_by_reporter(
    conn: &mut AnyConnection,
    reporter: &str,
) -> anyhow::Result<Vec<FindingRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM findings WHERE reporter = $1 AND incident_id IS NULL \
         AND status <> 'declined' ORDER BY created_at DESC, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reporter)
        .fetch_all(conn)
        .await
        .context("failed to list findings by reporter")?;
    rows.iter()
        .map(from_row)
        .collect::<Result<_, _>>()
        .context("failed to decode findings")
}

/// Replaces the parsed finding kept in `body`.
pub async fn update_body(conn: &mut AnyConnection, id: &str, body: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE findings SET body = $1 WHERE id = $2")
        .bind(body)
        .bind(id)
        .execute(conn)
        .await
        .with_context(|| format!("failed to update finding {id}"))?;
    Ok(())
}
