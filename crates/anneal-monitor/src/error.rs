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
}

impl MonitorError {
    /// Every error here is about a file a user gave (exit 3).
    pub fn failure(&self) -> Failure {
        Failure::Data
    }
}
