use std::path::PathBuf;

use anneal_core::{Failure, Stop};

/// Everything a pipeline call can fail with. `failure()` classifies it;
/// `anneal_core::Failure::exit_code` turns the class into an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] anneal_config::ConfigError),
    #[error(transparent)]
    Data(#[from] anneal_data::DataError),
    #[error(transparent)]
    Model(#[from] anneal_model::ModelError),
    #[error(transparent)]
    Artifact(#[from] anneal_artifact::ArtifactError),
    #[error(transparent)]
    Core(#[from] anneal_core::CoreError),
    #[error(transparent)]
    Report(#[from] anneal_report::ReportError),
    /// `anneal registry`: 2 for a bad name or reference (or one naming
    /// nothing that exists) and `pull` into an existing folder, 3 for a
    /// damaged registry or artifact, 1 for I/O and a lock that stays held.
    #[error(transparent)]
    Registry(#[from] anneal_registry::RegistryError),
    #[error("run folder {} already exists; pass --force to replace it or choose another --out", .0.display())]
    RunExists(PathBuf),
    #[error("an interrupted run of {} exists; continue it with `anneal train --resume {}`, or start over with --force", .0.display(), .0.display())]
    InterruptedRunExists(PathBuf),
    #[error("nothing to resume in {}: {reason}", run.display())]
    NothingToResume { run: PathBuf, reason: String },
    /// Stopped by SIGINT (exit 130) or SIGTERM (exit 143), or by a stop
    /// requested in-process (as SIGINT), after writing a checkpoint.
    #[error("interrupted by {}: checkpoint written at epoch {epoch}, step {step}; continue with `anneal train --resume {}`", stop.name(), run.display())]
    Interrupted {
        stop: Stop,
        run: PathBuf,
        epoch: u32,
        step: u64,
    },
    #[error("verify FAILED: {differ} of {total} metrics of {} differ from the CPU-trained model's by more than {tolerance}", run.display())]
    VerifyDisagrees {
        run: PathBuf,
        differ: usize,
        total: usize,
        tolerance: f64,
    },
    #[error("verify FAILED: {differ} of {total} hashes of {} differ from the re-run", run.display())]
    VerifyDiffers {
        run: PathBuf,
        differ: usize,
        total: usize,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
    /// A file or folder that could not be created, written or renamed
    /// (disk full, permissions): transient, exit 75.
    #[error("{0}")]
    Write(String),
    #[error(transparent)]
    Sweep(#[from] anneal_sweep::SweepError),
    /// `sweep run` stopped by SIGINT/SIGTERM after its trials checkpointed.
    #[error("sweep interrupted: {finished} of {total} trials finished; the rest checkpointed and resume when the same `anneal sweep run` runs again (leaderboard so far in {})", dir.display())]
    SweepInterrupted {
        stop: Stop,
        dir: PathBuf,
        finished: usize,
        total: usize,
    },
    /// Some trials of `sweep run` failed; the class is theirs when they
    /// all agree, else a run failure.
    #[error("{failed} of {total} trials failed; see {logs}")]
    SweepFailed {
        failure: Failure,
        failed: usize,
        total: usize,
        logs: String,
    },
    #[error(transparent)]
    Gate(#[from] anneal_gate::GateError),
    /// `anneal monitor`: 2 for a bad window, 3 for a log or labels file
    /// that cannot be used, 75 for a document that cannot be written.
    #[error(transparent)]
    Monitor(#[from] anneal_monitor::MonitorError),
    /// A gate or data check that reached a failing verdict (exit 1).
    #[error("{command} FAILED: {failed} of {total} checks failed (details in {})", files.display())]
    VerdictFailed {
        command: String,
        failed: usize,
        total: usize,
        files: PathBuf,
    },
}

impl Error {
    pub fn failure(&self) -> Failure {
        match self {
            Error::Config(e) => e.failure(),
            Error::Data(e) => e.failure(),
            Error::Model(e) => e.failure(),
            Error::Artifact(e) => e.failure(),
            Error::Core(e) => e.failure(),
            Error::Report(e) => e.failure(),
            Error::Registry(e) => e.failure(),
            Error::Sweep(e) => e.failure(),
            Error::Gate(e) => e.failure(),
            Error::Monitor(e) => e.failure(),
            Error::RunExists(_)
            | Error::InterruptedRunExists(_)
            | Error::NothingToResume { .. }
            | Error::Usage(_) => Failure::Usage,
            Error::Interrupted { stop, .. } | Error::SweepInterrupted { stop, .. } => {
                Failure::Interrupted(*stop)
            }
            Error::SweepFailed { failure, .. } => *failure,
            Error::Write(_) => Failure::Transient,
            Error::VerifyDisagrees { .. }
            | Error::VerifyDiffers { .. }
            | Error::VerdictFailed { .. }
            | Error::Io(_) => Failure::RunFailed,
        }
    }

    pub fn exit_code(&self) -> u8 {
        self.failure().exit_code()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
