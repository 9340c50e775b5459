//! Cherry-pick recovery with a sequencer that survives (SPEC §5.6).

use super::{not_available, Context};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The failed branch to take good commits from
    pub failed_branch: Option<String>,
    /// Create the recovery branch here (default HEAD)
    #[arg(long, value_name = "REV")]
    pub onto: Option<String>,
    /// Pick these commits (in history order)
    #[arg(long, value_name = "SHA", num_args = 1..)]
    pub pick: Vec<String>,
    /// Pick every commit
    #[arg(long)]
    pub all: bool,
    /// Run the tests after each pick
    #[arg(long)]
    pub test_each: bool,
    #[arg(long)]
    pub no_tests: bool,
    /// Go on after resolving a conflict
    #[arg(long = "continue")]
    pub continue_: bool,
    /// Skip the commit that conflicted
    #[arg(long)]
    pub skip: bool,
    /// Go back to exactly the state before `recover`
    #[arg(long)]
    pub abort: bool,
}

pub fn run(_ctx: &Context, _args: &Args) -> anyhow::Result<Outcome> {
    Err(not_available("recover"))
}
