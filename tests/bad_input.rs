//! Bad configs and data: one clear error line naming the file, key, column
//! or row, a documented non-zero exit code, and never a panic.

mod common;
use common::*;

use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn train_cfg(config: &str, out: &Path) -> std::process::Output {
    anneal(&[
        "train",
        "--config",
        config,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ])
}

const CONFIG: &str = "[data]\npath = \"data.csv\"\ntarget = \"y\"\n\n[train]\nepochs = 2\n";

#[test]
fn missing_data_file() {
    let d = scratch("missing-file");
    let cfg = write(&d, "c.toml", CONFIG);
    let o = train_cfg(&cfg, &d.join("run"));
    assert_error(
        &o,
        3,
        &format!(
            "error: data file {} does not exist",
            d.join("data.csv").display()
        ),
    );
    assert!(!d.join("run").exists(), "nothing is left behind");
}

#[test]
fn missing_config_file() {
    let o = anneal(&["train", "--config", "configs/nope.toml", "--quiet"]);
    assert_error(
        &o,
        2,
        "error: cannot read config configs/nope.toml: No such file or directory (os error 2)",
    );
}

#[test]
fn unknown_key() {
    let d = scratch("unknown-key");
    let cfg = write(
        &d,
        "c.toml",
        &CONFIG.replace("epochs = 2", "epochs = 2\nbatch = 4"),
    );
    let o = train_cfg(&cfg, &d.join("run"));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.starts_with(&format!("error: {cfg}:7:1: train.batch: unknown field `batch`, expected one of `epochs`, `batch_size`")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn negative_epochs_and_wrong_type() {
    let d = scratch("bad-values");
    let cfg = write(&d, "c.toml", &CONFIG.replace("epochs = 2", "epochs = -3"));
    let err = stderr(&train_cfg(&cfg, &d.join("run")));
    assert!(
        err.starts_with(&format!("error: {cfg}:6:10: train.epochs: ")),
        "{err}"
    );
    let cfg = write(
        &d,
        "d.toml",
        &CONFIG.replace("epochs = 2", "learning_rate = \"fast\""),
    );
    let err = stderr(&train_cfg(&cfg, &d.join("run")));
    assert!(
        err.starts_with(&format!("error: {cfg}:6:17: train.learning_rate: ")),
        "{err}"
    );
}

#[test]
fn missing_target_column() {
    let d = scratch("no-target");
    write(&d, "data.csv", "a,b\n1,2\n3,4\n");
    let cfg = write(&d, "c.toml", CONFIG);
    let o = train_cfg(&cfg, &d.join("run"));
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: no column \"y\" (data.target); the columns are: a, b",
            d.join("data.csv").display()
        ),
    );
}

#[test]
fn empty_and_header_only_files() {
    let d = scratch("empty");
    write(&d, "data.csv", "");
    let cfg = write(&d, "c.toml", CONFIG);
    let o = train_cfg(&cfg, &d.join("run"));
    assert_error(
        &o,
        3,
        &format!(
            "error: data file {} is empty: expected a header row and data rows",
            d.join("data.csv").display()
        ),
    );
    write(&d, "data.csv", "a,y\n");
    let o = train_cfg(&cfg, &d.join("run"));
    assert_error(
        &o,
        3,
        &format!(
            "error: data file {} has a header but no data rows",
            d.join("data.csv").display()
        ),
    );
}

#[test]
fn garbage_in_a_numeric_column() {
    let d = scratch("garbage");
    let mut csv = String::from("x,y\n");
    for i in 0..200 {
        let x = if i == 150 {
            "oops".to_string()
        } else {
            format!("{}.5", i)
        };
        csv.push_str(&format!("{x},{}\n", if i % 2 == 0 { "a" } else { "b" }));
    }
    write(&d, "data.csv", &csv);
    let cfg = write(&d, "c.toml", CONFIG);
    let o = train_cfg(&cfg, &d.join("run"));
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: column \"x\", row 151: \"oops\" is not a number (expected numeric values: 199 other cells are numbers; fix the cell, list the text in data.csv.null_values, or declare the column with [data.columns.x] type = \"categorical\")",
            d.join("data.csv").display()
        ),
    );
}

#[test]
fn single_class_and_binary_file() {
    let d = scratch("single-class");
    write(&d, "data.csv", "x,y\n1,a\n2,a\n3,a\n");
    let cfg = write(&d, "c.toml", CONFIG);
    let o = train_cfg(&cfg, &d.join("run"));
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: the target \"y\" has a single class (\"a\") after cleaning; a classifier needs at least two",
            d.join("data.csv").display()
        ),
    );
    std::fs::write(
        d.join("data.csv"),
        [0x50u8, 0x4b, 0x03, 0x04, 0x00, 0xff, 0x10],
    )
    .unwrap();
    let o = train_cfg(&cfg, &d.join("run"));
    assert_error(
        &o,
        3,
        &format!(
            "error: data file {} is not valid CSV: binary data (a NUL byte at line 1), expected UTF-8 text",
            d.join("data.csv").display()
        ),
    );
}

#[test]
fn existing_run_folder_needs_force() {
    let d = scratch("exists");
    std::fs::create_dir_all(d.join("run")).unwrap();
    let o = train_cfg("configs/iris.toml", &d.join("run"));
    assert_error(
        &o,
        2,
        &format!(
            "error: run folder {} already exists; pass --force to replace it or choose another --out",
            d.join("run").display()
        ),
    );
}

#[test]
fn predict_input_missing_a_column() {
    let d = scratch("predict-missing");
    let run = d.join("run");
    train("iris", &run);
    write(
        &d,
        "in.csv",
        "sepal length (cm),sepal width (cm),petal length (cm)\n5.1,3.5,1.4\n",
    );
    let o = anneal(&[
        "predict",
        "--artifact",
        run.join("artifact").to_str().unwrap(),
        "--input",
        d.join("in.csv").to_str().unwrap(),
        "--output",
        d.join("out.csv").to_str().unwrap(),
    ]);
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: no column \"petal width (cm)\" (a model input); the columns are: sepal length (cm), sepal width (cm), petal length (cm)",
            d.join("in.csv").display()
        ),
    );
    // Tampering with the weights is caught before anything runs.
    let w = run.join("artifact/model.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&w, bytes).unwrap();
    let o = anneal(&[
        "predict",
        "--artifact",
        run.join("artifact").to_str().unwrap(),
        "--input",
        "datasets/iris.csv",
        "--output",
        d.join("out.csv").to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        err.starts_with(&format!(
            "error: artifact {}: model.safetensors: content does not match the manifest",
            run.join("artifact").display()
        )),
        "{err}"
    );
}

#[test]
fn config_resolved_prints_every_default() {
    let o = anneal(&["config", "--resolved", "--config", "configs/iris.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for key in [
        "max_categories = 100",
        "backend = \"flex\"",
        "optimizer = \"adam\"",
        "hidden = [64, 64]",
        "valid = 0.15",
    ] {
        assert!(text.contains(key), "missing {key} in:\n{text}");
    }
    let o = anneal(&["--help"]);
    assert!(stdout(&o).contains("train"));
}
