//! Prometheus metrics, in the text exposition format (version 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct ByRoute {
    requests: BTreeMap<(String, u16), u64>,
    durations: BTreeMap<String, Histogram>,
}

/// Counters of one server.
pub struct Metrics {
    by_route: Mutex<ByRoute>,
    validation_failures: AtomicU64,
    rows_predicted: AtomicU64,
    model_name: String,
    model_id: String,
}

impl Metrics {
    pub fn new(model_name: &str, model_id: &str) -> Metrics {
        Metrics {
            by_route: Mutex::new(ByRoute::default()),
            validation_failures: AtomicU64::new(0),
            rows_predicted: AtomicU64::new(0),
            model_name: model_name.to_string(),
            model_id: model_id.to_string(),
        }
    }

    /// Records one answered request.
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(BUCKETS.len());
        let mut g = self.by_route.lock().unwrap_or_else(|e| e.into_inner());
        *g.requests.entry((route.to_string(), status)).or_default() += 1;
        let h = g.durations.entry(route.to_string()).or_default();
        h.counts[bucket] += 1;
        h.sum += secs;
        h.count += 1;
    }

    pub fn validation_failure(&self) {
        self.validation_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn rows_predicted(&self, rows: usize) {
        self.rows_predicted
            .fetch_add(rows as u64, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let g = self.by_route.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP anneal_requests_total HTTP requests answered, by route and status.\n");
        out.push_str("# TYPE anneal_requests_total counter\n");
        for ((route, status), n) in &g.requests {
            let _ = writeln!(
                out,
                "anneal_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP anneal_request_duration_seconds Time from request to response, by route.\n",
        );
        out.push_str("# TYPE anneal_request_duration_seconds histogram\n");
        for (route, h) in &g.durations {
            let route = escape(route);
            let mut cumulative = 0;
            for (i, le) in BUCKETS.iter().enumerate() {
                cumulative += h.counts[i];
                let _ = writeln!(
                    out,
                    "anneal_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
                );
            }
            cumulative += h.counts[BUCKETS.len()];
            let _ = writeln!(
                out,
                "anneal_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}"
            );
            let _ = writeln!(
                out,
                "anneal_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "anneal_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        drop(g);
        counter(
            &mut out,
            "anneal_validation_failures_total",
            "Prediction requests refused (400) before prediction.",
            self.validation_failures.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "anneal_rows_predicted_total",
            "Rows predicted.",
            self.rows_predicted.load(Ordering::Relaxed),
        );
        out.push_str("# HELP anneal_model_info The served model: its name and artifact id.\n");
        out.push_str("# TYPE anneal_model_info gauge\n");
        let _ = writeln!(
            out,
            "anneal_model_info{{name=\"{}\",id=\"{}\"}} 1",
            escape(&self.model_name),
            escape(&self.model_id)
        );
        out
    }
}

/// Escapes a label value (backslash, double quote, newline).
pub(crate) fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One unlabelled counter in the text exposition format.
fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    let _ = writeln!(out, "{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::new("m", "abc");
        m.observe("/ping", 200, Duration::from_micros(300));
        m.observe("/ping", 200, Duration::from_millis(3));
        m.observe("/ping", 404, Duration::from_secs(20));
        m.validation_failure();
        m.rows_predicted(7);
        let text = m.render();
        for line in [
            "anneal_requests_total{route=\"/ping\",status=\"200\"} 2",
            "anneal_requests_total{route=\"/ping\",status=\"404\"} 1",
            "anneal_request_duration_seconds_bucket{route=\"/ping\",le=\"0.0005\"} 1",
            "anneal_request_duration_seconds_bucket{route=\"/ping\",le=\"0.0025\"} 1",
            "anneal_request_duration_seconds_bucket{route=\"/ping\",le=\"0.005\"} 2",
            "anneal_request_duration_seconds_bucket{route=\"/ping\",le=\"10\"} 2",
            "anneal_request_duration_seconds_bucket{route=\"/ping\",le=\"+Inf\"} 3",
            "anneal_request_duration_seconds_count{route=\"/ping\"} 3",
            "anneal_validation_failures_total 1",
            "anneal_rows_predicted_total 7",
            "anneal_model_info{name=\"m\",id=\"abc\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
