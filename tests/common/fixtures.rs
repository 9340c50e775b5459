//! Builders for the awkward repository states that the tool must survive.
//!
//! They write through [`TestRepo`] (real files, real `git`), so every
//! fixture is deterministic: the same calls give the same commit ids and the
//! same captured state.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::repo::TestRepo;

/// Write untracked files with awkward names at the top of the work tree and
/// return their relative paths (in creation order). Each file's content is
/// `odd file <n>\n`.
///
/// Names: spaces, unicode, a newline, a leading dash (`-rf`), glob
/// characters (`x*`, `a?b`, `[ab]`), a tab, a double quote, a backslash, a
/// leading space, an odd name inside a directory with a space, and a
/// non-UTF-8 name (`non-utf8-` followed by bytes 0xff 0xfe).
pub fn odd_names(repo: &TestRepo) -> Vec<PathBuf> {
    let names: Vec<PathBuf> = vec![
        PathBuf::from("with space.txt"),
        PathBuf::from("ünïcødé.txt"),
        PathBuf::from("new\nline.txt"),
        PathBuf::from("-rf"),
        PathBuf::from("x*"),
        PathBuf::from("a?b"),
        PathBuf::from("[ab]"),
        PathBuf::from("tab\there.txt"),
        PathBuf::from("quo\"te.txt"),
        PathBuf::from("back\\slash.txt"),
        PathBuf::from(" leading space.txt"),
        PathBuf::from("odd dir/ünïcødé inner.txt"),
        PathBuf::from(OsStr::from_bytes(b"non-utf8-\xff\xfe")),
    ];
    for (i, name) in names.iter().enumerate() {
        repo.write(name, format!("odd file {i}\n"));
    }
    names
}

/// Make every kind of local change at once, on a repository built by
/// [`TestRepo::with_commits`]. HEAD does not move. Afterwards:
///
/// | path                     | state                                                        |
/// |--------------------------|--------------------------------------------------------------|
/// | `README.md`              | modified and staged; work tree == index != HEAD               |
/// | `src/lib.rs`             | staged v2, work tree v3: HEAD != index != work tree           |
/// | `src/main.rs`            | modified, not staged                                          |
/// | `tests/unit/test_lib.py` | deleted from the work tree (not staged); `tests/unit/` stays as an empty dir |
/// | `bin/run.sh`             | exec bit removed (0755 -> 0644), not staged                   |
/// | `docs/guide.md`          | regular file replaced by symlink `-> ../README.md`, not staged |
/// | `config/settings.toml`   | tracked, content unchanged, mode 0600 (invisible to git)      |
/// | `src/new.rs`             | new file, staged                                              |
/// | `ita.txt`                | new file added with `git add -N` (intent-to-add)             |
/// | `assets/blob.bin`        | untracked binary file, bytes 0..=255                          |
/// | `newdir/u.txt`           | untracked, in a new directory ...                             |
/// | `newdir/sub/x.log`       | ... next to an ignored file (`*.log`) in that same directory  |
/// | `.env`                   | ignored                                                       |
/// | `target/debug/app`       | ignored (`target/`), executable                               |
/// | `notes/private.txt`      | untracked, mode 0600                                          |
/// | `empty/dir`              | empty untracked directory                                     |
#[track_caller]
pub fn dirty_everything(repo: &TestRepo) {
    for needed in [
        "README.md",
        "src/lib.rs",
        "src/main.rs",
        "tests/unit/test_lib.py",
        "bin/run.sh",
        "docs/guide.md",
        "config/settings.toml",
    ] {
        assert!(
            repo.exists(needed),
            "dirty_everything needs a repo from TestRepo::with_commits(); {needed} is missing"
        );
    }

    // Staged change whose work tree matches the index.
    repo.write(
        "README.md",
        "# Demo project\n\nA repository for tests.\nStaged line.\n",
    );
    repo.git(&["add", "--", "README.md"]);

    // Staged content differs from both HEAD and the work tree.
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a + b // staged v2\n}\n",
    );
    repo.git(&["add", "--", "src/lib.rs"]);
    repo.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a + b // work tree v3\n}\n\npub fn sub(a: i32, b: i32) -> i32 {\n    a - b\n}\n",
    );

    // Unstaged modification.
    repo.write(
        "src/main.rs",
        "fn main() {\n    println!(\"{}\", demo::add(40, 2));\n}\n",
    );

    // Deleted tracked file (its directory stays, now empty).
    repo.remove("tests/unit/test_lib.py");

    // Exec bit removed.
    repo.chmod("bin/run.sh", 0o644);

    // Regular file turned into a symlink.
    repo.symlink("docs/guide.md", "../README.md");

    // Permission change git does not see (0644 -> 0600).
    repo.chmod("config/settings.toml", 0o600);

    // New staged file.
    repo.write("src/new.rs", "pub const NEW: u8 = 1;\n");
    repo.git(&["add", "--", "src/new.rs"]);

    // Intent-to-add.
    repo.write("ita.txt", "intent to add\n");
    repo.git(&["add", "-N", "--", "ita.txt"]);

    // Untracked binary.
    let bytes: Vec<u8> = (0..=255u8).collect();
    repo.write("assets/blob.bin", bytes);

    // Untracked file in a new directory next to an ignored file there.
    repo.write("newdir/u.txt", "untracked in new dir\n");
    repo.write("newdir/sub/x.log", "ignored log line\n");

    // Ignored files.
    repo.write(".env", "SECRET=hunter2\n");
    repo.write_exec("target/debug/app", b"\x7fELF fake binary\n");

    // Untracked file with mode 0600.
    repo.write("notes/private.txt", "private notes\n");
    repo.chmod("notes/private.txt", 0o600);

    // Empty untracked directory.
    repo.mkdir("empty/dir");
}

/// Make `n` small commits, each adding a new file `history/file-<k>.txt`
/// (the first unused k) and committing only that path, so other local
/// changes stay as they are. Returns the new commit oids, oldest first.
#[track_caller]
pub fn commit_history(repo: &TestRepo, n: usize) -> Vec<String> {
    let mut oids = Vec::with_capacity(n);
    let mut k = 0usize;
    for _ in 0..n {
        while repo.exists(format!("history/file-{k}.txt")) {
            k += 1;
        }
        let rel = format!("history/file-{k}.txt");
        repo.write(&rel, format!("history entry {k}\n"));
        repo.git(&["add", "--", &rel]);
        repo.git(&[
            "commit",
            "-q",
            "-m",
            &format!("history: add file {k}"),
            "--",
            &rel,
        ]);
        oids.push(repo.head());
    }
    oids
}

/// Give every file of the object store the modification time `when`
/// (anything `touch -d` reads: `@<seconds>`, `2026-11-21T09:30:00Z`), so
/// that the times `rescue` shows for lost objects are fixed.
pub fn set_object_times(repo: &TestRepo, when: &str) {
    let objects = repo.git_dir().join("objects");
    let out = std::process::Command::new("find")
        .arg(&objects)
        .args(["-type", "f", "-exec", "touch", "-m", "-d", when, "{}", "+"])
        .output()
        .expect("run find");
    assert!(
        out.status.success(),
        "touch the objects: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The ids of the items `rescue --json` lists, newest first.
#[track_caller]
pub fn rescue_ids(repo: &TestRepo) -> Vec<String> {
    let listed = repo.tool(&["--json", "rescue"]);
    listed.assert_ok();
    listed.json()["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["id"].as_str().map(str::to_string))
        .collect()
}

/// Bytes zlib cannot shrink, different for every `seed`.
pub fn incompressible(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
