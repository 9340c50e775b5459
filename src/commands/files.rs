//! Level 3 — selective file rollback (README: Level 3 — `files`).
//!
//! `git checkout <baseline> -- PATH…`, journaled: each path gets its
//! baseline content back in the index and the work tree; paths the baseline
//! does not have are left alone with a warning (or removed with
//! `--delete-new`, recoverably). Paths are literal and must stay inside the
//! work tree, never through a symlink, never into `.git`. Then the tests
//! mapped from those paths run.

use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;

use super::Context;
use crate::error::{user, Exit};
use crate::git::{snapshot, writer, Oid, RepoPath};
use crate::journal::{Intent, Scope, Transaction};
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
    /// Take the content from this revision instead of the baseline
    #[arg(long, value_name = "REV")]
    pub from: Option<String>,
    /// Remove paths that do not exist in the baseline (undo brings them back)
    #[arg(long)]
    pub delete_new: bool,
    /// Do not run the mapped tests
    #[arg(long)]
    pub no_tests: bool,
}

/// What will be done, decided before anything changes.
struct Plan {
    source_name: String,
    /// Files to set: path, object, mode.
    set: Vec<(RepoPath, Oid, u32)>,
    /// Paths the source does not have (warned about, or removed).
    new_paths: Vec<RepoPath>,
    /// Of those, the ones in the way of a restored file: a file where the
    /// source has a directory, or inside a directory where it has a file.
    /// Like `git checkout`, they always go (the snapshot keeps them).
    in_the_way: Vec<RepoPath>,
    /// New paths that are index entries (the others are untracked).
    from_index: std::collections::HashSet<RepoPath>,
    steps: Vec<String>,
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
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
    let mut paths = Vec::new();
    for p in &raw {
        let rel = repo_path(repo.workdir(), &cwd, p)?;
        if !paths.contains(&rel) {
            paths.push(rel);
        }
    }
    let (source, source_name) = match &args.from {
        Some(rev) => (repo.resolve_commit(rev)?, rev.clone()),
        None => {
            let b = super::baseline::resolve(repo, &ctx.settings)?;
            (b.commit, format!("baseline `{}`", b.name))
        }
    };
    repo.refuse_inexact_commit(source, &source_name)?;
    super::refuse_operation_in_progress(repo)?;
    crate::journal::check_index_unlocked(repo)?;
    // The index is parsed once, for the plan, the snapshot and the new
    // index alike (checked under the lock to be still the index).
    let mut edited = crate::git::index::EditableIndex::open(repo)?;
    let source_tree = repo.commit_tree(source)?;
    super::refuse_filter_drivers(repo, source_tree)?;
    crate::trace::phase("files: plan");
    let plan = plan(ctx, &paths, source_tree, source_name, args.delete_new)?;

    let mut outcome = Outcome::new();
    let names = |v: &[RepoPath]| v.iter().map(|p| p.display()).collect::<Vec<_>>();
    outcome
        .field("source", plan.source_name.as_str())
        .field(
            "restored",
            plan.set
                .iter()
                .map(|(p, _, _)| p.display())
                .collect::<Vec<_>>(),
        )
        .field("new_paths", names(&plan.new_paths))
        .field(
            "deleted",
            if args.delete_new {
                names(&plan.new_paths)
            } else {
                names(&plan.in_the_way)
            },
        );
    for p in &plan.new_paths {
        if !args.delete_new && !plan.in_the_way.contains(p) {
            ctx.ui.warn(&format!(
                "{} does not exist in {}: left as it is (pass --delete-new to remove it)",
                p.quoted(),
                plan.source_name
            ));
        }
    }
    let restored: Vec<RepoPath> = plan.set.iter().map(|(p, _, _)| p.clone()).collect();
    if !args.no_tests {
        check_mapped_tests_runnable(ctx, &restored, &restored)?;
    }
    let removals: Vec<RepoPath> = if args.delete_new {
        plan.new_paths.clone()
    } else {
        plan.in_the_way.clone()
    };
    // Nothing for nothing (docs/invariants.md, I11): paths that already match
    // in the index and the work tree, and nothing to remove.
    // Only what the command writes counts: a path new since the source is
    // left as it is without --delete-new, whatever its state.
    let written: std::collections::HashSet<&RepoPath> = restored.iter().collect();
    if removals.is_empty()
        && crate::git::index::holds_entries(edited.index_mut(), &plan.set)
        && snapshot::worktree_matches_index(repo, &paths, &written)?
    {
        outcome.nothing_to_do(format!(
            "{} already match{} {} in the index and the work tree",
            if paths.len() == 1 {
                shown(&paths[0])
            } else {
                format!("the {} paths", paths.len())
            },
            if paths.len() == 1 { "es" } else { "" },
            plan.source_name
        ));
        // The mapped tests still say whether those files are good: running
        // them changes nothing.
        if !args.no_tests && !ctx.ui.dry_run {
            let paths: Vec<RepoPath> = plan.set.iter().map(|(p, _, _)| p.clone()).collect();
            run_mapped_tests(
                ctx,
                &paths,
                &mut outcome,
                "The mapped tests fail on the files as they are.",
            )?;
        }
        return Ok(outcome);
    }
    outcome.field("changed", true);
    if ctx.ui.dry_run {
        outcome.line("Would:");
        for step in &plan.steps {
            outcome.line(format!("  {step}"));
        }
        outcome.field("plan", plan.steps.clone());
        return Ok(outcome);
    }

    let touched: Vec<RepoPath> = plan
        .set
        .iter()
        .map(|(p, _, _)| p.clone())
        .chain(removals.iter().cloned())
        .collect();
    // The snapshot covers the named paths only (the rest of the work tree
    // is not touched), so its cost follows the paths, not the repository.
    let scope = Scope {
        index: true,
        worktree: true,
        paths: if paths.iter().any(|p| p.as_bytes().is_empty()) {
            Vec::new()
        } else {
            paths.clone()
        },
        ..Scope::default()
    };
    crate::trace::phase("files: modes, filters");
    let mut intent = Intent::new("files", &ctx.command_line, scope).plan(plan.steps.clone());
    intent.extra_modes = snapshot::unusual_modes(repo.workdir(), &touched);
    intent.overwrite_paths = touched.clone();
    // A directory it may not write in is refused up front, not part-way.
    intent.writes = plan
        .set
        .iter()
        .map(|(p, _, mode)| (p.clone(), writer::is_regular_mode(*mode)))
        .chain(removals.iter().map(|p| (p.clone(), false)))
        .collect();
    let filters = repo.has_checkout_filters_for(source_tree, &touched)?;
    intent.preserve = vec![settings::reports_path(&ctx.settings.reports_dir)];
    intent.index_source = Some(edited.source().clone());
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;
    crate::trace::phase("files: target tree");
    let (written, id) = tx.run(|tx| {
        let scan = tx
            .scan()
            .cloned()
            .context("internal error: files has no snapshot of the work tree")?;
        // The work tree as it should be: the snapshot with these paths set.
        let mut edit = snapshot::TreeChanges::default();
        for (path, oid, mode) in &plan.set {
            edit.upsert_mode(path, *oid, *mode);
        }
        for path in &removals {
            // An index entry whose place in the work tree is now a directory
            // (of untracked files): only the entry goes, like git.
            if plan.from_index.contains(path) && repo.tree_has_dir(scan.tree, path) {
                continue;
            }
            edit.remove(path);
        }
        let target = edit.apply(repo, scan.tree)?;
        crate::trace::phase("files: changes");
        let changes = tx.changes_to(target)?;
        crate::trace::phase("files: writing the work tree");
        let bar = ctx.ui.progress(changes.len() as u64, "restoring files");
        let extras = writer::Extras {
            current_empty_dirs: &[],
            target_empty_dirs: &[],
            target_modes: &[],
            current_untracked: &[],
            smudge: filters,
            changed_after: Some(tx.scan_started()),
        };
        let applied = tx.apply_changes(&changes, &extras, &bar)?;
        super::warn_changed_meanwhile(ctx, tx.id(), &applied.changed_meanwhile);
        bar.finish_and_clear();
        let set: Vec<(Vec<u8>, Oid, u32)> = plan
            .set
            .iter()
            .map(|(p, o, m)| (p.as_bytes().to_vec(), *o, *m))
            .collect();
        let remove: Vec<Vec<u8>> = removals.iter().map(|p| p.as_bytes().to_vec()).collect();
        crate::trace::phase("files: building the index");
        crate::git::index::set_paths(edited.index_mut(), repo.workdir(), &set, &remove)?;
        crate::trace::phase("files: writing the index");
        let path = edited.write()?;
        tx.write_index_file(path)?;
        crate::trace::phase("files: end record");
        Ok(changes.len())
    })?;
    crate::trace::phase("files: finished");
    outcome
        .field("operation_id", id.as_str())
        .field("files_changed", written);
    outcome.line(format!(
        "Restored {} file(s) from {} ({} changed on disk).",
        plan.set.len(),
        plan.source_name,
        written
    ));
    if !removals.is_empty() {
        outcome.line(format!(
            "Removed {} path(s) that are new since then.",
            removals.len()
        ));
    }
    outcome.line(format!("Undo with: git rollback-sprint undo {id}"));

    if !args.no_tests {
        run_mapped_tests(
            ctx,
            &restored,
            &mut outcome,
            "The mapped tests fail: the files are restored; `git rollback-sprint undo` puts them back.",
        )?;
    }
    Ok(outcome)
}

/// `files` restores files, not submodules: a path whose submodule commit
/// differs in the source is refused rather than half-restored (the
/// submodule's own work tree is never touched either way).
fn refuse_submodule_change(
    repo: &crate::git::Repo,
    source_tree: Oid,
    source_name: &str,
    path: &RepoPath,
) -> anyhow::Result<()> {
    let (in_source, in_index) = repo.gitlinks_under(source_tree, path)?;
    if in_source == in_index {
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

fn plan(
    ctx: &Context,
    paths: &[RepoPath],
    source_tree: Oid,
    source_name: String,
    delete_new: bool,
) -> anyhow::Result<Plan> {
    let repo = &ctx.repo;
    let mut set = Vec::new();
    let mut new_paths = Vec::new();
    let mut steps = Vec::new();
    let mut in_set = std::collections::HashSet::new();
    let mut in_new = std::collections::HashSet::new();
    let mut from_index = std::collections::HashSet::new();
    for path in paths {
        refuse_submodule_change(repo, source_tree, &source_name, path)?;
        let from_source = repo.entries_under(source_tree, path)?;
        // What the index has at and under the path, to find what is new since.
        let tracked = repo.index_paths_under(path)?;
        match &from_source {
            Some(entries) => {
                steps.push(format!(
                    "restore {} from {source_name} ({} file(s)) in the index and the work tree",
                    shown(path),
                    entries.len()
                ));
                for e in entries {
                    if in_set.insert(e.0.clone()) {
                        set.push(e.clone());
                    }
                }
            }
            None => {
                let exists = !tracked.is_empty()
                    || std::fs::symlink_metadata(path.under(repo.workdir())).is_ok();
                if !exists && delete_new {
                    // Already as --delete-new would leave it: absent.
                    steps.push(format!(
                        "leave {} alone: it is in neither {source_name} nor the work tree",
                        shown(path)
                    ));
                    continue;
                }
                if !exists {
                    return Err(user(format!(
                        "{} is neither in {source_name} nor in the work tree",
                        shown(path)
                    ))
                    .hint("check the path (paths are literal: `*` and `?` are not patterns)")
                    .into());
                }
            }
        }
        // Tracked paths under it that the source does not have.
        let in_source: std::collections::HashSet<&RepoPath> =
            from_source.iter().flatten().map(|(p, _, _)| p).collect();
        for p in &tracked {
            if !in_source.contains(p) && in_new.insert(p.clone()) {
                new_paths.push(p.clone());
                from_index.insert(p.clone());
            }
        }
        if from_source.is_none() && tracked.is_empty() && in_new.insert(path.clone()) {
            // Untracked, and not in the source.
            new_paths.push(path.clone());
        }
    }
    // A new path that a restored file needs the place of goes, as with
    // `git checkout`: the index cannot hold both `a` and `a/x`.
    let files: std::collections::HashSet<&RepoPath> = set.iter().map(|(p, _, _)| p).collect();
    let dirs: std::collections::HashSet<RepoPath> =
        set.iter().flat_map(|(p, _, _)| p.ancestors()).collect();
    let in_the_way: Vec<RepoPath> = new_paths
        .iter()
        .filter(|p| dirs.contains(*p) || p.ancestors().iter().any(|a| files.contains(a)))
        .cloned()
        .collect();
    for p in &new_paths {
        steps.push(if in_the_way.contains(p) {
            format!(
                "remove {} (in the way of a file from {source_name})",
                p.quoted()
            )
        } else if delete_new {
            format!("remove {} (not in {source_name})", p.quoted())
        } else {
            format!(
                "leave {} as it is (not in {source_name}; --delete-new removes it)",
                p.quoted()
            )
        });
    }
    Ok(Plan {
        source_name,
        set,
        new_paths,
        in_the_way,
        from_index,
        steps,
    })
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
    let shown = arg.display().to_string();
    let refuse = |why: &str| -> anyhow::Error {
        user(format!("{shown}: {why}"))
            .hint("name paths inside this repository's work tree")
            .into()
    };
    let root = std::fs::canonicalize(workdir).context("could not resolve the work tree")?;
    let absolute = if arg.is_absolute() {
        arg.to_path_buf()
    } else {
        cwd.join(arg)
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
    let rel = match normal.strip_prefix(&root) {
        Ok(rel) => rel.to_path_buf(),
        Err(_) => return Err(refuse("is outside the repository")),
    };
    // `link/` and `link/.` name the directory a symlink points to.
    let names_dir = {
        let bytes = arg.as_os_str().as_bytes();
        bytes.ends_with(b"/") || bytes.ends_with(b"/.")
    };
    let mut current = root.clone();
    let count = rel.components().count();
    for (i, component) in rel.components().enumerate() {
        let name = component.as_os_str().to_string_lossy();
        if name.eq_ignore_ascii_case(".git") || name.eq_ignore_ascii_case("git~1") {
            return Err(refuse("is inside git's own directory"));
        }
        current.push(component);
        if i + 1 < count || names_dir {
            if let Ok(meta) = std::fs::symlink_metadata(&current) {
                if meta.file_type().is_symlink() {
                    return Err(refuse("goes through a symlink"));
                }
            }
        }
    }
    Ok(RepoPath::from_bytes(rel.as_os_str().as_bytes()))
}

/// The test files `rollback.testPattern` maps `paths` to, among the index
/// entries and files on disk, plus `coming`: files about to be written,
/// counted as present.
fn mapped_tests(
    ctx: &Context,
    paths: &[RepoPath],
    coming: &[RepoPath],
) -> anyhow::Result<Vec<String>> {
    let repo = &ctx.repo;
    let mut candidates = current_paths(repo)?;
    candidates.extend(coming.iter().cloned());
    let coming: std::collections::HashSet<String> = coming.iter().map(|p| p.display()).collect();
    let exists = |rel: &str| coming.contains(rel) || repo.workdir().join(rel).is_file();
    let mut tests: Vec<String> = Vec::new();
    for path in paths {
        for pattern in &ctx.settings.test_patterns {
            for t in map_pattern(pattern, path, &candidates, &exists) {
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
        outcome.field("tests", serde_json::Value::Null);
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
    outcome.field(
        "tests",
        serde_json::json!({"files": tests, "command": command, "passed": run.passed,
            "failed": run.failed, "exit_code": run.exit_code, "succeeded": run.succeeded()}),
    );
    if !run.succeeded() {
        outcome.line(failed_line);
        outcome.exit_with(Exit::SafetyCheck);
    }
    Ok(())
}

/// The test files a pattern maps a source file to: placeholders `{path}`
/// (`src/a/foo.py`), `{dir}` (`src/a`), `{name}` (`foo.py`), `{stem}`
/// (`foo`), `{ext}` (`py`); `*` and `?` match within one path component,
/// against tracked files and files on disk.
pub fn map_pattern(
    pattern: &str,
    path: &RepoPath,
    candidates: &[RepoPath],
    exists: &dyn Fn(&str) -> bool,
) -> Vec<String> {
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
    let expanded = expanded
        .trim_start_matches("./")
        .trim_start_matches('/')
        .to_string();
    if !expanded.contains(['*', '?']) {
        return if exists(&expanded) {
            vec![expanded]
        } else {
            Vec::new()
        };
    }
    let mut found: Vec<String> = candidates
        .iter()
        .map(|c| c.display())
        .filter(|c| glob_match(&expanded, c) && exists(c))
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
    use super::glob_match;

    #[test]
    fn globs_stay_within_one_component() {
        assert!(glob_match("tests/unit/test_*.py", "tests/unit/test_foo.py"));
        assert!(!glob_match("tests/*.py", "tests/unit/test_foo.py"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "a/c"));
        assert!(glob_match("*", "foo"));
    }
}
