//! The `[monitor]` policy over the windows: one verdict check per drift
//! statistic and column (`drift:age`, `out_of_range:age`, as `check-data`
//! names them) and one per watched metric (`metric_drop:accuracy`), each
//! judged in every window and reported by its worst window. Any failing
//! window fails the check, so a scheduler running `anneal monitor` over
//! the last day's log gets exit 1 when the model needs attention.

use std::collections::BTreeMap;

use anneal_config::{CategoricalDistance, CheckDataPolicy, MonitorPolicy, Severity};
use anneal_core::Metric;
use anneal_core::metric::MetricTask;
use anneal_data::TargetSpec;
use anneal_gate::verdict::fmt_num;
use anneal_gate::{Check, Status};

use crate::analysis::{Analysis, Judged};
use crate::drift::PREDICTION;

/// Comparisons allow this much floating-point slack.
const SLACK: f64 = 1e-12;

/// The `[check_data]` thresholds the drift counts are judged with.
pub fn drift_policy(p: &MonitorPolicy) -> CheckDataPolicy {
    CheckDataPolicy {
        max_psi: p.max_psi,
        categorical_drift: CategoricalDistance::JensenShannon,
        max_categorical_drift: p.max_categorical_drift,
        max_null_increase: p.max_null_increase,
        max_out_of_range: p.max_out_of_range,
        max_unseen: p.max_unseen,
        new_column: Severity::Warning,
        min_rows: p.min_rows,
        columns: p.columns.clone(),
    }
}

/// The drift checks that are figures over time (not presence or type).
pub fn is_figure(c: &anneal_data::Check) -> bool {
    matches!(
        c.code.as_str(),
        "drift" | "null_fraction" | "out_of_range" | "unseen_category"
    ) && c.value.is_some()
}

/// Every check of the verdict; marks each window's failures in its
/// `alerts`.
pub fn checks(a: &Analysis, judged: &mut [Judged]) -> Vec<Check> {
    let mut out = drift_checks(a, judged);
    out.extend(metric_checks(a, judged));
    out
}

/// One drift check across windows while it is being gathered.
struct Gathered {
    first: anneal_data::Check,
    status: Status,
    /// The largest value and its window.
    worst: (f64, usize),
    /// (window, message) of each failing (or warning) window.
    over: Vec<(usize, String)>,
}

fn drift_checks(a: &Analysis, judged: &mut [Judged]) -> Vec<Check> {
    let mut gathered: BTreeMap<(String, String), Gathered> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for (w, j) in judged.iter_mut().enumerate() {
        for c in j.drift.iter().filter(|c| is_figure(c)) {
            let status = drift_status(a.policy, c, j.doc.rows);
            let name = check_name(c);
            if status == Status::Fail {
                j.doc.alerts.push(name.clone());
            }
            let key = (name, c.statistic.clone());
            let value = c.value.unwrap_or(f64::NAN);
            let g = gathered.entry(key.clone()).or_insert_with(|| {
                order.push(key);
                Gathered {
                    first: c.clone(),
                    status: Status::Pass,
                    worst: (value, w),
                    over: Vec::new(),
                }
            });
            if value > g.worst.0 {
                g.worst = (value, w);
            }
            if status != Status::Pass {
                g.over.push((w, c.message.clone()));
                g.status = g.status.max(status);
            }
        }
    }
    order
        .into_iter()
        .filter_map(|k| gathered.remove(&k).map(|g| (k.0, g)))
        .map(|(name, g)| drift_check(name, g, judged))
        .collect()
}

/// `drift:age`, `out_of_range:age`; predictions as `drift:prediction`.
fn check_name(c: &anneal_data::Check) -> String {
    let column = match c.column.as_deref() {
        Some(PREDICTION) => "prediction",
        Some(col) => col,
        None => "",
    };
    format!("{}:{column}", c.code)
}

/// A failed drift check fails the verdict when the policy says it is an
/// error and the window was large enough to judge; else it warns.
fn drift_status(policy: &MonitorPolicy, c: &anneal_data::Check, rows: u64) -> Status {
    if c.passed {
        return Status::Pass;
    }
    let severity = if c.column.as_deref() == Some(PREDICTION) {
        policy.prediction_shift
    } else {
        c.severity
    };
    match severity {
        Severity::Error if rows >= policy.min_rows => Status::Fail,
        _ => Status::Warn,
    }
}

fn drift_check(name: String, g: Gathered, judged: &[Judged]) -> Check {
    let label = |w: usize| judged[w].doc.start.clone();
    let (value, w) = g.worst;
    let threshold = g.first.threshold;
    let message = match g.over.first() {
        Some((first, msg)) => format!(
            "{} of {} windows over the threshold; first in the window from {}: {msg}",
            g.over.len(),
            judged.len(),
            label(*first)
        ),
        None => format!(
            "largest {} {} (window from {}) within {} over {} windows",
            g.first.statistic,
            fmt_num(value),
            label(w),
            threshold.map(fmt_num).unwrap_or_default(),
            judged.len()
        ),
    };
    Check {
        name,
        kind: g.first.code.clone(),
        statistic: g.first.statistic.clone(),
        split: None,
        slice: None,
        column: g.first.column.clone(),
        status: g.status,
        value: Some(value),
        threshold: threshold.map(|t| format!("<= {}", fmt_num(t))),
        baseline: None,
        candidate: None,
        details: BTreeMap::from([("windows_over".to_string(), g.over.len() as f64)]),
        message,
    }
}

/// The metrics watched: the policy's, else the task's headline.
fn watched(a: &Analysis) -> Vec<String> {
    if !a.policy.metrics.is_empty() {
        return a.policy.metrics.clone();
    }
    let task = MetricTask::of(matches!(a.target, TargetSpec::Classes { .. }));
    vec![Metric::headline(task).name().to_string()]
}

fn metric_checks(a: &Analysis, judged: &mut [Judged]) -> Vec<Check> {
    watched(a)
        .into_iter()
        .map(|m| metric_check(a, &m, judged))
        .collect()
}

/// A skipped metric check, and why.
fn skipped(metric: &str, message: String) -> Check {
    Check {
        name: format!("metric_drop:{metric}"),
        kind: "metric_drop".into(),
        statistic: metric.to_string(),
        split: None,
        slice: None,
        column: None,
        status: Status::Skip,
        value: None,
        threshold: None,
        baseline: None,
        candidate: None,
        details: BTreeMap::new(),
        message,
    }
}

/// `accuracy 0.84 in the window from ... is 0.13 below the training test
/// value 0.98, more than 0.05; 3 of 7 judged windows over`.
fn drop_message(
    metric: &str,
    reference: f64,
    j: &Judged,
    max_drop: f64,
    (failed, judged): (usize, usize),
) -> String {
    let value = j.score.metrics.get(metric).copied().unwrap_or(f64::NAN);
    let drop = drop_of(metric, reference, value);
    let interval = j
        .score
        .intervals
        .get(metric)
        .map(|iv| format!(", interval [{}, {}]", fmt_num(iv.lower), fmt_num(iv.upper)))
        .unwrap_or_default();
    let higher = Metric::parse(metric).is_some_and(Metric::higher_is_better);
    let direction = if higher == (drop >= 0.0) {
        "below"
    } else {
        "above"
    };
    let verdict = if failed > 0 { "more than" } else { "within" };
    format!(
        "{metric} {} in the window from {} ({} labelled rows{interval}) is {} {direction} the training test value {}, {verdict} {}; {failed} of {judged} judged windows over",
        fmt_num(value),
        j.doc.start,
        j.score.labelled,
        fmt_num(drop.abs()),
        fmt_num(reference),
        fmt_num(max_drop),
    )
}

/// How far `value` fell short of `reference` (a rise for lower-is-better
/// metrics).
fn drop_of(metric: &str, reference: f64, value: f64) -> f64 {
    match Metric::parse(metric).is_some_and(Metric::higher_is_better) {
        true => reference - value,
        false => value - reference,
    }
}

fn metric_check(a: &Analysis, metric: &str, judged: &mut [Judged]) -> Check {
    let p = a.policy;
    if a.labels.is_none() {
        return skipped(
            metric,
            format!("no labels given (--labels): {metric} is not judged"),
        );
    }
    let Some(&reference) = a.reference.get(metric).filter(|v| v.is_finite()) else {
        return skipped(
            metric,
            format!("the artifact records no test {metric} to compare with"),
        );
    };
    let judged_windows: Vec<(usize, f64)> = judged
        .iter()
        .enumerate()
        .filter(|(_, j)| j.score.labelled >= p.min_labelled_rows)
        .filter_map(|(w, j)| j.score.metrics.get(metric).map(|&v| (w, v)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    let Some(&(worst_w, worst_v)) = judged_windows
        .iter()
        .max_by(|x, y| drop_of(metric, reference, x.1).total_cmp(&drop_of(metric, reference, y.1)))
    else {
        return skipped(
            metric,
            format!(
                "no window has {} labelled rows: {metric} is not judged",
                p.min_labelled_rows
            ),
        );
    };
    let name = format!("metric_drop:{metric}");
    let mut failed = 0;
    for &(w, v) in &judged_windows {
        if drop_of(metric, reference, v) > p.max_drop + SLACK {
            judged[w].doc.alerts.push(name.clone());
            failed += 1;
        }
    }
    let drop = drop_of(metric, reference, worst_v);
    let j = &judged[worst_w];
    let interval = j.score.intervals.get(metric);
    let message = drop_message(
        metric,
        reference,
        j,
        p.max_drop,
        (failed, judged_windows.len()),
    );
    let mut details = BTreeMap::from([
        ("windows_judged".to_string(), judged_windows.len() as f64),
        ("windows_over".to_string(), failed as f64),
        ("labelled_rows".to_string(), j.score.labelled as f64),
    ]);
    if let Some(iv) = interval {
        details.insert("lower".into(), iv.lower);
        details.insert("upper".into(), iv.upper);
    }
    Check {
        status: if failed > 0 {
            Status::Fail
        } else {
            Status::Pass
        },
        value: Some(drop),
        threshold: Some(format!("<= {}", fmt_num(p.max_drop))),
        baseline: Some(reference),
        candidate: Some(worst_v),
        details,
        message,
        ..skipped(metric, String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(column: &str, passed: bool, severity: Severity) -> anneal_data::Check {
        anneal_data::Check {
            code: "drift".into(),
            column: Some(column.into()),
            statistic: "psi".into(),
            value: Some(0.3),
            threshold: Some(0.25),
            passed,
            severity,
            message: String::new(),
        }
    }

    #[test]
    fn a_drop_is_measured_in_the_metrics_bad_direction() {
        assert!((drop_of("accuracy", 0.9, 0.8) - 0.1).abs() < 1e-12);
        assert!((drop_of("accuracy", 0.9, 0.95) + 0.05).abs() < 1e-12);
        assert!((drop_of("log_loss", 0.2, 0.35) - 0.15).abs() < 1e-12);
        assert!((drop_of("rmse", 10.0, 8.0) + 2.0).abs() < 1e-12);
    }

    #[test]
    fn small_windows_and_predictions_warn_unless_the_policy_says_otherwise() {
        let mut p = MonitorPolicy::default();
        let failed = check("age", false, Severity::Error);
        assert_eq!(drift_status(&p, &failed, 500), Status::Fail);
        assert_eq!(drift_status(&p, &failed, 499), Status::Warn);
        assert_eq!(
            drift_status(&p, &check("age", true, Severity::Error), 500),
            Status::Pass
        );
        let shift = check(PREDICTION, false, Severity::Warning);
        assert_eq!(drift_status(&p, &shift, 500), Status::Warn);
        p.prediction_shift = Severity::Error;
        assert_eq!(drift_status(&p, &shift, 500), Status::Fail);
        assert_eq!(check_name(&shift), "drift:prediction");
        assert_eq!(check_name(&failed), "drift:age");
    }
}
