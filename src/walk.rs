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

/// How many threads `n` paths looked at one system call each (an `lstat`)
/// are worth: one below a thousand, where starting threads costs about
/// what they save; [`threads`] from there.
pub fn threads_for_stats(n: usize) -> usize {
    const ON_THREADS_FROM: usize = 1024;
    if n < ON_THREADS_FROM {
        1
    } else {
        threads()
    }
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

/// `produce` on this thread, handing each job it `send`s to one of
/// `threads` workers that run `work` on it: a producer that checks paths
/// and reads objects in order, and writers that create the files, which
/// mostly wait in the file system. `send` says false once a worker has
/// failed (the producer should stop); a worker that failed takes no more
/// jobs, and once every worker has stopped the queue is dropped, so the
/// producer is never left waiting on a full queue. Returns how many jobs
/// were done, or the producer's error, else the first worker's.
pub fn pipeline<J: Send>(
    threads: usize,
    work: impl Fn(J) -> anyhow::Result<()> + Sync,
    produce: impl FnOnce(&mut dyn FnMut(J) -> bool) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    pipeline_with(threads, |_: &mut (), job| work(job), produce)
}

/// [`pipeline`] where each worker keeps a state of its own across its
/// jobs (starting from `S::default()`): say, a repository handle it opens
/// on its first job that needs one, to read objects on its own thread.
pub fn pipeline_with<S: Default, J: Send>(
    threads: usize,
    work: impl Fn(&mut S, J) -> anyhow::Result<()> + Sync,
    produce: impl FnOnce(&mut dyn FnMut(J) -> bool) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let (jobs, inbox) = std::sync::mpsc::sync_channel::<J>(512);
    let inbox = Arc::new(Mutex::new(inbox));
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (work, failed) = (&work, &failed);
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let inbox = Arc::clone(&inbox);
                scope.spawn(move || -> anyhow::Result<usize> {
                    let mut done = 0;
                    let mut state = S::default();
                    while !failed.load(Ordering::Relaxed) {
                        let next = inbox.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(job) = next else { break };
                        if let Err(e) = work(&mut state, job) {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                        done += 1;
                    }
                    Ok(done)
                })
            })
            .collect();
        drop(inbox);
        let produced = {
            let mut send = |job: J| !failed.load(Ordering::Relaxed) && jobs.send(job).is_ok();
            produce(&mut send)
        };
        drop(jobs);
        let mut done = 0;
        let mut first_error = None;
        for worker in workers {
            match worker.join() {
                Ok(Ok(n)) => done += n,
                Ok(Err(e)) => first_error = first_error.or(Some(e)),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        produced?;
        first_error.map_or(Ok(done), Err)
    })
}

/// `here` on the first half of `items` on this thread, and `there` on the
/// second half on another (which opens what it cannot share, such as a
/// repository handle); the results in the items' order.
pub fn in_two_halves<T: Sync, R: Send>(
    items: &[T],
    here: impl FnOnce(&[T]) -> anyhow::Result<Vec<R>>,
    there: impl FnOnce(&[T]) -> anyhow::Result<Vec<R>> + Send,
) -> anyhow::Result<Vec<R>> {
    let (first, second) = items.split_at(items.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(move || there(second));
        let mut out = here(first)?;
        match other.join() {
            Ok(rest) => out.extend(rest?),
            Err(panic) => std::panic::resume_unwind(panic),
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
    fn a_pipeline_does_every_job_once() {
        let seen = Mutex::new(Vec::new());
        let done = pipeline(
            3,
            |n: usize| {
                seen.lock().expect("lock").push(n);
                Ok(())
            },
            |send| {
                for n in 0..5_000 {
                    assert!(send(n));
                }
                Ok(())
            },
        )
        .expect("no error");
        assert_eq!(done, 5_000);
        let mut seen = seen.into_inner().expect("lock");
        seen.sort_unstable();
        assert_eq!(seen, (0..5_000).collect::<Vec<_>>());
    }

    #[test]
    fn a_failed_worker_stops_the_producer_and_its_error_is_returned() {
        // Every worker fails: far more jobs than the queue holds must not
        // leave the producer waiting forever.
        let mut sent = 0;
        let result = pipeline(
            2,
            |n: usize| anyhow::bail!("job {n} failed"),
            |send| {
                for n in 0..100_000 {
                    if !send(n) {
                        break;
                    }
                    sent += 1;
                }
                Ok(())
            },
        );
        let err = result.expect_err("the worker's error");
        assert!(err.to_string().ends_with("failed"), "{err}");
        assert!(sent < 100_000, "the producer was not told to stop");
        // The producer's own error comes first.
        let err = pipeline(2, |_: usize| Ok(()), |_| anyhow::bail!("producer"))
            .expect_err("the producer's error");
        assert_eq!(err.to_string(), "producer");
    }

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
