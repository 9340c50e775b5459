//! Signals that would end this process, held off while a child in the
//! foreground decides what they mean: the pager (SIGINT, SIGQUIT, as git
//! does) and a test run (SIGINT, SIGTERM, see [`crate::testrun`]).
//!
//! signal-hook keeps its handler installed once a signal has one, so each
//! signal gets one "end the process as by default" action for the whole
//! run, switched off while a [`Held`] lives.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;

/// Per signal: true when it ends this process as it would by default.
static DEFAULTS: Mutex<Vec<(i32, Arc<AtomicBool>)>> = Mutex::new(Vec::new());

fn default_action(signal: i32) -> anyhow::Result<Arc<AtomicBool>> {
    let mut defaults = DEFAULTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, flag)) = defaults.iter().find(|(s, _)| *s == signal) {
        return Ok(Arc::clone(flag));
    }
    let flag = Arc::new(AtomicBool::new(true));
    signal_hook::flag::register_conditional_default(signal, Arc::clone(&flag))
        .with_context(|| format!("could not handle signal {signal}"))?;
    defaults.push((signal, Arc::clone(&flag)));
    Ok(flag)
}

/// While it lives, `signals` do not end this process (other handlers, such
/// as a [`signal_hook::iterator::Signals`], still see them); dropped, they
/// end it again.
pub struct Held {
    flags: Vec<Arc<AtomicBool>>,
}

impl Held {
    pub fn new(signals: &[i32]) -> anyhow::Result<Held> {
        let flags = signals
            .iter()
            .map(|&s| default_action(s))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for flag in &flags {
            flag.store(false, Ordering::SeqCst);
        }
        Ok(Held { flags })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        for flag in &self.flags {
            flag.store(true, Ordering::SeqCst);
        }
    }
}
