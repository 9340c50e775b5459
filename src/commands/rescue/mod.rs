//! `rescue [--since WHEN]` and `rescue restore ID… [--to DIR] [--as-stash]`
//! (README: Rescue): work plain git lost — a `reset --hard` over staged
//! files, a dropped or cleared stash, a deleted branch, an amend or a
//! rebase — found while git still holds it, and brought back.
//!
//! The listing only reads (`crate::git::lost` finds the objects no ref
//! reaches without reading every object); it writes nothing, not even to
//! the journal. A restore is one journaled operation like any other: its
//! branches, the stash entry it puts back and the files it writes are
//! what `undo` takes away again. It writes only new files, in a folder of
//! their own, never over a file of the work tree.

mod list;
mod restore;

use std::path::PathBuf;

use crate::clock;
use crate::git::lost::{Certainty, Item, Kind};
use crate::git::RepoPath;
use crate::ui::Outcome;

use super::Context;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// List only what was lost since WHEN ("2 hours ago", "3.days", "2026-11-20 14:00")
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Bring lost items back: commits and stash entries as branches, files into a folder
    Restore(RestoreArgs),
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The items to bring back, as `rescue` lists them (a unique prefix will do); none: pick them on the terminal
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Write the files into DIR, inside the work tree (default: <reports dir>/rescued-<ts>/)
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub to: Option<PathBuf>,
    /// Put a stash entry back on the stash list too (it gets a branch either way)
    #[arg(long)]
    pub as_stash: bool,
}

impl Args {
    pub fn reads_only(&self) -> bool {
        self.action.is_none()
    }
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    match &args.action {
        None => list::list(ctx, args.since.as_deref()),
        Some(Action::Restore(r)) => restore::restore(ctx, r),
    }
}

// ----- what the listing and a restore both show -----------------------------

/// A time in JSON: RFC 3339 in the tool's clock's offset.
fn time_json(secs: i64) -> String {
    clock::format_unix(secs, clock::now().offset().local_minus_utc() / 60)
}

/// `2026-11-21 10:04` in the local time zone.
fn time_shown(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// The second line of an item: what it holds.
fn detail(item: &Item) -> String {
    match item.kind {
        Kind::Commit => {
            let mut text = format!("{} commit(s)", item.commits);
            if let Some(b) = &item.branch {
                text.push_str(&format!(" on {}", crate::ui::quote(b)));
            }
            text.push_str(&format!(", {}", files_text(&item.files)));
            text.push_str(&match item.reflogs.as_slice() {
                [] => "; only in the object store".to_string(),
                logs => format!("; in the reflog of {}", logs.join(", ")),
            });
            text
        }
        Kind::Stash => {
            let branch = item
                .branch
                .as_deref()
                .map(|b| format!("stash entry on {}, ", crate::ui::quote(b)))
                .unwrap_or_else(|| "stash entry, ".to_string());
            format!("{branch}{}", files_text(&item.files))
        }
        Kind::Blob => {
            let sure = match (item.certainty, item.similarity, &item.path) {
                (Some(Certainty::Exact), _, _) => "path exact (a lost tree names it)".to_string(),
                (Some(c @ (Certainty::Likely | Certainty::Possible)), Some(sim), Some(p)) => {
                    format!(
                        "path {} ({sim}% like {} in {})",
                        c.name(),
                        p.quoted(),
                        match item.matched {
                            Some("lost_commit") => "a lost commit",
                            Some("history") => "HEAD's history",
                            _ => "the index",
                        }
                    )
                }
                _ => "path unknown (nothing in the repository is like it)".to_string(),
            };
            let first = if item.summary.is_empty() {
                String::new()
            } else {
                format!(": {}", in_quotes(&item.summary))
            };
            format!("{sure}, {} byte(s){first}", item.size)
        }
    }
}

/// A subject or message in double quotes, on one line and cut at 60
/// characters.
fn in_quotes(text: &str) -> String {
    format!(
        "\"{}\"",
        crate::ui::one_line(&shorten(text.lines().next().unwrap_or_default(), 60))
    )
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

/// `3 file(s): a, b, c` (the first five).
fn files_text(files: &[RepoPath]) -> String {
    const SHOWN: usize = 5;
    let names: Vec<String> = files.iter().take(SHOWN).map(RepoPath::quoted).collect();
    let more = if files.len() > SHOWN {
        format!(", … {} more", files.len() - SHOWN)
    } else {
        String::new()
    };
    match files.len() {
        0 => "no file changed".to_string(),
        n => format!("{n} file(s): {}{more}", names.join(", ")),
    }
}

/// The end-record detail of a restore naming the blobs it wrote.
const RESCUED_FILES: &str = "rescued_files";
