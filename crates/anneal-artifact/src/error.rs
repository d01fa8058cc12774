use std::path::PathBuf;

/// An artifact that cannot be written, read or trusted, or a request it
/// cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("{} is not an anneal artifact: {reason}", path.display())]
    NotArtifact { path: PathBuf, reason: String },
    #[error("artifact {}: {file}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        file: String,
        reason: String,
    },
    #[error("artifact {} has format_version {found}, but this anneal reads up to {supported}; upgrade anneal", path.display())]
    FutureFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(transparent)]
    Core(#[from] anneal_core::CoreError),
    #[error(transparent)]
    Data(#[from] anneal_data::DataError),
    #[error(transparent)]
    Model(#[from] anneal_model::ModelError),
    #[error("cannot write {}: {reason}", path.display())]
    Output { path: PathBuf, reason: String },
}

pub type Result<T, E = ArtifactError> = std::result::Result<T, E>;
