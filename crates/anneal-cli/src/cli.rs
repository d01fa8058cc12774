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
code and `anneal eval` scores on any labelled file.\n\nExit codes: 0 success, 1 a run that failed, 2 a usage or config error, 3 a data or \
artifact error."
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
    /// Check a config, or print it with every default filled in.
    Config(ConfigArgs),
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The training config (TOML).
    #[arg(long, short)]
    pub config: PathBuf,
    /// The run folder to create [default: runs/<config name>].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Override train.seed (and the split seed when it follows train.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override train.backend.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// Replace an existing run folder.
    #[arg(long)]
    pub force: bool,
    /// Print only the final summary.
    #[arg(long, short)]
    pub quiet: bool,
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
    /// Print the config with every default filled in (TOML).
    #[arg(long)]
    pub resolved: bool,
}
