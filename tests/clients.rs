//! Real inference clients against `anneal serve`, unchanged: NVIDIA's
//! tritonclient (HTTP), with its default binary tensors and once with JSON
//! tensors, must get the predictions `anneal predict` writes. The client
//! lives in a Python virtual environment that `.ci/run` prepares and names
//! in ANNEAL_CLIENTS_PYTHON; without it the test says so and skips, unless
//! ANNEAL_REQUIRE_CLIENTS=1.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The client environment's python, or `None` (after saying why) to skip.
fn client_python() -> Option<String> {
    match std::env::var("ANNEAL_CLIENTS_PYTHON") {
        Ok(p) if Path::new(&p).exists() => Some(p),
        _ => {
            assert!(
                std::env::var("ANNEAL_REQUIRE_CLIENTS").as_deref() != Ok("1"),
                "ANNEAL_REQUIRE_CLIENTS=1 but ANNEAL_CLIENTS_PYTHON names no python"
            );
            eprintln!("skipped: ANNEAL_CLIENTS_PYTHON is not set (see .ci/run)");
            None
        }
    }
}

/// `anneal serve` on a free port, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(artifact: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_anneal"))
            .args(["serve", "--artifact", artifact.to_str().unwrap()])
            .args(["--addr", "127.0.0.1:0"])
            .env_remove("ANNEAL_SERVE_TOKEN")
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
        let addr = line
            .strip_prefix("listening on http://")
            .and_then(|r| r.split_once(' '))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .0
            .to_string();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `anneal predict` on `rows`: the predictions file as column -> values.
fn predict(artifact: &Path, rows: &Path, dir: &Path) -> Vec<(String, Vec<String>)> {
    let output = dir.join("preds.csv");
    let o = anneal(&[
        "predict",
        "--artifact",
        artifact.to_str().unwrap(),
        "--input",
        rows.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "predict failed: {}", stderr(&o));
    let text = std::fs::read_to_string(&output).unwrap();
    let mut lines = text.lines();
    let mut cols: Vec<(String, Vec<String>)> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|h| (h.to_string(), Vec::new()))
        .collect();
    for l in lines {
        for (j, v) in l.split(',').enumerate() {
            cols[j].1.push(v.to_string());
        }
    }
    cols
}

/// The titanic rows without their target; only those without a missing
/// value when `complete`.
fn rows_csv(complete: bool) -> String {
    let text = std::fs::read_to_string(root().join("datasets/titanic.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let target = header.iter().position(|h| *h == "survived").unwrap();
    let mut out = String::new();
    for l in text.lines().filter(|l| !l.is_empty()) {
        let mut f: Vec<&str> = l.split(',').collect();
        f.remove(target);
        if complete && f.contains(&"") {
            continue;
        }
        out.push_str(&f.join(","));
        out.push('\n');
    }
    out
}

fn run_client(python: &str, s: &Server, rows: &Path, mode: &str) -> Value {
    let o = Command::new(python)
        .arg(root().join("tests/clients/triton_client.py"))
        .args([&s.addr, "titanic", rows.to_str().unwrap(), mode])
        .output()
        .expect("python runs");
    assert!(
        o.status.success(),
        "tritonclient ({mode}) failed: {}",
        stderr(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

#[test]
fn tritonclient_gets_predict_answers() {
    let Some(python) = client_python() else {
        return;
    };
    let dir = scratch("clients-triton");
    train("titanic", &dir.join("run"));
    let artifact = dir.join("run/artifact");
    let s = Server::start(&artifact);
    // Binary tensors carry missing numbers as NaN; JSON ones cannot (a
    // numpy float array has no null), so that run gets complete rows.
    for (mode, complete) in [("binary", false), ("json", true)] {
        let rows = dir.join(format!("{mode}.csv"));
        std::fs::write(&rows, rows_csv(complete)).unwrap();
        let expected = predict(&artifact, &rows, &dir);
        let got = run_client(&python, &s, &rows, mode);
        assert_answers(mode, &got, &expected);
    }
}

fn assert_answers(mode: &str, got: &Value, expected: &[(String, Vec<String>)]) {
    for (name, want) in expected {
        let values = got[name]
            .as_array()
            .unwrap_or_else(|| panic!("{mode}: no output {name}: {got}"));
        assert_eq!(values.len(), want.len(), "{mode} {name}: row count");
        for (i, (g, w)) in values.iter().zip(want).enumerate() {
            let g = g.as_str().unwrap_or_else(|| panic!("{mode} {name}: {g}"));
            // Numbers compare bit for bit (Python wrote the shortest text
            // that reads back as the same f64); labels as text.
            let same = match (g.parse::<f64>(), w.parse::<f64>()) {
                (Ok(g), Ok(w)) => g.to_bits() == w.to_bits(),
                _ => g == w,
            };
            assert!(same, "{mode} {name}, row {}: {g} vs {w}", i + 1);
        }
    }
}
