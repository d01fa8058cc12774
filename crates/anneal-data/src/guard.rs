//! A panic inside a dependency turned into an error. polars' CSV reader
//! panics on some malformed files instead of failing (found by the `ingest`
//! fuzz target: a lone `"` ending a numeric field after a stray quote
//! inside an unquoted value, polars-io 0.55.2 `csv/read/builder.rs`). A
//! user's bad file must get a message, not a backtrace, so the readers run
//! under [`no_panic`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// While above zero, panics are not printed: they are being caught.
static QUIET: AtomicUsize = AtomicUsize::new(0);
static HOOK: Once = Once::new();

/// Runs `f`, returning the panic's message as an error if it panics. The
/// panic (on this thread or a polars worker) prints nothing; the previous
/// hook still reports every other panic.
pub(crate) fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.load(Ordering::SeqCst) == 0 {
                previous(info);
            }
        }));
    });
    QUIET.fetch_add(1, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(f));
    QUIET.fetch_sub(1, Ordering::SeqCst);
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".into())
    })
}
