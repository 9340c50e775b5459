//! Every libgit2 call goes through this module, so all git access can be
//! audited in one place. Commands see [`Repo`] and plain data; "not found"
//! is an `Option`, real failures carry context.
//!
//! libgit2's own stash, reset and checkout are not used for the work tree:
//! they can delete ignored files, write through symlinks and report "locked"
//! after changing files (`docs/libgit2-pitfalls.md` P1–P6). [`snapshot`] builds
//! snapshots from objects we write ourselves and [`writer`] changes exactly
//! the paths a plan names, one by one.

/// Bytes of a pack libgit2 maps at a time (a window), and in all.
const PACK_WINDOW: usize = 4 << 20;
const PACK_MAPPED_LIMIT: usize = 32 << 20;
/// Bytes of parsed objects libgit2 keeps (commits; folders and blobs
/// never): beyond it, it drops some as it adds others.
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
mod refs;
mod renames;
mod repo;
pub mod sample;
pub mod snapshot;
pub mod staged;
pub mod stash;
pub mod state;
pub mod treediff;
pub mod writer;
mod written;

pub(crate) use filter::{smudge, Smudge};
pub use git2::Oid;
pub use path::{bytes_at_or_under, RepoPath};
pub(crate) use refs::describe_id;
pub use refs::{is_object_id, is_ref_name, HeadState};
pub use repo::{CommitInfo, Count, Counting, InProgress, ReflogEntry, Repo, TagInfo};
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
