//! `/playbook <name>`: posts a playbook's checklist and, in an incident room,
//! turns its steps into tasks that `/task done` can tick off.

use serde_json::json;

use crate::app::context::{Ctx, RoomKind};
use crate::app::error::{CommandResult, UserError};
use crate::app::view::kind;
use crate::store;

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let name = args.trim();
    let available = ctx
        .shared
        .playbooks
        .iter()
        .map(|playbook| playbook.id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if name.is_empty() {
        return Err(UserError::new("missing_playbook")
            .arg("available", available)
            .into());
    }
    let playbook = ctx
        .shared
        .playbooks
        .find(name)
        .map_err(|_| {
            UserError::new("playbook_not_found")
                .arg("value", name)
                .arg("available", &available)
        })?
        .clone();
    let lang = ctx.lang;
    let steps: Vec<_> = playbook
        .steps
        .iter()
        .map(|step| json!({ "text": step.text(lang), "phase": step.phase.as_str() }))
        .collect();

    let mut first_task = None;
    if let RoomKind::Incident(incident) = ctx.room.clone() {
        let now = ctx.now_millis();
        let actor = ctx.actor.id.clone();
        for step in &playbook.steps {
            let number =
                store::tasks::add(ctx.conn, &incident, step.text(lang), &actor, now).await?;
            first_task.get_or_insert(number);
        }
        ctx.timeline(
            Some(&incident),
            None,
            kind::PLAYBOOK,
            None,
            json!({ "playbook": playbook.id }),
        )
        .await?;
    }
    ctx.reply(
        "playbook",
        json!({
            "id": playbook.id,
            "title": playbook.title.get(lang),
            "steps": steps,
            "first_task": first_task,
            "last_task": first_task.map(|first| first + playbook.steps.len() as i64 - 1),
        }),
    )
    .await?;
    Ok(())
}
