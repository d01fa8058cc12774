/// What the exporter cannot express. Never a graph that silently differs
/// from what `anneal predict` computes.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// A model kind, layer or preprocessing step with no ONNX form here.
    #[error("cannot export to ONNX: {0}")]
    Unsupported(String),
    /// Weights that do not fit the architecture they come with.
    #[error("cannot export to ONNX: {0}")]
    Weights(String),
}

impl OnnxError {
    /// Both are about the artifact (exit 3).
    pub fn failure(&self) -> anneal_core::Failure {
        anneal_core::Failure::Data
    }
}

pub type Result<T, E = OnnxError> = std::result::Result<T, E>;
