//! `anneal train`: config → data → train → evaluate → export, into a run
//! folder that appears complete or not at all (it is assembled in a
//! temporary sibling and renamed into place).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use anneal_artifact::ExportInput;
use anneal_config::{ClassWeights, Loaded, ModelKind, metric_higher_is_better};
use anneal_core::{hash, json};
use anneal_data::{Prepared, SplitData, TargetSpec, Targets};
use anneal_eval::{EvalSettings, Evaluation, evaluate, score_split};
use anneal_model::checkpoint;
use anneal_model::network::{Average, Ensemble, EnsembleVariant, Periodic};
use anneal_model::train::Monitor;
use anneal_model::{Architecture, Objective, TrainData};
use anneal_report::run_info::Seconds;
use anneal_report::{
    CpuInfo, ModelSummary, Report, Reproducibility, RunInfo, TrainingSummary, metrics_csv,
    predictions_csv,
};

use super::run_dir::{self, Staging};
use crate::cli::TrainArgs;
use crate::error::CliError;
use crate::output::{self, Progress};

/// What an interrupted run needs to start again exactly as it began:
/// `resume.json` in its staging folder.
#[derive(serde::Serialize, serde::Deserialize)]
struct ResumeInfo {
    config: PathBuf,
    seed: Option<u64>,
    backend: Option<anneal_config::Backend>,
    /// The sweep trial, whose config is re-derived from `config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trial: Option<usize>,
}

pub fn run(args: &TrainArgs) -> Result<(), CliError> {
    // A config with a [sweep] section trains one of its trials.
    if args.resume.is_none()
        && args.config_text.is_none()
        && let Some(config) = &args.config
    {
        let loaded = anneal_config::load(config)?;
        if loaded.config.sweep.is_some() {
            return super::sweep::train_trial(args, loaded);
        }
        if let Some(i) = args.trial {
            return Err(CliError::Usage(format!(
                "--trial {i}: {} has no [sweep] section, so it has no trials",
                config.display()
            )));
        }
    }
    let started = Instant::now();
    let started_at = output::utc_now();
    let (config_path, out, seed, backend) = match (&args.resume, &args.config) {
        (Some(run), _) => {
            let staging = Staging::reopen(run)?;
            let path = staging.dir.join("resume.json");
            let info: ResumeInfo = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| CliError::NothingToResume {
                    run: run.clone(),
                    reason: format!("{} is missing or damaged", path.display()),
                })?;
            if let Some(i) = info.trial
                && args.config_text.is_none()
            {
                // A sweep trial: its config is derived from the sweep's.
                let sweep = anneal_config::load(&info.config)?;
                let (trial, _) = anneal_sweep::trial(&sweep, i)?;
                let mut again = args.clone();
                again.trial_record = Some(trial.record());
                again.config_text = Some(trial.config);
                return self::run(&again);
            }
            (info.config, run.clone(), info.seed, info.backend)
        }
        (None, Some(config)) => (
            config.clone(),
            args.out.clone().unwrap_or_else(|| default_out(config)),
            args.seed,
            args.backend.map(Into::into),
        ),
        (None, None) => return Err(CliError::Io("train needs --config or --resume".into())),
    };
    let resuming = args.resume.is_some();
    let mut loaded = match &args.config_text {
        Some(text) => anneal_config::parse(text, &config_path)?,
        None => anneal_config::load(&config_path)?,
    };
    if let Some(seed) = seed {
        loaded.config.train.seed = seed;
    }
    if let Some(b) = backend {
        loaded.config.train.backend = b;
    }
    let cfg = loaded.config.clone();
    if !resuming && out.exists() && !args.force {
        return Err(CliError::RunExists(out));
    }
    let device = anneal_model::device(cfg.train.backend)?;

    let t_data = Instant::now();
    // Declared before `data`, so its files outlive the matrices mapped
    // from them.
    let spill = if cfg.data.streaming {
        Some(run_dir::Spill::create(&out)?)
    } else {
        None
    };
    let data = match &spill {
        Some(s) => anneal_data::prepare_with(&loaded, cfg.train.seed, &s.dir)?,
        None => anneal_data::prepare(&loaded, cfg.train.seed)?,
    };
    let data_secs = t_data.elapsed().as_secs_f64();
    fit_to_data(&mut loaded, &data)?;
    let cfg = loaded.config.clone();
    let pre = &data.preprocessor;
    let (arch, objective) = model_setup(&loaded, &data)?;
    let monitor = monitor(&loaded, &data)?;
    if !args.quiet {
        output::train_start(&loaded, &data, &arch);
    }

    // The staging folder holds the checkpoints while training runs.
    let resolved = loaded.resolved_toml();
    let config_sha256 = hash::sha256_hex(resolved.as_bytes());
    let identity = BTreeMap::from([
        ("config_sha256".to_string(), config_sha256.clone()),
        ("data_sha256".to_string(), data.stats.source.sha256.clone()),
    ]);
    let staging = if resuming {
        Staging::reopen(&out)?
    } else {
        let staging = Staging::begin(&out, args.force)?;
        let info = ResumeInfo {
            config: std::fs::canonicalize(&config_path).unwrap_or(config_path.clone()),
            seed,
            backend,
            trial: args.trial_record.as_ref().map(|t| t.index),
        };
        let text = serde_json::to_string_pretty(&info).map_err(|e| CliError::Io(e.to_string()))?;
        staging.write("resume.json", &text)?;
        if let Some(record) = &args.trial_record {
            let text = json::to_canonical_string(record, "trial.json")?;
            staging.write("trial.json", &text)?;
        }
        staging
    };
    let ckpt_root = staging.dir.join("checkpoints");
    let resume_state = if resuming {
        let found = checkpoint::latest(&ckpt_root)?.ok_or_else(|| CliError::NothingToResume {
            run: out.clone(),
            reason: "it stopped before its first checkpoint; start it again".into(),
        })?;
        if found.identity != identity {
            return Err(CliError::NothingToResume {
                run: out.clone(),
                reason: format!(
                    "the config or the data changed since it started (checkpoint {} was written for config {} and data {}); start it again with --force",
                    found.dir.display(),
                    short(found.identity.get("config_sha256")),
                    short(found.identity.get("data_sha256")),
                ),
            });
        }
        if !args.quiet {
            output::resuming(&found.dir, found.state.epoch, found.state.steps);
        }
        Some(found.state)
    } else {
        None
    };

    // SIGINT/SIGTERM: finish the step, checkpoint, exit 130/143. A second
    // SIGINT exits at once.
    let signals = super::signals::StopSignals::install(true);
    let stop = signals.stop.clone();
    let pause_at: Option<u64> = std::env::var("ANNEAL_PAUSE_AT_STEP")
        .ok()
        .and_then(|v| v.parse().ok());
    let last_saved = std::cell::Cell::new((0u32, 0u64));
    let mut save = |state: &anneal_model::TrainState| -> anneal_model::Result<()> {
        checkpoint::save(&ckpt_root, &identity, state, args.keep_checkpoints as usize)?;
        // The epoch in progress, 1-based, as the progress lines count.
        let shown = if state.batch > 0 {
            state.epoch + 1
        } else {
            state.epoch
        };
        last_saved.set((shown, state.steps));
        Ok(())
    };
    let mut on_step = |step: u64| {
        // A debugging aid (and the kill-and-resume tests' hook): stop the
        // world at a given step so that the process can be killed there, or
        // signalled (then it goes on to checkpoint and exit).
        if pause_at == Some(step) {
            let _ = std::fs::write(staging.dir.join("paused"), step.to_string());
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    };

    let t_train = Instant::now();
    let mut progress = Progress::new(cfg.train.epochs, args.quiet);
    let trained = anneal_model::train_with(
        &cfg.train,
        cfg.model.dropout,
        &arch,
        &objective,
        train_data(&data.train),
        (!data.valid.is_empty()).then(|| train_data(&data.valid)),
        monitor,
        &device,
        &mut |log| progress.epoch(log),
        Some(anneal_model::Checkpoints {
            every_steps: args.checkpoint_every,
            // `seconds` in cli.rs keeps it finite and >= 0.
            min_interval: std::time::Duration::from_secs_f64(args.checkpoint_secs.clamp(0.0, 1e9)),
            resume: resume_state,
            stop: Some(&stop),
            save: &mut save,
            on_step: &mut on_step,
        }),
    );
    let code = signals.code();
    drop(signals);
    let trained = match trained {
        Ok(t) => t,
        Err(anneal_model::ModelError::Interrupted) => {
            progress.finish();
            let (epoch, step) = last_saved.get();
            let term = code == Some(143);
            return Err(CliError::Interrupted {
                signal: if term { "SIGTERM" } else { "SIGINT" },
                code: if term { 143 } else { 130 },
                run: out.clone(),
                epoch,
                step,
            });
        }
        Err(e) => {
            // A run that cannot succeed (it diverged, a checkpoint could
            // not be written) leaves nothing behind, unless it was being
            // resumed: its checkpoints are the user's.
            if !resuming {
                staging.abandon();
            }
            return Err(e.into());
        }
    };
    progress.finish();
    let train_secs = t_train.elapsed().as_secs_f64();

    // Evaluation on valid and test with the final network.
    let batch = cfg.train.eval_batch_size as usize;
    let settings = EvalSettings::new(&cfg.eval, cfg.train.seed);
    let mut evaluation = BTreeMap::new();
    let mut outputs_by_split = Vec::new();
    for (name, split) in [("valid", &data.valid), ("test", &data.test)] {
        if split.is_empty() {
            continue;
        }
        let outputs = trained
            .network
            .infer(&split.x, split.len(), &arch, batch, &device)?;
        evaluation.insert(
            name.to_string(),
            evaluate(name, &outputs, split, &pre.target, &settings),
        );
        outputs_by_split.push((name, split, outputs));
    }
    let metrics: BTreeMap<String, BTreeMap<String, f64>> = evaluation
        .iter()
        .map(|(k, v): (&String, &Evaluation)| (k.clone(), v.metrics.clone()))
        .collect();
    let prior = anneal_eval::prior_row(&data.train, &pre.target);
    let baseline: BTreeMap<String, BTreeMap<String, f64>> = outputs_by_split
        .iter()
        .map(|(name, split, _)| {
            let scored = anneal_eval::baseline_metrics(&prior, split, &pre.target);
            (name.to_string(), scored)
        })
        .collect();

    // Everything is written into the staging folder first.
    let weights = trained.network.to_tensors(&arch)?;
    let name = cfg
        .model
        .name
        .clone()
        .unwrap_or_else(|| config_name(&config_path));
    let manifest = anneal_artifact::export(
        &staging.dir.join("artifact"),
        &ExportInput {
            name,
            version: cfg.model.version.clone(),
            model_kind: model_kind(cfg.model.kind),
            architecture: &arch,
            weights: &weights,
            preprocessor: pre,
            resolved_config: resolved.clone(),
            config_sha256: config_sha256.clone(),
            data: &data.stats.source,
            seed: cfg.train.seed,
            backend: cfg.train.backend.name().into(),
            metrics: metrics.clone(),
            profile: Some(&data.profile),
            examples: anneal_artifact::examples::build(
                pre,
                &trained.network,
                &arch,
                &device,
                &data.examples,
            )?,
        },
    )?;

    let report = Report {
        schema_version: anneal_report::SCHEMA_VERSION,
        task: pre.task.name().into(),
        target: pre.target.column().into(),
        labels: match &pre.target {
            TargetSpec::Classes { labels, .. } => Some(labels.clone()),
            TargetSpec::Regression { .. } => None,
        },
        metrics: metrics.clone(),
        lift: anneal_report::report::lift(&metrics, &baseline),
        baseline,
        evaluation,
        evaluation_settings: settings,
        data: data.stats.clone(),
        model: ModelSummary {
            kind: model_kind(cfg.model.kind),
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
            config_sha256,
            data_sha256: data.stats.source.sha256.clone(),
            seed: cfg.train.seed,
            backend: cfg.train.backend.name().into(),
            bit_reproducible: anneal_model::backend::is_deterministic(cfg.train.backend),
            versions: anneal_artifact::export::versions(),
            git_commit: run_dir::git_commit(config_path.parent().unwrap_or(Path::new("."))),
            cpu: CpuInfo::detect(),
        },
        artifact_id: Some(manifest.id.clone()),
    };
    anneal_report::write_documents(&staging.dir, &report)?;
    let write = |name: &str, text: &str| staging.write(name, text);
    write("metrics.csv", &metrics_csv::render(&trained.history))?;
    write(
        "predictions.csv",
        &predictions_csv::render(&pre.target, &outputs_by_split),
    )?;
    let total_secs = started.elapsed().as_secs_f64();
    let seconds = Seconds {
        total: total_secs,
        data: Some(data_secs),
        train: Some(train_secs),
    };
    let run = RunInfo {
        train_samples_per_second: Some(trained.samples as f64 / train_secs.max(1e-9)),
        config_path: Some(run_dir::absolute(&config_path)),
        resumed: Some(resuming),
        ..RunInfo::finished_now(started_at, seconds, run_dir::absolute(&loaded.data_path()))
    };
    write("run.json", &run.to_json()?)?;
    // Checkpoints are the staging folder's, not the run's.
    let _ = std::fs::remove_dir_all(&ckpt_root);
    let _ = std::fs::remove_file(staging.dir.join("resume.json"));
    let _ = std::fs::remove_file(staging.dir.join("paused"));
    let out = staging.commit()?;
    if !args.silent {
        output::train_done(
            &out,
            &report,
            &manifest.id,
            total_secs,
            trained.samples as f64 / train_secs.max(1e-9),
        );
    }
    Ok(())
}

/// The first 12 characters of a hash, for messages.
fn short(h: Option<&String>) -> String {
    h.map(|h| h.chars().take(12).collect())
        .unwrap_or_else(|| "?".into())
}

pub(crate) fn default_out(config: &Path) -> PathBuf {
    PathBuf::from("runs").join(config_name(config))
}

fn config_name(config: &Path) -> String {
    config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into())
}

fn model_kind(k: ModelKind) -> String {
    k.name().into()
}

/// Fills in the defaults that follow the training split's size, and
/// refuses a bin count the training split cannot fill.
pub(crate) fn fit_to_data(loaded: &mut Loaded, data: &Prepared) -> Result<(), CliError> {
    let rows = data.train.len() as u64;
    let binned = data
        .preprocessor
        .features
        .iter()
        .any(|f| matches!(f, anneal_data::FeatureSpec::Numeric { bins: Some(_), .. }));
    let bins = loaded.config.model.bins;
    // The default bin count simply yields fewer bins on a small table; a
    // count the user wrote is taken at its word.
    if binned && loaded.is_written("model.bins") && bins as u64 > rows {
        return Err(loaded
            .error_at(
                "model.bins",
                format!("{bins} bins need at least as many training rows, but the training split has {rows}"),
            )
            .into());
    }
    anneal_config::defaults::fit_to_data(loaded, rows);
    Ok(())
}

/// The network shape and the loss for a config and its prepared data (a
/// loss that does not fit the task is a config error).
pub(crate) fn model_setup(
    loaded: &Loaded,
    data: &Prepared,
) -> Result<(Architecture, Objective), CliError> {
    let cfg = &loaded.config;
    let pre = &data.preprocessor;
    let classes = match &pre.target {
        TargetSpec::Classes { labels, .. } => Some(labels.len()),
        TargetSpec::Regression { .. } => None,
    };
    check_loss(loaded, classes.is_some())?;
    let arch = Architecture {
        inputs: pre.n_inputs(),
        hidden: cfg.model.hidden_layers(),
        outputs: pre.n_outputs(),
        activation: cfg.model.activation,
        ensemble: ensemble(&cfg.model, classes.is_some()),
        periodic: periodic(cfg, pre),
    };
    let objective = Objective::new(
        classes,
        cfg.train.loss,
        cfg.train.huber_delta,
        class_weights(data, cfg.train.class_weights),
    );
    Ok((arch, objective))
}

/// The periodic embeddings: the scaled value of every numeric (not 0/1)
/// column whose embedding is `periodic`.
fn periodic(cfg: &anneal_config::Config, pre: &anneal_data::Preprocessor) -> Option<Periodic> {
    let names = pre.input_names();
    let columns: Vec<usize> = pre
        .features
        .iter()
        .filter(|f| {
            let numeric = matches!(f, anneal_data::FeatureSpec::Numeric { .. })
                && f.source_type() != anneal_data::preprocess::ValueType::Boolean;
            let embedding = cfg
                .data
                .columns
                .get(f.column())
                .and_then(|o| o.embedding)
                .unwrap_or(cfg.model.numeric_embedding);
            numeric && embedding == anneal_config::NumericEmbedding::Periodic
        })
        .filter_map(|f| names.iter().position(|n| n == f.column()))
        .collect();
    let m = &cfg.model;
    (!columns.is_empty()).then_some(Periodic {
        columns,
        frequencies: m.frequencies,
        sigma: m.sigma,
        width: m.embedding_width,
    })
}

/// The ensemble of the `tabm` kinds.
fn ensemble(m: &anneal_config::ModelConfig, classification: bool) -> Option<Ensemble> {
    let variant = match m.kind {
        ModelKind::Tabm => EnsembleVariant::Full,
        ModelKind::TabmMini => EnsembleVariant::Mini,
        ModelKind::Linear | ModelKind::Mlp => return None,
    };
    Some(Ensemble {
        k: m.k,
        variant,
        average: if classification {
            Average::Probabilities
        } else {
            Average::Values
        },
    })
}

pub(crate) fn train_data(s: &SplitData) -> TrainData<'_> {
    match &s.y {
        Targets::Classes(c) => TrainData {
            x: &s.x,
            n: s.len(),
            classes: Some(c),
            values: None,
        },
        Targets::Values { scaled, .. } => TrainData {
            x: &s.x,
            n: s.len(),
            classes: None,
            values: Some(scaled),
        },
    }
}

/// A loss that does not fit the task inferred from the data is a config
/// error, pointed at its line.
fn check_loss(loaded: &Loaded, classification: bool) -> Result<(), CliError> {
    use anneal_config::Loss;
    let loss = loaded.config.train.loss;
    let bad = match loss {
        Loss::CrossEntropy => !classification,
        Loss::Mse | Loss::Huber => classification,
        Loss::Auto => false,
    };
    if bad {
        let task = if classification {
            "classification"
        } else {
            "regression"
        };
        return Err(loaded
            .error_at(
                "train.loss",
                format!(
                    "{loss:?} does not fit the {task} task inferred from the data; use \"auto\""
                ),
            )
            .into());
    }
    Ok(())
}

/// scikit-learn's "balanced" weights: n / (k * n_c), from the training split.
fn class_weights(data: &Prepared, mode: ClassWeights) -> Vec<f32> {
    let Targets::Classes(y) = &data.train.y else {
        return Vec::new();
    };
    let k = data.preprocessor.n_outputs();
    match mode {
        ClassWeights::None => vec![1.0; k],
        ClassWeights::Balanced => {
            let mut counts = vec![0usize; k];
            for &c in y {
                counts[c as usize] += 1;
            }
            counts
                .iter()
                .map(|&c| {
                    if c == 0 {
                        0.0
                    } else {
                        (y.len() as f64 / (k as f64 * c as f64)) as f32
                    }
                })
                .collect()
        }
    }
}

/// The early-stopping monitor, when it watches a metric rather than the
/// validation loss.
fn monitor<'a>(loaded: &Loaded, data: &'a Prepared) -> Result<Option<Monitor<'a>>, CliError> {
    let Some(es) = loaded.config.train.early_stopping() else {
        return Ok(None);
    };
    if es.metric == "loss" {
        return Ok(None);
    }
    let classification = data.preprocessor.task.is_classification();
    let known_for_task = if classification {
        !matches!(
            es.metric.as_str(),
            "rmse" | "mae" | "mse" | "r2" | "mape" | "median_absolute_error"
        )
    } else {
        matches!(
            es.metric.as_str(),
            "rmse" | "mae" | "mse" | "r2" | "mape" | "median_absolute_error"
        )
    };
    if !known_for_task {
        return Err(loaded
            .error_at(
                "train.early_stopping.metric",
                format!(
                    "{:?} is not a {} metric",
                    es.metric,
                    data.preprocessor.task.name()
                ),
            )
            .into());
    }
    let name = es.metric.clone();
    let key = name.clone();
    let higher = metric_higher_is_better(&name).unwrap_or(false);
    let target = data.preprocessor.target.clone();
    let valid = &data.valid;
    Ok(Some(Monitor {
        name,
        higher_is_better: higher,
        compute: Box::new(move |outputs: &[f32]| {
            score_split(outputs, valid, &target)
                .get(&key)
                .copied()
                .unwrap_or(f64::NAN)
        }),
    }))
}
