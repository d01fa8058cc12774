//! From raw model outputs to metrics and predictions.

use std::collections::BTreeMap;

use anneal_data::{SplitData, TargetSpec, Targets};
use anneal_model::network::softmax_rows;
use serde::Serialize;

use crate::metrics::{self, ClassificationMetrics, RegressionMetrics};

/// The evaluation of one split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitEval {
    /// Headline metrics by name.
    pub metrics: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassificationMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regression: Option<RegressionMetrics>,
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

/// Scores raw `outputs` of the rows of `split`.
pub fn evaluate_split(outputs: &[f32], split: &SplitData, target: &TargetSpec) -> SplitEval {
    match (predictions_from_outputs(outputs, target), &split.y) {
        (Predictions::Classes { proba, k }, Targets::Classes(y)) => {
            let y: Vec<usize> = y.iter().map(|&c| c as usize).collect();
            let m = metrics::classification(&y, &proba, k);
            SplitEval {
                metrics: m
                    .scalars()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                classification: Some(m),
                regression: None,
            }
        }
        (Predictions::Values(pred), Targets::Values { raw, .. }) => {
            let m = metrics::regression(raw, &pred);
            SplitEval {
                metrics: m
                    .scalars()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                classification: None,
                regression: Some(m),
            }
        }
        _ => SplitEval {
            metrics: BTreeMap::new(),
            classification: None,
            regression: None,
        },
    }
}
