//! Level 1 — immediate full rollback (SPEC §5.3).

use super::{not_available, Context};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Reset to this revision instead of the baseline
    #[arg(long, value_name = "REV")]
    pub to: Option<String>,
    /// Also move ignored files aside (undo moves them back)
    #[arg(long)]
    pub clean_ignored: bool,
    /// Why (recorded in the metrics)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// critical, high, medium or low (P0–P3 accepted)
    #[arg(long, value_name = "S")]
    pub severity: Option<String>,
}

pub fn run(_ctx: &Context, _args: &Args) -> anyhow::Result<Outcome> {
    Err(not_available("emergency"))
}
