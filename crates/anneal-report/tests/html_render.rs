//! `report.html` on realistic synthetic reports: metrics, curves and slices
//! computed by `anneal-eval` itself from seeded fake predictions.
//!
//! Set `ANNEAL_HTML_OUT=<dir>` to also write the pages there, for looking at
//! them in a browser (`classification.html`, `binary.html`,
//! `regression.html`).

use std::collections::BTreeMap;

use anneal_data::stats::{ColumnInfo, DataStats, RowCounts, SourceInfo};
use anneal_eval::bootstrap;
use anneal_eval::curves::{calibration_curve, pr_curve, roc_curve};
use anneal_eval::metrics::{classification, regression};
use anneal_eval::{Curves, EvalSettings, Evaluation, Residuals, SliceEval};
use anneal_model::{Architecture, EpochLog};
use anneal_report::html::render_html;
use anneal_report::{CpuInfo, ModelSummary, Report, Reproducibility, TrainingSummary};

/// A small deterministic generator (SplitMix64), so the pages never change.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn settings() -> EvalSettings {
    EvalSettings {
        bootstrap: 200,
        confidence: 0.95,
        calibration_bins: 10,
        min_slice_rows: 30,
        seed: 42,
    }
}

fn owned(m: BTreeMap<&'static str, f64>) -> BTreeMap<String, f64> {
    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The drawn rows of a bootstrap resample given as multiplicities.
fn expand(counts: &[u32]) -> Vec<usize> {
    counts
        .iter()
        .enumerate()
        .flat_map(|(i, &c)| std::iter::repeat_n(i, c as usize))
        .collect()
}

fn class_scorer<'a>(
    y: &'a [usize],
    proba: &'a [f64],
    k: usize,
) -> impl Fn(&[u32]) -> BTreeMap<&'static str, f64> + Sync + 'a {
    move |counts: &[u32]| {
        let idx = &expand(counts);
        let yy: Vec<usize> = idx.iter().map(|&i| y[i]).collect();
        let pp: Vec<f64> = idx
            .iter()
            .flat_map(|&i| proba[i * k..(i + 1) * k].to_vec())
            .collect();
        classification(&yy, &pp, k).scalars()
    }
}

fn class_eval(
    y: &[usize],
    proba: &[f64],
    k: usize,
    labels: &[String],
    regions: &[String],
    name: &str,
) -> Evaluation {
    let s = settings();
    let m = classification(y, proba, k);
    let mut curves = Curves::default();
    let classes: Vec<usize> = if k == 2 { vec![1] } else { (0..k).collect() };
    for c in classes {
        let positive: Vec<bool> = y.iter().map(|&t| t == c).collect();
        let score: Vec<f64> = proba.chunks_exact(k).map(|row| row[c]).collect();
        if let Some(r) = roc_curve(&positive, &score) {
            curves.roc.insert(labels[c].clone(), r);
        }
        if let Some(p) = pr_curve(&positive, &score) {
            curves.pr.insert(labels[c].clone(), p);
        }
        curves.calibration.insert(
            labels[c].clone(),
            calibration_curve(&positive, &score, s.calibration_bins),
        );
    }
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in regions.iter().enumerate() {
        groups.entry(r.clone()).or_default().push(i);
    }
    let slices = groups
        .into_iter()
        .map(|(value, idx)| {
            let yy: Vec<usize> = idx.iter().map(|&i| y[i]).collect();
            let pp: Vec<f64> = idx
                .iter()
                .flat_map(|&i| proba[i * k..(i + 1) * k].to_vec())
                .collect();
            let scorer = class_scorer(&yy, &pp, k);
            let intervals = bootstrap::intervals(
                yy.len(),
                s.bootstrap,
                s.confidence,
                s.seed,
                &format!("{name}/{value}"),
                &scorer,
            );
            let eval = SliceEval {
                rows: idx.len() as u64,
                small: (idx.len() as u64) < s.min_slice_rows,
                metrics: owned(classification(&yy, &pp, k).scalars()),
                intervals,
            };
            (value, eval)
        })
        .collect();
    let scorer = class_scorer(y, proba, k);
    Evaluation {
        rows: y.len() as u64,
        metrics: owned(m.scalars()),
        intervals: bootstrap::intervals(y.len(), s.bootstrap, s.confidence, s.seed, name, &scorer),
        classification: Some(m),
        regression: None,
        curves,
        slices: BTreeMap::from([("region".to_string(), slices)]),
    }
}

fn regions(g: &mut Gen, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let u = g.uniform();
            if u < 0.45 {
                "north"
            } else if u < 0.8 {
                "south"
            } else if u < 0.97 {
                "east & <west>"
            } else {
                "island"
            }
            .to_string()
        })
        .collect()
}

fn data(path: &str, classes: &BTreeMap<String, [u64; 3]>, target: &str) -> DataStats {
    let col = |name: &str, role: &str, kind: Option<&str>, dtype: &str, missing: u64| ColumnInfo {
        name: name.into(),
        role: role.into(),
        kind: kind.map(str::to_string),
        dtype: dtype.into(),
        missing,
    };
    DataStats {
        source: SourceInfo {
            path: path.into(),
            format: "csv".into(),
            sha256: "3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a".into(),
            logical_sha256: "7c1e".repeat(16),
            bytes: 1_482_113,
        },
        rows: RowCounts {
            read: 3_050,
            missing_target: 12,
            filtered: 0,
            duplicates: 38,
            repeated: 0,
            used: 3_000,
            train: 1_800,
            valid: 600,
            test: 600,
            eval: 0,
        },
        columns: vec![
            col("sepal_length", "feature", Some("numeric"), "f64", 0),
            col("sepal_width", "feature", Some("numeric"), "f64", 4),
            col("region", "feature", Some("categorical"), "str", 17),
            col("is_wild", "feature", Some("boolean"), "bool", 0),
            col("row_id", "id", None, "i64", 0),
            col(target, "target", None, "str", 0),
        ],
        class_counts: classes.clone(),
    }
}

fn history(epochs: u32) -> Vec<EpochLog> {
    (1..=epochs)
        .map(|e| {
            let t = f64::from(e);
            EpochLog {
                epoch: e,
                learning_rate: 0.01 * 0.95f64.powi(e as i32),
                train_loss: 0.25 + 0.9 * (-t / 6.0).exp(),
                valid_loss: Some(0.31 + 0.85 * (-t / 6.0).exp() + 0.002 * t),
                valid_metric: Some(0.9 - 0.5 * (-t / 5.0).exp()),
            }
        })
        .collect()
}

fn repro() -> Reproducibility {
    Reproducibility {
        config_sha256: "9b1c".repeat(16),
        data_sha256: "3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a".into(),
        seed: 42,
        backend: "flex".into(),
        bit_reproducible: true,
        versions: BTreeMap::from([
            ("anneal".to_string(), "0.1.0".to_string()),
            ("burn".to_string(), "0.22.1".to_string()),
            ("polars".to_string(), "0.55.2".to_string()),
            ("rustc".to_string(), "1.95.0".to_string()),
        ]),
        git_commit: Some("4e1d0c7b9a2f3e5d6c8b7a9f0e1d2c3b4a5f6e7d".into()),
        cpu: CpuInfo {
            arch: "x86_64".into(),
            features: vec!["sse4.2".into(), "avx".into(), "avx2".into(), "fma".into()],
        },
    }
}

fn model(inputs: usize, hidden: &[usize], outputs: usize, names: &[&str]) -> ModelSummary {
    let architecture: Architecture = serde_json::from_value(serde_json::json!({
        "inputs": inputs, "hidden": hidden, "outputs": outputs, "activation": "relu"
    }))
    .expect("architecture");
    ModelSummary {
        kind: if hidden.is_empty() { "linear" } else { "mlp" }.into(),
        parameters: architecture.parameter_count(),
        architecture,
        input_names: names.iter().map(|s| s.to_string()).collect(),
    }
}

/// Fake class probabilities: a softmax of noisy logits favouring the truth.
fn fake_proba(g: &mut Gen, n: usize, k: usize, skill: f64) -> (Vec<usize>, Vec<f64>) {
    let mut y = Vec::with_capacity(n);
    let mut proba = Vec::with_capacity(n * k);
    for _ in 0..n {
        let t = (g.uniform() * k as f64) as usize % k;
        let logits: Vec<f64> = (0..k)
            .map(|c| g.normal() * 1.1 + if c == t { skill } else { 0.0 })
            .collect();
        let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        y.push(t);
        proba.extend(e.iter().map(|v| v / sum));
    }
    (y, proba)
}

fn classification_report(k: usize, labels: &[&str], target: &str) -> Report {
    let mut g = Gen(7 + k as u64);
    let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
    let mut evaluation = BTreeMap::new();
    for (split, n) in [("valid", 600usize), ("test", 600)] {
        let (y, proba) = fake_proba(&mut g, n, k, 2.2);
        let reg = regions(&mut g, n);
        evaluation.insert(
            split.to_string(),
            class_eval(&y, &proba, k, &labels, &reg, split),
        );
    }
    let metrics = evaluation
        .iter()
        .map(|(k, e): (&String, &Evaluation)| (k.clone(), e.metrics.clone()))
        .collect();
    let classes = labels
        .iter()
        .map(|l| (l.clone(), [600, 200, 200]))
        .collect();
    Report {
        schema_version: anneal_report::SCHEMA_VERSION,
        task: if k == 2 { "binary" } else { "multiclass" }.into(),
        target: target.into(),
        labels: Some(labels),
        metrics,
        baseline: BTreeMap::new(),
        lift: BTreeMap::new(),
        evaluation,
        evaluation_settings: settings(),
        data: data("data/iris_extended.csv", &classes, target),
        model: model(
            5,
            &[32, 16],
            k,
            &[
                "sepal_length",
                "sepal_width",
                "region=north",
                "region=south",
                "is_wild",
            ],
        ),
        training: Some(TrainingSummary {
            epochs_run: 24,
            best_epoch: Some(19),
            stopped_early: true,
            steps: 24 * 57,
            monitor: Some("valid_accuracy".into()),
            history: history(24),
        }),
        reproducibility: repro(),
        artifact_id: Some("iris-mlp-7c3e91d2a4b5".into()),
    }
}

fn regression_report() -> Report {
    let mut g = Gen(99);
    let n = 800;
    let x: Vec<f64> = (0..n).map(|_| g.uniform() * 10.0).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|&v| 3.0 + 2.0 * v + 0.15 * v * v + g.normal() * (1.0 + 0.2 * v))
        .collect();
    let pred: Vec<f64> = x.iter().map(|&v| 2.2 + 3.4 * v).collect();
    let reg = regions(&mut g, n);
    let s = settings();
    let scorer = |counts: &[u32]| {
        let idx = &expand(counts);
        let yy: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
        let pp: Vec<f64> = idx.iter().map(|&i| pred[i]).collect();
        regression(&yy, &pp).scalars()
    };
    let m = regression(&y, &pred);
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in reg.iter().enumerate() {
        groups.entry(r.clone()).or_default().push(i);
    }
    let slices = groups
        .into_iter()
        .map(|(value, idx)| {
            let yy: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
            let pp: Vec<f64> = idx.iter().map(|&i| pred[i]).collect();
            let sc = |counts: &[u32]| {
                let j = &expand(counts);
                let a: Vec<f64> = j.iter().map(|&i| yy[i]).collect();
                let b: Vec<f64> = j.iter().map(|&i| pp[i]).collect();
                regression(&a, &b).scalars()
            };
            let intervals =
                bootstrap::intervals(yy.len(), s.bootstrap, s.confidence, s.seed, &value, &sc);
            let e = SliceEval {
                rows: idx.len() as u64,
                small: (idx.len() as u64) < s.min_slice_rows,
                metrics: owned(regression(&yy, &pp).scalars()),
                intervals,
            };
            (value, e)
        })
        .collect();
    let e = Evaluation {
        rows: n as u64,
        metrics: owned(m.scalars()),
        intervals: bootstrap::intervals(n, s.bootstrap, s.confidence, s.seed, "test", &scorer),
        classification: None,
        regression: Some(m),
        curves: Curves {
            residuals: Some(Residuals {
                predicted: pred.clone(),
                residual: y.iter().zip(&pred).map(|(a, b)| a - b).collect(),
            }),
            ..Curves::default()
        },
        slices: BTreeMap::from([("region".to_string(), slices)]),
    };
    let metrics = BTreeMap::from([("test".to_string(), e.metrics.clone())]);
    Report {
        schema_version: anneal_report::SCHEMA_VERSION,
        task: "regression".into(),
        target: "price_usd".into(),
        labels: None,
        metrics,
        baseline: BTreeMap::new(),
        lift: BTreeMap::new(),
        evaluation: BTreeMap::from([("test".to_string(), e)]),
        evaluation_settings: settings(),
        data: data("data/houses.parquet", &BTreeMap::new(), "price_usd"),
        model: model(
            5,
            &[],
            1,
            &[
                "sepal_length",
                "sepal_width",
                "region=north",
                "region=south",
                "is_wild",
            ],
        ),
        training: None,
        reproducibility: repro(),
        artifact_id: None,
    }
}

fn write_out(name: &str, html: &str) {
    if let Some(dir) = std::env::var_os("ANNEAL_HTML_OUT") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("output folder");
        std::fs::write(dir.join(name), html).expect("write page");
    }
}

fn figures(html: &str) -> Vec<String> {
    html.match_indices("<figure id=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_string()
        })
        .collect()
}

fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    for bad in [
        "<script", "http://", "https://", "src=", "@import", "url(", "<link",
    ] {
        assert!(!html.contains(bad), "page contains {bad}");
    }
    assert_eq!(
        html.matches("<figure").count(),
        html.matches("<figcaption>").count()
    );
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert!(!html.contains("NaN"));
}

#[test]
fn multiclass_page() {
    let r = classification_report(
        3,
        &["Iris-setosa", "Iris-versicolor", "Iris-virginica"],
        "species",
    );
    let html = render_html(&r).expect("render");
    assert_self_contained(&html);
    assert_eq!(
        figures(&html),
        [
            "plot-loss",
            "plot-confusion",
            "plot-roc",
            "plot-pr",
            "plot-calibration",
            "plot-slice-region"
        ]
    );
    assert!(html.contains("Iris-versicolor"));
    assert!(html.contains("(n="), "slice bar labels carry the row count");
    assert!(html.contains("small)"), "the island slice is small");
    assert_eq!(html, render_html(&r.clone()).expect("render"));
    write_out("classification.html", &html);
}

#[test]
fn binary_page() {
    let r = classification_report(2, &["no", "yes"], "churned");
    let html = render_html(&r).expect("render");
    assert_self_contained(&html);
    assert_eq!(figures(&html).len(), 6);
    write_out("binary.html", &html);
}

#[test]
fn regression_page() {
    let r = regression_report();
    let html = render_html(&r).expect("render");
    assert_self_contained(&html);
    assert_eq!(figures(&html), ["plot-residuals", "plot-slice-region"]);
    assert!(html.contains("east &amp; &lt;west&gt;"));
    write_out("regression.html", &html);
}

#[test]
fn many_classes_and_long_labels() {
    let labels: Vec<String> = (0..12)
        .map(|i| format!("a rather long class label number {i}"))
        .collect();
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let mut r = classification_report(12, &refs, "category");
    // A high-cardinality slicing column with long values and a negative
    // metric, past the most bars a chart draws.
    let test = r.evaluation.get_mut("test").expect("test split");
    let template = test.slices["region"]["north"].clone();
    let mut g = Gen(5);
    let cities: BTreeMap<String, SliceEval> = (0..45)
        .map(|i| {
            let mut s = template.clone();
            s.rows = 5 + (g.uniform() * 80.0) as u64;
            s.small = s.rows < 30;
            let v = g.uniform() * 1.4 - 0.3;
            s.metrics.insert("accuracy".into(), v);
            s.intervals.insert(
                "accuracy".into(),
                anneal_eval::Interval {
                    lower: v - 0.1,
                    upper: v + 0.08,
                },
            );
            (
                format!("Municipality of Some Very Long Place Name {i:02}"),
                s,
            )
        })
        .collect();
    test.slices.insert("city of residence".into(), cities);
    let html = render_html(&r).expect("render");
    assert!(html.contains("id=\"plot-slice-city-of-residence\""));
    assert_self_contained(&html);
    write_out("many_classes.html", &html);
}
