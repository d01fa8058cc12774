//! `anneal bench` (the figures CI collects) and `anneal verify
//! --against-cpu` (the agreement check for runs that are not
//! bit-reproducible), through the real binary.

mod common;

use common::{anneal, read_json, scratch, stderr, stdout};

#[test]
fn bench_measures_every_stage_of_the_real_run() {
    let dir = scratch("bench-iris");
    let out = dir.join("bench.json");
    let o = anneal(&[
        "bench",
        "--config",
        "configs/iris.toml",
        "--epochs",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("bench configs/iris.toml on flex (CPU ("),
        "{text}"
    );
    assert!(
        text.contains("samples/s 5 epochs of 105 -> 64 -> 64 -> 3 (batch 32)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("figures: {}", out.display())),
        "{text}"
    );

    let b = read_json(&out);
    assert_eq!(b["backend"], "flex");
    assert!(b["device"].as_str().unwrap().ends_with("burn-flex)"), "{b}");
    // The same data stage as `anneal train`: iris's 150 rows, split
    // 70/15/15 and stratified, 4 measurements as 105 inputs (each its
    // scaled value and piecewise-linear pieces).
    let d = &b["data"];
    assert_eq!(d["rows_read"], 150);
    assert_eq!(d["inputs"], 105);
    let (train_rows, test_rows) = (
        d["train_rows"].as_u64().unwrap(),
        d["test_rows"].as_u64().unwrap(),
    );
    assert_eq!((train_rows, test_rows), (105, 21));
    assert_eq!(d["file_bytes"], 3878);

    // 5 epochs of ceil(105 / 32) = 4 batches.
    let t = &b["train"];
    assert_eq!(t["epochs"], 5);
    assert_eq!(t["steps"], 20);
    assert_eq!(t["samples"], 5 * train_rows);
    assert_eq!(t["epoch_seconds"].as_array().unwrap().len(), 5);
    assert!(t["samples_per_second"].as_f64().unwrap() > 0.0);
    let acc = t["test_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc), "{acc}");
    assert!(t["final_train_loss"].as_f64().unwrap().is_finite());

    let p = &b["predict"];
    assert_eq!(p["rows"], test_rows);
    assert_eq!(p["batch_rows"], 4096);
    assert!(p["single_row"]["calls"].as_u64().unwrap() >= 100);
    let (median, p99) = (
        p["single_row"]["median_us"].as_f64().unwrap(),
        p["single_row"]["p99_us"].as_f64().unwrap(),
    );
    assert!(median > 0.0 && median <= p99, "{median} {p99}");
    assert!(b["peak_rss_bytes"].as_u64().unwrap() > 1 << 20);
    assert!(b["process_seconds"].as_f64().unwrap() > 0.0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_of_the_data_stage_alone_opens_no_device() {
    let o = anneal(&[
        "bench",
        "--config",
        "configs/titanic.toml",
        "--stages",
        "prep",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("bench configs/titanic.toml on flex (none (data stage only)"),
        "{text}"
    );
    assert!(text.contains("1309 rows"), "{text}");
    assert!(text.contains("(31.3 KiB)"), "{text}");
    assert!(!text.contains("\n  train "), "{text}");
    assert!(!text.contains("\n  predict "), "{text}");
}

#[test]
fn bench_refuses_wrong_input_by_name() {
    let o = anneal(&["bench", "--config", "configs/iris.toml", "--stages", "fit"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid value 'fit' for '--stages <STAGES>'"),
        "{}",
        stderr(&o)
    );
    let o = anneal(&["bench", "--config", "configs/nope.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("configs/nope.toml"), "{}", stderr(&o));
    let o = anneal(&["bench", "--config", "configs/iris.toml", "--epochs", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
#[cfg(not(feature = "wgpu"))]
fn wgpu_without_the_feature_is_a_clear_error() {
    for args in [
        vec![
            "bench",
            "--config",
            "configs/iris.toml",
            "--backend",
            "wgpu",
        ],
        vec![
            "train",
            "--config",
            "configs/iris.toml",
            "--backend",
            "wgpu",
            "--out",
            "/nonexistent/never-written",
        ],
    ] {
        let o = anneal(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&o).trim(),
            "error: backend \"wgpu\" is not available: this build of anneal has no GPU support compiled in; rebuild with `cargo build --release --features wgpu`, or use backend = \"flex\" (the default) or \"ndarray\"",
            "{args:?}"
        );
    }
}

#[test]
fn verify_against_cpu_checks_metrics_within_the_tolerance() {
    let dir = scratch("verify-against-cpu");
    let run = dir.join("run");
    common::train("wine", &run);
    // A CPU-trained run agrees with its CPU retraining exactly.
    let o = anneal(&["verify", run.to_str().unwrap(), "--against-cpu"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("agrees   test/accuracy"), "{text}");
    assert!(text.contains("agrees   valid/accuracy"), "{text}");
    assert!(
        text.contains("the run was trained on a CPU backend: `anneal verify` without --against-cpu checks it bit for bit"),
        "{text}"
    );
    let agreed = text
        .lines()
        .find_map(|l| l.strip_prefix("verify: AGREES ("))
        .unwrap_or_else(|| panic!("{text}"));
    let metrics: usize = agreed.trim_end_matches(" metrics)").parse().unwrap();
    assert!(metrics >= 20, "{text}");

    // Move one recorded metric past the tolerance: that metric, and only
    // it, differs; exit 1.
    let path = run.join("metrics.json");
    let mut m = read_json(&path);
    let acc = m["test"]["accuracy"].as_f64().unwrap();
    m["test"]["accuracy"] = serde_json::json!(acc - 0.05);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let o = anneal(&["verify", run.to_str().unwrap(), "--against-cpu"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let text = stdout(&o);
    let differs: Vec<&str> = text.lines().filter(|l| l.starts_with("DIFFERS")).collect();
    assert_eq!(differs.len(), 1, "{text}");
    assert!(differs[0].contains("test/accuracy"), "{text}");
    assert_eq!(
        stderr(&o).trim(),
        format!(
            "error: verify FAILED: 1 of {metrics} metrics of {} differ from the CPU-trained model's by more than 0.02",
            run.display()
        )
    );
    // A looser stated tolerance accepts it.
    let o = anneal(&[
        "verify",
        run.to_str().unwrap(),
        "--against-cpu",
        "--tolerance",
        "0.06",
    ]);
    assert!(o.status.success(), "{}", stdout(&o));

    let o = anneal(&["verify", run.to_str().unwrap(), "--tolerance", "0.1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--against-cpu"), "{}", stderr(&o));
    let o = anneal(&[
        "verify",
        run.to_str().unwrap(),
        "--against-cpu",
        "--tolerance=-1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("\"-1\" is not a tolerance >= 0"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
