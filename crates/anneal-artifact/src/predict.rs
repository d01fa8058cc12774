//! Batch prediction: a table in, one output row per input row (same order)
//! out, through exactly the transform and forward pass used in evaluation.

use std::path::Path;

use anneal_config::CsvOptions;
use anneal_data::preprocess::ValueType;
use anneal_data::{FeatureSpec, TargetSpec, read_table};
use anneal_eval::{Predictions, predictions_from_outputs};
use polars::prelude::*;

use crate::error::{ArtifactError, Result};
use crate::load::Artifact;

/// Rows per forward pass.
pub const BATCH: usize = 4096;

impl Artifact {
    /// Columns that must be read as text whatever they look like.
    pub fn text_columns(&self) -> Vec<String> {
        self.preprocessor
            .features
            .iter()
            .filter(|f| matches!(f, FeatureSpec::Categorical { .. }))
            .map(|f| f.column().to_string())
            .chain(self.preprocessor.id_columns.iter().cloned())
            .collect()
    }

    /// Predicts every row of the file at `input`.
    pub fn predict_file(&self, input: &Path) -> Result<DataFrame> {
        let table = read_table(input, None, &CsvOptions::default(), &self.text_columns())?;
        self.predict_frame(&table.df, input)
    }

    /// Predicts every row of `df` (read from `path`, named in errors).
    pub fn predict_frame(&self, df: &DataFrame, path: &Path) -> Result<DataFrame> {
        let p = &self.preprocessor;
        let x = p.transform(df, path, None)?;
        let n = df.height();
        let outputs = self
            .network
            .infer(&x, n, &self.model.architecture, BATCH, &self.device)?;
        let mut columns: Vec<Column> = Vec::new();
        for id in &p.id_columns {
            if let Ok(c) = df.column(id) {
                columns.push(c.clone());
            }
        }
        let polars_err = |e: PolarsError| ArtifactError::Output {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        match (predictions_from_outputs(&outputs, &p.target), &p.target) {
            (
                Predictions::Classes { proba, k },
                TargetSpec::Classes {
                    labels, label_type, ..
                },
            ) => {
                let best = anneal_eval::metrics::argmax_rows(&proba, k);
                let names: Vec<&str> = best.iter().map(|&c| labels[c].as_str()).collect();
                let pred = Column::new("prediction".into(), names);
                let pred = match label_type {
                    ValueType::Long => pred.cast(&DataType::Int64).map_err(polars_err)?,
                    ValueType::Boolean => pred.cast(&DataType::Boolean).map_err(polars_err)?,
                    _ => pred,
                };
                columns.push(pred);
                for (j, label) in labels.iter().enumerate() {
                    let values: Vec<f64> = (0..n).map(|i| proba[i * k + j]).collect();
                    columns.push(Column::new(format!("proba_{label}").into(), values));
                }
            }
            (Predictions::Values(v), _) => columns.push(Column::new("prediction".into(), v)),
            _ => {}
        }
        DataFrame::new(n, columns).map_err(polars_err)
    }
}

/// Writes `df` to `path` as CSV or Parquet (by extension), atomically.
pub fn write_frame(df: &mut DataFrame, path: &Path) -> Result<()> {
    let err = |reason: String| ArtifactError::Output {
        path: path.to_path_buf(),
        reason,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let mut buf: Vec<u8> = Vec::new();
    match ext.as_str() {
        "csv" => CsvWriter::new(&mut buf)
            .include_header(true)
            .finish(df)
            .map_err(|e| err(e.to_string()))?,
        "parquet" => {
            ParquetWriter::new(&mut buf)
                .finish(df)
                .map_err(|e| err(e.to_string()))?;
        }
        _ => {
            return Err(err(
                "unknown output format: use a .csv or .parquet file name".into(),
            ));
        }
    }
    anneal_core::fsio::atomic_write(path, &buf)?;
    Ok(())
}
