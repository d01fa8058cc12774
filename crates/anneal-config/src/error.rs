use std::path::PathBuf;

/// A config that cannot be used. Every variant says which file, and where the
/// source location is known, the line and column of the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Syntax errors, unknown keys, wrong types and impossible values alike.
    #[error("{}{}: {key}{message}", path.display(), location(*line, *column))]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        /// Dotted key path such as `train.epochs`, with a trailing `: `, or
        /// empty when the error is about the document as a whole.
        key: String,
        message: String,
    },
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl ConfigError {
    /// Every config error is the command's to fix.
    pub fn failure(&self) -> anneal_core::Failure {
        anneal_core::Failure::Usage
    }
}

pub type Result<T, E = ConfigError> = std::result::Result<T, E>;
