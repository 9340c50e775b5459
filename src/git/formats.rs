//! Repository states libgit2 cannot handle exactly, detected before the first
//! change (docs/invariants.md, I10; docs/libgit2-pitfalls.md P15), and the
//! index git would use when `GIT_INDEX_FILE` names another one.
//!
//! SHA-256 and reftable repositories are refused when the repository is
//! found ([`super::discover`]); what is here depends on the command: a
//! read-only command can still work where a change could not be exact.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use git2::Oid;

use super::Repo;
use crate::error::user;

impl Repo {
    /// The index `GIT_INDEX_FILE` names, when it is not this repository's
    /// own `<git-dir>/index` (git sets it for hooks: `git commit <paths>`
    /// stages into a temporary index).
    pub fn foreign_index(&self) -> anyhow::Result<Option<PathBuf>> {
        let path = super::discover::index_file(self.git_dir())?;
        let own = self.git_dir().join("index");
        Ok((!same_file_path(&path, &own)).then_some(path))
    }

    /// Refuse a command that changes the repository while `GIT_INDEX_FILE`
    /// points elsewhere: it would change an index git is not using.
    pub fn refuse_foreign_index(&self) -> anyhow::Result<()> {
        if let Some(path) = self.foreign_index()? {
            return Err(user(format!(
                "GIT_INDEX_FILE names {}, not this repository's index",
                path.display()
            ))
            .hint("this command changes the repository's own index: unset GIT_INDEX_FILE (inside a git hook, run it after the commit)")
            .into());
        }
        Ok(())
    }

    /// Refuse a split index (`git update-index --split-index`): libgit2
    /// reads only the part in `.git/index` and would lose the rest.
    pub fn refuse_split_index(&self) -> anyhow::Result<()> {
        let index = super::discover::index_file(self.git_dir())?;
        if is_split_index(&index, self.git_dir()) {
            return Err(user("the index is split (core.splitIndex), which libgit2 cannot read exactly")
                .hint("join it with `git update-index --no-split-index` (and `git config core.splitIndex false`), then run the command again")
                .into());
        }
        Ok(())
    }
}

/// Whether `index` has a `link` extension naming a `sharedindex.<id>` file
/// of `git_dir`. Cheap when the index is not split: one directory listing,
/// and the index is read only when a shared index file exists.
fn is_split_index(index: &Path, git_dir: &Path) -> bool {
    let Ok(dir) = fs::read_dir(git_dir) else {
        return false;
    };
    let shared: Vec<Vec<u8>> = dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let hex = name.to_str()?.strip_prefix("sharedindex.")?.to_string();
            git2::Oid::from_str(&hex)
                .ok()
                .map(|id| id.as_bytes().to_vec())
        })
        .collect();
    if shared.is_empty() {
        return false;
    }
    let Ok(bytes) = fs::read(index) else {
        return false;
    };
    shared.iter().any(|id| {
        bytes
            .windows(8 + id.len())
            .any(|w| &w[..4] == b"link" && &w[8..] == id.as_slice())
    })
}

/// Whether two paths name the same file, the directory part resolved.
fn same_file_path(a: &Path, b: &Path) -> bool {
    let resolve = |p: &Path| -> Option<PathBuf> {
        let parent = fs::canonicalize(p.parent()?).ok()?;
        Some(parent.join(p.file_name()?))
    };
    match (resolve(a), resolve(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

impl Repo {
    /// Refuse to write `commit`'s tree (`what`: "the baseline `baseline`")
    /// when git would write something else — a replace ref (`git replace`)
    /// on the commit's tree or on an object in it, which git reads and
    /// libgit2 does not — or when this is a partial clone that lacks some
    /// of its files (libgit2 cannot fetch them, and would fail part-way).
    /// Cheap when the repository has neither.
    pub fn refuse_inexact_commit(&self, commit: Oid, what: &str) -> anyhow::Result<()> {
        let replaced = self.replaced_objects()?;
        let partial = self.is_partial_clone()?;
        if replaced.is_empty() && !partial {
            return Ok(());
        }
        if let Some(by) = replaced.get(&commit) {
            let tree = self.commit_tree(commit)?;
            let same_tree = self
                .inner
                .find_commit(*by)
                .is_ok_and(|c| c.tree_id() == tree);
            if !same_tree {
                return Err(replaced_error(what, &format!("commit {commit}")));
            }
        }
        let tree = self.commit_tree(commit)?;
        let odb = self
            .inner
            .odb()
            .context("could not open the object database")?;
        let mut replaced_path = replaced.contains_key(&tree).then(String::new);
        let mut missing = 0usize;
        let mut first_missing = None;
        let root = self
            .inner
            .find_tree(tree)
            .context("could not read a tree")?;
        // The project's walk: libgit2's stops at a folder whose name is not
        // UTF-8, and what is under it would go unchecked.
        super::each_tree_entry(&self.inner, &root, &mut |rel, entry| {
            let path = || String::from_utf8_lossy(rel).into_owned();
            if replaced_path.is_none() && replaced.contains_key(&entry.id()) {
                replaced_path = Some(path());
            }
            if partial && entry.kind() == Some(git2::ObjectType::Blob) && !odb.exists(entry.id()) {
                missing += 1;
                first_missing.get_or_insert_with(path);
            }
            Ok(())
        })?;
        if let Some(path) = replaced_path {
            let what_is = if path.is_empty() {
                "its tree".to_string()
            } else {
                path
            };
            return Err(replaced_error(what, &what_is));
        }
        if let Some(path) = first_missing {
            return Err(user(format!(
                "this partial clone lacks {missing} file(s) of {what} (e.g. {path}), which libgit2 cannot fetch"
            ))
            .hint(format!(
                "fetch them with git first (git checkout {commit} -- . in a spare worktree, or git fetch --refetch), then run the command again"
            ))
            .into());
        }
        Ok(())
    }

    /// Objects git reads replaced (`refs/replace/<id>` → replacement), as
    /// git does unless GIT_NO_REPLACE_OBJECTS or core.useReplaceRefs=false.
    fn replaced_objects(&self) -> anyhow::Result<HashMap<Oid, Oid>> {
        let mut out = HashMap::new();
        if std::env::var_os("GIT_NO_REPLACE_OBJECTS").is_some()
            || self.config_bool("core.useReplaceRefs")? == Some(false)
        {
            return Ok(out);
        }
        let base = std::env::var("GIT_REPLACE_REF_BASE")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| "refs/replace/".to_string());
        let base = if base.ends_with('/') {
            base
        } else {
            format!("{base}/")
        };
        for (name, target) in self.refs_with_prefix(&base)? {
            if let Ok(id) = Oid::from_str(&name[base.len()..]) {
                out.insert(id, target);
            }
        }
        Ok(out)
    }

    /// A partial clone: `extensions.partialClone`, or a promisor remote.
    fn is_partial_clone(&self) -> anyhow::Result<bool> {
        if self.config_string("extensions.partialClone")?.is_some() {
            return Ok(true);
        }
        let config = self.inner.config().context("could not read git config")?;
        let mut promisor = false;
        if let Ok(entries) = config.entries(Some(r"remote\..*\.promisor")) {
            entries
                .for_each(|e| {
                    if e.value()
                        .is_ok_and(|v| git2::Config::parse_bool(v).unwrap_or(false))
                    {
                        promisor = true;
                    }
                })
                .context("could not read git config")?;
        }
        Ok(promisor)
    }
}

fn replaced_error(what: &str, object: &str) -> anyhow::Error {
    user(format!(
        "a replace ref (git replace) changes {object} in {what}: git would write the replacement, this tool cannot"
    ))
    .hint("run with GIT_NO_REPLACE_OBJECTS=1 to use the objects as recorded, or remove the replacement with `git replace -d`")
    .into()
}
