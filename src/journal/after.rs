//! What an operation left behind, written with its `end` record, so that
//! undo can tell what changed since (docs/invariants.md, I2: three-way undo).
//!
//! * the index as the operation left it: `ops/<id>/index-after` (a hard
//!   link, like the copy taken before);
//! * each work-tree path the operation wrote, moved or removed, as it left
//!   it: `ops/<id>/worktree-after`, one JSON line a path, with the file's
//!   mode and blob id (raw bytes, never filtered) and its stat data, so that
//!   an unchanged file is recognised without reading it;
//! * the stash entries it pushed and removed, in the `end` record itself.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::{write_durable, Journal};
use crate::git::{Oid, Repo, RepoPath};

/// A file's git mode and blob, or `None` for no file.
pub type Known = Option<(u32, Oid)>;

/// Each path an operation wrote, moved or removed, with what it wrote there
/// and what the snapshot had there, each when known without reading.
pub type Touched = BTreeMap<RepoPath, (Option<Known>, Option<Known>)>;

/// The `after` part of an `end` record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct After {
    /// The commit HEAD resolved to when the operation ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_commit: Option<String>,
    /// Whether `ops/<id>/index-after` was saved, and whether there was an
    /// index file then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<bool>,
    /// How many paths `ops/<id>/worktree-after` lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stash: Option<StashChange>,
    /// Empty directories the operation removed or made: whether each is
    /// an empty directory now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empty_dirs: Vec<DirAfter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirAfter {
    pub path: RepoPath,
    pub present: bool,
}

/// Whether `path` under `root` is an empty directory.
pub fn is_empty_dir(root: &Path, path: &RepoPath) -> bool {
    fs::read_dir(path.under(root)).is_ok_and(|mut d| d.next().is_none())
}

/// The stash entries an operation pushed and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StashChange {
    /// Commit ids of the entries it pushed.
    #[serde(default)]
    pub pushed: Vec<String>,
    /// Entries it removed, each with its place in the list before
    /// (0: `stash@{0}`) and its reflog line, to put it back as it was.
    #[serde(default)]
    pub removed: Vec<RemovedStash>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedStash {
    pub position: usize,
    pub line: String,
}

/// A file as found on disk: git mode and blob id of its raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskFile {
    pub mode: u32,
    pub oid: Oid,
}

/// Stat data that tells a file unchanged without reading it (as git's
/// index does): size, inode, modification and change times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub size: u64,
    pub ino: u64,
    pub mtime: i64,
    pub mtime_ns: i64,
    pub ctime: i64,
    pub ctime_ns: i64,
    pub mode: u32,
}

impl Stat {
    pub fn of(meta: &fs::Metadata) -> Stat {
        Stat {
            size: meta.size(),
            ino: meta.ino(),
            mtime: meta.mtime(),
            mtime_ns: meta.mtime_nsec(),
            ctime: meta.ctime(),
            ctime_ns: meta.ctime_nsec(),
            mode: meta.mode(),
        }
    }
}

/// One line of `worktree-after`: a path as the operation left it
/// (`mode` 0: no file there).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathAfter {
    pub path: RepoPath,
    /// The file before the operation, when the operation knew it (the
    /// snapshot's entry it replaced): `[mode, blob]`, `[0]` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<(u32, Option<String>)>,
    pub mode: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<Stat>,
}

impl PathAfter {
    pub fn file(&self) -> anyhow::Result<Option<DiskFile>> {
        match (&self.oid, self.mode) {
            (Some(oid), mode) if mode != 0 => Ok(Some(DiskFile {
                mode,
                oid: crate::git::parse_oid(oid)?,
            })),
            _ => Ok(None),
        }
    }
}

/// The folders above the paths looked at, remembered: whether each is a
/// real folder. A path under a symlink, a file or nothing is not in the
/// work tree, whatever `lstat` finds through the symlink (git never
/// follows one to a tracked path).
#[derive(Default)]
pub struct Parents(std::collections::HashMap<RepoPath, bool>);

impl Parents {
    fn all_real_dirs(&mut self, root: &Path, path: &RepoPath) -> bool {
        path.ancestors().into_iter().all(|parent| {
            *self.0.entry(parent).or_insert_with_key(|p| {
                fs::symlink_metadata(p.under(root)).is_ok_and(|m| m.is_dir())
            })
        })
    }
}

/// The file at `path` under `root` as git would record it, with its stat
/// data; `None` when there is no file (nothing, a directory, or a path
/// beyond a symlink or a file).
pub fn disk_file(
    root: &Path,
    path: &RepoPath,
    parents: &mut Parents,
) -> anyhow::Result<Option<(DiskFile, Stat)>> {
    let full = path.under(root);
    let meta = match fs::symlink_metadata(&full) {
        Ok(_) if !parents.all_real_dirs(root, path) => return Ok(None),
        Ok(meta) => meta,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e).with_context(|| format!("could not read {path}")),
    };
    let kind = meta.file_type();
    let (mode, oid) = if kind.is_symlink() {
        use std::os::unix::ffi::OsStrExt;
        let target = fs::read_link(&full).with_context(|| format!("could not read {path}"))?;
        (
            0o120000,
            Oid::hash_object(git2::ObjectType::Blob, target.as_os_str().as_bytes())?,
        )
    } else if kind.is_file() {
        let mode = if meta.mode() & 0o100 != 0 {
            0o100755
        } else {
            0o100644
        };
        let oid = Oid::hash_file(git2::ObjectType::Blob, &full)
            .with_context(|| format!("could not read {path}"))?;
        (mode, oid)
    } else {
        return Ok(None);
    };
    Ok(Some((DiskFile { mode, oid }, Stat::of(&meta))))
}

/// The file at `path` from what the operation wrote there, when its stat
/// data agrees (`Some(None)`: nothing there, as written); `None` when the
/// file must be read.
fn known_file(
    root: &Path,
    path: &RepoPath,
    known: Option<(u32, Oid)>,
    parents: &mut Parents,
) -> anyhow::Result<Option<Option<(DiskFile, Stat)>>> {
    let meta = match fs::symlink_metadata(path.under(root)) {
        Ok(_) if !parents.all_real_dirs(root, path) => {
            return Ok(known.is_none().then_some(None));
        }
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(known.is_none().then_some(None));
        }
        Err(_) => return Ok(None),
    };
    let Some((mode, oid)) = known else {
        return Ok(meta.is_dir().then_some(None));
    };
    let kind = meta.file_type();
    let agrees = match mode {
        0o120000 => kind.is_symlink(),
        0o100755 => kind.is_file() && meta.mode() & 0o100 != 0,
        0o100644 => kind.is_file() && meta.mode() & 0o100 == 0,
        _ => false,
    };
    Ok(agrees.then(|| Some((DiskFile { mode, oid }, Stat::of(&meta)))))
}

/// The file at `path` now, read only when its stat data differs from
/// `known` (then hashed).
pub fn disk_file_if_changed(
    root: &Path,
    path: &RepoPath,
    known: Option<&PathAfter>,
    parents: &mut Parents,
) -> anyhow::Result<Option<DiskFile>> {
    if let Some(known) = known {
        let full = path.under(root);
        match fs::symlink_metadata(&full) {
            Ok(meta) if known.stat.is_some_and(|s| s == Stat::of(&meta)) => {
                return known.file();
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && known.mode == 0 => {
                return Ok(None);
            }
            _ => {}
        }
    }
    Ok(disk_file(root, path, parents)?.map(|(file, _)| file))
}

/// Write `ops/<id>/worktree-after` for `paths`; returns how many. A path
/// whose content the operation knows (it wrote that blob unconverted, or
/// removed the path) is only stat'ed, not read back.
pub fn save_worktree(
    repo: &Repo,
    journal: &Journal,
    id: &str,
    paths: &Touched,
) -> anyhow::Result<usize> {
    // One `lstat` (or more) per path: many paths are looked at on every
    // thread, each with its own cache of the folders found real.
    let items: Vec<_> = paths.iter().collect();
    let root = repo.workdir();
    let lines = crate::walk::map_with(
        &items,
        crate::walk::threads_for_stats(items.len()),
        || Ok(Parents::default()),
        |parents, (path, (known, was))| {
            let before = was.map(|w| match w {
                Some((mode, oid)) => (mode, Some(oid.to_string())),
                None => (0, None),
            });
            let found = match known {
                Some(known) => known_file(root, path, *known, parents)?,
                None => None,
            };
            let found = match found {
                Some(found) => found,
                None => disk_file(root, path, parents)?,
            };
            Ok(match found {
                Some((file, stat)) => PathAfter {
                    path: (*path).clone(),
                    before,
                    mode: file.mode,
                    oid: Some(file.oid.to_string()),
                    stat: Some(stat),
                },
                None => PathAfter {
                    path: (*path).clone(),
                    before,
                    mode: 0,
                    oid: None,
                    stat: None,
                },
            })
        },
    )?;
    let mut out = Vec::with_capacity(paths.len() * 96);
    for line in &lines {
        serde_json::to_writer(&mut out, line).context("could not encode a path")?;
        out.write_all(b"\n")?;
    }
    write_durable(&journal.op_dir(id).join("worktree-after"), &out)?;
    Ok(paths.len())
}

/// Read `ops/<id>/worktree-after`.
pub fn read_worktree(journal: &Journal, id: &str) -> anyhow::Result<Vec<PathAfter>> {
    let path = journal.op_dir(id).join("worktree-after");
    let bytes =
        fs::read(&path).with_context(|| format!("the saved {} is missing", path.display()))?;
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l).with_context(|| format!("{} is corrupt", path.display()))
        })
        .collect()
}

/// Keep the index as the operation left it in `ops/<id>/index-after`;
/// false when there is no index file.
pub fn save_index(repo: &Repo, journal: &Journal, id: &str) -> anyhow::Result<bool> {
    let dest = journal.op_dir(id).join("index-after");
    let _ = fs::remove_file(&dest);
    let mut durable = super::Durable::default();
    let saved = super::transaction::save_index_copy(repo, &dest, &mut durable)?;
    durable.sync()?;
    Ok(saved)
}

/// One stash reflog line: its commit id (the second field).
pub(super) fn stash_line_oid(line: &str) -> Option<&str> {
    line.split(' ').nth(1)
}

/// The stash entries pushed and removed between two copies of the stash
/// reflog (oldest line first, as in the file).
pub fn stash_change(before: &str, after: &str) -> StashChange {
    let before: Vec<&str> = before.lines().filter(|l| !l.is_empty()).collect();
    let after: Vec<&str> = after.lines().filter(|l| !l.is_empty()).collect();
    let mut remaining: Vec<Option<&str>> = after.iter().map(|l| stash_line_oid(l)).collect();
    let mut change = StashChange::default();
    for (n, line) in before.iter().enumerate() {
        let oid = stash_line_oid(line);
        match remaining.iter().position(|r| *r == oid) {
            Some(at) => remaining[at] = None,
            None => change.removed.push(RemovedStash {
                // stash@{0} is the last line.
                position: before.len() - 1 - n,
                line: (*line).to_string(),
            }),
        }
    }
    change.pushed = remaining
        .into_iter()
        .flatten()
        .map(str::to_string)
        .collect();
    change
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(old: &str, new: &str, msg: &str) -> String {
        format!("{old} {new} A <a@b> 1 +0000\t{msg}\n")
    }

    #[test]
    fn stash_changes_are_found_entry_by_entry() {
        let z = "0".repeat(40);
        let (a, b, c) = ("a".repeat(40), "b".repeat(40), "c".repeat(40));
        let before = line(&z, &a, "one") + &line(&a, &b, "two");
        let after = line(&z, &a, "one") + &line(&a, &c, "three");
        let change = stash_change(&before, &after);
        assert_eq!(change.pushed, vec![c.clone()]);
        assert_eq!(change.removed.len(), 1);
        assert_eq!(change.removed[0].position, 0);
        assert!(change.removed[0].line.contains(&b));
        assert_eq!(stash_change(&before, &before), StashChange::default());
    }
}
