//! `analyze [--output DIR] [--no-tests]` — the post-rollback analysis (README:
//! `analyze`, `notify`, `triage`), in a new folder `rollbacks/analysis-<ts>/`:
//!
//! * `git_reflog.txt` — where HEAD (and the stash) have been, newest first;
//! * `git_graph.txt` — a graph of the last 20 commits of HEAD, the branches
//!   and the tags;
//! * `test_results.txt` — the test command's output on the work tree as it
//!   is now (after the rollback), with the passed and failed counts;
//! * `environment.txt` — disk, memory, versions, system;
//! * `analysis.md` — timeline, last good commit (the baseline), failed
//!   branch, test summary, a likely-cause checklist and the recommended
//!   actions with their exact commands.
//!
//! It changes no git state — no ref, no index, no tracked file — and writes
//! only inside the folder it creates (or `--output`), so it is not
//! journaled: there is nothing for `undo` to restore. A dry run gathers the
//! same facts, prints the plan, and writes nothing and runs nothing. The
//! folder appears whole: it is created once every file's text is ready.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use serde_json::Value;

use super::environment::environment_text;
use super::history::{self, ReflogEntry};
use super::markdown::{md_cell, md_code, md_text, plain_severity, plain_time, shell_word};
use super::{newest_branch, BranchAt, Context, Records, Rollback};
use crate::clock;
use crate::commands::baseline::{self, Baseline};
use crate::error::user;
use crate::git::{CommitInfo, HeadState, Oid, Repo, RepoPath};
use crate::journal::{self, lock_holder, Journal, Operation};
use crate::plan::{self, carry_out, Carried, Execute, Phase, Plan};
use crate::testrun::{self, TestRun};
use crate::ui::Outcome;

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Write the analysis here instead of rollbacks/analysis-<ts>/
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Do not run the tests (test_results.txt says so)
    #[arg(long)]
    pub no_tests: bool,
}

/// Commits in `git_graph.txt`.
const GRAPH_COMMITS: usize = 20;
/// Events in the timeline of `analysis.md` (the newest ones).
const TIMELINE_EVENTS: usize = 30;
/// Commits of the failed branch listed in `analysis.md`.
const FAILED_COMMITS_LISTED: usize = 20;
/// Paths listed per item of the likely-cause checklist.
const PATHS_LISTED: usize = 10;

const FILES: [&str; 5] = [
    "analysis.md",
    "git_reflog.txt",
    "git_graph.txt",
    "test_results.txt",
    "environment.txt",
];

/// The JSON fields of `analyze` known before anything is written.
#[derive(Serialize)]
struct Planned<'a> {
    dir: &'a str,
    path: String,
    files: [&'static str; 5],
    baseline: Option<NamedCommit<'a>>,
    failed_branch: Option<FailedJson<'a>>,
    latest_rollback: Option<RollbackJson<'a>>,
}

#[derive(Serialize)]
struct NamedCommit<'a> {
    name: &'a str,
    commit: String,
}

#[derive(Serialize)]
struct FailedJson<'a> {
    name: &'a str,
    commit: String,
    source: &'static str,
}

#[derive(Serialize)]
struct RollbackJson<'a> {
    time: &'a str,
    kind: &'a str,
    severity: &'a str,
    cause: &'a str,
    operation_id: Option<&'a str>,
}

/// The JSON fields of an analysis that was written.
#[derive(Serialize)]
struct Written<'a> {
    dir: &'a str,
    path: String,
    reflog_entries: usize,
    graph_commits: usize,
    tests: Option<TestsJson<'a>>,
}

#[derive(Serialize)]
struct TestsJson<'a> {
    command: &'a str,
    passed: Option<u64>,
    failed: Option<u64>,
    exit_code: Option<i32>,
    timed_out: bool,
    succeeded: bool,
}

impl<'a> Planned<'a> {
    fn of(target: &'a Target, facts: &'a Facts) -> Planned<'a> {
        Planned {
            dir: &target.shown,
            path: target.full.display().to_string(),
            files: FILES,
            baseline: facts.baseline.as_ref().map(|b| NamedCommit {
                name: &b.name,
                commit: b.commit.to_string(),
            }),
            failed_branch: facts.failed.as_ref().map(|f| FailedJson {
                name: &f.branch.name,
                commit: f.commit.to_string(),
                source: f.source,
            }),
            latest_rollback: facts.records.latest().map(|r| RollbackJson {
                time: r.time(),
                kind: r.kind(),
                severity: r.severity(),
                cause: r.cause(),
                operation_id: r.operation_id(),
            }),
        }
    }
}

/// The reflogs the analysis reads.
struct Reflogs {
    head: Vec<ReflogEntry>,
    stash: Vec<ReflogEntry>,
}

pub fn analyze(ctx: &Context, args: &AnalyzeArgs) -> anyhow::Result<Outcome> {
    let now = clock::now();
    let time = clock::rfc3339(&now);
    let target = Target::choose(ctx, args, &clock::stamp(&now))?;
    let facts = Facts::gather(ctx)?;
    let test_command = if args.no_tests {
        None
    } else {
        facts.test_command.clone()
    };
    let reflogs = Reflogs {
        head: ctx.repo.reflog("HEAD")?,
        stash: ctx.repo.reflog("refs/stash")?,
    };

    let mut outcome = Outcome::new();
    outcome.data(&Planned::of(&target, &facts));

    for problem in &facts.problems {
        ctx.ui.warn(problem);
    }
    let plan = plan_steps(
        ctx,
        args,
        &target,
        &facts,
        test_command.as_deref(),
        &reflogs,
    );
    let exec = Analyzing {
        args,
        target: &target,
        facts: &facts,
        reflogs: &reflogs,
        time: &time,
        test_command: test_command.as_deref(),
        files: Vec::new(),
        graph_commits: 0,
        tests: None,
    };
    let Carried::Unjournaled(Analysis {
        dir,
        graph_commits,
        tests,
    }) = carry_out(ctx, &plan, exec, &mut outcome)?
    else {
        // A dry run: the plan is printed.
        return Ok(outcome);
    };

    let shown = target.shown_as(&dir);
    outcome.data(&Written {
        dir: &shown,
        path: dir.display().to_string(),
        reflog_entries: reflogs.head.len(),
        graph_commits,
        tests: tests.as_ref().map(|t| TestsJson {
            command: &t.command,
            passed: t.passed,
            failed: t.failed,
            exit_code: t.exit_code,
            timed_out: t.timed_out,
            succeeded: t.succeeded(),
        }),
    });
    summary(
        ctx,
        &mut outcome,
        &shown,
        &reflogs,
        graph_commits,
        tests.as_ref(),
        &facts,
    );
    Ok(outcome)
}

/// The test command's run on the work tree as it is now, if there is one.
fn run_tests(ctx: &Context, test_command: Option<&str>) -> anyhow::Result<Option<TestRun>> {
    match test_command {
        Some(cmd) => {
            ctx.ui.note(&format!("Running `{cmd}` for the analysis…"));
            let timeout = Duration::from_secs(ctx.settings.test_timeout_secs);
            Ok(Some(testrun::run_tests(cmd, ctx.repo.workdir(), timeout)?))
        }
        None => Ok(None),
    }
}

/// What the analysis wrote.
struct Analysis {
    dir: PathBuf,
    graph_commits: usize,
    tests: Option<TestRun>,
}

/// Carries out the analysis's steps in order: each makes its file's text
/// (running the tests for `test_results.txt`); the folder is created and
/// the files written once every text is ready, so a test run that fails to
/// start or is stopped leaves no half-written analysis behind.
struct Analyzing<'a> {
    args: &'a AnalyzeArgs,
    target: &'a Target,
    facts: &'a Facts,
    reflogs: &'a Reflogs,
    time: &'a str,
    test_command: Option<&'a str>,
    /// Each file's name and text, in the order they are written.
    files: Vec<(&'static str, String)>,
    graph_commits: usize,
    tests: Option<TestRun>,
}

impl Execute<AnalyzeStep> for Analyzing<'_> {
    type Done = Analysis;

    fn outside(
        &mut self,
        ctx: &Context,
        step: &AnalyzeStep,
        _: &mut Outcome,
    ) -> anyhow::Result<()> {
        let text = match step {
            // Created last, whole (see above).
            AnalyzeStep::WriteInto(_) | AnalyzeStep::CreateFolder(_) => return Ok(()),
            AnalyzeStep::Reflog { .. } => ("git_reflog.txt", self.reflog_text(ctx)),
            AnalyzeStep::Graph => {
                let (lines, commits) = history::graph(&ctx.repo, GRAPH_COMMITS)?;
                let mut graph = String::new();
                push_lines(&mut graph, &lines);
                if lines.is_empty() {
                    graph.push_str("No commits yet.\n");
                }
                self.graph_commits = commits;
                ("git_graph.txt", graph)
            }
            AnalyzeStep::RunTests { .. } => {
                let tests = run_tests(ctx, self.test_command)?;
                let text = tests.as_ref().map(test_results_text).unwrap_or_default();
                self.tests = tests;
                ("test_results.txt", text)
            }
            AnalyzeStep::NoTestsAsked => (
                "test_results.txt",
                "The tests were not run: --no-tests was given.\n".to_string(),
            ),
            AnalyzeStep::NoTestCommand => (
                "test_results.txt",
                "The tests were not run: no test command is configured or detected (git config rollback.testCommand).\n".to_string(),
            ),
            AnalyzeStep::Environment => (
                "environment.txt",
                environment_text(ctx.repo.workdir(), self.time, self.test_command),
            ),
            AnalyzeStep::Analysis { .. } => (
                "analysis.md",
                self.facts
                    .markdown(ctx, self.time, self.tests.as_ref(), self.args.no_tests),
            ),
        };
        self.files.push(text);
        Ok(())
    }

    fn done_outside(&mut self, ctx: &Context) -> anyhow::Result<Analysis> {
        if !self.target.fixed {
            crate::reports_folder::prepare(&ctx.repo, &ctx.settings.reports_dir)?;
        }
        let dir = self.target.create()?;
        for (name, text) in &self.files {
            let path = dir.join(name);
            fs::write(&path, text)
                .with_context(|| format!("could not write {}", path.display()))?;
        }
        Ok(Analysis {
            dir,
            graph_commits: self.graph_commits,
            tests: self.tests.take(),
        })
    }
}

impl Analyzing<'_> {
    fn reflog_text(&self, ctx: &Context) -> String {
        let mut reflog = format!(
            "HEAD reflog of {}, newest first\n",
            ctx.repo.git_dir().display()
        );
        push_lines(
            &mut reflog,
            &history::reflog_lines("HEAD", &self.reflogs.head),
        );
        if !self.reflogs.stash.is_empty() {
            reflog.push_str("\nstash reflog (`git stash list`), newest first\n");
            push_lines(
                &mut reflog,
                &history::reflog_lines("stash", &self.reflogs.stash),
            );
        }
        reflog
    }
}

/// What was written, one line a file, then the two commits that matter.
fn summary(
    ctx: &Context,
    outcome: &mut Outcome,
    shown: &str,
    reflogs: &Reflogs,
    graph_commits: usize,
    tests: Option<&TestRun>,
    facts: &Facts,
) {
    outcome.line(format!(
        "{} the analysis is in {}/",
        ctx.ui.good("Written:"),
        shown.trim_end_matches('/')
    ));
    outcome.line(
        "  analysis.md       timeline, last good commit, failed branch, likely causes, actions",
    );
    outcome.line(format!(
        "  git_reflog.txt    {} HEAD reflog entries{}",
        reflogs.head.len(),
        if reflogs.stash.is_empty() {
            String::new()
        } else {
            format!(", {} stash entries", reflogs.stash.len())
        }
    ));
    outcome.line(if graph_commits == 0 {
        "  git_graph.txt     no commits yet".to_string()
    } else {
        format!("  git_graph.txt     the last {graph_commits} commits")
    });
    outcome.line(format!(
        "  test_results.txt  {}",
        match tests {
            Some(t) => format!("`{}` {}", t.command, t.summary()),
            None => "tests not run".to_string(),
        }
    ));
    outcome.line("  environment.txt   disk, memory, versions, system");
    match &facts.baseline {
        Some(b) => outcome.line(format!(
            "Last good commit: {} ({})",
            b.name,
            ctx.repo.short_id(b.commit)
        )),
        None => outcome.line(format!(
            "Last good commit: unknown (the baseline `{}` does not exist)",
            ctx.settings.baseline
        )),
    };
    match &facts.failed {
        Some(f) => outcome.line(format!(
            "Failed branch: {} ({})",
            f.branch.name,
            ctx.repo.short_id(f.commit)
        )),
        None => outcome.line("Failed branch: none found"),
    };
}

fn push_lines(text: &mut String, lines: &[String]) {
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
}

fn test_results_text(t: &TestRun) -> String {
    let count = |n: Option<u64>| n.map_or("unknown".to_string(), |n| n.to_string());
    let mut s = format!("$ {}\n{}", t.command, t.output);
    if !t.output.is_empty() && !t.output.ends_with('\n') {
        s.push('\n');
    }
    s.push_str("--\n");
    s.push_str(&format!("result: {}\n", t.summary()));
    s.push_str(&format!("passed: {}\n", count(t.passed)));
    s.push_str(&format!("failed: {}\n", count(t.failed)));
    s.push_str(&format!(
        "exit code: {}\n",
        t.exit_code
            .map_or("none (stopped)".to_string(), |c| c.to_string())
    ));
    s.push_str(&format!("duration: {:.2} s\n", t.duration_seconds));
    s
}

/// One thing `analyze` does, as its dry run lists it and as it is carried
/// out. The analysis writes only its own folder, outside the journal, so
/// no transaction holds these steps.
#[derive(Debug, Clone)]
enum AnalyzeStep {
    /// Write into the folder given with `--output`.
    WriteInto(String),
    /// Create the report folder.
    CreateFolder(String),
    Reflog {
        head: usize,
        stash: usize,
    },
    Graph,
    RunTests {
        command: String,
        timeout_secs: u64,
    },
    NoTestsAsked,
    NoTestCommand,
    Environment,
    Analysis {
        baseline: String,
        failed: String,
        rollbacks: usize,
    },
}

impl plan::Step for AnalyzeStep {
    fn phase(&self) -> Phase {
        Phase::Unjournaled
    }
}

impl std::fmt::Display for AnalyzeStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnalyzeStep::WriteInto(dir) => write!(f, "write into {dir}/ (--output)"),
            AnalyzeStep::CreateFolder(dir) => write!(f, "create the folder {dir}/"),
            AnalyzeStep::Reflog { head, stash } => write!(
                f,
                "write git_reflog.txt: HEAD's reflog ({head} entries) and the stash's ({stash})"
            ),
            AnalyzeStep::Graph => write!(
                f,
                "write git_graph.txt: the last {GRAPH_COMMITS} commits of HEAD, the branches and the tags"
            ),
            AnalyzeStep::RunTests {
                command,
                timeout_secs,
            } => write!(
                f,
                "run `{command}` in the work tree (stopped after {timeout_secs} s) and write test_results.txt"
            ),
            AnalyzeStep::NoTestsAsked => {
                f.write_str("run no tests (--no-tests); test_results.txt says so")
            }
            AnalyzeStep::NoTestCommand => f.write_str(
                "run no tests: no test command is configured or detected; test_results.txt says so",
            ),
            AnalyzeStep::Environment => {
                f.write_str("write environment.txt: disk, memory, versions, system")
            }
            AnalyzeStep::Analysis {
                baseline,
                failed,
                rollbacks,
            } => write!(
                f,
                "write analysis.md: last good commit {baseline}, failed branch {failed}, {rollbacks} rollback(s) recorded"
            ),
        }
    }
}

fn plan_steps(
    ctx: &Context,
    args: &AnalyzeArgs,
    target: &Target,
    facts: &Facts,
    test_command: Option<&str>,
    reflogs: &Reflogs,
) -> Plan<AnalyzeStep> {
    let mut steps = Plan::new();
    steps.push(if target.fixed {
        AnalyzeStep::WriteInto(target.shown.trim_end_matches('/').to_string())
    } else {
        AnalyzeStep::CreateFolder(target.shown.clone())
    });
    steps.push(AnalyzeStep::Reflog {
        head: reflogs.head.len(),
        stash: reflogs.stash.len(),
    });
    steps.push(AnalyzeStep::Graph);
    steps.push(match test_command {
        Some(cmd) => AnalyzeStep::RunTests {
            command: cmd.to_string(),
            timeout_secs: ctx.settings.test_timeout_secs,
        },
        None if args.no_tests => AnalyzeStep::NoTestsAsked,
        None => AnalyzeStep::NoTestCommand,
    });
    steps.push(AnalyzeStep::Environment);
    let baseline = facts.baseline.as_ref().map_or("unknown".to_string(), |b| {
        format!("`{}` ({})", b.name, ctx.repo.short_id(b.commit))
    });
    let failed = facts
        .failed
        .as_ref()
        .map_or("none found".to_string(), |f| f.branch.name.clone());
    steps.push(AnalyzeStep::Analysis {
        baseline,
        failed,
        rollbacks: facts.records.rollbacks.len(),
    });
    steps
}

/// Where the analysis goes.
struct Target {
    /// The folder, absolute.
    full: PathBuf,
    /// As the user sees it: relative to the work tree root, or as given.
    shown: String,
    /// `--output`: the folder is given; it may exist (empty of our files).
    fixed: bool,
}

impl Target {
    fn choose(ctx: &Context, args: &AnalyzeArgs, stamp: &str) -> anyhow::Result<Target> {
        if let Some(given) = &args.output {
            let cwd = std::env::current_dir().context("could not read the current directory")?;
            let full = cwd.join(given);
            match fs::metadata(&full) {
                Ok(meta) if !meta.is_dir() => {
                    return Err(user(format!("{} is not a folder", given.display()))
                        .hint("--output takes a folder (it is created when missing)")
                        .into())
                }
                Ok(_) => {
                    if let Some(taken) = FILES.iter().find(|f| full.join(f).exists()) {
                        return Err(user(format!(
                            "{} already holds an analysis ({taken})",
                            given.display()
                        ))
                        .hint("choose another --output folder; an analysis is never overwritten")
                        .into());
                    }
                }
                Err(_) => {}
            }
            return Ok(Target {
                full,
                shown: given.display().to_string(),
                fixed: true,
            });
        }
        crate::reports_folder::check(ctx.repo.workdir(), &ctx.settings.reports_dir)?;
        let reports = ctx.settings.reports_dir.trim_end_matches('/');
        let name = unused_name(
            &ctx.repo.workdir().join(reports),
            &format!("analysis-{stamp}"),
        );
        Ok(Target {
            full: ctx.repo.workdir().join(reports).join(&name),
            shown: format!("{reports}/{name}"),
            fixed: false,
        })
    }

    /// The folder made, as the user sees it: `-2` when the first name was
    /// taken meanwhile.
    fn shown_as(&self, dir: &Path) -> String {
        if self.fixed {
            return self.shown.clone();
        }
        Path::new(&self.shown)
            .with_file_name(dir.file_name().unwrap_or_default())
            .display()
            .to_string()
    }

    /// Create the folder; a default one that appeared meanwhile moves on to
    /// the next free name, so an analysis never lands in another's folder.
    fn create(&self) -> anyhow::Result<PathBuf> {
        if self.fixed {
            fs::create_dir_all(&self.full)
                .with_context(|| format!("could not create {}", self.full.display()))?;
            return Ok(self.full.clone());
        }
        let parent = self
            .full
            .parent()
            .context("the analysis folder has no parent")?;
        fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
        let base = self
            .full
            .file_name()
            .and_then(|n| n.to_str())
            .context("the analysis folder has no name")?
            .to_string();
        loop {
            let name = unused_name(parent, &base);
            let dir = parent.join(&name);
            match fs::create_dir(&dir) {
                Ok(()) => return Ok(dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("could not create {}", dir.display()))
                }
            }
        }
    }
}

/// `base`, or `base-2`, `base-3`… : the first name nothing in `dir` has.
fn unused_name(dir: &Path, base: &str) -> String {
    (1..)
        .map(|k| {
            if k == 1 {
                base.to_string()
            } else {
                format!("{base}-{k}")
            }
        })
        .find(|name| fs::symlink_metadata(dir.join(name)).is_err())
        .unwrap_or_else(|| base.to_string())
}

/// Items 4–7 of the likely causes: what kind of files the failed work
/// changed.
fn file_kind_items(c: &Changes, items: &mut Vec<(bool, String)>) {
    let kinds: [(&str, PathTest, char); 4] = [
        ("Dependencies changed", is_dependency_manifest, '*'),
        ("Configuration changed", is_configuration, '*'),
        ("Database schema or migrations changed", is_schema, '*'),
        ("Tests deleted", is_test, 'D'),
    ];
    for (label, matches, status) in kinds {
        let hits: Vec<&String> = c
            .paths
            .iter()
            .filter(|(s, p)| (status == '*' || *s == status) && matches(p))
            .map(|(_, p)| p)
            .collect();
        if hits.is_empty() {
            items.push((false, format!("{label}: nothing found")));
        } else {
            let mut listed: Vec<String> =
                hits.iter().take(PATHS_LISTED).map(|p| md_code(p)).collect();
            if hits.len() > PATHS_LISTED {
                listed.push(format!("and {} more", hits.len() - PATHS_LISTED));
            }
            items.push((true, format!("{label}: {}", listed.join(", "))));
        }
    }
}

/// The branch the failed work is on.
struct Failed {
    branch: BranchAt,
    commit: Oid,
    source: &'static str,
}

/// What the failed branch holds beyond the baseline.
struct Changes {
    commits: usize,
    log: Vec<String>,
    /// `A`, `M` or `D`, and the path.
    paths: Vec<(char, String)>,
    descends: bool,
}

/// Everything the analysis says, read before anything is written.
struct Facts {
    records: Records,
    problems: Vec<String>,
    baseline: Option<Baseline>,
    baseline_info: Option<CommitInfo>,
    head: HeadState,
    head_commit: Option<Oid>,
    failed: Option<Failed>,
    /// The branch advised for `recover` (see `markdown::recover_command`).
    recover_from: Option<String>,
    changes: Option<Changes>,
    interrupted: Option<Operation>,
    running: Option<u32>,
    test_command: Option<String>,
    /// The failed sprint's own test run, from its report folder.
    sprint_tests: Option<(String, Option<u64>, Option<u64>)>,
}

impl Facts {
    fn gather(ctx: &Context) -> anyhow::Result<Facts> {
        let repo = &ctx.repo;
        let mut problems = Vec::new();
        let records = read_records(ctx, &mut problems);
        if let Some(p) = &records.metrics_problem {
            problems.push(format!("{p}; the analysis leaves the metrics out"));
        }
        let baseline = baseline::find(repo, &ctx.settings)?;
        let baseline_info = match &baseline {
            Some(b) => Some(repo.commit_info(b.commit)?),
            None => None,
        };
        let head = repo.head_state()?;
        let head_commit = repo.head_commit()?;
        let failed = failed_branch(repo, records.latest())?;
        let recover_from = match (records.latest(), &failed) {
            (Some(r), Some(f)) => Some(r.recover_from(repo, &f.branch.name)?),
            _ => None,
        };
        let changes = match (&baseline, &failed) {
            (Some(b), Some(f)) => Some(changes(repo, b.commit, f.commit)?),
            _ => None,
        };
        let running = lock_holder(Journal::for_repo(repo).dir())
            .filter(|h| h.alive)
            .map(|h| h.info.pid);
        let interrupted = records.ops.pending_interrupted(running).cloned();
        if let Some(op) = &interrupted {
            problems.push(journal::interrupted_message(op));
        }
        let test_command = test_command_at(ctx, head_commit)?;
        let sprint_tests = sprint_tests(repo, &records);
        Ok(Facts {
            records,
            problems,
            baseline,
            baseline_info,
            head,
            head_commit,
            failed,
            recover_from,
            changes,
            interrupted,
            running,
            test_command,
            sprint_tests,
        })
    }

    fn markdown(
        &self,
        ctx: &Context,
        time: &str,
        tests: Option<&TestRun>,
        no_tests: bool,
    ) -> String {
        let mut s = String::from("# Rollback analysis\n\n");
        s.push_str(&format!(
            "Written {time} by {}.\n\n",
            md_code("git rollback-sprint analyze")
        ));
        self.summary_table(ctx, tests, no_tests, &mut s);
        self.timeline_section(&mut s);
        self.failed_branch_section(&mut s);
        s.push_str("\n## Likely causes\n\n");
        s.push_str("Ticked where the records point at it; check the others by hand.\n\n");
        for (ticked, text) in self.checklist(tests) {
            s.push_str(&format!("- [{}] {text}\n", if ticked { "x" } else { " " }));
        }

        s.push_str("\n## Recommended actions\n\n");
        for (n, action) in self.actions(tests).iter().enumerate() {
            s.push_str(&format!("{}. {action}\n", n + 1));
        }

        s.push_str("\n## Files\n\n");
        s.push_str("* `git_reflog.txt` — where HEAD and the stash have been, newest first\n");
        s.push_str(&format!(
            "* `git_graph.txt` — the last {GRAPH_COMMITS} commits of HEAD, the branches and the tags\n"
        ));
        s.push_str("* `test_results.txt` — the test run on the work tree as it is now\n");
        s.push_str("* `environment.txt` — disk, memory, versions, system\n");
        s
    }

    /// The table at the top: HEAD, the last good commit, the failed
    /// branch, the latest rollback and the tests.
    fn summary_table(
        &self,
        ctx: &Context,
        tests: Option<&TestRun>,
        no_tests: bool,
        s: &mut String,
    ) {
        let repo = &ctx.repo;
        s.push_str("| | |\n| --- | --- |\n");
        let head = self.head_cell(repo);
        s.push_str(&format!("| HEAD | {} |\n", md_cell(&head)));
        let good = match (&self.baseline, &self.baseline_info) {
            (Some(b), Some(info)) => format!(
                "the baseline {} at {}: {}",
                md_code(&b.name),
                repo.short_id(b.commit),
                md_text(&info.summary)
            ),
            _ => format!(
                "unknown: the baseline {} does not exist",
                md_code(&ctx.settings.baseline)
            ),
        };
        s.push_str(&format!("| Last good commit | {} |\n", md_cell(&good)));
        let failed = match &self.failed {
            Some(f) => format!(
                "{} at {} ({})",
                md_code(&f.branch.name),
                repo.short_id(f.commit),
                f.source
            ),
            None => {
                "none found (no rollback with a backup branch, no `backup/` branch)".to_string()
            }
        };
        s.push_str(&format!("| Failed branch | {} |\n", md_cell(&failed)));
        if let Some(c) = &self.changes {
            s.push_str(&format!(
                "| Failed work | {} commit(s), {} file(s) beyond the last good commit |\n",
                c.commits,
                c.paths.len()
            ));
        }
        let latest = match self.records.latest() {
            Some(r) => format!(
                "{} — {}, {}: {}",
                plain_time(r.time()),
                r.kind_label(),
                plain_severity(r.severity()),
                md_text(r.cause())
            ),
            None => "none recorded".to_string(),
        };
        s.push_str(&format!("| Latest rollback | {} |\n", md_cell(&latest)));
        if let Some(r) = self.records.latest() {
            latest_rollback_rows(r, s);
        }
        let now = match tests {
            Some(t) => format!(
                "{}: {} (`test_results.txt`)",
                md_code(&t.command),
                md_text(&t.summary())
            ),
            None if no_tests => "not run (`--no-tests`)".to_string(),
            None => "not run: no test command is configured or detected".to_string(),
        };
        s.push_str(&format!(
            "| Tests now (after the rollback) | {} |\n",
            md_cell(&now)
        ));
        if let Some((path, passed, failed)) = &self.sprint_tests {
            s.push_str(&format!(
                "| Tests of the failed sprint | {} passed, {} failed ({}) |\n",
                passed.map_or("?".to_string(), |n| n.to_string()),
                failed.map_or("?".to_string(), |n| n.to_string()),
                md_cell(&md_code(path))
            ));
        }
    }

    /// HEAD as the table shows it: the branch and its commit, or detached.
    fn head_cell(&self, repo: &Repo) -> String {
        match (&self.head, self.head_commit) {
            (HeadState::Symbolic(r), Some(c)) => format!(
                "{} at {}",
                md_code(r.trim_start_matches("refs/heads/")),
                repo.short_id(c)
            ),
            (HeadState::Symbolic(r), None) => format!(
                "{} (no commit yet)",
                md_code(r.trim_start_matches("refs/heads/"))
            ),
            (HeadState::Detached(_), Some(c)) => format!("detached at {}", repo.short_id(c)),
            (HeadState::Detached(id), None) => format!("detached at {}", md_code(id)),
        }
    }

    fn timeline_section(&self, s: &mut String) {
        s.push_str("\n## Timeline\n\n");
        let events = self.timeline();
        if events.is_empty() {
            s.push_str(
                "Nothing recorded: no operation in the journal, no rollback in the metrics.\n",
            );
        } else {
            if events.len() > TIMELINE_EVENTS {
                s.push_str(&format!(
                    "The newest {TIMELINE_EVENTS} of {} events, oldest first (`git rollback-sprint log` has them all).\n\n",
                    events.len()
                ));
            } else {
                s.push_str("Oldest first.\n\n");
            }
            for e in events
                .iter()
                .skip(events.len().saturating_sub(TIMELINE_EVENTS))
            {
                s.push_str(&format!("* {e}\n"));
            }
        }
    }

    /// The commits of the failed branch, when there is one.
    fn failed_branch_section(&self, s: &mut String) {
        if let (Some(f), Some(c), Some(b)) = (&self.failed, &self.changes, &self.baseline) {
            s.push_str("\n## The failed branch\n\n");
            s.push_str(&format!(
                "{} commit(s) on {} that the last good commit does not have, newest first:\n\n",
                c.commits,
                md_code(&f.branch.name)
            ));
            for line in c.log.iter().take(FAILED_COMMITS_LISTED) {
                let (id, subject) = line.split_once(' ').unwrap_or((line, ""));
                s.push_str(&format!("* {} {}\n", md_code(id), md_text(subject)));
            }
            if c.log.len() > FAILED_COMMITS_LISTED {
                s.push_str(&format!(
                    "* … and {} more: {}\n",
                    c.log.len() - FAILED_COMMITS_LISTED,
                    md_code(&format!(
                        "git log --oneline {}..{}",
                        shell_word(&b.name),
                        shell_word(&f.branch.name)
                    ))
                ));
            }
        }
    }

    /// Journal operations and metrics-only rollbacks, oldest first.
    fn timeline(&self) -> Vec<String> {
        let mut events: Vec<(Option<DateTime<FixedOffset>>, usize, String)> = Vec::new();
        let parse = |t: &str| DateTime::parse_from_rfc3339(t).ok();
        for op in self.records.ops.ops() {
            let mut status = op.status(self.running).label().to_string();
            if let Some(by) = self.records.ops.undone_by(op) {
                status = format!("{status}, undone by {}", md_code(by.id()));
            }
            let mut text = format!(
                "{} — {} ({status})",
                plain_time(&op.begin.time),
                md_code(&op.begin.command)
            );
            if let Some(r) = self
                .records
                .rollbacks
                .iter()
                .find(|r| r.operation_id() == Some(op.id()))
            {
                text.push_str(&format!(
                    " — {}, {}: {}",
                    r.kind_label(),
                    plain_severity(r.severity()),
                    md_text(r.cause())
                ));
            }
            events.push((parse(&op.begin.time), events.len(), text));
        }
        for r in self.records.rollbacks.iter().filter(|r| r.op.is_none()) {
            events.push((parse(r.time()), events.len(), rollback_event(r)));
        }
        // Undated events keep their place at the end.
        events.sort_by(|a, b| match (&a.0, &b.0) {
            (Some(x), Some(y)) => x.cmp(y).then(a.1.cmp(&b.1)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.1.cmp(&b.1),
        });
        events.into_iter().map(|(_, _, text)| text).collect()
    }

    fn checklist(&self, tests: Option<&TestRun>) -> Vec<(bool, String)> {
        let mut items = Vec::new();
        self.test_items(tests, &mut items);
        let Some(c) = &self.changes else {
            items.push((
                false,
                "The change itself: no failed branch to compare with the last good commit"
                    .to_string(),
            ));
            return items;
        };
        // 3. Size.
        let big = c.paths.len() > 25 || c.commits > 10;
        items.push((
            big,
            format!(
                "Too much at once: {} file(s) in {} commit(s){}",
                c.paths.len(),
                c.commits,
                if big {
                    "; retry in smaller steps, with a checkpoint before each"
                } else {
                    ""
                }
            ),
        ));
        // 4–7. What kind of files changed.
        file_kind_items(c, &mut items);
        // 8. History.
        items.push((
            !c.descends,
            if c.descends {
                "Diverged history: the failed branch builds on the last good commit".to_string()
            } else {
                "Diverged history: the failed branch does not descend from the last good commit (rebased, or started elsewhere)".to_string()
            },
        ));
        if let Some(op) = &self.interrupted {
            items.push((
                true,
                format!(
                    "An interrupted operation: {} ({})",
                    md_code(&op.begin.command),
                    md_code(op.id())
                ),
            ));
        }
        items
    }

    /// Items 1–2: the failed work's tests, and the tests after the rollback.
    fn test_items(&self, tests: Option<&TestRun>, items: &mut Vec<(bool, String)>) {
        let latest = self.records.latest();
        // 1. The failed work's tests.
        let cause_says_tests = latest.is_some_and(|r| r.cause().to_lowercase().contains("test"));
        match &self.sprint_tests {
            Some((path, _, Some(failed))) if *failed > 0 => items.push((
                true,
                format!(
                    "Failing tests: {failed} failed in the failed sprint ({})",
                    md_code(path)
                ),
            )),
            _ if cause_says_tests => items.push((
                true,
                format!(
                    "Failing tests: the rollback's cause says {}",
                    md_text(latest.map(Rollback::cause).unwrap_or_default())
                ),
            )),
            _ => items.push((false, "Failing tests in the failed work".to_string())),
        }
        // 2. Tests that fail after the rollback point away from the code.
        match tests {
            Some(t) if !t.succeeded() => items.push((
                true,
                format!(
                    "Not the code: the tests fail after the rollback too ({}); look at the environment, dependencies and data (environment.txt)",
                    md_text(&t.summary())
                ),
            )),
            Some(_) => items.push((
                false,
                "Not the code (environment, dependencies, data): the tests pass after the rollback, which points back at the failed work".to_string(),
            )),
            None => items.push((
                false,
                "Not the code (environment, dependencies, data): compare environment.txt with a good day".to_string(),
            )),
        }
    }

    fn actions(&self, tests: Option<&TestRun>) -> Vec<String> {
        let mut out = Vec::new();
        let tool = "git rollback-sprint";
        let code = |cmd: String| md_code(&cmd);
        if let Some(op) = &self.interrupted {
            out.push(format!(
                "Settle the interrupted operation first: {} restores the state before it ({} keeps it as it is)",
                code(format!("{tool} undo")),
                code(format!("{tool} undo --dismiss {}", op.id()))
            ));
        }
        if let (Some(f), Some(b)) = (&self.failed, &self.baseline) {
            let (good, bad) = (shell_word(&b.name), shell_word(&f.branch.name));
            out.push(format!(
                "Review what the failed branch changed: {} and {}",
                code(format!("git log --oneline {good}..{bad}")),
                code(format!("git diff --stat {good} {bad}"))
            ));
            let from = self.recover_from.as_deref().unwrap_or(&f.branch.name);
            out.push(format!(
                "Bring the good commits back onto a recovery branch: {}",
                code(super::markdown::recover_command(from))
            ));
        }
        if let Some(r) = self.records.latest() {
            if r.kind() == "emergency" {
                out.push(format!(
                    "Look at the work the emergency rollback stashed (the \"EMERGENCY: State before rollback\" entry): {}",
                    code("git stash list".to_string())
                ));
            }
        }
        match tests {
            Some(t) if !t.succeeded() => out.push(format!(
                "The tests fail after the rollback: check the machine and the baseline with {} and {}",
                code(format!("{tool} check")),
                code(format!("{tool} baseline verify"))
            )),
            _ => out.push(format!(
                "Confirm the last good commit still passes: {}",
                code(format!("{tool} baseline verify"))
            )),
        }
        out.push(format!("Tell the team: {}", code(format!("{tool} notify"))));
        if let Some(id) = self
            .records
            .latest()
            .filter(|r| r.op.is_some())
            .and_then(Rollback::operation_id)
        {
            out.push(format!(
                "If the rollback itself was the mistake, reverse it exactly: {}",
                code(format!("{tool} undo {id}"))
            ));
        }
        out.push(format!(
            "Retry in small steps, with a checkpoint before each: {}",
            code(format!("{tool} checkpoint -m \"before step 1\""))
        ));
        out
    }
}

/// The journal's records; when it cannot be read, none, and a problem
/// saying the timeline leaves it out.
fn read_records(ctx: &Context, problems: &mut Vec<String>) -> Records {
    match Records::load(ctx) {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!(
                "the journal could not be read, so the timeline leaves it out: {}",
                crate::error::describe(&e).1
            ));
            Records {
                rollbacks: Vec::new(),
                ops: Default::default(),
                metrics_problem: None,
            }
        }
    }
}

/// The test command for HEAD's files (`rollback.testCommand`, or the one
/// detected), if any.
fn test_command_at(ctx: &Context, head_commit: Option<Oid>) -> anyhow::Result<Option<String>> {
    let repo = &ctx.repo;
    Ok(match head_commit {
        Some(h) => testrun::test_command(
            repo,
            ctx.settings.test_command.as_deref(),
            repo.commit_tree(h)?,
        )
        .ok(),
        None => ctx.settings.test_command.clone(),
    })
}

/// The failed sprint's own test run, from the `test_failures.txt` in its
/// report folder: the file and its counts.
fn sprint_tests(repo: &Repo, records: &Records) -> Option<(String, Option<u64>, Option<u64>)> {
    records
        .latest()
        .filter(|r| r.kind() == "sprint")
        .and_then(|r| r.op.as_ref())
        .and_then(|op| op.end.as_ref())
        .and_then(|end| end.details.get("reports_dir"))
        .and_then(Value::as_str)
        .and_then(|dir| {
            let rel = format!("{}/test_failures.txt", dir.trim_end_matches('/'));
            let text = fs::read_to_string(repo.workdir().join(&rel)).ok()?;
            let (passed, failed) = testrun::parse_counts(&text);
            Some((rel, passed, failed))
        })
}

/// What the latest rollback's entry says of its recovery time and its
/// verification, when it says.
fn latest_rollback_rows(r: &Rollback, s: &mut String) {
    if let Some((minutes, measures)) = r.recovery() {
        let what = match measures {
            Some("run") => " (the rollback's own run)",
            Some("incident") => {
                " (the incident: from when it began, `--since`, to the end of the rollback)"
            }
            Some("given") => " (given by hand, `--recovery-minutes`)",
            _ => "",
        };
        s.push_str(&format!("| Recovery time | {minutes} min{what} |\n"));
    }
    match r.verified() {
        Some(true) => s.push_str(
            "| Verified after the rollback | yes: the tests passed on the rolled-back tree |\n",
        ),
        Some(false) => s.push_str(
            "| Verified after the rollback | no: the tests failed on the rolled-back tree, or were not run (`--verify`) |\n",
        ),
        None => {}
    }
}

fn rollback_event(r: &Rollback) -> String {
    let sprint = r
        .sprint()
        .map_or(String::new(), |n| format!(" (sprint {n})"));
    format!(
        "{} — {}{sprint}, {}: {}",
        plain_time(r.time()),
        r.kind_label(),
        plain_severity(r.severity()),
        md_text(r.cause())
    )
}

/// The failed branch: the latest rollback's backup branch while it exists,
/// else the newest `backup/*` branch.
fn failed_branch(repo: &Repo, latest: Option<&Rollback>) -> anyhow::Result<Option<Failed>> {
    if let Some(full) = latest.and_then(Rollback::backup_ref) {
        let branch = BranchAt::of_ref(repo, full)?;
        if let Some(commit) = branch.commit {
            return Ok(Some(Failed {
                branch,
                commit,
                source: "the latest rollback's backup branch",
            }));
        }
    }
    Ok(newest_branch(repo, "backup/")?.and_then(|branch| {
        let commit = branch.commit?;
        Some(Failed {
            branch,
            commit,
            source: "the newest backup branch",
        })
    }))
}

/// What `failed` holds that `good` does not: commits, and paths compared
/// tree to tree.
fn changes(repo: &Repo, good: Oid, failed: Oid) -> anyhow::Result<Changes> {
    let files = |commit: Oid| -> anyhow::Result<BTreeMap<Vec<u8>, (Oid, u32)>> {
        let tree = repo.commit_tree(commit)?;
        Ok(repo
            .entries_under(tree, &RepoPath::from_bytes(b""))?
            .unwrap_or_default()
            .into_iter()
            .map(|(p, id, mode)| (p.as_bytes().to_vec(), (id, mode)))
            .collect())
    };
    let before = files(good)?;
    let after = files(failed)?;
    let mut paths = Vec::new();
    for (path, entry) in &after {
        match before.get(path) {
            None => paths.push(('A', path)),
            Some(old) if old != entry => paths.push(('M', path)),
            Some(_) => {}
        }
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        paths.push(('D', path));
    }
    paths.sort_by(|a, b| a.1.cmp(b.1));
    Ok(Changes {
        commits: repo.count_commits(good, failed)?,
        log: repo.log_oneline(good, failed)?,
        paths: paths
            .into_iter()
            .map(|(s, p)| (s, RepoPath::from_bytes(p).display()))
            .collect(),
        descends: repo.is_descendant_of(failed, good)?,
    })
}

/// Whether a path is of a kind the checklist looks for.
type PathTest = fn(&str) -> bool;

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn is_dependency_manifest(path: &str) -> bool {
    let name = file_name(path);
    matches!(
        name,
        "Cargo.toml"
            | "Cargo.lock"
            | "package.json"
            | "package-lock.json"
            | "npm-shrinkwrap.json"
            | "yarn.lock"
            | "pnpm-lock.yaml"
            | "go.mod"
            | "go.sum"
            | "pyproject.toml"
            | "poetry.lock"
            | "Pipfile"
            | "Pipfile.lock"
            | "setup.py"
            | "setup.cfg"
            | "Gemfile"
            | "Gemfile.lock"
            | "pom.xml"
            | "build.gradle"
            | "build.gradle.kts"
            | "composer.json"
            | "composer.lock"
    ) || (name.starts_with("requirements") && name.ends_with(".txt"))
}

fn is_configuration(path: &str) -> bool {
    if is_dependency_manifest(path) {
        return false;
    }
    let name = file_name(path);
    let in_config_dir = path.starts_with("config/")
        || path.starts_with("conf/")
        || path.contains("/config/")
        || path.contains("/conf/");
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    in_config_dir
        || name.starts_with(".env")
        || name == "Dockerfile"
        || name.starts_with("docker-compose")
        || matches!(
            ext,
            "toml" | "yaml" | "yml" | "ini" | "cfg" | "conf" | "properties"
        )
}

fn is_schema(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.contains("migration") || lower.contains("schema") || lower.ends_with(".sql")
}

fn is_test(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.starts_with("test/")
        || lower.starts_with("tests/")
        || lower.contains("/test/")
        || lower.contains("/tests/")
        || file_name(&lower).starts_with("test_")
        || file_name(&lower).contains("_test.")
        || file_name(&lower).contains(".test.")
        || file_name(&lower).contains(".spec.")
}

#[cfg(test)]
mod tests {
    use super::{is_configuration, is_dependency_manifest, is_schema, is_test};

    #[test]
    fn paths_are_classified() {
        assert!(is_dependency_manifest("Cargo.lock"));
        assert!(is_dependency_manifest("api/requirements-dev.txt"));
        assert!(!is_configuration("Cargo.toml"));
        assert!(is_configuration("config/settings.toml"));
        assert!(is_configuration("deploy/app.yaml"));
        assert!(!is_configuration("src/lib.rs"));
        assert!(is_schema("db/migrations/001_init.sql"));
        assert!(is_test("tests/unit/test_lib.py"));
        assert!(is_test("src/app.test.ts"));
        assert!(!is_test("src/latest.rs"));
    }
}
