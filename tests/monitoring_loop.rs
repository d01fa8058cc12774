//! The monitoring loop of `examples/monitoring/`, end to end with the real
//! binary: a champion from the registry served with drift gauges and an
//! inference log; traffic whose size features shift half-way; the gauges
//! rise; `anneal monitor` over the log and late labels fails the policy
//! (exit 1, as a scheduler would see it); a model trained on fresh data
//! passes `anneal gate` against `@champion`, is promoted, and is served in
//! its place, quiet on the traffic that alarmed its predecessor.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anneal_core::rng::Rng;
use serde_json::{Value, json};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const SHIFTED: [&str; 8] = [
    "mean radius",
    "mean perimeter",
    "mean area",
    "mean concavity",
    "worst radius",
    "worst perimeter",
    "worst area",
    "worst concavity",
];
const TARGET: &str = "diagnosis";

/// `anneal serve`, killed whatever happens to the test.
struct Server {
    child: Child,
    addr: String,
    id: String,
}

impl Server {
    fn start(artifact: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_anneal"))
            .args(["serve", "--artifact", s(artifact), "--addr", "127.0.0.1:0"])
            .args(extra)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("anneal serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // listening on http://127.0.0.1:PORT (model NAME, id ID)
        let rest = line
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("{line:?}"));
        let (addr, rest) = rest.split_once(' ').unwrap();
        let id = rest
            .rsplit_once("id ")
            .unwrap()
            .1
            .trim_end()
            .trim_end_matches(')');
        Server {
            child,
            addr: addr.to_string(),
            id: id.to_string(),
        }
    }

    /// One request on its own connection: status and body.
    fn http(&self, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for h in headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        stream
            .write_all(format!("{head}\r\n{body}").as_bytes())
            .unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status = head[9..12].parse().unwrap();
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            unchunk(body)
        } else {
            body.to_string()
        };
        (status, body)
    }

    /// Rows posted to /invocations in requests of `per`, with ids
    /// `prefix-k`.
    fn post_rows(&self, columns: &[String], rows: &[Vec<f64>], per: usize, prefix: &str) {
        for (k, chunk) in rows.chunks(per).enumerate() {
            let body = json!({"dataframe_split": {"columns": columns, "data": chunk}}).to_string();
            let id = format!("X-Request-Id: {prefix}-{k}");
            let (status, text) = self.http(
                "POST",
                "/invocations",
                &["Content-Type: application/json", &id],
                &body,
            );
            assert_eq!(status, 200, "{text}");
        }
    }

    fn metrics(&self) -> String {
        self.http("GET", "/metrics", &[], "").1
    }

    /// SIGTERM: in-flight work and the log are flushed, exit 0.
    fn stop(mut self) {
        let st = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(self.child.wait().unwrap().code(), Some(0));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unchunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

/// The value of an unlabelled sample, or of `name{column="c"}`.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {metrics}"))
}

/// Every `anneal_*` metric name in `text`.
fn metric_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .match_indices("anneal_")
        .map(|(i, _)| {
            text[i..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect()
        })
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 5, "{names:?}");
    names
}

/// breast_cancer.csv: the feature names, the feature rows, the labels.
fn dataset() -> (Vec<String>, Vec<Vec<f64>>, Vec<String>) {
    let text = std::fs::read_to_string(root().join("datasets/breast_cancer.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let t = header.iter().position(|c| c == TARGET).unwrap();
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for l in lines {
        let cells: Vec<&str> = l.split(',').collect();
        labels.push(cells[t].to_string());
        rows.push(
            cells
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != t)
                .map(|(_, c)| c.parse().unwrap())
                .collect(),
        );
    }
    let columns = header.into_iter().filter(|c| c != TARGET).collect();
    (columns, rows, labels)
}

/// Row `row` with the `SHIFTED` columns one training SD higher.
fn shifted(columns: &[String], row: &[f64], sd: &Value) -> Vec<f64> {
    columns
        .iter()
        .zip(row)
        .map(|(c, v)| match SHIFTED.contains(&c.as_str()) {
            true => v + sd[c].as_f64().unwrap(),
            false => *v,
        })
        .collect()
}

fn registry(reg: &Path, args: &[&str]) -> Value {
    let mut all = vec!["registry", "--registry", s(reg)];
    all.extend_from_slice(args);
    let o = anneal(&all);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap_or(Value::Null)
}

struct Traffic {
    columns: Vec<String>,
    /// (rows, labels) before and after the shift.
    before: (Vec<Vec<f64>>, Vec<String>),
    after: (Vec<Vec<f64>>, Vec<String>),
}

/// 1200 rows drawn from the dataset, then 1200 more with the shift.
fn traffic(sd: &Value) -> Traffic {
    let (columns, rows, labels) = dataset();
    let mut rng = Rng::new(11);
    let mut draw = |shift: bool| {
        let picks: Vec<usize> = (0..1200)
            .map(|_| rng.below(rows.len() as u64) as usize)
            .collect();
        let r = picks
            .iter()
            .map(|&i| {
                if shift {
                    shifted(&columns, &rows[i], sd)
                } else {
                    rows[i].clone()
                }
            })
            .collect();
        (r, picks.iter().map(|&i| labels[i].clone()).collect())
    };
    let before = draw(false);
    let after = draw(true);
    Traffic {
        columns,
        before,
        after,
    }
}

/// Labels for 70% of the rows, arriving after the fact.
fn write_labels(path: &Path, t: &Traffic) {
    let mut text = format!("request_id,row,{TARGET}\n");
    for (prefix, (_, labels)) in [("before", &t.before), ("after", &t.after)] {
        for (i, y) in labels.iter().enumerate().filter(|(i, _)| i % 10 < 7) {
            text.push_str(&format!("{prefix}-{},{},{y}\n", i / 100, i % 100));
        }
    }
    std::fs::write(path, text).unwrap();
}

/// The dataset with the shift, as the fresh training data, and a config
/// for it named like the model (so `@champion` is its champion).
fn fresh_config(dir: &Path, sd: &Value) -> PathBuf {
    let (columns, rows, labels) = dataset();
    let mut text = columns.join(",") + &format!(",{TARGET}\n");
    for (r, y) in rows.iter().zip(&labels) {
        let cells: Vec<String> = shifted(&columns, r, sd)
            .iter()
            .map(f64::to_string)
            .collect();
        text.push_str(&format!("{},{y}\n", cells.join(",")));
    }
    let data = dir.join("fresh.csv");
    std::fs::write(&data, text).unwrap();
    let base = std::fs::read_to_string(root().join("configs/breast_cancer.toml")).unwrap();
    let config = base.replace("../datasets/breast_cancer.csv", s(&data));
    let path = dir.join("fresh").join("breast_cancer.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, config).unwrap();
    path
}

/// The loop's folders, policy and traffic.
struct Loop {
    dir: PathBuf,
    reg: PathBuf,
    policy: PathBuf,
    log: PathBuf,
    sd: Value,
    t: Traffic,
}

impl Loop {
    /// A champion in a fresh registry, and traffic for it.
    fn new() -> Loop {
        let dir = scratch("monitoring-loop");
        let reg = dir.join("registry");
        // The champion: trained, pushed, pulled back out to serve.
        train("breast_cancer", &dir.join("run1"));
        registry(
            &reg,
            &[
                "push",
                s(&dir.join("run1/artifact")),
                "--name",
                "breast_cancer",
                "--alias",
                "champion",
            ],
        );
        registry(
            &reg,
            &[
                "pull",
                "breast_cancer@champion",
                "--out",
                s(&dir.join("served1")),
            ],
        );
        let profile = read_json(&dir.join("served1/profile.json"));
        let sd: serde_json::Map<String, Value> = profile["columns"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| Some((c["name"].as_str()?.to_string(), c["numeric"]["std"].clone())))
            .collect();
        let sd = Value::Object(sd);
        let t = traffic(&sd);
        Loop {
            policy: root().join("examples/monitoring/policy.toml"),
            log: dir.join("log"),
            dir,
            reg,
            sd,
            t,
        }
    }

    /// Serves the champion through the shift; returns its id.
    fn serve_champion(&self) -> String {
        let server = Server::start(
            &self.dir.join("served1"),
            &[
                "--policy",
                s(&self.policy),
                "--monitor-window-rows",
                "500",
                "--log-dir",
                s(&self.log),
            ],
        );
        let champion_id = server.id.clone();

        // Before the shift: no gauge alerts. After: the shifted columns alert.
        server.post_rows(&self.t.columns, &self.t.before.0, 100, "before");
        let m = server.metrics();
        assert_eq!(sample(&m, "anneal_drift_alerting_columns"), 0.0, "{m}");
        server.post_rows(&self.t.columns, &self.t.after.0, 100, "after");
        let m = server.metrics();
        assert_eq!(sample(&m, "anneal_drift_alerting_columns"), 8.0, "{m}");
        for c in SHIFTED {
            assert_eq!(
                sample(&m, &format!("anneal_drift_alert{{column=\"{c}\"}}")),
                1.0,
                "{c}"
            );
            assert!(
                sample(&m, &format!("anneal_drift_psi{{column=\"{c}\"}}")) > 0.25,
                "{c}"
            );
        }
        assert_eq!(sample(&m, "anneal_inference_log_dropped_rows_total"), 0.0);
        // The example dashboard and alert rules name only gauges served here.
        for file in ["grafana-dashboard.json", "prometheus-alerts.yml"] {
            let text =
                std::fs::read_to_string(root().join("examples/monitoring").join(file)).unwrap();
            for name in metric_names(&text) {
                assert!(
                    m.contains(&format!("# TYPE {name} ")),
                    "{file}: {name} is not served"
                );
            }
        }
        server.stop();

        champion_id
    }

    /// `anneal monitor` over the log and the late labels fails.
    fn monitor_fails(&self, champion_id: &str) {
        // The labels come in; the scheduled `anneal monitor` fails.
        let labels = self.dir.join("labels.csv");
        write_labels(&labels, &self.t);
        let out = self.dir.join("monitor");
        let o = anneal(&[
            "monitor",
            "--artifact",
            "breast_cancer@champion",
            "--registry",
            s(&self.reg),
            "--log",
            s(&self.log),
            "--labels",
            s(&labels),
            "--window",
            "600rows",
            "--policy",
            s(&self.policy),
            "--bootstrap",
            "100",
            "--out",
            s(&out),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let text = stdout(&o);
        assert!(text.starts_with("monitor: 2400 rows in 4 windows of 600rows, 1680 labelled (0 labels with unknown ids, 0 unusable)"), "{text}");
        assert!(
            text.contains(
                "\nFAIL drift:mean area: 2 of 4 windows over the threshold; first in the window from "
            ),
            "{text}"
        );
        assert!(text.contains("\nFAIL metric_drop:accuracy: "), "{text}");
        let doc = read_json(&out.join("monitor.json"));
        assert_eq!(doc["artifact_id"], json!(champion_id));
        let alerts: Vec<usize> = doc["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["alerts"].as_array().map_or(0, Vec::len))
            .collect();
        assert_eq!(alerts[..2], [0, 0], "{alerts:?}");
        assert!(alerts[2..].iter().all(|&n| n >= 9), "{alerts:?}");
    }

    /// A model trained on fresh data, gated and promoted; returns its id.
    fn retrain(&self, champion_id: &str) -> Value {
        // Retrain on fresh data, gate against the champion, promote.
        let config = fresh_config(&self.dir, &self.sd);
        let run2 = self.dir.join("run2");
        let o = anneal(&[
            "train",
            "--config",
            s(&config),
            "--out",
            s(&run2),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = anneal(&[
            "gate",
            "--report",
            s(&run2),
            "--policy",
            s(&self.policy),
            "--baseline",
            "@champion",
            "--registry",
            s(&self.reg),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
        let gate = read_json(&run2.join("gate.json"));
        // Compared with the champion on the fresh test rows, where it falls
        // behind.
        assert_eq!(gate["subject"]["baseline_artifact"], json!(champion_id));
        let paired = &gate["checks"][1];
        assert_eq!(paired["name"], "regression:accuracy[test]");
        assert!(
            paired["baseline"].as_f64().unwrap() < paired["candidate"].as_f64().unwrap() - 0.05,
            "{paired}"
        );
        registry(
            &self.reg,
            &[
                "push",
                s(&run2.join("artifact")),
                "--name",
                "breast_cancer",
                "--alias",
                "candidate",
            ],
        );
        registry(
            &self.reg,
            &["alias", "breast_cancer@champion", "breast_cancer@candidate"],
        );
        let shown = registry(&self.reg, &["show", "breast_cancer@champion", "--json"]);
        let new_id = read_json(&run2.join("artifact/manifest.json"))["id"].clone();
        assert_eq!(shown["id"], new_id, "{shown}");

        new_id
    }

    /// The new champion serves: the traffic that alarmed the old one is
    /// what it was trained on.
    fn serve_new(&self, new_id: &Value) {
        // The new champion serves, and the traffic that alarmed the old one
        // is what it was trained on.
        registry(
            &self.reg,
            &[
                "pull",
                "breast_cancer@champion",
                "--out",
                s(&self.dir.join("served2")),
            ],
        );
        let server = Server::start(
            &self.dir.join("served2"),
            &["--policy", s(&self.policy), "--monitor-window-rows", "500"],
        );
        assert_eq!(&json!(server.id), new_id);
        server.post_rows(&self.t.columns, &self.t.after.0[..600], 100, "again");
        let m = server.metrics();
        assert_eq!(sample(&m, "anneal_drift_alerting_columns"), 0.0, "{m}");
        server.stop();
    }
}

#[test]
fn serve_shift_monitor_retrain_gate_promote_serve() {
    let l = Loop::new();
    let champion_id = l.serve_champion();
    l.monitor_fails(&champion_id);
    let new_id = l.retrain(&champion_id);
    l.serve_new(&new_id);
}
