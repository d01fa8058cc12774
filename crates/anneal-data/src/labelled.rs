//! A labelled table scored with an already fitted [`Preprocessor`]: the data
//! stage of `anneal eval`. Nothing is fitted here: the inputs go through the
//! artifact's own transform, and the target through its own label mapping,
//! so the figures mean exactly what they would have meant at training time.

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;

use crate::error::{DataError, Result};
use crate::extract;
use crate::prepare::{ROW, SplitData, Targets, drop_missing_target, slice_columns};
use crate::preprocess::{FeatureSpec, Preprocessor, TargetSpec};
use crate::read::Table;
use crate::stats::{ColumnInfo, DataStats, RowCounts, SourceInfo};
use crate::steps::{row_numbers, scaled_targets};

/// The rows of a labelled table ready to score, and what was read.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub data: SplitData,
    pub stats: DataStats,
}

/// Prepares every row of `table` that has a target value for scoring by
/// the model behind `pre`. `source` is the path as the user gave it (kept
/// relative in reports). Rows without a target are counted and left out; a
/// class the model never saw is an error naming its row, because no score
/// could be right for it.
pub fn labelled(
    pre: &Preprocessor,
    table: &Table,
    source: &str,
    slices: &[String],
) -> Result<Labelled> {
    let path = table.path.as_path();
    let target = pre.target.column();
    let (df, rows) = labelled_rows(table, target, path)?;
    let read_rows = table.df.height() as u64;
    let missing_target = read_rows - df.height() as u64;
    let col = extract::column(&df, target, TARGET_ROLE, path)?;
    let y = targets(pre, col, &rows, path)?;
    let x = pre.transform(&df, path, Some(&rows))?;
    let slices = slice_columns(&df, slices, path)?;
    let columns = column_infos(pre, &df);
    let n = rows.len() as u64;
    Ok(Labelled {
        data: SplitData {
            x: x.into(),
            y,
            rows,
            slices,
        },
        stats: DataStats {
            source: SourceInfo {
                path: source.replace('\\', "/"),
                format: format!("{:?}", table.format).to_lowercase(),
                sha256: table.sha256.clone(),
                logical_sha256: table.logical_sha256.clone(),
                bytes: table.bytes,
            },
            rows: RowCounts {
                read: read_rows,
                missing_target,
                used: n,
                eval: n,
                ..RowCounts::default()
            },
            columns,
            class_counts: Default::default(),
        },
    })
}

/// What the target column is called in a message when it is missing.
const TARGET_ROLE: &str = "the target the model was trained on";

/// The rows of `table` with a value in the `target` column (with the
/// [`ROW`] column), and their file rows; an error when there is none.
fn labelled_rows(table: &Table, target: &str, path: &Path) -> Result<(DataFrame, Vec<u64>)> {
    let df = table
        .df
        .with_row_index(ROW.into(), None)
        .map_err(|e| extract::polars_err(path, e))?;
    extract::column(&df, target, TARGET_ROLE, path)?;
    let df = drop_missing_target(df, target, path)?;
    if df.height() == 0 {
        return Err(DataError::unusable(
            path,
            format!(
                "no row has a value in the target column {target:?}; evaluation needs labelled rows"
            ),
        ));
    }
    let rows = row_numbers(&df, path)?;
    Ok((df, rows))
}

/// The targets of the rows, through the model's own label mapping (an
/// unknown class is an error naming its row) or its own scaling.
fn targets(pre: &Preprocessor, col: &Column, rows: &[u64], path: &Path) -> Result<Targets> {
    let target = pre.target.column();
    Ok(match &pre.target {
        TargetSpec::Classes { labels, .. } => {
            let index: HashMap<&str, u32> = labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.as_str(), i as u32))
                .collect();
            let text = extract::text(col, path)?;
            let mut y = Vec::with_capacity(text.len());
            for (i, v) in text.iter().enumerate() {
                let v = v.unwrap_or_default();
                match index.get(v) {
                    Some(&c) => y.push(c),
                    None => {
                        return Err(DataError::unusable(
                            path,
                            format!(
                                "row {}: target {target:?} holds {:?}, a class the model was not trained on (it knows {})",
                                extract::row_number(Some(rows), i),
                                extract::truncate(v),
                                labels
                                    .iter()
                                    .map(|l| format!("{l:?}"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ));
                    }
                }
            }
            Targets::Classes(y)
        }
        TargetSpec::Regression { offset, scale, .. } => {
            let raw = extract::numeric(col, path, Some(rows), "")?;
            scaled_targets(raw, *offset, *scale)
        }
    })
}

/// What is recorded of every column of `df`: its role for the model
/// (`unused` when the model does not read it).
fn column_infos(pre: &Preprocessor, df: &DataFrame) -> Vec<ColumnInfo> {
    let target = pre.target.column();
    df.columns()
        .iter()
        .filter(|c| c.name().as_str() != ROW)
        .map(|c| {
            let name = c.name().to_string();
            let feature = pre.features.iter().find(|f| f.column() == name);
            let role = if name == target {
                "target"
            } else if feature.is_some() {
                "feature"
            } else if pre.id_columns.contains(&name) {
                "id"
            } else {
                "unused"
            };
            ColumnInfo {
                kind: feature.map(|f| {
                    match f {
                        FeatureSpec::Numeric { .. } => "numeric",
                        FeatureSpec::Categorical { .. } => "categorical",
                    }
                    .to_string()
                }),
                role: role.into(),
                dtype: c.dtype().to_string(),
                missing: c.null_count() as u64,
                name,
            }
        })
        .collect()
}
