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

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anneal_config::{ColumnType, Impute, Loaded, TaskKind};
use polars::prelude::*;

use crate::error::{DataError, Result};
use crate::extract;
use crate::fingerprint::{LogicalHash, row_hashes};
use crate::matrix::MatrixWriter;
use crate::prepare::{
    EXAMPLES, Prepared, ROW, SliceColumn, SplitData, Targets, apply_filters, categorical_impute,
    categorical_source_type, check_named_columns, classifies, drop_missing_target, infer_feature,
    label_task, no_training_values, numeric_fit, numeric_source_type, regression_target, role_of,
    slice_columns, split_keys, toml_key,
};
use crate::preprocess::{
    NumericFit, Preprocessor, TargetSpec, ValueType, fit_categorical_counts, fit_numeric_present,
};
use crate::profile::{self, ColumnProfile, DataProfile};
use crate::source::Source;
use crate::split::split_of_key;
use crate::stats::{ColumnInfo, DataStats, RowCounts, SourceInfo};

/// Rows per batch handed over by polars.
const BATCH_ROWS: usize = 131_072;

/// More distinct target values than this cannot be class labels.
const MAX_LABELS: usize = 100_000;

/// Runs the data stage for `loaded` in batches, with `seed` for the split,
/// writing its temporary files under `spill` (which must exist and is left
/// to the caller to remove once the matrices are no longer used).
pub fn prepare(loaded: &Loaded, seed: u64, spill: &Path) -> Result<Prepared> {
    let cfg = &loaded.config.data;
    let data_path = loaded.data_path();
    let path = data_path.as_path();
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
    let source = Source::resolve(path, cfg.format)?;
    let as_text: Vec<String> = cfg
        .columns
        .iter()
        .filter(|(_, o)| matches!(o.kind, Some(ColumnType::Categorical | ColumnType::Id)))
        .map(|(n, _)| n.clone())
        .chain(cfg.id.iter().cloned())
        .collect();
    let scan = source.scan(&cfg.csv, &as_text, Some(ROW))?;
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
    let count_labels = forced_classes || !target_dtype.is_float();
    let spill_target = !forced_classes
        && (target_dtype.is_primitive_numeric() || target_dtype == DataType::Boolean);
    let fractions = [cfg.split.train, cfg.split.valid, cfg.split.test];
    let split_seed = cfg.split.seed.unwrap_or(seed);
    let spill_file = |name: &str| spill.join(name);

    // Pass 1: clean, split, count and collect the training values.
    let mut p1 = Pass1 {
        hash: LogicalHash::new(),
        counts: RowCounts::default(),
        seen: HashSet::new(),
        keep: Vec::new(),
        missing: vec![0; names.len()],
        plans: None,
        labels: BTreeMap::new(),
        too_many_labels: false,
        target_spill: if spill_target {
            Some(F64Spill::create(&spill_file("fit-target.f64"))?)
        } else {
            None
        },
        examples: [None, None, None],
    };
    let ctx = Ctx {
        path,
        key: cfg.split.key.as_deref(),
        fractions,
        seed: split_seed,
    };
    for_each_batch(&source, scan.clone(), |mut df| {
        p1.counts.read += df.height() as u64;
        p1.hash.add(&df).map_err(|e| source.malformed(&e))?;
        // Cleaning, as the in-memory stage does it.
        let before = df.height();
        df = drop_missing_target(df, &cfg.target, path)?;
        p1.counts.missing_target += (before - df.height()) as u64;
        let before = df.height();
        df = apply_filters(df, &filters, path)?;
        p1.counts.filtered += (before - df.height()) as u64;
        if cfg.clean.drop_duplicates {
            let hashes = row_hashes(&df).map_err(|e| source.malformed(&e))?;
            let first: BooleanChunked = hashes
                .into_iter()
                .map(|h| Some(p1.seen.insert(h)))
                .collect();
            let before = df.height();
            df = df
                .filter(&first)
                .map_err(|e| extract::polars_err(path, e))?;
            p1.counts.duplicates += (before - df.height()) as u64;
        }
        if df.height() == 0 {
            return Ok(());
        }
        let rows = row_numbers(&df, path)?;
        for &r in &rows {
            set_bit(&mut p1.keep, r);
        }
        p1.counts.used += df.height() as u64;
        for (i, name) in names.iter().enumerate() {
            if let Ok(c) = df.column(name) {
                p1.missing[i] += c.null_count() as u64;
            }
        }
        let split = ctx.assign(&df, &rows)?;
        for s in &split {
            match s {
                0 => p1.counts.train += 1,
                1 => p1.counts.valid += 1,
                _ => p1.counts.test += 1,
            }
        }
        if p1.plans.is_none() {
            p1.plans = Some(plan_features(loaded, &df, &names, &rows, spill)?);
        }
        let Some(plans) = p1.plans.as_mut() else {
            return Ok(());
        };
        let train: Vec<usize> = positions(&split, 0);
        for plan in plans.iter_mut() {
            let col = df
                .column(&plan.name)
                .map_err(|e| extract::polars_err(path, e))?;
            match &mut plan.acc {
                Acc::Numeric { spill, .. } => {
                    let hint = format!(
                        "; declare it categorical with [data.columns.{}] type = \"categorical\" if that is what it is",
                        toml_key(&plan.name)
                    );
                    let values = extract::numeric(col, path, Some(&rows), &hint)?;
                    for &i in &train {
                        if let Some(v) = values[i] {
                            spill.push(v)?;
                        }
                    }
                }
                Acc::Text { counts, .. } => {
                    let values = extract::text(col, path)?;
                    for &i in &train {
                        if let Some(v) = values.get(i) {
                            match counts.get_mut(v) {
                                Some(n) => *n += 1,
                                None => {
                                    counts.insert(v.to_string(), 1);
                                }
                            }
                        }
                    }
                }
            }
        }
        let target = df
            .column(&cfg.target)
            .map_err(|e| extract::polars_err(path, e))?;
        if count_labels && !p1.too_many_labels {
            let text = extract::text(target, path)?;
            for (v, &s) in text.iter().zip(&split) {
                if let Some(v) = v {
                    match p1.labels.get_mut(v) {
                        Some(n) => n[s as usize] += 1,
                        None => {
                            let mut n = [0u64; 3];
                            n[s as usize] = 1;
                            p1.labels.insert(v.to_string(), n);
                        }
                    }
                }
            }
            if p1.labels.len() > MAX_LABELS.max(loaded.config.task.max_classes) {
                p1.too_many_labels = true;
                p1.labels.clear();
            }
        }
        if let Some(spill) = p1.target_spill.as_mut() {
            let values = extract::numeric(target, path, Some(&rows), "")?;
            for &i in &train {
                spill.push(values[i].unwrap_or(f64::NAN))?;
            }
        }
        // The first rows of each split, for the artifact's examples.
        for (k, slot) in p1.examples.iter_mut().enumerate() {
            let have = slot.as_ref().map_or(0, DataFrame::height);
            if have >= EXAMPLES {
                continue;
            }
            let idx: Vec<IdxSize> = positions(&split, k as u8)
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
    })?;

    let counts = p1.counts.clone();
    if counts.read == 0 {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
        });
    }
    if counts.used == 0 {
        return Err(DataError::unusable(
            path,
            format!(
                "no rows left after cleaning ({} without a target, {} removed by filters, {} duplicates)",
                counts.missing_target, counts.filtered, counts.duplicates
            ),
        ));
    }
    let plans = p1.plans.take().unwrap_or_default();
    if plans.is_empty() {
        return Err(DataError::unusable(
            path,
            "no feature columns are left (every column is the target, dropped or an id)",
        ));
    }
    for plan in &plans {
        let i = names.iter().position(|n| *n == plan.name).unwrap_or(0);
        if p1.missing[i] == counts.used {
            let name = &plan.name;
            return Err(DataError::unusable(
                path,
                format!(
                    "column {name:?} has no values (every cell is missing); remove it with data.drop = [{name:?}]"
                ),
            ));
        }
    }
    if counts.train == 0 {
        return Err(DataError::unusable(
            path,
            format!(
                "the split left no training rows ({} rows); use more data or a larger data.split.train",
                counts.used
            ),
        ));
    }
    let n_train = counts.train as usize;

    // The task and the target.
    // Labels were not counted for a float target (a regression unless
    // [task] says otherwise, in which case they were).
    let n_distinct = if p1.too_many_labels || !count_labels {
        usize::MAX
    } else {
        p1.labels.len()
    };
    let classify = classifies(loaded, &cfg.target, &target_dtype, n_distinct)?;
    if classify && p1.too_many_labels {
        return Err(DataError::unusable(
            path,
            format!(
                "the target {:?} has more than {MAX_LABELS} distinct values; that is not a classification target",
                cfg.target
            ),
        ));
    }
    let mut class_counts = BTreeMap::new();
    let (task, target, target_profile, labels) = if classify {
        let distinct: BTreeSet<String> = p1.labels.keys().cloned().collect();
        let (task, labels) = label_task(loaded, &cfg.target, &target_dtype, distinct, path)?;
        for l in &labels {
            class_counts.insert(l.clone(), p1.labels.get(l).copied().unwrap_or_default());
        }
        if class_counts.values().filter(|n| n[0] > 0).count() < 2 {
            return Err(DataError::unusable(
                path,
                "the training split holds a single class; more rows or another split are needed",
            ));
        }
        let profile = profile::text_column_counts(
            &cfg.target,
            "target",
            &target_dtype.to_string(),
            labels
                .iter()
                .map(|l| (l.clone(), p1.labels.get(l).map_or(0, |n| n[0])))
                .collect(),
            n_train,
        );
        let spec = TargetSpec::Classes {
            column: cfg.target.clone(),
            labels: labels.clone(),
            label_type: ValueType::of(&target_dtype),
        };
        (task, spec, profile, Some(labels))
    } else {
        let spill = p1.target_spill.take().ok_or_else(|| {
            DataError::unusable(path, "internal error: the regression target was not kept")
        })?;
        let y = spill.read()?;
        let profile = profile::numeric_column_present(
            &cfg.target,
            "target",
            "numeric",
            &target_dtype.to_string(),
            y.clone(),
            n_train,
        );
        let spec = regression_target(&cfg.target, y);
        (crate::Task::Regression, spec, profile, None)
    };

    // Fit each feature from its training values.
    let mut features = Vec::new();
    let mut profiles: BTreeMap<String, ColumnProfile> = BTreeMap::new();
    for plan in plans {
        let dtype = schema
            .get(plan.name.as_str())
            .map(|d| d.to_string())
            .unwrap_or_default();
        match plan.acc {
            Acc::Numeric { spill, fit } => {
                let present = spill.read()?;
                profiles.insert(
                    plan.name.clone(),
                    profile::numeric_column_present(
                        &plan.name,
                        "feature",
                        if plan.kind == ColumnType::Boolean {
                            "boolean"
                        } else {
                            "numeric"
                        },
                        &dtype,
                        present.clone(),
                        n_train,
                    ),
                );
                let spec =
                    fit_numeric_present(&plan.name, plan.source_type, present, n_train, &fit)
                        .ok_or_else(|| no_training_values(path, &plan.name))?;
                features.push(spec);
            }
            Acc::Text { counts, impute } => {
                let counts: Vec<(String, u64)> = counts.into_iter().collect();
                profiles.insert(
                    plan.name.clone(),
                    profile::text_column_counts(
                        &plan.name,
                        "feature",
                        &dtype,
                        counts.clone(),
                        n_train,
                    ),
                );
                features.push(fit_categorical_counts(
                    &plan.name,
                    plan.source_type,
                    counts,
                    impute,
                    cfg.encode.max_categories,
                ));
            }
        }
    }
    let columns: Vec<ColumnInfo> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let role = role_of(cfg, name);
            let kind = features.iter().find(|f| f.column() == name).map(|f| {
                match f {
                    crate::FeatureSpec::Categorical { .. } => "categorical",
                    crate::FeatureSpec::Numeric { source_type, .. } => {
                        if *source_type == ValueType::Boolean {
                            "boolean"
                        } else {
                            "numeric"
                        }
                    }
                }
                .to_string()
            });
            ColumnInfo {
                name: name.clone(),
                role: role.into(),
                kind,
                dtype: schema
                    .get(name.as_str())
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                missing: p1.missing[i],
            }
        })
        .collect();
    let profile = DataProfile {
        rows: n_train as u64,
        columns: columns
            .iter()
            .filter_map(|c| match c.role.as_str() {
                "feature" => profiles.remove(&c.name),
                "target" => Some(target_profile.clone()),
                _ => None,
            })
            .collect(),
    };
    let preprocessor = Preprocessor {
        task,
        target,
        features,
        id_columns: columns
            .iter()
            .filter(|c| c.role == "id")
            .map(|c| c.name.clone())
            .collect(),
    };

    // Pass 2: encode the kept rows into one matrix file per split.
    let label_index: std::collections::HashMap<String, u32> = labels
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, l)| (l.clone(), i as u32))
        .collect();
    let mut out: Vec<SplitOut> = ["train", "valid", "test"]
        .iter()
        .map(|s| {
            Ok(SplitOut {
                x: MatrixWriter::create(&spill_file(&format!("x-{s}.f32")))?,
                classes: Vec::new(),
                raw: Vec::new(),
                scaled: Vec::new(),
                rows: Vec::new(),
                slices: loaded
                    .config
                    .eval
                    .slices
                    .iter()
                    .map(|c| SliceColumn {
                        column: c.clone(),
                        values: Vec::new(),
                    })
                    .collect(),
            })
        })
        .collect::<Result<_>>()?;
    let keep = std::mem::take(&mut p1.keep);
    let logical_sha256 = p1.hash.finish();
    let [ex_train, ex_valid, ex_test] = std::mem::take(&mut p1.examples);
    drop(p1);
    for_each_batch(&source, scan, |df| {
        let all = row_numbers(&df, path)?;
        let mask: BooleanChunked = all.iter().map(|&r| Some(bit(&keep, r))).collect();
        let df = df.filter(&mask).map_err(|e| extract::polars_err(path, e))?;
        if df.height() == 0 {
            return Ok(());
        }
        let rows = row_numbers(&df, path)?;
        let split = ctx.assign(&df, &rows)?;
        let host = preprocessor.extract(&df, path, Some(&rows))?;
        let target = df
            .column(&cfg.target)
            .map_err(|e| extract::polars_err(path, e))?;
        let slices = slice_columns(&df, &loaded.config.eval.slices, path)?;
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
            o.x.write(&preprocessor.transform_columns(&host, Some(&idx)))?;
            o.rows.extend(idx.iter().map(|&i| rows[i]));
            if let Some(text) = &text {
                o.classes.extend(idx.iter().map(|&i| {
                    text.get(i)
                        .and_then(|v| label_index.get(v).copied())
                        .unwrap_or(0)
                }));
            }
            if let (Some(values), TargetSpec::Regression { offset, scale, .. }) =
                (&values, &preprocessor.target)
            {
                for &i in &idx {
                    let y = values[i].unwrap_or(f64::NAN);
                    o.raw.push(y);
                    o.scaled.push(((y - offset) / scale) as f32);
                }
            }
            for (dst, src) in o.slices.iter_mut().zip(&slices) {
                dst.values.extend(src.select(&idx).values);
            }
        }
        Ok(())
    })?;
    let mut splits = out.into_iter().map(|o| {
        Ok(SplitData {
            x: o.x.finish()?,
            y: if classify {
                Targets::Classes(o.classes)
            } else {
                Targets::Values {
                    scaled: o.scaled,
                    raw: o.raw,
                }
            },
            rows: o.rows,
            slices: o.slices,
        })
    });
    let mut next = || -> Result<SplitData> {
        splits.next().unwrap_or_else(|| {
            Err(DataError::unusable(
                path,
                "internal error: a split is missing",
            ))
        })
    };
    let (train, valid, test) = (next()?, next()?, next()?);

    let keep_cols: Vec<String> = preprocessor
        .features
        .iter()
        .map(|f| f.column().to_string())
        .chain(preprocessor.id_columns.iter().cloned())
        .collect();
    // Held-out rows first, as the in-memory stage picks them.
    let examples = match [ex_test, ex_valid, ex_train].into_iter().flatten().next() {
        Some(df) => df
            .select(keep_cols)
            .map_err(|e| extract::polars_err(path, e))?,
        None => DataFrame::empty(),
    };
    let stats = DataStats {
        source: SourceInfo {
            path: cfg.path.to_string_lossy().replace('\\', "/"),
            format: format!("{:?}", source.format).to_lowercase(),
            sha256: source.sha256()?,
            logical_sha256,
            bytes: source.bytes,
        },
        rows: counts,
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

struct Ctx<'a> {
    path: &'a Path,
    key: Option<&'a str>,
    fractions: [f64; 3],
    seed: u64,
}

impl Ctx<'_> {
    /// Each row's split (0 train, 1 valid, 2 test), by a seeded hash of its
    /// key, or of its 1-based row number when there is no key column.
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

struct SplitOut {
    x: MatrixWriter,
    classes: Vec<u32>,
    raw: Vec<f64>,
    scaled: Vec<f32>,
    rows: Vec<u64>,
    slices: Vec<SliceColumn>,
}

/// A feature column and what pass 1 gathers for it.
struct Plan {
    name: String,
    kind: ColumnType,
    source_type: ValueType,
    acc: Acc,
}

enum Acc {
    /// The fit settings and the training values, spilled.
    Numeric { fit: NumericFit, spill: F64Spill },
    /// The imputation and the count per training value.
    Text {
        impute: Impute,
        counts: BTreeMap<String, u64>,
    },
}

/// Decides each feature's kind from the first rows that survive cleaning,
/// as the in-memory stage decides from the whole cleaned table.
fn plan_features(
    loaded: &Loaded,
    df: &DataFrame,
    names: &[String],
    rows: &[u64],
    spill: &Path,
) -> Result<Vec<Plan>> {
    let cfg = &loaded.config.data;
    let path = loaded.data_path();
    let mut plans = Vec::new();
    for name in names {
        if role_of(cfg, name) != "feature" {
            continue;
        }
        let declared = cfg.columns.get(name).and_then(|o| o.kind);
        let col = df.column(name).map_err(|e| extract::polars_err(&path, e))?;
        let kind = match declared {
            Some(t) => t,
            None => infer_feature(col, &path, rows)?,
        };
        let vt = ValueType::of(col.dtype());
        let plan = match kind {
            ColumnType::Numeric | ColumnType::Boolean => Plan {
                name: name.clone(),
                kind,
                source_type: numeric_source_type(kind, vt),
                acc: Acc::Numeric {
                    fit: numeric_fit(loaded, name, kind)?,
                    spill: F64Spill::create(&spill.join(format!("fit-{}.f64", plans.len())))?,
                },
            },
            _ => Plan {
                name: name.clone(),
                kind,
                source_type: categorical_source_type(kind, vt),
                acc: Acc::Text {
                    impute: categorical_impute(loaded, name)?,
                    counts: BTreeMap::new(),
                },
            },
        };
        plans.push(plan);
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

fn row_numbers(df: &DataFrame, path: &Path) -> Result<Vec<u64>> {
    df.column(ROW)
        .and_then(|c| c.cast(&DataType::UInt64))
        .and_then(|c| Ok(c.u64()?.into_no_null_iter().collect()))
        .map_err(|e| extract::polars_err(path, e))
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
