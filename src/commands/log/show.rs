//! `log show ID`: what one operation changed (SPEC §5.11).

use super::super::Context;
use crate::error::user;
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operation (an id or a unique prefix of 4 or more characters)
    pub id: String,
}

pub fn run(_ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    Err(user(format!(
        "`log show {}` is not available in this build",
        args.id
    ))
    .into())
}
