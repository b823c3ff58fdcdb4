//! One file per command. [`run`] sends a parsed command to its handler.

mod action;
mod close;
mod evidence;
pub mod export;
mod finding;
mod handoff;
mod help;
mod hunt;
mod incident;
mod ioc;
mod lang;
mod note;
mod playbook;
mod rule;
mod stage;
mod status;
mod task;

use super::command::Command;
use super::context::Ctx;
use super::error::{CommandResult, UserError};

/// Runs the handler of `command` with the text after the command word.
pub async fn run(ctx: &mut Ctx<'_>, command: Command, args: &str) -> CommandResult {
    match command {
        Command::Finding => finding::run(ctx, args).await,
        Command::Evidence => evidence::run(ctx, args).await,
        Command::Hunt => hunt::run(ctx, args).await,
        Command::Handoff => handoff::run(ctx, args).await,
        Command::Incident => incident::run(ctx, args).await,
        Command::Stage => stage::run(ctx, args).await,
        Command::Task => task::run(ctx, args).await,
        Command::Note => note::run(ctx, args).await,
        Command::Action => action::run(ctx, args).await,
        Command::Ioc => ioc::run(ctx, args).await,
        Command::Playbook => playbook::run(ctx, args).await,
        Command::Status => status::run(ctx, args).await,
        Command::Help => help::run(ctx, args).await,
        Command::Lang => lang::run(ctx, args).await,
        Command::Close => close::run(ctx, args).await,
        Command::Rule => rule::run(ctx, args).await,
        Command::Export => export::run(ctx, args).await,
    }
}

/// Splits off the first whitespace-separated word.
fn first_word(args: &str) -> (&str, &str) {
    let args = args.trim();
    match args.find(char::is_whitespace) {
        Some(end) => (&args[..end], args[end..].trim()),
        None => (args, ""),
    }
}

/// Parses a finding ID (`F-12`, any case).
fn finding_id(value: &str) -> Result<String, UserError> {
    parse_prefixed(value, "F-")
        .ok_or_else(|| UserError::new("invalid_finding_id").arg("value", value))
}

/// Parses a hunt ID (`H-3`, any case).
fn hunt_id(value: &str) -> Result<String, UserError> {
    parse_prefixed(value, "H-").ok_or_else(|| UserError::new("invalid_hunt_id").arg("value", value))
}

fn parse_prefixed(value: &str, prefix: &str) -> Option<String> {
    let value = value.trim();
    let head = value.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let number: u64 = value[prefix.len()..].parse().ok()?;
    Some(format!("{prefix}{number}"))
}

/// Rejects text longer than `max` characters, naming the field.
fn check_length(field: &str, text: &str, max: usize) -> Result<(), UserError> {
    let length = text.chars().count();
    if length > max {
        return Err(UserError::new("too_long")
            .arg("field", field)
            .arg("length", length)
            .arg("max", max));
    }
    Ok(())
}

/// The longest note, task or action text, in characters.
const MAX_TEXT_CHARS: usize = 4_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_id_normalizes_case() {
        assert_eq!(finding_id("f-7").unwrap(), "F-7");
        assert_eq!(finding_id("F-007").unwrap(), "F-7");
        assert!(finding_id("F-x").is_err());
        assert!(finding_id("INC-1").is_err());
    }
}
