//! Watching the served model: drift of the traffic and of the predictions
//! over a sliding window ([`anneal_monitor::drift`], [`anneal_monitor::window`]),
//! and the inference log ([`anneal_monitor::sink`]).
//!
//! A request is counted on its worker into counts of its own (no lock);
//! only the merge into the window takes the lock, a few hundred integer
//! additions. Gauges and `GET /v1/monitor` copy the window's counts under
//! the lock and judge them outside it.
//!
//! Gauges carry one label, `column`: the names of the artifact's input
//! columns and `__prediction__`, never anything a client sent, so the
//! label set is bounded by the model.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anneal_config::CheckDataPolicy;
use anneal_data::drift::Check;
use anneal_data::profile::DataProfile;
use anneal_monitor::drift::{Counts, PREDICTION, Reference, alert};
use anneal_monitor::log::Record;
use anneal_monitor::sink::Sink;
use anneal_monitor::window::{Window, WindowSpec};
use serde_json::{Map, Value, json};

use crate::infer::{Predicted, Prediction};
use crate::request::{Batch, Cells};
use crate::schema::Schema;

/// Drift over a sliding window.
pub struct Live {
    reference: Reference,
    policy: CheckDataPolicy,
    /// Where the policy came from, for the endpoint.
    policy_source: String,
    /// The reference column of each schema input.
    columns: Vec<Option<usize>>,
    window: Mutex<Window>,
}

impl Live {
    pub fn new(
        profile: &DataProfile,
        schema: &Schema,
        spec: WindowSpec,
        policy: CheckDataPolicy,
        policy_source: String,
    ) -> Live {
        let reference = Reference::new(profile);
        let columns = schema
            .inputs
            .iter()
            .map(|i| reference.position(&i.name))
            .collect();
        Live {
            window: Mutex::new(Window::new(reference.empty(), spec)),
            reference,
            policy,
            policy_source,
            columns,
        }
    }

    /// The counts of one batch's inputs.
    fn count_inputs(&self, batch: &Batch) -> Counts {
        let mut counts = self.reference.empty();
        counts.rows = batch.rows as u64;
        for (cells, j) in batch.columns.iter().zip(&self.columns) {
            let Some(j) = *j else { continue };
            let (col, c) = (&self.reference.columns[j], &mut counts.columns[j]);
            match cells {
                Cells::Num(v) => v.iter().for_each(|x| col.add_number(c, *x)),
                Cells::Text(v) => v.iter().for_each(|x| col.add_text(c, x.as_deref())),
            }
        }
        counts
    }

    fn count_prediction(&self, counts: &mut Counts, p: &Prediction) {
        let Some(col) = &self.reference.prediction else {
            return;
        };
        let c = &mut counts.prediction;
        match &p.prediction {
            Predicted::Text(v) => v.iter().for_each(|x| col.add_text(c, x.as_deref())),
            Predicted::Float(v) => v.iter().for_each(|x| col.add_number(c, *x)),
            other => (0..p.rows()).for_each(|i| col.add_value(c, &prediction_value(other, i))),
        }
    }

    fn add(&self, counts: &Counts) {
        let now = now_ms();
        self.window
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(counts, now);
    }

    /// The window's counts and every check of them.
    fn judge(&self) -> (Counts, WindowSpec, Vec<Check>) {
        let now = now_ms();
        let (counts, spec) = {
            let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
            (w.counts(now).clone(), w.spec())
        };
        let checks = self.reference.checks(&counts, &self.policy);
        (counts, spec, checks)
    }

    /// Column names in gauge order: inputs, then the predictions.
    fn names(&self) -> impl Iterator<Item = &str> {
        let inputs = self.reference.columns.iter().map(|c| c.name.as_str());
        inputs.chain(self.reference.prediction.as_ref().map(|_| PREDICTION))
    }

    /// The drift gauges (see the crate's README section for the list).
    pub fn render(&self, out: &mut String) {
        let (counts, _, checks) = self.judge();
        gauge(
            out,
            "anneal_drift_window_rows",
            "Rows in the drift window.",
            counts.rows as f64,
        );
        for (name, code, statistic, help) in FAMILIES {
            let found: Vec<&Check> = checks
                .iter()
                .filter(|c| c.code == code && statistic.is_none_or(|s| c.statistic == s))
                .collect();
            if found.is_empty() {
                continue;
            }
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            for c in found {
                let column = crate::metrics::escape(c.column.as_deref().unwrap_or(""));
                let value = c.value.map_or("NaN".to_string(), |v| v.to_string());
                let _ = writeln!(out, "{name}{{column=\"{column}\"}} {value}");
            }
        }
        let alerts = self.alerts(&checks);
        out.push_str("# HELP anneal_drift_alert 1 when a column fails a check of the policy (error severity) over the window.\n");
        out.push_str("# TYPE anneal_drift_alert gauge\n");
        for (column, on) in &alerts {
            let column = crate::metrics::escape(column);
            let _ = writeln!(
                out,
                "anneal_drift_alert{{column=\"{column}\"}} {}",
                u8::from(*on)
            );
        }
        gauge(
            out,
            "anneal_drift_alerting_columns",
            "Columns whose anneal_drift_alert is 1.",
            alerts.iter().filter(|(_, on)| *on).count() as f64,
        );
    }

    /// Per column (gauge order), whether it alerts.
    fn alerts<'a>(&'a self, checks: &[Check]) -> Vec<(&'a str, bool)> {
        self.names()
            .map(|n| {
                let mine: Vec<&Check> = checks
                    .iter()
                    .filter(|c| c.column.as_deref() == Some(n))
                    .collect();
                (n, alert(&mine))
            })
            .collect()
    }

    /// The body of `GET /v1/monitor`.
    pub fn json(&self) -> Value {
        let (counts, spec, checks) = self.judge();
        let alerting: Vec<&str> = self
            .alerts(&checks)
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| n)
            .collect();
        json!({
            "window": {
                "rows": counts.rows,
                "max_rows": spec.rows,
                "max_seconds": spec.millis.map(|m| m as f64 / 1000.0),
            },
            "policy": self.policy_source,
            "alert": !alerting.is_empty(),
            "alerting_columns": alerting,
            "checks": checks,
        })
    }
}

/// The per-column gauges: metric, check code, statistic (when the code
/// has several), help.
const FAMILIES: [(&str, &str, Option<&str>, &str); 6] = [
    (
        "anneal_drift_missing_increase",
        "null_fraction",
        None,
        "Missing share over the window minus the training one.",
    ),
    (
        "anneal_drift_out_of_range_share",
        "out_of_range",
        None,
        "Share of the window's numbers outside the training range.",
    ),
    (
        "anneal_drift_unseen_share",
        "unseen_category",
        None,
        "Share of the window's categories never seen in training.",
    ),
    (
        "anneal_drift_psi",
        "drift",
        Some("psi"),
        "Population stability index over the training deciles (NaN: no values).",
    ),
    (
        "anneal_drift_jensen_shannon",
        "drift",
        Some("jensen_shannon"),
        "Jensen-Shannon distance to the training category shares (NaN: no values).",
    ),
    (
        "anneal_drift_l_infinity",
        "drift",
        Some("l_infinity"),
        "Largest change of a category's share (policy categorical_drift = l_infinity).",
    ),
];

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    let _ = writeln!(out, "{name} {value}");
}

/// Row `i`'s prediction as the log and the MLflow answer write it.
fn prediction_value(p: &Predicted, i: usize) -> Value {
    match p {
        Predicted::Text(v) => json!(v[i]),
        Predicted::Int(v) => json!(v[i]),
        Predicted::Bool(v) => json!(v[i]),
        Predicted::Float(v) => json!(v[i]),
    }
}

/// What a request leaves for after its prediction.
pub struct Pending {
    counts: Option<Counts>,
    /// The batch's cells, when the request is logged.
    cells: Option<Vec<Cells>>,
}

/// Monitoring's part of a request, before the batch goes to the model.
pub fn before(
    live: Option<&Live>,
    sink: Option<&Sink>,
    batch: &Batch,
    request_id: &str,
) -> Pending {
    let cells = sink.and_then(|s| {
        if s.sampled(request_id) {
            Some(batch.columns.clone())
        } else {
            s.sampled_out(batch.rows);
            None
        }
    });
    Pending {
        counts: live.map(|l| l.count_inputs(batch)),
        cells,
    }
}

/// ... and after: the predictions counted, the window updated, the rows
/// queued for the log.
pub fn after(
    live: Option<&Live>,
    sink: Option<&Sink>,
    schema: &Schema,
    pending: Pending,
    p: &Prediction,
    request_id: &str,
) {
    if let (Some(l), Some(mut counts)) = (live, pending.counts) {
        l.count_prediction(&mut counts, p);
        l.add(&counts);
    }
    if let (Some(s), Some(cells)) = (sink, pending.cells) {
        let ts_ms = now_ms();
        let (schema, p, id) = (schema.clone(), p.clone(), request_id.to_string());
        s.send_with(
            p.rows() as u64,
            Box::new(move || {
                row_maps(&schema, &cells, p.rows())
                    .into_iter()
                    .enumerate()
                    .map(|(i, inputs)| Record {
                        ts_ms,
                        request_id: id.clone(),
                        row: i as u32,
                        inputs,
                        prediction: prediction_value(&p.prediction, i),
                        probabilities: probabilities(&schema, &p, i),
                    })
                    .collect()
            }),
        );
    }
}

/// Each row as column name to value, as validated.
fn row_maps(schema: &Schema, columns: &[Cells], rows: usize) -> Vec<Map<String, Value>> {
    let mut rows = vec![Map::new(); rows];
    for (input, cells) in schema.inputs.iter().zip(columns) {
        for (i, row) in rows.iter_mut().enumerate() {
            let v = match cells {
                Cells::Num(v) => json!(v[i]),
                Cells::Text(v) => json!(v[i]),
            };
            row.insert(input.name.clone(), v);
        }
    }
    rows
}

fn probabilities(schema: &Schema, p: &Prediction, i: usize) -> Option<Map<String, Value>> {
    let labels = schema.labels.as_ref()?;
    Some(
        labels
            .iter()
            .zip(&p.proba)
            .map(|(l, (_, values))| (l.clone(), json!(values[i])))
            .collect(),
    )
}

/// Request ids for requests without `X-Request-Id`: the server's start
/// time and a counter, unique across restarts.
pub struct RequestIds {
    start: u64,
    next: AtomicU64,
}

impl RequestIds {
    pub fn new() -> RequestIds {
        RequestIds {
            start: now_ms(),
            next: AtomicU64::new(0),
        }
    }

    /// The client's id when it is 1 to 128 visible ASCII characters, else
    /// a new one.
    pub fn of(&self, header: Option<&[u8]>) -> String {
        match header {
            Some(h)
                if !h.is_empty() && h.len() <= 128 && h.iter().all(|b| b.is_ascii_graphic()) =>
            {
                String::from_utf8_lossy(h).into_owned()
            }
            _ => format!(
                "{:x}-{}",
                self.start,
                self.next.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }
}

/// The log's gauges and counters.
pub fn render_log(sink: &Sink, out: &mut String) {
    let s = sink.stats();
    gauge(
        out,
        "anneal_inference_log_healthy",
        "1 while the inference log writes; 0 after a failed write (disk full, folder gone) until one succeeds.",
        f64::from(u8::from(s.healthy())),
    );
    for (name, help, value) in [
        (
            "anneal_inference_log_rows_written_total",
            "Rows written to the inference log (flushed).",
            &s.rows_written,
        ),
        (
            "anneal_inference_log_dropped_rows_total",
            "Rows the inference log lost: queue full, failed writes, or after shutdown.",
            &s.rows_dropped,
        ),
        (
            "anneal_inference_log_sampled_out_rows_total",
            "Rows of requests the sampling (--log-sample) left out.",
            &s.rows_sampled_out,
        ),
        (
            "anneal_inference_log_files_total",
            "Log files created.",
            &s.files,
        ),
        (
            "anneal_inference_log_write_errors_total",
            "Failed log writes.",
            &s.write_errors,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
    }
}

/// The log's state for `GET /v1/monitor`.
pub fn log_json(sink: &Sink) -> Value {
    let s = sink.stats();
    let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
    json!({
        "healthy": s.healthy(),
        "rows_written": n(&s.rows_written),
        "rows_dropped": n(&s.rows_dropped),
        "rows_sampled_out": n(&s.rows_sampled_out),
        "files": n(&s.files),
        "write_errors": n(&s.write_errors),
    })
}
