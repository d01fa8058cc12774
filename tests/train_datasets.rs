//! Every shipped config trains on its real dataset and reaches the range a
//! careful scikit-learn / LightGBM user gets (see ../shared/peers and the
//! README's table). Floors sit a little under what anneal measures, so that
//! a regression fails while the seed-fixed figure passes.

mod common;
use common::*;

fn check(name: &str, metric_name: &str, floor: f64) -> serde_json::Value {
    let out = scratch(name).join("run");
    let report = train(name, &out);
    let v = metric(&report, "test", metric_name);
    assert!(
        v >= floor,
        "{name}: test {metric_name} {v} is below {floor}"
    );
    assert!(out.join("artifact/manifest.json").exists());
    assert!(out.join("report.md").exists());
    report
}

#[test]
fn iris() {
    let r = check("iris", "accuracy", 0.90);
    assert_eq!(r["task"], "multiclass");
    // Iris repeats one row; duplicates are kept by default (and counted).
    assert_eq!(r["data"]["rows"]["used"], 150);
    assert_eq!(r["data"]["rows"]["repeated"], 1);
}

#[test]
fn wine() {
    check("wine", "accuracy", 0.92);
}

#[test]
fn breast_cancer() {
    let r = check("breast_cancer", "accuracy", 0.93);
    assert_eq!(r["task"], "binary");
    assert!(metric(&r, "test", "roc_auc") > 0.97);
}

#[test]
fn penguins() {
    let r = check("penguins", "accuracy", 0.95);
    assert_eq!(r["data"]["rows"]["missing_target"], 0);
}

#[test]
fn titanic() {
    check("titanic", "accuracy", 0.75);
}

#[test]
fn diabetes() {
    let r = check("diabetes", "r2", 0.30);
    assert_eq!(r["task"], "regression");
    assert!(metric(&r, "test", "rmse") < 62.0);
}
