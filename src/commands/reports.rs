//! Post-rollback reports: analysis, notification, triage (SPEC §5.9).

use super::{not_available, Context};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Write the analysis here instead of rollbacks/analysis-<ts>/
    #[arg(long, value_name = "DIR")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct NotifyArgs {}

#[derive(Debug, clap::Args)]
pub struct TriageArgs {
    /// critical, high, medium or low (P0–P3 accepted)
    #[arg(long, value_name = "S")]
    pub severity: Option<String>,
}

pub fn analyze(_ctx: &Context, _args: &AnalyzeArgs) -> anyhow::Result<Outcome> {
    Err(not_available("analyze"))
}

pub fn notify(_ctx: &Context, _args: &NotifyArgs) -> anyhow::Result<Outcome> {
    Err(not_available("notify"))
}

pub fn triage(_ctx: &Context, _args: &TriageArgs) -> anyhow::Result<Outcome> {
    Err(not_available("triage"))
}
