//! Threshold curves of a binary score (ROC, precision-recall), average
//! precision, and reliability (calibration) curves, computed on the host in
//! f64.
//!
//! Like [`crate::metrics`], every function follows scikit-learn (checked
//! against 1.9.1) and the unit tests pin the values sklearn itself printed.
//! The point counts behind the curves are integers, accumulated exactly, so
//! rates and thresholds match sklearn bit for bit; only sums of products
//! (average precision, calibration means) can differ in the last few ulps,
//! because numpy sums pairwise and we sum left to right in row order.
//!
//! No function here panics on user data. sklearn rejects NaN scores; here a
//! NaN score sorts by [`f64::total_cmp`] (a positive NaN above every number)
//! and forms a threshold of its own, as it would under numpy's `diff != 0`, so
//! one corrupt row shows up in the curve instead of aborting a report.

/// `sklearn.metrics.roc_curve(y, score, drop_intermediate=True)`.
///
/// The three columns are parallel. `thresholds[0]` is `+inf`, as in sklearn:
/// it is the threshold above every score, where the curve starts at (0, 0).
/// JSON has no infinity, so `serde_json` writes that first threshold as
/// `null`; readers must treat a leading `null` as `+inf`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RocCurve {
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::vec")]
    pub fpr: Vec<f64>,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::vec")]
    pub tpr: Vec<f64>,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::vec")]
    pub thresholds: Vec<f64>,
}

/// `sklearn.metrics.precision_recall_curve(y, score)` with the 1.9.1 default
/// `drop_intermediate=False`.
///
/// `thresholds` ascend (one per distinct score); `precision` and `recall`
/// have `thresholds.len() + 1` entries, point `i` being the rates when rows
/// scoring `>= thresholds[i]` are called positive, and the extra last point
/// is sklearn's fixed `(precision 1, recall 0)` end of the curve.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrCurve {
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::vec")]
    pub precision: Vec<f64>,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::vec")]
    pub recall: Vec<f64>,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::vec")]
    pub thresholds: Vec<f64>,
}

/// `sklearn.calibration.calibration_curve(y, prob, n_bins=n_bins,
/// strategy="uniform")`: one point per non-empty bin, in bin order.
///
/// `prob_pred` is the mean predicted probability of the bin, `prob_true` the
/// fraction of its rows that are positive, and `counts` its row count (which
/// sklearn does not return, but a plot or a reader needs it to know how much
/// each point is worth).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CalibrationCurve {
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::vec")]
    pub prob_pred: Vec<f64>,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::vec")]
    pub prob_true: Vec<f64>,
    pub counts: Vec<u64>,
}

/// Cumulative counts at each distinct score, highest score first: sklearn's
/// `confusion_matrix_at_thresholds` without the negated columns.
///
/// `fps[i]`/`tps[i]` count the negative/positive rows scoring
/// `>= thresholds[i]`. They are integers, kept as `u64` so the
/// "second derivative" tests of `roc_curve` are exact.
struct ThresholdCounts {
    fps: Vec<u64>,
    tps: Vec<u64>,
    thresholds: Vec<f64>,
}

impl ThresholdCounts {
    /// Sorts the rows by descending score and closes a threshold after the
    /// last row of each run of equal scores, exactly as sklearn does with a
    /// stable descending argsort and `np.nonzero(np.diff(score))`: tied rows
    /// enter the curve together, in one step.
    ///
    /// Equality is `==`, so `-0.0` and `0.0` are one threshold and each NaN
    /// is its own. Inconsistent lengths (a caller bug) are truncated to the
    /// shorter input.
    fn new(positive: &[bool], score: &[f64]) -> Self {
        debug_assert_eq!(positive.len(), score.len(), "positive/score lengths differ");
        let mut rows: Vec<(f64, bool)> = score
            .iter()
            .copied()
            .zip(positive.iter().copied())
            .collect();
        // Stable, so rows with equal scores keep their order (it cannot
        // change the counts, only which tied row is "last").
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));

        let mut out = Self {
            fps: Vec::new(),
            tps: Vec::new(),
            thresholds: Vec::new(),
        };
        let (mut fp, mut tp) = (0u64, 0u64);
        let mut sorted = rows.iter().peekable();
        while let Some(&(s, pos)) = sorted.next() {
            if pos {
                tp += 1;
            } else {
                fp += 1;
            }
            let run_continues = sorted.peek().is_some_and(|(next, _)| *next == s);
            if !run_continues {
                out.fps.push(fp);
                out.tps.push(tp);
                out.thresholds.push(s);
            }
        }
        out
    }

    /// Total positives and negatives (the last cumulative counts).
    fn totals(&self) -> (u64, u64) {
        (
            self.tps.last().copied().unwrap_or(0),
            self.fps.last().copied().unwrap_or(0),
        )
    }
}

/// ROC curve of a binary score, `positive[i]` being the truth of row `i`.
///
/// `None` when there are no positive or no negative rows: one of the rates
/// is then 0/0, and sklearn fills that column with NaN and warns.
///
/// Intermediate points are dropped like sklearn's `drop_intermediate=True`:
/// a point is kept when it is the first or last, or when its second
/// difference in false or true positives is non-zero (a corner). Collinear
/// points are dropped; points that are on a line but not evenly spaced along
/// it are kept, as in sklearn, which does not harm the curve.
#[must_use]
pub fn roc_curve(positive: &[bool], score: &[f64]) -> Option<RocCurve> {
    let counts = ThresholdCounts::new(positive, score);
    let (p, n) = counts.totals();
    if p == 0 || n == 0 {
        return None;
    }
    let len = counts.fps.len();
    // Second difference at point i (from both neighbours), exact in i128.
    let corner = |v: &[u64], i: usize| -> bool {
        let at = |j: usize| i128::from(v.get(j).copied().unwrap_or(0));
        at(i - 1) - 2 * at(i) + at(i + 1) != 0
    };
    let keep = |i: usize| -> bool {
        len <= 2 || i == 0 || i + 1 == len || corner(&counts.fps, i) || corner(&counts.tps, i)
    };

    let (pf, nf) = (p as f64, n as f64);
    let mut curve = RocCurve {
        fpr: vec![0.0],
        tpr: vec![0.0],
        thresholds: vec![f64::INFINITY],
    };
    for (i, ((&fp, &tp), &t)) in counts
        .fps
        .iter()
        .zip(&counts.tps)
        .zip(&counts.thresholds)
        .enumerate()
    {
        if keep(i) {
            curve.fpr.push(fp as f64 / nf);
            curve.tpr.push(tp as f64 / pf);
            curve.thresholds.push(t);
        }
    }
    Some(curve)
}

/// Precision-recall curve of a binary score.
///
/// `None` when there are no positive rows: recall is 0/0 there (sklearn sets
/// it to 1 everywhere and warns, which draws a meaningless curve). Every
/// threshold has at least one row at or above it, so precision is never 0/0.
#[must_use]
pub fn pr_curve(positive: &[bool], score: &[f64]) -> Option<PrCurve> {
    let counts = ThresholdCounts::new(positive, score);
    let (p, _) = counts.totals();
    if p == 0 {
        return None;
    }
    let pf = p as f64;
    let len = counts.thresholds.len();
    let mut curve = PrCurve {
        precision: Vec::with_capacity(len + 1),
        recall: Vec::with_capacity(len + 1),
        thresholds: Vec::with_capacity(len),
    };
    // sklearn computes from the highest threshold down, then flips the
    // columns so thresholds ascend and recall descends.
    for ((&fp, &tp), &t) in counts
        .fps
        .iter()
        .zip(&counts.tps)
        .zip(&counts.thresholds)
        .rev()
    {
        curve.precision.push(tp as f64 / (tp + fp) as f64);
        curve.recall.push(tp as f64 / pf);
        curve.thresholds.push(t);
    }
    curve.precision.push(1.0);
    curve.recall.push(0.0);
    Some(curve)
}

/// sklearn's `average_precision_score` of a binary score:
/// `sum_i (R_i - R_{i+1}) P_i` over the precision-recall curve, the
/// step-function integral with no interpolation (so not the trapezoidal area
/// under the PR curve, which is optimistic).
///
/// `None` when there are no positive rows, where sklearn warns and returns
/// 0.0 from a curve whose recall it set to 1. With no negative rows every
/// precision is 1 and the result is 1.0, as in sklearn.
#[must_use]
pub fn average_precision(positive: &[bool], score: &[f64]) -> Option<f64> {
    let curve = pr_curve(positive, score)?;
    let mut sum = 0.0;
    for (r, &prec) in curve.recall.windows(2).zip(&curve.precision) {
        if let [r0, r1] = *r {
            sum += (r1 - r0) * prec;
        }
    }
    // sklearn clips the -0.0 that rounding can leave.
    Some((-sum).max(0.0))
}

/// Reliability curve of a binary probability, with `n_bins` equal-width bins
/// on `[0, 1]`.
///
/// Bins follow sklearn exactly (numpy's `searchsorted` on `linspace`
/// edges): a probability on an edge belongs to the bin below it, so bins are
/// `[0, e1], (e1, e2], ..., (e_{n-1}, 1]`. Empty bins are left out, as in
/// sklearn.
///
/// sklearn raises on probabilities outside `[0, 1]` and on NaN; here values
/// below 0 land in the first bin and above 1 in the last (where the binning
/// puts them), and rows with a NaN probability are skipped, so one corrupt
/// row cannot poison a bin's mean. `n_bins == 0` gives an empty curve.
#[must_use]
pub fn calibration_curve(positive: &[bool], prob: &[f64], n_bins: usize) -> CalibrationCurve {
    debug_assert_eq!(positive.len(), prob.len(), "positive/prob lengths differ");
    let edges = uniform_edges(n_bins);
    let mut sum_prob = vec![0.0_f64; n_bins];
    let mut sum_true = vec![0u64; n_bins];
    let mut total = vec![0u64; n_bins];
    for (&pos, &p) in positive.iter().zip(prob) {
        let Some(b) = uniform_bin(&edges, p) else {
            continue;
        };
        if let (Some(s), Some(t), Some(c)) =
            (sum_prob.get_mut(b), sum_true.get_mut(b), total.get_mut(b))
        {
            *s += p;
            *t += u64::from(pos);
            *c += 1;
        }
    }
    let mut curve = CalibrationCurve {
        prob_pred: Vec::new(),
        prob_true: Vec::new(),
        counts: Vec::new(),
    };
    for ((&s, &t), &c) in sum_prob.iter().zip(&sum_true).zip(&total) {
        if c > 0 {
            curve.prob_pred.push(s / c as f64);
            curve.prob_true.push(t as f64 / c as f64);
            curve.counts.push(c);
        }
    }
    curve
}

/// Interior edges of `n_bins` equal-width bins on `[0, 1]`, computed as
/// numpy's `linspace(0, 1, n_bins + 1)[1:-1]` does (`i * (1 / n_bins)`, so
/// e.g. the 7th of 10 is `0.7000000000000001`, not `0.7`).
pub(crate) fn uniform_edges(n_bins: usize) -> Vec<f64> {
    if n_bins == 0 {
        return Vec::new();
    }
    let step = 1.0 / n_bins as f64;
    (1..n_bins).map(|i| i as f64 * step).collect()
}

/// Bin of `p` among `edges.len() + 1` bins: the number of interior edges
/// strictly below `p`, i.e. numpy's `searchsorted(edges, p)` (side "left"),
/// which is what sklearn 1.9.1's `calibration_curve` calls. `None` for NaN.
pub(crate) fn uniform_bin(edges: &[f64], p: f64) -> Option<usize> {
    (!p.is_nan()).then(|| edges.partition_point(|&e| e < p))
}

/// Indices of at most `max_points` points of an `n`-point curve, chosen
/// deterministically so a long curve can be stored or plotted at a bounded
/// size: index `i * (n - 1) / (m - 1)` (integer division) for
/// `i in 0..m`, `m = min(n, max_points)`. That always keeps the first and
/// last point (the curve's ends carry its meaning) and spaces the rest
/// evenly; the indices are strictly increasing.
///
/// `n <= max_points` keeps every index; `max_points == 1` keeps only the
/// first point and `max_points == 0` (or `n == 0`) nothing.
#[must_use]
pub fn thin_indices(n: usize, max_points: usize) -> Vec<usize> {
    let m = n.min(max_points);
    match m {
        0 => Vec::new(),
        1 => vec![0],
        _ if m == n => (0..n).collect(),
        _ => {
            // u128 so `i * (n - 1)` cannot overflow for any usize `n`.
            let (last, steps) = ((n - 1) as u128, (m - 1) as u128);
            (0..m as u128)
                .map(|i| usize::try_from(i * last / steps).unwrap_or(n - 1))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative tolerance for sums (average precision, bin means): numpy
    /// sums pairwise, we sum left to right. Rates are compared exactly.
    const REL_TOL: f64 = 1e-12;

    fn check(what: &str, actual: f64, expected: f64) {
        assert!(
            actual == expected
                || (actual - expected).abs() <= REL_TOL * actual.abs().max(expected.abs()),
            "{what}: got {actual:?}, sklearn says {expected:?}"
        );
    }

    fn check_all(what: &str, actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len(), "{what}: length");
        for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            check(&format!("{what}[{i}]"), a, e);
        }
    }

    // ---------------------------------------------------------------------
    // Goldens: printed by scikit-learn 1.9.1 (numpy 2.4.6) with
    //   roc_curve(y, s) (drop_intermediate=True),
    //   precision_recall_curve(y, s) (drop_intermediate=False),
    //   average_precision_score(y, s),
    //   calibration_curve(y, s, n_bins=n_bins) (strategy="uniform"), and the
    //   counts as np.bincount(np.searchsorted(np.linspace(0, 1, n_bins + 1)
    //   [1:-1], s), minlength=n_bins) restricted to non-zero bins.
    // Values are pasted verbatim from the script's repr() output.
    // ---------------------------------------------------------------------

    // ---- TIES: n=16; runs of tied scores, and scores on the bin edges 0.2
    // (x3) and 0.7 (x4). Without dropping the ROC curve has 9 points.
    const TIES_Y: [u8; 16] = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1];
    const TIES_S: [f64; 16] = [
        0.9, 0.7, 0.7, 0.7, 0.2, 0.2, 0.55, 0.55, 0.3, 0.3, 0.05, 0.9, 0.2, 0.7, 0.0, 1.0,
    ];
    // ---- DROP: n=12; distinct scores in runs of equal labels, so most ROC
    // points are collinear: 13 points without dropping, 7 with.
    const DROP_Y: [u8; 12] = [1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1];
    const DROP_S: [f64; 12] = [
        0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.5, 0.4, 0.3, 0.2,
    ];

    fn truth(y: &[u8]) -> Vec<bool> {
        y.iter().map(|&v| v == 1).collect()
    }

    #[test]
    fn roc_curve_with_ties_matches_sklearn() {
        let c = roc_curve(&truth(&TIES_Y), &TIES_S).unwrap();
        assert_eq!(c.fpr, [0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(c.tpr, [0.0, 0.125, 0.375, 0.625, 0.875, 1.0, 1.0]);
        assert_eq!(c.thresholds, [f64::INFINITY, 1.0, 0.9, 0.7, 0.3, 0.2, 0.0]);
    }

    #[test]
    fn roc_curve_drops_collinear_points_like_sklearn() {
        let c = roc_curve(&truth(&DROP_Y), &DROP_S).unwrap();
        assert_eq!(c.fpr, [0.0, 0.0, 0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(
            c.tpr,
            [
                0.0,
                0.16666666666666666,
                0.5,
                0.5,
                0.8333333333333334,
                0.8333333333333334,
                1.0
            ]
        );
        assert_eq!(
            c.thresholds,
            [f64::INFINITY, 0.95, 0.85, 0.7, 0.6, 0.3, 0.2]
        );
    }

    #[test]
    fn roc_curve_keeps_both_points_of_a_two_threshold_curve() {
        // sklearn only drops when there are more than two thresholds.
        let c = roc_curve(&[true, false], &[0.8, 0.3]).unwrap();
        assert_eq!(c.fpr, [0.0, 0.0, 1.0]);
        assert_eq!(c.tpr, [0.0, 1.0, 1.0]);
        assert_eq!(c.thresholds, [f64::INFINITY, 0.8, 0.3]);
    }

    #[test]
    fn pr_curve_with_ties_matches_sklearn() {
        let c = pr_curve(&truth(&TIES_Y), &TIES_S).unwrap();
        assert_eq!(
            c.precision,
            [
                0.5,
                0.5333333333333333,
                0.5714285714285714,
                0.6363636363636364,
                0.6666666666666666,
                0.7142857142857143,
                1.0,
                1.0,
                1.0
            ]
        );
        assert_eq!(
            c.recall,
            [1.0, 1.0, 1.0, 0.875, 0.75, 0.625, 0.375, 0.125, 0.0]
        );
        assert_eq!(c.thresholds, [0.0, 0.05, 0.2, 0.3, 0.55, 0.7, 0.9, 1.0]);
    }

    #[test]
    fn pr_curve_keeps_every_threshold_like_sklearn() {
        let c = pr_curve(&truth(&DROP_Y), &DROP_S).unwrap();
        assert_eq!(
            c.precision,
            [
                0.5,
                0.45454545454545453,
                0.5,
                0.5555555555555556,
                0.625,
                0.5714285714285714,
                0.5,
                0.6,
                0.75,
                1.0,
                1.0,
                1.0,
                1.0
            ]
        );
        assert_eq!(
            c.recall,
            [
                1.0,
                0.8333333333333334,
                0.8333333333333334,
                0.8333333333333334,
                0.8333333333333334,
                0.6666666666666666,
                0.5,
                0.5,
                0.5,
                0.5,
                0.3333333333333333,
                0.16666666666666666,
                0.0
            ]
        );
        assert_eq!(
            c.thresholds,
            [
                0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95
            ]
        );
    }

    #[test]
    fn average_precision_matches_sklearn() {
        let ties = average_precision(&truth(&TIES_Y), &TIES_S).unwrap();
        check("ap ties", ties, 0.7878787878787878);
        let drop = average_precision(&truth(&DROP_Y), &DROP_S).unwrap();
        check("ap drop", drop, 0.7827380952380952);
    }

    #[test]
    fn calibration_curve_with_empty_bins_matches_sklearn() {
        // n_bins=10: bins 3 and 7 are empty; the three 0.2s sit on an edge
        // and go to the bin below, (0.1, 0.2], as numpy's searchsorted
        // (side "left") puts them; 0.3 < 0.30000000000000004 stays in bin 2.
        let c = calibration_curve(&truth(&TIES_Y), &TIES_S, 10);
        check_all(
            "prob_true",
            &c.prob_true,
            &[0.0, 0.3333333333333333, 0.5, 0.5, 0.5, 1.0, 1.0],
        );
        check_all(
            "prob_pred",
            &c.prob_pred,
            &[0.025, 0.20000000000000004, 0.3, 0.55, 0.7, 0.9, 1.0],
        );
        assert_eq!(c.counts, [2, 3, 2, 2, 4, 2, 1]);

        let c = calibration_curve(&truth(&TIES_Y), &TIES_S, 5);
        check_all("prob_true", &c.prob_true, &[0.2, 0.5, 0.5, 0.5, 1.0]);
        check_all(
            "prob_pred",
            &c.prob_pred,
            &[0.13, 0.3, 0.55, 0.7, 0.9333333333333332],
        );
        assert_eq!(c.counts, [5, 2, 2, 4, 3]);

        let c = calibration_curve(&truth(&DROP_Y), &DROP_S, 10);
        check_all(
            "prob_true",
            &c.prob_true,
            &[1.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.0, 1.0, 1.0],
        );
        check_all(
            "prob_pred",
            &c.prob_pred,
            &[0.2, 0.3, 0.4, 0.5, 0.6, 0.675, 0.775, 0.875, 0.95],
        );
        assert_eq!(c.counts, [1, 1, 1, 1, 1, 2, 2, 2, 1]);
    }

    #[test]
    fn bin_edges_are_numpys_linspace() {
        // np.linspace(0, 1, 11)[1:-1], repr'd.
        assert_eq!(
            uniform_edges(10),
            [
                0.1,
                0.2,
                0.30000000000000004,
                0.4,
                0.5,
                0.6000000000000001,
                0.7000000000000001,
                0.8,
                0.9
            ]
        );
        let edges = uniform_edges(10);
        assert_eq!(uniform_bin(&edges, 0.0), Some(0));
        assert_eq!(uniform_bin(&edges, 0.1), Some(0));
        assert_eq!(uniform_bin(&edges, 0.30000000000000004), Some(2));
        assert_eq!(uniform_bin(&edges, 0.7), Some(6));
        assert_eq!(uniform_bin(&edges, 1.0), Some(9));
        assert_eq!(uniform_bin(&edges, f64::NAN), None);
        assert!(uniform_edges(1).is_empty());
        assert!(uniform_edges(0).is_empty());
    }

    #[test]
    fn undefined_curves_are_none() {
        let all_neg = [false; 4];
        let all_pos = [true; 4];
        let s = [0.1, 0.4, 0.35, 0.8];
        // sklearn: tpr all NaN, recall all 1 with a warning, AP 0.0.
        assert_eq!(roc_curve(&all_neg, &s), None);
        assert_eq!(pr_curve(&all_neg, &s), None);
        assert_eq!(average_precision(&all_neg, &s), None);
        // sklearn: fpr all NaN; the PR curve and AP (1.0) are defined.
        assert_eq!(roc_curve(&all_pos, &s), None);
        let pr = pr_curve(&all_pos, &s).unwrap();
        assert_eq!(pr.precision, [1.0, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(pr.recall, [1.0, 0.75, 0.5, 0.25, 0.0]);
        assert_eq!(pr.thresholds, [0.1, 0.35, 0.4, 0.8]);
        assert_eq!(average_precision(&all_pos, &s), Some(1.0));
        // No rows at all.
        assert_eq!(roc_curve(&[], &[]), None);
        assert_eq!(pr_curve(&[], &[]), None);
        assert_eq!(average_precision(&[], &[]), None);
        let c = calibration_curve(&[], &[], 10);
        assert!(c.prob_pred.is_empty() && c.prob_true.is_empty() && c.counts.is_empty());
        let c = calibration_curve(&[true], &[0.5], 0);
        assert!(c.counts.is_empty());
    }

    #[test]
    fn nan_and_out_of_range_inputs_do_not_panic() {
        let y = [true, false, true, false];
        let s = [f64::NAN, 0.2, 0.9, f64::NAN];
        let roc = roc_curve(&y, &s).unwrap();
        assert_eq!(roc.fpr.last(), Some(&1.0));
        assert_eq!(roc.tpr.last(), Some(&1.0));
        // Two NaNs are two thresholds, like numpy's `diff != 0`.
        assert_eq!(pr_curve(&y, &s).unwrap().thresholds.len(), 4);
        assert!(average_precision(&y, &s).is_some());
        let c = calibration_curve(&y, &[f64::NAN, -0.5, 1.5, 0.5], 4);
        assert_eq!(c.counts, [1, 1, 1]);
        assert_eq!(c.prob_pred, [-0.5, 0.5, 1.5]);
        // Inconsistent lengths are truncated (release builds only; debug
        // builds assert).
        if !cfg!(debug_assertions) {
            assert_eq!(
                roc_curve(&[true, false, true], &[0.9, 0.1])
                    .unwrap()
                    .fpr
                    .len(),
                3
            );
        }
    }

    #[test]
    fn infinite_first_threshold_serialises_as_null() {
        let c = roc_curve(&[true, false], &[0.8, 0.3]).unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"fpr":[0.0,0.0,1.0],"tpr":[0.0,1.0,1.0],"thresholds":[null,0.8,0.3]}"#
        );
    }

    #[test]
    fn thin_indices_keeps_ends_and_spaces_evenly() {
        assert_eq!(thin_indices(10, 4), [0, 3, 6, 9]);
        assert_eq!(thin_indices(10, 3), [0, 4, 9]);
        assert_eq!(thin_indices(7, 2), [0, 6]);
        assert_eq!(thin_indices(5, 5), [0, 1, 2, 3, 4]);
        assert_eq!(thin_indices(3, 100), [0, 1, 2]);
        assert_eq!(thin_indices(10, 1), [0]);
        assert!(thin_indices(10, 0).is_empty());
        assert!(thin_indices(0, 5).is_empty());
        let big = thin_indices(usize::MAX, 3);
        assert_eq!(big, [0, (usize::MAX - 1) / 2, usize::MAX - 1]);
        for (n, m) in [(1000, 7), (101, 100), (57, 13)] {
            let idx = thin_indices(n, m);
            assert_eq!(idx.len(), m);
            assert_eq!((idx.first(), idx.last()), (Some(&0), Some(&(n - 1))));
            assert!(idx.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
