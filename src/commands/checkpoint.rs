//! `checkpoint [-m MSG] [--wip]`, `checkpoint list`, `checkpoint prune`
//! (README: `checkpoint`): the runbook's "tag checkpoint-<ts> before each
//! sprint".

use std::fmt;

use anyhow::Context as _;
use serde::Serialize;

use super::Context;
use crate::clock;
use crate::error::user;
use crate::git::{snapshot, Oid, TagInfo};
use crate::journal::{Intent, Scope, Transaction};
use crate::plan::{carry_out, Carried, Execute, Plan, RefStep, Step};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// The tag message
    #[arg(short, long, value_name = "MSG")]
    pub message: Option<String>,
    /// Tag a commit of the whole working tree (tracked changes and untracked
    /// files) instead of HEAD; nothing is touched
    #[arg(long)]
    pub wip: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Checkpoints, newest first
    List,
    /// Delete old checkpoint tags (undo restores them)
    Prune {
        /// Keep the newest N checkpoints
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
        /// Delete only checkpoints older than DAYS days
        #[arg(long, value_name = "DAYS")]
        older_than: Option<u64>,
    },
}

impl Args {
    pub fn reads_only(&self) -> bool {
        matches!(self.action, Some(Action::List))
    }
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    match &args.action {
        None => create(ctx, args),
        Some(Action::List) => list(ctx),
        Some(Action::Prune { keep, older_than }) => prune(ctx, *keep, *older_than),
    }
}

/// The steps of `checkpoint` and `checkpoint prune`, as the dry run shows
/// them and as they are run.
#[derive(Debug, Clone)]
enum CheckpointStep {
    /// Tag HEAD, or a commit of the whole working tree on top of it
    /// (`--wip`), with an annotated tag that must not exist yet.
    Tag {
        name: String,
        head: Oid,
        /// `HEAD (abc1234)`, or the WIP commit described.
        what: String,
        wip: bool,
        message: String,
    },
    /// Delete a checkpoint's tag that still points where it did.
    Delete(RefStep),
}

impl Step for CheckpointStep {}

impl fmt::Display for CheckpointStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointStep::Tag { name, what, .. } => write!(f, "tag {what} as `{name}`"),
            CheckpointStep::Delete(step) => step.fmt(f),
        }
    }
}

impl CheckpointStep {
    /// The full ref name the step creates or deletes.
    fn ref_name(&self) -> Option<String> {
        match self {
            CheckpointStep::Tag { name, .. } => Some(format!("refs/tags/{name}")),
            CheckpointStep::Delete(step) => step.ref_name(),
        }
    }
}

/// The JSON fields known from the plan of a new checkpoint.
#[derive(Serialize)]
struct Planned<'a> {
    tag: &'a str,
    wip: bool,
}

/// The JSON fields of a checkpoint made.
#[derive(Serialize)]
struct Tagged<'a> {
    commit: String,
    operation_id: &'a str,
}

/// One checkpoint of `checkpoint list`.
#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    date: String,
    commit: String,
    message: &'a str,
}

#[derive(Serialize)]
struct Listing<'a> {
    checkpoints: Vec<Listed<'a>>,
}

/// The JSON fields of `checkpoint prune`.
#[derive(Serialize)]
struct Pruned<'a> {
    deleted: Vec<&'a str>,
    changed: bool,
}

#[derive(Serialize)]
struct Operation<'a> {
    operation_id: &'a str,
}

/// Carries out a checkpoint's steps, in one operation.
struct Checkpointing {
    /// The operation's kind in the journal.
    kind: &'static str,
    /// The refs the steps change (the operation's scope).
    refs: Vec<String>,
    /// The commit the new tag points at.
    tagged: Option<Oid>,
}

impl Checkpointing {
    fn new(kind: &'static str, plan: &Plan<CheckpointStep>) -> Self {
        Checkpointing {
            kind,
            refs: plan
                .steps
                .iter()
                .filter_map(CheckpointStep::ref_name)
                .collect(),
            tagged: None,
        }
    }
}

impl Execute<CheckpointStep> for Checkpointing {
    type Done = Option<Oid>;

    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        Ok(Intent::new(
            self.kind,
            &ctx.command_line,
            Scope::refs(self.refs.clone()),
        ))
    }

    fn step(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        step: &CheckpointStep,
    ) -> anyhow::Result<()> {
        match step {
            CheckpointStep::Tag {
                name,
                head,
                wip,
                message,
                ..
            } => {
                let target = if *wip {
                    wip_commit(ctx, tx, *head, name, message)?
                } else {
                    *head
                };
                let tag = ctx.repo.write_tag_object(name, target, message)?;
                tx.update_ref(&format!("refs/tags/{name}"), None, Some(tag))?;
                self.tagged = Some(target);
            }
            CheckpointStep::Delete(step) => tx.apply_ref_step(step)?,
        }
        Ok(())
    }

    fn done(&mut self, _ctx: &Context, _tx: &mut Transaction<'_>) -> anyhow::Result<Option<Oid>> {
        Ok(self.tagged)
    }
}

/// A commit of the whole working tree on top of `head`, for `--wip`;
/// nothing in the work tree or the index is touched.
fn wip_commit(
    ctx: &Context,
    tx: &mut Transaction<'_>,
    head: Oid,
    name: &str,
    message: &str,
) -> anyhow::Result<Oid> {
    let repo = &ctx.repo;
    // The reports folder is the tool's, not the user's work: the
    // checkpoint keeps it as HEAD has it (docs/invariants.md, I8).
    let reports = crate::settings::reports_path(&ctx.settings.reports_dir);
    let scan = snapshot::scan_worktree(repo)?.without_folder(
        repo,
        Some(repo.commit_tree(head)?),
        &reports,
    )?;
    for dir in &scan.unreadable {
        ctx.ui.warn(&format!(
            "cannot read the untracked directory {dir}/: it is not in the checkpoint \
             (chmod u+rx {dir} to have it saved)"
        ));
    }
    let commit = snapshot::commit_snapshot(
        repo,
        scan.tree,
        &[head],
        &format!("WIP checkpoint {name}: {message}\n"),
    )?;
    tx.detail("untracked_files", scan.untracked.len());
    Ok(commit)
}

/// The plan of a new checkpoint: one step, tagging HEAD (or, with `wip`,
/// a commit of the working tree) under a name not taken yet.
fn plan_tag(ctx: &Context, wip: bool, message: String) -> anyhow::Result<Plan<CheckpointStep>> {
    let repo = &ctx.repo;
    let prefix = &ctx.settings.checkpoint_prefix;
    let Some(head) = repo.head_commit()? else {
        return Err(user("HEAD has no commit yet")
            .hint("commit something first; a checkpoint tags a commit")
            .into());
    };
    let now = clock::now();
    let name = repo.unused_ref_name("refs/tags/", &format!("{prefix}{}", clock::stamp(&now)))?;
    if !crate::git::Repo::valid_tag_name(&name) {
        return Err(user(format!("`{name}` is not a valid tag name"))
            .hint("fix git config rollback.checkpointPrefix")
            .into());
    }
    let what = if wip {
        format!(
            "a commit of the whole working tree (parent {})",
            repo.short_id(head)
        )
    } else {
        format!("HEAD ({})", repo.short_id(head))
    };
    let mut plan = Plan::new();
    plan.one_line = true;
    plan.push(CheckpointStep::Tag {
        name,
        head,
        what,
        wip,
        message,
    });
    Ok(plan)
}

/// The name of the tag a plan of [`plan_tag`] creates.
fn tag_name(plan: &Plan<CheckpointStep>) -> anyhow::Result<&str> {
    match plan.steps.first() {
        Some(CheckpointStep::Tag { name, .. }) => Ok(name),
        _ => anyhow::bail!("internal error: a checkpoint's plan tags nothing"),
    }
}

fn create(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let message = args.message.clone().unwrap_or_else(|| {
        if args.wip {
            "Checkpoint of the working tree".to_string()
        } else {
            "Checkpoint".to_string()
        }
    });
    let plan = plan_tag(ctx, args.wip, message)?;
    let name = tag_name(&plan)?;
    let mut outcome = Outcome::new();
    outcome.data(&Planned {
        tag: name,
        wip: args.wip,
    });
    let exec = Checkpointing::new("checkpoint", &plan);
    match carry_out(ctx, &plan, exec, &mut outcome)? {
        Carried::Nothing | Carried::DryRun | Carried::Unjournaled(_) => {}
        Carried::Done { done, id } => {
            let target = done.context("internal error: the checkpoint tagged nothing")?;
            outcome.data(&Tagged {
                commit: target.to_string(),
                operation_id: &id,
            });
            outcome.line(format!("Checkpoint `{name}` at {}.", repo.short_id(target)));
            if args.wip {
                outcome.line(format!(
                    "It holds your uncommitted work; see it with `git show --stat {name}`."
                ));
            }
            outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
        }
    }
    Ok(outcome)
}

/// Checkpoints, newest first (by tag date, then name).
pub fn checkpoints(ctx: &Context) -> anyhow::Result<Vec<TagInfo>> {
    let mut tags = ctx.repo.tags_with_prefix(&ctx.settings.checkpoint_prefix)?;
    sort_newest_first(&mut tags);
    Ok(tags)
}

/// Newest first: by date, then by name with a `-N` suffix compared as a
/// number (`-10` is newer than `-9`, and both newer than no suffix).
pub fn sort_newest_first(tags: &mut [TagInfo]) {
    fn key(name: &str) -> (&str, u64) {
        match name.rsplit_once('-') {
            Some((base, n))
                if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n.len() < 6 =>
            {
                (base, n.parse().unwrap_or(1))
            }
            _ => (name, 1),
        }
    }
    tags.sort_by(|a, b| {
        b.time
            .cmp(&a.time)
            .then_with(|| key(&b.name).cmp(&key(&a.name)))
    });
}

fn list(ctx: &Context) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let tags = checkpoints(ctx)?;
    let now = clock::now();
    let offset = now.offset().local_minus_utc() / 60;
    let mut outcome = Outcome::new();
    let mut rows = Vec::new();
    if tags.is_empty() {
        outcome.line("No checkpoints yet: create one with `git rollback-sprint checkpoint`.");
    }
    for tag in &tags {
        let date = clock::format_unix(tag.time, offset);
        let first = tag.message.lines().next().unwrap_or("");
        outcome.line(format!(
            "{:<32} {}  {}  {}",
            tag.name,
            &date[..19.min(date.len())].replace('T', " "),
            repo.short_id(tag.commit),
            crate::ui::quote(first)
        ));
        rows.push(Listed {
            name: &tag.name,
            date,
            commit: tag.commit.to_string(),
            message: &tag.message,
        });
    }
    outcome.data(&Listing { checkpoints: rows });
    Ok(outcome)
}

fn prune(ctx: &Context, keep: Option<usize>, older_than: Option<u64>) -> anyhow::Result<Outcome> {
    if keep.is_none() && older_than.is_none() {
        return Err(user("say which checkpoints to delete")
            .hint("pass --keep N (keep the newest N) and/or --older-than DAYS")
            .exit(crate::error::Exit::Usage)
            .into());
    }
    let tags = checkpoints(ctx)?;
    let victims = to_prune(&tags, keep, older_than);
    let mut outcome = Outcome::new();
    let names: Vec<&str> = victims.iter().map(|t| t.name.as_str()).collect();
    let plan = plan_prune(ctx, &victims);
    outcome.data(&Pruned {
        deleted: names.clone(),
        changed: plan.nothing.is_none(),
    });
    let exec = Checkpointing::new("checkpoint prune", &plan);
    if let Carried::Done { id, .. } = carry_out(ctx, &plan, exec, &mut outcome)? {
        outcome.data(&Operation { operation_id: &id });
        outcome.line(format!(
            "Deleted {} checkpoint(s): {}",
            names.len(),
            names.join(", ")
        ));
        outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
    }
    Ok(outcome)
}

/// The checkpoints beyond the newest `keep` and older than `older_than`
/// days (each limit only when given), newest first.
fn to_prune(tags: &[TagInfo], keep: Option<usize>, older_than: Option<u64>) -> Vec<&TagInfo> {
    let now = clock::now();
    tags.iter()
        .enumerate()
        .filter(|(i, _)| keep.is_none_or(|k| *i >= k))
        .filter(|(_, t)| {
            older_than.is_none_or(|days| {
                // A span too long to represent: nothing is that old.
                i64::try_from(days)
                    .ok()
                    .and_then(|d| d.checked_mul(86_400))
                    .is_some_and(|secs| now.timestamp() - t.time > secs)
            })
        })
        .map(|(_, t)| t)
        .collect()
}

/// Delete each of `victims`' tags; nothing to do when there is none.
fn plan_prune(ctx: &Context, victims: &[&TagInfo]) -> Plan<CheckpointStep> {
    let mut plan = Plan::new();
    if victims.is_empty() {
        plan.nothing = Some("no checkpoint matches, so none is deleted".to_string());
    }
    for t in victims {
        plan.push(CheckpointStep::Delete(RefStep::DeleteRef {
            name: format!("refs/tags/{}", t.name),
            from: t.target,
            shown: format!("delete tag {} ({})", t.name, ctx.repo.short_id(t.commit)),
        }));
    }
    plan
}

/// Tag HEAD as a new checkpoint (a journaled operation): its name, and the
/// operation id (`None` in a dry run, which only names it).
pub fn tag_head(ctx: &Context, message: &str) -> anyhow::Result<(String, Option<String>)> {
    let plan = plan_tag(ctx, false, message.to_string())?;
    let name = tag_name(&plan)?.to_string();
    let exec = Checkpointing::new("checkpoint", &plan);
    // The caller reports the checkpoint in its own words.
    match carry_out(ctx, &plan, exec, &mut Outcome::new())? {
        Carried::Done { id, .. } => Ok((name, Some(id))),
        Carried::Nothing | Carried::DryRun | Carried::Unjournaled(_) => Ok((name, None)),
    }
}

/// Tag a commit of the whole working tree as a new checkpoint, as
/// `checkpoint --wip` does (`test`'s trigger): its name, and the operation
/// id (`None` in a dry run).
pub fn tag_wip(ctx: &Context, message: &str) -> anyhow::Result<(String, Option<String>)> {
    let plan = plan_tag(ctx, true, message.to_string())?;
    let name = tag_name(&plan)?.to_string();
    let exec = Checkpointing::new("checkpoint", &plan);
    match carry_out(ctx, &plan, exec, &mut Outcome::new())? {
        Carried::Done { id, .. } => Ok((name, Some(id))),
        Carried::Nothing | Carried::DryRun | Carried::Unjournaled(_) => Ok((name, None)),
    }
}
