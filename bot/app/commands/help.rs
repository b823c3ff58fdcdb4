//! `/help [command]`: usage of every command, or of one.

use serde_json::json;

use crate::app::command::{self, Command};
use crate::app::context::Ctx;
use crate::app::error::{CommandResult, UserError};

pub async fn run(ctx: &mut Ctx<'_>, args: &str) -> CommandResult {
    let value = args.trim().trim_start_matches(['/', '!']);
    if value.is_empty() {
        let commands: Vec<_> = Command::all().iter().map(|c| entry(*c)).collect();
        ctx.reply("help", json!({ "commands": commands, "one": false }))
            .await?;
        return Ok(());
    }
    let text = format!("/{value}");
    let Some(found) = command::split(&text).and_then(|invocation| invocation.command) else {
        let suggestion = ctx.command_text(command::suggest(value).unwrap_or("help"));
        return Err(UserError::new("unknown_command")
            .arg("command", value)
            .arg("suggestion", suggestion)
            .into());
    };
    ctx.reply("help", json!({ "commands": [entry(found)], "one": true }))
        .await?;
    Ok(())
}

fn entry(command: Command) -> serde_json::Value {
    json!({
        "name": command.name(),
        "roles": command.roles().iter().map(|role| role.as_str()).collect::<Vec<_>>(),
    })
}
