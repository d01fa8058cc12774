//! A labelled table scored with an already fitted [`Preprocessor`]: the data
//! stage of `anneal eval`. Nothing is fitted here: the inputs go through the
//! artifact's own transform, and the target through its own label mapping,
//! so the figures mean exactly what they would have meant at training time.

use std::collections::HashMap;

use polars::prelude::*;

use crate::error::{DataError, Result};
use crate::extract;
use crate::prepare::{ROW, SplitData, Targets, slice_columns};
use crate::preprocess::{FeatureSpec, Preprocessor, TargetSpec};
use crate::read::Table;
use crate::stats::{ColumnInfo, DataStats, RowCounts, SourceInfo};

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
    let df = table
        .df
        .with_row_index(ROW.into(), None)
        .map_err(|e| extract::polars_err(path, e))?;
    let read_rows = df.height() as u64;
    let col = extract::column(&df, target, "the target the model was trained on", path)?;
    let mut keep = col.is_not_null();
    if col.dtype().is_float() {
        let nan = col
            .as_materialized_series()
            .is_nan()
            .map_err(|e| extract::polars_err(path, e))?;
        keep = &keep & &!nan;
    }
    let df = df.filter(&keep).map_err(|e| extract::polars_err(path, e))?;
    let missing_target = read_rows - df.height() as u64;
    if df.height() == 0 {
        return Err(DataError::unusable(
            path,
            format!(
                "no row has a value in the target column {target:?}; evaluation needs labelled rows"
            ),
        ));
    }
    let rows: Vec<u64> = df
        .column(ROW)
        .and_then(|c| c.cast(&DataType::UInt64))
        .and_then(|c| Ok(c.u64()?.into_no_null_iter().collect()))
        .map_err(|e| extract::polars_err(path, e))?;
    let col = extract::column(&df, target, "the target the model was trained on", path)?;

    let y = match &pre.target {
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
                                extract::row_number(Some(&rows), i),
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
            let raw: Vec<f64> = extract::numeric(col, path, Some(&rows), "")?
                .into_iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect();
            Targets::Values {
                scaled: raw.iter().map(|y| ((y - offset) / scale) as f32).collect(),
                raw,
            }
        }
    };
    let x = pre.transform(&df, path, Some(&rows))?;
    let slices = slice_columns(&df, slices, path)?;

    let columns = df
        .columns()
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
        .collect();
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
