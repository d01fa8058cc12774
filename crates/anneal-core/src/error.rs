use std::path::PathBuf;

/// Failures of the shared foundations: always about a file.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot serialise {what} to JSON: {source}")]
    Json {
        what: String,
        source: serde_json::Error,
    },
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
