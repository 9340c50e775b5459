//! Where git looks for hooks, and whether a hook file there is part of the
//! work tree.
//!
//! git reads `core.hooksPath` when it is set (`~/` expanded; a relative path
//! is relative to the root of the work tree, because git runs hooks from
//! there) and `<common git dir>/hooks` otherwise, so every linked worktree
//! shares the main repository's hooks. The hook command must write where git
//! will look, or the hook silently never runs.

use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use git2::ErrorCode;

use super::Repo;
use crate::error::user;

/// The git config key that moves the hooks directory.
pub const HOOKS_PATH: &str = "core.hooksPath";

/// The directory git runs hooks from.
#[derive(Debug, Clone)]
pub struct HooksDir {
    /// Absolute and normalised (no `.` or `..`).
    pub path: PathBuf,
    /// The value of `core.hooksPath`, when that is where it comes from.
    pub configured: Option<String>,
}

/// `~` and `~/…` from HOME, as git expands a path setting; `None` for
/// `~user/…`.
fn expand_home(raw: &str) -> Option<PathBuf> {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    match raw.strip_prefix('~') {
        None => Some(PathBuf::from(raw)),
        Some("") => home(),
        Some(rest) => match rest.strip_prefix('/') {
            Some(rest) => Some(home()?.join(rest)),
            None => None,
        },
    }
}

/// The hooks directory git uses for this repository.
pub fn hooks_dir(repo: &Repo) -> anyhow::Result<HooksDir> {
    let config = repo.inner.config().context("could not read git config")?;
    let raw = match repo.command_line_config(HOOKS_PATH) {
        // `git -c core.hooksPath=…` outranks the files, as in git.
        Some(value) => Some(value.unwrap_or_default().to_string()),
        None => match config.get_entry(HOOKS_PATH) {
            Ok(entry) if !entry.has_value() => Some(String::new()),
            Ok(entry) => Some(String::from_utf8_lossy(entry.value_bytes()).into_owned()),
            Err(e) if e.code() == ErrorCode::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("could not read git config {HOOKS_PATH}"))
            }
        },
    };
    let Some(raw) = raw else {
        return Ok(HooksDir {
            path: normalize(&repo.common_dir().join("hooks")),
            configured: None,
        });
    };
    if raw.is_empty() {
        return Err(user(format!("git config {HOOKS_PATH} is empty"))
            .hint(format!(
                "set it to a directory, or remove it with `git config --unset {HOOKS_PATH}`"
            ))
            .into());
    }
    if raw.starts_with("%(prefix)/") {
        return Err(user(format!(
            "git config {HOOKS_PATH} is {raw:?}: a %(prefix)/ path is not supported"
        ))
        .hint("set it to an absolute path")
        .into());
    }
    let bad_path = |message: &str| {
        user(format!("git config {HOOKS_PATH}: {message}"))
            .hint("use an absolute path, a path starting with ~/, or one relative to the work tree")
    };
    let expanded = if repo.command_line_config(HOOKS_PATH).is_some() {
        expand_home(&raw).ok_or_else(|| bad_path("only ~/ is expanded, not ~user/"))?
    } else {
        // `get_path` expands `~/` as git does (and refuses `~user/`).
        config
            .get_path(HOOKS_PATH)
            .map_err(|e| bad_path(e.message()))?
    };
    let path = if expanded.is_absolute() {
        expanded
    } else {
        repo.workdir().join(expanded)
    };
    Ok(HooksDir {
        path: normalize(&path),
        configured: Some(raw),
    })
}

/// Whether a change to the file `name` in the directory `dir` shows up in
/// `git status`: it is in the work tree (not in a git directory) and
/// tracked or not ignored. A hooks directory kept in the repository
/// (`core.hooksPath = .githooks`) is shared with everyone who clones it.
pub fn shows_in_status(repo: &Repo, dir: &Path, name: &str) -> anyhow::Result<bool> {
    // The directory is resolved, the file is not: it may be a symbolic link.
    let path = normalize(dir).join(name);
    let workdir = normalize(repo.workdir());
    let Ok(rel) = path.strip_prefix(&workdir) else {
        return Ok(false);
    };
    for git_dir in [repo.git_dir(), repo.common_dir()] {
        if path.starts_with(normalize(git_dir)) {
            return Ok(false);
        }
    }
    let index = repo.inner.index().context("could not read the index")?;
    if index.get_path(rel, 0).is_some() {
        return Ok(true);
    }
    let ignored = repo
        .inner
        .is_path_ignored(rel)
        .with_context(|| format!("could not check whether {} is ignored", rel.display()))?;
    Ok(!ignored)
}

/// `path` made absolute without `.` and `..`, with symbolic links resolved
/// in the part of it that exists (the rest may not exist yet).
pub fn normalize(path: &Path) -> PathBuf {
    let mut lexical = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    let mut missing = Vec::new();
    let mut existing = lexical.as_path();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for name in missing.iter().rev() {
                out.push(name);
            }
            return out;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name.to_os_string());
                existing = parent;
            }
            _ => return lexical,
        }
    }
}
