//! The journal read back once per command: the operations, which of them
//! are undone, and the short ids that name them (docs/journal.md, Ids).
//!
//! A command reads the journal through [`super::Journal::history`], which
//! parses the file once and hands out the same [`History`] again while the
//! file is unchanged (the transaction reads it before and after taking the
//! lock; `undo` reads it to choose, then to act).
//!
//! Undo and redo walk the history as an editor does:
//!
//! * an *original* operation is one that is not an undo or a redo;
//! * an operation *stands* unless an undo of it stands (undos come after
//!   what they undo, so this is decided newest first, in one pass);
//! * `undo` takes the newest original operation that stands;
//! * `redo` takes the newest standing undo since the newest original
//!   operation, and undoes it: a new operation ends the chain of redos.

use std::collections::HashMap;

use super::{OpStatus, Operation};
use crate::error::user;

/// Fewest characters of an id that name an operation (docs/journal.md, Ids).
pub const MIN_PREFIX: usize = 4;

#[derive(Debug, Default)]
pub struct History {
    /// Only the newest operations ([`super::Journal::recent_history`]).
    partial: bool,
    ops: Vec<Operation>,
    by_id: HashMap<String, usize>,
    /// For each operation, the undo of it that stands, if any.
    undone_by: Vec<Option<usize>>,
}

impl History {
    pub fn new(ops: Vec<Operation>) -> History {
        let by_id: HashMap<String, usize> = ops
            .iter()
            .enumerate()
            .map(|(n, op)| (op.id().to_string(), n))
            .collect();
        // Undos of each operation, oldest first.
        let mut undos: Vec<Vec<usize>> = vec![Vec::new(); ops.len()];
        for (n, op) in ops.iter().enumerate() {
            if op.status(None) != OpStatus::Done {
                continue;
            }
            if let Some(&target) = op.begin.undoes.as_ref().and_then(|id| by_id.get(id)) {
                if target < n {
                    undos[target].push(n);
                }
            }
        }
        // Newest first: whether an undo stands is known before what it undoes.
        let mut undone_by = vec![None; ops.len()];
        for n in (0..ops.len()).rev() {
            undone_by[n] = undos[n]
                .iter()
                .rev()
                .copied()
                .find(|&u| undone_by[u].is_none());
        }
        History {
            partial: false,
            ops,
            by_id,
            undone_by,
        }
    }

    /// The newest operations of a journal, not all of them.
    pub fn partial(ops: Vec<Operation>) -> History {
        History {
            partial: true,
            ..History::new(ops)
        }
    }

    /// Whether older operations were left out.
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// Every operation, oldest first.
    pub fn ops(&self) -> &[Operation] {
        &self.ops
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn get(&self, id: &str) -> Option<&Operation> {
        self.by_id.get(id).map(|&n| &self.ops[n])
    }

    fn position(&self, op: &Operation) -> Option<usize> {
        self.by_id.get(op.id()).copied()
    }

    /// The undo of `op` that stands, if `op` is undone.
    pub fn undone_by(&self, op: &Operation) -> Option<&Operation> {
        let n = self.position(op)?;
        self.undone_by[n].map(|u| &self.ops[u])
    }

    /// Whether `op` stands for an original operation: it is one, or it
    /// redoes one `log prune` released (an even number of undos away from
    /// it), so that `undo` takes it as it would have taken the original.
    fn stands_for_original(&self, op: &Operation) -> bool {
        if op.begin.undoes.is_none() {
            return true;
        }
        let (first, hops) = self.original_of(op);
        first.begin.undoes.is_some() && hops % 2 == 0
    }

    /// The operation `undo` without an id takes: the newest original
    /// operation that stands (and is not running), or the newest redo of
    /// one released by `log prune`.
    pub fn undo_target(&self, running: Option<u32>) -> Option<&Operation> {
        self.ops.iter().enumerate().rev().find_map(|(n, op)| {
            (self.stands_for_original(op)
                && self.undone_by[n].is_none()
                && op.status(running) != OpStatus::Running)
                .then_some(op)
        })
    }

    /// The undo `redo` undoes: the newest one that stands among the
    /// operations after the newest original one (an undo is an odd number
    /// of hops from its original operation; a redo, an even number).
    pub fn redo_target(&self) -> Option<&Operation> {
        let since = self
            .ops
            .iter()
            .rposition(|op| op.begin.undoes.is_none())
            .map_or(0, |n| n + 1);
        // (A redo of a released operation does not end the chain: it is
        // part of it.)
        (since..self.ops.len()).rev().find_map(|n| {
            let op = &self.ops[n];
            // An undo of an original operation (or of a redo of one): a
            // redo itself is not undone again by `redo`.
            (self.original_of(op).1 % 2 == 1
                && self.undone_by[n].is_none()
                && op.status(None) == OpStatus::Done)
                .then_some(op)
        })
    }

    /// The operation at the start of `op`'s chain of undos, and how many
    /// undos away from it `op` is (0: `op` is an original operation).
    pub fn original_of<'h>(&'h self, op: &'h Operation) -> (&'h Operation, usize) {
        let mut original = op;
        let mut hops = 0usize;
        while let Some(id) = original.begin.undoes.as_deref() {
            match self.get(id) {
                Some(next) => {
                    original = next;
                    hops += 1;
                }
                // Released by `log prune`, which releases an undo only
                // with what it undoes and never an undo that a kept
                // operation undoes: what is gone is an original operation,
                // one hop further (the last one here is still an undo).
                None => {
                    hops += 1;
                    break;
                }
            }
        }
        (original, hops)
    }

    /// The newest interrupted operation that has not been undone since.
    pub fn pending_interrupted(&self, running: Option<u32>) -> Option<&Operation> {
        self.ops.iter().enumerate().rev().find_map(|(n, op)| {
            (op.status(running) == OpStatus::Interrupted && self.undone_by[n].is_none())
                .then_some(op)
        })
    }

    /// The operation an id or a unique prefix of 4 or more characters names.
    pub fn resolve(&self, id: &str) -> anyhow::Result<&Operation> {
        if let Some(op) = self.get(id) {
            return Ok(op);
        }
        if id.chars().count() < MIN_PREFIX {
            return Err(user(format!(
                "`{id}` is too short to name an operation: give at least {MIN_PREFIX} characters"
            ))
            .hint("see the ids in `git rollback-sprint log`")
            .into());
        }
        let matches: Vec<&Operation> = self.ops.iter().filter(|o| o.id().starts_with(id)).collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(user(format!("no operation `{id}` in the journal"))
                .hint("see the ids in `git rollback-sprint log`")
                .into()),
            _ => Err(user(format!("`{id}` names {} operations", matches.len()))
                .hint("give more characters of the id (see `git rollback-sprint log`)")
                .into()),
        }
    }

    /// For each id, how many of its first characters name it alone (at
    /// least [`MIN_PREFIX`], at most the whole id).
    pub fn unique_prefixes(&self) -> HashMap<&str, usize> {
        let mut ids: Vec<&str> = self.ops.iter().map(Operation::id).collect();
        ids.sort_unstable();
        let common =
            |a: &str, b: &str| a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        let mut out = HashMap::with_capacity(ids.len());
        for (n, id) in ids.iter().enumerate() {
            let before = n.checked_sub(1).map_or(0, |p| common(ids[p], id));
            let after = ids.get(n + 1).map_or(0, |next| common(next, id));
            let len = (before.max(after) + 1).max(MIN_PREFIX).min(id.len());
            out.insert(*id, len);
        }
        out
    }

    /// Whether an operation with this id is in the journal.
    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::parse_operations;

    fn op_line(id: &str, undoes: Option<&str>) -> String {
        let undoes = undoes.map_or("null".to_string(), |u| format!("\"{u}\""));
        format!(
            "{{\"type\":\"begin\",\"v\":1,\"id\":\"{id}\",\"time\":\"2026-12-03T10:00:00+00:00\",\"kind\":\"k\",\"command\":\"c\",\"pid\":1,\"head\":{{\"detached\":\"{z}\"}},\"scope\":{{}},\"refs\":[],\"undoes\":{undoes}}}\n{{\"type\":\"end\",\"v\":1,\"id\":\"{id}\",\"time\":\"2026-12-03T10:00:01+00:00\",\"outcome\":\"done\",\"head\":null}}\n",
            z = "0".repeat(40)
        )
    }

    fn history(lines: &[(&str, Option<&str>)]) -> History {
        let text: String = lines.iter().map(|(id, u)| op_line(id, *u)).collect();
        History::new(parse_operations(text.as_bytes()).unwrap())
    }

    #[test]
    fn undo_walks_back_and_redo_walks_forward() {
        let h = history(&[("aaaa01", None), ("bbbb01", None), ("cccc01", None)]);
        assert_eq!(h.undo_target(None).unwrap().id(), "cccc01");
        assert!(h.redo_target().is_none());
        let h = history(&[
            ("aaaa01", None),
            ("bbbb01", None),
            ("cccc01", None),
            ("dddd01", Some("cccc01")),
        ]);
        assert_eq!(h.undo_target(None).unwrap().id(), "bbbb01");
        assert_eq!(h.redo_target().unwrap().id(), "dddd01");
        let h = history(&[
            ("aaaa01", None),
            ("bbbb01", None),
            ("cccc01", None),
            ("dddd01", Some("cccc01")),
            ("eeee01", Some("bbbb01")),
        ]);
        assert_eq!(h.undo_target(None).unwrap().id(), "aaaa01");
        assert_eq!(h.redo_target().unwrap().id(), "eeee01");
        // Redo of b: b stands again, c is still undone.
        let h = history(&[
            ("aaaa01", None),
            ("bbbb01", None),
            ("cccc01", None),
            ("dddd01", Some("cccc01")),
            ("eeee01", Some("bbbb01")),
            ("ffff01", Some("eeee01")),
        ]);
        assert!(h.undone_by(h.get("bbbb01").unwrap()).is_none());
        assert_eq!(
            h.undone_by(h.get("cccc01").unwrap()).unwrap().id(),
            "dddd01"
        );
        assert_eq!(h.undo_target(None).unwrap().id(), "bbbb01");
        assert_eq!(h.redo_target().unwrap().id(), "dddd01");
        assert_eq!(h.original_of(h.get("ffff01").unwrap()).1, 2);
    }

    #[test]
    fn an_undo_of_a_released_operation_is_still_an_undo() {
        // aaaa01 was released by `log prune`; its undo stays.
        let h = history(&[("bbbb01", Some("aaaa01"))]);
        assert_eq!(h.original_of(h.get("bbbb01").unwrap()).1, 1);
        assert_eq!(h.redo_target().unwrap().id(), "bbbb01");
        assert!(h.undo_target(None).is_none());
        let h = history(&[("bbbb01", Some("aaaa01")), ("cccc01", Some("bbbb01"))]);
        assert_eq!(h.original_of(h.get("cccc01").unwrap()).1, 2);
        assert!(h.redo_target().is_none());
        // The redo stands for the released operation: `undo` takes it, as
        // it would have taken aaaa01, and then `redo` takes that undo.
        assert_eq!(h.undo_target(None).unwrap().id(), "cccc01");
        let h = history(&[
            ("bbbb01", Some("aaaa01")),
            ("cccc01", Some("bbbb01")),
            ("dddd01", Some("cccc01")),
        ]);
        assert!(h.undo_target(None).is_none());
        assert_eq!(h.redo_target().unwrap().id(), "dddd01");
        // An older original that stands comes after a newer redo.
        let h = history(&[
            ("0000aa", None),
            ("bbbb01", Some("aaaa01")),
            ("cccc01", Some("bbbb01")),
        ]);
        assert_eq!(h.undo_target(None).unwrap().id(), "cccc01");
    }

    #[test]
    fn a_new_operation_ends_the_redo_chain() {
        let h = history(&[
            ("aaaa01", None),
            ("bbbb01", None),
            ("cccc01", Some("bbbb01")),
            ("dddd01", None),
        ]);
        assert!(h.redo_target().is_none());
        assert_eq!(h.undo_target(None).unwrap().id(), "dddd01");
    }

    #[test]
    fn an_undo_undone_twice_over_stands_again() {
        // x undone by u1 and (forced) u2; r undoes u2: u1 still stands.
        let h = history(&[
            ("aaaa01", None),
            ("bbbb01", Some("aaaa01")),
            ("cccc01", Some("aaaa01")),
            ("dddd01", Some("cccc01")),
        ]);
        assert_eq!(
            h.undone_by(h.get("aaaa01").unwrap()).unwrap().id(),
            "bbbb01"
        );
    }

    #[test]
    fn prefixes_are_unique_and_at_least_four() {
        let h = history(&[
            ("abcdef012345", None),
            ("abcdee012345", None),
            ("ffff00000000", None),
        ]);
        let p = h.unique_prefixes();
        assert_eq!(p["abcdef012345"], 6);
        assert_eq!(p["abcdee012345"], 6);
        assert_eq!(p["ffff00000000"], 4);
        assert_eq!(h.resolve("abcdef").unwrap().id(), "abcdef012345");
        assert!(h.resolve("abcd").is_err());
        assert!(h.resolve("abc").is_err());
        assert!(h.resolve("ffff0").is_ok());
        // The whole id always works, however short.
        let h = history(&[("ab", None)]);
        assert_eq!(h.resolve("ab").unwrap().id(), "ab");
    }
}
