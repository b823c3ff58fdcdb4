//! Incident tasks, numbered per incident.

use anyhow::Context;
use sqlx::Row;

use super::AnyConnection;

/// A stored task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub incident_id: String,
    pub number: i64,
    pub text: String,
    pub status: String,
    pub created_by: String,
    pub created_at: i64,
    pub done_by: Option<String>,
    pub done_at: Option<i64>,
}

/// Adds an open task and returns its number.
pub async fn add(
    conn: &mut AnyConnection,
    incident_id: &str,
    text: &str,
    created_by: &str,
    at: i64,
) -> anyhow::Result<i64> {
    let number: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM tasks WHERE incident_id = $1")
            .bind(incident_id)
            .fetch_one(&mut *conn)
            .await
            .context("failed to number a task")?;
    sqlx::query(
        "INSERT INTO tasks (incident_id, number, text, status, created_by, created_at) \
         VALUES ($1, $2, $3, 'open', $4, $5)",
    )
    .bind(incident_id)
    .bind(number)
    .bind(text)
    .bind(created_by)
    .bind(at)
    .execute(conn)
    .await
    .with_context(|| format!("failed to add a task to {incident_id}"))?;
    Ok(number)
}

/// Marks a task done. Returns the task as it was before, or `None` if missing.
pub async fn complete(
    conn: &mut AnyConnection,
    incident_id: &str,
    number: i64,
    done_by: &str,
    at: i64,
) -> anyhow::Result<Option<TaskRow>> {
    let before = list(&mut *conn, incident_id)
        .await?
        .into_iter()
        .find(|task| task.number == number);
    if before.as_ref().is_some_and(|task| task.status == "open") {
        sqlx::query(
            "UPDATE tasks SET status = 'done', done_by = $3, done_at = $4 \
             WHERE incident_id = $1 AND number = $2",
        )
        .bind(incident_id)
        .bind(number)
        .bind(done_by)
        .bind(at)
        .execute(conn)
        .await
        .with_context(|| format!("failed to complete task {number} of {incident_id}"))?;
    }
    Ok(before)
}

/// Tasks of an incident in number order.
pub async fn list(conn: &mut AnyConnection, incident_id: &str) -> anyhow::Result<Vec<TaskRow>> {
    let rows = sqlx::query(
        "SELECT incident_id, number, text, status, created_by, created_at, done_by, done_at \
         FROM tasks WHERE incident_id = $1 ORDER BY number",
    )
    .bind(incident_id)
    .fetch_all(conn)
    .await
    .with_context(|| format!("failed to list tasks of {incident_id}"))?;
    rows.iter()
        .map(|row| {
            Ok(TaskRow {
                incident_id: row.try_get("incident_id")?,
                number: row.try_get("number")?,
                text: row.try_get("text")?,
                status: row.try_get("status")?,
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
                done_by: row.try_get("done_by")?,
                done_at: row.try_get("done_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .context("failed to decode task rows")
}
