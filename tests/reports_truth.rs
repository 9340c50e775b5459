//! The reports say what git would say: `changes.txt` of a sprint rollback
//! is what `git diff --stat -M <baseline> <the sprint's work>` prints (at
//! 80 columns, output not a terminal), the reports folder left out;
//! `analysis.md` escapes only what markdown would misread.
//!
//! The stat tests are differential: the same two trees through the real
//! `git diff --stat -M`, compared byte for byte.

use std::process::Command;

use serde_json::Value;

use crate::common::TestRepo;

const SPRINT: &str = "refactor/sprint-3";

/// `git diff --stat -M from to -- . ':(exclude)rollbacks'` as git prints it
/// into a pipe: no `COLUMNS`, so 80 columns.
fn git_stat(repo: &TestRepo, from: &str, to: &str) -> String {
    let mut cmd = Command::new("git");
    repo.apply_env(&mut cmd);
    cmd.env_remove("COLUMNS").current_dir(repo.path()).args([
        "diff",
        "--stat",
        "-M",
        from,
        to,
        "--",
        ".",
        ":(exclude)rollbacks",
    ]);
    let out = cmd.output().expect("git runs");
    assert!(out.status.success(), "git diff failed: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// `sprint rollback --no-tests`, which must succeed: its JSON, the
/// `changes.txt` it wrote, and its backup branch.
fn rollback(repo: &TestRepo) -> (Value, String, String) {
    let out = repo.tool(&["--json", "sprint", "rollback", "--no-tests"]);
    out.assert_ok();
    let v: Value = out.json();
    let dir = v["reports_dir"].as_str().expect("reports_dir").to_string();
    let backup = v["backup_branch"]
        .as_str()
        .expect("backup_branch")
        .to_string();
    let ours = repo.read_string(format!("{dir}/changes.txt"));
    (v, ours, backup)
}

/// A baseline tagged at the current commit, and the sprint branch checked
/// out from it; `work` then changes the tree (committed, or left in the
/// work tree), and `sprint rollback` writes `changes.txt`, which must be
/// what git prints for the baseline against the backup branch (the
/// sprint's commits and its work in progress).
fn assert_stat_like_git(repo: &TestRepo, work: impl FnOnce(&TestRepo)) -> String {
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", SPRINT]);
    work(repo);
    let (v, ours, backup) = rollback(repo);
    let git = git_stat(repo, "baseline", &backup);
    assert!(!git.is_empty(), "the fixture changed nothing");
    assert_eq!(ours, git, "changes.txt differs from git diff --stat -M");
    assert_eq!(
        v["files_changed"].as_u64(),
        Some(git.lines().count() as u64 - 1),
        "files_changed counts the stat's lines"
    );
    ours
}

fn lines(n: usize, word: &str) -> String {
    (0..n).map(|i| format!("{word} line {i}\n")).collect()
}

/// A base repository with files to change, rename and delete.
fn base_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("README.md", "# Project\n\nAbout it.\n");
    repo.write("src/lib.rs", lines(40, "lib"));
    repo.write("src/old_name.rs", lines(30, "moved"));
    repo.write("src/util/helpers.rs", lines(25, "helper"));
    repo.write("docs/guide.md", lines(12, "guide"));
    repo.write("gone.txt", lines(7, "gone"));
    repo.write("assets/logo.bin", [0u8, 1, 2, 3, 0, 255, 254, 10, 0, 9]);
    repo.write("assets/icon.bin", [0u8; 64]);
    repo.commit_all("base");
    repo
}

#[test]
fn changes_txt_is_gits_stat_for_edits_additions_deletions_renames_and_binaries() {
    let repo = base_repo();
    let ours = assert_stat_like_git(&repo, |r| {
        // Modified: some lines added, some deleted.
        let mut lib = lines(40, "lib");
        lib = lib
            .replace("lib line 3\n", "")
            .replace("lib line 7\n", "changed\n");
        lib.push_str(&lines(5, "new lib"));
        r.write("src/lib.rs", lib);
        // Renamed as is, and renamed across folders with an edit.
        r.git(&["mv", "src/old_name.rs", "src/new_name.rs"]);
        r.mkdir("lib/util");
        r.git(&["mv", "src/util/helpers.rs", "lib/util/helpers.rs"]);
        let mut helpers = lines(25, "helper");
        helpers.push_str("one more helper line\n");
        r.write("lib/util/helpers.rs", helpers);
        // Deleted, added.
        r.remove("gone.txt");
        r.write("src/added.rs", lines(9, "added"));
        // Binary: modified, added, deleted.
        r.write(
            "assets/logo.bin",
            [0u8, 1, 2, 3, 0, 255, 254, 10, 0, 9, 8, 7],
        );
        r.write("assets/new.bin", [1u8, 0, 2, 0]);
        r.remove("assets/icon.bin");
        r.commit_all("sprint: half of it");
        // Work in progress, uncommitted and untracked.
        r.write("docs/guide.md", lines(14, "guide"));
        r.write("notes/todo.txt", lines(3, "todo"));
    });
    assert!(
        ours.lines()
            .any(|l| l.starts_with(" src/{old_name.rs => new_name.rs} |") && l.ends_with(" 0")),
        "{ours}"
    );
    assert!(ours.contains("{src => lib}/util/helpers.rs"), "{ours}");
    assert!(ours.contains("Bin 10 -> 12 bytes"), "{ours}");
}

#[test]
fn a_pure_deletion_is_all_minus_and_a_pure_addition_all_plus() {
    let repo = base_repo();
    let ours = assert_stat_like_git(&repo, |r| {
        r.remove("src/lib.rs");
        r.write("big/new.txt", lines(200, "added"));
        r.write("small.txt", lines(3, "small"));
        r.commit_all("sprint");
    });
    let line = |name: &str| {
        ours.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name}\n{ours}"))
            .to_string()
    };
    let graph = |l: &str| l.rsplit(' ').next().unwrap_or_default().to_string();
    assert!(
        graph(&line("src/lib.rs")).chars().all(|c| c == '-'),
        "{ours}"
    );
    assert!(
        graph(&line("big/new.txt")).chars().all(|c| c == '+'),
        "{ours}"
    );
    assert!(
        graph(&line("small.txt")).chars().all(|c| c == '+'),
        "{ours}"
    );
    // Scaled to the 80 columns git uses when not writing to a terminal.
    assert!(ours.lines().all(|l| l.len() <= 80), "{ours}");
}

#[test]
fn long_paths_are_shortened_as_git_shortens_them() {
    let repo = base_repo();
    let ours = assert_stat_like_git(&repo, |r| {
        r.write(
            "services/payments/internal/reconciliation/adapters/legacy_ledger_export_adapter.rs",
            lines(12, "adapter"),
        );
        r.write(
            "a_very_long_file_name_without_any_folder_that_goes_on_and_on_and_on.txt",
            lines(4, "long"),
        );
        r.write("src/lib.rs", lines(90, "lib"));
        r.commit_all("sprint");
    });
    assert!(ours.contains(" .../"), "{ours}");
}

#[test]
fn renamed_folders_modes_symlinks_and_odd_names_match_git() {
    let repo = base_repo();
    repo.write_exec("bin/run.sh", "#!/bin/sh\necho run\n");
    repo.write("target.txt", "target\n");
    repo.symlink("link", "target.txt");
    repo.write("odd name\twith tab.txt", "odd\n");
    repo.write("caf\u{e9}.txt", "coffee\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "more files"]);
    assert_stat_like_git(&repo, |r| {
        r.git(&["mv", "docs", "manual"]);
        r.chmod("bin/run.sh", 0o644);
        r.remove("link");
        r.symlink("link", "README.md");
        r.write("odd name\twith tab.txt", "odd\nodder\n");
        r.git(&["mv", "caf\u{e9}.txt", "th\u{e9}.txt"]);
        r.commit_all("sprint");
    });
}

#[test]
fn the_reports_folder_is_left_out_of_changes_txt() {
    let repo = base_repo();
    // A team that tracks its reports: the baseline has an older copy.
    repo.write("rollbacks/metrics.json", "{\"rollbacks\": []}\n");
    repo.write("rollbacks/notes.md", "old notes\n");
    repo.commit_all("track the reports");
    let ours = assert_stat_like_git(&repo, |r| {
        r.write("rollbacks/notes.md", "newer notes\nand more\n");
        r.write("src/lib.rs", lines(41, "lib"));
        r.commit_all("sprint");
    });
    assert!(!ours.contains("rollbacks"), "{ours}");
}

// ----- analysis.md: markdown that reads as written ---------------------------------------

const ANALYSIS: &str = "rollbacks/analysis-20261121_100405";

/// A baseline, a commit after it on `branch`, and an emergency rollback
/// with `reason`; then `analyze --no-tests`. Returns `analysis.md`.
fn analysis_after_emergency(branch: &str, reason: &str, subject: &str) -> String {
    let repo = TestRepo::new();
    repo.write("app.txt", "v1\n");
    repo.commit_all(subject);
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", branch]);
    repo.write("app.txt", "v2\n");
    repo.commit_all("attempt");
    repo.tool_ok(&["emergency", "--reason", reason]);
    repo.tool_ok(&["analyze", "--no-tests"]);
    repo.read_string(format!("{ANALYSIS}/analysis.md"))
}

/// The cells of a table row: split at the `|`s that are not escaped.
fn cells(row: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut escaped = false;
    for c in row.chars() {
        if c == '|' && !escaped {
            cells.push(String::new());
        } else if let Some(last) = cells.last_mut() {
            last.push(c);
        }
        escaped = c == '\\' && !escaped;
    }
    cells
        .into_iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

fn row<'a>(md: &'a str, key: &str) -> &'a str {
    md.lines()
        .find(|l| l.starts_with(&format!("| {key} |")))
        .unwrap_or_else(|| panic!("no `{key}` row\n{md}"))
}

#[test]
fn ordinary_text_is_not_escaped_in_analysis_md() {
    let reason = "tests failing (3 of 40) - see v1.2.3, it's 50% done; don't retry before 10:30.";
    let md = analysis_after_emergency(
        "feature/checkout-v2",
        reason,
        "add app.txt (first cut) - v1.0!",
    );
    assert!(md.contains(reason), "{md}");
    assert!(md.contains("add app.txt (first cut) - v1.0!"), "{md}");
    // Nothing the reader did not write: no backslash anywhere.
    assert!(!md.contains('\\'), "{md}");
    assert_eq!(
        cells(row(&md, "HEAD"))[1],
        format!("`feature/checkout-v2` at {}", &md_short_head(&md))
    );
}

/// The short commit id the HEAD row names.
fn md_short_head(md: &str) -> String {
    let head = row(md, "HEAD");
    head.rsplit(' ')
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches(" |")
        .to_string()
}

#[test]
fn what_markdown_would_misread_is_escaped_and_nothing_else() {
    let reason = "# Fix *now*: the_flag | `cfg` <b>bold</b> [x](y) _all_";
    let branch = "feature/a|b_c#d<e";
    let md = analysis_after_emergency(branch, reason, "subject with a|pipe and *stars*");
    let escaped = "\\# Fix \\*now\\*: the_flag | \\`cfg\\` \\<b>bold\\</b> \\[x\\](y) \\_all\\_";
    // In the timeline (a list item), the cause as written, made inert.
    assert!(
        md.lines()
            .any(|l| l.starts_with("* ") && l.ends_with(&format!(": {escaped}"))),
        "{md}"
    );
    // In the table, one cell each, the pipes escaped for the table only.
    let latest = cells(row(&md, "Latest rollback"));
    assert_eq!(latest.len(), 2, "{md}");
    assert!(latest[1].ends_with(&escaped.replace('|', "\\|")), "{md}");
    let head = cells(row(&md, "HEAD"));
    assert_eq!(head.len(), 2, "{md}");
    assert!(head[1].starts_with("`feature/a\\|b_c#d<e` at "), "{md}");
    let good = cells(row(&md, "Last good commit"));
    assert_eq!(good.len(), 2, "{md}");
    assert!(
        good[1].ends_with(": subject with a\\|pipe and \\*stars\\*"),
        "{md}"
    );
    // Commands and ids are code spans.
    assert!(md.contains("`git rollback-sprint undo "), "{md}");
    assert!(md.contains("not run (`--no-tests`)"), "{md}");
}

#[test]
fn typechanges_empty_files_control_characters_and_big_edits_match_git() {
    let repo = base_repo();
    repo.write("plain.txt", "was a file\n");
    repo.write("empty.txt", "");
    repo.write(
        "ctrl.txt",
        "a\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\nb\n",
    );
    repo.write("nonl.txt", "no newline at the end");
    repo.write("crlf.txt", "one\r\ntwo\r\n");
    repo.write("src/big.rs", lines(300, "big"));
    repo.commit_all("more kinds of file");
    assert_stat_like_git(&repo, |r| {
        r.remove("plain.txt");
        r.symlink("plain.txt", "README.md");
        r.write("empty.txt", "now has a line\n");
        r.write(
            "ctrl.txt",
            "a\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x11\nb\nc\n",
        );
        r.write("nonl.txt", "no newline at the end, still");
        r.write("crlf.txt", "one\r\nTWO\r\nthree\r\n");
        let big = lines(300, "big")
            .lines()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|(_, l)| format!("{l}\n"))
            .collect::<String>()
            + &lines(120, "more big");
        r.write("src/big.rs", big);
        r.write("new-empty.txt", "");
        r.commit_all("sprint");
    });
}

#[test]
fn analysis_md_says_what_the_recovery_time_measures_and_whether_it_was_verified() {
    let repo = TestRepo::new();
    repo.write("app.txt", "v1\n");
    repo.commit_all("good");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.write("app.txt", "v2\n");
    repo.commit_all("attempt");
    repo.git(&["config", "rollback.testCommand", "echo '1 passed'"]);
    repo.tool_ok(&["emergency", "--verify", "--since", "09:04"]);
    repo.tool_ok(&["analyze", "--no-tests"]);
    let md = repo.read_string(format!("{ANALYSIS}/analysis.md"));
    assert!(
        row(&md, "Recovery time").starts_with("| Recovery time | 60.083 min (the incident:"),
        "{md}"
    );
    assert!(
        row(&md, "Verified after the rollback").contains("yes: the tests passed"),
        "{md}"
    );
}

/// Past `diff.renameLimit` git pairs only files of identical content and
/// leaves similar ones as a deletion and an addition; so does
/// `changes.txt`. Under the limit (and with 0, git's "no limit") both pair
/// them by similarity. The exact rename is paired either way and does not
/// count against the limit.
#[test]
fn renames_by_similarity_stop_where_git_stops_at_the_rename_limit() {
    for limit in ["1", "0", "1000"] {
        let repo = base_repo();
        repo.git(&["config", "diff.renameLimit", limit]);
        for old in ["alpha", "gamma"] {
            repo.write(format!("old/{old}.txt"), lines(40, old));
        }
        repo.write("same/exact.txt", lines(30, "exact"));
        repo.commit_all("more");
        let ours = assert_stat_like_git(&repo, |r| {
            for (old, new) in [("alpha", "beta"), ("gamma", "delta")] {
                r.remove(format!("old/{old}.txt"));
                let mut text = lines(40, old);
                text.push_str("one more line\n");
                r.write(format!("new/{new}.txt"), text);
            }
            r.remove("same/exact.txt");
            r.write("moved/copied.txt", lines(30, "exact"));
            r.commit_all("sprint");
        });
        assert!(
            ours.contains("same/exact.txt => moved/copied.txt"),
            "limit {limit}: {ours}"
        );
        let similar = ours.contains("old/alpha.txt => new/beta.txt");
        assert_eq!(similar, limit != "1", "limit {limit}: {ours}");
    }
}

// ----- renames paired as git pairs them ---------------------------------------------------

/// `lines(n, word)` with the lines at `changed` rewritten (same length
/// give or take a byte).
fn edited(n: usize, word: &str, changed: &[usize]) -> String {
    (0..n)
        .map(|i| {
            if changed.contains(&i) {
                format!("{word} LINE {i}!\n")
            } else {
                format!("{word} line {i}\n")
            }
        })
        .collect()
}

/// A file that kept its name in another folder is paired with it when
/// 75% similar, before a more similar file of another name is looked at
/// (git's basename step; libgit2 would take the most similar).
#[test]
fn a_file_that_kept_its_name_in_another_folder_is_paired_first() {
    let repo = base_repo();
    repo.write("old/widget.c", lines(40, "widget"));
    repo.commit_all("widget");
    let ours = assert_stat_like_git(&repo, |r| {
        r.remove("old/widget.c");
        // 80% the same: enough for a file of the same name.
        r.write(
            "new/widget.c",
            edited(40, "widget", &[1, 5, 9, 13, 17, 21, 25, 29]),
        );
        // Nearly identical, but another name.
        let mut gadget = lines(40, "widget");
        gadget.push_str("one more line\n");
        r.write("new/gadget.c", gadget);
        r.commit_all("sprint");
    });
    assert!(ours.contains(" {old => new}/widget.c "), "{ours}");
    assert!(ours.contains(" new/gadget.c "), "{ours}");
}

/// Files of the same name only 70% alike are not paired by name (75%),
/// but by the matrix (50%), which still prefers the same name on a tie.
#[test]
fn a_same_named_file_under_three_quarters_alike_waits_for_the_matrix() {
    let repo = base_repo();
    repo.write("old/config.toml", lines(20, "config"));
    repo.write("old/other.toml", lines(20, "config"));
    repo.commit_all("config");
    let ours = assert_stat_like_git(&repo, |r| {
        r.remove("old/config.toml");
        r.remove("old/other.toml");
        r.write(
            "new/config.toml",
            edited(20, "config", &[0, 3, 6, 9, 12, 15]),
        );
        r.commit_all("sprint");
    });
    assert!(ours.contains(" {old => new}/config.toml "), "{ours}");
    assert!(ours.contains(" old/other.toml "), "{ours}");
}

/// Sizes alone rule a pair out when the difference exceeds half the
/// larger file: a file that grew from 10 lines to 22 is a new file, one
/// that grew to 19 a rename.
#[test]
fn files_too_different_in_size_are_not_renames() {
    let repo = base_repo();
    repo.write("grew/a_lot.txt", lines(10, "small"));
    repo.write("grew/a_little.txt", lines(10, "tiny"));
    repo.commit_all("small files");
    let ours = assert_stat_like_git(&repo, |r| {
        r.remove("grew/a_lot.txt");
        r.remove("grew/a_little.txt");
        r.write("big/lot.txt", lines(10, "small") + &lines(12, "added"));
        r.write("big/little.txt", lines(10, "tiny") + &lines(9, "extra"));
        r.commit_all("sprint");
    });
    assert!(ours.contains(" grew/a_lot.txt "), "{ours}");
    assert!(ours.contains(" big/lot.txt "), "{ours}");
    assert!(
        ours.contains(" grew/a_little.txt => big/little.txt "),
        "{ours}"
    );
}

/// Equally similar sources: the one with the destination's file name
/// wins, and among those the first in path order; equally similar
/// destinations: the first in path order gets the source.
#[test]
fn ties_go_to_the_same_file_name_then_to_path_order() {
    let repo = base_repo();
    for path in ["a/x.txt", "b/z.txt", "c/z.txt"] {
        repo.write(path, lines(30, "tie"));
    }
    repo.write("s/m.txt", lines(30, "shared"));
    repo.commit_all("twins");
    let ours = assert_stat_like_git(&repo, |r| {
        for path in ["a/x.txt", "b/z.txt", "c/z.txt", "s/m.txt"] {
            r.remove(path);
        }
        r.write("d/z.txt", lines(30, "tie") + "extra\n");
        r.write("t/one.txt", lines(30, "shared") + "one\n");
        r.write("t/two.txt", lines(30, "shared") + "two\n");
        r.commit_all("sprint");
    });
    assert!(ours.contains(" {b => d}/z.txt "), "{ours}");
    assert!(ours.contains(" s/m.txt => t/one.txt "), "{ours}");
    assert!(ours.contains(" t/two.txt "), "{ours}");
}

/// Several deleted files with the content of one added file: the one with
/// its file name wins, else the first in path order; each is used once.
/// Empty files are renamed like any other.
#[test]
fn an_exact_rename_among_identical_sources_prefers_the_same_name() {
    let repo = base_repo();
    for path in ["a/data.txt", "b/data.txt", "c/other.txt"] {
        repo.write(path, lines(8, "same"));
    }
    repo.write("e/empty1", "");
    repo.write("e/empty2", "");
    repo.commit_all("identical files");
    let ours = assert_stat_like_git(&repo, |r| {
        for path in [
            "a/data.txt",
            "b/data.txt",
            "c/other.txt",
            "e/empty1",
            "e/empty2",
        ] {
            r.remove(path);
        }
        r.write("y/new.txt", lines(8, "same"));
        r.write("z/other.txt", lines(8, "same"));
        r.write("f/empty2", "");
        r.commit_all("sprint");
    });
    assert!(ours.contains(" a/data.txt => y/new.txt "), "{ours}");
    assert!(ours.contains(" {c => z}/other.txt "), "{ours}");
    assert!(ours.contains(" b/data.txt "), "{ours}");
    assert!(
        ours.contains(" e/{empty2 => f/empty2} ") || ours.contains(" {e => f}/empty2 "),
        "{ours}"
    );
}

/// Moves between folders of any depth, with edits; a symlink is renamed
/// only unchanged, and never paired with a file that holds its target.
#[test]
fn renames_across_folders_and_symlinks_match_git() {
    let repo = base_repo();
    repo.write("src/net/http/client.rs", lines(50, "client"));
    repo.write("a/b/c/deep.txt", lines(20, "deep"));
    repo.write("top.txt", lines(20, "top"));
    repo.symlink("links/to-readme", "README.md");
    repo.symlink("links/to-lib", "src/lib.rs");
    repo.commit_all("folders");
    let ours = assert_stat_like_git(&repo, |r| {
        r.remove("src/net/http/client.rs");
        r.write("lib/http/client.rs", edited(50, "client", &[10, 20]));
        r.remove("a/b/c/deep.txt");
        r.write("deep.txt", lines(20, "deep") + "more\n");
        r.remove("top.txt");
        r.write("x/y/z/top.txt", lines(20, "top"));
        r.remove("links/to-readme");
        r.symlink("moved/to-readme", "README.md");
        r.remove("links/to-lib");
        r.write("lib-path.txt", "src/lib.rs");
        r.commit_all("sprint");
    });
    assert!(ours.contains("{src/net => lib}/http/client.rs"), "{ours}");
    assert!(ours.contains("{links => moved}/to-readme"), "{ours}");
    assert!(ours.contains(" links/to-lib "), "{ours}");
}

/// Past `diff.renameLimit` git still pairs identical files and files that
/// kept their name in another folder (both come before the limit); only
/// the matrix is skipped.
#[test]
fn past_the_rename_limit_same_named_files_are_still_paired() {
    let repo = base_repo();
    repo.git(&["config", "diff.renameLimit", "1"]);
    for name in ["one", "two", "three"] {
        repo.write(format!("old/{name}.txt"), lines(30, name));
    }
    repo.write("old/renamed.txt", lines(30, "renamed"));
    repo.write("old/other.txt", lines(30, "other"));
    repo.commit_all("files");
    let ours = assert_stat_like_git(&repo, |r| {
        for name in ["one", "two", "three"] {
            r.remove(format!("old/{name}.txt"));
            r.write(format!("new/{name}.txt"), lines(30, name) + "edit\n");
        }
        r.remove("old/renamed.txt");
        r.write("new/new-name.txt", lines(30, "renamed") + "edit\n");
        r.remove("old/other.txt");
        r.write("new/other-name.txt", lines(30, "other") + "edit\n");
        r.commit_all("sprint");
    });
    assert!(ours.contains(" {old => new}/two.txt "), "{ours}");
    assert!(ours.contains(" old/renamed.txt "), "{ours}");
    assert!(ours.contains(" new/new-name.txt "), "{ours}");
}

/// A sprint that touches many files: the stat's lines are counted on two
/// threads and put back in git's order.
#[test]
fn a_stat_of_many_files_keeps_gits_order() {
    let repo = base_repo();
    for i in 0..80 {
        repo.write(format!("many/f{i:02}.txt"), lines(10 + i, "many"));
    }
    repo.commit_all("many files");
    let ours = assert_stat_like_git(&repo, |r| {
        for i in 0..80 {
            match i % 4 {
                0 => r.write(format!("many/f{i:02}.txt"), lines(12 + i, "many")),
                1 => r.remove(format!("many/f{i:02}.txt")),
                2 => {
                    r.remove(format!("many/f{i:02}.txt"));
                    r.write(format!("moved/f{i:02}.txt"), lines(10 + i, "many") + "x\n");
                }
                _ => r.write(format!("fresh/g{i:02}.txt"), lines(i, "fresh")),
            }
        }
        r.commit_all("sprint");
    });
    // More than the stat counts on one thread (64 files).
    assert_eq!(ours.lines().count(), 81, "{ours}");
}

/// Many renames by similarity, in groups of near twins: the matrix (more
/// than 20,000 pairs, computed on two threads) breaks every tie as git
/// does.
#[test]
fn a_large_matrix_of_near_twins_is_paired_as_git_pairs_it() {
    let repo = base_repo();
    let group = |i: usize| lines(20, &format!("group {}", i % 7));
    for i in 0..150 {
        repo.write(format!("old/a{i:03}.txt"), group(i) + &format!("{i}\n"));
    }
    repo.commit_all("twins");
    let ours = assert_stat_like_git(&repo, |r| {
        for i in 0..150 {
            r.remove(format!("old/a{i:03}.txt"));
            r.write(
                format!("new/b{i:03}.txt"),
                group(i * 3) + &format!("new {i}\n"),
            );
        }
        r.commit_all("sprint");
    });
    assert!(ours.contains(" => new/b"), "{ours}");
}

/// A sprint over hundreds of files: the switch to the baseline reads the
/// blobs on its writer threads (from 128 files) while the stat counts on
/// two threads (from 64), and each baseline blob is read once for both
/// (`git/shared_blobs.rs`). The stat is still git's, every file is back
/// at the baseline's bytes, and undo puts the sprint back exactly.
#[test]
fn a_sprint_of_hundreds_of_files_is_stated_as_git_and_written_as_the_baseline() {
    let repo = base_repo();
    for i in 0..240 {
        repo.write(
            format!("mod{}/file{i:03}.txt", i % 12),
            lines(30 + i % 17, &format!("file {i}")),
        );
    }
    repo.commit_all("many files");
    repo.git(&["tag", "-a", "baseline", "-m", "known good"]);
    repo.git(&["checkout", "-q", "-b", SPRINT]);
    for i in 0..240 {
        let path = format!("mod{}/file{i:03}.txt", i % 12);
        match i % 6 {
            // Deleted, or moved to another folder (a rename).
            0 => repo.remove(&path),
            1 => {
                repo.remove(&path);
                repo.write(
                    format!("moved/file{i:03}.txt"),
                    lines(30 + i % 17, &format!("file {i}")),
                );
            }
            // Three lines edited.
            _ => repo.write(
                &path,
                edited(30 + i % 17, &format!("file {i}"), &[i % 7, 12, 20]),
            ),
        }
    }
    repo.commit_all("sprint");
    // Work in progress on top: edits, and new files.
    for i in (2..240).step_by(6) {
        repo.write(
            format!("mod{}/file{i:03}.txt", i % 12),
            lines(8, "in progress"),
        );
    }
    repo.write("new/draft.txt", lines(5, "draft"));
    let before = repo.capture();
    let (_, ours, backup) = rollback(&repo);
    assert_eq!(ours, git_stat(&repo, "baseline", &backup));
    assert!(ours.lines().count() > 200, "{ours}");
    // The work tree and the index are the baseline's, the reports aside.
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    let left: Vec<&str> = status
        .lines()
        .filter(|l| !l.contains("rollbacks/"))
        .collect();
    assert!(left.is_empty(), "not the baseline: {left:?}");
    assert_eq!(
        repo.git(&["rev-parse", "HEAD^{tree}"]),
        repo.git(&["rev-parse", "baseline^{tree}"])
    );
    let undone = repo.tool(&["undo"]);
    undone.assert_ok();
    crate::common::assert_same_except_reports(&before, &repo.capture());
}

/// The stat of what the sprint committed is computed while the work tree
/// is read, and the report's stat reuses its line counts and rename
/// hashes: uncommitted work that undoes, breaks and re-pairs the committed
/// renames, additions and edits must still be stated as git states it.
#[test]
fn uncommitted_work_that_repairs_the_committed_renames_is_stated_as_git_states_it() {
    let repo = base_repo();
    repo.write("old/alpha.txt", lines(40, "alpha"));
    repo.write("old/gamma.txt", lines(40, "gamma"));
    repo.write("keep.txt", lines(20, "keep"));
    repo.commit_all("more");
    let ours = assert_stat_like_git(&repo, |r| {
        // Committed: a rename with an edit, a deletion, an addition, an
        // edit.
        r.remove("old/alpha.txt");
        let mut beta = lines(40, "alpha");
        beta.push_str("one more line\n");
        r.write("new/beta.txt", beta);
        r.remove("gone.txt");
        r.write("added.txt", lines(9, "added"));
        let mut keep = lines(20, "keep");
        keep.push_str("kept more\nand more\n");
        r.write("keep.txt", keep);
        r.commit_all("sprint: committed half");
        // Uncommitted: the renamed file rewritten (no longer a rename),
        // the old file back under a new name (an exact rename), the edit
        // undone, the deleted file's content back under a new name, the
        // added file deleted, another file edited.
        r.write("new/beta.txt", lines(12, "unrelated"));
        r.write("new/alpha_copy.txt", lines(40, "alpha"));
        r.write("keep.txt", lines(20, "keep"));
        r.write("restored.txt", lines(7, "gone"));
        r.remove("added.txt");
        r.write("old/gamma.txt", edited(40, "gamma", &[3, 9]));
    });
    assert!(
        ours.contains("old/alpha.txt => new/alpha_copy.txt"),
        "{ours}"
    );
    assert!(ours.contains("gone.txt => restored.txt"), "{ours}");
    assert!(!ours.contains("keep.txt"), "{ours}");
    assert!(!ours.contains("added.txt"), "{ours}");
}
