//! Blob contents read once for two readers that run side by side: the
//! writer of a `sprint rollback`, which writes the baseline's version of
//! every file the sprint changed, and the diff stat of its report, which
//! reads the same blobs as its old side (docs/design.md, "The diff stat of
//! `changes.txt`").
//!
//! Inflating a blob out of a real pack (through its chain of deltas) is
//! most of the processor time of both. Whichever reader comes to a blob
//! first reads it and leaves a copy here; the other takes the copy (and
//! it is gone). A blob only one of them reads stays until the share is
//! dropped, so the copies held are bounded ([`BUDGET`]): past it, nothing
//! more is left and each reader reads for itself, as without a share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use git2::Oid;

/// The most bytes of copies held at once.
const BUDGET: usize = 64 << 20;

/// Blob contents left by one reader for the other.
#[derive(Debug, Default)]
pub struct SharedBlobs {
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    blobs: HashMap<Oid, Arc<[u8]>>,
    bytes: usize,
}

impl SharedBlobs {
    pub fn new() -> Arc<SharedBlobs> {
        Arc::new(SharedBlobs::default())
    }

    /// The copy another reader left of blob `id`, taken from the share.
    pub fn take(&self, id: Oid) -> Option<Arc<[u8]>> {
        let mut held = self.held.lock().ok()?;
        let blob = held.blobs.remove(&id)?;
        held.bytes -= blob.len();
        Some(blob)
    }

    /// Leave a copy of blob `id`'s `content` for the other reader, unless
    /// that would hold more than the budget (or one is there already).
    pub fn leave(&self, id: Oid, content: &[u8]) {
        let Ok(mut held) = self.held.lock() else {
            return;
        };
        if held.bytes + content.len() > BUDGET || held.blobs.contains_key(&id) {
            return;
        }
        held.bytes += content.len();
        held.blobs.insert(id, Arc::from(content));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).expect("an id")
    }

    #[test]
    fn a_copy_is_taken_once() {
        let share = SharedBlobs::new();
        share.leave(id(1), b"content");
        assert_eq!(share.take(id(1)).as_deref(), Some(&b"content"[..]));
        assert_eq!(share.take(id(1)), None);
        assert_eq!(share.take(id(2)), None);
    }

    #[test]
    fn nothing_is_held_past_the_budget() {
        let share = SharedBlobs::new();
        let big = vec![7u8; BUDGET - 10];
        share.leave(id(1), &big);
        share.leave(id(2), &[1u8; 11]);
        assert_eq!(share.take(id(2)), None, "over the budget: not left");
        share.leave(id(3), &[1u8; 10]);
        assert!(share.take(id(3)).is_some(), "within it: left");
        assert!(share.take(id(1)).is_some());
        share.leave(id(2), &[1u8; 11]);
        assert!(share.take(id(2)).is_some(), "room again once taken");
    }
}
