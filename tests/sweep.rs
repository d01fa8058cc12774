//! Sweeps through the real binary: plan, run locally in parallel, collect a
//! leaderboard; trials by scheduler index (Kubernetes, Slurm, Volcano);
//! idempotent trials (a finished one is skipped, an interrupted one
//! resumed to the same artifact); SIGTERM passed on to running trials; and
//! the errors a scheduler must not retry.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// configs/iris-sweep.toml with an absolute data path and `edit` applied.
fn config(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(root().join("configs/iris-sweep.toml")).unwrap();
    let data = root().join("datasets/iris.csv");
    let text = text.replace("\"../datasets/iris.csv\"", &format!("{:?}", s(&data)));
    let path = dir.join("iris-sweep.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

fn artifact_id(run: &Path) -> String {
    read_json(&run.join("artifact/manifest.json"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `anneal sweep run --config CFG --out OUT EXTRA...`.
fn sweep_run(cfg: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let args = [
        &["sweep", "run", "--config", s(cfg), "--out", s(out)][..],
        extra,
    ]
    .concat();
    anneal(&args)
}

fn anneal_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anneal"));
    cmd.args(args).current_dir(root());
    for (name, _) in [
        ("JOB_COMPLETION_INDEX", ()),
        ("SLURM_ARRAY_TASK_ID", ()),
        ("VC_TASK_INDEX", ()),
    ] {
        cmd.env_remove(name);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn sweep_run_trains_every_trial_and_collects_a_ranked_leaderboard() {
    let dir = scratch("sweep-run");
    let cfg = config(&dir, |t| t);
    let out = dir.join("sweep");

    let o = anneal(&["sweep", "plan", "--config", s(&cfg), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan = read_json(&out.join("plan.json"));
    let trials = plan["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 4);
    assert_eq!(
        plan["parameters"],
        serde_json::json!(["model.hidden", "train.learning_rate"])
    );
    // The grid counts the last key fastest; each trial's config is whole.
    assert_eq!(trials[1]["values"]["train.learning_rate"], 0.001);
    assert_eq!(trials[2]["values"]["model.hidden"], serde_json::json!([16]));
    let trial2 = trials[2]["config"].as_str().unwrap();
    assert!(trial2.contains("hidden = [16]"), "{trial2}");
    assert!(!trial2.contains("[sweep"), "{trial2}");

    let t0 = Instant::now();
    let o = sweep_run(&cfg, &out, &["--parallel", "2"]);
    let first = t0.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.matches(": done in ").count(), 4, "{err}");

    let board = read_json(&out.join("leaderboard.json"));
    assert_eq!(board["counts"]["finished"], 4);
    let entries = board["entries"].as_array().unwrap();
    // Ranked by valid accuracy, best first, each value the trial's own.
    let mut last = f64::INFINITY;
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["rank"], i + 1);
        let idx = e["index"].as_u64().unwrap() as usize;
        let run = out.join(format!("trials/{idx:04}"));
        let metrics = read_json(&run.join("metrics.json"));
        let v = e["objective"].as_f64().unwrap();
        assert_eq!(v, metrics["valid"]["accuracy"].as_f64().unwrap());
        assert!(v <= last);
        last = v;
        assert_eq!(e["artifact_id"].as_str().unwrap(), artifact_id(&run));
        assert_eq!(
            read_json(&run.join("trial.json"))["id"],
            trials[idx]["id"],
            "trial.json of {idx}"
        );
    }
    let best = entries[0]["objective"].as_f64().unwrap();
    assert!(best >= 0.9, "best valid accuracy {best}");
    let stdout = stdout(&o);
    assert!(stdout.contains("best: trial "), "{stdout}");
    let md = std::fs::read_to_string(out.join("leaderboard.md")).unwrap();
    assert!(md.contains("| rank | trial | id | `model.hidden` | `train.learning_rate` | accuracy (valid) | accuracy (test) | status |"), "{md}");
    let html = std::fs::read_to_string(out.join("leaderboard.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 2, "one plot per parameter");
    assert!(!html.contains("<script"));

    // The same trial trained on its own, in another folder and with one
    // thread: the same artifact, bit for bit.
    let alone = dir.join("alone");
    let o = anneal_env(
        &[
            "train",
            "--config",
            s(&cfg),
            "--out",
            s(&alone),
            "--trial",
            "2",
            "--quiet",
        ],
        &[("RAYON_NUM_THREADS", "1")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        artifact_id(&alone.join("trials/0002")),
        artifact_id(&out.join("trials/0002"))
    );

    // Idempotent: a finished trial is skipped, a second sweep run trains
    // nothing and writes the same leaderboard bytes.
    let o = anneal(&[
        "train",
        "--config",
        s(&cfg),
        "--out",
        s(&out),
        "--trial",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("already finished"), "{}", stderr(&o));
    let before = std::fs::read(out.join("leaderboard.json")).unwrap();
    let t0 = Instant::now();
    let o = sweep_run(&cfg, &out, &[]);
    let again = t0.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o).matches("already finished").count(), 4);
    assert_eq!(std::fs::read(out.join("leaderboard.json")).unwrap(), before);
    let o = anneal(&["sweep", "collect", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(out.join("leaderboard.json")).unwrap(), before);
    eprintln!("sweep run: 4 trials in {first:?} (2 at a time); again (all skipped) in {again:?}");
}

#[test]
fn trial_index_comes_from_the_scheduler_and_sources_must_agree() {
    let dir = scratch("sweep-index");
    let cfg = config(&dir, |t| t.replace("epochs = 60", "epochs = 5"));
    let out = dir.join("sweep");
    let args = ["train", "--config", s(&cfg), "--out", s(&out), "--quiet"];
    for (var, index) in [
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("JOB_COMPLETION_INDEX", "0"),
        ("VC_TASK_INDEX", "1"),
    ] {
        let o = anneal_env(&args, &[(var, index)]);
        assert!(o.status.success(), "{var}: {}", stderr(&o));
        let run = out.join(format!("trials/000{index}"));
        assert_eq!(
            read_json(&run.join("trial.json"))["index"],
            index.parse::<u64>().unwrap()
        );
    }
    // Agreeing sources are fine; disagreeing ones are a usage error.
    let o = anneal_env(
        &[&args[..], &["--trial", "3"]].concat(),
        &[("SLURM_ARRAY_TASK_ID", "3")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = anneal_env(
        &[&args[..], &["--trial", "2"]].concat(),
        &[("JOB_COMPLETION_INDEX", "1")],
    );
    assert_error(
        &o,
        2,
        "error: two trial indices disagree: --trial says 2 but $JOB_COMPLETION_INDEX says 1; set only one",
    );
    let o = anneal_env(&args, &[("SLURM_ARRAY_TASK_ID", "4")]);
    assert_error(
        &o,
        2,
        &format!(
            "error: trial 4 (from $SLURM_ARRAY_TASK_ID) does not exist: {} plans 4 trials (0 to 3)",
            cfg.display()
        ),
    );
    let o = anneal_env(&args, &[("VC_TASK_INDEX", "one")]);
    assert_error(
        &o,
        2,
        "error: $VC_TASK_INDEX (Volcano task index) is \"one\", not a trial number",
    );
    let o = anneal_env(&args, &[]);
    assert_error(
        &o,
        2,
        &format!(
            "error: {} has a [sweep] section: run one trial with --trial I (or under a scheduler that sets JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or VC_TASK_INDEX), or all of them with `anneal sweep run --config {}`",
            cfg.display(),
            cfg.display()
        ),
    );
    // A plain config ignores a scheduler's index but refuses --trial.
    let plain = dir.join("plain");
    let o = anneal_env(
        &[
            "train",
            "--config",
            "configs/iris.toml",
            "--out",
            s(&plain),
            "--quiet",
        ],
        &[("SLURM_ARRAY_TASK_ID", "2")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = anneal(&["train", "--config", "configs/iris.toml", "--trial", "0"]);
    assert_error(
        &o,
        2,
        "error: --trial 0: configs/iris.toml has no [sweep] section, so it has no trials",
    );
    // Collect sees three finished trials and one pending.
    let o = anneal(&["sweep", "collect", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let board = read_json(&out.join("leaderboard.json"));
    assert_eq!(
        board["counts"],
        serde_json::json!({"finished": 3, "pending": 1})
    );
    // A changed sweep may not write into the old folder.
    let cfg2 = config(&dir, |t| {
        t.replace("epochs = 60", "epochs = 5")
            .replace("[1e-2, 1e-3]", "[1e-2, 3e-3]")
    });
    let o = anneal(&[
        "train",
        "--config",
        s(&cfg2),
        "--out",
        s(&out),
        "--trial",
        "0",
    ]);
    assert_error(
        &o,
        2,
        &format!(
            "error: {} holds the plan of a different sweep (the config or its [sweep] section changed since it was planned); choose another --out, or delete the folder to start over",
            out.display()
        ),
    );
}

#[test]
fn bad_sweep_sections_are_config_errors_with_a_line() {
    let dir = scratch("sweep-bad");
    for (edit, line) in [
        (
            (
                "train.learning_rate = [1e-2, 1e-3]",
                "train.learning_rate = [1e-2, -1.0]",
            ),
            "error: {cfg}:27:7: sweep.parameters.train.learning_rate: trial 1 sets train.learning_rate = -1.0: must be > 0, got -1",
        ),
        (
            (
                "train.learning_rate = [1e-2, 1e-3]",
                "train.learnin_rate = [1e-2]",
            ),
            "error: {cfg}:27:7: sweep.parameters.train.learnin_rate: trial 0 sets train.learnin_rate = 0.01: unknown field `learnin_rate`, expected one of `epochs`, `batch_size`, `learning_rate`, `seed`, `backend`, `optimizer`, `weight_decay`, `momentum`, `schedule`, `loss`, `huber_delta`, `class_weights`, `grad_clip`, `eval_batch_size`, `shuffle_block`, `init`, `early_stopping`",
        ),
        (
            (
                "train.learning_rate = [1e-2, 1e-3]",
                "train.learning_rate = { log_uniform = [1e-4, 1e-1] }",
            ),
            "error: {cfg}:27:7: sweep.parameters.train.learning_rate: a grid needs a list of values; distributions are for method = \"random\"",
        ),
        (
            ("objective = \"accuracy\"", "objective = \"acuracy\""),
            "error: {cfg}:23:1: sweep.objective: unknown metric \"acuracy\"; expected one of accuracy, balanced_accuracy, brier, ece, f1_macro, f1_weighted, log_loss, pr_auc, precision_macro, precision_weighted, recall_macro, recall_weighted, roc_auc, mae, mape, median_absolute_error, mse, r2, rmse",
        ),
    ] {
        let cfg = config(&dir, |t| t.replace(edit.0, edit.1));
        let expected = line.replace("{cfg}", s(&cfg));
        for args in [
            vec!["sweep", "plan", "--config", s(&cfg)],
            vec!["sweep", "run", "--config", s(&cfg)],
            vec!["train", "--config", s(&cfg), "--trial", "0"],
        ] {
            let o = anneal(&args);
            assert_error(&o, 2, &expected);
        }
    }
    let o = anneal(&["sweep", "collect", s(&dir)]);
    assert_error(
        &o,
        2,
        &format!(
            "error: {} is not a sweep folder: cannot read {}: No such file or directory (os error 2) (write it with `anneal sweep plan`)",
            dir.display(),
            dir.join("plan.json").display()
        ),
    );
}

/// Waits until `n` trials of `out` are paused at their step (the test
/// driver's ANNEAL_TEST_PAUSE_AT_STEP hook) and returns their indices.
fn wait_paused(out: &Path, n: usize) -> Vec<usize> {
    let t0 = Instant::now();
    loop {
        let paused: Vec<usize> = (0..4)
            .filter(|i| out.join(format!("trials/.{i:04}.partial.paused")).exists())
            .collect();
        if paused.len() >= n {
            return paused;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "trials never paused"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_checkpoints_running_trials_and_the_same_command_resumes_them() {
    let dir = scratch("sweep-term");
    let cfg = config(&dir, |t| t);
    // Reference: two trials trained without interruption.
    let reference = dir.join("reference");
    for i in ["0", "3"] {
        let o = anneal(&[
            "train",
            "--config",
            s(&cfg),
            "--out",
            s(&reference),
            "--trial",
            i,
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }

    let out = dir.join("sweep");
    let child = Command::new(common::anneal_paused())
        .args([
            "sweep",
            "run",
            "--config",
            s(&cfg),
            "--out",
            s(&out),
            "--parallel",
            "2",
        ])
        .current_dir(root())
        .env("ANNEAL_TEST_PAUSE_AT_STEP", "7")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let paused = wait_paused(&out, 2);
    assert_eq!(paused, [0, 1]);
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(
        err.contains("error: sweep interrupted: 0 of 4 trials finished"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let board = read_json(&out.join("leaderboard.json"));
    assert_eq!(
        board["counts"],
        serde_json::json!({"interrupted": 2, "pending": 2})
    );
    // Each stopped trial wrote a checkpoint at the step it was on.
    for i in [0, 1] {
        let ckpts = out.join(format!("trials/.{i:04}.partial/checkpoints"));
        assert!(std::fs::read_dir(&ckpts).unwrap().count() >= 1, "{ckpts:?}");
    }

    // The same command again: the interrupted trials resume, the rest run.
    let o = sweep_run(&cfg, &out, &["--parallel", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let board = read_json(&out.join("leaderboard.json"));
    assert_eq!(board["counts"], serde_json::json!({"finished": 4}));
    for i in [0, 1] {
        let run = read_json(&out.join(format!("trials/{i:04}/run.json")));
        assert!(
            run["resumed"].as_bool().unwrap_or(false),
            "trial {i}: {run}"
        );
    }
    for i in [0, 3] {
        assert_eq!(
            artifact_id(&out.join(format!("trials/{i:04}"))),
            artifact_id(&reference.join(format!("trials/{i:04}"))),
            "trial {i}: resumed (or parallel) run differs from the reference"
        );
    }
}

#[test]
fn a_failing_trial_is_recorded_and_the_others_still_run() {
    let dir = scratch("sweep-fail");
    let cfg = config(&dir, |t| {
        t.replace("epochs = 60", "epochs = 5").replace(
            "model.hidden = [[64, 64], [16]]",
            "data.target = [\"species\", \"no_such_column\"]",
        )
    });
    let out = dir.join("sweep");
    let o = sweep_run(&cfg, &out, &["-j", "2"]);
    let err = stderr(&o);
    // Both failures are data errors (exit 3), so the sweep exits 3: a
    // scheduler must not retry it.
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(err.matches("FAILED with exit 3").count(), 2, "{err}");
    assert!(
        err.ends_with(&format!(
            "error: 2 of 4 trials failed; see {}, {}\n",
            out.join("logs/0002.log").display(),
            out.join("logs/0003.log").display()
        )),
        "{err}"
    );
    let board = read_json(&out.join("leaderboard.json"));
    assert_eq!(
        board["counts"],
        serde_json::json!({"failed": 2, "finished": 2})
    );
    let failed = &board["entries"][2];
    assert_eq!(failed["status"], "failed");
    let note = failed["note"].as_str().unwrap();
    assert!(note.starts_with("exit 3: "), "{note}");
    assert!(note.contains("no_such_column"), "{note}");
    let record = read_json(&out.join("trials/0002.error.json"));
    assert_eq!(record["exit_code"], 3);
    let log = std::fs::read_to_string(out.join("logs/0002.log")).unwrap();
    assert!(log.contains("no_such_column"), "{log}");
}
