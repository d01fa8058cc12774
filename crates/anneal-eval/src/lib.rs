//! Evaluation: metrics of a trained model on a split (computed on the host
//! in f64) and the deterministic report built from them.
//!
//! Everything here is a pure function of its inputs: the same predictions
//! give the same bytes.

pub mod evaluate;
pub mod metrics;
pub mod report;

pub use evaluate::{Predictions, SplitEval, evaluate_split, predictions_from_outputs};
pub use report::{Report, render_markdown};
