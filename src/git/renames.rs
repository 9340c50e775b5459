//! Rename detection as `git diff -M` does it (git's `diffcore-rename.c`
//! and `diffcore-delta.c`), so that `changes.txt` pairs the same deleted
//! and added files as `git diff --stat -M`: a 50% minimum score, no
//! copies, no break detection.
//!
//! libgit2 has its own similarity measure and no basename step, and tries
//! every source for every destination; on real histories it pairs files
//! differently from git, and slower. The steps here are git's, in git's
//! order (docs/design.md, "Renames as git finds them"):
//!
//! 1. **Exact renames**: a destination takes a source of the same blob
//!    (and the same mode, unless both are regular files), preferring one
//!    with the same file name, else the first in path order.
//! 2. **Same file name**: a source and a destination whose file name is
//!    unique among the remaining sources and among the remaining
//!    destinations are paired if 75% similar.
//! 3. **The rename limit**: past `diff.renameLimit` squared comparisons,
//!    nothing more is paired.
//! 4. **The matrix**: every remaining destination against every remaining
//!    source; each destination keeps its four best, and the best of all
//!    are taken first, each file at most once.
//!
//! Similarity is git's: the bytes of the destination that come from the
//! source, counted by hashing lines (or 64-byte runs) of both, over the
//! larger size. Sizes come from object headers, so a pair whose sizes
//! alone rule it out is never read; a blob is read and hashed at most
//! once.

use std::collections::HashMap;

use anyhow::Context as _;
use git2::{Odb, Oid, Repository};

/// git's scale of similarity: 60000 is identical.
const MAX_SCORE: f64 = 60000.0;

/// `-M`'s default minimum: 50%.
const MINIMUM_SCORE: i32 = 30000;

/// The minimum for files of the same name: halfway from the minimum to
/// identical (75%).
const MINIMUM_BASENAME_SCORE: i32 = MINIMUM_SCORE + ((0.5 * (MAX_SCORE - 30000.0)) as i32);

/// How many sources each destination remembers in the matrix.
const CANDIDATES_PER_DESTINATION: usize = 4;

/// How many identical sources an exact rename looks at for one with the
/// same file name.
const IDENTICAL_ALTERNATIVES: usize = 100;

/// One side of a deleted or added file.
pub(super) struct File<'a> {
    pub path: &'a [u8],
    pub id: Oid,
    /// The raw git mode (`0o100644`, `0o120000`, …).
    pub mode: u32,
}

/// A rename found: the source it came from, for a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rename {
    pub source: usize,
}

/// For each of `destinations` (added files, in diff order), the one of
/// `sources` (deleted files, in diff order) git's `diff -M` would say it
/// was renamed from. `rename_limit` is `diff.renameLimit` (0 or less: no
/// limit). The sizes and span hashes of `known` are used, and those read
/// are added to it.
pub(super) fn find_renames(
    repo: &Repository,
    sources: &[File<'_>],
    destinations: &[File<'_>],
    rename_limit: i64,
    known: &mut Known,
) -> anyhow::Result<Vec<Option<Rename>>> {
    let mut pairs: Vec<Option<Rename>> = vec![None; destinations.len()];
    if sources.is_empty() || destinations.is_empty() {
        return Ok(pairs);
    }
    let mut used = vec![false; sources.len()];
    find_exact_renames(sources, destinations, &mut used, &mut pairs);

    let odb = repo.odb().context("could not open the object database")?;
    let mut blobs = Blobs::new(&odb, std::mem::take(known));
    let mut remaining: Vec<usize> = (0..sources.len()).filter(|&s| !used[s]).collect();
    find_basename_matches(
        &mut blobs,
        sources,
        destinations,
        &remaining,
        &mut used,
        &mut pairs,
    )?;
    remaining.retain(|&s| !used[s]);

    let open: Vec<usize> = (0..destinations.len())
        .filter(|&d| pairs[d].is_none())
        .collect();
    if open.is_empty()
        || remaining.is_empty()
        || too_many_candidates(open.len(), remaining.len(), rename_limit)
    {
        *known = blobs.into_known();
        return Ok(pairs);
    }
    let matrix = similarity_matrix(&mut blobs, sources, destinations, &remaining, &open)?;
    *known = blobs.into_known();
    for score in matrix {
        // Empty slots and scores under the minimum sort last.
        if !score.valid || score.score < MINIMUM_SCORE {
            break;
        }
        if pairs[score.dst].is_some() || used[score.src] {
            continue;
        }
        used[score.src] = true;
        pairs[score.dst] = Some(Rename { source: score.src });
    }
    Ok(pairs)
}

fn is_regular(mode: u32) -> bool {
    mode & 0o170000 == 0o100000
}

fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(slash) => &path[slash + 1..],
        None => path,
    }
}

/// git's `basename_same`: whether the two paths end in the same file name.
fn basename_same(src: &[u8], dst: &[u8]) -> bool {
    let (mut s, mut d) = (src.len(), dst.len());
    while s > 0 && d > 0 {
        s -= 1;
        d -= 1;
        if src[s] != dst[d] {
            return false;
        }
        if src[s] == b'/' {
            return true;
        }
    }
    (s == 0 || src[s - 1] == b'/') && (d == 0 || dst[d - 1] == b'/')
}

/// git's `find_exact_renames`: each destination, in order, takes an
/// unused source of the same blob. Among the first hundred candidates
/// (in source order) the first with the same file name wins, else the
/// first. Modes must match unless both are regular files.
fn find_exact_renames(
    sources: &[File<'_>],
    destinations: &[File<'_>],
    used: &mut [bool],
    pairs: &mut [Option<Rename>],
) {
    let mut by_id: HashMap<Oid, Vec<usize>> = HashMap::new();
    for (s, src) in sources.iter().enumerate() {
        by_id.entry(src.id).or_default().push(s);
    }
    for (d, dst) in destinations.iter().enumerate() {
        let Some(same) = by_id.get(&dst.id) else {
            continue;
        };
        let mut best: Option<(usize, u8)> = None;
        let mut left = IDENTICAL_ALTERNATIVES;
        for &s in same {
            let src = &sources[s];
            if (!is_regular(src.mode) || !is_regular(dst.mode)) && src.mode != dst.mode {
                continue;
            }
            if used[s] {
                continue;
            }
            let score = 1 + u8::from(basename_same(src.path, dst.path));
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((s, score));
                if score == 2 {
                    break;
                }
            }
            left -= 1;
            if left == 0 {
                break;
            }
        }
        if let Some((s, _)) = best {
            used[s] = true;
            pairs[d] = Some(Rename { source: s });
        }
    }
}

/// git's `find_basename_matches`: a source whose file name no other
/// remaining source has, and exactly one unpaired destination has, is
/// compared with that destination alone, and paired at 75%.
fn find_basename_matches(
    blobs: &mut Blobs<'_>,
    sources: &[File<'_>],
    destinations: &[File<'_>],
    remaining: &[usize],
    used: &mut [bool],
    pairs: &mut [Option<Rename>],
) -> anyhow::Result<()> {
    // The index of the one file with a name, or None when there are more.
    fn unique<'p>(
        names: impl Iterator<Item = (usize, &'p [u8])>,
    ) -> HashMap<&'p [u8], Option<usize>> {
        let mut map: HashMap<&[u8], Option<usize>> = HashMap::new();
        for (i, name) in names {
            map.entry(name).and_modify(|e| *e = None).or_insert(Some(i));
        }
        map
    }
    let source_names = unique(remaining.iter().map(|&s| (s, basename(sources[s].path))));
    let destination_names = unique(
        destinations
            .iter()
            .enumerate()
            .filter(|(d, _)| pairs[*d].is_none())
            .map(|(d, dst)| (d, basename(dst.path))),
    );
    for &s in remaining {
        let name = basename(sources[s].path);
        let (Some(Some(src)), Some(Some(d))) =
            (source_names.get(name), destination_names.get(name))
        else {
            continue;
        };
        debug_assert_eq!(*src, s);
        if pairs[*d].is_some() {
            continue;
        }
        let score =
            blobs.estimate_similarity(&sources[s], &destinations[*d], MINIMUM_BASENAME_SCORE)?;
        if score < MINIMUM_BASENAME_SCORE {
            continue;
        }
        used[s] = true;
        pairs[*d] = Some(Rename { source: s });
    }
    Ok(())
}

/// git's `too_many_rename_candidates` for `-M`: comparing more than
/// `diff.renameLimit` squared pairs is not attempted.
fn too_many_candidates(destinations: usize, sources: usize, rename_limit: i64) -> bool {
    if rename_limit <= 0 {
        return false;
    }
    let limit = rename_limit.unsigned_abs() as u128;
    (destinations as u128) * (sources as u128) > limit * limit
}

/// One cell of git's similarity matrix (`struct diff_score`).
#[derive(Clone, Copy, Debug)]
struct Score {
    src: usize,
    dst: usize,
    score: i32,
    name_score: i32,
    /// False for a slot not filled (git's `dst < 0`).
    valid: bool,
}

const EMPTY_SLOT: Score = Score {
    src: 0,
    dst: 0,
    score: 0,
    name_score: 0,
    valid: false,
};

/// git's `score_compare`: the most similar first, then same file names;
/// empty slots last.
fn score_order(a: &Score, b: &Score) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.valid, b.valid) {
        (false, false) => Ordering::Equal,
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (true, true) if a.score == b.score => b.name_score.cmp(&a.name_score),
        (true, true) => b.score.cmp(&a.score),
    }
}

/// git's `record_if_better`: the new score replaces the first of the
/// worst in the slots if it is strictly better.
fn record_if_better(slots: &mut [Score; CANDIDATES_PER_DESTINATION], new: Score) {
    let mut worst = 0;
    for i in 1..CANDIDATES_PER_DESTINATION {
        if score_order(&slots[i], &slots[worst]).is_gt() {
            worst = i;
        }
    }
    if score_order(&slots[worst], &new).is_gt() {
        slots[worst] = new;
    }
}

/// The matrix is computed on two threads from this many pairs.
const ON_TWO_THREADS_FROM: usize = 20_000;

/// Every open destination against every remaining source, four best
/// kept per destination, all of them sorted best first (stably: ties
/// keep destination order, then slot order, as git's stable sort does).
///
/// Sizes first: the blobs of pairs that sizes alone rule out are never
/// read; the others are read and hashed once, and the rows are then plain
/// arithmetic, split between two threads when there are many.
fn similarity_matrix(
    blobs: &mut Blobs<'_>,
    sources: &[File<'_>],
    destinations: &[File<'_>],
    remaining: &[usize],
    open: &[usize],
) -> anyhow::Result<Vec<Score>> {
    let sizes = |blobs: &mut Blobs<'_>, files: &mut dyn Iterator<Item = &File<'_>>| {
        files
            .map(|f| {
                Ok(if is_regular(f.mode) {
                    Some(blobs.size(f.id)?)
                } else {
                    None
                })
            })
            .collect::<anyhow::Result<Vec<Option<u64>>>>()
    };
    let src_sizes = sizes(blobs, &mut remaining.iter().map(|&s| &sources[s]))?;
    let dst_sizes = sizes(blobs, &mut open.iter().map(|&d| &destinations[d]))?;
    let mut src_needed = vec![false; remaining.len()];
    for dst_size in dst_sizes.iter().flatten() {
        for (k, src_size) in src_sizes.iter().enumerate() {
            if let Some(src_size) = src_size {
                src_needed[k] |= !ruled_out(*src_size, *dst_size, MINIMUM_SCORE);
            }
        }
    }
    for (k, &s) in remaining.iter().enumerate() {
        if src_needed[k] {
            blobs.span_hash(sources[s].id)?;
        }
    }
    for (i, &d) in open.iter().enumerate() {
        let Some(dst_size) = dst_sizes[i] else {
            continue;
        };
        let needed = src_sizes
            .iter()
            .flatten()
            .any(|&src_size| !ruled_out(src_size, dst_size, MINIMUM_SCORE));
        if needed {
            blobs.span_hash(destinations[d].id)?;
        }
    }

    let hashes = &blobs.hashes;
    let row = |i: usize| -> [Score; CANDIDATES_PER_DESTINATION] {
        let d = open[i];
        let dst = &destinations[d];
        let mut slots = [EMPTY_SLOT; CANDIDATES_PER_DESTINATION];
        for (k, &s) in remaining.iter().enumerate() {
            let src = &sources[s];
            let score = match (src_sizes[k], dst_sizes[i]) {
                (Some(src_size), Some(dst_size))
                    if !ruled_out(src_size, dst_size, MINIMUM_SCORE) =>
                {
                    score(
                        hashes[&src.id].copied_into(&hashes[&dst.id]),
                        src_size,
                        dst_size,
                    )
                }
                _ => 0,
            };
            record_if_better(
                &mut slots,
                Score {
                    src: s,
                    dst: d,
                    score,
                    name_score: i32::from(basename_same(src.path, dst.path)),
                    valid: true,
                },
            );
        }
        slots
    };
    let rows = |range: std::ops::Range<usize>| -> Vec<Score> { range.flat_map(row).collect() };
    let mut matrix =
        if open.len() * remaining.len() < ON_TWO_THREADS_FROM || crate::walk::threads() < 2 {
            rows(0..open.len())
        } else {
            let half = open.len() / 2;
            std::thread::scope(|scope| {
                let other = scope.spawn(|| rows(half..open.len()));
                let mut matrix = rows(0..half);
                match other.join() {
                    Ok(rest) => matrix.extend(rest),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
                matrix
            })
        };
    matrix.sort_by(score_order);
    Ok(matrix)
}

/// Whether sizes alone rule out `minimum_score`: the difference is more
/// than the share of the larger size the score allows to change. An empty
/// destination scores 0.
fn ruled_out(src_size: u64, dst_size: u64, minimum_score: i32) -> bool {
    let max_size = src_size.max(dst_size);
    let delta_size = max_size - src_size.min(dst_size);
    (max_size as f64) * (MAX_SCORE - f64::from(minimum_score)) < (delta_size as f64) * MAX_SCORE
        || dst_size == 0
}

/// The bytes of the destination copied from the source, over the larger
/// size, on git's scale.
fn score(copied: u64, src_size: u64, dst_size: u64) -> i32 {
    (copied as f64 * MAX_SCORE / src_size.max(dst_size) as f64) as i32
}

/// Sizes and span hashes of blobs, kept from one search for renames for
/// the next (blobs never change: an id's size and spans are always the
/// same).
#[derive(Debug, Default)]
pub(super) struct Known {
    sizes: HashMap<Oid, u64>,
    hashes: HashMap<Oid, SpanHash>,
}

/// Sizes and span hashes of the blobs compared, each read at most once.
struct Blobs<'r> {
    odb: &'r Odb<'r>,
    sizes: HashMap<Oid, u64>,
    hashes: HashMap<Oid, SpanHash>,
}

impl<'r> Blobs<'r> {
    fn new(odb: &'r Odb<'r>, known: Known) -> Self {
        Self {
            odb,
            sizes: known.sizes,
            hashes: known.hashes,
        }
    }

    fn into_known(self) -> Known {
        Known {
            sizes: self.sizes,
            hashes: self.hashes,
        }
    }

    fn size(&mut self, id: Oid) -> anyhow::Result<u64> {
        if let Some(&size) = self.sizes.get(&id) {
            return Ok(size);
        }
        let (size, _) = self
            .odb
            .read_header(id)
            .with_context(|| format!("could not read blob {id}"))?;
        self.sizes.insert(id, size as u64);
        Ok(size as u64)
    }

    fn span_hash(&mut self, id: Oid) -> anyhow::Result<&SpanHash> {
        if !self.hashes.contains_key(&id) {
            let object = self
                .odb
                .read(id)
                .with_context(|| format!("could not read blob {id}"))?;
            self.hashes.insert(id, SpanHash::of(object.data()));
        }
        Ok(&self.hashes[&id])
    }

    /// git's `estimate_similarity`: how much of `dst` comes from `src`,
    /// 0 to 60000; 0 for anything but two regular files, and for sizes
    /// too far apart to reach `minimum_score`.
    fn estimate_similarity(
        &mut self,
        src: &File<'_>,
        dst: &File<'_>,
        minimum_score: i32,
    ) -> anyhow::Result<i32> {
        if !is_regular(src.mode) || !is_regular(dst.mode) {
            return Ok(0);
        }
        let (src_size, dst_size) = (self.size(src.id)?, self.size(dst.id)?);
        if ruled_out(src_size, dst_size, minimum_score) {
            return Ok(0);
        }
        self.span_hash(src.id)?;
        self.span_hash(dst.id)?;
        let copied = self.hashes[&src.id].copied_into(&self.hashes[&dst.id]);
        Ok(score(copied, src_size, dst_size))
    }
}

/// git's `hash_chars`: the spans of a blob (lines, or 64 bytes where a
/// line is longer) hashed into about 2^17 values, with the bytes each
/// value covers; sorted by value.
#[derive(Debug, PartialEq, Eq)]
struct SpanHash {
    spans: Vec<(u32, u32)>,
}

/// The modulus of span hashes: a prime between 2^16 and 2^17.
const HASHBASE: u32 = 107_927;

impl SpanHash {
    fn of(data: &[u8]) -> Self {
        let is_text = !super::looks_binary(data);
        // A CR before LF does not count in a text file: only such a file
        // needs the byte-by-byte walk; the rest is cut into spans by a
        // search for the newline, each hashed in a loop of its own.
        let mut raw = if is_text && memchr::memmem::find(data, b"\r\n").is_some() {
            spans_skipping_crlf(data)
        } else {
            spans(data)
        };
        raw.sort_unstable_by_key(|&(h, _)| h);
        let mut spans: Vec<(u32, u32)> = Vec::with_capacity(raw.len());
        for (h, count) in raw {
            match spans.last_mut() {
                // Counts wrap as git's `unsigned int` does.
                Some((last, total)) if *last == h => *total = total.wrapping_add(count),
                _ => spans.push((h, count)),
            }
        }
        Self { spans }
    }

    /// git's `diffcore_count_changes`, the part rename detection uses:
    /// the bytes of `dst` found in `self`, span by span.
    fn copied_into(&self, dst: &SpanHash) -> u64 {
        let (dst, mut d) = (&dst.spans, 0);
        let mut copied = 0;
        for &(hash, src_count) in &self.spans {
            while d < dst.len() && dst[d].0 < hash {
                d += 1;
            }
            if d < dst.len() && dst[d].0 == hash {
                copied += u64::from(src_count.min(dst[d].1));
                d += 1;
            }
        }
        copied
    }
}

/// The spans of a text file with CR LF line ends, as git's `hash_chars`
/// cuts them: byte by byte, a CR before LF left out (unhashed and
/// uncounted).
fn spans_skipping_crlf(data: &[u8]) -> Vec<(u32, u32)> {
    let mut raw: Vec<(u32, u32)> = Vec::new();
    let (mut accum1, mut accum2): (u32, u32) = (0, 0);
    let mut n: u32 = 0;
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        i += 1;
        // A CR before LF does not count in a text file.
        if c == b'\r' && data.get(i) == Some(&b'\n') {
            continue;
        }
        let old_1 = accum1;
        accum1 = (accum1 << 7) ^ (accum2 >> 25);
        accum2 = (accum2 << 7) ^ (old_1 >> 25);
        accum1 = accum1.wrapping_add(u32::from(c));
        n += 1;
        if n < 64 && c != b'\n' {
            continue;
        }
        raw.push((hash_value(accum1, accum2), n));
        n = 0;
        accum1 = 0;
        accum2 = 0;
    }
    if n > 0 {
        raw.push((hash_value(accum1, accum2), n));
    }
    raw
}

/// The spans of a file with no CR LF to leave out (or a binary one, where
/// every byte counts): up to and including each newline, at most 64 bytes.
fn spans(data: &[u8]) -> Vec<(u32, u32)> {
    let mut raw = Vec::with_capacity(data.len() / 32 + 1);
    let mut rest = data;
    while !rest.is_empty() {
        let window = &rest[..rest.len().min(64)];
        let len = memchr::memchr(b'\n', window).map_or(window.len(), |n| n + 1);
        let (mut accum1, mut accum2): (u32, u32) = (0, 0);
        for &c in &window[..len] {
            let old_1 = accum1;
            accum1 = (accum1 << 7) ^ (accum2 >> 25);
            accum2 = (accum2 << 7) ^ (old_1 >> 25);
            accum1 = accum1.wrapping_add(u32::from(c));
        }
        raw.push((hash_value(accum1, accum2), len as u32));
        rest = &rest[len..];
    }
    raw
}

fn hash_value(accum1: u32, accum2: u32) -> u32 {
    accum1.wrapping_add(accum2.wrapping_mul(0x61)) % HASHBASE
}

#[cfg(test)]
mod tests {
    use super::{basename_same, spans, spans_skipping_crlf, SpanHash, MINIMUM_BASENAME_SCORE};

    proptest::proptest! {
        /// Without a CR LF in it, a file is cut and hashed by the newline
        /// search exactly as by the byte-by-byte walk: short and long
        /// lines (a span ends at 64 bytes), lone CRs, NULs, no newline at
        /// the end.
        #[test]
        fn the_newline_search_cuts_spans_as_the_walk_does(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "line\n", "\n", "\r", "\0", "x\ty ", "é",
                    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abc",
                ]),
                0..120,
            ),
        ) {
            let data = parts.concat().replace("\r\n", "\r.\n");
            proptest::prop_assert_eq!(spans(data.as_bytes()), spans_skipping_crlf(data.as_bytes()));
        }
    }

    #[test]
    fn file_names_are_compared_from_the_last_slash() {
        assert!(basename_same(b"a/b.c", b"x/b.c"));
        assert!(basename_same(b"b.c", b"x/y/b.c"));
        assert!(basename_same(b"b.c", b"b.c"));
        assert!(!basename_same(b"a/ab.c", b"x/b.c"));
        assert!(!basename_same(b"b.c", b"xb.c"));
        assert!(!basename_same(b"a/b.c", b"a/b.h"));
    }

    #[test]
    fn same_names_need_three_quarters() {
        assert_eq!(MINIMUM_BASENAME_SCORE, 45000);
    }

    #[test]
    fn lines_are_spans_and_a_crlf_counts_as_lf_in_text() {
        let unix = SpanHash::of(b"one\ntwo\none\n");
        let dos = SpanHash::of(b"one\r\ntwo\r\none\r\n");
        assert_eq!(unix, dos);
        assert_eq!(
            unix.spans.iter().map(|&(_, n)| u64::from(n)).sum::<u64>(),
            12
        );
        assert_eq!(unix.spans.len(), 2);
        // In a binary file, the CR is a byte like any other.
        let binary = SpanHash::of(b"\0ne\r\ntwo\r\n");
        assert_eq!(
            binary.spans.iter().map(|&(_, n)| u64::from(n)).sum::<u64>(),
            10
        );
        // Long lines are cut every 64 bytes.
        let long = SpanHash::of(&[b'x'; 130]);
        let mut counts: Vec<u32> = long.spans.iter().map(|&(_, n)| n).collect();
        counts.sort_unstable();
        assert_eq!(counts, [2, 128]);
    }

    #[test]
    fn copied_bytes_count_each_span_at_most_as_often_as_the_source_has_it() {
        let src = SpanHash::of(b"a\nb\nb\nc\n");
        let dst = SpanHash::of(b"b\nb\nb\nd\n");
        assert_eq!(src.copied_into(&dst), 4);
        assert_eq!(dst.copied_into(&src), 4);
    }
}
