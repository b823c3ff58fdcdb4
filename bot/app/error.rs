//! Command errors. A user error becomes a reply in the room's language that
//! names the field, the value and the fix. An internal error goes to the log,
//! and the user gets a short notice with the event ID.

use serde_json::{Map, Value};

/// A mistake in the user's input or a rule the command breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct UserError {
    /// The catalog key of the message, under `error.` in `strings.toml`.
    pub key: String,
    pub args: Vec<(String, String)>,
}

impl UserError {
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            args: Vec::new(),
        }
    }

    /// Adds a `{name}` argument.
    pub fn arg(mut self, name: &str, value: impl ToString) -> Self {
        self.args.push((name.to_string(), value.to_string()));
        self
    }

    /// Builds the context of the `error` template.
    pub fn context(&self) -> Value {
        let args: Map<String, Value> = self
            .args
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        serde_json::json!({ "key": format!("error.{}", self.key), "args": args })
    }
}

/// The reason a command did not complete.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("user error {}", .0.key)]
    User(UserError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<UserError> for CommandError {
    fn from(error: UserError) -> Self {
        Self::User(error)
    }
}

/// The result of a handler.
pub type CommandResult = Result<(), CommandError>;
