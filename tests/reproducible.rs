//! Same config, data and seed on the CPU backend: byte-identical report and
//! the same artifact id. And `predict` on the artifact alone gives the
//! evaluation's predictions.

mod common;
use common::*;

fn read(p: &std::path::Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn two_runs_are_byte_identical() {
    let dir = scratch("repro");
    let a = dir.join("a");
    let b = dir.join("b");
    train("iris", &a);
    train("iris", &b);
    for f in [
        "report.json",
        "report.md",
        "metrics.json",
        "metrics.csv",
        "predictions.csv",
        "artifact/manifest.json",
        "artifact/model.safetensors",
        "artifact/preprocess.json",
    ] {
        assert!(
            read(&a.join(f)) == read(&b.join(f)),
            "{f} differs between two identical runs"
        );
    }
    // A different seed is a different run.
    let c = dir.join("c");
    let o = anneal(&[
        "train",
        "--config",
        "configs/iris.toml",
        "--out",
        c.to_str().unwrap(),
        "--seed",
        "7",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let id = |d: &std::path::Path| read_json(&d.join("artifact/manifest.json"))["id"].clone();
    assert_eq!(id(&a), id(&b));
    assert_ne!(id(&a), id(&c));
    assert_eq!(
        read_json(&c.join("report.json"))["reproducibility"]["seed"],
        7
    );
}

#[test]
fn predict_round_trip_matches_evaluation() {
    let dir = scratch("roundtrip");
    let run = dir.join("run");
    train("penguins", &run);
    let preds = dir.join("preds.csv");
    let o = anneal(&[
        "predict",
        "--artifact",
        run.join("artifact").to_str().unwrap(),
        "--input",
        "datasets/penguins.csv",
        "--output",
        preds.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("wrote 344 predictions to "),
        "{}",
        stdout(&o)
    );

    let predicted = std::fs::read_to_string(&preds).unwrap();
    let mut lines = predicted.lines();
    assert_eq!(
        lines.next().unwrap(),
        "prediction,proba_Adelie,proba_Chinstrap,proba_Gentoo"
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 344, "one output row per input row");

    // predictions.csv of the run: row (1-based file row), split, target, prediction, probas.
    let evaluated = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    let mut checked = 0;
    for line in evaluated.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let row: usize = f[0].parse().unwrap();
        let p = &rows[row - 1];
        assert_eq!(p[0], f[3], "row {row}: predicted class differs");
        for j in 0..3 {
            let a: f64 = p[1 + j].parse().unwrap();
            let b: f64 = f[4 + j].parse().unwrap();
            assert!((a - b).abs() < 1e-6, "row {row}: probability {a} vs {b}");
        }
        checked += 1;
    }
    assert!(
        checked >= 100,
        "valid + test rows were compared ({checked})"
    );
}

/// Both CPU backends give the same artifact whatever the thread count
/// (flex is covered file by file in tests/reports.rs).
#[test]
fn ndarray_backend_is_thread_count_independent() {
    let dir = scratch("repro-ndarray");
    let mut ids = Vec::new();
    for threads in [None, Some("1"), Some("3")] {
        let out = dir.join(format!("run-{}", threads.unwrap_or("default")));
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_anneal"));
        cmd.args([
            "train",
            "--config",
            "configs/penguins.toml",
            "--backend",
            "ndarray",
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
        let r = read_json(&out.join("report.json"));
        assert_eq!(r["reproducibility"]["backend"], "ndarray");
        assert_eq!(r["reproducibility"]["bit_reproducible"], true);
        ids.push((
            read_json(&out.join("artifact/manifest.json"))["id"].clone(),
            read(&out.join("report.json")),
        ));
    }
    assert!(
        ids.iter().all(|i| i == &ids[0]),
        "ndarray runs differ across thread counts"
    );
}
