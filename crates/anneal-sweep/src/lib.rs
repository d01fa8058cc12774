//! Hyper-parameter sweeps: the trial list of a config's `[sweep]` section
//! (each trial a fully resolved config with a stable id), the trial index a
//! scheduler hands a process, and the leaderboard merged from the trials'
//! reports.
//!
//! anneal scales out through the schedulers teams already run (Kubernetes
//! Indexed Jobs, Slurm arrays, Volcano, Ray): each runs
//! `anneal train --config X --trial I` on its own, and `anneal sweep
//! collect` merges what they wrote into one shared folder. Nothing here
//! talks to another process; a trial is a plain run folder.

pub mod error;
pub mod html;
pub mod index;
pub mod leaderboard;
pub mod plan;

pub use error::{Result, SweepError};
pub use index::{IndexSource, trial_index};
pub use leaderboard::{Entry, Leaderboard, TrialStatus, collect};
pub use plan::{Plan, Trial, plan, trial};

/// The folder of trial `index` inside a sweep folder: `trials/0003`.
pub fn trial_dir(sweep_dir: &std::path::Path, index: usize) -> std::path::PathBuf {
    sweep_dir.join("trials").join(format!("{index:04}"))
}
