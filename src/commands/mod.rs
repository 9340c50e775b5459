//! One file per command (a folder for commands with subcommands). Each holds
//! its clap `Args` and its `run` function, and reads like the runbook step it
//! replaces; the git work lives in `crate::git`, the safety in
//! `crate::journal`.

pub mod baseline;
pub mod check;
pub mod checkpoint;
pub mod completions;
pub mod demo;
pub mod emergency;
pub mod files;
pub mod hook;
pub mod log;
pub mod metrics;
pub mod recover;
pub mod reports;
pub mod sprint;
pub mod status;
pub mod undo;

use crate::error::user;
use crate::git::Repo;
use crate::settings::Settings;
use crate::ui::{Prompter, Ui};

/// What every command that works on a repository gets.
pub struct Context {
    pub repo: Repo,
    pub settings: Settings,
    pub ui: Ui,
    /// The command line as typed, for the journal and reflogs.
    pub command_line: String,
    pub prompter: Box<dyn Prompter>,
}

/// The answer of commands that a later release builds.
pub fn not_available(command: &str) -> anyhow::Error {
    user(format!("`{command}` is not available in this version yet"))
        .hint("see the README for the commands this version has")
        .into()
}

/// A name for a new branch from `wanted`, with `-2`, `-3`… when it is taken
/// (SPEC §5). A rollback must not fail over a name: when a branch named
/// like one of its folders blocks it (`backup` blocks `backup/…`), the
/// slashes become dashes, with a warning.
pub fn new_branch_name(ctx: &Context, wanted: &str) -> anyhow::Result<String> {
    let repo = &ctx.repo;
    match repo.blocking_parent(&format!("refs/heads/{wanted}")) {
        None => repo.unused_ref_name("refs/heads/", wanted),
        Some(blocker) => {
            let flat = wanted.replace('/', "-");
            let name = repo.unused_ref_name("refs/heads/", &flat)?;
            ctx.ui.warn(&format!(
                "{blocker} exists, so the branch is named {name} instead of {wanted}"
            ));
            Ok(name)
        }
    }
}
