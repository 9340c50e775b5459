//! HEAD and refs: reading them, and moving them with compare-and-swap so a
//! concurrent change is never clobbered silently.

use std::fs;
use std::path::PathBuf;

use anyhow::Context as _;
use git2::{ErrorCode, Oid};
use serde::{Deserialize, Serialize};

use super::{short, Repo};
use crate::error::user;

/// What HEAD is: a branch (possibly unborn) or a detached commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadState {
    Symbolic(String),
    Detached(String),
}

impl HeadState {
    pub fn describe(&self) -> String {
        match self {
            HeadState::Symbolic(r) => r.trim_start_matches("refs/heads/").to_string(),
            HeadState::Detached(id) => format!("detached at {}", id.get(..8).unwrap_or(id)),
        }
    }

    /// Whether git could have written this: a ref name under `refs/`, or a
    /// full object id. A journal is checked with it before undo trusts it.
    pub fn is_well_formed(&self) -> bool {
        match self {
            HeadState::Symbolic(name) => is_ref_name(name),
            HeadState::Detached(id) => is_object_id(id),
        }
    }
}

/// A full ref name git accepts, under `refs/`.
pub fn is_ref_name(name: &str) -> bool {
    name.starts_with("refs/") && git2::Reference::is_valid_name(name)
}

/// A full object id in hex (SHA-1 or SHA-256).
pub fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Repo {
    pub fn head_state(&self) -> anyhow::Result<HeadState> {
        let head = self
            .inner
            .find_reference("HEAD")
            .context("could not read HEAD")?;
        if let Some(target) = head.symbolic_target().ok().flatten() {
            return Ok(HeadState::Symbolic(target.to_string()));
        }
        match head.target() {
            Some(id) => Ok(HeadState::Detached(id.to_string())),
            None => Err(anyhow::anyhow!("HEAD is neither symbolic nor a commit")),
        }
    }

    /// The branches that the repository's other work trees have checked
    /// out, each with that work tree's path. git refuses to
    /// delete, move or check out such a branch (`git branch -D`, `git
    /// switch`); so does this tool.
    pub fn branches_checked_out_elsewhere(&self) -> anyhow::Result<Vec<(String, PathBuf)>> {
        let mut heads = Vec::new();
        if self.common_dir().join("HEAD") != self.git_dir().join("HEAD") {
            heads.push(self.common_dir().to_path_buf());
        }
        let linked = self.common_dir().join("worktrees");
        match fs::read_dir(&linked) {
            Ok(entries) => {
                for entry in entries {
                    let entry =
                        entry.with_context(|| format!("could not list {}", linked.display()))?;
                    heads.push(entry.path());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("could not list {}", linked.display()))
            }
        }
        let mut out = Vec::new();
        for dir in heads {
            if dir == self.git_dir() {
                continue;
            }
            // A missing or unreadable HEAD is a work tree git cannot use
            // either; it holds no branch.
            let Ok(head) = fs::read(dir.join("HEAD")) else {
                continue;
            };
            let Some(branch) = head
                .strip_prefix(b"ref: ")
                .and_then(|r| std::str::from_utf8(r).ok())
            else {
                continue;
            };
            // The work tree's own path, for the message: the main one is
            // beside its git directory, a linked one names its `.git` file.
            let worktree = if dir == self.common_dir() {
                dir.parent().map(PathBuf::from)
            } else {
                fs::read_to_string(dir.join("gitdir"))
                    .ok()
                    .and_then(|g| PathBuf::from(g.trim_end()).parent().map(PathBuf::from))
            };
            out.push((branch.trim_end().to_string(), worktree.unwrap_or(dir)));
        }
        Ok(out)
    }

    /// The object a ref points at (peeling symbolic refs); `None` if absent.
    pub fn ref_target(&self, name: &str) -> anyhow::Result<Option<Oid>> {
        match self.inner.find_reference(name) {
            Ok(r) => match r.target() {
                Some(id) => Ok(Some(id)),
                None => Ok(r.resolve().ok().and_then(|r| r.target())),
            },
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) if e.code() == ErrorCode::InvalidSpec => Ok(None),
            Err(e) => Err(e).with_context(|| format!("could not read {name}")),
        }
    }

    /// Whether a ref of this name can be created: none exists with the name,
    /// as a parent of it (`refs/heads/backup` blocks `refs/heads/backup/x`),
    /// or below it.
    pub fn ref_name_available(&self, name: &str) -> anyhow::Result<bool> {
        if self.inner.find_reference(name).is_ok() || self.blocking_parent(name).is_some() {
            return Ok(false);
        }
        Ok(self.refs_with_prefix(&format!("{name}/"))?.is_empty())
    }

    /// An existing ref that is a parent path of `name`, which makes `name`
    /// impossible to create (`refs/heads/backup` for `refs/heads/backup/x`).
    pub fn blocking_parent(&self, name: &str) -> Option<String> {
        let mut parent = name;
        while let Some((dir, _)) = parent.rsplit_once('/') {
            if dir.matches('/').count() < 2 {
                return None;
            }
            if self.inner.find_reference(dir).is_ok() {
                return Some(dir.to_string());
            }
            parent = dir;
        }
        None
    }

    /// Every direct ref whose full name starts with `prefix`, sorted by name.
    pub fn refs_with_prefix(&self, prefix: &str) -> anyhow::Result<Vec<(String, Oid)>> {
        let mut out = Vec::new();
        let glob = format!("{prefix}*");
        for r in self
            .inner
            .references_glob(&glob)
            .context("could not list refs")?
        {
            let r = r.context("could not read a ref")?;
            if let (Some(name), Some(target)) = (r.name().ok(), r.target()) {
                if name.starts_with(prefix) {
                    out.push((name.to_string(), target));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// A name under `refs/…` that does not exist yet: `base`, `base-2`, …
    pub fn unused_ref_name(&self, prefix: &str, base: &str) -> anyhow::Result<String> {
        if let Some(blocker) = self.blocking_parent(&format!("{prefix}{base}")) {
            return Err(user(format!(
                "the ref {blocker} exists, so {prefix}{base} cannot be created"
            ))
            .hint(format!("rename or delete {blocker}"))
            .into());
        }
        let mut n = 1;
        loop {
            let candidate = if n == 1 {
                base.to_string()
            } else {
                format!("{base}-{n}")
            };
            if self.ref_name_available(&format!("{prefix}{candidate}"))? {
                return Ok(candidate);
            }
            n += 1;
        }
    }
}

pub(crate) fn describe_id(id: Option<Oid>) -> String {
    match id {
        Some(id) => short(&id.to_string()).to_string(),
        None => "nothing".to_string(),
    }
}
