//! Indicators attached to findings and incidents, stored refanged.

use anyhow::Context;
use sqlx::Row;

use super::AnyConnection;

/// A stored indicator. `flags` is a JSON array of flag names.
#[derive(Debug, Clone, PartialEq)]
pub struct IocRow {
    pub finding_id: Option<String>,
    pub incident_id: Option<String>,
    pub kind: String,
    pub value: String,
    pub flags: String,
    /// Where it came from: `finding`, `evidence:<file>` or `manual`.
    pub source: String,
    pub added_by: String,
    pub created_at: i64,
}

pub async fn insert(conn: &mut AnyConnection, ioc: &IocRow) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO iocs (finding_id, incident_id, kind, value, flags, source, added_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&ioc.finding_id)
    .bind(&ioc.incident_id)
    .bind(&ioc.kind)
    .bind(&ioc.value)
    .bind(&ioc.flags)
    .bind(&ioc.source)
    .bind(&ioc.added_by)
    .bind(ioc.created_at)
    .execute(conn)
    .await
    .context("failed to store an indicator")?;
    Ok(())
}

/// Indicators of an incident: its own and those of its findings, oldest first,
/// one row per kind and value.
pub async fn list_for_incident(
    conn: &mut AnyConnection,
    incident_id: &str,
) -> anyhow::Result<Vec<IocRow>> {
    let rows = sqlx::query(
        "SELECT finding_id, incident_id, kind, value, flags, source, added_by, created_at FROM iocs \
         WHERE incident_id = $1 OR finding_id IN \
         (SELECT finding_id FROM incident_findings WHERE incident_id = $1) ORDER BY id",
    )
    .bind(incident_id)
    .fetch_all(conn)
    .await
    .with_context(|| format!("failed to list indicators of {incident_id}"))?;
    let mut seen = std::collections::HashSet::new();
    let mut iocs = Vec::new();
    for row in rows {
        let ioc = IocRow {
            finding_id: row.try_get("finding_id")?,
            incident_id: row.try_get("incident_id")?,
            kind: row.try_get("kind")?,
            value: row.try_get("value")?,
            flags: row.try_get("flags")?,
            source: row.try_get("source")?,
            added_by: row.try_get("added_by")?,
            created_at: row.try_get("created_at")?,
        };
        if seen.insert((ioc.kind.clone(), ioc.value.clone())) {
            iocs.push(ioc);
        }
    }
    Ok(iocs)
}

/// A finding or incident that contains an indicator, with the TLP of the case
/// (the incident's when there is one, else the finding's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub finding: Option<String>,
    pub incident: Option<String>,
    pub tlp: Option<String>,
}

/// The cases [`overlaps`] read, and whether they are all there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlaps {
    pub cases: Vec<Overlap>,
    pub complete: bool,
}

/// Other findings and incidents that hold the same indicator value, the most
/// recent first, without the ones given to exclude. Only the `limit` most
/// recent mentions of the value are read, excluded ones included;
/// `complete` is false when there may be older ones.
pub async fn overlaps(
    conn: &mut AnyConnection,
    kind: &str,
    value: &str,
    exclude_finding: Option<&str>,
    exclude_incident: Option<&str>,
    limit: i64,
) -> anyhow::Result<Overlaps> {
    let rows = sqlx::query(
        "SELECT i.finding_id, COALESCE(i.incident_id, f.incident_id) AS incident_id, \
                COALESCE(n.tlp, f.tlp) AS tlp, MAX(i.id) AS latest, COUNT(*) AS mentions \
         FROM (SELECT id, finding_id, incident_id FROM iocs \
               WHERE kind = $1 AND value = $2 ORDER BY id DESC LIMIT $3) i \
         LEFT JOIN findings f ON f.id = i.finding_id \
         LEFT JOIN incidents n ON n.id = COALESCE(i.incident_id, f.incident_id) \
         GROUP BY i.finding_id, COALESCE(i.incident_id, f.incident_id), COALESCE(n.tlp, f.tlp) \
         ORDER BY latest DESC",
    )
    .bind(kind)
    .bind(value)
    .bind(limit)
    .fetch_all(conn)
    .await
    .context("failed to look up indicator overlaps")?;
    let mut found = Vec::new();
    let mut mentions = 0i64;
    for row in rows {
        mentions += row.try_get::<i64, _>("mentions")?;
        let finding: Option<String> = row.try_get("finding_id")?;
        let incident: Option<String> = row.try_get("incident_id")?;
        let same_finding = finding.is_some() && finding.as_deref() == exclude_finding;
        let same_incident = incident.is_some() && incident.as_deref() == exclude_incident;
        if !same_finding && !same_incident {
            found.push(Overlap {
                finding,
                incident,
                tlp: row.try_get("tlp")?,
            });
        }
    }
    Ok(Overlaps {
        cases: found,
        complete: mentions < limit,
    })
}

/// `(kind, value)` of every indicator of a finding.
pub async fn list_for_finding(
    conn: &mut AnyConnection,
    finding_id: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT kind, value FROM iocs WHERE finding_id = $1")
        .bind(finding_id)
        .fetch_all(conn)
        .await
        .with_context(|| format!("failed to list indicators of {finding_id}"))?;
    rows.iter()
        .map(|row| Ok((row.try_get("kind")?, row.try_get("value")?)))
        .collect::<Result<_, sqlx::Error>>()
        .context("failed to decode indicator rows")
}

/// Adds `flag` to the flags of a finding's indicator unless it has it.
/// Returns whether a row changed.
pub async fn add_flag(
    conn: &mut AnyConnection,
    finding_id: &str,
    kind: &str,
    value: &str,
    flag: &str,
) -> anyhow::Result<bool> {
    let rows = sqlx::query(
        "SELECT id, flags FROM iocs WHERE finding_id = $1 AND kind = $2 AND value = $3",
    )
    .bind(finding_id)
    .bind(kind)
    .bind(value)
    .fetch_all(&mut *conn)
    .await
    .with_context(|| format!("failed to read the flags of an indicator of {finding_id}"))?;
    let mut changed = false;
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let flags: String = row.try_get("flags")?;
        let mut list: Vec<String> = serde_json::from_str(&flags).unwrap_or_default();
        if list.iter().any(|existing| existing == flag) {
            continue;
        }
        list.push(flag.to_string());
        list.sort();
        sqlx::query("UPDATE iocs SET flags = $1 WHERE id = $2")
            .bind(serde_json::to_string(&list)?)
            .bind(id)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("failed to flag an indicator of {finding_id}"))?;
        changed = true;
    }
    Ok(changed)
}
