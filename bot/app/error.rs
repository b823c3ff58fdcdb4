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
    /// Further mistakes in the same input, each shown on its own line.
    pub also: Vec<UserError>,
    /// Mistakes found but not listed in `also`. The reply counts them.
    pub more: usize,
}

impl UserError {
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            args: Vec::new(),
            also: Vec::new(),
            more: 0,
        }
    }

    /// Adds the further mistakes of the same input and the number of those
    /// left out.
    pub fn with_others(mut self, also: Vec<UserError>, more: usize) -> Self {
        self.also = also;
        self.more = more;
        self
    }

    /// Adds a `{name}` argument.
    pub fn arg(mut self, name: &str, value: impl ToString) -> Self {
        self.args.push((name.to_string(), value.to_string()));
        self
    }

    /// Builds the context of the `error` template.
    pub fn context(&self) -> Value {
        let also: Vec<Value> = self.also.iter().map(UserError::line_context).collect();
        let mut context = self.line_context();
        context["also"] = Value::Array(also);
        context["more"] = Value::from(self.more);
        context
    }

    /// Returns the catalog key and arguments of this mistake alone.
    fn line_context(&self) -> Value {
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
