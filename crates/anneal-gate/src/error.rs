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
    /// Writing the outputs failed: transient (exit 75).
    #[error("{0}")]
    Io(String),
}

impl GateError {
    /// A baseline that cannot be read from the registry is bad input to
    /// the gate (data), whatever the registry's own class.
    pub fn failure(&self) -> anneal_core::Failure {
        use anneal_core::Failure;
        match self {
            GateError::Config(_) | GateError::Usage(_) => Failure::Usage,
            GateError::Registry(e) => match e.failure() {
                Failure::Usage => Failure::Usage,
                _ => Failure::Data,
            },
            GateError::Data(e) => e.failure(),
            GateError::Artifact(e) => e.failure(),
            GateError::Input(_) | GateError::Model(_) => Failure::Data,
            GateError::Io(_) => Failure::Transient,
        }
    }
}

pub type Result<T, E = GateError> = std::result::Result<T, E>;
