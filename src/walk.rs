//! A directory walk on several threads.
//!
//! Listing a folder and `lstat`-ing or linking its entries is one system
//! call an entry; on a large work tree those calls are most of the time of
//! a walk, and they run in parallel across folders as git's own preloaded
//! `lstat`s do. Each thread takes a folder from a shared queue, lists it,
//! and hands each entry to the caller's `visit`, which says whether to go
//! into a folder; the folders it goes into join the queue. So a folder is
//! always visited (and, for a copy, created) before anything in it.
//!
//! What each thread gathers stays its own (`S`), and the caller merges the
//! results: the order of a parallel walk is not the order of the tree.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use anyhow::Context as _;

/// One entry of a listed folder.
pub struct Item<'a> {
    /// Its path, relative to the walk's root, bytes as the file system has them.
    pub rel: &'a [u8],
    /// Its full path.
    pub path: &'a Path,
    /// Its name in its folder.
    pub name: &'a OsStr,
    /// Its kind, from the listing (no `lstat`).
    pub file_type: fs::FileType,
    /// 1 for the root's own entries.
    pub depth: usize,
    /// The listing's entry: `metadata()` is an `lstat` relative to the folder.
    pub entry: &'a fs::DirEntry,
}

/// How many threads a walk uses: the machine's, at most eight (more only
/// queue on the file system's locks).
pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 8)
}

struct Queue {
    /// Folders to list: full path, path relative to the root, depth.
    dirs: Vec<(PathBuf, Vec<u8>, usize)>,
    /// Folders taken from the queue and not yet finished.
    busy: usize,
    /// The first error; once set, every thread stops.
    failed: Option<anyhow::Error>,
}

/// Walk the folders `starts` (paths relative to `root`; the empty path is
/// the root itself) on `threads` threads, calling `visit` for every entry
/// below them. `visit` returns whether to go into a folder (ignored for
/// anything else). Returns each thread's gathered state.
pub fn walk<S, F>(
    root: &Path,
    starts: &[Vec<u8>],
    threads: usize,
    init: impl Fn() -> S + Sync,
    visit: F,
) -> anyhow::Result<Vec<S>>
where
    S: Send,
    F: Fn(&mut S, &Item<'_>) -> anyhow::Result<bool> + Sync,
{
    let dirs = starts
        .iter()
        .map(|rel| {
            let depth = if rel.is_empty() {
                0
            } else {
                rel.split(|b| *b == b'/').count()
            };
            (join(root, rel), rel.clone(), depth)
        })
        .collect();
    let queue = Mutex::new(Queue {
        dirs,
        busy: 0,
        failed: None,
    });
    let wake = Condvar::new();
    let work = |state: &mut S| loop {
        let (dir, rel, depth) = {
            let mut q = lock(&queue);
            loop {
                if q.failed.is_some() {
                    return;
                }
                if let Some(next) = q.dirs.pop() {
                    q.busy += 1;
                    break next;
                }
                if q.busy == 0 {
                    wake.notify_all();
                    return;
                }
                q = wake.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let mut found = Vec::new();
        let listed = list(&dir, &rel, depth, state, &visit, &mut found);
        let mut q = lock(&queue);
        q.busy -= 1;
        match listed {
            Ok(()) => {
                let woken = found.len();
                q.dirs.extend(found);
                if woken > 0 || q.busy == 0 {
                    wake.notify_all();
                }
            }
            Err(e) => {
                q.failed.get_or_insert(e);
                wake.notify_all();
            }
        }
    };
    let states = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut state = init();
                    work(&mut state);
                    state
                })
            })
            .collect();
        let mut own = init();
        work(&mut own);
        let mut states = vec![own];
        for helper in helpers {
            match helper.join() {
                Ok(state) => states.push(state),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        states
    });
    match queue.into_inner().unwrap_or_else(|e| e.into_inner()).failed {
        Some(e) => Err(e),
        None => Ok(states),
    }
}

/// `f` of every item, on `threads` threads, in the items' order.
pub fn map<T, R, F>(items: &[T], threads: usize, f: F) -> anyhow::Result<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> anyhow::Result<R> + Sync,
{
    map_with(items, threads, || Ok(()), |(), item| f(item))
}

/// `f` of every item, on `threads` threads, in the items' order, each
/// thread with a state of its own made by `init` (a repository handle,
/// which cannot be shared between threads).
pub fn map_with<T, S, R, F>(
    items: &[T],
    threads: usize,
    init: impl Fn() -> anyhow::Result<S> + Sync,
    f: F,
) -> anyhow::Result<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&mut S, &T) -> anyhow::Result<R> + Sync,
{
    let threads = threads.clamp(1, items.len().max(1));
    let run = |part: &[T]| -> anyhow::Result<Vec<R>> {
        let mut state = init()?;
        part.iter().map(|item| f(&mut state, item)).collect()
    };
    if threads == 1 {
        return run(items);
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| run(part)))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for part in parts {
            match part.join() {
                Ok(done) => out.extend(done?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(out)
    })
}

fn lock(queue: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(|e| e.into_inner())
}

fn list<S, F>(
    dir: &Path,
    rel: &[u8],
    depth: usize,
    state: &mut S,
    visit: &F,
    found: &mut Vec<(PathBuf, Vec<u8>, usize)>,
) -> anyhow::Result<()>
where
    F: Fn(&mut S, &Item<'_>) -> anyhow::Result<bool>,
{
    let entries = fs::read_dir(dir).with_context(|| format!("could not read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("could not read {}", dir.display()))?;
        let name = entry.file_name();
        let mut child = Vec::with_capacity(rel.len() + 1 + name.len());
        if !rel.is_empty() {
            child.extend_from_slice(rel);
            child.push(b'/');
        }
        child.extend_from_slice(name.as_bytes());
        let path = entry.path();
        let file_type = entry
            .file_type()
            .with_context(|| format!("could not read {}", path.display()))?;
        let item = Item {
            rel: &child,
            path: &path,
            name: &name,
            file_type,
            depth: depth + 1,
            entry: &entry,
        };
        if visit(state, &item)? && file_type.is_dir() {
            found.push((path, child, depth + 1));
        }
    }
    Ok(())
}

fn join(root: &Path, rel: &[u8]) -> PathBuf {
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(OsStr::from_bytes(rel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_visited_once_and_skipped_folders_are_not_entered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for d in 0..20 {
            for f in 0..15 {
                let sub = root.join(format!("d{d}/e{}", f % 3));
                fs::create_dir_all(&sub).expect("mkdir");
                fs::write(sub.join(format!("f{f}")), b"x").expect("write");
            }
        }
        fs::create_dir_all(root.join("skip/deep")).expect("mkdir");
        fs::write(root.join("skip/deep/hidden"), b"x").expect("write");
        let states = walk(
            root,
            &[Vec::new()],
            4,
            Vec::new,
            |seen: &mut Vec<Vec<u8>>, item| {
                seen.push(item.rel.to_vec());
                assert_eq!(item.depth, item.rel.split(|b| *b == b'/').count());
                Ok(item.rel != b"skip")
            },
        )
        .expect("walk");
        let mut seen: Vec<Vec<u8>> = states.into_iter().flatten().collect();
        seen.sort();
        let mut expected = vec![b"skip".to_vec()];
        for d in 0..20 {
            expected.push(format!("d{d}").into_bytes());
            for e in 0..3 {
                expected.push(format!("d{d}/e{e}").into_bytes());
            }
            for f in 0..15 {
                expected.push(format!("d{d}/e{}/f{f}", f % 3).into_bytes());
            }
        }
        expected.sort();
        assert_eq!(seen, expected);
    }

    #[test]
    fn the_first_error_stops_the_walk_and_is_returned() {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in 0..10 {
            fs::create_dir_all(dir.path().join(format!("d{d}/x"))).expect("mkdir");
        }
        let err = walk(
            dir.path(),
            &[Vec::new()],
            3,
            || (),
            |(), item| {
                if item.rel == b"d7/x" {
                    anyhow::bail!("refused {}", item.path.display());
                }
                Ok(true)
            },
        )
        .expect_err("the visit's error");
        assert!(err.to_string().starts_with("refused "), "{err}");
    }

    #[test]
    fn a_walk_can_start_below_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("a/b/c")).expect("mkdir");
        fs::create_dir_all(dir.path().join("z")).expect("mkdir");
        let states = walk(dir.path(), &[b"a/b".to_vec()], 2, Vec::new, |seen, item| {
            seen.push((item.rel.to_vec(), item.depth));
            Ok(true)
        })
        .expect("walk");
        let seen: Vec<_> = states.into_iter().flatten().collect();
        assert_eq!(seen, vec![(b"a/b/c".to_vec(), 3)]);
    }
}
