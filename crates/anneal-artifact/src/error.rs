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
    #[error("artifact {}: golden example {example} no longer gives the exported output: {output} was {expected}, now {actual}; refusing to predict with it", path.display())]
    GoldenMismatch {
        path: PathBuf,
        example: usize,
        output: String,
        expected: String,
        actual: String,
    },
    /// A packed artifact that cannot be read as a whole.
    #[error("archive {}: {reason}", path.display())]
    Archive { path: PathBuf, reason: String },
    /// One entry of a packed artifact that anneal refuses to unpack.
    #[error("archive {}: entry {entry:?} {reason}", path.display())]
    ArchiveEntry {
        path: PathBuf,
        entry: String,
        reason: String,
    },
    /// `verify` found problems; `summary` lists them (or counts them).
    #[error("artifact {} does not verify: {summary}", path.display())]
    NotVerified { path: PathBuf, summary: String },
    /// What the ONNX exporter cannot express (exit 3).
    #[error("artifact {}: {source}", path.display())]
    Onnx {
        path: PathBuf,
        source: anneal_onnx::OnnxError,
    },
    #[error(transparent)]
    Core(#[from] anneal_core::CoreError),
    #[error(transparent)]
    Data(#[from] anneal_data::DataError),
    #[error(transparent)]
    Model(#[from] anneal_model::ModelError),
    #[error("cannot write {}: {reason}", path.display())]
    Output { path: PathBuf, reason: String },
    /// An output file name whose extension names no format anneal writes:
    /// the command's to fix.
    #[error("cannot write {}: {reason}", path.display())]
    OutputName { path: PathBuf, reason: String },
    /// No folder to unpack an archive into: none of the variables that
    /// name the cache is set.
    #[error("cannot unpack {}: no artifact cache folder; set ANNEAL_CACHE_DIR (or XDG_CACHE_HOME or HOME)", archive.display())]
    NoCache { archive: PathBuf },
}

impl ArtifactError {
    /// A missing cache folder is fixed in the command's environment
    /// (usage); an output that cannot be written is transient; everything
    /// else is about the artifact (data).
    pub fn failure(&self) -> anneal_core::Failure {
        use anneal_core::Failure;
        match self {
            ArtifactError::NoCache { .. } | ArtifactError::OutputName { .. } => Failure::Usage,
            ArtifactError::Output { .. } => Failure::Transient,
            ArtifactError::Core(e @ anneal_core::CoreError::Write { .. }) => e.failure(),
            ArtifactError::Model(e) => e.failure(),
            ArtifactError::Data(e) => e.failure(),
            ArtifactError::Onnx { source, .. } => source.failure(),
            _ => Failure::Data,
        }
    }
}

pub type Result<T, E = ArtifactError> = std::result::Result<T, E>;
