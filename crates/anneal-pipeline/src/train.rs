//! `train`: config → data → train → evaluate → export, into a run folder
//! that appears complete or not at all (it is assembled in a hidden
//! sibling and renamed into place), checkpointed as it goes so that an
//! interrupted run resumes bit for bit.

use anneal_data::layout::InputLayout;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anneal_artifact::{ExportInput, Manifest};
use anneal_config::{Backend, Loaded};
use anneal_core::{hash, json};
use anneal_data::{Prepared, SplitData, TargetSpec};
use anneal_eval::{EvalSettings, Evaluation, evaluate};
use anneal_model::checkpoint;
use anneal_model::{Architecture, Network, TrainOutput, TrainState};
use anneal_report::run_info::Seconds;
use anneal_report::{
    CpuInfo, ModelSummary, Report, Reproducibility, RunInfo, TrainingSummary, metrics_csv,
    predictions_csv,
};
use anneal_sweep::plan::TrialRecord;

use crate::error::{Error, Result};
use crate::observer::Observer;
use crate::run_dir::{self, Spill, Staging};
use crate::setup::{fit_to_data, model_setup, monitor, train_data};
use crate::stop::StopToken;

/// What to train, as a user asks for it.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    pub start: Start,
    /// The run folder [default: runs/<config name>]; for a sweep, the
    /// sweep folder.
    pub out: Option<PathBuf>,
    /// Overrides train.seed.
    pub seed: Option<u64>,
    /// Overrides train.backend.
    pub backend: Option<Backend>,
    /// Replace an existing run folder (or an interrupted run's checkpoints).
    pub force: bool,
    /// The trial of a sweep config to train; `None` takes it from the
    /// scheduler's variables.
    pub trial: Option<usize>,
    pub checkpoints: CheckpointPolicy,
    /// The command line recorded in run.json.
    pub command: Vec<String>,
}

/// A new run from a config file, or the interrupted run writing a folder.
#[derive(Debug, Clone)]
pub enum Start {
    Config(PathBuf),
    Resume(PathBuf),
}

/// When checkpoints are written and how many are kept.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointPolicy {
    /// Also every this many optimizer steps (0: at epoch ends only).
    pub every_steps: u64,
    /// Epoch-end checkpoints wait this long after the last one.
    pub min_interval: Duration,
    pub keep: usize,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            every_steps: 0,
            min_interval: Duration::from_secs(10),
            keep: 2,
        }
    }
}

impl TrainRequest {
    /// A new run of `config` with every option at its default.
    pub fn new(config: impl Into<PathBuf>) -> TrainRequest {
        TrainRequest {
            start: Start::Config(config.into()),
            out: None,
            seed: None,
            backend: None,
            force: false,
            trial: None,
            checkpoints: CheckpointPolicy::default(),
            command: Vec::new(),
        }
    }
}

/// What a finished `train` call produced.
#[derive(Debug)]
pub enum Trained {
    Run(Box<RunSummary>),
    /// A sweep trial that had already finished: nothing was done.
    TrialSkipped {
        index: usize,
        id: String,
        dir: PathBuf,
    },
}

/// A finished run folder and its headline figures.
#[derive(Debug)]
pub struct RunSummary {
    pub out: PathBuf,
    pub report: Report,
    pub artifact_id: String,
    pub seconds: f64,
    pub samples_per_second: f64,
}

/// Trains what `req` asks for. A config with a `[sweep]` section trains
/// one of its trials into the sweep folder.
pub fn train(req: &TrainRequest, obs: &mut dyn Observer, stop: &StopToken) -> Result<Trained> {
    match &req.start {
        Start::Config(config) => {
            let loaded = anneal_config::load(config)?;
            if loaded.config.sweep.is_some() {
                return crate::sweep::train_trial(req, loaded, obs, stop);
            }
            if let Some(i) = req.trial {
                return Err(Error::Usage(format!(
                    "--trial {i}: {} has no [sweep] section, so it has no trials",
                    config.display()
                )));
            }
            let job = Job::new(req, config.clone());
            run(&job, obs, stop).map(|s| Trained::Run(Box::new(s)))
        }
        Start::Resume(run_dir) => resume(req, run_dir, obs, stop),
    }
}

/// One run, resolved: what the request, a resumed run's resume.json or a
/// sweep's trial says to train.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub config: PathBuf,
    /// The config's text when it does not come from `config` itself (a
    /// sweep trial, `verify` re-running the config stored in an artifact).
    pub config_text: Option<String>,
    pub out: PathBuf,
    pub seed: Option<u64>,
    pub backend: Option<Backend>,
    pub force: bool,
    pub resuming: bool,
    pub trial: Option<TrialRecord>,
    pub checkpoints: CheckpointPolicy,
    pub command: Vec<String>,
}

impl Job {
    pub(crate) fn new(req: &TrainRequest, config: PathBuf) -> Job {
        Job {
            out: req.out.clone().unwrap_or_else(|| default_out(&config)),
            config,
            config_text: None,
            seed: req.seed,
            backend: req.backend,
            force: req.force,
            resuming: false,
            trial: None,
            checkpoints: req.checkpoints,
            command: req.command.clone(),
        }
    }
}

/// What an interrupted run needs to start again exactly as it began:
/// `resume.json` in its staging folder.
#[derive(serde::Serialize, serde::Deserialize)]
struct ResumeInfo {
    config: PathBuf,
    seed: Option<u64>,
    backend: Option<Backend>,
    /// The sweep trial, whose config is re-derived from `config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trial: Option<usize>,
}

/// Continues the interrupted run writing `run_dir`, as resume.json says.
fn resume(
    req: &TrainRequest,
    run_dir: &Path,
    obs: &mut dyn Observer,
    stop: &StopToken,
) -> Result<Trained> {
    let staging = Staging::reopen(run_dir)?;
    let path = staging.dir.join("resume.json");
    let info: ResumeInfo = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| Error::NothingToResume {
            run: run_dir.to_path_buf(),
            reason: format!("{} is missing or damaged", path.display()),
        })?;
    let mut job = Job::new(req, info.config.clone());
    job.out = run_dir.to_path_buf();
    job.seed = info.seed;
    job.backend = info.backend;
    job.resuming = true;
    if let Some(i) = info.trial {
        // A sweep trial: its config is derived from the sweep's.
        let sweep = anneal_config::load(&info.config)?;
        let (trial, _) = anneal_sweep::trial(&sweep, i)?;
        job.config_text = Some(trial.config.clone());
        job.trial = Some(trial.record());
    }
    run(&job, obs, stop).map(|s| Trained::Run(Box::new(s)))
}

/// The data, model and loss of a run, ready to train.
pub(crate) struct Setup {
    pub loaded: Loaded,
    pub data: Prepared,
    pub arch: Architecture,
    /// How the stored matrix rows expand into the network's inputs.
    pub layout: InputLayout,
    pub objective: anneal_model::Objective,
    /// The data stage's wall time.
    pub data_secs: f64,
}

/// Trains, evaluates and exports one resolved run.
pub(crate) fn run(job: &Job, obs: &mut dyn Observer, stop: &StopToken) -> Result<RunSummary> {
    let started = Instant::now();
    let started_at = anneal_core::time::utc_now();
    let loaded = load(job)?;
    if !job.resuming && job.out.exists() && !job.force {
        return Err(Error::RunExists(job.out.clone()));
    }
    let device = anneal_model::device(loaded.config.train.backend)?;
    // Declared before `setup`, so its files outlive the matrices mapped
    // from them.
    let spill = match loaded.config.data.streaming {
        true => Some(Spill::create(&job.out)?),
        false => None,
    };
    let setup = prepare(loaded, spill.as_ref())?;
    obs.data_ready(&setup.loaded, &setup.data, &setup.arch);
    let identity = identity(&setup);
    let staging = open_staging(job)?;
    let resume_state = resume_state(job, &staging, &identity, obs)?;

    let t_train = Instant::now();
    let trained = fit(
        job,
        &setup,
        &device,
        &staging,
        &identity,
        resume_state,
        obs,
        stop,
    )?;
    let train_secs = t_train.elapsed().as_secs_f64();

    let evaluated = evaluate_splits(&setup, &trained.network, &device)?;
    let manifest = export(job, &setup, &trained.network, &evaluated, &staging, &device)?;
    let report = build_report(job, &setup, &trained, evaluated.clone_parts(), &manifest);
    anneal_report::write_documents(&staging.dir, &report)?;
    staging.write("metrics.csv", &metrics_csv::render(&trained.history))?;
    staging.write(
        "predictions.csv",
        &predictions_csv::render(&setup.data.preprocessor.target, &evaluated.outputs),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let samples_per_second = trained.samples as f64 / train_secs.max(1e-9);
    let times = Times {
        started_at,
        total: seconds,
        data: setup.data_secs,
        train: train_secs,
        samples_per_second,
    };
    staging.write("run.json", &run_json(job, &setup.loaded, &times)?)?;
    let out = finish(staging)?;
    Ok(RunSummary {
        out,
        report,
        artifact_id: manifest.id,
        seconds,
        samples_per_second,
    })
}

/// The config, with the run's seed and backend overrides.
fn load(job: &Job) -> Result<Loaded> {
    let mut loaded = match &job.config_text {
        Some(text) => anneal_config::parse(text, &job.config)?,
        None => anneal_config::load(&job.config)?,
    };
    if let Some(seed) = job.seed {
        loaded.config.train.seed = seed;
    }
    if let Some(b) = job.backend {
        loaded.config.train.backend = b;
    }
    Ok(loaded)
}

/// The data stage, then the defaults that follow the data's size, the
/// network's shape and the loss.
pub(crate) fn prepare(mut loaded: Loaded, spill: Option<&Spill>) -> Result<Setup> {
    let t = Instant::now();
    let seed = loaded.config.train.seed;
    let data = match spill {
        Some(s) => anneal_data::prepare_with(&loaded, seed, &s.dir)?,
        None => anneal_data::prepare(&loaded, seed)?,
    };
    let data_secs = t.elapsed().as_secs_f64();
    fit_to_data(&mut loaded, &data)?;
    let (arch, objective) = model_setup(&loaded, &data)?;
    let layout = data.preprocessor.layout();
    Ok(Setup {
        loaded,
        data,
        arch,
        layout,
        objective,
        data_secs,
    })
}

/// What a checkpoint must match to be resumed: the resolved config and
/// the data.
fn identity(setup: &Setup) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("config_sha256".to_string(), config_sha256(&setup.loaded)),
        (
            "data_sha256".to_string(),
            setup.data.stats.source.sha256.clone(),
        ),
    ])
}

fn config_sha256(loaded: &Loaded) -> String {
    hash::sha256_hex(loaded.resolved_toml().as_bytes())
}

/// The staging folder, which holds the checkpoints while training runs: a
/// new one records how to resume (resume.json) and the sweep trial.
fn open_staging(job: &Job) -> Result<Staging> {
    if job.resuming {
        return Staging::reopen(&job.out);
    }
    let staging = Staging::begin(&job.out, job.force)?;
    let info = ResumeInfo {
        config: std::fs::canonicalize(&job.config).unwrap_or(job.config.clone()),
        seed: job.seed,
        backend: job.backend,
        trial: job.trial.as_ref().map(|t| t.index),
    };
    let text = serde_json::to_string_pretty(&info).map_err(|e| Error::Io(e.to_string()))?;
    staging.write_durable("resume.json", &text)?;
    if let Some(record) = &job.trial {
        let text = json::to_canonical_string(record, "trial.json")?;
        staging.write_durable("trial.json", &text)?;
    }
    Ok(staging)
}

/// The newest checkpoint of a resumed run, refused when the config or the
/// data changed since it was written.
fn resume_state(
    job: &Job,
    staging: &Staging,
    identity: &BTreeMap<String, String>,
    obs: &mut dyn Observer,
) -> Result<Option<TrainState>> {
    if !job.resuming {
        return Ok(None);
    }
    let found = checkpoint::latest(&staging.dir.join("checkpoints"))?.ok_or_else(|| {
        Error::NothingToResume {
            run: job.out.clone(),
            reason: "it stopped before its first checkpoint; start it again".into(),
        }
    })?;
    if &found.identity != identity {
        return Err(Error::NothingToResume {
            run: job.out.clone(),
            reason: format!(
                "the config or the data changed since it started (checkpoint {} was written for config {} and data {}); start it again with --force",
                found.dir.display(),
                short(found.identity.get("config_sha256")),
                short(found.identity.get("data_sha256")),
            ),
        });
    }
    obs.resuming(&found.dir, found.state.epoch, found.state.steps);
    Ok(Some(found.state))
}

/// The training loop with checkpoints and stop requests. A run stopped by
/// a request keeps its staging folder (it resumes); one that cannot
/// succeed leaves nothing behind unless it was being resumed.
#[allow(clippy::too_many_arguments)]
fn fit(
    job: &Job,
    setup: &Setup,
    device: &burn::tensor::Device,
    staging: &Staging,
    identity: &BTreeMap<String, String>,
    resume: Option<TrainState>,
    obs: &mut dyn Observer,
    stop: &StopToken,
) -> Result<TrainOutput> {
    let cfg = &setup.loaded.config;
    let data = &setup.data;
    let ckpt_root = staging.dir.join("checkpoints");
    let last_saved = Cell::new((0u32, 0u64));
    let mut save = |state: &TrainState| -> anneal_model::Result<()> {
        checkpoint::save(&ckpt_root, identity, state, job.checkpoints.keep)?;
        // The epoch in progress, 1-based, as the progress lines count.
        let shown = state.epoch + u32::from(state.batch > 0);
        last_saved.set((shown, state.steps));
        Ok(())
    };
    let obs = RefCell::new(obs);
    let mut on_step = |step: u64| obs.borrow_mut().step(step, &staging.dir, stop);
    let trained = anneal_model::train_with(
        &cfg.train,
        cfg.model.dropout,
        &setup.arch,
        &setup.objective,
        train_data(&data.train, &setup.layout),
        (!data.valid.is_empty()).then(|| train_data(&data.valid, &setup.layout)),
        monitor(&setup.loaded, data)?,
        device,
        &mut |log| obs.borrow_mut().epoch(log),
        Some(anneal_model::Checkpoints {
            every_steps: job.checkpoints.every_steps,
            min_interval: job.checkpoints.min_interval,
            resume,
            stop: Some(stop.flag()),
            save: &mut save,
            on_step: &mut on_step,
        }),
    );
    obs.borrow_mut().training_done();
    match trained {
        Ok(t) => Ok(t),
        Err(anneal_model::ModelError::Interrupted) => {
            let (epoch, step) = last_saved.get();
            Err(Error::Interrupted {
                stop: stop.reason().unwrap_or(anneal_core::Stop::Sigint),
                run: job.out.clone(),
                epoch,
                step,
            })
        }
        Err(e) => {
            if !job.resuming {
                let _ = std::fs::remove_dir_all(&staging.dir);
            }
            Err(e.into())
        }
    }
}

/// The trained network's outputs on valid and test, scored, and the
/// prior's scores beside them.
struct Evaluated<'a> {
    evaluation: BTreeMap<String, Evaluation>,
    metrics: BTreeMap<String, BTreeMap<String, f64>>,
    baseline: BTreeMap<String, BTreeMap<String, f64>>,
    outputs: Vec<(&'a str, &'a SplitData, Vec<f32>)>,
    settings: EvalSettings,
}

/// What the report takes from an evaluation.
struct Scores {
    evaluation: BTreeMap<String, Evaluation>,
    metrics: BTreeMap<String, BTreeMap<String, f64>>,
    baseline: BTreeMap<String, BTreeMap<String, f64>>,
    settings: EvalSettings,
}

impl Evaluated<'_> {
    fn clone_parts(&self) -> Scores {
        Scores {
            evaluation: self.evaluation.clone(),
            metrics: self.metrics.clone(),
            baseline: self.baseline.clone(),
            settings: self.settings.clone(),
        }
    }
}

fn evaluate_splits<'a>(
    setup: &'a Setup,
    network: &Network,
    device: &burn::tensor::Device,
) -> Result<Evaluated<'a>> {
    let cfg = &setup.loaded.config;
    let data = &setup.data;
    let target = &data.preprocessor.target;
    let batch = cfg.train.eval_batch_size as usize;
    let settings = EvalSettings::new(&cfg.eval, cfg.train.seed);
    let mut evaluation = BTreeMap::new();
    let mut outputs = Vec::new();
    for (name, split) in [("valid", &data.valid), ("test", &data.test)] {
        if split.is_empty() {
            continue;
        }
        let out = network.infer(
            &split.x,
            split.len(),
            &setup.arch,
            &setup.layout,
            batch,
            device,
        )?;
        evaluation.insert(
            name.to_string(),
            evaluate(name, &out, split, target, &settings),
        );
        outputs.push((name, split, out));
    }
    let metrics = evaluation
        .iter()
        .map(|(k, v)| (k.clone(), v.metrics.clone()))
        .collect();
    let prior = anneal_eval::prior_row(&data.train, target);
    let baseline = outputs
        .iter()
        .map(|(name, split, _)| {
            let scored = anneal_eval::baseline_metrics(&prior, split, target);
            (name.to_string(), scored)
        })
        .collect();
    Ok(Evaluated {
        evaluation,
        metrics,
        baseline,
        outputs,
        settings,
    })
}

/// The artifact, written into the staging folder.
fn export(
    job: &Job,
    setup: &Setup,
    network: &Network,
    evaluated: &Evaluated,
    staging: &Staging,
    device: &burn::tensor::Device,
) -> Result<Manifest> {
    let cfg = &setup.loaded.config;
    let pre = &setup.data.preprocessor;
    let name = cfg
        .model
        .name
        .clone()
        .unwrap_or_else(|| config_name(&job.config));
    Ok(anneal_artifact::export(
        &staging.dir.join("artifact"),
        &ExportInput {
            name,
            version: cfg.model.version.clone(),
            model_kind: cfg.model.kind.name().into(),
            architecture: &setup.arch,
            weights: &network.to_tensors(&setup.arch)?,
            preprocessor: pre,
            resolved_config: setup.loaded.resolved_toml(),
            config_sha256: config_sha256(&setup.loaded),
            data: &setup.data.stats.source,
            seed: cfg.train.seed,
            backend: cfg.train.backend.name().into(),
            metrics: evaluated.metrics.clone(),
            profile: Some(&setup.data.profile),
            examples: anneal_artifact::examples::build(
                &anneal_artifact::predict::Predictor {
                    pre,
                    layout: &setup.layout,
                    network,
                    arch: &setup.arch,
                    device,
                },
                &setup.data.examples,
            )?,
            onnx: cfg.export_onnx(),
        },
    )?)
}

/// report.json's content (also rendered as Markdown and HTML).
fn build_report(
    job: &Job,
    setup: &Setup,
    trained: &TrainOutput,
    scores: Scores,
    manifest: &Manifest,
) -> Report {
    let cfg = &setup.loaded.config;
    let pre = &setup.data.preprocessor;
    let arch = &setup.arch;
    Report {
        schema_version: anneal_report::SCHEMA_VERSION,
        task: pre.task.name().into(),
        target: pre.target.column().into(),
        labels: match &pre.target {
            TargetSpec::Classes { labels, .. } => Some(labels.clone()),
            TargetSpec::Regression { .. } => None,
        },
        lift: anneal_report::report::lift(&scores.metrics, &scores.baseline),
        metrics: scores.metrics,
        baseline: scores.baseline,
        evaluation: scores.evaluation,
        evaluation_settings: scores.settings,
        data: setup.data.stats.clone(),
        model: ModelSummary {
            kind: cfg.model.kind.name().into(),
            architecture: arch.clone(),
            parameters: arch.parameter_count(),
            input_names: pre.input_names(),
        },
        training: Some(TrainingSummary {
            epochs_run: trained.history.len() as u32,
            best_epoch: trained.best_epoch,
            stopped_early: trained.stopped_early,
            steps: trained.steps,
            monitor: trained.monitor.clone(),
            history: trained.history.clone(),
        }),
        reproducibility: Reproducibility {
            config_sha256: config_sha256(&setup.loaded),
            data_sha256: setup.data.stats.source.sha256.clone(),
            seed: cfg.train.seed,
            backend: cfg.train.backend.name().into(),
            bit_reproducible: anneal_model::backend::is_deterministic(cfg.train.backend),
            versions: anneal_artifact::export::versions(),
            git_commit: run_dir::git_commit(job.config.parent().unwrap_or(Path::new("."))),
            cpu: CpuInfo::detect(),
        },
        artifact_id: Some(manifest.id.clone()),
    }
}

/// Wall-clock figures for run.json (never in the deterministic documents).
struct Times {
    started_at: String,
    total: f64,
    data: f64,
    train: f64,
    samples_per_second: f64,
}

fn run_json(job: &Job, loaded: &Loaded, t: &Times) -> Result<String> {
    let seconds = Seconds {
        total: t.total,
        data: Some(t.data),
        train: Some(t.train),
    };
    let data_path = run_dir::absolute(&loaded.data_path());
    let run = RunInfo {
        train_samples_per_second: Some(t.samples_per_second),
        config_path: Some(run_dir::absolute(&job.config)),
        resumed: Some(job.resuming),
        ..RunInfo::finished_now(
            t.started_at.clone(),
            seconds,
            data_path,
            job.command.clone(),
        )
    };
    Ok(run.to_json()?)
}

/// Drops what only resuming needed, and moves the run into place.
fn finish(staging: Staging) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(staging.dir.join("checkpoints"));
    let _ = std::fs::remove_file(staging.dir.join("resume.json"));
    staging.commit()
}

/// The first 12 characters of a hash, for messages.
fn short(h: Option<&String>) -> String {
    h.map(|h| h.chars().take(12).collect())
        .unwrap_or_else(|| "?".into())
}

/// `runs/<config name>`: where a run goes when no folder is named.
pub fn default_out(config: &Path) -> PathBuf {
    PathBuf::from("runs").join(config_name(config))
}

fn config_name(config: &Path) -> String {
    config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into())
}
