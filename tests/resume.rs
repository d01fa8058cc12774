//! Checkpoints and exact resume through the real binary: a run killed with
//! SIGKILL at a random step and resumed gives the artifact id and report
//! bytes of an uninterrupted run; SIGINT and SIGTERM checkpoint and exit
//! 130 and 143; an interrupted run is neither overwritten by accident nor
//! resumed with another config.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anneal_core::rng::Rng;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// titanic.toml with an absolute data path and `edit` applied.
fn config(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(root().join("configs/titanic.toml")).unwrap();
    let data = root().join("datasets/titanic.csv");
    let text = text.replace("\"../datasets/titanic.csv\"", &format!("{:?}", s(&data)));
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// Where the test driver says it is paused: beside the staging folder.
fn paused_marker(run: &Path) -> PathBuf {
    partial(run).with_extension("partial.paused")
}

fn partial(run: &Path) -> PathBuf {
    run.parent().unwrap().join(format!(
        ".{}.partial",
        run.file_name().unwrap().to_str().unwrap()
    ))
}

fn artifact_id(run: &Path) -> String {
    read_json(&run.join("artifact/manifest.json"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn kill(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {signal} {pid}");
}

/// A training of `cfg` into `run`, started with `args` and held at step
/// `at` (the pause hook), ready to be killed there.
fn paused_at(cfg: &Path, run: &Path, args: [&str; 2], at: u64) -> std::process::Child {
    let child = Command::new(common::anneal_paused())
        .args(["train", "--config", s(cfg), "--out", s(run), "--quiet"])
        .args(args)
        .env("ANNEAL_TEST_PAUSE_AT_STEP", at.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let marker = paused_marker(run);
    let start = Instant::now();
    while !marker.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "never paused");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn sigkill_at_a_random_step_then_resume_equals_an_uninterrupted_run() {
    let dir = scratch("resume-kill");
    let cfg = config(&dir, "titanic", |t| t);
    let reference = dir.join("reference");
    let o = anneal(&[
        "train",
        "--config",
        s(&cfg),
        "--out",
        s(&reference),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let steps = read_json(&reference.join("report.json"))["training"]["steps"]
        .as_u64()
        .unwrap();
    assert_eq!(steps, 285, "19 epochs of 15 batches");

    // Two steps drawn at random (from a fixed seed, so a failure can be
    // replayed), past the first checkpoint.
    let mut rng = Rng::stream(7, "resume-test");
    let picks: Vec<u64> = (0..2).map(|_| 16 + rng.below(steps - 20)).collect();
    eprintln!("killing at steps {picks:?} of {steps}");
    for (i, at) in picks.iter().enumerate() {
        let run = dir.join(format!("run{i}"));
        // The first run checkpoints at every epoch end only (it resumes
        // at an epoch boundary), the second every 7 steps (mid-epoch).
        let every = if i == 0 {
            ["--checkpoint-secs", "0"]
        } else {
            ["--checkpoint-every", "7"]
        };
        let mut child = paused_at(&cfg, &run, every, *at);
        kill(child.id(), "-KILL");
        let status = child.wait().unwrap();
        assert_eq!(status.code(), None, "killed by a signal");
        assert!(!run.exists(), "no half-written run folder");
        let kept: Vec<String> = std::fs::read_dir(partial(&run).join("checkpoints"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!kept.is_empty() && kept.len() <= 2, "{kept:?}");

        // A plain train into the same folder refuses to overwrite it.
        let o = anneal(&["train", "--config", s(&cfg), "--out", s(&run), "--quiet"]);
        assert_error(
            &o,
            2,
            &format!(
                "error: an interrupted run of {} exists; continue it with `anneal train --resume {}`, or start over with --force",
                run.display(),
                run.display()
            ),
        );
        let o = anneal(&["train", "--resume", s(&run)]);
        assert!(o.status.success(), "step {at}: {}", stderr(&o));
        assert!(stderr(&o).contains("resuming from "), "{}", stderr(&o));
        assert_eq!(
            artifact_id(&run),
            artifact_id(&reference),
            "killed at step {at}"
        );
        for file in [
            "report.json",
            "metrics.json",
            "predictions.csv",
            "metrics.csv",
        ] {
            assert_eq!(
                std::fs::read(run.join(file)).unwrap(),
                std::fs::read(reference.join(file)).unwrap(),
                "{file} after a kill at step {at}"
            );
        }
        assert!(!partial(&run).exists());
        assert!(!run.join("checkpoints").exists() && !run.join("paused").exists());
        assert_eq!(read_json(&run.join("run.json"))["resumed"], true);
    }

    // Killed before its first checkpoint: nothing to resume, said plainly.
    let run = dir.join("early");
    let mut child = Command::new(common::anneal_paused())
        .args(["train", "--config", s(&cfg), "--out", s(&run), "--quiet"])
        .env("ANNEAL_TEST_PAUSE_AT_STEP", "3")
        .spawn()
        .unwrap();
    while !paused_marker(&run).exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(child.id(), "-KILL");
    child.wait().unwrap();
    assert_error(
        &anneal(&["train", "--resume", s(&run), "--quiet"]),
        2,
        &format!(
            "error: nothing to resume in {}: it stopped before its first checkpoint; start it again",
            run.display()
        ),
    );
    // --force starts over.
    let o = anneal(&[
        "train",
        "--config",
        s(&cfg),
        "--out",
        s(&run),
        "--force",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(artifact_id(&run), artifact_id(&reference));
}

/// Starts a long run (300 epochs, no early stopping), waits for its second
/// epoch line, sends `signal`, and returns the exit code and last line.
fn interrupt(cfg: &Path, run: &Path, signal: &str) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(["train", "--config", s(cfg), "--out", s(run)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut last = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("epoch 2/") {
            kill(child.id(), signal);
            break;
        }
    }
    for line in lines {
        last = line.unwrap();
    }
    (child.wait().unwrap().code(), last)
}

#[test]
fn sigint_and_sigterm_checkpoint_and_exit() {
    let dir = scratch("resume-signals");
    // Every one of the 300 epochs runs: early stopping is off.
    let cfg = config(&dir, "long", |t| {
        t.replace("epochs = 60", "epochs = 300").replace(
            "[train.early_stopping]",
            "[train.early_stopping]\nenabled = false",
        )
    });

    let run = dir.join("run");
    let (code, last) = interrupt(&cfg, &run, "-INT");
    assert_eq!(code, Some(130), "{last}");
    assert!(
        last.starts_with("error: interrupted by SIGINT: checkpoint written at epoch "),
        "{last}"
    );
    assert!(
        last.ends_with(&format!(
            "; continue with `anneal train --resume {}`",
            run.display()
        )),
        "{last}"
    );
    assert!(!run.exists());
    let o = anneal(&["train", "--resume", s(&run), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));

    let reference = dir.join("reference");
    let o = anneal(&[
        "train",
        "--config",
        s(&cfg),
        "--out",
        s(&reference),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_json(&reference.join("report.json"))["training"]["epochs_run"],
        300
    );
    assert_eq!(artifact_id(&run), artifact_id(&reference));

    let run = dir.join("term");
    let (code, last) = interrupt(&cfg, &run, "-TERM");
    assert_eq!(code, Some(143), "{last}");
    assert!(
        last.starts_with("error: interrupted by SIGTERM: checkpoint written at epoch "),
        "{last}"
    );

    // Resuming with a changed config is refused, naming the hashes.
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("learning_rate = 0.001", "learning_rate = 0.002"),
    )
    .unwrap();
    let o = anneal(&["train", "--resume", s(&run)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the config or the data changed since it started"),
        "{}",
        stderr(&o)
    );
    // Nothing to resume in a finished run.
    assert_error(
        &anneal(&["train", "--resume", s(&reference)]),
        2,
        &format!(
            "error: nothing to resume in {}: the run is complete",
            reference.display()
        ),
    );
}

/// The ensemble kinds resume exactly too: a `tabm` run killed mid-epoch
/// (after a step checkpoint) and resumed gives the uninterrupted run's
/// artifact.
#[test]
fn tabm_killed_mid_epoch_resumes_exactly() {
    let dir = scratch("resume-tabm");
    let data = root().join("datasets/breast_cancer.csv");
    let cfg = dir.join("tabm.toml");
    std::fs::write(
        &cfg,
        format!(
            "[data]\npath = {:?}\ntarget = \"diagnosis\"\n[model]\nkind = \"tabm\"\nk = 4\nhidden = [32, 32]\n[train]\nepochs = 6\n",
            s(&data)
        ),
    )
    .unwrap();
    let reference = dir.join("reference");
    let o = anneal(&[
        "train",
        "--config",
        s(&cfg),
        "--out",
        s(&reference),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run = dir.join("run");
    let mut child = paused_at(&cfg, &run, ["--checkpoint-every", "7"], 20);
    kill(child.id(), "-KILL");
    assert_eq!(child.wait().unwrap().code(), None, "killed by a signal");
    let o = anneal(&["train", "--resume", s(&run)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("resuming from "), "{}", stderr(&o));
    assert_eq!(artifact_id(&run), artifact_id(&reference));
}
