//! Stop requests: a token the front-end holds and the pipeline polls
//! between optimizer steps (and `sweep run` between trials). A front-end
//! may request a stop itself (`request`), or let SIGINT/SIGTERM do it
//! (`StopToken::on_signals`): `train` then finishes the step, checkpoints
//! and returns `Error::Interrupted`; `sweep run` passes the signal on to
//! its running trials.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anneal_core::Stop;
use signal_hook::SigId;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

/// A shared stop request. Clones share it.
#[derive(Clone, Default)]
pub struct StopToken {
    stop: Arc<AtomicBool>,
    /// 130 after SIGINT, 143 after SIGTERM (the last one received), 0
    /// before any (or for a stop requested in-process).
    which: Arc<AtomicUsize>,
}

impl StopToken {
    pub fn new() -> StopToken {
        StopToken::default()
    }

    /// Asks the run to stop at the next step (as SIGINT would).
    pub fn request(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn is_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// What asked for the stop: SIGTERM, or SIGINT (also for an in-process
    /// request, which resumes the same way); `None` while none has.
    pub fn reason(&self) -> Option<Stop> {
        match (self.is_requested(), self.which.load(Ordering::SeqCst)) {
            (false, _) => None,
            (true, 143) => Some(Stop::Sigterm),
            (true, _) => Some(Stop::Sigint),
        }
    }

    /// The flag the training loop polls.
    pub(crate) fn flag(&self) -> &Arc<AtomicBool> {
        &self.stop
    }

    /// Makes SIGINT and SIGTERM request a stop until the guard is dropped.
    /// With `second_sigint_exits`, a SIGINT that arrives while a stop is
    /// already pending ends the process at once (exit 130): the user
    /// pressed Ctrl-C twice.
    pub fn on_signals(&self, second_sigint_exits: bool) -> SignalGuard {
        let mut ids = Vec::new();
        for (sig, code) in [(SIGINT, 130usize), (SIGTERM, 143)] {
            if second_sigint_exits
                && sig == SIGINT
                && let Ok(id) = flag::register_conditional_shutdown(sig, 130, self.stop.clone())
            {
                ids.push(id);
            }
            for id in [
                flag::register_usize(sig, self.which.clone(), code),
                flag::register(sig, self.stop.clone()),
            ]
            .into_iter()
            .flatten()
            {
                ids.push(id);
            }
        }
        SignalGuard { ids }
    }
}

/// Installed signal handlers, removed again on drop.
pub struct SignalGuard {
    ids: Vec<SigId>,
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_as_sigint_and_is_shared_by_clones() {
        let t = StopToken::new();
        let c = t.clone();
        assert_eq!(t.reason(), None);
        c.request();
        assert!(t.is_requested());
        assert_eq!(t.reason(), Some(Stop::Sigint));
    }
}
