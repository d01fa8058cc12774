//! The training configuration: its types with every default, TOML parsing
//! that names the key and line of each mistake, and the checks that reject
//! impossible values before any data is read.
//!
//! A config is also a valid DVC params file, so `dvc params diff` works on it.

pub mod defaults;
pub mod error;
mod load;
mod locate;
mod policy;
mod sweep;
mod types;
mod validate;

pub use error::{ConfigError, Result};
pub use load::{Loaded, load, parse};
pub use policy::*;
pub use sweep::{Direction, MAX_TRIALS, Parameter, SweepConfig, SweepMethod, Values};
pub use types::*;
pub use validate::{Filter, FilterOp, FilterValue, GATE_METRICS};
