//! `/evidence F-n FILE…`: stores the attached files as evidence of a finding
//! with their SHA-256, adds the indicators found in text files, and, when the
//! finding is already in an incident, uploads them to the incident room.

use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::warn;

use super::{finding_id, first_word};
use crate::app::MAX_FILE_BYTES;
use crate::app::context::Ctx;
use crate::app::effects::{Effect, Target};
use crate::app::error::{CommandResult, UserError};
use crate::app::view::{self, kind};
use crate::domain::finding::ParsedFinding;
use crate::domain::ioc::{IocFlag, IocKind};
use crate::domain::metrics::earliest_activity;
use crate::domain::rules::WindowsFiles;
use crate::domain::types::Tlp;
use crate::store::{self, files::NewFile, iocs::IocRow};

/// The maximum number of files in one `/evidence`.
const MAX_FILES_PER_COMMAND: usize = 10;
/// The maximum number of indicators stored from one file. The rest are not
/// stored.
const MAX_IOCS_PER_FILE: usize = 500;

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let (id_text, names) = first_word(args);
    if id_text.is_empty() {
        return Err(UserError::new("missing_finding_id")
            .arg("command", ctx.command_text("evidence"))
            .into());
    }
    let id = finding_id(id_text)?;
    let finding = store::findings::get(ctx.conn, &id)
        .await?
        .ok_or_else(|| UserError::new("finding_not_found").arg("id", &id))?;
    let attachments = ctx.event.attachments.clone();
    if attachments.is_empty() {
        return Err(if names.is_empty() {
            UserError::new("missing_attachment_no_name").arg("id", &id)
        } else {
            UserError::new("missing_attachment").arg("value", names)
        }
        .into());
    }
    if attachments.len() > MAX_FILES_PER_COMMAND {
        return Err(UserError::new("too_many")
            .arg("field", "@field.files")
            .arg("count", attachments.len())
            .arg("max", MAX_FILES_PER_COMMAND)
            .into());
    }
    for attachment in &attachments {
        if attachment.content.len() > MAX_FILE_BYTES {
            return Err(UserError::new("file_too_large")
                .arg("name", &attachment.name)
                .arg("size", attachment.content.len())
                .arg("max", MAX_FILE_BYTES)
                .into());
        }
    }

    let existing = store::iocs::list_for_finding(ctx.conn, &id).await?;
    let now = ctx.now_millis();
    let actor = ctx.actor.id.clone();
    let mut added_files = Vec::new();
    let mut new_iocs = 0usize;
    // The cards and the incident summary show the parsed finding, so the
    // flags added below go into its body too, written once after the loop.
    let known_good = view::flag_code(IocFlag::KnownGood);
    let mut parsed = match serde_json::from_str::<ParsedFinding>(&finding.body) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            warn!(finding = %id, error = %error, "stored finding body is invalid, its flags stay as they are");
            None
        }
    };
    let mut body_changed = false;
    for attachment in &attachments {
        let sha256 = hex::encode(Sha256::digest(&attachment.content));
        let file_id = store::files::insert(
            ctx.conn,
            &NewFile {
                finding_id: Some(&id),
                incident_id: None,
                name: &attachment.name,
                mime: &attachment.mime,
                sha256: &sha256,
                content: &attachment.content,
                generated: false,
                added_by: &actor,
                created_at: now,
            },
        )
        .await?;

        // Text evidence is scanned for indicators and for the first activity.
        let mut first_activity = None;
        if let Ok(text) = std::str::from_utf8(&attachment.content) {
            first_activity = earliest_activity(text, ctx.now).map(store::to_millis);
            let source = format!("evidence:{}", attachment.name);
            // Indicators the file shows to be Windows's own files get the
            // known_good flag, also those the finding listed before.
            let windows = WindowsFiles::read(&[text]);
            for (kind, value) in &existing {
                let listed = serde_json::from_value::<IocKind>(json!(kind));
                if listed.is_ok_and(|listed| windows.contains(listed, value)) {
                    store::iocs::add_flag(ctx.conn, &id, kind, value, &known_good).await?;
                }
            }
            if let Some(parsed) = parsed.as_mut() {
                body_changed |= windows.flag(&mut parsed.iocs) > 0;
            }
            let mut extracted = ctx.shared.extractor.extract(text);
            extracted.truncate(MAX_IOCS_PER_FILE);
            windows.flag(&mut extracted);
            for ioc in extracted {
                let code = view::kind_code(ioc.kind);
                if existing
                    .iter()
                    .any(|(kind, value)| *kind == code && *value == ioc.value)
                {
                    continue;
                }
                let row = IocRow {
                    finding_id: Some(id.clone()),
                    incident_id: None,
                    kind: code.clone(),
                    value: ioc.value.clone(),
                    flags: serde_json::to_string(&ioc.flags).map_err(anyhow::Error::from)?,
                    source: source.clone(),
                    added_by: actor.clone(),
                    created_at: now,
                };
                store::iocs::insert(ctx.conn, &row).await?;
                new_iocs += 1;
            }
        }
        ctx.timeline(
            finding.incident_id.as_deref(),
            Some(&id),
            kind::EVIDENCE_ADDED,
            None,
            json!({ "name": attachment.name, "sha256": sha256, "size": attachment.content.len(), "first_activity": first_activity }),
        )
        .await?;
        if let Some(incident) = &finding.incident_id {
            ctx.enqueue(Effect::Upload {
                target: Target::Incident {
                    incident: incident.clone(),
                },
                file_id,
                caption: None,
            })
            .await?;
        }
        added_files.push(
            json!({ "name": attachment.name, "size": attachment.content.len(), "sha256": sha256 }),
        );
    }

    if body_changed && let Some(parsed) = &parsed {
        let body = serde_json::to_string(parsed).map_err(anyhow::Error::from)?;
        store::findings::update_body(ctx.conn, &id, &body).await?;
    }

    let tlp = finding.tlp.parse::<Tlp>().unwrap_or(Tlp::Amber);
    let restricted = !view::may_show(tlp, &ctx.room, finding.incident_id.as_deref());
    ctx.reply(
        "evidence",
        json!({
            "finding": id,
            "files": if restricted { json!([]) } else { json!(added_files) },
            "count": added_files.len(),
            "new_iocs": new_iocs,
            "restricted": restricted,
            "tlp_label": tlp.label(),
        }),
    )
    .await?;
    Ok(())
}
