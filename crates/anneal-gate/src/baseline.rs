//! The model a candidate is compared with, and its predictions on the
//! candidate's own evaluation rows.
//!
//! Comparisons are only fair on the same rows, so a baseline is always
//! brought onto them: a baseline *report* contributes its own
//! `predictions.csv` when it scored exactly those rows (same data, same
//! split); a baseline *artifact* (a folder, an archive, or a registry
//! reference such as `@champion`) is run on the rows here, read from the
//! candidate's data file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anneal_artifact::Artifact;
use anneal_eval::{Predictions, Scored, predictions_from_outputs};
use anneal_registry::{Registry, RegistryError};

use crate::error::{GateError, Result};
use crate::inputs::{RunReport, SplitRows, read_predictions, read_report};

/// Rows per forward pass when scoring a baseline artifact.
const BATCH: usize = 4096;

/// Where the baseline comes from.
#[derive(Debug, Clone)]
pub enum BaselineSource {
    /// A report (and its predictions.csv); `artifact` is the run folder's
    /// artifact, used when the report scored other rows.
    Report {
        run: Box<RunReport>,
        artifact: Option<PathBuf>,
    },
    /// An artifact folder (archives are unpacked into the cache first).
    Artifact(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Baseline {
    /// The reference as the user gave it.
    pub reference: String,
    /// What it resolved to, for the verdict.
    pub resolved: String,
    pub artifact_id: Option<String>,
    pub source: BaselineSource,
}

/// Resolves `--baseline`. A path that exists is a report (`report.json`
/// or a run folder) or an artifact (folder or archive). Anything else is a
/// registry reference: `@alias` (of the candidate's model `model_name`),
/// `NAME@alias`, `NAME:vN`, `NAME`. `Ok(None)` when the registry has no
/// such model or alias yet (a first run); the string says why.
pub fn resolve(
    reference: &str,
    registry: &Path,
    model_name: Option<&str>,
) -> Result<std::result::Result<Baseline, String>> {
    let path = Path::new(reference);
    if path.exists() {
        return from_path(reference, path).map(Ok);
    }
    let full = match reference.strip_prefix('@') {
        Some(_) => match model_name {
            Some(name) => format!("{name}{reference}"),
            None => {
                return Err(GateError::Usage(format!(
                    "baseline {reference:?} names an alias but the candidate's model name is unknown (no artifact beside the report); write NAME{reference}"
                )));
            }
        },
        None => reference.to_string(),
    };
    if anneal_registry::Reference::parse(&full).is_err() {
        return Err(GateError::Usage(format!(
            "baseline {reference:?} is neither an existing path (report.json, run folder, artifact folder or archive) nor a registry reference (@alias, NAME@alias, NAME:vN)"
        )));
    }
    let reg = match Registry::open(registry) {
        Ok(r) => r,
        Err(RegistryError::UnknownModel { .. }) => {
            return Ok(Err(format!(
                "no baseline: the registry {} does not exist yet",
                registry.display()
            )));
        }
        Err(e) => return Err(e.into()),
    };
    match reg.resolve(&full) {
        Ok(v) => Ok(Ok(Baseline {
            reference: reference.to_string(),
            resolved: format!("{}:v{} ({})", v.name, v.number, v.path.display()),
            artifact_id: Some(v.id.clone()),
            source: BaselineSource::Artifact(v.path),
        })),
        Err(e @ (RegistryError::UnknownModel { .. } | RegistryError::UnknownAlias { .. })) => {
            Ok(Err(format!("no baseline: {e}")))
        }
        Err(e) => Err(e.into()),
    }
}

fn from_path(reference: &str, path: &Path) -> Result<Baseline> {
    let is_report_file = path.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let is_run_dir = path.is_dir()
        && path.join("report.json").is_file()
        && !path.join("manifest.json").is_file();
    if is_report_file || is_run_dir {
        let run = read_report(path)?;
        let artifact = Some(run.dir.join("artifact")).filter(|a| a.join("manifest.json").is_file());
        return Ok(Baseline {
            reference: reference.to_string(),
            resolved: run.path.display().to_string(),
            artifact_id: run.report.artifact_id.clone(),
            source: BaselineSource::Report {
                run: Box::new(run),
                artifact,
            },
        });
    }
    let dir = anneal_artifact::resolve(path)?;
    Ok(Baseline {
        reference: reference.to_string(),
        resolved: dir.display().to_string(),
        artifact_id: None,
        source: BaselineSource::Artifact(dir),
    })
}

/// The baseline's predictions on exactly the candidate's rows of `split`,
/// in the same order, and a note saying how they were obtained.
pub fn rows_for(
    baseline: &mut Baseline,
    candidate_run: &RunReport,
    candidate: &SplitRows,
    split: &str,
    data: Option<&Path>,
) -> Result<(Scored, String)> {
    if let BaselineSource::Report { run, artifact } = &baseline.source {
        if let Some(found) = from_report(run, candidate_run, candidate, split) {
            return Ok(found);
        }
        match artifact {
            Some(dir) => {
                baseline.source = BaselineSource::Artifact(dir.clone());
            }
            None => {
                return Err(GateError::Input(format!(
                    "baseline report {} was evaluated on other rows than the candidate's {split} split and has no artifact beside it to score them; pass the baseline artifact (folder, archive or registry reference) instead",
                    run.path.display()
                )));
            }
        }
    }
    let BaselineSource::Artifact(dir) = &baseline.source else {
        return Err(GateError::Input("internal: unresolved baseline".into()));
    };
    let data = data_file(candidate_run, data)?;
    let device = anneal_model::device(anneal_config::Backend::Flex)?;
    let artifact = Artifact::load(dir, device)?;
    baseline.artifact_id = Some(artifact.manifest.id.clone());
    let (file_rows, scored) = score_file(&artifact, &data, &baseline.reference)?;
    if matches!(
        (&scored, &candidate.scored),
        (Scored::Classes { .. }, Scored::Values { .. })
            | (Scored::Values { .. }, Scored::Classes { .. })
    ) {
        return Err(GateError::Input(format!(
            "baseline {} is a {} model but the candidate is a {} one",
            baseline.reference,
            artifact.preprocessor.task.name(),
            candidate_run.report.task
        )));
    }
    let aligned = align(&file_rows, &scored, &candidate.rows).ok_or_else(|| {
        GateError::Input(format!(
            "{}: the candidate's {split} rows are not all labelled rows of this file",
            data.display()
        ))
    })?;
    Ok((
        aligned,
        format!(
            "baseline artifact {} scored on the candidate's {} {split} rows of {}",
            artifact.manifest.id,
            candidate.rows.len(),
            data.display()
        ),
    ))
}

/// The baseline report's own predictions, when it scored the candidate's
/// rows of `split` (same data, every row there).
fn from_report(
    run: &RunReport,
    candidate_run: &RunReport,
    candidate: &SplitRows,
    split: &str,
) -> Option<(Scored, String)> {
    let logical = &run.report.data.source.logical_sha256;
    if logical.is_empty() || *logical != candidate_run.report.data.source.logical_sha256 {
        return None;
    }
    let rows = read_predictions(run, split).ok()?;
    let scored = align(&rows.rows, &rows.scored, &candidate.rows)?;
    Some((
        scored,
        format!(
            "baseline predictions read from {} (same data, same {split} rows)",
            run.dir.join("predictions.csv").display()
        ),
    ))
}

/// `artifact` run on every labelled row of `data`: the rows' 1-based file
/// rows (as in predictions.csv) and the scores.
fn score_file(artifact: &Artifact, data: &Path, reference: &str) -> Result<(Vec<u64>, Scored)> {
    let config = artifact.config()?;
    let table = anneal_data::read_table(data, None, &config.data.csv, &artifact.text_columns())?;
    let labelled =
        anneal_data::labelled(&artifact.preprocessor, &table, &data.to_string_lossy(), &[])?;
    let d = &labelled.data;
    let outputs = artifact.network.infer(
        &d.x,
        d.len(),
        &artifact.model.architecture,
        &artifact.layout,
        BATCH,
        &artifact.device,
    )?;
    let scored = match (
        predictions_from_outputs(&outputs, &artifact.preprocessor.target),
        &d.y,
    ) {
        (Predictions::Classes { proba, k }, anneal_data::Targets::Classes(y)) => Scored::Classes {
            y: y.iter().map(|&c| c as usize).collect(),
            proba,
            k,
        },
        (Predictions::Values(pred), anneal_data::Targets::Values { raw, .. }) => Scored::Values {
            y: raw.clone(),
            pred,
        },
        _ => {
            return Err(GateError::Input(format!(
                "baseline {reference} and the candidate solve different tasks"
            )));
        }
    };
    // labelled() rows are 0-based file rows; predictions.csv's are 1-based.
    Ok((d.rows.iter().map(|r| r + 1).collect(), scored))
}

/// `scored` (whose rows are `rows`) reordered to `wanted`; `None` when a
/// wanted row is absent.
fn align(rows: &[u64], scored: &Scored, wanted: &[u64]) -> Option<Scored> {
    let at: HashMap<u64, usize> = rows.iter().enumerate().map(|(i, &r)| (r, i)).collect();
    let idx: Option<Vec<usize>> = wanted.iter().map(|r| at.get(r).copied()).collect();
    Some(scored.subset(&idx?))
}

/// The data file the candidate was evaluated on: `--data`, else the path
/// `train`/`eval` recorded in `run.json`. Either way its bytes must hash to
/// what the report recorded, or the rows would not be the same rows.
fn data_file(run: &RunReport, given: Option<&Path>) -> Result<PathBuf> {
    let recorded = || -> Option<PathBuf> {
        let info = anneal_report::RunInfo::read(&run.dir.join("run.json")).ok()?;
        info.data_path.map(PathBuf::from)
    };
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => recorded().ok_or_else(|| {
            GateError::Usage(format!(
                "scoring the baseline artifact needs the candidate's data file ({}); pass it with --data",
                run.report.data.source.path
            ))
        })?,
    };
    let bytes = std::fs::read(&path)
        .map_err(|e| GateError::Input(format!("cannot read data file {}: {e}", path.display())))?;
    let sha = anneal_core::hash::sha256_hex(&bytes);
    if sha != run.report.data.source.sha256 {
        return Err(GateError::Input(format!(
            "data file {} (sha256 {}) is not the file the candidate was evaluated on (sha256 {}); pass that file with --data",
            path.display(),
            &sha[..12],
            &run.report.data.source.sha256[..12.min(run.report.data.source.sha256.len())]
        )));
    }
    Ok(path)
}
