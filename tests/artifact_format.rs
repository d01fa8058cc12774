//! The artifact format (version 2): golden examples checked at load, the
//! derived MLmodel, the logical data hash, reading format 1, and streaming
//! `predict`.

mod common;
use common::*;

use std::path::Path;

use anneal_core::{hash, json};
use serde_json::Value;

/// Rewrites `manifest.json` of `dir` after `edit`, recomputing every file
/// hash and the id the way the exporter does: what a different build of
/// the engine, not an attacker, would produce.
fn reseal(dir: &Path, edit: impl FnOnce(&mut Value)) -> String {
    let mut m = read_json(&dir.join("manifest.json"));
    edit(&mut m);
    let names: Vec<String> = m["files"].as_object().unwrap().keys().cloned().collect();
    for name in names {
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        m["files"][&name] =
            serde_json::json!({"sha256": hash::sha256_hex(&bytes), "bytes": bytes.len()});
    }
    m.as_object_mut().unwrap().remove("id");
    let without = json::canonical(&m);
    let id = hash::sha256_hex(without.as_bytes());
    m["id"] = Value::String(id.clone());
    std::fs::write(dir.join("manifest.json"), json::canonical(&m)).unwrap();
    id
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn predict(artifact: &Path, input: &Path, output: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "predict",
        "--artifact",
        artifact.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    anneal(&args)
}

#[test]
fn format_2_files_mlmodel_and_data_hashes() {
    let dir = scratch("format-files");
    let run = dir.join("run");
    train("titanic", &run);
    let art = run.join("artifact");
    let m = read_json(&art.join("manifest.json"));
    assert_eq!(m["format_version"], 2);
    let files: Vec<&String> = m["files"].as_object().unwrap().keys().collect();
    assert_eq!(
        files,
        [
            "config.toml",
            "examples.json",
            "model.json",
            "model.safetensors",
            "preprocess.json",
            "profile.json",
            "signature.json"
        ]
    );
    // The training profile check-data compares new data with.
    let profile = read_json(&art.join("profile.json"));
    assert_eq!(profile["rows"], 916);
    let age = profile["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "age")
        .unwrap();
    assert_eq!(age["kind"], "numeric");
    assert_eq!(
        age["numeric"]["bin_fractions"].as_array().unwrap().len(),
        age["numeric"]["bin_edges"].as_array().unwrap().len() + 1
    );
    let data = &m["data"]["train"];
    assert_eq!(data["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(data["logical_sha256"].as_str().unwrap().len(), 64);
    assert_ne!(data["sha256"], data["logical_sha256"]);

    let id = m["id"].as_str().unwrap();
    let mlmodel = std::fs::read_to_string(art.join("MLmodel")).unwrap();
    assert!(
        mlmodel.contains(&format!("    artifact_id: \"{id}\"\n")),
        "{mlmodel}"
    );
    let uuid = format!("{}-{}-4{}-", &id[0..8], &id[8..12], &id[13..16]);
    assert!(
        mlmodel.contains(&format!("model_uuid: {uuid}")),
        "{mlmodel}"
    );
    assert!(!mlmodel.contains("utc_time_created"));
    assert!(mlmodel.contains("  inputs: \"[{\\\"name\\\":\\\"pclass\\\",\\\"required\\\":true,\\\"type\\\":\\\"string\\\"}"), "{mlmodel}");

    let ex = read_json(&art.join("examples.json"));
    let rows = ex["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows[0]["input"]["sex"].is_string() && rows[0]["output"]["proba_survived"].is_number());

    // A tampered MLmodel is refused.
    let bad = dir.join("bad-mlmodel");
    copy_dir(&art, &bad);
    let text = mlmodel.replace("titanic", "titanix");
    std::fs::write(bad.join("MLmodel"), text).unwrap();
    let o = predict(
        &bad,
        &root().join("datasets/titanic.csv"),
        &dir.join("p.csv"),
        &[],
    );
    assert_error(
        &o,
        3,
        &format!(
            "error: artifact {}: MLmodel: differs from the one the manifest and signature give; it was modified",
            bad.display()
        ),
    );
}

#[test]
fn a_golden_example_that_moved_stops_every_loader() {
    let dir = scratch("format-golden");
    let run = dir.join("run");
    train("iris", &run);
    let bad = dir.join("moved");
    copy_dir(&run.join("artifact"), &bad);
    // As if another build computed other outputs for the same weights.
    let mut ex = read_json(&bad.join("examples.json"));
    let p = ex["rows"][0]["output"]["proba_setosa"].as_f64().unwrap();
    ex["rows"][0]["output"]["proba_setosa"] = serde_json::json!(p * 0.5);
    std::fs::write(bad.join("examples.json"), json::canonical(&ex)).unwrap();
    reseal(&bad, |_| {});
    let input = root().join("datasets/iris.csv");
    let o = predict(&bad, &input, &dir.join("p.csv"), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.starts_with(&format!(
            "error: artifact {}: golden example 1 no longer gives the exported output: proba_setosa was {}, now ",
            bad.display(),
            serde_json::json!(p * 0.5)
        )),
        "{err}"
    );
    assert!(
        err.trim_end().ends_with("; refusing to predict with it"),
        "{err}"
    );
    assert!(!dir.join("p.csv").exists());
    let o = anneal(&[
        "eval",
        "--artifact",
        bad.to_str().unwrap(),
        "--data",
        input.to_str().unwrap(),
        "--out",
        dir.join("e").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn format_1_artifacts_still_load_and_predict_the_same() {
    let dir = scratch("format-v1");
    let run = dir.join("run");
    train("penguins", &run);
    let v1 = dir.join("v1");
    copy_dir(&run.join("artifact"), &v1);
    std::fs::remove_file(v1.join("MLmodel")).unwrap();
    std::fs::remove_file(v1.join("examples.json")).unwrap();
    reseal(&v1, |m| {
        m["format_version"] = serde_json::json!(1);
        m["files"].as_object_mut().unwrap().remove("examples.json");
        m["data"]["train"]
            .as_object_mut()
            .unwrap()
            .remove("logical_sha256");
    });
    let input = root().join("datasets/penguins.csv");
    let (a, b) = (dir.join("v2.csv"), dir.join("v1.csv"));
    assert!(
        predict(&run.join("artifact"), &input, &a, &[])
            .status
            .success()
    );
    let o = predict(&v1, &input, &b, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn requoting_the_data_keeps_the_logical_hash() {
    let dir = scratch("format-logical");
    let text = std::fs::read_to_string(root().join("datasets/iris.csv")).unwrap();
    let requoted: String = text
        .lines()
        .map(|l| {
            l.split(',')
                .map(|f| {
                    if f.parse::<f64>().is_ok() {
                        f.to_string()
                    } else {
                        format!("\"{f}\"")
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
                + "\r\n"
        })
        .collect();
    let mut changed = text.clone();
    changed = changed.replacen("5.1,3.5,1.4,0.2", "5.1,3.5,1.4,0.3", 1);
    let mut hashes = Vec::new();
    for (name, body) in [
        ("plain", &text),
        ("requoted", &requoted),
        ("changed", &changed),
    ] {
        let csv = dir.join(format!("{name}.csv"));
        std::fs::write(&csv, body).unwrap();
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!("[data]\npath = \"{name}.csv\"\ntarget = \"species\"\n\n[train]\nepochs = 2\n"),
        )
        .unwrap();
        let out = dir.join(format!("run-{name}"));
        let o = anneal(&[
            "train",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let m = read_json(&out.join("artifact/manifest.json"));
        hashes.push((
            m["data"]["train"]["sha256"].clone(),
            m["data"]["train"]["logical_sha256"].clone(),
        ));
    }
    assert_ne!(hashes[0].0, hashes[1].0, "re-quoting changes the bytes");
    assert_eq!(hashes[0].1, hashes[1].1, "and keeps the logical hash");
    assert_ne!(hashes[0].0, hashes[2].0);
    assert_ne!(hashes[0].1, hashes[2].1, "one changed cell changes both");
}

#[test]
fn predict_streams_in_batches_with_the_same_output() {
    let dir = scratch("stream");
    let run = dir.join("run");
    train("titanic", &run);
    let art = run.join("artifact");
    // 20,000 rows, a quoted field with a line break and a comma in an id-less
    // text column the model ignores, and NDJSON of the same rows.
    let text = std::fs::read_to_string(root().join("datasets/titanic.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    let mut csv = format!("{header},note\n");
    let mut ndjson = String::new();
    for i in 0..20_000 {
        let row = body[i % body.len()];
        let note = if i % 997 == 0 {
            "\"two\nlines, one comma\""
        } else {
            "x"
        };
        csv.push_str(&format!("{row},{note}\n"));
        let f: Vec<&str> = row.split(',').collect();
        let age = if f[3].is_empty() {
            "null".to_string()
        } else {
            f[3].to_string()
        };
        ndjson.push_str(&format!(
            "{{\"pclass\":\"{}\",\"survived\":\"{}\",\"sex\":\"{}\",\"age\":{age},\"sibsp\":{},\"parch\":{}}}\n",
            f[0], f[1], f[2], f[4], f[5]
        ));
    }
    let input = dir.join("big.csv");
    std::fs::write(&input, &csv).unwrap();
    let nd = dir.join("big.ndjson");
    std::fs::write(&nd, &ndjson).unwrap();
    let whole = dir.join("whole.csv");
    let small = dir.join("small.csv");
    let from_nd = dir.join("nd.csv");
    let o = predict(&art, &input, &whole, &["--batch-rows", "1000000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).split_whitespace().nth(1), Some("20000"));
    assert!(
        predict(&art, &input, &small, &["--batch-rows", "777"])
            .status
            .success()
    );
    let o = predict(&art, &nd, &from_nd, &["--batch-rows", "3000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a = std::fs::read(&whole).unwrap();
    assert_eq!(
        a,
        std::fs::read(&small).unwrap(),
        "batch size never changes the output"
    );
    assert_eq!(
        a,
        std::fs::read(&from_nd).unwrap(),
        "NDJSON gives the same predictions"
    );
    assert_eq!(String::from_utf8(a).unwrap().lines().count(), 20_001);
    let pq = dir.join("out.parquet");
    assert!(
        predict(&art, &input, &pq, &["--batch-rows", "5000"])
            .status
            .success()
    );
    assert!(std::fs::read(&pq).unwrap().starts_with(b"PAR1"));

    // A bad cell far into the file is reported with its row; nothing is written.
    let mut bad = csv.clone();
    bad.push_str("1st,died,male,old,0,0,x\n");
    std::fs::write(&input, bad).unwrap();
    let out = dir.join("never.csv");
    let o = predict(&art, &input, &out, &["--batch-rows", "4096"]);
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: column \"age\", row 20001: \"old\" is not a number (expected numeric values)",
            input.display()
        ),
    );
    assert!(!out.exists());
    let o = predict(
        &art,
        &root().join("datasets/titanic.csv"),
        &dir.join("x.json"),
        &[],
    );
    assert_error(
        &o,
        2,
        &format!(
            "error: cannot write {}: unknown output format: use a .csv or .parquet file name",
            dir.join("x.json").display()
        ),
    );
}

#[test]
fn name_and_semantic_version_come_from_the_config() {
    let dir = scratch("format-version");
    let data = root().join("datasets/iris.csv");
    let config = dir.join("c.toml");
    let write = |model: &str| {
        std::fs::write(
            &config,
            format!(
                "[data]\npath = \"{}\"\ntarget = \"species\"\n\n[model]\n{model}\n\n[train]\nepochs = 2\n",
                data.display()
            ),
        )
        .unwrap();
    };
    write("name = \"iris-prod\"\nversion = \"2.1.0-rc.1\"");
    let out = dir.join("run");
    let o = anneal(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = read_json(&out.join("artifact/manifest.json"));
    assert_eq!(
        (m["name"].as_str(), m["version"].as_str()),
        (Some("iris-prod"), Some("2.1.0-rc.1"))
    );
    let mlmodel = std::fs::read_to_string(out.join("artifact/MLmodel")).unwrap();
    assert!(mlmodel.contains("    model_version: \"2.1.0-rc.1\"\n"));

    write("version = \"1.2\"");
    let o = anneal(&["config", "--config", config.to_str().unwrap()]);
    assert_error(
        &o,
        2,
        &format!(
            "error: {}:6:1: model.version: \"1.2\" is not a semantic version; use MAJOR.MINOR.PATCH such as \"1.2.0\"",
            config.display()
        ),
    );
    write("name = \"../x\"");
    let o = anneal(&["config", "--config", config.to_str().unwrap()]);
    assert_error(
        &o,
        2,
        &format!(
            "error: {}:6:1: model.name: \"../x\" must be 1-64 characters of A-Z a-z 0-9 . _ - and not start with '.'",
            config.display()
        ),
    );
}
