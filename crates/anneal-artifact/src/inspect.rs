//! `anneal artifact inspect`: what an artifact is, read from its files
//! without building the network. Works on a folder or a packed archive (read
//! in place, not unpacked), and says whether it verifies.

use std::collections::BTreeMap;
use std::path::Path;

use anneal_data::{Preprocessor, TargetSpec};
use anneal_model::Architecture;
use serde::Serialize;

use crate::error::{ArtifactError, Result};
use crate::export::{ColumnSpec, ModelFile, Signature};
use crate::manifest::DataEntry;
use crate::pack::ArchiveInfo;
use crate::verify::{self, FileStat};

/// A readable summary of an artifact.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The folder or archive inspected.
    pub path: String,
    pub name: String,
    pub version: String,
    pub id: String,
    pub format_version: u32,
    pub task: String,
    pub target: Option<Target>,
    /// Input columns with their types (signature.json).
    pub inputs: Vec<ColumnSpec>,
    pub outputs: Vec<ColumnSpec>,
    pub model: Option<ModelSummary>,
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    pub data: BTreeMap<String, DataEntry>,
    pub config_sha256: String,
    pub seed: u64,
    pub backend: String,
    pub versions: BTreeMap<String, String>,
    /// Every file of the artifact with its size and SHA-256 as found.
    pub files: BTreeMap<String, FileStat>,
    pub total_bytes: u64,
    /// For a packed artifact: the archive and its tar entries.
    pub archive: Option<ArchiveInfo>,
    /// Whether `verify` finds nothing wrong, and what it finds.
    pub verified: bool,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub column: String,
    /// Class labels in output order (classification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    pub kind: String,
    pub architecture: Architecture,
    pub parameters: usize,
}

/// Summarises the artifact folder or archive at `path`. Only an artifact
/// whose manifest cannot be read at all is an error; other problems are
/// listed in the summary.
pub fn inspect(path: &Path) -> Result<Summary> {
    let report = verify::verify(path)?;
    let problems: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    let Some(m) = report.manifest.clone() else {
        return Err(ArtifactError::NotVerified {
            path: path.to_path_buf(),
            summary: report.summary(),
        });
    };
    let parse = |name: &str| report.contents.get(name).map(Vec::as_slice);
    let signature: Option<Signature> =
        parse("signature.json").and_then(|b| serde_json::from_slice(b).ok());
    let model: Option<ModelFile> = parse("model.json").and_then(|b| serde_json::from_slice(b).ok());
    let pre: Option<Preprocessor> =
        parse("preprocess.json").and_then(|b| serde_json::from_slice(b).ok());
    let target = pre.map(|p| match p.target {
        TargetSpec::Classes { column, labels, .. } => Target {
            column,
            labels: Some(labels),
        },
        TargetSpec::Regression { column, .. } => Target {
            column,
            labels: None,
        },
    });
    let (inputs, outputs) = signature.map_or((Vec::new(), Vec::new()), |s| (s.inputs, s.outputs));
    Ok(Summary {
        path: path.display().to_string(),
        name: m.name,
        version: m.version,
        id: m.id,
        format_version: m.format_version,
        task: m.task,
        target,
        inputs,
        outputs,
        model: model.map(|f| ModelSummary {
            parameters: f.architecture.parameter_count(),
            kind: f.kind,
            architecture: f.architecture,
        }),
        metrics: m.metrics,
        data: m.data,
        config_sha256: m.config_sha256,
        seed: m.seed,
        backend: m.backend,
        versions: m.versions,
        total_bytes: report.files.values().map(|f| f.bytes).sum(),
        files: report.files,
        archive: report.archive,
        verified: problems.is_empty(),
        problems,
    })
}
