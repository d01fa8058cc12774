//! `model.onnx`: the artifact as one ONNX graph (see `anneal-onnx`), for a
//! finished artifact (`anneal export onnx`, with the artifact id in its
//! metadata) and for the copy written into the artifact at training
//! (`[export] onnx = true`, without the id: the id hashes this file).

use std::path::Path;

use anneal_onnx::OnnxInput;

use crate::error::{ArtifactError, Result};
use crate::export::ExportInput;
use crate::load::Artifact;

impl Artifact {
    /// The ONNX bytes of this artifact.
    pub fn to_onnx(&self) -> Result<Vec<u8>> {
        let arch = &self.model.architecture;
        let weights = self.network.to_tensors(arch)?;
        anneal_onnx::to_onnx(&OnnxInput {
            preprocessor: &self.preprocessor,
            model_kind: &self.model.kind,
            architecture: arch,
            weights: &weights,
            name: &self.manifest.name,
            version: &self.manifest.version,
            artifact_id: Some(&self.manifest.id),
        })
        .map_err(|source| ArtifactError::Onnx {
            path: self.dir.clone(),
            source,
        })
    }
}

/// The ONNX bytes of the artifact being written to `dir`.
pub(crate) fn embedded(dir: &Path, input: &ExportInput) -> Result<Vec<u8>> {
    anneal_onnx::to_onnx(&OnnxInput {
        preprocessor: input.preprocessor,
        model_kind: &input.model_kind,
        architecture: input.architecture,
        weights: input.weights,
        name: &input.name,
        version: &input.version,
        artifact_id: None,
    })
    .map_err(|source| ArtifactError::Onnx {
        path: dir.to_path_buf(),
        source,
    })
}
