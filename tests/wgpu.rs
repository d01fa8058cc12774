//! The GPU path (burn-wgpu), in builds with `--features wgpu`.
//!
//! Machines without a GPU run it on Mesa's software Vulkan driver
//! (lavapipe): `apt-get install mesa-vulkan-drivers`, then
//!
//!     ANNEAL_TEST_WGPU=1 ANNEAL_WGPU_DEVICE=cpu \
//!         cargo test --release --features wgpu --test wgpu
//!
//! Without ANNEAL_TEST_WGPU the tests say so and pass: the default CI build
//! has no wgpu compiled in (README, "GPU").

#![cfg(feature = "wgpu")]

mod common;

use common::{anneal, metric, read_json, scratch, stderr, stdout};

fn enabled() -> bool {
    let on = std::env::var("ANNEAL_TEST_WGPU").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("skipped: set ANNEAL_TEST_WGPU=1 (and ANNEAL_WGPU_DEVICE=cpu without a GPU)");
    }
    on
}

#[test]
fn wgpu_trains_and_agrees_with_the_cpu_within_the_tolerance() {
    if !enabled() {
        return;
    }
    let dir = scratch("wgpu-train");
    let run = dir.join("run");
    let o = anneal(&[
        "train",
        "--config",
        "configs/breast_cancer.toml",
        "--backend",
        "wgpu",
        "--out",
        run.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = read_json(&run.join("report.json"));
    assert_eq!(report["reproducibility"]["backend"], "wgpu");
    assert_eq!(report["reproducibility"]["bit_reproducible"], false);
    assert!(metric(&report, "test", "accuracy") >= 0.94);
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("not bit-reproducible"), "{md}");

    let o = anneal(&["verify", run.to_str().unwrap(), "--against-cpu"]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(
        text.contains("GPU training is not bit-reproducible (autotuned kernels, float atomics): agreement within the tolerance is the guarantee"),
        "{text}"
    );
    assert!(text.contains("verify: AGREES"), "{text}");

    // The artifact predicts on the CPU without the GPU that trained it.
    let out = dir.join("predictions.csv");
    let o = anneal(&[
        "predict",
        "--artifact",
        run.join("artifact").to_str().unwrap(),
        "--input",
        "datasets/breast_cancer.csv",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_names_the_adapter() {
    if !enabled() {
        return;
    }
    let dir = scratch("wgpu-bench");
    let out = dir.join("bench.json");
    let o = anneal(&[
        "bench",
        "--config",
        "configs/iris.toml",
        "--backend",
        "wgpu",
        "--epochs",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b = read_json(&out);
    assert_eq!(b["backend"], "wgpu");
    let device = b["device"].as_str().unwrap();
    assert!(
        device.contains("Vulkan") || device.contains("Metal") || device.contains("Dx12"),
        "{device}"
    );
    assert_eq!(b["train"]["steps"], 12);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `anneal bench` of iris on wgpu with `ANNEAL_WGPU_DEVICE=selector`.
fn bench_on(selector: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args([
            "bench",
            "--config",
            "configs/iris.toml",
            "--backend",
            "wgpu",
        ])
        .current_dir(common::root())
        .env("ANNEAL_WGPU_DEVICE", selector)
        .output()
        .expect("the anneal binary runs")
}

#[test]
fn a_missing_adapter_is_a_clear_error() {
    if !enabled() {
        return;
    }
    let o = bench_on("discrete:7");
    assert_eq!(o.status.code(), Some(2));
    // Mesa may print warnings of its own (XDG_RUNTIME_DIR) before ours.
    let err = stderr(&o);
    let line = err
        .lines()
        .find(|l| l.starts_with("error: backend"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.starts_with(
            "error: backend \"wgpu\" is not available: no wgpu adapter could be opened (discrete:7: "
        ),
        "{err}"
    );
    assert!(
        line.ends_with("install the GPU's Vulkan, Metal or DX12 driver, or set ANNEAL_WGPU_DEVICE=cpu to train on a software adapter (Mesa's lavapipe: slow, for tests)"),
        "{err}"
    );

    let o = bench_on("gpu0");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "error: backend \"wgpu\" is not available: ANNEAL_WGPU_DEVICE: \"gpu0\" is not an adapter: use discrete:N, integrated:N, virtual:N or cpu"
    );
}
