//! `export onnx`: an artifact (folder or packed archive) as one ONNX model
//! with its fitted preprocessing and label decoding inside the graph.

use std::path::PathBuf;
use std::time::Instant;

use anneal_artifact::Artifact;

use crate::error::Result;

/// What to export, and where.
#[derive(Debug, Clone)]
pub struct ExportOnnxRequest {
    /// An artifact folder or packed archive.
    pub artifact: PathBuf,
    /// The `.onnx` file to write (replaced atomically when it exists).
    pub out: PathBuf,
}

/// The written model.
#[derive(Debug, Clone)]
pub struct Exported {
    pub out: PathBuf,
    pub artifact_id: String,
    pub bytes: u64,
    pub sha256: String,
    /// Load, build and write.
    pub seconds: f64,
}

/// Loads and verifies the artifact, builds its graph and writes it.
pub fn export_onnx(req: &ExportOnnxRequest) -> Result<Exported> {
    let started = Instant::now();
    let dir = anneal_artifact::resolve(&req.artifact)?;
    let device = anneal_model::device(anneal_config::Backend::Flex)?;
    let artifact = Artifact::load(&dir, device)?;
    let bytes = artifact.to_onnx()?;
    anneal_core::fsio::atomic_write(&req.out, &bytes)?;
    Ok(Exported {
        out: req.out.clone(),
        artifact_id: artifact.manifest.id.clone(),
        bytes: bytes.len() as u64,
        sha256: anneal_core::hash::sha256_hex(&bytes),
        seconds: started.elapsed().as_secs_f64(),
    })
}
