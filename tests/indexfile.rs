//! The tool's own reader and writer of the index file (docs/design.md, "The
//! index file"), tested differentially against git: every index git
//! writes — versions 2, 3 and 4, conflict stages, and the extensions the
//! tool meets (cache-tree, resolve-undo, untracked cache, end of entries,
//! offset table) — is read and written back byte for byte; the index built
//! from a tree is the one `git reset --hard` writes; an edited index gives
//! git the same entries and the same `git write-tree` as git's own edit;
//! and the tree of an index is the one `git write-tree` writes.

use std::collections::HashSet;

use git_rollback_sprint::git::indexfile::{Entry, IndexFile};
use git_rollback_sprint::git::{Oid, Repo};

use crate::common::TestRepo;

/// A tree with the orders git is particular about (`a-b`, `a.txt`, `a/`,
/// `a0`), nesting, an executable, a symlink and a submodule's gitlink.
fn populated() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("a-b", "1\n");
    repo.write("a.txt", "2\n");
    repo.write("a/x", "3\n");
    repo.write("a/deep/er/y", "4\n");
    repo.write("a0", "5\n");
    repo.write_exec("bin/run", "#!/bin/sh\n");
    repo.symlink("link", "a.txt");
    for n in 0..30 {
        repo.write(format!("many/d{}/f{n}", n % 7), format!("{n}\n"));
    }
    repo.git(&["add", "-A"]);
    let blob = repo.git(&["hash-object", "-w", "--stdin"]);
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{blob},sub"),
    ]);
    repo.commit_staged("populated");
    // An unpopulated submodule: its folder is there, empty.
    repo.mkdir("sub");
    repo
}

fn index_bytes(repo: &TestRepo) -> Vec<u8> {
    std::fs::read(repo.git_dir().join("index")).expect("read the index")
}

/// Mode, object, stage and path of each entry, as `git ls-files -s` prints.
fn stages(file: &IndexFile) -> String {
    file.entries
        .iter()
        .map(|e| {
            format!(
                "{:06o} {} {}\t{}\n",
                e.mode(),
                e.oid(),
                e.stage(),
                String::from_utf8_lossy(&e.path)
            )
        })
        .collect()
}

#[track_caller]
fn assert_round_trip(repo: &TestRepo, what: &str) -> IndexFile {
    let bytes = index_bytes(repo);
    let file = IndexFile::parse(&bytes).unwrap_or_else(|e| panic!("{what}: {e:#}"));
    assert_eq!(
        stages(&file),
        format!("{}\n", repo.git(&["ls-files", "-s"])),
        "{what}: the entries read are not git's"
    );
    let ours = file.to_bytes();
    let first = ours.iter().zip(&bytes).position(|(a, b)| a != b);
    assert!(
        ours == bytes,
        "{what}: the index written back differs from git's at byte {first:?} (lengths {} and {}; extensions {:?})",
        ours.len(),
        bytes.len(),
        signatures(&file)
    );
    file
}

fn signatures(file: &IndexFile) -> Vec<String> {
    file.extensions
        .iter()
        .map(|(sig, _)| String::from_utf8_lossy(sig).into_owned())
        .collect()
}

#[test]
fn every_index_version_git_writes_is_read_and_written_back_byte_for_byte() {
    let repo = populated();
    repo.write("a/x", "staged\n");
    repo.git(&["add", "a/x"]);
    let v2 = assert_round_trip(&repo, "version 2");
    assert_eq!(v2.version, 2);
    assert!(signatures(&v2).contains(&"TREE".to_string()));

    // Extended flags make version 3: intent-to-add and skip-worktree.
    repo.write("new-file", "intent\n");
    repo.git(&["add", "-N", "new-file"]);
    repo.git(&["update-index", "--skip-worktree", "a0"]);
    let v3 = assert_round_trip(&repo, "version 3");
    assert_eq!(v3.version, 3);
    assert!(v3.entries.iter().any(|e| e.flags_extended != 0));

    // Version 4 compresses each path against the one before.
    repo.git(&["update-index", "--index-version", "4"]);
    let v4 = assert_round_trip(&repo, "version 4");
    assert_eq!(v4.version, 4);
    assert_eq!(stages(&v4), stages(&v3));
}

#[test]
fn conflict_stages_and_every_extension_git_writes_survive_a_round_trip() {
    let repo = populated();
    let base = repo.head();
    repo.write("a/x", "ours\n");
    repo.commit_all("ours");
    repo.git(&["checkout", "-q", "-b", "theirs", &base]);
    repo.write("a/x", "theirs\n");
    repo.write("a/deep/er/y", "theirs too\n");
    repo.commit_all("theirs");
    let merged = repo.git_output(&["merge", "-q", "main"]);
    assert!(!merged.status.success(), "the merge should conflict");
    let conflicted = assert_round_trip(&repo, "conflict stages");
    let stages_of_x: Vec<u16> = conflicted
        .entries
        .iter()
        .filter(|e| e.path == b"a/x")
        .map(Entry::stage)
        .collect();
    assert_eq!(stages_of_x, [1, 2, 3]);

    // Resolving records resolve-undo (REUC).
    repo.write("a/x", "resolved\n");
    repo.git(&["add", "a/x"]);
    let resolved = assert_round_trip(&repo, "resolve-undo");
    assert!(signatures(&resolved).contains(&"REUC".to_string()));

    // The untracked cache (UNTR), the end of entries (EOIE) and the offset
    // table (IEOT), in every version.
    repo.write("untracked/u", "u\n");
    for (key, value) in [
        ("core.untrackedCache", "true"),
        ("index.recordEndOfIndexEntries", "true"),
        ("index.recordOffsetTable", "true"),
        ("index.threads", "2"),
    ] {
        repo.git(&["config", key, value]);
    }
    for version in ["2", "4"] {
        repo.git(&["update-index", "--index-version", version]);
        repo.git(&["status", "--porcelain"]);
        repo.git(&["update-index", "--untracked-cache", "--really-refresh"]);
        repo.git(&["status", "--porcelain"]);
        let file = assert_round_trip(&repo, &format!("extensions, version {version}"));
        let sigs = signatures(&file);
        for sig in ["TREE", "REUC", "UNTR", "EOIE"] {
            assert!(sigs.contains(&sig.to_string()), "no {sig} in {sigs:?}");
        }
    }
}

#[test]
fn a_split_index_is_refused_so_that_libgit2_decides() {
    let repo = populated();
    repo.git(&["update-index", "--split-index"]);
    assert!(
        IndexFile::parse(&index_bytes(&repo)).is_err(),
        "a split index"
    );
    // And a cut-off index is an error, never a panic.
    let bytes = index_bytes(&repo);
    for len in [0, 11, 12, 40, bytes.len() / 2, bytes.len() - 1] {
        assert!(IndexFile::parse(&bytes[..len]).is_err() || len == bytes.len());
    }
}

#[test]
fn the_index_of_a_tree_is_the_one_git_reset_hard_writes() {
    for version in ["2", "4"] {
        let repo = populated();
        repo.git(&["update-index", "--index-version", version]);
        repo.write("a/x", "dirty\n");
        repo.git(&["add", "a/x"]);
        repo.git(&["reset", "-q", "--hard", "HEAD"]);
        let git_bytes = index_bytes(&repo);
        let old = IndexFile::parse(&git_bytes).expect("git's index");
        let lib = Repo::open_ignoring_env(repo.path()).expect("open");
        let tree = Oid::from_str(&repo.rev("HEAD^{tree}")).expect("tree id");
        let ours = IndexFile::from_tree(&lib, tree, &old, &HashSet::new()).expect("from tree");
        // Entries, stat data (kept from the old index) and cache-tree: the
        // same bytes as git's.
        assert!(
            ours.to_bytes() == git_bytes,
            "version {version}: ours\n{:?}\ngit's\n{:?}",
            signatures(&ours),
            signatures(&old)
        );
    }
}

#[test]
fn the_stat_data_of_written_files_comes_from_the_work_tree() {
    let repo = populated();
    let lib = Repo::open_ignoring_env(repo.path()).expect("open");
    let tree = Oid::from_str(&repo.rev("HEAD^{tree}")).expect("tree id");
    // An old index with no stat data at all: only the written file gets it.
    let empty = IndexFile::empty();
    let written: HashSet<Vec<u8>> = [b"a.txt".to_vec()].into_iter().collect();
    let ours = IndexFile::from_tree(&lib, tree, &empty, &written).expect("from tree");
    std::fs::write(repo.git_dir().join("index"), ours.to_bytes()).expect("write");
    let debug = repo.git(&["ls-files", "--debug", "a.txt", "a-b"]);
    let sizes: Vec<&str> = debug
        .lines()
        .filter(|l| l.trim_start().starts_with("size:"))
        .collect();
    assert_eq!(sizes.len(), 2, "{debug}");
    // In index order: `a-b`, then `a.txt`.
    assert!(sizes[0].contains("size: 0\t"), "a-b: {debug}");
    assert!(sizes[1].contains("size: 2\t"), "a.txt: {debug}");
    // git reads it whole (its checksum too) and sees a clean tree.
    repo.git(&["fsck", "--no-dangling"]);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn an_edited_index_gives_git_the_entries_and_the_tree_of_gits_own_edit() {
    let repo = populated();
    repo.git(&["update-index", "--index-version", "4"]);
    repo.git(&["write-tree"]);
    let before = index_bytes(&repo);
    let blob = repo.git_with_stdin(&["hash-object", "-w", "--stdin"], b"edited\n");
    let blob_id = Oid::from_str(&blob).expect("blob id");

    // git's edit: a file changed deep down, one removed, a file where the
    // folder `many/d3` was, and a file inside where the file `a0` was.
    repo.git(&[
        "update-index",
        "--cacheinfo",
        &format!("100644,{blob},a/deep/er/y"),
    ]);
    repo.git(&["update-index", "--force-remove", "a-b"]);
    repo.git(&["rm", "-q", "-r", "--cached", "many/d3", "a0"]);
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100755,{blob},many/d3"),
    ]);
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{blob},a0/inside"),
    ]);
    let git_entries = repo.git(&["ls-files", "-s"]);
    let git_tree = repo.git(&["write-tree"]);

    // Ours, from the index before: the folder and the file in the way go
    // with the paths set, as libgit2's add and `git checkout -- path` do.
    let mut file = IndexFile::parse(&before).expect("parse");
    file.replace_paths(vec![
        (
            b"a/deep/er/y".to_vec(),
            vec![Entry::new(b"a/deep/er/y".to_vec(), blob_id, 0o100644)],
        ),
        (b"a-b".to_vec(), Vec::new()),
        (
            b"many/d3".to_vec(),
            vec![Entry::new(b"many/d3".to_vec(), blob_id, 0o100755)],
        ),
        (
            b"a0/inside".to_vec(),
            vec![Entry::new(b"a0/inside".to_vec(), blob_id, 0o100644)],
        ),
    ]);
    std::fs::write(repo.git_dir().join("index"), file.to_bytes()).expect("write");
    assert_eq!(repo.git(&["ls-files", "-s"]), git_entries);
    // A cache-tree left valid along a changed path would give the old tree.
    assert_eq!(repo.git(&["write-tree"]), git_tree);
    assert_eq!(file.version, 4);
    repo.git(&["fsck", "--no-dangling"]);
}

#[test]
fn the_tree_of_an_index_is_the_one_git_write_tree_writes() {
    let repo = populated();
    // A cache-tree valid in some folders and not others.
    repo.git(&["write-tree"]);
    repo.write("a/deep/er/y", "changed\n");
    repo.write("many/d2/new", "new\n");
    repo.git(&["add", "a/deep/er/y", "many/d2/new"]);
    repo.git(&["rm", "-q", "--cached", "bin/run"]);
    let file = IndexFile::parse(&index_bytes(&repo)).expect("parse");
    let git = git2::Repository::open(repo.path()).expect("open");
    let ours = file
        .write_tree(&git.odb().expect("odb"))
        .expect("write tree");
    assert_eq!(ours.to_string(), repo.git(&["write-tree"]));
    // Without any cache-tree too, and with no entries at all.
    let mut bare = file.clone();
    bare.extensions.clear();
    let ours = bare
        .write_tree(&git.odb().expect("odb"))
        .expect("write tree");
    assert_eq!(ours.to_string(), repo.git(&["write-tree"]));
    let empty = IndexFile::empty()
        .write_tree(&git.odb().expect("odb"))
        .expect("empty");
    assert_eq!(
        empty.to_string(),
        "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    );
}
