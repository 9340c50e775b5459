//! `log prune [--keep N] [--older-than DAYS]` (README: `log`, `undo`, `redo`,
//! `status`).
//!
//! The work is in [`crate::journal::prune`]; this is the command line.

use super::super::Context;
use crate::journal::prune::{self, Rule};
use crate::journal::{acquire_lock, green, keep, Journal, Lock};
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
    let keep_days = ctx.settings.keep_days;
    let rule = match (args.keep, args.older_than) {
        (None, None) if keep_days == 0 => None,
        (None, None) => Some(Rule {
            keep: None,
            older_than_days: Some(keep_days),
        }),
        (keep, older_than_days) => Some(Rule {
            keep,
            older_than_days,
        }),
    };
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
    let green_released = match rule {
        Some(rule) => {
            let runs = green::runs(repo)?;
            let chosen =
                green::select(&runs, rule.keep, rule.older_than_days, &crate::clock::now());
            if ctx.ui.dry_run {
                green::released_ids(&chosen, &runs).len()
            } else {
                green::release(repo, &chosen, &runs)?
            }
        }
        None => 0,
    };
    let kept = history.len() - ids.len();
    let freed = if ctx.ui.dry_run {
        prune::freed_bytes(&journal, &ids)
    } else {
        prune::release(repo, &journal, &ids)?
    };
    // A dry run is marked `"dry_run": true` by the caller, as every
    // command's is; a real run has no such field.
    outcome.data(&Pruned {
        released: &ids,
        kept,
        freed_bytes: freed,
    });
    if rule.is_none() {
        outcome.line(format!(
            "Nothing to release: {} is 0 (keep every operation); pass --keep N or --older-than DAYS.",
            crate::settings::KEEP_DAYS
        ));
        outcome.data(&Changed { changed: false });
        return Ok(outcome);
    }
    if green_released > 0 {
        outcome.line(format!(
            "{} {green_released} older green state{} (the last green state is kept).",
            if ctx.ui.dry_run {
                "Would release"
            } else {
                "Released"
            },
            if green_released == 1 { "" } else { "s" }
        ));
    }
    if ids.is_empty() {
        outcome.nothing_to_do(format!("no operation to release ({kept} kept)"));
        return Ok(outcome);
    }
    let verb = if ctx.ui.dry_run {
        "Would release"
    } else {
        "Released"
    };
    outcome.line(format!(
        "{verb} {} operation{} ({}), {kept} kept; {} of saved files{}.",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        shown(&ids),
        human_bytes(freed),
        if ctx.ui.dry_run {
            " would be freed"
        } else {
            " freed (their snapshots go at the next `git gc`)"
        }
    ));
    if !ctx.ui.dry_run {
        outcome.data(&Changed { changed: true });
    }
    Ok(outcome)
}

/// Our lock, held for the whole prune (not for a dry run, which changes
/// nothing). A stale lock a dead process left is cleared, as a transaction
/// clears it.
fn lock_unless_dry_run(ctx: &Context, journal: &Journal) -> anyhow::Result<Option<Lock>> {
    let repo = &ctx.repo;
    if ctx.ui.dry_run {
        return Ok(None);
    }
    let (lock, stale) = acquire_lock(journal.dir(), &ctx.command_line)?;
    if let Some(stale) = stale {
        // As a transaction does: what the dead holder left is ours to
        // clear, or the next command could not tell it was ours.
        ctx.ui.warn(&format!(
            "removed a stale lock left by git-rollback-sprint pid {} (`{}`)",
            stale.pid, stale.command
        ));
        if stale.holds_index_lock {
            let _ = std::fs::remove_file(repo.git_dir().join("index.lock"));
        }
        keep::remove_stale_lock(repo);
    }
    Ok(Some(lock))
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
