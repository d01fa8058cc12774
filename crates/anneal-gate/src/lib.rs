//! CI verdicts. `anneal gate` decides whether a model may ship: the rules
//! of a policy (value thresholds, changes against a baseline, a
//! noise-aware paired-bootstrap regression check, a leakage trip-wire),
//! applied to a report and, for baseline rules, to the baseline's
//! predictions on the very same rows. `anneal check-data` (whose checks
//! come from `anneal_data::drift`) reuses the same [`Verdict`] and output
//! files.
//!
//! A verdict is a pure function of its inputs and the seed: the same
//! report, baseline and policy give the same `gate.json` bytes.

pub mod baseline;
pub mod error;
pub mod gate;
pub mod inputs;
pub mod verdict;

pub use baseline::{Baseline, BaselineSource};
pub use error::{GateError, Result};
pub use gate::{GateInput, run_gate};
pub use inputs::{RunReport, read_report};
pub use verdict::{Check, Outcome, Status, Verdict};
