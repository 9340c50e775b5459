//! An object-store backend that reads from the repository's own store,
//! for the in-memory store a batch writes into (`git/batch.rs`).
//!
//! libgit2 first asks its backends whether an object it is about to write
//! exists already ("freshen"), and when none has it, it lists every pack
//! folder again (its own and its alternates') and asks once more before it
//! writes. A new object always misses, so every object a snapshot writes
//! cost a listing of the pack folders: 45–60 µs each on cargo's repository
//! with its alternate, 3,034 listings in one `emergency` on the
//! 100,000-file tree (docs/design.md, Performance).
//!
//! A batch's store is therefore libgit2's in-memory backend beside this
//! one: it answers reads from the repository's store, and finds an object
//! already on disk among the packs libgit2 has listed, without listing
//! them again. It has nothing to list itself, so a miss costs nothing more.
//! An object a concurrent process packed in the meantime is then written
//! again: harmless, as the batch already treats it (`batch::on_disk`).
//!
//! Before a write it freshens an object found on disk as libgit2 does,
//! through the repository store's own backends (a loose object or its pack
//! touched, so that `git gc` does not prune an old unreachable object a
//! new tree now names), and then the object is not written again.
//!
//! Only full object ids are served: the batch's handle is never given an
//! abbreviated one.

use std::ffi::c_void;
use std::ptr;

use git2::Binding as _;
use libc::{c_int, size_t};
use libgit2_sys as raw;

/// The backend as libgit2 sees it (`parent` first, so that a pointer to it
/// is a pointer to libgit2's struct), and what it reads from.
#[repr(C)]
struct Backend {
    parent: raw::git_odb_backend,
    /// A reference of its own to the repository's object store, let go of
    /// in `free`.
    disk: *mut raw::git_odb,
}

/// Add to `odb`, at `priority`, a backend that reads `repo`'s objects.
// The libgit2 calls that set up a backend of the program's own; git2 has no
// safe wrapper for them.
#[allow(unsafe_code)]
pub fn add(odb: &git2::Odb<'_>, repo: &git2::Repository, priority: i32) -> anyhow::Result<()> {
    let mut disk = ptr::null_mut();
    // SAFETY: `repo.raw()` is a valid repository for the call;
    // `git_repository_odb` sets `disk` to a new reference to its store
    // (or fails and leaves it null), which the backend owns from here.
    let rc = unsafe { raw::git_repository_odb(&mut disk, repo.raw()) };
    if rc < 0 || disk.is_null() {
        anyhow::bail!("could not open the object database (libgit2 error {rc})");
    }
    let backend = Box::new(Backend {
        // SAFETY: libgit2's backend struct is a version, a null owner
        // and optional callbacks: all zeroes is a valid value of it
        // (every callback absent), which `git_odb_init_backend` then
        // fills in as libgit2 expects.
        parent: unsafe { std::mem::zeroed() },
        disk,
    });
    let backend = Box::into_raw(backend);
    // SAFETY: `backend` is the unique pointer to a live `Backend`,
    // whose first field is libgit2's struct (`repr(C)`). The
    // callbacks have the signatures libgit2-sys declares for them
    // (the layout of include/git2/sys/odb_backend.h of the libgit2 that
    // Cargo.toml pins). Once `git_odb_add_backend` succeeds, the store
    // owns the backend and calls `free` when it is freed; before, or
    // when it fails, it is freed here.
    unsafe {
        let parent = ptr::addr_of_mut!((*backend).parent);
        let rc = raw::git_odb_init_backend(parent, raw::GIT_ODB_BACKEND_VERSION);
        if rc < 0 {
            free(parent);
            anyhow::bail!("could not set up an object store backend (libgit2 error {rc})");
        }
        (*parent).read = Some(read);
        (*parent).read_header = Some(read_header);
        (*parent).exists = Some(exists);
        (*parent).freshen = Some(freshen);
        (*parent).free = Some(free);
        let rc = raw::git_odb_add_backend(odb.raw(), parent, priority);
        if rc < 0 {
            free(parent);
            anyhow::bail!("could not add a backend to the object store (libgit2 error {rc})");
        }
    }
    Ok(())
}

/// The store a backend reads from.
#[allow(unsafe_code)]
unsafe fn disk_of(backend: *mut raw::git_odb_backend) -> *mut raw::git_odb {
    // SAFETY (the callers'): libgit2 passes back the pointer it was given
    // by `add`, that of a live `Backend`.
    unsafe { (*backend.cast::<Backend>()).disk }
}

/// libgit2's `read`: a copy of the object, in memory libgit2 frees.
#[allow(unsafe_code)]
extern "C" fn read(
    data: *mut *mut c_void,
    len: *mut size_t,
    kind: *mut raw::git_object_t,
    backend: *mut raw::git_odb_backend,
    id: *const raw::git_oid,
) -> c_int {
    // SAFETY: libgit2 passes valid out-pointers, its id, and the backend
    // it was given. The object read is freed once its bytes are copied
    // into memory from `git_odb_backend_data_alloc`, which libgit2 then
    // owns. A failed read's code (not found among them) goes back as it
    // is, so that libgit2 goes on to its other backends.
    unsafe {
        let mut object = ptr::null_mut();
        let rc = raw::git_odb_read(&mut object, disk_of(backend), id);
        if rc < 0 {
            return rc;
        }
        let size = raw::git_odb_object_size(object);
        let buffer = raw::git_odb_backend_data_alloc(backend, size.max(1));
        if buffer.is_null() {
            raw::git_odb_object_free(object);
            return -1;
        }
        ptr::copy_nonoverlapping(
            raw::git_odb_object_data(object).cast::<u8>(),
            buffer.cast::<u8>(),
            size,
        );
        *data = buffer;
        *len = size;
        *kind = raw::git_odb_object_type(object);
        raw::git_odb_object_free(object);
        0
    }
}

/// libgit2's `read_header`: the object's size and kind.
#[allow(unsafe_code)]
extern "C" fn read_header(
    len: *mut size_t,
    kind: *mut raw::git_object_t,
    backend: *mut raw::git_odb_backend,
    id: *const raw::git_oid,
) -> c_int {
    // SAFETY: as in `read`; libgit2's call fills the two out-pointers.
    unsafe { raw::git_odb_read_header(len, kind, disk_of(backend), id) }
}

/// libgit2's `exists`: 1 when the repository's store has the object.
#[allow(unsafe_code)]
extern "C" fn exists(backend: *mut raw::git_odb_backend, id: *const raw::git_oid) -> c_int {
    // SAFETY: as in `read`.
    unsafe { raw::git_odb_exists(disk_of(backend), id) }
}

/// libgit2's `freshen`, asked before each write: what libgit2's own first
/// look does (`odb_freshen_1` in its odb.c), each backend of the
/// repository's store asked in turn to touch the object, without the
/// listing of the pack folders that follows a miss there. 0 when one has
/// it, so that it is not written again.
#[allow(unsafe_code)]
extern "C" fn freshen(backend: *mut raw::git_odb_backend, id: *const raw::git_oid) -> c_int {
    // SAFETY: as in `read`. `git_odb_get_backend` hands out the store's
    // own backends, valid while the store is (the backend holds a
    // reference to it); their callbacks are libgit2's, called as libgit2
    // calls them. libgit2 takes the store's lock around them to keep its
    // list of backends still while a refresh may change it; the store is
    // the repository handle's, which is used on one thread at a time
    // (`git2::Repository` is not `Sync`), the thread running this write.
    unsafe {
        let disk = disk_of(backend);
        for position in 0..raw::git_odb_num_backends(disk) {
            let mut other = ptr::null_mut();
            if raw::git_odb_get_backend(&mut other, disk, position) < 0 || other.is_null() {
                continue;
            }
            let found = match ((*other).freshen, (*other).exists) {
                (Some(freshen), _) => freshen(other, id) == 0,
                (None, Some(exists)) => exists(other, id) != 0,
                (None, None) => false,
            };
            if found {
                return 0;
            }
        }
        raw::GIT_ENOTFOUND
    }
}

/// libgit2's `free`, when the store that owns the backend is freed.
#[allow(unsafe_code)]
extern "C" fn free(backend: *mut raw::git_odb_backend) {
    // SAFETY: `backend` came from `Box::into_raw` in `add`
    // and libgit2 frees it once; the store reference is the backend's own.
    unsafe {
        let backend = Box::from_raw(backend.cast::<Backend>());
        raw::git_odb_free(backend.disk);
    }
}
