//! The paired bootstrap: how much worse is one model than another on the
//! same rows, and how sure are we?
//!
//! Both models' predictions on the same `n` rows are resampled with the
//! *same* row counts, so row difficulty cancels out: what remains is the
//! noise of the difference itself, far smaller than the two unpaired
//! intervals would suggest. Resample `b` draws from the RNG stream
//! `paired/<stream>/<b>` of the seed, so a verdict is reproducible from the
//! seed and does not depend on the thread count.

use anneal_core::rng::Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::bootstrap::quantile;
use crate::evaluate::Scored;

/// The drop of a metric from a baseline to a candidate, oriented so that a
/// positive drop means the candidate is worse.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedDrop {
    /// Baseline minus candidate on all rows (oriented).
    pub drop: f64,
    /// The one-sided upper confidence bound of the drop.
    pub upper: f64,
    /// The matching lower bound (`1 - confidence` quantile).
    pub lower: f64,
    /// Resamples in which the metric was defined for both models.
    pub resamples: u32,
}

/// What the paired bootstrap needs besides the rows.
#[derive(Debug, Clone, Copy)]
pub struct PairedSettings<'a> {
    pub metric: &'a str,
    pub higher_is_better: bool,
    pub resamples: u32,
    /// One-sided confidence of `upper`, in (0, 1).
    pub confidence: f64,
    pub seed: u64,
    /// Names the random streams (rule and slice), so that two rules do not
    /// share draws by accident.
    pub stream: &'a str,
    /// Calibration bins (for `ece`).
    pub bins: usize,
}

/// The paired bootstrap of `settings.metric` between `candidate` and
/// `baseline`, which must hold the same rows in the same order. `None` when
/// the metric is undefined on all rows for either model, or defined in
/// fewer than half of the resamples.
pub fn paired_drop(
    candidate: &Scored,
    baseline: &Scored,
    settings: &PairedSettings<'_>,
) -> Option<PairedDrop> {
    let n = candidate.len();
    if n == 0 || n != baseline.len() || settings.resamples == 0 {
        return None;
    }
    let sign = if settings.higher_is_better { 1.0 } else { -1.0 };
    let metric = settings.metric;
    let point_c = *candidate.scalars(settings.bins).get(metric)?;
    let point_b = *baseline.scalars(settings.bins).get(metric)?;
    let drop = sign * (point_b - point_c);
    if !drop.is_finite() {
        return None;
    }
    let rc = candidate.resampler(settings.bins);
    let rb = baseline.resampler(settings.bins);
    let mut drops: Vec<f64> = (0..settings.resamples)
        .into_par_iter()
        .filter_map(|b| {
            let mut rng = Rng::stream(settings.seed, &format!("paired/{}/{b}", settings.stream));
            let mut counts = vec![0u32; n];
            for _ in 0..n {
                counts[rng.below(n as u64) as usize] += 1;
            }
            let c = *rc.score(&counts).get(metric)?;
            let base = *rb.score(&counts).get(metric)?;
            let d = sign * (base - c);
            d.is_finite().then_some(d)
        })
        .collect();
    if drops.len() * 2 < settings.resamples as usize {
        return None;
    }
    drops.sort_by(f64::total_cmp);
    Some(PairedDrop {
        drop,
        upper: quantile(&drops, settings.confidence),
        lower: quantile(&drops, 1.0 - settings.confidence),
        resamples: drops.len() as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(metric: &str, hib: bool) -> PairedSettings<'_> {
        PairedSettings {
            metric,
            higher_is_better: hib,
            resamples: 500,
            confidence: 0.95,
            seed: 7,
            stream: "test",
            bins: 10,
        }
    }

    /// A binary classifier right on `right` of 400 rows, with confident
    /// probabilities.
    fn model(wrong: &[usize]) -> Scored {
        let n = 400;
        let y: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let mut proba = Vec::new();
        for (i, &t) in y.iter().enumerate() {
            let p_true = if wrong.contains(&i) { 0.2 } else { 0.8 };
            let p1 = if t == 1 { p_true } else { 1.0 - p_true };
            proba.extend([1.0 - p1, p1]);
        }
        Scored::Classes { y, proba, k: 2 }
    }

    #[test]
    fn identical_models_have_no_drop() {
        let m = model(&[1, 2, 3]);
        let d = paired_drop(&m, &m, &settings("accuracy", true)).unwrap();
        assert_eq!((d.drop, d.lower, d.upper), (0.0, 0.0, 0.0));
        assert_eq!(d.resamples, 500);
    }

    #[test]
    fn a_real_drop_is_bounded_away_from_zero() {
        let base = model(&[]);
        // 40 more errors of 400: accuracy 1.0 -> 0.9.
        let wrong: Vec<usize> = (0..40).map(|i| i * 10).collect();
        let cand = model(&wrong);
        let d = paired_drop(&cand, &base, &settings("accuracy", true)).unwrap();
        assert!((d.drop - 0.1).abs() < 1e-12, "{d:?}");
        assert!(
            d.lower > 0.06 && d.upper < 0.14 && d.upper > d.drop,
            "{d:?}"
        );
        // Oriented: for log loss (lower is better) the drop is positive too.
        let ll = paired_drop(&cand, &base, &settings("log_loss", false)).unwrap();
        assert!(ll.drop > 0.0 && ll.lower > 0.0, "{ll:?}");
        // And reproducible from the seed.
        assert_eq!(
            d,
            paired_drop(&cand, &base, &settings("accuracy", true)).unwrap()
        );
    }

    #[test]
    fn mismatched_or_unknown_is_none() {
        let a = model(&[]);
        let b = a.subset(&[0, 1, 2]);
        assert!(paired_drop(&a, &b, &settings("accuracy", true)).is_none());
        assert!(paired_drop(&a, &a, &settings("r2", true)).is_none());
    }
}
