//! `anneal sweep plan|run|collect`, and `anneal train --trial I` (which
//! `train` hands over here when its config has a `[sweep]` section).
//!
//! A trial is an ordinary run folder, `SWEEP/trials/NNNN`, with a
//! `trial.json` naming the trial it holds. That makes trials idempotent:
//! a finished one is skipped, an interrupted one (its staging folder holds
//! checkpoints) is resumed, and a scheduler may retry any task safely.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anneal_config::Loaded;
use anneal_sweep::leaderboard::TrialFailure;
use anneal_sweep::plan::TrialRecord;
use anneal_sweep::trial_dir;

use super::run_dir;
use crate::cli::{BackendArg, SweepCommand, TrainArgs};
use crate::error::CliError;
use crate::output;

pub fn run(cmd: &SweepCommand) -> Result<(), CliError> {
    match cmd {
        SweepCommand::Plan { config, out } => {
            let loaded = anneal_config::load(config)?;
            let dir = sweep_dir(config, out.as_deref());
            let plan = anneal_sweep::plan(&loaded)?;
            plan.write(&dir)?;
            output::sweep_planned(&dir, &plan);
            Ok(())
        }
        SweepCommand::Run {
            config,
            out,
            parallel,
            backend,
        } => run_all(config, out.as_deref(), *parallel as usize, *backend),
        SweepCommand::Collect { dir } => {
            let board = anneal_sweep::collect(dir)?;
            board.write(dir)?;
            output::leaderboard(dir, &board);
            if board.finished() == 0 {
                return Err(CliError::Usage(format!(
                    "no trial of {} has finished yet (run them with `anneal sweep run` or `anneal train --trial I`)",
                    dir.display()
                )));
            }
            Ok(())
        }
    }
}

fn sweep_dir(config: &Path, out: Option<&Path>) -> PathBuf {
    out.map(Path::to_path_buf)
        .unwrap_or_else(|| super::train::default_out(config))
}

/// Whether the trial folder holds this trial, finished: `Some(true)`; a
/// different one: an error; nothing: `None`.
fn finished(dir: &Path, id: &str) -> Result<bool, CliError> {
    if !dir.exists() {
        return Ok(false);
    }
    let path = dir.join("trial.json");
    let record: Option<TrialRecord> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match record {
        Some(r) if r.id == id => Ok(true),
        Some(r) => Err(CliError::Usage(format!(
            "{} holds trial id {} but this sweep's trial {} is {id}: the sweep changed since it ran; retrain it with `anneal train --trial {} --force`, or use another --out",
            dir.display(),
            r.id,
            r.index,
            r.index
        ))),
        None => Err(CliError::Usage(format!(
            "{} exists but is not a trial of this sweep (no readable {}); move it away, or replace it with `anneal train --trial N --force`",
            dir.display(),
            path.display()
        ))),
    }
}

/// `anneal train --config SWEEP --trial I` (or I from the scheduler).
pub fn train_trial(args: &TrainArgs, loaded: Loaded) -> Result<(), CliError> {
    let index = anneal_sweep::trial_index(args.trial, |k| std::env::var(k).ok())?;
    let Some((index, source)) = index else {
        return Err(CliError::Usage(format!(
            "{} has a [sweep] section: run one trial with --trial I (or under a scheduler that sets JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or VC_TASK_INDEX), or all of them with `anneal sweep run --config {}`",
            loaded.path.display(),
            loaded.path.display()
        )));
    };
    let config = loaded.path.clone();
    let sweep = sweep_dir(&config, args.out.as_deref());
    let plan = anneal_sweep::plan(&loaded)?;
    let Some(trial) = plan.trials.get(index).cloned() else {
        return Err(CliError::Usage(format!(
            "trial {index} (from {source}) does not exist: {} plans {} trials (0 to {})",
            config.display(),
            plan.trials.len(),
            plan.trials.len().saturating_sub(1)
        )));
    };
    plan.write(&sweep)?;
    let out = trial_dir(&sweep, index);
    if !args.force && finished(&out, &trial.id)? {
        if !args.silent {
            output::trial_skipped(index, &trial.id, &out);
        }
        return Ok(());
    }
    let partial = run_dir::partial_dir(&out);
    let resumable = !args.force
        && anneal_model::checkpoint::latest(&partial.join("checkpoints"))
            .ok()
            .flatten()
            .is_some();
    let mut train = args.clone();
    train.trial = None;
    train.out = Some(out.clone());
    train.config_text = Some(trial.config.clone());
    train.trial_record = Some(trial.record());
    if resumable {
        train.resume = Some(out.clone());
    } else {
        // A staging folder without a checkpoint holds nothing to keep.
        train.force = args.force || partial.exists();
    }
    let failure = sweep.join("trials").join(format!("{index:04}.error.json"));
    match super::train::run(&train) {
        Ok(()) => {
            let _ = std::fs::remove_file(&failure);
            Ok(())
        }
        Err(e) => {
            if !matches!(e, CliError::Interrupted { .. }) {
                let record = TrialFailure {
                    index,
                    id: trial.id.clone(),
                    exit_code: e.exit_code(),
                    message: e.to_string(),
                };
                if let Ok(text) = anneal_core::json::to_canonical_string(&record, "error.json") {
                    let _ = anneal_core::fsio::atomic_write(&failure, text.as_bytes());
                }
            }
            Err(e)
        }
    }
}

/// One trial's outcome in `sweep run`.
struct Outcome {
    index: usize,
    /// None: skipped (already finished). Some(code): the child's exit code.
    code: Option<i32>,
    seconds: f64,
}

fn run_all(
    config: &Path,
    out: Option<&Path>,
    parallel: usize,
    backend: Option<BackendArg>,
) -> Result<(), CliError> {
    let started = Instant::now();
    let loaded = anneal_config::load(config)?;
    if loaded.config.sweep.is_none() {
        return Err(CliError::Usage(format!(
            "{} has no [sweep] section: there are no trials to run (train it with `anneal train --config {}`)",
            config.display(),
            config.display()
        )));
    }
    let dir = sweep_dir(config, out);
    let plan = anneal_sweep::plan(&loaded)?;
    plan.write(&dir)?;
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| CliError::Write(format!("cannot create {}: {e}", logs.display())))?;
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Io(format!("cannot find the anneal binary to run trials: {e}")))?;

    // Trials already finished are not started again.
    let mut todo = Vec::new();
    let mut done = Vec::new();
    for t in &plan.trials {
        if finished(&trial_dir(&dir, t.index), &t.id)? {
            done.push(Outcome {
                index: t.index,
                code: None,
                seconds: 0.0,
            });
        } else {
            todo.push(t.index);
        }
    }
    let workers = parallel.min(todo.len()).max(1);
    output::sweep_started(&dir, &plan, todo.len(), workers);
    for o in &done {
        output::sweep_trial(
            &plan,
            &dir,
            o.index,
            None,
            0.0,
            plan.trials.len() - todo.len(),
            plan.trials.len(),
        );
    }
    let threads = std::env::var("RAYON_NUM_THREADS").ok().or_else(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Some((cores / workers).max(1).to_string())
    });

    // SIGINT/SIGTERM: stop starting trials and pass the signal on; each
    // running trial checkpoints and exits, and the same command resumes.
    let signals = super::signals::StopSignals::install(false);
    let stop = signals.stop.clone();

    let queue = Arc::new(Mutex::new(todo.clone().into_iter()));
    let running: Arc<Mutex<Vec<u32>>> = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel::<Result<Outcome, String>>();
    let mut pool = Vec::new();
    for _ in 0..workers {
        let queue = queue.clone();
        let running = running.clone();
        let stop = stop.clone();
        let tx = tx.clone();
        let exe = exe.clone();
        let config = config.to_path_buf();
        let dir = dir.clone();
        let logs = logs.clone();
        let threads = threads.clone();
        pool.push(std::thread::spawn(move || {
            loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let next = queue.lock().ok().and_then(|mut q| q.next());
                let Some(index) = next else { break };
                let t0 = Instant::now();
                let result = spawn_trial(
                    &exe,
                    &config,
                    &dir,
                    &logs,
                    index,
                    backend,
                    threads.as_deref(),
                    &running,
                )
                .map(|code| Outcome {
                    index,
                    code: Some(code),
                    seconds: t0.elapsed().as_secs_f64(),
                });
                if tx.send(result).is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);

    let total = plan.trials.len();
    let mut completed = done.len();
    let mut signalled = std::collections::BTreeSet::new();
    let mut failures: Vec<(usize, i32)> = Vec::new();
    let mut spawn_error = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(o)) => {
                completed += 1;
                let code = o.code.unwrap_or(0);
                output::sweep_trial(&plan, &dir, o.index, o.code, o.seconds, completed, total);
                if code != 0 {
                    failures.push((o.index, code));
                }
            }
            Ok(Err(e)) => {
                spawn_error.get_or_insert(e);
                stop.store(true, Ordering::SeqCst);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        // Until every child is gone: one started just as the signal came
        // is signalled on the next round.
        if signals.stopping() {
            let sig = match signals.code() {
                Some(130) => libc::SIGINT,
                _ => libc::SIGTERM,
            };
            if let Ok(pids) = running.lock() {
                for &pid in pids.iter().filter(|&&p| signalled.insert(p)) {
                    // SAFETY: kill(2) on a child we started and have not
                    // reaped; at worst the signal finds no process.
                    unsafe {
                        libc::kill(pid as libc::pid_t, sig);
                    }
                }
            }
        }
    }
    for h in pool {
        let _ = h.join();
    }
    let signal = signals.code();
    drop(signals);
    if let Some(e) = spawn_error {
        return Err(CliError::Io(e));
    }

    let board = anneal_sweep::collect(&dir)?;
    board.write(&dir)?;
    output::leaderboard(&dir, &board);
    output::sweep_done(started.elapsed().as_secs_f64());
    if let Some(code) = signal {
        return Err(CliError::SweepInterrupted {
            code,
            dir: dir.clone(),
            finished: board.finished(),
            total,
        });
    }
    if !failures.is_empty() {
        failures.sort_unstable();
        let first = failures[0].1;
        let code = if failures.iter().all(|f| f.1 == first) && (1..=255).contains(&first) {
            first as u8
        } else {
            1
        };
        return Err(CliError::SweepFailed {
            code,
            failed: failures.len(),
            total,
            logs: failures
                .iter()
                .map(|(i, _)| logs.join(format!("{i:04}.log")).display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
}

/// Runs `anneal train --trial INDEX` as a child in its own process group
/// (so that a terminal's Ctrl-C reaches the sweep, which passes it on once),
/// its output appended to `logs/NNNN.log`. Returns its exit code (128+N for
/// a child killed by signal N).
#[allow(clippy::too_many_arguments)]
fn spawn_trial(
    exe: &Path,
    config: &Path,
    dir: &Path,
    logs: &Path,
    index: usize,
    backend: Option<BackendArg>,
    threads: Option<&str>,
    running: &Mutex<Vec<u32>>,
) -> Result<i32, String> {
    use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
    let log_path = logs.join(format!("{index:04}.log"));
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let _ = writeln!(log, "--- anneal train --trial {index}");
    let err_log = log
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let mut cmd = Command::new(exe);
    cmd.arg("train")
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(dir)
        .arg("--trial")
        .arg(index.to_string())
        .arg("--quiet");
    if let Some(b) = backend {
        cmd.arg("--backend").arg(match b {
            BackendArg::Flex => "flex",
            BackendArg::Ndarray => "ndarray",
            BackendArg::Wgpu => "wgpu",
        });
    }
    for (name, _) in anneal_sweep::index::SCHEDULER_VARIABLES {
        cmd.env_remove(name);
    }
    if let Some(t) = threads {
        cmd.env("RAYON_NUM_THREADS", t);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err_log))
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let pid = child.id();
    if let Ok(mut r) = running.lock() {
        r.push(pid);
    }
    let status = child.wait();
    if let Ok(mut r) = running.lock() {
        r.retain(|&p| p != pid);
    }
    let status = status.map_err(|e| format!("lost trial {index}: {e}"))?;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}
