//! `log prune [--keep N] [--older-than DAYS]` (README: `log`, `undo`, `redo`,
//! `status`).
//!
//! The work is in [`crate::journal::prune`]; this is the command line.

use super::super::Context;
use crate::journal::prune::{self, Rule};
use crate::journal::{green, keep, take_lock, Journal, Lock};
use crate::plan::{carry_out, Carried, Execute, Phase, Plan, Step};
use crate::ui::Outcome;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep the newest N operations
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    /// Release only operations older than DAYS days
    #[arg(long, value_name = "DAYS")]
    pub older_than: Option<u64>,
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let journal = Journal::for_repo(repo);
    let rule = rule(args, ctx.settings.keep_days);
    let mut outcome = Outcome::new();
    // Under the lock, even to only say what would go: the answer must be
    // the one a real run would act on.
    let _lock = lock_unless_dry_run(ctx, &journal)?;
    let mut history = journal.history()?;
    if !ctx.ui.dry_run && keep::migrate_legacy(repo, &|id| history.contains(id))? > 0 {
        history = journal.history()?;
    }
    let ids = match rule {
        Some(rule) => prune::select(&history, rule, &crate::clock::now()),
        None => Vec::new(),
    };
    // The older green states go by the same rule; the last one stays.
    let runs = green::runs(repo)?;
    let green_chosen = match rule {
        Some(rule) => green::select(&runs, rule.keep, rule.older_than_days, &crate::clock::now()),
        None => Vec::new(),
    };
    let green_count = green::released_ids(&green_chosen, &runs).len();
    let kept = history.len() - ids.len();
    // A dry run is marked `"dry_run": true` by the caller, as every
    // command's is; a real run has no such field.
    if rule.is_none() {
        report_keep_all(&mut outcome, &ids, kept);
        return Ok(outcome);
    }
    let freed = prune::freed_bytes(&journal, &ids);
    outcome.data(&Pruned {
        released: &ids,
        kept,
        freed_bytes: freed,
    });
    let plan = plan(&ids, kept, freed, green_chosen, green_count);
    let exec = Releasing {
        journal: &journal,
        runs: &runs,
        freed: 0,
    };
    let Carried::Unjournaled(freed) = carry_out(ctx, &plan, exec, &mut outcome)? else {
        // Nothing to release, or a dry run: the plan says so.
        return Ok(outcome);
    };
    report_released(&mut outcome, &ids, kept, freed, green_count);
    Ok(outcome)
}

/// The rule to release by: `--keep` and `--older-than`, else
/// `rollback.keepDays`; none when that is 0 (keep every operation).
fn rule(args: &Args, keep_days: u64) -> Option<Rule> {
    match (args.keep, args.older_than) {
        (None, None) if keep_days == 0 => None,
        (None, None) => Some(Rule {
            keep: None,
            older_than_days: Some(keep_days),
        }),
        (keep, older_than_days) => Some(Rule {
            keep,
            older_than_days,
        }),
    }
}

/// No rule to release by: nothing goes, and the user is told how to
/// release anyway.
fn report_keep_all(outcome: &mut Outcome, ids: &[String], kept: usize) {
    outcome.data(&Pruned {
        released: ids,
        kept,
        freed_bytes: 0,
    });
    outcome.line(format!(
        "Nothing to release: {} is 0 (keep every operation); pass --keep N or --older-than DAYS.",
        crate::settings::KEEP_DAYS
    ));
    outcome.data(&Changed { changed: false });
}

/// The steps: release the chosen operations, then the older green states.
fn plan(
    ids: &[String],
    kept: usize,
    freed: u64,
    green_chosen: Vec<usize>,
    green_count: usize,
) -> Plan<PruneStep> {
    let mut plan = Plan::new();
    plan.one_line = true;
    if ids.is_empty() && green_count == 0 {
        plan.nothing = Some(format!("no operation to release ({kept} kept)"));
    }
    if !ids.is_empty() {
        plan.push(PruneStep::Release {
            ids: ids.to_vec(),
            kept,
            freed,
        });
    }
    if green_count > 0 {
        plan.push(PruneStep::ReleaseGreen {
            chosen: green_chosen,
            count: green_count,
        });
    }
    plan
}

/// What was released and what it freed.
fn report_released(
    outcome: &mut Outcome,
    ids: &[String],
    kept: usize,
    freed: u64,
    green_count: usize,
) {
    outcome.data(&Pruned {
        released: ids,
        kept,
        freed_bytes: freed,
    });
    if !ids.is_empty() {
        outcome.line(format!(
            "Released {}, {kept} kept; {} of saved files freed (their snapshots go at the next `git gc`).",
            operations(ids),
            human_bytes(freed),
        ));
    }
    if green_count > 0 {
        outcome.line(format!("Released {}.", green_states(green_count)));
    }
    outcome.data(&Changed { changed: true });
}

/// What `log prune` does: the journal's own records, which the journal
/// does not save (docs/invariants.md), so no transaction holds it.
#[derive(Debug, Clone)]
enum PruneStep {
    /// Release these operations: their keep entries, records and folders.
    Release {
        ids: Vec<String>,
        kept: usize,
        /// The bytes of their saved files.
        freed: u64,
    },
    /// Release the older green states (`chosen`, indexes of the test runs),
    /// never the last one.
    ReleaseGreen { chosen: Vec<usize>, count: usize },
}

impl Step for PruneStep {
    fn phase(&self) -> Phase {
        Phase::Unjournaled
    }
}

impl std::fmt::Display for PruneStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PruneStep::Release { ids, kept, freed } => write!(
                f,
                "release {}, {kept} kept; {} of saved files would be freed.",
                operations(ids),
                human_bytes(*freed)
            ),
            PruneStep::ReleaseGreen { count, .. } => write!(
                f,
                "release {} (the last green state is kept)",
                green_states(*count)
            ),
        }
    }
}

/// Releases the operations and green states, under the lock the command
/// holds. Done: the bytes freed.
struct Releasing<'a> {
    journal: &'a Journal,
    runs: &'a [green::Run],
    freed: u64,
}

impl Execute<PruneStep> for Releasing<'_> {
    type Done = u64;

    fn outside(&mut self, ctx: &Context, step: &PruneStep, _: &mut Outcome) -> anyhow::Result<()> {
        match step {
            PruneStep::Release { ids, .. } => {
                self.freed = prune::release(&ctx.repo, self.journal, ids)?;
            }
            PruneStep::ReleaseGreen { chosen, .. } => {
                green::release(&ctx.repo, chosen, self.runs)?;
            }
        }
        Ok(())
    }

    fn done_outside(&mut self, _ctx: &Context) -> anyhow::Result<u64> {
        Ok(self.freed)
    }
}

/// `N older green state(s)`.
fn green_states(count: usize) -> String {
    format!(
        "{count} older green state{}",
        if count == 1 { "" } else { "s" }
    )
}

/// `N operation(s) (ids)`.
fn operations(ids: &[String]) -> String {
    format!(
        "{} operation{} ({})",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        shown(ids)
    )
}

/// Our lock, held for the whole prune (not for a dry run, which changes
/// nothing). A stale lock a dead process left is cleared, as a transaction
/// clears it.
fn lock_unless_dry_run(ctx: &Context, journal: &Journal) -> anyhow::Result<Option<Lock>> {
    let repo = &ctx.repo;
    if ctx.ui.dry_run {
        return Ok(None);
    }
    Ok(Some(take_lock(repo, &ctx.ui, journal, &ctx.command_line)?))
}

/// The JSON fields of `log prune`.
#[derive(Serialize)]
struct Pruned<'a> {
    released: &'a [String],
    kept: usize,
    freed_bytes: u64,
}

/// Whether `log prune` changed the journal.
#[derive(Serialize)]
struct Changed {
    changed: bool,
}

/// The ids, the first ten of them when there are more.
fn shown(ids: &[String]) -> String {
    if ids.len() <= 10 {
        ids.join(", ")
    } else {
        format!("{}, … and {} more", ids[..10].join(", "), ids.len() - 10)
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} bytes"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
    }
}
