//! Level 3 — selective file rollback (README: Level 3 — `files`).
//!
//! `git checkout <baseline> -- PATH…`, journaled: each path gets its
//! baseline content back in the index and the work tree; paths the baseline
//! does not have are left alone with a warning (or removed with
//! `--delete-new`, recoverably). Paths are literal and must stay inside the
//! work tree, never through a symlink, never into `.git`. Then the tests
//! mapped from those paths run.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use super::Context;
use crate::error::{user, Exit};
use crate::git::contents::Contents;
use crate::git::index::EditableIndex;
use crate::git::{snapshot, writer, Oid, RepoPath};
use crate::journal::{Intent, Scope, Transaction};
use crate::plan::{carry_out, Carried, Execute, Plan, Step};
use crate::settings::{self, Settings};
use crate::testrun;
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files, directories or literal paths (a `*` in a name is a name)
    pub paths: Vec<PathBuf>,
    /// A path group from rollback.stage.<NAME>.path
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,
    /// Take the content from this revision instead of the baseline (`last-green`: the last passing `test` run)
    #[arg(long, value_name = "REV")]
    pub from: Option<String>,
    /// Remove paths that do not exist in the baseline (undo brings them back)
    #[arg(long)]
    pub delete_new: bool,
    /// Do not run the mapped tests
    #[arg(long)]
    pub no_tests: bool,
}

/// The steps of `files`, as the dry run shows them and as they are run:
/// one for each named path, then one for each path the source does not
/// have.
#[derive(Debug, Clone)]
enum FilesStep {
    /// Give a named path the source's content, in the index and the work
    /// tree.
    Restore {
        path: RepoPath,
        source: String,
        /// The files the source has at and under the path.
        count: usize,
        /// Of those, the ones no earlier step restores: path, object, mode.
        files: Vec<(RepoPath, Oid, u32)>,
    },
    /// A named path in neither the source nor the work tree, with
    /// `--delete-new`: already as it would be left.
    Absent { path: RepoPath, source: String },
    /// Remove a path the source does not have (the snapshot keeps it):
    /// with `--delete-new`, or because a restored file needs its place — a
    /// file where the source has a directory, or inside a directory where
    /// it has a file. Like `git checkout`, those always go.
    Remove {
        path: RepoPath,
        source: String,
        in_the_way: bool,
        /// An index entry (otherwise an untracked path).
        tracked: bool,
    },
    /// Leave a path the source does not have as it is, with a warning.
    Leave { path: RepoPath, source: String },
}

impl Step for FilesStep {}

impl fmt::Display for FilesStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilesStep::Restore {
                path,
                source,
                count,
                ..
            } => write!(
                f,
                "restore {} from {source} ({count} file(s)) in the index and the work tree",
                shown(path)
            ),
            FilesStep::Absent { path, source } => write!(
                f,
                "leave {} alone: it is in neither {source} nor the work tree",
                shown(path)
            ),
            FilesStep::Remove {
                path,
                source,
                in_the_way: true,
                ..
            } => write!(
                f,
                "remove {} (in the way of a file from {source})",
                path.quoted()
            ),
            FilesStep::Remove { path, source, .. } => {
                write!(f, "remove {} (not in {source})", path.quoted())
            }
            FilesStep::Leave { path, source } => write!(
                f,
                "leave {} as it is (not in {source}; --delete-new removes it)",
                path.quoted()
            ),
        }
    }
}

/// The files a plan restores (each once): path, object, mode.
fn restored(plan: &Plan<FilesStep>) -> impl Iterator<Item = &(RepoPath, Oid, u32)> {
    plan.steps.iter().flat_map(|s| match s {
        FilesStep::Restore { files, .. } => files.as_slice(),
        _ => &[],
    })
}

/// The paths a plan removes.
fn removals(plan: &Plan<FilesStep>) -> impl Iterator<Item = &RepoPath> {
    plan.steps.iter().filter_map(|s| match s {
        FilesStep::Remove { path, .. } => Some(path),
        _ => None,
    })
}

/// The paths a plan finds that the source does not have.
fn new_paths(plan: &Plan<FilesStep>) -> impl Iterator<Item = &RepoPath> {
    plan.steps.iter().filter_map(|s| match s {
        FilesStep::Remove { path, .. } | FilesStep::Leave { path, .. } => Some(path),
        _ => None,
    })
}

/// The JSON fields known from the plan.
#[derive(Serialize)]
struct Planned<'a> {
    source: &'a str,
    restored: Vec<String>,
    new_paths: Vec<String>,
    deleted: Vec<String>,
    /// Whether it changes anything (false with a reason when it does not).
    changed: bool,
}

/// The JSON fields of a restore that ran.
#[derive(Serialize)]
struct Restored<'a> {
    operation_id: &'a str,
    files_changed: usize,
}

/// The JSON field of the mapped tests.
#[derive(Serialize)]
struct Tests<'a> {
    tests: Option<TestsRun<'a>>,
}

#[derive(Serialize)]
struct TestsRun<'a> {
    files: &'a [String],
    command: &'a str,
    passed: Option<u64>,
    failed: Option<u64>,
    exit_code: Option<i32>,
    succeeded: bool,
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let paths = named_paths(ctx, args)?;
    let (source, source_name) = source(ctx, args)?;
    super::refuse_operation_in_progress(repo)?;
    crate::journal::check_index_unlocked(repo)?;
    // The index is parsed once, for the plan, the snapshot and the new
    // index alike (checked under the lock to be still the index); libgit2
    // gets the part under the named paths.
    let mut edited = EditableIndex::open_under(repo, &paths)?;
    let source_tree = repo.commit_tree(source)?;
    super::refuse_filter_drivers(repo, source_tree)?;
    crate::trace::phase("files: plan");
    // What the source and the index hold at and under every path, found
    // in one pass over each (whole folders are the common case).
    let contents = repo.contents_under(source_tree, edited.index_mut(), &paths)?;
    let mut plan = plan(&paths, &contents, &source_name, args.delete_new, repo)?;

    let mut outcome = Outcome::new();
    report_plan(ctx, &plan, &source_name, &mut outcome);
    let restored_paths: Vec<RepoPath> = restored(&plan).map(|(p, _, _)| p.clone()).collect();
    if !args.no_tests {
        check_mapped_tests_runnable(ctx, &restored_paths, &restored_paths)?;
    }
    plan.nothing = nothing_to_do(ctx, &plan, &paths, &contents, &source_name)?;
    let exec = Restoring::new(&plan, &paths, source_tree, edited);
    match carry_out(ctx, &plan, exec, &mut outcome)? {
        // The mapped tests still say whether those files are good: running
        // them changes nothing.
        Carried::Nothing if !args.no_tests && !ctx.ui.dry_run => run_mapped_tests(
            ctx,
            &restored_paths,
            &mut outcome,
            "The mapped tests fail on the files as they are.",
        )?,
        Carried::Nothing | Carried::DryRun | Carried::Unjournaled(_) => {}
        Carried::Done { done, id } => {
            crate::trace::phase("files: finished");
            announce(&plan, &source_name, done, &id, &mut outcome);
            if !args.no_tests {
                run_mapped_tests(
                    ctx,
                    &restored_paths,
                    &mut outcome,
                    "The mapped tests fail: the files are restored; `git rollback-sprint undo` puts them back.",
                )?;
            }
        }
    }
    Ok(outcome)
}

/// The revision the files come from (the baseline unless `--from`), and
/// its name as messages show it.
fn source(ctx: &Context, args: &Args) -> anyhow::Result<(Oid, String)> {
    let repo = &ctx.repo;
    let (source, source_name) = match &args.from {
        // The last green state's commit of the work tree: its files as
        // the tests passed on them (`git rollback-sprint test`).
        Some(rev) if rev == crate::journal::green::REV => (
            crate::journal::green::resolve(repo)?.snapshot_oid()?,
            rev.clone(),
        ),
        Some(rev) => (repo.resolve_commit(rev)?, rev.clone()),
        None => {
            let b = super::baseline::resolve(repo, &ctx.settings)?;
            (b.commit, format!("baseline `{}`", b.name))
        }
    };
    repo.refuse_inexact_commit(source, &source_name)?;
    Ok((source, source_name))
}

/// What the plan restores and finds new, in JSON, and one warning about
/// the new paths left as they are.
fn report_plan(ctx: &Context, plan: &Plan<FilesStep>, source_name: &str, outcome: &mut Outcome) {
    let names = |v: Vec<&RepoPath>| v.iter().map(|p| p.display()).collect::<Vec<_>>();
    outcome.data(&Planned {
        source: source_name,
        restored: names(restored(plan).map(|(p, _, _)| p).collect()),
        new_paths: names(new_paths(plan).collect()),
        deleted: names(removals(plan).collect()),
        changed: plan.nothing.is_none(),
    });
    let left: Vec<&RepoPath> = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            FilesStep::Leave { path, .. } => Some(path),
            _ => None,
        })
        .collect();
    if let Some(warning) = left_warning(&left, source_name) {
        ctx.ui.warn(&warning);
    }
}

/// How many paths a summary of the new paths names; `--json` lists all.
const NEW_PATHS_SHOWN: usize = 3;

/// The warning about the paths new since the source that are left as
/// they are: the path itself when there is one, else one line that counts
/// them and names the first few (a folder of a new file each would
/// otherwise print a line per folder).
fn left_warning(left: &[&RepoPath], source_name: &str) -> Option<String> {
    match left {
        [] => None,
        [path] => Some(format!(
            "{} does not exist in {source_name}: left as it is (pass --delete-new to remove it)",
            path.quoted(),
        )),
        _ => {
            let shown: Vec<String> = left
                .iter()
                .take(NEW_PATHS_SHOWN)
                .map(|p| p.quoted())
                .collect();
            let more = match left.len().saturating_sub(NEW_PATHS_SHOWN) {
                0 => String::new(),
                n => format!(" and {n} more (--json lists them all)"),
            };
            Some(format!(
                "{} paths do not exist in {source_name}: left as they are (pass --delete-new to remove them): {}{more}",
                left.len(),
                shown.join(", "),
            ))
        }
    }
}

/// The paths named on the command line and by `--stage`, relative to the
/// work tree root, each once.
fn named_paths(ctx: &Context, args: &Args) -> anyhow::Result<Vec<RepoPath>> {
    let repo = &ctx.repo;
    let mut raw: Vec<PathBuf> = args.paths.clone();
    if let Some(stage) = &args.stage {
        let configured = Settings::stage_paths(repo, stage)?;
        if configured.is_empty() {
            return Err(
                user(format!("no paths are configured for the stage `{stage}`"))
                    .hint(format!(
                        "add some: git config --add rollback.stage.{stage}.path <path>"
                    ))
                    .into(),
            );
        }
        // Stage paths are relative to the work tree root.
        raw.extend(configured.iter().map(|p| repo.workdir().join(p)));
    }
    if raw.is_empty() {
        return Err(user("name the paths to roll back")
            .hint("git rollback-sprint files <path>… (or --stage <name>)")
            .exit(Exit::Usage)
            .into());
    }
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let mut resolver = UserPaths::new(repo.workdir(), &cwd)?;
    let mut paths = Vec::new();
    for p in &raw {
        let rel = resolver.resolve(p)?;
        if !paths.contains(&rel) {
            paths.push(rel);
        }
    }
    Ok(paths)
}

/// Why the plan changes nothing, when it does not (docs/invariants.md,
/// I11): the paths already match in the index and the work tree, and there
/// is nothing to remove. Only what the command writes counts: a path new
/// since the source is left as it is without --delete-new, whatever its
/// state.
fn nothing_to_do(
    ctx: &Context,
    plan: &Plan<FilesStep>,
    paths: &[RepoPath],
    contents: &[Contents],
    source_name: &str,
) -> anyhow::Result<Option<String>> {
    if removals(plan).next().is_some() {
        return Ok(None);
    }
    let set: Vec<(RepoPath, Oid, u32)> = restored(plan).cloned().collect();
    let written: HashSet<&RepoPath> = set.iter().map(|(p, _, _)| p).collect();
    // The index entries of every restored file are among those found at
    // and under the named paths.
    let in_index = contents.iter().flat_map(|c| &c.in_index);
    let matches = crate::git::contents::holds(in_index, &set)
        && snapshot::worktree_matches_index(&ctx.repo, paths, &written)?;
    Ok(matches.then(|| {
        format!(
            "{} already match{} {source_name} in the index and the work tree",
            if paths.len() == 1 {
                shown(&paths[0])
            } else {
                format!("the {} paths", paths.len())
            },
            if paths.len() == 1 { "es" } else { "" },
        )
    }))
}

/// Carries out the plan in one operation. The steps only gather what to
/// write; `done` writes the work tree in one pass over the paths that
/// differ and then the index (docs/design.md, Performance).
struct Restoring<'a> {
    plan: &'a Plan<FilesStep>,
    paths: &'a [RepoPath],
    source_tree: Oid,
    edited: EditableIndex,
    /// Which paths written go through the checkout filters: found with
    /// the intent, before the operation begins.
    filters: RefCell<crate::git::Smudge>,
    /// The work tree as it should be: the snapshot with these paths set.
    edit: snapshot::TreeChanges,
    /// The index entries to set, and to remove.
    set: Vec<(Vec<u8>, Oid, u32)>,
    remove: Vec<Vec<u8>>,
}

impl<'a> Restoring<'a> {
    fn new(
        plan: &'a Plan<FilesStep>,
        paths: &'a [RepoPath],
        source_tree: Oid,
        edited: EditableIndex,
    ) -> Self {
        Restoring {
            plan,
            paths,
            source_tree,
            edited,
            filters: RefCell::new(crate::git::Smudge::All),
            edit: snapshot::TreeChanges::default(),
            set: Vec::new(),
            remove: Vec::new(),
        }
    }
}

impl Execute<FilesStep> for Restoring<'_> {
    type Done = usize;

    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        let repo = &ctx.repo;
        let removed: Vec<&RepoPath> = removals(self.plan).collect();
        let touched: Vec<RepoPath> = restored(self.plan)
            .map(|(p, _, _)| p)
            .chain(removed.iter().copied())
            .cloned()
            .collect();
        // The snapshot covers the named paths only (the rest of the work tree
        // is not touched), so its cost follows the paths, not the repository.
        let scope = Scope {
            index: true,
            worktree: true,
            paths: if self.paths.iter().any(|p| p.as_bytes().is_empty()) {
                Vec::new()
            } else {
                self.paths.to_vec()
            },
            ..Scope::default()
        };
        crate::trace::phase("files: modes, filters");
        let mut intent = Intent::new("files", &ctx.command_line, scope);
        intent.extra_modes = snapshot::unusual_modes(repo.workdir(), &touched);
        intent.overwrite_paths = touched.clone();
        // A directory it may not write in is refused up front, not part-way.
        intent.writes = restored(self.plan)
            .map(|(p, _, mode)| (p.clone(), writer::is_regular_mode(*mode)))
            .chain(removed.iter().map(|p| ((*p).clone(), false)))
            .collect();
        *self.filters.borrow_mut() =
            repo.checkout_conversions(&[self.source_tree], true, &touched)?;
        intent.preserve = vec![settings::reports_path(&ctx.settings.reports_dir)];
        intent.index_source = Some(self.edited.source().clone());
        Ok(intent)
    }

    fn step(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        step: &FilesStep,
    ) -> anyhow::Result<()> {
        match step {
            FilesStep::Restore { files, .. } => {
                for (path, oid, mode) in files {
                    self.edit.upsert_mode(path, *oid, *mode);
                    self.set.push((path.as_bytes().to_vec(), *oid, *mode));
                }
            }
            FilesStep::Remove { path, tracked, .. } => {
                let scan = tx
                    .scan()
                    .context("internal error: files has no snapshot of the work tree")?;
                // An index entry whose place in the work tree is now a
                // directory (of untracked files): only the entry goes, like git.
                if !(*tracked && ctx.repo.tree_has_dir(scan.tree, path)) {
                    self.edit.remove(path);
                }
                self.remove.push(path.as_bytes().to_vec());
            }
            FilesStep::Absent { .. } | FilesStep::Leave { .. } => {}
        }
        Ok(())
    }

    fn done(&mut self, ctx: &Context, tx: &mut Transaction<'_>) -> anyhow::Result<usize> {
        crate::trace::phase("files: target tree");
        let base = tx
            .scan()
            .context("internal error: files has no snapshot of the work tree")?
            .tree;
        let target = std::mem::take(&mut self.edit).apply(&ctx.repo, base)?;
        crate::trace::phase("files: changes");
        let changes = tx.changes_to(target)?;
        crate::trace::phase("files: writing the work tree");
        let bar = ctx.ui.progress(changes.len() as u64, "restoring files");
        let extras = writer::Extras {
            current_empty_dirs: &[],
            target_empty_dirs: &[],
            target_modes: &[],
            current_untracked: &[],
            smudge: self.filters.borrow().clone(),
            changed_after: Some(tx.scan_started()),
            shared: None,
        };
        let applied = tx.apply_changes(&changes, &extras, &bar)?;
        super::warn_changed_meanwhile(ctx, tx.id(), &applied.changed_meanwhile);
        bar.finish_and_clear();
        crate::trace::phase("files: building and writing the index");
        let written: std::collections::HashSet<&[u8]> =
            changes.iter().map(|c| c.path.as_bytes()).collect();
        tx.write_edited_index(&mut self.edited, &self.set, &self.remove, &written)?;
        crate::trace::phase("files: end record");
        Ok(changes.len())
    }
}

/// What was restored, and how to undo it.
fn announce(
    plan: &Plan<FilesStep>,
    source_name: &str,
    written: usize,
    id: &str,
    outcome: &mut Outcome,
) {
    outcome.data(&Restored {
        operation_id: id,
        files_changed: written,
    });
    outcome.line(format!(
        "Restored {} file(s) from {source_name} ({written} changed on disk).",
        restored(plan).count(),
    ));
    let removed = removals(plan).count();
    if removed > 0 {
        outcome.line(format!(
            "Removed {removed} path(s) that are new since then."
        ));
    }
    outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
}

/// `files` restores files, not submodules: a path whose submodule commit
/// differs in the source is refused rather than half-restored (the
/// submodule's own work tree is never touched either way).
fn refuse_submodule_change(
    source_name: &str,
    path: &RepoPath,
    found: &Contents,
) -> anyhow::Result<()> {
    let in_source = &found.tree_links;
    let mut in_index = found.index_links();
    in_index.sort();
    if *in_source == in_index {
        return Ok(());
    }
    let sub = in_source
        .iter()
        .chain(&in_index)
        .find(|link| !in_source.contains(link) || !in_index.contains(link))
        .map_or_else(|| path.quoted(), |(p, _)| p.quoted());
    Err(user(format!(
        "the submodule {sub} differs in {source_name}, and files does not restore submodules"
    ))
    .hint("leave it out of the paths, or restore it with `git checkout REV -- PATH` and `git submodule update`")
    .into())
}

/// The steps for `paths`, from what the source and the index hold at and
/// under each (`contents`, in the same order).
fn plan(
    paths: &[RepoPath],
    contents: &[Contents],
    source_name: &str,
    delete_new: bool,
    repo: &crate::git::Repo,
) -> anyhow::Result<Plan<FilesStep>> {
    let mut plan = Plan::new();
    // A file is restored, or found new, once: only a path inside another
    // named one can meet the same files again.
    let nested = any_nested(paths);
    let mut in_set = HashSet::new();
    // Paths the source does not have, and whether each is an index entry.
    let mut new: Vec<(RepoPath, bool)> = Vec::new();
    let mut in_new = HashSet::new();
    for (path, found) in paths.iter().zip(contents) {
        refuse_submodule_change(source_name, path, found)?;
        let from_source = found.in_tree.as_deref();
        // What the index has at and under the path, to find what is new since.
        let tracked = found.tracked();
        match from_source {
            Some(entries) => plan.push(FilesStep::Restore {
                path: path.clone(),
                source: source_name.to_string(),
                count: entries.len(),
                files: entries
                    .iter()
                    .filter(|e| !nested || in_set.insert(e.0.clone()))
                    .cloned()
                    .collect(),
            }),
            None => {
                if let Some(step) = absent(repo, path, source_name, &tracked, delete_new)? {
                    plan.push(step);
                    continue;
                }
            }
        }
        // Tracked paths under it that the source does not have.
        for p in not_in_source(&tracked, from_source.unwrap_or_default()) {
            if !nested || in_new.insert(p.clone()) {
                new.push((p.clone(), true));
            }
        }
        if from_source.is_none() && tracked.is_empty() && (!nested || in_new.insert(path.clone())) {
            // Untracked, and not in the source.
            new.push((path.clone(), false));
        }
    }
    plan_new_paths(&mut plan, new, source_name, delete_new);
    Ok(plan)
}

/// Whether one of `paths` (each once) is inside another.
fn any_nested(paths: &[RepoPath]) -> bool {
    let named: HashSet<&RepoPath> = paths.iter().collect();
    let whole = named.contains(&RepoPath::from_bytes(b""));
    paths.len() > 1
        && (whole
            || paths
                .iter()
                .any(|p| p.ancestors().iter().any(|a| named.contains(a))))
}

/// The `tracked` paths (in path order) that are not among the source's
/// files `in_source` (in path order too): one merge of the two lists.
fn not_in_source<'a>(
    tracked: &'a [RepoPath],
    in_source: &'a [(RepoPath, Oid, u32)],
) -> impl Iterator<Item = &'a RepoPath> {
    let mut source = in_source.iter().map(|(p, _, _)| p).peekable();
    tracked.iter().filter(move |p| {
        while source.next_if(|s| *s < *p).is_some() {}
        source.peek() != Some(p)
    })
}

/// A named path the source does not have: refused when the work tree does
/// not have it either, unless `--delete-new` (then there is nothing to do
/// for it, the step returned). `None`: it is new since the source.
fn absent(
    repo: &crate::git::Repo,
    path: &RepoPath,
    source_name: &str,
    tracked: &[RepoPath],
    delete_new: bool,
) -> anyhow::Result<Option<FilesStep>> {
    let exists =
        !tracked.is_empty() || std::fs::symlink_metadata(path.under(repo.workdir())).is_ok();
    if exists {
        return Ok(None);
    }
    if delete_new {
        // Already as --delete-new would leave it: absent.
        return Ok(Some(FilesStep::Absent {
            path: path.clone(),
            source: source_name.to_string(),
        }));
    }
    Err(user(format!(
        "{} is neither in {source_name} nor in the work tree",
        shown(path)
    ))
    .hint("check the path (paths are literal: `*` and `?` are not patterns)")
    .into())
}

/// A step for each path new since the source: removed with `--delete-new`
/// or when a restored file needs its place, as with `git checkout` (the
/// index cannot hold both `a` and `a/x`); otherwise left as it is.
fn plan_new_paths(
    plan: &mut Plan<FilesStep>,
    new: Vec<(RepoPath, bool)>,
    source_name: &str,
    delete_new: bool,
) {
    if new.is_empty() {
        return;
    }
    let files: HashSet<&RepoPath> = restored(plan).map(|(p, _, _)| p).collect();
    let dirs: HashSet<RepoPath> = restored(plan).flat_map(|(p, _, _)| p.ancestors()).collect();
    let in_the_way: Vec<bool> = new
        .iter()
        .map(|(p, _)| dirs.contains(p) || p.ancestors().iter().any(|a| files.contains(a)))
        .collect();
    for ((path, tracked), in_the_way) in new.into_iter().zip(in_the_way) {
        let source = source_name.to_string();
        plan.push(if in_the_way || delete_new {
            FilesStep::Remove {
                path,
                source,
                in_the_way,
                tracked,
            }
        } else {
            FilesStep::Leave { path, source }
        });
    }
}

/// Paths in the index (stage 0 or conflicted).
fn current_paths(repo: &crate::git::Repo) -> anyhow::Result<Vec<RepoPath>> {
    repo.index_paths_under(&RepoPath::from_bytes(b""))
}

fn shown(path: &RepoPath) -> String {
    if path.as_bytes().is_empty() {
        ".".to_string()
    } else {
        path.quoted()
    }
}

/// A user's path as a path relative to the work tree root: refused when it
/// leaves the work tree (`..`, an absolute path elsewhere, a symlinked
/// parent directory) or names git's own directory.
pub fn repo_path(workdir: &Path, cwd: &Path, arg: &Path) -> anyhow::Result<RepoPath> {
    UserPaths::new(workdir, cwd)?.resolve(arg)
}

/// Resolves paths named by the user as [`repo_path`] does, for many paths
/// at once: the work tree's real location is found once, and each folder
/// on the way is checked for a symlink once, however many paths go
/// through it (200 folders named on the command line took 1,465 system
/// calls, 12 ms, one by one).
pub struct UserPaths {
    root: PathBuf,
    cwd: PathBuf,
    /// Folders of the work tree found not to be symlinks.
    not_links: HashSet<PathBuf>,
}

impl UserPaths {
    pub fn new(workdir: &Path, cwd: &Path) -> anyhow::Result<UserPaths> {
        Ok(UserPaths {
            root: std::fs::canonicalize(workdir).context("could not resolve the work tree")?,
            cwd: cwd.to_path_buf(),
            not_links: HashSet::new(),
        })
    }

    pub fn resolve(&mut self, arg: &Path) -> anyhow::Result<RepoPath> {
        let shown = arg.display().to_string();
        let refuse = |why: &str| -> anyhow::Error {
            user(format!("{shown}: {why}"))
                .hint("name paths inside this repository's work tree")
                .into()
        };
        let absolute = if arg.is_absolute() {
            arg.to_path_buf()
        } else {
            self.cwd.join(arg)
        };
        let mut parts: Vec<std::ffi::OsString> = Vec::new();
        for component in absolute.components() {
            match component {
                Component::RootDir | Component::Prefix(_) => parts.clear(),
                Component::CurDir => {}
                Component::ParentDir => {
                    if parts.pop().is_none() {
                        return Err(refuse("is outside the repository"));
                    }
                }
                Component::Normal(name) => parts.push(name.to_os_string()),
            }
        }
        let normal: PathBuf = std::iter::once(std::ffi::OsString::from("/"))
            .chain(parts)
            .collect();
        let rel = match normal.strip_prefix(&self.root) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => return Err(refuse("is outside the repository")),
        };
        // `link/` and `link/.` name the directory a symlink points to.
        let names_dir = {
            let bytes = arg.as_os_str().as_bytes();
            bytes.ends_with(b"/") || bytes.ends_with(b"/.")
        };
        let mut current = self.root.clone();
        let count = rel.components().count();
        for (i, component) in rel.components().enumerate() {
            let name = component.as_os_str().to_string_lossy();
            if name.eq_ignore_ascii_case(".git") || name.eq_ignore_ascii_case("git~1") {
                return Err(refuse("is inside git's own directory"));
            }
            current.push(component);
            if (i + 1 < count || names_dir) && !self.not_links.contains(&current) {
                if let Ok(meta) = std::fs::symlink_metadata(&current) {
                    if meta.file_type().is_symlink() {
                        return Err(refuse("goes through a symlink"));
                    }
                }
                self.not_links.insert(current.clone());
            }
        }
        Ok(RepoPath::from_bytes(rel.as_os_str().as_bytes()))
    }
}

/// The test files `rollback.testPattern` maps `paths` to, among the index
/// entries and files on disk, plus `coming`: files about to be written,
/// counted as present.
///
/// Paths of a folder share most expansions (`tests/unit/test_{name}` of
/// `a/x.rs` and `b/x.rs`): each expansion is looked for once, and the
/// index's paths are listed only when a pattern has a wildcard.
fn mapped_tests(
    ctx: &Context,
    paths: &[RepoPath],
    coming: &[RepoPath],
) -> anyhow::Result<Vec<String>> {
    let repo = &ctx.repo;
    let candidates = std::cell::OnceCell::new();
    let coming_names: HashSet<String> = coming.iter().map(|p| p.display()).collect();
    let exists = |rel: &str| coming_names.contains(rel) || repo.workdir().join(rel).is_file();
    let mut looked_up: HashSet<String> = HashSet::new();
    let mut tests: Vec<String> = Vec::new();
    for path in paths {
        for pattern in &ctx.settings.test_patterns {
            let expanded = expand_pattern(pattern, path);
            if !looked_up.insert(expanded.clone()) {
                continue;
            }
            let found = if has_wildcards(&expanded) {
                if candidates.get().is_none() {
                    let mut all = current_paths(repo)?;
                    all.extend(coming.iter().cloned());
                    let _ = candidates.set(all);
                }
                let all = candidates.get().map(Vec::as_slice).unwrap_or_default();
                matching(&expanded, all, &exists)
            } else {
                exists(&expanded).then_some(expanded).into_iter().collect()
            };
            for t in found {
                if !tests.contains(&t) {
                    tests.push(t);
                }
            }
        }
    }
    Ok(tests)
}

/// The command that runs `tests`: `rollback.fileTestCommand` with them, or
/// the test command (configured or detected from HEAD) followed by them;
/// `None` when HEAD has no commit to detect it from.
fn mapped_test_command(ctx: &Context, tests: &[String]) -> anyhow::Result<Option<String>> {
    let repo = &ctx.repo;
    let quoted: Vec<String> = tests
        .iter()
        .map(|t| crate::ui::shell_word(&as_operand(t)))
        .collect();
    Ok(Some(match &ctx.settings.file_test_command {
        Some(cmd) if cmd.contains("{tests}") => cmd.replace("{tests}", &quoted.join(" ")),
        Some(cmd) => format!("{cmd} {}", quoted.join(" ")),
        None => {
            let head_tree = match repo.head_commit()? {
                Some(h) => repo.commit_tree(h)?,
                None => return Ok(None),
            };
            let base =
                testrun::test_command(repo, ctx.settings.test_command.as_deref(), head_tree)?;
            format!("{base} {}", quoted.join(" "))
        }
    }))
}

/// Before anything changes: when tests will be mapped from `paths` (with
/// `coming` about to be written), there must be a command to run them. A
/// missing one is refused now, not after the files were restored.
pub(crate) fn check_mapped_tests_runnable(
    ctx: &Context,
    paths: &[RepoPath],
    coming: &[RepoPath],
) -> anyhow::Result<()> {
    let tests = mapped_tests(ctx, paths, coming)?;
    if !tests.is_empty() {
        mapped_test_command(ctx, &tests).map_err(|e| match e.downcast::<crate::error::UserError>() {
            Ok(u) => u
                .hint("set one (git config rollback.testCommand 'make check'), or pass --no-tests; nothing was changed")
                .into(),
            Err(e) => e,
        })?;
    }
    Ok(())
}

/// Run the tests `rollback.testPattern` maps `paths` to, report them, and
/// exit 4 (with `failed_line`) when they fail.
pub(crate) fn run_mapped_tests(
    ctx: &Context,
    paths: &[RepoPath],
    outcome: &mut Outcome,
    failed_line: &str,
) -> anyhow::Result<()> {
    let repo = &ctx.repo;
    let tests = mapped_tests(ctx, paths, &[])?;
    if tests.is_empty() {
        outcome.line("No tests are mapped to these files (see git config rollback.testPattern).");
        outcome.data(&Tests { tests: None });
        return Ok(());
    }
    let Some(command) = mapped_test_command(ctx, &tests)? else {
        return Ok(());
    };
    ctx.ui.note(&format!("Running `{command}`…"));
    let timeout = std::time::Duration::from_secs(ctx.settings.test_timeout_secs);
    let run = testrun::run_tests(&command, repo.workdir(), timeout)?;
    let mark = if run.succeeded() {
        ctx.ui.good("✓")
    } else {
        ctx.ui.bad("✗")
    };
    outcome.line(format!(
        "{mark} tests ({}): {}",
        tests
            .iter()
            .map(|t| crate::ui::quote(t))
            .collect::<Vec<_>>()
            .join(", "),
        run.summary()
    ));
    outcome.data(&Tests {
        tests: Some(TestsRun {
            files: &tests,
            command: &command,
            passed: run.passed,
            failed: run.failed,
            exit_code: run.exit_code,
            succeeded: run.succeeded(),
        }),
    });
    if !run.succeeded() {
        outcome.line(failed_line);
        outcome.exit_with(Exit::SafetyCheck);
    }
    Ok(())
}

/// A test pattern with its placeholders filled in for `path`, relative to
/// the work tree's root: `{path}` (`src/a/foo.py`), `{dir}` (`src/a`),
/// `{name}` (`foo.py`), `{stem}` (`foo`), `{ext}` (`py`). Without `*` or
/// `?` it names one test file; with them ([`matching`]) it matches within
/// one path component, against tracked files and files on disk.
fn expand_pattern(pattern: &str, path: &RepoPath) -> String {
    let text = path.display();
    let (dir, name) = match text.rsplit_once('/') {
        Some((d, n)) => (d.to_string(), n.to_string()),
        None => (String::new(), text.clone()),
    };
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), e.to_string()),
        _ => (name.clone(), String::new()),
    };
    let expanded = pattern
        .replace("{path}", &text)
        .replace("{dir}", &dir)
        .replace("{name}", &name)
        .replace("{stem}", &stem)
        .replace("{ext}", &ext);
    expanded
        .trim_start_matches("./")
        .trim_start_matches('/')
        .to_string()
}

fn has_wildcards(expanded: &str) -> bool {
    expanded.contains(['*', '?'])
}

/// The candidates an expanded pattern with wildcards matches that exist.
fn matching(expanded: &str, candidates: &[RepoPath], exists: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut found: Vec<String> = candidates
        .iter()
        .map(|c| c.display())
        .filter(|c| glob_match(expanded, c) && exists(c))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// `*` (any run of characters but `/`) and `?` (one character but `/`).
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' && t[ti] != '/' || p[pi] == t[ti] && p[pi] != '*') {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            if t[st] == '/' {
                return false;
            }
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// A repository path as a command's operand: `./-rf`, not `-rf`, so a file
/// name can never be read as an option of the test command.
fn as_operand(path: &str) -> String {
    if path.starts_with('-') {
        format!("./{path}")
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::{any_nested, glob_match, not_in_source};
    use crate::git::{Oid, RepoPath};

    fn paths(list: &[&str]) -> Vec<RepoPath> {
        list.iter()
            .map(|p| RepoPath::from_bytes(p.as_bytes()))
            .collect()
    }

    #[test]
    fn a_path_inside_another_is_found_whatever_sorts_between_them() {
        // `a.txt` sorts between `a` and `a/b`.
        assert!(any_nested(&paths(&["a/b", "a.txt", "a"])));
        assert!(any_nested(&paths(&["x", ""])));
        assert!(!any_nested(&paths(&["a", "a.txt", "ab/c", "b"])));
        assert!(!any_nested(&paths(&[""])));
    }

    #[test]
    fn tracked_paths_the_source_lacks_come_from_one_merge() {
        let tracked = paths(&["a/1", "a/2", "a/3.txt", "a/4", "a/5"]);
        let in_source: Vec<(RepoPath, Oid, u32)> = paths(&["a/0", "a/2", "a/3", "a/5"])
            .into_iter()
            .map(|p| (p, Oid::ZERO_SHA1, 0o100644))
            .collect();
        let new: Vec<&RepoPath> = not_in_source(&tracked, &in_source).collect();
        assert_eq!(
            new,
            paths(&["a/1", "a/3.txt", "a/4"]).iter().collect::<Vec<_>>()
        );
    }

    #[test]
    fn globs_stay_within_one_component() {
        assert!(glob_match("tests/unit/test_*.py", "tests/unit/test_foo.py"));
        assert!(!glob_match("tests/*.py", "tests/unit/test_foo.py"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "a/c"));
        assert!(glob_match("*", "foo"));
    }
}
