//! Every libgit2 call goes through this module, so all git access can be
//! audited in one place. Commands see [`Repo`] and plain data; "not found"
//! is an `Option`, real failures carry context.
//!
//! libgit2's own stash, reset and checkout are not used for the work tree:
//! they can delete ignored files, write through symlinks and report "locked"
//! after changing files (`docs/libgit2-pitfalls.md` P1–P6). [`snapshot`] builds
//! snapshots from objects we write ourselves and [`writer`] changes exactly
//! the paths a plan names, one by one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes of a pack libgit2 maps at a time (a window), and in all: 32 MB
/// until the repository is found, then a quarter of its packs, at least
/// 8 MB and at most 128 MB ([`fit_pack_windows`]).
const PACK_WINDOW: usize = 4 << 20;
const PACK_MAPPED_LIMIT: usize = 32 << 20;
const PACK_MAPPED_LEAST: usize = 8 << 20;
const PACK_MAPPED_MOST: usize = 128 << 20;
/// How deep git follows alternates that name alternates.
const ALTERNATES_DEPTH: usize = 5;

/// Whether this process set libgit2's settings in `cli::main` (and may
/// then change them before its commands start threads): not in a test.
static SETTINGS_OWNED: AtomicBool = AtomicBool::new(false);

/// Bytes of parsed objects libgit2 keeps (commits; folders only for
/// `files`, [`keep_parsed_folders`]; blobs never): beyond it, it drops
/// some as it adds others.
const OBJECT_CACHE: isize = 16 << 20;

/// How much of the object store libgit2 holds in memory, set once when
/// the process starts, before any repository is opened (docs/design.md,
/// Performance: Memory). Its defaults map each pack whole, every page
/// read staying in the process (125 MB of the 100,000-file benchmark's
/// pack after an `emergency`), and keep up to 256 MB of parsed folders
/// and commits for the life of the process. Folders are kept by the code
/// that reads many paths of one tree (`snapshot::Folders`), only as long
/// as it needs them.
// libgit2's settings are process-wide globals, hence `unsafe` in git2:
// called from `cli::main` alone, before any other thread exists.
#[allow(unsafe_code)]
pub fn limit_memory() {
    // SAFETY: no other thread uses libgit2 yet (see above). The calls only
    // fail for an unknown option, which these are not for this libgit2;
    // the defaults are then kept, which is only slower to free memory.
    unsafe {
        let _ = git2::opts::set_mwindow_size(PACK_WINDOW);
        let _ = git2::opts::set_mwindow_mapped_limit(PACK_MAPPED_LIMIT);
        let _ = git2::opts::set_cache_max_size(OBJECT_CACHE);
        let _ = git2::opts::set_cache_object_limit(git2::ObjectType::Tree, 0);
    }
    SETTINGS_OWNED.store(true, Ordering::Relaxed);
}

/// The most of its packs libgit2 keeps mapped, fitted to `repo` once it
/// is found: a quarter of the size of the packs it can read (its own and
/// its alternates'), between 8 and 128 MB (docs/design.md, Performance:
/// Memory). Pages of a window stay in the process's resident memory
/// until the window is unmapped, and the kernel maps the cached pages
/// around each one read: with 32 MB, an `emergency` on the 10,000-file
/// benchmark repository (15 MB of packs) held 14 of its 39 MB in them,
/// where 8 MB took the same time. Below a quarter of the packs the
/// writer threads unmap and map again each other's windows: `sprint
/// rollback` on the 100,000-file repository (149 MB of packs) was 6%
/// slower with 16 MB mapped and 16% with 8, and the undo of an
/// `emergency` on the 300,000-file one (445 MB) 25% slower with 32 MB
/// than with 112.
// Called by `cli::dispatch` on the main thread as soon as the repository
// is found, before any command starts a thread; only when `cli::main` set
// the settings, so never while a test's threads use libgit2.
#[allow(unsafe_code)]
pub fn fit_pack_windows(repo: &Repo) {
    if !SETTINGS_OWNED.load(Ordering::Relaxed) {
        return;
    }
    let limit = mapped_limit_for(packs_size(&repo.common_dir().join("objects")));
    crate::trace::phase(&format!("pack windows: at most {} MB mapped", limit >> 20));
    if limit == PACK_MAPPED_LIMIT {
        return;
    }
    // SAFETY: no other thread of this process exists yet (see above).
    // Failing leaves the limit at 32 MB: more memory or more remapping.
    unsafe {
        let _ = git2::opts::set_mwindow_mapped_limit(limit);
    }
}

/// Parsed folders libgit2 keeps for `files`, each up to this size.
const FOLDER_CACHE_LIMIT: usize = 64 << 10;

/// Let libgit2 keep parsed folders (up to 64 KB each, within the 16 MB of
/// parsed objects it keeps in all) for a command that reads the same
/// folders several times: `files` reads the folders on the way to and under
/// its paths for its plan, the attribute rules of the source and of the
/// snapshot, the undo tree and the target tree; kept, each is read once.
/// Other commands keep none (docs/design.md, Performance: Memory): a
/// whole-tree scan would fill the cache with folders read once.
// Called by `cli::dispatch` on the main thread, as `fit_pack_windows`.
#[allow(unsafe_code)]
pub fn keep_parsed_folders() {
    if !SETTINGS_OWNED.load(Ordering::Relaxed) {
        return;
    }
    // SAFETY: no other thread of this process exists yet (see above).
    // Failing keeps no folders: only slower.
    unsafe {
        let _ = git2::opts::set_cache_object_limit(git2::ObjectType::Tree, FOLDER_CACHE_LIMIT);
    }
}

/// A quarter of `packs` bytes, between [`PACK_MAPPED_LEAST`] and
/// [`PACK_MAPPED_MOST`].
fn mapped_limit_for(packs: u64) -> usize {
    usize::try_from(packs / 4)
        .unwrap_or(usize::MAX)
        .clamp(PACK_MAPPED_LEAST, PACK_MAPPED_MOST)
}

/// The bytes of the packs in `objects` and in the object stores it names
/// as alternates (`info/alternates`, followed as git does, five deep), each
/// store counted once. What cannot be read counts as nothing.
fn packs_size(objects: &Path) -> u64 {
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut stores = vec![(objects.to_path_buf(), 0)];
    let mut total = 0;
    while let Some((store, depth)) = stores.pop() {
        let key = std::fs::canonicalize(&store).unwrap_or_else(|_| store.clone());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        if let Ok(entries) = std::fs::read_dir(store.join("pack")) {
            total += entries
                .flatten()
                .filter(|e| e.file_name().as_encoded_bytes().ends_with(b".pack"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum::<u64>();
        }
        if depth >= ALTERNATES_DEPTH {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(store.join("info").join("alternates")) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') {
                // A relative alternate is relative to the store naming it.
                stores.push((store.join(line), depth + 1));
            }
        }
    }
    total
}

pub mod attributes;
mod batch;
pub mod cli;
mod cmdline_config;
pub mod contents;
pub mod diffstat;
pub mod discover;
pub mod export;
mod filter;
#[cfg(test)]
mod fixture;
mod formats;
pub mod hooks;
pub mod ident;
pub mod index;
pub mod indexfile;
pub mod loose;
pub mod lost;
pub mod packfile;
mod path;
pub mod pick;
mod readthrough;
mod refs;
mod renames;
mod repo;
pub mod sample;
pub mod shared_blobs;
pub mod snapshot;
pub mod staged;
pub mod stash;
pub mod state;
pub mod treediff;
pub mod writer;
mod written;
mod xdiff;

pub(crate) use filter::{smudge, Smudge};
pub use git2::Oid;
pub use path::{bytes_at_or_under, RepoPath};
pub(crate) use refs::describe_id;
pub use refs::{is_object_id, is_ref_name, HeadState};
pub use repo::{CommitInfo, Count, Counting, InProgress, Learning, ReflogEntry, Repo, TagInfo};
pub use written::WrittenFiles;

/// A tree entry's git mode number as libgit2's file mode.
pub(crate) fn file_mode(mode: u32) -> git2::FileMode {
    match mode {
        0o100755 => git2::FileMode::BlobExecutable,
        0o120000 => git2::FileMode::Link,
        0o040000 => git2::FileMode::Tree,
        0o160000 => git2::FileMode::Commit,
        _ => git2::FileMode::Blob,
    }
}

/// The first 8 characters of an object id (all of it, if shorter).
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// How many first bytes of a file git looks at to call it binary.
pub const BINARY_PROBE: usize = 8000;

/// git's test for binary content: a NUL among the first
/// [`BINARY_PROBE`] bytes.
pub fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PROBE)].contains(&0)
}

/// Parse a full object id recorded in the journal.
pub fn parse_oid(text: &str) -> anyhow::Result<Oid> {
    Oid::from_str(text).map_err(|_| anyhow::anyhow!("not an object id: {text:?}"))
}

/// The libgit2 version this build links (`1.9.0`).
pub fn libgit2_version() -> String {
    let (major, minor, rev) = git2::Version::get().libgit2_version();
    format!("{major}.{minor}.{rev}")
}

/// Visit every entry of `tree` and of the trees under it, folders before
/// what they hold, with its path from `tree` as bytes. libgit2's own walk
/// (`Tree::walk`) hands paths over as UTF-8 and stops at the first that is
/// not, silently: a file under such a folder would be skipped.
pub fn each_tree_entry(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    visit: &mut dyn FnMut(&[u8], &git2::TreeEntry<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    fn go(
        repo: &git2::Repository,
        tree: &git2::Tree<'_>,
        path: &mut Vec<u8>,
        visit: &mut dyn FnMut(&[u8], &git2::TreeEntry<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        for entry in tree.iter() {
            let len = path.len();
            if len > 0 {
                path.push(b'/');
            }
            path.extend_from_slice(entry.name_bytes());
            visit(path, &entry)?;
            if entry.kind() == Some(git2::ObjectType::Tree) {
                let sub = repo
                    .find_tree(entry.id())
                    .map_err(|e| anyhow::anyhow!("could not read the tree {}: {e}", entry.id()))?;
                go(repo, &sub, path, visit)?;
            }
            path.truncate(len);
        }
        Ok(())
    }
    go(repo, tree, &mut Vec::new(), visit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapped_limit_is_a_quarter_of_the_packs_between_8_and_128_mb() {
        assert_eq!(mapped_limit_for(0), PACK_MAPPED_LEAST);
        assert_eq!(mapped_limit_for(15 << 20), PACK_MAPPED_LEAST);
        assert_eq!(mapped_limit_for(40 << 20), 10 << 20);
        assert_eq!(mapped_limit_for(149 << 20), (149 << 20) / 4);
        assert_eq!(mapped_limit_for(445 << 20), (445 << 20) / 4);
        assert_eq!(mapped_limit_for(4 << 30), PACK_MAPPED_MOST);
        assert_eq!(mapped_limit_for(u64::MAX), PACK_MAPPED_MOST);
    }

    #[test]
    fn packs_are_counted_in_the_store_and_its_alternates_once_each() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |path: &str, len: usize| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, vec![b'x'; len]).expect("write");
        };
        write("a/objects/pack/pack-1.pack", 100);
        write("a/objects/pack/pack-2.pack", 250);
        // Not packs: an index, a pack being written.
        write("a/objects/pack/pack-1.idx", 7_000);
        write("a/objects/pack/tmp_pack_x", 9_000);
        // A relative alternate and an absolute one, each naming the first
        // store back, and a second level.
        write("b/objects/pack/pack-3.pack", 1_000);
        write("c/objects/pack/pack-4.pack", 20_000);
        let abs_c = dir.path().join("c/objects");
        for store in ["a", "b", "c"] {
            std::fs::create_dir_all(dir.path().join(store).join("objects/info")).expect("mkdir");
        }
        std::fs::write(
            dir.path().join("a/objects/info/alternates"),
            "# shared\n../../b/objects\n\n",
        )
        .expect("alternates");
        std::fs::write(
            dir.path().join("b/objects/info/alternates"),
            format!("{}\n../../a/objects\n", abs_c.display()),
        )
        .expect("alternates");
        std::fs::write(abs_c.join("info/alternates"), "../../a/objects\n").expect("alternates");
        assert_eq!(packs_size(&dir.path().join("a/objects")), 21_350);
        assert_eq!(packs_size(&dir.path().join("c/objects")), 21_350);
        assert_eq!(packs_size(&dir.path().join("missing/objects")), 0);
    }
}
