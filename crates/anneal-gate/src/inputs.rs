//! What a gate reads: a run's `report.json` and the `predictions.csv`
//! beside it (the per-row truths and predictions every comparison with a
//! baseline is computed from).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anneal_eval::{Interval, Scored};
use polars::prelude::*;
use serde::Deserialize;

use crate::error::{GateError, Result};

/// The parts of a report (schema_version 2) a gate reads.
#[derive(Debug, Clone, Deserialize)]
pub struct ReportView {
    pub schema_version: u32,
    pub task: String,
    pub target: String,
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    pub evaluation: BTreeMap<String, SplitView>,
    pub evaluation_settings: SettingsView,
    pub data: DataView,
    #[serde(default)]
    pub artifact_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SplitView {
    pub rows: u64,
    pub metrics: BTreeMap<String, f64>,
    #[serde(default)]
    pub intervals: BTreeMap<String, IntervalView>,
    #[serde(default)]
    pub slices: BTreeMap<String, BTreeMap<String, SliceView>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct IntervalView {
    pub lower: f64,
    pub upper: f64,
}

impl From<IntervalView> for Interval {
    fn from(v: IntervalView) -> Interval {
        Interval {
            lower: v.lower,
            upper: v.upper,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SliceView {
    pub rows: u64,
    pub metrics: BTreeMap<String, f64>,
    #[serde(default)]
    pub intervals: BTreeMap<String, IntervalView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SettingsView {
    pub calibration_bins: usize,
    pub min_slice_rows: u64,
    pub seed: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DataView {
    pub source: SourceView,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SourceView {
    pub path: String,
    pub sha256: String,
    #[serde(default)]
    pub logical_sha256: String,
}

/// A report and the folder it lives in.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// `report.json` itself.
    pub path: PathBuf,
    /// Its folder (the run or eval folder).
    pub dir: PathBuf,
    pub report: ReportView,
}

/// Reads `path`: a `report.json`, or a run folder holding one.
pub fn read_report(path: &Path) -> Result<RunReport> {
    let file = if path.is_dir() {
        path.join("report.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        GateError::Input(format!(
            "cannot read report {}: {e}{}",
            file.display(),
            if path.is_dir() {
                " (is this a run folder written by `anneal train` or `anneal eval`?)"
            } else {
                ""
            }
        ))
    })?;
    let report: ReportView = serde_json::from_str(&text).map_err(|e| {
        GateError::Input(format!(
            "{} is not an anneal report: {e} (expected the report.json of `anneal train` or `anneal eval`)",
            file.display()
        ))
    })?;
    if report.schema_version != 2 {
        return Err(GateError::Input(format!(
            "{}: report schema_version {} is not supported (this anneal reads 2)",
            file.display(),
            report.schema_version
        )));
    }
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

/// One split's evaluated rows: their 1-based file rows, the truths and
/// predictions, and the slice values (`(missing)` for a missing cell).
#[derive(Debug, Clone)]
pub struct SplitRows {
    pub rows: Vec<u64>,
    pub scored: Scored,
    /// Slice column -> value per row.
    pub slices: BTreeMap<String, Vec<String>>,
}

impl SplitRows {
    /// Row positions per value of slice `column`, values sorted.
    pub fn groups(&self, column: &str) -> Option<BTreeMap<String, Vec<usize>>> {
        let values = self.slices.get(column)?;
        let mut g: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, v) in values.iter().enumerate() {
            g.entry(v.clone()).or_default().push(i);
        }
        Some(g)
    }
}

/// Reads the rows of `split` from the `predictions.csv` in the report's
/// folder. Classification rows are mapped through the report's labels.
pub fn read_predictions(run: &RunReport, split: &str) -> Result<SplitRows> {
    let path = run.dir.join("predictions.csv");
    let bad = |what: String| {
        GateError::Input(format!(
            "{}: {what} (the predictions.csv written with {})",
            path.display(),
            run.path.display()
        ))
    };
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.clone()))
        .and_then(|r| r.finish())
        .map_err(|e| {
            GateError::Input(format!(
                "cannot read {}: {e} (comparing with a baseline needs the per-row predictions beside the report)",
                path.display()
            ))
        })?;
    let text = |name: &str| -> Result<Vec<Option<String>>> {
        let col = df
            .column(name)
            .map_err(|_| bad(format!("no column {name:?}")))?;
        let ca = col
            .str()
            .map_err(|e| bad(format!("column {name:?}: {e}")))?;
        Ok(ca.iter().map(|v| v.map(str::to_string)).collect())
    };
    let splits = text("split")?;
    let keep: Vec<usize> = splits
        .iter()
        .enumerate()
        .filter(|(_, s)| s.as_deref() == Some(split))
        .map(|(i, _)| i)
        .collect();
    if keep.is_empty() {
        return Err(bad(format!("no row of split {split:?}")));
    }
    let number = |name: &str, line: usize, v: &Option<String>| -> Result<f64> {
        v.as_deref()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(|| {
                bad(format!(
                    "line {}: column {name:?} holds {:?}, expected a number",
                    line + 2,
                    v.as_deref().unwrap_or("")
                ))
            })
    };
    let row_col = text("row")?;
    let mut rows = Vec::with_capacity(keep.len());
    for &i in &keep {
        rows.push(number("row", i, &row_col[i])? as u64);
    }
    let target = text("target")?;
    let scored = match &run.report.labels {
        Some(labels) => {
            let index: HashMap<&str, usize> = labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.as_str(), i))
                .collect();
            let k = labels.len();
            let proba_cols: Vec<Vec<Option<String>>> = labels
                .iter()
                .map(|l| text(&format!("proba_{l}")))
                .collect::<Result<_>>()?;
            let mut y = Vec::with_capacity(keep.len());
            let mut proba = Vec::with_capacity(keep.len() * k);
            for &i in &keep {
                let t = target[i].as_deref().unwrap_or("");
                y.push(*index.get(t).ok_or_else(|| {
                    bad(format!(
                        "line {}: target {t:?} is not one of the report's labels",
                        i + 2
                    ))
                })?);
                for (j, col) in proba_cols.iter().enumerate() {
                    proba.push(number(&format!("proba_{}", labels[j]), i, &col[i])?);
                }
            }
            Scored::Classes { y, proba, k }
        }
        None => {
            let pred = text("prediction")?;
            let mut y = Vec::with_capacity(keep.len());
            let mut p = Vec::with_capacity(keep.len());
            for &i in &keep {
                y.push(number("target", i, &target[i])?);
                p.push(number("prediction", i, &pred[i])?);
            }
            Scored::Values { y, pred: p }
        }
    };
    let mut slices = BTreeMap::new();
    for name in df.get_column_names() {
        if let Some(column) = name.as_str().strip_prefix("slice:") {
            let values = text(name.as_str())?;
            slices.insert(
                column.to_string(),
                keep.iter()
                    .map(|&i| {
                        values[i]
                            .clone()
                            .unwrap_or_else(|| anneal_eval::evaluate::MISSING_SLICE.to_string())
                    })
                    .collect(),
            );
        }
    }
    Ok(SplitRows {
        rows,
        scored,
        slices,
    })
}
