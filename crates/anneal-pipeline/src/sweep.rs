//! Sweeps: plan the trials of a config's `[sweep]` section, run them as
//! child processes, collect a leaderboard; and train one trial (`train`
//! hands a sweep config over here).
//!
//! A trial is an ordinary run folder, `SWEEP/trials/NNNN`, with a
//! `trial.json` naming the trial it holds. That makes trials idempotent:
//! a finished one is skipped, an interrupted one (its staging folder holds
//! checkpoints) is resumed, and a scheduler may retry any task safely.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anneal_config::{Backend, Loaded};
use anneal_core::Failure;
use anneal_sweep::leaderboard::TrialFailure;
use anneal_sweep::plan::TrialRecord;
use anneal_sweep::{Leaderboard, Plan, trial_dir};

use crate::error::{Error, Result};
use crate::observer::Observer;
use crate::run_dir;
use crate::stop::StopToken;
use crate::train::{Job, Start, TrainRequest, Trained};

/// Writes DIR/plan.json for a sweep config; returns the folder and plan.
pub fn plan(config: &Path, out: Option<&Path>) -> Result<(PathBuf, Plan)> {
    let loaded = anneal_config::load(config)?;
    let dir = sweep_dir(config, out);
    let plan = anneal_sweep::plan(&loaded)?;
    plan.write(&dir)?;
    Ok((dir, plan))
}

/// Ranks the trials of a sweep folder and writes the leaderboard files.
/// A sweep with no finished trial is an error, after writing them.
pub fn collect(dir: &Path) -> Result<Leaderboard> {
    let board = anneal_sweep::collect(dir)?;
    board.write(dir)?;
    Ok(board)
}

/// Fails when no trial of `board` has finished.
pub fn require_finished(dir: &Path, board: &Leaderboard) -> Result<()> {
    if board.finished() == 0 {
        return Err(Error::Usage(format!(
            "no trial of {} has finished yet (run them with `anneal sweep run` or `anneal train --trial I`)",
            dir.display()
        )));
    }
    Ok(())
}

fn sweep_dir(config: &Path, out: Option<&Path>) -> PathBuf {
    out.map(Path::to_path_buf)
        .unwrap_or_else(|| crate::train::default_out(config))
}

/// Whether the trial folder holds this trial, finished: `Some(true)`; a
/// different one: an error; nothing: `None`.
fn finished(dir: &Path, id: &str) -> Result<bool> {
    if !dir.exists() {
        return Ok(false);
    }
    let path = dir.join("trial.json");
    let record: Option<TrialRecord> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match record {
        Some(r) if r.id == id => Ok(true),
        Some(r) => Err(Error::Usage(format!(
            "{} holds trial id {} but this sweep's trial {} is {id}: the sweep changed since it ran; retrain it with `anneal train --trial {} --force`, or use another --out",
            dir.display(),
            r.id,
            r.index,
            r.index
        ))),
        None => Err(Error::Usage(format!(
            "{} exists but is not a trial of this sweep (no readable {}); move it away, or replace it with `anneal train --trial N --force`",
            dir.display(),
            path.display()
        ))),
    }
}

/// `anneal train --config SWEEP --trial I` (or I from the scheduler).
pub(crate) fn train_trial(
    req: &TrainRequest,
    loaded: Loaded,
    obs: &mut dyn Observer,
    stop: &StopToken,
) -> Result<Trained> {
    let index = anneal_sweep::trial_index(req.trial, |k| std::env::var(k).ok())?;
    let Some((index, source)) = index else {
        return Err(Error::Usage(format!(
            "{} has a [sweep] section: run one trial with --trial I (or under a scheduler that sets JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or VC_TASK_INDEX), or all of them with `anneal sweep run --config {}`",
            loaded.path.display(),
            loaded.path.display()
        )));
    };
    let config = loaded.path.clone();
    let sweep = sweep_dir(&config, req.out.as_deref());
    let plan = anneal_sweep::plan(&loaded)?;
    let Some(trial) = plan.trials.get(index).cloned() else {
        return Err(Error::Usage(format!(
            "trial {index} (from {source}) does not exist: {} plans {} trials (0 to {})",
            config.display(),
            plan.trials.len(),
            plan.trials.len().saturating_sub(1)
        )));
    };
    plan.write(&sweep)?;
    let out = trial_dir(&sweep, index);
    if !req.force && finished(&out, &trial.id)? {
        return Ok(Trained::TrialSkipped {
            index,
            id: trial.id.clone(),
            dir: out,
        });
    }
    let partial = run_dir::partial_dir(&out);
    let resumable = !req.force
        && anneal_model::checkpoint::latest(&partial.join("checkpoints"))
            .ok()
            .flatten()
            .is_some();
    let mut job = Job::new(req, config);
    job.out = out;
    job.config_text = Some(trial.config.clone());
    job.trial = Some(trial.record());
    // A staging folder without a checkpoint holds nothing to keep.
    job.force = req.force || (!resumable && partial.exists());
    let outcome = if resumable {
        // As `--resume` would: the seed and backend the trial began with.
        let mut resume = req.clone();
        resume.start = Start::Resume(job.out.clone());
        crate::train::train(&resume, obs, stop)
    } else {
        crate::train::run(&job, obs, stop).map(|s| Trained::Run(Box::new(s)))
    };
    record_outcome(&sweep, index, &trial.id, outcome)
}

/// A failed trial leaves `trials/NNNN.error.json` for the leaderboard; a
/// finished one removes it.
fn record_outcome(
    sweep: &Path,
    index: usize,
    id: &str,
    outcome: Result<Trained>,
) -> Result<Trained> {
    let failure = sweep.join("trials").join(format!("{index:04}.error.json"));
    match &outcome {
        Ok(_) => {
            let _ = std::fs::remove_file(&failure);
        }
        Err(Error::Interrupted { .. }) => {}
        Err(e) => {
            let record = TrialFailure {
                index,
                id: id.to_string(),
                exit_code: e.exit_code(),
                message: e.to_string(),
            };
            if let Ok(text) = anneal_core::json::to_canonical_string(&record, "error.json") {
                let _ = anneal_core::fsio::atomic_write(&failure, text.as_bytes());
            }
        }
    }
    outcome
}

/// `anneal sweep run`: every trial as a child process.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    pub config: PathBuf,
    /// The sweep folder [default: runs/<config name>].
    pub out: Option<PathBuf>,
    /// Trials run at once.
    pub parallel: usize,
    /// Overrides train.backend of every trial.
    pub backend: Option<Backend>,
    /// The `anneal` binary that runs each trial (`anneal train --trial I`).
    pub exe: PathBuf,
}

/// What a front-end hears while a sweep runs.
pub trait SweepObserver {
    /// The plan is written; `todo` trials will run, `workers` at a time.
    fn started(&mut self, _dir: &Path, _plan: &Plan, _todo: usize, _workers: usize) {}
    /// A trial ended (or was found finished already).
    fn trial_done(&mut self, _plan: &Plan, _dir: &Path, _end: &TrialEnd) {}
}

/// One trial's end, as `sweep run` reports it.
#[derive(Debug, Clone, Copy)]
pub struct TrialEnd {
    pub index: usize,
    /// The child's exit code; `None`: it had finished before this run.
    pub code: Option<i32>,
    pub seconds: f64,
    /// Trials ended so far, and in all.
    pub completed: usize,
    pub total: usize,
}

/// A sweep that ran to its end or was stopped: its leaderboard, and the
/// failure the run ends with (interrupted, failed trials), if any.
pub struct SweepRun {
    pub dir: PathBuf,
    pub board: Leaderboard,
    pub seconds: f64,
    pub failure: Option<Error>,
}

/// One trial's outcome in `sweep run`.
struct Outcome {
    index: usize,
    /// None: skipped (already finished). Some(code): the child's exit code.
    code: Option<i32>,
    seconds: f64,
}

/// Runs every unfinished trial, `parallel` at a time, then collects. A
/// stop request (SIGINT/SIGTERM through `stop`) starts no more trials and
/// is passed on to the running ones, which checkpoint; the same call
/// resumes them.
pub fn run_sweep(
    req: &SweepRequest,
    obs: &mut dyn SweepObserver,
    stop: &StopToken,
) -> Result<SweepRun> {
    let started = Instant::now();
    let loaded = anneal_config::load(&req.config)?;
    if loaded.config.sweep.is_none() {
        return Err(Error::Usage(format!(
            "{} has no [sweep] section: there are no trials to run (train it with `anneal train --config {}`)",
            req.config.display(),
            req.config.display()
        )));
    }
    let dir = sweep_dir(&req.config, req.out.as_deref());
    let plan = anneal_sweep::plan(&loaded)?;
    plan.write(&dir)?;
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| Error::Write(format!("cannot create {}: {e}", logs.display())))?;
    let (todo, done) = split_finished(&dir, &plan)?;
    let workers = req.parallel.min(todo.len()).max(1);
    obs.started(&dir, &plan, todo.len(), workers);
    for o in &done {
        let end = TrialEnd {
            index: o.index,
            code: None,
            seconds: 0.0,
            completed: plan.trials.len() - todo.len(),
            total: plan.trials.len(),
        };
        obs.trial_done(&plan, &dir, &end);
    }
    let pool = Pool::start(req, &dir, &logs, todo, workers, stop);
    let failures = pool.wait(&plan, &dir, done.len(), obs, stop)?;
    let board = collect(&dir)?;
    let failure = sweep_failure(&dir, &logs, &board, plan.trials.len(), failures, stop);
    Ok(SweepRun {
        dir,
        board,
        seconds: started.elapsed().as_secs_f64(),
        failure,
    })
}

/// The trials still to run, and those already finished.
fn split_finished(dir: &Path, plan: &Plan) -> Result<(Vec<usize>, Vec<Outcome>)> {
    let mut todo = Vec::new();
    let mut done = Vec::new();
    for t in &plan.trials {
        if finished(&trial_dir(dir, t.index), &t.id)? {
            done.push(Outcome {
                index: t.index,
                code: None,
                seconds: 0.0,
            });
        } else {
            todo.push(t.index);
        }
    }
    Ok((todo, done))
}

/// The error a sweep ends with: interrupted by a signal, or the trials
/// that failed (their class when they all agree).
fn sweep_failure(
    dir: &Path,
    logs: &Path,
    board: &Leaderboard,
    total: usize,
    mut failures: Vec<(usize, i32)>,
    stop: &StopToken,
) -> Option<Error> {
    if let Some(stop) = stop.reason() {
        return Some(Error::SweepInterrupted {
            stop,
            dir: dir.to_path_buf(),
            finished: board.finished(),
            total,
        });
    }
    if failures.is_empty() {
        return None;
    }
    failures.sort_unstable();
    let first = failures[0].1;
    let failure = if failures.iter().all(|f| f.1 == first) {
        Failure::from_exit_code(first)
    } else {
        Failure::RunFailed
    };
    Some(Error::SweepFailed {
        failure,
        failed: failures.len(),
        total,
        logs: failures
            .iter()
            .map(|(i, _)| logs.join(format!("{i:04}.log")).display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The worker threads of `sweep run`, each running trials one after the
/// other as child processes.
struct Pool {
    threads: Vec<std::thread::JoinHandle<()>>,
    results: mpsc::Receiver<std::result::Result<Outcome, String>>,
    running: Arc<Mutex<Vec<u32>>>,
    /// Set when a child could not be started: the others stop taking work.
    halt: Arc<AtomicBool>,
}

impl Pool {
    fn start(
        req: &SweepRequest,
        dir: &Path,
        logs: &Path,
        todo: Vec<usize>,
        workers: usize,
        stop: &StopToken,
    ) -> Pool {
        let threads_each = std::env::var("RAYON_NUM_THREADS").ok().or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            Some((cores / workers).max(1).to_string())
        });
        let queue = Arc::new(Mutex::new(todo.into_iter()));
        let running: Arc<Mutex<Vec<u32>>> = Arc::new(Mutex::new(Vec::new()));
        let halt = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let mut threads = Vec::new();
        for _ in 0..workers {
            let child = TrialCommand {
                exe: req.exe.clone(),
                config: req.config.clone(),
                dir: dir.to_path_buf(),
                logs: logs.to_path_buf(),
                backend: req.backend,
                threads: threads_each.clone(),
            };
            let (queue, running, halt, stop, tx) = (
                queue.clone(),
                running.clone(),
                halt.clone(),
                stop.clone(),
                tx.clone(),
            );
            threads.push(std::thread::spawn(move || {
                while !stop.is_requested() && !halt.load(Ordering::SeqCst) {
                    let next = queue.lock().ok().and_then(|mut q| q.next());
                    let Some(index) = next else { break };
                    let t0 = Instant::now();
                    let result = child.run(index, &running).map(|code| Outcome {
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
        Pool {
            threads,
            results: rx,
            running,
            halt,
        }
    }

    /// Reports each trial as it ends and passes a stop request on to the
    /// running children; returns the failed trials and their exit codes.
    fn wait(
        self,
        plan: &Plan,
        dir: &Path,
        mut completed: usize,
        obs: &mut dyn SweepObserver,
        stop: &StopToken,
    ) -> Result<Vec<(usize, i32)>> {
        let total = plan.trials.len();
        let mut signalled = std::collections::BTreeSet::new();
        let mut failures = Vec::new();
        let mut spawn_error = None;
        loop {
            match self.results.recv_timeout(Duration::from_millis(100)) {
                Ok(Ok(o)) => {
                    completed += 1;
                    let end = TrialEnd {
                        index: o.index,
                        code: o.code,
                        seconds: o.seconds,
                        completed,
                        total,
                    };
                    obs.trial_done(plan, dir, &end);
                    if let Some(code) = o.code.filter(|&c| c != 0) {
                        failures.push((o.index, code));
                    }
                }
                Ok(Err(e)) => {
                    spawn_error.get_or_insert(e);
                    self.halt.store(true, Ordering::SeqCst);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            // Until every child is gone: one started just as the signal
            // came is signalled on the next round.
            if let Some(reason) = stop.reason() {
                self.signal_children(reason, &mut signalled);
            }
        }
        for h in self.threads {
            let _ = h.join();
        }
        match spawn_error {
            Some(e) => Err(Error::Io(e)),
            None => Ok(failures),
        }
    }

    fn signal_children(
        &self,
        reason: anneal_core::Stop,
        signalled: &mut std::collections::BTreeSet<u32>,
    ) {
        let sig = match reason {
            anneal_core::Stop::Sigint => libc::SIGINT,
            anneal_core::Stop::Sigterm => libc::SIGTERM,
        };
        if let Ok(pids) = self.running.lock() {
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

/// How a worker starts `anneal train --trial I`.
struct TrialCommand {
    exe: PathBuf,
    config: PathBuf,
    dir: PathBuf,
    logs: PathBuf,
    backend: Option<Backend>,
    threads: Option<String>,
}

impl TrialCommand {
    /// Runs `anneal train --trial INDEX` as a child in its own process
    /// group (so that a terminal's Ctrl-C reaches the sweep, which passes
    /// it on once), its output appended to `logs/NNNN.log`. Returns its
    /// exit code (128+N for a child killed by signal N).
    fn run(&self, index: usize, running: &Mutex<Vec<u32>>) -> std::result::Result<i32, String> {
        let (exe, config, dir, logs) = (&self.exe, &self.config, &self.dir, &self.logs);
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
        if let Some(b) = self.backend {
            cmd.arg("--backend").arg(b.name());
        }
        for (name, _) in anneal_sweep::index::SCHEDULER_VARIABLES {
            cmd.env_remove(name);
        }
        if let Some(t) = &self.threads {
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
}
