//! rollbacks/metrics.json: statistics and manual entries (SPEC §5.10).

use super::{not_available, Context};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Add a manual entry
    Record {
        #[arg(long)]
        sprint: Option<u32>,
        #[arg(long)]
        severity: String,
        #[arg(long)]
        cause: String,
        #[arg(long)]
        minutes: f64,
    },
}

impl Args {
    pub fn reads_only(&self) -> bool {
        self.action.is_none()
    }
}

pub fn run(_ctx: &Context, _args: &Args) -> anyhow::Result<Outcome> {
    Err(not_available("metrics"))
}
