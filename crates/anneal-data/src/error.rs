use std::path::PathBuf;

/// Data that cannot be used. Messages name the file and, where it applies,
/// the column, the row (1-based, header excluded) and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("data file {} does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("cannot read data file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("data file {} is empty: expected a header row and data rows", path.display())]
    Empty { path: PathBuf },
    #[error("data file {} has a header but no data rows", path.display())]
    NoRows { path: PathBuf },
    #[error("data file {} is not {format}: {detail}", path.display())]
    Malformed {
        path: PathBuf,
        format: &'static str,
        detail: String,
    },
    #[error("cannot tell the format of {}: use a .csv, .parquet or .ndjson/.jsonl file, or set data.format", path.display())]
    UnknownFormat { path: PathBuf },
    #[error("{}: no column {column:?} ({role}); the columns are: {available}", path.display())]
    MissingColumn {
        path: PathBuf,
        column: String,
        role: String,
        available: String,
    },
    /// `value` is the cell as shown (quoted, cut when long: see
    /// `extract::shown`); `hint` the text in parentheses after it.
    #[error("{}: column {column:?}, row {row}: {value} is not a number ({hint})", path.display())]
    NotNumeric {
        path: PathBuf,
        column: String,
        row: u64,
        value: String,
        hint: String,
    },
    #[error("{}: column {column:?}, row {row}: {value} is not a finite number (infinite, or too large for a 64-bit float)", path.display())]
    NotFinite {
        path: PathBuf,
        column: String,
        row: u64,
        value: f64,
    },
    #[error("{}: column {column:?} has type {found}, expected {expected}", path.display())]
    WrongType {
        path: PathBuf,
        column: String,
        found: String,
        expected: String,
    },
    #[error("{}: {message}", path.display())]
    Unusable { path: PathBuf, message: String },
    /// The data breaks the config's `[data.schema]`; `message` is the first
    /// violation (see [`crate::schema::violations`] for all of them).
    #[error("{}: schema violation: {message}", path.display())]
    Schema { path: PathBuf, message: String },
    /// A config value that the data shows to be impossible.
    #[error("{0}")]
    Config(Box<anneal_config::ConfigError>),
    #[error("polars failed on {}: {source}", path.display())]
    Polars {
        path: PathBuf,
        source: polars::error::PolarsError,
    },
}

impl DataError {
    /// A config value the data shows to be impossible is the config's to
    /// fix (usage); everything else is about the data.
    pub fn failure(&self) -> anneal_core::Failure {
        match self {
            DataError::Config(_) => anneal_core::Failure::Usage,
            _ => anneal_core::Failure::Data,
        }
    }
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;
