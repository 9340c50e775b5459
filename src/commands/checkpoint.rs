//! `checkpoint [-m MSG] [--wip]`, `checkpoint list`, `checkpoint prune`
//! (README: `checkpoint`): the runbook's "tag checkpoint-<ts> before each
//! sprint".

use super::Context;
use crate::clock;
use crate::error::user;
use crate::git::{snapshot, Oid, TagInfo};
use crate::journal::{Intent, Scope, Transaction};
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

fn create(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
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
    let refname = format!("refs/tags/{name}");
    let message = args.message.clone().unwrap_or_else(|| {
        if args.wip {
            "Checkpoint of the working tree".to_string()
        } else {
            "Checkpoint".to_string()
        }
    });
    let what = if args.wip {
        format!(
            "a commit of the whole working tree (parent {})",
            repo.short_id(head)
        )
    } else {
        format!("HEAD ({})", repo.short_id(head))
    };
    let plan = vec![format!("tag {what} as `{name}`")];
    let mut outcome = Outcome::new();
    outcome.field("tag", name.as_str()).field("wip", args.wip);
    if ctx.ui.dry_run {
        outcome.line(format!("Would {}", plan[0]));
        outcome.field("plan", plan);
        return Ok(outcome);
    }
    let intent = Intent::new(
        "checkpoint",
        &ctx.command_line,
        Scope::refs(vec![refname.clone()]),
    )
    .plan(plan);
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;
    let (target, id) = tx.run(|tx| {
        let target = if args.wip {
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
            commit
        } else {
            head
        };
        let tag = repo.write_tag_object(&name, target, &message)?;
        tx.update_ref(&refname, None, Some(tag))?;
        Ok(target)
    })?;
    outcome
        .field("commit", target.to_string())
        .field("operation_id", id.as_str());
    outcome.line(format!("Checkpoint `{name}` at {}.", repo.short_id(target)));
    if args.wip {
        outcome.line(format!(
            "It holds your uncommitted work; see it with `git show --stat {name}`."
        ));
    }
    outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
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
        let first = tag.message.lines().next().unwrap_or("").to_string();
        outcome.line(format!(
            "{:<32} {}  {}  {}",
            tag.name,
            &date[..19.min(date.len())].replace('T', " "),
            repo.short_id(tag.commit),
            crate::ui::quote(&first)
        ));
        rows.push(serde_json::json!({
            "name": tag.name, "date": date, "commit": tag.commit.to_string(), "message": tag.message,
        }));
    }
    outcome.field("checkpoints", rows);
    Ok(outcome)
}

fn prune(ctx: &Context, keep: Option<usize>, older_than: Option<u64>) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    if keep.is_none() && older_than.is_none() {
        return Err(user("say which checkpoints to delete")
            .hint("pass --keep N (keep the newest N) and/or --older-than DAYS")
            .exit(crate::error::Exit::Usage)
            .into());
    }
    let now = clock::now();
    let tags = checkpoints(ctx)?;
    let victims: Vec<&TagInfo> = tags
        .iter()
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
        .collect();
    let mut outcome = Outcome::new();
    let names: Vec<String> = victims.iter().map(|t| t.name.clone()).collect();
    outcome.field("deleted", names.clone());
    if victims.is_empty() {
        outcome.nothing_to_do("no checkpoint matches, so none is deleted");
        return Ok(outcome);
    }
    outcome.field("changed", true);
    let plan: Vec<String> = victims
        .iter()
        .map(|t| format!("delete tag {} ({})", t.name, repo.short_id(t.commit)))
        .collect();
    if ctx.ui.dry_run {
        outcome.line("Would:");
        for step in &plan {
            outcome.line(format!("  {step}"));
        }
        outcome.field("plan", plan);
        return Ok(outcome);
    }
    let refs: Vec<(String, Oid)> = victims
        .iter()
        .map(|t| (format!("refs/tags/{}", t.name), t.target))
        .collect();
    let scope = Scope::refs(refs.iter().map(|(n, _)| n.clone()).collect());
    let tx = Transaction::begin(
        repo,
        &ctx.ui,
        Intent::new("checkpoint prune", &ctx.command_line, scope).plan(plan),
    )?;
    let ((), id) = tx.run(|tx| {
        for (name, target) in &refs {
            tx.update_ref(name, Some(*target), None)?;
        }
        Ok(())
    })?;
    outcome.field("operation_id", id.as_str());
    outcome.line(format!(
        "Deleted {} checkpoint(s): {}",
        names.len(),
        names.join(", ")
    ));
    outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
    Ok(outcome)
}

/// Tag HEAD as a new checkpoint (a journaled operation): its name, and the
/// operation id (`None` in a dry run, which only names it).
pub fn tag_head(ctx: &Context, message: &str) -> anyhow::Result<(String, Option<String>)> {
    let repo = &ctx.repo;
    let prefix = &ctx.settings.checkpoint_prefix;
    let Some(head) = repo.head_commit()? else {
        return Err(user("HEAD has no commit yet")
            .hint("commit something first; a checkpoint tags a commit")
            .into());
    };
    let name = repo.unused_ref_name(
        "refs/tags/",
        &format!("{prefix}{}", clock::stamp(&clock::now())),
    )?;
    if !crate::git::Repo::valid_tag_name(&name) {
        return Err(user(format!("`{name}` is not a valid tag name"))
            .hint("fix git config rollback.checkpointPrefix")
            .into());
    }
    if ctx.ui.dry_run {
        return Ok((name, None));
    }
    let refname = format!("refs/tags/{name}");
    let plan = vec![format!("tag HEAD ({}) as `{name}`", repo.short_id(head))];
    let intent = Intent::new(
        "checkpoint",
        &ctx.command_line,
        Scope::refs(vec![refname.clone()]),
    )
    .plan(plan);
    let tx = Transaction::begin(repo, &ctx.ui, intent)?;
    let ((), id) = tx.run(|tx| {
        let tag = repo.write_tag_object(&name, head, message)?;
        tx.update_ref(&refname, None, Some(tag))
    })?;
    Ok((name, Some(id)))
}
