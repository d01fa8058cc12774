//! From raw model outputs to everything a report says about one split:
//! metrics, their bootstrap intervals, curves, and per-slice figures.
//!
//! `train` (for valid and test) and `anneal eval` (for any labelled file)
//! both call [`evaluate`], so a figure means the same thing wherever it
//! appears.

use std::collections::BTreeMap;

use anneal_config::EvalConfig;
use anneal_data::{SplitData, TargetSpec, Targets};
use anneal_model::network::softmax_rows;
use serde::{Deserialize, Serialize};

use crate::bootstrap::{self, Interval};
use crate::curves::{self, CalibrationCurve, PrCurve, RocCurve};
use crate::metrics::{self, ClassificationMetrics, RegressionMetrics};
use crate::weighted::Resampler;

/// Most points kept per curve, so a million-row evaluation still gives a
/// report a person can open.
pub const MAX_CURVE_POINTS: usize = 1000;
/// Most points of the residual scatter.
pub const MAX_RESIDUAL_POINTS: usize = 2000;
/// The slice value standing for a missing cell.
pub const MISSING_SLICE: &str = "(missing)";

/// How evaluation is run: the `[eval]` config section and the run's seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSettings {
    pub bootstrap: u32,
    pub confidence: f64,
    pub calibration_bins: usize,
    pub min_slice_rows: u64,
    pub seed: u64,
}

impl EvalSettings {
    pub fn new(c: &EvalConfig, seed: u64) -> Self {
        EvalSettings {
            bootstrap: c.bootstrap,
            confidence: c.confidence,
            calibration_bins: c.calibration_bins,
            min_slice_rows: c.min_slice_rows,
            seed,
        }
    }
}

/// The evaluation of one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub rows: u64,
    /// Every scalar metric by name.
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::map")]
    pub metrics: BTreeMap<String, f64>,
    /// Bootstrap intervals of the metrics (none when `bootstrap = 0`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intervals: BTreeMap<String, Interval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassificationMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regression: Option<RegressionMetrics>,
    pub curves: Curves,
    /// `slices[column][value]`, values in sorted order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slices: BTreeMap<String, BTreeMap<String, SliceEval>>,
}

/// The metrics of the rows sharing one value of a slicing column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceEval {
    pub rows: u64,
    /// Fewer rows than `eval.min_slice_rows`: reported, but not to be
    /// trusted on its own.
    pub small: bool,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::map")]
    pub metrics: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intervals: BTreeMap<String, Interval>,
}

/// Curve points, keyed by the class label they are drawn for (binary: the
/// positive class; multiclass: each class one-vs-rest).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roc: BTreeMap<String, RocCurve>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pr: BTreeMap<String, PrCurve>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calibration: BTreeMap<String, CalibrationCurve>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residuals: Option<Residuals>,
}

/// Regression residuals (`true - predicted`) against the prediction, for
/// at most [`MAX_RESIDUAL_POINTS`] rows in row order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Residuals {
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::vec")]
    pub predicted: Vec<f64>,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::vec")]
    pub residual: Vec<f64>,
}

/// Model outputs turned into what users see: per row either class
/// probabilities (f64, softmax on the host) or the regressed value in the
/// target's units.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    Classes { proba: Vec<f64>, k: usize },
    Values(Vec<f64>),
}

pub fn predictions_from_outputs(outputs: &[f32], target: &TargetSpec) -> Predictions {
    match target {
        TargetSpec::Classes { labels, .. } => Predictions::Classes {
            proba: softmax_rows(outputs, labels.len()),
            k: labels.len(),
        },
        TargetSpec::Regression { offset, scale, .. } => {
            Predictions::Values(outputs.iter().map(|&o| o as f64 * scale + offset).collect())
        }
    }
}

/// Truths and predictions of scored rows: what every metric is computed
/// from. `anneal gate` builds these from `predictions.csv` and from a
/// baseline model to compare two models on the same rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Scored {
    Classes {
        y: Vec<usize>,
        proba: Vec<f64>,
        k: usize,
    },
    Values {
        y: Vec<f64>,
        pred: Vec<f64>,
    },
}

impl Scored {
    pub(crate) fn new(outputs: &[f32], split: &SplitData, target: &TargetSpec) -> Option<Scored> {
        match (predictions_from_outputs(outputs, target), &split.y) {
            (Predictions::Classes { proba, k }, Targets::Classes(y)) => Some(Scored::Classes {
                y: y.iter().map(|&c| c as usize).collect(),
                proba,
                k,
            }),
            (Predictions::Values(pred), Targets::Values { raw, .. }) => Some(Scored::Values {
                y: raw.clone(),
                pred,
            }),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Scored::Classes { y, .. } => y.len(),
            Scored::Values { y, .. } => y.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Scored {
        match self {
            Scored::Classes { y, proba, k } => Scored::Classes {
                y: idx.iter().map(|&i| y[i]).collect(),
                proba: idx
                    .iter()
                    .flat_map(|&i| &proba[i * k..(i + 1) * k])
                    .copied()
                    .collect(),
                k: *k,
            },
            Scored::Values { y, pred } => Scored::Values {
                y: idx.iter().map(|&i| y[i]).collect(),
                pred: idx.iter().map(|&i| pred[i]).collect(),
            },
        }
    }

    /// Every scalar metric, with the ECE on `bins` calibration bins.
    pub fn scalars(&self, bins: usize) -> BTreeMap<&'static str, f64> {
        match self {
            Scored::Classes { y, proba, k } => class_metrics(y, proba, *k, bins).scalars(),
            Scored::Values { y, pred } => metrics::regression(y, pred).scalars(),
        }
    }
}

impl Scored {
    /// Precomputed terms for scoring resamples of these rows.
    pub(crate) fn resampler(&self, bins: usize) -> Resampler {
        match self {
            Scored::Classes { y, proba, k } => Resampler::classes(y, proba, *k, bins),
            Scored::Values { y, pred } => Resampler::values(y, pred),
        }
    }
}

/// Classification metrics with the ECE on the configured bins.
fn class_metrics(y: &[usize], proba: &[f64], k: usize, bins: usize) -> ClassificationMetrics {
    let mut m = metrics::classification(y, proba, k);
    if m.rows > 0 {
        m.ece = metrics::expected_calibration_error(y, proba, k, bins);
    }
    m
}

fn owned(m: BTreeMap<&'static str, f64>) -> BTreeMap<String, f64> {
    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The scalar metrics of `outputs` on `split`, without intervals, curves
/// or slices: what early stopping watches after every epoch.
pub fn score_split(
    outputs: &[f32],
    split: &SplitData,
    target: &TargetSpec,
) -> BTreeMap<String, f64> {
    Scored::new(outputs, split, target)
        .map(|s| owned(s.scalars(10)))
        .unwrap_or_default()
}

/// Bootstrap intervals of every scalar metric of `scored` (none when
/// `settings.bootstrap` is 0), the resamples drawn from the random stream
/// named `stream`: the same intervals [`evaluate`] gives a split of that
/// name. `anneal monitor` scores each time window with it.
pub fn intervals_of(
    scored: &Scored,
    settings: &EvalSettings,
    stream: &str,
) -> BTreeMap<String, Interval> {
    if settings.bootstrap == 0 {
        return BTreeMap::new();
    }
    let resampler = scored.resampler(settings.calibration_bins);
    bootstrap::intervals(
        scored.len(),
        settings.bootstrap,
        settings.confidence,
        settings.seed,
        stream,
        &|counts: &[u32]| resampler.score(counts),
    )
}

/// Everything a report says about `split` (named `name`, which also names
/// the bootstrap's random streams).
pub fn evaluate(
    name: &str,
    outputs: &[f32],
    split: &SplitData,
    target: &TargetSpec,
    settings: &EvalSettings,
) -> Evaluation {
    let Some(scored) = Scored::new(outputs, split, target) else {
        return Evaluation {
            rows: 0,
            metrics: BTreeMap::new(),
            intervals: BTreeMap::new(),
            classification: None,
            regression: None,
            curves: Curves::default(),
            slices: BTreeMap::new(),
        };
    };
    let bins = settings.calibration_bins;
    let interval_map = |s: &Scored, stream: &str| intervals_of(s, settings, stream);
    let (classification, regression, curves) = match &scored {
        Scored::Classes { y, proba, k } => {
            let m = class_metrics(y, proba, *k, bins);
            let labels = match target {
                TargetSpec::Classes { labels, .. } => labels.clone(),
                TargetSpec::Regression { .. } => Vec::new(),
            };
            (Some(m), None, class_curves(y, proba, *k, &labels, bins))
        }
        Scored::Values { y, pred } => {
            let m = metrics::regression(y, pred);
            let keep = curves::thin_indices(y.len(), MAX_RESIDUAL_POINTS);
            let residuals = Residuals {
                predicted: keep.iter().map(|&i| pred[i]).collect(),
                residual: keep.iter().map(|&i| y[i] - pred[i]).collect(),
            };
            (
                None,
                Some(m),
                Curves {
                    residuals: Some(residuals),
                    ..Curves::default()
                },
            )
        }
    };
    let metrics = match (&classification, &regression) {
        (Some(c), _) => owned(c.scalars()),
        (_, Some(r)) => owned(r.scalars()),
        _ => BTreeMap::new(),
    };

    let mut slices = BTreeMap::new();
    for col in &split.slices {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, v) in col.values.iter().enumerate().take(scored.len()) {
            let key = v.clone().unwrap_or_else(|| MISSING_SLICE.to_string());
            groups.entry(key).or_default().push(i);
        }
        let per_value = groups
            .into_iter()
            .map(|(value, idx)| {
                let sub = scored.subset(&idx);
                let intervals = interval_map(&sub, &format!("{name}/{}={value}", col.column));
                let eval = SliceEval {
                    rows: idx.len() as u64,
                    small: (idx.len() as u64) < settings.min_slice_rows,
                    metrics: owned(sub.scalars(bins)),
                    intervals,
                };
                (value, eval)
            })
            .collect();
        slices.insert(col.column.clone(), per_value);
    }

    Evaluation {
        rows: scored.len() as u64,
        intervals: interval_map(&scored, name),
        metrics,
        classification,
        regression,
        curves,
        slices,
    }
}

/// ROC, PR and calibration curves: for the positive class of a binary
/// task, for every class (one-vs-rest) of a multiclass one.
fn class_curves(y: &[usize], proba: &[f64], k: usize, labels: &[String], bins: usize) -> Curves {
    let mut c = Curves::default();
    let classes: Vec<usize> = if k == 2 { vec![1] } else { (0..k).collect() };
    for class in classes {
        let label = labels
            .get(class)
            .cloned()
            .unwrap_or_else(|| class.to_string());
        let positive: Vec<bool> = y.iter().map(|&t| t == class).collect();
        let score: Vec<f64> = proba.chunks_exact(k).map(|row| row[class]).collect();
        if let Some(roc) = curves::roc_curve(&positive, &score) {
            let keep = curves::thin_indices(roc.fpr.len(), MAX_CURVE_POINTS);
            c.roc.insert(
                label.clone(),
                RocCurve {
                    fpr: keep.iter().map(|&i| roc.fpr[i]).collect(),
                    tpr: keep.iter().map(|&i| roc.tpr[i]).collect(),
                    thresholds: keep.iter().map(|&i| roc.thresholds[i]).collect(),
                },
            );
        }
        if let Some(pr) = curves::pr_curve(&positive, &score) {
            // precision/recall have one more point than thresholds (the
            // final (recall 0, precision 1) point); thin over the points and
            // keep the thresholds of the kept points that have one.
            let keep = curves::thin_indices(pr.precision.len(), MAX_CURVE_POINTS);
            c.pr.insert(
                label.clone(),
                PrCurve {
                    precision: keep.iter().map(|&i| pr.precision[i]).collect(),
                    recall: keep.iter().map(|&i| pr.recall[i]).collect(),
                    thresholds: keep
                        .iter()
                        .filter_map(|&i| pr.thresholds.get(i).copied())
                        .collect(),
                },
            );
        }
        let cal = curves::calibration_curve(&positive, &score, bins);
        if !cal.counts.is_empty() {
            c.calibration.insert(label, cal);
        }
    }
    c
}
