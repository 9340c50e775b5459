//! The tool's own pack writer (src/git/packfile.rs), checked against git:
//! `git index-pack` reads the pack and writes an index byte for byte the
//! same as the tool's, names it the same, and `git verify-pack` and
//! `git cat-file` give back every object as it was.

use git_rollback_sprint::git::packfile::{self, Object};
use git_rollback_sprint::git::Oid;

use crate::common::TestRepo;

/// Blobs of sizes around the header's byte boundaries (4 bits, then 7
/// more a byte), one that does not compress, a tree and a commit.
fn objects() -> Vec<Object> {
    let mut out = Vec::new();
    let mut seed = 7u64;
    for size in [0usize, 1, 15, 16, 127, 128, 2047, 2048, 100_000, 300_000] {
        let data: Vec<u8> = (0..size)
            .map(|i| {
                if size == 300_000 {
                    // A simple generator: bytes zlib cannot shrink.
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                } else {
                    b"abcdefgh\n"[i % 9]
                }
            })
            .collect();
        let id = Oid::hash_object(git2::ObjectType::Blob, &data).unwrap();
        out.push(Object {
            id,
            kind: git2::ObjectType::Blob,
            data,
        });
    }
    let mut tree = Vec::new();
    tree.extend_from_slice(b"100644 a.txt\0");
    tree.extend_from_slice(out[3].id.as_bytes());
    let tree_id = Oid::hash_object(git2::ObjectType::Tree, &tree).unwrap();
    let commit = format!(
        "tree {tree_id}\nauthor A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\nsnapshot\n"
    )
    .into_bytes();
    let commit_id = Oid::hash_object(git2::ObjectType::Commit, &commit).unwrap();
    out.push(Object {
        id: tree_id,
        kind: git2::ObjectType::Tree,
        data: tree,
    });
    out.push(Object {
        id: commit_id,
        kind: git2::ObjectType::Commit,
        data: commit,
    });
    out
}

/// Pack `objects`, handing them to the writer `per_chunk` at a time.
fn pack(dir: &std::path::Path, objects: Vec<Object>, per_chunk: usize) -> anyhow::Result<String> {
    let count = objects.len();
    let mut rest = objects.into_iter();
    let chunks = std::iter::from_fn(move || {
        let chunk: Vec<Object> = rest.by_ref().take(per_chunk).collect();
        (!chunk.is_empty()).then_some(Ok(chunk))
    });
    packfile::write(dir, count, chunks)
}

#[test]
fn git_indexes_the_pack_exactly_as_the_tool_does_and_reads_every_object() {
    let repo = TestRepo::new();
    let dir = repo.git_dir().join("objects").join("pack");
    std::fs::create_dir_all(&dir).unwrap();
    let objects = objects();
    let count = objects.len();
    // Several chunks, the last one short.
    assert!(count > 5 && count % 5 != 0, "{count}");
    let name = pack(&dir, objects, 5).unwrap();
    let objects = self::objects();
    let pack = dir.join(format!("pack-{name}.pack"));
    let idx = dir.join(format!("pack-{name}.idx"));
    let ours = std::fs::read(&idx).unwrap();

    // git's own index of the same pack, written elsewhere.
    let theirs_path = repo.path().join("theirs.idx");
    let printed = repo.git(&[
        "index-pack",
        "-o",
        theirs_path.to_str().unwrap(),
        pack.to_str().unwrap(),
    ]);
    assert_eq!(
        printed.trim(),
        name,
        "git names the pack by the same checksum"
    );
    assert!(
        std::fs::read(&theirs_path).unwrap() == ours,
        "git's index of the pack differs from the tool's"
    );

    repo.git(&["verify-pack", idx.to_str().unwrap()]);
    for object in &objects {
        let id = object.id.to_string();
        let kind = repo.git(&["cat-file", "-t", &id]);
        assert_eq!(kind.trim(), object.kind.str(), "{id}");
        let data = repo.git_bytes(&["cat-file", &kind, &id]);
        assert!(data == object.data, "{id}: other content");
    }
    // Read-only, as git leaves pack files.
    use std::os::unix::fs::PermissionsExt;
    for file in [&pack, &idx] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o444, "{}", file.display());
    }
    // No temporary file is left beside them.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn packing_the_same_objects_again_keeps_the_pack_there() {
    let repo = TestRepo::new();
    let dir = repo.git_dir().join("objects").join("pack");
    std::fs::create_dir_all(&dir).unwrap();
    let first = pack(&dir, objects(), usize::MAX).unwrap();
    let second = pack(&dir, objects(), 2).unwrap();
    assert_eq!(first, second);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    repo.git(&["fsck", "--no-dangling"]);
}

#[test]
fn fewer_objects_than_announced_is_an_error_and_leaves_no_pack() {
    let repo = TestRepo::new();
    let dir = repo.git_dir().join("objects").join("pack");
    std::fs::create_dir_all(&dir).unwrap();
    let objects = objects();
    let count = objects.len();
    let mut chunks = vec![Ok(objects)].into_iter();
    let err = packfile::write(&dir, count + 1, &mut chunks).unwrap_err();
    assert!(format!("{err:#}").contains("announced"), "{err:#}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}
