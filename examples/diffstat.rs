//! Prints the stat `changes.txt` would hold for two revisions of any
//! repository (bare ones included): `cargo run --release --example
//! diffstat -- <repo> <from> <to>`. `scripts/renames-truth.sh` compares it
//! with `git diff --stat -M` over ranges of real histories.

use std::io::Write as _;

use anyhow::Context as _;
use git_rollback_sprint::git::diffstat;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, from, to] = args.as_slice() else {
        anyhow::bail!("usage: diffstat <repository> <from> <to>");
    };
    // As the tool opens repositories (src/git/repo.rs): objects are not
    // re-hashed on every read, as in git.
    git2::opts::strict_hash_verification(false);
    let repo = git2::Repository::open(path).context("could not open the repository")?;
    let tree = |rev: &str| -> anyhow::Result<git2::Oid> {
        let object = repo
            .revparse_single(rev)
            .with_context(|| format!("no revision {rev}"))?;
        Ok(object.peel_to_tree()?.id())
    };
    let (stat, _) = diffstat::diff_stat(&repo, tree(from)?, tree(to)?, diffstat::WIDTH)?;
    match std::io::stdout().write_all(stat.as_bytes()) {
        // A reader that stopped early (`| head`, `cmp`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
