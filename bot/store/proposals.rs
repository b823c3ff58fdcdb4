//! Rule proposals (R-n): Sigma rules, blocklists and new hunt cases created
//! when an incident closes. `body` is the JSON of the domain proposal.

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::AnyConnection;

/// A stored proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalRow {
    pub id: String,
    pub incident_id: String,
    /// `sigma`, `blocklist` or `hunt_case`.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// `proposed`, `approved`, `rejected` or `exported`.
    pub status: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub decided_at: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, incident_id, kind, title, body, status, decided_by, decision_note, \
    decided_at, created_at";

fn from_row(row: &AnyRow) -> Result<ProposalRow, sqlx::Error> {
    Ok(ProposalRow {
        id: row.try_get("id")?,
        incident_id: row.try_get("incident_id")?,
        kind: row.try_get("kind")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        status: row.try_get("status")?,
        decided_by: row.try_get("decided_by")?,
        decision_note: row.try_get("decision_note")?,
        decided_at: row.try_get("decided_at")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, proposal: &ProposalRow) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO proposals (id, incident_id, kind, title, body, status, decided_by, \
         decision_note, decided_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&proposal.id)
    .bind(&proposal.incident_id)
    .bind(&proposal.kind)
    .bind(&proposal.title)
    .bind(&proposal.body)
    .bind(&proposal.status)
    .bind(&proposal.decided_by)
    .bind(&proposal.decision_note)
    .bind(proposal.decided_at)
    .bind(proposal.created_at)
    .execute(conn)
    .await
    .with_context(|| format!("failed to store proposal {}", proposal.id))?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> anyhow::Result<Option<ProposalRow>> {
    let sql = format!("SELECT {COLUMNS} FROM proposals WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
        .with_context(|| format!("failed to read proposal {id}"))?;
    row.as_ref()
        .map(from_row)
        .transpose()
        .context("failed to decode a proposal row")
}

/// Proposals of one incident, or of all incidents when `incident_id` is
/// `None`, in creation order.
pub async fn list(
    conn: &mut AnyConnection,
    incident_id: Option<&str>,
) -> anyhow::Result<Vec<ProposalRow>> {
    let rows = match incident_id {
        Some(incident) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM proposals WHERE incident_id = $1 ORDER BY created_at, LENGTH(id), id"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(incident)
                .fetch_all(conn)
                .await
        }
        None => {
            let sql = format!("SELECT {COLUMNS} FROM proposals ORDER BY created_at, LENGTH(id), id");
            sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(conn).await
        }
    }
    .context("failed to list proposals")?;
    rows.iter()
        .map(from_row)
        .collect::<Result<_, _>>()
        .context("failed to decode proposal rows")
}

/// Approved or exported proposals of a kind, in decision order.
pub async fn list_approved(
    conn: &mut AnyConnection,
    kind: &str,
) -> anyhow::Result<Vec<ProposalRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM proposals WHERE kind = $1 AND status IN ('approved', 'exported') \
         ORDER BY decided_at, LENGTH(id), id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(kind)
        .fetch_all(conn)
        .await
        .context("failed to list approved proposals")?;
    rows.iter()
        .map(from_row)
        .collect::<Result<_, _>>()
        .context("failed to decode proposal rows")
}

/// Records a decision (`approved`, `rejected` or `exported`).
pub async fn decide(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    by: &str,
    note: Option<&str>,
    at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE proposals SET status = $2, decided_by = $3, decision_note = $4, decided_at = $5 \
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

/// Marks approved proposals as exported.
pub async fn mark_exported(conn: &mut AnyConnection, id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE proposals SET status = 'exported' WHERE id = $1 AND status = 'approved'")
        .bind(id)
        .execute(conn)
        .await
        .with_context(|| format!("failed to mark {id} exported"))?;
    Ok(())
}
