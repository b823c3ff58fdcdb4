//! Transcripts: each message starts with a `--- @user:role #room` line and
//! runs to the next such line. `#INC` is the room of the most recent incident
//! the bot opened. Files named by `/evidence` are read next to the transcript.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::Utc;
use tracing::warn;

use super::{PLATFORM, ShellAdapter};
use crate::app::App;
use crate::app::auth::Role;
use crate::app::outbox::OutboxWorker;
use crate::chat::{Attachment, ChatEvent};
use crate::store;

/// The room name that stands for the latest incident room.
pub const INCIDENT_ROOM_MARK: &str = "#INC";

/// Environment variable for the crash test: abort the process right after
/// the message with this index (from 0) is stored, before its reply is
/// delivered.
pub const ABORT_AFTER_STORE_ENV: &str = "HUNTBRIDGE_TEST_ABORT_AFTER_STORE";

/// One message of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptMessage {
    pub user: String,
    pub role: Option<Role>,
    pub room: String,
    pub text: String,
    /// Line number of the header, from 1.
    pub line: usize,
}

/// Maps a header role to a role: `hunt`, `ir`, `lead`, `admin` or a full name.
pub fn header_role(text: &str) -> Option<Role> {
    match text.to_ascii_lowercase().as_str() {
        "hunt" | "hunter" => Some(Role::Hunter),
        "ir" | "responder" => Some(Role::Responder),
        "lead" => Some(Role::Lead),
        "admin" => Some(Role::Admin),
        _ => None,
    }
}

/// Parses a transcript; errors name the line.
pub fn parse_script(text: &str) -> anyhow::Result<Vec<ScriptMessage>> {
    let mut messages: Vec<ScriptMessage> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if let Some(header) = line.strip_prefix("--- ") {
            let mut parts = header.split_whitespace();
            let (Some(who), Some(room), None) = (parts.next(), parts.next(), parts.next()) else {
                bail!("line {number}: expected `--- @user:role #room`, found {line:?}");
            };
            let Some(who) = who.strip_prefix('@') else {
                bail!("line {number}: the user must start with @, found {who:?}");
            };
            // The role is the part after the last `:` when it names a role,
            // so Matrix-style IDs (`@ana:example.org:hunt`) keep their colon.
            let (user, role) = match who.rsplit_once(':') {
                Some((user, role_text)) if header_role(role_text).is_some() => {
                    (user, header_role(role_text))
                }
                Some((_, role_text)) if !role_text.contains('.') => {
                    bail!("line {number}: unknown role {role_text:?}; use hunt, ir, lead or admin")
                }
                _ => (who, None),
            };
            if !room.starts_with('#') && !room.starts_with('!') {
                bail!("line {number}: the room must start with #, found {room:?}");
            }
            messages.push(ScriptMessage {
                user: format!("@{user}"),
                role,
                room: room.to_string(),
                text: String::new(),
                line: number,
            });
        } else if let Some(message) = messages.last_mut() {
            if !message.text.is_empty() {
                message.text.push('\n');
            }
            message.text.push_str(line);
        } else if !line.trim().is_empty() {
            bail!("line {number}: text before the first `--- @user:role #room` header");
        }
    }
    for message in &mut messages {
        let trimmed = message.text.trim_end().to_string();
        message.text = trimmed;
    }
    Ok(messages)
}

/// Runs a transcript through the app, delivering the bot's posts after each
/// message. `script_id` makes event IDs stable, so running the same
/// transcript again on the same database handles nothing twice.
#[allow(clippy::too_many_arguments)]
pub async fn run_script(
    app: &App,
    adapter: Arc<ShellAdapter>,
    messages: &[ScriptMessage],
    base_dir: &Path,
    script_id: &str,
    header_roles: bool,
    echo: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let worker = OutboxWorker::new(app.clone(), adapter);
    let abort_after: Option<usize> = std::env::var(ABORT_AFTER_STORE_ENV)
        .ok()
        .and_then(|value| value.parse().ok());

    // Replies stored by an earlier run that stopped before delivering them.
    worker.drain().await?;
    for (index, message) in messages.iter().enumerate() {
        writeln!(
            echo,
            "\n--- {} #{}",
            message.user,
            message.room.trim_start_matches('#')
        )?;
        for line in message.text.lines() {
            writeln!(echo, "{line}")?;
        }
        echo.flush()?;

        let room_id = if message.room == INCIDENT_ROOM_MARK {
            let mut conn = app.store().conn().await?;
            match store::rooms::latest_incident_room(&mut conn, PLATFORM).await? {
                Some(room) => room,
                None => {
                    warn!(line = message.line, "no incident room yet; message skipped");
                    writeln!(
                        echo,
                        "  (no incident room exists yet: message at line {} skipped)",
                        message.line
                    )?;
                    continue;
                }
            }
        } else {
            message.room.clone()
        };
        if let Some(role) = message.role.filter(|_| header_roles) {
            app.directory().grant(&message.user, role);
        }
        let event = ChatEvent {
            platform: PLATFORM.into(),
            event_id: format!("{script_id}#{index}"),
            room_id,
            sender: message.user.clone(),
            text: message.text.clone(),
            attachments: evidence_files(&message.text, base_dir)?,
            received_at: Utc::now(),
        };
        app.handle(event).await?;
        if abort_after == Some(index) {
            // Simulates the process dying after the command is stored and
            // before its reply is delivered.
            std::process::abort();
        }
        worker.drain().await?;
    }
    Ok(())
}

/// Reads the files named by an `/evidence F-n FILE…` message from `base_dir`.
/// Names that are not files are left for the handler to report.
pub fn evidence_files(text: &str, base_dir: &Path) -> anyhow::Result<Vec<Attachment>> {
    let first_line = text.lines().next().unwrap_or("");
    let mut words = first_line.split_whitespace();
    let command = words.next().unwrap_or("").to_lowercase();
    if !matches!(
        command.as_str(),
        "/evidence" | "/evidencia" | "!evidence" | "!evidencia"
    ) {
        return Ok(Vec::new());
    }
    let _finding = words.next();
    let mut attachments = Vec::new();
    let base = base_dir
        .canonicalize()
        .unwrap_or_else(|_| base_dir.to_path_buf());
    for name in words {
        // Only files inside the transcript's folder: a name cannot climb out
        // with `..` or an absolute path.
        let Ok(path) = base.join(name).canonicalize() else {
            continue;
        };
        if !path.starts_with(&base) || !path.is_file() {
            continue;
        }
        let content = std::fs::read(&path)
            .with_context(|| format!("failed to read evidence file {}", path.display()))?;
        attachments.push(Attachment {
            name: path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| name.to_string()),
            mime: mime_for(name).into(),
            content,
        });
    }
    Ok(attachments)
}

fn mime_for(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        "application/json"
    } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        "application/x-ndjson"
    } else if lower.ends_with(".txt") || lower.ends_with(".log") || lower.ends_with(".csv") {
        "text/plain"
    } else if lower.ends_with(".pcap") {
        "application/vnd.tcpdump.pcap"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_headers_and_bodies() {
        let text =
            "--- @ana:hunt #caza\n/finding A\nhosts: x\n--- @luis:ir #ir\n/handoff F-1 accept\n";
        let messages = parse_script(text).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].user, "@ana");
        assert_eq!(messages[0].role, Some(Role::Hunter));
        assert_eq!(messages[0].text, "/finding A\nhosts: x");
        assert_eq!(messages[1].room, "#ir");
        assert_eq!(messages[1].line, 4);
    }

    #[test]
    fn parse_rejects_unknown_role_with_line() {
        let error = parse_script("--- @ana:boss #caza\nhola").unwrap_err();
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn parse_keeps_matrix_user_ids() {
        let messages =
            parse_script("--- @ana:example.org:hunt #caza\nhola\n--- @luis:example.org #ir\nx")
                .unwrap();
        assert_eq!(messages[0].user, "@ana:example.org");
        assert_eq!(messages[0].role, Some(Role::Hunter));
        assert_eq!(messages[1].user, "@luis:example.org");
        assert_eq!(messages[1].role, None);
    }

    #[test]
    fn evidence_stays_in_transcript_folder() {
        let root = tempfile::tempdir().unwrap();
        let inner = root.path().join("case");
        std::fs::create_dir(&inner).unwrap();
        std::fs::write(root.path().join("secret.txt"), "x").unwrap();
        std::fs::write(inner.join("events.jsonl"), "{}").unwrap();
        let files = evidence_files(
            "/evidence F-1 events.jsonl ../secret.txt /etc/hostname",
            &inner,
        )
        .unwrap();
        let names: Vec<&str> = files.iter().map(|file| file.name.as_str()).collect();
        assert_eq!(names, ["events.jsonl"]);
    }

    #[test]
    fn parse_rejects_text_before_header() {
        assert!(parse_script("hola\n--- @ana:hunt #caza\n/x").is_err());
    }
}
