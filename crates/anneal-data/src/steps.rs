//! The steps both data stages run: the in-memory one ([`crate::prepare`])
//! and the streaming one ([`crate::stream`]). Each path gathers its rows its
//! own way (a whole frame, or batches read twice), then hands the same
//! figures to the same functions here, so the same config on the same
//! training values fits, profiles and reports the same bits either way.

use std::collections::BTreeMap;
use std::path::Path;

use anneal_config::{ColumnType, DataConfig, DataFormat, Impute, Loaded};
use polars::prelude::*;

use crate::error::{DataError, Result};
use crate::extract;
use crate::prepare::{
    ROW, Targets, apply_filters, categorical_impute, categorical_source_type, drop_missing_target,
    infer_feature, no_training_values, numeric_fit, numeric_source_type, regression_target,
    role_of, toml_key,
};
use crate::preprocess::{
    FeatureSpec, NumericFit, Preprocessor, TargetSpec, Task, ValueType, fit_categorical_counts,
    fit_numeric_present,
};
use crate::profile::{self, ColumnProfile, DataProfile};
use crate::stats::{ColumnInfo, RowCounts, SourceInfo};

// ---- Reading and cleaning ----

/// The columns read as text whatever they hold: those declared categorical
/// or id, and `data.id`.
pub(crate) fn text_columns(cfg: &DataConfig) -> Vec<String> {
    cfg.columns
        .iter()
        .filter(|(_, o)| matches!(o.kind, Some(ColumnType::Categorical | ColumnType::Id)))
        .map(|(n, _)| n.clone())
        .chain(cfg.id.iter().cloned())
        .collect()
}

/// `df` without the rows whose target is missing, then without those the
/// `[data.clean] filters` remove; both removals are added to `counts`.
pub(crate) fn drop_untargeted_and_filtered(
    df: DataFrame,
    target: &str,
    filters: &[(String, Expr)],
    path: &Path,
    counts: &mut RowCounts,
) -> Result<DataFrame> {
    let before = df.height();
    let df = drop_missing_target(df, target, path)?;
    counts.missing_target += (before - df.height()) as u64;
    let before = df.height();
    let df = apply_filters(df, filters, path)?;
    counts.filtered += (before - df.height()) as u64;
    Ok(df)
}

/// The 0-based file row of each row of `df` (its [`ROW`] column).
pub(crate) fn row_numbers(df: &DataFrame, path: &Path) -> Result<Vec<u64>> {
    df.column(ROW)
        .and_then(|c| c.cast(&DataType::UInt64))
        .and_then(|c| Ok(c.u64()?.into_no_null_iter().collect()))
        .map_err(|e| extract::polars_err(path, e))
}

// ---- The errors both paths raise, with one text ----

pub(crate) fn no_rows_left(path: &Path, counts: &RowCounts) -> DataError {
    DataError::unusable(
        path,
        format!(
            "no rows left after cleaning ({} without a target, {} removed by filters, {} duplicates)",
            counts.missing_target, counts.filtered, counts.duplicates
        ),
    )
}

pub(crate) fn no_values(path: &Path, name: &str) -> DataError {
    DataError::unusable(
        path,
        format!(
            "column {name:?} has no values (every cell is missing); remove it with data.drop = [{name:?}]"
        ),
    )
}

pub(crate) fn no_features(path: &Path) -> DataError {
    DataError::unusable(
        path,
        "no feature columns are left (every column is the target, dropped or an id)",
    )
}

pub(crate) fn no_training_rows(path: &Path, rows: u64) -> DataError {
    DataError::unusable(
        path,
        format!(
            "the split left no training rows ({rows} rows); use more data or a larger data.split.train"
        ),
    )
}

// ---- Feature columns: kind, values, fit ----

/// The kind of feature column `name`: declared in `[data.columns]`, or
/// inferred from `col` (`rows`: the file rows, for messages).
pub(crate) fn feature_type(
    cfg: &DataConfig,
    name: &str,
    col: &Column,
    path: &Path,
    rows: &[u64],
) -> Result<ColumnType> {
    match cfg.columns.get(name).and_then(|o| o.kind) {
        Some(t) => Ok(t),
        None => infer_feature(col, path, rows),
    }
}

/// The kind as reports write it.
pub(crate) fn kind_name(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Numeric => "numeric",
        ColumnType::Boolean => "boolean",
        _ => "categorical",
    }
}

/// How a feature column is fitted, from the config.
pub(crate) enum FitSettings {
    Numeric(NumericFit),
    Text(Impute),
}

/// The type a feature's values are given as (the fitted spec's
/// `source_type`) and how it is fitted, for a column of kind `kind` whose
/// values polars typed `vt`.
pub(crate) fn fit_settings(
    loaded: &Loaded,
    name: &str,
    kind: ColumnType,
    vt: ValueType,
) -> Result<(ValueType, FitSettings)> {
    Ok(match kind {
        ColumnType::Numeric | ColumnType::Boolean => (
            numeric_source_type(kind, vt),
            FitSettings::Numeric(numeric_fit(loaded, name, kind)?),
        ),
        _ => (
            categorical_source_type(kind, vt),
            FitSettings::Text(categorical_impute(loaded, name)?),
        ),
    })
}

/// The values of numeric (or boolean) feature `name`, with a hint to
/// declare it categorical when a cell is not a number.
pub(crate) fn numeric_feature(
    col: &Column,
    name: &str,
    path: &Path,
    rows: &[u64],
) -> Result<Vec<Option<f64>>> {
    let hint = format!(
        "; declare it categorical with [data.columns.{}] type = \"categorical\" if that is what it is",
        toml_key(name)
    );
    extract::numeric(col, path, Some(rows), &hint)
}

/// The present values at the positions `train`, in that order.
pub(crate) fn train_present(values: &[Option<f64>], train: &[usize]) -> Vec<f64> {
    train.iter().filter_map(|&i| values[i]).collect()
}

/// The count per present value at the positions `train` (in no order).
pub(crate) fn train_counts(values: &StringChunked, train: &[usize]) -> Vec<(String, u64)> {
    let mut in_train = vec![false; values.len()];
    for &i in train {
        in_train[i] = true;
    }
    let mut counts: PlHashMap<&str, u64> = PlHashMap::new();
    for (v, train) in values.iter().zip(&in_train) {
        if let (Some(v), true) = (v, train) {
            *counts.entry(v).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|(v, n)| (v.to_string(), n))
        .collect()
}

/// What the training rows hold of one feature column.
pub(crate) enum Gathered {
    /// Its present values, in any order.
    Numeric(Vec<f64>),
    /// Its count per present value, in any order.
    Text(Vec<(String, u64)>),
}

/// One feature column ready to fit.
pub(crate) struct FeatureFit<'a> {
    pub name: &'a str,
    pub kind: ColumnType,
    pub source_type: ValueType,
    /// The column's polars type, as the profile records it.
    pub dtype: &'a str,
    pub settings: FitSettings,
}

/// Fits feature `f` on what the `n_train` training rows hold of it, and
/// profiles the same values: the spec the model applies and the profile
/// drift is later measured against.
pub(crate) fn fit_feature(
    f: FeatureFit,
    gathered: Gathered,
    n_train: usize,
    max_categories: usize,
    path: &Path,
) -> Result<(FeatureSpec, ColumnProfile)> {
    match (f.settings, gathered) {
        (FitSettings::Numeric(fit), Gathered::Numeric(present)) => {
            let spec = fit_numeric_present(f.name, f.source_type, present.clone(), n_train, &fit)
                .ok_or_else(|| no_training_values(path, f.name))?;
            let kind = if f.kind == ColumnType::Boolean {
                "boolean"
            } else {
                "numeric"
            };
            let profile =
                profile::numeric_column_present(f.name, "feature", kind, f.dtype, present, n_train);
            Ok((spec, profile))
        }
        (FitSettings::Text(impute), Gathered::Text(counts)) => {
            let profile =
                profile::text_column_counts(f.name, "feature", f.dtype, counts.clone(), n_train);
            let spec =
                fit_categorical_counts(f.name, f.source_type, counts, impute, max_categories);
            Ok((spec, profile))
        }
        _ => Err(DataError::unusable(
            path,
            format!(
                "internal error: column {:?} was gathered for another kind",
                f.name
            ),
        )),
    }
}

// ---- The target ----

/// What the training rows hold of the target.
pub(crate) enum TrainTarget<'a> {
    /// The labels in order, their polars type and each label's count in
    /// the training split.
    Classes {
        labels: &'a [String],
        label_type: ValueType,
        counts: Vec<u64>,
    },
    /// The training values, in any order.
    Values(Vec<f64>),
}

/// The fitted target (labels, or the regression scaling) and its profile
/// over the `n_train` training rows.
pub(crate) fn fit_target(
    name: &str,
    dtype: &str,
    train: TrainTarget,
    n_train: usize,
) -> (TargetSpec, ColumnProfile) {
    match train {
        TrainTarget::Classes {
            labels,
            label_type,
            counts,
        } => {
            let profile = profile::text_column_counts(
                name,
                "target",
                dtype,
                labels.iter().cloned().zip(counts).collect(),
                n_train,
            );
            let spec = TargetSpec::Classes {
                column: name.to_string(),
                labels: labels.to_vec(),
                label_type,
            };
            (spec, profile)
        }
        TrainTarget::Values(y) => {
            let profile = profile::numeric_column_present(
                name,
                "target",
                "numeric",
                dtype,
                y.clone(),
                n_train,
            );
            (regression_target(name, y), profile)
        }
    }
}

/// Regression targets as the model sees them (scaled by the fitted offset
/// and scale) next to the values as read.
pub(crate) fn scaled_targets(raw: Vec<f64>, offset: f64, scale: f64) -> Targets {
    Targets::Values {
        scaled: raw.iter().map(|y| ((y - offset) / scale) as f32).collect(),
        raw,
    }
}

/// Per label, its rows in train, valid and test (`count(k)` for the `k`th
/// label); an error when the training split holds a single class.
pub(crate) fn class_counts(
    labels: &[String],
    count: impl Fn(usize) -> [u64; 3],
    path: &Path,
) -> Result<BTreeMap<String, [u64; 3]>> {
    let counts: BTreeMap<String, [u64; 3]> = labels
        .iter()
        .enumerate()
        .map(|(k, l)| (l.clone(), count(k)))
        .collect();
    if counts.values().filter(|n| n[0] > 0).count() < 2 {
        return Err(DataError::unusable(
            path,
            "the training split holds a single class; more rows or another split are needed",
        ));
    }
    Ok(counts)
}

// ---- Putting the result together ----

/// What the data stage records of column `name`.
pub(crate) fn column_info(
    cfg: &DataConfig,
    name: &str,
    dtype: String,
    missing: u64,
    kind: Option<&str>,
) -> ColumnInfo {
    ColumnInfo {
        name: name.to_string(),
        role: role_of(cfg, name).into(),
        kind: kind.map(str::to_string),
        dtype,
        missing,
    }
}

/// The training data's profile: the features' and the target's, in the
/// columns' order.
pub(crate) fn data_profile(
    n_train: usize,
    columns: &[ColumnInfo],
    mut features: BTreeMap<String, ColumnProfile>,
    target: ColumnProfile,
) -> DataProfile {
    DataProfile {
        rows: n_train as u64,
        columns: columns
            .iter()
            .filter_map(|c| match c.role.as_str() {
                "feature" => features.remove(&c.name),
                "target" => Some(target.clone()),
                _ => None,
            })
            .collect(),
    }
}

/// The fitted preprocessing, with the id columns taken from `columns`.
pub(crate) fn preprocessor(
    task: Task,
    target: TargetSpec,
    features: Vec<FeatureSpec>,
    columns: &[ColumnInfo],
) -> Preprocessor {
    Preprocessor {
        task,
        target,
        features,
        id_columns: columns
            .iter()
            .filter(|c| c.role == "id")
            .map(|c| c.name.clone())
            .collect(),
    }
}

/// The golden examples from `rows` (held-out rows as read): their input
/// and id columns.
pub(crate) fn examples(rows: &DataFrame, pre: &Preprocessor, path: &Path) -> Result<DataFrame> {
    let keep: Vec<String> = pre
        .features
        .iter()
        .map(|f| f.column().to_string())
        .chain(pre.id_columns.iter().cloned())
        .collect();
    rows.select(keep).map_err(|e| extract::polars_err(path, e))
}

/// Where the data came from, for reports: the path as the config writes it.
pub(crate) fn source_info(
    cfg: &DataConfig,
    format: DataFormat,
    sha256: String,
    logical_sha256: String,
    bytes: u64,
) -> SourceInfo {
    SourceInfo {
        path: cfg.path.to_string_lossy().replace('\\', "/"),
        format: format!("{format:?}").to_lowercase(),
        sha256,
        logical_sha256,
        bytes,
    }
}
