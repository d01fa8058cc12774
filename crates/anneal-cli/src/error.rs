use std::path::PathBuf;

/// Everything a command can fail with, each mapped to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
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
    /// Stopped by SIGINT (exit 130) or SIGTERM (exit 143) after writing a
    /// checkpoint.
    #[error("interrupted by {signal}: checkpoint written at epoch {epoch}, step {step}; continue with `anneal train --resume {}`", run.display())]
    Interrupted {
        signal: &'static str,
        code: u8,
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
        code: u8,
        dir: PathBuf,
        finished: usize,
        total: usize,
    },
    /// Some trials of `sweep run` failed; the exit code is theirs when they
    /// all agree, else 1.
    #[error("{failed} of {total} trials failed; see {logs}")]
    SweepFailed {
        code: u8,
        failed: usize,
        total: usize,
        logs: String,
    },
    #[error(transparent)]
    Serve(#[from] anneal_serve::ServeError),
    #[error(transparent)]
    Gate(#[from] anneal_gate::GateError),
    /// A gate or data check that reached a failing verdict (exit 1).
    #[error("{command} FAILED: {failed} of {total} checks failed (details in {})", files.display())]
    VerdictFailed {
        command: String,
        failed: usize,
        total: usize,
        files: PathBuf,
    },
}

/// The exit code of a failure that may pass if retried (sysexits'
/// EX_TEMPFAIL): a scheduler should retry it, unlike 2 and 3.
pub const TRANSIENT: u8 = 75;

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_)
            | CliError::RunExists(_)
            | CliError::InterruptedRunExists(_)
            | CliError::NothingToResume { .. }
            | CliError::Usage(_) => 2,
            CliError::VerifyDiffers { .. } | CliError::VerifyDisagrees { .. } => 1,
            CliError::Interrupted { code, .. }
            | CliError::SweepInterrupted { code, .. }
            | CliError::SweepFailed { code, .. } => *code,
            CliError::Write(_) => TRANSIENT,
            CliError::Core(anneal_core::CoreError::Write { .. }) => TRANSIENT,
            CliError::Report(
                anneal_report::ReportError::CreateDir { .. }
                | anneal_report::ReportError::Core(anneal_core::CoreError::Write { .. }),
            ) => TRANSIENT,
            CliError::Sweep(e) => match e {
                anneal_sweep::SweepError::Config(_)
                | anneal_sweep::SweepError::Index(_)
                | anneal_sweep::SweepError::Folder(_) => 2,
                anneal_sweep::SweepError::Core(anneal_core::CoreError::Write { .. }) => TRANSIENT,
                anneal_sweep::SweepError::Read { .. } => 3,
                anneal_sweep::SweepError::Core(_) | anneal_sweep::SweepError::Plot { .. } => 1,
            },
            CliError::Data(anneal_data::DataError::Config(_)) => 2,
            CliError::Model(anneal_model::ModelError::BackendUnavailable { .. }) => 2,
            CliError::Artifact(e) if e.is_usage() => 2,
            CliError::Data(_) | CliError::Artifact(_) => 3,
            CliError::Registry(e) => e.exit_code(),
            CliError::Gate(e) => e.exit_code(),
            CliError::VerdictFailed { .. } => 1,
            CliError::Serve(e) if e.is_usage() => 2,
            CliError::Model(_)
            | CliError::Core(_)
            | CliError::Report(_)
            | CliError::Io(_)
            | CliError::Serve(_) => 1,
        }
    }
}
