//! Seeded bootstrap confidence intervals for the headline metrics.
//!
//! Resample `b` draws its rows from its own RNG stream, named after the
//! seed, the split (or slice) and `b`, so the intervals depend on nothing
//! but the inputs: not on the thread count (resamples run in parallel but
//! are collected in order), not on how many other resamples exist, and not
//! on anything evaluated before. The interval is the percentile interval
//! with numpy's default (linear) interpolation.

use std::collections::BTreeMap;

use anneal_core::rng::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A two-sided interval around a point estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub lower: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub upper: f64,
}

/// What one resample is scored with: the metric values of the resample
/// that draws row `i` `counts[i]` times (the counts sum to `n`).
pub type Scorer<'a> = dyn Fn(&[u32]) -> BTreeMap<&'static str, f64> + Sync + 'a;

/// Percentile intervals of every metric `score` returns, over `resamples`
/// resamples of `n` rows. Metrics undefined in some resamples (NaN, or
/// missing such as ROC-AUC when a class was not drawn) get an interval from
/// the resamples where they are defined, as long as at least half are;
/// otherwise none.
pub fn intervals(
    n: usize,
    resamples: u32,
    confidence: f64,
    seed: u64,
    stream: &str,
    score: &Scorer<'_>,
) -> BTreeMap<String, Interval> {
    if n == 0 || resamples == 0 {
        return BTreeMap::new();
    }
    let draws: Vec<BTreeMap<&'static str, f64>> = (0..resamples)
        .into_par_iter()
        .map(|b| {
            let mut rng = Rng::stream(seed, &format!("bootstrap/{stream}/{b}"));
            let mut counts = vec![0u32; n];
            for _ in 0..n {
                counts[rng.below(n as u64) as usize] += 1;
            }
            score(&counts)
        })
        .collect();
    let mut by_metric: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for d in &draws {
        for (&k, &v) in d {
            if v.is_finite() {
                by_metric.entry(k).or_default().push(v);
            }
        }
    }
    let alpha = (1.0 - confidence) / 2.0;
    by_metric
        .into_iter()
        .filter(|(_, v)| v.len() * 2 >= resamples as usize)
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            (
                k.to_string(),
                Interval {
                    lower: quantile(&v, alpha),
                    upper: quantile(&v, 1.0 - alpha),
                },
            )
        })
        .collect()
}

/// numpy's default quantile (linear interpolation) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = pos - lo as f64;
            sorted[lo] + (sorted[hi] - sorted[lo]) * frac
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_scorer(values: &[f64]) -> impl Fn(&[u32]) -> BTreeMap<&'static str, f64> + Sync {
        move |counts: &[u32]| {
            let n: u32 = counts.iter().sum();
            let m = counts
                .iter()
                .zip(values)
                .map(|(&c, v)| f64::from(c) * v)
                .sum::<f64>()
                / f64::from(n);
            BTreeMap::from([("mean", m)])
        }
    }

    #[test]
    fn quantile_matches_numpy() {
        // np.quantile([1, 2, 4, 8], [0.025, 0.5, 0.975])
        let v = [1.0, 2.0, 4.0, 8.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert!((quantile(&v, 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile(&v, 0.975) - 7.7).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn interval_of_a_mean_covers_it_and_narrows_with_more_rows() {
        let values: Vec<f64> = (0..200).map(|i| (i % 10) as f64).collect();
        let score = mean_scorer(&values);
        let ci = intervals(values.len(), 1000, 0.95, 7, "test", &score);
        let m = ci["mean"];
        assert!(m.lower < 4.5 && 4.5 < m.upper, "{m:?}");
        // Standard error of the mean is 2.87/sqrt(200) = 0.203: the 95%
        // interval is about 0.8 wide.
        let width = m.upper - m.lower;
        assert!((0.6..1.0).contains(&width), "{width}");

        let more: Vec<f64> = (0..2000).map(|i| (i % 10) as f64).collect();
        let score = mean_scorer(&more);
        let wide = intervals(more.len(), 1000, 0.95, 7, "test", &score)["mean"];
        assert!(wide.upper - wide.lower < width / 2.0);
    }

    #[test]
    fn same_seed_same_interval_other_seed_other_interval() {
        let values: Vec<f64> = (0..100).map(|i| ((i * 37) % 11) as f64).collect();
        let score = mean_scorer(&values);
        let a = intervals(100, 200, 0.9, 1, "s", &score);
        let b = intervals(100, 200, 0.9, 1, "s", &score);
        let c = intervals(100, 200, 0.9, 2, "s", &score);
        let d = intervals(100, 200, 0.9, 1, "other", &score);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn rarely_defined_metrics_get_no_interval() {
        let score = |counts: &[u32]| {
            let mut m = BTreeMap::from([("always", 1.0)]);
            // Defined only when row 0 is drawn 3 times or more: ~8% of
            // resamples.
            if counts[0] >= 3 {
                m.insert("rare", 1.0);
            }
            m
        };
        let ci = intervals(100, 300, 0.95, 3, "s", &score);
        assert!(ci.contains_key("always"));
        assert!(!ci.contains_key("rare"));
        assert!(intervals(0, 300, 0.95, 3, "s", &score).is_empty());
        assert!(intervals(10, 0, 0.95, 3, "s", &score).is_empty());
    }
}
