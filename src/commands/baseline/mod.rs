//! `baseline set|show|verify|push|pull` (README: `baseline`): the known-good
//! state every rollback returns to, as an annotated tag.

mod set;
mod share;
mod show;
mod verify;

pub use set::Move;
pub use verify::tested_tree;

use super::Context;
use crate::error::user;
use crate::git::{Oid, Repo, TagInfo};
use crate::settings::Settings;
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Tag REV (default HEAD) as the baseline
    Set(set::SetArgs),
    /// The baseline's commit, age, and what changed since
    Show,
    /// Run the tests on the baseline's tree, away from your work tree
    Verify(verify::VerifyArgs),
    /// Share the baseline tag with the team (git push)
    Push(share::PushArgs),
    /// Fetch the team's baseline tag (git fetch)
    Pull(share::PullArgs),
}

impl Args {
    pub fn reads_only(&self) -> bool {
        matches!(
            self.action,
            Action::Show | Action::Verify(_) | Action::Push(_)
        )
    }
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    match &args.action {
        Action::Set(a) => set::run(ctx, a),
        Action::Show => show::run(ctx),
        Action::Verify(a) => verify::run(ctx, a),
        Action::Push(a) => share::push(ctx, a),
        Action::Pull(a) => share::pull(ctx, a),
    }
}

/// The baseline as configured: a tag (preferred, even when a branch has the
/// same name) or any revision.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub name: String,
    pub commit: Oid,
    pub tag: Option<TagInfo>,
}

pub fn resolve(repo: &Repo, settings: &Settings) -> anyhow::Result<Baseline> {
    find(repo, settings)?.ok_or_else(|| {
        user(format!("the baseline `{}` does not exist", settings.baseline))
            .hint("create it with `git rollback-sprint baseline set` (or set git config rollback.baseline)")
            .into()
    })
}

/// The baseline tag `rollback.baseline` names, for the commands that create
/// or move it (`baseline set`, `sprint finish`, `baseline push|pull`): a tag
/// name, or a full `refs/tags/…` name. Any other ref (`refs/heads/x`) and
/// any name git refuses for a tag (`HEAD`, `a..b`) is refused in one line.
pub fn tag_name(setting: &str) -> anyhow::Result<String> {
    let hint = "the baseline is a tag: set one with `git config rollback.baseline <tag-name>` (for example `baseline`)";
    if let Some(short) = setting.strip_prefix("refs/tags/") {
        if Repo::valid_tag_name(short) {
            return Ok(short.to_string());
        }
    } else if setting.starts_with("refs/") {
        return Err(user(format!(
            "rollback.baseline `{setting}` is a ref that is not a tag, and only a baseline tag is created or moved"
        ))
        .hint(hint)
        .into());
    } else if Repo::valid_tag_name(setting) {
        return Ok(setting.to_string());
    }
    Err(user(format!(
        "rollback.baseline `{setting}` is not a name git accepts for a tag"
    ))
    .hint(hint)
    .into())
}

pub fn find(repo: &Repo, settings: &Settings) -> anyhow::Result<Option<Baseline>> {
    let name = &settings.baseline;
    // `refs/tags/x` names the tag `x`.
    let tag = name.strip_prefix("refs/tags/").unwrap_or(name);
    if Repo::valid_tag_name(tag) {
        if let Some(tag) = repo.tag_info(tag)? {
            return Ok(Some(Baseline {
                name: name.clone(),
                commit: tag.commit,
                tag: Some(tag),
            }));
        }
    }
    Ok(repo.try_resolve_commit(name)?.map(|commit| Baseline {
        name: name.clone(),
        commit,
        tag: None,
    }))
}
