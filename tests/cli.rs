//! Tests of the global interface (README: Global flags, Exit codes, JSON
//! output): flags, exit codes, JSON output, errors, and the operation log
//! (README: `log`, `undo`, `redo`, `status`).

use std::path::Path;
use std::process::Command;

use crate::common::{assert_same_state, TestRepo, ToolOutput, TOOL_BIN};

/// The commands the README documents, each of which `--help` must list.
const SPEC_COMMANDS: &[&str] = &[
    "baseline",
    "checkpoint",
    "emergency",
    "sprint",
    "files",
    "recover",
    "rescue",
    "check",
    "hook",
    "analyze",
    "notify",
    "triage",
    "metrics",
    "log",
    "undo",
    "status",
    "drill",
    "demo",
    "completions",
];

/// Panics unless the run failed with exactly one `error: …` line on stderr,
/// nothing on stdout, and no panic.
#[track_caller]
fn assert_one_line_error(out: &ToolOutput) {
    out.assert_one_line_error();
}

/// Panics unless stdout is exactly one line holding one JSON object.
#[track_caller]
fn one_json_line(out: &ToolOutput) -> serde_json::Value {
    assert_eq!(
        out.stdout.trim_end().lines().count(),
        1,
        "expected one line of JSON on stdout\n{out}"
    );
    out.json()
}

fn journal(repo: &TestRepo) -> std::path::PathBuf {
    repo.git_dir().join("rollback").join("journal.jsonl")
}

// ----- help and commands ------------------------------------------------------

#[test]
fn help_lists_every_spec_command() {
    let repo = TestRepo::new();
    let out = repo.tool(&["--help"]);
    out.assert_ok();
    let listed: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for cmd in SPEC_COMMANDS {
        assert!(
            listed.contains(cmd),
            "`--help` does not list `{cmd}`; it lists {listed:?}"
        );
    }
    // Every global flag (README: Global flags) is documented.
    for flag in [
        "-C <PATH>",
        "--json",
        "--dry-run",
        "--yes",
        "--quiet",
        "--color",
    ] {
        assert!(out.stdout.contains(flag), "--help lacks {flag}\n{out}");
    }
}

// ----- errors -----------------------------------------------------------------

#[test]
fn outside_a_repository_is_a_one_line_error_with_a_hint() {
    let repo = TestRepo::new();
    let outside = repo.tmp_dir();
    for args in [
        &["log"][..],
        &["checkpoint"],
        &["baseline", "show"],
        &["metrics"],
    ] {
        let out = repo.tool_in(outside, args);
        out.assert_code(1);
        assert_one_line_error(&out);
        assert!(out.stderr.contains("not a git repository"), "{out}");
        assert!(out.stderr.contains("-C"), "hint names -C\n{out}");
    }
    // Nothing was created in the directory.
    assert_eq!(std::fs::read_dir(outside).unwrap().count(), 0);
}

#[test]
fn bare_repository_is_refused_and_left_alone() {
    let repo = TestRepo::new_bare();
    let before = repo.capture();
    let git_dir_before = crate::common::capture_dir(repo.path());
    for args in [&["checkpoint"][..], &["baseline", "set"], &["log"]] {
        let out = repo.tool(args);
        out.assert_code(1);
        assert_one_line_error(&out);
        assert!(out.stderr.contains("bare repository"), "{out}");
    }
    assert_same_state(&before, &repo.capture());
    crate::common::assert_same_dir(&git_dir_before, &crate::common::capture_dir(repo.path()));
}

#[test]
fn bad_input_is_one_line_never_a_panic_and_changes_nothing() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    let cases: &[&[&str]] = &[
        &["undo"],
        &["undo", "no-such-operation"],
        &["baseline", "show"],
        &["baseline", "verify"],
        &["baseline", "push"],
        &["baseline", "pull"],
        &["baseline", "set", "no-such-rev"],
        &["baseline", "set", "HEAD~99"],
        &["undo", "--dismiss"],
    ];
    for args in cases {
        let out = repo.tool(args);
        out.assert_code(1);
        assert_one_line_error(&out);
    }
    assert_same_state(&before, &repo.capture());
    assert!(!journal(&repo).exists(), "failed commands wrote a journal");
}

#[test]
fn usage_errors_exit_2_and_in_json_give_one_object() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    let cases: &[&[&str]] = &[
        &["--bogus", "log"],
        &["no-such-command"],
        &["--color", "sometimes", "log"],
        &["checkpoint", "prune", "--keep", "many"],
        &["metrics", "record", "--severity", "high"],
    ];
    for args in cases {
        let out = repo.tool(args);
        out.assert_code(2);
        assert!(!out.stderr.contains("panicked"), "{out}");
        assert!(out.stderr.starts_with("error:"), "{args:?}\n{out}");

        let mut json_args = vec!["--json"];
        json_args.extend_from_slice(args);
        let out = repo.tool(&json_args);
        out.assert_code(2);
        let v = one_json_line(&out);
        assert_eq!(v["ok"], false, "{out}");
        assert_eq!(v["command"], serde_json::Value::Null, "{out}");
        assert_eq!(v["error"]["exit_code"], 2, "{out}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{out}"
        );
    }
    // No command at all is a usage error too.
    repo.tool(&[]).assert_code(2);
    assert_same_state(&before, &repo.capture());
}

// ----- JSON -------------------------------------------------------------------

#[test]
fn json_success_and_failure_objects() {
    let repo = TestRepo::with_commits();
    let out = repo.tool(&["--json", "checkpoint"]);
    out.assert_ok();
    let v = one_json_line(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["command"], "checkpoint");
    assert_eq!(v["tag"], "checkpoint-20261121_100405");
    assert_eq!(v["commit"], repo.head());
    assert!(v["operation_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(!out.stderr.contains("panicked"));

    // A failure is one object too, with the message and the exit code.
    let out = repo.tool(&["--json", "baseline", "show"]);
    out.assert_code(1);
    let v = one_json_line(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["command"], "baseline");
    assert_eq!(v["error"]["exit_code"], 1);
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("baseline set"), "hint: {message}");
    assert_eq!(
        out.stderr, "",
        "with --json the error is in the object only"
    );
}

#[test]
fn global_flags_work_after_the_subcommand() {
    let repo = TestRepo::with_commits();
    repo.tool_ok(&["checkpoint", "-m", "one"]);
    let v = one_json_line(&repo.tool_ok(&["checkpoint", "list", "--json"]));
    assert_eq!(v["command"], "checkpoint");
    assert_eq!(v["checkpoints"].as_array().unwrap().len(), 1);
    // -C after the subcommand too.
    let v = one_json_line(&repo.tool_in(
        repo.tmp_dir(),
        &["log", "--json", "-C", repo.path().to_str().unwrap()],
    ));
    assert_eq!(v["operations"].as_array().unwrap().len(), 1);
}

// ----- -C, --quiet, --color ------------------------------------------------------

#[test]
fn dash_c_runs_as_if_started_there() {
    let repo = TestRepo::with_commits();
    let elsewhere = repo.tmp_dir();
    let path = repo.path().to_str().unwrap();
    let out = repo.tool_in(elsewhere, &["-C", path, "--json", "checkpoint"]);
    out.assert_ok();
    assert_eq!(out.json()["commit"], repo.head());
    assert_eq!(
        repo.git(&["tag", "-l"]),
        "checkpoint-20261121_100405",
        "the tag is in the repository given with -C"
    );
    // A subdirectory of the work tree works as well.
    let out = repo.tool_in(elsewhere, &["-C", &format!("{path}/src"), "checkpoint"]);
    out.assert_ok();
    assert_eq!(repo.git(&["tag", "-l"]).lines().count(), 2);
    // A directory that does not exist is a clean error.
    let out = repo.tool_in(elsewhere, &["-C", &format!("{path}/no/such/dir"), "log"]);
    out.assert_failure();
    assert_one_line_error(&out);
}

#[test]
fn quiet_prints_nothing_but_errors() {
    let repo = TestRepo::with_commits();
    let out = repo.tool(&["-q", "checkpoint", "-m", "quiet one"]);
    out.assert_ok();
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(out.stderr, "", "{out}");
    assert_eq!(repo.git(&["tag", "-l"]), "checkpoint-20261121_100405");
    let out = repo.tool(&["--quiet", "log"]);
    out.assert_ok();
    assert_eq!(out.stdout, "", "{out}");
    // --json still gives its one object: a script asked for it.
    let v = one_json_line(&repo.tool_ok(&["-q", "--json", "checkpoint", "list"]));
    assert_eq!(v["checkpoints"][0]["name"], "checkpoint-20261121_100405");
    // Errors still show.
    let out = repo.tool(&["-q", "baseline", "show"]);
    out.assert_code(1);
    assert_one_line_error(&out);
}

/// A repository whose baseline's tests pass, so `baseline verify` prints ✓.
fn verified_repo() -> TestRepo {
    let repo = TestRepo::with_commits();
    repo.git(&["config", "rollback.testCommand", "echo '2 passed'"]);
    repo.tool_ok(&["baseline", "set"]);
    repo
}

#[test]
fn color_always_never_and_auto_on_a_pipe() {
    let repo = verified_repo();
    let out = repo.tool(&["--color", "always", "baseline", "verify"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("\x1b[32m✓\x1b[0m"),
        "--color always wraps ✓ in green\n{out:?}"
    );
    let out = repo.tool(&["--color", "never", "baseline", "verify"]);
    out.assert_ok();
    assert!(out.stdout.contains('✓'), "{out}");
    assert!(!out.stdout.contains('\x1b'), "--color never: {out:?}");
    // auto on a pipe: no colour, even without NO_COLOR.
    let out = repo.tool_with_env(&["baseline", "verify"], &[("NO_COLOR", "")]);
    out.assert_ok();
    assert!(out.stdout.contains('✓'), "{out}");
    assert!(!out.stdout.contains('\x1b'), "auto on a pipe: {out:?}");
    // JSON never carries escapes, whatever --color says.
    let out = repo.tool(&["--json", "--color", "always", "baseline", "verify"]);
    out.assert_ok();
    assert!(!out.stdout.contains('\x1b'), "{out:?}");
    assert_eq!(out.json()["passed"], 2);
}

/// Run the tool under `script(1)`, so stdout is a terminal; None when
/// `script` is not installed.
fn tool_on_a_terminal(repo: &TestRepo, args: &str, no_color: &str) -> Option<String> {
    let have_script = Command::new("sh")
        .args(["-c", "command -v script"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_script {
        return None;
    }
    let mut cmd = Command::new("script");
    repo.apply_env(&mut cmd);
    cmd.env("NO_COLOR", no_color)
        .current_dir(repo.path())
        .args(["-qec", &format!("'{TOOL_BIN}' {args}"), "/dev/null"]);
    let out = cmd.output().expect("run script");
    assert!(out.status.success(), "{out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn color_auto_follows_the_terminal_and_no_color() {
    let repo = verified_repo();
    let Some(colored) = tool_on_a_terminal(&repo, "baseline verify", "") else {
        crate::common::skip("script(1) is not installed", true);
        return;
    };
    assert!(
        colored.contains("\x1b[32m✓\x1b[0m"),
        "auto on a terminal colours ✓: {colored:?}"
    );
    let plain = tool_on_a_terminal(&repo, "baseline verify", "1").unwrap();
    assert!(plain.contains('✓'), "{plain:?}");
    assert!(
        !plain.contains("\x1b[32m") && !plain.contains("\x1b[1m"),
        "NO_COLOR turns colour off on a terminal: {plain:?}"
    );
}

// ----- exit code 3 ---------------------------------------------------------

#[test]
fn interrupted_operation_stops_changes_with_exit_3() {
    let repo = TestRepo::with_commits();
    let before = repo.capture();
    repo.tool_ok(&["checkpoint"]);
    // Make it look as if the process died before finishing: drop its `end`
    // record from the journal.
    let path = journal(&repo);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "a begin and an end record:\n{text}");
    assert!(lines[1].contains("\"end\""), "{text}");
    std::fs::write(&path, format!("{}\n", lines[0])).unwrap();

    let interrupted = repo.capture();
    repo.set_now("2026-11-21T11:00:00+00:00");
    let out = repo.tool(&["checkpoint"]);
    out.assert_code(3);
    assert_one_line_error(&out);
    assert!(out.stderr.contains("interrupted"), "{out}");
    assert!(out.stderr.contains("undo"), "says how to restore\n{out}");
    assert_same_state(&interrupted, &repo.capture());
    let v = repo.tool(&["--json", "checkpoint"]).json();
    assert_eq!(v["error"]["exit_code"], 3);

    // Read-only commands still run, with a warning.
    let out = repo.tool(&["checkpoint", "list"]);
    out.assert_ok();
    assert!(out.stderr.contains("interrupted"), "{out}");

    // And undo restores the state before the interrupted operation.
    repo.tool_ok(&["undo"]);
    assert_same_state(&before, &repo.capture());
}

// ----- log ----------------------------------------------------------------------

#[test]
fn log_lists_operations_newest_first_with_refs_created() {
    let repo = TestRepo::with_commits();
    let out = repo.tool(&["log"]);
    out.assert_ok();
    assert!(out.stdout.contains("empty"), "{out}");
    assert_eq!(
        repo.tool_ok(&["--json", "log"]).json()["operations"],
        serde_json::json!([])
    );

    repo.set_now("2026-11-21T10:00:00+00:00");
    let first = repo.tool_ok(&["--json", "checkpoint"]).json();
    repo.set_now("2026-11-21T10:05:00+00:00");
    let second = repo.tool_ok(&["--json", "baseline", "set"]).json();
    repo.set_now("2026-11-21T10:10:00+00:00");
    let third = repo.tool_ok(&["--json", "undo"]).json();
    let ids: Vec<&str> = [&first, &second, &third]
        .iter()
        .map(|v| v["operation_id"].as_str().unwrap())
        .collect();

    let v = repo.tool_ok(&["--json", "log"]).json();
    let ops = v["operations"].as_array().unwrap();
    let listed: Vec<&str> = ops.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(listed, vec![ids[2], ids[1], ids[0]], "newest first");
    assert_eq!(
        ops[2]["refs_created"],
        serde_json::json!(["refs/tags/checkpoint-20261121_100000"])
    );
    assert_eq!(
        ops[1]["refs_created"],
        serde_json::json!(["refs/tags/baseline"])
    );
    assert_eq!(ops[1]["undone_by"], ids[2]);
    assert_eq!(ops[0]["undoes"], ids[1]);
    assert!(ops[1]["command"].as_str().unwrap().contains("baseline set"));
    for op in ops {
        assert_eq!(op["outcome"], "done", "{op}");
    }

    // The text form, in the same order.
    let out = repo.tool_ok(&["log"]);
    let pos: Vec<usize> = ids
        .iter()
        .map(|id| {
            out.stdout
                .find(id)
                .unwrap_or_else(|| panic!("{id} missing\n{out}"))
        })
        .collect();
    assert!(pos[2] < pos[1] && pos[1] < pos[0], "newest first\n{out}");
    assert!(
        out.stdout
            .contains("created refs/tags/checkpoint-20261121_100000"),
        "{out}"
    );
}

#[test]
fn quoted_message_from_a_directory_with_a_space() {
    // The tag message and the journalled command line keep quotes intact.
    let repo = TestRepo::with_commits();
    let dir = repo.abs("sub dir");
    std::fs::create_dir_all(&dir).unwrap();
    let out = repo.tool_in(Path::new(&dir), &["checkpoint", "-m", "it's \"quoted\""]);
    out.assert_ok();
    let v = repo.tool_ok(&["--json", "checkpoint", "list"]).json();
    assert_eq!(v["checkpoints"][0]["message"], "it's \"quoted\"");
    let log = repo.tool_ok(&["--json", "log"]).json();
    let command = log["operations"][0]["command"].as_str().unwrap();
    assert!(command.contains("checkpoint -m"), "{command}");
}

/// `sh -c '<tool> <args> >&-'`: the tool with its stdout closed.
fn with_stdout_closed(repo: &TestRepo, args: &str) -> std::process::Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("\"$0\" {args} >&-"))
        .arg(TOOL_BIN)
        .current_dir(repo.path());
    repo.apply_env(&mut cmd);
    cmd.output().expect("run sh")
}

/// Errors printed as JSON to a closed stdout: the command's own exit code,
/// never a panic (exit 101).
#[test]
fn json_errors_to_a_closed_stdout_do_not_panic() {
    let repo = TestRepo::with_commits();
    for (args, code) in [
        ("--json statuz", 2),
        ("--json undo", 1),
        ("--json status", 0),
    ] {
        let out = with_stdout_closed(&repo, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args}: {stderr}");
    }
}

/// A `--json` usage error keeps clap's "did you mean" tip.
#[test]
fn a_json_usage_error_keeps_clap_s_tip() {
    let repo = TestRepo::with_commits();
    let out = repo.tool(&["--json", "emergency", "--reasn", "x"]);
    out.assert_code(2);
    let v = out.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["exit_code"], 2);
    let hint = v["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("'--reason'"), "{v}");
    let v = repo.tool(&["--json", "statu"]).json();
    let hint = v["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("'status'"), "{v}");
    // Without a tip, no hint.
    let out = repo.tool(&["--json", "emergency", "--no-such-flag-at-all"]);
    out.assert_code(2);
    assert!(out.json()["error"].get("hint").is_none(), "{out}");
}

/// Colour is decided per stream: with stdout on a terminal and stderr in
/// a file, the error in the file has no escape codes; on the terminal it
/// is coloured.
#[test]
fn stderr_colour_follows_stderr_not_stdout() {
    use crate::common::pty::Pty;
    let repo = TestRepo::with_commits();
    let log = repo.tmp_dir().join("err.log");
    let colour = [("NO_COLOR", "")];
    let mut pty = Pty::spawn_with_stderr(&repo, &["undo"], &colour, &log);
    assert_eq!(pty.wait(std::time::Duration::from_secs(20)), 1);
    let err = std::fs::read_to_string(&log).expect("read err.log");
    assert!(
        err.starts_with("error: there is nothing to undo"),
        "{err:?}"
    );
    assert!(!err.contains('\x1b'), "{err:?}");
    let mut pty = Pty::spawn_with_env(&repo, &["undo"], &colour);
    assert_eq!(pty.wait(std::time::Duration::from_secs(20)), 1);
    assert!(
        pty.transcript().contains("\\u{1b}[1m\\u{1b}[31merror:"),
        "{}",
        pty.transcript()
    );
}
