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

/// benches/compare's 10-epoch recipe (64-64, batch 64, Adam 1e-3): 50 steps
/// on penguins. PyTorch's bound, anneal's default, leaves some seeds short
/// of the data (88-91%); scikit-learn's (`train.init = "glorot"`) brings
/// the mean over seeds 0-9 from 95.4% to 97.0%, 0.8 points from
/// scikit-learn's own 97.8%. The figures are exact: CPU runs are
/// bit-reproducible.
#[test]
fn glorot_init_lifts_the_short_penguins_recipe() {
    let dir = scratch("glorot-penguins");
    let data = root().join("datasets/penguins.csv");
    let mean = |init: &str| -> f64 {
        let accuracies: Vec<f64> = (0..10)
            .map(|seed| {
                let config = dir.join(format!("{init}-{seed}.toml"));
                let out = dir.join(format!("{init}-{seed}.json"));
                std::fs::write(&config, recipe(&data, seed, init)).unwrap();
                let o = anneal(&[
                    "bench",
                    "--config",
                    config.to_str().unwrap(),
                    "--stages",
                    "train",
                    "--quiet",
                    "--out",
                    out.to_str().unwrap(),
                ]);
                assert!(o.status.success(), "{}", stderr(&o));
                read_json(&out)["train"]["test_accuracy"].as_f64().unwrap()
            })
            .collect();
        accuracies.iter().sum::<f64>() / 10.0
    };
    let (uniform, glorot) = (mean("uniform"), mean("glorot"));
    assert!((uniform - 0.9536).abs() < 5e-5, "uniform: {uniform}");
    assert!((glorot - 0.9696).abs() < 5e-5, "glorot: {glorot}");
}

/// The peers' recipe (benches/compare/recipe.toml, as compare.py fills it
/// in) with the weight initialisation `init`.
fn recipe(data: &std::path::Path, seed: u64, init: &str) -> String {
    include_str!("../benches/compare/recipe.toml")
        .replace("@PATH@", &format!("{data:?}"))
        .replace("@TARGET@", "species")
        .replace("@STRATIFY@", "true")
        .replace("@EPOCHS@", "10")
        .replace("@SEED@", &seed.to_string())
        .replace("init = \"glorot\"", &format!("init = \"{init}\""))
}
