//! Finding the repository, its git directory and its work tree exactly as
//! `git` does in the same directory and environment (docs/invariants.md, I10).
//!
//! libgit2's own discovery gets several layouts wrong (docs/libgit2-pitfalls.md
//! P13, P14): a `.git` *file* (`--separate-git-dir`) makes it take the git
//! directory's parent for the work tree — a reset there deletes files
//! outside the repository — and `GIT_DIR`, `GIT_WORK_TREE`,
//! `GIT_CEILING_DIRECTORIES` are ignored. So the search is written here,
//! after git's `setup.c`, and libgit2 only opens the git directory found,
//! with the work tree set explicitly (`set_workdir`), never guessed.
//!
//! What git does, and so this module:
//! * `GIT_DIR` set: that directory (or the `.git` file it names); no search.
//! * otherwise from the current directory upwards: `<dir>/.git` (a directory,
//!   or a file `gitdir: <path>` relative to the file's directory), then
//!   `<dir>` itself as a bare repository; never up into a directory of
//!   `GIT_CEILING_DIRECTORIES`, nor onto another file system unless
//!   `GIT_DISCOVERY_ACROSS_FILESYSTEM`.
//! * the work tree: `GIT_WORK_TREE` (relative to the current directory),
//!   else none when `core.bare`, else `core.worktree` (relative to the git
//!   directory), else the directory holding `.git` — or, with `GIT_DIR`
//!   alone, the current directory. A linked worktree (a `commondir` file)
//!   takes neither `core.bare` nor `core.worktree` from the shared config.
//! * formats libgit2 cannot handle exactly (SHA-256 objects, reftable refs)
//!   and environment it would ignore (`GIT_NAMESPACE`, `GIT_OBJECT_DIRECTORY`,
//!   `GIT_COMMON_DIR`) are refused here, before anything is read.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use git2::{Repository, RepositoryOpenFlags};

use crate::error::{user, UserError};

/// Where git would find the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// This work tree's git directory (absolute, symlinks resolved).
    pub git_dir: PathBuf,
    /// The work tree; `None` for a bare repository.
    pub work_tree: Option<PathBuf>,
}

/// The environment discovery reads: the process's own, or none at all (the
/// demo's sandbox must be found whatever the user's shell exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Env {
    Process,
    Ignored,
}

impl Env {
    fn var(self, name: &str) -> Option<OsString> {
        match self {
            Env::Process => std::env::var_os(name),
            Env::Ignored => None,
        }
    }
}

/// Find the repository for a process started in `cwd`, as git would.
pub fn locate(cwd: &Path, env: Env) -> anyhow::Result<Location> {
    refuse_unhandled_env(env)?;
    let cwd = fs::canonicalize(cwd)
        .map_err(|e| user(format!("cannot read the directory {}: {e}", cwd.display())))?;
    let (git_dir, default_work_tree) = match env.var("GIT_DIR") {
        Some(dir) => {
            let given = cwd.join(&dir);
            let git_dir = explicit_git_dir(&given)?;
            (git_dir, Some(cwd.clone()))
        }
        None => search(&cwd, env)?,
    };
    check_format(&git_dir)?;
    let explicit = env.var("GIT_DIR").is_some();
    let core = core_settings(&git_dir)?;
    let work_tree = if let Some(tree) = env.var("GIT_WORK_TREE") {
        if tree.is_empty() {
            return Err(user("GIT_WORK_TREE is set but empty")
                .hint("point GIT_WORK_TREE at the work tree, or unset it")
                .into());
        }
        Some(existing_dir(&cwd.join(tree), "GIT_WORK_TREE")?)
    } else if core.bare == Some(true) {
        None
    } else if let Some(tree) = core.worktree {
        Some(existing_dir(&git_dir.join(tree), "core.worktree")?)
    } else if explicit
        && env
            .var("GIT_IMPLICIT_WORK_TREE")
            .is_some_and(|v| !env_bool(&v))
    {
        None
    } else {
        default_work_tree
    };
    Ok(Location { git_dir, work_tree })
}

/// Open the git directory found with libgit2 (ownership validation on, as
/// always), with the work tree set to the one found.
pub fn open(location: &Location, env: Env) -> Result<Repository, git2::Error> {
    // libgit2 reads a relative GIT_WORK_TREE from the git directory, git
    // from the current directory: hand it (and any child) the absolute
    // work tree already found. The process is single-threaded here.
    if let (Env::Process, Some(tree)) = (env, &location.work_tree) {
        if std::env::var_os("GIT_WORK_TREE").is_some() {
            std::env::set_var("GIT_WORK_TREE", tree);
        }
    }
    let repo = open_git_dir(&location.git_dir, env)?;
    if let Some(tree) = &location.work_tree {
        repo.set_workdir(tree, false)?;
    }
    Ok(repo)
}

/// Open a git directory as it is, never searching: `FROM_ENV` makes libgit2
/// read `GIT_CONFIG_GLOBAL`, `GIT_CONFIG_SYSTEM`, `GIT_CONFIG_NOSYSTEM` and
/// `GIT_INDEX_FILE` as git does (it reads `GIT_DIR` only without a path).
pub fn open_git_dir(git_dir: &Path, env: Env) -> Result<Repository, git2::Error> {
    let mut flags = RepositoryOpenFlags::NO_SEARCH | RepositoryOpenFlags::NO_DOTGIT;
    if env == Env::Process {
        flags |= RepositoryOpenFlags::FROM_ENV;
    }
    Repository::open_ext(git_dir, flags, std::iter::empty::<&OsStr>())
}

/// `GIT_DIR` names a git directory or a `.git` file.
fn explicit_git_dir(given: &Path) -> anyhow::Result<PathBuf> {
    let target = match read_gitfile(given)? {
        Some(target) => target,
        None => given.to_path_buf(),
    };
    if !is_git_directory(&target) {
        return Err(not_a_repository(format!(
            "GIT_DIR names {}, which is not a git repository",
            given.display()
        ))
        .hint("point GIT_DIR at a git directory, or unset it")
        .into());
    }
    canonical(&target)
}

/// Walk up from `cwd` as git does; returns the git directory and the work
/// tree it implies (`None` for a bare repository).
fn search(cwd: &Path, env: Env) -> anyhow::Result<(PathBuf, Option<PathBuf>)> {
    let ceiling = env
        .var("GIT_CEILING_DIRECTORIES")
        .map(|v| longest_ceiling(cwd, &v))
        .unwrap_or(None);
    let across = env
        .var("GIT_DISCOVERY_ACROSS_FILESYSTEM")
        .is_some_and(|v| env_bool(&v));
    let device = fs::metadata(cwd).map(|m| m.dev()).ok();
    let mut dir = cwd.to_path_buf();
    loop {
        let dot_git = dir.join(".git");
        match read_gitfile(&dot_git)? {
            Some(target) => {
                if !is_git_directory(&target) {
                    return Err(not_a_repository(format!(
                        "{} names {}, which is not a git repository",
                        dot_git.display(),
                        target.display()
                    ))
                    .hint("fix the `gitdir:` line of that .git file, or remove it")
                    .into());
                }
                return Ok((canonical(&target)?, Some(dir)));
            }
            None if is_git_directory(&dot_git) => return Ok((dot_git, Some(dir))),
            None => {}
        }
        if is_git_directory(&dir) {
            return Ok((dir, None));
        }
        let Some(parent) = dir.parent().map(Path::to_path_buf) else {
            break;
        };
        if ceiling
            .as_ref()
            .is_some_and(|c| parent.components().count() <= c.components().count())
        {
            break;
        }
        if !across && device.is_some() && fs::metadata(&parent).map(|m| m.dev()).ok() != device {
            return Err(not_a_repository(format!(
                "not a git repository (or any parent up to the mount point {})",
                parent.display()
            ))
            .hint("git stops at file system boundaries unless GIT_DISCOVERY_ACROSS_FILESYSTEM is set; run inside a work tree, or pass -C <path>")
            .into());
        }
        dir = parent;
    }
    Err(
        not_a_repository(format!("not a git repository: {}", cwd.display()))
            .hint("run this inside a git work tree, or pass -C <path>")
            .into(),
    )
}

fn not_a_repository(message: String) -> UserError {
    user(message)
}

/// The longest directory of `GIT_CEILING_DIRECTORIES` that is a proper
/// ancestor of `cwd`. As git: relative entries are ignored, and entries
/// after an empty one are taken as written (not resolved).
fn longest_ceiling(cwd: &Path, value: &OsStr) -> Option<PathBuf> {
    let mut resolve = true;
    let mut best: Option<PathBuf> = None;
    for entry in value.as_bytes().split(|&b| b == b':') {
        if entry.is_empty() {
            resolve = false;
            continue;
        }
        let path = Path::new(OsStr::from_bytes(entry));
        if !path.is_absolute() {
            continue;
        }
        let path = if resolve {
            match fs::canonicalize(path) {
                Ok(p) => p,
                Err(_) => continue,
            }
        } else {
            normalize(path)
        };
        if cwd.starts_with(&path)
            && cwd != path
            && best
                .as_ref()
                .is_none_or(|b| path.components().count() > b.components().count())
        {
            best = Some(path);
        }
    }
    best
}

/// `.` and `..` removed lexically (for ceiling entries taken as written).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The target of a `.git` file (`gitdir: <path>`, relative to the file's
/// directory); `None` when `path` is not a file.
fn read_gitfile(path: &Path) -> anyhow::Result<Option<PathBuf>> {
    let Ok(meta) = fs::metadata(path) else {
        return Ok(None);
    };
    if !meta.is_file() {
        return Ok(None);
    }
    let invalid = || {
        user(format!("invalid gitfile format: {}", path.display()))
            .hint("a .git file holds one line `gitdir: <path>`; fix or remove it")
    };
    if meta.len() > 1 << 20 {
        return Err(invalid().into());
    }
    let bytes = fs::read(path).map_err(|e| user(format!("cannot read {}: {e}", path.display())))?;
    let Some(rest) = bytes.strip_prefix(b"gitdir: ") else {
        return Err(invalid().into());
    };
    let end = rest
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let target = &rest[..end];
    if target.is_empty() {
        return Err(invalid().into());
    }
    let target = Path::new(OsStr::from_bytes(target));
    let base = path.parent().unwrap_or(Path::new("/"));
    Ok(Some(base.join(target)))
}

/// git's `is_git_directory`: a HEAD, and `objects/` and `refs/` in the
/// common directory.
fn is_git_directory(path: &Path) -> bool {
    if !valid_head(&path.join("HEAD")) {
        return false;
    }
    let common = common_dir_of(path);
    common.join("objects").is_dir() && common.join("refs").is_dir()
}

fn valid_head(head: &Path) -> bool {
    let Ok(meta) = fs::symlink_metadata(head) else {
        return false;
    };
    if meta.file_type().is_symlink() {
        return fs::read_link(head).is_ok_and(|t| t.starts_with("refs/"));
    }
    match fs::read(head) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let text = text.trim_end();
            match text.strip_prefix("ref:") {
                Some(target) => target.trim_start().starts_with("refs/"),
                None => text.len() >= 40 && text.bytes().all(|b| b.is_ascii_hexdigit()),
            }
        }
        Err(_) => false,
    }
}

/// The common directory: `commondir` (relative to the git directory) in a
/// linked worktree, the git directory itself otherwise.
fn common_dir_of(git_dir: &Path) -> PathBuf {
    match fs::read(git_dir.join("commondir")) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            git_dir.join(text.trim_end_matches(['\n', '\r']))
        }
        Err(_) => git_dir.to_path_buf(),
    }
}

fn canonical(path: &Path) -> anyhow::Result<PathBuf> {
    fs::canonicalize(path).map_err(|e| user(format!("cannot read {}: {e}", path.display())).into())
}

fn existing_dir(path: &Path, what: &str) -> anyhow::Result<PathBuf> {
    match fs::canonicalize(path) {
        Ok(p) if p.is_dir() => Ok(p),
        _ => Err(user(format!(
            "{what} names {}, which is not a directory",
            path.display()
        ))
        .hint(format!("point {what} at the work tree, or unset it"))
        .into()),
    }
}

/// `core.bare` and `core.worktree` as git's repository-format check reads
/// them: from the common config (not in a linked worktree), then
/// `config.worktree` with `extensions.worktreeConfig`.
#[derive(Default)]
struct CoreSettings {
    bare: Option<bool>,
    worktree: Option<String>,
}

fn core_settings(git_dir: &Path) -> anyhow::Result<CoreSettings> {
    let mut out = CoreSettings::default();
    if git_dir.join("commondir").exists() {
        return Ok(out);
    }
    let Some(config) = open_config_file(&git_dir.join("config"))? else {
        return Ok(out);
    };
    read_core(&config, &mut out, &git_dir.join("config"))?;
    if config_bool(
        &config,
        "extensions.worktreeconfig",
        &git_dir.join("config"),
    )? == Some(true)
    {
        let path = git_dir.join("config.worktree");
        if let Some(worktree_config) = open_config_file(&path)? {
            read_core(&worktree_config, &mut out, &path)?;
        }
    }
    Ok(out)
}

fn read_core(config: &git2::Config, out: &mut CoreSettings, path: &Path) -> anyhow::Result<()> {
    if let Some(bare) = config_bool(config, "core.bare", path)? {
        out.bare = Some(bare);
    }
    if let Ok(tree) = config.get_string("core.worktree") {
        out.worktree = Some(tree);
    }
    Ok(())
}

fn open_config_file(path: &Path) -> anyhow::Result<Option<git2::Config>> {
    if !path.is_file() {
        return Ok(None);
    }
    git2::Config::open(path).map(Some).map_err(|e| {
        user(format!("cannot read {}: {}", path.display(), e.message()))
            .hint("fix the file with `git config --edit`")
            .into()
    })
}

fn config_bool(config: &git2::Config, key: &str, path: &Path) -> anyhow::Result<Option<bool>> {
    match config.get_bool(key) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(user(format!(
            "{key} in {} is not a boolean: {}",
            path.display(),
            e.message()
        ))
        .hint("use true or false")
        .into()),
    }
}

/// Repository formats libgit2 cannot read or write exactly are refused
/// before anything is opened: SHA-256 object names and reftable refs.
fn check_format(git_dir: &Path) -> anyhow::Result<()> {
    let common = common_dir_of(git_dir);
    let path = common.join("config");
    let Some(config) = open_config_file(&path)? else {
        return Ok(());
    };
    let version = config.get_i64("core.repositoryformatversion").unwrap_or(0);
    if version < 1 {
        return Ok(());
    }
    if let Ok(format) = config.get_string("extensions.objectformat") {
        if !format.eq_ignore_ascii_case("sha1") {
            return Err(user(format!(
                "this repository uses {format} object names, which libgit2 (and so this tool) cannot handle exactly"
            ))
            .hint("roll back with git itself here (git stash -u; git reset --hard <baseline>), or use a SHA-1 clone")
            .into());
        }
    }
    if let Ok(storage) = config.get_string("extensions.refstorage") {
        if !storage.eq_ignore_ascii_case("files") {
            return Err(user(format!(
                "this repository keeps its refs in the {storage} format, which libgit2 (and so this tool) cannot read"
            ))
            .hint("convert it with `git refs migrate --ref-format=files`, then run the command again")
            .into());
        }
    }
    Ok(())
}

/// Environment that git honours and libgit2 would not, or not exactly:
/// refused rather than silently ignored.
fn refuse_unhandled_env(env: Env) -> anyhow::Result<()> {
    for (name, hint) in [
        (
            "GIT_NAMESPACE",
            "unset GIT_NAMESPACE: this tool moves the repository's own refs, not a namespace's",
        ),
        (
            "GIT_OBJECT_DIRECTORY",
            "unset GIT_OBJECT_DIRECTORY: this tool keeps its snapshots in the repository's own object store",
        ),
        (
            "GIT_COMMON_DIR",
            "unset GIT_COMMON_DIR and let git find the common directory from the git directory",
        ),
    ] {
        if env.var(name).is_some_and(|v| !v.is_empty()) {
            return Err(user(format!("{name} is set, and this tool does not support it"))
                .hint(hint)
                .into());
        }
    }
    Ok(())
}

/// git's boolean for environment variables (`GIT_DISCOVERY_ACROSS_FILESYSTEM`).
fn env_bool(value: &OsStr) -> bool {
    let text = value.to_string_lossy().trim().to_ascii_lowercase();
    match text.as_str() {
        "true" | "yes" | "on" => true,
        "false" | "no" | "off" | "" => false,
        other => other.parse::<i64>().is_ok_and(|n| n != 0),
    }
}

/// The index file git would use: `GIT_INDEX_FILE` (relative to the current
/// directory), else `<git-dir>/index`.
pub fn index_file(git_dir: &Path) -> anyhow::Result<PathBuf> {
    match std::env::var_os("GIT_INDEX_FILE") {
        Some(file) if !file.is_empty() => Ok(std::env::current_dir()
            .context("could not read the current directory")?
            .join(file)),
        _ => Ok(git_dir.join("index")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_must_be_a_proper_ancestor() {
        let cwd = Path::new("/");
        assert_eq!(longest_ceiling(cwd, OsStr::new("/")), None);
        let tmp = fs::canonicalize(std::env::temp_dir()).expect("temp dir");
        let value = format!("relative:{}", tmp.display());
        assert_eq!(
            longest_ceiling(&tmp.join("x"), OsStr::new(&value)),
            Some(tmp.clone())
        );
        assert_eq!(longest_ceiling(&tmp, OsStr::new(&value)), None);
    }

    #[test]
    fn env_bool_reads_git_booleans() {
        for t in ["1", "true", "YES", "on", "2"] {
            assert!(env_bool(OsStr::new(t)), "{t}");
        }
        for f in ["0", "false", "no", "off", "", "maybe"] {
            assert!(!env_bool(OsStr::new(f)), "{f}");
        }
    }
}
