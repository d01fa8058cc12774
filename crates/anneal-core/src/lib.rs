//! Foundations every other anneal crate shares: the seeded random number
//! generator, canonical JSON, hashing, atomic file writes, the table of
//! metric names and the versions recorded in reports and artifacts.
//!
//! Nothing here knows about configs, data or models; it sits at the bottom of
//! the crate graph so that determinism has exactly one implementation.

pub mod error;
pub mod failure;
pub mod fsio;
pub mod hash;
pub mod json;
pub mod metric;
pub mod rng;
pub mod staged;
pub mod text;
pub mod time;
pub mod versions;

pub use error::{CoreError, Result};
pub use failure::{Failure, Stop};
pub use metric::{Metric, MetricTask};
