//! Pre-sprint safety checks (SPEC §5.7).

use super::{not_available, Context};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Skip the baseline's tests
    #[arg(long)]
    pub no_tests: bool,
    /// Do not create a checkpoint tag
    #[arg(long)]
    pub no_checkpoint: bool,
    /// The fast pre-commit mode
    #[arg(long)]
    pub hook: bool,
}

pub fn run(_ctx: &Context, _args: &Args) -> anyhow::Result<Outcome> {
    Err(not_available("check"))
}
