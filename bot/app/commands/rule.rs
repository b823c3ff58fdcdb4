//! `/rule list [INC-…|all]`, `/rule show R-n`, `/rule approve R-n`,
//! `/rule reject R-n <reason>` (leads). Approved rules are written to the
//! export folder in a stable layout and posted as files; rejections keep
//! their reason.

use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::info;

use super::{MAX_TEXT_CHARS, check_length, first_word};
use crate::app::context::Ctx;
use crate::app::effects::{Effect, Target};
use crate::app::error::{CommandError, CommandResult, UserError};
use crate::app::report;
use crate::app::view::{self, kind};
use crate::domain::rules::{Blocklist, Proposal};
use crate::domain::types::{Tlp, fold};
use crate::render::Message;
use crate::store::{self, files::NewFile, proposals::ProposalRow};

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let (sub, rest) = first_word(args);
    match fold(sub).as_str() {
        "list" | "lista" | "" => list(ctx, rest).await,
        "show" | "ver" | "mostrar" => show(ctx, rest).await,
        "approve" | "aprobar" => approve(ctx, rest).await,
        "reject" | "rechazar" => reject(ctx, rest).await,
        _ => Err(UserError::new("invalid_subcommand")
            .arg("command", ctx.command_text("rule"))
            .arg("value", sub)
            .arg("allowed", "list, show, approve, reject")
            .into()),
    }
}

fn rule_id(value: &str) -> Result<String, UserError> {
    let value = value.trim();
    let number = value
        .get(..2)
        .filter(|head| head.eq_ignore_ascii_case("R-"))
        .and_then(|_| value[2..].parse::<u64>().ok())
        .ok_or_else(|| UserError::new("invalid_rule_id").arg("value", value))?;
    Ok(format!("R-{number}"))
}

async fn load(ctx: &mut Ctx<'_>, value: &str) -> Result<ProposalRow, UserError> {
    if value.trim().is_empty() {
        return Err(UserError::new("missing_rule_id"));
    }
    let id = rule_id(value)?;
    store::proposals::get(ctx.conn, &id)
        .await
        .map_err(|_| UserError::new("rule_not_found").arg("id", &id))?
        .ok_or_else(|| UserError::new("rule_not_found").arg("id", &id))
}

/// Returns the incident's TLP label when the command's room may not see a
/// proposal's content because of that TLP, and `None` otherwise.
async fn restriction(ctx: &mut Ctx<'_>, row: &ProposalRow) -> anyhow::Result<Option<&'static str>> {
    let tlp = store::incidents::get(ctx.conn, &row.incident_id)
        .await?
        .and_then(|incident| incident.tlp.parse::<Tlp>().ok())
        .unwrap_or(Tlp::Amber);
    Ok((!view::may_show(tlp, &ctx.room, Some(&row.incident_id))).then(|| tlp.label()))
}

/// Loads a proposal the command's room may see, or explains where to go.
async fn load_visible(ctx: &mut Ctx<'_>, value: &str) -> Result<ProposalRow, CommandError> {
    let row = load(ctx, value).await?;
    if let Some(label) = restriction(ctx, &row).await? {
        return Err(UserError::new("rule_restricted")
            .arg("id", &row.id)
            .arg("incident", &row.incident_id)
            .arg("tlp", label)
            .into());
    }
    Ok(row)
}

async fn list(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let filter = args.trim();
    let incident = match fold(filter).as_str() {
        "" | "all" | "todas" | "todo" => None,
        _ if fold(filter).starts_with("inc-") => Some(filter.to_uppercase()),
        _ => {
            return Err(UserError::new("invalid_rule_filter")
                .arg("value", filter)
                .into());
        }
    };
    let rows = store::proposals::list(ctx.conn, incident.as_deref()).await?;
    let mut lines: Vec<Value> = Vec::new();
    for row in &rows {
        let mut line = report::proposal_line(row);
        if let Some(label) = restriction(ctx, row).await? {
            line = json!({
                "id": row.id,
                "incident": row.incident_id,
                "kind": row.kind,
                "status": row.status,
                "restricted": true,
                "tlp_label": label,
            });
        }
        lines.push(line);
    }
    ctx.reply("rule_list", json!({ "rules": lines, "incident": incident }))
        .await?;
    Ok(())
}

async fn show(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let row = load_visible(ctx, args).await?;
    ctx.reply("rule_show", json!({ "rule": report::proposal_line(&row) }))
        .await?;
    Ok(())
}

async fn reject(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let (id_text, reason) = first_word(args);
    let row = load_visible(ctx, id_text).await?;
    if reason.is_empty() {
        return Err(UserError::new("missing_reason").arg("id", &row.id).into());
    }
    check_length("@field.reason", reason, MAX_TEXT_CHARS)?;
    ensure_undecided(&row)?;
    let actor = ctx.actor.id.clone();
    let now = ctx.now_millis();
    store::proposals::decide(ctx.conn, &row.id, "rejected", &actor, Some(reason), now).await?;
    ctx.timeline(
        Some(&row.incident_id),
        None,
        kind::RULE_DECIDED,
        None,
        json!({ "rule": row.id, "status": "rejected", "text": reason }),
    )
    .await?;
    ctx.reply_text(
        "rule_rejected",
        json!({ "id": row.id, "actor": actor, "reason": reason }),
    )
    .await?;
    Ok(())
}

fn ensure_undecided(row: &ProposalRow) -> Result<(), UserError> {
    if row.status == "proposed" {
        return Ok(());
    }
    Err(UserError::new("rule_decided")
        .arg("id", &row.id)
        .arg("status", format!("@rule.status.{}", row.status))
        .arg("user", row.decided_by.clone().unwrap_or_default()))
}

async fn approve(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let (id_text, note) = first_word(args);
    let row = load_visible(ctx, id_text).await?;
    ensure_undecided(&row)?;
    let actor = ctx.actor.id.clone();
    let now = ctx.now_millis();
    let note = (!note.is_empty()).then_some(note);
    store::proposals::decide(ctx.conn, &row.id, "approved", &actor, note, now).await?;
    ctx.timeline(
        Some(&row.incident_id),
        None,
        kind::RULE_DECIDED,
        None,
        json!({ "rule": row.id, "status": "approved" }),
    )
    .await?;

    // Write the export and post it as a file, from the row as decided.
    let row = store::proposals::get(ctx.conn, &row.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{} vanished while approving", row.id))?;
    let proposal: Proposal = serde_json::from_str(&row.body).map_err(anyhow::Error::from)?;
    let (relative, content) = export_file(ctx, &row, &proposal).await?;
    let dir = ctx.shared.config.exports.dir.clone();
    let path = dir.join(&relative);
    write_file(&path, &content)?;
    // The blocklist file on disk contains every approved blocklist of its kind,
    // possibly from incidents this room may not see. So the room gets only the
    // block it just approved.
    let content = match &proposal {
        Proposal::Blocklist(list) => {
            let mut text = format!(
                "# huntbridge {} blocklist: the block approved now\n",
                list.kind.as_str()
            );
            append_blocklist(&mut text, &row, list);
            text
        }
        _ => content,
    };
    store::proposals::mark_exported(ctx.conn, &row.id).await?;
    let name = relative.rsplit('/').next().unwrap_or(&relative).to_string();
    let sha256 = hex::encode(Sha256::digest(content.as_bytes()));
    let file_id = store::files::insert(
        ctx.conn,
        &NewFile {
            finding_id: None,
            incident_id: Some(&row.incident_id),
            name: &name,
            mime: "text/plain",
            sha256: &sha256,
            content: content.as_bytes(),
            generated: true,
            added_by: &actor,
            created_at: now,
        },
    )
    .await?;
    ctx.reply_text(
        "rule_approved",
        json!({ "id": row.id, "actor": actor, "path": relative }),
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
    info!(rule = %row.id, incident = %row.incident_id, path = %path.display(), "rule approved and exported");
    Ok(())
}

/// Builds the export of an approved proposal: its path under the export folder and
/// its content. Blocklist files are rebuilt from every approved blocklist of
/// their kind, so the file is the same whatever the approval order.
async fn export_file(
    ctx: &mut Ctx<'_>,
    row: &ProposalRow,
    proposal: &Proposal,
) -> anyhow::Result<(String, String)> {
    Ok(match proposal {
        Proposal::Sigma(rule) => (format!("sigma/{}.yml", rule.id), rule.yaml.clone()),
        Proposal::Blocklist(list) => {
            let kind = list.kind.as_str();
            let mut text = format!(
                "# huntbridge {kind} blocklist: one value per line; every block of values names\n\
                 # the rule, the incident and the lead who approved it.\n"
            );
            for approved in store::proposals::list_approved(ctx.conn, "blocklist").await? {
                let Ok(Proposal::Blocklist(other)) =
                    serde_json::from_str::<Proposal>(&approved.body)
                else {
                    continue;
                };
                if other.kind != list.kind {
                    continue;
                }
                append_blocklist(&mut text, &approved, &other);
            }
            (format!("blocklists/{kind}.txt"), text)
        }
        Proposal::HuntCase(_) => {
            let message = Message {
                template: "hunt_case_file".into(),
                lang: ctx.lang,
                context: json!({ "rule": report::proposal_line(row) }),
            };
            let text = ctx
                .shared
                .renderer
                .render(&message, crate::render::Format::Markdown)?;
            (format!("hunt-cases/{}.md", row.id), text)
        }
    })
}

fn append_blocklist(text: &mut String, row: &ProposalRow, list: &Blocklist) {
    let approver = row.decided_by.as_deref().unwrap_or("-");
    let date = row
        .decided_at
        .map(|at| store::from_millis(at).format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    text.push_str(&format!(
        "\n# {} from {} approved by {approver} on {date}\n",
        row.id, row.incident_id
    ));
    for entry in &list.entries {
        text.push_str(&entry.value);
        text.push('\n');
    }
}

fn write_file(path: &Path, content: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create export folder {}", parent.display()))?;
    }
    // Write to a temporary name first so a reader never sees half a file.
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, content)
        .with_context(|| format!("failed to write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("failed to write {}", path.display()))?;
    Ok(())
}
