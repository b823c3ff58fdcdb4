//! The command word of a message: `/finding`, its Spanish alias `/hallazgo`,
//! and the rest. The arguments are parsed by each command's handler.

use super::auth::Role;

/// Every command the bot handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Finding,
    Evidence,
    Hunt,
    Handoff,
    Incident,
    Stage,
    Task,
    Note,
    Action,
    Ioc,
    Playbook,
    Status,
    Help,
    Lang,
    Close,
    Rule,
    Export,
}

/// Command words, English first, then Spanish aliases.
const WORDS: &[(&str, Command)] = &[
    ("finding", Command::Finding),
    ("hallazgo", Command::Finding),
    ("evidence", Command::Evidence),
    ("evidencia", Command::Evidence),
    ("hunt", Command::Hunt),
    ("caza", Command::Hunt),
    ("handoff", Command::Handoff),
    ("traspaso", Command::Handoff),
    ("incident", Command::Incident),
    ("incidente", Command::Incident),
    ("stage", Command::Stage),
    ("etapa", Command::Stage),
    ("task", Command::Task),
    ("tarea", Command::Task),
    ("note", Command::Note),
    ("nota", Command::Note),
    ("action", Command::Action),
    ("accion", Command::Action),
    ("acción", Command::Action),
    ("ioc", Command::Ioc),
    ("playbook", Command::Playbook),
    ("status", Command::Status),
    ("estado", Command::Status),
    ("help", Command::Help),
    ("ayuda", Command::Help),
    ("lang", Command::Lang),
    ("idioma", Command::Lang),
    ("close", Command::Close),
    ("cerrar", Command::Close),
    ("rule", Command::Rule),
    ("regla", Command::Rule),
    ("export", Command::Export),
    ("exportar", Command::Export),
];

/// Returns every command word, English and Spanish.
pub fn words() -> Vec<&'static str> {
    WORDS.iter().map(|(word, _)| *word).collect()
}

/// A message split into its command word and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation<'a> {
    /// The command word as typed, without the prefix.
    pub word: &'a str,
    /// The recognised command, or `None` for an unknown word.
    pub command: Option<Command>,
    /// Everything after the word, with the first line's leading spaces removed.
    pub args: &'a str,
}

/// Splits a message that starts with `/` (or `!`); returns `None` for any
/// other message, which is not for the bot.
pub fn split(text: &str) -> Option<Invocation<'_>> {
    let text = text.trim_start();
    let rest = text.strip_prefix('/').or_else(|| text.strip_prefix('!'))?;
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    let word = &rest[..end];
    if word.is_empty() {
        return None;
    }
    let args = rest[end..].trim_start_matches([' ', '\t']);
    let lower = word.to_lowercase();
    let command = WORDS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, command)| *command);
    Some(Invocation {
        word,
        command,
        args,
    })
}

/// Finds the known command word closest to an unknown one, if any is close.
pub fn suggest(word: &str) -> Option<&'static str> {
    let lower = word.to_lowercase();
    WORDS
        .iter()
        .map(|(name, _)| (*name, strsim::damerau_levenshtein(&lower, name)))
        .filter(|(_, distance)| *distance <= 2)
        .min_by_key(|(_, distance)| *distance)
        .map(|(name, _)| name)
}

impl Command {
    /// Returns the English command word.
    pub fn name(self) -> &'static str {
        WORDS
            .iter()
            .find(|(_, command)| *command == self)
            .map(|(name, _)| *name)
            .unwrap_or("help")
    }

    /// Roles allowed to run the command; an empty list means anyone.
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Command::Finding | Command::Hunt => &[Hunter],
            Command::Evidence => &[Hunter, Responder],
            Command::Handoff | Command::Incident | Command::Playbook | Command::Close => {
                &[Responder]
            }
            Command::Rule => &[Lead],
            Command::Export => &[Responder, Lead],
            Command::Stage => &[Responder, Hunter],
            Command::Task | Command::Note | Command::Action | Command::Ioc => {
                &[Hunter, Responder, Lead]
            }
            Command::Status | Command::Help | Command::Lang => &[],
        }
    }

    /// Returns all commands in help order.
    pub fn all() -> &'static [Command] {
        &[
            Command::Finding,
            Command::Evidence,
            Command::Hunt,
            Command::Handoff,
            Command::Incident,
            Command::Stage,
            Command::Task,
            Command::Note,
            Command::Action,
            Command::Ioc,
            Command::Playbook,
            Command::Status,
            Command::Close,
            Command::Rule,
            Command::Export,
            Command::Help,
            Command::Lang,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_reads_spanish_alias() {
        let invocation = split("/hallazgo Título\nhipótesis: x").unwrap();
        assert_eq!(invocation.command, Some(Command::Finding));
        assert_eq!(invocation.args, "Título\nhipótesis: x");
    }

    #[test]
    fn split_ignores_plain_messages() {
        assert!(split("hola equipo").is_none());
        assert!(split("/").is_none());
    }

    #[test]
    fn split_accepts_bang_prefix() {
        assert_eq!(split("!status all").unwrap().command, Some(Command::Status));
    }

    #[test]
    fn unknown_word_gets_suggestion() {
        let invocation = split("/findng x").unwrap();
        assert_eq!(invocation.command, None);
        assert_eq!(suggest(invocation.word), Some("finding"));
        assert_eq!(suggest("zzzzzzzz"), None);
    }
}
