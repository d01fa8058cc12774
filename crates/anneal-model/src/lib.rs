//! Models and training on burn: the network definition, the backend choice,
//! and anneal's own training loop (optimizer, schedule, loss, early stopping).
//!
//! The loop is ours rather than burn-train's `Learner` because anneal must
//! control every random draw (initial weights, batch order, dropout masks all
//! come from the config seed through `anneal_core::rng`) and must be able to
//! resume exactly. Initial weights are drawn on the host, so every backend
//! starts from the same numbers.

pub mod backend;
pub mod checkpoint;
pub mod error;
mod fastmlp;
pub mod network;
pub(crate) mod optim;
pub mod schedule;
pub mod train;

pub use backend::device;
pub use error::{ModelError, Result};
pub use network::{Architecture, Network, NetworkTensor};
pub use train::{
    Checkpoints, EpochLog, Objective, TrainData, TrainOutput, TrainState, train, train_with,
};
