//! Command-line arguments (clap derive). Every flag is documented here;
//! `anneal <cmd> --help` prints it.

use std::path::PathBuf;

use anneal_config::Backend;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "anneal",
    version,
    about = "Raw data to a tested, deployable model artifact with one command",
    long_about = "anneal trains a model declared in a TOML config on a CSV/Parquet/NDJSON file, \
evaluates it, and exports a checksummed artifact that `anneal predict` loads without the training \
code and `anneal eval` scores on any labelled file.\n\nExit codes: 0 success, 1 a run that failed (or a gate, data check or verify that \
failed), 2 a usage or config error, 3 a data or artifact error, 130/143 training interrupted by \
SIGINT/SIGTERM after writing a checkpoint (continue with --resume), 75 a transient failure \
(a file or folder that could not be written): retrying may succeed."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train, evaluate and export a model from a config.
    Train(TrainArgs),
    /// Predict with an exported artifact.
    Predict(PredictArgs),
    /// Evaluate an exported artifact on a labelled data file.
    Eval(EvalArgs),
    /// Pack, verify or inspect an artifact.
    #[command(subcommand)]
    Artifact(ArtifactCommand),
    /// Export an artifact to another format: `export onnx` writes the
    /// whole fitted pipeline (preprocessing, network, label decoding) as
    /// one ONNX model.
    #[command(subcommand)]
    Export(ExportCommand),
    /// A local model registry: immutable versions and movable aliases.
    Registry(RegistryArgs),
    /// Serve an artifact over HTTP (KServe v2, MLflow /invocations).
    Serve(ServeArgs),
    /// Decide whether a model may ship: a policy's rules applied to a
    /// report, against a baseline. Exit 0 pass, 1 failed, 2 usage or
    /// policy error, 3 report, data or artifact error.
    Gate(GateArgs),
    /// Check new data against what a model was trained on: the schema,
    /// missing and new columns, types, nulls, ranges, unseen categories
    /// and drift. Exit codes as for gate.
    CheckData(CheckDataArgs),
    /// Watch a served model: its inference log (and/or new rows) and the
    /// labels that came later, per time window: every metric with
    /// bootstrap intervals, drift per column, prediction shift; judged by
    /// a [monitor] policy. Writes monitor.json, .md, .html, .junit.xml.
    /// Exit codes as for gate.
    Monitor(MonitorArgs),
    /// Re-run the training recorded in a run folder and compare every
    /// hash: artifact id, weights, report, predictions. Exit 0 identical,
    /// 1 different. With --against-cpu (for GPU-trained runs): retrain on
    /// the CPU and compare every metric within a tolerance.
    Verify(VerifyArgs),
    /// Check a config, or print it with every default filled in.
    Config(ConfigArgs),
    /// Hyper-parameter sweeps: plan the trials of a config's [sweep]
    /// section, run them locally, collect a leaderboard. On a scheduler,
    /// each task runs `anneal train --config X --trial I` (or takes I from
    /// JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or VC_TASK_INDEX).
    #[command(subcommand)]
    Sweep(SweepCommand),
    /// Measure a config's data stage, training and prediction: samples/s,
    /// epoch times, single-row latency, peak memory and the device, as a
    /// table and (with --out) as JSON for CI to collect. Writes no run
    /// folder.
    Bench(BenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Write DIR/plan.json: every trial, with its stable id, the values it
    /// sets and its complete config.
    Plan {
        /// The sweep config (TOML with a [sweep] section).
        #[arg(long, short)]
        config: PathBuf,
        /// The sweep folder [default: runs/<config name>].
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Run every trial as a child process, N at a time, then collect.
    /// Finished trials are skipped and interrupted ones resumed, so the
    /// same command continues a stopped sweep.
    Run {
        /// The sweep config (TOML with a [sweep] section).
        #[arg(long, short)]
        config: PathBuf,
        /// The sweep folder [default: runs/<config name>].
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Trials run at once. Each gets an equal share of the CPU threads
        /// (RAYON_NUM_THREADS) unless that variable is set.
        #[arg(long, short = 'j', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
        parallel: u32,
        /// Override train.backend of every trial.
        #[arg(long, value_enum)]
        backend: Option<BackendArg>,
    },
    /// Rank the trials of a sweep folder by the objective: writes
    /// leaderboard.json, leaderboard.md and leaderboard.html, and names the
    /// best trial's artifact.
    Collect {
        /// The sweep folder (holding plan.json).
        dir: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The training config (TOML).
    #[arg(long, short, required_unless_present = "resume")]
    pub config: Option<PathBuf>,
    /// The run folder to create [default: runs/<config name>].
    #[arg(long, short, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Override train.seed (and the split seed when it follows train.seed).
    #[arg(long, conflicts_with_all = ["resume", "trial"])]
    pub seed: Option<u64>,
    /// Run trial I of the config's [sweep] into OUT/trials/NNNN (OUT
    /// defaults to runs/<config name>). Without it, the index is taken from
    /// JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or VC_TASK_INDEX; sources
    /// that disagree are an error. A finished trial is skipped, an
    /// interrupted one resumed.
    #[arg(long, value_name = "I", conflicts_with = "resume")]
    pub trial: Option<usize>,
    /// Override train.backend.
    #[arg(long, value_enum, conflicts_with = "resume")]
    pub backend: Option<BackendArg>,
    /// Replace an existing run folder (or an interrupted run's checkpoints).
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Continue the interrupted run that was writing RUN_DIR, from its last
    /// checkpoint, with the same config, seed and backend. The result is
    /// bit-identical to an uninterrupted run.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "config")]
    pub resume: Option<PathBuf>,
    /// Also checkpoint every N optimizer steps.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub checkpoint_every: u64,
    /// Checkpoint at an epoch end once at least this many seconds have
    /// passed since the last checkpoint (0: at every epoch end). A stop
    /// request (SIGINT/SIGTERM) always checkpoints.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = seconds)]
    pub checkpoint_secs: f64,
    /// Checkpoints kept (older ones are deleted).
    #[arg(long, value_name = "K", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_checkpoints: u64,
    /// Print only the final summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The training config (TOML).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Override train.backend.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// Override train.epochs (early stopping still applies).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: Option<u32>,
    /// The stages to measure; the data stage always runs.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "prep,train,predict"
    )]
    pub stages: Vec<BenchStageArg>,
    /// Rows per forward pass when predicting in batches.
    #[arg(long, value_name = "ROWS", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub predict_batch: u64,
    /// Write the figures here as JSON.
    #[arg(long, short)]
    pub out: Option<std::path::PathBuf>,
    /// Print nothing but errors (with --out).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchStageArg {
    /// Read, clean, split, fit and transform the data.
    Prep,
    /// Train the configured model (the standard loop, no checkpoints).
    Train,
    /// Batch forward passes over the test split, and single rows.
    Predict,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    /// burn-flex, the CPU backend (default).
    Flex,
    /// burn-ndarray, CPU.
    Ndarray,
    /// burn-wgpu, GPU.
    Wgpu,
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Backend {
        match b {
            BackendArg::Flex => Backend::Flex,
            BackendArg::Ndarray => Backend::Ndarray,
            BackendArg::Wgpu => Backend::Wgpu,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// The artifact folder (for example runs/iris/artifact).
    #[arg(long, short)]
    pub artifact: PathBuf,
    /// Rows to predict: .csv, .parquet or .ndjson.
    #[arg(long, short)]
    pub input: PathBuf,
    /// Where to write predictions: .csv or .parquet.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Rows per batch: the input is read, predicted and written one batch
    /// at a time, so files larger than memory work.
    #[arg(long, default_value_t = 65_536)]
    pub batch_rows: usize,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write the artifact as one ONNX model: one input per raw column
    /// (double with NaN for missing numbers, string with "" for missing
    /// categories), outputs `prediction` and, for classification,
    /// `probabilities`. The same artifact always gives the same bytes.
    Onnx {
        /// The artifact folder or packed archive.
        #[arg(long, short)]
        artifact: PathBuf,
        /// The .onnx file to write.
        #[arg(long, short)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ArtifactCommand {
    /// Write a reproducible archive (.tar.gz or .tar.zst): sorted entries,
    /// zero uid/gid/mtime, so the same artifact always packs to the same
    /// bytes.
    Pack {
        /// The artifact folder.
        #[arg(long, short)]
        artifact: PathBuf,
        /// The archive to write; its extension picks the compression.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Check every hash of an artifact folder or archive and say exactly
    /// what was changed.
    Verify {
        /// The artifact folder or archive.
        artifact: PathBuf,
    },
    /// Print a readable summary of an artifact folder or archive.
    Inspect {
        /// The artifact folder or archive.
        artifact: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct RegistryArgs {
    /// The registry folder [default: $ANNEAL_REGISTRY, else ~/.anneal/registry].
    #[arg(long, global = true)]
    pub registry: Option<PathBuf>,
    #[command(subcommand)]
    pub command: RegistryCommand,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Store an artifact (folder or archive) as an immutable version.
    Push {
        /// The artifact folder or archive.
        artifact: PathBuf,
        /// Model name [default: the artifact's name].
        #[arg(long)]
        name: Option<String>,
        /// Point these aliases (e.g. candidate) at the pushed version.
        #[arg(long = "alias", value_name = "ALIAS")]
        aliases: Vec<String>,
    },
    /// List models, or the versions of one model.
    List {
        /// A model name.
        name: Option<String>,
    },
    /// Show one version: NAME (latest), NAME@ALIAS, NAME:ID (a unique prefix
    /// of the id is enough) or NAME:vN.
    Show {
        reference: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Point NAME@ALIAS at a version (NAME:ID, NAME:vN or NAME@OTHER).
    Alias {
        /// NAME@ALIAS to set.
        alias: String,
        /// The version it should point at.
        #[arg(required_unless_present = "delete")]
        target: Option<String>,
        /// Remove the alias instead.
        #[arg(long, conflicts_with = "target")]
        delete: bool,
    },
    /// Copy a version out as an artifact folder.
    Pull {
        reference: String,
        /// The folder to create.
        #[arg(long, short)]
        out: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The artifact folder or archive.
    #[arg(long, short)]
    pub artifact: PathBuf,
    /// Address to listen on (localhost by default; 0.0.0.0:8080 to expose).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Largest accepted request body, in bytes (413 above it).
    #[arg(long, default_value_t = anneal_serve::defaults::MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Largest number of rows in one request (400 above it).
    #[arg(long, default_value_t = anneal_serve::defaults::MAX_ROWS)]
    pub max_rows: usize,
    /// Predictions run at once [default: one per CPU].
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub workers: usize,
    /// Requests that may wait for a worker; beyond them a request gets 503
    /// with Retry-After.
    #[arg(long, default_value_t = anneal_serve::defaults::QUEUE)]
    pub queue: usize,
    /// Open connections at most; one more gets 503 and is closed.
    #[arg(long, default_value_t = anneal_serve::defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds to send a complete request head.
    #[arg(long, value_name = "SECS", default_value_t = anneal_serve::defaults::HEADER_TIMEOUT.as_secs_f64())]
    pub header_timeout: f64,
    /// Seconds a kept-alive connection may sit idle between requests.
    #[arg(long, value_name = "SECS", default_value_t = anneal_serve::defaults::IDLE_TIMEOUT.as_secs_f64())]
    pub idle_timeout: f64,
    /// Seconds to send a request body (408 after).
    #[arg(long, value_name = "SECS", default_value_t = anneal_serve::defaults::BODY_TIMEOUT.as_secs_f64())]
    pub body_timeout: f64,
    /// Seconds from a request's head to its answer, queueing included (503
    /// after).
    #[arg(long, value_name = "SECS", default_value_t = anneal_serve::defaults::REQUEST_TIMEOUT.as_secs_f64())]
    pub request_timeout: f64,
    /// Require `Authorization: Bearer TOKEN` on every route but the health
    /// probes. Prefer the ANNEAL_SERVE_TOKEN environment variable: a flag
    /// is visible to other users in the process list.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// A Host header value to accept (repeatable; `*`: any) [default: on a
    /// loopback address localhost, 127.0.0.1 and [::1]; otherwise any].
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// Rows in the drift window: each input column and the predictions,
    /// over the latest ROWS rows, against the training profile (gauges on
    /// /metrics, checks at GET /v1/monitor).
    #[arg(long, value_name = "ROWS", default_value_t = anneal_serve::defaults::MONITOR_WINDOW_ROWS)]
    pub monitor_window_rows: u64,
    /// Only rows of the last SECS seconds count in the drift window.
    #[arg(long, value_name = "SECS")]
    pub monitor_window_seconds: Option<f64>,
    /// Thresholds for the drift alerts: a policy file with [check_data]
    /// [default: the artifact's config's, else check-data's defaults].
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// No drift monitoring.
    #[arg(long, conflicts_with_all = ["monitor_window_rows", "monitor_window_seconds", "policy"])]
    pub no_monitor: bool,
    /// Write every request's rows, predictions and request id into DIR
    /// (the inference log, NDJSON files read by `anneal monitor`).
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Share of requests logged (whole requests, chosen by a hash of the
    /// request id).
    #[arg(
        long,
        value_name = "SHARE",
        default_value_t = 1.0,
        requires = "log_dir"
    )]
    pub log_sample: f64,
    /// Start a new log file past this size.
    #[arg(long, value_name = "BYTES", default_value_t = anneal_serve::defaults::LOG_MAX_BYTES, requires = "log_dir")]
    pub log_max_bytes: u64,
    /// Start a new log file past this age.
    #[arg(long, value_name = "SECS", requires = "log_dir")]
    pub log_max_seconds: Option<f64>,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The artifact folder (for example runs/iris/artifact).
    #[arg(long, short)]
    pub artifact: PathBuf,
    /// Labelled rows to score: .csv, .parquet or .ndjson, holding the
    /// target column the model was trained on.
    #[arg(long, short)]
    pub data: PathBuf,
    /// The folder to write report.json, metrics.json, report.md,
    /// report.html, plots/ and predictions.csv into.
    #[arg(long, short)]
    pub out: PathBuf,
    /// A column to slice the figures by (repeatable) [default: the
    /// artifact config's eval.slices].
    #[arg(long = "slice", value_name = "COLUMN")]
    pub slices: Vec<String>,
    /// Bootstrap resamples for the intervals [default: eval.bootstrap].
    #[arg(long)]
    pub bootstrap: Option<u32>,
    /// Seed of the bootstrap [default: the artifact's training seed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replace an existing output folder.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// The config to check.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Print the config with every default filled in (TOML), including the
    /// epoch budget and batch size that follow the data size (so the data
    /// is read).
    #[arg(long, conflicts_with = "data_path")]
    pub resolved: bool,
    /// Print the data file's path as train resolves it (for scripts).
    #[arg(long)]
    pub data_path: bool,
}

#[derive(Debug, clap::Args)]
pub struct GateArgs {
    /// The candidate's report.json, or the run (or eval) folder holding it.
    #[arg(long, short)]
    pub report: PathBuf,
    /// The policy: a TOML file with a [gate] section (a training config
    /// works too) [default: the [gate] section of the config stored in the
    /// run's artifact].
    #[arg(long, short)]
    pub policy: Option<PathBuf>,
    /// What to compare with: a report.json or run folder, an artifact folder
    /// or archive, or a registry reference (@champion for the candidate's
    /// own model, NAME@ALIAS, NAME:vN, NAME). A reference the registry does
    /// not know yet counts as no baseline (a first run).
    #[arg(long, short)]
    pub baseline: Option<String>,
    /// The candidate's data file, for scoring a baseline artifact on the
    /// candidate's rows [default: the path recorded in the run's run.json].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The registry for references [default: $ANNEAL_REGISTRY, else
    /// ~/.anneal/registry].
    #[arg(long)]
    pub registry: Option<PathBuf>,
    /// Where gate.json, gate.junit.xml and gate.md go [default: the
    /// report's folder].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Pass even if rules fail, recording this reason in gate.json (the
    /// failures are still listed).
    #[arg(long, value_name = "REASON")]
    pub override_reason: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CheckDataArgs {
    /// The artifact whose training data is the reference (folder or
    /// archive).
    #[arg(long, short)]
    pub artifact: PathBuf,
    /// The new data: .csv, .parquet or .ndjson (the target column may be
    /// absent).
    #[arg(long, short)]
    pub data: PathBuf,
    /// A TOML file with a [check_data] section (a training config works
    /// too) [default: the artifact config's [check_data], else the
    /// defaults].
    #[arg(long, short)]
    pub policy: Option<PathBuf>,
    /// Where check-data.json, check-data.junit.xml and check-data.md go.
    #[arg(long, short, default_value = "check-data")]
    pub out: PathBuf,
    /// Pass even if checks fail, recording this reason.
    #[arg(long, value_name = "REASON")]
    pub override_reason: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// The served artifact: a folder, an archive or a registry reference
    /// (NAME@ALIAS, NAME:vN, NAME).
    #[arg(long, short)]
    pub artifact: String,
    /// The inference log folder (`anneal serve --log-dir`).
    #[arg(long, required_unless_present = "data")]
    pub log: Option<PathBuf>,
    /// A file of new rows (.csv, .parquet, .ndjson), predicted with the
    /// artifact; its target column, when present, is its labels.
    #[arg(long, short)]
    pub data: Option<PathBuf>,
    /// The true labels: request_id, row (optional, default 0) and the
    /// target column (.csv, .parquet, .ndjson).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// The time window: 30m, 1h, 1d, ... (aligned to the Unix epoch), or a
    /// row count: 500rows [default: 1h; 500rows with --data].
    #[arg(long, short)]
    pub window: Option<String>,
    /// A TOML file with a [monitor] section (a training config works too)
    /// [default: the artifact config's [monitor], else the defaults].
    #[arg(long, short)]
    pub policy: Option<PathBuf>,
    /// Where monitor.json, .md, .html and .junit.xml go.
    #[arg(long, short, default_value = "monitor")]
    pub out: PathBuf,
    /// Bootstrap resamples per window [default: the artifact config's
    /// eval.bootstrap].
    #[arg(long)]
    pub bootstrap: Option<u32>,
    /// The registry for references [default: $ANNEAL_REGISTRY, else
    /// ~/.anneal/registry].
    #[arg(long)]
    pub registry: Option<PathBuf>,
    /// Pass even if the policy fails, recording this reason.
    #[arg(long, value_name = "REASON")]
    pub override_reason: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The run folder written by `anneal train`.
    pub run: PathBuf,
    /// Keep the re-run's folder here instead of a temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// Retrain on the CPU backend (flex) and check that every metric of
    /// the run agrees with the CPU-trained model's within --tolerance,
    /// instead of comparing hashes: the check for GPU-trained runs, which
    /// are not bit-reproducible.
    #[arg(long)]
    pub against_cpu: bool,
    /// With --against-cpu: the largest difference allowed per metric,
    /// relative to max(1, |recorded|, |cpu|) (so absolute for accuracy,
    /// F1, AUC, R²).
    #[arg(long, default_value_t = 0.02, requires = "against_cpu", value_parser = tolerance)]
    pub tolerance: f64,
}

/// A tolerance: finite and at least 0.
fn tolerance(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{text:?} is not a tolerance >= 0")),
    }
}

/// A number of seconds: finite and at least 0.
fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v.min(1e9)),
        _ => Err(format!("{text:?} is not a number of seconds >= 0")),
    }
}
