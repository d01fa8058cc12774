//! Errors of writing a run's documents.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Core(#[from] anneal_core::CoreError),
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot draw the {plot} plot: {reason}")]
    Plot { plot: String, reason: String },
}

impl ReportError {
    pub fn failure(&self) -> anneal_core::Failure {
        match self {
            ReportError::Core(e) => e.failure(),
            ReportError::CreateDir { .. } => anneal_core::Failure::Transient,
            ReportError::Plot { .. } => anneal_core::Failure::RunFailed,
        }
    }
}

pub type Result<T> = std::result::Result<T, ReportError>;
