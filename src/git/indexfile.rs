//! The index file format, read and written by the tool itself where it
//! builds or edits a whole index (`docs/design.md`, "The index file").
//!
//! libgit2 checksums every index it reads with its collision-detecting
//! SHA-1 (git itself checks only in `git fsck`) and puts each entry in a
//! hash map; on a 100,000-file index that is most of a command's fixed
//! cost. The index an operation writes is a function of the old index
//! file and a few changes, so it is read and written here: entries kept
//! as read, extensions kept byte for byte, those that describe the work
//! tree or the entries' order dropped once entries change (git rebuilds
//! them), and the cache-tree invalidated along each changed path the way
//! git invalidates it.
//!
//! Versions 2, 3 and 4 (prefix-compressed paths) are read and written;
//! a split index (`link`), a sparse index (`sdir`) or any other required
//! extension is refused, and the caller falls back to libgit2.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{bail, ensure, Context as _};
use sha1::{Digest, Sha1};

use super::{Oid, Repo};

/// `CE_EXTENDED` in an entry's flags: extended flags follow (version 3+).
const EXTENDED: u16 = 0x4000;
/// The extended flags git writes (intent-to-add, skip-worktree).
const EXTENDED_ON_DISK: u16 = 0x6000;
/// Bytes of an entry before its path (without extended flags).
const FIXED: usize = 62;
/// Entries a folder's tree is first given room for.
const FOLDER_ROOM: usize = 256;
/// The buffer an index file is read through.
const READ_BUFFER: usize = 64 * 1024;

/// One index entry as the file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// ctime seconds, nanoseconds; mtime seconds, nanoseconds; dev, ino,
    /// mode, uid, gid, size: the stat data, as git truncates them.
    pub stat: [u32; 10],
    pub id: [u8; 20],
    /// Assume-valid, extended and stage bits (the name length is computed).
    pub flags: u16,
    /// Intent-to-add and skip-worktree.
    pub flags_extended: u16,
    pub path: Vec<u8>,
}

const MODE: usize = 6;

impl Entry {
    /// A stage-0 entry without stat data.
    pub fn new(path: Vec<u8>, id: Oid, mode: u32) -> Entry {
        let mut stat = [0; 10];
        stat[MODE] = mode;
        let mut raw = [0; 20];
        raw.copy_from_slice(id.as_bytes());
        Entry {
            stat,
            id: raw,
            flags: 0,
            flags_extended: 0,
            path,
        }
    }

    pub fn from_git2(e: &git2::IndexEntry) -> Entry {
        let mut raw = [0; 20];
        raw.copy_from_slice(e.id.as_bytes());
        Entry {
            stat: [
                e.ctime.seconds() as u32,
                e.ctime.nanoseconds(),
                e.mtime.seconds() as u32,
                e.mtime.nanoseconds(),
                e.dev,
                e.ino,
                e.mode,
                e.uid,
                e.gid,
                e.file_size,
            ],
            id: raw,
            flags: e.flags & !0x0fff & !EXTENDED,
            flags_extended: e.flags_extended & EXTENDED_ON_DISK,
            path: e.path.clone(),
        }
    }

    pub fn stage(&self) -> u16 {
        (self.flags >> 12) & 3
    }

    pub fn mode(&self) -> u32 {
        self.stat[MODE]
    }

    pub fn oid(&self) -> Oid {
        // Twenty bytes always make an object id.
        Oid::from_bytes(&self.id).unwrap_or(Oid::ZERO_SHA1)
    }

    /// Take the stat data of the file at `meta`.
    pub fn set_stat(&mut self, meta: &std::fs::Metadata) {
        let mode = self.stat[MODE];
        self.stat = [
            meta.ctime() as u32,
            meta.ctime_nsec() as u32,
            meta.mtime() as u32,
            meta.mtime_nsec() as u32,
            meta.dev() as u32,
            meta.ino() as u32,
            mode,
            meta.uid(),
            meta.gid(),
            meta.size() as u32,
        ];
    }

    /// Whether this entry's stat data is that of the file at `meta`, every
    /// field git records (times to the nanosecond, inode, owner, size) and
    /// the kind of file and executable bit of its mode: git's and libgit2's
    /// sign that the file still holds the entry's content. A racy entry
    /// (changed in the second its index was written) is for the caller to
    /// tell apart.
    pub fn describes(&self, meta: &std::fs::Metadata) -> bool {
        let stat = [
            meta.ctime() as u32,
            meta.ctime_nsec() as u32,
            meta.mtime() as u32,
            meta.mtime_nsec() as u32,
        ];
        let kind_and_exec = |mode: u32| (mode & 0o170000, mode & 0o100);
        self.stat[..4] == stat
            && self.stat[5] == meta.ino() as u32
            && self.stat[7] == meta.uid()
            && self.stat[8] == meta.gid()
            && self.stat[9] == meta.size() as u32
            && kind_and_exec(self.mode()) == kind_and_exec(meta.mode())
    }

    /// The entry's mtime in whole seconds.
    pub fn mtime_seconds(&self) -> u32 {
        self.stat[2]
    }

    /// Take another entry's stat data (its mode stays).
    pub fn copy_stat_from(&mut self, from: &Entry) {
        let mode = self.stat[MODE];
        self.stat = from.stat;
        self.stat[MODE] = mode;
    }
}

/// An index file: its version, entries in git's order (path, then stage)
/// and extensions as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    pub version: u32,
    pub entries: Vec<Entry>,
    pub extensions: Vec<([u8; 4], Vec<u8>)>,
}

/// [`IndexFile::plan_replacing`]'s answer.
struct Replacing {
    changes: Vec<(Vec<u8>, Vec<Entry>)>,
    /// One flag per old entry: whether it goes.
    drop: Vec<bool>,
    removed: Vec<Vec<u8>>,
}

impl Replacing {
    /// Every path whose folders' cached trees no longer hold.
    fn changed_paths(&self) -> Vec<&[u8]> {
        self.changes
            .iter()
            .map(|(p, _)| p.as_slice())
            .chain(self.removed.iter().map(Vec::as_slice))
            .collect()
    }
}

fn be32(b: &[u8], at: usize) -> anyhow::Result<u32> {
    let s = b.get(at..at + 4).context("the index is cut short")?;
    Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// git's offset varint (`decode_varint`): big-endian groups of 7 bits,
/// each continuation adding one. The value and how many bytes it took;
/// `None` when the reader ends or the value overflows.
pub(super) fn read_varint(r: &mut impl Read) -> Option<(u64, usize)> {
    let mut c = [0u8; 1];
    r.read_exact(&mut c).ok()?;
    let mut used = 1;
    let mut value = u64::from(c[0] & 127);
    while c[0] & 128 != 0 {
        r.read_exact(&mut c).ok()?;
        used += 1;
        value = value.checked_add(1)?.checked_mul(128)? + u64::from(c[0] & 127);
    }
    Some((value, used))
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    let mut buf = [0u8; 16];
    let mut pos = buf.len() - 1;
    buf[pos] = (value & 127) as u8;
    loop {
        value >>= 7;
        if value == 0 {
            break;
        }
        value -= 1;
        pos -= 1;
        buf[pos] = 128 | (value & 127) as u8;
    }
    out.extend_from_slice(&buf[pos..]);
}

impl IndexFile {
    /// An empty index of version 2.
    pub fn empty() -> IndexFile {
        IndexFile {
            version: 2,
            entries: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// Read the repository's index file; an empty index when there is none.
    pub fn read(repo: &Repo) -> anyhow::Result<IndexFile> {
        Self::read_path(&repo.git_dir().join("index"))
    }

    /// Read an index file, streaming: the file's bytes are never held
    /// whole beside the entries parsed from them (on a 100,000-file index,
    /// 9 MB more at the peak of a snapshot).
    pub fn read_path(path: &Path) -> anyhow::Result<IndexFile> {
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(IndexFile::empty()),
            Err(e) => return Err(e).context("could not read the index"),
        };
        let len = file.metadata().context("could not read the index")?.len();
        let len = usize::try_from(len).context("the index is too large")?;
        IndexFile::parse_from(BufReader::with_capacity(READ_BUFFER, file), len)
    }

    /// Parse an index file. The trailing checksum is not verified (git
    /// verifies it only in `git fsck`); a repository of SHA-256 objects or a
    /// required extension this reader does not know is an error.
    pub fn parse(b: &[u8]) -> anyhow::Result<IndexFile> {
        IndexFile::parse_from(b, b.len())
    }

    /// [`IndexFile::parse`] from a reader of the `len` bytes of a file.
    ///
    /// Long because it is one pass over the file, entry by entry, with a
    /// branch for each version's way of storing the path.
    fn parse_from(mut r: impl BufRead, len: usize) -> anyhow::Result<IndexFile> {
        const CUT: &str = "the index is cut short";
        ensure!(len >= 12 + 20, CUT);
        let mut head = [0u8; 12];
        r.read_exact(&mut head).context(CUT)?;
        ensure!(&head[..4] == b"DIRC", "the index has no index signature");
        let version = be32(&head, 4)?;
        ensure!(
            (2..=4).contains(&version),
            "index version {version} is not supported"
        );
        let count = be32(&head, 8)? as usize;
        let end = len - 20;
        let mut at = 12;
        // Never more entries than the file has room for, whatever its
        // header says.
        let mut entries = Vec::with_capacity(count.min((end - at) / FIXED));
        let mut last: Vec<u8> = Vec::new();
        let mut name: Vec<u8> = Vec::new();
        for _ in 0..count {
            let start = at;
            ensure!(start + FIXED <= end, CUT);
            let mut fixed = [0u8; FIXED];
            r.read_exact(&mut fixed).context(CUT)?;
            let mut stat = [0u32; 10];
            for (i, s) in stat.iter_mut().enumerate() {
                *s = be32(&fixed, 4 * i)?;
            }
            let mut id = [0u8; 20];
            id.copy_from_slice(&fixed[40..60]);
            let raw_flags = u16::from_be_bytes([fixed[60], fixed[61]]);
            at = start + FIXED;
            let mut flags_extended = 0;
            if raw_flags & EXTENDED != 0 {
                ensure!(
                    version >= 3,
                    "an index entry has extended flags in version 2"
                );
                ensure!(at + 2 <= end, CUT);
                let mut extended = [0u8; 2];
                r.read_exact(&mut extended).context(CUT)?;
                flags_extended = u16::from_be_bytes(extended);
                at += 2;
                ensure!(
                    flags_extended & !EXTENDED_ON_DISK == 0,
                    "an index entry has extended flags this reader does not know"
                );
            }
            let strip = if version == 4 {
                let (strip, used) = read_varint(&mut r).context(CUT)?;
                at += used;
                let strip = usize::try_from(strip).context("a path in the index is malformed")?;
                ensure!(strip <= last.len(), "a path in the index is malformed");
                Some(strip)
            } else {
                None
            };
            // The name up to its NUL, which must lie before the trailer.
            name.clear();
            let read = r
                .read_until(0, &mut name)
                .context("could not read the index")?;
            ensure!(
                name.pop() == Some(0) && at + read <= end,
                "a path in the index is not terminated"
            );
            at += read;
            let path = match strip {
                Some(strip) => {
                    let mut path = Vec::with_capacity(last.len() - strip + name.len());
                    path.extend_from_slice(&last[..last.len() - strip]);
                    path.extend_from_slice(&name);
                    path
                }
                None => {
                    // Padded with one to eight NULs to a multiple of eight:
                    // the NUL read above and what follows it.
                    let padded = start + ((at - 1 - start + 8) & !7);
                    ensure!(padded <= end, CUT);
                    let mut pad = [0u8; 8];
                    r.read_exact(&mut pad[..padded - at]).context(CUT)?;
                    at = padded;
                    name.clone()
                }
            };
            ensure!(
                !path.is_empty() && stat[MODE] != 0o040000,
                "the index holds an entry this reader does not support"
            );
            if version == 4 {
                last.clone_from(&path);
            }
            entries.push(Entry {
                stat,
                id,
                flags: raw_flags & !0x0fff & !EXTENDED,
                flags_extended,
                path,
            });
        }
        let mut extensions = Vec::new();
        while at < end {
            ensure!(at + 8 <= end, "an index extension is cut short");
            let mut head = [0u8; 8];
            r.read_exact(&mut head).context(CUT)?;
            let mut sig = [0u8; 4];
            sig.copy_from_slice(&head[..4]);
            let size = be32(&head, 4)? as usize;
            ensure!(at + 8 + size <= end, "an index extension is cut short");
            if !sig[0].is_ascii_uppercase() {
                bail!(
                    "the index has the extension {:?}, which this reader does not support",
                    String::from_utf8_lossy(&sig)
                );
            }
            let mut data = vec![0u8; size];
            r.read_exact(&mut data).context(CUT)?;
            extensions.push((sig, data));
            at += 8 + size;
        }
        Ok(IndexFile {
            version,
            entries,
            extensions,
        })
    }

    /// The file's bytes: version 4 stays 4, otherwise 3 exactly when an
    /// entry has extended flags (as git writes it), and the SHA-1 trailer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_bound());
        // Writing into memory cannot fail.
        let _ = self.write_to(&mut out);
        out
    }

    /// At least the size of the file's bytes.
    fn size_bound(&self) -> usize {
        12 + self
            .entries
            .iter()
            .map(|e| (FIXED + 2 + e.path.len() + 8 + 10) & !7)
            .sum::<usize>()
            + self
                .extensions
                .iter()
                .map(|(_, data)| 8 + data.len())
                .sum::<usize>()
            + 20
    }

    /// Write the file's bytes ([`IndexFile::to_bytes`]) to `sink` a
    /// megabyte at a time: the whole file is never in memory beside the
    /// entries (a second copy of a large index at the command's peak).
    pub fn write_to(&self, sink: &mut impl std::io::Write) -> std::io::Result<()> {
        const CHUNK: usize = 1 << 20;
        let extended = self.entries.iter().any(|e| e.flags_extended != 0);
        let version: u32 = match self.version {
            4 => 4,
            _ if extended => 3,
            _ => 2,
        };
        let mut hash = Sha1::new();
        let mut spill = |out: &mut Vec<u8>| -> std::io::Result<()> {
            hash.update(&out[..]);
            sink.write_all(out)?;
            out.clear();
            Ok(())
        };
        let mut out = Vec::with_capacity(CHUNK + 64 * 1024);
        out.extend_from_slice(b"DIRC");
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(self.entries.len() as u32).to_be_bytes());
        // git starts each block of its offset table (IEOT) with a whole
        // path (the previous one all stripped); where the table is kept,
        // so are its blocks.
        let blocks = if version == 4 {
            self.offset_table_blocks()
        } else {
            Vec::new()
        };
        let mut next_block = blocks.iter().peekable();
        let mut last: &[u8] = &[];
        for (n, e) in self.entries.iter().enumerate() {
            if out.len() >= CHUNK {
                spill(&mut out)?;
            }
            let block_start = next_block.next_if_eq(&&n).is_some();
            let start = out.len();
            for s in e.stat {
                out.extend_from_slice(&s.to_be_bytes());
            }
            out.extend_from_slice(&e.id);
            let ext = if e.flags_extended != 0 { EXTENDED } else { 0 };
            let flags = e.flags | ext | e.path.len().min(0xfff) as u16;
            out.extend_from_slice(&flags.to_be_bytes());
            if ext != 0 {
                out.extend_from_slice(&e.flags_extended.to_be_bytes());
            }
            if version == 4 {
                let common = if block_start {
                    0
                } else {
                    last.iter().zip(&e.path).take_while(|(a, b)| a == b).count()
                };
                write_varint(&mut out, (last.len() - common) as u64);
                out.extend_from_slice(&e.path[common..]);
                out.push(0);
                last = &e.path;
            } else {
                out.extend_from_slice(&e.path);
                let len = out.len() - start;
                let padded = (len + 8) & !7;
                out.resize(start + padded, 0);
            }
        }
        for (sig, data) in &self.extensions {
            spill(&mut out)?;
            out.extend_from_slice(sig);
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(data);
        }
        spill(&mut out)?;
        let sum: [u8; 20] = hash.finalize().into();
        sink.write_all(&sum)
    }

    /// The first entry of each block of the offset table extension
    /// (version 1: pairs of offset and entry count), when there is one.
    fn offset_table_blocks(&self) -> Vec<usize> {
        let Some((_, data)) = self.extensions.iter().find(|(sig, _)| sig == b"IEOT") else {
            return Vec::new();
        };
        if data.len() < 4 || be32(data, 0).ok() != Some(1) || (data.len() - 4) % 8 != 0 {
            return Vec::new();
        }
        let mut starts = Vec::new();
        let mut first = 0usize;
        for block in data[4..].chunks_exact(8) {
            starts.push(first);
            let count = u32::from_be_bytes([block[4], block[5], block[6], block[7]]);
            first = first.saturating_add(count as usize);
        }
        starts
    }

    /// Replace every stage of each path in `changes` with the entries
    /// given (none: the path leaves the index). The cache-tree is
    /// invalidated along each path; the extensions that describe the work
    /// tree or the entries' positions are dropped (git rebuilds them).
    pub fn replace_paths(&mut self, changes: Vec<(Vec<u8>, Vec<Entry>)>) {
        let Some(mut plan) = self.plan_replacing(changes) else {
            return;
        };
        // In place: the entries are never held twice (9 MB for 100,000).
        // The dropped ones go, then the new ones are merged in from the
        // back into room that the dropped ones mostly leave.
        let mut dropped = plan.drop.iter();
        self.entries
            .retain(|_| !dropped.next().copied().unwrap_or(false));
        // Taken out of the plan, which keeps their paths.
        let mut new: Vec<Entry> = plan
            .changes
            .iter_mut()
            .flat_map(|(_, entries)| std::mem::take(entries))
            .collect();
        let mut old_end = self.entries.len();
        self.entries.reserve_exact(new.len());
        self.entries.resize_with(old_end + new.len(), || {
            Entry::new(Vec::new(), Oid::ZERO_SHA1, 0)
        });
        let mut at = self.entries.len();
        // The new entries are sorted; no kept entry has a path of theirs.
        while let Some(e) = new.pop() {
            while old_end > 0 && self.entries[old_end - 1].path > e.path {
                old_end -= 1;
                at -= 1;
                self.entries.swap(old_end, at);
            }
            at -= 1;
            self.entries[at] = e;
        }
        let paths = plan.changed_paths();
        self.changed(&paths);
    }

    /// The tree [`IndexFile::write_tree`] would write after
    /// [`IndexFile::replace_paths`] with `changes`, without changing this
    /// index: the kept and the new entries are merged as references, so
    /// the entries are not copied (nor their vector grown) for one tree.
    pub fn write_tree_with(
        &self,
        changes: Vec<(Vec<u8>, Vec<Entry>)>,
        objects: &git2::Odb<'_>,
    ) -> anyhow::Result<Oid> {
        let Some(plan) = self.plan_replacing(changes) else {
            return self.write_tree(objects);
        };
        let added: usize = plan.changes.iter().map(|(_, entries)| entries.len()).sum();
        let mut new = plan
            .changes
            .iter()
            .flat_map(|(_, entries)| entries.iter())
            .peekable();
        let mut merged: Vec<&Entry> = Vec::with_capacity(self.entries.len() + added);
        for (e, _) in self.entries.iter().zip(&plan.drop).filter(|(_, &d)| !d) {
            while let Some(n) = new.next_if(|n| n.path < e.path) {
                merged.push(n);
            }
            merged.push(e);
        }
        merged.extend(new);
        merged.retain(|e| e.stage() == 0);
        let mut cache = self.cache_tree();
        if let Some(cache) = cache.as_mut() {
            for p in plan.changed_paths() {
                cache.invalidate(p);
            }
        }
        write_folder(&merged, 0, cache.as_ref(), objects)
    }

    /// What replacing `changes` (path, its new entries) does to this
    /// index: the changes sorted by path (the first of equal paths kept),
    /// which old entries go, and the paths of those that go because a new
    /// entry is in their way. `None` when there is nothing to change.
    fn plan_replacing(&self, mut changes: Vec<(Vec<u8>, Vec<Entry>)>) -> Option<Replacing> {
        if changes.is_empty() {
            return None;
        }
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        changes.dedup_by(|later, earlier| later.0 == earlier.0);
        // Old entries to drop, found by bisection (entries are sorted by
        // path, then stage): every stage of each changed path, and where a
        // path is added, the entries of a folder of that name or of a file
        // where a folder of the new path goes (as `git checkout <rev> --
        // <path>` and libgit2's add replace them).
        let old = &self.entries;
        let mut drop = vec![false; old.len()];
        let mut removed: Vec<Vec<u8>> = Vec::new();
        let range = |path: &[u8]| {
            let from = old.partition_point(|e| e.path.as_slice() < path);
            let to = from + old[from..].partition_point(|e| e.path.as_slice() == path);
            from..to
        };
        for (path, entries) in &changes {
            for i in range(path) {
                drop[i] = true;
            }
            if entries.is_empty() {
                continue;
            }
            let mut under = path.clone();
            under.push(b'/');
            let from = old.partition_point(|e| e.path < under);
            for (i, e) in old.iter().enumerate().skip(from) {
                if !e.path.starts_with(&under) {
                    break;
                }
                drop[i] = true;
                removed.push(e.path.clone());
            }
            for (n, &c) in path.iter().enumerate() {
                if c == b'/' {
                    for i in range(&path[..n]) {
                        drop[i] = true;
                        removed.push(path[..n].to_vec());
                    }
                }
            }
        }
        Some(Replacing {
            changes,
            drop,
            removed,
        })
    }

    /// After entries changed at `paths`: invalidate the cache-tree along
    /// them, drop what describes positions or the work tree.
    fn changed(&mut self, paths: &[&[u8]]) {
        self.extensions.retain(|(sig, _)| {
            // Kept: the cache-tree (invalidated below), resolve-undo and
            // conflict names. Dropped: the untracked cache, the fsmonitor
            // bitmap, the end-of-entries and offset tables.
            matches!(sig, b"TREE" | b"REUC" | b"NAME")
        });
        for (sig, data) in self.extensions.iter_mut() {
            if sig == b"TREE" {
                match CacheTree::parse(data) {
                    Some(mut tree) => {
                        for p in paths {
                            tree.invalidate(p);
                        }
                        *data = tree.to_bytes();
                    }
                    None => data.clear(),
                }
            }
        }
        self.extensions
            .retain(|(sig, data)| !(sig == b"TREE" && data.is_empty()));
    }

    /// The index `git reset --hard <tree>` writes: the tree's entries and
    /// its cache-tree. Stat data comes from the work tree for `written`
    /// paths and from `old` where an entry's object and mode are unchanged;
    /// the version is `old`'s when that is 4.
    pub fn from_tree(
        repo: &Repo,
        tree: Oid,
        old: &IndexFile,
        written: &HashSet<Vec<u8>>,
    ) -> anyhow::Result<IndexFile> {
        let git = &repo.inner;
        let root = git.find_tree(tree).context("could not read the tree")?;
        let mut entries = Vec::new();
        let mut prefix = Vec::new();
        let node = walk_tree(git, &root, &mut prefix, &mut entries)?;
        if !entries.windows(2).all(|w| w[0].path < w[1].path) {
            entries.sort_by(|a, b| a.path.cmp(&b.path));
        }
        fill_stat(&mut entries, old, repo.workdir(), written);
        Ok(IndexFile {
            version: if old.version == 4 { 4 } else { 2 },
            entries,
            extensions: vec![(*b"TREE", node.to_bytes())],
        })
    }
}

impl IndexFile {
    /// The stage-0 entry of `path`, found by bisection.
    pub fn stage0(&self, path: &[u8]) -> Option<&Entry> {
        let at = self.entries.partition_point(|e| e.path.as_slice() < path);
        self.entries
            .get(at)
            .filter(|e| e.path == path && e.stage() == 0)
    }

    /// The cache-tree extension, when there is one and it is well formed.
    pub fn cache_tree(&self) -> Option<CacheTree> {
        let (_, data) = self.extensions.iter().find(|(sig, _)| sig == b"TREE")?;
        CacheTree::parse(data)
    }

    /// The tree of the stage-0 entries, written to `objects` as libgit2's
    /// `write_tree_to` writes it: a folder the cache-tree holds as valid
    /// is taken from it, every other folder's tree is written (conflict
    /// stages are left out; intent-to-add entries are kept, as libgit2
    /// keeps them).
    pub fn write_tree(&self, objects: &git2::Odb<'_>) -> anyhow::Result<Oid> {
        let stage0: Vec<&Entry> = self.entries.iter().filter(|e| e.stage() == 0).collect();
        let cache = self.cache_tree();
        write_folder(&stage0, 0, cache.as_ref(), objects)
    }
}

/// The tree of `entries`, all under one folder whose path (with its
/// slash) is `skip` bytes long.
fn write_folder(
    entries: &[&Entry],
    skip: usize,
    cache: Option<&CacheTree>,
    objects: &git2::Odb<'_>,
) -> anyhow::Result<Oid> {
    if let Some(id) = cache.and_then(CacheTree::id) {
        return Ok(id);
    }
    // Room for this folder's own entries, not for everything under it
    // (the root's would be 4 MB on a 100,000-file index).
    let mut data = Vec::with_capacity(entries.len().min(FOLDER_ROOM) * 40);
    let mut i = 0;
    while i < entries.len() {
        let rest = &entries[i].path[skip..];
        match rest.iter().position(|&c| c == b'/') {
            Some(slash) => {
                let name = &rest[..slash];
                let inside = |e: &&Entry| {
                    let r = &e.path[skip..];
                    r.len() > slash && r[slash] == b'/' && &r[..slash] == name
                };
                let end = i + entries[i..].partition_point(inside);
                let sub = cache.and_then(|c| c.child(name));
                let id = write_folder(&entries[i..end], skip + slash + 1, sub, objects)?;
                push_tree_entry(&mut data, 0o040000, name, id.as_bytes());
                i = end;
            }
            None => {
                let e = entries[i];
                push_tree_entry(&mut data, e.mode(), rest, &e.id);
                i += 1;
            }
        }
    }
    objects
        .write(git2::ObjectType::Tree, &data)
        .context("could not write the index as a tree")
}

/// One entry of a tree object as git writes it: the mode in octal
/// without a leading zero (`40000` for a folder), a space, the name, a NUL
/// and the raw id.
pub(super) fn push_tree_entry(data: &mut Vec<u8>, mode: u32, name: &[u8], id: &[u8]) {
    use std::io::Write as _;
    // Writing to a vector cannot fail.
    let _ = write!(data, "{mode:o} ");
    data.extend_from_slice(name);
    data.push(0);
    data.extend_from_slice(id);
}

/// Stat data for the stage-0 entries of `entries` (in index order): from
/// the work tree for `written` paths, from `old` where an entry's object
/// and mode are unchanged, so that git does not read those files again.
pub fn fill_stat(
    entries: &mut [Entry],
    old: &IndexFile,
    workdir: &Path,
    written: &HashSet<Vec<u8>>,
) {
    let mut olds = old.entries.iter().filter(|e| e.stage() == 0).peekable();
    for e in entries.iter_mut().filter(|e| e.stage() == 0) {
        if written.contains(&e.path) {
            let full = workdir.join(std::ffi::OsStr::from_bytes(&e.path));
            if let Ok(meta) = std::fs::symlink_metadata(&full) {
                e.set_stat(&meta);
            }
            continue;
        }
        while olds.next_if(|o| o.path < e.path).is_some() {}
        if let Some(o) = olds.peek() {
            if o.path == e.path && o.id == e.id && o.mode() == e.mode() {
                e.copy_stat_from(o);
            }
        }
    }
}

/// The index mode git gives a tree entry's mode (`create_ce_mode`).
fn index_mode(mode: u32) -> u32 {
    match mode & 0o170000 {
        0o120000 => 0o120000,
        0o160000 | 0o040000 => 0o160000,
        _ if mode & 0o111 != 0 => 0o100755,
        _ => 0o100644,
    }
}

/// Entries of `tree` under `prefix`, appended in order, and its
/// cache-tree node (as git's `prime_cache_tree` builds it).
fn walk_tree(
    git: &git2::Repository,
    tree: &git2::Tree<'_>,
    prefix: &mut Vec<u8>,
    out: &mut Vec<Entry>,
) -> anyhow::Result<CacheTree> {
    let mut node = CacheTree {
        name: Vec::new(),
        entry_count: 0,
        id: Some(tree.id()),
        children: Vec::new(),
    };
    for item in tree.iter() {
        let len = prefix.len();
        prefix.extend_from_slice(item.name_bytes());
        let mode = item.filemode() as u32;
        if mode == 0o040000 {
            let sub = git
                .find_tree(item.id())
                .context("could not read the tree")?;
            prefix.push(b'/');
            let mut child = walk_tree(git, &sub, prefix, out)?;
            child.name = item.name_bytes().to_vec();
            node.entry_count += child.entry_count;
            node.children.push(child);
        } else {
            out.push(Entry::new(prefix.clone(), item.id(), index_mode(mode)));
            node.entry_count += 1;
        }
        prefix.truncate(len);
    }
    node.sort_children();
    Ok(node)
}

/// The cache-tree extension (`TREE`): for each folder, how many index
/// entries it covers and its tree, or -1 when invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheTree {
    name: Vec<u8>,
    /// -1: invalid (no tree).
    entry_count: i64,
    id: Option<Oid>,
    children: Vec<CacheTree>,
}

impl CacheTree {
    /// A cache-tree that knows nothing: the root, invalid.
    pub fn unknown() -> CacheTree {
        CacheTree {
            name: Vec::new(),
            entry_count: -1,
            id: None,
            children: Vec::new(),
        }
    }

    /// Parse the extension's data; `None` when it is malformed.
    pub fn parse(data: &[u8]) -> Option<CacheTree> {
        let mut at = 0;
        let tree = Self::parse_node(data, &mut at)?;
        (at == data.len()).then_some(tree)
    }

    /// The folder's tree, when the node is valid.
    pub fn id(&self) -> Option<Oid> {
        self.id.filter(|_| self.entry_count >= 0)
    }

    pub fn has_children(&self) -> bool {
        !self.children.is_empty()
    }

    /// The node of the subfolder `name`, found by bisection.
    pub fn child(&self, name: &[u8]) -> Option<&CacheTree> {
        self.children
            .binary_search_by(|c| (c.name.len(), c.name.as_slice()).cmp(&(name.len(), name)))
            .ok()
            .map(|n| &self.children[n])
    }

    fn parse_node(b: &[u8], at: &mut usize) -> Option<CacheTree> {
        let nul = b.get(*at..)?.iter().position(|&c| c == 0)?;
        let name = b[*at..*at + nul].to_vec();
        *at += nul + 1;
        let sp = b.get(*at..)?.iter().position(|&c| c == b' ')?;
        let entry_count: i64 = std::str::from_utf8(&b[*at..*at + sp]).ok()?.parse().ok()?;
        *at += sp + 1;
        let nl = b.get(*at..)?.iter().position(|&c| c == b'\n')?;
        let subtrees: usize = std::str::from_utf8(&b[*at..*at + nl]).ok()?.parse().ok()?;
        *at += nl + 1;
        let id = if entry_count >= 0 {
            let raw = b.get(*at..*at + 20)?;
            *at += 20;
            Some(Oid::from_bytes(raw).ok()?)
        } else {
            None
        };
        let mut children = Vec::with_capacity(subtrees.min(1024));
        for _ in 0..subtrees {
            children.push(Self::parse_node(b, at)?);
        }
        let mut node = CacheTree {
            name,
            entry_count,
            id,
            children,
        };
        // git writes them in this order already; [`CacheTree::child`]
        // relies on it.
        node.sort_children();
        Some(node)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_node(&mut out);
        out
    }

    fn write_node(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.name);
        out.push(0);
        out.extend_from_slice(format!("{} {}\n", self.entry_count, self.children.len()).as_bytes());
        if let Some(id) = self.id() {
            out.extend_from_slice(id.as_bytes());
        }
        for child in &self.children {
            child.write_node(out);
        }
    }

    /// git keeps subtrees ordered by name length, then name.
    fn sort_children(&mut self) {
        self.children
            .sort_by(|a, b| (a.name.len(), &a.name).cmp(&(b.name.len(), &b.name)));
    }

    /// Invalidate this folder and each folder on the way to `path`
    /// (`cache_tree_invalidate_path`).
    pub fn invalidate(&mut self, path: &[u8]) {
        self.entry_count = -1;
        self.id = None;
        if let Some(slash) = path.iter().position(|&c| c == b'/') {
            let (dir, rest) = (&path[..slash], &path[slash + 1..]);
            if let Ok(n) = self
                .children
                .binary_search_by(|c| (c.name.len(), c.name.as_slice()).cmp(&(dir.len(), dir)))
            {
                let child = &mut self.children[n];
                child.invalidate(rest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_as_git_writes_them() {
        for value in [0u64, 1, 127, 128, 129, 255, 16_511, 16_512, 1 << 40] {
            let mut out = Vec::new();
            write_varint(&mut out, value);
            assert_eq!(read_varint(&mut &out[..]), Some((value, out.len())));
        }
        // git's encoding of 128 is 0x80 0x00, not 0x81 0x00.
        let mut out = Vec::new();
        write_varint(&mut out, 128);
        assert_eq!(out, [0x80, 0x00]);
    }

    #[test]
    fn replaced_paths_land_in_index_order_with_what_they_replace_gone() {
        let blob = |path: &str| Entry::new(path.as_bytes().to_vec(), Oid::ZERO_SHA1, 0o100644);
        let staged = |path: &str, stage: u16| {
            let mut e = blob(path);
            e.flags |= stage << 12;
            e
        };
        let mut index = IndexFile {
            version: 2,
            entries: vec![
                blob("a"),
                blob("b/c"),
                blob("b/d"),
                staged("e", 1),
                staged("e", 2),
                staged("e", 3),
                blob("f"),
                blob("g/h"),
                blob("m"),
            ],
            extensions: Vec::new(),
        };
        index.replace_paths(vec![
            (b"zz".to_vec(), vec![blob("zz")]),
            // A file where a folder was, and a folder where a file was.
            (b"b".to_vec(), vec![blob("b")]),
            (b"f/x".to_vec(), vec![blob("f/x")]),
            // A conflict resolved, a path removed, one added between.
            (b"e".to_vec(), vec![blob("e")]),
            (b"g/h".to_vec(), Vec::new()),
            (b"a0".to_vec(), vec![blob("a0")]),
            // A conflict staged, in stage order.
            (b"n".to_vec(), vec![staged("n", 1), staged("n", 2)]),
        ]);
        let got: Vec<(String, u16)> = index
            .entries
            .iter()
            .map(|e| (String::from_utf8_lossy(&e.path).into_owned(), e.flags >> 12))
            .collect();
        let want: Vec<(String, u16)> = [
            ("a", 0),
            ("a0", 0),
            ("b", 0),
            ("e", 0),
            ("f/x", 0),
            ("m", 0),
            ("n", 1),
            ("n", 2),
            ("zz", 0),
        ]
        .iter()
        .map(|(p, s)| (p.to_string(), *s))
        .collect();
        assert_eq!(got, want);
    }

    /// However the reader's buffer cuts the file (an entry, a path or an
    /// extension across two reads), streaming reads what parsing the whole
    /// file reads, in every version.
    #[test]
    fn an_index_read_through_any_buffer_is_the_index_parsed_whole() {
        for version in [2, 3, 4] {
            let mut entries: Vec<Entry> = (0..40)
                .map(|n| {
                    let path = format!("dir{}/{}file-{n}", n % 3, "long-".repeat(n % 5));
                    Entry::new(path.into_bytes(), Oid::ZERO_SHA1, 0o100644)
                })
                .collect();
            entries.sort_by(|a, b| a.path.cmp(&b.path));
            for (n, e) in entries.iter_mut().enumerate() {
                e.stat[0] = n as u32;
                e.id[0] = n as u8;
            }
            if version == 3 {
                // Intent-to-add: written as version 3.
                entries[5].flags_extended = 0x2000;
            }
            let index = IndexFile {
                version,
                entries,
                extensions: vec![(*b"REUC", b"some bytes".to_vec())],
            };
            let bytes = index.to_bytes();
            let whole = IndexFile::parse(&bytes).expect("the index");
            assert_eq!(whole, index, "version {version}");
            for room in [1, 7, 64, 4096] {
                let read = BufReader::with_capacity(room, &bytes[..]);
                let streamed = IndexFile::parse_from(read, bytes.len()).expect("the index");
                assert_eq!(streamed, whole, "version {version}, {room} bytes a read");
            }
            let dir = tempfile::tempdir().expect("a temporary directory");
            let file = dir.path().join("index");
            std::fs::write(&file, &bytes).expect("write");
            assert_eq!(IndexFile::read_path(&file).expect("the index"), whole);
        }
    }

    #[test]
    fn a_cut_short_index_is_an_error_not_a_panic() {
        let index = IndexFile {
            version: 2,
            entries: vec![Entry::new(b"a/b".to_vec(), Oid::ZERO_SHA1, 0o100644)],
            extensions: Vec::new(),
        };
        let bytes = index.to_bytes();
        for len in 0..bytes.len() - 20 {
            let mut cut = bytes[..len].to_vec();
            cut.extend_from_slice(&[0; 20]);
            let _ = IndexFile::parse(&cut);
        }
        assert_eq!(IndexFile::parse(&bytes).unwrap(), index);
    }

    #[test]
    fn invalidating_a_path_invalidates_each_folder_on_the_way() {
        let leaf = |name: &[u8]| CacheTree {
            name: name.to_vec(),
            entry_count: 1,
            id: Some(Oid::ZERO_SHA1),
            children: Vec::new(),
        };
        let mut a = leaf(b"a");
        a.children.push(leaf(b"b"));
        let mut root = leaf(b"");
        root.children.push(a);
        root.children.push(leaf(b"c"));
        root.invalidate(b"a/b/x");
        assert_eq!(root.entry_count, -1);
        assert_eq!(root.children[0].entry_count, -1);
        assert_eq!(root.children[0].children[0].entry_count, -1);
        assert_eq!(root.children[1].entry_count, 1);
        assert_eq!(CacheTree::parse(&root.to_bytes()), Some(root));
    }
}
