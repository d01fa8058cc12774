//! Monitoring a served model.
//!
//! - [`log`]: the inference log, the one module that writes it (for
//!   `anneal serve`) and reads it back (for `anneal monitor`).
//! - [`sink`]: serve's side of the log: a writer thread, rotation,
//!   sampling, and rows dropped (and counted) rather than requests held.
//! - [`drift`]: live values counted against the training profile, judged
//!   with `check-data`'s tests.
//! - [`window`]: a sliding window of those counts (rows and/or seconds),
//!   for serve's gauges.
//! - [`labels`], [`windows`] (fixed time windows over a log), [`rows`],
//!   [`performance`], [`policy`], [`analysis`]: `anneal monitor`, from a
//!   log and late labels to per-window metrics, drift and prediction
//!   shift, and the `[monitor]` policy's verdict.
//! - [`document`] (`monitor.json`, written and read back) and [`render`]
//!   (Markdown, HTML, JUnit).
//!
//! The artifact already holds the reference every comparison needs: the
//! training split's profile (`profile.json`). Nothing here keeps a second
//! copy of training data.

pub mod analysis;
pub mod document;
pub mod drift;
pub mod error;
pub mod labels;
pub mod log;
pub mod performance;
pub mod policy;
pub mod render;
pub mod rows;
pub mod sink;
pub mod window;
pub mod windows;

pub use analysis::{Analysis, analyse};
pub use document::MonitorDoc;
pub use error::{MonitorError, Result};
pub use windows::WindowSpec;
