//! `rescue restore ID… [--to DIR] [--as-stash]`: lost items back as
//! branches, a stash entry and new files, in one journaled operation.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use super::{detail, in_quotes, shorten, time_shown, RestoreArgs, RESCUED_FILES};
use crate::clock;
use crate::commands::Context;
use crate::error::{user, Exit};
use crate::git::lost::{self, Certainty, Entry, Item, Kind};
use crate::git::{writer, Oid, RepoPath};
use crate::journal::{Intent, KnownPath, KnownWorktree, Scope, Transaction, RESCUE_KIND};
use crate::plan::{carry_out, Carried, Execute, Plan, RefStep, Rev, Step};
use crate::ui::Outcome;

/// The steps of a restore, as the dry run shows them and as they run.
#[derive(Debug, Clone)]
enum RescueStep {
    /// A branch at a lost commit or stash entry.
    Branch { create: RefStep, what: String },
    /// A dropped stash entry back on the stash list (`--as-stash`).
    Stash { w: Rev, message: String },
    /// A lost file's content written to a new file.
    File {
        path: RepoPath,
        blob: Oid,
        what: String,
    },
}

impl Step for RescueStep {}

impl fmt::Display for RescueStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RescueStep::Branch { create, what } => write!(f, "{create} ({what})"),
            RescueStep::Stash { w, message } => write!(
                f,
                "put the stash entry {} {} back on the stash list",
                w.short,
                in_quotes(message)
            ),
            RescueStep::File { path, what, .. } => write!(f, "write {} ({what})", path.quoted()),
        }
    }
}

/// The JSON fields of `rescue restore` (and of its dry run).
#[derive(Serialize)]
struct Restore {
    branches: Vec<BranchJson>,
    stash_entries: Vec<String>,
    dir: Option<RepoPath>,
    files: Vec<FileJson>,
}

#[derive(Serialize)]
struct BranchJson {
    id: String,
    branch: String,
}

#[derive(Serialize)]
struct FileJson {
    id: String,
    path: RepoPath,
    certainty: Option<&'static str>,
}

#[derive(Serialize)]
struct Done<'a> {
    operation_id: &'a str,
}

/// The content of the `.gitignore` a default rescue folder gets when
/// nothing ignores it yet: its files stay out of `git status`.
const IGNORE_ALL: &[u8] =
    b"# Written by git-rollback-sprint rescue: rescued copies, kept out of `git status`.\n*\n";

pub(super) fn restore(ctx: &Context, args: &RestoreArgs) -> anyhow::Result<Outcome> {
    let repo = &ctx.repo;
    let cwd = std::env::current_dir()
        .map_err(|e| user(format!("cannot read the current directory: {e}")))?;
    let to = match &args.to {
        Some(dir) => Some(crate::commands::files::repo_path(
            repo.workdir(),
            &cwd,
            dir,
        )?),
        None => None,
    };
    if to.is_none() {
        crate::reports_folder::check(repo.workdir(), &ctx.settings.reports_dir)?;
    }
    repo.refuse_split_index()?;
    let found = lost::find(repo)?;
    let chosen = if args.ids.is_empty() {
        pick(ctx, &found)?
    } else {
        resolve(ctx, &found, &args.ids)?
    };
    let (items, _) = found.details(&chosen, true)?;
    if args.as_stash && !items.iter().any(|i| i.kind == Kind::Stash) {
        return Err(user("--as-stash puts stash entries back, and none of these items is one")
            .hint("leave --as-stash out, or name a stash entry `git rollback-sprint rescue` lists")
            .exit(Exit::Usage)
            .into());
    }
    let stamp = clock::stamp(&clock::now());
    let plan = plan(ctx, &items, to, &stamp, args.as_stash)?;
    let mut outcome = Outcome::new();
    outcome.data(&plan.json);
    if args.ids.is_empty() && !ctx.ui.dry_run && !confirmed(ctx, &plan)? {
        outcome.line("Nothing was changed.");
        return Ok(outcome);
    }
    let exec = Restorer {
        files: plan.files.clone(),
        ignore: plan.ignore.clone(),
        stash: plan.stash,
        refs: plan.refs.clone(),
    };
    match carry_out(ctx, &plan.plan, exec, &mut outcome)? {
        Carried::Done { id, .. } => {
            outcome.data(&Done { operation_id: &id });
            outcome.line(format!(
                "{} {} item(s):",
                ctx.ui.good("Restored"),
                items.len()
            ));
            for line in plan.plan.lines() {
                outcome.line(format!("  {line}"));
            }
            if let Some(dir) = &plan.json.dir {
                outcome.line(format!(
                    "The files are in {}/; the work tree's other files were not touched.",
                    dir.quoted()
                ));
            }
            outcome.line(format!("Undo with: git rollback-sprint undo {id}"));
        }
        Carried::Nothing | Carried::DryRun | Carried::Unjournaled(_) => {}
    }
    Ok(outcome)
}

/// The items the ids name: each id a unique prefix (4 digits at least) of
/// an item of the listing, or of a lost commit inside one.
fn resolve(ctx: &Context, found: &lost::Found<'_>, ids: &[String]) -> anyhow::Result<Vec<Entry>> {
    let repo = &ctx.repo;
    let mut chosen: Vec<Entry> = Vec::new();
    for id in ids {
        let wanted = id.to_ascii_lowercase();
        if wanted.len() < 4 || wanted.len() > 40 || !wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(user(format!(
                "{} is not an item id: ids are 4 to 40 hexadecimal digits",
                crate::ui::quote(id)
            ))
            .hint("copy the ids `git rollback-sprint rescue` lists")
            .exit(Exit::Usage)
            .into());
        }
        let mut matches: Vec<Entry> = found
            .items
            .iter()
            .filter(|e| e.id.to_string().starts_with(&wanted))
            .cloned()
            .collect();
        if matches.is_empty() {
            let mut others: Vec<Oid> = found
                .other_commits
                .iter()
                .filter(|c| c.to_string().starts_with(&wanted))
                .copied()
                .collect();
            others.sort();
            matches = others
                .into_iter()
                .filter_map(|c| found.other_entry(c))
                .collect();
        }
        match matches.as_slice() {
            [] => {
                return Err(user(format!(
                    "{}: no lost item has this id",
                    crate::ui::quote(id)
                ))
                .hint("`git rollback-sprint rescue` lists what can be restored (a pruned object is gone for good)")
                .into())
            }
            [one] => {
                if !chosen.iter().any(|c| c.id == one.id) {
                    chosen.push(one.clone());
                }
            }
            many => {
                let names: Vec<String> = many
                    .iter()
                    .take(5)
                    .map(|e| format!("{} ({})", e.id, e.kind.name()))
                    .collect();
                return Err(user(format!(
                    "{} is ambiguous: it begins {}",
                    crate::ui::quote(id),
                    names.join(", ")
                ))
                .hint(format!(
                    "type more of it (at least {} digits)",
                    repo.short_id(many[0].id).len().max(wanted.len() + 1)
                ))
                .exit(Exit::Usage)
                .into());
            }
        }
    }
    // Newest first, as listed.
    chosen.sort_by(|a, b| {
        b.time
            .cmp(&a.time)
            .then(a.kind.cmp(&b.kind))
            .then(a.id.cmp(&b.id))
    });
    Ok(chosen)
}

/// On a terminal without ids: the user picks among the listing's items.
fn pick(ctx: &Context, found: &lost::Found<'_>) -> anyhow::Result<Vec<Entry>> {
    if !ctx.ui.can_prompt() {
        return Err(user("name the items to restore: there is no terminal to pick them on")
            .hint("pass their ids, as `git rollback-sprint rescue` lists them: `rescue restore ID…`")
            .exit(Exit::Usage)
            .into());
    }
    let (items, _) = found.details(&found.items, false)?;
    if items.is_empty() {
        return Err(user(
            "there is nothing to restore: `git rollback-sprint rescue` finds no lost work",
        )
        .hint("run `git rollback-sprint rescue` to see why")
        .into());
    }
    let repo = &ctx.repo;
    let shown: Vec<String> = items
        .iter()
        .map(|i| {
            let what = match i.kind {
                Kind::Blob => i
                    .path
                    .as_ref()
                    .map(RepoPath::quoted)
                    .unwrap_or_else(|| "(path unknown)".to_string()),
                _ => crate::ui::one_line(&i.summary),
            };
            format!(
                "{} {:<6} {} {}",
                repo.short_id(i.id),
                i.kind.name(),
                time_shown(i.time),
                shorten(&what, 40)
            )
        })
        .collect();
    let picked = ctx.prompter.multi_select(
        "Lost work to restore (space selects, enter confirms), newest first",
        &shown,
    )?;
    if picked.is_empty() {
        return Err(user("no item was chosen, so nothing was restored")
            .hint("select items with space before pressing enter, or pass their ids")
            .into());
    }
    let ids: HashSet<Oid> = picked
        .iter()
        .filter_map(|n| items.get(*n))
        .map(|i| i.id)
        .collect();
    Ok(found
        .items
        .iter()
        .filter(|e| ids.contains(&e.id))
        .cloned()
        .collect())
}

/// Before a picked restore: a preview of each item on stderr, then yes or
/// no.
fn confirmed(ctx: &Context, plan: &Planned) -> anyhow::Result<bool> {
    for preview in &plan.previews {
        for line in preview {
            ctx.ui.note(line);
        }
    }
    ctx.ui.confirm(
        ctx.prompter.as_ref(),
        &format!("Restore these {} item(s)?", plan.previews.len()),
    )
}

/// A restore decided: its steps, what the transaction needs, and what it
/// reports.
struct Planned {
    plan: Plan<RescueStep>,
    json: Restore,
    refs: Vec<String>,
    stash: bool,
    /// Each file to write and its blob.
    files: Vec<(RepoPath, Oid)>,
    /// The rescue folder's `.gitignore`, when it gets one.
    ignore: Option<RepoPath>,
    previews: Vec<Vec<String>>,
}

fn plan(
    ctx: &Context,
    items: &[Item],
    to: Option<RepoPath>,
    stamp: &str,
    as_stash: bool,
) -> anyhow::Result<Planned> {
    let repo = &ctx.repo;
    let mut plan = Plan::new();
    let mut json = Restore {
        branches: Vec::new(),
        stash_entries: Vec::new(),
        dir: None,
        files: Vec::new(),
    };
    let mut refs = Vec::new();
    let mut previews = Vec::new();
    let commits: Vec<&Item> = items.iter().filter(|i| i.kind != Kind::Blob).collect();
    let names = branch_names(ctx, stamp, commits.len())?;
    // Stash entries go back oldest first, so that they stand in the list
    // in the order they had.
    let mut stashes = Vec::new();
    for (item, name) in commits.iter().zip(names) {
        let what = match item.kind {
            Kind::Stash => format!("the stash entry {}", in_quotes(&item.summary)),
            _ => format!(
                "the lost commit {}{}",
                in_quotes(&item.summary),
                if item.commits > 1 {
                    format!(" and {} before it", item.commits - 1)
                } else {
                    String::new()
                }
            ),
        };
        plan.push(RescueStep::Branch {
            create: RefStep::CreateBranch {
                name: name.clone(),
                at: Rev::new(repo, item.id),
            },
            what,
        });
        refs.push(format!("refs/heads/{name}"));
        json.branches.push(BranchJson {
            id: item.id.to_string(),
            branch: name,
        });
        if item.kind == Kind::Stash && as_stash {
            stashes.push(RescueStep::Stash {
                w: Rev::new(repo, item.id),
                message: item.summary.clone(),
            });
            json.stash_entries.push(item.id.to_string());
        }
        let mut preview = vec![format!(
            "{} {} {}",
            repo.short_id(item.id),
            item.kind.name(),
            in_quotes(&item.summary)
        )];
        preview.push(format!("    {}", detail(item)));
        previews.push(preview);
    }
    for step in stashes.into_iter().rev() {
        plan.push(step);
    }
    let blobs: Vec<&Item> = items.iter().filter(|i| i.kind == Kind::Blob).collect();
    let mut files = Vec::new();
    let mut ignore = None;
    if !blobs.is_empty() {
        let (dir, default) = match to {
            Some(dir) => (dir, false),
            None => (default_dir(ctx, stamp)?, true),
        };
        let placed = place_files(repo, &dir, &blobs);
        refuse_existing(repo, placed.iter().map(|(p, _)| p))?;
        let probe = dir.join(b"x");
        if default && !repo.is_ignored(std::path::Path::new(probe.as_os_str())) {
            let path = dir.join(b".gitignore");
            refuse_existing(repo, std::iter::once(&path))?;
            let blob = lost::blob_id(IGNORE_ALL)?;
            plan.push(RescueStep::File {
                path: path.clone(),
                blob,
                what: "`*`: the rescued files stay out of `git status`".to_string(),
            });
            ignore = Some(path);
        }
        for (path, item) in &placed {
            let what = match (item.certainty, item.similarity) {
                (Some(Certainty::Exact), _) => {
                    format!("lost file {}, path exact", repo.short_id(item.id))
                }
                (Some(c @ (Certainty::Likely | Certainty::Possible)), Some(sim)) => format!(
                    "lost file {}, path {} ({sim}% alike)",
                    repo.short_id(item.id),
                    c.name()
                ),
                _ => format!("lost file {}, path unknown", repo.short_id(item.id)),
            };
            plan.push(RescueStep::File {
                path: path.clone(),
                blob: item.id,
                what,
            });
            files.push((path.clone(), item.id));
            json.files.push(FileJson {
                id: item.id.to_string(),
                path: path.clone(),
                certainty: item.certainty.map(Certainty::name),
            });
            let mut preview = vec![format!(
                "{} file → {} ({})",
                repo.short_id(item.id),
                path.quoted(),
                detail(item)
            )];
            preview.extend(
                lost::preview_lines(repo, item.id, 6)
                    .into_iter()
                    .map(|l| format!("    | {l}")),
            );
            previews.push(preview);
        }
        json.dir = Some(dir);
    }
    Ok(Planned {
        plan,
        json,
        refs,
        stash: as_stash && items.iter().any(|i| i.kind == Kind::Stash),
        files,
        ignore,
        previews,
    })
}

/// `rescue/<ts>`, then `rescue/<ts>-2`, … for each commit or stash entry,
/// none of them taken (docs/design.md, Names).
fn branch_names(ctx: &Context, stamp: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    if count == 0 {
        return Ok(names);
    }
    let first = crate::commands::new_branch_name(ctx, &format!("rescue/{stamp}"))?;
    names.push(first.clone());
    let mut n = 2;
    while names.len() < count {
        let candidate = format!("{first}-{n}");
        if ctx
            .repo
            .ref_name_available(&format!("refs/heads/{candidate}"))?
        {
            names.push(candidate);
        }
        n += 1;
    }
    Ok(names)
}

/// `<reports dir>/rescued-<ts>`, or `-2`, `-3`… when that folder exists.
fn default_dir(ctx: &Context, stamp: &str) -> anyhow::Result<RepoPath> {
    let reports = crate::settings::reports_path(&ctx.settings.reports_dir);
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("rescued-{stamp}")
        } else {
            format!("rescued-{stamp}-{n}")
        };
        let dir = reports.join(name.as_bytes());
        if std::fs::symlink_metadata(dir.under(ctx.repo.workdir())).is_err() {
            return Ok(dir);
        }
        n += 1;
    }
}

/// Where each lost file goes under `dir`: its guessed path, or
/// `unnamed/<id>` when there is none; a path taken by another of them
/// (two versions of one file) gets `~<id>` after it.
fn place_files<'a>(
    repo: &crate::git::Repo,
    dir: &RepoPath,
    blobs: &[&'a Item],
) -> Vec<(RepoPath, &'a Item)> {
    let mut files: HashSet<Vec<u8>> = HashSet::new();
    let mut dirs: HashSet<Vec<u8>> = HashSet::new();
    let mut out = Vec::new();
    for item in blobs {
        let short = repo.short_id(item.id);
        let base = match &item.path {
            Some(p) => p.clone(),
            None => RepoPath::from_bytes(format!("unnamed/{short}").as_bytes()),
        };
        let free = |p: &RepoPath| {
            !files.contains(p.as_bytes())
                && !dirs.contains(p.as_bytes())
                && !p.ancestors().iter().any(|a| files.contains(a.as_bytes()))
        };
        let rel = if free(&base) {
            base
        } else {
            let mut bytes = base.as_bytes().to_vec();
            bytes.extend_from_slice(format!("~{short}").as_bytes());
            RepoPath::from_bytes(&bytes)
        };
        let path = if dir.as_bytes().is_empty() {
            rel.clone()
        } else {
            dir.join(rel.as_bytes())
        };
        files.insert(rel.as_bytes().to_vec());
        dirs.extend(rel.ancestors().into_iter().map(|a| a.as_bytes().to_vec()));
        out.push((path, *item));
    }
    out
}

/// A restore writes only new files: one in the way (or a file where a
/// folder must go) is refused before anything changes.
fn refuse_existing<'a>(
    repo: &crate::git::Repo,
    paths: impl Iterator<Item = &'a RepoPath>,
) -> anyhow::Result<()> {
    for path in paths {
        let full = path.under(repo.workdir());
        let blocked = if std::fs::symlink_metadata(&full).is_ok() {
            Some(path.clone())
        } else {
            path.ancestors().into_iter().find(|a| {
                std::fs::symlink_metadata(a.under(repo.workdir())).is_ok_and(|m| !m.is_dir())
            })
        };
        if let Some(blocked) = blocked {
            return Err(user(format!(
                "{} is in the way: rescue restore writes only new files, never over one",
                blocked.quoted()
            ))
            .hint("choose an empty or new folder with --to DIR, or leave --to out for a folder of its own")
            .into());
        }
    }
    Ok(())
}

/// Carries out a restore: branches, the stash entry, the files.
struct Restorer {
    files: Vec<(RepoPath, Oid)>,
    ignore: Option<RepoPath>,
    stash: bool,
    refs: Vec<String>,
}

impl Execute<RescueStep> for Restorer {
    type Done = ();

    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        let repo = &ctx.repo;
        let looked_at = std::time::SystemTime::now();
        let mut written: Vec<(RepoPath, Oid)> = Vec::new();
        if let Some(path) = &self.ignore {
            written.push((path.clone(), lost::write_blob(repo, IGNORE_ALL)?));
        }
        written.extend(self.files.iter().cloned());
        let paths: Vec<RepoPath> = written.iter().map(|(p, _)| p.clone()).collect();
        let mut dirs: Vec<RepoPath> = paths.iter().flat_map(RepoPath::ancestors).collect();
        dirs.sort();
        dirs.dedup();
        let scope = Scope {
            refs: self.refs.clone(),
            stash: self.stash,
            worktree: !written.is_empty(),
            paths: paths.clone(),
            dirs: dirs.clone(),
            ..Scope::default()
        };
        let mut intent = Intent::new(RESCUE_KIND, &ctx.command_line, scope);
        if !written.is_empty() {
            intent.writes = paths.iter().map(|p| (p.clone(), true)).collect();
            intent.known_worktree = Some(KnownWorktree {
                files: written
                    .iter()
                    .map(|(path, blob)| KnownPath {
                        path: path.clone(),
                        now: None,
                        target: Some((0o100644, *blob)),
                    })
                    .collect(),
                dirs,
                since: looked_at,
            });
        }
        Ok(intent)
    }

    fn step(
        &mut self,
        ctx: &Context,
        tx: &mut Transaction<'_>,
        step: &RescueStep,
    ) -> anyhow::Result<()> {
        match step {
            RescueStep::Branch { create, .. } => tx.apply_ref_step(create),
            RescueStep::Stash { w, message } => {
                let first = message.lines().next().unwrap_or_default();
                tx.push_stash(w.id, first)
            }
            RescueStep::File { path, blob, .. } => {
                let changes: Vec<writer::Change> = tx
                    .overwrite_changes()
                    .iter()
                    .filter(|c| &c.path == path && c.new.map(|(id, _)| id) == Some(*blob))
                    .cloned()
                    .collect();
                anyhow::ensure!(
                    changes.len() == 1,
                    "internal error: the restore of {path} is not in the operation's plan"
                );
                let extras = writer::Extras {
                    changed_after: Some(tx.scan_started()),
                    ..writer::Extras::default()
                };
                let bar = ctx.ui.progress(0, "writing");
                tx.apply_changes(&changes, &extras, &bar)?;
                bar.finish_and_clear();
                Ok(())
            }
        }
    }

    /// The files' contents stay unreachable after a restore: the end
    /// record names them, so that `rescue` leaves them out while the
    /// restore stands.
    fn done(&mut self, _ctx: &Context, tx: &mut Transaction<'_>) -> anyhow::Result<()> {
        let mut blobs: Vec<String> = self.files.iter().map(|(_, b)| b.to_string()).collect();
        if self.ignore.is_some() {
            blobs.push(lost::blob_id(IGNORE_ALL)?.to_string());
        }
        tx.detail(RESCUED_FILES, blobs);
        Ok(())
    }
}
