//! `examples.json`: golden examples. A few held-out rows, as they were read,
//! with the outputs the model gave them when it was exported. Every load
//! predicts them again and refuses the artifact when an output moved: a
//! wrong build, a different float kernel that changes results beyond
//! rounding, or weights and preprocessing that no longer belong together are
//! caught before a single real prediction is made.

use std::collections::BTreeMap;
use std::path::Path;

use anneal_data::{FeatureSpec, Preprocessor};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ArtifactError, Result};
use crate::predict::{Predictor, predict_with};

/// Largest difference allowed between a stored and a recomputed output.
/// Outputs come from f32 networks: on the same CPU they are bit-identical;
/// across SIMD kernels they move in the 7th digit at most.
pub const TOLERANCE: f64 = 1e-5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Examples {
    pub tolerance: f64,
    pub rows: Vec<Example>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Column name → the cell as read (number, string, boolean or null).
    pub input: BTreeMap<String, Value>,
    /// `prediction` and `proba_<label>` → the exported model's output.
    pub output: BTreeMap<String, Value>,
}

/// Records `df`'s rows with their predictions.
pub fn build(m: &Predictor, df: &DataFrame) -> Result<Examples> {
    let out = predict_with(m, df, Path::new("examples"), None)?;
    let rows = (0..df.height())
        .map(|i| Example {
            input: row_values(df, i),
            output: row_values(&out, i)
                .into_iter()
                .filter(|(k, _)| k == "prediction" || k.starts_with("proba_"))
                .collect(),
        })
        .collect();
    Ok(Examples {
        tolerance: TOLERANCE,
        rows,
    })
}

fn row_values(df: &DataFrame, i: usize) -> BTreeMap<String, Value> {
    df.columns()
        .iter()
        .map(|c| {
            let v = match c.get(i) {
                Ok(AnyValue::Null) | Err(_) => Value::Null,
                Ok(AnyValue::Boolean(b)) => Value::Bool(b),
                Ok(AnyValue::String(s)) => Value::String(s.to_string()),
                Ok(AnyValue::StringOwned(s)) => Value::String(s.to_string()),
                Ok(v) if v.is_signed_integer() => {
                    v.extract::<i64>().map_or(Value::Null, Value::from)
                }
                Ok(v) if v.is_unsigned_integer() => {
                    v.extract::<u64>().map_or(Value::Null, Value::from)
                }
                Ok(v) if v.is_float() => v
                    .extract::<f64>()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number),
                Ok(v) => Value::String(v.to_string()),
            };
            (c.name().to_string(), v)
        })
        .collect()
}

/// The examples as a table typed the way `predict` reads a file:
/// categorical inputs as text, the rest by their JSON type.
fn frame(pre: &Preprocessor, ex: &Examples) -> PolarsResult<DataFrame> {
    let mut names: Vec<String> = ex
        .rows
        .iter()
        .flat_map(|r| r.input.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    let n = ex.rows.len();
    let columns = names
        .iter()
        .map(|name| {
            let cells: Vec<&Value> = ex
                .rows
                .iter()
                .map(|r| r.input.get(name).unwrap_or(&Value::Null))
                .collect();
            let categorical = pre
                .features
                .iter()
                .any(|f| f.column() == name && matches!(f, FeatureSpec::Categorical { .. }))
                || pre.id_columns.contains(name);
            let text = |v: &Value| match v {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            };
            let col = if categorical || cells.iter().any(|v| v.is_string()) {
                Column::new(
                    name.as_str().into(),
                    cells.iter().map(|v| text(v)).collect::<Vec<_>>(),
                )
            } else if cells.iter().any(|v| v.is_boolean()) {
                Column::new(
                    name.as_str().into(),
                    cells.iter().map(|v| v.as_bool()).collect::<Vec<_>>(),
                )
            } else if cells
                .iter()
                .all(|v| v.is_null() || v.is_i64() || v.is_u64())
            {
                Column::new(
                    name.as_str().into(),
                    cells.iter().map(|v| v.as_i64()).collect::<Vec<_>>(),
                )
            } else {
                Column::new(
                    name.as_str().into(),
                    cells.iter().map(|v| v.as_f64()).collect::<Vec<_>>(),
                )
            };
            Ok(col)
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(n, columns)
}

/// Predicts the examples again and compares; the first mismatch is the
/// error, naming the example, the output and both values.
pub fn check(dir: &Path, m: &Predictor, text: &[u8]) -> Result<()> {
    let corrupt = |reason: String| ArtifactError::Corrupt {
        path: dir.to_path_buf(),
        file: "examples.json".into(),
        reason,
    };
    let ex: Examples = serde_json::from_slice(text).map_err(|e| corrupt(e.to_string()))?;
    if ex.rows.is_empty() {
        return Ok(());
    }
    let df = frame(m.pre, &ex).map_err(|e| corrupt(e.to_string()))?;
    let out = predict_with(m, &df, Path::new("examples.json"), None)
        .map_err(|e| corrupt(format!("the examples cannot be predicted: {e}")))?;
    for (i, row) in ex.rows.iter().enumerate() {
        let got = row_values(&out, i);
        for (name, expected) in &row.output {
            let actual = got.get(name).unwrap_or(&Value::Null);
            let same = match (expected.as_f64(), actual.as_f64()) {
                (Some(e), Some(a)) => (e - a).abs() <= ex.tolerance.max(0.0) * e.abs().max(1.0),
                _ => expected == actual,
            };
            if !same {
                return Err(ArtifactError::GoldenMismatch {
                    path: dir.to_path_buf(),
                    example: i + 1,
                    output: name.clone(),
                    expected: expected.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
    }
    Ok(())
}
