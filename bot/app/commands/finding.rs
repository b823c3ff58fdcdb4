//! `/finding <title>` (`/hallazgo`) with `key: value` lines, code blocks and
//! free text: validates and stores the finding (F-n), replies with its card
//! and hands it to IR by posting the handoff card in the IR room.

use serde_json::{Value, json};

use crate::app::context::Ctx;
use crate::app::effects::Target;
use crate::app::error::{CommandError, CommandResult, UserError};
use crate::app::view::{self, kind};
use crate::domain::attack::AttackError;
use crate::domain::finding::{
    Field, FindingError, FindingErrors, ParsedFinding, parse_finding_all,
};
use crate::domain::ioc::{Ioc, IocFlag};
use crate::domain::metrics::earliest_activity;
use crate::domain::rules::WindowsFiles;
use crate::domain::stage::Stage;
use crate::domain::types::Tlp;
use crate::store::{self, findings::FindingRow, iocs::IocRow};

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let mut parsed = parse_finding_all(args, ctx.shared.catalog, &ctx.shared.extractor)
        .map_err(finding_errors)?;
    let evidence: Vec<&str> = parsed.evidence.iter().map(String::as_str).collect();
    WindowsFiles::read(&evidence).flag(&mut parsed.iocs);
    let number = store::counters::next(ctx.conn, "finding").await?;
    let id = format!("F-{number}");
    let now = ctx.now_millis();
    let body = serde_json::to_string(&parsed).map_err(anyhow::Error::from)?;

    let row = FindingRow {
        id: id.clone(),
        title: parsed.title.clone(),
        severity: parsed.severity.as_str().into(),
        tlp: parsed.tlp.as_str().into(),
        status: "new".into(),
        reporter: ctx.actor.id.clone(),
        platform: ctx.event.platform.clone(),
        room_id: ctx.event.room_id.clone(),
        source_event: ctx.event.event_id.clone(),
        body,
        incident_id: None,
        decided_by: None,
        decision_note: None,
        created_at: now,
        handed_off_at: None,
        decided_at: None,
    };
    store::findings::insert(ctx.conn, &row).await?;
    for ioc in &parsed.iocs {
        let ioc_row = IocRow {
            finding_id: Some(id.clone()),
            incident_id: None,
            kind: view::kind_code(ioc.kind),
            value: ioc.value.clone(),
            flags: serde_json::to_string(&ioc.flags).map_err(anyhow::Error::from)?,
            source: "finding".into(),
            added_by: ctx.actor.id.clone(),
            created_at: now,
        };
        store::iocs::insert(ctx.conn, &ioc_row).await?;
    }
    let evidence_text = parsed.evidence.join("\n");
    let first_activity = earliest_activity(&evidence_text, ctx.now).map(store::to_millis);
    ctx.timeline(
        None,
        Some(&id),
        kind::FINDING_CREATED,
        Some(Stage::Detection.as_str()),
        json!({ "first_activity": first_activity }),
    )
    .await?;

    // The card in the hunter's room.
    let card = card_context(ctx, &row, false).await?;
    ctx.reply("finding_card", json!({ "f": card })).await?;

    // The handoff card in the IR room.
    let ir_room = ctx.shared.config.rooms.ir[0].clone();
    let ir_target = Target::Room {
        room_id: ir_room.clone(),
    };
    let handoff = card_for_room(ctx, &row, &crate::app::context::RoomKind::Ir).await?;
    ctx.post(ir_target, "handoff_card", json!({ "f": handoff }), false)
        .await?;
    store::findings::mark_handed_off(ctx.conn, &id, now).await?;
    ctx.timeline(
        None,
        Some(&id),
        kind::HANDOFF_SENT,
        Some(Stage::Communication.as_str()),
        json!({ "room": ir_room }),
    )
    .await?;
    Ok(())
}

/// Builds the card context of a stored finding as the command's room may see it.
/// `in_incident` marks the finding's own incident room, where TLP:RED
/// content may be shown.
pub async fn card_context(
    ctx: &mut Ctx<'_>,
    row: &FindingRow,
    in_incident: bool,
) -> anyhow::Result<Value> {
    if in_incident {
        return full_card(ctx, row).await;
    }
    let room = ctx.room.clone();
    card_for_room(ctx, row, &room).await
}

async fn card_for_room(
    ctx: &mut Ctx<'_>,
    row: &FindingRow,
    room: &crate::app::context::RoomKind,
) -> anyhow::Result<Value> {
    let tlp = row.tlp.parse::<Tlp>().unwrap_or(Tlp::Amber);
    if view::may_show(tlp, room, row.incident_id.as_deref()) {
        return full_card(ctx, row).await;
    }
    Ok(json!({
        "id": row.id,
        "restricted": true,
        "tlp_label": tlp.label(),
        "severity": row.severity,
        "reporter": row.reporter,
    }))
}

async fn full_card(ctx: &mut Ctx<'_>, row: &FindingRow) -> anyhow::Result<Value> {
    let parsed: ParsedFinding = serde_json::from_str(&row.body)?;
    let mut overlaps = Vec::new();
    let room = ctx.room.clone();
    for ioc in &parsed.iocs {
        overlaps.extend(
            view::visible_overlaps(
                ctx.conn,
                &room,
                ioc,
                Some(&row.id),
                row.incident_id.as_deref(),
            )
            .await?,
        );
    }
    let files: Vec<Value> = store::files::list_for_finding(ctx.conn, &row.id)
        .await?
        .iter()
        .map(view::file)
        .collect();
    // Internal names and private addresses stay as typed: they name the
    // organization's own machines, which responders copy into their tools.
    let assets: Vec<Ioc> = parsed
        .hosts
        .iter()
        .chain(&parsed.users)
        .filter_map(|value| ctx.shared.extractor.classify_one(value).ok())
        .filter(|asset| {
            !asset.has_flag(IocFlag::Private)
                && !asset.has_flag(IocFlag::Loopback)
                && !asset.has_flag(IocFlag::LinkLocal)
        })
        .collect();
    let mut card = view::finding(&row.id, &row.reporter, &parsed, &assets);
    card["files"] = json!(files);
    card["overlaps"] = json!(overlaps);
    card["incident"] = json!(row.incident_id);
    Ok(card)
}

/// Returns a field name as a catalog reference, so the reply names it in the room's
/// language.
fn field(field: Field) -> String {
    format!("@field.{}", field.as_str())
}

/// Maps the parser's errors to one reply that lists each mistake.
fn finding_errors(errors: FindingErrors) -> CommandError {
    let mut lines = errors.errors.into_iter().map(finding_error);
    let first = lines.next().expect("a failed parse has an error");
    first.with_others(lines.collect(), errors.omitted).into()
}

/// Maps a parser error to a message that names the field, the value, the
/// line and the fix.
fn finding_error(error: FindingError) -> UserError {
    let user = UserError::new(error.code());
    match error {
        FindingError::EmptyTitle => user,
        FindingError::TooLong {
            field: f,
            length,
            max,
            ..
        } => user
            .arg("field", field(f))
            .arg("length", length)
            .arg("max", max)
            .arg(
                "unit",
                if f == Field::Input {
                    "@unit.bytes"
                } else {
                    "@unit.chars"
                },
            ),
        FindingError::TooMany {
            field: f,
            count,
            max,
        } => user
            .arg("field", field(f))
            .arg("count", count)
            .arg("max", max),
        FindingError::UnknownKey {
            key,
            line,
            suggestion,
        } => match suggestion {
            Some(suggestion) => user
                .arg("key", key)
                .arg("line", line)
                .arg("suggestion", suggestion),
            None => UserError::new("finding_unknown_key_no_suggestion")
                .arg("key", key)
                .arg("line", line),
        },
        FindingError::DuplicateKey {
            key,
            line,
            first_line,
            ..
        } => user
            .arg("key", key)
            .arg("line", line)
            .arg("first_line", first_line),
        FindingError::MissingValue { field: f, line } => {
            user.arg("field", field(f)).arg("line", line)
        }
        FindingError::InvalidValue {
            field: f,
            value,
            line,
            allowed,
        } => user
            .arg("field", field(f))
            .arg("value", value)
            .arg("line", line)
            .arg(
                "allowed",
                match f {
                    Field::Severity | Field::Confidence | Field::Tlp => {
                        format!("@allowed.{}", f.as_str())
                    }
                    _ => allowed.join(", "),
                },
            ),
        FindingError::InvalidTechnique { value, line, cause } => match cause {
            AttackError::Malformed { .. } => UserError::new("finding_technique_malformed")
                .arg("value", value)
                .arg("line", line),
            AttackError::Unknown { suggestions, .. } if suggestions.is_empty() => {
                UserError::new("finding_technique_unknown_no_suggestion")
                    .arg("value", value)
                    .arg("line", line)
            }
            AttackError::Unknown { suggestions, .. } => UserError::new("finding_technique_unknown")
                .arg("value", value)
                .arg("line", line)
                .arg("suggestions", suggestions.join(", ")),
        },
        FindingError::InvalidIoc { value, line, .. } => user.arg("value", value).arg("line", line),
        FindingError::UnterminatedCodeBlock { line } => user.arg("line", line),
    }
}
