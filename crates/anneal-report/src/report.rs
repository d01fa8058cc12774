//! The run report: one serialisable value, from which every document is
//! rendered (`report.json`, `metrics.json`, `report.md`, `report.html`,
//! `plots/`). It holds no wall-clock value, so the same run always gives the
//! same bytes; timings go to `run.json`.

use std::collections::BTreeMap;
use std::path::Path;

use anneal_data::stats::DataStats;
use anneal_model::{Architecture, EpochLog};
use serde::{Deserialize, Serialize};

use anneal_eval::{EvalSettings, Evaluation};

use crate::error::{ReportError, Result};

/// Bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub task: String,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// `metrics.<split>.<metric>`: every scalar metric of every split
    /// (`valid`, `test` after training; `eval` after `anneal eval`).
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::map2")]
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    /// `baseline.<split>.<metric>`: the prior (the training split's class
    /// shares for every row, or its mean target) scored with the same
    /// metrics, so that a model that learned nothing is plain to see.
    #[serde(
        default,
        deserialize_with = "anneal_core::json::null_as_nan::map2",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub baseline: BTreeMap<String, BTreeMap<String, f64>>,
    /// `lift.<split>.<metric>`: the model's value minus the baseline's.
    #[serde(
        default,
        deserialize_with = "anneal_core::json::null_as_nan::map2",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub lift: BTreeMap<String, BTreeMap<String, f64>>,
    /// Per split: intervals, confusion matrix, per-class figures, curves,
    /// slices.
    pub evaluation: BTreeMap<String, Evaluation>,
    /// How the evaluation was run (bootstrap resamples, confidence, bins).
    pub evaluation_settings: EvalSettings,
    pub data: DataStats,
    pub model: ModelSummary,
    /// Absent when an existing artifact was evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingSummary>,
    pub reproducibility: Reproducibility,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSummary {
    pub kind: String,
    pub architecture: Architecture,
    pub parameters: usize,
    pub input_names: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingSummary {
    pub epochs_run: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<u32>,
    pub stopped_early: bool,
    pub steps: u64,
    /// The validation metric watched by early stopping, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    pub history: Vec<EpochLog>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reproducibility {
    pub config_sha256: String,
    pub data_sha256: String,
    pub seed: u64,
    pub backend: String,
    /// Whether the backend promises bit-identical results for this seed.
    pub bit_reproducible: bool,
    pub versions: BTreeMap<String, String>,
    /// The commit of the project the config lives in, when it is a git
    /// checkout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// The CPU features the float kernels may use; bitwise equality is
    /// promised only between machines with the same list.
    pub cpu: CpuInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuInfo {
    pub arch: String,
    pub features: Vec<String>,
}

impl CpuInfo {
    /// This machine's architecture and the SIMD features detected at run
    /// time that change which kernels run.
    pub fn detect() -> CpuInfo {
        #[allow(unused_mut)]
        let mut features: Vec<String> = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            macro_rules! probe {
                ($($f:tt),*) => {$(
                    if std::arch::is_x86_feature_detected!($f) {
                        features.push($f.to_string());
                    }
                )*};
            }
            probe!(
                "sse4.2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl"
            );
        }
        #[cfg(target_arch = "aarch64")]
        {
            macro_rules! probe {
                ($($f:tt),*) => {$(
                    if std::arch::is_aarch64_feature_detected!($f) {
                        features.push($f.to_string());
                    }
                )*};
            }
            probe!("neon", "fp16", "sve");
        }
        CpuInfo {
            arch: std::env::consts::ARCH.to_string(),
            features,
        }
    }
}

/// The model's metrics minus the baseline's, for every metric both have.
pub fn lift(
    metrics: &BTreeMap<String, BTreeMap<String, f64>>,
    baseline: &BTreeMap<String, BTreeMap<String, f64>>,
) -> BTreeMap<String, BTreeMap<String, f64>> {
    baseline
        .iter()
        .filter_map(|(split, base)| {
            let model = metrics.get(split)?;
            let diff = base
                .iter()
                .filter_map(|(name, b)| {
                    let m = model.get(name)?;
                    let d = m - b;
                    d.is_finite().then(|| (name.clone(), d))
                })
                .collect();
            Some((split.clone(), diff))
        })
        .collect()
}

impl Report {
    /// The split whose figures lead the summaries: `eval`, else `test`,
    /// else `valid`.
    pub fn headline_split(&self) -> Option<(&str, &Evaluation)> {
        ["eval", "test", "valid"]
            .into_iter()
            .find_map(|s| self.evaluation.get(s).map(|e| (s, e)))
    }
}

impl Report {
    /// `report.json`'s text: canonical JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(anneal_core::json::to_canonical_string(self, "report.json")?)
    }

    /// Reads the `report.json` file `file`.
    pub fn read(file: &Path) -> Result<Report> {
        let text = std::fs::read_to_string(file).map_err(|source| ReportError::ReadFile {
            what: "report",
            path: file.to_path_buf(),
            source,
        })?;
        Report::parse(&text, file)
    }

    /// Parses the text of a `report.json` (`file` names it in errors). Its
    /// `schema_version` is checked first, so a report of another layout is
    /// named as such rather than as a parse error.
    pub fn parse(text: &str, file: &Path) -> Result<Report> {
        #[derive(Deserialize)]
        struct Probe {
            schema_version: Option<u32>,
        }
        if let Ok(Probe {
            schema_version: Some(found),
        }) = serde_json::from_str::<Probe>(text)
        {
            check_schema_version(found, file)?;
        }
        let report: Report = serde_json::from_str(text).map_err(|e| ReportError::NotReport {
            path: file.to_path_buf(),
            reason: e.to_string(),
        })?;
        check_schema_version(report.schema_version, file)?;
        Ok(report)
    }
}

/// The one check of `report.json`'s version: this anneal reads
/// [`SCHEMA_VERSION`] only.
pub fn check_schema_version(found: u32, file: &Path) -> Result<()> {
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    Err(ReportError::SchemaVersion {
        what: "report",
        path: file.to_path_buf(),
        found,
        supported: SCHEMA_VERSION,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small report as `train` writes it, with the `null`s canonical
    /// JSON writes for NaN and infinity.
    fn report_json(version: u32) -> String {
        let v = serde_json::json!({
            "schema_version": version,
            "task": "binary",
            "target": "y",
            "labels": ["a", "b"],
            "metrics": {"test": {"accuracy": 0.75, "r2": null}},
            "baseline": {"test": {"accuracy": 0.5}},
            "lift": {"test": {"accuracy": 0.25}},
            "evaluation": {"test": {
                "rows": 4,
                "metrics": {"accuracy": 0.75, "brier": null},
                "intervals": {"accuracy": {"lower": 0.5, "upper": null}},
                "classification": {
                    "accuracy": 0.75, "balanced_accuracy": 0.75,
                    "precision_macro": 0.5, "recall_macro": 0.5, "f1_macro": 0.5,
                    "precision_weighted": 0.5, "recall_weighted": 0.5,
                    "f1_weighted": 0.5, "log_loss": null, "brier": 0.2,
                    "roc_auc": null, "pr_auc": 0.9, "ece": 0.1,
                    "per_class": [{"precision": 1.0, "recall": null, "f1": 0.0, "support": 2}],
                    "confusion": [[1, 1], [0, 2]],
                    "rows": 4
                },
                "curves": {"roc": {"b": {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0], "thresholds": [null, 0.5]}}},
                "slices": {"colour": {"red": {"rows": 2, "small": true, "metrics": {"accuracy": 1.0}}}}
            }},
            "evaluation_settings": {"bootstrap": 10, "confidence": 0.95, "calibration_bins": 10, "min_slice_rows": 30, "seed": 7},
            "data": {
                "source": {"path": "d.csv", "format": "csv", "sha256": "ab", "logical_sha256": "cd", "bytes": 12},
                "rows": {"read": 4, "missing_target": 0, "filtered": 0, "duplicates": 0, "used": 4, "train": 0, "valid": 0, "test": 4},
                "columns": []
            },
            "model": {
                "kind": "mlp",
                "architecture": {"inputs": 1, "hidden": [2], "outputs": 2, "activation": "relu"},
                "parameters": 10,
                "input_names": ["x"]
            },
            "training": {
                "epochs_run": 1, "stopped_early": false, "steps": 3,
                "history": [{"epoch": 1, "learning_rate": 0.01, "train_loss": null, "valid_loss": null}]
            },
            "reproducibility": {
                "config_sha256": "ef", "data_sha256": "ab", "seed": 7, "backend": "flex",
                "bit_reproducible": true, "versions": {"anneal": "0.1.0"},
                "cpu": {"arch": "x86_64", "features": ["avx2"]}
            },
            "artifact_id": "sha256:00"
        });
        anneal_core::json::canonical(&v)
    }

    #[test]
    fn report_json_reads_back_to_the_same_bytes() {
        let text = report_json(SCHEMA_VERSION);
        let r = Report::parse(&text, Path::new("run/report.json")).unwrap();
        assert!(r.metrics["test"]["r2"].is_nan());
        assert!(r.evaluation["test"].curves.roc["b"].thresholds[0].is_nan());
        let h = &r.training.as_ref().unwrap().history[0];
        assert!(h.train_loss.is_nan());
        assert!(h.valid_loss.is_some_and(f64::is_nan));
        assert_eq!(h.valid_metric, None);
        assert_eq!(r.to_json().unwrap(), text);
    }

    #[test]
    fn another_schema_version_is_one_line_naming_both() {
        let e = Report::parse(&report_json(3), Path::new("run/report.json")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "run/report.json: report schema_version 3 is not supported (this anneal reads 2)"
        );
        // Named as such even when the rest does not parse.
        let e = Report::parse(r#"{"schema_version": 1}"#, Path::new("r.json")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "r.json: report schema_version 1 is not supported (this anneal reads 2)"
        );
    }

    #[test]
    fn not_a_report_says_what_was_expected() {
        let e = Report::parse(r#"{"command": "gate"}"#, Path::new("gate.json")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "gate.json is not an anneal report: missing field `schema_version` at line 1 column 19 (expected the report.json of `anneal train` or `anneal eval`)"
        );
    }
}
