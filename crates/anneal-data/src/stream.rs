//! The data stage for data larger than memory (`[data] streaming = true`).
//!
//! The table is read twice, in batches, on polars' streaming engine (a lazy
//! scan of the file or the Hive-partitioned Parquet directory, sunk batch by
//! batch into this process), and is never held whole:
//!
//! 1. **Fit pass.** Each batch is cleaned (missing target, filters, exact
//!    duplicates by a 128-bit row hash), every row is assigned its split by
//!    a seeded hash of `data.split.key` (or of its row number), and the
//!    training rows feed mergeable statistics: per numeric column its
//!    present values (spilled to a file, read back one column at a time),
//!    per categorical column and per class a count per value. The logical
//!    hash of the table is summed batch by batch.
//! 2. **Transform pass.** The rows kept by pass 1 (a bitmap by row number)
//!    are encoded with the fitted [`Preprocessor`] and appended to one
//!    matrix file per split, which training maps into memory
//!    ([`crate::matrix::Matrix`]).
//!
//! The fit is the in-memory one, fed differently: every statistic is taken
//! over sorted values ([`crate::preprocess`]), so the same config on the same
//! data fits the same bits either way. What needs the whole table at once
//! is refused with a message naming the setting: a stratified or shuffled
//! split (the hash split replaces it) and `[data.schema]` (check it with
//! `anneal check-data`).
//!
//! Memory held per row: one bit (kept), 16 bytes while de-duplicating, the
//! targets and file row numbers of each split; per numeric column, while it
//! is fitted, 8 bytes per training row; plus one batch.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anneal_config::{ColumnType, Loaded, TaskKind};
use polars::prelude::*;

use crate::error::{DataError, Result};
use crate::extract;
use crate::fingerprint::{LogicalHash, row_hashes};
use crate::matrix::MatrixWriter;
use crate::prepare::{
    EXAMPLES, Prepared, ROW, SliceColumn, SplitData, Targets, check_named_columns, classifies,
    label_task, role_of, slice_columns, split_keys,
};
use crate::preprocess::{FeatureSpec, Preprocessor, TargetSpec, Task, ValueType};
use crate::profile::ColumnProfile;
use crate::source::Source;
use crate::split::split_of_key;
use crate::stats::{ColumnInfo, DataStats, RowCounts};
use crate::steps::{self, FeatureFit, FitSettings, Gathered, TrainTarget};

/// Rows per batch handed over by polars.
const BATCH_ROWS: usize = 131_072;

/// More distinct target values than this cannot be class labels.
const MAX_LABELS: usize = 100_000;

/// Runs the data stage for `loaded` in batches, with `seed` for the split,
/// writing its temporary files under `spill` (which must exist and is left
/// to the caller to remove once the matrices are no longer used).
///
/// The steps, in order (those in [`crate::steps`] are the in-memory
/// stage's too): refuse what needs the whole table; read the schema and
/// check the named columns; pass 1 (clean, split, gather); check what pass
/// 1 found; fit the target and the features; record; pass 2 (transform).
pub fn prepare(loaded: &Loaded, seed: u64, spill: &Path) -> Result<Prepared> {
    let cfg = &loaded.config.data;
    let data_path = loaded.data_path();
    let path = data_path.as_path();
    refuse_whole_table(loaded)?;
    let setup = Setup::new(loaded, path, seed, spill)?;
    let mut p1 = Pass1::new(&setup)?;
    for_each_batch(&setup.source, setup.scan.clone(), |df| p1.batch(&setup, df))?;
    let plans = p1.check(&setup)?;
    let n_train = p1.counts.train as usize;
    let target = fit_target(&setup, &mut p1, n_train)?;
    let (features, profiles) = fit_features(plans, &setup, n_train)?;
    let columns = column_infos(&setup, &features, &p1.missing);
    let profile = steps::data_profile(n_train, &columns, profiles, target.profile);
    let preprocessor = steps::preprocessor(target.task, target.spec, features, &columns);
    let Kept {
        counts,
        keep,
        logical_sha256,
        examples: [ex_train, ex_valid, ex_test],
    } = p1.finish();
    let [train, valid, test] =
        transform_pass(&setup, &preprocessor, &keep, target.labels.as_deref())?;
    // Held-out rows first, as the in-memory stage picks them.
    let examples = match [ex_test, ex_valid, ex_train].into_iter().flatten().next() {
        Some(df) => steps::examples(&df, &preprocessor, path)?,
        None => DataFrame::empty(),
    };
    let source = &setup.source;
    let stats = DataStats {
        source: steps::source_info(
            cfg,
            source.format,
            source.sha256()?,
            logical_sha256,
            source.bytes,
        ),
        rows: counts,
        columns,
        class_counts: target.class_counts,
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

/// Streaming only: what needs the whole table at once is refused, naming
/// the setting (the in-memory stage runs the contract and a stratified
/// split on its frame).
fn refuse_whole_table(loaded: &Loaded) -> Result<()> {
    let cfg = &loaded.config.data;
    if !cfg.schema.is_empty() {
        return Err(loaded
            .error_at(
                "data.schema",
                "the contract is checked on the whole table, which data.streaming = true never holds; check it with `anneal check-data` or train without streaming",
            )
            .into());
    }
    if cfg.split.stratify == Some(true) {
        return Err(loaded
            .error_at(
                "data.split.stratify",
                "a stratified split needs every row's class at once; with data.streaming = true rows are split by a hash of data.split.key (or of the row number)",
            )
            .into());
    }
    Ok(())
}

/// What the stage knows before its first batch: the source and its scan,
/// the columns, the parsed filters and how the target is gathered.
struct Setup<'a> {
    loaded: &'a Loaded,
    path: &'a Path,
    spill: &'a Path,
    source: Source,
    scan: LazyFrame,
    schema: SchemaRef,
    /// The file's columns, in order.
    names: Vec<String>,
    filters: Vec<(String, Expr)>,
    target_dtype: DataType,
    /// Whether the target's values are counted (it may be a class).
    count_labels: bool,
    /// Whether the target's training values are kept (it may be regressed).
    spill_target: bool,
    split: Ctx<'a>,
}

impl<'a> Setup<'a> {
    fn new(loaded: &'a Loaded, path: &'a Path, seed: u64, spill: &'a Path) -> Result<Setup<'a>> {
        let cfg = &loaded.config.data;
        let source = Source::resolve(path, cfg.format)?;
        let scan = source.scan(&cfg.csv, &steps::text_columns(cfg), Some(ROW))?;
        let schema = scan
            .clone()
            .collect_schema()
            .map_err(|e| source.malformed(&e))?;
        let names: Vec<String> = schema
            .iter_names()
            .map(|n| n.to_string())
            .filter(|n| n != ROW)
            .collect();
        let filters = check_named_columns(loaded, path, &names)?;
        let target_dtype = schema
            .get(cfg.target.as_str())
            .cloned()
            .unwrap_or(DataType::Null);
        let forced_classes = matches!(
            loaded.config.task.kind,
            TaskKind::Binary | TaskKind::Multiclass
        );
        Ok(Setup {
            loaded,
            path,
            spill,
            count_labels: forced_classes || !target_dtype.is_float(),
            spill_target: !forced_classes
                && (target_dtype.is_primitive_numeric() || target_dtype == DataType::Boolean),
            source,
            scan,
            schema,
            names,
            filters,
            target_dtype,
            split: Ctx {
                path,
                key: cfg.split.key.as_deref(),
                fractions: [cfg.split.train, cfg.split.valid, cfg.split.test],
                seed: cfg.split.seed.unwrap_or(seed),
            },
        })
    }

    /// The polars type of column `name`, as reports write it.
    fn dtype(&self, name: &str) -> String {
        self.schema
            .get(name)
            .map(|d| d.to_string())
            .unwrap_or_default()
    }
}

struct Ctx<'a> {
    path: &'a Path,
    key: Option<&'a str>,
    fractions: [f64; 3],
    seed: u64,
}

impl Ctx<'_> {
    /// Each row's split (0 train, 1 valid, 2 test), by a seeded hash of its
    /// key, or of its 1-based row number when there is no key column.
    /// Streaming only: the in-memory stage shuffles the whole table.
    fn assign(&self, df: &DataFrame, rows: &[u64]) -> Result<Vec<u8>> {
        Ok(match self.key {
            Some(key) => split_keys(df, key, self.path, rows)?
                .iter()
                .map(|k| split_of_key(k, self.fractions, self.seed) as u8)
                .collect(),
            None => rows
                .iter()
                .map(|r| split_of_key(&(r + 1).to_string(), self.fractions, self.seed) as u8)
                .collect(),
        })
    }
}

/// What pass 1 gathers, batch by batch.
struct Pass1 {
    hash: LogicalHash,
    counts: RowCounts,
    seen: HashSet<u128>,
    keep: Vec<u64>,
    missing: Vec<u64>,
    plans: Option<Vec<Plan>>,
    labels: BTreeMap<String, [u64; 3]>,
    too_many_labels: bool,
    target_spill: Option<F64Spill>,
    examples: [Option<DataFrame>; 3],
}

/// What pass 2 and the result need of pass 1.
struct Kept {
    counts: RowCounts,
    keep: Vec<u64>,
    logical_sha256: String,
    examples: [Option<DataFrame>; 3],
}

impl Pass1 {
    fn new(setup: &Setup) -> Result<Pass1> {
        Ok(Pass1 {
            hash: LogicalHash::new(),
            counts: RowCounts::default(),
            seen: HashSet::new(),
            keep: Vec::new(),
            missing: vec![0; setup.names.len()],
            plans: None,
            labels: BTreeMap::new(),
            too_many_labels: false,
            target_spill: if setup.spill_target {
                Some(F64Spill::create(&setup.spill.join("fit-target.f64"))?)
            } else {
                None
            },
            examples: [None, None, None],
        })
    }

    /// One batch: clean it, split it, count it and gather its training
    /// values.
    fn batch(&mut self, setup: &Setup, df: DataFrame) -> Result<()> {
        let Some((df, rows)) = self.clean(setup, df)? else {
            return Ok(());
        };
        let split = setup.split.assign(&df, &rows)?;
        for s in &split {
            match s {
                0 => self.counts.train += 1,
                1 => self.counts.valid += 1,
                _ => self.counts.test += 1,
            }
        }
        if self.plans.is_none() {
            self.plans = Some(plan_features(setup, &df, &rows)?);
        }
        let train = positions(&split, 0);
        self.gather_features(&df, &rows, &train, setup.path)?;
        self.gather_target(setup, &df, &rows, &split, &train)?;
        self.keep_examples(&df, &split, setup.path)
    }

    /// Cleaning, as the in-memory stage does it; the rows left (none: `None`)
    /// with their file rows, recorded as kept.
    fn clean(&mut self, setup: &Setup, df: DataFrame) -> Result<Option<(DataFrame, Vec<u64>)>> {
        let cfg = &setup.loaded.config.data;
        let (path, source) = (setup.path, &setup.source);
        self.counts.read += df.height() as u64;
        self.hash.add(&df).map_err(|e| source.malformed(&e))?;
        let mut df = steps::drop_untargeted_and_filtered(
            df,
            &cfg.target,
            &setup.filters,
            path,
            &mut self.counts,
        )?;
        if cfg.clean.drop_duplicates {
            df = self.drop_seen(df, setup)?;
        }
        if df.height() == 0 {
            return Ok(None);
        }
        let rows = steps::row_numbers(&df, path)?;
        for &r in &rows {
            set_bit(&mut self.keep, r);
        }
        self.counts.used += df.height() as u64;
        for (i, name) in setup.names.iter().enumerate() {
            if let Ok(c) = df.column(name) {
                self.missing[i] += c.null_count() as u64;
            }
        }
        Ok(Some((df, rows)))
    }

    /// `df` without the rows seen before (in this batch or an earlier one),
    /// by a 128-bit hash per row. Streaming only: the in-memory stage
    /// compares the rows of its whole frame.
    fn drop_seen(&mut self, df: DataFrame, setup: &Setup) -> Result<DataFrame> {
        let hashes = row_hashes(&df).map_err(|e| setup.source.malformed(&e))?;
        let first: BooleanChunked = hashes
            .into_iter()
            .map(|h| Some(self.seen.insert(h)))
            .collect();
        let before = df.height();
        let df = df
            .filter(&first)
            .map_err(|e| extract::polars_err(setup.path, e))?;
        self.counts.duplicates += (before - df.height()) as u64;
        Ok(df)
    }

    /// Each feature's training values at the positions `train`: numbers
    /// spilled to its file, texts counted.
    fn gather_features(
        &mut self,
        df: &DataFrame,
        rows: &[u64],
        train: &[usize],
        path: &Path,
    ) -> Result<()> {
        let Some(plans) = self.plans.as_mut() else {
            return Ok(());
        };
        for plan in plans.iter_mut() {
            let col = df
                .column(&plan.name)
                .map_err(|e| extract::polars_err(path, e))?;
            match &mut plan.acc {
                Acc::Numeric(spill) => {
                    let values = steps::numeric_feature(col.clone(), &plan.name, path, rows)?;
                    for v in steps::train_present(&values, train) {
                        spill.push(v)?;
                    }
                }
                Acc::Text(counts) => {
                    let values = extract::text(col, path)?;
                    for (v, n) in steps::train_counts(&values, train) {
                        *counts.entry(v).or_default() += n;
                    }
                }
            }
        }
        Ok(())
    }

    /// The target: its count per value and split (until there are too many
    /// to be classes), and its training values when it may be regressed.
    fn gather_target(
        &mut self,
        setup: &Setup,
        df: &DataFrame,
        rows: &[u64],
        split: &[u8],
        train: &[usize],
    ) -> Result<()> {
        let path = setup.path;
        let target = df
            .column(&setup.loaded.config.data.target)
            .map_err(|e| extract::polars_err(path, e))?;
        if setup.count_labels && !self.too_many_labels {
            let text = extract::text(target, path)?;
            for (v, &s) in text.iter().zip(split) {
                if let Some(v) = v {
                    match self.labels.get_mut(v) {
                        Some(n) => n[s as usize] += 1,
                        None => {
                            let mut n = [0u64; 3];
                            n[s as usize] = 1;
                            self.labels.insert(v.to_string(), n);
                        }
                    }
                }
            }
            if self.labels.len() > MAX_LABELS.max(setup.loaded.config.task.max_classes) {
                self.too_many_labels = true;
                self.labels.clear();
            }
        }
        if let Some(spill) = self.target_spill.as_mut() {
            let values = extract::numeric(target, path, Some(rows), "")?;
            for &i in train {
                spill.push(values[i])?;
            }
        }
        Ok(())
    }

    /// The first rows of each split, for the artifact's examples.
    fn keep_examples(&mut self, df: &DataFrame, split: &[u8], path: &Path) -> Result<()> {
        for (k, slot) in self.examples.iter_mut().enumerate() {
            let have = slot.as_ref().map_or(0, DataFrame::height);
            if have >= EXAMPLES {
                continue;
            }
            let idx: Vec<IdxSize> = positions(split, k as u8)
                .into_iter()
                .take(EXAMPLES - have)
                .map(|i| i as IdxSize)
                .collect();
            if idx.is_empty() {
                continue;
            }
            let rows = df
                .take(&IdxCa::from_vec("idx".into(), idx))
                .map_err(|e| extract::polars_err(path, e))?;
            *slot = Some(match slot.take() {
                Some(mut d) => {
                    d.vstack_mut(&rows)
                        .map_err(|e| extract::polars_err(path, e))?;
                    d
                }
                None => rows,
            });
        }
        Ok(())
    }

    /// What can only be told once every batch went by: no rows, no rows
    /// left, no features, a feature without a value, no training rows. The
    /// feature plans, taken.
    fn check(&mut self, setup: &Setup) -> Result<Vec<Plan>> {
        let (path, counts) = (setup.path, &self.counts);
        if counts.read == 0 {
            return Err(DataError::NoRows {
                path: path.to_path_buf(),
            });
        }
        if counts.used == 0 {
            return Err(steps::no_rows_left(path, counts));
        }
        let plans = self.plans.take().unwrap_or_default();
        if plans.is_empty() {
            return Err(steps::no_features(path));
        }
        for plan in &plans {
            let i = setup
                .names
                .iter()
                .position(|n| *n == plan.name)
                .unwrap_or(0);
            if self.missing[i] == counts.used {
                return Err(steps::no_values(path, &plan.name));
            }
        }
        if counts.train == 0 {
            return Err(steps::no_training_rows(path, counts.used));
        }
        Ok(plans)
    }

    /// What pass 2 and the result need; the rest (the row hashes seen, the
    /// label counts) is freed before pass 2.
    fn finish(self) -> Kept {
        Kept {
            counts: self.counts,
            keep: self.keep,
            logical_sha256: self.hash.finish(),
            examples: self.examples,
        }
    }
}

/// The task, the fitted target with its profile, the labels in order (for
/// classification) and the class counts per split.
struct FittedTarget {
    task: Task,
    spec: TargetSpec,
    profile: ColumnProfile,
    labels: Option<Vec<String>>,
    class_counts: BTreeMap<String, [u64; 3]>,
}

/// Decides the task from the counted labels (streaming only: the in-memory
/// stage counts the target's distinct values on its frame) and fits the
/// target with the shared [`steps::fit_target`].
fn fit_target(setup: &Setup, p1: &mut Pass1, n_train: usize) -> Result<FittedTarget> {
    let (loaded, path) = (setup.loaded, setup.path);
    let name = &loaded.config.data.target;
    let dtype = setup.target_dtype.to_string();
    // Labels were not counted for a float target (a regression unless
    // [task] says otherwise, in which case they were).
    let n_distinct = if p1.too_many_labels || !setup.count_labels {
        usize::MAX
    } else {
        p1.labels.len()
    };
    let classify = classifies(loaded, name, &setup.target_dtype, n_distinct)?;
    if classify && p1.too_many_labels {
        return Err(DataError::unusable(
            path,
            format!(
                "the target {name:?} has more than {MAX_LABELS} distinct values; that is not a classification target"
            ),
        ));
    }
    if !classify {
        let spill = p1.target_spill.take().ok_or_else(|| {
            DataError::unusable(path, "internal error: the regression target was not kept")
        })?;
        let y = TrainTarget::Values(spill.read()?);
        let (spec, profile) = steps::fit_target(name, &dtype, y, n_train);
        return Ok(FittedTarget {
            task: Task::Regression,
            spec,
            profile,
            labels: None,
            class_counts: BTreeMap::new(),
        });
    }
    let distinct: BTreeSet<String> = p1.labels.keys().cloned().collect();
    let (task, labels) = label_task(loaded, name, &setup.target_dtype, distinct, path)?;
    let per_split = |l: &String| p1.labels.get(l).copied().unwrap_or_default();
    let class_counts = steps::class_counts(&labels, |k| per_split(&labels[k]), path)?;
    let train = TrainTarget::Classes {
        labels: &labels,
        label_type: ValueType::of(&setup.target_dtype),
        counts: labels.iter().map(|l| per_split(l)[0]).collect(),
    };
    let (spec, profile) = steps::fit_target(name, &dtype, train, n_train);
    Ok(FittedTarget {
        task,
        spec,
        profile,
        labels: Some(labels),
        class_counts,
    })
}

/// Fits each feature from its training values with the shared
/// [`steps::fit_feature`], one column at a time: a numeric column's values
/// are read back from its spill file only while it is fitted (streaming
/// only: it bounds memory to one column's training values).
fn fit_features(
    plans: Vec<Plan>,
    setup: &Setup,
    n_train: usize,
) -> Result<(Vec<FeatureSpec>, BTreeMap<String, ColumnProfile>)> {
    let max_categories = setup.loaded.config.data.encode.max_categories;
    let mut features = Vec::new();
    let mut profiles: BTreeMap<String, ColumnProfile> = BTreeMap::new();
    for plan in plans {
        let dtype = setup.dtype(&plan.name);
        let gathered = match plan.acc {
            Acc::Numeric(spill) => Gathered::Numeric(spill.read()?),
            Acc::Text(counts) => Gathered::Text(counts.into_iter().collect()),
        };
        let f = FeatureFit {
            name: &plan.name,
            kind: plan.kind,
            source_type: plan.source_type,
            dtype: &dtype,
            settings: plan.settings,
        };
        let (spec, profile) = steps::fit_feature(f, gathered, n_train, max_categories, setup.path)?;
        profiles.insert(plan.name.clone(), profile);
        features.push(spec);
    }
    crate::scratch::clear();
    Ok((features, profiles))
}

/// What is recorded of every column, its missing cells counted by pass 1.
fn column_infos(setup: &Setup, features: &[FeatureSpec], missing: &[u64]) -> Vec<ColumnInfo> {
    setup
        .names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let kind = features.iter().find(|f| f.column() == name).map(spec_kind);
            steps::column_info(
                &setup.loaded.config.data,
                name,
                setup.dtype(name),
                missing[i],
                kind,
            )
        })
        .collect()
}

/// A feature's kind as reports write it, read from its fitted spec.
/// Streaming only, and kept as it was: the in-memory stage names the
/// declared or inferred kind ([`steps::kind_name`]), which differs for a
/// boolean column declared `numeric` (`numeric` there, `boolean` here).
fn spec_kind(spec: &FeatureSpec) -> &'static str {
    match spec {
        FeatureSpec::Categorical { .. } => "categorical",
        FeatureSpec::Numeric { source_type, .. } => {
            if *source_type == ValueType::Boolean {
                "boolean"
            } else {
                "numeric"
            }
        }
    }
}

/// One split's output, written as pass 2 goes.
struct SplitOut {
    x: MatrixWriter,
    classes: Vec<u32>,
    raw: Vec<f64>,
    rows: Vec<u64>,
    slices: Vec<SliceColumn>,
}

/// Pass 2, streaming only: the rows kept by pass 1 are encoded batch by
/// batch with the fitted preprocessing and appended to one matrix file per
/// split, which training maps into memory (the in-memory stage transforms
/// its frame at once).
fn transform_pass(
    setup: &Setup,
    pre: &Preprocessor,
    keep: &[u64],
    labels: Option<&[String]>,
) -> Result<[SplitData; 3]> {
    let slices = &setup.loaded.config.eval.slices;
    let mut out: Vec<SplitOut> = ["train", "valid", "test"]
        .iter()
        .map(|s| {
            Ok(SplitOut {
                x: MatrixWriter::create(&setup.spill.join(format!("x-{s}.f32")))?,
                classes: Vec::new(),
                raw: Vec::new(),
                rows: Vec::new(),
                slices: slices
                    .iter()
                    .map(|c| SliceColumn {
                        column: c.clone(),
                        values: Vec::new(),
                    })
                    .collect(),
            })
        })
        .collect::<Result<_>>()?;
    let label_index: HashMap<String, u32> = labels
        .iter()
        .copied()
        .flatten()
        .enumerate()
        .map(|(i, l)| (l.clone(), i as u32))
        .collect();
    let classify = labels.is_some();
    for_each_batch(&setup.source, setup.scan.clone(), |df| {
        transform_batch(setup, pre, keep, classify, &label_index, &mut out, df)
    })?;
    let splits = out
        .into_iter()
        .map(|o| {
            Ok(SplitData {
                x: o.x.finish()?,
                y: match (classify, &pre.target) {
                    (true, _) => Targets::Classes(o.classes),
                    (false, TargetSpec::Regression { offset, scale, .. }) => {
                        steps::scaled_targets(o.raw, *offset, *scale)
                    }
                    (false, _) => Targets::Values {
                        scaled: Vec::new(),
                        raw: Vec::new(),
                    },
                },
                rows: o.rows,
                slices: o.slices,
            })
        })
        .collect::<Result<Vec<SplitData>>>()?;
    <[SplitData; 3]>::try_from(splits)
        .map_err(|_| DataError::unusable(setup.path, "internal error: a split is missing"))
}

/// One batch of pass 2: its kept rows, transformed and appended to their
/// splits with their targets, file rows and slice values.
fn transform_batch(
    setup: &Setup,
    pre: &Preprocessor,
    keep: &[u64],
    classify: bool,
    label_index: &HashMap<String, u32>,
    out: &mut [SplitOut],
    df: DataFrame,
) -> Result<()> {
    let path = setup.path;
    let all = steps::row_numbers(&df, path)?;
    let mask: BooleanChunked = all.iter().map(|&r| Some(bit(keep, r))).collect();
    let df = df.filter(&mask).map_err(|e| extract::polars_err(path, e))?;
    if df.height() == 0 {
        return Ok(());
    }
    let rows = steps::row_numbers(&df, path)?;
    let split = setup.split.assign(&df, &rows)?;
    let host = pre.extract(&df, path, Some(&rows))?;
    let target = df
        .column(&setup.loaded.config.data.target)
        .map_err(|e| extract::polars_err(path, e))?;
    let slices = slice_columns(&df, &setup.loaded.config.eval.slices, path)?;
    let (text, values) = if classify {
        (Some(extract::text(target, path)?), None)
    } else {
        (None, Some(extract::numeric(target, path, Some(&rows), "")?))
    };
    for (k, o) in out.iter_mut().enumerate() {
        let idx = positions(&split, k as u8);
        if idx.is_empty() {
            continue;
        }
        o.x.write(&pre.transform_columns(&host, Some(&idx)))?;
        o.rows.extend(idx.iter().map(|&i| rows[i]));
        if let Some(text) = &text {
            o.classes.extend(idx.iter().map(|&i| {
                text.get(i)
                    .and_then(|v| label_index.get(v).copied())
                    .unwrap_or(0)
            }));
        }
        if let (Some(values), TargetSpec::Regression { .. }) = (&values, &pre.target) {
            o.raw.extend(idx.iter().map(|&i| values[i]));
        }
        for (dst, src) in o.slices.iter_mut().zip(&slices) {
            dst.values.extend(src.select(&idx).values);
        }
    }
    Ok(())
}

/// A feature column and what pass 1 gathers for it.
struct Plan {
    name: String,
    kind: ColumnType,
    source_type: ValueType,
    settings: FitSettings,
    acc: Acc,
}

/// A feature's training values as pass 1 gathers them.
enum Acc {
    /// The present values, spilled.
    Numeric(F64Spill),
    /// The count per value.
    Text(BTreeMap<String, u64>),
}

/// Decides each feature's kind from the first rows that survive cleaning,
/// as the in-memory stage decides from the whole cleaned table.
fn plan_features(setup: &Setup, df: &DataFrame, rows: &[u64]) -> Result<Vec<Plan>> {
    let loaded = setup.loaded;
    let cfg = &loaded.config.data;
    let path = setup.path;
    let mut plans = Vec::new();
    for name in &setup.names {
        if role_of(cfg, name) != "feature" {
            continue;
        }
        let col = df.column(name).map_err(|e| extract::polars_err(path, e))?;
        let kind = steps::feature_type(cfg, name, col, path, rows)?;
        let (source_type, settings) =
            steps::fit_settings(loaded, name, kind, ValueType::of(col.dtype()))?;
        let acc = match settings {
            FitSettings::Numeric(_) => Acc::Numeric(F64Spill::create(
                &setup.spill.join(format!("fit-{}.f64", plans.len())),
            )?),
            FitSettings::Text(_) => Acc::Text(BTreeMap::new()),
        };
        plans.push(Plan {
            name: name.clone(),
            kind,
            source_type,
            settings,
            acc,
        });
    }
    Ok(plans)
}

/// Training values of one column, spilled to a file as they arrive.
struct F64Spill {
    out: BufWriter<File>,
    path: PathBuf,
    len: usize,
}

impl F64Spill {
    fn create(path: &Path) -> Result<F64Spill> {
        let file = File::create(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(F64Spill {
            out: BufWriter::with_capacity(1 << 16, file),
            path: path.to_path_buf(),
            len: 0,
        })
    }

    fn push(&mut self, v: f64) -> Result<()> {
        self.len += 1;
        self.out
            .write_all(&v.to_le_bytes())
            .map_err(|source| DataError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Every value pushed, in order; the file is removed.
    fn read(mut self) -> Result<Vec<f64>> {
        let io = |source| DataError::Io {
            path: self.path.clone(),
            source,
        };
        self.out.flush().map_err(io)?;
        let raw = std::fs::read(&self.path).map_err(io)?;
        let _ = std::fs::remove_file(&self.path);
        let mut out = Vec::with_capacity(self.len);
        out.extend(
            raw.chunks_exact(8)
                .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])),
        );
        Ok(out)
    }
}

/// Runs `scan` on polars' streaming engine and calls `f` on each batch, in
/// order. The engine runs on its own thread and hands batches over a
/// channel of one slot, so at most two batches are alive at once.
fn for_each_batch(
    source: &Source,
    scan: LazyFrame,
    mut f: impl FnMut(DataFrame) -> Result<()>,
) -> Result<()> {
    enum Msg {
        Batch(DataFrame),
        Done(std::result::Result<PolarsResult<()>, String>),
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(1);
    let batches = tx.clone();
    let plan = scan
        .sink_batches(
            PlanCallback::new(move |df: DataFrame| {
                // `true` stops the query: the consumer has gone.
                Ok(batches.send(Msg::Batch(df)).is_err())
            }),
            true,
            NonZeroUsize::new(BATCH_ROWS),
        )
        .map_err(|e| source.malformed(&e))?;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let result =
                crate::guard::no_panic(|| plan.collect_with_engine(Engine::Streaming).map(|_| ()));
            let _ = tx.send(Msg::Done(result));
        });
        let mut failed = None;
        for msg in rx.iter() {
            match msg {
                Msg::Batch(df) => {
                    if let Err(e) = f(df) {
                        failed = Some(e);
                        break;
                    }
                }
                Msg::Done(Ok(Ok(()))) => break,
                Msg::Done(Ok(Err(e))) => {
                    failed = Some(source.malformed(&e));
                    break;
                }
                Msg::Done(Err(panic)) => {
                    failed = Some(DataError::Malformed {
                        path: source.path.clone(),
                        format: crate::read::format_name(source.format),
                        detail: format!("the reader failed ({panic})"),
                    });
                    break;
                }
            }
        }
        // Dropping the receiver ends the query at its next batch.
        drop(rx);
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })
}

fn positions(split: &[u8], k: u8) -> Vec<usize> {
    split
        .iter()
        .enumerate()
        .filter(|&(_, &s)| s == k)
        .map(|(i, _)| i)
        .collect()
}

fn set_bit(bits: &mut Vec<u64>, i: u64) {
    let word = (i / 64) as usize;
    if bits.len() <= word {
        bits.resize(word + 1, 0);
    }
    bits[word] |= 1 << (i % 64);
}

fn bit(bits: &[u64], i: u64) -> bool {
    bits.get((i / 64) as usize)
        .is_some_and(|w| w & (1 << (i % 64)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::tests::project;

    #[test]
    fn bits_and_positions() {
        let mut bits = Vec::new();
        for i in [0, 63, 64, 200] {
            set_bit(&mut bits, i);
        }
        assert_eq!(bits.len(), 4);
        let set: Vec<u64> = (0..256).filter(|&i| bit(&bits, i)).collect();
        assert_eq!(set, [0, 63, 64, 200]);
        assert!(!bit(&bits, 10_000));
        assert_eq!(positions(&[0, 2, 0, 1, 2], 2), [1, 4]);
        assert_eq!(positions(&[0, 2, 0, 1, 2], 0), [0, 2]);
    }

    #[test]
    fn what_needs_the_whole_table_is_refused() {
        let (_, loaded) = project(
            "stream-refuse",
            "x,y\n1,a\n",
            "[data.schema.columns.x]\ntype = \"numeric\"\n",
        );
        let e = refuse_whole_table(&loaded).expect_err("schema");
        assert!(e.to_string().contains("data.schema"), "{e}");
        let (_, loaded) = project(
            "stream-stratify",
            "x,y\n1,a\n",
            "[data.split]\nstratify = true\n",
        );
        let e = refuse_whole_table(&loaded).expect_err("stratify");
        assert!(e.to_string().contains("a stratified split needs"), "{e}");
        let (_, loaded) = project("stream-ok", "x,y\n1,a\n", "");
        assert!(refuse_whole_table(&loaded).is_ok());
    }

    #[test]
    fn pass_one_counts_and_checks() {
        let csv = "x,c,y\n1,a,no\n2,b,yes\n,a,no\n4,,yes\n5,a,\n2,b,yes\n";
        let extra = "[data.split]\ntrain = 1.0\nvalid = 0.0\ntest = 0.0\n[train.early_stopping]\nenabled = false\n";
        let (dir, loaded) = project("stream-pass1", csv, extra);
        let path = loaded.data_path();
        let setup = Setup::new(&loaded, &path, 7, &dir).expect("setup");
        assert_eq!(setup.names, ["x", "c", "y"]);
        assert!(setup.count_labels && !setup.spill_target);
        let mut p1 = Pass1::new(&setup).expect("pass 1");
        for_each_batch(&setup.source, setup.scan.clone(), |df| p1.batch(&setup, df))
            .expect("batches");
        let c = &p1.counts;
        assert_eq!(
            (c.read, c.missing_target, c.used, c.train, c.duplicates),
            (6, 1, 5, 5, 0)
        );
        assert_eq!(p1.missing, [1, 1, 0]);
        assert_eq!(p1.labels["yes"], [3, 0, 0]);
        let plans = p1.check(&setup).expect("checked");
        let kinds: Vec<ColumnType> = plans.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ColumnType::Numeric, ColumnType::Categorical]);
        let kept = p1.finish();
        // Row 4 (no target) is not kept.
        assert_eq!(kept.keep, [0b101111]);
        assert_eq!(kept.examples[0].as_ref().map(DataFrame::height), Some(5));
    }
}
