//! `/export INC-… stix|misp|csv|md`: builds an export of an incident and
//! posts it as a file in the room, if the incident's TLP allows that room.

use chrono::Utc;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::first_word;
use crate::app::Shared;
use crate::app::context::Ctx;
use crate::app::dossier::Dossier;
use crate::app::effects::{Effect, Target};
use crate::app::error::{CommandResult, UserError};
use crate::app::report;
use crate::app::view::{self, kind};
use crate::domain::export::{ExportInput, csv, misp_event, stix_bundle};
use crate::domain::types::{Lang, Severity, Tlp, fold};
use crate::store::{self, files::NewFile};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Stix,
    Misp,
    Csv,
    Markdown,
}

impl ExportFormat {
    pub fn parse(value: &str) -> Option<Self> {
        match fold(value).as_str() {
            "stix" | "stix2" => Some(Self::Stix),
            "misp" => Some(Self::Misp),
            "csv" => Some(Self::Csv),
            "md" | "markdown" => Some(Self::Markdown),
            _ => None,
        }
    }

    /// File name suffix and MIME type.
    fn file(self) -> (&'static str, &'static str) {
        match self {
            Self::Stix => ("stix.json", "application/stix+json"),
            Self::Misp => ("misp.json", "application/json"),
            Self::Csv => ("iocs.csv", "text/csv"),
            Self::Markdown => ("report.md", "text/markdown"),
        }
    }
}

/// Builds an export of a loaded incident: `(file name, MIME type, content)`.
pub fn build(
    shared: &Shared,
    dossier: &Dossier,
    format: ExportFormat,
    lang: Lang,
) -> anyhow::Result<(String, &'static str, String)> {
    let incident = &dossier.incident;
    let iocs = dossier.export_iocs(shared.catalog);
    let (suffix, mime) = format.file();
    let name = format!("{}-{suffix}", incident.id);
    let input = ExportInput {
        incident_id: &incident.id,
        title: &incident.title,
        summary: incident.summary.as_deref(),
        severity: incident.severity.parse().unwrap_or(Severity::Medium),
        tlp: incident.tlp.parse().unwrap_or(Tlp::Amber),
        resolution: incident.resolution.as_deref(),
        created_at: store::from_millis(incident.created_at),
        closed_at: incident.closed_at.map(store::from_millis),
        iocs: &iocs,
        techniques: &dossier.techniques,
        hosts: &dossier.hosts,
        users: &dossier.users,
        organization: &shared.config.exports.organization,
        now: Utc::now(),
    };
    let content = match format {
        ExportFormat::Stix => stix_bundle(&input),
        ExportFormat::Misp => misp_event(&input),
        ExportFormat::Csv => csv(&input),
        ExportFormat::Markdown => {
            let context = report::context(dossier, &dossier.proposals, &shared.extractor, None);
            report::render(&shared.renderer, lang, context)?.markdown
        }
    };
    Ok((name, mime, content))
}

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let (id_text, format_text) = first_word(args);
    if id_text.is_empty() || format_text.is_empty() {
        return Err(UserError::new("missing_export_args").into());
    }
    let id = id_text.to_uppercase();
    let format = ExportFormat::parse(format_text)
        .ok_or_else(|| UserError::new("invalid_export_format").arg("value", format_text))?;
    let dossier = Dossier::load(ctx.conn, &id)
        .await?
        .ok_or_else(|| UserError::new("export_incident_not_found").arg("id", &id))?;
    let tlp = dossier.incident.tlp.parse::<Tlp>().unwrap_or(Tlp::Amber);
    if !view::may_show(tlp, &ctx.room, Some(&id)) {
        return Err(UserError::new("export_restricted")
            .arg("id", &id)
            .arg("tlp", tlp.label())
            .into());
    }
    let (name, mime, content) = build(ctx.shared, &dossier, format, ctx.lang)?;
    let sha256 = hex::encode(Sha256::digest(content.as_bytes()));
    let actor = ctx.actor.id.clone();
    let file_id = store::files::insert(
        ctx.conn,
        &NewFile {
            finding_id: None,
            incident_id: Some(&id),
            name: &name,
            mime,
            sha256: &sha256,
            content: content.as_bytes(),
            generated: true,
            added_by: &actor,
            created_at: ctx.now_millis(),
        },
    )
    .await?;
    ctx.timeline(
        Some(&id),
        None,
        kind::EXPORTED,
        None,
        json!({ "name": name }),
    )
    .await?;
    ctx.reply_text(
        "exported",
        json!({ "incident": id, "name": name, "size": content.len().to_string() }),
    )
    .await?;
    ctx.enqueue(Effect::Upload {
        target: Target::Room {
            room_id: ctx.event.room_id.clone(),
        },
        file_id,
        caption: None,
    })
    .await?;
    Ok(())
}
