//! The pipeline as a front-end other than the CLI uses it: in-process
//! calls, an observer, a stop request instead of a signal.

use std::path::{Path, PathBuf};

use anneal_core::{Failure, Stop};
use anneal_pipeline::{Error, Observer, Silent, Start, StopToken, TrainRequest, Trained};

/// The artifact id of `configs/iris.toml` trained on the CPU (the same as
/// `anneal train --config configs/iris.toml` gives; README, Determinism).
const IRIS_ID: &str = "6bcb3164738351848b2236037b7b65d174f635b66979651b6473e746e41532f8";

fn root() -> PathBuf {
    PathBuf::from(manifest_dir()).join("../..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("anneal-pipeline-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn request(out: &Path) -> TrainRequest {
    let mut req = TrainRequest::new(root().join("configs/iris.toml"));
    req.out = Some(out.to_path_buf());
    req
}

fn artifact_id(t: Trained) -> String {
    match t {
        Trained::Run(s) => s.artifact_id,
        Trained::TrialSkipped { .. } => panic!("not a sweep"),
    }
}

/// Requests a stop after optimizer step `at`, as a front-end's cancel
/// button would.
struct StopAt(u64);

impl Observer for StopAt {
    fn step(&mut self, step: u64, _staging: &Path, stop: &StopToken) {
        if step == self.0 {
            stop.request();
        }
    }
}

#[test]
fn an_in_process_run_equals_the_command_line_s_and_a_stopped_one_resumes_to_it() {
    let dir = scratch("train");
    let whole =
        anneal_pipeline::train(&request(&dir.join("whole")), &mut Silent, &StopToken::new())
            .unwrap();
    assert_eq!(artifact_id(whole), IRIS_ID);

    let out = dir.join("stopped");
    let err =
        anneal_pipeline::train(&request(&out), &mut StopAt(10), &StopToken::new()).unwrap_err();
    match &err {
        Error::Interrupted { stop, step, .. } => {
            assert_eq!((*stop, *step), (Stop::Sigint, 10));
        }
        other => panic!("expected an interruption, got {other}"),
    }
    assert_eq!(err.failure(), Failure::Interrupted(Stop::Sigint));
    assert_eq!(err.exit_code(), 130);
    assert!(!out.exists(), "an interrupted run has no run folder yet");

    let mut resume = request(&out);
    resume.start = Start::Resume(out.clone());
    let resumed = anneal_pipeline::train(&resume, &mut Silent, &StopToken::new()).unwrap();
    assert_eq!(artifact_id(resumed), IRIS_ID);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_existing_run_folder_is_a_usage_error() {
    let dir = scratch("exists");
    let err = anneal_pipeline::train(&request(&dir), &mut Silent, &StopToken::new()).unwrap_err();
    assert_eq!(err.failure(), Failure::Usage);
    assert_eq!(
        err.to_string(),
        format!(
            "run folder {} already exists; pass --force to replace it or choose another --out",
            dir.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// This package's folder in the checkout running the test: cargo sets it at
/// run time; the compile-time path may name another checkout whose binary
/// the shared build folder reused.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
