//! From logged predictions to the monitor document: the rows in time
//! order, cut into windows; each window scored against its labels, its
//! predictions summarised and its inputs' drift counted against the
//! training profile; then the `[monitor]` policy's verdict over them all.
//! A pure function of its inputs: the same log and labels give the same
//! document.

use std::collections::BTreeMap;

use anneal_config::MonitorPolicy;
use anneal_data::{DataProfile, TargetSpec};
use anneal_eval::EvalSettings;
use anneal_gate::Verdict;
use rayon::prelude::*;

use crate::document::{Join, MonitorDoc, SCHEMA_VERSION, SkippedEntry, WindowDoc};
use crate::drift::{PREDICTION, Reference};
use crate::labels::Labels;
use crate::log::Record;
use crate::performance::{self, WindowScore};
use crate::policy;
use crate::windows::{self, Window, WindowSpec};

/// Everything one analysis reads.
pub struct Analysis<'a> {
    pub artifact_id: &'a str,
    /// `binary`, `multiclass` or `regression`.
    pub task: &'a str,
    pub target: &'a TargetSpec,
    /// The training profile (drift needs it; older artifacts lack it).
    pub profile: Option<&'a DataProfile>,
    /// The training run's test metrics.
    pub reference: &'a BTreeMap<String, f64>,
    /// The predicted rows, in any order (sorted by time here, ties kept in
    /// the order given).
    pub records: &'a [Record],
    pub labels: Option<&'a Labels>,
    pub window: WindowSpec,
    pub settings: &'a EvalSettings,
    pub policy: &'a MonitorPolicy,
    /// Where the policy came from, for the verdict's subject.
    pub policy_source: &'a str,
    /// What was read (`log`, `data`, `labels`), as the document records it.
    pub inputs: BTreeMap<String, String>,
    pub skipped: Vec<SkippedEntry>,
    pub override_reason: Option<String>,
}

/// One window's findings: its document part, its raw drift checks and its
/// score, before the policy looks at them.
pub struct Judged {
    pub doc: WindowDoc,
    pub drift: Vec<anneal_data::Check>,
    pub score: WindowScore,
}

/// The document of `a`.
pub fn analyse(a: &Analysis) -> MonitorDoc {
    let mut order: Vec<usize> = (0..a.records.len()).collect();
    order.sort_by_key(|&i| a.records[i].ts_ms);
    let ts: Vec<u64> = order.iter().map(|&i| a.records[i].ts_ms).collect();
    let cut = windows::assign(&ts, a.window);
    let reference = a.profile.map(Reference::new);
    let mut judged: Vec<Judged> = cut
        .par_iter()
        .map(|w| judge_window(a, w, &order, reference.as_ref()))
        .collect();
    let checks = policy::checks(a, &mut judged);
    let join = join_summary(a, &judged);
    let verdict = Verdict::new(
        "monitor",
        subject(a, &join, judged.len()),
        checks,
        Vec::new(),
        a.override_reason.clone(),
    );
    MonitorDoc {
        schema_version: SCHEMA_VERSION,
        artifact_id: a.artifact_id.to_string(),
        task: a.task.to_string(),
        target: a.target.column().to_string(),
        classes: match a.target {
            TargetSpec::Classes { labels, .. } => Some(labels.clone()),
            TargetSpec::Regression { .. } => None,
        },
        window: a.window.to_string(),
        inputs: a.inputs.clone(),
        rows: a.records.len() as u64,
        join,
        skipped: a.skipped.clone(),
        reference: a.reference.clone(),
        evaluation_settings: a.settings.clone(),
        windows: judged.into_iter().map(|j| j.doc).collect(),
        verdict,
    }
}

/// Scores, summarises and counts one window.
fn judge_window(
    a: &Analysis,
    w: &Window,
    order: &[usize],
    reference: Option<&Reference>,
) -> Judged {
    let recs: Vec<&Record> = w.rows.iter().map(|&p| &a.records[order[p]]).collect();
    let stream = format!("monitor/{}", w.index);
    let score = a
        .labels
        .map(|l| performance::score_window(&recs, l, a.target, a.settings, &stream))
        .unwrap_or_default();
    let drift = reference
        .map(|r| {
            let mut counts = r.empty();
            for rec in &recs {
                r.add_record(&mut counts, &rec.inputs, &rec.prediction);
            }
            r.checks(&counts, &policy::drift_policy(a.policy))
        })
        .unwrap_or_default();
    let mut figures: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut shift = BTreeMap::new();
    for c in drift.iter().filter(|c| policy::is_figure(c)) {
        let (Some(col), Some(v)) = (&c.column, c.value) else {
            continue;
        };
        if col == PREDICTION {
            if c.code == "drift" {
                shift.insert(c.statistic.clone(), v);
            }
        } else {
            figures
                .entry(col.clone())
                .or_default()
                .insert(c.statistic.clone(), v);
        }
    }
    let doc = WindowDoc {
        index: w.index,
        start: rfc3339_ms(w.start_ms),
        end: rfc3339_ms(w.end_ms),
        rows: recs.len() as u64,
        labelled: score.labelled,
        metrics: score.metrics.clone(),
        intervals: score.intervals.clone(),
        predictions: performance::prediction_summary(&recs, a.target),
        prediction_shift: shift,
        drift: figures,
        alerts: Vec::new(),
    };
    Judged { doc, drift, score }
}

/// Milliseconds since the epoch as RFC 3339, with milliseconds when they
/// are not zero.
pub fn rfc3339_ms(ms: u64) -> String {
    let s = anneal_core::time::rfc3339(ms / 1000);
    match ms % 1000 {
        0 => s,
        rest => format!("{}.{rest:03}Z", s.trim_end_matches('Z')),
    }
}

fn join_summary(a: &Analysis, judged: &[Judged]) -> Join {
    let Some(labels) = a.labels else {
        return Join::default();
    };
    let logged: std::collections::HashSet<(&str, u32)> = a
        .records
        .iter()
        .map(|r| (r.request_id.as_str(), r.row))
        .collect();
    let known = labels
        .by_key
        .keys()
        .filter(|(id, row)| logged.contains(&(id.as_str(), *row)))
        .count() as u64;
    Join {
        label_rows: labels.rows,
        labelled: judged.iter().map(|j| j.score.labelled).sum(),
        unknown_ids: labels.by_key.len() as u64 - known,
        empty: labels.empty,
        duplicates: labels.duplicates,
        unusable: judged.iter().map(|j| j.score.unusable).sum(),
    }
}

fn subject(a: &Analysis, join: &Join, windows: usize) -> BTreeMap<String, String> {
    let mut s = BTreeMap::from([
        ("artifact".to_string(), a.artifact_id.to_string()),
        ("window".to_string(), a.window.to_string()),
        ("windows".to_string(), windows.to_string()),
        ("rows".to_string(), a.records.len().to_string()),
        ("labelled".to_string(), join.labelled.to_string()),
        ("policy".to_string(), a.policy_source.to_string()),
    ]);
    s.extend(a.inputs.clone());
    s
}
