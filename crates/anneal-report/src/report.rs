//! The run report: one serialisable value, from which every document is
//! rendered (`report.json`, `metrics.json`, `report.md`, `report.html`,
//! `plots/`). It holds no wall-clock value, so the same run always gives the
//! same bytes; timings go to `run.json`.

use std::collections::BTreeMap;

use anneal_data::stats::DataStats;
use anneal_model::{Architecture, EpochLog};
use serde::Serialize;

use anneal_eval::{EvalSettings, Evaluation};

/// Bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub task: String,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// `metrics.<split>.<metric>`: every scalar metric of every split
    /// (`valid`, `test` after training; `eval` after `anneal eval`).
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    /// `baseline.<split>.<metric>`: the prior (the training split's class
    /// shares for every row, or its mean target) scored with the same
    /// metrics, so that a model that learned nothing is plain to see.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub baseline: BTreeMap<String, BTreeMap<String, f64>>,
    /// `lift.<split>.<metric>`: the model's value minus the baseline's.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
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

#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    pub kind: String,
    pub architecture: Architecture,
    pub parameters: usize,
    pub input_names: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
