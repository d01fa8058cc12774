//! `anneal gate`: the rules of a [`GatePolicy`] applied to a report, each
//! giving one [`Check`] per split and slice it covers.

use std::collections::BTreeMap;
use std::path::Path;

use anneal_config::{Bound, GatePolicy, GateRule, MissingAction, MissingBaseline};
use anneal_eval::Scored;
use anneal_eval::paired::{PairedSettings, paired_drop};

use crate::baseline::{self, Baseline};
use crate::error::{GateError, Result};
use crate::inputs::{RunReport, SplitRows, read_predictions};
use crate::verdict::{Check, Status, Verdict, fmt_num};

/// Everything a gate run needs.
pub struct GateInput<'a> {
    pub candidate: &'a RunReport,
    pub policy: &'a GatePolicy,
    /// The resolved baseline, or why there is none.
    pub baseline: std::result::Result<Baseline, String>,
    /// The candidate's data file, for scoring a baseline artifact.
    pub data: Option<&'a Path>,
    pub override_reason: Option<String>,
    /// Where the policy came from, for the verdict.
    pub policy_source: String,
}

/// Relative tolerance between a metric recomputed from predictions.csv
/// and the report's figure (both are the same f64 computation on the same
/// numbers; only summation order could differ).
const CONSISTENCY: f64 = 1e-9;

/// One place a rule applies: the whole split or one slice value.
struct Place<'a> {
    slice: Option<(String, String)>,
    rows: u64,
    metrics: &'a BTreeMap<String, f64>,
    intervals: BTreeMap<String, anneal_eval::Interval>,
}

/// Per split: the candidate's rows and the baseline's predictions on them.
struct Paired {
    candidate: SplitRows,
    baseline: Scored,
}

pub fn run_gate(mut input: GateInput<'_>) -> Result<Verdict> {
    let run = input.candidate;
    let report = &run.report;
    let policy = input.policy;
    let seed = policy.seed.unwrap_or(report.evaluation_settings.seed);
    let bins = report.evaluation_settings.calibration_bins;
    let mut checks: Vec<Check> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut paired: BTreeMap<String, Paired> = BTreeMap::new();

    let mut subject = BTreeMap::new();
    subject.insert("report".to_string(), run.path.display().to_string());
    if let Some(id) = &report.artifact_id {
        subject.insert("candidate_artifact".to_string(), id.clone());
    }
    subject.insert("data_sha256".to_string(), report.data.source.sha256.clone());
    subject.insert("policy".to_string(), input.policy_source.clone());
    match &input.baseline {
        Ok(b) => {
            subject.insert("baseline".to_string(), b.reference.clone());
        }
        Err(why) => {
            if policy.rules.iter().any(GateRule::needs_baseline) {
                notes.push(why.clone());
            }
        }
    }
    if policy.rules.is_empty() {
        return Err(GateError::Usage(format!(
            "the gate policy ({}) has no rules; add [[gate.rules]] entries",
            input.policy_source
        )));
    }

    for (i, rule) in policy.rules.iter().enumerate() {
        let t = rule.target();
        let split = t.split.clone().unwrap_or_else(|| policy.split.clone());
        let Some(ev) = report.evaluation.get(&split) else {
            return Err(GateError::Usage(format!(
                "gate.rules[{i}]: the report has no split {split:?} (it has: {}); set split = \"...\" in the rule or [gate] split",
                report
                    .evaluation
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let metric = t.metric.as_str();
        let higher = t
            .higher_is_better
            .or_else(|| {
                anneal_core::Metric::parse(metric).map(anneal_core::Metric::higher_is_better)
            })
            .unwrap_or(true);
        let min_rows = t
            .min_rows
            .or(policy.min_slice_rows)
            .unwrap_or(report.evaluation_settings.min_slice_rows);
        let base_name = format!("{}:{metric}", rule.kind());
        let blank = |slice: Option<String>, status: Status, message: String| Check {
            name: format!(
                "{base_name}[{split}{}]",
                slice
                    .as_deref()
                    .map(|s| format!(",{s}"))
                    .unwrap_or_default()
            ),
            kind: rule.kind().to_string(),
            statistic: metric.to_string(),
            split: Some(split.clone()),
            slice,
            column: None,
            status,
            value: None,
            threshold: None,
            baseline: None,
            candidate: None,
            details: BTreeMap::new(),
            message,
        };

        // Where the rule applies.
        let mut places = Vec::new();
        match &t.slice {
            None => places.push(Place {
                slice: None,
                rows: ev.rows,
                metrics: &ev.metrics,
                intervals: ev
                    .intervals
                    .iter()
                    .map(|(k, v)| (k.clone(), (*v).into()))
                    .collect(),
            }),
            Some(spec) => {
                let (column, value) = match spec.split_once('=') {
                    Some((c, v)) => (c.to_string(), Some(v.to_string())),
                    None => (spec.clone(), None),
                };
                let values = ev.slices.get(&column);
                let chosen: Vec<(&String, &crate::inputs::SliceView)> = match (values, &value) {
                    (Some(vals), None) => vals.iter().collect(),
                    (Some(vals), Some(v)) => vals.get_key_value(v).into_iter().collect(),
                    (None, _) => Vec::new(),
                };
                if chosen.is_empty() {
                    let what = match (values, &value) {
                        (None, _) => format!(
                            "the report has no slices by {column:?} on {split} (sliced by: {}); add it to [eval] slices",
                            if ev.slices.is_empty() {
                                "nothing".to_string()
                            } else {
                                ev.slices.keys().cloned().collect::<Vec<_>>().join(", ")
                            }
                        ),
                        (Some(vals), Some(v)) => format!(
                            "slice {column}={v} is not in the report (values: {})",
                            vals.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                        (Some(_), None) => format!("slice column {column:?} has no values"),
                    };
                    let status = match policy.missing_slice {
                        MissingAction::Fail => Status::Fail,
                        MissingAction::Skip => Status::Skip,
                    };
                    checks.push(blank(Some(spec.clone()), status, what));
                    continue;
                }
                for (v, s) in chosen {
                    places.push(Place {
                        slice: Some((column.clone(), v.clone())),
                        rows: s.rows,
                        metrics: &s.metrics,
                        intervals: s
                            .intervals
                            .iter()
                            .map(|(k, iv)| (k.clone(), (*iv).into()))
                            .collect(),
                    });
                }
            }
        }

        for place in places {
            let slice_label = place.slice.as_ref().map(|(c, v)| format!("{c}={v}"));
            let mut check = blank(slice_label.clone(), Status::Pass, String::new());
            let at = slice_label
                .as_ref()
                .map(|s| format!(" on {split} slice {s}"))
                .unwrap_or_else(|| format!(" on {split}"));
            if place.slice.is_some() && place.rows < min_rows {
                check.status = Status::Skip;
                check.details.insert("rows".into(), place.rows as f64);
                check.message = format!(
                    "skipped: slice {} has {} rows, fewer than {min_rows}",
                    slice_label.as_deref().unwrap_or(""),
                    place.rows
                );
                checks.push(check);
                continue;
            }
            let Some(&point) = place.metrics.get(metric) else {
                check.status = match policy.missing_metric {
                    MissingAction::Fail => Status::Fail,
                    MissingAction::Skip => Status::Skip,
                };
                check.message = format!(
                    "the report has no {metric}{at} (it has: {})",
                    place.metrics.keys().cloned().collect::<Vec<_>>().join(", ")
                );
                checks.push(check);
                continue;
            };
            check.candidate = Some(point);

            if let GateRule::Threshold { min, max, on, .. } = rule {
                let (value, what) = match on {
                    Bound::Point => (Some(point), String::new()),
                    Bound::Lower | Bound::Upper => {
                        let iv = place.intervals.get(metric);
                        let v = iv.map(|iv| {
                            if *on == Bound::Lower {
                                iv.lower
                            } else {
                                iv.upper
                            }
                        });
                        let which = if *on == Bound::Lower {
                            "lower"
                        } else {
                            "upper"
                        };
                        (v, format!(" ({which} bound of its bootstrap interval)"))
                    }
                };
                let Some(value) = value else {
                    check.status = match policy.missing_metric {
                        MissingAction::Fail => Status::Fail,
                        MissingAction::Skip => Status::Skip,
                    };
                    check.message = format!(
                        "the report has no bootstrap interval for {metric}{at} (was [eval] bootstrap = 0?)"
                    );
                    checks.push(check);
                    continue;
                };
                check.value = Some(value);
                check.threshold = Some(match (min, max) {
                    (Some(lo), Some(hi)) => format!("in [{}, {}]", fmt_num(*lo), fmt_num(*hi)),
                    (Some(lo), None) => format!(">= {}", fmt_num(*lo)),
                    (None, Some(hi)) => format!("<= {}", fmt_num(*hi)),
                    (None, None) => String::new(),
                });
                let below = min.is_some_and(|lo| value < lo);
                let above = max.is_some_and(|hi| value > hi);
                check.status = if below || above || value.is_nan() {
                    Status::Fail
                } else {
                    Status::Pass
                };
                check.message = if below {
                    format!(
                        "{metric} {}{what}{at} is below the minimum {}",
                        fmt_num(value),
                        fmt_num(min.unwrap_or_default())
                    )
                } else if above {
                    format!(
                        "{metric} {}{what}{at} is above the maximum {}",
                        fmt_num(value),
                        fmt_num(max.unwrap_or_default())
                    )
                } else {
                    format!(
                        "{metric} {}{what}{at} is {}",
                        fmt_num(value),
                        check.threshold.as_deref().unwrap_or("")
                    )
                };
                checks.push(check);
                continue;
            }

            // Rules against the baseline.
            let baseline = match &mut input.baseline {
                Ok(b) => b,
                Err(why) => {
                    check.status = match policy.missing_baseline {
                        MissingBaseline::Pass => Status::Skip,
                        MissingBaseline::Fail => Status::Fail,
                    };
                    check.message = format!(
                        "{} ({why})",
                        match policy.missing_baseline {
                            MissingBaseline::Pass =>
                                "skipped: no baseline to compare with (first run)",
                            MissingBaseline::Fail =>
                                "no baseline to compare with, and the policy requires one",
                        }
                    );
                    checks.push(check);
                    continue;
                }
            };
            if !paired.contains_key(&split) {
                let candidate = read_predictions(run, &split)?;
                check_consistent(run, &split, &candidate, &ev.metrics, bins)?;
                let (scored, note) =
                    baseline::rows_for(baseline, run, &candidate, &split, input.data)?;
                notes.push(note);
                paired.insert(
                    split.clone(),
                    Paired {
                        candidate,
                        baseline: scored,
                    },
                );
            }
            let Some(p) = paired.get(&split) else {
                continue;
            };
            let (cand, base) = match &place.slice {
                None => (p.candidate.scored.clone(), p.baseline.clone()),
                Some((column, value)) => {
                    let groups = p.candidate.groups(column).ok_or_else(|| {
                        GateError::Input(format!(
                            "{}: no column \"slice:{column}\" for the slice rules (predictions written by an older anneal? retrain, or drop the slice from the rule)",
                            run.dir.join("predictions.csv").display()
                        ))
                    })?;
                    let idx = groups.get(value).cloned().unwrap_or_default();
                    (p.candidate.scored.subset(&idx), p.baseline.subset(&idx))
                }
            };
            let c_value = cand.scalars(bins).get(metric).copied();
            let b_value = base.scalars(bins).get(metric).copied();
            let (Some(c_value), Some(b_value)) = (c_value, b_value) else {
                check.status = match policy.missing_metric {
                    MissingAction::Fail => Status::Fail,
                    MissingAction::Skip => Status::Skip,
                };
                check.message =
                    format!("{metric} is undefined{at} for the candidate or the baseline");
                checks.push(check);
                continue;
            };
            check.candidate = Some(c_value);
            check.baseline = Some(b_value);
            let sign = if higher { 1.0 } else { -1.0 };
            let drop = sign * (b_value - c_value);
            let vs = format!(
                "{metric} {} vs baseline {}{at}",
                fmt_num(c_value),
                fmt_num(b_value)
            );
            match rule {
                GateRule::Threshold { .. } => {}
                GateRule::Change {
                    max_drop,
                    max_relative_drop,
                    ..
                } => {
                    let allowed = [*max_drop, max_relative_drop.map(|r| r * b_value.abs())]
                        .into_iter()
                        .flatten()
                        .fold(f64::INFINITY, f64::min);
                    check.value = Some(drop);
                    check.threshold = Some(format!("drop <= {}", fmt_num(allowed)));
                    let fails = drop > allowed + 1e-12 || drop.is_nan();
                    check.status = if fails { Status::Fail } else { Status::Pass };
                    check.message = format!(
                        "{vs}: {} {} {} allowed",
                        if drop >= 0.0 {
                            format!("drop {}", fmt_num(drop))
                        } else {
                            format!("gain {}", fmt_num(-drop))
                        },
                        if fails { "exceeds the" } else { "within the" },
                        fmt_num(allowed)
                    );
                }
                GateRule::Regression { margin, .. } => {
                    let settings = PairedSettings {
                        metric,
                        higher_is_better: higher,
                        resamples: policy.resamples,
                        confidence: policy.confidence,
                        seed,
                        stream: &check.name,
                        bins,
                    };
                    let Some(d) = paired_drop(&cand, &base, &settings) else {
                        check.status = match policy.missing_metric {
                            MissingAction::Fail => Status::Fail,
                            MissingAction::Skip => Status::Skip,
                        };
                        check.message = format!(
                            "{vs}: the paired bootstrap could not score {metric} in most resamples"
                        );
                        checks.push(check);
                        continue;
                    };
                    check.value = Some(d.upper);
                    check.threshold = Some(format!("drop upper bound <= {}", fmt_num(*margin)));
                    check.details.insert("drop".into(), d.drop);
                    check.details.insert("drop_lower".into(), d.lower);
                    check.details.insert("drop_upper".into(), d.upper);
                    check
                        .details
                        .insert("resamples".into(), f64::from(d.resamples));
                    check.details.insert("rows".into(), cand.len() as f64);
                    let fails = d.upper > *margin + 1e-12;
                    check.status = if fails { Status::Fail } else { Status::Pass };
                    let pct = fmt_num(policy.confidence * 100.0);
                    check.message = if fails {
                        format!(
                            "{vs}: regression, drop {} with {pct}% upper bound {} above the margin {} (paired bootstrap, {} rows, seed {seed})",
                            fmt_num(d.drop),
                            fmt_num(d.upper),
                            fmt_num(*margin),
                            cand.len()
                        )
                    } else {
                        format!(
                            "{vs}: drop {} with {pct}% upper bound {} within the margin {} (paired bootstrap, {} rows)",
                            fmt_num(d.drop),
                            fmt_num(d.upper),
                            fmt_num(*margin),
                            cand.len()
                        )
                    };
                }
                GateRule::MaxGain {
                    max_gain,
                    max_relative_gain,
                    ..
                } => {
                    let gain = -drop;
                    let allowed = [*max_gain, max_relative_gain.map(|r| r * b_value.abs())]
                        .into_iter()
                        .flatten()
                        .fold(f64::INFINITY, f64::min);
                    check.value = Some(gain);
                    check.threshold = Some(format!("gain <= {}", fmt_num(allowed)));
                    let fails = gain > allowed + 1e-12;
                    check.status = if fails { Status::Fail } else { Status::Pass };
                    check.message = if fails {
                        format!(
                            "{vs}: gain {} is above {}: too good to be true; check for leakage (a target-derived feature, test rows in training)",
                            fmt_num(gain),
                            fmt_num(allowed)
                        )
                    } else {
                        format!("{vs}: gain {} within {}", fmt_num(gain), fmt_num(allowed))
                    };
                }
            }
            checks.push(check);
        }
    }
    if let Ok(b) = &input.baseline {
        subject.insert("baseline_resolved".to_string(), b.resolved.clone());
        if let Some(id) = &b.artifact_id {
            subject.insert("baseline_artifact".to_string(), id.clone());
        }
    }
    Ok(Verdict::new(
        "gate",
        subject,
        checks,
        notes,
        input.override_reason.take(),
    ))
}

/// The metrics recomputed from predictions.csv must be the report's: a
/// predictions file from another run would make every comparison wrong.
fn check_consistent(
    run: &RunReport,
    split: &str,
    rows: &SplitRows,
    metrics: &BTreeMap<String, f64>,
    bins: usize,
) -> Result<()> {
    let again = rows.scored.scalars(bins);
    for (name, &v) in metrics {
        if let Some(&w) = again.get(name.as_str())
            && v.is_finite()
            && (v - w).abs() > CONSISTENCY * v.abs().max(1.0)
        {
            return Err(GateError::Input(format!(
                "{} does not match {}: {name} on {split} is {w} from the predictions but {v} in the report",
                run.dir.join("predictions.csv").display(),
                run.path.display()
            )));
        }
    }
    Ok(())
}
