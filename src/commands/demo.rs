//! The whole tour in a sandbox repository (SPEC §5.12).

use super::not_available;
use crate::ui::{Outcome, Ui};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build the sandbox here and keep it
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<std::path::PathBuf>,
}

pub fn run(_args: &Args, _ui: &Ui) -> anyhow::Result<Outcome> {
    Err(not_available("demo"))
}
