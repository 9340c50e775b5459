//! `hook install [--force]` and `hook uninstall [--force]` (README: `hook`):
//! the pre-commit hook that runs `git rollback-sprint check --hook`.
//!
//! Why it is shaped so:
//!
//! * **Where git looks.** The hook goes into the directory git really runs
//!   hooks from (`core.hooksPath`, else the common git dir's `hooks/`, which
//!   linked worktrees share); see `crate::git::hooks`.
//! * **Nothing is lost, and nothing else stops running.** A pre-commit hook
//!   that is already there is moved, byte for byte and with its mode (a
//!   rename: a symbolic link stays the same link), to
//!   `pre-commit.rollback-sprint-orig` next to ours, and our script runs it
//!   first, with the same arguments and stdin, exactly as git would have
//!   (only when it is an executable file). It runs first because hooks such
//!   as formatters re-stage files: the conflict-marker check must see what
//!   will really be committed. Either failing stops the commit.
//! * **Its own inverse, outside the journal.** Hooks are files in the git
//!   directory, not HEAD, refs, the index, the work tree or the stash that
//!   the operation journal saves, so `undo` does not cover them and `log`
//!   does not list them. Instead install and uninstall undo each other
//!   exactly: uninstall renames the kept original back (or removes our
//!   script when there was none, and the directories install created when
//!   they are empty again). What uninstall needs to know is in the script
//!   itself, so there is no state file to lose.
//! * **Fails closed.** When `git-rollback-sprint` is not on `PATH` the hook
//!   refuses the commit and says how to bypass it (`git commit --no-verify`)
//!   or remove it: a safety check that silently switches itself off is worse
//!   than one that is in the way.
//! * **Recognisable.** A marker line identifies our script; installing again
//!   changes nothing, and uninstall refuses to delete a script the user has
//!   edited unless `--force` says so.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Context;
use crate::error::user;
use crate::git::hooks::{self, HooksDir, HOOKS_PATH};
use crate::plan::{self, carry_out, Carried, Execute, Phase, Plan};
use crate::ui::Outcome;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Install the pre-commit hook (an existing hook keeps running)
    Install {
        /// Also when the hooks directory is tracked in the work tree, when
        /// the existing hook is not a file or a symbolic link, or to rewrite
        /// an installed hook that was edited
        #[arg(long)]
        force: bool,
    },
    /// Restore exactly the hook that was there before
    Uninstall {
        /// Also remove our hook when it was edited since it was installed
        #[arg(long)]
        force: bool,
    },
}

/// The hook git runs before a commit.
const HOOK: &str = "pre-commit";
/// Where the hook that was there before is kept, next to ours.
const ORIGINAL: &str = "pre-commit.rollback-sprint-orig";
/// The line that identifies our script.
const MARKER: &str = "# git-rollback-sprint pre-commit hook";
/// The line recording how many directory levels install created.
const CREATED: &str = "# directories created by install: ";
/// The program the hook runs, found on `PATH`.
const PROGRAM: &str = "git-rollback-sprint";

/// Our script. `created` is the number of directory levels (the hooks
/// directory and its parents) that install created, for uninstall.
fn script(created: usize) -> String {
    format!(
        r#"#!/bin/sh
{MARKER} (format 1)
#
# Installed by `git rollback-sprint hook install`. Before each commit it runs
# the pre-commit hook that was here before (kept byte for byte as
# {ORIGINAL}, run with the same arguments and stdin), then
# `git rollback-sprint check --hook`. Either failing stops the commit;
# `git commit --no-verify` skips both. `git rollback-sprint hook uninstall`
# puts back exactly what was here before.
{CREATED}{created}

case $0 in
*/*) hooks_dir=${{0%/*}} ;;
*) hooks_dir=. ;;
esac
original="$hooks_dir/{ORIGINAL}"
if [ "$original" != "$0" ] && [ -f "$original" ] && [ -x "$original" ]; then
	"$original" "$@" || exit $?
fi
if command -v {PROGRAM} >/dev/null 2>&1; then
	exec {PROGRAM} check --hook
fi
printf '%s\n' >&2 \
	"{PROGRAM}: the pre-commit safety check cannot run: {PROGRAM} is not on PATH," \
	"so this commit is stopped. Put the directory that holds it on PATH (a GUI" \
	"client may need PATH set where it starts), or:" \
	"  commit without the pre-commit checks:  git commit --no-verify" \
	"  remove this hook:                      git rollback-sprint hook uninstall" \
	"  (by hand: mv \"$original\" \"$0\" when that file exists, otherwise rm \"$0\")"
exit 1
"#
    )
}

pub fn run(ctx: &Context, args: &Args) -> anyhow::Result<Outcome> {
    if let Some(op) = crate::journal::interrupted(&ctx.repo)? {
        ctx.ui.warn(&crate::journal::interrupted_message(&op));
    }
    match args.action {
        Action::Install { force } => install(ctx, force),
        Action::Uninstall { force } => uninstall(ctx, force),
    }
}

// ----- what is there ---------------------------------------------------------

/// What is at the hook's path.
#[derive(Debug, Clone)]
enum Existing {
    Nothing,
    /// Our script; `pristine` when byte-identical to what install writes.
    Ours {
        created: usize,
        pristine: bool,
    },
    File {
        mode: u32,
    },
    Symlink {
        target: PathBuf,
    },
    /// A directory, a fifo, a socket…: not something git can run.
    Other {
        kind: &'static str,
    },
}

impl Existing {
    fn describe(&self) -> String {
        match self {
            Existing::Nothing => "nothing".to_string(),
            Existing::Ours { .. } => "the git-rollback-sprint hook".to_string(),
            Existing::File { mode } => format!("a file (mode {mode:o})"),
            Existing::Symlink { target } => {
                format!("a symbolic link to {}", target.display())
            }
            Existing::Other { kind } => kind.to_string(),
        }
    }
}

fn inspect(path: &Path) -> anyhow::Result<Existing> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target =
            fs::read_link(path).with_context(|| format!("could not read {}", path.display()))?;
        return Ok(Existing::Symlink { target });
    }
    if kind.is_dir() {
        return Ok(Existing::Other {
            kind: "a directory",
        });
    }
    if !kind.is_file() {
        return Ok(Existing::Other {
            kind: "a special file",
        });
    }
    let bytes = fs::read(path).with_context(|| format!("could not read {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    if !text.lines().any(|l| l.starts_with(MARKER)) {
        return Ok(Existing::File {
            mode: meta.permissions().mode() & 0o7777,
        });
    }
    let created = text
        .lines()
        .find_map(|l| l.strip_prefix(CREATED))
        .and_then(|n| n.trim().parse::<usize>().ok());
    let pristine = created.is_some_and(|n| bytes == script(n).as_bytes())
        && meta.permissions().mode() & 0o111 != 0;
    Ok(Existing::Ours {
        created: created.unwrap_or(0),
        pristine,
    })
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// The directories to create for `dir`, outermost first.
fn missing_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at {
        match fs::metadata(d) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                return Err(user(format!(
                    "{} is not a directory, so hooks cannot go into {}",
                    d.display(),
                    dir.display()
                ))
                .hint(format!("check git config {HOOKS_PATH}"))
                .into())
            }
            Err(e) if e.kind() == ErrorKind::NotFound => missing.push(d.to_path_buf()),
            Err(e) => return Err(e).with_context(|| format!("could not read {}", d.display())),
        }
        at = d.parent();
    }
    missing.reverse();
    Ok(missing)
}

/// Whether `name` is an executable file in a `PATH` directory.
fn on_path(name: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        fs::metadata(dir.join(name))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

// ----- the steps -------------------------------------------------------------

/// One change `hook install` or `hook uninstall` makes: what the dry run
/// prints and what is carried out. Hooks are outside what the journal
/// saves (see above), so these steps run outside any transaction.
#[derive(Debug, Clone)]
enum HookStep {
    /// Create a hooks directory (outermost first).
    CreateDir(PathBuf),
    /// Move the hook that is there to `original`, where ours runs it first.
    KeepExisting {
        hook: PathBuf,
        original: PathBuf,
        described: String,
    },
    /// Write our script, recording how many directory levels install created.
    WriteScript { hook: PathBuf, created: usize },
    /// Write our script over an installed one that was edited.
    RewriteScript { hook: PathBuf, created: usize },
    /// Put the hook that was there before back in place of ours.
    Restore { original: PathBuf, hook: PathBuf },
    /// Remove our script (there was no hook before).
    Remove { hook: PathBuf },
    /// Remove a directory install created, if it is empty (innermost first).
    RemoveDirIfEmpty(PathBuf),
}

impl plan::Step for HookStep {
    fn phase(&self) -> Phase {
        Phase::Unjournaled
    }
}

impl std::fmt::Display for HookStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookStep::CreateDir(d) => write!(f, "create the hooks directory {}", d.display()),
            HookStep::KeepExisting {
                original,
                described,
                ..
            } => write!(
                f,
                "keep the existing hook ({described}) as {}; it still runs, first",
                original.display()
            ),
            HookStep::WriteScript { hook, .. } => write!(
                f,
                "write {} running `git rollback-sprint check --hook`",
                hook.display()
            ),
            HookStep::RewriteScript { hook, .. } => write!(
                f,
                "rewrite the edited hook {} with the current script",
                hook.display()
            ),
            HookStep::Restore { original, hook } => write!(
                f,
                "put the hook that was there before back: {} -> {}",
                original.display(),
                hook.display()
            ),
            HookStep::Remove { hook } => write!(f, "remove {}", hook.display()),
            HookStep::RemoveDirIfEmpty(d) => write!(
                f,
                "remove the directory {} if it is empty (install created it)",
                d.display()
            ),
        }
    }
}

// ----- install ---------------------------------------------------------------

/// Everything `hook install` decided before anything changes.
struct InstallPlan {
    dir: HooksDir,
    hook: PathBuf,
    original: PathBuf,
    existing: Existing,
    already_installed: bool,
    /// Empty when the hook is installed already.
    steps: Plan<HookStep>,
}

impl InstallPlan {
    /// Whether the hook that is there is moved aside and chained.
    fn keeps_existing(&self) -> bool {
        self.steps
            .steps
            .iter()
            .any(|s| matches!(s, HookStep::KeepExisting { .. }))
    }
}

/// The JSON fields of `hook install`.
#[derive(Serialize)]
struct Installed<'a> {
    hooks_dir: String,
    hook: String,
    chained: Option<&'a str>,
    already_installed: bool,
}

/// The JSON fields of `hook uninstall`.
#[derive(Serialize)]
struct Uninstalled {
    hooks_dir: String,
    hook: String,
    restored: bool,
}

/// The directories `hook uninstall` removed.
#[derive(Serialize)]
struct Removed<'a> {
    removed_dirs: &'a [String],
}

fn plan_install(ctx: &Context, force: bool) -> anyhow::Result<InstallPlan> {
    let dir = hooks::hooks_dir(&ctx.repo)?;
    let hook = dir.path.join(HOOK);
    let original = dir.path.join(ORIGINAL);
    let existing = inspect(&hook)?;
    let create = missing_dirs(&dir.path)?;
    let mut plan = InstallPlan {
        dir,
        hook,
        original,
        existing: existing.clone(),
        already_installed: false,
        steps: Plan::new(),
    };
    match existing {
        Existing::Ours { pristine: true, .. } => {
            plan.already_installed = true;
            return Ok(plan);
        }
        Existing::Ours { created, .. } => {
            plan.already_installed = true;
            if !force {
                ctx.ui.warn(&format!(
                    "{} was changed since it was installed; \
                     `hook install --force` rewrites it",
                    plan.hook.display()
                ));
                return Ok(plan);
            }
            plan.steps.push(HookStep::RewriteScript {
                hook: plan.hook.clone(),
                created,
            });
            return Ok(plan);
        }
        Existing::Other { kind } if !force => {
            return Err(user(format!(
                "{} is {kind}, not a hook git can run",
                plan.hook.display()
            ))
            .hint("pass --force to move it aside (it is kept, not run) and install the hook")
            .into());
        }
        _ => {}
    }
    refuse_hooks_in_work_tree(ctx, &plan.dir, force)?;
    for d in create.iter() {
        plan.steps.push(HookStep::CreateDir(d.clone()));
    }
    if !matches!(plan.existing, Existing::Nothing) {
        if exists(&plan.original) {
            return Err(user(format!(
                "{} already exists, so the current hook cannot be kept there",
                plan.original.display()
            ))
            .hint(format!(
                "it may be a hook kept by an earlier install: move it back to {HOOK} or delete \
                 it, then install again"
            ))
            .into());
        }
        plan.steps.push(HookStep::KeepExisting {
            hook: plan.hook.clone(),
            original: plan.original.clone(),
            described: plan.existing.describe(),
        });
    }
    plan.steps.push(HookStep::WriteScript {
        hook: plan.hook.clone(),
        created: create.len(),
    });
    Ok(plan)
}

/// A hooks directory that `git status` shows is shared with others: only
/// with `--force`.
fn refuse_hooks_in_work_tree(ctx: &Context, dir: &HooksDir, force: bool) -> anyhow::Result<()> {
    if force || !hooks::shows_in_status(&ctx.repo, &dir.path, HOOK)? {
        return Ok(());
    }
    let source = dir
        .configured
        .as_deref()
        .map(|v| format!(" ({HOOKS_PATH} = {v})"))
        .unwrap_or_default();
    Err(user(format!(
        "the hooks directory {}{source} is part of the work tree: installing would change \
         files that `git status` shows and others may share",
        dir.path.display()
    ))
    .hint("pass --force to install there anyway")
    .into())
}

fn install(ctx: &Context, force: bool) -> anyhow::Result<Outcome> {
    let plan = plan_install(ctx, force)?;
    let mut outcome = Outcome::new();
    let chained_after = if plan.keeps_existing() || exists(&plan.original) {
        Some(plan.original.display().to_string())
    } else {
        None
    };
    outcome.data(&Installed {
        hooks_dir: plan.dir.path.display().to_string(),
        hook: plan.hook.display().to_string(),
        chained: chained_after.as_deref(),
        already_installed: plan.already_installed,
    });
    if plan.steps.steps.is_empty() {
        outcome.line(format!(
            "The pre-commit hook is already installed: {} (nothing changed).",
            plan.hook.display()
        ));
        return Ok(outcome);
    }
    let Carried::Unjournaled(()) =
        carry_out(ctx, &plan.steps, Installing::default(), &mut outcome)?
    else {
        // A dry run: the plan is printed.
        return Ok(outcome);
    };

    if !on_path(PROGRAM) {
        ctx.ui.warn(&format!(
            "`{PROGRAM}` is not on PATH: the hook stops every commit until it is \
             (or until `git commit --no-verify`)"
        ));
    }
    outcome.line(format!(
        "{} {}",
        ctx.ui.good("Installed the pre-commit hook:"),
        plan.hook.display()
    ));
    outcome.line("  before each commit it runs `git rollback-sprint check --hook`");
    if let Some(original) = &chained_after {
        outcome.line(format!(
            "  the hook that was there is kept as {original} and runs first"
        ));
    }
    outcome.line("  skip it for one commit with `git commit --no-verify`");
    outcome.line(
        "Remove it (restoring what was there) with: git rollback-sprint hook uninstall \
         (`undo` does not cover hooks)",
    );
    Ok(outcome)
}

/// Carries out the install's steps in order. When our script cannot be
/// written, the hook moved aside is put back where git runs it.
#[derive(Default)]
struct Installing {
    /// The hook moved aside, and where it went.
    kept: Option<(PathBuf, PathBuf)>,
}

impl Execute<HookStep> for Installing {
    type Done = ();

    fn outside(&mut self, _ctx: &Context, step: &HookStep, _: &mut Outcome) -> anyhow::Result<()> {
        match step {
            HookStep::CreateDir(d) => create_dir(d)?,
            HookStep::KeepExisting { hook, original, .. } => {
                keep_existing_hook(hook, original)?;
                self.kept = Some((hook.clone(), original.clone()));
            }
            HookStep::WriteScript { hook, created } | HookStep::RewriteScript { hook, created } => {
                if let Err(e) = write_script(hook, *created) {
                    if let Some((hook, original)) = &self.kept {
                        let _ = fs::rename(original, hook);
                    }
                    return Err(e);
                }
            }
            other => anyhow::bail!("internal error: `{other}` is not a step of install"),
        }
        Ok(())
    }

    fn done_outside(&mut self, _ctx: &Context) -> anyhow::Result<()> {
        Ok(())
    }
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    match fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e).with_context(|| format!("could not create {}", dir.display())),
    }
}

/// Move the hook that is there to `original`: a rename, so its bytes, mode
/// and (for a symbolic link) target stay exactly as they are.
fn keep_existing_hook(hook: &Path, original: &Path) -> anyhow::Result<()> {
    // Checked again right before the rename, which would replace it.
    if exists(original) {
        return Err(user(format!("{} appeared meanwhile", original.display()))
            .hint("nothing changed; look at it and install again")
            .into());
    }
    fs::rename(hook, original).with_context(|| {
        format!(
            "could not move {} to {}",
            hook.display(),
            original.display()
        )
    })
}

/// Write our script to a temporary file and rename it into place, so git
/// never runs half a script.
fn write_script(hook: &Path, created: usize) -> anyhow::Result<()> {
    use crate::atomic::{write_atomic, Durability, Mode};
    // The umask does not decide whether the hook can run.
    write_atomic(
        hook,
        script(created).as_bytes(),
        Durability::File,
        Mode::Exact(0o755),
    )
    .with_context(|| format!("could not write {}", hook.display()))
    .with_context(|| format!("could not install {}", hook.display()))
}

// ----- uninstall -------------------------------------------------------------

fn uninstall(ctx: &Context, force: bool) -> anyhow::Result<Outcome> {
    let dir = hooks::hooks_dir(&ctx.repo)?;
    let hook = dir.path.join(HOOK);
    let original = dir.path.join(ORIGINAL);
    let existing = inspect(&hook)?;
    let created = installed_levels(existing, &dir, &hook, &original, force)?;
    let restore = exists(&original);
    // The directories install created, innermost first, removed when empty.
    let created_dirs: Vec<PathBuf> = dir
        .path
        .ancestors()
        .take(created)
        .map(Path::to_path_buf)
        .collect();

    let mut steps = Plan::new();
    if restore {
        steps.push(HookStep::Restore {
            original: original.clone(),
            hook: hook.clone(),
        });
    } else {
        steps.push(HookStep::Remove { hook: hook.clone() });
    }
    for d in created_dirs {
        steps.push(HookStep::RemoveDirIfEmpty(d));
    }

    let mut outcome = Outcome::new();
    outcome.data(&Uninstalled {
        hooks_dir: dir.path.display().to_string(),
        hook: hook.display().to_string(),
        restored: restore,
    });
    let exec = Uninstalling {
        removed: Vec::new(),
        removing_dirs: true,
    };
    let Carried::Unjournaled(removed) = carry_out(ctx, &steps, exec, &mut outcome)? else {
        // A dry run: the plan is printed.
        return Ok(outcome);
    };
    outcome.data(&Removed {
        removed_dirs: &removed,
    });
    outcome.line(format!(
        "{} {}",
        ctx.ui.good("Uninstalled the pre-commit hook:"),
        hook.display()
    ));
    if restore {
        outcome.line("  the hook that was there before is back, byte for byte");
    } else {
        outcome.line("  there was no hook before, so there is none now");
    }
    for d in &removed {
        outcome.line(format!(
            "  removed the empty directory {d} (install created it)"
        ));
    }
    Ok(outcome)
}

/// The directory levels our installed script records it created; refused
/// when the hook there is not ours, or ours edited without `--force`.
fn installed_levels(
    existing: Existing,
    dir: &HooksDir,
    hook: &Path,
    original: &Path,
    force: bool,
) -> anyhow::Result<usize> {
    match existing {
        Existing::Ours { created, pristine } => {
            if !pristine && !force {
                return Err(user(format!(
                    "{} was changed since it was installed; nothing changed",
                    hook.display()
                ))
                .hint("pass --force to remove it anyway (your changes to it are lost)")
                .into());
            }
            Ok(created)
        }
        other => {
            let found = match other {
                Existing::Nothing => {
                    format!("there is no pre-commit hook in {}", dir.path.display())
                }
                other => format!("{} is {}", hook.display(), other.describe()),
            };
            let hint = if exists(original) {
                format!(
                    "{} is still there from an earlier install: move it back to {HOOK} by hand \
                     if you want it",
                    original.display()
                )
            } else {
                "install it with `git rollback-sprint hook install`".to_string()
            };
            Err(user(format!(
                "the git-rollback-sprint hook is not installed: {found}; nothing changed"
            ))
            .hint(hint)
            .into())
        }
    }
}

/// Carries out the uninstall's steps in order: the directories install
/// created go innermost first, and stop at the first that is not empty.
/// Done: the directories removed.
struct Uninstalling {
    removed: Vec<String>,
    removing_dirs: bool,
}

impl Execute<HookStep> for Uninstalling {
    type Done = Vec<String>;

    fn outside(&mut self, _ctx: &Context, step: &HookStep, _: &mut Outcome) -> anyhow::Result<()> {
        match step {
            HookStep::Restore { original, hook } => {
                // One rename: the original replaces ours, so a hook is
                // always there. A directory cannot replace a file, so ours
                // goes first then.
                if fs::symlink_metadata(original).is_ok_and(|m| m.is_dir()) {
                    fs::remove_file(hook)
                        .with_context(|| format!("could not remove {}", hook.display()))?;
                }
                fs::rename(original, hook).with_context(|| {
                    format!(
                        "could not move {} back to {}",
                        original.display(),
                        hook.display()
                    )
                })?;
            }
            HookStep::Remove { hook } => {
                fs::remove_file(hook)
                    .with_context(|| format!("could not remove {}", hook.display()))?;
            }
            HookStep::RemoveDirIfEmpty(d) => {
                self.removing_dirs = self.removing_dirs && fs::remove_dir(d).is_ok();
                if self.removing_dirs {
                    self.removed.push(d.display().to_string());
                }
            }
            other => anyhow::bail!("internal error: `{other}` is not a step of uninstall"),
        }
        Ok(())
    }

    fn done_outside(&mut self, _ctx: &Context) -> anyhow::Result<Vec<String>> {
        Ok(std::mem::take(&mut self.removed))
    }
}
