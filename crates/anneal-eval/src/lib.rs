//! Evaluation: metrics of a trained model on a split (computed on the host
//! in f64), their bootstrap intervals, curves and per-slice figures. The
//! documents built from them live in `anneal-report`.
//!
//! Everything here is a pure function of its inputs: the same predictions
//! give the same bytes.

pub mod baseline;
pub mod bootstrap;
pub mod curves;
pub mod evaluate;
pub mod metrics;
pub mod paired;
mod weighted;

pub use baseline::{baseline_metrics, prior_row, prior_row_from_profile};
pub use bootstrap::Interval;
pub use evaluate::{
    Curves, EvalSettings, Evaluation, Predictions, Residuals, Scored, SliceEval, evaluate,
    intervals_of, predictions_from_outputs, score_split,
};
