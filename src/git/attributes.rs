//! Which paths git's checkout conversions may change, read from the
//! attribute files, so that only those go through libgit2's filters.
//!
//! libgit2 looks up every attribute of a path on each filtered write (a
//! `stat` of each folder's `.gitattributes` up the path, a `realpath`):
//! on git's own repository, whose root `.gitattributes` converts only
//! `*.bat` files, that was a seventh of an `emergency` spent finding that
//! the other 2,400 files it writes convert to themselves. On Unix, with
//! neither `core.autocrlf=true` nor `core.eol=crlf`, only these change
//! bytes on checkout: `eol` other than `lf`, the old `crlf`, `ident`,
//! `filter` and `working-tree-encoding` (`text` alone writes LF as LF).
//!
//! The reading here errs one way only: a path it cannot rule out is
//! filtered as before. Patterns match more than git's would (`*` and `**`
//! cross `/`, a bracket or an escaped character matches any one byte, a
//! quoted pattern matches everything), and a macro definition (`[attr]`)
//! anywhere makes every path a candidate. docs/design.md, "Checkout
//! conversions", says where this is used.

use std::collections::HashMap;

/// The attribute rules that may convert content, by the folder whose
/// `.gitattributes` holds them ("" for the top and for the files of
/// `info/attributes`, `core.attributesFile` and the system).
#[derive(Debug, Default)]
pub struct ConvertingRules {
    /// A macro definition or a conversion setting was seen: every path
    /// is a candidate.
    pub everything: bool,
    by_dir: HashMap<Vec<u8>, Vec<Pattern>>,
    ignore_case: bool,
}

impl ConvertingRules {
    pub fn new(ignore_case: bool) -> ConvertingRules {
        ConvertingRules {
            ignore_case,
            ..ConvertingRules::default()
        }
    }

    /// Add the rules of an attribute file in `dir` (a folder of the
    /// repository, "" for the top).
    pub fn add_file(&mut self, dir: &[u8], content: &[u8]) {
        for line in content.split(|b| *b == b'\n') {
            match parse_line(line) {
                Line::Nothing => {}
                Line::Macro => self.everything = true,
                Line::Converts(pattern) => {
                    let pattern = if self.ignore_case {
                        pattern.to_ascii_lowercase()
                    } else {
                        pattern
                    };
                    // Looked up by the path's folders, lowered alike.
                    let dir = if self.ignore_case {
                        dir.to_ascii_lowercase()
                    } else {
                        dir.to_vec()
                    };
                    self.by_dir
                        .entry(dir)
                        .or_default()
                        .push(Pattern::new(pattern));
                }
            }
        }
    }

    /// Whether no rule may convert anything.
    pub fn is_empty(&self) -> bool {
        !self.everything && self.by_dir.is_empty()
    }

    /// Whether a converting rule may apply to `path`.
    pub fn may_convert(&self, path: &[u8]) -> bool {
        if self.everything {
            return true;
        }
        let lowered;
        let path = if self.ignore_case {
            lowered = path.to_ascii_lowercase();
            &lowered[..]
        } else {
            path
        };
        let found = dirs_above(path).any(|dir| {
            let rest = if dir.is_empty() {
                path
            } else {
                &path[dir.len() + 1..]
            };
            self.by_dir
                .get(dir)
                .is_some_and(|patterns| patterns.iter().any(|p| p.matches(rest)))
        });
        found
    }
}

/// The folders above `path`, the top ("") first.
pub fn dirs_above(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::once(&path[..0]).chain(
        path.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'/')
            .map(move |(i, _)| &path[..i]),
    )
}

enum Line {
    Nothing,
    Macro,
    /// A pattern with at least one attribute that may convert content.
    Converts(Vec<u8>),
}

fn parse_line(line: &[u8]) -> Line {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut words = line
        .split(|b| matches!(b, b' ' | b'\t'))
        .filter(|w| !w.is_empty());
    let Some(first) = words.next() else {
        return Line::Nothing;
    };
    if first.starts_with(b"#") {
        return Line::Nothing;
    }
    if first.starts_with(b"[attr]") {
        return Line::Macro;
    }
    if first.starts_with(b"\"") {
        return quoted_line(line);
    }
    if words.any(converts) {
        Line::Converts(first.to_vec())
    } else {
        Line::Nothing
    }
}

/// A line whose pattern is C-quoted (it may hold spaces): each escape is
/// one byte, read as `?`; an unclosed quote matches everything.
fn quoted_line(line: &[u8]) -> Line {
    let start = line.iter().position(|b| *b == b'"').unwrap_or(0) + 1;
    let mut pattern = Vec::new();
    let mut i = start;
    let mut closed = None;
    while i < line.len() {
        match line[i] {
            b'"' => {
                closed = Some(i + 1);
                break;
            }
            b'\\' => {
                let digits = line[i + 1..]
                    .iter()
                    .take(3)
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                match line.get(i + 1) {
                    Some(b'"') => pattern.push(b'"'),
                    _ => pattern.push(b'?'),
                }
                i += 1 + digits.max(1);
                continue;
            }
            b => pattern.push(b),
        }
        i += 1;
    }
    let (pattern, rest) = match closed {
        Some(end) => (pattern, &line[end..]),
        None => (b"*".to_vec(), line),
    };
    if rest
        .split(|b| matches!(b, b' ' | b'\t'))
        .filter(|w| !w.is_empty())
        .any(converts)
    {
        Line::Converts(pattern)
    } else {
        Line::Nothing
    }
}

/// Whether an attribute, in any state, may change bytes on checkout.
fn converts(word: &[u8]) -> bool {
    if word == b"eol=lf" {
        return false;
    }
    let name = word.strip_prefix(b"-").unwrap_or(word);
    let name = name.strip_prefix(b"!").unwrap_or(name);
    let name = name.split(|b| *b == b'=').next().unwrap_or(name);
    matches!(
        name,
        b"eol" | b"crlf" | b"ident" | b"filter" | b"working-tree-encoding"
    )
}

/// A pattern of an attribute file, read to match at least what git's
/// would.
#[derive(Debug)]
struct Pattern {
    /// No slash in it: matched against the file name alone.
    name_only: bool,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Byte(u8),
    /// Any one byte.
    One,
    /// Any bytes, `/` included.
    Any,
}

impl Pattern {
    fn new(pattern: Vec<u8>) -> Pattern {
        let mut tokens = Vec::new();
        if pattern.len() > 1 && pattern.ends_with(b"/") {
            // git matches such a pattern to folders only, never to a file
            // in them; taken to match everything.
            tokens.push(Token::Any);
            return Pattern {
                name_only: false,
                tokens,
            };
        }
        let name_only = !pattern.contains(&b'/');
        let p = pattern.strip_prefix(b"/").unwrap_or(&pattern);
        let mut i = 0;
        while i < p.len() {
            match p[i] {
                b'*' => {
                    let double = p.get(i + 1) == Some(&b'*');
                    while p.get(i) == Some(&b'*') {
                        i += 1;
                    }
                    if double {
                        // `a/**/b` also matches `a/b`: the slashes around
                        // `**` are optional.
                        if tokens.last() == Some(&Token::Byte(b'/')) {
                            tokens.pop();
                        }
                        if p.get(i) == Some(&b'/') {
                            i += 1;
                        }
                    }
                    if tokens.last() != Some(&Token::Any) {
                        tokens.push(Token::Any);
                    }
                    continue;
                }
                b'?' => tokens.push(Token::One),
                b'\\' => {
                    tokens.push(Token::One);
                    i += 1;
                }
                b'[' => {
                    let from = i + 1;
                    let from = if matches!(p.get(from), Some(b'!' | b'^')) {
                        from + 1
                    } else {
                        from
                    };
                    // A `]` right after the opening is part of the set.
                    match p
                        .get(from + 1..)
                        .and_then(|r| r.iter().position(|b| *b == b']'))
                    {
                        Some(close) => {
                            tokens.push(Token::One);
                            i = from + 1 + close;
                        }
                        None => tokens.push(Token::Byte(b'[')),
                    }
                }
                b => tokens.push(Token::Byte(b)),
            }
            i += 1;
        }
        Pattern { name_only, tokens }
    }

    /// `rest` is the path below the attribute file's folder.
    fn matches(&self, rest: &[u8]) -> bool {
        if self.name_only {
            let name = rest.rsplit(|b| *b == b'/').next().unwrap_or(rest);
            glob(&self.tokens, name)
        } else {
            glob(&self.tokens, rest)
        }
    }
}

/// Glob matching with one point to go back to (the last `Any`).
fn glob(tokens: &[Token], text: &[u8]) -> bool {
    let (mut t, mut s) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while s < text.len() {
        match tokens.get(t) {
            Some(Token::Any) => {
                back = Some((t, s));
                t += 1;
                continue;
            }
            Some(Token::One) => {
                t += 1;
                s += 1;
                continue;
            }
            Some(Token::Byte(b)) if *b == text[s] => {
                t += 1;
                s += 1;
                continue;
            }
            _ => {}
        }
        match back {
            Some((bt, bs)) => {
                t = bt + 1;
                s = bs + 1;
                back = Some((bt, bs + 1));
            }
            None => return false,
        }
    }
    tokens[t..].iter().all(|k| *k == Token::Any)
}
