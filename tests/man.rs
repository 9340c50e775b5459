//! The manual pages (`man`): what they say, that groff, mandoc and man
//! render them without a warning, that installing writes exactly the pages
//! and nothing else, that a dry run writes nothing, and that `man` and git's
//! own `git rollback-sprint --help` find them once installed.
//!
//! The renderers are optional on a developer's machine (CI installs them):
//! a test whose renderer is missing says so on stderr and checks the rest.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{assert_same_state, capture_dir, TestRepo, ToolOutput, TOOL_BIN};

/// The subcommands `args --help` lists, without clap's `help`.
pub fn listed_commands(repo: &TestRepo, args: &[&str]) -> Vec<String> {
    let mut full = args.to_vec();
    full.push("--help");
    let out = repo.tool_ok(&full);
    out.stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every page name the tool should install: the main page, one per
/// command, one per command of a command.
fn expected_pages(repo: &TestRepo) -> BTreeSet<String> {
    let mut pages = BTreeSet::from(["git-rollback-sprint.1".to_string()]);
    for cmd in listed_commands(repo, &[]) {
        pages.insert(format!("git-rollback-sprint-{cmd}.1"));
        for sub in listed_commands(repo, &[&cmd]) {
            pages.insert(format!("git-rollback-sprint-{cmd}-{sub}.1"));
        }
    }
    pages
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> ToolOutput {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    ToolOutput::from_output(out)
}

/// Renders `page` with every renderer present and fails on any warning.
/// Returns the names of the renderers that ran.
#[track_caller]
fn assert_renders_cleanly(page: &Path) -> Vec<&'static str> {
    let mut ran = Vec::new();
    if have("groff") {
        let out = run(Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(page));
        assert!(
            out.success() && out.stderr.is_empty(),
            "groff warns about {}\n{out}",
            page.display()
        );
        ran.push("groff");
    }
    if have("mandoc") {
        let out = run(Command::new("mandoc")
            .args(["-T", "lint", "-W", "warning"])
            .arg(page));
        assert!(
            out.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "mandoc -T lint warns about {}\n{out}",
            page.display()
        );
        ran.push("mandoc");
    }
    if have("man") {
        let out = run(Command::new("man")
            .arg("-l")
            .arg(page)
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .env("LC_ALL", "C.UTF-8"));
        assert!(
            out.success() && out.stderr.is_empty() && out.stdout.contains("SYNOPSIS"),
            "man -l {}\n{out}",
            page.display()
        );
        ran.push("man");
    }
    ran
}

#[test]
fn the_main_page_names_every_command_flag_exit_code_and_setting() {
    let repo = TestRepo::new();
    let out = repo.tool_ok(&["man"]);
    let page = &out.stdout;
    assert!(
        page.contains(".TH GIT-ROLLBACK-SPRINT 1 "),
        "title line\n{out}"
    );
    for cmd in listed_commands(&repo, &[]) {
        let reference = format!("git\\-rollback\\-sprint\\-{}(1)", cmd.replace('-', "\\-"));
        assert!(page.contains(&reference), "the page lacks {cmd}\n{out}");
    }
    for flag in [
        "\\fB\\-C\\fR",
        "\\-\\-json",
        "\\-\\-dry\\-run",
        "\\-\\-yes",
        "\\-\\-quiet",
        "\\-\\-color",
    ] {
        assert!(page.contains(flag), "the page lacks {flag}\n{out}");
    }
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH OPTIONS",
        ".SH \"EXIT STATUS\"",
        ".SH CONFIGURATION",
        ".SH FILES",
        ".SH \"SEE ALSO\"",
    ] {
        assert!(page.contains(section), "the page lacks {section}\n{out}");
    }
    for code in 0..=4 {
        assert!(
            page.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "exit code {code} is not explained\n{out}"
        );
    }
    for key in [
        "rollback.baseline",
        "rollback.testCommand",
        "rollback.diskThreshold",
    ] {
        assert!(page.contains(key), "the page lacks {key}\n{out}");
    }
    assert!(page.contains("\\fBgit\\fR(1)"), "SEE ALSO git(1)\n{out}");
    assert!(page.is_ascii(), "the page is plain ASCII roff\n{out}");

    // The same page in JSON, for scripts.
    let v = repo.tool_ok(&["--json", "man"]).json();
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["page"].as_str(),
        Some(format!("{}\n", page.trim_end()).as_str())
    );
}

#[test]
fn dir_writes_every_page_nothing_else_and_each_renders_cleanly() {
    let repo = TestRepo::with_commits();
    let dir = repo.tmp_dir().join("pages");
    std::fs::create_dir(&dir).expect("create the pages directory");
    std::fs::write(dir.join("unrelated.1"), b"kept\n").expect("write a file");
    let before = repo.capture();
    let home_before = capture_dir(repo.home());

    let v = repo
        .tool_ok(&["--json", "man", "--dir", path_str(&dir)])
        .json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["dir"].as_str(), Some(path_str(&dir)));

    let mut expected = expected_pages(&repo);
    let reported: BTreeSet<String> = v["files"]
        .as_array()
        .expect("files is a list")
        .iter()
        .map(|f| file_name(Path::new(f.as_str().expect("a path"))))
        .collect();
    assert_eq!(reported, expected, "the JSON lists every page");
    expected.insert("unrelated.1".to_string());
    assert_eq!(names_in(&dir), expected, "exactly the pages, nothing else");
    assert_eq!(
        std::fs::read(dir.join("unrelated.1")).ok(),
        Some(b"kept\n".to_vec())
    );

    let mut renderers = BTreeSet::new();
    for name in expected_pages(&repo) {
        let page = dir.join(&name);
        assert_permissions(&page, 0o644);
        let text = std::fs::read_to_string(&page).expect("read a page");
        assert!(text.contains(".SH \"SEE ALSO\""), "{name}\n{text}");
        renderers.extend(assert_renders_cleanly(&page));
    }
    if renderers.len() < 3 {
        eprintln!(
            "note: rendered with {renderers:?} only; install groff, mandoc and man-db to check all three"
        );
    }
    assert_same_state(&before, &repo.capture());
    assert!(
        capture_dir(repo.home()).diff(&home_before).is_empty(),
        "--dir writes nowhere else"
    );

    // Again: the pages are replaced, still nothing else.
    repo.tool_ok(&["man", "--dir", path_str(&dir)]);
    assert_eq!(names_in(&dir), expected);
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let repo = TestRepo::new();
    let dir = repo.tmp_dir().join("not-yet/man1");
    let home_before = capture_dir(repo.home());
    let tmp_before = capture_dir(repo.tmp_dir());

    let out = repo.tool_ok(&["-n", "man", "--dir", path_str(&dir)]);
    out.assert_stdout_contains("would write")
        .assert_stdout_contains("git-rollback-sprint.1")
        .assert_stdout_contains("git-rollback-sprint-emergency.1");
    let out = repo.tool_ok(&["--dry-run", "man", "--install"]);
    out.assert_stdout_contains(".local/share/man/man1/git-rollback-sprint.1");
    let v = repo.tool_ok(&["--json", "-n", "man", "--install"]).json();
    assert_eq!(v["dry_run"], true);
    assert!(v["files"].as_array().is_some_and(|f| !f.is_empty()), "{v}");

    assert!(!dir.exists() && !repo.tmp_dir().join("not-yet").exists());
    assert!(capture_dir(repo.home()).diff(&home_before).is_empty());
    assert!(capture_dir(repo.tmp_dir()).diff(&tmp_before).is_empty());
}

#[test]
fn a_dir_that_is_a_file_is_a_one_line_error() {
    let repo = TestRepo::new();
    let file = repo.tmp_dir().join("a-file");
    std::fs::write(&file, b"x").expect("write a file");
    let out = repo.tool(&["man", "--dir", path_str(&file)]);
    out.assert_code(1)
        .assert_stderr_contains("is not a directory");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert_eq!(std::fs::read(&file).ok(), Some(b"x".to_vec()));
}

/// After `man --install`, `man git-rollback-sprint` and git's own
/// `git rollback-sprint --help` (which git turns into
/// `git help rollback-sprint`, that is `man git-rollback-sprint`) show it.
#[test]
fn installed_pages_are_found_by_man_and_by_git_help() {
    let repo = TestRepo::new();
    let out = repo.tool_ok(&["man", "--install"]);
    let man_root = repo.home().join(".local/share/man");
    out.assert_stdout_contains(path_str(&man_root.join("man1")));
    assert!(man_root.join("man1/git-rollback-sprint.1").is_file());
    assert!(man_root
        .join("man1/git-rollback-sprint-sprint-rollback.1")
        .is_file());
    if !have("man") {
        crate::common::skip(
            "man is not installed; not checking that man and git help find the pages",
            true,
        );
        return;
    }
    let bin_dir = Path::new(TOOL_BIN)
        .parent()
        .expect("the binary's directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("a PATH");
    let viewer = |program: &str, args: &[&str]| {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(repo.path());
        repo.apply_env(&mut cmd);
        cmd.env("PATH", &path)
            .env("MANPATH", &man_root)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100");
        run(&mut cmd)
    };
    for (program, args) in [
        ("man", &["git-rollback-sprint"][..]),
        ("man", &["git-rollback-sprint-emergency"][..]),
        ("git", &["help", "rollback-sprint"][..]),
        ("git", &["rollback-sprint", "--help"][..]),
    ] {
        let out = viewer(program, args);
        assert!(
            out.success() && out.stdout.contains("SYNOPSIS"),
            "{program} {args:?}\n{out}"
        );
        assert!(
            out.stdout.contains("GIT-ROLLBACK-SPRINT"),
            "{program} {args:?}\n{out}"
        );
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .and_then(|n| n.to_str())
        .expect("a file name")
        .to_string()
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("read the pages directory")
        .map(|e| file_name(&PathBuf::from(e.expect("an entry").file_name())))
        .collect()
}

#[track_caller]
fn assert_permissions(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let actual = std::fs::metadata(path)
        .expect("stat a page")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(actual, mode, "{} has mode {actual:o}", path.display());
}

/// The `export MANPATH=…` line `man --dir` prints, run in `sh`, makes
/// `man` find the pages, from any directory, and keeps man's own search
/// path (or the MANPATH already set).
#[test]
fn the_manpath_hint_of_dir_works_in_sh_and_keeps_the_system_path() {
    let repo = TestRepo::new();
    // A relative directory, with a space and a quote in its path.
    let root = repo.tmp_dir().join("the team's pages");
    let relative = "the team's pages/man1";
    let run_tool = |manpath: Option<&Path>| -> String {
        let mut cmd = repo.tool_command(&["man", "--dir", relative]);
        cmd.current_dir(repo.tmp_dir()).env_remove("MANPATH");
        if let Some(m) = manpath {
            cmd.env("MANPATH", m);
        }
        let out = run(&mut cmd);
        out.assert_ok();
        let hint = out
            .stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("export MANPATH=").map(|_| l.trim()))
            .unwrap_or_else(|| panic!("no MANPATH hint\n{out}"))
            .to_string();
        hint
    };
    let page = root.join("man1/git-rollback-sprint-emergency.1");

    let hint = run_tool(None);
    assert!(page.is_file(), "{}", page.display());
    assert!(hint.ends_with(":\"") || hint.ends_with(':'), "{hint}");
    if !have("man") {
        crate::common::skip("man is not installed; not running the MANPATH hint", true);
        return;
    }
    // Run from elsewhere (the repository), as a user would after `cd`.
    let sh = |script: &str, manpath: Option<&Path>| -> ToolOutput {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]).current_dir(repo.path());
        repo.apply_env(&mut cmd);
        cmd.env_remove("MANPATH").env("MANPAGER", "cat");
        if let Some(m) = manpath {
            cmd.env("MANPATH", m);
        }
        let out = run(&mut cmd);
        out.assert_ok();
        out
    };
    let found = sh(
        &format!("{hint}\nman -w git-rollback-sprint-emergency"),
        None,
    );
    assert_eq!(Path::new(found.stdout.trim()), page, "{hint}\n{found}");
    // man's own search path is still searched: every directory of it is
    // still on the path.
    let default = sh("manpath 2>/dev/null || true", None);
    let hinted = sh(&format!("{hint}\nmanpath 2>/dev/null || true"), None);
    let hinted_dirs: Vec<&str> = hinted.stdout.trim().split(':').collect();
    for dir in default.stdout.trim().split(':').filter(|d| !d.is_empty()) {
        assert!(
            hinted_dirs.contains(&dir),
            "{dir} is lost: {hint}\n{hinted}"
        );
    }
    assert_eq!(hinted_dirs.first().copied(), root.to_str(), "{hinted}");

    // With a MANPATH already set: the pages come first, the rest stays.
    let other = repo.tmp_dir().join("other-man");
    std::fs::create_dir_all(other.join("man1")).expect("mkdir");
    std::fs::write(other.join("man1/other-tool.1"), ".TH OTHER 1\n").expect("write a page");
    let hint = run_tool(Some(&other));
    assert!(hint.contains("$MANPATH"), "{hint}");
    let found = sh(
        &format!("{hint}\nman -w git-rollback-sprint-emergency && man -w other-tool"),
        Some(&other),
    );
    let lines: Vec<&Path> = found.stdout.lines().map(Path::new).collect();
    assert_eq!(
        lines,
        [page.as_path(), other.join("man1/other-tool.1").as_path()],
        "{hint}\n{found}"
    );
}
