//! What is staged, fast: HEAD's tree against the index file, skipping every
//! directory whose cache-tree entry says it is unchanged.
//!
//! libgit2's tree-to-index diff ignores the index's cache-tree and compares
//! all 100,000 entries of a large repository (docs/design.md, Performance:
//! 138 ms, against 12 ms for `git diff --cached`). A pre-commit hook runs on
//! every commit, so it reads the index file itself (versions 2–4, SHA-1),
//! a chunk at a time and keeping only paths, objects and modes, and walks
//! HEAD's tree and the index side by side in one merge, as git does, taking
//! a directory as unchanged when its cache-tree entry is valid and names
//! the same tree as HEAD's. Anything it does not understand falls back to
//! libgit2's diff.

use anyhow::Context as _;
use git2::{ObjectType, Oid};

use super::indexfile::{read_varint, CacheTree};
use super::{Repo, RepoPath};

/// One staged path: its content in the index (`None` when deleted), and its
/// conflict stage (0 when merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub path: RepoPath,
    pub id: Option<Oid>,
    pub mode: u32,
    pub stage: u8,
}

/// An index entry as the comparison needs it: where its path is in
/// [`Parsed::paths`], its object, mode and stage, and the stat data git
/// recorded for it.
struct Entry {
    start: u32,
    len: u32,
    id: [u8; 20],
    mode: u32,
    stage: u8,
    stat: IndexStat,
}

/// The stat data of an index entry as git stores it (each field cut to 32
/// bits): ctime seconds and nanoseconds, mtime seconds and nanoseconds,
/// inode, size.
pub type IndexStat = [u32; 6];

fn index_stat(header: &[u8; ENTRY_HEADER]) -> IndexStat {
    let at =
        |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    [at(0), at(4), at(8), at(12), at(20), at(36)]
}

/// The index as read: every entry's path in one buffer, the entries in
/// index order, and the cache-tree.
struct Parsed {
    paths: Vec<u8>,
    entries: Vec<Entry>,
    cache: CacheTree,
}

/// A run of entries (all under one folder, or all with one path), with the
/// buffer their paths are in.
#[derive(Clone, Copy)]
struct Entries<'a> {
    paths: &'a [u8],
    list: &'a [Entry],
}

impl<'a> Entries<'a> {
    fn path(&self, n: usize) -> &'a [u8] {
        let e = &self.list[n];
        &self.paths[e.start as usize..(e.start + e.len) as usize]
    }

    /// The entries from `n` while `keep` holds for their paths (it holds
    /// for a prefix of the run: they are sorted).
    fn run_from(&self, n: usize, keep: impl Fn(&[u8]) -> bool) -> usize {
        n + self.list[n..]
            .partition_point(|e| keep(&self.paths[e.start as usize..(e.start + e.len) as usize]))
    }

    fn slice(&self, range: std::ops::Range<usize>) -> Entries<'a> {
        Entries {
            paths: self.paths,
            list: &self.list[range],
        }
    }

    /// Entry `n` as [`Staged`], with its content in the index.
    fn staged(&self, n: usize) -> anyhow::Result<Staged> {
        let e = &self.list[n];
        Ok(Staged {
            path: RepoPath::from_bytes(self.path(n)),
            id: Some(Oid::from_bytes(&e.id).context("could not read the index")?),
            mode: e.mode,
            stage: e.stage,
        })
    }
}

/// Visit every entry of the index file at `path` (its path, mode, stage
/// and stat data), read as the pre-commit check reads it, without
/// libgit2's parse of the whole file. `None` when the file is missing or
/// not understood.
pub fn each_index_entry(
    path: &std::path::Path,
    mut visit: impl FnMut(&[u8], u32, u8, &IndexStat),
) -> Option<()> {
    let entries = IndexEntries::read(path)?;
    for n in 0..entries.len() {
        let (path, mode, stage, stat) = entries.get(n);
        visit(path, mode, stage, stat);
    }
    Some(())
}

/// The entries of an index file, read as [`each_index_entry`] reads them,
/// kept for looking at in any order.
pub struct IndexEntries {
    parsed: Parsed,
}

impl IndexEntries {
    /// `None` when the file is missing or not understood.
    pub fn read(path: &std::path::Path) -> Option<IndexEntries> {
        let file = std::fs::File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        let parsed = parse(std::io::BufReader::with_capacity(READ_CHUNK, file), len)?;
        Some(IndexEntries { parsed })
    }

    pub fn len(&self) -> usize {
        self.parsed.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parsed.entries.is_empty()
    }

    /// Entry `n` in index order: its path, mode, stage and stat data.
    pub fn get(&self, n: usize) -> (&[u8], u32, u8, &IndexStat) {
        let e = &self.parsed.entries[n];
        let at = e.start as usize;
        (
            &self.parsed.paths[at..at + e.len as usize],
            e.mode,
            e.stage,
            &e.stat,
        )
    }
}

impl Repo {
    /// The paths whose index version differs from HEAD's (all of them when
    /// HEAD is unborn), conflicts included, in index order.
    pub fn staged(&self) -> anyhow::Result<Vec<Staged>> {
        // `git commit -a` and `git commit <paths>` run the pre-commit hook
        // with GIT_INDEX_FILE naming a temporary index: that index, not
        // `.git/index`, is what is about to be committed. A relative value
        // is relative to the current directory, as git reads it.
        let path = match std::env::var_os("GIT_INDEX_FILE") {
            Some(file) if !file.is_empty() => std::env::current_dir()
                .context("could not read the current directory")?
                .join(file),
            _ => self.git_dir().join("index"),
        };
        let file = match std::fs::File::open(&path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).context("could not read the index"),
        };
        let len = match &file {
            Some(f) => f.metadata().context("could not read the index")?.len(),
            None => 0,
        };
        let file = file.filter(|_| len > 0);
        // The index is parsed on a second thread while this one finds
        // HEAD's tree (the first read of a pack: its index opened and
        // mapped); each takes a millisecond or two.
        let (head_tree, parsed) = std::thread::scope(|scope| {
            let parsing = file.map(|file| {
                scope.spawn(move || {
                    crate::trace::phase("staged: parse the index");
                    parse(std::io::BufReader::with_capacity(READ_CHUNK, file), len)
                })
            });
            let head_tree = match self.head_commit() {
                Ok(Some(h)) => self
                    .inner
                    .find_commit(h)
                    .and_then(|c| c.tree())
                    .map(Some)
                    .context("could not read HEAD's tree"),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            };
            let parsed = parsing.map(|p| match p.join() {
                Ok(parsed) => parsed,
                Err(panic) => std::panic::resume_unwind(panic),
            });
            (head_tree, parsed)
        });
        let head_tree = head_tree?;
        let Some(parsed) = parsed else {
            let mut out = Vec::new();
            if let Some(tree) = &head_tree {
                self.all_deleted(tree, b"", &mut out)?;
            }
            return Ok(out);
        };
        crate::trace::phase("staged: compare");
        match parsed {
            Some(parsed) => {
                let mut out = Vec::new();
                let entries = Entries {
                    paths: &parsed.paths,
                    list: &parsed.entries,
                };
                let cache = &parsed.cache;
                self.compare(
                    head_tree.as_ref(),
                    b"",
                    entries,
                    Some(cache).filter(|c| c.id().is_some() || c.has_children()),
                    &mut out,
                )?;
                Ok(out)
            }
            None => self.staged_by_diff(head_tree.as_ref(), &path),
        }
    }

    /// `tree` (at `dir`, `None` when HEAD has nothing there) against the
    /// index entries under `dir` (sorted, contiguous).
    ///
    /// One merge of two sorted lists, as git walks them: the tree's entries
    /// (a folder sorts as `name/`) and the index's, grouped by their first
    /// name under `dir` (a group of paths inside a folder as `name/`). A
    /// folder whose cache-tree entry names HEAD's tree there is skipped
    /// without being read.
    fn compare(
        &self,
        tree: Option<&git2::Tree<'_>>,
        dir: &[u8],
        entries: Entries<'_>,
        cache: Option<&CacheTree>,
        out: &mut Vec<Staged>,
    ) -> anyhow::Result<()> {
        if let (Some(tree), Some(id)) = (tree, cache.and_then(CacheTree::id)) {
            if id == tree.id() {
                return Ok(());
            }
        }
        let mut head = tree.into_iter().flat_map(|t| t.iter()).peekable();
        let mut i = 0;
        loop {
            // The next index group: its name, whether it is a folder, its end.
            let group = (i < entries.list.len()).then(|| {
                let path = entries.path(i);
                let rest = &path[dir.len()..];
                match rest.iter().position(|&b| b == b'/') {
                    None => (rest, false, entries.run_from(i, |p| p == path)),
                    Some(slash) => {
                        let prefix = &path[..dir.len() + slash + 1];
                        (
                            &rest[..slash],
                            true,
                            entries.run_from(i, |p| p.starts_with(prefix)),
                        )
                    }
                }
            });
            let order = match (head.peek(), &group) {
                (None, None) => return Ok(()),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(h), Some((name, is_dir, _))) => git_order(
                    h.name_bytes(),
                    h.kind() == Some(ObjectType::Tree),
                    name,
                    *is_dir,
                ),
            };
            match (order, group) {
                // HEAD has it, the index does not: deleted.
                (std::cmp::Ordering::Less, _) => {
                    if let Some(h) = head.next() {
                        self.deleted(&h, dir, out)?;
                    }
                }
                // The index has it, HEAD does not: added (a folder, all of it).
                (std::cmp::Ordering::Greater, Some((name, is_dir, end))) => {
                    if is_dir {
                        let prefix = [dir, name, b"/"].concat();
                        let child = cache.and_then(|c| c.child(name));
                        self.compare(None, &prefix, entries.slice(i..end), child, out)?;
                    } else {
                        for n in i..end {
                            out.push(entries.staged(n)?);
                        }
                    }
                    i = end;
                }
                // Both: a file (every stage against HEAD's), or a folder.
                (std::cmp::Ordering::Equal, Some((name, is_dir, end))) => {
                    let Some(h) = head.next() else { break };
                    if is_dir {
                        let child = cache.and_then(|c| c.child(name));
                        let unchanged =
                            child.and_then(CacheTree::id).is_some_and(|id| id == h.id());
                        if !unchanged {
                            let sub = h
                                .to_object(&self.inner)
                                .and_then(|o| o.peel_to_tree())
                                .context("could not read a tree")?;
                            let prefix = [dir, name, b"/"].concat();
                            self.compare(Some(&sub), &prefix, entries.slice(i..end), child, out)?;
                        }
                    } else {
                        let (id, mode) = (h.id(), h.filemode() as u32);
                        for n in i..end {
                            let e = &entries.list[n];
                            let same = e.stage == 0 && e.mode == mode && e.id == id.as_bytes();
                            if !same {
                                out.push(entries.staged(n)?);
                            }
                        }
                    }
                    i = end;
                }
                (_, None) => break,
            }
        }
        Ok(())
    }

    fn all_deleted(
        &self,
        tree: &git2::Tree<'_>,
        prefix: &[u8],
        out: &mut Vec<Staged>,
    ) -> anyhow::Result<()> {
        for e in tree.iter() {
            self.deleted(&e, prefix, out)?;
        }
        Ok(())
    }

    /// HEAD's entry `e` under `dir` is not in the index: it, or every file
    /// below it, is deleted.
    fn deleted(
        &self,
        e: &git2::TreeEntry<'_>,
        dir: &[u8],
        out: &mut Vec<Staged>,
    ) -> anyhow::Result<()> {
        let mut path = dir.to_vec();
        path.extend_from_slice(e.name_bytes());
        if e.kind() == Some(ObjectType::Tree) {
            let sub = e
                .to_object(&self.inner)
                .and_then(|o| o.peel_to_tree())
                .context("could not read a tree")?;
            path.push(b'/');
            self.all_deleted(&sub, &path, out)
        } else {
            out.push(Staged {
                path: RepoPath::from_bytes(&path),
                id: None,
                mode: e.filemode() as u32,
                stage: 0,
            });
            Ok(())
        }
    }

    /// The same through libgit2's diff (an index this reader does not know).
    fn staged_by_diff(
        &self,
        tree: Option<&git2::Tree<'_>>,
        path: &std::path::Path,
    ) -> anyhow::Result<Vec<Staged>> {
        let index = git2::Index::open(path).context("could not read the index")?;
        let mut opts = git2::DiffOptions::new();
        opts.ignore_submodules(true);
        let diff = self
            .inner
            .diff_tree_to_index(tree, Some(&index), Some(&mut opts))
            .context("could not compare HEAD with the index")?;
        let mut out = Vec::new();
        for d in diff.deltas() {
            let new = d.new_file();
            let Some(path) = new.path_bytes().or(d.old_file().path_bytes()) else {
                continue;
            };
            let deleted = d.status() == git2::Delta::Deleted;
            out.push(Staged {
                path: RepoPath::from_bytes(path),
                id: (!deleted).then(|| new.id()),
                mode: u32::from(new.mode()),
                stage: if d.status() == git2::Delta::Conflicted {
                    2
                } else {
                    0
                },
            });
        }
        Ok(out)
    }

    /// A blob's bytes (for scanning staged content).
    pub fn blob_bytes(&self, id: Oid) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .inner
            .find_blob(id)
            .context("could not read a staged file")?
            .content()
            .to_vec())
    }
}

/// Two sibling names in git's order, where a folder sorts as `name/`.
fn git_order(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    a[..n].cmp(&b[..n]).then_with(|| {
        let end = |dir: bool| if dir { b'/' } else { 0 };
        let next_a = a.get(n).copied().unwrap_or_else(|| end(a_dir));
        let next_b = b.get(n).copied().unwrap_or_else(|| end(b_dir));
        next_a.cmp(&next_b)
    })
}

/// How much of the index is read at a time. Read whole, a 9 MB index
/// of 100,000 files cost more in fresh memory (a page fault for every 4 KB)
/// than the parse itself; the entries keep only what the comparison needs.
const READ_CHUNK: usize = 256 << 10;

/// The fixed part of an index entry: stat data, mode, object id, flags.
const ENTRY_HEADER: usize = 62;

/// The index's entries and its cache-tree, read from `file` (`len`
/// bytes); `None` for what this reader does not handle (another version,
/// SHA-256, a split or sparse index, a damaged file), and when reading
/// fails: libgit2's diff then reads it.
///
/// Long because it is one pass over the file, entry by entry, with a
/// branch for each version's way of storing the path.
fn parse(mut file: impl std::io::BufRead, len: u64) -> Option<Parsed> {
    const TRAILER: u64 = 20;
    let mut head = [0u8; 12];
    file.read_exact(&mut head).ok()?;
    if &head[..4] != b"DIRC" || len < 12 + TRAILER {
        return None;
    }
    let version = u32::from_be_bytes(head[4..8].try_into().ok()?);
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = u32::from_be_bytes(head[8..12].try_into().ok()?) as usize;
    // Every path once: what the file holds beside the entries' headers
    // (version 4 shares prefixes, so its paths grow from this guess).
    let beside_headers = len.saturating_sub(12 + (count * ENTRY_HEADER) as u64);
    let mut paths: Vec<u8> = Vec::with_capacity(usize::try_from(beside_headers).ok()?);
    let mut entries: Vec<Entry> = Vec::with_capacity(count);
    let mut pos: u64 = 12;
    let mut previous: (usize, usize) = (0, 0);
    for _ in 0..count {
        // Most entries lie whole in the buffer: taken from it directly.
        if version < 4 {
            let buf = file.fill_buf().ok()?;
            if let Some((used, entry)) = plain_entry(buf, &mut paths) {
                file.consume(used);
                pos += used as u64;
                entries.push(entry);
                continue;
            }
        }
        let mut header = [0u8; ENTRY_HEADER];
        file.read_exact(&mut header).ok()?;
        let mut used = ENTRY_HEADER;
        let mode = u32::from_be_bytes(header[24..28].try_into().ok()?);
        let flags = u16::from_be_bytes(header[60..62].try_into().ok()?);
        if flags & 0x4000 != 0 {
            if version < 3 {
                return None;
            }
            let mut extended = [0u8; 2];
            file.read_exact(&mut extended).ok()?;
            // A sparse-index directory entry: not handled here.
            if u16::from_be_bytes(extended) & (1 << 15) != 0 {
                return None;
            }
            used += 2;
        }
        if mode == 0o040000 {
            return None;
        }
        let start = paths.len();
        if version == 4 {
            // The previous path, less `strip` bytes, then this one's end.
            let (strip, varint_len) = read_varint(&mut file)?;
            let keep = previous.1.checked_sub(usize::try_from(strip).ok()?)?;
            paths.extend_from_within(previous.0..previous.0 + keep);
            let read = file.read_until(0, &mut paths).ok()?;
            if paths.pop() != Some(0) {
                return None;
            }
            used += varint_len + read;
        } else {
            // The flags hold the name's length when it is under 0xfff;
            // the entry is padded with 1–8 NULs to a multiple of 8.
            let name = usize::from(flags & 0xfff);
            if name < 0xfff {
                paths.resize(start + name, 0);
                file.read_exact(&mut paths[start..]).ok()?;
                used += name;
            } else {
                let read = file.read_until(0, &mut paths).ok()?;
                if paths.pop() != Some(0) {
                    return None;
                }
                used += read - 1;
            }
            let padded = (used + 8) / 8 * 8;
            let mut pad = [0u8; 8];
            let pad = &mut pad[..padded - used];
            file.read_exact(pad).ok()?;
            if pad.iter().any(|&b| b != 0) {
                return None;
            }
            used = padded;
        }
        pos += used as u64;
        previous = (start, paths.len() - start);
        entries.push(Entry {
            start: u32::try_from(start).ok()?,
            len: u32::try_from(paths.len() - start).ok()?,
            id: header[40..60].try_into().ok()?,
            mode,
            stage: ((flags >> 12) & 3) as u8,
            stat: index_stat(&header),
        });
    }
    // Extensions, then the trailer.
    let mut rest = Vec::new();
    file.read_to_end(&mut rest).ok()?;
    if pos + rest.len() as u64 != len || (rest.len() as u64) < TRAILER {
        return None;
    }
    let extensions = &rest[..rest.len() - TRAILER as usize];
    let mut cache = CacheTree::unknown();
    let mut at = 0;
    while at + 8 <= extensions.len() {
        let sig = &extensions[at..at + 4];
        let size = u32::from_be_bytes(extensions[at + 4..at + 8].try_into().ok()?) as usize;
        let data = extensions.get(at + 8..at + 8 + size)?;
        match sig {
            b"TREE" => cache = CacheTree::parse(data)?,
            // A split index keeps its entries elsewhere.
            b"link" | b"sdir" => return None,
            _ => {}
        }
        at += 8 + size;
    }
    Some(Parsed {
        paths,
        entries,
        cache,
    })
}

/// A version 2 or 3 entry at the start of `buf` without extended flags, a
/// long name or a directory mode, when it lies whole in `buf`: its size,
/// and the entry (its path appended to `paths`). `None` for anything else,
/// which the general reader then takes (or refuses).
fn plain_entry(buf: &[u8], paths: &mut Vec<u8>) -> Option<(usize, Entry)> {
    let header: &[u8; ENTRY_HEADER] = buf.get(..ENTRY_HEADER)?.try_into().ok()?;
    let mode = u32::from_be_bytes(header[24..28].try_into().ok()?);
    let flags = u16::from_be_bytes(header[60..62].try_into().ok()?);
    let name = usize::from(flags & 0xfff);
    if flags & 0x4000 != 0 || name == 0xfff || mode == 0o040000 {
        return None;
    }
    let used = (ENTRY_HEADER + name + 8) / 8 * 8;
    let padded = buf.get(ENTRY_HEADER..used)?;
    if padded[name..].iter().any(|&b| b != 0) {
        return None;
    }
    let start = paths.len();
    paths.extend_from_slice(&padded[..name]);
    Some((
        used,
        Entry {
            start: u32::try_from(start).ok()?,
            len: u32::try_from(name).ok()?,
            id: header[40..60].try_into().ok()?,
            mode,
            stage: ((flags >> 12) & 3) as u8,
            stat: index_stat(header),
        },
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use git2::{IndexAddOption, Oid, Repository};

    use crate::git::Repo;

    /// Names that sort around `/`: `a`, `a-b`, `a.b`, `a/…`, `ab`.
    const COMMITTED: &[&str] = &[
        "a-b", "a.b", "a/c", "a/z/deep", "ab", "dir/x", "dir2/y", "gone/x", "same/s", "swap",
    ];

    fn write(root: &Path, path: &str, text: &str) {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().expect("a folder")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }

    /// A commit of [`COMMITTED`], then an index that changes it in every
    /// way a path can change, written with a cache-tree for what it left
    /// alone (as `git add` leaves it), in index version `version`.
    #[allow(clippy::disallowed_methods)] // the fixture plays git, writing its index
    fn changed_index(version: u32) -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let git = Repository::init(dir.path()).expect("git init");
        for p in COMMITTED {
            write(dir.path(), p, p);
        }
        let mut index = crate::git::fixture::commit_everything(&git, "first");
        // Modified, deleted, a folder become a file and a file a folder, a
        // file added beside and deep, a mode changed.
        write(dir.path(), "a.b", "changed");
        std::fs::remove_file(dir.path().join("a-b")).expect("rm");
        std::fs::remove_dir_all(dir.path().join("gone")).expect("rm");
        write(dir.path(), "gone", "now a file");
        std::fs::remove_file(dir.path().join("swap")).expect("rm");
        write(dir.path(), "swap/inner", "now a folder");
        write(dir.path(), "a/d", "added beside");
        write(dir.path(), "new/deep/f", "added deep");
        write(dir.path(), "a0", "sorts after a/");
        std::fs::remove_file(dir.path().join("dir2/y")).expect("rm");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("ab"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
        index
            .add_all(["*"], IndexAddOption::DEFAULT, None)
            .expect("add");
        index.update_all(["*"], None).expect("stage the deletions");
        index.set_version(version).expect("index version");
        index.write_tree().expect("the cache-tree");
        index.write().expect("write the index");
        drop(index);
        (dir, git)
    }

    /// What is staged as (path, content) pairs.
    type Changes = BTreeSet<(Vec<u8>, Option<Oid>)>;

    fn as_set(staged: Vec<super::Staged>) -> Changes {
        staged
            .into_iter()
            .map(|s| (s.path.as_bytes().to_vec(), s.id))
            .collect()
    }

    #[test]
    fn the_index_reader_finds_what_libgit2_s_diff_finds() {
        for version in [2, 3, 4] {
            let (dir, _git) = changed_index(version);
            let repo = Repo::open_ignoring_env(dir.path()).expect("open");
            let fast = as_set(repo.staged().expect("staged"));
            let head = repo
                .inner
                .head()
                .and_then(|h| h.peel_to_tree())
                .expect("HEAD's tree");
            let by_diff = as_set(
                repo.staged_by_diff(Some(&head), &dir.path().join(".git/index"))
                    .expect("libgit2's diff"),
            );
            assert_eq!(fast, by_diff, "index version {version}");
            let paths: Vec<String> = fast
                .iter()
                .map(|(p, _)| String::from_utf8_lossy(p).into_owned())
                .collect();
            assert_eq!(
                paths,
                [
                    "a-b",
                    "a.b",
                    "a/d",
                    "a0",
                    "ab",
                    "dir2/y",
                    "gone",
                    "gone/x",
                    "new/deep/f",
                    "swap",
                    "swap/inner",
                ],
                "index version {version}"
            );
        }
    }
}
