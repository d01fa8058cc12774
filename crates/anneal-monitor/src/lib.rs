//! Monitoring a served model.
//!
//! - [`log`]: the inference log, the one module that writes it (for
//!   `anneal serve`) and reads it back (for `anneal monitor`).
//! - [`sink`]: serve's side of the log: a writer thread, rotation,
//!   sampling, and rows dropped (and counted) rather than requests held.
//! - [`drift`]: live values counted against the training profile, judged
//!   with `check-data`'s tests.
//! - [`window`]: a sliding window of those counts (rows and/or seconds).
//!
//! The artifact already holds the reference every comparison needs: the
//! training split's profile (`profile.json`). Nothing here keeps a second
//! copy of training data.

pub mod drift;
pub mod error;
pub mod log;
pub mod sink;
pub mod window;

pub use error::{MonitorError, Result};
