//! The sprint lifecycle and Level 2 sprint rollback (SPEC §5.4).

use super::{not_available, Context};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Check, checkpoint, and switch to refactor/sprint-N
    Start {
        /// The sprint number
        n: u32,
    },
    /// Document the failure, back up the work, start a retry branch
    Rollback {
        /// The sprint number (default: from the branch name)
        n: Option<u32>,
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[arg(long, value_name = "S")]
        severity: Option<String>,
        /// Do not run the tests for the report
        #[arg(long)]
        no_tests: bool,
    },
    /// The sprint succeeded: move the baseline to HEAD
    Finish {
        /// The sprint number (default: from the branch name)
        n: Option<u32>,
    },
}

pub fn run(_ctx: &Context, _args: &Args) -> anyhow::Result<Outcome> {
    Err(not_available("sprint"))
}
