//! Turning polars columns into host values, with row-level errors. `rows`
//! maps a position in the (possibly cleaned) frame to the 0-based data row
//! of the file, so messages name the row a user can find.

use std::path::Path;

use polars::prelude::*;

use crate::error::{DataError, Result};
use crate::read::polars_message;

pub(crate) fn column<'a>(
    df: &'a DataFrame,
    name: &str,
    role: &str,
    path: &Path,
) -> Result<&'a Column> {
    df.column(name).map_err(|_| DataError::MissingColumn {
        path: path.to_path_buf(),
        column: name.to_string(),
        role: role.to_string(),
        available: df
            .get_column_names()
            .iter()
            .map(|n| n.as_str())
            .filter(|n| *n != crate::prepare::ROW)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The row number (1-based) shown to users for position `i`.
pub(crate) fn row_number(rows: Option<&[u64]>, i: usize) -> u64 {
    rows.and_then(|r| r.get(i).copied()).unwrap_or(i as u64) + 1
}

/// Text cells parsed as numbers (NaN for missing); the first that is not
/// one is an error naming its row.
fn parse_numbers(
    ca: &StringChunked,
    path: &Path,
    rows: Option<&[u64]>,
    hint: &str,
) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(ca.len());
    for (i, v) in ca.iter().enumerate() {
        out.push(match v {
            None => f64::NAN,
            Some(s) => parse_number(s).ok_or_else(|| DataError::NotNumeric {
                path: path.to_path_buf(),
                column: ca.name().to_string(),
                row: row_number(rows, i),
                value: shown(s),
                hint: format!("expected numeric values{hint}"),
            })?,
        });
    }
    Ok(out)
}

/// The values of `ca`, NaN where null: whole chunks copied where they
/// have no nulls.
fn nan_for_null(ca: &Float64Chunked) -> Vec<f64> {
    let mut out = Vec::with_capacity(ca.len());
    for arr in ca.downcast_iter() {
        match arr.validity() {
            None => out.extend_from_slice(arr.values()),
            Some(valid) => out.extend(
                arr.values()
                    .iter()
                    .zip(valid.iter())
                    .map(|(&x, ok)| if ok { x } else { f64::NAN }),
            ),
        }
    }
    out
}

/// A numeric view of a column: numbers, booleans (0/1) or text that parses
/// as numbers, with NaN for a missing cell (a NaN in the data counts as
/// missing); infinities are errors. Eight bytes a row, not the sixteen of
/// `Option<f64>`: host columns of a large table are the data stage's
/// largest allocation after the table itself.
pub(crate) fn numeric(
    col: &Column,
    path: &Path,
    rows: Option<&[u64]>,
    hint: &str,
) -> Result<Vec<f64>> {
    let name = col.name().to_string();
    let values: Vec<f64> = match col.dtype() {
        DataType::String => {
            let ca = col.str().map_err(|e| polars_err(path, e))?;
            parse_numbers(ca, path, rows, hint)?
        }
        DataType::Boolean => col
            .bool()
            .map_err(|e| polars_err(path, e))?
            .iter()
            .map(|v| v.map_or(f64::NAN, |b| if b { 1.0 } else { 0.0 }))
            .collect(),
        dt if dt.is_primitive_numeric() => {
            let cast = col
                .cast(&DataType::Float64)
                .map_err(|e| polars_err(path, e))?;
            nan_for_null(cast.f64().map_err(|e| polars_err(path, e))?)
        }
        other => {
            return Err(DataError::WrongType {
                path: path.to_path_buf(),
                column: name,
                found: other.to_string(),
                expected: "numbers".into(),
            });
        }
    };
    if let Some(i) = values.iter().position(|x| x.is_infinite()) {
        return Err(DataError::NotFinite {
            path: path.to_path_buf(),
            column: name,
            row: row_number(rows, i),
            value: values[i],
        });
    }
    Ok(values)
}

/// A text view of any column (numbers are formatted as polars prints them).
pub(crate) fn text(col: &Column, path: &Path) -> Result<StringChunked> {
    let cast = match col.dtype() {
        DataType::String => col.clone(),
        _ => col
            .cast(&DataType::String)
            .map_err(|e| polars_err(path, e))?,
    };
    Ok(cast.str().map_err(|e| polars_err(path, e))?.clone())
}

/// Numbers as a user writes them: surrounding spaces allowed.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Longest cell value shown in a message.
const MAX_SHOWN: usize = 40;

/// Long cell values are cut in messages so one error stays one short line.
pub(crate) fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_SHOWN {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX_SHOWN).collect();
        format!("{cut}… ({} characters)", s.chars().count())
    }
}

/// A cell as shown in a message: quoted, and when long, cut with its length
/// after the quotes (`"abc…" (100000 characters)`).
pub(crate) fn shown(s: &str) -> String {
    let n = s.chars().count();
    if n <= MAX_SHOWN {
        format!("{s:?}")
    } else {
        let cut: String = s.chars().take(MAX_SHOWN).collect();
        format!("{:?} ({n} characters)", format!("{cut}…"))
    }
}

pub(crate) fn polars_err(path: &Path, e: PolarsError) -> DataError {
    DataError::Unusable {
        path: path.to_path_buf(),
        message: polars_message(&e),
    }
}
