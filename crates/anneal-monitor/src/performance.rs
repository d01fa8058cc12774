//! Performance over time: each window's logged predictions joined to
//! their true labels and scored with the metrics and bootstrap intervals
//! of a training report (the same code as `anneal eval`), and the shift
//! of the predictions themselves, which needs no labels.

use std::collections::BTreeMap;

use anneal_data::TargetSpec;
use anneal_eval::{EvalSettings, Interval, Scored};
use serde_json::Value;

use crate::labels::Labels;
use crate::log::Record;

/// One window's labelled rows, scored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowScore {
    /// Rows with a label that could be scored.
    pub labelled: u64,
    /// Labels that are not a class of the model (or not a number, for
    /// regression), or rows whose logged probabilities are incomplete.
    pub unusable: u64,
    pub metrics: BTreeMap<String, f64>,
    pub intervals: BTreeMap<String, Interval>,
}

/// The text of a logged JSON value as a label file writes it.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Scores the labelled rows among `records`; the bootstrap draws from the
/// stream named `stream`.
pub fn score_window(
    records: &[&Record],
    labels: &Labels,
    target: &TargetSpec,
    settings: &EvalSettings,
    stream: &str,
) -> WindowScore {
    let (scored, unusable) = join(records, labels, target);
    if scored.is_empty() {
        return WindowScore {
            unusable,
            ..WindowScore::default()
        };
    }
    let metrics = scored
        .scalars(settings.calibration_bins)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    WindowScore {
        labelled: scored.len() as u64,
        unusable,
        metrics,
        intervals: anneal_eval::intervals_of(&scored, settings, stream),
    }
}

/// The truths and predictions of the labelled rows, and how many labelled
/// rows could not be used.
fn join(records: &[&Record], labels: &Labels, target: &TargetSpec) -> (Scored, u64) {
    let mut unusable = 0;
    let label_of = |r: &Record| labels.by_key.get(&(r.request_id.clone(), r.row));
    match target {
        TargetSpec::Classes { labels: names, .. } => {
            let k = names.len();
            let (mut y, mut proba) = (Vec::new(), Vec::new());
            for r in records {
                let Some(text) = label_of(r) else { continue };
                let class = names.iter().position(|n| n == text);
                match (class, probabilities(r, names)) {
                    (Some(c), Some(p)) => {
                        y.push(c);
                        proba.extend(p);
                    }
                    _ => unusable += 1,
                }
            }
            (Scored::Classes { y, proba, k }, unusable)
        }
        TargetSpec::Regression { .. } => {
            let (mut y, mut pred) = (Vec::new(), Vec::new());
            for r in records {
                let Some(text) = label_of(r) else { continue };
                match (text.trim().parse::<f64>(), r.prediction.as_f64()) {
                    (Ok(t), Some(p)) if t.is_finite() && p.is_finite() => {
                        y.push(t);
                        pred.push(p);
                    }
                    _ => unusable += 1,
                }
            }
            (Scored::Values { y, pred }, unusable)
        }
    }
}

/// The logged probabilities in class order; a row logged without them
/// counts its predicted class as certain.
fn probabilities(r: &Record, names: &[String]) -> Option<Vec<f64>> {
    match &r.probabilities {
        Some(map) => names
            .iter()
            .map(|n| map.get(n).and_then(Value::as_f64).filter(|p| p.is_finite()))
            .collect(),
        None => {
            let predicted = value_text(&r.prediction)?;
            Some(
                names
                    .iter()
                    .map(|n| f64::from(u8::from(*n == predicted)))
                    .collect(),
            )
        }
    }
}

/// What the model predicted in a window: the share of each predicted
/// class, or the mean prediction (regression). Its shift against the
/// training labels is counted with the inputs' drift ([`crate::drift`]).
pub fn prediction_summary(records: &[&Record], target: &TargetSpec) -> BTreeMap<String, f64> {
    match target {
        TargetSpec::Classes { labels, .. } => {
            let mut counts = vec![0u64; labels.len()];
            for r in records {
                let text = value_text(&r.prediction);
                if let Some(c) = labels.iter().position(|l| Some(l) == text.as_ref()) {
                    counts[c] += 1;
                }
            }
            let total = counts.iter().sum::<u64>().max(1) as f64;
            labels
                .iter()
                .zip(counts)
                .map(|(l, c)| (l.clone(), c as f64 / total))
                .collect()
        }
        TargetSpec::Regression { .. } => {
            let values: Vec<f64> = records
                .iter()
                .filter_map(|r| r.prediction.as_f64())
                .filter(|v| v.is_finite())
                .collect();
            let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
            BTreeMap::from([("mean".to_string(), mean)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn rec(id: &str, pred: &str, p_yes: f64) -> Record {
        Record {
            ts_ms: 0,
            request_id: id.into(),
            row: 0,
            inputs: Map::new(),
            prediction: Value::from(pred),
            probabilities: Some(Map::from_iter([
                ("no".to_string(), Value::from(1.0 - p_yes)),
                ("yes".to_string(), Value::from(p_yes)),
            ])),
        }
    }

    fn target() -> TargetSpec {
        TargetSpec::Classes {
            column: "y".into(),
            labels: vec!["no".into(), "yes".into()],
            label_type: anneal_data::preprocess::ValueType::String,
        }
    }

    #[test]
    fn labelled_rows_are_scored_and_the_rest_left_out() {
        let rs = [
            rec("a", "yes", 0.9),
            rec("b", "no", 0.2),
            rec("c", "yes", 0.6),
            rec("d", "no", 0.4),
            rec("e", "yes", 0.7),
        ];
        let refs: Vec<&Record> = rs.iter().collect();
        let mut labels = Labels::default();
        for (id, y) in [("a", "yes"), ("b", "no"), ("c", "no"), ("d", "maybe")] {
            labels.by_key.insert((id.to_string(), 0), y.to_string());
        }
        let settings = EvalSettings {
            bootstrap: 50,
            confidence: 0.9,
            calibration_bins: 10,
            min_slice_rows: 1,
            seed: 7,
        };
        let s = score_window(&refs, &labels, &target(), &settings, "w");
        assert_eq!((s.labelled, s.unusable), (3, 1));
        // a right, b right, c wrong (0.6 for "yes", truly "no").
        assert!((s.metrics["accuracy"] - 2.0 / 3.0).abs() < 1e-12);
        // Binary Brier: the mean squared error of P(yes).
        assert!((s.metrics["brier"] - (0.01 + 0.04 + 0.36) / 3.0).abs() < 1e-12);
        assert!(s.intervals.contains_key("accuracy"));
        // Seeded: the same window gives the same intervals.
        assert_eq!(s, score_window(&refs, &labels, &target(), &settings, "w"));

        let shares = prediction_summary(&refs, &target());
        assert_eq!((shares["yes"], shares["no"]), (0.6, 0.4));
    }
}
