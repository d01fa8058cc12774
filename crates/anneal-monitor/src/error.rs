use std::path::PathBuf;

use anneal_core::Failure;

pub type Result<T> = std::result::Result<T, MonitorError>;

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A log file whose first line is not an anneal inference-log header.
    #[error("{}: not an anneal inference log: {reason}", path.display())]
    NotALog { path: PathBuf, reason: String },
    /// A log written by another model than the one being monitored.
    #[error("{}: inference log of artifact {found}, but the artifact given is {expected}", path.display())]
    OtherArtifact {
        path: PathBuf,
        found: String,
        expected: String,
    },
    /// A labels file that cannot be joined (a missing column, a bad row),
    /// or a document that cannot be read back.
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error(transparent)]
    Data(#[from] anneal_data::DataError),
    /// A bad argument or policy value (`--window 3x`).
    #[error("{0}")]
    Usage(String),
    /// A document that could not be rendered or written.
    #[error("{0}")]
    Output(String),
}

impl MonitorError {
    /// Files a user gave are data (exit 3); arguments are usage (exit 2);
    /// a document that cannot be written is transient (exit 75).
    pub fn failure(&self) -> Failure {
        match self {
            MonitorError::Usage(_) => Failure::Usage,
            MonitorError::Data(e) => e.failure(),
            MonitorError::Output(_) => Failure::Transient,
            _ => Failure::Data,
        }
    }
}
