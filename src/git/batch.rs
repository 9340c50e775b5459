//! Writing many blobs (and the trees that hold them) at once into one pack
//! instead of one loose object file each.
//!
//! A snapshot of a dirty tree writes thousands of blobs; as loose objects
//! each costs a new file (a compressed temporary file and a rename), and new
//! inodes dominate the cost on ext4. Batched, they go to an in-memory object
//! backend (libgit2's mempack) on a second handle of the repository, and are
//! written to disk as one pack (`packfile.rs`) before any tree, commit or
//! ref that names them is written. Few blobs are written loose, as git
//! does.

use anyhow::Context as _;
use git2::{ObjectType, Oid};

use super::readthrough;
use super::Repo;

/// Blobs are batched when at least this many may be written.
pub const BATCH_FROM: usize = 64;
/// A batch of fewer new objects than this is written loose; from this
/// many, as one pack. A loose object is a file of its own and, in a
/// repository freshly cloned or packed by `gc`, often a new fan-out folder
/// too: new inodes are what costs on ext4 (72 loose objects, 65 of them in
/// new folders, took 30 ms of an 80 ms `files` on a real repository). A
/// pack is two files whatever it holds. A handful still go loose: git's
/// `gc --auto` counts packs (`gc.autoPackLimit`, 50) as it counts loose
/// objects (`gc.auto`, 6,700), and a pack for every few objects would
/// bring its repack sooner.
pub const LOOSE_BELOW: usize = 16;
/// Flush the in-memory objects to a pack once they hold this many bytes.
const FLUSH_BYTES: usize = 256 << 20;
/// Objects are read back from memory and packed this many bytes at a
/// time. Each chunk is in memory twice while it is packed (read back and
/// compressed), at the peak of a snapshot: 4 MB chunks took
/// `checkpoint --wip` on a 100,000-file tree to 63 MB where 1 MB chunks
/// take it to 58 MB, in the same time.
const PACK_CHUNK_BYTES: usize = 1 << 20;

pub struct BlobSink<'a> {
    odb: &'a git2::Odb<'a>,
    batch: Option<(&'a git2::Repository, &'a git2::Mempack<'a>)>,
    /// The object database on disk, without the in-memory objects.
    disk: Option<&'a git2::Odb<'a>>,
    pending: usize,
    /// Blobs written to memory since the last flush.
    written: Vec<Oid>,
    /// Roots of trees written to memory since the last flush.
    trees: Vec<Oid>,
    /// Where the objects that reach the disk are noted (for the journal's
    /// sync): loose blobs one by one, a batch as its pack.
    noted: &'a super::written::Written,
}

impl<'a> BlobSink<'a> {
    /// The handle to write other objects (trees) through, when batching.
    pub fn object_repo(&self) -> Option<&'a git2::Repository> {
        self.batch.map(|(repo, _)| repo)
    }

    /// A tree written through [`BlobSink::object_repo`] (or, without a
    /// batch, loose): its new subtrees go into the pack with the blobs, or
    /// are noted for the journal's sync.
    pub fn add_tree(&mut self, root: Oid) {
        if self.batch.is_some() {
            self.trees.push(root);
        } else {
            self.noted.tree(root);
        }
    }

    /// The trees under `root` that are not on disk yet (unchanged subtrees
    /// are, and are not descended into).
    fn new_trees(&self, repo: &git2::Repository, disk: &git2::Odb) -> anyhow::Result<Vec<Oid>> {
        let mut found = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack = self.trees.clone();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) || on_disk(disk, id) {
                continue;
            }
            found.push(id);
            let tree = repo
                .find_tree(id)
                .context("could not read a snapshot tree")?;
            for entry in tree.iter() {
                if entry.kind() == Some(ObjectType::Tree) {
                    stack.push(entry.id());
                }
            }
        }
        Ok(found)
    }

    pub fn write(&mut self, bytes: &[u8]) -> anyhow::Result<Oid> {
        let id = self
            .odb
            .write(ObjectType::Blob, bytes)
            .context("could not write a blob")?;
        if self.batch.is_some() {
            self.written.push(id);
            self.pending += bytes.len();
            if self.pending >= FLUSH_BYTES {
                self.flush()?;
            }
        } else {
            self.noted.object(id);
        }
        Ok(id)
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        let Some((repo, mempack)) = self.batch else {
            return Ok(());
        };
        if self.written.is_empty() && self.trees.is_empty() {
            return Ok(());
        }
        let trees = match self.disk {
            Some(disk) => self.new_trees(repo, disk)?,
            None => Vec::new(),
        };
        self.trees.clear();
        // A blob already on disk (the same file content in an earlier
        // snapshot, or in a commit) needs no second copy: a tree unchanged
        // since the last snapshot packs nothing. Its keep entry makes it
        // reachable like a new one.
        let blobs: Vec<Oid> = match self.disk {
            Some(disk) => self
                .written
                .drain(..)
                .filter(|id| !on_disk(disk, *id))
                .collect(),
            None => self.written.drain(..).collect(),
        };
        // A few objects are written loose (see `LOOSE_BELOW`).
        if blobs.len() + trees.len() < LOOSE_BELOW {
            crate::trace::phase("batch: loose");
            let disk = self.disk.unwrap_or(self.odb);
            for id in blobs.into_iter().chain(trees) {
                let object = self
                    .odb
                    .read(id)
                    .context("could not read an object of the snapshot")?;
                disk.write(object.kind(), object.data())
                    .context("could not write an object of the snapshot")?;
                self.noted.object(id);
            }
            mempack
                .reset()
                .context("could not reset the in-memory objects")?;
            self.pending = 0;
            return Ok(());
        }
        // libgit2's mempack dump packs commits only, and its pack builder
        // is slow at this (`git/packfile.rs`): the objects are read back
        // from memory and packed here.
        crate::trace::phase("batch: packing");
        // Read back a megabyte at a time: the objects are not copied
        // out of memory all at once beside the in-memory store.
        let ids: Vec<Oid> = blobs.into_iter().chain(trees).collect();
        let odb = self.odb;
        let mut next = ids.iter().peekable();
        let chunks = std::iter::from_fn(|| {
            next.peek()?;
            let mut chunk = Vec::new();
            let mut bytes = 0;
            while bytes < PACK_CHUNK_BYTES {
                let Some(&id) = next.next() else { break };
                let object = match odb.read(id) {
                    Ok(object) => object,
                    Err(e) => {
                        return Some(Err(anyhow::Error::from(e)
                            .context("could not read an object of the snapshot")))
                    }
                };
                bytes += object.len();
                chunk.push(super::packfile::Object {
                    id,
                    kind: object.kind(),
                    data: object.data().to_vec(),
                });
            }
            Some(Ok(chunk))
        });
        let dir = repo.path().join("objects").join("pack");
        std::fs::create_dir_all(&dir).context("could not write a pack")?;
        let name = super::packfile::write(&dir, ids.len(), chunks)?;
        self.noted.pack(&name);
        // Readers find it on their next lookup; now, to be sure.
        self.odb.refresh().context("could not read the new pack")?;
        if let Some(disk) = self.disk {
            disk.refresh().context("could not read the new pack")?;
        }
        crate::trace::phase("batch: reset");
        mempack
            .reset()
            .context("could not reset the in-memory objects")?;
        self.pending = 0;
        Ok(())
    }
}

/// Run `f` with a blob writer; with `batch`, its blobs reach the disk as one
/// pack when `f` returns (and only if it succeeds).
pub fn with_blob_sink<T>(
    repo: &Repo,
    batch: bool,
    f: impl FnOnce(&mut BlobSink<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if !batch {
        let odb = repo
            .inner
            .odb()
            .context("could not open the object database")?;
        let mut sink = BlobSink {
            odb: &odb,
            batch: None,
            disk: None,
            pending: 0,
            written: Vec::new(),
            trees: Vec::new(),
            noted: repo.written(),
        };
        return f(&mut sink);
    }
    let side = super::discover::open_git_dir(repo.common_dir(), super::discover::Env::Process)
        .context("could not open the object database")?;
    // New objects go to memory; everything else is read from the
    // repository's store, whose packs are not listed again for each new
    // object (`git/readthrough.rs`).
    let odb = git2::Odb::new().context("could not open an in-memory object store")?;
    let mempack = odb
        .add_new_mempack_backend(1000)
        .context("could not open an in-memory object store")?;
    readthrough::add(&odb, &repo.inner, 1)?;
    side.set_odb(&odb)
        .context("could not open an in-memory object store")?;
    let disk = repo
        .inner
        .odb()
        .context("could not open the object database")?;
    let mut sink = BlobSink {
        odb: &odb,
        batch: Some((&side, &mempack)),
        disk: Some(&disk),
        pending: 0,
        written: Vec::new(),
        trees: Vec::new(),
        noted: repo.written(),
    };
    let value = f(&mut sink)?;
    sink.flush()?;
    Ok(value)
}

/// Whether the object is on disk, as far as the packs libgit2 has seen
/// say: a miss does not make it read every pack folder again (as a plain
/// lookup does), so a new object costs no folder listing. An object a
/// concurrent process packed meanwhile is then packed again: harmless.
fn on_disk(disk: &git2::Odb<'_>, id: Oid) -> bool {
    disk.exists_ext(id, git2::OdbLookupFlags::NO_REFRESH)
}

#[cfg(test)]
mod tests {
    use super::{with_blob_sink, LOOSE_BELOW};
    use crate::git::Repo;
    use git2::{ObjectType, Oid};
    use std::time::{Duration, SystemTime};

    /// The batch's store reads what is on disk (HEAD's tree, through its
    /// own handle), packs what is new, does not write again what is on
    /// disk (in the repository or its alternate), and freshens that as
    /// libgit2 would, so that `git gc` does not prune an old loose object
    /// a new tree names.
    #[test]
    fn a_batch_reads_the_disk_packs_new_objects_and_freshens_old_ones() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let shared = git2::Repository::init_bare(dir.path().join("shared.git")).expect("init");
        let in_alternate = shared.blob(b"in the alternate\n").expect("a blob");
        let git = git2::Repository::init(dir.path().join("repo")).expect("init");
        let info = git.path().join("objects/info");
        std::fs::create_dir_all(&info).expect("mkdir");
        std::fs::write(
            info.join("alternates"),
            format!("{}\n", shared.path().join("objects").display()),
        )
        .expect("alternates");
        let old = git.blob(b"old and loose\n").expect("a blob");
        let loose = |id: Oid| {
            let hex = id.to_string();
            git.path().join("objects").join(&hex[..2]).join(&hex[2..])
        };
        let long_ago = SystemTime::now() - Duration::from_secs(30 * 24 * 3600);
        let file = std::fs::File::options()
            .write(true)
            .open(loose(old))
            .expect("the loose object");
        file.set_modified(long_ago).expect("set its time");
        drop(file);
        std::fs::write(dir.path().join("repo/a.txt"), "a\n").expect("write");
        crate::git::fixture::commit_everything(&git, "a");
        let head_tree = git
            .head()
            .and_then(|h| h.peel_to_tree())
            .expect("HEAD's tree")
            .id();

        let repo = Repo::open_ignoring_env(&dir.path().join("repo")).expect("open");
        let new: Vec<Vec<u8>> = (0..LOOSE_BELOW * 2)
            .map(|n| format!("new {n}\n").into_bytes())
            .collect();
        let written = with_blob_sink(&repo, true, |sink| {
            let side = sink.object_repo().expect("a batch has its handle");
            assert_eq!(
                side.find_tree(head_tree)
                    .expect("read through the batch")
                    .id(),
                head_tree
            );
            assert_eq!(
                side.find_blob(in_alternate).expect("read").content(),
                b"in the alternate\n"
            );
            let mut ids = Vec::new();
            for bytes in &new {
                ids.push(sink.write(bytes)?);
            }
            assert_eq!(sink.write(b"old and loose\n")?, old);
            assert_eq!(sink.write(b"in the alternate\n")?, in_alternate);
            Ok(ids)
        })
        .expect("the batch");

        let packs: Vec<_> = std::fs::read_dir(git.path().join("objects/pack"))
            .expect("the pack folder")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
            .collect();
        assert_eq!(packs.len(), 1, "the new objects make one pack");
        let odb = git.odb().expect("the object store");
        for (id, bytes) in written.iter().zip(&new) {
            assert_eq!(
                *id,
                Oid::hash_object(ObjectType::Blob, bytes).expect("hash")
            );
            assert_eq!(odb.read(*id).expect("packed").data(), &bytes[..]);
        }
        let idx = packs[0].path().with_extension("idx");
        let index = std::fs::read(&idx).expect("the pack's index");
        for id in [old, in_alternate] {
            assert!(
                !index.windows(20).any(|w| w == id.as_bytes()),
                "{id} is on disk already and is not packed again"
            );
        }
        let touched = std::fs::metadata(loose(old))
            .and_then(|m| m.modified())
            .expect("the loose object's time");
        assert!(
            touched > long_ago + Duration::from_secs(24 * 3600),
            "the old loose object is freshened"
        );
    }
}
