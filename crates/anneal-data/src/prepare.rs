//! The data stage of `train`: read, check, clean, infer roles and the task,
//! split, fit the preprocessing on the training rows and produce the model
//! matrices.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anneal_config::{ColumnType, Impute, Loaded, NumericEmbedding, TaskKind};
use polars::prelude::*;
use rayon::prelude::*;

use crate::error::{DataError, Result};
use crate::extract;
use crate::matrix::Matrix;
use crate::preprocess::{
    FeatureSpec, HostColumn, NumericFit, Preprocessor, TargetSpec, Task, ValueType,
    fit_categorical_counts, fit_numeric_present, mean_std,
};
use crate::profile::{self, ColumnProfile, DataProfile};
use crate::read::{Table, read_table};
use crate::split::{split, split_by_key};
use crate::stats::{ColumnInfo, DataStats, RowCounts, SourceInfo};

pub(crate) const ROW: &str = "__anneal_row";

/// Model-ready data.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub preprocessor: Preprocessor,
    pub train: SplitData,
    pub valid: SplitData,
    pub test: SplitData,
    pub stats: DataStats,
    /// A few held-out rows as read (input and id columns only): the
    /// artifact's golden examples.
    pub examples: DataFrame,
    /// What the training split looked like, per feature and the target:
    /// stored with the model so that `check-data` can tell when new data no
    /// longer looks like what it learned from.
    pub profile: DataProfile,
}

/// Golden examples kept per artifact.
pub const EXAMPLES: usize = 5;

/// One split: inputs (row-major), targets, and the 0-based file rows.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitData {
    pub x: Matrix,
    pub y: Targets,
    pub rows: Vec<u64>,
    /// The raw values of the `[eval] slices` columns for these rows, as
    /// text (`None` for a missing cell), in the config's order.
    pub slices: Vec<SliceColumn>,
}

/// One slicing column's values, row-aligned with its [`SplitData`].
#[derive(Debug, Clone, PartialEq)]
pub struct SliceColumn {
    pub column: String,
    pub values: Vec<Option<String>>,
}

/// The text values of the slicing columns of `df` (all rows).
pub(crate) fn slice_columns(
    df: &DataFrame,
    slices: &[String],
    path: &Path,
) -> Result<Vec<SliceColumn>> {
    slices
        .iter()
        .map(|name| {
            let col = df.column(name).map_err(|_| DataError::MissingColumn {
                path: path.to_path_buf(),
                column: name.clone(),
                role: "eval.slices".into(),
                available: df
                    .get_column_names()
                    .iter()
                    .filter(|n| n.as_str() != ROW)
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            let text = extract::text(col, path)?;
            Ok(SliceColumn {
                column: name.clone(),
                values: text.iter().map(|v| v.map(str::to_string)).collect(),
            })
        })
        .collect()
}

impl SliceColumn {
    /// The values at `idx`.
    pub(crate) fn select(&self, idx: &[usize]) -> SliceColumn {
        SliceColumn {
            column: self.column.clone(),
            values: idx
                .iter()
                .map(|&i| self.values.get(i).cloned().flatten())
                .collect(),
        }
    }
}

impl SplitData {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class indices into the target's labels.
    Classes(Vec<u32>),
    /// Regression targets: as the model sees them (scaled) and as in the
    /// data (for metrics in the data's units).
    Values { scaled: Vec<f32>, raw: Vec<f64> },
}

/// Runs the data stage for `loaded`, with `seed` for the split: in
/// batches, with the matrices in files under `spill`, when the config says
/// `[data] streaming = true` (see [`crate::stream`]), else in memory.
pub fn prepare_with(loaded: &Loaded, seed: u64, spill: &Path) -> Result<Prepared> {
    if loaded.config.data.streaming {
        crate::stream::prepare(loaded, seed, spill)
    } else {
        prepare(loaded, seed)
    }
}

/// Runs the data stage for `loaded` in memory, with `seed` for the split.
pub fn prepare(loaded: &Loaded, seed: u64) -> Result<Prepared> {
    let cfg = &loaded.config.data;
    let path = loaded.data_path();
    let path = path.as_path();

    let as_text: Vec<String> = cfg
        .columns
        .iter()
        .filter(|(_, o)| matches!(o.kind, Some(ColumnType::Categorical | ColumnType::Id)))
        .map(|(n, _)| n.clone())
        .chain(cfg.id.iter().cloned())
        .collect();
    let table = read_table(path, cfg.format, &cfg.csv, &as_text)?;

    // The contract comes first, on the table as read: a violation is
    // reported by the file's own row numbers, before cleaning can hide or
    // renumber anything. Training stops at the first; `check-data` lists
    // them all.
    if !cfg.schema.is_empty()
        && let Some(v) = crate::schema::violations(&table.df, &cfg.schema, path)?
            .into_iter()
            .next()
    {
        return Err(DataError::Schema {
            path: path.to_path_buf(),
            message: v.message,
        });
    }
    let Table {
        df, sha256, bytes, ..
    } = &table;
    let read_rows = df.height() as u64;

    // Every column the config names must exist.
    let names: BTreeSet<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let available: Vec<String> = names.iter().cloned().collect();
    let filters = check_named_columns(loaded, path, &available)?;

    // Cleaning: missing target, filters, exact duplicates.
    let df = df
        .with_row_index(ROW.into(), None)
        .map_err(|e| extract::polars_err(path, e))?;
    let mut df = drop_missing_target(df, &cfg.target, path)?;
    let missing_target = read_rows - df.height() as u64;

    let before = df.height() as u64;
    df = apply_filters(df, &filters, path)?;
    let filtered = before - df.height() as u64;

    let before = df.height() as u64;
    let distinct = df
        .unique_stable(Some(&available), UniqueKeepStrategy::First, None)
        .map_err(|e| extract::polars_err(path, e))?;
    let repeated = before - distinct.height() as u64;
    let (duplicates, repeated) = if cfg.clean.drop_duplicates {
        df = distinct;
        (repeated, 0)
    } else {
        (0, repeated)
    };
    if df.height() == 0 {
        return Err(DataError::unusable(
            path,
            format!(
                "no rows left after cleaning ({missing_target} without a target, {filtered} removed by filters, {duplicates} duplicates)"
            ),
        ));
    }
    let rows: Vec<u64> = df
        .column(ROW)
        .and_then(|c| c.cast(&DataType::UInt64))
        .and_then(|c| Ok(c.u64()?.into_no_null_iter().collect()))
        .map_err(|e| extract::polars_err(path, e))?;
    let slices = slice_columns(&df, &loaded.config.eval.slices, path)?;

    // Target and task.
    let target_col = df
        .column(&cfg.target)
        .map_err(|e| extract::polars_err(path, e))?;
    let (task, target_kind) = infer_task(loaded, target_col, path)?;

    // Feature roles.
    let mut columns = Vec::new();
    let mut plans: Vec<(String, ColumnType, ValueType)> = Vec::new();
    for col in df.columns() {
        let name = col.name().to_string();
        if name == ROW {
            continue;
        }
        let dtype = col.dtype().to_string();
        let missing = col.null_count() as u64;
        let declared = cfg.columns.get(&name).and_then(|o| o.kind);
        let role = role_of(cfg, &name);
        let mut kind = None;
        if role == "feature" {
            if missing == df.height() as u64 {
                return Err(DataError::unusable(
                    path,
                    format!(
                        "column {name:?} has no values (every cell is missing); remove it with data.drop = [{name:?}]"
                    ),
                ));
            }
            let t = match declared {
                Some(t) => t,
                None => infer_feature(col, path, &rows)?,
            };
            kind = Some(
                match t {
                    ColumnType::Numeric => "numeric",
                    ColumnType::Boolean => "boolean",
                    _ => "categorical",
                }
                .to_string(),
            );
            plans.push((name.clone(), t, ValueType::of(col.dtype())));
        }
        columns.push(ColumnInfo {
            name,
            role: role.into(),
            kind,
            dtype,
            missing,
        });
    }
    if plans.is_empty() {
        return Err(DataError::unusable(
            path,
            "no feature columns are left (every column is the target, dropped or an id)",
        ));
    }

    // Split, stratified by class for classification unless told otherwise.
    let (classes, labels, raw_y) = match &target_kind {
        TargetKind::Classes(labels, idx) => (Some(idx.clone()), Some(labels.clone()), None),
        TargetKind::Values(v) => (None, None, Some(v.clone())),
    };
    let fractions = [cfg.split.train, cfg.split.valid, cfg.split.test];
    let s = match &cfg.split.key {
        Some(key) => {
            let keys = split_keys(&df, key, path, &rows)?;
            split_by_key(
                keys.iter().map(String::as_str),
                fractions,
                cfg.split.seed.unwrap_or(seed),
            )
        }
        None => {
            let stratify = cfg.split.stratify.unwrap_or(task.is_classification());
            split(
                df.height(),
                if stratify { classes.as_deref() } else { None },
                fractions,
                cfg.split.seed.unwrap_or(seed),
            )
        }
    };
    if s.train.is_empty() {
        return Err(DataError::unusable(
            path,
            format!(
                "the split left no training rows ({} rows); use more data or a larger data.split.train",
                df.height()
            ),
        ));
    }

    // Fit the preprocessing on the training rows only, and profile the
    // same rows from the values just extracted (no second pass over the
    // frame). Columns are independent: they are fitted in parallel, and
    // each one's training values are gathered (numeric: sorted) or counted
    // once for both its fit and its profile.
    let mut in_train = vec![false; df.height()];
    for &i in &s.train {
        in_train[i] = true;
    }
    let fitted: Vec<Result<(FeatureSpec, ColumnProfile, HostColumn)>> = plans
        .par_iter()
        .map(|(name, t, vt)| {
            let col = df.column(name).map_err(|e| extract::polars_err(path, e))?;
            let dtype = col.dtype().to_string();
            Ok(match t {
                ColumnType::Numeric | ColumnType::Boolean => {
                    let hint = format!(
                        "; declare it categorical with [data.columns.{}] type = \"categorical\" if that is what it is",
                        toml_key(name)
                    );
                    let values = extract::numeric(col, path, Some(&rows), &hint)?;
                    let fit = numeric_fit(loaded, name, *t)?;
                    let mut present: Vec<f64> = s.train.iter().filter_map(|&i| values[i]).collect();
                    present.sort_unstable_by(f64::total_cmp);
                    let spec = fit_numeric_present(
                        name,
                        numeric_source_type(*t, *vt),
                        present.clone(),
                        s.train.len(),
                        &fit,
                    )
                    .ok_or_else(|| no_training_values(path, name))?;
                    let kind = if *t == ColumnType::Boolean {
                        "boolean"
                    } else {
                        "numeric"
                    };
                    let profile = profile::numeric_column_present(
                        name,
                        "feature",
                        kind,
                        &dtype,
                        present,
                        s.train.len(),
                    );
                    (spec, profile, HostColumn::Num(values))
                }
                _ => {
                    let values = extract::text(col, path)?;
                    let impute = categorical_impute(loaded, name)?;
                    let mut counts: PlHashMap<&str, u64> = PlHashMap::new();
                    for (v, train) in values.iter().zip(&in_train) {
                        if let (Some(v), true) = (v, train) {
                            *counts.entry(v).or_default() += 1;
                        }
                    }
                    let counts: Vec<(String, u64)> =
                        counts.into_iter().map(|(v, n)| (v.to_string(), n)).collect();
                    let spec = fit_categorical_counts(
                        name,
                        categorical_source_type(*t, *vt),
                        counts.clone(),
                        impute,
                        cfg.encode.max_categories,
                    );
                    let profile = profile::text_column_counts(
                        name,
                        "feature",
                        &dtype,
                        counts,
                        s.train.len(),
                    );
                    (spec, profile, HostColumn::Text(values))
                }
            })
        })
        .collect();
    let mut features = Vec::new();
    let mut host = Vec::new();
    let mut profiles: BTreeMap<String, ColumnProfile> = BTreeMap::new();
    for ((name, _, _), f) in plans.iter().zip(fitted) {
        let (spec, profile, values) = f?;
        features.push(spec);
        profiles.insert(name.clone(), profile);
        host.push(values);
    }

    let target = match (&labels, &raw_y) {
        (Some(labels), _) => TargetSpec::Classes {
            column: cfg.target.clone(),
            labels: labels.clone(),
            label_type: ValueType::of(target_col.dtype()),
        },
        (None, Some(y)) => regression_target(&cfg.target, s.train.iter().map(|&i| y[i]).collect()),
        (None, None) => unreachable_target(path)?,
    };
    let target_profile = target_profile(&cfg.target, target_col, &target_kind, &s.train);
    let profile = DataProfile {
        rows: s.train.len() as u64,
        columns: columns
            .iter()
            .filter_map(|c| match c.role.as_str() {
                "feature" => profiles.remove(&c.name),
                "target" => Some(target_profile.clone()),
                _ => None,
            })
            .collect(),
    };
    let id_columns: Vec<String> = columns
        .iter()
        .filter(|c| c.role == "id")
        .map(|c| c.name.clone())
        .collect();
    let preprocessor = Preprocessor {
        task,
        target,
        features,
        id_columns,
    };

    let codes = preprocessor.encode(&host);
    let make = |idx: &[usize]| -> SplitData {
        let x = preprocessor.transform_encoded(&host, &codes, Some(idx));
        let y = match (&classes, &raw_y, &preprocessor.target) {
            (Some(c), _, _) => Targets::Classes(idx.iter().map(|&i| c[i]).collect()),
            (None, Some(v), TargetSpec::Regression { offset, scale, .. }) => {
                let raw: Vec<f64> = idx.iter().map(|&i| v[i]).collect();
                Targets::Values {
                    scaled: raw.iter().map(|y| ((y - offset) / scale) as f32).collect(),
                    raw,
                }
            }
            _ => Targets::Values {
                scaled: Vec::new(),
                raw: Vec::new(),
            },
        };
        SplitData {
            x: x.into(),
            y,
            rows: idx.iter().map(|&i| rows[i]).collect(),
            slices: slices.iter().map(|c| c.select(idx)).collect(),
        }
    };
    let train = make(&s.train);
    let valid = make(&s.valid);
    let test = make(&s.test);

    let mut class_counts = BTreeMap::new();
    if let (Some(labels), Some(c)) = (&labels, &classes) {
        for (k, label) in labels.iter().enumerate() {
            let count = |idx: &[usize]| idx.iter().filter(|&&i| c[i] as usize == k).count() as u64;
            class_counts.insert(
                label.clone(),
                [count(&s.train), count(&s.valid), count(&s.test)],
            );
        }
        if labels.len() >= 2 {
            let in_train = class_counts.values().filter(|n| n[0] > 0).count();
            if in_train < 2 {
                return Err(DataError::unusable(
                    path,
                    "the training split holds a single class; more rows or another split are needed",
                ));
            }
        }
    }
    let stats = DataStats {
        source: SourceInfo {
            path: loaded.config.data.path.to_string_lossy().replace('\\', "/"),
            format: format!("{:?}", table.format).to_lowercase(),
            sha256: sha256.clone(),
            logical_sha256: table.logical_sha256.clone(),
            bytes: *bytes,
        },
        rows: RowCounts {
            read: read_rows,
            missing_target,
            filtered,
            duplicates,
            repeated,
            used: df.height() as u64,
            train: train.len() as u64,
            valid: valid.len() as u64,
            test: test.len() as u64,
            eval: 0,
        },
        columns,
        class_counts,
    };
    let held_out = [&s.test, &s.valid, &s.train]
        .into_iter()
        .find(|idx| !idx.is_empty())
        .map(|idx| {
            idx.iter()
                .take(EXAMPLES)
                .map(|&i| i as IdxSize)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let keep: Vec<String> = preprocessor
        .features
        .iter()
        .map(|f| f.column().to_string())
        .chain(preprocessor.id_columns.iter().cloned())
        .collect();
    let examples = df
        .take(&IdxCa::from_vec("idx".into(), held_out))
        .and_then(|d| d.select(keep))
        .map_err(|e| extract::polars_err(path, e))?;
    Ok(Prepared {
        preprocessor,
        train,
        valid,
        test,
        stats,
        examples,
        profile,
    })
}

/// The target's profile over the training rows: class shares, or the
/// distribution of regression values.
fn target_profile(name: &str, col: &Column, kind: &TargetKind, train: &[usize]) -> ColumnProfile {
    let dtype = col.dtype().to_string();
    match kind {
        TargetKind::Classes(labels, idx) => {
            let mut counts = vec![0u64; labels.len()];
            for &i in train {
                if let Some(c) = idx.get(i).and_then(|&k| counts.get_mut(k as usize)) {
                    *c += 1;
                }
            }
            let count: u64 = counts.iter().sum();
            ColumnProfile {
                name: name.to_string(),
                role: "target".into(),
                kind: "categorical".into(),
                dtype,
                count,
                null_fraction: if train.is_empty() {
                    0.0
                } else {
                    (train.len() as u64 - count) as f64 / train.len() as f64
                },
                numeric: None,
                categories: profile::category_profile_from_counts(
                    labels.iter().cloned().zip(counts).collect(),
                ),
            }
        }
        TargetKind::Values(v) => {
            let values: Vec<Option<f64>> = v.iter().map(|&x| Some(x)).collect();
            profile::numeric_column(name, "target", "numeric", &dtype, &values, train)
        }
    }
}

/// The regression target's scaling, from the training values (in any
/// order: they are sorted before summing).
pub(crate) fn regression_target(column: &str, mut train_y: Vec<f64>) -> TargetSpec {
    train_y.sort_by(f64::total_cmp);
    let (m, sd) = mean_std(&train_y);
    TargetSpec::Regression {
        column: column.to_string(),
        offset: m,
        scale: if sd > 0.0 { sd } else { 1.0 },
    }
}

fn unreachable_target(path: &Path) -> Result<TargetSpec> {
    Err(DataError::unusable(
        path,
        "internal error: no target values",
    ))
}

/// Checks that every column the config names exists among `available`
/// (the file's columns), and parses `[data.clean] filters`.
pub(crate) fn check_named_columns(
    loaded: &Loaded,
    path: &Path,
    available: &[String],
) -> Result<Vec<(String, Expr)>> {
    let cfg = &loaded.config.data;
    let has = |c: &str| available.iter().any(|a| a == c);
    let missing_col = |column: &str, role: &str| DataError::MissingColumn {
        path: path.to_path_buf(),
        column: column.to_string(),
        role: role.to_string(),
        available: available.join(", "),
    };
    if !has(&cfg.target) {
        return Err(missing_col(&cfg.target, "data.target"));
    }
    for (list, role) in [(&cfg.drop, "data.drop"), (&cfg.id, "data.id")] {
        if let Some(c) = list.iter().find(|c| !has(c)) {
            return Err(missing_col(c, role));
        }
    }
    if let Some(c) = cfg.columns.keys().find(|c| !has(c)) {
        return Err(missing_col(c, "data.columns"));
    }
    let mut filters = Vec::new();
    for text in &cfg.clean.filters {
        let f = anneal_config::Filter::parse(text)
            .map_err(|e| DataError::from(loaded.error_at("data.clean.filters", e)))?;
        if !has(&f.column) {
            return Err(missing_col(&f.column, "data.clean.filters"));
        }
        filters.push((text.clone(), filter_expr(&f)));
    }
    Ok(filters)
}

/// `df` without the rows whose target is missing (or NaN).
pub(crate) fn drop_missing_target(df: DataFrame, target: &str, path: &Path) -> Result<DataFrame> {
    let col = df
        .column(target)
        .map_err(|e| extract::polars_err(path, e))?;
    let mut keep = col.is_not_null();
    if col.dtype().is_float() {
        let nan = col
            .as_materialized_series()
            .is_nan()
            .map_err(|e| extract::polars_err(path, e))?;
        keep = &keep & &!nan;
    }
    df.filter(&keep).map_err(|e| extract::polars_err(path, e))
}

/// `df` with the parsed `[data.clean] filters` applied.
pub(crate) fn apply_filters(
    mut df: DataFrame,
    filters: &[(String, Expr)],
    path: &Path,
) -> Result<DataFrame> {
    for (text, expr) in filters {
        df = df.lazy().filter(expr.clone()).collect().map_err(|e| {
            DataError::unusable(
                path,
                format!("filter {text:?}: {}", crate::read::polars_message(&e)),
            )
        })?;
    }
    Ok(df)
}

/// The role the config gives column `name`: `target`, `dropped`, `id` or
/// `feature`.
pub(crate) fn role_of(cfg: &anneal_config::DataConfig, name: &str) -> &'static str {
    let declared = cfg.columns.get(name).and_then(|o| o.kind);
    if name == cfg.target {
        "target"
    } else if cfg.drop.iter().any(|c| c == name) || declared == Some(ColumnType::Drop) {
        "dropped"
    } else if cfg.id.iter().any(|c| c == name) || declared == Some(ColumnType::Id) {
        "id"
    } else {
        "feature"
    }
}

/// How numeric (or boolean) column `name` is fitted, from the config.
pub(crate) fn numeric_fit(loaded: &Loaded, name: &str, kind: ColumnType) -> Result<NumericFit> {
    let cfg = &loaded.config.data;
    let over = cfg.columns.get(name).cloned().unwrap_or_default();
    let impute = over.impute.unwrap_or(cfg.missing.numeric);
    if impute == Impute::Missing {
        return Err(loaded
            .error_at(
                &format!("data.columns.{name}.impute"),
                "\"missing\" is for categorical columns; use median, mean, constant or mode",
            )
            .into());
    }
    let embedding = over
        .embedding
        .unwrap_or(loaded.config.model.numeric_embedding);
    Ok(NumericFit {
        bins: match embedding {
            NumericEmbedding::PiecewiseLinear if kind != ColumnType::Boolean => {
                loaded.config.model.bins
            }
            _ => 0,
        },
        impute,
        constant: over.fill_value.unwrap_or(cfg.missing.fill_value),
        indicator: over.indicator.unwrap_or(cfg.missing.indicator),
        outliers: if kind == ColumnType::Boolean {
            anneal_config::Outliers::None
        } else {
            cfg.clean.outliers
        },
        quantiles: cfg.clean.quantiles,
        zscore: cfg.clean.zscore,
        scale: over.scale.unwrap_or(cfg.encode.scale),
    })
}

pub(crate) fn numeric_source_type(kind: ColumnType, vt: ValueType) -> ValueType {
    if kind == ColumnType::Boolean {
        ValueType::Boolean
    } else {
        vt
    }
}

/// How categorical column `name` is imputed, from the config.
pub(crate) fn categorical_impute(loaded: &Loaded, name: &str) -> Result<Impute> {
    let cfg = &loaded.config.data;
    let over = cfg.columns.get(name).cloned().unwrap_or_default();
    let impute = over.impute.unwrap_or(cfg.missing.categorical);
    if over.embedding.is_some() {
        return Err(loaded
            .error_at(
                &format!("data.columns.{name}.embedding"),
                format!("a numeric embedding needs a numeric column, but {name:?} is categorical"),
            )
            .into());
    }
    if !matches!(impute, Impute::Mode | Impute::Missing) {
        return Err(loaded
            .error_at(
                &format!("data.columns.{name}.impute"),
                "categorical columns are imputed with \"mode\" or \"missing\"",
            )
            .into());
    }
    Ok(impute)
}

pub(crate) fn categorical_source_type(kind: ColumnType, vt: ValueType) -> ValueType {
    if kind == ColumnType::Categorical || vt == ValueType::Boolean {
        ValueType::String
    } else {
        vt
    }
}

pub(crate) fn no_training_values(path: &Path, name: &str) -> DataError {
    DataError::unusable(
        path,
        format!(
            "column {name:?} has no values in the training split (every cell there is missing or NaN); remove it with data.drop = [{name:?}] or provide data"
        ),
    )
}

/// A TOML key for `name`, quoted when it is not a bare key.
pub(crate) fn toml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

enum TargetKind {
    /// Sorted labels and each row's class index.
    Classes(Vec<String>, Vec<u32>),
    Values(Vec<f64>),
}

/// Decides the task from `[task]` and the target column, and encodes it.
fn infer_task(loaded: &Loaded, col: &Column, path: &Path) -> Result<(Task, TargetKind)> {
    let name = col.name().to_string();
    let dtype = col.dtype().clone();
    let n_distinct = col.n_unique().map_err(|e| extract::polars_err(path, e))?;
    if !classifies(loaded, &name, &dtype, n_distinct)? {
        let values = extract::numeric(col, path, None, "")?;
        let values: Vec<f64> = values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        return Ok((Task::Regression, TargetKind::Values(values)));
    }
    let text = extract::text(col, path)?;
    let distinct: PlHashSet<&str> = text.iter().flatten().collect();
    let distinct: BTreeSet<String> = distinct.into_iter().map(str::to_string).collect();
    let (task, labels) = label_task(loaded, &name, &dtype, distinct, path)?;
    let idx: Vec<u32> = {
        let index: PlHashMap<&str, u32> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i as u32))
            .collect();
        text.iter()
            .map(|v| v.and_then(|v| index.get(v).copied()).unwrap_or(0))
            .collect()
    };
    Ok((task, TargetKind::Classes(labels, idx)))
}

/// Whether the target is classified (else regressed), from `[task]` and
/// the target's type and number of distinct values.
pub(crate) fn classifies(
    loaded: &Loaded,
    name: &str,
    dtype: &DataType,
    n_distinct: usize,
) -> Result<bool> {
    let tcfg = &loaded.config.task;
    Ok(match tcfg.kind {
        TaskKind::Binary | TaskKind::Multiclass => true,
        TaskKind::Regression => {
            if !(dtype.is_primitive_numeric() || *dtype == DataType::Boolean) {
                return Err(loaded
                    .error_at(
                        "task.type",
                        format!("regression needs a numeric target, but {name:?} holds {dtype}"),
                    )
                    .into());
            }
            false
        }
        TaskKind::Auto => {
            if dtype.is_float() {
                false
            } else if dtype.is_integer() {
                n_distinct <= tcfg.max_classes
            } else {
                true
            }
        }
    })
}

/// The classification task and its labels in order (numbers by value,
/// text by text), from the target's distinct values.
pub(crate) fn label_task(
    loaded: &Loaded,
    name: &str,
    dtype: &DataType,
    distinct: BTreeSet<String>,
    path: &Path,
) -> Result<(Task, Vec<String>)> {
    let tcfg = &loaded.config.task;
    let mut labels: Vec<String> = distinct.into_iter().collect();
    if dtype.is_primitive_numeric() {
        labels.sort_by(|a, b| {
            let x = a.parse::<f64>().unwrap_or(f64::NAN);
            let y = b.parse::<f64>().unwrap_or(f64::NAN);
            x.total_cmp(&y)
        });
    }
    if labels.len() < 2 {
        return Err(DataError::unusable(
            path,
            format!(
                "the target {name:?} has a single class ({}) after cleaning; a classifier needs at least two",
                labels
                    .first()
                    .map_or("none".to_string(), |l| format!("{l:?}"))
            ),
        ));
    }
    let task = match tcfg.kind {
        TaskKind::Binary if labels.len() != 2 => {
            return Err(loaded
                .error_at(
                    "task.type",
                    format!(
                        "binary classification needs exactly 2 classes, but {name:?} has {}",
                        labels.len()
                    ),
                )
                .into());
        }
        TaskKind::Multiclass => Task::Multiclass,
        _ if labels.len() == 2 => Task::Binary,
        _ => Task::Multiclass,
    };
    Ok((task, labels))
}

/// The role of an undeclared feature column, from its type. A text column
/// whose values are nearly all numbers is a numeric column with a bad cell:
/// that is reported rather than silently one-hot encoded.
pub(crate) fn infer_feature(col: &Column, path: &Path, rows: &[u64]) -> Result<ColumnType> {
    match col.dtype() {
        DataType::Boolean => Ok(ColumnType::Boolean),
        d if d.is_primitive_numeric() => Ok(ColumnType::Numeric),
        DataType::String => {
            let ca = col.str().map_err(|e| extract::polars_err(path, e))?;
            let mut numbers = 0usize;
            let mut others = 0usize;
            let mut first_bad = None;
            for (i, v) in ca.iter().enumerate() {
                if let Some(s) = v {
                    if extract::parse_number(s).is_some() {
                        numbers += 1;
                    } else {
                        others += 1;
                        if first_bad.is_none() {
                            first_bad = Some((i, s.to_string()));
                        }
                    }
                }
            }
            match first_bad {
                // Every cell is a number that polars did not read as one
                // (`Infinity`, spaces around it): a numeric column, whose
                // extraction then reports a value it cannot use by row.
                None if numbers > 0 => Ok(ColumnType::Numeric),
                Some((i, value)) if numbers >= 9 * others && numbers > 0 => {
                    let name = col.name().to_string();
                    Err(DataError::NotNumeric {
                        path: path.to_path_buf(),
                        hint: format!(
                            "{numbers} other cells are numbers; fix the cell, list it in data.csv.null_values, or set [data.columns.{}] type = \"categorical\"",
                            toml_key(&name)
                        ),
                        column: name,
                        row: extract::row_number(Some(rows), i),
                        value: extract::shown(&value),
                    })
                }
                _ => Ok(ColumnType::Categorical),
            }
        }
        _ => Ok(ColumnType::Categorical),
    }
}

pub(crate) fn filter_expr(f: &anneal_config::Filter) -> Expr {
    use anneal_config::{FilterOp, FilterValue};
    let c = col(f.column.as_str());
    let v = match &f.value {
        FilterValue::Number(x) => lit(*x),
        FilterValue::Text(s) => lit(s.clone()),
    };
    match f.op {
        FilterOp::Eq => c.eq(v),
        FilterOp::Ne => c.neq(v),
        FilterOp::Lt => c.lt(v),
        FilterOp::Le => c.lt_eq(v),
        FilterOp::Gt => c.gt(v),
        FilterOp::Ge => c.gt_eq(v),
    }
}

impl From<anneal_config::ConfigError> for DataError {
    fn from(e: anneal_config::ConfigError) -> Self {
        DataError::Config(Box::new(e))
    }
}

/// The values of the split key column as text (numbers as written by
/// polars' string cast), or an error naming the column or the first row
/// without a key.
pub(crate) fn split_keys(
    df: &DataFrame,
    key: &str,
    path: &Path,
    rows: &[u64],
) -> Result<Vec<String>> {
    let col = df.column(key).map_err(|_| {
        DataError::unusable(
            path,
            format!(
                "data.split.key names column {key:?}, which is not in the file (columns: {})",
                df.get_column_names()
                    .iter()
                    .filter(|c| c.as_str() != ROW)
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let text = col
        .cast(&DataType::String)
        .map_err(|e| extract::polars_err(path, e))?;
    let text = text.str().map_err(|e| extract::polars_err(path, e))?;
    let mut out = Vec::with_capacity(text.len());
    for (i, v) in text.iter().enumerate() {
        match v {
            Some(v) => out.push(v.to_string()),
            None => {
                return Err(DataError::unusable(
                    path,
                    format!(
                        "row {}: the split key column {key:?} is empty; every row needs a key",
                        extract::row_number(Some(rows), i)
                    ),
                ));
            }
        }
    }
    Ok(out)
}
