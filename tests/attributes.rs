//! The reading of attribute files that decides which files go through
//! git's checkout conversions (src/git/attributes.rs), checked against
//! `git check-attr`: every path git gives a converting attribute (`eol`
//! other than `lf`, `crlf`, `ident`, `filter`, `working-tree-encoding`) in
//! any state must be one the tool filters. It may filter more: filtering
//! a file that does not convert costs time, never bytes.

use proptest::prelude::*;

use git_rollback_sprint::git::attributes::ConvertingRules;

use crate::common::TestRepo;

/// The paths `git check-attr` gives a converting attribute.
fn git_converts(repo: &TestRepo, paths: &[String]) -> Vec<String> {
    let out = repo.git_with_stdin(
        &[
            "check-attr",
            "--stdin",
            "eol",
            "crlf",
            "ident",
            "filter",
            "working-tree-encoding",
        ],
        paths.join("\n").as_bytes(),
    );
    let mut found: Vec<String> = out
        .lines()
        .filter_map(|line| {
            let (path, rest) = line.rsplit_once(": ")?;
            let (path, attr) = path.rsplit_once(": ")?;
            let converts = rest != "unspecified" && !(attr == "eol" && rest == "lf");
            converts.then(|| path.to_string())
        })
        .collect();
    found.dedup();
    found
}

/// The rules of the attribute files, as the tool reads them.
fn rules_of(files: &[(&str, String)]) -> ConvertingRules {
    let mut rules = ConvertingRules::new(false);
    for (dir, content) in files {
        rules.add_file(dir.as_bytes(), content.as_bytes());
    }
    rules
}

fn write_files(repo: &TestRepo, files: &[(&str, String)]) {
    for (dir, content) in files {
        let path = if dir.is_empty() {
            ".gitattributes".to_string()
        } else {
            format!("{dir}/.gitattributes")
        };
        repo.write(&path, content);
    }
}

#[test]
fn every_path_git_converts_is_filtered_and_plain_ones_are_not() {
    let repo = TestRepo::new();
    let files = vec![
        (
            "",
            "* whitespace=trail diff\n*.bat text eol=crlf\n*.sh text eol=lf\n\
             /docs/**/*.md eol=crlf\n# *.txt eol=crlf\n\"q z.txt\" ident\n\
             bin/ -text\nCODE.md -whitespace\n"
                .to_string(),
        ),
        (
            "conv",
            "*.id ident\ndeep/[ab]*.txt eol=crlf\nlf.txt -eol\n?.enc working-tree-encoding=UTF-16\n\
             *.lfs filter=lfs diff=lfs merge=lfs -text\nold.txt crlf\n"
                .to_string(),
        ),
    ];
    write_files(&repo, &files);
    let paths: Vec<String> = [
        "run.bat",
        "tools/run.bat",
        "run.sh",
        "docs/guide.md",
        "docs/a/b/deep.md",
        "notes.md",
        "plain.txt",
        "q z.txt",
        "conv/x.id",
        "conv/deep/a1.txt",
        "conv/deep/c1.txt",
        "conv/lf.txt",
        "conv/sub/deep/b.txt",
        "conv/u.enc",
        "conv/big.lfs",
        "conv/old.txt",
        "other/x.id",
        "src/main.c",
        "CODE.md",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let git = git_converts(&repo, &paths);
    let rules = rules_of(&files);
    for path in &git {
        assert!(
            rules.may_convert(path.as_bytes()),
            "{path}: git converts it"
        );
    }
    // The rules do not reach files they cannot apply to.
    for plain in [
        "run.sh",
        "notes.md",
        "plain.txt",
        "other/x.id",
        "src/main.c",
        "CODE.md",
    ] {
        assert!(!git.contains(&plain.to_string()), "{plain}");
        assert!(!rules.may_convert(plain.as_bytes()), "{plain}");
    }
    assert!(git.len() >= 10, "{git:?}");
}

#[test]
fn a_macro_definition_makes_every_path_a_candidate() {
    let files = vec![("", "[attr]crlfish text eol=crlf\n*.c crlfish\n".to_string())];
    let rules = rules_of(&files);
    assert!(rules.may_convert(b"src/main.c"));
    assert!(rules.may_convert(b"README"));
}

#[test]
fn with_core_ignorecase_rules_match_whatever_the_case() {
    let repo = TestRepo::new();
    repo.git(&["config", "core.ignorecase", "true"]);
    let files = vec![("Docs", "*.BAT eol=crlf\n".to_string())];
    write_files(&repo, &files);
    let paths = vec!["Docs/run.bat".to_string(), "docs/RUN.bat".to_string()];
    let git = git_converts(&repo, &paths);
    assert!(!git.is_empty(), "git converts none of {paths:?}");
    let mut rules = ConvertingRules::new(true);
    for (dir, content) in &files {
        rules.add_file(dir.as_bytes(), content.as_bytes());
    }
    for path in &git {
        assert!(
            rules.may_convert(path.as_bytes()),
            "{path}: git converts it"
        );
    }
}

#[test]
fn files_without_converting_rules_convert_nothing() {
    let files = vec![
        (
            "",
            "* text=auto\n*.sh text eol=lf\n*.png binary\n".to_string(),
        ),
        ("a", "*.c diff=cpp whitespace=indent\n".to_string()),
    ];
    let rules = rules_of(&files);
    assert!(rules.is_empty());
    assert!(!rules.may_convert(b"a/x.c"));
}

fn segment() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "ab",
        "x.bat",
        "d.md",
        "*",
        "?",
        "**",
        "*.bat",
        "[ab]",
        "[!a]*",
        "a?",
        "\\a",
        "*b",
        "[a-c]d.md",
    ])
    .prop_map(str::to_string)
}

fn pattern() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(segment(), 1..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(segs, lead, trail)| {
            let mut p = segs.join("/");
            if lead {
                p.insert(0, '/');
            }
            if trail {
                p.push('/');
            }
            p
        })
}

fn attribute() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "eol=crlf", "ident", "-eol", "eol=lf", "filter=x", "crlf", "text", "-text", "!ident",
    ])
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "ab", "x.bat", "d.md", "cd.md", "bb"]),
        1..5,
    )
    .prop_map(|segs| segs.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn what_git_converts_the_rules_never_miss(
        lines in prop::collection::vec(
            (prop::sample::select(vec!["", "a", "a/b", "b"]), pattern(), attribute()),
            1..8,
        ),
        paths in prop::collection::vec(path(), 1..24),
    ) {
        let repo = TestRepo::new();
        let mut by_dir: Vec<(&str, String)> = Vec::new();
        for (dir, pattern, attr) in &lines {
            let line = format!("{pattern} {attr}\n");
            match by_dir.iter_mut().find(|(d, _)| d == dir) {
                Some((_, content)) => content.push_str(&line),
                None => by_dir.push((dir, line)),
            }
        }
        write_files(&repo, &by_dir);
        let rules = rules_of(&by_dir);
        for path in git_converts(&repo, &paths) {
            prop_assert!(
                rules.may_convert(path.as_bytes()),
                "{path}: git converts it under {by_dir:?}"
            );
        }
    }
}
