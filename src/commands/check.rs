//! Pre-sprint safety checks (README: `check`).
//!
//! The checklist is shared: `sprint start` runs it before it creates
//! anything. Every check only reads; the baseline's tests run on an export of
//! its tree in a temporary directory and their result is cached by tree id,
//! so the user's work tree is never touched and the second run is free.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::{baseline, checkpoint, files, Context};
use crate::error::Exit;
use crate::git::{looks_binary, snapshot, BINARY_PROBE};
use crate::testrun::{self, VerifyCache};
use crate::ui::{Outcome, Ui};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Skip the baseline's tests
    #[arg(long)]
    pub no_tests: bool,
    /// Do not create a checkpoint tag
    #[arg(long)]
    pub no_checkpoint: bool,
    /// The fast pre-commit mode
    #[arg(long)]
    pub hook: bool,
}

/// The checkpoint `check` made, or found at HEAD (`null`: none).
#[derive(Serialize)]
struct Checkpoint<'a> {
    checkpoint: Option<&'a str>,
}

/// The checkpoint `check` made, or found at HEAD, with its operation.
#[derive(Serialize)]
struct Tagged<'a> {
    checkpoint: &'a str,
    operation_id: Option<&'a str>,
}

/// Whether `check` made a checkpoint.
#[derive(Serialize)]
struct Changed {
    changed: bool,
}

/// The JSON fields of `check --hook`.
#[derive(Serialize)]
struct Hooked<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    descends_from_baseline: Option<bool>,
    staged: usize,
    conflict_markers: &'a [String],
    unmerged: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    failures: &'a [String],
}

/// One check of the checklist, as the JSON `checks` array lists it.
#[derive(Serialize)]
struct CheckJson<'a> {
    name: &'a str,
    ok: bool,
    skipped: bool,
    detail: &'a str,
    hint: Option<&'a str>,
}

/// The JSON field of the checklist.
#[derive(Serialize)]
struct Checks<'a> {
    checks: Vec<CheckJson<'a>>,
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    if args.hook {
        return hook(ctx);
    }
    let mut outcome = Outcome::new();
    let list = pre_sprint(ctx, !args.no_tests)?;
    list.report(&ctx.ui, &mut outcome);
    let last = super::drill::last_drill(ctx);
    if let Some(warning) = super::drill::overdue(ctx, last.as_ref())? {
        ctx.ui.warn(&warning);
    }
    if !list.passed() {
        outcome.line(format!(
            "{} fix what is marked ✗ before starting a sprint (no checkpoint was made).",
            ctx.ui.bad("Not ready:")
        ));
        outcome.data(&Checkpoint { checkpoint: None });
        outcome.exit_with(Exit::SafetyCheck);
        return Ok(outcome);
    }
    if args.no_checkpoint {
        outcome.data(&Checkpoint { checkpoint: None });
        outcome.line(format!("{} every check passed.", ctx.ui.good("Ready:")));
        return Ok(outcome);
    }
    // One checkpoint a commit (docs/invariants.md, I11): checking again at the
    // same HEAD adds no tag.
    if let Some(head) = ctx.repo.head_commit()? {
        if let Some(existing) = checkpoint::checkpoints(ctx)?
            .into_iter()
            .find(|t| t.commit == head)
        {
            outcome
                .data(&Tagged {
                    checkpoint: &existing.name,
                    operation_id: None,
                })
                .data(&Changed { changed: false });
            outcome.line(format!(
                "{} every check passed; HEAD already has the checkpoint `{}`, so no new one is made.",
                ctx.ui.good("Ready:"),
                existing.name
            ));
            outcome.line("Nothing to do: no new checkpoint.");
            return Ok(outcome);
        }
    }
    outcome.data(&Changed { changed: true });
    let (name, id) = checkpoint::tag_head(ctx, "Checkpoint after the pre-sprint checks")?;
    outcome.data(&Tagged {
        checkpoint: &name,
        operation_id: id.as_deref(),
    });
    match id {
        Some(id) => outcome.line(format!(
            "{} every check passed; checkpoint `{name}` tags HEAD (undo with `git rollback-sprint undo {id}`).",
            ctx.ui.good("Ready:")
        )),
        None => outcome.line(format!(
            "{} every check passed; would tag HEAD as checkpoint `{name}`.",
            ctx.ui.good("Ready:")
        )),
    };
    Ok(outcome)
}

/// The pre-commit mode: fast, and only what a commit must not carry.
///
/// * conflict markers in the staged version of text files (file:line);
/// * the index still has conflicts, or an operation of this tool was
///   interrupted — but a merge, rebase or cherry-pick of git's own in
///   progress is fine: committing is how those end;
/// * a warning (not a failure) when HEAD does not descend from the baseline;
/// * the tests mapped from the staged files, when `rollback.hookTests`.
fn hook(ctx: &Context) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let mut outcome = Outcome::new();
    crate::trace::phase("hook: staged paths");
    let staged = repo.staged()?;
    crate::trace::phase("hook: conflict markers, journal, baseline");
    // The journal and the baseline are looked at while a second thread
    // starts on the staged files' markers.
    let (found, (interrupted, descends_from_baseline)) =
        StagedProblems::find(ctx, &staged, || {
            (
                crate::journal::interrupted(repo),
                descends_from_baseline(ctx),
            )
        })?;
    let mut failures = found.failures();
    if let Some(op) = interrupted? {
        failures.push(format!(
            "operation {} (`{}`) was interrupted; run `git rollback-sprint undo` or `undo --dismiss`",
            op.id(),
            crate::ui::one_line(&op.begin.command)
        ));
    }
    let descends_from_baseline = descends_from_baseline?;
    outcome.data(&Hooked {
        descends_from_baseline,
        staged: staged.len(),
        conflict_markers: &found.markers,
        unmerged: &found.unmerged,
        failures: &failures,
    });
    if !failures.is_empty() {
        for f in &failures {
            outcome.line(format!("{} {f}", ctx.ui.bad("✗")));
        }
        outcome.line(
            "The commit is stopped. Fix the above (or commit with --no-verify to skip the check).",
        );
        outcome.exit_with(Exit::SafetyCheck);
        return Ok(outcome);
    }
    if ctx.settings.hook_tests {
        let paths: Vec<_> = staged
            .iter()
            .filter(|s| s.id.is_some())
            .map(|s| s.path.clone())
            .collect();
        files::run_mapped_tests(
            ctx,
            &paths,
            &mut outcome,
            "The mapped tests of the staged files fail: the commit is stopped.",
        )?;
    }
    if !ctx.ui.quiet {
        outcome.line(format!(
            "{} {} staged path(s) checked",
            ctx.ui.good("✓"),
            staged.len()
        ));
    }
    Ok(outcome)
}

/// Unmerged paths and conflict markers in the staged files: as they are
/// (for JSON) and as the terminal shows them.
struct StagedProblems {
    markers: Vec<String>,
    markers_shown: Vec<String>,
    unmerged: Vec<String>,
    unmerged_shown: Vec<String>,
}

/// The lines with conflict markers of each staged file, and what
/// `meanwhile` returns. The blobs `git add` just wrote are loose: they are
/// read straight from their files (`git/loose.rs`), a binary one only as
/// far as its first bytes, which say it is binary; a second thread takes
/// them one at a time from the start, and this one joins it once
/// `meanwhile` is done, so that one large file does not leave a thread
/// idle. The rest (packed ones) are read through the repository here.
fn marker_lines<R>(
    ctx: &Context,
    files: &[(&crate::git::staged::Staged, git2::Oid)],
    meanwhile: impl FnOnce() -> R,
) -> anyhow::Result<(Vec<Vec<usize>>, R)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let objects = ctx.repo.common_dir().join("objects");
    let next = AtomicUsize::new(0);
    // Lines found, by the file's place in `files`; `None`: not loose.
    let take = || -> anyhow::Result<Vec<(usize, Option<Vec<usize>>)>> {
        use crate::git::loose::{read_unless, Read};
        let mut found = Vec::new();
        loop {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let Some((_, id)) = files.get(n) else {
                return Ok(found);
            };
            let lines =
                read_unless(&objects, *id, "blob", BINARY_PROBE, looks_binary)?.map(|read| {
                    match read {
                        Read::Whole(bytes) => conflict_markers(&bytes),
                        Read::Stopped => Vec::new(),
                    }
                });
            found.push((n, lines));
        }
    };
    let (mut found, also) = if files.is_empty() || crate::walk::threads() < 2 {
        let also = meanwhile();
        (take()?, also)
    } else {
        std::thread::scope(|scope| {
            let other = scope.spawn(take);
            let also = meanwhile();
            let here = take();
            let there = match other.join() {
                Ok(there) => there,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let mut found = here?;
            found.extend(there?);
            anyhow::Ok((found, also))
        })?
    };
    found.sort_unstable_by_key(|(n, _)| *n);
    let lines = found
        .into_iter()
        .zip(files)
        .map(|((_, lines), (_, id))| match lines {
            Some(lines) => Ok(lines),
            None => Ok(conflict_markers(&ctx.repo.blob_bytes(*id)?)),
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((lines, also))
}

impl StagedProblems {
    /// The problems of `staged`, and what `meanwhile` returns, run while
    /// the files are read ([`marker_lines`]).
    fn find<R>(
        ctx: &Context,
        staged: &[crate::git::staged::Staged],
        meanwhile: impl FnOnce() -> R,
    ) -> anyhow::Result<(StagedProblems, R)> {
        let mut found = StagedProblems {
            markers: Vec::new(),
            markers_shown: Vec::new(),
            unmerged: Vec::new(),
            unmerged_shown: Vec::new(),
        };
        let mut files = Vec::new();
        for s in staged {
            if s.stage != 0 {
                let p = s.path.display();
                if !found.unmerged.contains(&p) {
                    found.unmerged.push(p);
                    found.unmerged_shown.push(s.path.quoted());
                }
                continue;
            }
            let Some(id) = s.id else { continue };
            if s.mode == 0o120000 || s.mode == 0o160000 {
                continue;
            }
            files.push((s, id));
        }
        let (lines, also) = marker_lines(ctx, &files, meanwhile)?;
        for ((s, _), lines) in files.iter().zip(lines) {
            for line in lines {
                found.markers.push(format!("{}:{line}", s.path.display()));
                found
                    .markers_shown
                    .push(format!("{}:{line}", s.path.quoted()));
            }
        }
        Ok((found, also))
    }

    /// What stops the commit, one line each.
    fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if !self.unmerged.is_empty() {
            failures.push(format!(
                "unmerged paths: {}",
                self.unmerged_shown.join(", ")
            ));
        }
        if !self.markers.is_empty() {
            failures.push(format!(
                "conflict markers in staged files: {}",
                self.markers_shown.join(", ")
            ));
        }
        failures
    }
}

/// Whether HEAD descends from the baseline (warned when not); `None` when
/// there is no baseline or no HEAD commit.
fn descends_from_baseline(ctx: &Context) -> anyhow::Result<Option<bool>> {
    let repo = &ctx.repo;
    let (Some(b), Some(head)) = (baseline::find(repo, &ctx.settings)?, repo.head_commit()?) else {
        return Ok(None);
    };
    let descends = crate::journal::descends::descends(repo, head, b.commit, !ctx.ui.dry_run)?;
    if !descends {
        ctx.ui.warn(&format!(
            "HEAD does not descend from the baseline `{}` ({})",
            b.name,
            repo.short_id(b.commit)
        ));
    }
    Ok(Some(descends))
}

/// Line numbers (1-based) of conflict markers in a text file's bytes: a
/// line starting with `<<<<<<<` or `>>>>>>>` (then a space or the end of
/// the line), and `=======` after an opening marker. Binary content (a NUL
/// in the first 8,000 bytes, as git decides) has none.
pub fn conflict_markers(bytes: &[u8]) -> Vec<usize> {
    if looks_binary(bytes) {
        return Vec::new();
    }
    // Only a line starting with one of the three marker runs can be one:
    // each run is searched for at the start of the bytes and after every
    // newline (a vectorised search, where a test of every line costs a
    // megabyte of `po/` text a millisecond), and only those lines are
    // looked at, in order.
    let mut starts: Vec<usize> = Vec::new();
    for run in [b"<<<<<<<", b">>>>>>>", b"======="] {
        if bytes.starts_with(run) {
            starts.push(0);
        }
        let mut after_newline = [b'\n'; 8];
        after_newline[1..].copy_from_slice(run);
        starts.extend(memchr::memmem::find_iter(bytes, &after_newline).map(|at| at + 1));
    }
    if starts.is_empty() {
        return Vec::new();
    }
    starts.sort_unstable();
    let mut markers = Markers::default();
    let mut found = Vec::new();
    // Line numbers: the newlines before each start, counted from the last.
    let (mut counted_to, mut line_no) = (0, 1);
    for start in starts {
        line_no += bytes[counted_to..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted_to = start;
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |n| start + n);
        if markers.is_marker(&bytes[start..end]) {
            found.push(line_no);
        }
    }
    found
}

/// Which lines of a file, taken in order, are conflict markers: one
/// starting with seven `<` or `>` (then a space, a tab, a CR or the end of
/// the line), and a line of seven `=` between an opening and a closing one.
#[derive(Debug, Default)]
struct Markers {
    open: bool,
}

impl Markers {
    /// Whether `line` (without its newline) is a marker; lines that cannot
    /// be one may be left out, as none of them changes what follows.
    fn is_marker(&mut self, line: &[u8]) -> bool {
        let run = |c: u8| {
            line.len() >= 7
                && line[..7].iter().all(|&b| b == c)
                && matches!(line.get(7), None | Some(b' ') | Some(b'\r') | Some(b'\t'))
        };
        if run(b'<') {
            self.open = true;
            true
        } else if run(b'>') {
            self.open = false;
            true
        } else {
            self.open && run(b'=') && line.len() <= 8
        }
    }
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// Not run (`--no-tests`, a dry run, or nothing configured).
    Skipped,
}

#[derive(Debug, Clone)]
pub struct CheckLine {
    pub name: &'static str,
    pub verdict: Verdict,
    pub detail: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Checklist {
    pub lines: Vec<CheckLine>,
}

impl Checklist {
    fn push(&mut self, name: &'static str, verdict: Verdict, detail: impl Into<String>) {
        self.lines.push(CheckLine {
            name,
            verdict,
            detail: detail.into(),
            hint: None,
        });
    }

    fn fail(&mut self, name: &'static str, detail: impl Into<String>, hint: impl Into<String>) {
        self.lines.push(CheckLine {
            name,
            verdict: Verdict::Fail,
            detail: detail.into(),
            hint: Some(hint.into()),
        });
    }

    pub fn passed(&self) -> bool {
        self.lines.iter().all(|l| l.verdict != Verdict::Fail)
    }

    /// The checklist as human lines (✓/✗, a hint under each failure) and as
    /// the JSON `checks` array.
    pub fn report(&self, ui: &Ui, outcome: &mut Outcome) {
        let mut checks = Vec::new();
        for line in &self.lines {
            let mark = match line.verdict {
                Verdict::Pass => ui.good("✓"),
                Verdict::Fail => ui.bad("✗"),
                Verdict::Skipped => "-".to_string(),
            };
            outcome.line(format!("{mark} {}", line.detail));
            if let Some(hint) = &line.hint {
                outcome.line(format!("    {hint}"));
            }
            checks.push(CheckJson {
                name: line.name,
                ok: line.verdict != Verdict::Fail,
                skipped: line.verdict == Verdict::Skipped,
                detail: &line.detail,
                hint: line.hint.as_deref(),
            });
        }
        outcome.data(&Checks { checks });
    }
}

/// Checks 1–6 of the README's `check`: baseline, its tests, a clean tree,
/// nothing in progress, disk space, the setup command. In a dry run nothing is
/// run: the tests show their cached result or are skipped, the setup command is
/// skipped.
pub fn pre_sprint(ctx: &Context, run_tests: bool) -> anyhow::Result<Checklist> {
    let mut list = Checklist::default();
    let found = check_baseline(ctx, &mut list)?;
    // 2. Its tests pass.
    match (&found, run_tests) {
        (_, false) => list.push(
            "baseline_tests",
            Verdict::Skipped,
            "baseline tests not run (--no-tests)",
        ),
        (None, true) => list.push(
            "baseline_tests",
            Verdict::Skipped,
            "baseline tests not run: there is no baseline",
        ),
        (Some(b), true) => baseline_tests(ctx, b, &mut list)?,
    }
    check_clean_tree(ctx, &mut list)?;
    check_in_progress(ctx, &mut list)?;
    check_disk(ctx, &mut list);
    check_setup(ctx, &mut list)?;
    Ok(list)
}

/// 1. The baseline exists.
fn check_baseline(
    ctx: &Context,
    list: &mut Checklist,
) -> anyhow::Result<Option<baseline::Baseline>> {
    let repo = &ctx.repo;
    let found = baseline::find(repo, &ctx.settings)?;
    match &found {
        Some(b) => list.push(
            "baseline",
            Verdict::Pass,
            format!(
                "baseline `{}` exists ({} {})",
                b.name,
                repo.short_id(b.commit),
                repo.commit_info(b.commit)?.summary
            ),
        ),
        None => list.fail(
            "baseline",
            format!("baseline `{}` does not exist", ctx.settings.baseline),
            "create it with `git rollback-sprint baseline set`",
        ),
    }
    Ok(found)
}

/// 3. No uncommitted changes.
fn check_clean_tree(ctx: &Context, list: &mut Checklist) -> anyhow::Result<()> {
    let repo = &ctx.repo;
    let reports = crate::settings::reports_path(&ctx.settings.reports_dir);
    let preview = snapshot::preview(repo, false, Some(&reports))?;
    if preview.is_dirty() {
        list.fail(
            "clean_tree",
            format!(
                "uncommitted changes: {} modified, {} deleted, {} untracked{}",
                preview.modified,
                preview.deleted,
                preview.untracked,
                if preview.staged > 0 {
                    ", staged changes"
                } else {
                    ""
                }
            ),
            "commit them, or save them with `git rollback-sprint checkpoint --wip` and clean up",
        );
    } else {
        list.push("clean_tree", Verdict::Pass, "no uncommitted changes");
    }
    Ok(())
}

/// 4. Nothing in progress: git's own operations and ours.
fn check_in_progress(ctx: &Context, list: &mut Checklist) -> anyhow::Result<()> {
    let repo = &ctx.repo;
    if let Some(p) = repo.git_operation_in_progress() {
        list.fail("in_progress", p.what, p.hint);
    } else if let Some((branch, commit)) = super::recover::in_progress(repo) {
        list.fail(
            "in_progress",
            format!(
                "a recovery onto {branch} stopped at a conflict in {}",
                crate::git::short(&commit)
            ),
            "finish it: `git rollback-sprint recover --continue`, `--skip` or `--abort`",
        );
    } else if let Some(op) = crate::journal::interrupted(repo)? {
        list.fail(
            "in_progress",
            format!(
                "operation {} (`{}`) was interrupted",
                op.id(),
                crate::ui::one_line(&op.begin.command)
            ),
            "restore the state before it with `git rollback-sprint undo`, or keep things as they are with `git rollback-sprint undo --dismiss`",
        );
    } else {
        list.push(
            "in_progress",
            Verdict::Pass,
            "no merge, rebase, cherry-pick, recovery or interrupted operation in progress",
        );
    }
    Ok(())
}

/// 5. Disk space.
fn check_disk(ctx: &Context, list: &mut Checklist) {
    let threshold = ctx.settings.disk_threshold;
    match disk_used_percent(ctx.repo.workdir()) {
        Ok(used) if used > f64::from(threshold) => list.fail(
            "disk",
            format!("disk {used:.0}% used, above the {threshold}% threshold"),
            "free some space (or raise git config rollback.diskThreshold)",
        ),
        Ok(used) => list.push(
            "disk",
            Verdict::Pass,
            format!("disk {used:.0}% used (threshold {threshold}%)"),
        ),
        Err(e) => list.fail(
            "disk",
            format!("could not read the disk usage: {e:#}"),
            "check that the work tree's filesystem is mounted and readable",
        ),
    }
}

/// 6. The setup command.
fn check_setup(ctx: &Context, list: &mut Checklist) -> anyhow::Result<()> {
    let repo = &ctx.repo;
    match &ctx.settings.setup_command {
        None => list.push(
            "setup",
            Verdict::Skipped,
            "no setup command configured (rollback.setupCommand)",
        ),
        Some(cmd) if ctx.ui.dry_run => list.push(
            "setup",
            Verdict::Skipped,
            format!("setup command `{cmd}` not run (dry run)"),
        ),
        Some(cmd) => {
            ctx.ui.note(&format!("Running the setup command `{cmd}`…"));
            let timeout = Duration::from_secs(ctx.settings.test_timeout_secs);
            let run = testrun::run_tests(cmd, repo.workdir(), timeout)?;
            if run.exit_code == Some(0) && !run.timed_out {
                list.push(
                    "setup",
                    Verdict::Pass,
                    format!("setup command `{cmd}` succeeded"),
                );
            } else {
                let last = run.output.lines().last().unwrap_or("").trim().to_string();
                list.fail(
                    "setup",
                    format!("setup command `{cmd}` {}", run.summary()),
                    if last.is_empty() {
                        "fix the project's setup, then run again".to_string()
                    } else {
                        format!("it said: {last}")
                    },
                );
            }
        }
    }
    Ok(())
}

fn baseline_tests(
    ctx: &Context,
    b: &baseline::Baseline,
    list: &mut Checklist,
) -> anyhow::Result<()> {
    let repo = &ctx.repo;
    let tree = repo.commit_tree(b.commit)?;
    let command = match testrun::test_command(repo, ctx.settings.test_command.as_deref(), tree) {
        Ok(c) => c,
        Err(_) => {
            list.push(
                "baseline_tests",
                Verdict::Skipped,
                "baseline tests not run: no test command configured or detected (rollback.testCommand)",
            );
            return Ok(());
        }
    };
    let cached = VerifyCache::load(repo).get(tree, &command).cloned();
    let (run, from_cache) = match cached {
        Some(c) => (c.run, true),
        None if ctx.ui.dry_run => {
            list.push(
                "baseline_tests",
                Verdict::Skipped,
                format!("baseline tests not run (dry run): would run `{command}` on a copy of the baseline"),
            );
            return Ok(());
        }
        None => {
            ctx.ui.note(&format!(
                "Running `{command}` on the baseline {} in a temporary directory…",
                repo.short_id(b.commit)
            ));
            let timeout = Duration::from_secs(ctx.settings.test_timeout_secs);
            let run = testrun::verify_tree(repo, tree, &command, timeout)?;
            VerifyCache::store(repo, tree, &run)?;
            (run, false)
        }
    };
    let detail = format!(
        "baseline tests: `{command}` {}{}",
        run.summary(),
        if from_cache { " [cached]" } else { "" }
    );
    if run.succeeded() {
        list.push("baseline_tests", Verdict::Pass, detail);
    } else {
        list.fail(
            "baseline_tests",
            detail,
            "fix the baseline, or set another one with `git rollback-sprint baseline set --force`",
        );
    }
    Ok(())
}

/// Percent of the filesystem's space in use, as `df` counts it (space
/// reserved for root counts as neither used nor available).
fn disk_used_percent(path: &Path) -> anyhow::Result<f64> {
    let st = rustix::fs::statvfs(path).map_err(std::io::Error::from)?;
    let frsize = st.f_frsize as f64;
    let used = (st.f_blocks.saturating_sub(st.f_bfree)) as f64 * frsize;
    let avail = st.f_bavail as f64 * frsize;
    if used + avail <= 0.0 {
        return Ok(0.0);
    }
    Ok(used * 100.0 / (used + avail))
}

#[cfg(test)]
mod tests {
    use super::conflict_markers;

    #[test]
    fn markers_are_found_by_line() {
        let text = b"a\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> 1234567 (x)\n";
        assert_eq!(conflict_markers(text), vec![2, 4, 6]);
    }

    /// Every line looked at in turn: what the search for the lines that
    /// can be markers must agree with.
    fn markers_line_by_line(bytes: &[u8]) -> Vec<usize> {
        if crate::git::looks_binary(bytes) {
            return Vec::new();
        }
        let mut markers = super::Markers::default();
        bytes
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, line)| markers.is_marker(line))
            .map(|(n, _)| n + 1)
            .collect()
    }

    proptest::proptest! {
        /// Text made of marker runs, their near misses and ordinary lines,
        /// with LF and CRLF endings: the search finds what a look at every
        /// line finds.
        #[test]
        fn the_search_finds_what_every_line_shows(
            lines in proptest::collection::vec(
                proptest::sample::select(vec![
                    "<<<<<<< HEAD", "<<<<<<<", "<<<<<<<<", "=======", "=======\r",
                    "======== ", ">>>>>>> theirs", ">>>>>>>\t", ">>>>>>", "text",
                    " <<<<<<< indented", "", "a=======", "=======x",
                ]),
                0..40,
            ),
            crlf in proptest::bool::ANY,
            last_newline in proptest::bool::ANY,
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = lines.join(end);
            if last_newline {
                text.push_str(end);
            }
            proptest::prop_assert_eq!(
                conflict_markers(text.as_bytes()),
                markers_line_by_line(text.as_bytes())
            );
        }
    }

    #[test]
    fn markers_at_the_start_and_end_without_a_newline() {
        assert_eq!(
            conflict_markers(b"<<<<<<< a\nx\n=======\ny\n>>>>>>> b"),
            vec![1, 3, 5]
        );
        assert_eq!(conflict_markers(b"=======\n<<<<<<<\n"), vec![2]);
    }

    #[test]
    fn headings_and_binary_are_not_markers() {
        assert!(conflict_markers(b"Title\n=======\n\ntext\n").is_empty());
        assert!(conflict_markers(b"<<<<<<<<<< not a marker\n").is_empty());
        assert!(conflict_markers(b"\0bin\n<<<<<<< HEAD\n").is_empty());
        assert_eq!(conflict_markers(b">>>>>>>\n"), vec![1]);
    }
}
