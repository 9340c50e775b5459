//! Level 1 — immediate full rollback (README: Level 1 — `emergency`).
//!
//! The runbook's `git stash push -u && git reset --hard baseline &&
//! git clean -fdx`, in one pass over the work tree and without losing a
//! byte: the snapshot scan that the journal needs anyway yields the stash
//! entry, the changes to write are the difference between the snapshot tree
//! and the target tree (so untracked files go in the same pass), ignored
//! files are only ever moved aside, and everything is journaled for `undo`.

use anyhow::Context as _;
use std::time::Instant;

use super::{baseline, new_branch_name, reset_to_tree, status::sprint_number, Context};
use crate::clock;
use crate::error::user;
use crate::git::{snapshot, stash, writer, HeadState, Oid};
use crate::journal::{Intent, Scope, Transaction};
use crate::metrics::{self, MetricsFile};
use crate::settings;
use crate::testrun;
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Reset to this revision instead of the baseline
    #[arg(long, value_name = "REV")]
    pub to: Option<String>,
    /// Also move ignored files aside (undo moves them back)
    #[arg(long)]
    pub clean_ignored: bool,
    /// Why (recorded in the metrics)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// critical, high, medium or low (P0–P3 accepted; default critical)
    #[arg(long, value_name = "S")]
    pub severity: Option<String>,
    /// Record this recovery time in the metrics instead of the measured one
    #[arg(long, value_name = "MINUTES")]
    pub recovery_minutes: Option<f64>,
}

/// Everything decided before anything changes.
struct Plan {
    target: Oid,
    target_name: String,
    head: Oid,
    head_state: HeadState,
    branch_ref: Option<String>,
    backup: Option<String>,
    stash_message: String,
    stamp: String,
    steps: Vec<String>,
    /// Why the rollback would change nothing, when it would not.
    nothing: Option<String>,
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let severity = metrics::parse_severity(args.severity.as_deref().unwrap_or("critical"))?;
    if let Some(m) = args.recovery_minutes {
        if !(m.is_finite() && m >= 0.0) {
            return Err(user("--recovery-minutes must be a number of minutes, 0 or more").into());
        }
    }
    let plan = plan(ctx, args)?;
    let mut outcome = Outcome::new();
    outcome
        .field("target", plan.target.to_string())
        .field("target_name", plan.target_name.as_str())
        .field("backup_branch", plan.backup.clone());
    if let Some(why) = &plan.nothing {
        // Nothing for nothing (docs/invariants.md, I11): no stop/start command,
        // no stash entry, no journal or metrics entry.
        outcome.nothing_to_do(why);
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

    // 1. Stop services before anything is saved, so their files are too;
    // but not when another run holds the repository, which would refuse
    // this one after the services were stopped.
    let stopped = match &ctx.settings.stop_command {
        Some(cmd) => {
            crate::journal::check_not_running(&ctx.repo)?;
            run_hook_command(ctx, "stop", cmd, &mut outcome)?;
            true
        }
        None => false,
    };
    let rolled_back = roll_back(ctx, args, &plan, started, severity);
    // 6. Restart services: on every path once they were stopped (a refusal
    // or a failure after the stop must not leave them down).
    let mut restarted = Ok(());
    if stopped || rolled_back.is_ok() {
        if let Some(cmd) = &ctx.settings.start_command {
            restarted = run_hook_command(ctx, "start", cmd, &mut outcome);
        }
    }
    let (done, id) = rolled_back?;
    restarted?;
    announce(ctx, &plan, &done, &id, started, &mut outcome);
    Ok(outcome)
}

/// Steps 2–6 of the runbook, in one journaled operation.
fn roll_back(
    ctx: &Context,
    args: &Args,
    plan: &Plan,
    started: Instant,
    severity: &str,
) -> anyhow::Result<(Done, String)> {
    let repo = &ctx.repo;
    let mut refs = Vec::new();
    refs.extend(plan.branch_ref.clone());
    refs.extend(plan.backup.iter().map(|b| format!("refs/heads/{b}")));
    let scope = Scope {
        head: true,
        index: true,
        worktree: true,
        stash: true,
        refs,
        ..Scope::default()
    };
    let target_tree = repo.commit_tree(plan.target)?;
    let mut intent = Intent::new("emergency", &ctx.command_line, scope).plan(plan.steps.clone());
    // The modes of the files it will overwrite are saved with the snapshot.
    intent.overwrite_with = Some(target_tree);
    intent.scan_ignored = args.clean_ignored;
    let reports = settings::reports_path(&ctx.settings.reports_dir);
    intent.preserve = vec![reports.clone()];
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;

    tx.run(|tx| {
        let scan = tx
            .scan()
            .cloned()
            .context("internal error: emergency has no snapshot of the work tree")?;
        // 2. Stash every uncommitted change, untracked files included. The
        // reports folder is the tool's, not the user's work: the stash
        // leaves it as HEAD has it, so that popping the entry never meets
        // the metrics written since (docs/invariants.md, I8).
        let head_tree = repo.commit_tree(plan.head)?;
        let work = scan.without_folder(repo, Some(head_tree), &reports)?;
        let mut stashed = false;
        if work.is_dirty() {
            let branch = plan
                .branch_ref
                .as_deref()
                .map(|b| b.trim_start_matches("refs/heads/").to_string())
                .unwrap_or_else(|| "(no branch)".to_string());
            let w =
                stash::build_stash_commit(repo, &work, plan.head, &branch, &plan.stash_message)?;
            stash::push(repo, w, &format!("On {branch}: {}", plan.stash_message))?;
            crate::journal::fault_point("after-stash");
            stashed = true;
        }
        crate::trace::phase("emergency: backup branch");
        // 3. Back up the old HEAD.
        if let Some(backup) = &plan.backup {
            tx.update_ref(&format!("refs/heads/{backup}"), None, Some(plan.head))?;
        }
        // 4–5. Reset the work tree to the target in one pass: tracked changes
        // and untracked files together (they are in the stash).
        let files_changed = reset_to_tree(ctx, tx, &scan, target_tree, "resetting the work tree")?;
        match &plan.branch_ref {
            Some(branch) => {
                let current = repo.ref_target(branch)?;
                tx.update_ref(branch, current, Some(plan.target))?;
            }
            None => tx.set_head(&HeadState::Detached(plan.target.to_string()))?,
        }
        // 5. Ignored files: moved aside, never deleted.
        let mut moved_ignored = 0usize;
        if args.clean_ignored {
            for path in &scan.ignored {
                moved_ignored += move_aside_except(tx, path, &reports)?;
            }
            writer::prune_empty_parents(repo.workdir(), &scan.ignored)?;
        }
        crate::trace::phase("emergency: metrics");
        // 6. Metrics, inside the operation so its id is recorded.
        let minutes = args
            .recovery_minutes
            .unwrap_or(started.elapsed().as_secs_f64() / 60.0);
        let sprint = plan
            .branch_ref
            .as_deref()
            .and_then(|b| sprint_number(b.trim_start_matches("refs/heads/")));
        let backup_ref = plan.backup.as_ref().map(|b| format!("refs/heads/{b}"));
        let cause = args
            .reason
            .clone()
            .unwrap_or_else(|| "emergency rollback".to_string());
        crate::reports_folder::prepare(repo, &ctx.settings.reports_dir)?;
        let file = MetricsFile::new(repo.workdir(), &ctx.settings.reports_dir);
        let (mut doc, set_aside) = file.read_or_set_aside(&plan.stamp)?;
        let entry = metrics::entry(
            &clock::rfc3339(&clock::now()),
            sprint,
            severity,
            &cause,
            minutes,
            "emergency",
            Some(tx.id()),
            started.elapsed().as_secs_f64(),
            files_changed,
            backup_ref.as_deref(),
        );
        metrics::append(&mut doc, entry);
        file.write(doc)?;
        tx.detail("metrics", true);
        tx.detail("stashed", stashed);
        Ok(Done {
            stashed,
            files_changed,
            moved_ignored,
            untracked: work.untracked.len(),
            metrics_set_aside: set_aside,
        })
    })
}

/// What the rollback did, and how to undo it.
fn announce(
    ctx: &Context,
    plan: &Plan,
    done: &Done,
    id: &str,
    started: Instant,
    outcome: &mut Outcome,
) {
    let repo = &ctx.repo;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(aside) = &done.metrics_set_aside {
        ctx.ui.warn(&format!(
            "the metrics file was corrupt; it was moved to {} and a new one started",
            aside.display()
        ));
        outcome.field("metrics_set_aside", aside.display().to_string());
    }
    outcome
        .field("operation_id", id)
        .field("stash", done.stashed.then(|| "stash@{0}".to_string()))
        .field(
            "stash_message",
            done.stashed.then(|| plan.stash_message.clone()),
        )
        .field("files_changed", done.files_changed)
        .field("untracked_removed", done.untracked)
        .field("ignored_moved_aside", done.moved_ignored)
        .field("duration_seconds", metrics::round2(seconds))
        .field("undo_command", format!("git rollback-sprint undo {id}"));
    outcome.line(format!(
        "{} {} is now at {} ({}).",
        ctx.ui.good("Rolled back:"),
        plan.head_state.describe(),
        repo.short_id(plan.target),
        plan.target_name
    ));
    if done.stashed {
        outcome.line(format!(
            "  your uncommitted work: stash@{{0}} \"{}\" ({} untracked file(s) included)",
            plan.stash_message, done.untracked
        ));
    } else {
        outcome.line("  there was no uncommitted work to stash");
    }
    if let Some(b) = &plan.backup {
        outcome.line(format!(
            "  the old HEAD: branch {b} ({})",
            repo.short_id(plan.head)
        ));
    }
    if done.moved_ignored > 0 {
        outcome.line(format!(
            "  {} ignored path(s) moved aside under .git/rollback/ops/{id}/",
            done.moved_ignored
        ));
    }
    outcome.line(format!(
        "  {} file(s) changed in {:.2} s",
        done.files_changed, seconds
    ));
    outcome.line(format!(
        "Undo everything with: git rollback-sprint undo {id}"
    ));
}

struct Done {
    stashed: bool,
    files_changed: usize,
    moved_ignored: usize,
    untracked: usize,
    metrics_set_aside: Option<std::path::PathBuf>,
}

fn plan(ctx: &Context, args: &Args) -> anyhow::Result<Plan> {
    let repo = &ctx.repo;
    super::refuse_operation_in_progress(repo)?;
    crate::journal::check_index_unlocked(repo)?;
    crate::reports_folder::check(repo.workdir(), &ctx.settings.reports_dir)?;
    let head_state = repo.head_state()?;
    let Some(head) = repo.head_commit()? else {
        return Err(
            user("HEAD has no commit yet: there is nothing to roll back from")
                .hint("commit first; emergency resets a branch that has history")
                .into(),
        );
    };
    let (target, target_name) = match &args.to {
        Some(rev) => (repo.resolve_commit(rev)?, rev.clone()),
        None => {
            let b = baseline::resolve(repo, &ctx.settings)?;
            (b.commit, format!("baseline `{}`", b.name))
        }
    };
    repo.refuse_inexact_commit(target, &target_name)?;
    super::refuse_filter_drivers(repo, repo.commit_tree(target)?)?;
    super::refuse_sparse(repo, "emergency")?;
    let branch_ref = match &head_state {
        HeadState::Symbolic(r) => Some(r.clone()),
        HeadState::Detached(_) => None,
    };
    if let Some(branch) = &branch_ref {
        super::refuse_branch_checked_out_elsewhere(repo, branch, "emergency")?;
    }
    let now = clock::now();
    let stamp = clock::stamp(&now);
    let backup = if head != target {
        Some(new_branch_name(ctx, &format!("backup/emergency-{stamp}"))?)
    } else {
        None
    };
    let stash_message = format!("EMERGENCY: State before rollback {stamp}");
    // Counting the changes costs a status scan; a real run gets them from
    // the snapshot scan instead, so only a dry run counts here, and a run
    // at the target, which may have nothing to do.
    let reports = settings::reports_path(&ctx.settings.reports_dir);
    let preview = if ctx.ui.dry_run || head == target {
        Some(snapshot::preview(repo, args.clean_ignored, Some(&reports))?)
    } else {
        None
    };
    let nothing = match &preview {
        Some(p) if head == target && !p.is_dirty() && p.ignored.is_empty() => Some(format!(
            "{} is already at {} ({target_name}) and there is nothing uncommitted{}",
            head_state.describe(),
            repo.short_id(target),
            if args.clean_ignored {
                " and no ignored file"
            } else {
                ""
            }
        )),
        _ => None,
    };
    if args.clean_ignored && nothing.is_none() {
        refuse_aside_across_filesystems(ctx, preview.as_ref())?;
    }
    let mut steps = Vec::new();
    if let Some(cmd) = &ctx.settings.stop_command {
        steps.push(format!("run the stop command: sh -c {cmd:?}"));
    }
    match &preview {
        Some(p) if p.is_dirty() => steps.push(format!(
            "stash {} staged, {} modified, {} deleted and {} untracked path(s) as \"{stash_message}\"",
            p.staged, p.modified, p.deleted, p.untracked
        )),
        Some(_) => steps.push("nothing uncommitted to stash".to_string()),
        None => steps.push(format!(
            "stash all uncommitted changes, untracked files included, as \"{stash_message}\""
        )),
    }
    if let Some(b) = &backup {
        steps.push(format!("create branch {b} at {}", repo.short_id(head)));
    }
    let differ = repo.files_changed(head, target)?;
    steps.push(format!(
        "reset {} from {} to {} ({target_name}): {differ} tracked path(s) differ",
        head_state.describe(),
        repo.short_id(head),
        repo.short_id(target)
    ));
    match &preview {
        Some(p) if p.untracked > 0 => steps.push(format!(
            "remove {} untracked file(s) (kept in the stash)",
            p.untracked
        )),
        Some(_) => {}
        None => steps.push("remove untracked files (kept in the stash)".to_string()),
    }
    if args.clean_ignored {
        let count = preview
            .as_ref()
            .map_or("the".to_string(), |p| p.ignored.len().to_string());
        steps.push(format!(
            "move {count} ignored path(s) aside under .git/rollback/ (undo moves them back)"
        ));
    }
    steps.push(format!(
        "record the rollback in {}/metrics.json",
        ctx.settings.reports_dir
    ));
    if let Some(cmd) = &ctx.settings.start_command {
        steps.push(format!("run the start command: sh -c {cmd:?}"));
    }
    Ok(Plan {
        target,
        target_name,
        head,
        head_state,
        branch_ref,
        backup,
        stash_message,
        stamp,
        steps,
        nothing,
    })
}

/// Move an ignored path aside, except the reports folder: an ignored
/// directory that holds it has everything else under it moved. Returns
/// the number of paths moved.
fn move_aside_except(
    tx: &Transaction<'_>,
    path: &crate::git::RepoPath,
    reports: &crate::git::RepoPath,
) -> anyhow::Result<usize> {
    use std::os::unix::ffi::OsStrExt;
    if path.is_at_or_under(reports) {
        return Ok(0);
    }
    if !reports.is_at_or_under(path) {
        tx.move_aside(path)?;
        return Ok(1);
    }
    let full = path.under(tx.repo().workdir());
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(&full)
        .with_context(|| format!("could not read {path}"))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    let mut moved = 0;
    for name in names {
        moved += move_aside_except(tx, &path.join(name.as_bytes()), reports)?;
    }
    Ok(moved)
}

/// `--clean-ignored` moves ignored files aside with a rename, which cannot
/// cross filesystems (see `journal::refuse_aside_across_filesystems`, which
/// the transaction runs on its own scan). Checked here too, before the stop
/// command runs: with the dry run's preview, or, when the work tree is on
/// another filesystem than the git directory (a linked worktree elsewhere),
/// with a scan of its ignored files.
fn refuse_aside_across_filesystems(
    ctx: &Context,
    preview: Option<&snapshot::Preview>,
) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let repo = &ctx.repo;
    let aside = crate::journal::Journal::for_repo(repo).dir().to_path_buf();
    let dev = |p: &std::path::Path| {
        p.ancestors()
            .find_map(|d| std::fs::metadata(d).ok())
            .map(|m| m.dev())
    };
    let scanned;
    let ignored = match preview {
        Some(p) => &p.ignored,
        None if dev(repo.workdir()) != dev(&aside) => {
            scanned = snapshot::preview(repo, true, None)?;
            &scanned.ignored
        }
        None => return Ok(()),
    };
    crate::journal::refuse_aside_across_filesystems(
        repo,
        &aside,
        ignored,
        &[settings::reports_path(&ctx.settings.reports_dir)],
    )
}

/// Run the stop or start command; a failure is reported, not fatal: the
/// rollback itself matters more than a service script. Ctrl-C or SIGTERM
/// while it runs stops the command (the error returned).
fn run_hook_command(
    ctx: &Context,
    which: &str,
    cmd: &str,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    ctx.ui.note(&format!("Running the {which} command…"));
    let timeout = std::time::Duration::from_secs(ctx.settings.test_timeout_secs);
    match testrun::run_tests(cmd, ctx.repo.workdir(), timeout) {
        Ok(run) if run.exit_code == Some(0) => {
            outcome.field(&format!("{which}_command"), "ok");
        }
        Ok(run) => {
            ctx.ui.warn(&format!(
                "the {which} command `{cmd}` {}",
                if run.timed_out {
                    "timed out".to_string()
                } else {
                    format!("exited with {:?}", run.exit_code)
                }
            ));
            outcome.field(&format!("{which}_command"), "failed");
        }
        Err(e) if testrun::interrupted(&e) => return Err(e),
        Err(e) => {
            ctx.ui
                .warn(&format!("could not run the {which} command: {e}"));
            outcome.field(&format!("{which}_command"), "failed");
        }
    }
    Ok(())
}
