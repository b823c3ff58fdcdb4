//! Files: evidence that people attach and files the bot generates (IOC
//! lists, reports). Contents are stored in the database with their SHA-256.

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::AnyConnection;

/// A stored file without its content.
#[derive(Debug, Clone, PartialEq)]
pub struct FileMeta {
    pub id: i64,
    pub finding_id: Option<String>,
    pub incident_id: Option<String>,
    pub name: String,
    pub mime: String,
    pub sha256: String,
    pub size: i64,
    pub generated: bool,
    pub added_by: String,
    pub created_at: i64,
}

/// A file to store.
#[derive(Debug, Clone)]
pub struct NewFile<'a> {
    pub finding_id: Option<&'a str>,
    pub incident_id: Option<&'a str>,
    pub name: &'a str,
    pub mime: &'a str,
    pub sha256: &'a str,
    pub content: &'a [u8],
    pub generated: bool,
    pub added_by: &'a str,
    pub created_at: i64,
}

const META_COLUMNS: &str =
    "id, finding_id, incident_id, name, mime, sha256, size, generated, added_by, created_at";

fn meta_from_row(row: &AnyRow) -> Result<FileMeta, sqlx::Error> {
    let generated: i64 = row.try_get("generated")?;
    Ok(FileMeta {
        id: row.try_get("id")?,
        finding_id: row.try_get("finding_id")?,
        incident_id: row.try_get("incident_id")?,
        name: row.try_get("name")?,
        mime: row.try_get("mime")?,
        sha256: row.try_get("sha256")?,
        size: row.try_get("size")?,
        generated: generated != 0,
        added_by: row.try_get("added_by")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Stores a file and returns its ID.
pub async fn insert(conn: &mut AnyConnection, file: &NewFile<'_>) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO files (finding_id, incident_id, name, mime, sha256, size, content, \
         generated, added_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         RETURNING id",
    )
    .bind(file.finding_id)
    .bind(file.incident_id)
    .bind(file.name)
    .bind(file.mime)
    .bind(file.sha256)
    .bind(file.content.len() as i64)
    .bind(file.content)
    .bind(i64::from(file.generated))
    .bind(file.added_by)
    .bind(file.created_at)
    .fetch_one(conn)
    .await
    .with_context(|| format!("failed to store file {}", file.name))
}

/// A file's metadata and content.
pub async fn get(conn: &mut AnyConnection, id: i64) -> anyhow::Result<Option<(FileMeta, Vec<u8>)>> {
    let sql = format!("SELECT {META_COLUMNS}, content FROM files WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
        .with_context(|| format!("failed to read file {id}"))?;
    let Some(row) = row else { return Ok(None) };
    let meta = meta_from_row(&row).context("failed to decode a file row")?;
    let content: Vec<u8> = row.try_get("content")?;
    Ok(Some((meta, content)))
}

/// Evidence files attached to a finding, oldest first.
pub async fn list_for_finding(
    conn: &mut AnyConnection,
    finding_id: &str,
) -> anyhow::Result<Vec<FileMeta>> {
    let sql = format!("SELECT {META_COLUMNS} FROM files WHERE finding_id = $1 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(finding_id)
        .fetch_all(conn)
        .await
        .with_context(|| format!("failed to list files of {finding_id}"))?;
    rows.iter()
        .map(meta_from_row)
        .collect::<Result<_, _>>()
        .context("failed to decode file rows")
}

/// Files of an incident: its own and those of its findings, oldest first.
pub async fn list_for_incident(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> anyhow::Result<Vec<FileMeta>> {
    let sql = format!(
        "SELECT {META_COLUMNS} FROM files WHERE incident_id = $1 OR finding_id IN \
         (SELECT finding_id FROM incident_findings WHERE incident_id = $1) ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(incident_id)
        .fetch_all(conn)
        .await
        .with_context(|| format!("failed to list files of {incident_id}"))?;
    rows.iter()
        .map(meta_from_row)
        .collect::<Result<_, _>>()
        .context("failed to decode file rows")
}
