//! A repository's whole state, captured to prove that an undo put it back
//! exactly: HEAD as its file says it (symbolic or detached), every ref but
//! the tool's own, the stash entries, every index entry (stage and flags
//! included), and every entry of the work tree — kind, permission bits,
//! symlink target, and the file's bytes.
//!
//! `drill` captures its disposable copy before a rehearsed rollback and
//! again after its undo. A later capture hashes only the files whose
//! inode, size or times moved, since a file nobody wrote still has all of
//! them. A file of the copy that is a hard link to the user's (its
//! origin) is not hashed by the first capture: its bytes are then known by
//! its stamp, and read from the origin only if a rehearsal replaced the
//! copy's file (see [`Content::Unread`]). A file of one link is read.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::hash::Hasher as _;
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::RepoPath;

/// One work-tree entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir { mode: u32 },
    File { mode: u32, content: Content },
    Symlink { target: Vec<u8> },
    Other,
}

/// A file's bytes, as far as a capture knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Their hash.
    Hash(u64),
    /// Not read: the file had this stamp, and was then a hard link to the
    /// file at the same path in the origin. Two captures agree on it only
    /// when the file kept that stamp; once the file moved, the bytes it had
    /// are read from the origin (`resolve`).
    Unread(Stamp),
}

/// What changes whenever a file is written: without a change here, its
/// bytes are the ones hashed before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    pub(crate) fn of(meta: &fs::Metadata) -> Stamp {
        Stamp {
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// An index entry as compared: everything but its stat data (an undo
/// rewrites files, so their stat data moves).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct IndexLine {
    mode: u32,
    id: [u8; 20],
    /// Assume-valid, extended and stage bits.
    flags: u16,
    /// Intent-to-add and skip-worktree.
    flags_extended: u16,
    path: Vec<u8>,
}

/// The flag bits compared (the name length is left out: it follows the path).
const FLAGS: u16 = 0xf000;
/// The extended flag bits git writes to the file.
const FLAGS_EXTENDED: u16 = 0x6000;

/// Everything compared.
#[derive(Debug, Clone, Default)]
pub struct State {
    head: String,
    refs: BTreeMap<String, String>,
    stash: Vec<String>,
    index: Vec<IndexLine>,
    files: BTreeMap<Vec<u8>, Entry>,
    /// When each file was last written.
    stamps: BTreeMap<Vec<u8>, Stamp>,
    /// The work tree whose files the captured one's are hard links of.
    origin: Option<PathBuf>,
}

impl State {
    /// Capture the repository at `git_dir` with work tree `work`, leaving
    /// out the refs under `refs/rollback/` and everything at or under
    /// `skip` (the reports folder, which rollbacks and undo keep as it is).
    /// `earlier` lends what it knew of the files that did not move since,
    /// and learns from `origin` the bytes of those that did. `origin`, on
    /// a first capture: the work tree every file of `work` is a hard link
    /// of, whose files are then not read (none when any file was copied).
    pub fn capture(
        git_dir: &Path,
        work: &Path,
        skip: &RepoPath,
        earlier: Option<&mut State>,
        origin: Option<&Path>,
    ) -> anyhow::Result<State> {
        let repo = git2::Repository::open_bare(git_dir)
            .with_context(|| format!("could not open {}", git_dir.display()))?;
        let head = fs::read_to_string(git_dir.join("HEAD"))
            .context("could not read HEAD")?
            .trim_end()
            .to_string();
        let mut refs = BTreeMap::new();
        for reference in repo.references().context("could not list the refs")? {
            let reference = reference.context("could not read a ref")?;
            let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
            if name.starts_with("refs/rollback/") {
                continue;
            }
            let target = match (reference.symbolic_target_bytes(), reference.target()) {
                (Some(sym), _) => format!("ref: {}", String::from_utf8_lossy(sym)),
                (None, Some(id)) => id.to_string(),
                (None, None) => String::new(),
            };
            refs.insert(name, target);
        }
        let mut stash = Vec::new();
        if let Ok(log) = repo.reflog("refs/stash") {
            for entry in log.iter() {
                stash.push(format!(
                    "{} {}",
                    entry.id_new(),
                    String::from_utf8_lossy(entry.message_bytes().unwrap_or_default())
                ));
            }
        }
        let index = index_entries(&git_dir.join("index"), skip)?;
        let origin = match &earlier {
            Some(e) => e.origin.clone(),
            None => origin.map(Path::to_path_buf),
        };
        let (files, stamps) = capture_files(work, skip, earlier, origin.as_deref())?;
        Ok(State {
            head,
            refs,
            stash,
            index,
            files,
            stamps,
            origin,
        })
    }

    /// What differs from `other`, one line each (empty: exactly the same).
    pub fn differences(&self, other: &State) -> Vec<String> {
        let mut out = Vec::new();
        if self.head != other.head {
            out.push(format!("HEAD: {} → {}", self.head, other.head));
        }
        diff_maps(&self.refs, &other.refs, &mut out, |k| k.clone());
        if self.stash != other.stash {
            out.push(format!(
                "the stash: {} entries → {}",
                self.stash.len(),
                other.stash.len()
            ));
        }
        if self.index != other.index {
            let (mine, theirs): (HashSet<_>, HashSet<_>) =
                (self.index.iter().collect(), other.index.iter().collect());
            let changed = mine.symmetric_difference(&theirs).count();
            out.push(format!("the index: {changed} entr(ies) differ"));
        }
        diff_maps(&self.files, &other.files, &mut out, |k| {
            RepoPath::from_bytes(k).quoted()
        });
        out
    }
}

/// The entries of the index file at `path` but those at or under `skip`:
/// read by the tool's own reader (libgit2 checksums the whole file with a
/// collision-detecting SHA-1 and hashes every entry into a map first), or
/// by libgit2 where that reader does not know the file's extensions.
fn index_entries(path: &Path, skip: &RepoPath) -> anyhow::Result<Vec<IndexLine>> {
    let keep = |p: &[u8]| !left_out(&RepoPath::from_bytes(p), skip);
    if !path.exists() {
        return Ok(Vec::new());
    }
    if let Ok(file) = super::indexfile::IndexFile::read_path(path) {
        return Ok(file
            .entries
            .into_iter()
            .filter(|e| keep(&e.path))
            .map(|e| IndexLine {
                mode: e.mode(),
                id: e.id,
                flags: e.flags & FLAGS,
                flags_extended: e.flags_extended & FLAGS_EXTENDED,
                path: e.path,
            })
            .collect());
    }
    let file = git2::Index::open(path).context("could not read the index")?;
    Ok(file
        .iter()
        .filter(|e| keep(&e.path))
        .map(|e| {
            let mut id = [0; 20];
            id.copy_from_slice(e.id.as_bytes());
            IndexLine {
                mode: e.mode,
                id,
                flags: e.flags & FLAGS,
                flags_extended: e.flags_extended & FLAGS_EXTENDED,
                path: e.path,
            }
        })
        .collect())
}

/// The entry of a sorted map's iterator at `key`, the iterator moved past
/// every smaller key: called with keys in increasing order, one pass over
/// the map finds them all.
fn seek<'m, K: Ord, V>(
    entries: &mut std::iter::Peekable<std::collections::btree_map::Iter<'m, K, V>>,
    key: &K,
) -> Option<&'m V> {
    while entries.next_if(|(k, _)| *k < key).is_some() {}
    entries.next_if(|(k, _)| *k == key).map(|(_, v)| v)
}

/// What differs between two maps, in one pass over both (in key order:
/// what only `a` has is gone, what only `b` has is new).
fn diff_maps<K: Ord, V: PartialEq>(
    a: &BTreeMap<K, V>,
    b: &BTreeMap<K, V>,
    out: &mut Vec<String>,
    show: impl Fn(&K) -> String,
) {
    let mut new = Vec::new();
    let (mut x, mut y) = (a.iter().peekable(), b.iter().peekable());
    loop {
        match (x.peek(), y.peek()) {
            (None, None) => break,
            (Some((k, _)), None) => {
                out.push(format!("{} is gone", show(k)));
                x.next();
            }
            (None, Some((k, _))) => {
                new.push(show(k));
                y.next();
            }
            (Some((k, v)), Some((l, w))) => match k.cmp(l) {
                std::cmp::Ordering::Less => {
                    out.push(format!("{} is gone", show(k)));
                    x.next();
                }
                std::cmp::Ordering::Greater => {
                    new.push(show(l));
                    y.next();
                }
                std::cmp::Ordering::Equal => {
                    if v != w {
                        out.push(format!("{} differs", show(k)));
                    }
                    x.next();
                    y.next();
                }
            },
        }
    }
    out.extend(new.into_iter().map(|k| format!("{k} is new")));
}

/// A work-tree entry as the walk found it, before any file is read.
enum Found {
    Dir {
        mode: u32,
    },
    /// `links`: the inode's number of hard links.
    File {
        mode: u32,
        stamp: Stamp,
        links: u64,
    },
    Symlink {
        target: Vec<u8>,
    },
    Other,
}

/// An entry, or a file whose content is known once the files to read are.
enum Placed {
    Done(Entry),
    File {
        mode: u32,
        stamp: Stamp,
        pending: Pending,
    },
}

/// What a file's content will be, once the files to read are read.
enum Pending {
    Known(Content),
    /// The n-th file to hash.
    Read(usize),
}

fn capture_files(
    work: &Path,
    skip: &RepoPath,
    earlier: Option<&mut State>,
    origin: Option<&Path>,
) -> anyhow::Result<Files> {
    // The walk: one `lstat` an entry, on several threads.
    let threads = crate::walk::threads();
    let gathered = crate::walk::walk(work, &[Vec::new()], threads, Vec::new, |found, item| {
        let top_git = item.depth == 1 && item.name == ".git";
        if top_git || left_out(&RepoPath::from_bytes(item.rel), skip) {
            return Ok(false);
        }
        let meta = item
            .entry
            .metadata()
            .with_context(|| format!("could not read {}", item.path.display()))?;
        let mode = meta.mode() & 0o7777;
        let entry = if meta.is_dir() {
            Found::Dir { mode }
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(item.path)
                .with_context(|| format!("could not read {}", item.path.display()))?;
            Found::Symlink {
                target: target.as_os_str().as_bytes().to_vec(),
            }
        } else if meta.is_file() {
            Found::File {
                mode,
                stamp: Stamp::of(&meta),
                links: meta.nlink(),
            }
        } else {
            Found::Other
        };
        found.push((item.rel.to_vec(), entry));
        Ok(meta.is_dir())
    })?;
    // Which files must be read: those an earlier capture did not see with
    // the same stamp, and, for those, the origin's file an unread entry
    // stood for.
    let mut to_hash: Vec<PathBuf> = Vec::new();
    let mut to_resolve: Vec<(Vec<u8>, Stamp)> = Vec::new();
    let mut walked: Vec<(Vec<u8>, Found)> = gathered.into_iter().flatten().collect();
    // In path order, the earlier capture's maps are read alongside in one
    // pass (a lookup of each of 100,000 paths in them was most of a
    // comparison's time), and the new maps are built from sorted entries.
    walked.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut earlier_files = earlier.as_deref().map(|e| e.files.iter().peekable());
    let mut earlier_stamps = earlier.as_deref().map(|e| e.stamps.iter().peekable());
    let mut found = Vec::with_capacity(walked.len());
    for (rel, entry) in walked {
        let placed = match entry {
            Found::Dir { mode } => Placed::Done(Entry::Dir { mode }),
            Found::Symlink { target } => Placed::Done(Entry::Symlink { target }),
            Found::Other => Placed::Done(Entry::Other),
            Found::File { mode, stamp, links } => {
                let known = match (&mut earlier_files, &mut earlier_stamps) {
                    (Some(files), Some(stamps)) => Some((seek(files, &rel), seek(stamps, &rel))),
                    _ => None,
                };
                let pending = match known {
                    Some((Some(Entry::File { content, .. }), Some(then))) if *then == stamp => {
                        Pending::Known(*content)
                    }
                    Some((was, _)) => {
                        if let Some(Entry::File {
                            content: Content::Unread(then),
                            ..
                        }) = was
                        {
                            to_resolve.push((rel.clone(), *then));
                        }
                        to_hash.push(work.join(std::ffi::OsStr::from_bytes(&rel)));
                        Pending::Read(to_hash.len() - 1)
                    }
                    // A file of one link is not the origin's: read.
                    None if origin.is_some() && links > 1 => Pending::Known(Content::Unread(stamp)),
                    None => {
                        to_hash.push(work.join(std::ffi::OsStr::from_bytes(&rel)));
                        Pending::Read(to_hash.len() - 1)
                    }
                };
                Placed::File {
                    mode,
                    stamp,
                    pending,
                }
            }
        };
        found.push((rel, placed));
    }
    let hashes = crate::walk::map(&to_hash, threads, |path| hash_file(path))?;
    if let Some(earlier) = earlier {
        let resolved = crate::walk::map(&to_resolve, threads, |(rel, then)| {
            earlier.resolve(rel, *then)
        })?;
        for ((rel, _), content) in to_resolve.iter().zip(resolved) {
            if let Some(Entry::File { content: c, .. }) = earlier.files.get_mut(rel) {
                *c = content;
            }
        }
    }
    let mut files = Vec::with_capacity(found.len());
    let mut stamps = Vec::with_capacity(found.len());
    for (rel, placed) in found {
        let entry = match placed {
            Placed::Done(entry) => entry,
            Placed::File {
                mode,
                stamp,
                pending,
            } => {
                stamps.push((rel.clone(), stamp));
                let content = match pending {
                    Pending::Known(c) => c,
                    Pending::Read(n) => Content::Hash(hashes[n]),
                };
                Entry::File { mode, content }
            }
        };
        files.push((rel, entry));
    }
    // Sorted already: collected into the maps without a search each.
    Ok((files.into_iter().collect(), stamps.into_iter().collect()))
}

/// The work tree's entries, and the stamps of its files.
type Files = (BTreeMap<Vec<u8>, Entry>, BTreeMap<Vec<u8>, Stamp>);

impl State {
    /// The bytes an unread file had, read from the origin: the captured
    /// file was a hard link to the origin's file at the same path, so
    /// while that inode has the same size and modification time, nobody
    /// wrote it (the tool and git write a new file and rename it over;
    /// its change time is left out, since every link made to the inode, a
    /// second drill's too, moves it). Otherwise the bytes are lost: the
    /// entry stays unread and differs from any file read since.
    fn resolve(&self, rel: &[u8], then: Stamp) -> anyhow::Result<Content> {
        let Some(origin) = &self.origin else {
            return Ok(Content::Unread(then));
        };
        let path = origin.join(std::ffi::OsStr::from_bytes(rel));
        let Ok(meta) = path.symlink_metadata() else {
            return Ok(Content::Unread(then));
        };
        let now = Stamp::of(&meta);
        let same =
            meta.is_file() && (now.ino, now.size, now.mtime) == (then.ino, then.size, then.mtime);
        Ok(if same {
            Content::Hash(hash_file(&path)?)
        } else {
            Content::Unread(then)
        })
    }
}

/// At or under the folder left out of the comparison.
fn left_out(path: &RepoPath, skip: &RepoPath) -> bool {
    !skip.as_bytes().is_empty() && path.is_at_or_under(skip)
}

fn hash_file(path: &Path) -> anyhow::Result<u64> {
    let mut file =
        fs::File::open(path).with_context(|| format!("could not read {}", path.display()))?;
    let mut hasher = std::hash::DefaultHasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("could not read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.write(&buf[..n]);
    }
    Ok(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let work = dir.path().join("work");
        git2::Repository::init(&work).expect("git init");
        (dir, work)
    }

    #[test]
    fn a_rewritten_file_of_the_same_size_differs() {
        let (_dir, work) = repo();
        fs::write(work.join("a.txt"), "one\n").expect("write");
        let skip = RepoPath::from_bytes(b"rollbacks");
        let git = work.join(".git");
        let mut first = State::capture(&git, &work, &skip, None, None).expect("capture");
        let same = State::capture(&git, &work, &skip, Some(&mut first), None).expect("capture");
        assert!(first.differences(&same).is_empty());
        // Replaced through a new file, as the tool writes: same size.
        fs::write(work.join("tmp"), "two\n").expect("write");
        fs::rename(work.join("tmp"), work.join("a.txt")).expect("rename");
        let after = State::capture(&git, &work, &skip, Some(&mut first), None).expect("capture");
        assert_eq!(first.differences(&after), ["a.txt differs"]);
    }

    #[test]
    fn modes_symlinks_and_the_left_out_folder() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, work) = repo();
        fs::write(work.join("run.sh"), "#!/bin/sh\n").expect("write");
        std::os::unix::fs::symlink("run.sh", work.join("link")).expect("symlink");
        fs::create_dir(work.join("rollbacks")).expect("mkdir");
        let skip = RepoPath::from_bytes(b"rollbacks");
        let git = work.join(".git");
        let mut first = State::capture(&git, &work, &skip, None, None).expect("capture");
        fs::write(work.join("rollbacks/metrics.json"), "{}").expect("write");
        fs::set_permissions(work.join("run.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::remove_file(work.join("link")).expect("rm");
        std::os::unix::fs::symlink("elsewhere", work.join("link")).expect("symlink");
        let after = State::capture(&git, &work, &skip, Some(&mut first), None).expect("capture");
        let mut found = first.differences(&after);
        found.sort();
        assert_eq!(found, ["link differs", "run.sh differs"]);
    }

    /// Files gone, new and changed, in one pass over both captures: what
    /// differs or is gone in path order, then what is new.
    #[test]
    fn gone_new_and_changed_files_are_listed_in_path_order() {
        let (_dir, work) = repo();
        for name in ["a.txt", "b.txt", "c.txt", "d/e.txt"] {
            fs::create_dir_all(work.join(name).parent().expect("a parent")).expect("mkdir");
            fs::write(work.join(name), name).expect("write");
        }
        let skip = RepoPath::from_bytes(b"rollbacks");
        let git = work.join(".git");
        let mut first = State::capture(&git, &work, &skip, None, None).expect("capture");
        fs::remove_file(work.join("a.txt")).expect("rm");
        fs::write(work.join("b.txt"), "other").expect("write");
        fs::write(work.join("aa.txt"), "new").expect("write");
        fs::remove_file(work.join("d/e.txt")).expect("rm");
        fs::write(work.join("d/f.txt"), "new").expect("write");
        let after = State::capture(&git, &work, &skip, Some(&mut first), None).expect("capture");
        assert_eq!(
            first.differences(&after),
            [
                "a.txt is gone",
                "b.txt differs",
                "d/e.txt is gone",
                "aa.txt is new",
                "d/f.txt is new"
            ]
        );
        assert!(after.differences(&after.clone()).is_empty());
    }

    /// A copy of hard links is captured without reading a file; a file a
    /// rehearsal replaced is compared by its bytes with the origin's.
    #[test]
    fn unread_files_are_compared_with_their_origin_once_replaced() {
        let (_dir, origin) = repo();
        let (_dir2, work) = repo();
        for (name, text) in [("a.txt", "one\n"), ("b.txt", "two\n"), ("c.txt", "six\n")] {
            fs::write(origin.join(name), text).expect("write");
            fs::hard_link(origin.join(name), work.join(name)).expect("link");
        }
        let skip = RepoPath::from_bytes(b"rollbacks");
        let git = work.join(".git");
        let mut first = State::capture(&git, &work, &skip, None, Some(&origin)).expect("capture");
        assert!(matches!(
            first.files.get(b"a.txt".as_slice()),
            Some(Entry::File {
                content: Content::Unread(_),
                ..
            })
        ));
        // Replaced as the tool writes, with the same bytes, with other
        // bytes of the same size, and not at all.
        for (name, text) in [("a.txt", "one\n"), ("b.txt", "TWO\n")] {
            fs::write(work.join("tmp"), text).expect("write");
            fs::rename(work.join("tmp"), work.join(name)).expect("rename");
        }
        let after = State::capture(&git, &work, &skip, Some(&mut first), None).expect("capture");
        assert_eq!(first.differences(&after), ["b.txt differs"]);
        // The origin written in place: its old bytes are lost, so the
        // replaced file can no longer be proved the same.
        let (_dir3, work2) = repo();
        fs::hard_link(origin.join("c.txt"), work2.join("c.txt")).expect("link");
        let git2 = work2.join(".git");
        let mut first = State::capture(&git2, &work2, &skip, None, Some(&origin)).expect("capture");
        fs::write(origin.join("c.txt"), "seven\n").expect("write");
        fs::write(work2.join("tmp"), "six\n").expect("write");
        fs::rename(work2.join("tmp"), work2.join("c.txt")).expect("rename");
        let after = State::capture(&git2, &work2, &skip, Some(&mut first), None).expect("capture");
        assert_eq!(first.differences(&after), ["c.txt differs"]);
    }

    fn git(work: &Path, args: &[&str]) {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(work)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", work)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }

    /// The index is compared entry by entry, stat data left out: what is
    /// staged and the skip-worktree flag count, a refreshed stat does not,
    /// and neither does an entry under the left-out folder.
    #[test]
    fn index_entries_are_compared_but_their_stat_data() {
        let (_dir, work) = repo();
        for (name, text) in [
            ("a.txt", "one\n"),
            ("b.txt", "two\n"),
            ("rollbacks/m.json", "{}"),
        ] {
            fs::create_dir_all(work.join(name).parent().expect("a parent")).expect("mkdir");
            fs::write(work.join(name), text).expect("write");
        }
        git(&work, &["add", "-A"]);
        let skip = RepoPath::from_bytes(b"rollbacks");
        let git_dir = work.join(".git");
        let capture = |earlier: &mut State| {
            State::capture(&git_dir, &work, &skip, Some(earlier), None).expect("capture")
        };
        let mut first = State::capture(&git_dir, &work, &skip, None, None).expect("capture");
        assert_eq!(first.index.len(), 2, "{:?}", first.index);

        // New stat data for the same content: no difference.
        fs::write(work.join("tmp"), "one\n").expect("write");
        fs::rename(work.join("tmp"), work.join("a.txt")).expect("rename");
        git(&work, &["update-index", "--refresh"]);
        let after = capture(&mut first);
        assert!(first.differences(&after).is_empty());

        // Under the left-out folder: no difference.
        fs::write(work.join("rollbacks/m.json"), "[]").expect("write");
        git(&work, &["add", "rollbacks"]);
        let after = capture(&mut first);
        assert!(first.differences(&after).is_empty());

        git(&work, &["update-index", "--skip-worktree", "b.txt"]);
        let after = capture(&mut first);
        assert_eq!(first.differences(&after), ["the index: 2 entr(ies) differ"]);
        git(&work, &["update-index", "--no-skip-worktree", "b.txt"]);
        let after = capture(&mut first);
        assert!(first.differences(&after).is_empty());

        fs::write(work.join("a.txt"), "ONE\n").expect("write");
        git(&work, &["add", "a.txt"]);
        let after = capture(&mut first);
        let mut found = first.differences(&after);
        found.sort();
        assert_eq!(found, ["a.txt differs", "the index: 2 entr(ies) differ"]);
    }
}
