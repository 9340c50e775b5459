//! Lines added and deleted between two texts, counted by the xdiff that
//! libgit2 carries (git's own, the same Myers diff `git diff --stat` runs),
//! called directly.
//!
//! libgit2's blob and buffer diffs wrap it in a whole diff: a buffer is
//! hashed for its id first, and a blob must come out of the object store
//! through the handle that diffs it. The diff stat of `changes.txt` only
//! needs the counts, of bytes it may already hold (docs/design.md, "The
//! diff stat of `changes.txt`").

use std::os::raw::{c_char, c_int, c_long, c_ulong, c_void};

/// xdiff's limit on either side (libgit2's `GIT_XDIFF_MAX_SIZE`).
const MAX_SIZE: usize = (1 << 30) - 1;

// The declarations of libgit2's `deps/xdiff/xdiff.h`, for the libgit2 that
// `libgit2-sys` pins (Cargo.toml); a unit test below compares the counts
// with libgit2's own diff of the same texts.
#[repr(C)]
struct MmFile {
    ptr: *mut c_char,
    size: c_long,
}

#[repr(C)]
struct XpParam {
    flags: c_ulong,
    ignore_regex: *mut c_void,
    ignore_regex_nr: usize,
    anchors: *mut *mut c_char,
    anchors_nr: usize,
}

type OutHunk =
    extern "C" fn(*mut c_void, c_long, c_long, c_long, c_long, *const c_char, c_long) -> c_int;
type OutLine = extern "C" fn(*mut c_void, *mut MmFile, c_int) -> c_int;
type FindFunc = extern "C" fn(*const c_char, c_long, *mut c_char, c_long, *mut c_void) -> c_long;
type HunkFunc = extern "C" fn(c_long, c_long, c_long, c_long, *mut c_void) -> c_int;

#[repr(C)]
struct XdEmitCb {
    private: *mut c_void,
    out_hunk: Option<OutHunk>,
    out_line: Option<OutLine>,
}

#[repr(C)]
struct XdEmitConf {
    ctxlen: c_long,
    interhunkctxlen: c_long,
    flags: c_ulong,
    find_func: Option<FindFunc>,
    find_func_priv: *mut c_void,
    hunk_func: Option<HunkFunc>,
}

extern "C" {
    fn xdl_diff(
        mf1: *mut MmFile,
        mf2: *mut MmFile,
        xpp: *const XpParam,
        xecfg: *const XdEmitConf,
        ecb: *mut XdEmitCb,
    ) -> c_int;
}

/// Lines (added, deleted) from `old` to `new`, both taken as text; `None`
/// when xdiff cannot diff them (a side over 1 GB, or out of memory).
///
/// Each change xdiff finds is one hunk without context (two changes are
/// always apart by a line both sides share), so the sums of the hunks'
/// lengths are the lines `git diff --stat` counts.
#[allow(unsafe_code)]
pub fn line_counts(old: &[u8], new: &[u8]) -> Option<(u64, u64)> {
    if old.len() > MAX_SIZE || new.len() > MAX_SIZE {
        return None;
    }
    // xdiff allocates through libgit2's allocator, set up by its init
    // (done once; a repository opened has done it already).
    libgit2_sys::init();
    extern "C" fn hunk(
        _old_start: c_long,
        old_lines: c_long,
        _new_start: c_long,
        new_lines: c_long,
        counts: *mut c_void,
    ) -> c_int {
        // SAFETY: `counts` is the `(u64, u64)` that `line_counts` passed
        // as the callback's data, alive and not otherwise borrowed while
        // `xdl_diff` runs.
        let counts = unsafe { &mut *counts.cast::<(u64, u64)>() };
        counts.0 += new_lines.max(0) as u64;
        counts.1 += old_lines.max(0) as u64;
        0
    }
    let mut counts: (u64, u64) = (0, 0);
    // xdiff reads the texts and never writes them: the `*mut` is its C
    // signature's.
    let mut a = MmFile {
        ptr: old.as_ptr().cast_mut().cast(),
        size: old.len() as c_long,
    };
    let mut b = MmFile {
        ptr: new.as_ptr().cast_mut().cast(),
        size: new.len() as c_long,
    };
    let params = XpParam {
        flags: 0,
        ignore_regex: std::ptr::null_mut(),
        ignore_regex_nr: 0,
        anchors: std::ptr::null_mut(),
        anchors_nr: 0,
    };
    let conf = XdEmitConf {
        ctxlen: 0,
        interhunkctxlen: 0,
        flags: 0,
        find_func: None,
        find_func_priv: std::ptr::null_mut(),
        hunk_func: Some(hunk),
    };
    let mut callbacks = XdEmitCb {
        private: std::ptr::addr_of_mut!(counts).cast(),
        out_hunk: None,
        out_line: None,
    };
    // SAFETY: the structs are laid out as xdiff.h declares them (checked
    // by the test below against libgit2's own diff); the texts outlive the
    // call, which keeps no pointer to them or to `counts` after it returns;
    // with `hunk_func` set, xdiff calls it alone of the callbacks.
    let status = unsafe { xdl_diff(&mut a, &mut b, &params, &conf, &mut callbacks) };
    (status == 0).then_some(counts)
}

#[cfg(test)]
mod tests {
    use super::line_counts;

    /// libgit2's own count of the same two texts, through its buffer diff.
    fn libgit2_counts(old: &[u8], new: &[u8]) -> (u64, u64) {
        let mut opts = git2::DiffOptions::new();
        opts.force_text(true).context_lines(0).interhunk_lines(0);
        let patch = git2::Patch::from_buffers(old, None, new, None, Some(&mut opts))
            .expect("libgit2 diffs the buffers");
        let (_, added, deleted) = patch.line_stats().expect("line stats");
        (added as u64, deleted as u64)
    }

    /// A text of `lines` lines drawn from a few, so that many repeat (the
    /// case xdiff's heuristics treat apart), sometimes without a last
    /// newline.
    fn text(seed: &mut u64, lines: usize) -> Vec<u8> {
        let mut next = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        let words = [
            "",
            "}",
            "{",
            "fn a() {",
            "    x += 1;",
            "return y;",
            "// note",
        ];
        let mut out = Vec::new();
        for _ in 0..lines {
            let n = next();
            out.extend_from_slice(words[(n % words.len() as u64) as usize].as_bytes());
            if n % 11 == 0 {
                out.extend_from_slice(format!(" {}", n % 97).as_bytes());
            }
            out.push(b'\n');
        }
        if next() % 3 == 0 {
            out.pop();
        }
        out
    }

    #[test]
    fn counts_are_libgit2s_own() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..300 {
            let old = text(&mut seed, round % 60);
            let new = text(&mut seed, (round * 7) % 80);
            assert_eq!(
                line_counts(&old, &new),
                Some(libgit2_counts(&old, &new)),
                "round {round}"
            );
            // A small edit of one text, the common case of a stat.
            let mut edited = old.clone();
            edited.splice(old.len() / 2..old.len() / 2, text(&mut seed, 3));
            assert_eq!(
                line_counts(&old, &edited),
                Some(libgit2_counts(&old, &edited)),
                "round {round}, edited"
            );
        }
    }

    #[test]
    fn plain_cases() {
        assert_eq!(line_counts(b"a\nb\nc\n", b"a\nc\n"), Some((0, 1)));
        assert_eq!(line_counts(b"a\n", b"a\nb\nc\n"), Some((2, 0)));
        assert_eq!(line_counts(b"a\nb", b"a\nb\n"), Some((1, 1)));
        assert_eq!(line_counts(b"same\n", b"same\n"), Some((0, 0)));
    }
}
