//! The pre-commit safety hook (SPEC §5.8).

use super::{not_available, Context};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Install the pre-commit hook (an existing hook keeps running)
    Install {
        #[arg(long)]
        force: bool,
    },
    /// Restore exactly the hook that was there before
    Uninstall,
}

pub fn run(_ctx: &Context, _args: &Args) -> anyhow::Result<Outcome> {
    Err(not_available("hook"))
}
