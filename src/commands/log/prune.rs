//! `log prune [--keep N] [--older-than DAYS]` (SPEC §5.11).

use super::super::Context;
use crate::error::user;
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep the newest N operations
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    /// Release only operations older than DAYS days
    #[arg(long, value_name = "DAYS")]
    pub older_than: Option<u64>,
}

pub fn run(_ctx: &Context, _args: &Args) -> anyhow::Result<Outcome> {
    Err(user("`log prune` is not available in this build").into())
}
