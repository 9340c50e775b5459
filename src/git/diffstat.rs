//! `git diff --stat -M` between two trees, as git prints it when its output
//! is not a terminal (80 columns): renames detected and named as git names
//! them (`a => b`, `dir/{a => b}/c`), binary files as `Bin X -> Y bytes`,
//! the name and graph widths, the scaling of the graph and the summary
//! line all as in git's `show_stats` (diff.c).
//!
//! libgit2 finds the changed paths (its tree-to-tree diff, in git's order);
//! the renames are paired by `renames.rs`, which follows git's own
//! rename detection step by step, because libgit2's (`find_similar`)
//! measures similarity differently and pairs other files on real
//! histories (docs/design.md, "The diff stat of `changes.txt`"). What
//! libgit2 prints for a stat differs from git too (no rename names, other
//! widths, its own binary test), so the text is made here. Line counts
//! come from the same xdiff git uses, with every file taken as text unless
//! git would call it binary (a NUL in its first 8000 bytes).

use std::collections::HashMap;

use anyhow::Context as _;
use git2::{Delta, DiffOptions, Oid, Repository};

use super::renames;
use super::shared_blobs::SharedBlobs;

/// git's stat width when its output is not a terminal.
pub const WIDTH: usize = 80;

/// One line of the stat, before it is laid out.
struct FileStat {
    name: String,
    added: u64,
    deleted: u64,
    binary: bool,
}

/// The stat of `from` → `to` (trees) at `width` columns, and the number of
/// files it lists. Empty when the trees are the same.
pub fn diff_stat(
    repo: &Repository,
    from: Oid,
    to: Oid,
    width: usize,
) -> anyhow::Result<(String, usize)> {
    diff_stat_sharing(repo, from, to, width, None, &mut Known::default())
}

/// [`diff_stat`], the blobs of `from` read once with another reader of
/// them (`shared_blobs`): the writer of the work tree beside it. What an
/// earlier stat learned (`known`, see [`learn`]) is used, not computed
/// again.
pub fn diff_stat_sharing(
    repo: &Repository,
    from: Oid,
    to: Oid,
    width: usize,
    shared: Option<&SharedBlobs>,
    known: &mut Known,
) -> anyhow::Result<(String, usize)> {
    let files = file_stats(
        repo,
        from,
        to,
        shared,
        known,
        rename_limit(repo),
        Pass::Stat,
    )?;
    Ok((layout(&files, width), files.len()))
}

/// What computing a stat learns that does not depend on the trees, only
/// on the blobs: the sizes and span hashes of rename candidates, and the
/// lines added and deleted between two contents. A stat of trees that
/// share most of their changes with an earlier one (the work tree's
/// against the baseline, after HEAD's) reads and diffs only the rest.
#[derive(Debug, Default)]
pub struct Known {
    renames: renames::Known,
    counts: HashMap<(SideKey, SideKey), Counted>,
}

/// Whether a stat is wanted, or only what computing it teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Stat,
    Learning,
}

/// What a side's content is made of: nothing, or a blob or a submodule
/// commit ([`content`] reads nothing else).
type SideKey = Option<(Oid, bool)>;

/// A file's lines added and deleted (bytes when binary).
#[derive(Debug, Clone, Copy)]
struct Counted {
    added: u64,
    deleted: u64,
    binary: bool,
}

/// The stat of `from` → `to` computed for what it teaches a later stat
/// ([`Known`]); the blobs of `from` shared as [`diff_stat_sharing`] does.
pub fn learn(
    repo: &Repository,
    from: Oid,
    to: Oid,
    shared: Option<&SharedBlobs>,
) -> anyhow::Result<Known> {
    let mut known = Known::default();
    // The similarity matrix itself is not learned (only the blobs' span
    // hashes), and a later stat with a few more added or deleted files can
    // pass the limit and need none of it: it is computed only far below
    // the limit, at half of it (a quarter of the pairs).
    let limit = match rename_limit(repo) {
        limit if limit > 0 => (limit / 2).max(1),
        none => none,
    };
    file_stats(repo, from, to, shared, &mut known, limit, Pass::Learning)?;
    Ok(known)
}

/// One path of the tree-to-tree diff, before renames are paired.
struct Change {
    status: Delta,
    old: Side,
    new: Side,
}

/// One side of a change: what libgit2 says of it.
struct Side {
    path: Vec<u8>,
    id: Oid,
    mode: git2::FileMode,
}

impl Side {
    fn of(file: git2::DiffFile<'_>) -> Self {
        Side {
            path: file.path_bytes().unwrap_or_default().to_vec(),
            id: file.id(),
            mode: file.mode(),
        }
    }

    fn as_rename_file(&self) -> renames::File<'_> {
        renames::File {
            path: &self.path,
            id: self.id,
            mode: u32::from(self.mode),
        }
    }
}

/// Changes are counted half on this thread and half on a second one (with
/// a repository handle of its own) from this many: inflating and diffing
/// the blobs is what a stat spends its time on.
const ON_TWO_THREADS_FROM: usize = 64;

fn file_stats(
    repo: &Repository,
    from: Oid,
    to: Oid,
    shared: Option<&SharedBlobs>,
    known: &mut Known,
    rename_limit: i64,
    pass: Pass,
) -> anyhow::Result<Vec<FileStat>> {
    let quote_path = repo
        .config()
        .and_then(|c| c.get_bool("core.quotepath"))
        .unwrap_or(true);
    let mut changes = changes_with_renames(repo, from, to, &mut known.renames, rename_limit)?;
    if pass == Pass::Learning {
        // An added or deleted file left unpaired may well be one of a
        // rename in the later stat, whose counts are of the pair.
        changes.retain(|c| !matches!(c.status, Delta::Added | Delta::Deleted));
    }
    let counts = &known.counts;
    let here = |part: &[Change]| -> anyhow::Result<Vec<FileStat>> {
        part.iter()
            .map(|change| file_stat(repo, change, quote_path, shared, counts))
            .collect()
    };
    let files = if changes.len() < ON_TWO_THREADS_FROM || crate::walk::threads() < 2 {
        here(&changes)?
    } else {
        let git_dir = repo.path().to_path_buf();
        crate::walk::in_two_halves(&changes, here, |part| {
            let repo = super::discover::open_git_dir(&git_dir, super::discover::Env::Process)
                .context("could not open the repository")?;
            part.iter()
                .map(|change| file_stat(&repo, change, quote_path, shared, counts))
                .collect()
        })?
    };
    for (change, file) in changes.iter().zip(&files) {
        known.counts.insert(
            sides_key(change),
            Counted {
                added: file.added,
                deleted: file.deleted,
                binary: file.binary,
            },
        );
    }
    Ok(files)
}

/// The contents a change's line counts depend on ([`content`]).
fn sides_key(change: &Change) -> (SideKey, SideKey) {
    let side = |side: &Side, exists: bool| {
        (exists && !side.id.is_zero()).then(|| (side.id, side.mode == git2::FileMode::Commit))
    };
    (
        side(&change.old, change.status != Delta::Added),
        side(&change.new, change.status != Delta::Deleted),
    )
}

/// One line of the stat: the name git shows, and the lines (or bytes)
/// added and deleted.
fn file_stat(
    repo: &Repository,
    change: &Change,
    quote_path: bool,
    shared: Option<&SharedBlobs>,
    counts: &HashMap<(SideKey, SideKey), Counted>,
) -> anyhow::Result<FileStat> {
    let (old, new) = (&change.old, &change.new);
    let name = if change.status == Delta::Renamed {
        rename_name(&old.path, &new.path, quote_path)
    } else {
        let path = if change.status == Delta::Deleted {
            &old.path
        } else {
            &new.path
        };
        quoted(path, quote_path).unwrap_or_else(|| String::from_utf8_lossy(path).into_owned())
    };
    if let Some(counted) = counts.get(&sides_key(change)) {
        return Ok(FileStat {
            name,
            added: counted.added,
            deleted: counted.deleted,
            binary: counted.binary,
        });
    }
    // Only the old side's blobs are read by the writer beside the stat.
    let before = content(repo, old, change.status != Delta::Added, shared)?;
    let after = content(repo, new, change.status != Delta::Deleted, None)?;
    let binary = super::looks_binary(before.bytes()) || super::looks_binary(after.bytes());
    let (added, deleted) = if before.bytes() == after.bytes() {
        (0, 0)
    } else if binary {
        (after.bytes().len() as u64, before.bytes().len() as u64)
    } else {
        line_counts(before.bytes(), after.bytes())?
    };
    Ok(FileStat {
        name,
        added,
        deleted,
        binary,
    })
}

/// The changed paths in git's order (libgit2's tree-to-tree diff), with
/// renames paired as `git diff -M` pairs them (`renames`): a rename
/// takes its added file's place, and its deleted file is gone.
fn changes_with_renames(
    repo: &Repository,
    from: Oid,
    to: Oid,
    known: &mut renames::Known,
    rename_limit: i64,
) -> anyhow::Result<Vec<Change>> {
    let a = repo.find_tree(from).context("could not read a tree")?;
    let b = repo.find_tree(to).context("could not read a tree")?;
    let mut opts = DiffOptions::new();
    // A path that changes between file and symlink is one line, as in git.
    opts.include_typechange(true);
    let diff = repo
        .diff_tree_to_tree(Some(&a), Some(&b), Some(&mut opts))
        .context("could not diff trees")?;
    let mut changes: Vec<Option<Change>> = diff
        .deltas()
        .map(|delta| {
            Some(Change {
                status: delta.status(),
                old: Side::of(delta.old_file()),
                new: Side::of(delta.new_file()),
            })
        })
        .collect();
    let with = |status: Delta| -> Vec<usize> {
        changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.as_ref().is_some_and(|c| c.status == status))
            .map(|(i, _)| i)
            .collect()
    };
    let (deleted, added) = (with(Delta::Deleted), with(Delta::Added));
    let side = |i: usize, old: bool| {
        let change = changes[i].as_ref().expect("every change is still there");
        if old {
            change.old.as_rename_file()
        } else {
            change.new.as_rename_file()
        }
    };
    let sources: Vec<_> = deleted.iter().map(|&i| side(i, true)).collect();
    let destinations: Vec<_> = added.iter().map(|&i| side(i, false)).collect();
    let pairs = renames::find_renames(repo, &sources, &destinations, rename_limit, known)?;
    let renamed: Vec<(usize, usize)> = pairs
        .iter()
        .enumerate()
        .filter_map(|(d, pair)| pair.map(|p| (deleted[p.source], added[d])))
        .collect();
    for (deleted, added) in renamed {
        let source = changes[deleted]
            .take()
            .context("internal error: a deleted file renamed twice")?;
        if let Some(dst) = changes[added].as_mut() {
            dst.status = Delta::Renamed;
            dst.old = source.old;
        }
    }
    Ok(changes.into_iter().flatten().collect())
}

/// `diff.renameLimit`, git's default when unset (0 or less: no limit).
fn rename_limit(repo: &Repository) -> i64 {
    repo.config()
        .and_then(|c| c.get_i64("diff.renameLimit"))
        .unwrap_or(1_000)
}

/// A side's bytes as git diffs them: a blob's content, a submodule's
/// `Subproject commit <id>` line, nothing for a side that does not exist.
enum Content<'r> {
    Blob(git2::Blob<'r>),
    /// A copy another reader left (`shared_blobs`).
    Shared(std::sync::Arc<[u8]>),
    Text(Vec<u8>),
    Nothing,
}

impl Content<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Content::Blob(blob) => blob.content(),
            Content::Shared(bytes) => bytes,
            Content::Text(text) => text,
            Content::Nothing => &[],
        }
    }
}

/// A side's content; a blob is taken from `shared` when the other reader
/// left it there, or left there for it once read.
fn content<'r>(
    repo: &'r Repository,
    side: &Side,
    exists: bool,
    shared: Option<&SharedBlobs>,
) -> anyhow::Result<Content<'r>> {
    let (id, mode) = (side.id, side.mode);
    if !exists || id.is_zero() {
        return Ok(Content::Nothing);
    }
    if mode == git2::FileMode::Commit {
        return Ok(Content::Text(
            format!("Subproject commit {id}\n").into_bytes(),
        ));
    }
    if let Some(copy) = shared.and_then(|s| s.take(id)) {
        return Ok(Content::Shared(copy));
    }
    let blob = repo.find_blob(id).context("could not read a blob")?;
    if let Some(shared) = shared {
        shared.leave(id, blob.content());
    }
    Ok(Content::Blob(blob))
}

/// The lines xdiff sees in a text: a last line without a newline counts.
fn line_count(text: &[u8]) -> u64 {
    let newlines = text.iter().filter(|&&b| b == b'\n').count() as u64;
    newlines + u64::from(text.last().is_some_and(|&b| b != b'\n'))
}

/// Lines added and deleted between two texts (git's xdiff, `xdiff.rs`);
/// a side that is empty needs no diff: every line of the other changed.
fn line_counts(old: &[u8], new: &[u8]) -> anyhow::Result<(u64, u64)> {
    if old.is_empty() || new.is_empty() {
        return Ok((line_count(new), line_count(old)));
    }
    super::xdiff::line_counts(old, new)
        .context("could not count the changed lines (a side over 1 GB, or out of memory)")
}

/// A path as git's `quote_c_style` writes it when it must be quoted:
/// `None` when it need not be.
fn quoted(path: &[u8], quote_path: bool) -> Option<String> {
    let must =
        |b: u8| b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f || (b >= 0x80 && quote_path);
    if !path.iter().any(|&b| must(b)) {
        return None;
    }
    let mut out = String::from("\"");
    for &b in path {
        match b {
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b if must(b) => out.push_str(&format!("\\{b:03o}")),
            b => out.push(b as char),
        }
    }
    out.push('"');
    Some(out)
}

/// A rename as git's `pprint_rename` names it: `old => new`, with the
/// common leading folders and trailing part outside braces
/// (`src/{a => b}/lib.rs`).
fn rename_name(a: &[u8], b: &[u8], quote_path: bool) -> String {
    let (qa, qb) = (quoted(a, quote_path), quoted(b, quote_path));
    if qa.is_some() || qb.is_some() {
        let show = |q: Option<String>, p: &[u8]| {
            q.unwrap_or_else(|| String::from_utf8_lossy(p).into_owned())
        };
        return format!("{} => {}", show(qa, a), show(qb, b));
    }
    let (len_a, len_b) = (a.len() as isize, b.len() as isize);
    // The byte at `i`, and the NUL at the end as C sees it.
    let at = |s: &[u8], i: isize| -> u8 { s.get(i as usize).copied().unwrap_or(0) };
    // The common prefix, ending in a slash.
    let mut pfx: isize = 0;
    let mut i: isize = 0;
    while i < len_a && i < len_b && a[i as usize] == b[i as usize] {
        if a[i as usize] == b'/' {
            pfx = i + 1;
        }
        i += 1;
    }
    // The common suffix, starting with a slash; with a prefix, it may reach
    // back into the prefix's slash.
    let adjust = if pfx > 0 { 1 } else { 0 };
    let (mut old, mut new) = (len_a, len_b);
    let mut sfx: isize = 0;
    while pfx - adjust <= old && pfx - adjust <= new && at(a, old) == at(b, new) {
        if at(a, old) == b'/' {
            sfx = len_a - old;
        }
        old -= 1;
        new -= 1;
    }
    let a_mid = (len_a - pfx - sfx).max(0) as usize;
    let b_mid = (len_b - pfx - sfx).max(0) as usize;
    let (pfx, sfx) = (pfx as usize, sfx as usize);
    let text = |s: &[u8]| String::from_utf8_lossy(s).into_owned();
    let mut out = String::new();
    if pfx + sfx > 0 {
        out.push_str(&text(&a[..pfx]));
        out.push('{');
    }
    out.push_str(&text(&a[pfx..pfx + a_mid]));
    out.push_str(" => ");
    out.push_str(&text(&b[pfx..pfx + b_mid]));
    if pfx + sfx > 0 {
        out.push('}');
        out.push_str(&text(&a[a.len() - sfx..]));
    }
    out
}

fn decimal_width(n: u64) -> usize {
    n.to_string().len()
}

/// At least one `+` or `-` for any change: scaled as if the graph were a
/// column narrower, plus one.
fn scale_linear(it: u64, width: u64, max_change: u64) -> u64 {
    if it == 0 {
        0
    } else {
        1 + it * (width - 1) / max_change
    }
}

fn text_width(s: &str) -> usize {
    s.chars().count()
}

/// The lines of the stat and its summary, laid out as git's `show_stats`.
fn layout(files: &[FileStat], width: usize) -> String {
    if files.is_empty() {
        return String::new();
    }
    let mut max_change: u64 = 0;
    let mut max_len = 0;
    let mut bin_width = 0;
    let mut number_width = 0;
    for f in files {
        max_len = max_len.max(text_width(&f.name));
        if f.binary {
            bin_width = bin_width.max(14 + decimal_width(f.added) + decimal_width(f.deleted));
            number_width = 3;
            continue;
        }
        max_change = max_change.max(f.added + f.deleted);
    }
    let number_width = number_width.max(decimal_width(max_change));
    let width = width.max(16 + 6 + number_width) as i64;
    let number_width_i = number_width as i64;
    let mut graph_width: i64 = if max_change as i64 + 4 > bin_width as i64 {
        max_change as i64
    } else {
        bin_width as i64 - 4
    };
    let mut name_width = max_len as i64;
    if name_width + number_width_i + 6 + graph_width > width {
        if graph_width > width * 3 / 8 - number_width_i - 6 {
            graph_width = (width * 3 / 8 - number_width_i - 6).max(6);
        }
        if name_width > width - number_width_i - 6 - graph_width {
            name_width = width - number_width_i - 6 - graph_width;
        } else {
            graph_width = width - number_width_i - 6 - name_width;
        }
    }
    let mut out = String::new();
    for f in files {
        let (prefix, name, len) = shorten(&f.name, name_width);
        let padding = (len - text_width(name) as i64).max(0) as usize;
        if f.binary {
            out.push_str(&format!(
                " {prefix}{name}{:padding$} | {:>number_width$}",
                "", "Bin"
            ));
            if f.added == 0 && f.deleted == 0 {
                out.push('\n');
            } else {
                out.push_str(&format!(" {} -> {} bytes\n", f.deleted, f.added));
            }
            continue;
        }
        let total_change = f.added + f.deleted;
        let (add, del) = if graph_width as u64 <= max_change {
            scale_graph(f.added, f.deleted, graph_width as u64, max_change)
        } else {
            (f.added, f.deleted)
        };
        out.push_str(&format!(
            " {prefix}{name}{:padding$} | {total_change:>number_width$}{}{}{}\n",
            "",
            if total_change > 0 { " " } else { "" },
            "+".repeat(add as usize),
            "-".repeat(del as usize),
        ));
    }
    let adds: u64 = files.iter().filter(|f| !f.binary).map(|f| f.added).sum();
    let dels: u64 = files.iter().filter(|f| !f.binary).map(|f| f.deleted).sum();
    out.push_str(&summary(files.len(), adds, dels));
    out
}

/// A name longer than `name_width`, as git shortens it: `...` and its
/// end, from a `/` where there is one. The prefix, the name shown, and
/// the width it is padded to.
fn shorten(name: &str, name_width: i64) -> (&'static str, &str, i64) {
    let mut prefix = "";
    let mut len = name_width;
    let mut name = name;
    let name_len = text_width(name) as i64;
    if name_width < name_len {
        prefix = "...";
        len = (len - 3).max(0);
        // Characters dropped from the front until the rest fits.
        let skip = (name_len - len).max(0) as usize;
        let rest = name.char_indices().nth(skip).map_or(name.len(), |(i, _)| i);
        name = &name[rest..];
        if let Some(slash) = name.find('/') {
            name = &name[slash..];
        }
    }
    (prefix, name, len)
}

/// The `+` and `-` counts of a file's graph when the largest change does
/// not fit in `graph_width` columns: scaled as git does, with at least one
/// of each when both happened.
fn scale_graph(added: u64, deleted: u64, graph_width: u64, max_change: u64) -> (u64, u64) {
    let mut total = scale_linear(added + deleted, graph_width, max_change);
    if total < 2 && added > 0 && deleted > 0 {
        total = 2;
    }
    if added < deleted {
        let add = scale_linear(added, graph_width, max_change);
        (add, total - add)
    } else {
        let del = scale_linear(deleted, graph_width, max_change);
        (total - del, del)
    }
}

/// git's `print_stat_summary_inserts_deletes`.
fn summary(files: usize, insertions: u64, deletions: u64) -> String {
    let mut s = if files == 1 {
        " 1 file changed".to_string()
    } else {
        format!(" {files} files changed")
    };
    if insertions > 0 || deletions == 0 {
        s.push_str(&if insertions == 1 {
            ", 1 insertion(+)".to_string()
        } else {
            format!(", {insertions} insertions(+)")
        });
    }
    if deletions > 0 || insertions == 0 {
        s.push_str(&if deletions == 1 {
            ", 1 deletion(-)".to_string()
        } else {
            format!(", {deletions} deletions(-)")
        });
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::{rename_name, scale_linear};

    #[test]
    fn renames_are_named_as_git_names_them() {
        let r = |a: &str, b: &str| rename_name(a.as_bytes(), b.as_bytes(), true);
        assert_eq!(r("a.txt", "b.txt"), "a.txt => b.txt");
        assert_eq!(r("src/a.rs", "src/b.rs"), "src/{a.rs => b.rs}");
        assert_eq!(r("old/lib.rs", "new/lib.rs"), "{old => new}/lib.rs");
        assert_eq!(r("a/b/c.txt", "a/c.txt"), "a/{b => }/c.txt");
        assert_eq!(r("a/c.txt", "a/b/c.txt"), "a/{ => b}/c.txt");
        assert_eq!(r("x\ty", "z"), "\"x\\ty\" => z");
    }

    #[test]
    fn every_change_gets_at_least_one_mark() {
        assert_eq!(scale_linear(0, 50, 1000), 0);
        assert_eq!(scale_linear(1, 50, 1000), 1);
        assert_eq!(scale_linear(1000, 50, 1000), 50);
    }
}
