//! Level 3 — selective file rollback (SPEC §5.5).

use super::{not_available, Context};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files, directories or literal pathspecs
    pub paths: Vec<std::path::PathBuf>,
    /// A path group from rollback.stage.<NAME>.path
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,
    /// Take the content from this revision instead of the baseline
    #[arg(long, value_name = "REV")]
    pub from: Option<String>,
    /// Remove paths that do not exist in the baseline
    #[arg(long)]
    pub delete_new: bool,
    /// Do not run the mapped tests
    #[arg(long)]
    pub no_tests: bool,
}

pub fn run(_ctx: &Context, _args: &Args) -> anyhow::Result<Outcome> {
    Err(not_available("files"))
}
