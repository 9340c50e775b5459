//! One file per command (a folder for commands with subcommands). Each holds
//! its clap `Args` and its `run` function, and reads like the runbook step it
//! replaces; the git work lives in `crate::git`, the safety in
//! `crate::journal`.

pub mod after_rollback;
pub mod baseline;
pub mod check;
pub mod checkpoint;
pub mod completions;
pub mod demo;
pub mod drill;
pub mod emergency;
pub mod files;
pub mod hook;
pub mod log;
pub mod man;
pub mod metrics;
pub mod recover;
pub mod reports;
pub mod rescue;
pub mod sprint;
pub mod status;
pub mod test;
pub mod undo;

use crate::error::user;
use crate::git::Repo;
use crate::settings::Settings;
use crate::ui::{Prompter, Ui};

/// Refuse while git has a merge, rebase, cherry-pick… in progress, or a
/// `recover` stopped at a conflict (docs/invariants.md, I9). The stopped
/// recovery is a cherry-pick of the tool's own: rolling back under it would
/// leave its sequencer pointing at a branch that no longer holds what it
/// picked, and `recover --continue` would go on from there.
pub fn refuse_operation_in_progress(repo: &Repo) -> anyhow::Result<()> {
    if let Some(p) = repo.git_operation_in_progress() {
        return Err(user(p.what).hint(p.hint).into());
    }
    if let Some((branch, commit)) = recover::in_progress(repo) {
        return Err(user(format!(
            "a recovery onto {branch} stopped at a conflict in {}",
            crate::git::short(&commit)
        ))
        .hint("finish it first: `git rollback-sprint recover --continue`, `--skip` or `--abort`")
        .into());
    }
    Ok(())
}

/// What every command that works on a repository gets.
pub struct Context {
    pub repo: Repo,
    pub settings: Settings,
    pub ui: Ui,
    /// The command line as typed, for the journal and reflogs.
    pub command_line: String,
    pub prompter: Box<dyn Prompter>,
}

/// A name for a new branch from `wanted`, with `-2`, `-3`… when it is taken
/// (docs/design.md, Names). A rollback must not fail over a name: when a branch
/// named like one of its folders blocks it (`backup` blocks `backup/…`), the
/// slashes become dashes, with a warning.
pub fn new_branch_name(ctx: &Context, wanted: &str) -> anyhow::Result<String> {
    let repo = &ctx.repo;
    match repo.blocking_parent(&format!("refs/heads/{wanted}")) {
        None => repo.unused_ref_name("refs/heads/", wanted),
        Some(blocker) => {
            let flat = wanted.replace('/', "-");
            let name = repo.unused_ref_name("refs/heads/", &flat)?;
            ctx.ui.warn(&format!(
                "{blocker} exists, so the branch is named {name} instead of {wanted}"
            ));
            Ok(name)
        }
    }
}

/// Refuse a whole-tree reset in a sparse checkout, or with any
/// skip-worktree entry: the new index would lose those bits and the files
/// kept out of the work tree would be written (`docs/libgit2-pitfalls.md` P7).
pub(crate) fn refuse_sparse(repo: &Repo, command: &str) -> anyhow::Result<()> {
    if repo.config_bool("core.sparseCheckout")?.unwrap_or(false) {
        return Err(user(format!(
            "this work tree uses a sparse checkout, which {command} does not handle yet"
        ))
        .hint("run `git sparse-checkout disable` first, or roll back with git directly")
        .into());
    }
    if crate::git::index::has_skip_worktree(repo)? {
        return Err(user(format!(
            "the index has skip-worktree entries, which {command} does not handle yet"
        ))
        .hint("list them with `git ls-files -t | grep '^S'` and clear them with `git update-index --no-skip-worktree`")
        .into());
    }
    Ok(())
}

/// Refuse to move `branch` (a full ref name) when another work tree has it
/// checked out, as git refuses to update a branch checked out elsewhere:
/// that work tree's files and index would silently stop matching its HEAD.
pub(crate) fn refuse_branch_checked_out_elsewhere(
    repo: &Repo,
    branch: &str,
    command: &str,
) -> anyhow::Result<()> {
    let elsewhere = repo.branches_checked_out_elsewhere()?;
    let Some((_, path)) = elsewhere.iter().find(|(b, _)| b == branch) else {
        return Ok(());
    };
    let short = branch.strip_prefix("refs/heads/").unwrap_or(branch);
    Err(user(format!(
        "{command} would move the branch {}, which the worktree {} also has checked out",
        crate::ui::quote(short),
        crate::ui::quote(&path.display().to_string())
    ))
    .hint("switch that worktree to another branch (or remove it with `git worktree remove`), or detach HEAD here with `git switch --detach`, then run it again")
    .into())
}

/// Refuse to write files from `tree` when one of them needs a filter
/// driver from git config (git-lfs, a `filter.<name>.smudge` command): git
/// would run it, libgit2 cannot, and an unfiltered file is not what the
/// user's git would have written.
pub(crate) fn refuse_filter_drivers(repo: &Repo, tree: crate::git::Oid) -> anyhow::Result<()> {
    match repo.filter_driver_in(tree)? {
        None => Ok(()),
        Some((driver, path)) => Err(user(format!(
            "{} uses the filter driver `{driver}` (filter.{driver}.* in git config), which this tool does not run",
            path.quoted()
        ))
        .hint("roll back with git itself, or remove that filter from git config first")
        .into()),
    }
}

/// Reset the index and the work tree to `target` (the tree the transaction
/// was begun to overwrite with): write only the paths that differ, remove
/// the untracked files (they are in the snapshot), then write the index
/// with stat data. Returns the number of paths changed.
pub(crate) fn reset_to_tree(
    ctx: &Context,
    tx: &mut crate::journal::Transaction<'_>,
    scan: &crate::git::snapshot::WorktreeScan,
    target: crate::git::Oid,
    what: &str,
) -> anyhow::Result<usize> {
    reset_to_trees(ctx, tx, scan, target, None, what, None)
}

/// [`reset_to_tree`], with the index set to `index` when given: a saved
/// state (the last green state) whose index differed from its work tree.
/// The work tree's tree is then a snapshot, written raw; the index's
/// entries that differ from it get no stat data, so git reads those files.
/// The blobs written are read once with another reader when `shared` is
/// given (`git::shared_blobs`).
pub(crate) fn reset_to_trees(
    ctx: &Context,
    tx: &mut crate::journal::Transaction<'_>,
    scan: &crate::git::snapshot::WorktreeScan,
    target: crate::git::Oid,
    index_tree: Option<crate::git::Oid>,
    what: &str,
    shared: Option<std::sync::Arc<crate::git::shared_blobs::SharedBlobs>>,
) -> anyhow::Result<usize> {
    use crate::git::{index, writer};
    let repo = &ctx.repo;
    let changes = tx.overwrite_changes().to_vec();
    crate::trace::phase("reset: writing the work tree");
    let bar = ctx.ui.progress(changes.len() as u64, what);
    let smudge = if index_tree.is_none() && repo.has_checkout_filters(target)? {
        let written = changes.iter().filter(|c| c.new.is_some()).map(|c| &c.path);
        repo.checkout_conversions(&[target, scan.index_tree], false, written)?
    } else {
        crate::git::Smudge::Never
    };
    let extras = writer::Extras {
        current_empty_dirs: &scan.empty_dirs,
        target_empty_dirs: &[],
        target_modes: &[],
        current_untracked: &scan.untracked,
        smudge,
        changed_after: Some(tx.scan_started()),
        shared,
    };
    let applied = tx.apply_changes(&changes, &extras, &bar)?;
    bar.finish_and_clear();
    warn_changed_meanwhile(ctx, tx.id(), &applied.changed_meanwhile);
    let mut written: std::collections::HashSet<Vec<u8>> = changes
        .iter()
        .filter(|c| c.new.is_some())
        .map(|c| c.path.as_bytes().to_vec())
        .collect();
    let index_tree = index_tree.unwrap_or(target);
    for differs in writer::tree_changes(repo, index_tree, target)? {
        written.remove(differs.path.as_bytes());
    }
    crate::trace::phase("reset: building the index");
    let bytes = index::index_for_tree(repo, index_tree, &written)?;
    crate::trace::phase("reset: writing the index");
    tx.write_index(Some(&bytes))?;
    index::remember_tree(repo, index_tree);
    Ok(changes.len())
}

/// Tell the user about files another process changed while the command ran:
/// their new content was moved aside, not lost, and undo puts it back.
pub(crate) fn warn_changed_meanwhile(ctx: &Context, id: &str, paths: &[crate::git::RepoPath]) {
    for path in paths {
        ctx.ui.warn(&format!(
            "{} changed while this command ran; that content was moved aside under .git/rollback/ops/{id}/ and `git rollback-sprint undo {id}` puts it back",
            path.quoted()
        ));
    }
}
