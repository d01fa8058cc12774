//! Batch prediction: a table in, one output row per input row (same order)
//! out, through exactly the transform and forward pass used in evaluation.

use anneal_data::layout::InputLayout;
use std::path::Path;

use anneal_config::CsvOptions;
use anneal_data::preprocess::ValueType;
use anneal_data::{FeatureSpec, TargetSpec, read_table};
use anneal_eval::{Predictions, predictions_from_outputs};
use polars::prelude::*;

use anneal_model::{Architecture, Network};
use burn::tensor::Device;

use crate::error::{ArtifactError, Result};
use crate::load::Artifact;

/// Rows per forward pass.
pub const BATCH: usize = 4096;

/// An output file name anneal cannot write predictions to.
const UNKNOWN_FORMAT: &str = "unknown output format: use a .csv or .parquet file name";

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

    /// The training config's CSV options (`[data.csv]`: delimiter, null
    /// values), which apply to every file read for this artifact, as in
    /// `eval` and `check-data`. Defaults only when the artifact holds no
    /// config at all; one that does not parse is an error naming it.
    pub fn csv_options(&self) -> Result<CsvOptions> {
        if !self.has_config() {
            return Ok(CsvOptions::default());
        }
        Ok(self.config()?.data.csv)
    }

    /// Predicts every row of the file at `input`.
    pub fn predict_file(&self, input: &Path) -> Result<DataFrame> {
        let table = read_table(input, None, &self.csv_options()?, &self.text_columns())?;
        self.predict_frame(&table.df, input)
    }

    /// Predicts `input` into `output` (.csv or .parquet) one batch of
    /// `batch_rows` rows at a time, so neither file has to fit in memory.
    /// The output appears complete or not at all (temp file + rename).
    /// Returns the number of rows predicted.
    pub fn predict_stream(&self, input: &Path, output: &Path, batch_rows: usize) -> Result<u64> {
        let err = |reason: String| ArtifactError::Output {
            path: output.to_path_buf(),
            reason,
        };
        let ext = output
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        if ext != "csv" && ext != "parquet" {
            return Err(ArtifactError::OutputName {
                path: output.to_path_buf(),
                reason: UNKNOWN_FORMAT.into(),
            });
        }
        let csv = self.csv_options()?;
        let (tmp, file) =
            anneal_core::fsio::create_temp_file(output).map_err(|e| err(e.to_string()))?;
        let mut sink = std::io::BufWriter::with_capacity(1 << 20, &file);
        let mut parquet: Option<
            polars::io::parquet::write::BatchedWriter<std::io::BufWriter<&std::fs::File>>,
        > = None;
        let result = anneal_data::batches::for_each_batch::<ArtifactError>(
            input,
            None,
            &csv,
            &self.text_columns(),
            batch_rows,
            |df, first| {
                let rows: Vec<u64> = (first..first + df.height() as u64).collect();
                let mut out = predict_with(&self.predictor(), &df, input, Some(&rows))?;
                let polars = |e: PolarsError| ArtifactError::Output {
                    path: output.to_path_buf(),
                    reason: e.to_string(),
                };
                if ext == "csv" {
                    CsvWriter::new(&mut sink)
                        .include_header(first == 0)
                        .finish(&mut out)
                        .map_err(polars)?;
                } else {
                    if parquet.is_none() {
                        parquet = Some(
                            ParquetWriter::new(std::io::BufWriter::with_capacity(1 << 20, &file))
                                .batched(out.schema())
                                .map_err(polars)?,
                        );
                    }
                    if let Some(w) = parquet.as_mut() {
                        w.write_batch(&out).map_err(polars)?;
                    }
                }
                Ok(())
            },
        );
        let rows = match result {
            Ok(summary) => summary.rows,
            Err(e) => {
                drop(parquet);
                drop(sink);
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if let Some(w) = parquet.take() {
            w.finish().map_err(|e| err(e.to_string()))?;
        }
        drop(parquet);
        std::io::Write::flush(&mut sink).map_err(|e| err(e.to_string()))?;
        drop(sink);
        file.sync_all().map_err(|e| err(e.to_string()))?;
        drop(file);
        std::fs::rename(&tmp, output).map_err(|e| err(e.to_string()))?;
        if let Some(parent) = output.parent() {
            anneal_core::fsio::sync_dir(parent);
        }
        Ok(rows)
    }

    /// Predicts every row of `df` (read from `path`, named in errors).
    pub fn predict_frame(&self, df: &DataFrame, path: &Path) -> Result<DataFrame> {
        predict_with(&self.predictor(), df, path, None)
    }

    /// The artifact as a [`Predictor`].
    pub fn predictor(&self) -> Predictor<'_> {
        Predictor {
            pre: &self.preprocessor,
            layout: &self.layout,
            network: &self.network,
            arch: &self.model.architecture,
            device: &self.device,
        }
    }
}

/// What turns raw rows into predictions: the fitted preprocessing, the
/// layout of its stored rows (built once, not per request), the network and
/// its device.
pub struct Predictor<'a> {
    pub pre: &'a anneal_data::Preprocessor,
    pub layout: &'a InputLayout,
    pub network: &'a Network,
    pub arch: &'a Architecture,
    pub device: &'a Device,
}

/// The prediction columns (ids, `prediction`, `proba_<label>`) of every row
/// of `df` through `m`: the one code path behind `predict`, `serve` and the
/// golden examples. `rows` maps positions to the file rows named in errors.
pub fn predict_with(
    m: &Predictor,
    df: &DataFrame,
    path: &Path,
    rows: Option<&[u64]>,
) -> Result<DataFrame> {
    let p = m.pre;
    let x = p.transform(df, path, rows)?;
    let n = df.height();
    let outputs = m.network.infer(&x, n, m.arch, m.layout, BATCH, m.device)?;
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
            let pred = Column::new("prediction".into(), &names);
            let pred = match label_type {
                ValueType::Long => pred.cast(&DataType::Int64).map_err(polars_err)?,
                // polars casts no text to booleans: the labels of a
                // boolean target are its values written as text.
                ValueType::Boolean => Column::new(
                    "prediction".into(),
                    names
                        .iter()
                        .map(|s| s.parse::<bool>().ok())
                        .collect::<Vec<Option<bool>>>(),
                ),
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
            return Err(ArtifactError::OutputName {
                path: path.to_path_buf(),
                reason: UNKNOWN_FORMAT.into(),
            });
        }
    }
    anneal_core::fsio::atomic_write(path, &buf)?;
    Ok(())
}
