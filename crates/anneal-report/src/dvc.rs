//! `plots/`: the curve data of a report in the shapes `dvc plots` reads
//! (the same shapes dvclive writes), one folder per evaluated split:
//!
//! - `plots/loss.csv`: `epoch,train_loss,valid_loss,learning_rate`
//! - `plots/<split>/roc.json`: `{"roc": [{class, fpr, tpr, threshold}]}`
//! - `plots/<split>/precision_recall.json`: `{"prc": [{class, precision, recall, threshold}]}`
//! - `plots/<split>/calibration.json`: `{"calibration": [{class, prob_pred, prob_true, count}]}`
//! - `plots/<split>/confusion.csv`: `actual,predicted`, one line per row (what
//!   DVC's confusion template counts), ordered by class
//! - `plots/<split>/residuals.csv`: `predicted,residual` (regression)
//!
//! Multiclass curves are one-vs-rest, one series per `class`. A threshold
//! of +inf (the first ROC point, as in scikit-learn) is written as `null`.

use std::fmt::Write;

use anneal_core::json;
use serde_json::{Value, json};

use crate::report::Report;

/// `(relative path, contents)` of every plot-data file of `r`.
pub fn plot_files(r: &Report) -> Vec<(String, String)> {
    let mut files = Vec::new();
    if let Some(t) = &r.training {
        let mut s = String::from("epoch,train_loss,valid_loss,learning_rate\n");
        for h in &t.history {
            let _ = writeln!(
                s,
                "{},{},{},{}",
                h.epoch,
                h.train_loss,
                h.valid_loss.map(|v| v.to_string()).unwrap_or_default(),
                h.learning_rate
            );
        }
        files.push(("plots/loss.csv".to_string(), s));
    }
    for (split, e) in &r.evaluation {
        let dir = format!("plots/{split}");
        let c = &e.curves;
        if !c.roc.is_empty() {
            let rows: Vec<Value> = c
                .roc
                .iter()
                .flat_map(|(class, roc)| {
                    (0..roc.fpr.len()).map(move |i| {
                        json!({"class": class, "fpr": roc.fpr[i], "tpr": roc.tpr[i],
                               "threshold": finite(roc.thresholds.get(i).copied())})
                    })
                })
                .collect();
            files.push((
                format!("{dir}/roc.json"),
                json::canonical(&json!({ "roc": rows })),
            ));
        }
        if !c.pr.is_empty() {
            let rows: Vec<Value> =
                c.pr.iter()
                    .flat_map(|(class, pr)| {
                        (0..pr.precision.len()).map(move |i| {
                        json!({"class": class, "precision": pr.precision[i], "recall": pr.recall[i],
                               "threshold": finite(pr.thresholds.get(i).copied())})
                    })
                    })
                    .collect();
            files.push((
                format!("{dir}/precision_recall.json"),
                json::canonical(&json!({ "prc": rows })),
            ));
        }
        if !c.calibration.is_empty() {
            let rows: Vec<Value> = c
                .calibration
                .iter()
                .flat_map(|(class, cal)| {
                    (0..cal.prob_pred.len()).map(move |i| {
                        json!({"class": class, "prob_pred": cal.prob_pred[i],
                               "prob_true": cal.prob_true[i], "count": cal.counts[i]})
                    })
                })
                .collect();
            files.push((
                format!("{dir}/calibration.json"),
                json::canonical(&json!({ "calibration": rows })),
            ));
        }
        if let (Some(m), Some(labels)) = (&e.classification, &r.labels) {
            let mut s = String::from("actual,predicted\n");
            for (t, row) in m.confusion.iter().enumerate() {
                for (p, &count) in row.iter().enumerate() {
                    let line = format!("{},{}\n", csv_field(&labels[t]), csv_field(&labels[p]));
                    for _ in 0..count {
                        s.push_str(&line);
                    }
                }
            }
            files.push((format!("{dir}/confusion.csv"), s));
        }
        if let Some(res) = &c.residuals {
            let mut s = String::from("predicted,residual\n");
            for (p, q) in res.predicted.iter().zip(&res.residual) {
                let _ = writeln!(s, "{p},{q}");
            }
            files.push((format!("{dir}/residuals.csv"), s));
        }
    }
    files
}

fn finite(v: Option<f64>) -> Value {
    match v {
        Some(x) if x.is_finite() => json!(x),
        _ => Value::Null,
    }
}

/// A CSV field, quoted when it holds a separator, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
