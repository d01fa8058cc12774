//! `anneal eval`: an artifact scored on any labelled file, through the
//! artifact's own preprocessing, with the same evaluation code and the
//! same documents as `train` (the split is named `eval`).

use std::collections::BTreeMap;
use std::time::Instant;

use anneal_artifact::Artifact;
use anneal_eval::{EvalSettings, evaluate};
use anneal_report::{CpuInfo, ModelSummary, Report, Reproducibility};

use super::run_dir::{self, Staging};
use crate::cli::EvalArgs;
use crate::error::CliError;
use crate::output;

/// Rows per forward pass.
const BATCH: usize = 4096;

pub fn run(args: &EvalArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let started_at = output::utc_now();
    if args.out.exists() && !args.force {
        return Err(CliError::RunExists(args.out.clone()));
    }
    let backend = anneal_config::Backend::Flex;
    let device = anneal_model::device(backend)?;
    let dir = anneal_artifact::resolve(&args.artifact)?;
    let artifact = Artifact::load(&dir, device)?;

    // The training config travels in the artifact: its CSV options and
    // [eval] section apply unless overridden here.
    let config = artifact.config()?;
    let mut eval_cfg = config.eval.clone();
    if !args.slices.is_empty() {
        eval_cfg.slices = args.slices.clone();
    }
    if let Some(b) = args.bootstrap {
        eval_cfg.bootstrap = b;
    }
    let settings = EvalSettings::new(&eval_cfg, args.seed.unwrap_or(artifact.manifest.seed));

    let table =
        anneal_data::read_table(&args.data, None, &config.data.csv, &artifact.text_columns())?;
    let source = args.data.to_string_lossy();
    let labelled =
        anneal_data::labelled(&artifact.preprocessor, &table, &source, &eval_cfg.slices)?;
    let data = &labelled.data;
    let arch = &artifact.model.architecture;
    let outputs = artifact
        .network
        .infer(&data.x, data.len(), arch, BATCH, &artifact.device)?;
    let pre = &artifact.preprocessor;
    let evaluation = evaluate("eval", &outputs, data, &pre.target, &settings);
    let metrics = BTreeMap::from([("eval".to_string(), evaluation.metrics.clone())]);
    // The prior from the training profile (artifacts without one have no
    // baseline).
    let baseline: BTreeMap<String, BTreeMap<String, f64>> = artifact
        .profile
        .as_ref()
        .and_then(|p| anneal_eval::prior_row_from_profile(p, &pre.target))
        .map(|row| {
            let scored = anneal_eval::baseline_metrics(&row, data, &pre.target);
            BTreeMap::from([("eval".to_string(), scored)])
        })
        .unwrap_or_default();

    let report = Report {
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
        data: labelled.stats.clone(),
        model: ModelSummary {
            kind: artifact.model.kind.clone(),
            architecture: arch.clone(),
            parameters: arch.parameter_count(),
            input_names: pre.input_names(),
        },
        training: None,
        reproducibility: Reproducibility {
            config_sha256: artifact.manifest.config_sha256.clone(),
            data_sha256: table.sha256.clone(),
            seed: args.seed.unwrap_or(artifact.manifest.seed),
            backend: backend.name().into(),
            bit_reproducible: anneal_model::backend::is_deterministic(backend),
            versions: anneal_artifact::export::versions(),
            git_commit: run_dir::git_commit(
                args.data.parent().unwrap_or(std::path::Path::new(".")),
            ),
            cpu: CpuInfo::detect(),
        },
        artifact_id: Some(artifact.manifest.id.clone()),
    };

    let staging = Staging::begin(&args.out, args.force)?;
    anneal_report::write_documents(&staging.dir, &report)?;
    staging.write(
        "predictions.csv",
        &anneal_report::predictions_csv::render(&pre.target, &[("eval", data, outputs)]),
    )?;
    let total_secs = started.elapsed().as_secs_f64();
    let seconds = anneal_report::run_info::Seconds {
        total: total_secs,
        ..Default::default()
    };
    let run =
        anneal_report::RunInfo::finished_now(started_at, seconds, run_dir::absolute(&args.data));
    staging.write("run.json", &run.to_json()?)?;
    let out = staging.commit()?;
    output::eval_done(&out, &report, total_secs);
    Ok(())
}
