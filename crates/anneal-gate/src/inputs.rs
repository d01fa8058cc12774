//! What a gate reads: a run's `report.json` and the `predictions.csv`
//! beside it (the per-row truths and predictions every comparison with a
//! baseline is computed from). Both are read with the readers that sit
//! beside their writers in `anneal-report`; this module adds what the gate
//! needed them for to their errors.

use std::path::{Path, PathBuf};

use anneal_report::Report;
use anneal_report::predictions_csv::{self, PredictionsError};

pub use anneal_report::predictions_csv::SplitRows;

use crate::error::{GateError, Result};

/// A report and the folder it lives in.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// `report.json` itself.
    pub path: PathBuf,
    /// Its folder (the run or eval folder).
    pub dir: PathBuf,
    pub report: Report,
}

/// Reads `path`: a `report.json`, or a run folder holding one.
pub fn read_report(path: &Path) -> Result<RunReport> {
    let file = if path.is_dir() {
        path.join("report.json")
    } else {
        path.to_path_buf()
    };
    let report = Report::read(&file).map_err(|e| match e {
        anneal_report::ReportError::ReadFile { .. } if path.is_dir() => GateError::Input(format!(
            "{e} (is this a run folder written by `anneal train` or `anneal eval`?)"
        )),
        e => GateError::Input(e.to_string()),
    })?;
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(RunReport {
        path: file,
        dir,
        report,
    })
}

/// Reads the rows of `split` from the `predictions.csv` in the report's
/// folder. Classification rows are mapped through the report's labels.
pub fn read_predictions(run: &RunReport, split: &str) -> Result<SplitRows> {
    let path = run.dir.join("predictions.csv");
    predictions_csv::read_split(&path, split, run.report.labels.as_deref()).map_err(|e| match e {
        PredictionsError::Open { .. } => GateError::Input(format!(
            "{e} (comparing with a baseline needs the per-row predictions beside the report)"
        )),
        PredictionsError::Content { .. } => GateError::Input(format!(
            "{e} (the predictions.csv written with {})",
            run.path.display()
        )),
    })
}
