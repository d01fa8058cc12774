//! `eval`: an artifact scored on any labelled file, through the
//! artifact's own preprocessing, with the same evaluation code and the
//! same documents as `train` (the split is named `eval`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anneal_artifact::Artifact;
use anneal_eval::{EvalSettings, evaluate};
use anneal_report::{CpuInfo, ModelSummary, Report, Reproducibility};

use crate::error::{Error, Result};
use crate::run_dir::{self, Staging};

/// What to evaluate, and where the documents go.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    /// An artifact folder or packed archive.
    pub artifact: PathBuf,
    /// A labelled data file.
    pub data: PathBuf,
    /// The folder to write the documents into.
    pub out: PathBuf,
    pub force: bool,
    /// Override the training config's [eval] slices.
    pub slices: Vec<String>,
    /// Override the bootstrap resamples.
    pub bootstrap: Option<u32>,
    /// Override the artifact's seed (bootstrap).
    pub seed: Option<u64>,
    /// The command line recorded in run.json.
    pub command: Vec<String>,
}

/// The written folder and its report.
pub struct EvalSummary {
    pub out: PathBuf,
    pub report: Report,
    pub seconds: f64,
}

/// Rows per forward pass.
const BATCH: usize = 4096;

/// Scores the artifact on the file and writes report.json, .md, .html,
/// predictions.csv and run.json into `req.out`.
pub fn eval(req: &EvalRequest) -> Result<EvalSummary> {
    let started = Instant::now();
    let started_at = anneal_core::time::utc_now();
    if req.out.exists() && !req.force {
        return Err(Error::RunExists(req.out.clone()));
    }
    let dir = anneal_artifact::resolve(&req.artifact)?;
    let artifact = Artifact::load(&dir, anneal_model::device(BACKEND)?)?;
    // The training config travels in the artifact: its CSV options and
    // [eval] section apply unless overridden here.
    let config = artifact.config()?;
    let mut eval_cfg = config.eval.clone();
    if !req.slices.is_empty() {
        eval_cfg.slices = req.slices.clone();
    }
    if let Some(b) = req.bootstrap {
        eval_cfg.bootstrap = b;
    }
    let table =
        anneal_data::read_table(&req.data, None, &config.data.csv, &artifact.text_columns())?;
    let source = req.data.to_string_lossy();
    let labelled =
        anneal_data::labelled(&artifact.preprocessor, &table, &source, &eval_cfg.slices)?;
    let data = &labelled.data;
    let arch = &artifact.model.architecture;
    let outputs = artifact.network.infer(
        &data.x,
        data.len(),
        arch,
        &artifact.layout,
        BATCH,
        &artifact.device,
    )?;
    let settings = EvalSettings::new(&eval_cfg, req.seed.unwrap_or(artifact.manifest.seed));
    let scored = Scored {
        labelled: &labelled,
        data_sha256: &table.sha256,
        outputs: &outputs,
    };
    let report = build_report(req, &artifact, &scored, settings);
    let staging = Staging::begin(&req.out, req.force)?;
    anneal_report::write_documents(&staging.dir, &report)?;
    let target = &artifact.preprocessor.target;
    staging.write(
        "predictions.csv",
        &anneal_report::predictions_csv::render(target, &[("eval", data, outputs)]),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    staging.write("run.json", &run_json(req, started_at, seconds)?)?;
    Ok(EvalSummary {
        out: staging.commit()?,
        report,
        seconds,
    })
}

/// `eval` scores on the CPU: its figures are reproducible to the bit.
const BACKEND: anneal_config::Backend = anneal_config::Backend::Flex;

/// The labelled file and the network's outputs on it.
struct Scored<'a> {
    labelled: &'a anneal_data::Labelled,
    data_sha256: &'a str,
    outputs: &'a [f32],
}

/// The split `eval`, scored, with the prior from the training profile as
/// its baseline (artifacts without a profile have none).
fn build_report(
    req: &EvalRequest,
    artifact: &Artifact,
    scored: &Scored,
    settings: EvalSettings,
) -> Report {
    let pre = &artifact.preprocessor;
    let data = &scored.labelled.data;
    let arch = &artifact.model.architecture;
    let evaluation = evaluate("eval", scored.outputs, data, &pre.target, &settings);
    let metrics = BTreeMap::from([("eval".to_string(), evaluation.metrics.clone())]);
    let baseline: BTreeMap<String, BTreeMap<String, f64>> = artifact
        .profile
        .as_ref()
        .and_then(|p| anneal_eval::prior_row_from_profile(p, &pre.target))
        .map(|row| {
            let scored = anneal_eval::baseline_metrics(&row, data, &pre.target);
            BTreeMap::from([("eval".to_string(), scored)])
        })
        .unwrap_or_default();
    Report {
        schema_version: anneal_report::SCHEMA_VERSION,
        task: pre.task.name().into(),
        target: pre.target.column().into(),
        labels: match &pre.target {
            anneal_data::TargetSpec::Classes { labels, .. } => Some(labels.clone()),
            anneal_data::TargetSpec::Regression { .. } => None,
        },
        lift: anneal_report::report::lift(&metrics, &baseline),
        metrics,
        baseline,
        evaluation: BTreeMap::from([("eval".to_string(), evaluation)]),
        evaluation_settings: settings,
        data: scored.labelled.stats.clone(),
        model: ModelSummary {
            kind: artifact.model.kind.clone(),
            architecture: arch.clone(),
            parameters: arch.parameter_count(),
            input_names: pre.input_names(),
        },
        training: None,
        reproducibility: Reproducibility {
            config_sha256: artifact.manifest.config_sha256.clone(),
            data_sha256: scored.data_sha256.to_string(),
            seed: req.seed.unwrap_or(artifact.manifest.seed),
            backend: BACKEND.name().into(),
            bit_reproducible: anneal_model::backend::is_deterministic(BACKEND),
            versions: anneal_artifact::export::versions(),
            git_commit: run_dir::git_commit(req.data.parent().unwrap_or(std::path::Path::new("."))),
            cpu: CpuInfo::detect(),
        },
        artifact_id: Some(artifact.manifest.id.clone()),
    }
}

/// run.json: when, how long, and the data file.
fn run_json(req: &EvalRequest, started_at: String, seconds: f64) -> Result<String> {
    let seconds = anneal_report::run_info::Seconds {
        total: seconds,
        ..Default::default()
    };
    let data_path = run_dir::absolute(&req.data);
    let run =
        anneal_report::RunInfo::finished_now(started_at, seconds, data_path, req.command.clone());
    Ok(run.to_json()?)
}
