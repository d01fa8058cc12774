/// Why a gate or data check could not reach a verdict. A verdict that
/// fails is not an error: it is a [`crate::Verdict`] with exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A policy or a command line that cannot be used: exit 2.
    #[error(transparent)]
    Config(#[from] anneal_config::ConfigError),
    #[error("{0}")]
    Usage(String),
    /// A report, predictions file, data file or baseline that cannot be
    /// used: exit 3.
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Data(#[from] anneal_data::DataError),
    #[error(transparent)]
    Artifact(#[from] anneal_artifact::ArtifactError),
    #[error(transparent)]
    Model(#[from] anneal_model::ModelError),
    #[error(transparent)]
    Registry(#[from] anneal_registry::RegistryError),
    /// Writing the outputs failed: exit 1.
    #[error("{0}")]
    Io(String),
}

impl GateError {
    pub fn exit_code(&self) -> u8 {
        match self {
            GateError::Config(_) | GateError::Usage(_) => 2,
            GateError::Data(anneal_data::DataError::Config(_)) => 2,
            GateError::Artifact(e) if e.is_usage() => 2,
            GateError::Registry(e) => match e.exit_code() {
                2 => 2,
                _ => 3,
            },
            GateError::Input(_)
            | GateError::Data(_)
            | GateError::Artifact(_)
            | GateError::Model(_) => 3,
            GateError::Io(_) => 1,
        }
    }
}

pub type Result<T, E = GateError> = std::result::Result<T, E>;
