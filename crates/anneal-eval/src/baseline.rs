//! The prior as a model: what a report compares the trained model with, so
//! that a model that learned nothing is plain to see.

use std::collections::BTreeMap;

use anneal_data::{SplitData, TargetSpec, Targets};

use crate::evaluate::score_split;

/// Raw outputs of the prior for `rows` rows, in the model's output layout:
/// for classification the log of each class's share of `train` (so that
/// the softmax gives back the shares), for regression the mean scaled
/// target of `train`.
pub fn prior_outputs(train: &SplitData, target: &TargetSpec, rows: usize) -> Vec<f32> {
    let row: Vec<f32> = match (&train.y, target) {
        (Targets::Classes(y), TargetSpec::Classes { labels, .. }) => {
            let mut counts = vec![0u64; labels.len()];
            for &c in y {
                if let Some(n) = counts.get_mut(c as usize) {
                    *n += 1;
                }
            }
            let total = y.len().max(1) as f64;
            // A class absent from training gets a tiny share, not log(0).
            counts
                .iter()
                .map(|&n| ((n as f64).max(1e-6) / total).ln() as f32)
                .collect()
        }
        (Targets::Values { scaled, .. }, _) => {
            let mean = scaled.iter().map(|&v| v as f64).sum::<f64>() / scaled.len().max(1) as f64;
            vec![mean as f32]
        }
        _ => Vec::new(),
    };
    row.iter().copied().cycle().take(row.len() * rows).collect()
}

/// The prior of `train` scored on `split` with every scalar metric.
pub fn baseline_metrics(
    train: &SplitData,
    split: &SplitData,
    target: &TargetSpec,
) -> BTreeMap<String, f64> {
    score_split(&prior_outputs(train, target, split.len()), split, target)
}
