//! Interactive use: type messages as a person in a room. Lines starting with
//! `:` control the shell (`:user ana:hunt`, `:room #ir`, `:help`, `:quit`);
//! a line ending in `\` continues on the next line, an open ``` block
//! continues until it is closed, and a `/finding` runs until an empty line.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use chrono::Utc;

use super::script::{INCIDENT_ROOM_MARK, evidence_files, header_role};
use super::{PLATFORM, ShellAdapter};
use crate::app::App;
use crate::app::auth::Role;
use crate::app::outbox::OutboxWorker;
use crate::chat::ChatEvent;
use crate::store;

const SHELL_HELP: &str = "\
:user NAME[:ROLE]   speak as @NAME; ROLE is hunt, ir, lead or admin
:room #ROOM         speak in #ROOM (#INC is the latest incident room)
:help               this help
:quit               leave (Ctrl-D works too)
A line ending in \\ continues on the next line; an open ``` block continues until closed;
a /finding continues until an empty line.";

/// Runs the interactive shell on stdin until `:quit` or end of input.
pub async fn run_interactive(
    app: &App,
    adapter: Arc<ShellAdapter>,
    header_roles: bool,
    base_dir: &Path,
) -> anyhow::Result<()> {
    let worker = OutboxWorker::new(app.clone(), adapter);
    worker.drain().await?;
    let mut user = "@ana".to_string();
    let mut room = "#caza".to_string();
    if header_roles {
        app.directory().grant(&user, crate::app::auth::Role::Hunter);
    }
    println!("huntbridge shell · :help for shell commands, /help for bot commands");
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        print!("{}@{}> ", user.trim_start_matches('@'), room);
        std::io::stdout().flush()?;
        let Some(first) = lines.next() else { break };
        let mut text = first?;

        // Continuations: trailing backslash, an unclosed code fence, or a
        // finding, which runs until an empty line.
        let first_word = text.split_whitespace().next().unwrap_or("").to_lowercase();
        let multi_line = matches!(
            first_word.as_str(),
            "/finding" | "/hallazgo" | "!finding" | "!hallazgo"
        );
        loop {
            let fences = text.matches("```").count();
            let last_line_empty =
                text.ends_with('\n') || text.lines().last().is_some_and(|l| l.trim().is_empty());
            if text.ends_with('\\') {
                text.pop();
            } else if fences % 2 == 0 && (!multi_line || last_line_empty) {
                break;
            }
            print!("… ");
            std::io::stdout().flush()?;
            let Some(next) = lines.next() else { break };
            text.push('\n');
            text.push_str(&next?);
        }

        let trimmed = text.trim();
        if let Some(control) = trimmed.strip_prefix(':') {
            let (word, rest) = control.split_once(' ').unwrap_or((control, ""));
            match word {
                "quit" | "q" | "exit" => break,
                "help" | "h" => println!("{SHELL_HELP}"),
                "user" => match parse_user_switch(rest) {
                    Ok((name, role)) => {
                        user = name;
                        match role {
                            Some(role) if header_roles => app.directory().grant(&user, role),
                            Some(_) => println!(
                                "role ignored: this shell takes roles from [users] in the configuration"
                            ),
                            None => {}
                        }
                    }
                    Err(message) => println!("{message}"),
                },
                "room" => {
                    let name = rest.trim();
                    if name.is_empty() {
                        println!("usage: :room #ROOM");
                        continue;
                    }
                    room = if name.starts_with('#') {
                        name.to_string()
                    } else {
                        format!("#{name}")
                    };
                }
                other => println!("unknown shell command :{other}; try :help"),
            }
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }

        let room_id = if room == INCIDENT_ROOM_MARK {
            let mut conn = app.store().conn().await?;
            match store::rooms::latest_incident_room(&mut conn, PLATFORM).await? {
                Some(room) => room,
                None => {
                    println!("no incident room exists yet");
                    continue;
                }
            }
        } else {
            room.clone()
        };
        let event = ChatEvent {
            platform: PLATFORM.into(),
            event_id: format!("interactive-{}", uuid::Uuid::new_v4()),
            room_id,
            sender: user.clone(),
            attachments: evidence_files(&text, base_dir)?,
            text,
            received_at: Utc::now(),
        };
        app.handle(event).await?;
        worker.drain().await?;
    }
    Ok(())
}

/// Parses the argument of `:user NAME[:ROLE]` into the sender ID and the
/// role, or returns the message to print.
fn parse_user_switch(argument: &str) -> Result<(String, Option<Role>), String> {
    let argument = argument.trim();
    let (name, role) = match argument.split_once(':') {
        Some((name, role)) => (name.trim(), role.trim()),
        None => (argument, ""),
    };
    let name = name.trim_start_matches('@');
    if name.is_empty() {
        return Err("usage: :user NAME[:ROLE]".into());
    }
    let role = if role.is_empty() {
        None
    } else {
        let parsed = header_role(role).ok_or_else(|| {
            format!("unknown role {role:?} in :user; use hunt, ir, lead or admin")
        })?;
        Some(parsed)
    };
    Ok((format!("@{name}"), role))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_switch_with_role() {
        assert_eq!(
            parse_user_switch(" luis:ir "),
            Ok(("@luis".to_string(), Some(Role::Responder)))
        );
        assert_eq!(
            parse_user_switch("@marta:lead"),
            Ok(("@marta".to_string(), Some(Role::Lead)))
        );
        assert_eq!(parse_user_switch("ana"), Ok(("@ana".to_string(), None)));
    }

    #[test]
    fn user_switch_rejects_unknown_role() {
        let message = parse_user_switch("luis:boss").unwrap_err();
        assert!(message.contains("\"boss\""), "{message}");
        assert!(message.contains("hunt, ir, lead or admin"), "{message}");
    }

    #[test]
    fn user_switch_needs_a_name() {
        assert_eq!(
            parse_user_switch(" :ir"),
            Err("usage: :user NAME[:ROLE]".to_string())
        );
        assert_eq!(
            parse_user_switch(""),
            Err("usage: :user NAME[:ROLE]".to_string())
        );
    }
}
