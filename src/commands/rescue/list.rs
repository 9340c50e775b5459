//! `rescue [--since WHEN]`: the listing of lost work. It only reads: the
//! store, the refs, the indexes, the reflogs' files and this work tree's
//! journal (to leave out what a standing restore brought back).

use std::collections::HashSet;

use serde::Serialize;

use super::{detail, time_json, time_shown, RESCUED_FILES};
use crate::clock;
use crate::commands::Context;
use crate::error::{user, Exit};
use crate::git::lost::{self, Certainty, Entry, Item, Kind};
use crate::git::{Oid, RepoPath};
use crate::journal::{Journal, RESCUE_KIND};
use crate::ui::Outcome;

/// One item in JSON (every field on every item; null where it does not
/// apply).
#[derive(Serialize)]
struct ItemJson<'a> {
    id: String,
    kind: &'static str,
    time: String,
    time_source: &'static str,
    summary: &'a str,
    branch: Option<&'a str>,
    commits: usize,
    files: &'a [RepoPath],
    reflogs: &'a [String],
    size: u64,
    path: Option<&'a RepoPath>,
    certainty: Option<&'static str>,
    similarity: Option<u8>,
    matched: Option<&'static str>,
}

impl<'a> ItemJson<'a> {
    fn of(item: &'a Item) -> ItemJson<'a> {
        ItemJson {
            id: item.id.to_string(),
            kind: item.kind.name(),
            time: time_json(item.time),
            time_source: item.time_source.key(),
            summary: &item.summary,
            branch: item.branch.as_deref(),
            commits: item.commits,
            files: &item.files,
            reflogs: &item.reflogs,
            size: item.size,
            path: item.path.as_ref(),
            certainty: item.certainty.map(Certainty::name),
            similarity: item.similarity,
            matched: item.matched,
        }
    }
}

#[derive(Serialize)]
struct LeftOut {
    /// Lost, but their content is still reachable (an amend of the
    /// message only, a stash entry whose trees were committed).
    same_as_reachable: usize,
    /// Lost, but in the work tree as they hold it (unstaged, popped).
    in_work_tree: usize,
    /// Files a `rescue restore` that is not undone brought back.
    restored: usize,
    /// Older than `--since`.
    older: usize,
}

/// The JSON fields of `rescue`.
#[derive(Serialize)]
struct Listing<'a> {
    items: Vec<ItemJson<'a>>,
    since: Option<String>,
    objects: usize,
    unreachable: usize,
    journal_only: usize,
    left_out: LeftOut,
    nothing_found: Option<String>,
}

/// `--since`, read against the tool's clock.
fn since(text: Option<&str>) -> anyhow::Result<Option<i64>> {
    let Some(text) = text else { return Ok(None) };
    match clock::parse_since(text, &clock::now()) {
        Some(t) => Ok(Some(t)),
        None => Err(user(format!(
            "--since {}: not a time this tool reads",
            crate::ui::quote(text)
        ))
        .hint("give one such as \"2 hours ago\", \"3.days\", \"yesterday\", \"2026-11-20\" or \"2026-11-20 14:00\"")
        .exit(Exit::Usage)
        .into()),
    }
}

pub(super) fn list(ctx: &Context, since_text: Option<&str>) -> anyhow::Result<Outcome> {
    let since = since(since_text)?;
    let repo = &ctx.repo;
    // A split index cannot be read whole: its blobs would look lost.
    repo.refuse_split_index()?;
    let found = lost::find(repo)?;
    let restored = restored_blobs(repo)?;
    let recent: Vec<Entry> = found
        .items
        .iter()
        .filter(|e| !restored.contains(&e.id))
        .filter(|e| since.is_none_or(|t| e.time >= t))
        .cloned()
        .collect();
    let already = found
        .items
        .iter()
        .filter(|e| restored.contains(&e.id))
        .count();
    let older = found.items.len() - already - recent.len();
    let (items, in_work_tree) = found.details(&recent, false)?;
    let left_out = LeftOut {
        same_as_reachable: found.same_as_reachable,
        in_work_tree,
        restored: already,
        older,
    };
    let since_shown = since.map(time_json);
    let mut outcome = Outcome::new();
    let nothing = items
        .is_empty()
        .then(|| why_nothing(&found, &left_out, since_shown.as_deref()));
    match &nothing {
        Some(why) => {
            outcome.line(format!("Nothing to rescue: {why}."));
        }
        None => show_items(ctx, &items, &mut outcome),
    }
    if !items.is_empty() {
        show_left_out(&left_out, since_shown.as_deref(), &mut outcome);
    }
    outcome.data(&Listing {
        items: items.iter().map(ItemJson::of).collect(),
        since: since_shown,
        objects: found.objects,
        unreachable: found.unreachable,
        journal_only: found.journal_only,
        left_out,
        nothing_found: nothing,
    });
    Ok(outcome)
}

/// Why the listing is empty, in the words a user needs.
fn why_nothing(found: &lost::Found<'_>, left: &LeftOut, since: Option<&str>) -> String {
    if left.older > 0 {
        return format!(
            "nothing was lost since {} ({} older item(s): run it without --since to see them)",
            since.unwrap_or("then"),
            left.older
        );
    }
    if found.unreachable == 0 && found.items.is_empty() {
        let journal = match found.journal_only {
            0 => String::new(),
            n => format!(
                ", or kept by this tool's journal ({n} objects: its snapshots, and what `undo` took away — `git rollback-sprint log` lists the operations, `redo` brings back what the last undo took)"
            ),
        };
        return format!(
            "every one of the {} objects in the store is reachable from a branch, a tag, HEAD, the index or the stash{journal}, and no reflog names a lost commit: git holds nothing else, so whatever was lost before has been pruned (`git gc` prunes unreachable objects, for good), or nothing was lost",
            found.objects
        );
    }
    let mut why = Vec::new();
    if left.same_as_reachable > 0 {
        why.push(format!(
            "{} lost commit(s) or stash entries whose content is still reachable",
            left.same_as_reachable
        ));
    }
    if left.in_work_tree > 0 {
        why.push(format!(
            "{} file(s) or stash entries the work tree holds as they were",
            left.in_work_tree
        ));
    }
    if left.restored > 0 {
        why.push(format!(
            "{} file(s) `rescue restore` brought back (undo it to see them here again)",
            left.restored
        ));
    }
    format!(
        "the {} unreachable object(s) hold nothing the repository lacks: {}",
        found.unreachable,
        if why.is_empty() {
            "trees and objects no lost commit, stash entry or file needs".to_string()
        } else {
            why.join("; ")
        }
    )
}

/// The contents written by the restores of this work tree's journal that
/// stand (not undone, or redone): still unreachable, but not lost.
fn restored_blobs(repo: &crate::git::Repo) -> anyhow::Result<HashSet<Oid>> {
    let history = Journal::for_repo(repo).history()?;
    let mut blobs = HashSet::new();
    for op in history.ops() {
        if op.begin.kind != RESCUE_KIND || !stands(&history, op) {
            continue;
        }
        let Some(end) = &op.end else { continue };
        let Some(serde_json::Value::Array(ids)) = end.details.get(RESCUED_FILES) else {
            continue;
        };
        blobs.extend(
            ids.iter()
                .filter_map(|v| v.as_str())
                .filter_map(|id| crate::git::parse_oid(id).ok()),
        );
    }
    Ok(blobs)
}

/// Whether an operation's effect stands: nothing undoes it, or what
/// undoes it is undone itself (a redo).
fn stands(history: &crate::journal::History, op: &crate::journal::Operation) -> bool {
    match history.undone_by(op) {
        None => true,
        Some(undo) => !stands(history, undo),
    }
}

fn show_items(ctx: &Context, items: &[Item], outcome: &mut Outcome) {
    let repo = &ctx.repo;
    outcome.line(ctx.ui.bold("Lost work git still holds, newest first:"));
    for item in items {
        let short = repo.short_id(item.id);
        let what = match item.kind {
            Kind::Blob => item
                .path
                .as_ref()
                .map(|p| p.quoted())
                .unwrap_or_else(|| "(path unknown)".to_string()),
            _ => crate::ui::one_line(&item.summary),
        };
        outcome.line(format!(
            "  {short}  {:<6}  {}  {what}",
            item.kind.name(),
            time_shown(item.time)
        ));
        outcome.line(format!(
            "  {:width$}  {}",
            "",
            detail(item),
            width = short.len()
        ));
    }
    let first = items
        .first()
        .map(|i| repo.short_id(i.id))
        .unwrap_or_default();
    outcome.line(format!(
        "Restore with: git rollback-sprint rescue restore {first} (more ids to bring back more; none to pick on a terminal)"
    ));
    outcome.line("Times: a commit's is when a reflog last named it, else its date; a stash entry's is its date; a file's is when git wrote its object (its loose object file, or the pack holding it).");
}

fn show_left_out(left: &LeftOut, since: Option<&str>, outcome: &mut Outcome) {
    if left.older > 0 {
        outcome.line(format!(
            "{} older item(s) left out (--since {}).",
            left.older,
            since.unwrap_or("")
        ));
    }
    let same = left.same_as_reachable + left.in_work_tree;
    if same > 0 {
        outcome.line(format!(
            "{same} more left out: what they hold is still reachable or in the work tree."
        ));
    }
    if left.restored > 0 {
        outcome.line(format!(
            "{} file(s) left out: `rescue restore` brought them back (undo it to see them here again).",
            left.restored
        ));
    }
}
