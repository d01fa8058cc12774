//! The prior as a model: what a report compares the trained model with, so
//! that a model that learned nothing is plain to see.

use std::collections::BTreeMap;

use anneal_data::profile::DataProfile;
use anneal_data::{SplitData, TargetSpec, Targets};

use crate::evaluate::score_split;

/// A class absent from the prior gets this share, not log(0).
const TINY_SHARE: f64 = 1e-6;

/// One row of the prior's raw outputs, in the model's output layout: for
/// classification the log of each class's share of `train` (so that the
/// softmax gives back the shares), for regression the mean scaled target
/// of `train`.
pub fn prior_row(train: &SplitData, target: &TargetSpec) -> Vec<f32> {
    match (&train.y, target) {
        (Targets::Classes(y), TargetSpec::Classes { labels, .. }) => {
            let mut counts = vec![0u64; labels.len()];
            for &c in y {
                if let Some(n) = counts.get_mut(c as usize) {
                    *n += 1;
                }
            }
            let total = y.len().max(1) as f64;
            let shares: Vec<f64> = counts.iter().map(|&n| n as f64 / total).collect();
            log_shares(&shares)
        }
        (Targets::Values { scaled, .. }, _) => {
            let mean = scaled.iter().map(|&v| v as f64).sum::<f64>() / scaled.len().max(1) as f64;
            vec![mean as f32]
        }
        _ => Vec::new(),
    }
}

/// The prior row from an artifact's training profile (`anneal eval` has no
/// training split): the target's class shares, or its mean, scaled as the
/// model's outputs. `None` when the profile does not describe the target.
pub fn prior_row_from_profile(profile: &DataProfile, target: &TargetSpec) -> Option<Vec<f32>> {
    let column = profile.column(target.column())?;
    match target {
        TargetSpec::Classes { labels, .. } => {
            let freq = &column.categories.as_ref()?.frequencies;
            let shares: Vec<f64> = labels
                .iter()
                .map(|l| freq.iter().find(|(v, _)| v == l).map_or(0.0, |(_, s)| *s))
                .collect();
            Some(log_shares(&shares))
        }
        TargetSpec::Regression { offset, scale, .. } => {
            let mean = column.numeric.as_ref()?.mean;
            Some(vec![((mean - offset) / scale) as f32])
        }
    }
}

fn log_shares(shares: &[f64]) -> Vec<f32> {
    shares
        .iter()
        .map(|&s| s.max(TINY_SHARE).ln() as f32)
        .collect()
}

/// The prior `row` scored on `split` with every scalar metric.
pub fn baseline_metrics(
    row: &[f32],
    split: &SplitData,
    target: &TargetSpec,
) -> BTreeMap<String, f64> {
    let outputs: Vec<f32> = row
        .iter()
        .copied()
        .cycle()
        .take(row.len() * split.len())
        .collect();
    score_split(&outputs, split, target)
}
