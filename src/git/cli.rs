//! The places this tool runs the `git` command line, and why.
//!
//! Only network operations go through `git` itself (`baseline push`,
//! `baseline pull`): they need the user's credential helpers, ssh setup and
//! transport configuration, which libgit2 (built here without https or ssh)
//! does not share. Paths and refs always come after `--`-style separation
//! or as full refspecs, and the environment that could redirect git
//! (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`, …) is replaced by explicit
//! arguments naming this repository.

use std::process::{Command, Stdio};

use anyhow::Context as _;

use super::Repo;
use crate::error::user;

/// Environment variables that would point a child git at another repository.
pub const REPO_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
];

pub struct GitOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Run `git <args>` on this repository.
pub fn run(repo: &Repo, args: &[&str]) -> anyhow::Result<GitOutput> {
    let mut cmd = Command::new("git");
    for var in REPO_ENV {
        cmd.env_remove(var);
    }
    cmd.arg("--git-dir")
        .arg(repo.git_dir())
        .arg("--work-tree")
        .arg(repo.workdir())
        .args(args)
        .current_dir(repo.workdir())
        .stdin(Stdio::null());
    let output = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(user("the `git` command is not installed or not on PATH")
                .hint("install git; baseline push/pull use it for your credentials")
                .into())
        }
        Err(e) => return Err(e).context("could not run git"),
    };
    Ok(GitOutput {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

impl Repo {
    /// The remote to talk to: the one given, else `origin`, else the only one.
    pub fn pick_remote(&self, given: Option<&str>) -> anyhow::Result<String> {
        let remotes = self.inner.remotes().context("could not list remotes")?;
        let names: Vec<String> = remotes
            .iter()
            .filter_map(|r| r.ok().flatten())
            .map(str::to_string)
            .collect();
        if let Some(given) = given {
            if names.iter().any(|n| n == given) || given.contains('/') || given.contains(':') {
                return Ok(given.to_string());
            }
            return Err(user(format!("no remote named `{given}`"))
                .hint("see `git remote -v`")
                .into());
        }
        if names.iter().any(|n| n == "origin") {
            return Ok("origin".to_string());
        }
        match names.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(user("this repository has no remote")
                .hint("add one with `git remote add origin <url>`, or name a URL")
                .into()),
            _ => Err(user("there are several remotes and none is `origin`")
                .hint("name the remote: git rollback-sprint baseline push <remote>")
                .into()),
        }
    }
}
