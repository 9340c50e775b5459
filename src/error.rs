//! Errors a user can act on, and the exit codes (README: Exit codes).
//!
//! Internal failures travel as `anyhow::Error` with context. A failure the
//! user caused (or can fix) is a [`UserError`]: one line saying what is wrong,
//! a hint saying what to do, and the exit code. Exit codes live here only.

use std::fmt;

/// The process exit codes (README: Exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    /// An error: nothing changed, or what changed can be undone.
    Error = 1,
    Usage = 2,
    /// Stopped for the user: a conflict to resolve, an interrupted operation.
    Stopped = 3,
    /// A safety check failed.
    SafetyCheck = 4,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// An error with a hint, shown to the user as one line.
#[derive(Debug)]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
    pub exit: Exit,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        UserError {
            message: message.into(),
            hint: None,
            exit: Exit::Error,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn exit(mut self, exit: Exit) -> Self {
        self.exit = exit;
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.hint {
            Some(hint) => write!(f, "{} — {}", self.message, hint),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for UserError {}

/// Shorthand: `return Err(user("...").hint("...").into())`.
pub fn user(message: impl Into<String>) -> UserError {
    UserError::new(message)
}

/// The exit code and the one-line message for any error.
pub fn describe(err: &anyhow::Error) -> (Exit, String) {
    if let Some(user) = err.downcast_ref::<UserError>() {
        return (user.exit, crate::ui::one_line(&user.to_string()));
    }
    // Internal errors: the whole cause chain, on one line. A libgit2 error
    // shows its message only, never its `class=…; code=…` suffix.
    let mut chain: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = match cause.downcast_ref::<git2::Error>() {
            Some(e) => e.message().to_string(),
            None => cause.to_string(),
        };
        if chain.last() != Some(&text) {
            chain.push(text);
        }
    }
    (Exit::Error, crate::ui::one_line(&chain.join(": ")))
}
