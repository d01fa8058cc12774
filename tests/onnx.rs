//! `anneal export onnx`: the whole fitted pipeline as one ONNX graph.
//!
//! ONNX Runtime (Python `onnxruntime` and `onnx` from PyPI, in the private
//! environment `.ci/run` makes and names in `ANNEAL_ONNX_PYTHON`) runs the
//! exported graph of every shipped dataset and of every model kind and
//! preprocessing step on the golden examples and on every row of the
//! dataset: labels equal `anneal predict`'s, probabilities and regression
//! values within 1e-5, and `onnx.checker` with full checks passes. Without
//! that Python the parity test says so and skips, unless
//! `ANNEAL_REQUIRE_CLIENTS=1`; the rest (deterministic bytes, archives,
//! `[export] onnx = true`, a kind the exporter cannot express) always runs.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const TOLERANCE: f64 = 1e-5;

fn onnx_python() -> Option<String> {
    match std::env::var("ANNEAL_ONNX_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(
                std::env::var("ANNEAL_REQUIRE_CLIENTS").as_deref() != Ok("1"),
                "ANNEAL_REQUIRE_CLIENTS=1 but ANNEAL_ONNX_PYTHON is not set"
            );
            eprintln!("skipped: ANNEAL_ONNX_PYTHON is not set (.ci/run sets it)");
            None
        }
    }
}

/// Configs beyond the shipped ones: every model kind, periodic embeddings
/// (all columns, or some beside piecewise-linear bins), GELU and tanh,
/// clipping (quantile and z-score), mean/constant/mode imputation with
/// indicators, min-max scaling, a categorical missing value filled with
/// the mode, and `[export] onnx = true`.
fn variants() -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "titanic-tabm",
            "titanic",
            r#"
[data.missing]
numeric = "mean"
indicator = true
categorical = "mode"
[data.clean]
outliers = "quantile"
[data.columns.pclass]
type = "categorical"
[data.columns.age]
embedding = "periodic"
[model]
kind = "tabm"
k = 4
hidden = [32, 32]
activation = "gelu"
[train]
epochs = 15
[export]
onnx = true
"#
            .into(),
        ),
        (
            "penguins-tabm-mini",
            "penguins",
            r#"
[data.missing]
numeric = "constant"
fill_value = -1.0
indicator = true
[data.clean]
outliers = "zscore"
[data.encode]
scale = "minmax"
[model]
kind = "tabm_mini"
k = 3
hidden = [24]
activation = "tanh"
numeric_embedding = "periodic"
frequencies = 4
embedding_width = 6
[train]
epochs = 20
"#
            .into(),
        ),
        (
            "diabetes-tabm",
            "diabetes",
            r#"
[model]
kind = "tabm"
k = 3
hidden = [16]
numeric_embedding = "none"
[train]
epochs = 20
"#
            .into(),
        ),
        (
            "attrition-tabm-mini",
            "attrition",
            r#"
[model]
kind = "tabm_mini"
k = 4
hidden = [32, 32]
[train]
epochs = 10
"#
            .into(),
        ),
        (
            // Learned categorical embeddings (every categorical column,
            // missing and unknown slots included) beside one-hot blocks.
            "titanic-learned",
            "titanic",
            r#"
[model]
categorical_embedding = "learned"
embedding_min_slots = 4
embedding_width = 4
[train]
epochs = 10
"#
            .into(),
        ),
    ]
}

/// The target of each shipped dataset without a config of its own.
fn target(dataset: &str) -> &'static str {
    match dataset {
        "titanic" => "survived",
        "penguins" => "species",
        "diabetes" => "disease_progression",
        "attrition" => "Attrition",
        other => panic!("no target for {other}"),
    }
}

/// Writes `extra` under a `[data]` section for `dataset` into `dir`.
fn variant_config(dir: &Path, name: &str, dataset: &str, extra: &str) -> PathBuf {
    let data = root().join(format!("datasets/{dataset}.csv"));
    let text = format!(
        "[data]\npath = {:?}\ntarget = {:?}\n{extra}",
        data.to_str().unwrap(),
        target(dataset)
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn train_config(config: &Path, out: &Path) {
    let o = anneal(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "train {config:?}: {}", stderr(&o));
}

fn export(artifact: &Path, out: &Path) -> std::process::Output {
    anneal(&[
        "export",
        "onnx",
        "--artifact",
        artifact.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

fn export_ok(artifact: &Path, out: &Path) -> Vec<u8> {
    let o = export(artifact, out);
    assert!(o.status.success(), "export {artifact:?}: {}", stderr(&o));
    assert!(stdout(&o).contains("sha256"), "{}", stdout(&o));
    std::fs::read(out).unwrap()
}

/// Every artifact to check: the shipped configs and the variants, trained
/// into `dir`, with the dataset each predicts.
fn trained(dir: &Path) -> Vec<(String, PathBuf, PathBuf)> {
    let mut runs = Vec::new();
    for name in [
        "iris",
        "wine",
        "breast_cancer",
        "titanic",
        "penguins",
        "diabetes",
    ] {
        let out = dir.join(name);
        train(name, &out);
        runs.push((
            name.to_string(),
            out,
            root().join(format!("datasets/{name}.csv")),
        ));
    }
    for (name, dataset, extra) in variants() {
        let out = dir.join(name);
        train_config(&variant_config(dir, name, dataset, &extra), &out);
        runs.push((
            name.to_string(),
            out,
            root().join(format!("datasets/{dataset}.csv")),
        ));
    }
    // Integer class labels (`prediction` is int64) and a linear
    // classifier: iris with its species numbered.
    let text = std::fs::read_to_string(root().join("datasets/iris.csv")).unwrap();
    let numbered = ["setosa", "versicolor", "virginica"]
        .iter()
        .enumerate()
        .fold(text, |t, (i, s)| {
            t.replace(&format!(",{s}"), &format!(",{i}"))
        });
    let data = dir.join("iris_numbered.csv");
    std::fs::write(&data, numbered).unwrap();
    let config = dir.join("iris-linear.toml");
    let toml = format!(
        "[data]\npath = {:?}\ntarget = \"species\"\n[model]\nkind = \"linear\"\n[train]\nepochs = 30\n",
        data.to_str().unwrap()
    );
    std::fs::write(&config, toml).unwrap();
    let out = dir.join("iris-linear");
    train_config(&config, &out);
    runs.push(("iris-linear".into(), out, data));
    runs
}

/// Runs tests/onnx/parity.py on one model and returns its JSON.
fn parity(
    python: &str,
    model: &Path,
    artifact: &Path,
    data: &Path,
    pred: &Path,
) -> serde_json::Value {
    let o = Command::new(python)
        .arg(root().join("tests/onnx/parity.py"))
        .args([model, artifact, data, pred])
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{model:?}: {}", stderr(&o));
    serde_json::from_str(stdout(&o).trim()).unwrap()
}

fn assert_agrees(name: &str, v: &serde_json::Value, rows: u64) {
    for part in ["golden", "data"] {
        let p = &v[part];
        assert_eq!(p["mismatches"], 0, "{name} {part}: {v}");
        let proba = p["max_proba_diff"].as_f64().unwrap();
        let rel = p["max_rel_diff"].as_f64().unwrap();
        assert!(proba <= TOLERANCE && rel <= TOLERANCE, "{name} {part}: {v}");
    }
    assert_eq!(v["golden"]["rows"], 5, "{name}: {v}");
    assert_eq!(v["data"]["rows"], rows, "{name}: {v}");
    assert_eq!(v["opsets"]["ai.onnx"], 17, "{name}: {v}");
    eprintln!(
        "{name}: max |p - p_anneal| {:.2e}, max relative value difference {:.2e}",
        v["data"]["max_proba_diff"].as_f64().unwrap(),
        v["data"]["max_rel_diff"].as_f64().unwrap()
    );
}

/// The dataset followed by its first 40 rows again with cells blanked
/// (missing) and text replaced by a value never seen in training
/// (unknown), in a pattern that reaches every column: the missing and
/// unknown slots, the fills and the indicators.
fn with_edge_rows(data: &Path, out: &Path) -> PathBuf {
    let text = std::fs::read_to_string(data).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let edge: Vec<String> = lines[1..41]
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let cells: Vec<String> = line
                .split(',')
                .enumerate()
                .map(|(j, c)| match (i + j) % 3 {
                    0 => String::new(),
                    1 if !c.is_empty() && c.parse::<f64>().is_err() => "never-seen".to_string(),
                    _ => c.to_string(),
                })
                .collect();
            cells.join(",")
        })
        .collect();
    lines.extend(edge);
    let path = out.join(format!(
        "{}-edge.csv",
        data.file_stem().unwrap().to_str().unwrap()
    ));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn data_rows(path: &Path) -> u64 {
    std::fs::read_to_string(path).unwrap().lines().count() as u64 - 1
}

#[test]
fn onnx_runtime_agrees_with_predict_on_every_dataset_and_model_kind() {
    let Some(python) = onnx_python() else {
        return;
    };
    let dir = scratch("onnx-parity");
    for (name, run, data) in trained(&dir) {
        let data = with_edge_rows(&data, &dir);
        let artifact = run.join("artifact");
        let model = dir.join(format!("{name}.onnx"));
        let started = std::time::Instant::now();
        let bytes = export_ok(&artifact, &model);
        eprintln!(
            "{name}: exported in {:.3} s, {} bytes",
            started.elapsed().as_secs_f64(),
            bytes.len()
        );
        let pred = dir.join(format!("{name}-pred.csv"));
        let o = anneal(&[
            "predict",
            "--artifact",
            artifact.to_str().unwrap(),
            "--input",
            data.to_str().unwrap(),
            "--output",
            pred.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v = parity(&python, &model, &artifact, &data, &pred);
        assert_agrees(&name, &v, data_rows(&data));
        if name == "iris-linear" {
            assert_eq!(
                v["outputs"][0],
                serde_json::json!(["prediction", "INT64, N"])
            );
        }
        let meta = &v["metadata"];
        let manifest = read_json(&artifact.join("manifest.json"));
        assert_eq!(meta["anneal.artifact_id"], manifest["id"], "{name}");
        assert_eq!(meta["anneal.name"], manifest["name"], "{name}");
        assert_eq!(meta["anneal.version"], manifest["version"], "{name}");
        if artifact.join("model.onnx").exists() {
            // The copy inside the artifact: the same graph, without the id.
            let inner = parity(
                &python,
                &artifact.join("model.onnx"),
                &artifact,
                &data,
                &pred,
            );
            assert_agrees(
                &format!("{name} (model.onnx in the artifact)"),
                &inner,
                data_rows(&data),
            );
            assert!(
                inner["metadata"].get("anneal.artifact_id").is_none(),
                "{inner}"
            );
        }
    }
}

/// Rewrites one file of an artifact and seals it again (manifest entry,
/// id, MLmodel), as a newer anneal would have written it.
fn forge(art: &Path, file: &str, bytes: &[u8]) {
    use anneal_artifact::manifest::{FileEntry, Manifest};
    std::fs::write(art.join(file), bytes).unwrap();
    let mut m: Manifest =
        serde_json::from_slice(&std::fs::read(art.join("manifest.json")).unwrap()).unwrap();
    m.files.insert(
        file.to_string(),
        FileEntry {
            sha256: anneal_core::hash::sha256_hex(bytes),
            bytes: bytes.len() as u64,
        },
    );
    m.id = m.compute_id().unwrap();
    let text = anneal_core::json::to_canonical_string(&m, "manifest").unwrap();
    std::fs::write(art.join("manifest.json"), text).unwrap();
    let signature =
        serde_json::from_slice(&std::fs::read(art.join("signature.json")).unwrap()).unwrap();
    std::fs::write(
        art.join("MLmodel"),
        anneal_artifact::mlmodel::render(&m, &signature),
    )
    .unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// The same artifact exports to the same bytes, from its folder or its
/// packed archive; `[export] onnx = true` puts model.onnx into the
/// artifact, hashed in the manifest, without changing the training; a
/// model kind the exporter cannot express is refused by name (exit 3) and
/// nothing is written.
#[test]
fn export_is_deterministic_reads_archives_and_refuses_unknown_kinds() {
    let dir = scratch("onnx-export");
    let run = dir.join("iris");
    train("iris", &run);
    let art = run.join("artifact");
    let a = export_ok(&art, &dir.join("a.onnx"));
    let b = export_ok(&art, &dir.join("b.onnx"));
    assert!(a == b, "two exports of one artifact differ");
    let archive = dir.join("iris.tar.gz");
    let o = anneal(&[
        "artifact",
        "pack",
        "--artifact",
        art.to_str().unwrap(),
        "--out",
        archive.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        export_ok(&archive, &dir.join("c.onnx")) == a,
        "the archive exports differently"
    );

    // [export] onnx = true: listed and hashed; the training is unchanged.
    let source = std::fs::read_to_string(root().join("configs/iris.toml")).unwrap();
    let data = root().join("datasets/iris.csv");
    let config = dir.join("iris-onnx.toml");
    std::fs::write(
        &config,
        source.replace(
            "\"../datasets/iris.csv\"",
            &format!("{:?}", data.to_str().unwrap()),
        ) + "\n[export]\nonnx = true\n",
    )
    .unwrap();
    let with = dir.join("iris-onnx");
    train_config(&config, &with);
    let art2 = with.join("artifact");
    let embedded = std::fs::read(art2.join("model.onnx")).unwrap();
    let manifest = read_json(&art2.join("manifest.json"));
    let entry = &manifest["files"]["model.onnx"];
    assert_eq!(entry["sha256"], anneal_core::hash::sha256_hex(&embedded));
    assert_eq!(entry["bytes"], embedded.len());
    assert_eq!(
        std::fs::read(art2.join("model.safetensors")).unwrap(),
        std::fs::read(art.join("model.safetensors")).unwrap()
    );
    assert!(!art.join("model.onnx").exists());
    assert!(
        read_json(&art.join("manifest.json"))["files"]
            .get("model.onnx")
            .is_none()
    );
    // The copy inside differs from the export only by the id it cannot hold.
    let id = manifest["id"].as_str().unwrap();
    let exported = export_ok(&art2, &dir.join("d.onnx"));
    assert_eq!(
        exported.len(),
        embedded.len() + id.len() + "anneal.artifact_id".len() + 6
    );

    // A kind this anneal cannot express.
    let bad = dir.join("gbdt");
    copy_dir(&art, &bad);
    let model = std::fs::read_to_string(bad.join("model.json")).unwrap();
    assert!(model.contains("\"kind\": \"mlp\""), "{model}");
    forge(
        &bad,
        "model.json",
        model
            .replace("\"kind\": \"mlp\"", "\"kind\": \"gbdt\"")
            .as_bytes(),
    );
    let out = dir.join("bad.onnx");
    assert_error(
        &export(&bad, &out),
        3,
        &format!(
            "error: artifact {}: cannot export to ONNX: model kind \"gbdt\" has no ONNX form in this anneal (linear, mlp, tabm and tabm_mini do)",
            bad.display()
        ),
    );
    assert!(!out.exists());
}
