//! Writing many blobs at once into one pack instead of one loose object
//! file each.
//!
//! A snapshot of a dirty tree writes thousands of blobs; as loose objects
//! each costs a new file (a compressed temporary file and a rename), and new
//! inodes dominate the cost on ext4. Batched, they go to an in-memory object
//! backend (libgit2's mempack) on a second handle of the repository, and are
//! written to disk as one pack (indexed by libgit2) before any tree, commit
//! or ref that names them is written. Few blobs are written loose, as git
//! does.

use std::io::Write;

use anyhow::Context as _;
use git2::{ObjectType, Oid};

use super::Repo;

/// Blobs are batched when at least this many may be written.
pub const BATCH_FROM: usize = 64;
/// Flush the in-memory objects to a pack once they hold this many bytes.
const FLUSH_BYTES: usize = 256 << 20;

pub struct BlobSink<'a> {
    odb: &'a git2::Odb<'a>,
    batch: Option<(&'a git2::Repository, &'a git2::Mempack<'a>)>,
    pending: usize,
    /// Blobs written to memory since the last flush.
    written: Vec<Oid>,
}

impl BlobSink<'_> {
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
        }
        Ok(id)
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        let Some((repo, mempack)) = self.batch else {
            return Ok(());
        };
        if self.written.is_empty() {
            return Ok(());
        }
        // libgit2's mempack dump packs commits only: build the pack of the
        // blobs ourselves (the side handle's object database reads them
        // from memory).
        crate::trace::phase("batch: packing");
        let mut builder = repo
            .packbuilder()
            .context("could not pack the snapshot's objects")?;
        builder.set_threads(1);
        for id in self.written.drain(..) {
            builder
                .insert_object(id, None)
                .context("could not pack the snapshot's objects")?;
        }
        let mut buf = git2::Buf::new();
        builder
            .write_buf(&mut buf)
            .context("could not pack the snapshot's objects")?;
        drop(builder);
        crate::trace::phase("batch: writing the pack");
        // A pack with no object is a 12-byte header and a 20-byte checksum.
        if buf.len() > 32 {
            let mut writer = self.odb.packwriter().context("could not write a pack")?;
            writer.write_all(&buf).context("could not write a pack")?;
            writer.commit().context("could not write a pack")?;
        }
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
            pending: 0,
            written: Vec::new(),
        };
        return f(&mut sink);
    }
    let side =
        git2::Repository::open(repo.common_dir()).context("could not open the object database")?;
    let odb = side.odb().context("could not open the object database")?;
    let mempack = odb
        .add_new_mempack_backend(1000)
        .context("could not open an in-memory object store")?;
    let mut sink = BlobSink {
        odb: &odb,
        batch: Some((&side, &mempack)),
        pending: 0,
        written: Vec::new(),
    };
    let value = f(&mut sink)?;
    sink.flush()?;
    Ok(value)
}
