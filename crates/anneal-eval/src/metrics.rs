//! Evaluation metrics, computed on the host in f64.
//!
//! Every number here follows scikit-learn 1.x (checked against 1.9.1), so a
//! report produced by anneal can be compared line by line with one produced
//! by a Python pipeline. The unit tests pin the values sklearn itself printed.
//!
//! Accumulation is plain sequential f64 loops in row order: no parallelism
//! and no hash-map iteration, so the same inputs give the same bits on every
//! run and every machine. sklearn sums with numpy's pairwise summation, so
//! results can differ from it in the last few ulps, never more.
//!
//! None of these functions panics on user data. Callers guarantee consistent
//! lengths (checked by `debug_assert!`); in release builds inconsistent inputs
//! are truncated to the longest consistent prefix instead of aborting a run
//! that has already spent hours training.

use std::collections::BTreeMap;

use crate::curves;

/// Metrics of a classifier on one split.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassificationMetrics {
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub accuracy: f64,
    /// Mean recall over the classes present in `y_true`; absent classes are
    /// skipped, as sklearn does, because their recall is 0/0.
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub balanced_accuracy: f64,
    /// Macro averages are over all `n_classes` classes (sklearn
    /// `labels=range(k)`), so a class never predicted drags them down.
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub precision_macro: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub recall_macro: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub f1_macro: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub precision_weighted: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub recall_weighted: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub f1_weighted: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub log_loss: f64,
    /// Binary: sklearn `brier_score_loss` on the class-1 column, in [0, 1].
    /// Multiclass: mean over rows of `sum_k (p_k - onehot_k)^2`, in [0, 2].
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub brier: f64,
    /// Binary: AUC of the class-1 score. Multiclass: one-vs-rest macro
    /// average. `None` when a class is absent from `y_true`, where the curve
    /// has no positives or no negatives and sklearn returns NaN or raises.
    pub roc_auc: Option<f64>,
    /// Area under the precision-recall curve as sklearn's
    /// `average_precision_score` (step-function integral, no interpolation).
    /// Binary: AP of the class-1 column. Multiclass: macro average over the
    /// classes of one-vs-rest AP, i.e. sklearn's
    /// `average_precision_score(label_binarize(y, classes=range(k)), proba,
    /// average="macro")`.
    ///
    /// `None` when any class of `0..n_classes` is absent from `y_true`, the
    /// same rule as `roc_auc`. sklearn does not agree with itself there: on
    /// the one-hot matrix it scores an absent class 0.0 (with a warning) and
    /// averages that in, on the raw multiclass labels it raises, and on a
    /// binary `y_true` holding only class 1 it returns a trivial 1.0. None
    /// of those is a measure of ranking quality, so none is reported.
    pub pr_auc: Option<f64>,
    /// Top-label expected calibration error with [`ECE_BINS`] equal-width
    /// bins; see [`expected_calibration_error`] for the exact binning.
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub ece: f64,
    /// One entry per class index `0..n_classes`.
    pub per_class: Vec<ClassStats>,
    /// `confusion[true][pred]`, `n_classes` x `n_classes`.
    pub confusion: Vec<Vec<u64>>,
    pub rows: u64,
}

/// Precision, recall and F1 of one class, with sklearn's `zero_division=0`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassStats {
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub precision: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub recall: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub f1: f64,
    pub support: u64,
}

/// Metrics of a regressor on one split.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegressionMetrics {
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub mae: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub rmse: f64,
    /// `1 - SS_res / SS_tot` with sklearn's `force_finite=True`: a constant
    /// `y_true` gives 1.0 for perfect predictions and 0.0 otherwise, instead
    /// of NaN or -inf. Fewer than two rows gives NaN, as in sklearn.
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub r2: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub mse: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub median_absolute_error: f64,
    /// sklearn's `mean_absolute_percentage_error` (a fraction, not a
    /// percentage). `None` when any `y_true` is exactly 0: sklearn divides by
    /// `f64::EPSILON` there and reports numbers like 1e15 that mean nothing.
    pub mape: Option<f64>,
    /// Quantiles of the residual `y_true - y_pred` (signed, so a biased
    /// model shows up as an off-centre `q50`), keyed `"q05"`, `"q25"`,
    /// `"q50"`, `"q75"`, `"q95"`, with numpy's default linear interpolation
    /// (`np.quantile(res, [0.05, 0.25, 0.5, 0.75, 0.95])`). They describe the
    /// error distribution rather than score it, so `scalars()` leaves them
    /// out. Empty when there are no rows; all NaN when any residual is NaN,
    /// as in numpy. A `BTreeMap` so they serialise in a fixed order.
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::map")]
    pub residual_quantiles: BTreeMap<String, f64>,
    pub rows: u64,
}

/// Number of equal-width bins of [`ClassificationMetrics::ece`]: the usual
/// choice in the calibration literature (Guo et al. 2017), so the number is
/// comparable with published ones.
pub const ECE_BINS: usize = 10;

/// Residual quantiles reported by [`regression`], as (key, level).
const RESIDUAL_QUANTILES: [(&str, f64); 5] = [
    ("q05", 0.05),
    ("q25", 0.25),
    ("q50", 0.5),
    ("q75", 0.75),
    ("q95", 0.95),
];

/// Clipping bound of `log_loss`.
///
/// sklearn >= 1.5 clips probabilities to `[eps, 1 - eps]` with `eps` the
/// machine epsilon of the input dtype (f64 here) and does NOT renormalise the
/// rows (checked in the 1.9.1 source), so a true class given probability 0
/// costs `-ln(f64::EPSILON)` ~= 36.04 and one given probability 1 still costs
/// `-ln(1 - f64::EPSILON)` ~= 2.2e-16.
const LOG_LOSS_EPS: f64 = f64::EPSILON;

/// Scores a probabilistic classifier.
///
/// `proba` is row-major `n x n_classes` (`n_classes >= 2`), each row a
/// probability distribution; `y_true[i]` is in `0..n_classes`. The predicted
/// class is the row's argmax, ties going to the lowest index (numpy's
/// `argmax`, which is what sklearn's `predict` uses). With no rows every f64
/// field is NaN, `roc_auc` and `pr_auc` are `None` and `rows` is 0.
///
/// A label outside `0..n_classes` (a caller bug, caught by `debug_assert!`)
/// counts as a row whose true class got probability 0: it is wrong for
/// accuracy, costs the maximal log loss, and belongs to no confusion row.
#[must_use]
pub fn classification(y_true: &[usize], proba: &[f64], n_classes: usize) -> ClassificationMetrics {
    let k = n_classes;
    debug_assert!(k >= 2, "classification needs at least 2 classes, got {k}");
    debug_assert_eq!(proba.len(), y_true.len() * k, "proba must be n x n_classes");
    debug_assert!(y_true.iter().all(|&y| y < k), "label out of range 0..{k}");

    let n = proba.len().checked_div(k).unwrap_or(0).min(y_true.len());
    if n == 0 {
        return empty_classification(k);
    }
    let y_true = y_true.get(..n).unwrap_or_default();
    let proba = proba.get(..n * k).unwrap_or_default();
    let pred = argmax_rows(proba, k);

    let mut confusion = vec![vec![0u64; k]; k];
    let mut pred_count = vec![0u64; k];
    let mut correct = 0u64;
    for (&t, &p) in y_true.iter().zip(&pred) {
        if let Some(cell) = confusion.get_mut(t).and_then(|row| row.get_mut(p)) {
            *cell += 1;
        }
        if let Some(count) = pred_count.get_mut(p) {
            *count += 1;
        }
        if t == p {
            correct += 1;
        }
    }

    let per_class: Vec<ClassStats> = confusion
        .iter()
        .enumerate()
        .zip(&pred_count)
        .map(|((c, row), &predicted)| {
            let tp = row.get(c).copied().unwrap_or(0);
            let support: u64 = row.iter().sum();
            class_stats(tp, support, predicted)
        })
        .collect();

    let nf = n as f64;
    let kf = k as f64;
    let total_support: u64 = per_class.iter().map(|s| s.support).sum();
    let macro_avg = |f: fn(&ClassStats) -> f64| per_class.iter().map(f).sum::<f64>() / kf;
    let weighted_avg = |f: fn(&ClassStats) -> f64| {
        // sklearn returns the zero_division value when no weight is left.
        if total_support == 0 {
            return 0.0;
        }
        let num: f64 = per_class.iter().map(|s| f(s) * s.support as f64).sum();
        num / total_support as f64
    };

    let (mut recall_sum, mut present) = (0.0, 0u64);
    for s in per_class.iter().filter(|s| s.support > 0) {
        recall_sum += s.recall;
        present += 1;
    }
    let balanced_accuracy = if present == 0 {
        f64::NAN
    } else {
        recall_sum / present as f64
    };

    let mut log_loss_sum = 0.0;
    let mut brier_sum = 0.0;
    for (&t, row) in y_true.iter().zip(proba.chunks_exact(k)) {
        let (ll, br) = row_loss_terms(t, row, k);
        log_loss_sum += ll;
        brier_sum += br;
    }

    ClassificationMetrics {
        accuracy: correct as f64 / nf,
        balanced_accuracy,
        precision_macro: macro_avg(|s| s.precision),
        recall_macro: macro_avg(|s| s.recall),
        f1_macro: macro_avg(|s| s.f1),
        precision_weighted: weighted_avg(|s| s.precision),
        recall_weighted: weighted_avg(|s| s.recall),
        f1_weighted: weighted_avg(|s| s.f1),
        log_loss: log_loss_sum / nf,
        brier: brier_sum / nf,
        roc_auc: roc_auc(y_true, proba, k),
        pr_auc: pr_auc(y_true, proba, k),
        ece: expected_calibration_error(y_true, proba, k, ECE_BINS),
        per_class,
        confusion,
        rows: n as u64,
    }
}

/// `1 - SS_res / SS_tot` with sklearn's `force_finite=True`: perfect
/// predictions score 1 even on a constant target, and a constant target
/// with any error scores 0, not -inf.
pub(crate) fn r2_force_finite(sq_sum: f64, ss_tot: f64) -> f64 {
    if sq_sum == 0.0 {
        1.0
    } else if ss_tot == 0.0 {
        0.0
    } else {
        1.0 - sq_sum / ss_tot
    }
}

/// One row's log-loss and Brier terms, for true class `t` and the row's
/// probabilities: `-ln(clip(p_t))`, and the squared error of the class-1
/// column (binary, as sklearn's `brier_score_loss`) or of the whole one-hot
/// row (multiclass).
pub(crate) fn row_loss_terms(t: usize, row: &[f64], k: usize) -> (f64, f64) {
    let p_true = row.get(t).copied().unwrap_or(0.0);
    let log_loss = -p_true.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS).ln();
    let brier = if k == 2 {
        // sklearn's binary Brier score only looks at the positive column.
        let target = if t == 1 { 1.0 } else { 0.0 };
        let d = row.get(1).copied().unwrap_or(0.0) - target;
        d * d
    } else {
        row.iter()
            .enumerate()
            .map(|(c, &p)| {
                let d = p - if c == t { 1.0 } else { 0.0 };
                d * d
            })
            .sum()
    };
    (log_loss, brier)
}

/// Argmax of each row of a row-major `n x n_classes` matrix.
///
/// Ties go to the lowest index, as numpy's `argmax` (and so sklearn's
/// `predict`) does. NaN entries are skipped so one corrupt probability cannot
/// win a row; an all-NaN row maps to class 0. A trailing partial row is
/// ignored, and `n_classes == 0` gives no rows rather than a panic.
#[must_use]
pub fn argmax_rows(proba: &[f64], n_classes: usize) -> Vec<usize> {
    debug_assert!(n_classes == 0 || proba.len().is_multiple_of(n_classes));
    if n_classes == 0 {
        return Vec::new();
    }
    proba.chunks_exact(n_classes).map(argmax_row).collect()
}

/// Argmax of one row, with the tie and NaN rules of [`argmax_rows`].
fn argmax_row(row: &[f64]) -> usize {
    let mut best: Option<(usize, f64)> = None;
    for (i, &v) in row.iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        match best {
            Some((_, b)) if v <= b => {}
            _ => best = Some((i, v)),
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// Top-label expected calibration error:
/// `sum_b |acc_b - conf_b| * n_b / n` over the non-empty bins `b`.
///
/// A row's confidence is its largest probability (the one [`argmax_rows`]
/// picks, so NaN entries are skipped) and it is correct when that argmax is
/// `y_true`; `conf_b` and `acc_b` are the mean confidence and the accuracy
/// of the `n_b` rows in bin `b`.
///
/// Bins are `n_bins` equal-width bins closed on the right, `[0, e1], (e1,
/// e2], ..., (e_{n-1}, 1]`, with the edges and the bin of each confidence
/// computed exactly as sklearn's `calibration_curve(strategy="uniform")`
/// does (`np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], conf)`), so
/// ECE and the reliability curve of [`curves::calibration_curve`] always put
/// a row in the same bin. That is the `ceil(conf * n_bins) - 1` convention
/// except where rounding puts a confidence exactly on numpy's edge: the
/// fourth edge of 10 is `3 * 0.1 = 0.30000000000000004`, so a confidence of
/// `0.1 + 0.2` (the same double) belongs to `(0.2, 0.3]` here, as in
/// sklearn, while `ceil(3.0000000000000004) - 1` would say `(0.3, 0.4]`.
///
/// NaN when there are no rows, when `n_bins` or `n_classes` is 0, or when a
/// row has no non-NaN probability (its confidence is unknown, and dropping
/// it silently would flatter the model). `proba` is row-major
/// `n x n_classes`; inconsistent lengths are truncated as in
/// [`classification`].
#[must_use]
pub fn expected_calibration_error(
    y_true: &[usize],
    proba: &[f64],
    n_classes: usize,
    n_bins: usize,
) -> f64 {
    let k = n_classes;
    debug_assert_eq!(proba.len(), y_true.len() * k, "proba must be n x n_classes");
    let n = proba.len().checked_div(k).unwrap_or(0).min(y_true.len());
    if n == 0 || n_bins == 0 {
        return f64::NAN;
    }
    let edges = curves::uniform_edges(n_bins);
    let mut conf_sum = vec![0.0_f64; n_bins];
    let mut correct = vec![0u64; n_bins];
    let mut count = vec![0u64; n_bins];
    for (&t, row) in y_true.iter().zip(proba.chunks_exact(k)).take(n) {
        let pred = argmax_row(row);
        let conf = row.get(pred).copied().unwrap_or(f64::NAN);
        let Some(b) = curves::uniform_bin(&edges, conf) else {
            return f64::NAN;
        };
        if let (Some(s), Some(c), Some(m)) =
            (conf_sum.get_mut(b), correct.get_mut(b), count.get_mut(b))
        {
            *s += conf;
            *c += u64::from(pred == t);
            *m += 1;
        }
    }
    let mut ece = 0.0;
    for ((&s, &c), &m) in conf_sum.iter().zip(&correct).zip(&count) {
        if m > 0 {
            let mf = m as f64;
            ece += (c as f64 / mf - s / mf).abs() * mf / n as f64;
        }
    }
    ece
}

/// Scores a regressor.
///
/// With no rows every f64 field is NaN, `mape` is `None`,
/// `residual_quantiles` is empty and `rows` is 0.
#[must_use]
pub fn regression(y_true: &[f64], y_pred: &[f64]) -> RegressionMetrics {
    debug_assert_eq!(
        y_true.len(),
        y_pred.len(),
        "y_true and y_pred lengths differ"
    );
    let n = y_true.len().min(y_pred.len());
    let (Some(y_true), Some(y_pred)) = (y_true.get(..n), y_pred.get(..n)) else {
        return empty_regression();
    };
    if n == 0 {
        return empty_regression();
    }
    let nf = n as f64;

    let mut abs_errors = Vec::with_capacity(n);
    let mut residuals = Vec::with_capacity(n);
    let (mut abs_sum, mut sq_sum, mut pct_sum, mut y_sum) = (0.0, 0.0, 0.0, 0.0);
    let mut any_zero = false;
    for (&y, &yhat) in y_true.iter().zip(y_pred) {
        let e = y - yhat;
        abs_errors.push(e.abs());
        residuals.push(e);
        abs_sum += e.abs();
        sq_sum += e * e;
        // sklearn floors the denominator at machine epsilon; exact zeros are
        // reported as `None` below, but tiny non-zero targets still hit it.
        pct_sum += e.abs() / y.abs().max(f64::EPSILON);
        any_zero |= y == 0.0;
        y_sum += y;
    }
    let mse = sq_sum / nf;

    let r2 = if n < 2 {
        f64::NAN
    } else {
        // A constant target has SS_tot = 0 exactly. numpy's pairwise mean
        // recovers such a constant bit-exactly far more often than a
        // left-to-right sum does (mean of ten 0.1s is 0.1 in numpy but
        // 0.09999999999999999 summed naively), so test for it directly
        // instead of letting rounding noise turn 0/0 into a huge negative R².
        let first = y_true.first().copied().unwrap_or(0.0);
        let ss_tot = if y_true.iter().all(|&y| y == first) {
            0.0
        } else {
            let mean = y_sum / nf;
            y_true.iter().map(|&y| (y - mean) * (y - mean)).sum()
        };
        r2_force_finite(sq_sum, ss_tot)
    };

    RegressionMetrics {
        mae: abs_sum / nf,
        rmse: mse.sqrt(),
        r2,
        mse,
        median_absolute_error: median(&mut abs_errors),
        mape: (!any_zero).then(|| pct_sum / nf),
        residual_quantiles: residual_quantiles(&mut residuals),
        rows: n as u64,
    }
}

impl ClassificationMetrics {
    /// Flattens the headline metrics to `name -> value` for reports and
    /// gates. Per-class stats, the confusion matrix and the row count are
    /// left out because they are not scores; `roc_auc` and `pr_auc` are left
    /// out when undefined so that a gate on them fails loudly rather than on
    /// NaN.
    #[must_use]
    pub fn scalars(&self) -> BTreeMap<&'static str, f64> {
        let mut m = BTreeMap::from([
            ("accuracy", self.accuracy),
            ("balanced_accuracy", self.balanced_accuracy),
            ("precision_macro", self.precision_macro),
            ("recall_macro", self.recall_macro),
            ("f1_macro", self.f1_macro),
            ("precision_weighted", self.precision_weighted),
            ("recall_weighted", self.recall_weighted),
            ("f1_weighted", self.f1_weighted),
            ("log_loss", self.log_loss),
            ("brier", self.brier),
            ("ece", self.ece),
        ]);
        if let Some(auc) = self.roc_auc {
            m.insert("roc_auc", auc);
        }
        if let Some(ap) = self.pr_auc {
            m.insert("pr_auc", ap);
        }
        m
    }
}

impl RegressionMetrics {
    /// Flattens the headline metrics to `name -> value`; `mape` is left out
    /// when undefined, and `rows` and `residual_quantiles` because they are
    /// not scores.
    #[must_use]
    pub fn scalars(&self) -> BTreeMap<&'static str, f64> {
        let mut m = BTreeMap::from([
            ("mae", self.mae),
            ("rmse", self.rmse),
            ("r2", self.r2),
            ("mse", self.mse),
            ("median_absolute_error", self.median_absolute_error),
        ]);
        if let Some(mape) = self.mape {
            m.insert("mape", mape);
        }
        m
    }
}

/// Per-class scores from the confusion counts, using sklearn's formulas:
/// F1 is `2 tp / (support + predicted)` rather than `2pr / (p + r)`, which
/// is the same number but rounds differently.
fn class_stats(tp: u64, support: u64, predicted: u64) -> ClassStats {
    let ratio = |num: f64, den: u64| if den == 0 { 0.0 } else { num / den as f64 };
    ClassStats {
        precision: ratio(tp as f64, predicted),
        recall: ratio(tp as f64, support),
        f1: ratio(2.0 * tp as f64, support + predicted),
        support,
    }
}

/// ROC AUC, binary or one-vs-rest macro; `None` when any class has no
/// positives in `y_true` (for binary, also when class 0 is absent).
fn roc_auc(y_true: &[usize], proba: &[f64], k: usize) -> Option<f64> {
    let column = |c: usize| -> Vec<(f64, bool)> {
        y_true
            .iter()
            .zip(proba.chunks_exact(k))
            .map(|(&t, row)| (row.get(c).copied().unwrap_or(f64::NAN), t == c))
            .collect()
    };
    if k == 2 {
        return binary_auc(column(1));
    }
    let mut sum = 0.0;
    for c in 0..k {
        sum += binary_auc(column(c))?;
    }
    Some(sum / k as f64)
}

/// Average precision, binary or one-vs-rest macro (see
/// [`ClassificationMetrics::pr_auc`]); `None` when any class of `0..k` has no
/// row in `y_true`.
fn pr_auc(y_true: &[usize], proba: &[f64], k: usize) -> Option<f64> {
    let mut present = vec![false; k];
    for &t in y_true {
        if let Some(p) = present.get_mut(t) {
            *p = true;
        }
    }
    if present.contains(&false) {
        return None;
    }
    let column_ap = |c: usize| -> Option<f64> {
        let positive: Vec<bool> = y_true.iter().map(|&t| t == c).collect();
        let score: Vec<f64> = proba
            .chunks_exact(k)
            .map(|row| row.get(c).copied().unwrap_or(f64::NAN))
            .collect();
        curves::average_precision(&positive, &score)
    };
    if k == 2 {
        return column_ap(1);
    }
    let mut sum = 0.0;
    for c in 0..k {
        sum += column_ap(c)?;
    }
    Some(sum / k as f64)
}

/// Area under the ROC curve of `(score, is_positive)` pairs.
///
/// Walks the thresholds from the highest score down and adds one trapezoid
/// per distinct score, exactly like sklearn's `roc_curve` + `auc`; tied
/// scores move both rates at once, which makes this the Mann-Whitney U
/// statistic with average ranks. Areas are kept in integer-valued counts and
/// divided once at the end, so there is no rounding until then.
fn binary_auc(mut pairs: Vec<(f64, bool)>) -> Option<f64> {
    let positives = pairs.iter().filter(|(_, pos)| *pos).count();
    let negatives = pairs.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));

    let (mut tp, mut fp) = (0.0_f64, 0.0_f64);
    let mut count = |positive: bool| {
        if positive {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        (tp, fp)
    };
    let mut area = 0.0;
    let mut before = (0.0, 0.0);
    let mut sorted = pairs.iter().peekable();
    while let Some(&(score, positive)) = sorted.next() {
        let mut after = count(positive);
        // `==` rather than total_cmp so -0.0 and 0.0 are one threshold, as in
        // numpy's `diff != 0`; a NaN score forms a threshold of its own.
        while let Some(&(_, positive)) = sorted.next_if(|(s, _)| *s == score) {
            after = count(positive);
        }
        area += (after.1 - before.1) * (after.0 + before.0);
        before = after;
    }
    Some(area / 2.0 / (positives as f64 * negatives as f64))
}

/// [`RESIDUAL_QUANTILES`] of `residuals` (sorted in place), by numpy's
/// default `linear` method: the virtual index `(n - 1) * q` is interpolated
/// between its two neighbours with numpy's own `_lerp`, which computes from
/// the nearer end (`b - (b - a) * (1 - t)` once `t >= 0.5`), so results match
/// numpy bit for bit. Empty for no rows; every value NaN when any residual is
/// NaN, as numpy returns.
fn residual_quantiles(residuals: &mut [f64]) -> BTreeMap<String, f64> {
    let any_nan = residuals.iter().any(|r| r.is_nan());
    residuals.sort_by(f64::total_cmp);
    RESIDUAL_QUANTILES
        .iter()
        .filter_map(|&(key, q)| {
            let value = if any_nan {
                f64::NAN
            } else {
                quantile_linear(residuals, q)?
            };
            Some((key.to_owned(), value))
        })
        .collect()
}

/// numpy's `quantile(sorted, q, method="linear")` of an ascending slice;
/// `None` when it is empty.
fn quantile_linear(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let virtual_index = last as f64 * q;
    if virtual_index >= last as f64 {
        return sorted.last().copied();
    }
    let below = virtual_index.floor().max(0.0);
    let t = virtual_index - below;
    let i = below as usize;
    let (a, b) = (*sorted.get(i)?, *sorted.get(i + 1)?);
    let diff = b - a;
    Some(if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    })
}

/// Median, averaging the two middle values for an even count (numpy's
/// `median`). Sorts in place with a total order so NaN cannot panic the sort.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match (values.len() % 2, values.get(mid)) {
        (_, None) => f64::NAN,
        (1, Some(&m)) => m,
        (_, Some(&hi)) => {
            let lo = mid.checked_sub(1).and_then(|j| values.get(j)).copied();
            lo.map_or(f64::NAN, |lo| (lo + hi) / 2.0)
        }
    }
}

fn empty_classification(k: usize) -> ClassificationMetrics {
    let nan_stats = ClassStats {
        precision: f64::NAN,
        recall: f64::NAN,
        f1: f64::NAN,
        support: 0,
    };
    ClassificationMetrics {
        accuracy: f64::NAN,
        balanced_accuracy: f64::NAN,
        precision_macro: f64::NAN,
        recall_macro: f64::NAN,
        f1_macro: f64::NAN,
        precision_weighted: f64::NAN,
        recall_weighted: f64::NAN,
        f1_weighted: f64::NAN,
        log_loss: f64::NAN,
        brier: f64::NAN,
        roc_auc: None,
        pr_auc: None,
        ece: f64::NAN,
        per_class: vec![nan_stats; k],
        confusion: vec![vec![0; k]; k],
        rows: 0,
    }
}

fn empty_regression() -> RegressionMetrics {
    RegressionMetrics {
        mae: f64::NAN,
        rmse: f64::NAN,
        r2: f64::NAN,
        mse: f64::NAN,
        median_absolute_error: f64::NAN,
        mape: None,
        residual_quantiles: BTreeMap::new(),
        rows: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative tolerance for sklearn goldens: numpy sums pairwise, we sum
    /// left to right, so only the last few ulps may differ.
    const REL_TOL: f64 = 1e-12;

    fn close(actual: f64, expected: f64) -> bool {
        (actual.is_nan() && expected.is_nan())
            || actual == expected
            || (actual - expected).abs() <= REL_TOL * actual.abs().max(expected.abs())
    }

    fn check(what: &str, actual: f64, expected: f64) {
        assert!(
            close(actual, expected),
            "{what}: got {actual:?}, sklearn says {expected:?}"
        );
    }

    /// Residual quantiles keyed as [`RegressionMetrics::residual_quantiles`].
    fn quantiles(values: [f64; 5]) -> BTreeMap<String, f64> {
        RESIDUAL_QUANTILES
            .iter()
            .zip(values)
            .map(|(&(key, _), v)| (key.to_owned(), v))
            .collect()
    }

    fn check_classification(actual: &ClassificationMetrics, expected: &ClassificationMetrics) {
        let (a, e) = (actual.scalars(), expected.scalars());
        assert_eq!(a.keys().collect::<Vec<_>>(), e.keys().collect::<Vec<_>>());
        for (name, &want) in &e {
            check(name, a.get(name).copied().unwrap_or(f64::NAN), want);
        }
        assert_eq!(
            actual.roc_auc.is_some(),
            expected.roc_auc.is_some(),
            "roc_auc definedness"
        );
        assert_eq!(
            actual.pr_auc.is_some(),
            expected.pr_auc.is_some(),
            "pr_auc definedness"
        );
        assert_eq!(actual.per_class.len(), expected.per_class.len());
        for (c, (a, e)) in actual.per_class.iter().zip(&expected.per_class).enumerate() {
            check(&format!("precision[{c}]"), a.precision, e.precision);
            check(&format!("recall[{c}]"), a.recall, e.recall);
            check(&format!("f1[{c}]"), a.f1, e.f1);
            assert_eq!(a.support, e.support, "support[{c}]");
        }
        assert_eq!(actual.confusion, expected.confusion);
        assert_eq!(actual.rows, expected.rows);
    }

    fn check_regression(actual: &RegressionMetrics, expected: &RegressionMetrics) {
        check("mae", actual.mae, expected.mae);
        check("rmse", actual.rmse, expected.rmse);
        check("r2", actual.r2, expected.r2);
        check("mse", actual.mse, expected.mse);
        check(
            "median_absolute_error",
            actual.median_absolute_error,
            expected.median_absolute_error,
        );
        match (actual.mape, expected.mape) {
            (Some(a), Some(e)) => check("mape", a, e),
            (a, e) => assert_eq!(a, e, "mape"),
        }
        assert_eq!(
            actual.residual_quantiles.keys().collect::<Vec<_>>(),
            expected.residual_quantiles.keys().collect::<Vec<_>>()
        );
        for (key, &want) in &expected.residual_quantiles {
            let got = actual.residual_quantiles.get(key).copied();
            check(key, got.unwrap_or(f64::NAN), want);
        }
        assert_eq!(actual.rows, expected.rows);
    }

    // ---------------------------------------------------------------------
    // Goldens: printed by scikit-learn 1.9.1 (numpy 2.4.6) with
    //   accuracy_score, balanced_accuracy_score,
    //   precision_recall_fscore_support(labels=range(k), zero_division=0),
    //   log_loss(labels=range(k)), brier_score_loss (binary: on column 1),
    //   roc_auc_score (binary: column 1; multiclass: multi_class="ovr",
    //   average="macro"; NaN or ValueError mapped to None),
    //   confusion_matrix(labels=range(k)); y_pred = proba.argmax(axis=1);
    //   mean_absolute_error, root_mean_squared_error, r2_score,
    //   mean_squared_error, median_absolute_error,
    //   mean_absolute_percentage_error (None where y_true has a zero);
    //   pr_auc: average_precision_score (binary: column 1; multiclass:
    //   on label_binarize(y, classes=range(k)), average="macro"; None where a
    //   class is absent from y_true, whatever sklearn printed);
    //   ece: the numpy script quoted above `ece_bins_match_sklearn_edges`;
    //   residual_quantiles: np.quantile(y - y_hat, [.05, .25, .5, .75, .95]).
    // Values are pasted verbatim from the script's repr() output.
    // ---------------------------------------------------------------------

    // ---- BINARY: n=20 k=2
    const BINARY_Y: [usize; 20] = [1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0];
    const BINARY_P: [f64; 40] = [
        0.09999999999999998,
        0.9,
        0.30000000000000004,
        0.7,
        0.30000000000000004,
        0.7,
        0.8,
        0.2,
        0.6,
        0.4,
        0.44999999999999996,
        0.55,
        0.30000000000000004,
        0.7,
        0.9,
        0.1,
        0.6,
        0.4,
        0.5,
        0.5,
        0.15000000000000002,
        0.85,
        0.7,
        0.3,
        0.35,
        0.65,
        0.95,
        0.05,
        0.050000000000000044,
        0.95,
        0.55,
        0.45,
        0.7,
        0.3,
        0.4,
        0.6,
        0.19999999999999996,
        0.8,
        0.75,
        0.25,
    ];
    const BINARY_PRED: [usize; 20] = [1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0];
    fn binary_expected() -> ClassificationMetrics {
        ClassificationMetrics {
            accuracy: 0.6,
            balanced_accuracy: 0.6041666666666667,
            precision_macro: 0.6,
            recall_macro: 0.6041666666666667,
            f1_macro: 0.595959595959596,
            precision_weighted: 0.6199999999999999,
            recall_weighted: 0.6,
            f1_weighted: 0.604040404040404,
            log_loss: 0.595254415503561,
            brier: 0.20987499999999998,
            roc_auc: Some(0.7552083333333333),
            pr_auc: Some(0.6902056277056277),
            ece: 0.19749999999999995,
            per_class: vec![
                ClassStats {
                    precision: 0.7,
                    recall: 0.5833333333333334,
                    f1: 0.6363636363636364,
                    support: 12,
                },
                ClassStats {
                    precision: 0.5,
                    recall: 0.625,
                    f1: 0.5555555555555556,
                    support: 8,
                },
            ],
            confusion: vec![vec![7, 5], vec![3, 5]],
            rows: 20,
        }
    }
    // ---- MULTI: n=30 k=3
    const MULTI_Y: [usize; 30] = [
        1, 1, 0, 2, 2, 2, 1, 0, 2, 1, 1, 1, 0, 2, 2, 0, 0, 0, 0, 1, 0, 1, 1, 0, 2, 2, 0, 1, 0, 0,
    ];
    const MULTI_P: [f64; 90] = [
        0.161, 0.595, 0.244, 0.312, 0.533, 0.155, 0.456, 0.202, 0.342, 0.284, 0.537, 0.179, 0.478,
        0.482, 0.04, 0.735, 0.234, 0.031, 0.139, 0.64, 0.221, 0.238, 0.647, 0.115, 0.443, 0.216,
        0.341, 0.749, 0.114, 0.137, 0.495, 0.056, 0.449, 0.273, 0.437, 0.29, 0.511, 0.226, 0.263,
        0.154, 0.503, 0.343, 0.438, 0.559, 0.003, 0.152, 0.447, 0.401, 0.832, 0.125, 0.043, 0.153,
        0.558, 0.289, 0.542, 0.222, 0.236, 0.527, 0.288, 0.185, 0.073, 0.844, 0.083, 0.25, 0.578,
        0.172, 0.59, 0.183, 0.227, 0.481, 0.218, 0.301, 0.204, 0.601, 0.195, 0.296, 0.37, 0.334,
        0.687, 0.249, 0.064, 0.235, 0.535, 0.23, 0.675, 0.129, 0.196, 0.302, 0.399, 0.299,
    ];
    const MULTI_PRED: [usize; 30] = [
        1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1,
    ];
    fn multi_expected() -> ClassificationMetrics {
        ClassificationMetrics {
            accuracy: 0.43333333333333335,
            balanced_accuracy: 0.39444444444444443,
            precision_macro: 0.2971342383107089,
            recall_macro: 0.39444444444444443,
            f1_macro: 0.33481481481481484,
            precision_weighted: 0.3330316742081448,
            recall_weighted: 0.43333333333333335,
            f1_weighted: 0.3721481481481482,
            log_loss: 1.4485789293972349,
            brier: 0.7477392666666665,
            roc_auc: Some(0.49344276094276096),
            pr_auc: Some(0.4052612087013146),
            ece: 0.13293333333333332,
            per_class: vec![
                ClassStats {
                    precision: 0.5384615384615384,
                    recall: 0.5833333333333334,
                    f1: 0.56,
                    support: 12,
                },
                ClassStats {
                    precision: 0.35294117647058826,
                    recall: 0.6,
                    f1: 0.4444444444444444,
                    support: 10,
                },
                ClassStats {
                    precision: 0.0,
                    recall: 0.0,
                    f1: 0.0,
                    support: 8,
                },
            ],
            confusion: vec![vec![7, 5, 0], vec![4, 6, 0], vec![2, 6, 0]],
            rows: 30,
        }
    }
    // ---- CONFIDENT: n=8 k=3
    const CONFIDENT_Y: [usize; 8] = [0, 1, 2, 0, 1, 2, 0, 1];
    const CONFIDENT_P: [f64; 24] = [
        0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 0.0, 0.0, 0.2, 0.3, 0.5, 0.1, 0.1, 0.8,
        0.6, 0.4, 0.0, 0.0, 0.0, 1.0,
    ];
    const CONFIDENT_PRED: [usize; 8] = [1, 1, 0, 0, 2, 2, 0, 2];
    fn confident_expected() -> ClassificationMetrics {
        ClassificationMetrics {
            accuracy: 0.5,
            balanced_accuracy: 0.5,
            precision_macro: 0.49999999999999994,
            recall_macro: 0.5,
            f1_macro: 0.48888888888888893,
            precision_weighted: 0.5208333333333334,
            recall_weighted: 0.5,
            f1_weighted: 0.5,
            log_loss: 13.7586127683447,
            brier: 0.8325,
            roc_auc: Some(0.5944444444444444),
            pr_auc: Some(0.5305555555555556),
            ece: 0.44999999999999996,
            per_class: vec![
                ClassStats {
                    precision: 0.6666666666666666,
                    recall: 0.6666666666666666,
                    f1: 0.6666666666666666,
                    support: 3,
                },
                ClassStats {
                    precision: 0.5,
                    recall: 0.3333333333333333,
                    f1: 0.4,
                    support: 3,
                },
                ClassStats {
                    precision: 0.3333333333333333,
                    recall: 0.5,
                    f1: 0.4,
                    support: 2,
                },
            ],
            confusion: vec![vec![2, 1, 0], vec![0, 1, 2], vec![1, 0, 1]],
            rows: 8,
        }
    }
    // ---- BINCONF: n=6 k=2
    const BINCONF_Y: [usize; 6] = [0, 1, 1, 0, 1, 0];
    const BINCONF_P: [f64; 12] = [0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 0.5, 0.5];
    const BINCONF_PRED: [usize; 6] = [1, 0, 1, 0, 0, 0];
    fn binconf_expected() -> ClassificationMetrics {
        ClassificationMetrics {
            accuracy: 0.5,
            balanced_accuracy: 0.5,
            precision_macro: 0.5,
            recall_macro: 0.5,
            f1_macro: 0.4857142857142857,
            precision_weighted: 0.5,
            recall_weighted: 0.5,
            f1_weighted: 0.48571428571428577,
            log_loss: 12.245600189892366,
            brier: 0.4166666666666667,
            roc_auc: Some(0.5),
            pr_auc: Some(0.5),
            ece: 0.3333333333333333,
            per_class: vec![
                ClassStats {
                    precision: 0.5,
                    recall: 0.6666666666666666,
                    f1: 0.5714285714285714,
                    support: 3,
                },
                ClassStats {
                    precision: 0.5,
                    recall: 0.3333333333333333,
                    f1: 0.4,
                    support: 3,
                },
            ],
            confusion: vec![vec![2, 1], vec![2, 1]],
            rows: 6,
        }
    }
    // ---- ABSENT: n=10 k=3
    const ABSENT_Y: [usize; 10] = [0, 1, 0, 1, 0, 1, 1, 0, 0, 1];
    const ABSENT_P: [f64; 30] = [
        0.6, 0.3, 0.1, 0.2, 0.2, 0.6, 0.3, 0.3, 0.4, 0.1, 0.8, 0.1, 0.5, 0.4, 0.1, 0.45, 0.45, 0.1,
        0.3, 0.6, 0.1, 0.2, 0.7, 0.1, 0.7, 0.2, 0.1, 0.25, 0.35, 0.4,
    ];
    const ABSENT_PRED: [usize; 10] = [0, 2, 2, 1, 0, 0, 1, 1, 0, 2];
    fn absent_expected() -> ClassificationMetrics {
        ClassificationMetrics {
            accuracy: 0.5,
            balanced_accuracy: 0.5,
            precision_macro: 0.47222222222222215,
            recall_macro: 0.3333333333333333,
            f1_macro: 0.38888888888888884,
            precision_weighted: 0.7083333333333333,
            recall_weighted: 0.5,
            f1_weighted: 0.5833333333333333,
            log_loss: 0.8565795373255455,
            brier: 0.522,
            roc_auc: None,
            pr_auc: None,
            ece: 0.165,
            per_class: vec![
                ClassStats {
                    precision: 0.75,
                    recall: 0.6,
                    f1: 0.6666666666666666,
                    support: 5,
                },
                ClassStats {
                    precision: 0.6666666666666666,
                    recall: 0.4,
                    f1: 0.5,
                    support: 5,
                },
                ClassStats {
                    precision: 0.0,
                    recall: 0.0,
                    f1: 0.0,
                    support: 0,
                },
            ],
            confusion: vec![vec![3, 1, 1], vec![1, 2, 2], vec![0, 0, 0]],
            rows: 10,
        }
    }
    // ---- BINONE: n=4 k=2
    const BINONE_Y: [usize; 4] = [1, 1, 1, 1];
    const BINONE_P: [f64; 8] = [0.2, 0.8, 0.6, 0.4, 0.5, 0.5, 0.0, 1.0];
    const BINONE_PRED: [usize; 4] = [1, 0, 0, 1];
    fn binone_expected() -> ClassificationMetrics {
        ClassificationMetrics {
            accuracy: 0.5,
            balanced_accuracy: 0.5,
            precision_macro: 0.5,
            recall_macro: 0.25,
            f1_macro: 0.3333333333333333,
            precision_weighted: 1.0,
            recall_weighted: 0.5,
            f1_weighted: 0.6666666666666666,
            log_loss: 0.4581453659370776,
            brier: 0.16249999999999998,
            roc_auc: None,
            pr_auc: None,
            ece: 0.325,
            per_class: vec![
                ClassStats {
                    precision: 0.0,
                    recall: 0.0,
                    f1: 0.0,
                    support: 0,
                },
                ClassStats {
                    precision: 1.0,
                    recall: 0.5,
                    f1: 0.6666666666666666,
                    support: 4,
                },
            ],
            confusion: vec![vec![0, 0], vec![2, 2]],
            rows: 4,
        }
    }
    // ---- NEVER: n=5 k=3
    const NEVER_Y: [usize; 5] = [0, 1, 0, 1, 1];
    const NEVER_P: [f64; 15] = [
        0.9, 0.1, 0.0, 0.3, 0.7, 0.0, 0.4, 0.6, 0.0, 0.5, 0.5, 0.0, 0.2, 0.7, 0.1,
    ];
    const NEVER_PRED: [usize; 5] = [0, 1, 1, 0, 1];
    fn never_expected() -> ClassificationMetrics {
        ClassificationMetrics {
            accuracy: 0.6,
            balanced_accuracy: 0.5833333333333333,
            precision_macro: 0.38888888888888884,
            recall_macro: 0.38888888888888884,
            f1_macro: 0.38888888888888884,
            precision_weighted: 0.6,
            recall_weighted: 0.6,
            f1_weighted: 0.6,
            log_loss: 0.48562966319387824,
            brier: 0.312,
            roc_auc: None,
            pr_auc: None,
            ece: 0.36000000000000004,
            per_class: vec![
                ClassStats {
                    precision: 0.5,
                    recall: 0.5,
                    f1: 0.5,
                    support: 2,
                },
                ClassStats {
                    precision: 0.6666666666666666,
                    recall: 0.6666666666666666,
                    f1: 0.6666666666666666,
                    support: 3,
                },
                ClassStats {
                    precision: 0.0,
                    recall: 0.0,
                    f1: 0.0,
                    support: 0,
                },
            ],
            confusion: vec![vec![1, 1, 0], vec![1, 2, 0], vec![0, 0, 0]],
            rows: 5,
        }
    }
    // ---- REG: n=20; sklearn mape (unguarded) = 0.24116546022283725
    const REG_Y: [f64; 20] = [
        3.0, -0.5, 2.0, 7.0, 4.2, 1.5, -2.0, 10.0, 5.5, 6.1, 0.3, 8.8, -4.4, 2.2, 3.3, 9.9, 1.1,
        0.7, -1.25, 12.0,
    ];
    const REG_YHAT: [f64; 20] = [
        2.5, 0.0, 2.1, 7.8, 4.0, 1.0, -1.5, 9.0, 5.0, 6.6, 0.1, 9.4, -3.9, 2.9, 3.0, 10.5, 1.4,
        0.2, -1.0, 11.0,
    ];
    fn reg_expected() -> RegressionMetrics {
        RegressionMetrics {
            mae: 0.5025,
            rmse: 0.5559901078256698,
            r2: 0.9833053119554016,
            mse: 0.309125,
            median_absolute_error: 0.5,
            mape: Some(0.24116546022283725),
            residual_quantiles: quantiles([
                -0.7049999999999997,
                -0.5000000000000001,
                -0.17500000000000004,
                0.49999999999999994,
                1.0,
            ]),
            rows: 20,
        }
    }
    // ---- REGZERO: n=20; sklearn mape (unguarded) = 900719925474099.4
    const REGZERO_Y: [f64; 20] = [
        3.0, -0.5, 2.0, 7.0, 0.0, 1.5, -2.0, 10.0, 5.5, 6.1, 0.3, 8.8, -4.4, 2.2, 3.3, 9.9, 1.1,
        0.7, -1.25, 12.0,
    ];
    const REGZERO_YHAT: [f64; 20] = [
        2.5, 0.0, 2.1, 7.8, 4.0, 1.0, -1.5, 9.0, 5.0, 6.6, 0.1, 9.4, -3.9, 2.9, 3.0, 10.5, 1.4,
        0.2, -1.0, 11.0,
    ];
    fn regzero_expected() -> RegressionMetrics {
        RegressionMetrics {
            mae: 0.6924999999999999,
            rmse: 1.05220007603117,
            r2: 0.9418792930626896,
            mse: 1.107125,
            median_absolute_error: 0.5,
            mape: None,
            residual_quantiles: quantiles([
                -0.9599999999999996,
                -0.5250000000000002,
                -0.2749999999999999,
                0.49999999999999994,
                1.0,
            ]),
            rows: 20,
        }
    }
    // ---- REGCONST: n=7; sklearn mape (unguarded) = 0.06857142857142859
    const REGCONST_Y: [f64; 7] = [2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5];
    const REGCONST_YHAT: [f64; 7] = [2.0, 2.5, 3.0, 2.5, 2.4, 2.6, 2.5];
    fn regconst_expected() -> RegressionMetrics {
        RegressionMetrics {
            mae: 0.17142857142857146,
            rmse: 0.27255405754769874,
            r2: 0.0,
            mse: 0.07428571428571429,
            median_absolute_error: 0.10000000000000009,
            mape: Some(0.06857142857142859),
            residual_quantiles: quantiles([
                -0.38,
                -0.050000000000000044,
                0.0,
                0.050000000000000044,
                0.3799999999999997,
            ]),
            rows: 7,
        }
    }
    // ---- REGCONSTPERFECT: n=4; sklearn mape (unguarded) = 0.0
    const REGCONSTPERFECT_Y: [f64; 4] = [2.5, 2.5, 2.5, 2.5];
    const REGCONSTPERFECT_YHAT: [f64; 4] = [2.5, 2.5, 2.5, 2.5];
    fn regconstperfect_expected() -> RegressionMetrics {
        RegressionMetrics {
            mae: 0.0,
            rmse: 0.0,
            r2: 1.0,
            mse: 0.0,
            median_absolute_error: 0.0,
            mape: Some(0.0),
            residual_quantiles: quantiles([0.0, 0.0, 0.0, 0.0, 0.0]),
            rows: 4,
        }
    }
    // ---- REGODD: n=5; sklearn mape (unguarded) = 0.2875
    const REGODD_Y: [f64; 5] = [1.0, 2.0, 4.0, 8.0, 16.0];
    const REGODD_YHAT: [f64; 5] = [1.5, 1.0, 4.0, 9.5, 12.0];
    fn regodd_expected() -> RegressionMetrics {
        RegressionMetrics {
            mae: 1.4,
            rmse: 1.9748417658131499,
            r2: 0.8689516129032259,
            mse: 3.9,
            median_absolute_error: 1.0,
            mape: Some(0.2875),
            residual_quantiles: quantiles([-1.3, -0.5, 0.0, 1.0, 3.3999999999999995]),
            rows: 5,
        }
    }
    // ---- REGCONSTTENTH: n=10; sklearn mape (unguarded) = 0.1
    const REGCONSTTENTH_Y: [f64; 10] = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
    const REGCONSTTENTH_YHAT: [f64; 10] = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2];
    fn regconsttenth_expected() -> RegressionMetrics {
        RegressionMetrics {
            mae: 0.01,
            rmse: 0.0316227766016838,
            r2: 0.0,
            mse: 0.0010000000000000002,
            median_absolute_error: 0.0,
            mape: Some(0.1),
            residual_quantiles: quantiles([-0.055, 0.0, 0.0, 0.0, 0.0]),
            rows: 10,
        }
    }
    // ---- REGONE: n=1; sklearn mape (unguarded) = 0.3333333333333333
    const REGONE_Y: [f64; 1] = [3.0];
    const REGONE_YHAT: [f64; 1] = [2.0];
    fn regone_expected() -> RegressionMetrics {
        RegressionMetrics {
            mae: 1.0,
            rmse: 1.0,
            r2: f64::NAN,
            mse: 1.0,
            median_absolute_error: 1.0,
            mape: Some(0.3333333333333333),
            residual_quantiles: quantiles([1.0, 1.0, 1.0, 1.0, 1.0]),
            rows: 1,
        }
    }

    #[test]
    fn binary_with_tied_scores_matches_sklearn() {
        assert_eq!(argmax_rows(&BINARY_P, 2), BINARY_PRED);
        check_classification(&classification(&BINARY_Y, &BINARY_P, 2), &binary_expected());
    }

    #[test]
    fn three_class_with_a_never_predicted_class_matches_sklearn() {
        assert_eq!(argmax_rows(&MULTI_P, 3), MULTI_PRED);
        check_classification(&classification(&MULTI_Y, &MULTI_P, 3), &multi_expected());
    }

    #[test]
    fn confident_wrong_multiclass_clips_log_loss_like_sklearn() {
        assert_eq!(argmax_rows(&CONFIDENT_P, 3), CONFIDENT_PRED);
        let m = classification(&CONFIDENT_Y, &CONFIDENT_P, 3);
        assert!(m.log_loss.is_finite());
        check_classification(&m, &confident_expected());
    }

    #[test]
    fn confident_wrong_binary_clips_log_loss_like_sklearn() {
        assert_eq!(argmax_rows(&BINCONF_P, 2), BINCONF_PRED);
        check_classification(
            &classification(&BINCONF_Y, &BINCONF_P, 2),
            &binconf_expected(),
        );
    }

    #[test]
    fn class_absent_from_y_true_but_predicted_matches_sklearn() {
        assert_eq!(argmax_rows(&ABSENT_P, 3), ABSENT_PRED);
        let m = classification(&ABSENT_Y, &ABSENT_P, 3);
        assert_eq!(m.roc_auc, None);
        // sklearn on the one-hot matrix: 0.5203703703703704, the mean of
        // [0.8444, 0.7167, 0.0] with the absent class scored 0.0.
        assert_eq!(m.pr_auc, None);
        check_classification(&m, &absent_expected());
    }

    #[test]
    fn binary_with_one_class_in_y_true_has_no_auc() {
        assert_eq!(argmax_rows(&BINONE_P, 2), BINONE_PRED);
        let m = classification(&BINONE_Y, &BINONE_P, 2);
        assert_eq!(m.roc_auc, None);
        assert!(!m.scalars().contains_key("roc_auc"));
        // sklearn prints a trivial 1.0 here (every positive outranks no
        // negative); see `pr_auc`'s doc for why it is None.
        assert_eq!(m.pr_auc, None);
        assert!(!m.scalars().contains_key("pr_auc"));
        check_classification(&m, &binone_expected());
    }

    #[test]
    fn class_neither_true_nor_predicted_still_counts_in_macro() {
        assert_eq!(argmax_rows(&NEVER_P, 3), NEVER_PRED);
        check_classification(&classification(&NEVER_Y, &NEVER_P, 3), &never_expected());
    }

    #[test]
    fn regression_matches_sklearn() {
        check_regression(&regression(&REG_Y, &REG_YHAT), &reg_expected());
    }

    #[test]
    fn regression_with_zero_target_has_no_mape() {
        let m = regression(&REGZERO_Y, &REGZERO_YHAT);
        assert_eq!(m.mape, None);
        assert!(!m.scalars().contains_key("mape"));
        check_regression(&m, &regzero_expected());
    }

    #[test]
    fn regression_constant_target_forces_finite_r2() {
        check_regression(
            &regression(&REGCONST_Y, &REGCONST_YHAT),
            &regconst_expected(),
        );
        check_regression(
            &regression(&REGCONSTPERFECT_Y, &REGCONSTPERFECT_YHAT),
            &regconstperfect_expected(),
        );
    }

    #[test]
    fn regression_constant_target_that_does_not_sum_exactly() {
        check_regression(
            &regression(&REGCONSTTENTH_Y, &REGCONSTTENTH_YHAT),
            &regconsttenth_expected(),
        );
    }

    #[test]
    fn regression_odd_count_median_matches_sklearn() {
        check_regression(&regression(&REGODD_Y, &REGODD_YHAT), &regodd_expected());
    }

    #[test]
    fn regression_single_row_has_nan_r2() {
        let m = regression(&REGONE_Y, &REGONE_YHAT);
        assert!(m.r2.is_nan());
        check_regression(&m, &regone_expected());
    }

    #[test]
    fn argmax_ties_go_to_lowest_index_and_nan_never_wins() {
        let proba = [
            0.2,
            0.4,
            0.4,
            0.5,
            0.5,
            0.0,
            f64::NAN,
            0.1,
            0.9,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ];
        assert_eq!(argmax_rows(&proba, 3), vec![1, 0, 2, 0]);
        assert!(argmax_rows(&proba, 0).is_empty());
    }

    #[test]
    fn empty_inputs_give_nan_not_panic() {
        let c = classification(&[], &[], 3);
        assert_eq!(c.rows, 0);
        assert_eq!(c.roc_auc, None);
        assert_eq!(c.per_class.len(), 3);
        assert_eq!(c.confusion, vec![vec![0; 3]; 3]);
        assert!(c.scalars().values().all(|v| v.is_nan()));
        assert_eq!(c.pr_auc, None);
        assert!(c.ece.is_nan());
        assert!(expected_calibration_error(&[], &[], 3, ECE_BINS).is_nan());
        assert!(expected_calibration_error(&[], &[], 0, ECE_BINS).is_nan());

        let r = regression(&[], &[]);
        assert_eq!(r.rows, 0);
        assert_eq!(r.mape, None);
        assert!(r.residual_quantiles.is_empty());
        assert!(r.scalars().values().all(|v| v.is_nan()));
    }

    #[test]
    fn nan_probabilities_do_not_panic() {
        let m = classification(&[0, 1, 1], &[f64::NAN, 0.5, 0.3, 0.7, 0.6, f64::NAN], 2);
        assert_eq!(m.rows, 3);
        assert!(m.roc_auc.is_some());
        assert!(m.pr_auc.is_some());
        assert!(m.ece.is_finite());
        assert_eq!(m.confusion.iter().flatten().sum::<u64>(), 3);

        // A row with no probability at all has no confidence: ECE is NaN.
        let all_nan = [0.2, 0.8, f64::NAN, f64::NAN];
        assert!(expected_calibration_error(&[1, 0], &all_nan, 2, ECE_BINS).is_nan());
        assert!(expected_calibration_error(&[1, 0], &[0.2, 0.8, 0.6, 0.4], 2, 0).is_nan());

        let r = regression(&[1.0, f64::NAN, 3.0], &[1.5, 2.0, 2.0]);
        assert_eq!(r.residual_quantiles.len(), 5);
        assert!(r.residual_quantiles.values().all(|v| v.is_nan()));
    }

    // ---- EDGE: n=14 k=4; top-label confidences sit on bin edges (0.7, 0.4,
    // 0.6, 1.0, 0.5, and 0.1 + 0.2 == numpy's 10-bin edge
    // 0.30000000000000004). Goldens printed by numpy 2.4.6 with:
    //   conf = P.max(axis=1); correct = (P.argmax(axis=1) == y)
    //   ids = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], conf)
    //   ece = sum(abs(correct[ids == b].mean() - conf[ids == b].mean())
    //             * (ids == b).sum() / n for non-empty b)
    // The ceil(conf * n_bins) - 1 rule would move the two 0.30000000000000004
    // rows up one bin for n_bins = 10 and 20 (not for 5).
    const EDGE_Y: [usize; 14] = [0, 2, 0, 1, 0, 1, 1, 2, 0, 1, 2, 2, 1, 3];
    const EDGE_P: [f64; 56] = [
        0.7,
        0.2,
        0.1,
        0.0,
        0.1,
        0.7,
        0.2,
        0.0,
        0.4,
        0.3,
        0.3,
        0.0,
        0.3,
        0.3,
        0.4,
        0.0,
        0.6,
        0.3,
        0.1,
        0.0,
        0.0,
        1.0,
        0.0,
        0.0,
        0.5,
        0.5,
        0.0,
        0.0,
        0.2,
        0.35,
        0.45,
        0.0,
        0.30000000000000004,
        0.25,
        0.25,
        0.19999999999999996,
        0.05,
        0.9,
        0.05,
        0.0,
        0.15,
        0.15,
        0.7,
        0.0,
        0.25,
        0.25,
        0.2,
        0.30000000000000004,
        0.8,
        0.1,
        0.1,
        0.0,
        0.25,
        0.25,
        0.25,
        0.25,
    ];

    #[test]
    fn ece_bins_match_sklearn_edges() {
        assert_eq!(0.1 + 0.2, 0.30000000000000004);
        for (n_bins, want) in [
            (10, 0.12857142857142853),
            (5, 0.12857142857142853),
            (20, 0.23571428571428568),
        ] {
            let got = expected_calibration_error(&EDGE_Y, &EDGE_P, 4, n_bins);
            check(&format!("ece n_bins={n_bins}"), got, want);
        }
        check(
            "ece field",
            classification(&EDGE_Y, &EDGE_P, 4).ece,
            0.12857142857142853,
        );
    }

    #[test]
    fn ece_of_perfectly_confident_correct_rows_is_zero() {
        let y = [0, 1, 2];
        let p = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(expected_calibration_error(&y, &p, 3, ECE_BINS), 0.0);
        // Always right at confidence 0.5: under-confident by exactly 0.5.
        let p = [0.5, 0.25, 0.25, 0.25, 0.5, 0.25, 0.25, 0.25, 0.5];
        assert_eq!(expected_calibration_error(&y, &p, 3, ECE_BINS), 0.5);
    }

    #[test]
    fn residual_quantiles_interpolate_like_numpy() {
        // np.quantile([-2.0, 1.0, 0.5, 4.0], [0.05, 0.25, 0.5, 0.75, 0.95])
        let r = regression(&[0.0, 3.0, 1.0, 10.0], &[2.0, 2.0, 0.5, 6.0]);
        // Bit for bit: numpy's lerp is reproduced exactly, and no sum is
        // involved.
        let want = quantiles([-1.625, -0.125, 0.75, 1.75, 3.549999999999999]);
        assert_eq!(r.residual_quantiles, want);
        assert_eq!(
            r.residual_quantiles.keys().collect::<Vec<_>>(),
            ["q05", "q25", "q50", "q75", "q95"]
        );
    }

    #[test]
    fn scalars_list_exactly_the_headline_metrics() {
        let c = classification(&BINARY_Y, &BINARY_P, 2);
        let keys: Vec<_> = c.scalars().into_keys().collect();
        assert_eq!(
            keys,
            [
                "accuracy",
                "balanced_accuracy",
                "brier",
                "ece",
                "f1_macro",
                "f1_weighted",
                "log_loss",
                "pr_auc",
                "precision_macro",
                "precision_weighted",
                "recall_macro",
                "recall_weighted",
                "roc_auc",
            ]
        );
        let r = regression(&REG_Y, &REG_YHAT);
        let keys: Vec<_> = r.scalars().into_keys().collect();
        assert_eq!(
            keys,
            ["mae", "mape", "median_absolute_error", "mse", "r2", "rmse"]
        );
    }

    /// Every scalar the evaluation reports is in anneal-core's metric table
    /// with the task it was computed for, and the table has nothing else.
    #[test]
    fn every_scalar_is_in_the_metric_table() {
        use anneal_core::{Metric, MetricTask};
        let mut reported = std::collections::BTreeSet::new();
        let tasks = [
            (
                classification(&BINARY_Y, &BINARY_P, 2).scalars(),
                MetricTask::Classification,
            ),
            (
                classification(&MULTI_Y, &MULTI_P, 3).scalars(),
                MetricTask::Classification,
            ),
            (
                regression(&REG_Y, &REG_YHAT).scalars(),
                MetricTask::Regression,
            ),
        ];
        for (scalars, task) in tasks {
            for name in scalars.into_keys() {
                let m = Metric::parse(name).unwrap_or_else(|| panic!("{name} is not in the table"));
                assert_eq!(m.task(), task, "{name}");
                reported.insert(name);
            }
        }
        let table: std::collections::BTreeSet<&str> = Metric::NAMES.into_iter().collect();
        assert_eq!(reported, table);
    }
}
