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
    /// A file written by anneal that cannot be read back.
    #[error("cannot read {what} {}: {source}", path.display())]
    ReadFile {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// `report.json` is not a report.
    #[error("{} is not an anneal report: {reason} (expected the report.json of `anneal train` or `anneal eval`)", path.display())]
    NotReport { path: PathBuf, reason: String },
    /// A file of another (newer or older) layout.
    #[error("{}: {what} schema_version {found} is not supported (this anneal reads {supported})", path.display())]
    SchemaVersion {
        what: &'static str,
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// A file written by anneal whose content is not what anneal writes.
    #[error("{}: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
}

impl ReportError {
    pub fn failure(&self) -> anneal_core::Failure {
        match self {
            ReportError::Core(e) => e.failure(),
            ReportError::CreateDir { .. } => anneal_core::Failure::Transient,
            ReportError::Plot { .. } => anneal_core::Failure::RunFailed,
            // A run's own file that cannot be read back is bad input to
            // whoever reads it (gate, verify, monitor).
            ReportError::ReadFile { .. }
            | ReportError::NotReport { .. }
            | ReportError::SchemaVersion { .. }
            | ReportError::Malformed { .. } => anneal_core::Failure::Data,
        }
    }
}

pub type Result<T> = std::result::Result<T, ReportError>;
