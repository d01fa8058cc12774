//! `anneal gate`: the rules of a [`GatePolicy`] applied to a report, each
//! giving one [`Check`] per split and slice it covers.

use std::collections::BTreeMap;
use std::path::Path;

use anneal_config::{Bound, GatePolicy, GateRule, MissingAction, MissingBaseline};
use anneal_eval::evaluate::SliceEval;
use anneal_eval::paired::{PairedSettings, paired_drop};
use anneal_eval::{Evaluation, Scored};
use anneal_report::Report;

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
    intervals: &'a BTreeMap<String, anneal_eval::Interval>,
}

impl Place<'_> {
    /// `column=value`, for a slice.
    fn label(&self) -> Option<String> {
        self.slice.as_ref().map(|(c, v)| format!("{c}={v}"))
    }
}

/// Per split: the candidate's rows and the baseline's predictions on them.
struct Paired {
    candidate: SplitRows,
    baseline: Scored,
}

/// What one rule needs to name and judge its checks.
struct RuleCtx<'a> {
    rule: &'a GateRule,
    split: String,
    metric: String,
    higher: bool,
    min_rows: u64,
}

impl RuleCtx<'_> {
    /// A check of this rule with no figures yet.
    fn blank(&self, slice: Option<String>, status: Status, message: String) -> Check {
        Check {
            name: format!(
                "{}:{}[{}{}]",
                self.rule.kind(),
                self.metric,
                self.split,
                slice
                    .as_deref()
                    .map(|s| format!(",{s}"))
                    .unwrap_or_default()
            ),
            kind: self.rule.kind().to_string(),
            statistic: self.metric.clone(),
            split: Some(self.split.clone()),
            slice,
            column: None,
            status,
            value: None,
            threshold: None,
            baseline: None,
            candidate: None,
            details: BTreeMap::new(),
            message,
        }
    }

    /// ` on test` or ` on test slice sex=female`, for messages.
    fn at(&self, slice_label: Option<&str>) -> String {
        match slice_label {
            Some(s) => format!(" on {} slice {s}", self.split),
            None => format!(" on {}", self.split),
        }
    }
}

fn missing_status(a: MissingAction) -> Status {
    match a {
        MissingAction::Fail => Status::Fail,
        MissingAction::Skip => Status::Skip,
    }
}

/// A gate being run: its inputs, and the checks and notes so far.
struct Gate<'a> {
    run: &'a RunReport,
    policy: &'a GatePolicy,
    data: Option<&'a Path>,
    seed: u64,
    bins: usize,
    checks: Vec<Check>,
    notes: Vec<String>,
    paired: BTreeMap<String, Paired>,
}

pub fn run_gate(mut input: GateInput<'_>) -> Result<Verdict> {
    let run = input.candidate;
    let policy = input.policy;
    let (mut subject, notes) = subject(&input);
    if policy.rules.is_empty() {
        return Err(GateError::Usage(format!(
            "the gate policy ({}) has no rules; add [[gate.rules]] entries",
            input.policy_source
        )));
    }
    let settings = &run.report.evaluation_settings;
    let mut gate = Gate {
        run,
        policy,
        data: input.data,
        seed: policy.seed.unwrap_or(settings.seed),
        bins: settings.calibration_bins,
        checks: Vec::new(),
        notes,
        paired: BTreeMap::new(),
    };
    for (i, rule) in policy.rules.iter().enumerate() {
        gate.apply_rule(i, rule, &mut input.baseline)?;
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
        gate.checks,
        gate.notes,
        input.override_reason.take(),
    ))
}

/// What the verdict judges (report, artifact, data, policy, baseline), and
/// why there is no baseline when a rule needs one.
fn subject(input: &GateInput<'_>) -> (BTreeMap<String, String>, Vec<String>) {
    let report = &input.candidate.report;
    let mut subject = BTreeMap::new();
    let mut notes = Vec::new();
    subject.insert(
        "report".to_string(),
        input.candidate.path.display().to_string(),
    );
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
            if input.policy.rules.iter().any(GateRule::needs_baseline) {
                notes.push(why.clone());
            }
        }
    }
    (subject, notes)
}

/// The split rule `i` reads, and its evaluation in the report.
fn rule_split<'r>(
    report: &'r Report,
    policy: &GatePolicy,
    i: usize,
    rule: &GateRule,
) -> Result<(String, &'r Evaluation)> {
    let split = rule.target().split.unwrap_or_else(|| policy.split.clone());
    match report.evaluation.get(&split) {
        Some(ev) => Ok((split, ev)),
        None => Err(GateError::Usage(format!(
            "gate.rules[{i}]: the report has no split {split:?} (it has: {}); set split = \"...\" in the rule or [gate] split",
            report
                .evaluation
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Where a rule applies in `ev`: the whole split, or every chosen value of
/// its slice column. `Err` is the check saying the slice is not there.
fn places<'r>(
    ctx: &RuleCtx<'_>,
    spec: Option<&str>,
    ev: &'r Evaluation,
    missing_slice: MissingAction,
) -> std::result::Result<Vec<Place<'r>>, Box<Check>> {
    let Some(spec) = spec else {
        return Ok(vec![Place {
            slice: None,
            rows: ev.rows,
            metrics: &ev.metrics,
            intervals: &ev.intervals,
        }]);
    };
    let (column, value) = match spec.split_once('=') {
        Some((c, v)) => (c.to_string(), Some(v.to_string())),
        None => (spec.to_string(), None),
    };
    let values = ev.slices.get(&column);
    let chosen: Vec<(&String, &SliceEval)> = match (values, &value) {
        (Some(vals), None) => vals.iter().collect(),
        (Some(vals), Some(v)) => vals.get_key_value(v).into_iter().collect(),
        (None, _) => Vec::new(),
    };
    if chosen.is_empty() {
        let what = match (values, &value) {
            (None, _) => format!(
                "the report has no slices by {column:?} on {} (sliced by: {}); add it to [eval] slices",
                ctx.split,
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
        return Err(Box::new(ctx.blank(
            Some(spec.to_string()),
            missing_status(missing_slice),
            what,
        )));
    }
    Ok(chosen
        .into_iter()
        .map(|(v, s)| Place {
            slice: Some((column.clone(), v.clone())),
            rows: s.rows,
            metrics: &s.metrics,
            intervals: &s.intervals,
        })
        .collect())
}

impl Gate<'_> {
    /// Every check of rule `i`.
    fn apply_rule(
        &mut self,
        i: usize,
        rule: &GateRule,
        baseline: &mut std::result::Result<Baseline, String>,
    ) -> Result<()> {
        let run = self.run;
        let report = &run.report;
        let policy = self.policy;
        let (split, ev) = rule_split(report, policy, i, rule)?;
        let t = rule.target();
        let ctx = RuleCtx {
            rule,
            split,
            higher: t
                .higher_is_better
                .or_else(|| {
                    anneal_core::Metric::parse(&t.metric).map(anneal_core::Metric::higher_is_better)
                })
                .unwrap_or(true),
            min_rows: t
                .min_rows
                .or(policy.min_slice_rows)
                .unwrap_or(report.evaluation_settings.min_slice_rows),
            metric: t.metric,
        };
        let found = match places(&ctx, t.slice.as_deref(), ev, policy.missing_slice) {
            Ok(p) => p,
            Err(check) => {
                self.checks.push(*check);
                return Ok(());
            }
        };
        for place in found {
            let check = self.judge(&ctx, ev, &place, baseline)?;
            self.checks.push(check);
        }
        Ok(())
    }

    /// The check of one rule at one place.
    fn judge(
        &mut self,
        ctx: &RuleCtx<'_>,
        ev: &Evaluation,
        place: &Place<'_>,
        baseline: &mut std::result::Result<Baseline, String>,
    ) -> Result<Check> {
        let policy = self.policy;
        let metric = ctx.metric.as_str();
        let slice_label = place.label();
        let mut check = ctx.blank(slice_label.clone(), Status::Pass, String::new());
        let at = ctx.at(slice_label.as_deref());
        if place.slice.is_some() && place.rows < ctx.min_rows {
            check.status = Status::Skip;
            check.details.insert("rows".into(), place.rows as f64);
            check.message = format!(
                "skipped: slice {} has {} rows, fewer than {}",
                slice_label.as_deref().unwrap_or(""),
                place.rows,
                ctx.min_rows
            );
            return Ok(check);
        }
        let Some(&point) = place.metrics.get(metric) else {
            check.status = missing_status(policy.missing_metric);
            check.message = format!(
                "the report has no {metric}{at} (it has: {})",
                place.metrics.keys().cloned().collect::<Vec<_>>().join(", ")
            );
            return Ok(check);
        };
        check.candidate = Some(point);
        if let GateRule::Threshold { min, max, on, .. } = ctx.rule {
            threshold(
                &mut check,
                metric,
                &at,
                (*min, *max, *on),
                place,
                point,
                policy,
            );
            return Ok(check);
        }
        let baseline = match baseline {
            Ok(b) => b,
            Err(why) => {
                no_baseline(&mut check, why, policy.missing_baseline);
                return Ok(check);
            }
        };
        let run = self.run;
        let p = self.paired(&ctx.split, ev, baseline)?;
        let (cand, base) = slice_scores(run, p, place)?;
        let c_value = cand.scalars(self.bins).get(metric).copied();
        let b_value = base.scalars(self.bins).get(metric).copied();
        let (Some(c_value), Some(b_value)) = (c_value, b_value) else {
            check.status = missing_status(policy.missing_metric);
            check.message = format!("{metric} is undefined{at} for the candidate or the baseline");
            return Ok(check);
        };
        check.candidate = Some(c_value);
        check.baseline = Some(b_value);
        let vs = format!(
            "{metric} {} vs baseline {}{at}",
            fmt_num(c_value),
            fmt_num(b_value)
        );
        let sign = if ctx.higher { 1.0 } else { -1.0 };
        let drop = sign * (b_value - c_value);
        match ctx.rule {
            GateRule::Threshold { .. } => {}
            GateRule::Change {
                max_drop,
                max_relative_drop,
                ..
            } => change(
                &mut check,
                &vs,
                drop,
                b_value,
                *max_drop,
                *max_relative_drop,
            ),
            GateRule::Regression { margin, .. } => {
                let settings = PairedSettings {
                    metric,
                    higher_is_better: ctx.higher,
                    resamples: policy.resamples,
                    confidence: policy.confidence,
                    seed: self.seed,
                    stream: &check.name,
                    bins: self.bins,
                };
                let d = paired_drop(&cand, &base, &settings);
                regression(&mut check, &vs, d, *margin, cand.len(), self.seed, policy);
            }
            GateRule::MaxGain {
                max_gain,
                max_relative_gain,
                ..
            } => max_gain_check(
                &mut check,
                &vs,
                -drop,
                b_value,
                *max_gain,
                *max_relative_gain,
            ),
        }
        Ok(check)
    }

    /// The candidate's rows of `split` and the baseline's predictions on
    /// them, read (and checked against the report) once per split.
    fn paired(&mut self, split: &str, ev: &Evaluation, baseline: &mut Baseline) -> Result<&Paired> {
        if !self.paired.contains_key(split) {
            let candidate = read_predictions(self.run, split)?;
            check_consistent(self.run, split, &candidate, &ev.metrics, self.bins)?;
            let (scored, note) =
                baseline::rows_for(baseline, self.run, &candidate, split, self.data)?;
            self.notes.push(note);
            self.paired.insert(
                split.to_string(),
                Paired {
                    candidate,
                    baseline: scored,
                },
            );
        }
        self.paired
            .get(split)
            .ok_or_else(|| GateError::Input(format!("internal: no rows of {split}")))
    }
}

/// The candidate's and the baseline's scores at `place`: the whole split,
/// or the rows of one slice value.
fn slice_scores(run: &RunReport, p: &Paired, place: &Place<'_>) -> Result<(Scored, Scored)> {
    match &place.slice {
        None => Ok((p.candidate.scored.clone(), p.baseline.clone())),
        Some((column, value)) => {
            let groups = p.candidate.groups(column).ok_or_else(|| {
                GateError::Input(format!(
                    "{}: no column \"slice:{column}\" for the slice rules (predictions written by an older anneal? retrain, or drop the slice from the rule)",
                    run.dir.join("predictions.csv").display()
                ))
            })?;
            let idx = groups.get(value).cloned().unwrap_or_default();
            Ok((p.candidate.scored.subset(&idx), p.baseline.subset(&idx)))
        }
    }
}

/// A rule against the baseline when there is none.
fn no_baseline(check: &mut Check, why: &str, action: MissingBaseline) {
    check.status = match action {
        MissingBaseline::Pass => Status::Skip,
        MissingBaseline::Fail => Status::Fail,
    };
    check.message = format!(
        "{} ({why})",
        match action {
            MissingBaseline::Pass => "skipped: no baseline to compare with (first run)",
            MissingBaseline::Fail => "no baseline to compare with, and the policy requires one",
        }
    );
}

/// A threshold rule: the point value, or a bound of its interval, within
/// `[min, max]`.
fn threshold(
    check: &mut Check,
    metric: &str,
    at: &str,
    (min, max, on): (Option<f64>, Option<f64>, Bound),
    place: &Place<'_>,
    point: f64,
    policy: &GatePolicy,
) {
    let (value, what) = match on {
        Bound::Point => (Some(point), String::new()),
        Bound::Lower | Bound::Upper => {
            let lower = on == Bound::Lower;
            let v = place
                .intervals
                .get(metric)
                .map(|iv| if lower { iv.lower } else { iv.upper });
            let which = if lower { "lower" } else { "upper" };
            (v, format!(" ({which} bound of its bootstrap interval)"))
        }
    };
    let Some(value) = value else {
        check.status = missing_status(policy.missing_metric);
        check.message = format!(
            "the report has no bootstrap interval for {metric}{at} (was [eval] bootstrap = 0?)"
        );
        return;
    };
    check.value = Some(value);
    check.threshold = Some(match (min, max) {
        (Some(lo), Some(hi)) => format!("in [{}, {}]", fmt_num(lo), fmt_num(hi)),
        (Some(lo), None) => format!(">= {}", fmt_num(lo)),
        (None, Some(hi)) => format!("<= {}", fmt_num(hi)),
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
}

/// The smallest of the absolute and the relative (to `base`) allowance.
fn allowance(absolute: Option<f64>, relative: Option<f64>, base: f64) -> f64 {
    [absolute, relative.map(|r| r * base.abs())]
        .into_iter()
        .flatten()
        .fold(f64::INFINITY, f64::min)
}

/// A change rule: the drop against the baseline within the allowance.
fn change(
    check: &mut Check,
    vs: &str,
    drop: f64,
    base: f64,
    max_drop: Option<f64>,
    max_relative_drop: Option<f64>,
) {
    let allowed = allowance(max_drop, max_relative_drop, base);
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

/// A regression rule: the paired bootstrap's upper bound of the drop
/// within the margin (`None`: it could not score the metric).
fn regression(
    check: &mut Check,
    vs: &str,
    d: Option<anneal_eval::paired::PairedDrop>,
    margin: f64,
    rows: usize,
    seed: u64,
    policy: &GatePolicy,
) {
    let metric = check.statistic.clone();
    let Some(d) = d else {
        check.status = missing_status(policy.missing_metric);
        check.message =
            format!("{vs}: the paired bootstrap could not score {metric} in most resamples");
        return;
    };
    check.value = Some(d.upper);
    check.threshold = Some(format!("drop upper bound <= {}", fmt_num(margin)));
    check.details.insert("drop".into(), d.drop);
    check.details.insert("drop_lower".into(), d.lower);
    check.details.insert("drop_upper".into(), d.upper);
    check
        .details
        .insert("resamples".into(), f64::from(d.resamples));
    check.details.insert("rows".into(), rows as f64);
    let fails = d.upper > margin + 1e-12;
    check.status = if fails { Status::Fail } else { Status::Pass };
    let pct = fmt_num(policy.confidence * 100.0);
    check.message = if fails {
        format!(
            "{vs}: regression, drop {} with {pct}% upper bound {} above the margin {} (paired bootstrap, {rows} rows, seed {seed})",
            fmt_num(d.drop),
            fmt_num(d.upper),
            fmt_num(margin),
        )
    } else {
        format!(
            "{vs}: drop {} with {pct}% upper bound {} within the margin {} (paired bootstrap, {rows} rows)",
            fmt_num(d.drop),
            fmt_num(d.upper),
            fmt_num(margin),
        )
    };
}

/// A max-gain rule: an improvement over the baseline larger than the
/// allowance is too good to be true.
fn max_gain_check(
    check: &mut Check,
    vs: &str,
    gain: f64,
    base: f64,
    max_gain: Option<f64>,
    max_relative_gain: Option<f64>,
) {
    let allowed = allowance(max_gain, max_relative_gain, base);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A report whose test split has accuracy 0.8 (interval [0.7, 0.9])
    /// and two slices by `sex`: female (40 rows, 0.6), male (10 rows, 0.9).
    fn run() -> RunReport {
        let v = serde_json::json!({
            "schema_version": 2, "task": "binary", "target": "y", "labels": ["n", "y"],
            "metrics": {"test": {"accuracy": 0.8}},
            "evaluation": {"test": {
                "rows": 50,
                "metrics": {"accuracy": 0.8, "log_loss": 0.4},
                "intervals": {"accuracy": {"lower": 0.7, "upper": 0.9}},
                "curves": {},
                "slices": {"sex": {
                    "female": {"rows": 40, "small": false, "metrics": {"accuracy": 0.6}},
                    "male": {"rows": 10, "small": true, "metrics": {"accuracy": 0.9}}
                }}
            }},
            "evaluation_settings": {"bootstrap": 100, "confidence": 0.95, "calibration_bins": 10, "min_slice_rows": 30, "seed": 7},
            "data": {
                "source": {"path": "d.csv", "format": "csv", "sha256": "ab12", "bytes": 9},
                "rows": {"read": 50, "missing_target": 0, "filtered": 0, "duplicates": 0, "used": 50, "train": 0, "valid": 0, "test": 50},
                "columns": []
            },
            "model": {"kind": "mlp", "architecture": {"inputs": 1, "hidden": [2], "outputs": 2, "activation": "relu"}, "parameters": 10, "input_names": ["x"]},
            "reproducibility": {"config_sha256": "c", "data_sha256": "ab12", "seed": 7, "backend": "flex", "bit_reproducible": true, "versions": {}, "cpu": {"arch": "x86_64", "features": []}},
            "artifact_id": "sha256:0a"
        });
        let text = anneal_core::json::canonical(&v);
        RunReport {
            path: PathBuf::from("run/report.json"),
            dir: PathBuf::from("run"),
            report: Report::parse(&text, Path::new("run/report.json")).unwrap(),
        }
    }

    fn rules(v: serde_json::Value) -> Vec<GateRule> {
        serde_json::from_value(v).unwrap()
    }

    fn gate(run: &RunReport, policy: &GatePolicy) -> Result<Verdict> {
        run_gate(GateInput {
            candidate: run,
            policy,
            baseline: Err("no baseline: the registry r does not exist yet".into()),
            data: None,
            override_reason: None,
            policy_source: "gate.toml".into(),
        })
    }

    fn summary(v: &Verdict) -> Vec<(String, Status, String)> {
        v.checks
            .iter()
            .map(|c| (c.name.clone(), c.status, c.message.clone()))
            .collect()
    }

    #[test]
    fn thresholds_slices_and_a_missing_baseline() {
        let run = run();
        let policy = GatePolicy {
            rules: rules(serde_json::json!([
                {"kind": "threshold", "metric": "accuracy", "min": 0.75},
                {"kind": "threshold", "metric": "accuracy", "min": 0.75, "on": "lower"},
                {"kind": "threshold", "metric": "accuracy", "slice": "sex", "min": 0.7},
                {"kind": "threshold", "metric": "accuracy", "slice": "colour", "max": 0.99},
                {"kind": "threshold", "metric": "f1", "max": 0.99},
                {"kind": "change", "metric": "accuracy", "max_drop": 0.01}
            ])),
            ..GatePolicy::default()
        };
        let v = gate(&run, &policy).unwrap();
        let s = |n: &str, st: Status, m: &str| (n.to_string(), st, m.to_string());
        assert_eq!(
            summary(&v),
            [
                s(
                    "threshold:accuracy[test]",
                    Status::Pass,
                    "accuracy 0.8 on test is >= 0.75"
                ),
                s(
                    "threshold:accuracy[test]",
                    Status::Fail,
                    "accuracy 0.7 (lower bound of its bootstrap interval) on test is below the minimum 0.75"
                ),
                s(
                    "threshold:accuracy[test,sex=female]",
                    Status::Fail,
                    "accuracy 0.6 on test slice sex=female is below the minimum 0.7"
                ),
                s(
                    "threshold:accuracy[test,sex=male]",
                    Status::Skip,
                    "skipped: slice sex=male has 10 rows, fewer than 30"
                ),
                s(
                    "threshold:accuracy[test,colour]",
                    Status::Fail,
                    "the report has no slices by \"colour\" on test (sliced by: sex); add it to [eval] slices"
                ),
                s(
                    "threshold:f1[test]",
                    Status::Fail,
                    "the report has no f1 on test (it has: accuracy, log_loss)"
                ),
                s(
                    "change:accuracy[test]",
                    Status::Skip,
                    "skipped: no baseline to compare with (first run) (no baseline: the registry r does not exist yet)"
                ),
            ]
        );
        assert_eq!(v.checks[1].value, Some(0.7));
        assert_eq!(v.checks[1].threshold.as_deref(), Some(">= 0.75"));
        assert_eq!(v.checks[3].details["rows"], 10.0);
        assert_eq!(
            (v.counts.passed, v.counts.failed, v.counts.skipped),
            (1, 4, 2)
        );
        assert_eq!(v.notes, ["no baseline: the registry r does not exist yet"]);
        assert_eq!(v.subject["data_sha256"], "ab12");
        assert_eq!(v.subject["candidate_artifact"], "sha256:0a");
        assert_eq!(v.subject["policy"], "gate.toml");
    }

    #[test]
    fn a_missing_split_or_no_rules_is_a_usage_error() {
        let run = run();
        let policy = GatePolicy {
            split: "valid".into(),
            rules: rules(
                serde_json::json!([{"kind": "threshold", "metric": "accuracy", "min": 0.5}]),
            ),
            ..GatePolicy::default()
        };
        let e = gate(&run, &policy).err().unwrap();
        assert_eq!(
            e.to_string(),
            "gate.rules[0]: the report has no split \"valid\" (it has: test); set split = \"...\" in the rule or [gate] split"
        );
        let e = gate(&run, &GatePolicy::default()).err().unwrap();
        assert_eq!(
            e.to_string(),
            "the gate policy (gate.toml) has no rules; add [[gate.rules]] entries"
        );
    }

    fn blank_check(rule: &GateRule) -> Check {
        let ctx = RuleCtx {
            rule,
            split: "test".into(),
            metric: "accuracy".into(),
            higher: true,
            min_rows: 30,
        };
        ctx.blank(None, Status::Pass, String::new())
    }

    #[test]
    fn change_allows_the_smaller_allowance() {
        let rule = &rules(serde_json::json!([{"kind": "change", "metric": "accuracy"}]))[0];
        let mut c = blank_check(rule);
        // min(0.05, 0.02 * 0.8) = 0.016 allowed; a drop of 0.03 fails.
        change(&mut c, "vs", 0.03, 0.8, Some(0.05), Some(0.02));
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.value, Some(0.03));
        assert_eq!(c.threshold.as_deref(), Some("drop <= 0.016"));
        assert_eq!(c.message, "vs: drop 0.03 exceeds the 0.016 allowed");
        let mut c = blank_check(rule);
        change(&mut c, "vs", -0.02, 0.8, Some(0.05), Some(0.02));
        assert_eq!(c.status, Status::Pass);
        assert_eq!(c.message, "vs: gain 0.02 within the 0.016 allowed");
        assert_eq!(allowance(None, None, 0.8), f64::INFINITY);
    }

    #[test]
    fn max_gain_trips_on_too_good_a_gain() {
        let rule = &rules(serde_json::json!([{"kind": "max_gain", "metric": "accuracy"}]))[0];
        let mut c = blank_check(rule);
        max_gain_check(&mut c, "vs", 0.2, 0.5, Some(0.1), None);
        assert_eq!(c.name, "max_gain:accuracy[test]");
        assert_eq!((c.status, c.value), (Status::Fail, Some(0.2)));
        assert_eq!(
            c.message,
            "vs: gain 0.2 is above 0.1: too good to be true; check for leakage (a target-derived feature, test rows in training)"
        );
        let mut c = blank_check(rule);
        max_gain_check(&mut c, "vs", 0.04, 0.5, Some(0.1), Some(0.1));
        assert_eq!(c.status, Status::Pass);
        assert_eq!(c.message, "vs: gain 0.04 within 0.05");
    }

    #[test]
    fn regression_fails_on_the_upper_bound_only() {
        let rule = &rules(serde_json::json!([{"kind": "regression", "metric": "accuracy"}]))[0];
        let policy = GatePolicy::default();
        let d = anneal_eval::paired::PairedDrop {
            drop: 0.01,
            upper: 0.03,
            lower: -0.01,
            resamples: 1000,
        };
        let mut c = blank_check(rule);
        regression(&mut c, "vs", Some(d), 0.02, 200, 7, &policy);
        assert_eq!((c.status, c.value), (Status::Fail, Some(0.03)));
        assert_eq!(
            c.message,
            "vs: regression, drop 0.01 with 95% upper bound 0.03 above the margin 0.02 (paired bootstrap, 200 rows, seed 7)"
        );
        assert_eq!(c.details["rows"], 200.0);
        assert_eq!(c.details["drop_lower"], -0.01);
        let mut c = blank_check(rule);
        regression(&mut c, "vs", Some(d), 0.05, 200, 7, &policy);
        assert_eq!(c.status, Status::Pass);
        assert_eq!(
            c.message,
            "vs: drop 0.01 with 95% upper bound 0.03 within the margin 0.05 (paired bootstrap, 200 rows)"
        );
        let mut c = blank_check(rule);
        regression(&mut c, "vs", None, 0.05, 200, 7, &policy);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            c.message,
            "vs: the paired bootstrap could not score accuracy in most resamples"
        );
    }
}
