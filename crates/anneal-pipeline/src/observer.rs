//! What a front-end hears while the pipeline works: progress for a
//! terminal, a server's job status, a test's hooks. Every method has a
//! default that does nothing.

use std::path::Path;

use anneal_config::Loaded;
use anneal_data::Prepared;
use anneal_model::{Architecture, EpochLog};

use crate::stop::StopToken;

pub trait Observer {
    /// The data is prepared and the model built; training starts next.
    fn data_ready(&mut self, _loaded: &Loaded, _data: &Prepared, _arch: &Architecture) {}
    /// An interrupted run continues from this checkpoint.
    fn resuming(&mut self, _checkpoint: &Path, _epoch: u32, _step: u64) {}
    /// An epoch ended (validation included).
    fn epoch(&mut self, _log: &EpochLog) {}
    /// Optimizer step `step` (1-based, counted across epochs) is done and
    /// its checkpoint, if one was due, written. The run's staging folder
    /// holds the checkpoints. `stop` is the run's own stop token.
    fn step(&mut self, _step: u64, _staging: &Path, _stop: &StopToken) {}
    /// Training ended (finished, stopped early, interrupted or failed).
    fn training_done(&mut self) {}
}

/// Hears nothing.
pub struct Silent;

impl Observer for Silent {}
