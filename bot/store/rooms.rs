//! Per-room settings (language) and the binding of incident rooms to incidents.

use anyhow::Context;

use super::AnyConnection;

/// Returns the language set for a room with `/lang`, if any.
pub async fn lang(
    conn: &mut AnyConnection,
    platform: &str,
    room_id: &str,
) -> anyhow::Result<Option<String>> {
    let lang: Option<Option<String>> =
        sqlx::query_scalar("SELECT lang FROM rooms WHERE platform = $1 AND room_id = $2")
            .bind(platform)
            .bind(room_id)
            .fetch_optional(conn)
            .await
            .context("failed to read the room language")?;
    Ok(lang.flatten())
}

pub async fn set_lang(
    conn: &mut AnyConnection,
    platform: &str,
    room_id: &str,
    lang: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO rooms (platform, room_id, lang) VALUES ($1, $2, $3) \
         ON CONFLICT (platform, room_id) DO UPDATE SET lang = excluded.lang",
    )
    .bind(platform)
    .bind(room_id)
    .bind(lang)
    .execute(conn)
    .await
    .context("failed to store the room language")?;
    Ok(())
}

/// Binds a platform room to an incident and gives it the incident's language.
pub async fn bind_incident(
    conn: &mut AnyConnection,
    platform: &str,
    room_id: &str,
    incident_id: &str,
    lang: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO rooms (platform, room_id, lang, incident_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (platform, room_id) DO UPDATE SET incident_id = excluded.incident_id",
    )
    .bind(platform)
    .bind(room_id)
    .bind(lang)
    .bind(incident_id)
    .execute(conn)
    .await
    .with_context(|| format!("failed to bind room {room_id} to {incident_id}"))?;
    Ok(())
}

/// Returns the room bound to an incident on a platform.
pub async fn incident_room(
    conn: &mut AnyConnection,
    platform: &str,
    incident_id: &str,
) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("SELECT room_id FROM rooms WHERE platform = $1 AND incident_id = $2")
        .bind(platform)
        .bind(incident_id)
        .fetch_optional(conn)
        .await
        .context("failed to look up the incident room")
}

/// Returns the incident a room is bound to.
pub async fn incident_of_room(
    conn: &mut AnyConnection,
    platform: &str,
    room_id: &str,
) -> anyhow::Result<Option<String>> {
    let incident: Option<Option<String>> =
        sqlx::query_scalar("SELECT incident_id FROM rooms WHERE platform = $1 AND room_id = $2")
            .bind(platform)
            .bind(room_id)
            .fetch_optional(conn)
            .await
            .context("failed to look up the room's incident")?;
    Ok(incident.flatten())
}

/// Returns the room of the most recently opened incident on a platform.
pub async fn latest_incident_room(
    conn: &mut AnyConnection,
    platform: &str,
) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT r.room_id FROM rooms r JOIN incidents i ON i.id = r.incident_id \
         WHERE r.platform = $1 ORDER BY i.created_at DESC, i.id DESC LIMIT 1",
    )
    .bind(platform)
    .fetch_optional(conn)
    .await
    .context("failed to look up the latest incident room")
}
