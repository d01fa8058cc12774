//! Writing an artifact folder, atomically: files go to a temporary sibling
//! folder that is renamed into place once complete.

use std::collections::BTreeMap;
use std::path::Path;

use anneal_core::staged::{Existing, StagedDir};
use anneal_core::{fsio, hash, json};
use anneal_data::Preprocessor;
use anneal_data::stats::SourceInfo;
use anneal_model::{Architecture, NetworkTensor};
use serde::{Deserialize, Serialize};

use crate::error::{ArtifactError, Result};
use crate::manifest::{DataEntry, FORMAT_VERSION, FileEntry, Manifest};
use crate::weights;

/// `model.json`: the network's shape and kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    pub kind: String,
    pub architecture: Architecture,
}

/// `signature.json`, in MLflow's column-spec vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub inputs: Vec<ColumnSpec>,
    pub outputs: Vec<ColumnSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub required: bool,
}

pub struct ExportInput<'a> {
    pub name: String,
    /// Semantic version of the model.
    pub version: String,
    pub model_kind: String,
    pub architecture: &'a Architecture,
    pub weights: &'a [NetworkTensor],
    pub preprocessor: &'a Preprocessor,
    pub resolved_config: String,
    pub config_sha256: String,
    pub data: &'a SourceInfo,
    pub seed: u64,
    pub backend: String,
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    /// Golden examples (see [`crate::examples`]).
    pub examples: crate::examples::Examples,
    /// What the training rows looked like, for `anneal check-data`.
    pub profile: Option<&'a anneal_data::profile::DataProfile>,
    /// Also write `model.onnx` (`[export] onnx = true`).
    pub onnx: bool,
}

/// Writes the artifact to `dir` (which must not exist) and returns its
/// manifest.
pub fn export(dir: &Path, input: &ExportInput) -> Result<Manifest> {
    let err = |reason: String| ArtifactError::Output {
        path: dir.to_path_buf(),
        reason,
    };
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    files.push((
        "model.safetensors",
        weights::encode(input.weights).map_err(err)?,
    ));
    let model = ModelFile {
        kind: input.model_kind.clone(),
        architecture: input.architecture.clone(),
    };
    files.push((
        "model.json",
        json::to_canonical_string(&model, "model.json")?.into_bytes(),
    ));
    files.push((
        "preprocess.json",
        json::to_canonical_string(input.preprocessor, "preprocess.json")?.into_bytes(),
    ));
    let signature = signature(input.preprocessor, input.profile);
    files.push((
        "signature.json",
        json::to_canonical_string(&signature, "signature.json")?.into_bytes(),
    ));
    files.push(("config.toml", input.resolved_config.clone().into_bytes()));
    files.push((
        "examples.json",
        json::to_canonical_string(&input.examples, "examples.json")?.into_bytes(),
    ));
    if input.onnx {
        files.push(("model.onnx", crate::onnx::embedded(dir, input)?));
    }
    if let Some(profile) = input.profile {
        files.push((
            "profile.json",
            json::to_canonical_string(profile, "profile.json")?.into_bytes(),
        ));
    }

    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        id: String::new(),
        name: input.name.clone(),
        version: input.version.clone(),
        task: input.preprocessor.task.name().into(),
        files: files
            .iter()
            .map(|(n, b)| {
                (
                    n.to_string(),
                    FileEntry {
                        sha256: hash::sha256_hex(b),
                        bytes: b.len() as u64,
                    },
                )
            })
            .collect(),
        config_sha256: input.config_sha256.clone(),
        data: BTreeMap::from([(
            "train".to_string(),
            DataEntry {
                path: input.data.path.clone(),
                sha256: input.data.sha256.clone(),
                logical_sha256: input.data.logical_sha256.clone(),
                bytes: input.data.bytes,
            },
        )]),
        seed: input.seed,
        backend: input.backend.clone(),
        versions: versions(),
        metrics: input.metrics.clone(),
    };
    manifest.id = manifest.compute_id()?;
    files.push(("manifest.json", manifest.to_json()?.into_bytes()));
    files.push((
        "MLmodel",
        crate::mlmodel::render(&manifest, &signature).into_bytes(),
    ));

    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fsio::create_dir_all_synced(parent).map_err(|e| err(e.to_string()))?;
    }
    let tmp = StagedDir::new(dir).map_err(|e| err(e.into_io().to_string()))?;
    for (name, bytes) in &files {
        tmp.write(name, bytes)?;
    }
    tmp.commit(Existing::Replace)
        .map_err(|e| err(e.into_io().to_string()))?;
    Ok(manifest)
}

pub fn versions() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "anneal".to_string(),
            anneal_core::versions::ANNEAL.to_string(),
        ),
        ("burn".to_string(), anneal_core::versions::BURN.to_string()),
        (
            "polars".to_string(),
            anneal_core::versions::POLARS.to_string(),
        ),
    ])
}

/// The declared type of an input column, as MLflow's own signature
/// inference would declare it from the training split: an integer numeric
/// column that had missing values there is a float64 column in pandas, so
/// it is declared `double` (MLflow's schema enforcement refuses a frame
/// holding NaN for a `long` column, and refuses int64 for a `double` one:
/// a column without gaps stays `long`). Without a profile the type read is
/// kept.
fn input_type(
    f: &anneal_data::FeatureSpec,
    profile: Option<&anneal_data::profile::DataProfile>,
) -> anneal_data::preprocess::ValueType {
    use anneal_data::preprocess::ValueType;
    let had_gaps = profile
        .and_then(|p| p.column(f.column()))
        .is_some_and(|c| c.null_fraction > 0.0);
    match (f, f.source_type()) {
        (anneal_data::FeatureSpec::Numeric { .. }, ValueType::Long) if had_gaps => {
            ValueType::Double
        }
        (_, t) => t,
    }
}

fn signature(p: &Preprocessor, profile: Option<&anneal_data::profile::DataProfile>) -> Signature {
    let type_name = |t: anneal_data::preprocess::ValueType| {
        serde_json::to_value(t)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "string".into())
    };
    let inputs = p
        .features
        .iter()
        .map(|f| ColumnSpec {
            name: f.column().to_string(),
            kind: type_name(input_type(f, profile)),
            required: true,
        })
        .collect();
    let outputs = match &p.target {
        anneal_data::TargetSpec::Classes {
            labels, label_type, ..
        } => {
            let mut o = vec![ColumnSpec {
                name: "prediction".into(),
                kind: type_name(*label_type),
                required: true,
            }];
            o.extend(labels.iter().map(|l| ColumnSpec {
                name: format!("proba_{l}"),
                kind: "double".into(),
                required: true,
            }));
            o
        }
        anneal_data::TargetSpec::Regression { .. } => vec![ColumnSpec {
            name: "prediction".into(),
            kind: "double".into(),
            required: true,
        }],
    };
    Signature { inputs, outputs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anneal_config::Impute;
    use anneal_data::preprocess::ValueType;
    use anneal_data::{FeatureSpec, Task};

    /// An integer feature with gaps in training is declared `double`, as
    /// MLflow would infer it (so a frame with NaN passes its enforcement);
    /// one without gaps stays `long`; text and booleans keep theirs.
    #[test]
    fn integer_inputs_with_gaps_are_declared_double() {
        let numeric = |column: &str, source_type| FeatureSpec::Numeric {
            column: column.into(),
            source_type,
            impute: Impute::Median,
            fill: 0.0,
            indicator: false,
            clip: None,
            offset: 0.0,
            scale: 1.0,
            bins: None,
        };
        let p = Preprocessor {
            task: Task::Regression,
            target: anneal_data::TargetSpec::Regression {
                column: "y".into(),
                offset: 0.0,
                scale: 1.0,
            },
            features: vec![
                numeric("income", ValueType::Long),
                numeric("children", ValueType::Long),
                numeric("flag", ValueType::Boolean),
                FeatureSpec::Categorical {
                    column: "grade".into(),
                    source_type: ValueType::Long,
                    categories: vec!["1".into()],
                    missing_fill: None,
                    embedded: false,
                },
            ],
            id_columns: vec![],
        };
        let column = |name: &str, null_fraction: f64| anneal_data::profile::ColumnProfile {
            name: name.into(),
            role: "feature".into(),
            kind: "numeric".into(),
            dtype: "i64".into(),
            count: 10,
            null_fraction,
            numeric: None,
            categories: None,
        };
        let profile = anneal_data::profile::DataProfile {
            rows: 10,
            columns: vec![
                column("income", 0.2),
                column("children", 0.0),
                column("grade", 0.3),
            ],
        };
        let kinds = |profile| -> Vec<String> {
            signature(&p, profile)
                .inputs
                .into_iter()
                .map(|c| c.kind)
                .collect()
        };
        assert_eq!(kinds(Some(&profile)), ["double", "long", "boolean", "long"]);
        assert_eq!(kinds(None), ["long", "long", "boolean", "long"]);
    }
}
