//! The steps both data stages run: the in-memory one ([`crate::prepare`])
//! and the streaming one ([`crate::stream`]). Each path gathers its rows its
//! own way (a whole frame, or batches read twice), then hands the same
//! figures to the same functions here, so the same config on the same
//! training values fits, profiles and reports the same bits either way.

use std::collections::BTreeMap;
use std::path::Path;

use anneal_config::{CategoricalEmbedding, ColumnType, DataConfig, DataFormat, Impute, Loaded};
use polars::prelude::*;

use crate::dictionary::Dictionary;
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
    // Straight from the index arrays (never null): a cast to UInt64 first
    // would write a second 8 MB column per million rows.
    let idx = df
        .column(ROW)
        .and_then(|c| c.idx())
        .map_err(|e| extract::polars_err(path, e))?;
    let mut rows = Vec::with_capacity(idx.len());
    for arr in idx.downcast_iter() {
        rows.extend(arr.values().iter().map(|&r| r as u64));
    }
    Ok(rows)
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
    Text(TextFit),
}

/// How a categorical column is fitted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextFit {
    pub impute: Impute,
    /// Embed the column (see `model.categorical_embedding`) when it has
    /// at least this many slots.
    pub embed_from: Option<usize>,
}

impl TextFit {
    /// Mode imputation, one-hot (tests).
    #[cfg(test)]
    pub(crate) fn mode() -> TextFit {
        TextFit {
            impute: Impute::Mode,
            embed_from: None,
        }
    }
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
            FitSettings::Text(TextFit {
                impute: categorical_impute(loaded, name)?,
                embed_from: match loaded.config.model.categorical_embedding() {
                    CategoricalEmbedding::OneHot => None,
                    CategoricalEmbedding::Learned => {
                        Some(loaded.config.model.embedding_min_slots())
                    }
                },
            }),
        ),
    })
}

/// The values of numeric (or boolean) feature `name`, with a hint to
/// declare it categorical when a cell is not a number.
pub(crate) fn numeric_feature(
    col: Column,
    name: &str,
    path: &Path,
    rows: &[u64],
) -> Result<Vec<f64>> {
    let hint = format!(
        "; declare it categorical with [data.columns.{}] type = \"categorical\" if that is what it is",
        toml_key(name)
    );
    extract::numeric_owned(col, path, Some(rows), &hint)
}

/// The present values (not NaN) at the positions `train`, in that order.
pub(crate) fn train_present(values: &[f64], train: &[usize]) -> Vec<f64> {
    let mut present = crate::scratch::take(train.len());
    present.extend(train.iter().map(|&i| values[i]).filter(|x| !x.is_nan()));
    present
}

/// The count per present value at the positions `train` (in order of
/// first appearance), through the column's [`Dictionary`]: what the
/// in-memory fit counts, for the streaming stage's batches.
pub(crate) fn train_counts(values: &StringChunked, train: &[usize]) -> Vec<(String, u64)> {
    Dictionary::of(values).counts(train)
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
        (FitSettings::Numeric(fit), Gathered::Numeric(mut present)) => {
            // Sorted once here: the profile and the fit sort again, which
            // costs one pass over already sorted values.
            crate::sort::sort_total(&mut present);
            let kind = if f.kind == ColumnType::Boolean {
                "boolean"
            } else {
                "numeric"
            };
            let profile = profile::numeric_column_present(
                f.name,
                "feature",
                kind,
                f.dtype,
                &mut present,
                n_train,
            );
            let spec = fit_numeric_present(f.name, f.source_type, &mut present, n_train, &fit);
            crate::scratch::give(present);
            let spec = spec.ok_or_else(|| no_training_values(path, f.name))?;
            Ok((spec, profile))
        }
        (FitSettings::Text(fit), Gathered::Text(counts)) => {
            let profile =
                profile::text_column_counts(f.name, "feature", f.dtype, counts.clone(), n_train);
            let mut spec =
                fit_categorical_counts(f.name, f.source_type, counts, fit.impute, max_categories);
            let slots = spec.slots();
            if let (Some(from), FeatureSpec::Categorical { embedded, .. }) =
                (fit.embed_from, &mut spec)
            {
                *embedded = slots >= from;
            }
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
                &mut y.clone(),
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

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use anneal_config::{Filter, Outliers, Scale};

    use super::*;
    use crate::prepare::filter_expr;

    /// A project directory holding `d.csv` and a config reading it (the
    /// `[data]` table first, then `extra`).
    pub(crate) fn project(tag: &str, csv: &str, extra: &str) -> (PathBuf, Loaded) {
        let dir = std::env::temp_dir().join(format!("anneal-steps-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("d.csv"), csv).expect("csv");
        let config = format!("[data]\npath = \"d.csv\"\ntarget = \"y\"\n{extra}");
        let loaded = anneal_config::parse(&config, &dir.join("c.toml")).expect("config");
        (dir, loaded)
    }

    fn fit(scale: Scale) -> NumericFit {
        NumericFit {
            bins: 0,
            impute: Impute::Median,
            constant: 0.0,
            indicator: true,
            outliers: Outliers::None,
            quantiles: [0.01, 0.99],
            zscore: 3.0,
            scale,
        }
    }

    #[test]
    fn text_columns_are_declared_categorical_or_id_and_data_id() {
        let (_, loaded) = project(
            "text",
            "a,b,c,y\n1,2,3,4\n",
            "id = [\"c\"]\n[data.columns.a]\ntype = \"categorical\"\n[data.columns.b]\ntype = \"numeric\"\n",
        );
        assert_eq!(text_columns(&loaded.config.data), ["a", "c"]);
    }

    #[test]
    fn cleaning_counts_untargeted_and_filtered_rows() {
        let df = df!(
            "y" => [Some(1.0), None, Some(f64::NAN), Some(4.0), Some(5.0), Some(6.0)],
            "x" => [1, 2, 3, 4, 5, 6],
        )
        .expect("frame");
        let filters = vec![(
            "x >= 5".to_string(),
            filter_expr(&Filter::parse("x >= 5").expect("filter")),
        )];
        let mut counts = RowCounts::default();
        let path = Path::new("d.csv");
        let df =
            drop_untargeted_and_filtered(df, "y", &filters, path, &mut counts).expect("cleaned");
        assert_eq!(counts.missing_target, 2);
        assert_eq!(counts.filtered, 2);
        let x: Vec<i32> = df
            .column("x")
            .and_then(|c| Ok(c.i32()?.into_no_null_iter().collect()))
            .expect("x");
        assert_eq!(x, [5, 6]);
        // Counts add up over batches.
        let more = df!("y" => [None::<f64>], "x" => [7]).expect("frame");
        drop_untargeted_and_filtered(more, "y", &filters, path, &mut counts).expect("cleaned");
        assert_eq!((counts.missing_target, counts.filtered), (3, 2));
    }

    #[test]
    fn training_values_are_taken_at_the_training_positions() {
        let values = [1.0, f64::NAN, 3.0, 4.0, 5.0];
        assert_eq!(train_present(&values, &[0, 1, 3]), [1.0, 4.0]);
        let text = StringChunked::new(
            "c".into(),
            &[Some("a"), Some("b"), None, Some("a"), Some("c"), Some("b")],
        );
        let mut counts = train_counts(&text, &[0, 2, 3, 4]);
        counts.sort();
        assert_eq!(counts, [("a".to_string(), 2), ("c".to_string(), 1)]);
    }

    #[test]
    fn a_numeric_feature_is_fitted_and_profiled_on_the_same_values() {
        let f = FeatureFit {
            name: "x",
            kind: ColumnType::Numeric,
            source_type: ValueType::Double,
            dtype: "f64",
            settings: FitSettings::Numeric(fit(Scale::Standard)),
        };
        // Five training rows, one missing: the median 2 fills it, so the
        // scaling sees 1, 2, 2, 2, 4.
        let gathered = Gathered::Numeric(vec![4.0, 2.0, 1.0, 2.0]);
        let (spec, profile) = fit_feature(f, gathered, 5, 100, Path::new("d.csv")).expect("fit");
        let FeatureSpec::Numeric {
            fill,
            offset,
            scale,
            indicator,
            ..
        } = spec
        else {
            panic!("numeric spec expected");
        };
        assert_eq!(fill, 2.0);
        assert!((offset - 2.2).abs() < 1e-12, "{offset}");
        assert!((scale - 0.96f64.sqrt()).abs() < 1e-12, "{scale}");
        assert!(indicator);
        assert_eq!((profile.kind.as_str(), profile.count), ("numeric", 4));
        assert!((profile.null_fraction - 0.2).abs() < 1e-12);
        let np = profile.numeric.expect("numeric profile");
        assert_eq!((np.min, np.max, np.mean), (1.0, 4.0, 2.25));
    }

    #[test]
    fn a_numeric_feature_without_training_values_is_an_error() {
        let f = FeatureFit {
            name: "x",
            kind: ColumnType::Boolean,
            source_type: ValueType::Boolean,
            dtype: "bool",
            settings: FitSettings::Numeric(fit(Scale::None)),
        };
        let e = fit_feature(f, Gathered::Numeric(Vec::new()), 3, 100, Path::new("d.csv"))
            .expect_err("no values");
        assert!(
            e.to_string()
                .contains("column \"x\" has no values in the training split"),
            "{e}"
        );
    }

    #[test]
    fn a_text_feature_keeps_the_most_frequent_categories_in_name_order() {
        let f = FeatureFit {
            name: "c",
            kind: ColumnType::Categorical,
            source_type: ValueType::String,
            dtype: "str",
            settings: FitSettings::Text(TextFit::mode()),
        };
        let counts = vec![("b".into(), 1), ("c".into(), 3), ("a".into(), 3)];
        let (spec, profile) =
            fit_feature(f, Gathered::Text(counts), 8, 2, Path::new("d.csv")).expect("fit");
        assert_eq!(
            spec,
            FeatureSpec::Categorical {
                column: "c".into(),
                source_type: ValueType::String,
                categories: vec!["a".into(), "c".into()],
                missing_fill: Some("a".into()),
                embedded: false,
            }
        );
        assert_eq!(profile.count, 7);
        assert!((profile.null_fraction - 0.125).abs() < 1e-12);
        let cat = profile.categories.expect("categories");
        assert_eq!(cat.distinct, 3);
        assert_eq!(cat.frequencies[2], ("b".to_string(), 1.0 / 7.0));
    }

    #[test]
    fn gathered_values_of_the_wrong_kind_are_an_internal_error() {
        let f = FeatureFit {
            name: "c",
            kind: ColumnType::Categorical,
            source_type: ValueType::String,
            dtype: "str",
            settings: FitSettings::Text(TextFit::mode()),
        };
        let e = fit_feature(f, Gathered::Numeric(vec![1.0]), 1, 2, Path::new("d.csv"))
            .expect_err("mismatch");
        assert!(e.to_string().contains("internal error"), "{e}");
    }

    #[test]
    fn targets_are_fitted_and_profiled() {
        let labels = ["no".to_string(), "yes".to_string()];
        let train = TrainTarget::Classes {
            labels: &labels,
            label_type: ValueType::String,
            counts: vec![3, 1],
        };
        let (spec, profile) = fit_target("y", "str", train, 4);
        assert_eq!(
            spec,
            TargetSpec::Classes {
                column: "y".into(),
                labels: labels.to_vec(),
                label_type: ValueType::String,
            }
        );
        assert_eq!((profile.role.as_str(), profile.count), ("target", 4));
        let cat = profile.categories.expect("categories");
        assert_eq!(
            cat.frequencies,
            [("no".to_string(), 0.75), ("yes".to_string(), 0.25)]
        );

        let (spec, profile) = fit_target("y", "f64", TrainTarget::Values(vec![3.0, 1.0, 2.0]), 3);
        let TargetSpec::Regression { offset, scale, .. } = spec else {
            panic!("regression expected");
        };
        assert_eq!(offset, 2.0);
        assert!((scale - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(profile.numeric.expect("numeric").max, 3.0);

        let Targets::Values { scaled, raw } = scaled_targets(vec![4.0, 0.0], 2.0, 2.0) else {
            panic!("values expected");
        };
        assert_eq!((scaled, raw), (vec![1.0f32, -1.0], vec![4.0, 0.0]));
    }

    #[test]
    fn class_counts_need_two_classes_in_training() {
        let labels = ["a".to_string(), "b".to_string()];
        let counts = class_counts(&labels, |k| [[3, 1, 0], [2, 0, 1]][k], Path::new("d.csv"))
            .expect("counts");
        assert_eq!(counts["b"], [2, 0, 1]);
        let e = class_counts(&labels, |k| [[3, 1, 0], [0, 2, 1]][k], Path::new("d.csv"))
            .expect_err("single class");
        assert!(
            e.to_string()
                .contains("the training split holds a single class"),
            "{e}"
        );
    }

    #[test]
    fn the_profile_follows_the_columns_and_the_preprocessor_takes_their_ids() {
        let (_, loaded) = project("profile", "x,y,id\n1,2,3\n", "id = [\"id\"]\n");
        let cfg = &loaded.config.data;
        let columns = vec![
            column_info(cfg, "x", "i64".into(), 0, Some("numeric")),
            column_info(cfg, "y", "i64".into(), 0, None),
            column_info(cfg, "id", "i64".into(), 0, None),
        ];
        assert_eq!(
            columns.iter().map(|c| c.role.as_str()).collect::<Vec<_>>(),
            ["feature", "target", "id"]
        );
        let x =
            profile::numeric_column_present("x", "feature", "numeric", "i64", &mut vec![1.0], 1);
        let y = profile::numeric_column_present("y", "target", "numeric", "i64", &mut vec![2.0], 1);
        let features = BTreeMap::from([("x".to_string(), x)]);
        let p = data_profile(1, &columns, features, y);
        assert_eq!(p.rows, 1);
        assert_eq!(
            p.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["x", "y"]
        );
        let (target, _) = fit_target("y", "i64", TrainTarget::Values(vec![2.0]), 1);
        let pre = preprocessor(Task::Regression, target, Vec::new(), &columns);
        assert_eq!(pre.id_columns, ["id"]);
        assert_eq!(
            source_info(cfg, DataFormat::Csv, "s".into(), "l".into(), 9).format,
            "csv"
        );
    }
}
