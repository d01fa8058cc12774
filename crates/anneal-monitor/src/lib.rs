//! Monitoring a served model.
//!
//! - [`log`]: the inference log, the one module that writes it (for
//!   `anneal serve`) and reads it back (for `anneal monitor`).
//!
//! The artifact already holds the reference every comparison needs: the
//! training split's profile (`profile.json`). Nothing here keeps a second
//! copy of training data.

pub mod drift;
pub mod error;
pub mod log;

pub use error::{MonitorError, Result};
