//! New rows from a data file (`anneal monitor --data`), predicted by the
//! artifact, as log records: the same analysis then applies to a batch
//! file as to served traffic. A file has no request ids or times: the
//! `request_id` column is used when there is one (else the row's position,
//! from 0), and every row gets time 0 (so windows are row counts).

use polars::prelude::{Column, DataFrame, DataType};
use serde_json::{Map, Value};

use crate::error::{MonitorError, Result};
use crate::labels::{ID_COLUMN, Labels};
use crate::log::Record;

/// The rows of `df` with their `predictions` (the artifact's `predict`
/// columns: `prediction`, `proba_<class>`), skipping `target`.
pub fn records(df: &DataFrame, predictions: &DataFrame, target: &str) -> Result<Vec<Record>> {
    let n = df.height();
    let ids = ids(df)?;
    let mut inputs: Vec<Map<String, Value>> = vec![Map::new(); n];
    for col in df.columns() {
        let name = col.name().as_str();
        if name == target || name == ID_COLUMN {
            continue;
        }
        for (i, v) in json_values(col)?.into_iter().enumerate() {
            inputs[i].insert(name.to_string(), v);
        }
    }
    let prediction = predictions
        .column("prediction")
        .map_err(|e| MonitorError::Output(e.to_string()))
        .and_then(json_values)?;
    let proba = probabilities(predictions, n)?;
    Ok(inputs
        .into_iter()
        .zip(prediction)
        .zip(proba)
        .zip(ids)
        .map(
            |(((inputs, prediction), probabilities), request_id)| Record {
                ts_ms: 0,
                request_id,
                row: 0,
                inputs,
                prediction,
                probabilities,
            },
        )
        .collect())
}

/// The labels a data file carries in its target column, keyed like its
/// records; `None` when it has no such column.
pub fn inline_labels(
    df: &DataFrame,
    target: &str,
    path: &std::path::Path,
) -> Result<Option<Labels>> {
    let Ok(col) = df.column(target) else {
        return Ok(None);
    };
    let mut labels = Labels {
        path: path.to_path_buf(),
        rows: df.height() as u64,
        ..Labels::default()
    };
    for (id, v) in ids(df)?.into_iter().zip(json_values(col)?) {
        match crate::performance::value_text(&v) {
            Some(text) => {
                labels.by_key.insert((id, 0), text);
            }
            None => labels.empty += 1,
        }
    }
    Ok(Some(labels))
}

fn polars_err(e: polars::prelude::PolarsError) -> MonitorError {
    MonitorError::Output(e.to_string())
}

/// The `request_id` column as text, else positions from 0.
fn ids(df: &DataFrame) -> Result<Vec<String>> {
    match df.column(ID_COLUMN) {
        Ok(col) => Ok(json_values(col)?
            .iter()
            .enumerate()
            .map(|(i, v)| crate::performance::value_text(v).unwrap_or_else(|| i.to_string()))
            .collect()),
        Err(_) => Ok((0..df.height()).map(|i| i.to_string()).collect()),
    }
}

/// A column's values as JSON, as a client would send them.
fn json_values(col: &Column) -> Result<Vec<Value>> {
    let dtype = col.dtype();
    if dtype.is_bool() {
        let ca = col.bool().map_err(polars_err)?;
        return Ok(ca
            .iter()
            .map(|v| v.map_or(Value::Null, Value::Bool))
            .collect());
    }
    if dtype.is_integer() {
        let c = col.cast(&DataType::Int64).map_err(polars_err)?;
        let ca = c.i64().map_err(polars_err)?;
        return Ok(ca
            .iter()
            .map(|v| v.map_or(Value::Null, Value::from))
            .collect());
    }
    if dtype.is_primitive_numeric() {
        let c = col.cast(&DataType::Float64).map_err(polars_err)?;
        let ca = c.f64().map_err(polars_err)?;
        return Ok(ca
            .iter()
            .map(|v| v.filter(|v| v.is_finite()).map_or(Value::Null, Value::from))
            .collect());
    }
    let c = col.cast(&DataType::String).map_err(polars_err)?;
    let ca = c.str().map_err(polars_err)?;
    Ok(ca
        .iter()
        .map(|v| v.map_or(Value::Null, |s| Value::String(s.to_string())))
        .collect())
}

/// The `proba_<class>` columns as per-row maps (`None` for regression).
fn probabilities(predictions: &DataFrame, n: usize) -> Result<Vec<Option<Map<String, Value>>>> {
    let mut out: Vec<Option<Map<String, Value>>> = vec![None; n];
    for col in predictions.columns() {
        let Some(class) = col.name().as_str().strip_prefix("proba_") else {
            continue;
        };
        for (i, v) in json_values(col)?.into_iter().enumerate() {
            out[i]
                .get_or_insert_with(Map::new)
                .insert(class.to_string(), v);
        }
    }
    Ok(out)
}
