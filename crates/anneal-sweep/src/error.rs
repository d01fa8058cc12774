use std::path::PathBuf;

/// What can go wrong planning, indexing or collecting a sweep.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The config (or a trial it resolves to) is invalid: do not retry.
    #[error(transparent)]
    Config(#[from] anneal_config::ConfigError),
    /// The trial index is missing, malformed, out of range or given twice
    /// with different values.
    #[error("{0}")]
    Index(String),
    /// A sweep folder that does not hold what it should (no plan, a plan
    /// from another config, a trial folder of another trial).
    #[error("{0}")]
    Folder(String),
    #[error(transparent)]
    Core(#[from] anneal_core::CoreError),
    #[error("cannot draw the {plot} plot: {reason}")]
    Plot { plot: String, reason: String },
    #[error("cannot read {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
}

impl SweepError {
    pub fn failure(&self) -> anneal_core::Failure {
        use anneal_core::Failure;
        match self {
            SweepError::Config(_) | SweepError::Index(_) | SweepError::Folder(_) => Failure::Usage,
            SweepError::Core(e) => e.failure(),
            SweepError::Read { .. } => Failure::Data,
            SweepError::Plot { .. } => Failure::RunFailed,
        }
    }
}

pub type Result<T, E = SweepError> = std::result::Result<T, E>;
