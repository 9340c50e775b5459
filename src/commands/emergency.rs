//! Level 1 — immediate full rollback (README: Level 1 — `emergency`).
//!
//! The runbook's `git stash push -u && git reset --hard baseline &&
//! git clean -fdx`, in one pass over the work tree and without losing a
//! byte: the snapshot scan that the journal needs anyway yields the stash
//! entry, the changes to write are the difference between the snapshot tree
//! and the target tree (so untracked files go in the same pass), ignored
//! files are only ever moved aside, and everything is journaled for `undo`.

use std::fmt;
use std::time::Instant;

use anyhow::Context as _;
use serde::Serialize;

use super::after_rollback::{self, AfterArgs, Verified, Verify};
use super::{baseline, new_branch_name, reset_to_tree, status::sprint_number, Context};
use crate::clock;
use crate::error::user;
use crate::git::{snapshot, stash, HeadState, Oid, RepoPath};
use crate::journal::{Intent, Scope, Transaction};
use crate::metrics;
use crate::plan::{carry_out, Carried, Execute, Phase, Plan, RefStep, Rev, Step};
use crate::settings;
use crate::testrun;
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Reset to this revision instead of the baseline (`last-green`: the state of the last passing `test` run, uncommitted files included)
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
    #[command(flatten)]
    pub after: AfterArgs,
}

/// The runbook's steps, as the dry run shows them and as they are run.
#[derive(Debug, Clone)]
enum EmergencyStep {
    /// 1. `rollback.stopCommand`, before anything is saved.
    Stop(String),
    /// 2. Stash every uncommitted change, untracked files included. Only
    ///    a dry run knows the counts: a real run takes them from the snapshot
    ///    scan instead of a second status scan.
    Stash {
        message: String,
        counts: Option<snapshot::Preview>,
    },
    /// 3. Back up the old HEAD.
    Backup(RefStep),
    /// 4. Reset the branch (or detached HEAD), the index and the work tree.
    Reset {
        what: String,
        from: Rev,
        to: Rev,
        target_name: String,
        /// Waited for only when the line is shown (the journal's record
        /// is written after the snapshot scan).
        differ: crate::git::Count,
    },
    /// 5a. Untracked files go in the reset's own pass: it writes the target
    ///    tree over the snapshot tree, which holds them.
    RemoveUntracked { count: Option<usize> },
    /// 5b. `--clean-ignored`.
    MoveIgnoredAside { count: Option<usize> },
    /// 6. The metrics entry, inside the operation so its id is recorded.
    RecordMetrics { reports_dir: String },
    /// 7. `rollback.startCommand`, on every path once services were stopped.
    Start(String),
    /// 8. `--verify`: the tests on the rolled-back tree, once the rollback
    ///    is done.
    Verify(Verify),
}

impl Step for EmergencyStep {
    fn phase(&self) -> Phase {
        match self {
            EmergencyStep::Stop(_) => Phase::Before,
            EmergencyStep::Start(_) | EmergencyStep::Verify(_) => Phase::Finally,
            _ => Phase::Journaled,
        }
    }
}

impl fmt::Display for EmergencyStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmergencyStep::Stop(cmd) => write!(f, "run the stop command: sh -c {cmd:?}"),
            EmergencyStep::Stash { message, counts } => match counts {
                Some(p) if p.is_dirty() => write!(
                    f,
                    "stash {} staged, {} modified, {} deleted and {} untracked path(s) as \"{message}\"",
                    p.staged, p.modified, p.deleted, p.untracked
                ),
                Some(_) => f.write_str("nothing uncommitted to stash"),
                None => write!(
                    f,
                    "stash all uncommitted changes, untracked files included, as \"{message}\""
                ),
            },
            EmergencyStep::Backup(step) => step.fmt(f),
            EmergencyStep::Reset {
                what,
                from,
                to,
                target_name,
                differ,
            } => write!(
                f,
                "reset {what} from {} to {} ({target_name}): {differ} tracked path(s) differ",
                from.short, to.short
            ),
            EmergencyStep::RemoveUntracked { count: Some(n) } => {
                write!(f, "remove {n} untracked file(s) (kept in the stash)")
            }
            EmergencyStep::RemoveUntracked { count: None } => {
                f.write_str("remove untracked files (kept in the stash)")
            }
            EmergencyStep::MoveIgnoredAside { count } => write!(
                f,
                "move {} ignored path(s) aside under .git/rollback/ (undo moves them back)",
                count.map_or("the".to_string(), |n| n.to_string())
            ),
            EmergencyStep::RecordMetrics { reports_dir } => {
                write!(f, "record the rollback in {reports_dir}/metrics.json")
            }
            EmergencyStep::Start(cmd) => write!(f, "run the start command: sh -c {cmd:?}"),
            EmergencyStep::Verify(v) => v.fmt(f),
        }
    }
}

/// Everything decided before anything changes.
struct Decided {
    target: Oid,
    target_name: String,
    head: Oid,
    head_state: HeadState,
    branch_ref: Option<String>,
    backup: Option<String>,
    stash_message: String,
    stamp: String,
    /// `--to last-green`: the work tree's and the index's trees to restore.
    green: Option<(Oid, Oid)>,
    verify: Option<Verify>,
}

/// The JSON fields known from the plan.
#[derive(Serialize)]
struct Planned<'a> {
    target: String,
    target_name: &'a str,
    backup_branch: Option<&'a str>,
    changed: bool,
}

/// The JSON fields of a rollback that ran.
#[derive(Serialize)]
struct RolledBack {
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_set_aside: Option<String>,
    operation_id: String,
    stash: Option<&'static str>,
    stash_message: Option<String>,
    files_changed: usize,
    untracked_removed: usize,
    ignored_moved_aside: usize,
    duration_seconds: f64,
    undo_command: String,
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let severity = metrics::parse_severity(args.severity.as_deref().unwrap_or("critical"))?;
    metrics::check_recovery_minutes(args.recovery_minutes)?;
    let since = (args.after.since.as_deref())
        .map(|t| after_rollback::parse_since(t, &clock::now()))
        .transpose()?;
    let (decided, plan) = plan(ctx, args)?;
    let mut outcome = Outcome::new();
    outcome.data(&Planned {
        target: decided.target.to_string(),
        target_name: &decided.target_name,
        backup_branch: decided.backup.as_deref(),
        changed: plan.nothing.is_none(),
    });
    let mut exec = Emergency {
        args,
        decided: &decided,
        started,
        since,
        severity,
        reports: settings::reports_path(&ctx.settings.reports_dir),
        scan: None,
        done: Done::default(),
        completed: false,
        verified: None,
    };
    if let Carried::Done { done, id } = carry_out(ctx, &plan, &mut exec, &mut outcome)? {
        announce(ctx, &decided, &done, &id, started, &mut outcome);
        if let (Some(v), Some(verified)) = (&decided.verify, &exec.verified) {
            after_rollback::report_verify(ctx, v, verified, &id, &mut outcome);
        }
    }
    Ok(outcome)
}

/// Carries out the journaled steps, in one operation.
struct Emergency<'a> {
    args: &'a Args,
    decided: &'a Decided,
    started: Instant,
    /// `--since`: when the incident began.
    since: Option<chrono::DateTime<chrono::FixedOffset>>,
    severity: &'static str,
    reports: RepoPath,
    scan: Option<snapshot::WorktreeScan>,
    done: Done,
    /// The operation ended: the rollback is done, and may be verified.
    completed: bool,
    verified: Option<Verified>,
}

impl Execute<EmergencyStep> for Emergency<'_> {
    type Done = Done;

    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        let d = self.decided;
        let mut refs = Vec::new();
        refs.extend(d.branch_ref.clone());
        refs.extend(d.backup.iter().map(|b| format!("refs/heads/{b}")));
        let scope = Scope {
            head: true,
            index: true,
            worktree: true,
            stash: true,
            refs,
            ..Scope::default()
        };
        let mut intent = Intent::new("emergency", &ctx.command_line, scope);
        // The modes of the files it will overwrite are saved with the snapshot.
        intent.overwrite_with = Some(match d.green {
            Some((tree, _)) => tree,
            None => ctx.repo.commit_tree(d.target)?,
        });
        intent.scan_ignored = self.args.clean_ignored;
        intent.preserve = vec![self.reports.clone()];
        Ok(intent)
    }

    fn outside(
        &mut self,
        ctx: &Context,
        step: &EmergencyStep,
        outcome: &mut Outcome,
    ) -> anyhow::Result<()> {
        match step {
            // Not when another run holds the repository, which would
            // refuse this one after the services were stopped.
            EmergencyStep::Stop(cmd) => {
                crate::journal::check_not_running(&ctx.repo)?;
                run_hook_command(ctx, "stop", cmd, outcome)?;
            }
            EmergencyStep::Start(cmd) => run_hook_command(ctx, "start", cmd, outcome)?,
            // Only a rollback that was carried out is verified.
            EmergencyStep::Verify(v) if self.completed => {
                self.verified = Some(after_rollback::run_verify(ctx, v));
            }
            EmergencyStep::Verify(_) => {}
            _ => anyhow::bail!("internal error: `{step}` is journaled"),
        }
        Ok(())
    }

    fn step(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        step: &EmergencyStep,
    ) -> anyhow::Result<()> {
        let repo = &ctx.repo;
        let d = self.decided;
        if self.scan.is_none() {
            let scan = tx.scan().cloned();
            self.scan =
                Some(scan.context("internal error: emergency has no snapshot of the work tree")?);
        }
        let Some(scan) = &self.scan else {
            unreachable!("the scan was taken above")
        };
        match step {
            EmergencyStep::Stash { message, .. } => self.stash(ctx, tx, message)?,
            EmergencyStep::Backup(step) => {
                crate::trace::phase("emergency: backup branch");
                tx.apply_ref_step(step)?;
            }
            EmergencyStep::Reset { to, .. } => {
                self.done.files_changed = match d.green {
                    Some((tree, index)) => super::reset_to_trees(
                        ctx,
                        tx,
                        scan,
                        tree,
                        Some(index),
                        "resetting the work tree",
                        None,
                    )?,
                    None => reset_to_tree(
                        ctx,
                        tx,
                        scan,
                        repo.commit_tree(to.id)?,
                        "resetting the work tree",
                    )?,
                };
                match &d.branch_ref {
                    Some(branch) => tx.apply_ref_step(&RefStep::MoveRef {
                        name: branch.clone(),
                        from: Some(d.head),
                        to: to.clone(),
                        shown: String::new(),
                    })?,
                    None => tx.apply_ref_step(&RefStep::DetachHead { at: to.clone() })?,
                }
            }
            // Done by the reset's pass (see the step).
            EmergencyStep::RemoveUntracked { .. } => {}
            EmergencyStep::MoveIgnoredAside { .. } => {
                for path in &scan.ignored {
                    self.done.moved_ignored += move_aside_except(tx, path, &self.reports)?;
                }
                tx.prune_empty_parents(&scan.ignored)?;
            }
            EmergencyStep::RecordMetrics { reports_dir } => {
                self.record_metrics(ctx, tx, reports_dir)?
            }
            EmergencyStep::Stop(_) | EmergencyStep::Start(_) | EmergencyStep::Verify(_) => {
                anyhow::bail!("internal error: `{step}` is not journaled")
            }
        }
        Ok(())
    }

    fn done(&mut self, _ctx: &Context, tx: &mut Transaction<'_>) -> anyhow::Result<Done> {
        tx.detail("stashed", self.done.stashed);
        self.completed = true;
        Ok(std::mem::take(&mut self.done))
    }
}

impl Emergency<'_> {
    /// Stash every uncommitted change, untracked files included. The
    /// reports folder is the tool's, not the user's work: the stash leaves
    /// it as HEAD has it, so that popping the entry never meets the metrics
    /// written since (docs/invariants.md, I8).
    fn stash(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        message: &str,
    ) -> anyhow::Result<()> {
        let repo = &ctx.repo;
        let d = self.decided;
        let Some(scan) = &self.scan else {
            anyhow::bail!("internal error: emergency has no snapshot of the work tree")
        };
        let head_tree = repo.commit_tree(d.head)?;
        let work = scan.without_folder(repo, Some(head_tree), &self.reports)?;
        self.done.untracked = work.untracked.len();
        if work.is_dirty() {
            let branch = d
                .branch_ref
                .as_deref()
                .map(|b| b.trim_start_matches("refs/heads/").to_string())
                .unwrap_or_else(|| "(no branch)".to_string());
            let w = stash::build_stash_commit(repo, &work, d.head, &branch, message)?;
            tx.push_stash(w, &format!("On {branch}: {message}"))?;
            crate::fault::point("after-stash");
            self.done.stashed = true;
        }
        Ok(())
    }

    /// The metrics entry, inside the operation so its id is recorded.
    fn record_metrics(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        reports_dir: &str,
    ) -> anyhow::Result<()> {
        crate::trace::phase("emergency: metrics");
        let d = self.decided;
        let backup_ref = d.backup.as_ref().map(|b| format!("refs/heads/{b}"));
        let cause = self.args.reason.as_deref().unwrap_or("emergency rollback");
        crate::reports_folder::prepare(&ctx.repo, reports_dir)?;
        let id = tx.id().to_string();
        let (recovery_minutes, recovery_time_measures) = after_rollback::recovery_minutes(
            self.args.recovery_minutes,
            after_rollback::incident_start(ctx, self.since),
            self.started.elapsed(),
        );
        let entry = metrics::Entry {
            timestamp: clock::rfc3339(&clock::now()),
            sprint: d
                .branch_ref
                .as_deref()
                .and_then(|b| sprint_number(b.trim_start_matches("refs/heads/"))),
            severity: self.severity,
            cause,
            recovery_minutes,
            kind: "emergency",
            operation_id: Some(&id),
            duration_seconds: self.started.elapsed().as_secs_f64(),
            files_changed: self.done.files_changed,
            backup_ref: backup_ref.as_deref(),
            undone: false,
            // Set once the verification passes, after the rollback.
            verified: false,
            recovery_time_measures,
        };
        self.done.metrics_set_aside = metrics::record(tx, reports_dir, &d.stamp, &entry)?;
        Ok(())
    }
}

/// What the rollback did, and how to undo it.
fn announce(
    ctx: &Context,
    d: &Decided,
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
    }
    outcome.data(&RolledBack {
        metrics_set_aside: done
            .metrics_set_aside
            .as_ref()
            .map(|a| a.display().to_string()),
        operation_id: id.to_string(),
        stash: done.stashed.then_some("stash@{0}"),
        stash_message: done.stashed.then(|| d.stash_message.clone()),
        files_changed: done.files_changed,
        untracked_removed: done.untracked,
        ignored_moved_aside: done.moved_ignored,
        duration_seconds: metrics::round2(seconds),
        undo_command: format!("git rollback-sprint undo {id}"),
    });
    outcome.line(format!(
        "{} {} is now at {} ({}).",
        ctx.ui.good("Rolled back:"),
        d.head_state.describe(),
        repo.short_id(d.target),
        d.target_name
    ));
    if done.stashed {
        outcome.line(format!(
            "  your uncommitted work: stash@{{0}} \"{}\" ({} untracked file(s) included)",
            d.stash_message, done.untracked
        ));
    } else {
        outcome.line("  there was no uncommitted work to stash");
    }
    if let Some(b) = &d.backup {
        outcome.line(format!(
            "  the old HEAD: branch {b} ({})",
            repo.short_id(d.head)
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

#[derive(Default)]
struct Done {
    stashed: bool,
    files_changed: usize,
    moved_ignored: usize,
    untracked: usize,
    metrics_set_aside: Option<std::path::PathBuf>,
}

fn plan(ctx: &Context, args: &Args) -> anyhow::Result<(Decided, Plan<EmergencyStep>)> {
    let repo = &ctx.repo;
    super::refuse_operation_in_progress(repo)?;
    crate::journal::check_index_unlocked(repo)?;
    crate::reports_folder::check(repo.workdir(), &ctx.settings.reports_dir)?;
    let head_state = repo.head_state()?;
    let head = head_commit(repo)?;
    let (target, target_name, green) = resolve_target(ctx, args)?;
    // Counted beside the checks below, which read the index.
    let counting = green
        .is_none()
        .then(|| repo.count_files_changed(head, target));
    // Verified is the tree the work tree is left with: the green state's
    // files with `--to last-green`.
    let verified_tree = match green {
        Some((tree, _)) => tree,
        None => repo.commit_tree(target)?,
    };
    let verify = after_rollback::plan_verify(ctx, &args.after, verified_tree)?;
    let green_is_head = green_is_head(repo, green, target)?;
    let branch_ref = refuse_branch(repo, &head_state)?;
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
    let mut plan = Plan::new();
    plan.nothing = match &preview {
        Some(p) if head == target && green_is_head && !p.is_dirty() && p.ignored.is_empty() => {
            Some(nothing_to_do(repo, args, &head_state, target, &target_name))
        }
        _ => None,
    };
    if args.clean_ignored && plan.nothing.is_none() {
        refuse_aside_across_filesystems(ctx, preview.as_ref())?;
    }
    let decided = Decided {
        target,
        target_name,
        head,
        head_state,
        branch_ref,
        backup,
        stash_message,
        stamp,
        green,
        verify,
    };
    push_steps(ctx, args, &decided, preview.as_ref(), counting, &mut plan)?;
    Ok((decided, plan))
}

/// HEAD's commit: a branch without history has nothing to roll back from.
fn head_commit(repo: &crate::git::Repo) -> anyhow::Result<Oid> {
    match repo.head_commit()? {
        Some(head) => Ok(head),
        None => Err(
            user("HEAD has no commit yet: there is nothing to roll back from")
                .hint("commit first; emergency resets a branch that has history")
                .into(),
        ),
    }
}

/// `--to last-green`: the green state's work tree and index trees.
type GreenTrees = (Oid, Oid);

/// The commit to roll back to and its name: `--to`, the last green state,
/// or the baseline; refused when it cannot be restored exactly. With
/// `--to last-green`, also the green state's work tree and index trees.
fn resolve_target(ctx: &Context, args: &Args) -> anyhow::Result<(Oid, String, Option<GreenTrees>)> {
    let repo = &ctx.repo;
    // `last-green`: HEAD, the index and the work tree of the last test
    // run that passed (`git rollback-sprint test`).
    let green = match args.to.as_deref() {
        Some(crate::journal::green::REV) => Some(crate::journal::green::resolve(repo)?),
        _ => None,
    };
    let (target, target_name) = match &args.to {
        Some(_) if green.is_some() => {
            let g = green.as_ref().context("internal error: no green state")?;
            (g.head_oid()?, "the last green state".to_string())
        }
        Some(rev) => (repo.resolve_commit(rev)?, rev.clone()),
        None => {
            let b = baseline::resolve(repo, &ctx.settings)?;
            (b.commit, format!("baseline `{}`", b.name))
        }
    };
    repo.refuse_inexact_commit(target, &target_name)?;
    super::refuse_filter_drivers(repo, repo.commit_tree(target)?)?;
    let green = match green {
        Some(g) => Some((g.tree_oid()?, g.index_tree_oid()?)),
        None => None,
    };
    Ok((target, target_name, green))
}

/// At the green state's HEAD with a clean tree, there is nothing to do
/// only when the green state had nothing uncommitted either.
fn green_is_head(
    repo: &crate::git::Repo,
    green: Option<GreenTrees>,
    target: Oid,
) -> anyhow::Result<bool> {
    Ok(match green {
        Some((tree, index)) => {
            let head_tree = repo.commit_tree(target)?;
            tree == head_tree && index == head_tree
        }
        None => true,
    })
}

/// The branch HEAD is on, if any; refused in a sparse checkout, or when
/// that branch is checked out in another worktree.
fn refuse_branch(
    repo: &crate::git::Repo,
    head_state: &HeadState,
) -> anyhow::Result<Option<String>> {
    super::refuse_sparse(repo, "emergency")?;
    let branch_ref = match head_state {
        HeadState::Symbolic(r) => Some(r.clone()),
        HeadState::Detached(_) => None,
    };
    if let Some(branch) = &branch_ref {
        super::refuse_branch_checked_out_elsewhere(repo, branch, "emergency")?;
    }
    Ok(branch_ref)
}

/// Why there is nothing to do: HEAD is at the target with nothing
/// uncommitted.
fn nothing_to_do(
    repo: &crate::git::Repo,
    args: &Args,
    head_state: &HeadState,
    target: Oid,
    target_name: &str,
) -> String {
    format!(
        "{} is already at {} ({target_name}) and there is nothing uncommitted{}",
        head_state.describe(),
        repo.short_id(target),
        if args.clean_ignored {
            " and no ignored file"
        } else {
            ""
        }
    )
}

/// The runbook's steps for what was decided, in order. `preview` holds the
/// counts a dry run shows.
fn push_steps(
    ctx: &Context,
    args: &Args,
    d: &Decided,
    preview: Option<&snapshot::Preview>,
    counting: Option<crate::git::Counting>,
    plan: &mut Plan<EmergencyStep>,
) -> anyhow::Result<()> {
    let repo = &ctx.repo;
    if let Some(cmd) = &ctx.settings.stop_command {
        plan.push(EmergencyStep::Stop(cmd.clone()));
    }
    plan.push(EmergencyStep::Stash {
        message: d.stash_message.clone(),
        counts: preview.cloned(),
    });
    if let Some(b) = &d.backup {
        plan.push(EmergencyStep::Backup(RefStep::CreateBranch {
            name: b.clone(),
            at: Rev::new(repo, d.head),
        }));
    }
    plan.push(EmergencyStep::Reset {
        what: d.head_state.describe(),
        from: Rev::new(repo, d.head),
        to: Rev::new(repo, d.target),
        target_name: d.target_name.clone(),
        differ: match (d.green, counting) {
            (Some((tree, _)), _) => crate::git::Count::known(
                crate::git::writer::tree_changes(repo, repo.commit_tree(d.head)?, tree)?.len(),
            ),
            (None, Some(counting)) => counting.later(repo)?,
            (None, None) => crate::git::Count::known(repo.files_changed(d.head, d.target)?),
        },
    });
    match preview {
        Some(p) if p.untracked == 0 => {}
        p => plan.push(EmergencyStep::RemoveUntracked {
            count: p.map(|p| p.untracked),
        }),
    }
    if args.clean_ignored {
        plan.push(EmergencyStep::MoveIgnoredAside {
            count: preview.map(|p| p.ignored.len()),
        });
    }
    plan.push(EmergencyStep::RecordMetrics {
        reports_dir: ctx.settings.reports_dir.clone(),
    });
    if let Some(cmd) = &ctx.settings.start_command {
        plan.push(EmergencyStep::Start(cmd.clone()));
    }
    if let Some(v) = &d.verify {
        plan.push(EmergencyStep::Verify(v.clone()));
    }
    Ok(())
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
            outcome.data(&serde_json::json!({ format!("{which}_command"): "ok" }));
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
            outcome.data(&serde_json::json!({ format!("{which}_command"): "failed" }));
        }
        Err(e) if testrun::interrupted(&e) => return Err(e),
        Err(e) => {
            ctx.ui
                .warn(&format!("could not run the {which} command: {e}"));
            outcome.data(&serde_json::json!({ format!("{which}_command"): "failed" }));
        }
    }
    Ok(())
}
