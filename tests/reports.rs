//! Evaluation reports: what they hold, that they are byte-identical across
//! runs and thread counts, that `anneal eval` scores exactly like `train`,
//! the DVC plot files, and the HTML page as a real browser sees it.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every document of a run that must not change between identical runs.
const DOCUMENTS: &[&str] = &[
    "report.json",
    "metrics.json",
    "report.md",
    "report.html",
    "predictions.csv",
    "plots/loss.csv",
    "plots/test/roc.json",
    "plots/test/precision_recall.json",
    "plots/test/calibration.json",
    "plots/test/confusion.csv",
    "artifact/manifest.json",
    "artifact/model.safetensors",
    "artifact/profile.json",
];

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn train_with_threads(config: &str, out: &Path, threads: Option<&str>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anneal"));
    cmd.args([
        "train",
        "--config",
        config,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ])
    .current_dir(root());
    match threads {
        Some(t) => cmd.env("RAYON_NUM_THREADS", t),
        None => cmd.env_remove("RAYON_NUM_THREADS"),
    };
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn documents_are_byte_identical_across_runs_and_thread_counts() {
    let dir = scratch("report-determinism");
    let runs: Vec<(PathBuf, Option<&str>)> = vec![
        (dir.join("default-a"), None),
        (dir.join("default-b"), None),
        (dir.join("one-thread"), Some("1")),
        (dir.join("three-threads"), Some("3")),
    ];
    for (out, threads) in &runs {
        train_with_threads("configs/titanic.toml", out, *threads);
    }
    for f in DOCUMENTS {
        let first = read(&runs[0].0.join(f));
        assert!(first.len() > 20, "{f} is nearly empty");
        for (out, threads) in &runs[1..] {
            assert!(
                read(&out.join(f)) == first,
                "{f} differs between the default thread count and RAYON_NUM_THREADS={threads:?}"
            );
        }
    }
}

#[test]
fn report_holds_intervals_slices_curves_and_reproducibility() {
    let dir = scratch("report-content");
    let r = train("titanic", &dir.join("run"));
    assert_eq!(r["schema_version"], 2);
    let test = &r["evaluation"]["test"];
    let rows = test["rows"].as_u64().unwrap();
    assert_eq!(rows, 197);

    // Every scalar metric of the split, binary classification.
    let metrics = test["metrics"].as_object().unwrap();
    for m in [
        "accuracy",
        "balanced_accuracy",
        "brier",
        "ece",
        "f1_macro",
        "f1_weighted",
        "log_loss",
        "pr_auc",
        "precision_macro",
        "precision_weighted",
        "recall_macro",
        "recall_weighted",
        "roc_auc",
    ] {
        assert!(metrics.contains_key(m), "no test metric {m}: {metrics:?}");
    }
    assert!(metric(&r, "test", "roc_auc") > 0.85);
    assert!(metric(&r, "test", "pr_auc") > 0.8);
    let ece = metric(&r, "test", "ece");
    assert!((0.0..0.15).contains(&ece), "ece {ece}");

    // Bootstrap intervals bracket the point estimate and are not degenerate.
    assert_eq!(r["evaluation_settings"]["bootstrap"], 1000);
    for m in ["accuracy", "roc_auc", "log_loss", "f1_macro"] {
        let v = metric(&r, "test", m);
        let i = &test["intervals"][m];
        let (lo, hi) = (i["lower"].as_f64().unwrap(), i["upper"].as_f64().unwrap());
        assert!(lo <= v && v <= hi, "{m}: {v} outside [{lo}, {hi}]");
        assert!(
            hi - lo > 0.01 && hi - lo < 0.25,
            "{m}: implausible width [{lo}, {hi}]"
        );
    }

    // Slices: every row in exactly one value; small ones flagged, not hidden.
    let sex = test["slices"]["sex"].as_object().unwrap();
    assert_eq!(sex.keys().collect::<Vec<_>>(), ["female", "male"]);
    let total: u64 = sex.values().map(|s| s["rows"].as_u64().unwrap()).sum();
    assert_eq!(total, rows);
    let pclass = test["slices"]["pclass"].as_object().unwrap();
    assert_eq!(pclass.keys().collect::<Vec<_>>(), ["1st", "2nd", "3rd"]);
    for s in sex.values().chain(pclass.values()) {
        let n = s["rows"].as_u64().unwrap();
        assert_eq!(s["small"].as_bool().unwrap(), n < 30);
        assert!(s["metrics"]["accuracy"].as_f64().is_some());
    }
    // Women survived far more often, and the model knows it: its accuracy
    // differs between the slices.
    assert_ne!(
        sex["female"]["metrics"]["accuracy"],
        sex["male"]["metrics"]["accuracy"]
    );

    // Curves: ROC from (0,0) to (1,1); PR ends at recall 0; calibration bins.
    let roc = &test["curves"]["roc"]["survived"];
    let fpr = roc["fpr"].as_array().unwrap();
    let tpr = roc["tpr"].as_array().unwrap();
    assert_eq!((fpr[0].as_f64(), tpr[0].as_f64()), (Some(0.0), Some(0.0)));
    assert_eq!(
        (fpr.last().unwrap().as_f64(), tpr.last().unwrap().as_f64()),
        (Some(1.0), Some(1.0))
    );
    let pr = &test["curves"]["pr"]["survived"];
    assert_eq!(
        pr["recall"].as_array().unwrap().last().unwrap().as_f64(),
        Some(0.0)
    );
    let cal = &test["curves"]["calibration"]["survived"];
    let counts: u64 = cal["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(counts, rows);

    // Training history and the reproducibility block.
    let history = r["training"]["history"].as_array().unwrap();
    assert_eq!(
        history.len() as u64,
        r["training"]["epochs_run"].as_u64().unwrap()
    );
    let p = &r["reproducibility"];
    assert_eq!(p["seed"], 42);
    assert_eq!(p["backend"], "flex");
    assert_eq!(p["config_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(p["data_sha256"].as_str().unwrap().len(), 64);
    assert!(p["cpu"]["arch"].as_str().is_some());
    assert_eq!(p["versions"]["burn"], "0.22.1");
    let text = String::from_utf8(read(&dir.join("run/report.json"))).unwrap();
    assert!(
        !text.contains("started_at") && !text.contains("seconds"),
        "no timestamps in report.json"
    );
}

#[test]
fn multiclass_and_regression_reports() {
    let dir = scratch("report-kinds");
    let r = train("penguins", &dir.join("penguins"));
    let test = &r["evaluation"]["test"];
    // One-vs-rest curves for each of the three species.
    let roc = test["curves"]["roc"].as_object().unwrap();
    assert_eq!(
        roc.keys().collect::<Vec<_>>(),
        ["Adelie", "Chinstrap", "Gentoo"]
    );
    assert!(test["slices"]["island"].as_object().unwrap().len() == 3);
    // A missing sex is a slice of its own.
    assert!(
        test["slices"]["sex"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| ["female", "male", "(missing)"].contains(&k.as_str()))
    );

    let r = train("diabetes", &dir.join("diabetes"));
    let test = &r["evaluation"]["test"];
    let q = &test["regression"]["residual_quantiles"];
    let (q05, q50, q95) = (
        q["q05"].as_f64().unwrap(),
        q["q50"].as_f64().unwrap(),
        q["q95"].as_f64().unwrap(),
    );
    assert!(q05 < q50 && q50 < q95, "{q}");
    let res = &test["curves"]["residuals"];
    assert_eq!(
        res["predicted"].as_array().unwrap().len() as u64,
        test["rows"].as_u64().unwrap()
    );
    let rmse = &test["intervals"]["rmse"];
    assert!(rmse["lower"].as_f64().unwrap() < metric(&r, "test", "rmse"));
    assert_eq!(
        test["slices"]["sex"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["1", "2"]
    );
    assert!(
        std::fs::read_to_string(dir.join("diabetes/plots/test/residuals.csv"))
            .unwrap()
            .starts_with("predicted,residual\n")
    );
}

#[test]
fn dvc_plot_files_have_the_shapes_dvc_reads() {
    let dir = scratch("report-dvc");
    let out = dir.join("run");
    let r = train("titanic", &out);
    let roc = read_json(&out.join("plots/test/roc.json"));
    let first = &roc["roc"][0];
    assert_eq!(first["class"], "survived");
    assert!(first["fpr"].is_number() && first["tpr"].is_number());
    // scikit-learn's first ROC threshold is +inf: null in JSON.
    assert!(first["threshold"].is_null());
    let prc = read_json(&out.join("plots/test/precision_recall.json"));
    assert!(prc["prc"][0]["precision"].is_number());
    let cal = read_json(&out.join("plots/test/calibration.json"));
    assert!(cal["calibration"][0]["prob_true"].is_number());
    // One line per test row, and the counts make the confusion matrix.
    let confusion = std::fs::read_to_string(out.join("plots/test/confusion.csv")).unwrap();
    let lines: Vec<&str> = confusion.lines().collect();
    assert_eq!(lines[0], "actual,predicted");
    assert_eq!(
        lines.len() as u64 - 1,
        r["evaluation"]["test"]["rows"].as_u64().unwrap()
    );
    let died_as_died = lines.iter().filter(|l| **l == "died,died").count() as u64;
    assert_eq!(
        died_as_died,
        r["evaluation"]["test"]["classification"]["confusion"][0][0]
            .as_u64()
            .unwrap()
    );
    let loss = std::fs::read_to_string(out.join("plots/loss.csv")).unwrap();
    assert!(loss.starts_with("epoch,train_loss,valid_loss,learning_rate\n1,"));
    // metrics.json is the flat split -> metric -> number map DVC diffs.
    let m = read_json(&out.join("metrics.json"));
    assert_eq!(m["test"]["accuracy"], r["metrics"]["test"]["accuracy"]);
    assert!(
        m["test"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v.is_number())
    );
}

/// Writes the rows of `source` whose 1-based data row is in `rows`, header
/// included, to `dest`.
fn subset_csv(source: &Path, rows: &[u64], dest: &Path) {
    let text = std::fs::read_to_string(source).unwrap();
    let mut lines = text.lines();
    let mut out = String::from(lines.next().unwrap());
    out.push('\n');
    let all: Vec<&str> = lines.collect();
    for &r in rows {
        out.push_str(all[(r - 1) as usize]);
        out.push('\n');
    }
    std::fs::write(dest, out).unwrap();
}

#[test]
fn eval_scores_an_artifact_exactly_as_train_scored_its_test_split() {
    let dir = scratch("eval-same");
    let run = dir.join("run");
    let r = train("titanic", &run);
    // The test rows, in the order the run scored them.
    let preds = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    let rows: Vec<u64> = preds
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some("test"))
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(rows.len(), 197);
    let csv = dir.join("test-rows.csv");
    subset_csv(&root().join("datasets/titanic.csv"), &rows, &csv);

    let out = dir.join("eval");
    let o = anneal(&[
        "eval",
        "--artifact",
        run.join("artifact").to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("eval (197 rows): accuracy "),
        "{}",
        stdout(&o)
    );
    let e = read_json(&out.join("report.json"));
    assert_eq!(
        e["metrics"]["eval"], r["metrics"]["test"],
        "same rows, same model: same figures"
    );
    assert_eq!(
        e["evaluation"]["eval"]["classification"]["confusion"],
        r["evaluation"]["test"]["classification"]["confusion"]
    );
    assert_eq!(
        e["evaluation"]["eval"]["curves"],
        r["evaluation"]["test"]["curves"]
    );
    // The slices come from the artifact's config.
    assert_eq!(
        e["evaluation"]["eval"]["slices"]["sex"]["female"]["rows"],
        r["evaluation"]["test"]["slices"]["sex"]["female"]["rows"]
    );
    assert_eq!(e["artifact_id"], r["artifact_id"]);
    assert!(e.get("training").is_none());
    assert_eq!(e["data"]["rows"]["eval"], 197);
    for f in [
        "metrics.json",
        "report.md",
        "report.html",
        "predictions.csv",
        "run.json",
        "plots/eval/roc.json",
        "plots/eval/confusion.csv",
    ] {
        assert!(out.join(f).is_file(), "eval wrote no {f}");
    }
    let m = read_json(&out.join("metrics.json"));
    assert!(m["eval"]["accuracy"].is_number());

    // Same inputs, same bytes; --slice overrides the config's slices.
    let again = dir.join("eval-again");
    let o = anneal(&[
        "eval",
        "--artifact",
        run.join("artifact").to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    for f in ["report.json", "metrics.json", "report.md", "report.html"] {
        assert!(
            read(&out.join(f)) == read(&again.join(f)),
            "{f} differs between two evals"
        );
    }
    let sliced = dir.join("eval-sliced");
    let o = anneal(&[
        "eval",
        "--artifact",
        run.join("artifact").to_str().unwrap(),
        "--data",
        "datasets/titanic.csv",
        "--out",
        sliced.to_str().unwrap(),
        "--slice",
        "parch",
        "--bootstrap",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = read_json(&sliced.join("report.json"));
    let ev = &s["evaluation"]["eval"];
    assert_eq!(ev["rows"], 1309);
    assert!(
        ev.get("intervals").is_none(),
        "--bootstrap 0 turns the intervals off"
    );
    assert_eq!(
        ev["slices"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["parch"]
    );
    assert!(ev["slices"]["parch"]["9"]["small"].as_bool().unwrap());
}

#[test]
fn eval_refuses_bad_inputs_with_one_clear_line() {
    let dir = scratch("eval-bad");
    let run = dir.join("run");
    train("iris", &run);
    let artifact = run.join("artifact");
    let art = artifact.to_str().unwrap();

    let no_target = dir.join("no-target.csv");
    std::fs::write(
        &no_target,
        "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n5.1,3.5,1.4,0.2\n",
    )
    .unwrap();
    let o = anneal(&[
        "eval",
        "--artifact",
        art,
        "--data",
        no_target.to_str().unwrap(),
        "--out",
        dir.join("o1").to_str().unwrap(),
    ]);
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: no column \"species\" (the target the model was trained on); the columns are: sepal length (cm), sepal width (cm), petal length (cm), petal width (cm)",
            no_target.display()
        ),
    );

    let unseen = dir.join("unseen.csv");
    std::fs::write(&unseen, "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm),species\n5.1,3.5,1.4,0.2,setosa\n6.0,3.0,4.0,1.0,dahlia\n").unwrap();
    let o = anneal(&[
        "eval",
        "--artifact",
        art,
        "--data",
        unseen.to_str().unwrap(),
        "--out",
        dir.join("o2").to_str().unwrap(),
    ]);
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: row 2: target \"species\" holds \"dahlia\", a class the model was not trained on (it knows \"setosa\", \"versicolor\", \"virginica\")",
            unseen.display()
        ),
    );

    let o = anneal(&[
        "eval",
        "--artifact",
        art,
        "--data",
        "datasets/iris.csv",
        "--out",
        dir.join("o3").to_str().unwrap(),
        "--slice",
        "colour",
    ]);
    assert_error(
        &o,
        3,
        "error: datasets/iris.csv: no column \"colour\" (eval.slices); the columns are: sepal length (cm), sepal width (cm), petal length (cm), petal width (cm), species",
    );

    let o = anneal(&[
        "eval",
        "--artifact",
        art,
        "--data",
        "datasets/iris.csv",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_error(
        &o,
        2,
        &format!(
            "error: run folder {} already exists; pass --force to replace it or choose another --out",
            run.display()
        ),
    );

    let o = anneal(&[
        "eval",
        "--artifact",
        dir.to_str().unwrap(),
        "--data",
        "datasets/iris.csv",
        "--out",
        dir.join("o4").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(!dir.join("o1").exists() && !dir.join("o2").exists() && !dir.join("o3").exists());
}

#[test]
fn eval_config_mistakes_point_at_their_line() {
    let dir = scratch("eval-config");
    let config = dir.join("bad.toml");
    let data = root().join("datasets/iris.csv");
    for (eval, line) in [
        (
            "slices = [\"species\"]",
            "6:1: eval.slices[0]: \"species\" is the target; slice by an input column",
        ),
        (
            "confidence = 1.5",
            "6:1: eval.confidence: must be in (0, 1), got 1.5",
        ),
        (
            "bootstrap = -1",
            "6:13: eval.bootstrap: invalid value: integer `-1`, expected u32",
        ),
        (
            "slice = [\"sex\"]",
            "6:1: eval.slice: unknown field `slice`, expected one of `slices`, `min_slice_rows`, `bootstrap`, `confidence`, `calibration_bins`",
        ),
    ] {
        std::fs::write(
            &config,
            format!(
                "[data]\npath = \"{}\"\ntarget = \"species\"\n\n[eval]\n{eval}\n",
                data.display()
            ),
        )
        .unwrap();
        let o = anneal(&["config", "--config", config.to_str().unwrap()]);
        assert_error(&o, 2, &format!("error: {}:{line}", config.display()));
    }
}

/// The path of Debian's Chromium, when installed.
fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

fn headless(chrome: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chrome);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The HTML report as Chromium parses it: every plot is in the DOM as an
/// SVG with drawn content, and a screenshot is written next to the report
/// for people to look at. Without Chromium the test says so and passes,
/// unless ANNEAL_REQUIRE_CHROMIUM is set (as `.ci/run` does after
/// installing it).
#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(chrome) = chromium() else {
        assert!(
            std::env::var_os("ANNEAL_REQUIRE_CHROMIUM").is_none(),
            "ANNEAL_REQUIRE_CHROMIUM is set but no chromium is installed"
        );
        eprintln!("chromium is not installed: the browser check of report.html is skipped");
        return;
    };
    let dir = scratch("report-html");
    for (config, expected) in [
        (
            "titanic",
            &[
                "plot-loss",
                "plot-confusion",
                "plot-roc",
                "plot-pr",
                "plot-calibration",
                "plot-slice-sex",
                "plot-slice-pclass",
            ][..],
        ),
        (
            "diabetes",
            &["plot-loss", "plot-residuals", "plot-slice-sex"][..],
        ),
    ] {
        let out = dir.join(config);
        train(config, &out);
        let html = out.join("report.html");
        let text = std::fs::read_to_string(&html).unwrap();
        assert!(!text.contains("<script"), "no JavaScript");
        for remote in ["src=\"http", "href=\"http", "url(http", "@import"] {
            assert!(
                !text.contains(remote),
                "{config}: report.html loads {remote}..."
            );
        }
        let o = headless(&chrome, &dir.join(format!("profile-dom-{config}")))
            .arg("--dump-dom")
            .arg(format!("file://{}", html.display()))
            .output()
            .unwrap();
        let dom = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && dom.contains("</html>"),
            "chromium failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        for id in expected {
            let at = dom
                .find(&format!("id=\"{id}\""))
                .unwrap_or_else(|| panic!("{config}: no {id} in the rendered page"));
            let figure = &dom[at..];
            let end = figure.find("</figure>").unwrap();
            let figure = &figure[..end];
            assert!(figure.contains("<svg"), "{config}: {id} has no SVG");
            assert!(
                figure.matches("<path").count()
                    + figure.matches("<rect").count()
                    + figure.matches("<polyline").count()
                    + figure.matches("<circle").count()
                    > 5,
                "{config}: {id} draws nothing"
            );
        }
        let png = out.join("report.png");
        let o = headless(&chrome, &dir.join(format!("profile-png-{config}")))
            .arg("--window-size=1200,5000")
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", html.display()))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let bytes = std::fs::read(&png).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 50_000,
            "{config}: a blank screenshot"
        );
    }
}

/// The JSON value of `text`, and of `value` serialised: equal when a
/// typed reader kept every field and figure. (serde_json's float parser
/// may land one unit in the last place off the written digits; both sides
/// go through it, so only what the reader itself loses shows.)
fn same_json(value: serde_json::Value, text: &str) -> bool {
    let read: serde_json::Value = serde_json::from_str(text).unwrap();
    value == read
}

#[test]
fn every_file_of_a_run_reads_back_through_its_reader() {
    let dir = scratch("report-readers");
    for name in ["titanic", "diabetes"] {
        let out = dir.join(name);
        train(name, &out);
        let text = |f: &str| String::from_utf8(read(&out.join(f))).unwrap();
        let report = anneal_report::Report::read(&out.join("report.json")).unwrap();
        assert!(
            same_json(serde_json::to_value(&report).unwrap(), &text("report.json")),
            "{name}"
        );
        let history = anneal_report::metrics_csv::read(&out.join("metrics.csv")).unwrap();
        assert_eq!(
            anneal_report::metrics_csv::render(&history),
            text("metrics.csv")
        );
        let trained = &report.training.as_ref().unwrap().history;
        assert_eq!(
            history.iter().map(|e| e.epoch).collect::<Vec<_>>(),
            trained.iter().map(|e| e.epoch).collect::<Vec<_>>()
        );
        let run = anneal_report::RunInfo::read(&out.join("run.json")).unwrap();
        assert!(same_json(
            serde_json::to_value(&run).unwrap(),
            &text("run.json")
        ));
        assert!(run.data_path.is_some() && run.config_path.is_some());
        assert_eq!(run.resumed, Some(false));
        for (split, ev) in &report.evaluation {
            let rows = anneal_report::predictions_csv::read_split(
                &out.join("predictions.csv"),
                split,
                report.labels.as_deref(),
            )
            .unwrap();
            assert_eq!(rows.rows.len() as u64, ev.rows, "{name} {split}");
            assert_eq!(rows.scored.len() as u64, ev.rows, "{name} {split}");
        }
        let manifest = anneal_artifact::Manifest::read(&out.join("artifact")).unwrap();
        assert!(same_json(
            serde_json::to_value(&manifest).unwrap(),
            &text("artifact/manifest.json")
        ));
        assert_eq!(Some(manifest.id), report.artifact_id);
    }
}
