//! The shell adapter: a local way to try the bot and to replay scripted
//! conversations. Messages come from the terminal or from a transcript;
//! what the bot posts is printed with the room it went to, and files the bot
//! attaches are saved under an output folder.
//!
//! Deliveries are idempotent like Matrix transaction IDs: every delivered
//! outbox key is appended to `delivered.jsonl` in the output folder, and a
//! key seen there is not printed again after a restart.

mod interactive;
mod script;

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use serde::{Deserialize, Serialize};

pub use interactive::run_interactive;
pub use script::{ScriptMessage, parse_script, run_script};

use super::{ChatAdapter, Delivered, Delivery, DeliveryError};
use crate::render::{Format, strip_controls};

/// The platform name of shell events and outbox rows.
pub const PLATFORM: &str = "shell";

/// Prints deliveries and saves files under an output folder.
pub struct ShellAdapter {
    out_dir: PathBuf,
    output: Mutex<Box<dyn Write + Send>>,
    delivered: Mutex<HashMap<String, Delivered>>,
}

#[derive(Serialize, Deserialize)]
struct DeliveredEntry {
    key: String,
    delivered: Delivered,
}

impl ShellAdapter {
    /// Opens the adapter on `out_dir`, reloading the keys delivered before.
    pub fn new(out_dir: &Path, output: Box<dyn Write + Send>) -> anyhow::Result<Self> {
        fs::create_dir_all(out_dir)
            .with_context(|| format!("failed to create output folder {}", out_dir.display()))?;
        let mut delivered = HashMap::new();
        let log = out_dir.join("delivered.jsonl");
        if log.exists() {
            let file = fs::File::open(&log)
                .with_context(|| format!("failed to open {}", log.display()))?;
            for line in BufReader::new(file).lines() {
                let line = line?;
                // A line cut by a crash mid-write is skipped.
                if let Ok(entry) = serde_json::from_str::<DeliveredEntry>(&line) {
                    delivered.insert(entry.key, entry.delivered);
                }
            }
        }
        Ok(Self {
            out_dir: out_dir.to_path_buf(),
            output: Mutex::new(output),
            delivered: Mutex::new(delivered),
        })
    }

    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    fn print(&self, text: &str) {
        let mut output = self
            .output
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let _ = writeln!(output, "{text}");
        let _ = output.flush();
    }

    fn remember(&self, key: &str, delivered: &Delivered) -> Result<(), DeliveryError> {
        let entry = DeliveredEntry {
            key: key.to_string(),
            delivered: delivered.clone(),
        };
        let line = serde_json::to_string(&entry).map_err(|error| DeliveryError::Permanent {
            reason: error.to_string(),
        })?;
        let path = self.out_dir.join("delivered.jsonl");
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|error| DeliveryError::Retry {
                reason: format!("cannot write {}: {error}", path.display()),
                after: None,
            })?;
        writeln!(file, "{line}").map_err(|error| DeliveryError::Retry {
            reason: error.to_string(),
            after: None,
        })?;
        self.delivered
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(key.to_string(), delivered.clone());
        Ok(())
    }

    fn save_file(
        &self,
        room_id: &str,
        name: &str,
        content: &[u8],
    ) -> Result<PathBuf, DeliveryError> {
        let folder = self
            .out_dir
            .join("files")
            .join(safe_name(room_id.trim_start_matches('#')));
        fs::create_dir_all(&folder).map_err(|error| DeliveryError::Retry {
            reason: format!("cannot create {}: {error}", folder.display()),
            after: None,
        })?;
        let path = folder.join(safe_name(name));
        fs::write(&path, content).map_err(|error| DeliveryError::Retry {
            reason: format!("cannot write {}: {error}", path.display()),
            after: None,
        })?;
        Ok(path)
    }
}

/// Keeps letters, digits, `.`, `-` and `_` so a name cannot leave its folder.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    if trimmed.is_empty() {
        "file".into()
    } else {
        trimmed.to_string()
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  │ {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ChatAdapter for ShellAdapter {
    fn platform(&self) -> &str {
        PLATFORM
    }

    fn format(&self) -> Format {
        Format::Plain
    }

    async fn deliver(&self, key: &str, delivery: Delivery) -> Result<Delivered, DeliveryError> {
        let known = self
            .delivered
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(key)
            .cloned();
        if let Some(delivered) = known {
            return Ok(delivered);
        }
        let delivered = match delivery {
            Delivery::Post {
                room_id,
                message,
                pin,
                ..
            } => {
                let header = if pin {
                    format!("  ┌ huntbridge → {room_id} (fijado / pinned)")
                } else {
                    format!("  ┌ huntbridge → {room_id}")
                };
                self.print(&format!("{header}\n{}\n  └", indent(&message.plain)));
                Delivered {
                    room_id: Some(room_id),
                    message_id: Some(key.to_string()),
                }
            }
            Delivery::CreateRoom {
                alias,
                name,
                topic,
                invite,
                encrypted,
            } => {
                let room_id = format!("#{}", safe_name(&alias));
                self.print(&format!(
                    "  ★ sala creada / room created: {room_id}\n  │ {}\n  │ {}\n  │ invitados / invited: {}{}\n  └",
                    strip_controls(&name),
                    strip_controls(&topic),
                    invite.join(", "),
                    if encrypted { "\n  │ privada y cifrada / private and encrypted" } else { "" },
                ));
                Delivered {
                    room_id: Some(room_id),
                    message_id: None,
                }
            }
            Delivery::Upload {
                room_id,
                name,
                content,
                caption,
                ..
            } => {
                let path = self.save_file(&room_id, &name, &content)?;
                let mut text = format!(
                    "  ┌ huntbridge → {room_id}: archivo / file {} ({} bytes)\n  │ → {}",
                    strip_controls(&name),
                    content.len(),
                    path.display()
                );
                if let Some(caption) = caption {
                    text.push('\n');
                    text.push_str(&indent(&caption.plain));
                }
                self.print(&format!("{text}\n  └"));
                Delivered {
                    room_id: Some(room_id),
                    message_id: Some(key.to_string()),
                }
            }
        };
        self.remember(key, &delivered)?;
        Ok(delivered)
    }
}
