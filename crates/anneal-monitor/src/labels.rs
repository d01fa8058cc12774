//! Late-arriving true labels: a CSV, Parquet or NDJSON file with a
//! `request_id` column, an optional `row` column (the row within the
//! request, 0 when absent) and the artifact's target column. They are
//! joined to logged predictions on (`request_id`, `row`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anneal_config::CsvOptions;
use polars::prelude::{DataFrame, DataType};

use crate::error::{MonitorError, Result};

/// The column naming the logged request a label belongs to.
pub const ID_COLUMN: &str = "request_id";
/// The column naming the row within the request (optional).
pub const ROW_COLUMN: &str = "row";

/// A join key: the request id and the row within the request.
pub type Key = (String, u32);

/// The labels of one file.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// The label of each key, as text (a class name, or a number).
    pub by_key: HashMap<Key, String>,
    /// Rows in the file.
    pub rows: u64,
    /// Rows whose label is empty: not joined.
    pub empty: u64,
    /// Keys given more than once: the last one counts.
    pub duplicates: u64,
}

/// Reads `path`; `target` is the artifact's target column.
pub fn read(path: &Path, target: &str) -> Result<Labels> {
    let as_text = [ID_COLUMN.to_string(), target.to_string()];
    let table = anneal_data::read_table(path, None, &CsvOptions::default(), &as_text)?;
    let df = &table.df;
    let ids = text_column(
        df,
        ID_COLUMN,
        path,
        "naming the logged request of each label",
    )?;
    let values = text_column(df, target, path, "(the artifact's target)")?;
    let rows = row_column(df, path)?;
    let mut out = Labels {
        path: path.to_path_buf(),
        sha256: table.sha256.clone(),
        rows: df.height() as u64,
        ..Labels::default()
    };
    for (i, (id, value)) in ids.into_iter().zip(values).enumerate() {
        let id = id.ok_or_else(|| bad(path, format!("row {}: {ID_COLUMN} is empty", i + 1)))?;
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
            out.empty += 1;
            continue;
        };
        let key = (id, rows.as_ref().map_or(0, |r| r[i]));
        if out.by_key.insert(key, value).is_some() {
            out.duplicates += 1;
        }
    }
    Ok(out)
}

fn bad(path: &Path, reason: String) -> MonitorError {
    MonitorError::File {
        path: path.to_path_buf(),
        reason,
    }
}

/// Column `name` as text, or a one-line error listing the columns found.
fn text_column(df: &DataFrame, name: &str, path: &Path, why: &str) -> Result<Vec<Option<String>>> {
    let Ok(col) = df.column(name) else {
        let found: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .collect();
        return Err(bad(
            path,
            format!(
                "labels need a {name:?} column {why}; found columns: {}",
                found.join(", ")
            ),
        ));
    };
    let polars = |e: polars::prelude::PolarsError| bad(path, format!("column {name:?}: {e}"));
    let text = col.cast(&DataType::String).map_err(polars)?;
    let ca = text.str().map_err(polars)?;
    Ok(ca.iter().map(|v| v.map(str::to_string)).collect())
}

/// The `row` column as row numbers within requests, if there is one.
fn row_column(df: &DataFrame, path: &Path) -> Result<Option<Vec<u32>>> {
    let Ok(col) = df.column(ROW_COLUMN) else {
        return Ok(None);
    };
    let polars = |e: polars::prelude::PolarsError| bad(path, format!("column {ROW_COLUMN:?}: {e}"));
    let text = col.cast(&DataType::String).map_err(polars)?;
    let ca = text.str().map_err(polars)?;
    ca.iter()
        .enumerate()
        .map(|(i, v)| {
            v.and_then(|v| v.trim().parse::<u32>().ok()).ok_or_else(|| {
                bad(
                    path,
                    format!(
                        "row {}: {ROW_COLUMN} must be a whole number from 0, got {:?}",
                        i + 1,
                        v.unwrap_or("")
                    ),
                )
            })
        })
        .collect::<Result<Vec<u32>>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("anneal-labels-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn csv_and_ndjson_labels_join_on_id_and_row() {
        let p = temp(
            "l.csv",
            "request_id,row,y\n7,0,yes\n7,1,no\nr-2,0,\nr-3,0,1\nr-3,0,0\n",
        );
        let l = read(&p, "y").unwrap();
        assert_eq!((l.rows, l.empty, l.duplicates), (5, 1, 1));
        assert_eq!(l.by_key[&("7".to_string(), 1)], "no");
        assert_eq!(l.by_key[&("r-3".to_string(), 0)], "0");
        assert_eq!(l.by_key.len(), 3);

        let p = temp(
            "l.ndjson",
            "{\"request_id\":\"a\",\"y\":2.5}\n{\"request_id\":\"b\",\"y\":3}\n",
        );
        let l = read(&p, "y").unwrap();
        assert_eq!(l.by_key[&("a".to_string(), 0)], "2.5");
        assert_eq!(l.by_key.len(), 2);
    }

    #[test]
    fn a_missing_column_or_bad_row_is_one_line() {
        let p = temp("noid.csv", "id,y\n1,yes\n");
        assert_eq!(
            read(&p, "y").unwrap_err().to_string(),
            format!(
                "{}: labels need a \"request_id\" column naming the logged request of each label; found columns: id, y",
                p.display()
            )
        );
        let p = temp("badrow.csv", "request_id,row,y\n1,0,yes\n1,-1,no\n");
        assert_eq!(
            read(&p, "y").unwrap_err().to_string(),
            format!(
                "{}: row 2: row must be a whole number from 0, got \"-1\"",
                p.display()
            )
        );
        let p = temp("notarget.csv", "request_id,label\n1,yes\n");
        assert!(read(&p, "y").unwrap_err().to_string().ends_with(
            "labels need a \"y\" column (the artifact's target); found columns: request_id, label"
        ));
    }
}
