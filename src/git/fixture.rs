//! Repositories for the unit tests of `git/`, built as git would build
//! them.
#![allow(clippy::disallowed_methods)] // the fixtures play git: they write the index

use git2::{IndexAddOption, Repository};

/// `git add -A && git commit`: every file of the work tree in the index
/// (written) and in a commit on HEAD. Returns the index, for more changes.
pub fn commit_everything(git: &Repository, message: &str) -> git2::Index {
    let mut index = git.index().expect("index");
    index
        .add_all(["*"], IndexAddOption::DEFAULT, None)
        .expect("add");
    index.write().expect("write the index");
    let tree = git
        .find_tree(index.write_tree().expect("tree"))
        .expect("tree");
    let sig = git2::Signature::now("T", "t@example.com").expect("signature");
    git.commit(Some("HEAD"), &sig, &sig, message, &tree, &[])
        .expect("commit");
    index
}
