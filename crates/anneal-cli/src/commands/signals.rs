//! SIGINT/SIGTERM as requests to stop, shared by `train` (finish the step,
//! checkpoint, exit 130/143) and `sweep run` (pass the signal on to the
//! running trials, exit 130/143).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::SigId;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

/// The handlers, removed again on drop.
pub struct StopSignals {
    /// Set by either signal.
    pub stop: Arc<AtomicBool>,
    /// 130 after SIGINT, 143 after SIGTERM (the last one received), 0 before.
    which: Arc<AtomicUsize>,
    ids: Vec<SigId>,
}

impl StopSignals {
    /// Installs the handlers. With `second_sigint_exits`, a SIGINT that
    /// arrives while a stop is already pending ends the process at once
    /// (exit 130): the user pressed Ctrl-C twice.
    pub fn install(second_sigint_exits: bool) -> StopSignals {
        let stop = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        let mut ids = Vec::new();
        for (sig, code) in [(SIGINT, 130usize), (SIGTERM, 143)] {
            if second_sigint_exits
                && sig == SIGINT
                && let Ok(id) = flag::register_conditional_shutdown(sig, 130, stop.clone())
            {
                ids.push(id);
            }
            for id in [
                flag::register_usize(sig, which.clone(), code),
                flag::register(sig, stop.clone()),
            ]
            .into_iter()
            .flatten()
            {
                ids.push(id);
            }
        }
        StopSignals { stop, which, ids }
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The exit code of the signal received: 130 (SIGINT), 143 (SIGTERM),
    /// or `None` when none came.
    pub fn code(&self) -> Option<u8> {
        match self.which.load(Ordering::SeqCst) {
            130 => Some(130),
            143 => Some(143),
            _ => None,
        }
    }
}

impl Drop for StopSignals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
