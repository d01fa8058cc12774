/// Failures of model construction, training or inference.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("backend {backend:?} is not available: {reason}")]
    BackendUnavailable {
        backend: &'static str,
        reason: String,
    },
    #[error(
        "training diverged at epoch {epoch}: the loss became {loss}; lower train.learning_rate or check the data"
    )]
    Diverged { epoch: u32, loss: f64 },
    #[error("weights do not fit the architecture: {0}")]
    Weights(String),
    #[error("tensor read-back failed: {0}")]
    Tensor(String),
    #[error("training was interrupted")]
    Interrupted,
    #[error("checkpoint {0}")]
    Checkpoint(String),
    #[error(
        "checkpoint {dir}: format {found} was written by another anneal version (this one reads format {current}); start the run again with --force",
        dir = .dir.display(),
        current = crate::checkpoint::FORMAT
    )]
    CheckpointFormat { dir: std::path::PathBuf, found: u32 },
}

impl ModelError {
    /// A backend that cannot be opened is fixed by the command or the
    /// machine's drivers (usage); the rest are run failures.
    pub fn failure(&self) -> anneal_core::Failure {
        use anneal_core::Failure;
        match self {
            ModelError::BackendUnavailable { .. } => Failure::Usage,
            ModelError::Interrupted => Failure::Interrupted(anneal_core::Stop::Sigint),
            // A checkpoint this version cannot read is an unusable input
            // file, like a damaged artifact.
            ModelError::CheckpointFormat { .. } => Failure::Data,
            _ => Failure::RunFailed,
        }
    }
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
