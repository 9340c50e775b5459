//! The `metrics.json` reader on arbitrary bytes: a corrupt file is an error,
//! never a panic; a file it accepts goes through what every rollback does
//! with it (statistics, marking an entry undone, writing it back).
#![no_main]

use git_rollback_sprint::metrics;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut doc) = metrics::parse(data) else {
        return;
    };
    metrics::recompute_statistics(&mut doc);
    let _ = metrics::live_entries(&doc);
    metrics::mark_undone(&mut doc, "op", true);
    metrics::append(&mut doc, serde_json::Map::new());
    metrics::recompute_statistics(&mut doc);
    let text = serde_json::to_string_pretty(&doc).expect("a parsed document serializes");
    assert!(
        metrics::parse(text.as_bytes()).is_ok(),
        "what we write we read back"
    );
});
