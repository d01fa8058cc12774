//! What a user who writes only `[data] path` and `target` gets: a model
//! that beats the prior, stopped early at its best validation epoch, with
//! the baseline in every report, and the defaults spelled out by
//! `anneal config --resolved`.

mod common;
use common::*;
use std::path::Path;

/// Trains a config naming `datasets/<data>` and `target`, with `extra`
/// TOML after them, into `<scratch name>/run`.
fn train_with(
    name: &str,
    data: &str,
    target: &str,
    extra: &str,
) -> (serde_json::Value, std::path::PathBuf, String) {
    train_on(
        &scratch(name),
        &root().join("datasets").join(data),
        target,
        extra,
    )
}

/// Trains a config naming `path` and `target`, with `extra` TOML after
/// them, into `d/run`.
fn train_on(
    d: &Path,
    path: &Path,
    target: &str,
    extra: &str,
) -> (serde_json::Value, std::path::PathBuf, String) {
    let name = d.display();
    let cfg = d.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[data]\npath = {:?}\ntarget = {target:?}\n{extra}",
            path.display().to_string()
        ),
    )
    .unwrap();
    let out = d.join("run");
    let o = anneal(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{name}: {}", stderr(&o));
    (read_json(&out.join("report.json")), out, stderr(&o))
}

/// Trains a config that names only the data and the target.
fn minimal(
    name: &str,
    data: &str,
    target: &str,
) -> (serde_json::Value, std::path::PathBuf, String) {
    train_with(name, data, target, "")
}

fn baseline(report: &serde_json::Value, name: &str) -> f64 {
    report["baseline"]["test"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no baseline.test.{name}"))
}

/// LightGBM with its defaults reaches 84.5 % on these rows (benches/compare
/// quality.py); the prior (always "No") 83.8 %.
#[test]
fn attrition_minimal_config_beats_the_prior() {
    let (r, out, _) = minimal("attrition", "attrition.csv", "Attrition");
    let acc = metric(&r, "test", "accuracy");
    assert!(acc >= 0.845, "accuracy {acc}");
    let (ll, prior) = (metric(&r, "test", "log_loss"), baseline(&r, "log_loss"));
    assert!(ll < prior, "log loss {ll} is not below the prior's {prior}");
    let lift = r["lift"]["test"]["accuracy"].as_f64().unwrap();
    assert!((lift - (acc - baseline(&r, "accuracy"))).abs() < 1e-12);
    // Early stopping on the validation loss, the best epoch restored.
    let t = &r["training"];
    let best = t["best_epoch"].as_u64().unwrap();
    assert!(best < t["epochs_run"].as_u64().unwrap(), "{t}");
    assert_eq!(r["model"]["kind"], "mlp");
    // Numeric columns carry their piecewise-linear encoding.
    let names = r["model"]["input_names"].as_array().unwrap();
    assert!(names.iter().any(|n| n == "Age__bin0"), "{names:?}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Against the baseline on `test`"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains(">baseline</th><th class=\"n\">lift</th>"));

    // `anneal eval` takes the prior from the artifact's training profile:
    // on the whole file, always "No" is right for 1,233 of 1,470 rows.
    let ev = out.parent().unwrap().join("eval");
    let o = anneal(&[
        "eval",
        "--artifact",
        out.join("artifact").to_str().unwrap(),
        "--data",
        root().join("datasets/attrition.csv").to_str().unwrap(),
        "--out",
        ev.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = read_json(&ev.join("report.json"));
    let prior = e["baseline"]["eval"]["accuracy"].as_f64().unwrap();
    assert!((prior - 1233.0 / 1470.0).abs() < 1e-12, "{prior}");
    assert!(e["lift"]["eval"]["accuracy"].as_f64().unwrap() > 0.0);
}

#[test]
fn regression_minimal_config_beats_the_mean() {
    let (r, _, _) = minimal("diabetes", "diabetes.csv", "disease_progression");
    let r2 = metric(&r, "test", "r2");
    let prior = baseline(&r, "r2");
    assert!(
        prior <= 0.0 && prior > -0.1,
        "the mean's R² is about 0, got {prior}"
    );
    assert!(r2 > 0.35, "r2 {r2}");
    assert!(metric(&r, "test", "rmse") < baseline(&r, "rmse"));
}

/// Exact duplicates are kept by default, with a warning above 1 %; with
/// `drop_duplicates = true` the run says how many it removed.
#[test]
fn duplicates_are_kept_and_counted() {
    let d = scratch("dups");
    let mut csv = String::from("x,z,y\n");
    for i in 0..200 {
        // Rows 100.. repeat rows 0..100 (legitimately, say).
        let j = i % 100;
        csv.push_str(&format!(
            "{j},{},{}\n",
            j % 7,
            if j % 2 == 0 { "a" } else { "b" }
        ));
    }
    std::fs::write(d.join("data.csv"), csv).unwrap();
    let base = "[data]\npath = \"data.csv\"\ntarget = \"y\"\n[train]\nepochs = 2\n";
    std::fs::write(d.join("keep.toml"), base).unwrap();
    let run = |cfg: &str, out: &str| {
        let o = anneal(&[
            "train",
            "--config",
            d.join(cfg).to_str().unwrap(),
            "--out",
            d.join(out).to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (read_json(&d.join(out).join("report.json")), stderr(&o))
    };
    let (r, err) = run("keep.toml", "keep");
    assert_eq!(r["data"]["rows"]["used"], 200);
    assert_eq!(r["data"]["rows"]["repeated"], 100);
    assert!(
        err.contains("anneal: warning: 100 of 200 rows (50.0 %) repeat an earlier row exactly; they are kept (set data.clean.drop_duplicates = true to remove them)"),
        "{err}"
    );
    std::fs::write(
        d.join("drop.toml"),
        base.replace("[train]", "[data.clean]\ndrop_duplicates = true\n[train]"),
    )
    .unwrap();
    let (r, err) = run("drop.toml", "drop");
    assert_eq!(r["data"]["rows"]["used"], 100);
    assert_eq!(r["data"]["rows"]["duplicates"], 100);
    assert!(
        err.contains(
            "anneal: removed 100 exact duplicate rows (data.clean.drop_duplicates = true)"
        ),
        "{err}"
    );
    assert!(!err.contains("warning"), "{err}");
}

/// `config --resolved` shows the defaults, the data-size rules applied.
#[test]
fn resolved_config_shows_the_data_size_rules() {
    let d = scratch("resolved");
    let path = root().join("datasets/attrition.csv");
    let cfg = d.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[data]\npath = {:?}\ntarget = \"Attrition\"\n",
            path.display().to_string()
        ),
    )
    .unwrap();
    let o = anneal(&["config", "--resolved", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    // 1,470 rows, 70 % of them (1,029) in training: batch 32, 200 epochs.
    for key in [
        "kind = \"mlp\"",
        "hidden = [256, 256]",
        "numeric_embedding = \"piecewise_linear\"",
        "bins = 32",
        "dropout = 0.1",
        "optimizer = \"adamw\"",
        "weight_decay = 0.0001",
        "grad_clip = 1.0",
        "epochs = 200",
        "batch_size = 32",
        "drop_duplicates = false",
        "[train.early_stopping]\nenabled = true\nmetric = \"loss\"\npatience = 16",
        // Every categorical column of attrition has fewer than 16 slots.
        "# categorical columns one-hot: BusinessTravel (5 slots), Department (5 slots)",
    ] {
        assert!(text.contains(key), "missing {key:?} in:\n{text}");
    }
}

/// Both ensemble kinds train, predict and reload (golden examples) on a
/// real table, and their test log loss beats the prior's.
#[test]
fn tabm_kinds_train_and_predict() {
    for kind in ["tabm", "tabm_mini"] {
        let extra =
            format!("[model]\nkind = \"{kind}\"\nk = 4\nhidden = [64]\n[train]\nepochs = 15\n");
        let (r, out, _) = train_with(
            &format!("kind-{kind}"),
            "breast_cancer.csv",
            "diagnosis",
            &extra,
        );
        let d = out.parent().unwrap().to_path_buf();
        let path = root().join("datasets/breast_cancer.csv");
        assert_eq!(r["model"]["kind"], kind);
        assert_eq!(r["model"]["architecture"]["ensemble"]["k"], 4);
        assert!(metric(&r, "test", "accuracy") > 0.93, "{kind}");
        assert!(metric(&r, "test", "log_loss") < baseline(&r, "log_loss"));
        let text = predict(&out, &path, &d.join("p.csv"));
        assert_eq!(text.lines().count(), 570, "{kind}");
        // Probabilities are the members' mean: they still sum to 1.
        for line in text.lines().skip(1).take(20) {
            let p: Vec<f64> = line
                .split(',')
                .skip(1)
                .map(|v| v.parse().unwrap())
                .collect();
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{line}");
        }
        verify_bit_for_bit(&out);
    }
}

/// `anneal predict` with the run's artifact on `input`, into `output`:
/// the file's text.
fn predict(run: &Path, input: &Path, output: &Path) -> String {
    let o = anneal(&[
        "predict",
        "--artifact",
        run.join("artifact").to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::read_to_string(output).unwrap()
}

/// `anneal verify` trains the run again and finds every hash equal.
fn verify_bit_for_bit(run: &Path) {
    let o = anneal(&["verify", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

/// Periodic embeddings (PLR) of the numeric columns: diabetes reaches the
/// R² of scikit-learn's LinearRegression (0.45) where the default encoding
/// gets 0.39; with an ensemble on top too, and bit for bit again.
#[test]
fn periodic_embeddings_train_and_verify() {
    let (r, out, _) = train_with(
        "periodic",
        "diabetes.csv",
        "disease_progression",
        "[model]\nnumeric_embedding = \"periodic\"\n",
    );
    assert!(
        metric(&r, "test", "r2") > 0.43,
        "{}",
        metric(&r, "test", "r2")
    );
    let p = &r["model"]["architecture"]["periodic"];
    // Every column is numeric (`sex` is coded 1/2), so all 10 are embedded.
    assert_eq!(p["columns"].as_array().unwrap().len(), 10, "{p}");
    verify_bit_for_bit(&out);
    let (r, out, _) = train_with(
        "periodic-tabm",
        "breast_cancer.csv",
        "diagnosis",
        "[model]\nkind = \"tabm_mini\"\nk = 4\nhidden = [64]\nnumeric_embedding = \"periodic\"\n[train]\nepochs = 15\n",
    );
    assert!(metric(&r, "test", "accuracy") > 0.93);
    assert!(metric(&r, "test", "log_loss") < baseline(&r, "log_loss"));
    verify_bit_for_bit(&out);
}

/// Learned categorical embeddings: `pclass` (3 classes, the fill and the
/// unknown slot: 5 slots) is embedded, `sex` (4 slots) stays one-hot; the
/// network looks the slot up in a stacked table. Unseen and missing values
/// take the unknown and fill slots at prediction time, an ensemble embeds
/// the same way, and both verify bit for bit.
#[test]
fn learned_categorical_embeddings_train_predict_and_verify() {
    for kind in ["mlp", "tabm"] {
        let extra = format!(
            "[model]\nkind = \"{kind}\"\nk = 4\nhidden = [64]\ncategorical_embedding = \"learned\"\nembedding_min_slots = 5\nembedding_width = 4\n[train]\nepochs = 15\n"
        );
        let (r, out, _) = train_with(
            &format!("learned-{kind}"),
            "titanic.csv",
            "survived",
            &extra,
        );
        let arch = &r["model"]["architecture"];
        assert_eq!(
            arch["categorical"]["slots"],
            serde_json::json!([5]),
            "{arch}"
        );
        assert_eq!(arch["categorical"]["width"], 4);
        let pre = read_json(&out.join("artifact/preprocess.json"));
        let embedded: Vec<&str> = pre["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["embedded"] == true)
            .map(|f| f["column"].as_str().unwrap())
            .collect();
        assert_eq!(embedded, ["pclass"]);
        assert!(metric(&r, "test", "accuracy") > 0.8, "{kind}");
        assert!(metric(&r, "test", "log_loss") < baseline(&r, "log_loss"));

        let d = out.parent().unwrap().to_path_buf();
        let input = d.join("odd.csv");
        std::fs::write(
            &input,
            "pclass,sex,age,sibsp,parch\n1st,female,29,0,0\n9th,female,29,0,0\n,male,40,1,0\n",
        )
        .unwrap();
        let text = predict(&out, &input, &d.join("p.csv"));
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(
            text.lines().nth(1).unwrap().starts_with("survived,"),
            "{text}"
        );
        verify_bit_for_bit(&out);
    }
}

/// A target of `true`/`false` values (polars reads it as a boolean column)
/// trains, writes its golden examples and predicts labels as booleans.
/// This once failed with "cannot write examples: casting from Utf8View to
/// Boolean not supported".
#[test]
fn a_boolean_target_trains_and_predicts_booleans() {
    let d = scratch("boolean-target");
    let data = d.join("b.csv");
    let mut text = String::from("x,y\n");
    for i in 0..200 {
        let x = i as f64 / 200.0;
        text += &format!("{x},{}\n", x > 0.5);
    }
    std::fs::write(&data, text).unwrap();
    let (r, out, _) = train_on(&d, &data, "y", "");
    assert!(metric(&r, "test", "accuracy") > 0.9);
    let text = predict(&out, &data, &d.join("p.csv"));
    assert_eq!(
        text.lines().next(),
        Some("prediction,proba_false,proba_true")
    );
    assert!(text.lines().nth(1).unwrap().starts_with("false,"), "{text}");
    assert!(text.lines().last().unwrap().starts_with("true,"), "{text}");
}
