//! The path a lost file most likely had.
//!
//! A blob has no name: the index entry or tree entry that named it is gone.
//! What is left is its content, so it is compared with the contents of
//! paths it may have been: files of the index (all of them in a work tree
//! of up to [`ALL_INDEX_UP_TO`] files; in a larger one those written at or
//! after the blob was, which is what `reset --hard` and `checkout HEAD --
//! FILE` do to the files whose staged content they drop), the files that
//! HEAD's last commits and the lost commits changed. The best match by
//! shared lines or words wins (shared / the larger of the two sets, so
//! that a small edit of a file scores high and a file that merely shares a
//! licence header does not).
//!
//! Finding the best match is an inverted index from each rare line and
//! word to the candidates holding it, so a blob is compared in full only
//! with the few candidates that share something rare with it, never with
//! every file. Lines and words found in many candidates (`}`, `import`)
//! say nothing about where a file belongs and are skipped when looking;
//! they still count in the final comparison.

use std::collections::HashMap;

use git2::{Oid, Repository};

/// Every index entry is a candidate in a work tree of up to this many
/// files; above it, only the ones written after the lost blobs.
pub const ALL_INDEX_UP_TO: usize = 5_000;
/// At most this many candidate files are read.
const MAX_CANDIDATES: usize = 6_000;
/// Larger files are neither read as candidates nor compared.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// A line or word held by more candidates than this is not used to look.
const COMMON: usize = 24;
/// How many of the best-looking candidates are compared in full.
const SHORTLIST: usize = 8;

/// Where a candidate path comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The file in the index, written after the lost blob (a reset or a
    /// checkout rewrote it).
    Rewritten,
    /// A file in the index.
    Index,
    /// A path a lost commit or stash entry changed.
    LostCommit,
    /// A path one of HEAD's last commits changed.
    History,
}

/// A path the lost file may have had, with a content it had there.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: Vec<u8>,
    pub blob: Oid,
    pub source: Source,
    /// When the index entry was written (0 for a path from history):
    /// among the files a command rewrote, the most recent come first.
    pub written: i64,
}

/// The best match of a lost blob.
#[derive(Debug, Clone)]
pub struct Match {
    pub path: Vec<u8>,
    /// Shared lines and words, in percent of the larger sets.
    pub similarity: u8,
    pub source: Source,
}

/// What a content is made of, for comparing: its distinct lines and its
/// distinct words, hashed and sorted.
#[derive(Debug, Default)]
pub struct Features {
    lines: Vec<u64>,
    words: Vec<u64>,
}

/// The features of a text, or `None` for a binary or a very large file.
pub fn features(content: &[u8]) -> Option<Features> {
    if content.len() > MAX_FILE_BYTES || content[..content.len().min(8000)].contains(&0) {
        return None;
    }
    let mut f = Features::default();
    for line in content.split(|b| *b == b'\n') {
        let line = line.trim_ascii();
        if !line.is_empty() {
            f.lines.push(hash(line, 0x6c69_6e65));
        }
    }
    for word in content.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b >= 0x80)) {
        if word.len() >= 2 {
            f.words.push(hash(word, 0x776f_7264));
        }
    }
    for v in [&mut f.lines, &mut f.words] {
        v.sort_unstable();
        v.dedup();
    }
    Some(f)
}

/// FNV-1a, seeded so that a line and a word of the same text differ.
fn hash(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Shared elements of two sorted sets, in percent of the larger.
fn ratio(a: &[u64], b: &[u64]) -> u32 {
    let larger = a.len().max(b.len());
    if larger == 0 {
        return 0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    (shared * 100 / larger) as u32
}

/// The mean of the shares of lines and of words: lines tell an edit of a
/// long file, words one of a short file (`port = 8080` → `9090` keeps
/// most of its words and none of its lines), and a change of punctuation
/// alone keeps every word and not every line.
fn similarity(a: &Features, b: &Features) -> u8 {
    ((ratio(&a.lines, &b.lines) + ratio(&a.words, &b.words)) / 2) as u8
}

/// The best candidate for each lost content (same order), `None` where
/// nothing shares anything rare with it.
pub fn best_matches(
    repo: &Repository,
    lost: &[&Features],
    mut candidates: Vec<Candidate>,
) -> Vec<Option<Match>> {
    let read = |id: Oid| -> Option<Features> {
        let odb = repo.odb().ok()?;
        let (size, _) = odb.read_header(id).ok()?;
        if size > MAX_FILE_BYTES {
            return None;
        }
        features(repo.find_blob(id).ok()?.content())
    };
    if lost.is_empty() {
        return Vec::new();
    }
    // One reading per content; the first source (the strongest) names it.
    candidates.sort_by(|a, b| {
        a.source
            .cmp(&b.source)
            .then(b.written.cmp(&a.written))
            .then_with(|| a.path.cmp(&b.path))
    });
    let mut seen_paths = std::collections::HashSet::new();
    candidates.retain(|c| seen_paths.insert((c.path.clone(), c.blob)));
    candidates.truncate(MAX_CANDIDATES);
    crate::trace::phase("rescue: reading the candidates");
    let mut by_content: HashMap<Oid, usize> = HashMap::new();
    let mut contents: Vec<Option<Features>> = Vec::new();
    let mut of: Vec<usize> = Vec::with_capacity(candidates.len());
    for c in &candidates {
        let n = *by_content.entry(c.blob).or_insert_with(|| {
            contents.push(read(c.blob));
            contents.len() - 1
        });
        of.push(n);
    }
    crate::trace::phase("rescue: indexing the candidates");
    // Each rare line or word → the candidates holding it.
    let mut postings: HashMap<u64, Vec<u32>> = HashMap::new();
    for (n, content) in contents.iter().enumerate() {
        let Some(f) = content else { continue };
        for key in f.lines.iter().chain(&f.words) {
            let list = postings.entry(*key).or_default();
            if list.len() <= COMMON {
                list.push(n as u32);
            }
        }
    }
    crate::trace::phase("rescue: matching");
    let mut matches = Vec::with_capacity(lost.len());
    for f in lost {
        let mut hits: HashMap<u32, u32> = HashMap::new();
        for key in f.lines.iter().chain(&f.words) {
            if let Some(list) = postings.get(key).filter(|l| l.len() <= COMMON) {
                for n in list {
                    *hits.entry(*n).or_default() += 1;
                }
            }
        }
        let mut shortlist: Vec<(u32, u32)> = hits.into_iter().collect();
        shortlist.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        shortlist.truncate(SHORTLIST);
        let best = shortlist
            .iter()
            .filter_map(|(n, _)| {
                let content = contents[*n as usize].as_ref()?;
                Some((similarity(f, content), *n as usize))
            })
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        matches.push(best.and_then(|(sim, content)| {
            // The strongest source's path with that content.
            let at = of.iter().position(|c| *c == content)?;
            let c = &candidates[at];
            Some(Match {
                path: c.path.clone(),
                similarity: sim,
                source: c.source,
            })
        }));
    }
    matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_edit_scores_high_and_an_unrelated_text_low() {
        let a = features(b"fn main() {\n    let x = 1;\n    println!(\"{x}\");\n}\n").unwrap();
        let b = features(b"fn main() {\n    let x = 2;\n    println!(\"{x}\");\n}\n").unwrap();
        let c = features(b"# Notes\n\nBuy milk.\n").unwrap();
        assert!(similarity(&a, &b) >= 75, "{}", similarity(&a, &b));
        assert!(similarity(&a, &c) < 20, "{}", similarity(&a, &c));
        assert!(features(b"\0binary").is_none());
    }

    #[test]
    fn a_one_word_change_of_a_short_file_still_matches_by_words() {
        let a = features(b"[server]\nport = 9090\nhost = example.org\n").unwrap();
        let b = features(b"[server]\nport = 8080\nhost = example.org\n").unwrap();
        assert!(similarity(&a, &b) >= 50, "{}", similarity(&a, &b));
    }
}
