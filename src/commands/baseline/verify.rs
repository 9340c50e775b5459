//! `baseline verify`: the baseline's tests, run on its tree in a temporary
//! directory (the user's work tree is not touched), cached by tree id.

use std::time::Duration;

use serde::Serialize;

use super::super::Context;
use crate::error::Exit;
use crate::testrun::{self, VerifyCache};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Run the tests even when a result for this tree is cached
    #[arg(long)]
    pub rerun: bool,
}

/// The JSON fields of `baseline verify`: what is tested…
#[derive(Serialize)]
struct Verifying<'a> {
    baseline: &'a str,
    commit: String,
    tree: String,
    test_command: &'a str,
}

/// …and the result.
#[derive(Serialize)]
struct Verified {
    passed: Option<u64>,
    failed: Option<u64>,
    exit_code: Option<i32>,
    timed_out: bool,
    cached: bool,
    succeeded: bool,
}

pub fn run(ctx: &Context, args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let baseline = super::resolve(repo, &ctx.settings)?;
    let tree = repo.commit_tree(baseline.commit)?;
    let command = testrun::test_command(repo, ctx.settings.test_command.as_deref(), tree)?;
    let mut outcome = Outcome::new();
    outcome.data(&Verifying {
        baseline: &baseline.name,
        commit: baseline.commit.to_string(),
        tree: tree.to_string(),
        test_command: &command,
    });

    let cache = VerifyCache::load(repo);
    let cached = if args.rerun {
        None
    } else {
        cache.get(tree, &command).cloned()
    };
    if ctx.ui.dry_run {
        match &cached {
            Some(c) => outcome.line(format!(
                "Would use the cached result for tree {} ({}).",
                repo.short_id(tree),
                c.run.summary()
            )),
            None => outcome.line(format!(
                "Would write tree {} to a temporary directory and run `{command}` there.",
                repo.short_id(tree)
            )),
        };
        return Ok(outcome);
    }
    let (run, from_cache) = match cached {
        Some(c) => (c.run, true),
        None => {
            let what = format!("the baseline {}", repo.short_id(baseline.commit));
            (run_on_tree(ctx, tree, &command, &what)?, false)
        }
    };
    outcome.data(&Verified {
        passed: run.passed,
        failed: run.failed,
        exit_code: run.exit_code,
        timed_out: run.timed_out,
        cached: from_cache,
        succeeded: run.succeeded(),
    });
    let mark = if run.succeeded() {
        ctx.ui.good("✓")
    } else {
        ctx.ui.bad("✗")
    };
    outcome.line(format!(
        "{mark} baseline `{}` ({}): `{command}` {}{}",
        baseline.name,
        repo.short_id(baseline.commit),
        run.summary(),
        if from_cache { " [cached]" } else { "" }
    ));
    if !run.succeeded() {
        if !from_cache {
            let tail: Vec<&str> = run.output.lines().rev().take(15).collect();
            for line in tail.into_iter().rev() {
                outcome.line(format!("    {line}"));
            }
        }
        outcome.line("The baseline's tests do not pass: fix the baseline or set another one.");
        outcome.exit_with(Exit::SafetyCheck);
    }
    Ok(outcome)
}

/// Run `command` on `tree` in a temporary worktree (the user's work tree is
/// not touched) and cache the result by tree id. `what` names the tree for
/// the progress note.
pub fn run_on_tree(
    ctx: &Context,
    tree: crate::git::Oid,
    command: &str,
    what: &str,
) -> anyhow::Result<testrun::TestRun> {
    let repo = &ctx.repo;
    ctx.ui.note(&format!(
        "Running `{command}` on {what} in a temporary directory…"
    ));
    let timeout = Duration::from_secs(ctx.settings.test_timeout_secs);
    let run = testrun::verify_tree(repo, tree, command, timeout)?;
    VerifyCache::store(repo, tree, &run)?;
    Ok(run)
}

/// The result for `tree` (the cached one when there is one): the run, and
/// whether it came from the cache. A dry run gets `None` when it would have
/// to run the tests.
pub fn tested_tree(
    ctx: &Context,
    tree: crate::git::Oid,
    command: &str,
    what: &str,
) -> anyhow::Result<Option<(testrun::TestRun, bool)>> {
    if let Some(c) = VerifyCache::load(&ctx.repo).get(tree, command) {
        return Ok(Some((c.run.clone(), true)));
    }
    if ctx.ui.dry_run {
        return Ok(None);
    }
    Ok(Some((run_on_tree(ctx, tree, command, what)?, false)))
}
