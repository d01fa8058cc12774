//! The failure classes end to end: each row runs the real binary into one
//! class and checks the exit code `anneal_core::failure::EXIT_CODES` gives
//! it, and the error's one line. Write failures are transient (75) in
//! every crate: a run folder, an evaluation, a verdict, a registry.

mod common;
use common::*;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anneal_core::failure::{EXIT_CODES, Failure, Stop};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn code_of(f: Failure) -> i32 {
    let (_, code) = EXIT_CODES.iter().find(|(g, _)| *g == f).unwrap();
    i32::from(*code)
}

/// A finished titanic run, shared by the rows that need one.
fn run_dir(dir: &Path) -> std::path::PathBuf {
    let run = dir.join("run");
    let o = anneal(&[
        "train",
        "--config",
        "configs/titanic.toml",
        "--out",
        s(&run),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    run
}

#[test]
fn every_failure_class_exits_with_its_code() {
    let dir = scratch("exit-codes");
    let run = run_dir(&dir);
    let artifact = run.join("artifact");
    let unwritable = Path::new("/dev/null/anneal");
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        "[[gate.rules]]\nkind = \"threshold\"\nmetric = \"accuracy\"\nsplit = \"test\"\nmin = 0.99\n",
    )
    .unwrap();
    let bad_target = dir.join("bad_target.toml");
    std::fs::write(
        &bad_target,
        format!(
            "[data]\npath = {:?}\ntarget = \"no_such_column\"\n",
            root().join("datasets/iris.csv")
        ),
    )
    .unwrap();
    let missing = dir.join("missing.toml");
    let bt = dir.join("bt");
    let verdict = dir.join("verdict");
    let rows: Vec<(Failure, Vec<&str>, String)> = vec![
        (
            Failure::Usage,
            vec!["train", "--config", s(&missing)],
            format!(
                "error: cannot read config {}: No such file or directory (os error 2)",
                missing.display()
            ),
        ),
        (
            Failure::Usage,
            vec!["gate", "--report", s(&run), "--override-reason", " "],
            "error: --override-reason needs a reason: say why a failing verdict may pass".into(),
        ),
        (
            Failure::Data,
            vec!["train", "--config", s(&bad_target), "--out", s(&bt)],
            String::new(),
        ),
        (
            Failure::Data,
            vec![
                "predict",
                "--artifact",
                s(&dir),
                "--input",
                "datasets/iris.csv",
                "--output",
                "/dev/null",
            ],
            String::new(),
        ),
        (
            Failure::Transient,
            vec![
                "train",
                "--config",
                "configs/iris.toml",
                "--out",
                "/dev/null/anneal/run",
                "--quiet",
            ],
            "error: cannot create /dev/null/anneal: Not a directory (os error 20)".into(),
        ),
        (
            Failure::Transient,
            vec![
                "eval",
                "--artifact",
                s(&artifact),
                "--data",
                "datasets/titanic.csv",
                "--out",
                "/dev/null/anneal/eval",
            ],
            "error: cannot create /dev/null/anneal: Not a directory (os error 20)".into(),
        ),
        (
            Failure::Transient,
            vec![
                "gate",
                "--report",
                s(&run),
                "--policy",
                s(&policy),
                "--out",
                s(unwritable),
            ],
            String::new(),
        ),
        (
            Failure::Transient,
            vec![
                "registry",
                "--registry",
                s(unwritable),
                "push",
                s(&artifact),
            ],
            String::new(),
        ),
        (
            Failure::RunFailed,
            vec![
                "gate",
                "--report",
                s(&run),
                "--policy",
                s(&policy),
                "--out",
                s(&verdict),
            ],
            format!(
                "error: gate FAILED: 1 of 1 checks failed (details in {})",
                dir.join("verdict/gate.json").display()
            ),
        ),
    ];
    for (class, args, line) in rows {
        let o = anneal(&args);
        let err = stderr(&o);
        assert_eq!(
            o.status.code(),
            Some(code_of(class)),
            "{class:?}: anneal {}\n{err}",
            args.join(" ")
        );
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        if !line.is_empty() {
            assert_eq!(err.trim_end(), line, "anneal {}", args.join(" "));
        }
    }
}

/// SIGINT and SIGTERM while training: a checkpoint, then 130 or 143.
#[test]
fn a_stopped_run_exits_with_its_signal_code() {
    let dir = scratch("exit-codes-signals");
    for (stop, signal) in [(Stop::Sigint, "-INT"), (Stop::Sigterm, "-TERM")] {
        let run = dir.join(signal.trim_start_matches('-'));
        let child = Command::new(anneal_paused())
            .args([
                "train",
                "--config",
                "configs/titanic.toml",
                "--out",
                s(&run),
                "--quiet",
            ])
            .current_dir(root())
            .env("ANNEAL_TEST_PAUSE_AT_STEP", "5")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let marker = dir.join(format!(
            ".{}.partial.paused",
            signal.trim_start_matches('-')
        ));
        let t0 = Instant::now();
        while !marker.exists() {
            assert!(t0.elapsed() < Duration::from_secs(60), "never paused");
            std::thread::sleep(Duration::from_millis(20));
        }
        let ok = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        assert_eq!(
            o.status.code(),
            Some(code_of(Failure::Interrupted(stop))),
            "{err}"
        );
        assert_eq!(
            err.trim_end(),
            format!(
                "error: interrupted by {}: checkpoint written at epoch 1, step 5; continue with `anneal train --resume {}`",
                stop.name(),
                run.display()
            )
        );
    }
}
