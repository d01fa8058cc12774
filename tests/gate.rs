//! `anneal gate` through the real binary on titanic: every rule kind
//! passing and failing, slices and small slices, a first run, missing
//! metrics and slices, an injected regression caught by the paired
//! bootstrap while seed noise is not, the leakage trip-wire, overrides,
//! the output files (JSON, JUnit, Markdown, GitHub annotations) and the
//! exit codes.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// titanic.toml with its data path made absolute, the split pinned to
/// seed 42 (so every variant is scored on the same 197 test rows) and
/// `edit` applied.
fn variant(name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let dir = scratch(&format!("gate-config-{name}"));
    let text = std::fs::read_to_string(root().join("configs/titanic.toml")).unwrap();
    let data = root().join("datasets/titanic.csv");
    let text = text.replace("\"../datasets/titanic.csv\"", &format!("{:?}", s(&data)));
    let text = format!("{}\n[data.split]\nseed = 42\n", edit(text));
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn train_config(config: &Path, out: &Path) {
    let o = anneal(&["train", "--config", s(config), "--out", s(out), "--quiet"]);
    assert!(o.status.success(), "train failed: {}", stderr(&o));
}

/// The shipped titanic model (train seed 42): the baseline.
fn base() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let run = scratch("gate-base").join("run");
        train("titanic", &run);
        run
    })
}

/// The same config trained with seed 7 on the same rows: seed noise only.
fn noise() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let config = variant("noise", |t| t.replacen("seed = 42", "seed = 7", 1));
        let run = scratch("gate-noise").join("run");
        train_config(&config, &run);
        run
    })
}

/// An injected regression: the same model without its strongest feature.
fn regressed() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let config = variant("nosex", |t| {
            t.replacen("[data]\n", "[data]\ndrop = [\"sex\"]\n", 1)
        });
        let run = scratch("gate-regressed").join("run");
        train_config(&config, &run);
        run
    })
}

fn policy(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("gate.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn gate(args: &[&str]) -> Output {
    let mut all = vec!["gate"];
    all.extend_from_slice(args);
    anneal(&all)
}

/// `gate.json`'s checks as (name, status, message).
fn checks(out: &Path) -> Vec<(String, String, String)> {
    let v = read_json(&out.join("gate.json"));
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn status_of(out: &Path, name: &str) -> String {
    checks(out)
        .into_iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no check {name} in {:?}", checks(out)))
        .1
}

#[test]
fn threshold_rules_on_points_bounds_and_slices() {
    let dir = scratch("gate-thresholds");
    let p = policy(
        &dir,
        r#"[gate]
[[gate.rules]]
kind = "threshold"
metric = "accuracy"
min = 0.85

[[gate.rules]]
kind = "threshold"
metric = "roc_auc"
min = 0.88
on = "lower"

[[gate.rules]]
kind = "threshold"
metric = "log_loss"
max = 0.3

[[gate.rules]]
kind = "threshold"
metric = "accuracy"
slice = "sex"
min = 0.8

[[gate.rules]]
kind = "threshold"
metric = "accuracy"
slice = "pclass"
min = 0.85
min_rows = 45

[[gate.rules]]
kind = "threshold"
metric = "ece"
split = "valid"
max = 0.1
"#,
    );
    let out = dir.join("out");
    let o = gate(&["--report", s(base()), "--policy", s(&p), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).trim(),
        format!(
            "error: gate FAILED: 3 of 9 checks failed (details in {})",
            out.join("gate.json").display()
        )
    );
    let got = checks(&out);
    let expect = [
        (
            "threshold:accuracy[test]",
            "pass",
            "accuracy 0.868 on test is >= 0.85",
        ),
        (
            "threshold:roc_auc[test]",
            "fail",
            "roc_auc 0.8529 (lower bound of its bootstrap interval) on test is below the minimum 0.88",
        ),
        (
            "threshold:log_loss[test]",
            "fail",
            "log_loss 0.3597 on test is above the maximum 0.3",
        ),
        (
            "threshold:accuracy[test,sex=female]",
            "pass",
            "accuracy 0.8333 on test slice sex=female is >= 0.8",
        ),
        (
            "threshold:accuracy[test,sex=male]",
            "pass",
            "accuracy 0.888 on test slice sex=male is >= 0.8",
        ),
        (
            "threshold:accuracy[test,pclass=1st]",
            "pass",
            "accuracy 0.9167 on test slice pclass=1st is >= 0.85",
        ),
        (
            "threshold:accuracy[test,pclass=2nd]",
            "skip",
            "skipped: slice pclass=2nd has 41 rows, fewer than 45",
        ),
        (
            "threshold:accuracy[test,pclass=3rd]",
            "fail",
            "accuracy 0.8148 on test slice pclass=3rd is below the minimum 0.85",
        ),
    ];
    let got3: Vec<(&str, &str, &str)> = got
        .iter()
        .take(expect.len())
        .map(|g| (g.0.as_str(), g.1.as_str(), g.2.as_str()))
        .collect();
    assert_eq!(got3, expect);
    assert_eq!(got[8].0, "threshold:ece[valid]");
    assert_eq!(got[8].1, "pass");
    // Text output: one line per check and the outcome.
    let text = stdout(&o);
    assert!(
        text.contains(
            "FAIL threshold:log_loss[test]: log_loss 0.3597 on test is above the maximum 0.3\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("gate FAILED: 5 passed, 3 failed, 0 warnings, 1 skipped\n"),
        "{text}"
    );
}

#[test]
fn first_run_missing_metrics_and_slices_follow_the_policy() {
    let dir = scratch("gate-missing");
    let registry = dir.join("registry");
    let rules = r#"
[[gate.rules]]
kind = "regression"
metric = "accuracy"
margin = 0.05

[[gate.rules]]
kind = "threshold"
metric = "r2"
min = 0.1

[[gate.rules]]
kind = "threshold"
metric = "accuracy"
slice = "embarked"
min = 0.5
"#;
    // Lenient: no baseline passes (first run), missing things are skipped.
    let lenient = policy(
        &dir,
        &format!("[gate]\nmissing_metric = \"skip\"\nmissing_slice = \"skip\"\n{rules}"),
    );
    let out = dir.join("lenient");
    let o = gate(&[
        "--report",
        s(base()),
        "--policy",
        s(&lenient),
        "--baseline",
        "titanic@champion",
        "--registry",
        s(&registry),
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let got = checks(&out);
    assert_eq!(
        got[0],
        (
            "regression:accuracy[test]".into(),
            "skip".into(),
            format!(
                "skipped: no baseline to compare with (first run) (no baseline: no model \"titanic\" in registry {}; it holds no models)",
                registry.display()
            )
        )
    );
    assert_eq!(got[1].1, "skip");
    assert!(
        got[1]
            .2
            .starts_with("the report has no r2 on test (it has: accuracy, balanced_accuracy,"),
        "{}",
        got[1].2
    );
    assert_eq!(
        got[2],
        (
            "threshold:accuracy[test,embarked]".into(),
            "skip".into(),
            "the report has no slices by \"embarked\" on test (sliced by: pclass, sex); add it to [eval] slices".into()
        )
    );
    let v = read_json(&out.join("gate.json"));
    assert_eq!(v["outcome"], "pass");

    // Strict: each of the three fails.
    let strict = policy(
        &dir,
        &format!(
            "[gate]\nmissing_metric = \"fail\"\nmissing_slice = \"fail\"\nmissing_baseline = \"fail\"\n{rules}"
        ),
    );
    let out = dir.join("strict");
    let o = gate(&[
        "--report",
        s(base()),
        "--policy",
        s(&strict),
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let got = checks(&out);
    assert_eq!(
        got.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(),
        ["fail", "fail", "fail"]
    );
    assert_eq!(
        got[0].2,
        "no baseline to compare with, and the policy requires one (no baseline given (--baseline))"
    );
}

const REGRESSION_POLICY: &str = r#"[gate]
[[gate.rules]]
kind = "regression"
metric = "accuracy"
margin = 0.05

[[gate.rules]]
kind = "regression"
metric = "log_loss"
margin = 0.05

[[gate.rules]]
kind = "change"
metric = "roc_auc"
max_drop = 0.001
"#;

#[test]
fn an_injected_regression_is_caught_and_seed_noise_is_not() {
    let dir = scratch("gate-regression");
    let p = policy(&dir, REGRESSION_POLICY);
    let base_artifact = base().join("artifact");

    // The regression: accuracy 0.868 -> 0.731 on the same 197 rows.
    let out = dir.join("regressed");
    let o = gate(&[
        "--report",
        s(regressed()),
        "--policy",
        s(&p),
        "--baseline",
        s(&base_artifact),
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        checks(&out)[0].2,
        "accuracy 0.731 vs baseline 0.868 on test: regression, drop 0.1371 with 95% upper bound 0.1878 above the margin 0.05 (paired bootstrap, 197 rows, seed 42)"
    );
    assert_eq!(status_of(&out, "regression:log_loss[test]"), "fail");
    assert_eq!(status_of(&out, "change:roc_auc[test]"), "fail");
    let v = read_json(&out.join("gate.json"));
    let d = &v["checks"][0]["details"];
    assert!(d["drop_lower"].as_f64().unwrap() > 0.05, "{d}");
    assert_eq!(d["resamples"], 1000.0);

    // Seed noise: a different training seed on the same rows. The point
    // estimate moved (so a naive change rule trips), but the paired
    // bootstrap's bound stays inside the margin.
    let out = dir.join("noise");
    let o = gate(&[
        "--report",
        s(noise()),
        "--policy",
        s(&p),
        "--baseline",
        s(&base_artifact),
        "--out",
        s(&out),
    ]);
    let got = checks(&out);
    assert_eq!(got[0].1, "pass", "{got:?}");
    assert_eq!(
        got[0].2,
        "accuracy 0.8731 vs baseline 0.868 on test: drop -0.0051 with 95% upper bound 0.0152 within the margin 0.05 (paired bootstrap, 197 rows)"
    );
    assert_eq!(got[1].1, "pass", "{got:?}");
    assert_eq!(got[2].1, "fail", "{got:?}");
    assert_eq!(o.status.code(), Some(1));

    // Reproducible from the seed: the same bytes again, and a baseline
    // given as the run folder (its predictions.csv, same rows) agrees with
    // the artifact scored here.
    let again = dir.join("noise-again");
    gate(&[
        "--report",
        s(noise()),
        "--policy",
        s(&p),
        "--baseline",
        s(base()),
        "--out",
        s(&again),
    ]);
    let strip = |p: &Path| {
        let mut v = read_json(&p.join("gate.json"));
        v["notes"] = serde_json::Value::Null;
        v["subject"] = serde_json::Value::Null;
        v
    };
    assert_eq!(strip(&out), strip(&again));
    assert!(
        read_json(&again.join("gate.json"))["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("baseline predictions read from")
    );
    let third = dir.join("noise-third");
    gate(&[
        "--report",
        s(noise()),
        "--policy",
        s(&p),
        "--baseline",
        s(base()),
        "--out",
        s(&third),
    ]);
    assert_eq!(
        std::fs::read(again.join("gate.json")).unwrap(),
        std::fs::read(third.join("gate.json")).unwrap()
    );
    // Another bootstrap seed gives another (still passing) bound.
    let seeded = policy(
        &dir,
        &REGRESSION_POLICY.replace("[gate]\n", "[gate]\nseed = 1\n"),
    );
    let other = dir.join("noise-seed1");
    gate(&[
        "--report",
        s(noise()),
        "--policy",
        s(&seeded),
        "--baseline",
        s(base()),
        "--out",
        s(&other),
    ]);
    // (log loss: a continuous bound; accuracy's moves in steps of 1/197.)
    let upper = |p: &Path| {
        read_json(&p.join("gate.json"))["checks"][1]["value"]
            .as_f64()
            .unwrap()
    };
    assert_ne!(upper(&other), upper(&again));
    assert_eq!(status_of(&other, "regression:accuracy[test]"), "pass");
}

#[test]
fn change_and_max_gain_rules_with_a_registry_baseline() {
    let dir = scratch("gate-change");
    let registry = dir.join("registry");
    // The regressed model is the champion; the real one is the candidate.
    let o = anneal(&[
        "registry",
        "--registry",
        s(&registry),
        "push",
        s(&regressed().join("artifact")),
        "--name",
        "titanic",
        "--alias",
        "champion",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = policy(
        &dir,
        r#"[gate]
[[gate.rules]]
kind = "change"
metric = "accuracy"
max_drop = 0.0

[[gate.rules]]
kind = "change"
metric = "log_loss"
max_relative_drop = -0.2

[[gate.rules]]
kind = "max_gain"
metric = "accuracy"
max_gain = 0.1

[[gate.rules]]
kind = "max_gain"
metric = "roc_auc"
max_relative_gain = 0.5
"#,
    );
    let out = dir.join("out");
    let o = gate(&[
        "--report",
        s(base()),
        "--policy",
        s(&p),
        "--baseline",
        "@champion",
        "--registry",
        s(&registry),
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let got = checks(&out);
    assert_eq!(got[0].1, "pass");
    assert_eq!(
        got[0].2,
        "accuracy 0.868 vs baseline 0.731 on test: gain 0.1371 within the 0 allowed"
    );
    // log loss must improve by 20% of the baseline's: it improved by more.
    assert_eq!(got[1].1, "pass", "{got:?}");
    assert_eq!(
        got[2],
        (
            "max_gain:accuracy[test]".into(),
            "fail".into(),
            "accuracy 0.868 vs baseline 0.731 on test: gain 0.1371 is above 0.1: too good to be true; check for leakage (a target-derived feature, test rows in training)".into()
        )
    );
    assert_eq!(got[3].1, "pass", "{got:?}");
    let v = read_json(&out.join("gate.json"));
    assert_eq!(v["subject"]["baseline"], "@champion");
    assert_eq!(
        v["subject"]["baseline_artifact"],
        read_json(&regressed().join("artifact/manifest.json"))["id"]
    );
    // The candidate's model name is "titanic" (the config's file name), so
    // @champion meant titanic@champion.
    assert!(
        v["subject"]["baseline_resolved"]
            .as_str()
            .unwrap()
            .starts_with("titanic:v1 (")
    );
}

#[test]
fn override_outputs_and_github_integration() {
    let dir = scratch("gate-github");
    let p = policy(
        &dir,
        "[gate]\n[[gate.rules]]\nkind = \"threshold\"\nmetric = \"accuracy\"\nmin = 0.9\n\n[[gate.rules]]\nkind = \"threshold\"\nmetric = \"f1_macro\"\nmin = 0.8\n",
    );
    let out = dir.join("out");
    let summary = dir.join("summary.md");
    std::fs::write(&summary, "# earlier step\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args([
            "gate",
            "--report",
            s(base()),
            "--policy",
            s(&p),
            "--out",
            s(&out),
        ])
        .current_dir(root())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("::error title=anneal gate threshold%3Aaccuracy[test]::accuracy 0.868 on test is below the minimum 0.9\n"),
        "{}",
        stdout(&o)
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("# earlier step\n## ❌ anneal gate: FAILED\n"),
        "{md}"
    );
    assert!(md.contains("| ❌ fail | `threshold:accuracy[test]` | 0.868 | >= 0.9 |  | accuracy 0.868 on test is below the minimum 0.9 |"), "{md}");
    let xml = std::fs::read_to_string(out.join("gate.junit.xml")).unwrap();
    assert!(xml.contains("<testsuites name=\"anneal gate\" tests=\"2\" skipped=\"0\" failures=\"1\" errors=\"0\">"), "{xml}");
    assert!(
        xml.contains(
            "<testcase name=\"threshold:f1_macro[test]\" classname=\"anneal.gate.threshold\"/>"
        ),
        "{xml}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("gate.md")).unwrap() + "\n",
        md.trim_start_matches("# earlier step\n")
    );

    // A recorded override passes, keeps the failure listed, and warns.
    let o = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args([
            "gate",
            "--report",
            s(base()),
            "--policy",
            s(&p),
            "--out",
            s(&out),
            "--override-reason",
            "release 2.1 accepted by the model owner",
        ])
        .current_dir(root())
        .env("GITHUB_ACTIONS", "true")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("::warning title=anneal gate threshold%3Aaccuracy[test]::"));
    let v = read_json(&out.join("gate.json"));
    assert_eq!(v["outcome"], "overridden");
    assert_eq!(
        v["override_reason"],
        "release 2.1 accepted by the model owner"
    );
    assert_eq!(v["counts"]["failed"], 1);
}

#[test]
fn policy_in_the_training_config() {
    let dir = scratch("gate-config-policy");
    let config = variant("withgate", |t| {
        t + "\n[gate]\n[[gate.rules]]\nkind = \"threshold\"\nmetric = \"accuracy\"\nmin = 0.8\n"
    });
    let run = dir.join("run");
    train_config(&config, &run);
    let o = gate(&["--report", s(&run.join("report.json"))]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(status_of(&run, "threshold:accuracy[test]"), "pass");
    let v = read_json(&run.join("gate.json"));
    assert!(
        v["subject"]["policy"]
            .as_str()
            .unwrap()
            .ends_with("config.toml [gate]")
    );
    // A run without [gate] and no --policy is a usage error.
    let o = gate(&["--report", s(base())]);
    assert_error(
        &o,
        2,
        &format!(
            "error: no --policy given and {} has no [gate] section; pass --policy gate.toml",
            base().join("artifact/config.toml").display()
        ),
    );
}

#[test]
fn usage_and_input_errors_have_their_exit_codes() {
    let dir = scratch("gate-errors");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let typo = write(
        "typo.toml",
        "[gate]\n[[gate.rules]]\nkind = \"threshold\"\nmetric = \"acuracy\"\nmin = 1\n",
    );
    let o = gate(&["--report", s(base()), "--policy", s(&typo)]);
    assert_error(
        &o,
        2,
        &format!(
            "error: {}:2:8: gate.rules[0]: unknown metric \"acuracy\"; expected one of accuracy, balanced_accuracy, brier, ece, f1_macro, f1_weighted, log_loss, pr_auc, precision_macro, precision_weighted, recall_macro, recall_weighted, roc_auc, mae, mape, median_absolute_error, mse, r2, rmse",
            typo.display()
        ),
    );
    let empty = write("empty.toml", "[gate]\nsplit = \"test\"\n");
    assert_error(
        &gate(&["--report", s(base()), "--policy", s(&empty)]),
        2,
        &format!(
            "error: the gate policy ({}) has no rules; add [[gate.rules]] entries",
            empty.display()
        ),
    );
    let split = write(
        "split.toml",
        "[gate]\nsplit = \"eval\"\n[[gate.rules]]\nkind = \"threshold\"\nmetric = \"accuracy\"\nmin = 0.5\n",
    );
    assert_error(
        &gate(&["--report", s(base()), "--policy", s(&split)]),
        2,
        "error: gate.rules[0]: the report has no split \"eval\" (it has: test, valid); set split = \"...\" in the rule or [gate] split",
    );
    let ok = write(
        "ok.toml",
        "[gate]\n[[gate.rules]]\nkind = \"regression\"\nmetric = \"accuracy\"\n",
    );
    assert_error(
        &gate(&[
            "--report",
            s(base()),
            "--policy",
            s(&ok),
            "--override-reason",
            " ",
        ]),
        2,
        "error: --override-reason needs a reason: say why a failing verdict may pass",
    );
    let missing = dir.join("nowhere");
    assert_error(
        &gate(&["--report", s(&missing), "--policy", s(&ok)]),
        3,
        &format!(
            "error: cannot read report {}: No such file or directory (os error 2)",
            missing.display()
        ),
    );
    // Scoring a baseline artifact on a different file than the candidate's.
    let o = gate(&[
        "--report",
        s(noise()),
        "--policy",
        s(&ok),
        "--baseline",
        s(&base().join("artifact")),
        "--data",
        "datasets/iris.csv",
        "--out",
        s(&dir.join("o")),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("error: data file datasets/iris.csv (sha256 "),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("is not the file the candidate was evaluated on"));
    // A baseline that is neither a path nor a reference.
    assert_error(
        &gate(&[
            "--report",
            s(base()),
            "--policy",
            s(&ok),
            "--baseline",
            "no such thing!",
        ]),
        2,
        "error: baseline \"no such thing!\" is neither an existing path (report.json, run folder, artifact folder or archive) nor a registry reference (@alias, NAME@alias, NAME:vN)",
    );
}
