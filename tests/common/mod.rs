//! Helpers for driving the real `anneal` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(manifest_dir())
}

/// A fresh, empty folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("anneal-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `anneal` with `args` from the repository root.
pub fn anneal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the anneal binary runs")
}

/// The CLI with a pause-at-step hook (tests/drivers/anneal_paused.rs),
/// which `cargo test` builds beside the test binaries as an example.
pub fn anneal_paused() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    profile.join("examples").join("anneal_paused")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Trains `configs/<name>.toml` into `out` and returns the parsed report.
pub fn train(name: &str, out: &Path) -> serde_json::Value {
    let config = format!("configs/{name}.toml");
    let o = anneal(&[
        "train",
        "--config",
        &config,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "train {name} failed: {}", stderr(&o));
    read_json(&out.join("report.json"))
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub fn metric(report: &serde_json::Value, split: &str, name: &str) -> f64 {
    report["metrics"][split][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no metrics.{split}.{name} in the report"))
}

/// Asserts a failed run: the exit code and the one error line on stderr.
pub fn assert_error(o: &Output, code: i32, line: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.trim_end(), line, "stderr was: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// This package's folder in the checkout running the test: cargo sets it at
/// run time; the compile-time path may name another checkout whose binary
/// the shared build folder reused.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
