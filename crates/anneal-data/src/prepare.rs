//! The data stage of `train`: read, check, clean, infer roles and the task,
//! split, fit the preprocessing on the training rows and produce the model
//! matrices.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anneal_config::{ColumnType, Impute, Loaded, NumericEmbedding, TaskKind};
use polars::prelude::*;
use rayon::prelude::*;

use crate::dictionary::Dictionary;
use crate::error::{DataError, Result};
use crate::extract;
use crate::matrix::Matrix;
use crate::memory::release_freed_memory;
use crate::preprocess::{
    FeatureSpec, HostColumn, NumericFit, Preprocessor, TargetSpec, Task, ValueType, mean_std,
};
use crate::profile::{ColumnProfile, DataProfile};
use crate::read::read_table;
use crate::split::{SplitIndices, split, split_by_key};
use crate::stats::{ColumnInfo, DataStats, RowCounts};
use crate::steps::{self, FeatureFit, Gathered, TrainTarget};

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
        let prepared = crate::stream::prepare(loaded, seed, spill);
        crate::scratch::clear();
        release_freed_memory();
        prepared
    } else {
        prepare(loaded, seed)
    }
}

/// Runs the data stage for `loaded` in memory, with `seed` for the split.
///
/// The steps, in order (those in [`crate::steps`] are the streaming
/// stage's too): read; check the contract; check the named columns; clean;
/// infer the task and the feature roles; split; fit and profile on the
/// training rows; transform each split; count classes; record. The fit
/// consumes the table column by column, each column freed once its host
/// values are extracted, so a large table, its host values and its
/// matrices are never in memory together.
pub fn prepare(loaded: &Loaded, seed: u64) -> Result<Prepared> {
    let cfg = &loaded.config.data;
    let path = loaded.data_path();
    let path = path.as_path();
    let table = read_table(path, cfg.format, &cfg.csv, &steps::text_columns(cfg))?;
    check_contract(&table.df, cfg, path)?;
    let available = column_names(&table.df);
    let filters = check_named_columns(loaded, path, &available)?;
    let Cleaned { df, rows, counts } = clean(&table, cfg, &filters, path)?;
    let source = steps::source_info(
        cfg,
        table.format,
        table.sha256.clone(),
        table.logical_sha256.clone(),
        table.bytes,
    );
    drop(table);
    let slices = slice_columns(&df, &loaded.config.eval.slices, path)?;
    let target_col = df
        .column(&cfg.target)
        .map_err(|e| extract::polars_err(path, e))?;
    let target_dtype = target_col.dtype().clone();
    let Planned {
        task,
        target_kind,
        s,
        columns,
        plans,
    } = plan(loaded, seed, &df, &rows, target_col, path)?;
    let example_rows = held_out_rows(&df, &s, path)?;
    let used = df.height() as u64;
    let fitted = fit_features(loaded, df, &plans, &rows, &s.train, path)?;
    let per_class = split_class_counts(&target_kind, &s);
    let (target, target_profile) = steps::fit_target(
        &cfg.target,
        &target_dtype.to_string(),
        train_target(&target_kind, &target_dtype, &per_class, &s.train),
        s.train.len(),
    );
    let profile = steps::data_profile(s.train.len(), &columns, fitted.profiles, target_profile);
    let preprocessor = steps::preprocessor(task, target, fitted.features, &columns);
    let examples = steps::examples(&example_rows, &preprocessor, path)?;
    release_freed_memory();
    let [train, valid, test] =
        split_data(&preprocessor, fitted.host, &target_kind, &rows, &slices, &s);
    release_freed_memory();
    let class_counts = match &target_kind {
        TargetKind::Classes(labels, _) => steps::class_counts(labels, |k| per_class[k], path)?,
        TargetKind::Values(_) => BTreeMap::new(),
    };
    let stats = DataStats {
        source,
        rows: RowCounts {
            used,
            train: train.len() as u64,
            valid: valid.len() as u64,
            test: test.len() as u64,
            ..counts
        },
        columns,
        class_counts,
    };
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

/// The `[data.schema]` contract, on the table as read: a violation is
/// reported by the file's own row numbers, before cleaning can hide or
/// renumber anything. Training stops at the first; `check-data` lists them
/// all. In memory only: the streaming stage never holds the whole table and
/// refuses a contract instead.
fn check_contract(df: &DataFrame, cfg: &anneal_config::DataConfig, path: &Path) -> Result<()> {
    if cfg.schema.is_empty() {
        return Ok(());
    }
    match crate::schema::violations(df, &cfg.schema, path)?
        .into_iter()
        .next()
    {
        Some(v) => Err(DataError::Schema {
            path: path.to_path_buf(),
            message: v.message,
        }),
        None => Ok(()),
    }
}

/// The names of `df`'s columns, sorted.
fn column_names(df: &DataFrame) -> Vec<String> {
    let names: BTreeSet<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    names.into_iter().collect()
}

/// The cleaned table (with its [`ROW`] column), each row's file row and
/// the row counts so far.
struct Cleaned {
    df: DataFrame,
    rows: Vec<u64>,
    counts: RowCounts,
}

/// Cleaning: rows without a target, rows the filters remove, then exact
/// duplicates; an error when no row is left.
fn clean(
    table: &crate::read::Table,
    cfg: &anneal_config::DataConfig,
    filters: &[(String, Expr)],
    path: &Path,
) -> Result<Cleaned> {
    let mut counts = RowCounts {
        read: table.df.height() as u64,
        ..RowCounts::default()
    };
    let df = table
        .df
        .with_row_index(ROW.into(), None)
        .map_err(|e| extract::polars_err(path, e))?;
    let df = steps::drop_untargeted_and_filtered(df, &cfg.target, filters, path, &mut counts)?;
    let rows = steps::row_numbers(&df, path)?;
    let first = first_occurrences(&rows, &table.row_hashes, path)?;
    let repeated = first.iter().filter(|&&f| !f).count() as u64;
    let (df, rows) = if cfg.clean.drop_duplicates && repeated > 0 {
        counts.duplicates += repeated;
        let mask = BooleanChunked::from_slice("first".into(), &first);
        let df = df.filter(&mask).map_err(|e| extract::polars_err(path, e))?;
        let rows = rows
            .iter()
            .zip(&first)
            .filter(|(_, f)| **f)
            .map(|(r, _)| *r);
        (df, rows.collect())
    } else {
        counts.repeated += repeated;
        (df, rows)
    };
    if df.height() == 0 {
        return Err(steps::no_rows_left(path, &counts));
    }
    Ok(Cleaned { df, rows, counts })
}

/// For each kept row (by its file row), whether it is the first of its
/// exact duplicates over every column: rows compare by their logical row
/// hashes (see [`crate::fingerprint`]), which are equal exactly when the
/// rows' values are, as in the streaming stage. This replaces polars'
/// `unique_stable`, which row-encoded and sorted the whole table (a third
/// of the stage's time on 1M rows) for hashes the read already computed.
fn first_occurrences(rows: &[u64], hashes: &[u128], path: &Path) -> Result<Vec<bool>> {
    if let Some(r) = rows.iter().find(|&&r| r as usize >= hashes.len()) {
        return Err(DataError::unusable(
            path,
            format!("internal error: row {r} has no row hash"),
        ));
    }
    let pieces = tagged_parts(rows, hashes);
    let hash = |i: u32| hashes[rows[i as usize] as usize];
    let repeats: Vec<Vec<u32>> = (0..DEDUP_PARTS)
        .into_par_iter()
        .map(|part| {
            let len = pieces.iter().map(|p| p[part].len()).sum();
            repeats_in_part(pieces.iter().flat_map(|p| &p[part]), len, hash)
        })
        .collect();
    let mut first = vec![true; rows.len()];
    for i in repeats.into_iter().flatten() {
        first[i as usize] = false;
    }
    Ok(first)
}

/// Equal rows hash equal, so rows are split by their hash's top bits and
/// each part is deduplicated on its own, in row order: the parts run in
/// parallel, each with a map small enough to stay in cache.
const DEDUP_PARTS: usize = 16;

/// Rows split into parts by one task of [`tagged_parts`].
const DEDUP_BLOCK: usize = 1 << 18;

/// Each block of [`DEDUP_BLOCK`] rows split into [`DEDUP_PARTS`] parts by
/// its hash's top bits, each row as its position and its hash's low 32
/// bits (a tag). The copy is one sequential pass per block, in parallel:
/// looking the hashes up by position later instead (every 16th row or so,
/// all over the table) missed the cache on nearly every row and took 3x
/// as long. A part is its blocks' pieces in block order, so its rows stay
/// in row order.
fn tagged_parts(rows: &[u64], hashes: &[u128]) -> Vec<Vec<Vec<(u32, u32)>>> {
    rows.par_chunks(DEDUP_BLOCK)
        .enumerate()
        .map(|(b, block)| {
            let room = block.len() / DEDUP_PARTS + block.len() / DEDUP_PARTS / 8 + 64;
            let mut parts: Vec<Vec<(u32, u32)>> =
                (0..DEDUP_PARTS).map(|_| Vec::with_capacity(room)).collect();
            for (i, &r) in block.iter().enumerate() {
                let h = hashes[r as usize];
                parts[(h >> 124) as usize].push((h as u32, (b * DEDUP_BLOCK + i) as u32));
            }
            parts
        })
        .collect()
}

/// The positions of a part's `len` rows (tag and position, in row order)
/// that repeat an earlier row. Full hashes (`hash` of a position) are read only
/// when a tag repeats: for a duplicate, or for rows that share a tag,
/// which a set of the full hashes keeps apart exactly.
fn repeats_in_part<'a>(
    rows: impl Iterator<Item = &'a (u32, u32)>,
    len: usize,
    hash: impl Fn(u32) -> u128,
) -> Vec<u32> {
    let mut first_of_tag: PlHashMap<u32, u32> = PlHashMap::with_capacity(len);
    // Full hashes of rows whose tag was first seen on another hash.
    let mut other: PlHashSet<u128> = PlHashSet::new();
    let mut repeats = Vec::new();
    for &(tag, i) in rows {
        let Some(&first) = first_of_tag.get(&tag) else {
            first_of_tag.insert(tag, i);
            continue;
        };
        let h = hash(i);
        if h == hash(first) || !other.insert(h) {
            repeats.push(i);
        }
    }
    repeats
}

/// The task, target values and split rows, and what is recorded of every
/// column with the feature columns to fit.
struct Planned {
    task: Task,
    target_kind: TargetKind,
    s: SplitIndices,
    columns: Vec<ColumnInfo>,
    plans: Vec<FeaturePlan>,
}

/// The target's task and split, and the features' plans. They read
/// different columns, so both run at once (two serial steps of 6 and 5 ms
/// on 1M rows); the errors keep the order of the steps.
fn plan(
    loaded: &Loaded,
    seed: u64,
    df: &DataFrame,
    rows: &[u64],
    target: &Column,
    path: &Path,
) -> Result<Planned> {
    let cfg = &loaded.config.data;
    let (task_and_split, features) = rayon::join(
        || {
            let (task, kind) = infer_task(loaded, target, path)?;
            let s = split_rows(cfg, seed, df, rows, task, &kind, path);
            Ok::<_, DataError>((task, kind, s))
        },
        || feature_columns(cfg, df, rows, path),
    );
    let (task, target_kind, s) = task_and_split?;
    let (columns, plans) = features?;
    Ok(Planned {
        task,
        target_kind,
        s: s?,
        columns,
        plans,
    })
}

/// A feature column to fit: its name, kind and the type polars gave it.
type FeaturePlan = (String, ColumnType, ValueType);

/// What is recorded of every column, and the feature columns to fit; an
/// error for a feature without a value, or when no feature is left.
fn feature_columns(
    cfg: &anneal_config::DataConfig,
    df: &DataFrame,
    rows: &[u64],
    path: &Path,
) -> Result<(Vec<ColumnInfo>, Vec<FeaturePlan>)> {
    let mut columns = Vec::new();
    let mut plans = Vec::new();
    for col in df.columns() {
        let name = col.name().to_string();
        if name == ROW {
            continue;
        }
        let missing = col.null_count() as u64;
        let mut kind = None;
        if role_of(cfg, &name) == "feature" {
            if missing == df.height() as u64 {
                return Err(steps::no_values(path, &name));
            }
            let t = steps::feature_type(cfg, &name, col, path, rows)?;
            kind = Some(steps::kind_name(t));
            plans.push((name.clone(), t, ValueType::of(col.dtype())));
        }
        columns.push(steps::column_info(
            cfg,
            &name,
            col.dtype().to_string(),
            missing,
            kind,
        ));
    }
    if plans.is_empty() {
        return Err(steps::no_features(path));
    }
    Ok((columns, plans))
}

/// The split, seeing every row at once: by `data.split.key`, or a seeded
/// shuffle, stratified by class for classification unless told otherwise.
/// In memory only: the streaming stage assigns each row by a seeded hash
/// as its batch goes by.
fn split_rows(
    cfg: &anneal_config::DataConfig,
    seed: u64,
    df: &DataFrame,
    rows: &[u64],
    task: Task,
    target: &TargetKind,
    path: &Path,
) -> Result<SplitIndices> {
    let fractions = [cfg.split.train, cfg.split.valid, cfg.split.test];
    let seed = cfg.split.seed.unwrap_or(seed);
    let s = match &cfg.split.key {
        Some(key) => {
            let keys = split_keys(df, key, path, rows)?;
            split_by_key(keys.iter().map(String::as_str), fractions, seed)
        }
        None => {
            let stratify = cfg.split.stratify.unwrap_or(task.is_classification());
            let classes = match target {
                TargetKind::Classes(_, idx) if stratify => Some(idx.as_slice()),
                _ => None,
            };
            split(df.height(), classes, fractions, seed)
        }
    };
    if s.train.is_empty() {
        return Err(steps::no_training_rows(path, df.height() as u64));
    }
    Ok(s)
}

/// The fitted features, their training profiles and their values (for the
/// transform), in the plans' order.
struct Fitted {
    features: Vec<FeatureSpec>,
    profiles: BTreeMap<String, ColumnProfile>,
    host: Vec<HostColumn>,
}

/// Fits every feature on the training rows. Columns are independent: they
/// are fitted in parallel; the first error in column order is returned.
/// The frame is consumed: each column goes once its host values are out.
fn fit_features(
    loaded: &Loaded,
    mut df: DataFrame,
    plans: &[FeaturePlan],
    rows: &[u64],
    train: &[usize],
    path: &Path,
) -> Result<Fitted> {
    let columns = plans
        .iter()
        .map(|(name, _, _)| df.drop_in_place(name))
        .collect::<PolarsResult<Vec<Column>>>()
        .map_err(|e| extract::polars_err(path, e))?;
    drop(df);
    let fitted: Vec<Result<(FeatureSpec, ColumnProfile, HostColumn)>> = plans
        .par_iter()
        .zip(columns)
        .map(|((name, t, vt), col)| fit_column(loaded, col, name, *t, *vt, rows, train, path))
        .collect();
    crate::scratch::clear();
    let mut out = Fitted {
        features: Vec::new(),
        profiles: BTreeMap::new(),
        host: Vec::new(),
    };
    for ((name, _, _), f) in plans.iter().zip(fitted) {
        let (spec, profile, values) = f?;
        out.features.push(spec);
        out.profiles.insert(name.clone(), profile);
        out.host.push(values);
    }
    Ok(out)
}

/// One feature column: its values extracted once, its training values
/// gathered (present numbers, or a count per text) and fitted and
/// profiled by the shared [`steps::fit_feature`].
#[allow(clippy::too_many_arguments)]
fn fit_column(
    loaded: &Loaded,
    col: Column,
    name: &str,
    kind: ColumnType,
    vt: ValueType,
    rows: &[u64],
    train: &[usize],
    path: &Path,
) -> Result<(FeatureSpec, ColumnProfile, HostColumn)> {
    let feature = ColumnFit {
        loaded,
        name,
        kind,
        vt,
        dtype: col.dtype().to_string(),
        train,
        path,
    };
    let fitted = match kind {
        ColumnType::Numeric | ColumnType::Boolean => {
            // The column goes: its memory becomes the values when it can.
            let values = steps::numeric_feature(col, name, path, rows)?;
            let present = steps::train_present(&values, train);
            let (spec, profile) = feature.fit(Gathered::Numeric(present))?;
            (spec, profile, HostColumn::Num(values))
        }
        _ => fit_text_column(&feature, col)?,
    };
    // What the column freed (a text column's texts, a copied column's
    // table values) goes back before the next one is extracted: about
    // 20 MiB off the stage's peak on 1M rows.
    release_freed_memory();
    Ok(fitted)
}

/// A text column fitted through its [`Dictionary`]: counted on the
/// training rows by code, and a categorical one becomes its slots at once
/// (its texts go).
fn fit_text_column(
    feature: &ColumnFit,
    col: Column,
) -> Result<(FeatureSpec, ColumnProfile, HostColumn)> {
    let values = extract::text(&col, feature.path)?;
    drop(col);
    let dict = Dictionary::of(&values);
    let (spec, profile) = feature.fit(Gathered::Text(dict.counts(feature.train)))?;
    let host = match spec.encode_dictionary(dict) {
        Some(codes) => HostColumn::Codes(codes),
        None => HostColumn::Text(values),
    };
    Ok((spec, profile, host))
}

/// What fitting one column needs besides its values.
struct ColumnFit<'a> {
    loaded: &'a Loaded,
    name: &'a str,
    kind: ColumnType,
    vt: ValueType,
    dtype: String,
    train: &'a [usize],
    path: &'a Path,
}

impl ColumnFit<'_> {
    /// The column's spec and profile from its gathered training values.
    fn fit(&self, gathered: Gathered) -> Result<(FeatureSpec, ColumnProfile)> {
        let (source_type, settings) =
            steps::fit_settings(self.loaded, self.name, self.kind, self.vt)?;
        let f = FeatureFit {
            name: self.name,
            kind: self.kind,
            source_type,
            dtype: &self.dtype,
            settings,
        };
        let max_categories = self.loaded.config.data.encode.max_categories;
        steps::fit_feature(f, gathered, self.train.len(), max_categories, self.path)
    }
}

/// Per class, its rows in train, valid and test (none for regression).
fn split_class_counts(target: &TargetKind, s: &SplitIndices) -> Vec<[u64; 3]> {
    let TargetKind::Classes(labels, idx) = target else {
        return Vec::new();
    };
    let mut counts = vec![[0u64; 3]; labels.len()];
    for (k, part) in [&s.train, &s.valid, &s.test].into_iter().enumerate() {
        for &i in part {
            if let Some(c) = idx.get(i).and_then(|&c| counts.get_mut(c as usize)) {
                c[k] += 1;
            }
        }
    }
    counts
}

/// What the training rows hold of the target.
fn train_target<'a>(
    target: &'a TargetKind,
    dtype: &DataType,
    per_class: &[[u64; 3]],
    train: &[usize],
) -> TrainTarget<'a> {
    match target {
        TargetKind::Classes(labels, _) => TrainTarget::Classes {
            labels,
            label_type: ValueType::of(dtype),
            counts: per_class.iter().map(|n| n[0]).collect(),
        },
        TargetKind::Values(y) => TrainTarget::Values(train.iter().map(|&i| y[i]).collect()),
    }
}

/// The three splits, each a selection of one transform of the whole frame
/// (the categories are encoded once). In memory only: the streaming stage
/// writes each split's matrix to a file, batch by batch.
fn split_data(
    pre: &Preprocessor,
    mut host: Vec<HostColumn>,
    target: &TargetKind,
    rows: &[u64],
    slices: &[SliceColumn],
    s: &SplitIndices,
) -> [SplitData; 3] {
    // The fit encoded the categorical columns: their codes move out.
    let codes: Vec<Option<Vec<u32>>> = host
        .iter_mut()
        .map(|col| match col {
            HostColumn::Codes(c) => Some(std::mem::take(c)),
            _ => None,
        })
        .collect();
    // Every split's matrix first, and the host values go: the memory
    // peak is the host values and the matrices, not also the splits'
    // targets and row numbers (about 10 MB on 1M rows).
    let [x_train, x_valid, x_test] =
        [&s.train, &s.valid, &s.test].map(|idx| pre.transform_encoded(&host, &codes, Some(idx)));
    drop((host, codes));
    let make = |idx: &[usize], x: Vec<f32>| -> SplitData {
        let y = match (target, &pre.target) {
            (TargetKind::Classes(_, c), _) => Targets::Classes(idx.iter().map(|&i| c[i]).collect()),
            (TargetKind::Values(v), TargetSpec::Regression { offset, scale, .. }) => {
                steps::scaled_targets(idx.iter().map(|&i| v[i]).collect(), *offset, *scale)
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
    [
        make(&s.train, x_train),
        make(&s.valid, x_valid),
        make(&s.test, x_test),
    ]
}

/// The rows of the golden examples: the first rows of the test split,
/// else of the validation split, else of the training split.
fn held_out_rows(df: &DataFrame, s: &SplitIndices, path: &Path) -> Result<DataFrame> {
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
    df.take(&IdxCa::from_vec("idx".into(), held_out))
        .map_err(|e| extract::polars_err(path, e))
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
    // Filtering copies every column, even with nothing to drop.
    if keep.all() {
        return Ok(df);
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
    // Integers that fit i64 (not UInt64), unless regressed by the config,
    // are counted and looked up by value.
    if dtype.is_integer()
        && dtype != DataType::UInt64
        && loaded.config.task.kind != TaskKind::Regression
    {
        let values = col
            .cast(&DataType::Int64)
            .map_err(|e| extract::polars_err(path, e))?;
        let values = values.i64().map_err(|e| extract::polars_err(path, e))?;
        let distinct = distinct_integers(values, loaded);
        // Counted as polars' `n_unique` counts: a missing value is one.
        let n_distinct = distinct.len() + usize::from(values.null_count() > 0);
        if classifies(loaded, &name, &dtype, n_distinct)? {
            return integer_classes(loaded, col, values, distinct, path);
        }
    }
    let n_distinct = col.n_unique().map_err(|e| extract::polars_err(path, e))?;
    if !classifies(loaded, &name, &dtype, n_distinct)? {
        let values = extract::numeric(col, path, None, "")?;
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

/// The classes of an integer target, as [`infer_task`] finds those of any
/// other: the labels are the integers' decimal texts (what polars' cast to
/// text writes), in numeric order. Looked up by value, without writing a
/// text per row (on 1M rows, 40 ms).
/// The distinct values of an integer target; under `task.type = "auto"`
/// only up to one more than `task.max_classes` (enough to know it is
/// regressed).
fn distinct_integers(values: &Int64Chunked, loaded: &Loaded) -> PlHashSet<i64> {
    let cap = match loaded.config.task.kind {
        TaskKind::Auto => loaded.config.task.max_classes.saturating_add(1),
        _ => usize::MAX,
    };
    let mut distinct = PlHashSet::new();
    for arr in values.downcast_iter() {
        for v in arr.iter().flatten() {
            if distinct.insert(*v) && distinct.len() >= cap {
                return distinct;
            }
        }
    }
    distinct
}

/// Integer class labels (their decimal texts, in numeric order) and each
/// row's label index. Labels in a small range are indexed through a table.
fn integer_classes(
    loaded: &Loaded,
    col: &Column,
    values: &Int64Chunked,
    distinct: PlHashSet<i64>,
    path: &Path,
) -> Result<(Task, TargetKind)> {
    let texts: BTreeSet<String> = distinct.iter().map(i64::to_string).collect();
    let name = col.name().to_string();
    let (task, labels) = label_task(loaded, &name, col.dtype(), texts, path)?;
    let index: Vec<(i64, u32)> = labels
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Some((l.parse::<i64>().ok()?, i as u32)))
        .collect();
    let idx = match small_range_table(&index) {
        Some((min, table)) => values
            .iter()
            .map(|v| v.and_then(|v| table.get(v.wrapping_sub(min) as usize).copied()))
            .map(|i| i.unwrap_or(0))
            .collect(),
        None => {
            let index: PlHashMap<i64, u32> = index.into_iter().collect();
            values
                .iter()
                .map(|v| v.and_then(|v| index.get(&v).copied()).unwrap_or(0))
                .collect()
        }
    };
    Ok((task, TargetKind::Classes(labels, idx)))
}

/// A lookup table from value - min to label index, when the labels span
/// at most 65,536 values (every row's value is a label).
fn small_range_table(index: &[(i64, u32)]) -> Option<(i64, Vec<u32>)> {
    let min = index.iter().map(|&(v, _)| v).min()?;
    let max = index.iter().map(|&(v, _)| v).max()?;
    let span = usize::try_from(max.checked_sub(min)?).ok()?;
    if span >= 1 << 16 {
        return None;
    }
    let mut table = vec![0u32; span + 1];
    for &(v, i) in index {
        table[(v - min) as usize] = i;
    }
    Some((min, table))
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
                // Text: even if every cell left were a number, they would
                // not reach nine in ten, so stop parsing.
                if numbers + (ca.len() - i - 1) < 9 * others {
                    return Ok(ColumnType::Categorical);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::tests::project;

    /// The tagged, block-parallel duplicate search marks exactly the rows
    /// a set of full hashes in row order marks: across blocks, for rows
    /// that are a subset of the file's, and when many different hashes
    /// share their low 32 bits (the tag).
    #[test]
    fn first_occurrences_match_a_plain_set_in_row_order() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let n = 2 * DEDUP_BLOCK + 1234;
        // Hashes from a pool of 40,000, whose tags take only 64 values.
        let pool: Vec<u128> = (0..40_000)
            .map(|_| {
                (u128::from(next()) << 64) | (u128::from(next()) << 32) | (next() % 64) as u128
            })
            .collect();
        let hashes: Vec<u128> = (0..n).map(|_| pool[(next() % 40_000) as usize]).collect();
        let rows: Vec<u64> = (0..n as u64).filter(|r| r % 7 != 3).collect();
        let got = first_occurrences(&rows, &hashes, Path::new("t.csv")).unwrap();
        let mut seen = std::collections::HashSet::new();
        let expected: Vec<bool> = rows
            .iter()
            .map(|&r| seen.insert(hashes[r as usize]))
            .collect();
        assert_eq!(got, expected);
        assert!(expected.iter().filter(|&&f| f).count() > 39_000);
    }

    /// Six rows: the fifth has no target, the sixth repeats the second.
    const CSV: &str = "x,c,flag,y\n1,a,true,no\n2,b,false,yes\n,a,true,no\n4,,false,yes\n5,a,true,\n2,b,false,yes\n";
    const ALL_TRAIN: &str = "[data.split]\ntrain = 1.0\nvalid = 0.0\ntest = 0.0\n[train.early_stopping]\nenabled = false\n";

    fn cleaned(loaded: &Loaded) -> Cleaned {
        let cfg = &loaded.config.data;
        let path = loaded.data_path();
        let table = read_table(&path, cfg.format, &cfg.csv, &[]).expect("table");
        let available = column_names(&table.df);
        assert_eq!(available, ["c", "flag", "x", "y"]);
        clean(&table, cfg, &[], &path).expect("cleaned")
    }

    #[test]
    fn labels_in_a_small_range_are_indexed_by_table() {
        let (min, table) = small_range_table(&[(-3, 0), (5, 1), (7, 2)]).expect("small");
        assert_eq!(min, -3);
        assert_eq!(table.len(), 11);
        assert_eq!([table[0], table[8], table[10]], [0, 1, 2]);
        assert!(small_range_table(&[(0, 0), (1 << 16, 1)]).is_none());
        assert!(small_range_table(&[(i64::MIN, 0), (i64::MAX, 1)]).is_none());
    }

    #[test]
    fn cleaning_counts_missing_targets_and_repeated_rows() {
        let (_, loaded) = project("mem-clean", CSV, "");
        let c = cleaned(&loaded);
        assert_eq!(c.rows, [0, 1, 2, 3, 5]);
        assert_eq!(
            (c.counts.read, c.counts.missing_target, c.counts.repeated),
            (6, 1, 1)
        );
        assert_eq!(c.counts.duplicates, 0);

        let (_, loaded) = project("mem-dedup", CSV, "[data.clean]\ndrop_duplicates = true\n");
        let c = cleaned(&loaded);
        assert_eq!(c.rows, [0, 1, 2, 3]);
        assert_eq!((c.counts.duplicates, c.counts.repeated), (1, 0));
    }

    #[test]
    fn feature_columns_record_roles_kinds_and_missing_cells() {
        let (_, loaded) = project("mem-roles", CSV, "");
        let c = cleaned(&loaded);
        let cfg = &loaded.config.data;
        let (columns, plans) =
            feature_columns(cfg, &c.df, &c.rows, &loaded.data_path()).expect("roles");
        let seen: Vec<(&str, &str, Option<&str>, u64)> = columns
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.role.as_str(),
                    c.kind.as_deref(),
                    c.missing,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("x", "feature", Some("numeric"), 1),
                ("c", "feature", Some("categorical"), 1),
                ("flag", "feature", Some("boolean"), 0),
                ("y", "target", None, 0),
            ]
        );
        assert_eq!(plans.len(), 3);
        assert_eq!(plans[2].2, ValueType::Boolean);
    }

    #[test]
    fn a_feature_without_a_value_is_an_error() {
        let (_, loaded) = project("mem-empty", "x,e,y\n1,,a\n2,,b\n", "");
        let cfg = &loaded.config.data;
        let path = loaded.data_path();
        let table = read_table(&path, cfg.format, &cfg.csv, &[]).expect("table");
        let c = clean(&table, cfg, &[], &path).expect("cleaned");
        let e = feature_columns(cfg, &c.df, &c.rows, &path).expect_err("empty column");
        assert!(
            e.to_string()
                .contains("column \"e\" has no values (every cell is missing)"),
            "{e}"
        );
    }

    #[test]
    fn a_stratified_split_cuts_each_class_on_its_own() {
        let extra = "[data.split]\ntrain = 0.6\nvalid = 0.2\ntest = 0.2\n";
        let (_, loaded) = project("mem-split", CSV, extra);
        let c = cleaned(&loaded);
        let cfg = &loaded.config.data;
        let path = loaded.data_path();
        let target = c.df.column("y").expect("target");
        let (task, kind) = infer_task(&loaded, target, &path).expect("task");
        assert_eq!(task, Task::Binary);
        let s = split_rows(cfg, 7, &c.df, &c.rows, task, &kind, &path).expect("split");
        // "no": 2 rows -> 1 train, 0 valid, 1 test; "yes": 3 rows -> 2, 1, 0.
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (3, 1, 1));
        assert_eq!(split_class_counts(&kind, &s), [[1, 0, 1], [2, 1, 0]]);
    }

    /// The two data stages run the same steps: on the same rows (all of
    /// them in training, where their splits cannot differ) they fit, profile
    /// and record the same.
    #[test]
    fn the_in_memory_and_streaming_stages_agree() {
        let extra = format!("{ALL_TRAIN}[data.clean]\ndrop_duplicates = true\n");
        let (dir, loaded) = project("parity", CSV, &extra);
        let memory = prepare(&loaded, 7).expect("in memory");
        let spill = dir.join("spill");
        std::fs::create_dir_all(&spill).expect("spill dir");
        let streamed = crate::stream::prepare(&loaded, 7, &spill).expect("streaming");
        assert_eq!(memory.preprocessor, streamed.preprocessor);
        assert_eq!(memory.profile, streamed.profile);
        assert_eq!(memory.stats, streamed.stats);
        assert_eq!(memory.train, streamed.train);
        assert!(memory.examples.equals_missing(&streamed.examples));
        let rows = &memory.stats.rows;
        assert_eq!(
            (
                rows.read,
                rows.missing_target,
                rows.duplicates,
                rows.used,
                rows.train
            ),
            (6, 1, 1, 4, 4)
        );
        assert_eq!(memory.stats.class_counts["yes"], [2, 0, 0]);
        assert_eq!(memory.profile.rows, 4);
        assert_eq!(memory.examples.height(), 4);
    }
}
