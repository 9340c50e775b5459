//! The journal reader on arbitrary bytes: it must answer (operations or a
//! clear error) and never panic, hang or run out of stack, whatever a crash,
//! a disk error or a hand edit left in `journal.jsonl`. What the commands
//! then do with the operations (status, the undo chain) runs too.
#![no_main]

use git_rollback_sprint::journal::{self, undo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(ops) = journal::parse_operations(data) else {
        return;
    };
    for op in &ops {
        let _ = op.status(Some(op.begin.pid));
        let _ = op.refs_created();
        let _ = op.begin.head.describe();
        if let Some(head) = op.end.as_ref().and_then(|e| e.head.as_ref()) {
            let _ = head.describe();
        }
        let _ = undo::undone_by(&ops, op);
    }
    let _ = journal::pending_interrupted(&ops, None);
    let _ = undo::select(&ops, None);
    if let Some(op) = ops.first() {
        let _ = undo::select(&ops, Some(op.id()));
        let _ = journal::interrupted_message(op);
    }
});
