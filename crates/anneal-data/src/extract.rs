//! Turning polars columns into host values, with row-level errors. `rows`
//! maps a position in the (possibly cleaned) frame to the 0-based data row
//! of the file, so messages name the row a user can find.

use std::path::Path;

use polars::prelude::*;
use polars_arrow::Either;
use polars_arrow::bitmap::MutableBitmap;

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
    finite(values, name, path, rows)
}

/// `values`, or an error naming the first infinity.
fn finite(values: Vec<f64>, column: String, path: &Path, rows: Option<&[u64]>) -> Result<Vec<f64>> {
    match values.iter().position(|x| x.is_infinite()) {
        Some(i) => Err(DataError::NotFinite {
            path: path.to_path_buf(),
            column,
            row: row_number(rows, i),
            value: values[i],
        }),
        None => Ok(values),
    }
}

/// [`numeric`] of a column the caller gives up. A number column of one
/// array that nothing else holds (each number column of a large CSV, see
/// [`crate::stacked`]) becomes the values in the array's own memory:
/// 8 bytes a row neither allocated nor copied.
pub(crate) fn numeric_owned(
    col: Column,
    path: &Path,
    rows: Option<&[u64]>,
    hint: &str,
) -> Result<Vec<f64>> {
    let name = col.name().to_string();
    match reuse_numbers(col) {
        Ok(values) => finite(values, name, path, rows),
        Err(col) => numeric(&col, path, rows, hint),
    }
}

/// A column handed back unchanged.
type Back = Box<Column>;

/// The values of a one-array Int64 or Float64 column as f64, NaN where
/// missing, in the array's memory; the column back when that memory is
/// shared or the column is anything else.
fn reuse_numbers(col: Column) -> std::result::Result<Vec<f64>, Back> {
    if col.n_chunks() != 1 {
        return Err(Box::new(col));
    }
    match col.dtype() {
        DataType::Float64 => {
            let ca = col.f64().map_err(|_| Box::new(col.clone()))?.clone();
            drop(col);
            let (values, valid) = unique_values(ca)?;
            Ok(nan_where_missing(values, valid))
        }
        DataType::Int64 => {
            let ca = col.i64().map_err(|_| Box::new(col.clone()))?.clone();
            drop(col);
            let (values, valid) = unique_values(ca)?;
            // The same allocation: i64 and f64 have one size and alignment.
            let values: Vec<f64> = values.into_iter().map(|x| x as f64).collect();
            Ok(nan_where_missing(values, valid))
        }
        _ => Err(Box::new(col)),
    }
}

/// The values and validity of a one-array column, when nothing else
/// holds them; the column back otherwise.
fn unique_values<T: PolarsNumericType>(
    ca: ChunkedArray<T>,
) -> std::result::Result<(Vec<T::Native>, Option<MutableBitmap>), Back> {
    let name = ca.name().clone();
    let Some(arr) = ca.downcast_into_iter().next() else {
        return Ok((Vec::new(), None));
    };
    match arr.into_mut() {
        Either::Right(mutable) => {
            let (_, values, valid) = mutable.into_inner();
            Ok((values, valid))
        }
        Either::Left(arr) => Err(Box::new(
            ChunkedArray::<T>::with_chunk(name, arr).into_column(),
        )),
    }
}

fn nan_where_missing(mut values: Vec<f64>, valid: Option<MutableBitmap>) -> Vec<f64> {
    if let Some(valid) = valid {
        for (x, ok) in values.iter_mut().zip(valid.iter()) {
            if !ok {
                *x = f64::NAN;
            }
        }
    }
    values
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

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(col: Column) -> Vec<Option<f64>> {
        let values = numeric_owned(col, Path::new("t.csv"), None, "").expect("numbers");
        values.iter().map(|x| (!x.is_nan()).then_some(*x)).collect()
    }

    /// A one-array column nothing else holds becomes its values in place
    /// (same memory); a shared one is copied; both give what the copying
    /// extraction gives, missing cells NaN.
    #[test]
    fn a_column_given_up_becomes_its_values() {
        let cells = [Some(1.5), None, Some(-2.0), Some(0.0)];
        let col = Float64Chunked::from_iter_options("x".into(), cells.into_iter()).into_column();
        let before = col
            .f64()
            .expect("f64")
            .downcast_iter()
            .next()
            .expect("array")
            .values()
            .as_ptr();
        let values = numeric_owned(col, Path::new("t.csv"), None, "").expect("numbers");
        assert_eq!(values.as_ptr(), before, "the array's own memory");
        let shared = Float64Chunked::from_iter_options("x".into(), cells.into_iter()).into_column();
        let copy = numeric(&shared, Path::new("t.csv"), None, "").expect("numbers");
        assert_eq!(owned(shared.clone()), cells.to_vec());
        assert_eq!(copy.len(), 4);
        let ints =
            Int64Chunked::from_iter_options("n".into(), [Some(3), None, Some(-7)].into_iter());
        assert_eq!(owned(ints.into_column()), [Some(3.0), None, Some(-7.0)]);
        // Several arrays, or text, take the copying path.
        let mut two = Int64Chunked::from_slice("n".into(), &[1, 2]);
        two.append(&Int64Chunked::from_slice("n".into(), &[3]))
            .expect("append");
        assert_eq!(owned(two.into_column()), [Some(1.0), Some(2.0), Some(3.0)]);
        let text = StringChunked::from_slice("s".into(), &["4", "x"]).into_column();
        let err = numeric_owned(text, Path::new("t.csv"), None, "").expect_err("not numbers");
        assert!(err.to_string().contains("row 2"), "{err}");
    }
}
