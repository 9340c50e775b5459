//! `baseline set [REV] [-m MSG] [--force]`.

use std::fmt;

use serde::Serialize;

use super::super::Context;
use crate::clock;
use crate::error::user;
use crate::git::{Oid, Repo};
use crate::journal::{Intent, Scope, Transaction};
use crate::plan::{carry_out, Carried, Execute, Plan, RefStep, Rev, Step};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The commit to tag (default HEAD)
    pub rev: Option<String>,
    /// The tag message
    #[arg(short, long, value_name = "MSG")]
    pub message: Option<String>,
    /// Move an existing baseline (the old one is kept as <name>-prev-<ts>)
    #[arg(long)]
    pub force: bool,
}

/// The JSON fields of `baseline set`.
#[derive(Serialize)]
struct Planned<'a> {
    baseline: &'a str,
    commit: String,
    previous: Option<&'a str>,
}

#[derive(Serialize)]
struct Set<'a> {
    operation_id: &'a str,
}

pub fn run(ctx: &Context, args: &SetArgs) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let name = &super::tag_name(&ctx.settings.baseline)?;
    let target = target(ctx, args)?;
    let info = repo.commit_info(target)?;
    let (moving, plan) = plan(ctx, args, name, target, &info.summary)?;
    let keep_as = moving.as_ref().and_then(|m| m.keep_as.as_deref());
    let mut outcome = Outcome::new();
    outcome.data(&Planned {
        baseline: name,
        commit: target.to_string(),
        previous: keep_as,
    });
    let exec = SetTag {
        refs: moving.as_ref().map(Move::refs).unwrap_or_default(),
    };
    let carried = carry_out(ctx, &plan, exec, &mut outcome)?;
    if let Carried::Done { id, .. } = carried {
        outcome.data(&Set { operation_id: &id });
        outcome.line(format!(
            "Baseline `{name}` is now {} {}",
            repo.short_id(target),
            crate::ui::quote(&info.summary)
        ));
        if let Some(prev) = keep_as {
            outcome.line(format!("The previous baseline is kept as `{prev}`."));
        }
        outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
    }
    Ok(outcome)
}

/// The commit to tag: REV, or HEAD, which must have a commit.
fn target(ctx: &Context, args: &SetArgs) -> anyhow::Result<Oid> {
    let rev = args.rev.as_deref().unwrap_or("HEAD");
    if rev == "HEAD" && ctx.repo.head_commit()?.is_none() {
        return Err(user("HEAD has no commit yet")
            .hint("commit something first, then set the baseline")
            .into());
    }
    ctx.repo.resolve_commit(rev)
}

/// The move of the baseline tag, and its plan; nothing to do when the tag
/// is already there and no new message is asked for.
fn plan(
    ctx: &Context,
    args: &SetArgs,
    name: &str,
    target: Oid,
    summary: &str,
) -> anyhow::Result<(Option<Move>, Plan<TagStep>)> {
    let repo = &ctx.repo;
    let mut plan = Plan::new();
    if let Some(old) = repo.tag_info(name)? {
        // Already there (and no new message asked for): nothing to do,
        // rather than a refusal or a second tag of the same commit.
        if old.commit == target && args.message.is_none() {
            plan.nothing = Some(format!(
                "the baseline `{name}` is already {} {summary}",
                repo.short_id(target)
            ));
            return Ok((None, plan));
        }
        if !args.force {
            return Err(user(format!(
                "the baseline `{name}` already exists at {}",
                repo.short_id(old.commit)
            ))
            .hint(format!(
                "pass --force to move it (the old one is kept as {name}-prev-<timestamp>)"
            ))
            .into());
        }
    }
    let message = args
        .message
        .clone()
        .unwrap_or_else(|| format!("Baseline: {summary}"));
    let moving = Move::plan(repo, name, target, &message)?;
    plan.steps = moving.plan_steps(repo, summary);
    Ok((Some(moving), plan))
}

/// Carries out `baseline set`: the tag steps, in one operation whose scope
/// is the refs of the move.
struct SetTag {
    refs: Vec<String>,
}

impl Execute<TagStep> for SetTag {
    type Done = ();

    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        Ok(Intent::new(
            "baseline set",
            &ctx.command_line,
            Scope::refs(self.refs.clone()),
        ))
    }

    fn step(
        &mut self,
        _ctx: &Context,
        tx: &mut Transaction<'_>,
        step: &TagStep,
    ) -> anyhow::Result<()> {
        step.apply(tx)
    }

    fn done(&mut self, _ctx: &Context, _tx: &mut Transaction<'_>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Moving (or creating) the baseline tag, the old one kept as
/// `<name>-prev-<ts>`: planned before the transaction, applied inside it.
pub struct Move {
    pub name: String,
    pub refname: String,
    pub target: Oid,
    pub message: String,
    /// The tag object the baseline ref points at now, and its commit.
    pub old: Option<(Oid, Oid)>,
    pub keep_as: Option<String>,
}

impl Move {
    pub fn plan(repo: &Repo, setting: &str, target: Oid, message: &str) -> anyhow::Result<Move> {
        let name = &super::tag_name(setting)?;
        let old = repo.tag_info(name)?.map(|t| (t.target, t.commit));
        let keep_as = match old {
            Some(_) => Some(repo.unused_ref_name(
                "refs/tags/",
                &format!("{name}-prev-{}", clock::stamp(&clock::now())),
            )?),
            None => None,
        };
        Ok(Move {
            name: name.to_string(),
            refname: format!("refs/tags/{name}"),
            target,
            message: message.to_string(),
            old,
            keep_as,
        })
    }

    pub fn refs(&self) -> Vec<String> {
        let mut refs = vec![self.refname.clone()];
        refs.extend(self.keep_as.iter().map(|p| format!("refs/tags/{p}")));
        refs
    }

    /// The steps of the move, as the plan shows and runs them.
    pub fn plan_steps(&self, repo: &Repo, summary: &str) -> Vec<TagStep> {
        let mut steps = Vec::new();
        if let (Some(prev), Some((tag, commit))) = (&self.keep_as, self.old) {
            steps.push(TagStep::Keep(RefStep::CreateRef {
                name: format!("refs/tags/{prev}"),
                at: Rev::new(repo, tag),
                shown: format!(
                    "keep the old baseline ({}) as tag {prev}",
                    repo.short_id(commit)
                ),
            }));
        }
        steps.push(TagStep::Tag {
            name: self.name.clone(),
            refname: self.refname.clone(),
            target: Rev::new(repo, self.target),
            summary: summary.to_string(),
            message: self.message.clone(),
            old_tag: self.old.map(|(tag, _)| tag),
        });
        steps
    }

    /// The steps' lines (for a plan that is still a list of lines).
    pub fn steps(&self, repo: &Repo, summary: &str) -> Vec<String> {
        self.plan_steps(repo, summary)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// Run every step of the move inside `tx` (the commit's summary only
    /// shows in a step's line, so none is needed here).
    pub fn apply(&self, tx: &Transaction) -> anyhow::Result<()> {
        for step in self.plan_steps(tx.repo(), "") {
            step.apply(tx)?;
        }
        Ok(())
    }
}

/// A step of moving the baseline tag.
#[derive(Debug, Clone)]
pub enum TagStep {
    /// Keep the old baseline's tag object under the `-prev-` name.
    Keep(RefStep),
    /// Write the new tag object and point the baseline at it.
    Tag {
        name: String,
        refname: String,
        target: Rev,
        summary: String,
        message: String,
        /// The tag object the baseline ref points at now.
        old_tag: Option<Oid>,
    },
}

impl Step for TagStep {}

impl fmt::Display for TagStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagStep::Keep(step) => step.fmt(f),
            TagStep::Tag {
                name,
                target,
                summary,
                ..
            } => write!(f, "tag {} ({summary}) as `{name}`", target.short),
        }
    }
}

impl TagStep {
    pub fn apply(&self, tx: &Transaction) -> anyhow::Result<()> {
        match self {
            TagStep::Keep(step) => tx.apply_ref_step(step),
            TagStep::Tag {
                name,
                refname,
                target,
                message,
                old_tag,
                ..
            } => {
                let tag = tx.repo().write_tag_object(name, target.id, message)?;
                tx.update_ref(refname, *old_tag, Some(tag))
            }
        }
    }
}
