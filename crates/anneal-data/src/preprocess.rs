//! The fitted preprocessing: plain data that says, per input column, how a
//! raw value becomes model inputs. It maps one-to-one onto ONNX-ML's
//! Imputer, Scaler and OneHotEncoder, and is stored in the artifact as JSON.

use std::path::Path;

use anneal_config::Impute;
use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dictionary::Dictionary;
use crate::error::{DataError, Result};
use crate::extract;
use crate::layout::{InputLayout, Segment, store_f64};

/// What the model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Binary,
    Multiclass,
    Regression,
}

impl Task {
    pub fn is_classification(self) -> bool {
        !matches!(self, Task::Regression)
    }

    pub fn name(self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::Multiclass => "multiclass",
            Task::Regression => "regression",
        }
    }
}

/// Column value types in MLflow's column-spec vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    String,
    Long,
    Double,
    Boolean,
}

impl ValueType {
    pub fn of(dtype: &DataType) -> ValueType {
        match dtype {
            DataType::Boolean => ValueType::Boolean,
            DataType::Float32 | DataType::Float64 => ValueType::Double,
            d if d.is_integer() => ValueType::Long,
            _ => ValueType::String,
        }
    }
}

/// The target: class labels in output order, or the scaling of a
/// regression target (the model predicts `(y - offset) / scale`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetSpec {
    Classes {
        column: String,
        labels: Vec<String>,
        label_type: ValueType,
    },
    Regression {
        column: String,
        offset: f64,
        scale: f64,
    },
}

impl TargetSpec {
    pub fn column(&self) -> &str {
        match self {
            TargetSpec::Classes { column, .. } | TargetSpec::Regression { column, .. } => column,
        }
    }
}

/// One input column's transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeatureSpec {
    /// `((clip(value or fill)) - offset) / scale`, plus an optional 0/1
    /// missing indicator, plus, with `bins` (edges `e_0 < ... < e_T` of
    /// the clipped, filled value), its piecewise-linear encoding: `T`
    /// inputs, input `t` = `(x - e_t) / (e_{t+1} - e_t)` clamped to [0, 1],
    /// except that the first is not clamped below and the last not above
    /// (Gorishniy et al., "On Embeddings for Numerical Features in Tabular
    /// Deep Learning", 2022).
    Numeric {
        column: String,
        source_type: ValueType,
        impute: Impute,
        fill: f64,
        indicator: bool,
        clip: Option<[f64; 2]>,
        offset: f64,
        scale: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bins: Option<Vec<f64>>,
    },
    /// One-hot over `categories`, then a `missing` slot when missing values
    /// are a category of their own (`missing_fill` absent), then an
    /// `unknown` slot for values not seen in training. With `embedded`, the
    /// network sees the slot itself (one input) and looks up a learned
    /// vector per slot instead.
    Categorical {
        column: String,
        source_type: ValueType,
        categories: Vec<String>,
        missing_fill: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        embedded: bool,
    },
}

impl FeatureSpec {
    pub fn column(&self) -> &str {
        match self {
            FeatureSpec::Numeric { column, .. } | FeatureSpec::Categorical { column, .. } => column,
        }
    }

    pub fn source_type(&self) -> ValueType {
        match self {
            FeatureSpec::Numeric { source_type, .. }
            | FeatureSpec::Categorical { source_type, .. } => *source_type,
        }
    }

    /// The network inputs this column becomes.
    fn width(&self) -> usize {
        match self {
            FeatureSpec::Numeric {
                indicator, bins, ..
            } => 1 + usize::from(*indicator) + bins.as_ref().map_or(0, |e| e.len() - 1),
            FeatureSpec::Categorical { embedded: true, .. } => 1,
            FeatureSpec::Categorical { .. } => self.slots(),
        }
    }

    /// A categorical column's slots: its categories, the missing slot when
    /// missing values are a category of their own, the unknown slot (0 for
    /// a numeric column).
    pub fn slots(&self) -> usize {
        match self {
            FeatureSpec::Numeric { .. } => 0,
            FeatureSpec::Categorical {
                categories,
                missing_fill,
                ..
            } => categories.len() + usize::from(missing_fill.is_none()) + 1,
        }
    }

    /// How this column's stored cells become its inputs (see
    /// [`crate::layout`]): the scaled value and the indicator as they are,
    /// the piecewise-linear pieces from the value's `f64` bits, a one-hot
    /// block from the slot, or the slot itself for an embedding.
    fn segments(&self) -> Vec<Segment> {
        match self {
            FeatureSpec::Numeric {
                indicator,
                bins,
                offset,
                scale,
                ..
            } => match bins {
                Some(edges) => vec![Segment::Pieces {
                    shift: *offset,
                    scale: *scale,
                    indicator: *indicator,
                    edges: edges.clone(),
                }],
                None => vec![Segment::Copy(1 + usize::from(*indicator))],
            },
            FeatureSpec::Categorical { embedded: true, .. } => vec![Segment::Copy(1)],
            FeatureSpec::Categorical { .. } => vec![Segment::OneHot(self.slots())],
        }
    }

    /// Cells per stored row for this column.
    fn stored_width(&self) -> usize {
        match self {
            FeatureSpec::Numeric {
                indicator, bins, ..
            } => usize::from(*indicator) + if bins.is_some() { 2 } else { 1 },
            FeatureSpec::Categorical { .. } => 1,
        }
    }

    /// The slot of every value of a categorical column (`None` for a
    /// numeric one): one hash lookup per distinct value, so that the
    /// transform itself only indexes.
    pub(crate) fn encode(&self, ca: &StringChunked) -> Option<Vec<u32>> {
        match self {
            FeatureSpec::Categorical { .. } => self.encode_dictionary(Dictionary::of(ca)),
            _ => None,
        }
    }

    /// [`Self::encode`] for a column already coded by its dictionary.
    pub(crate) fn encode_dictionary(&self, dict: Dictionary) -> Option<Vec<u32>> {
        let FeatureSpec::Categorical {
            categories,
            missing_fill,
            ..
        } = self
        else {
            return None;
        };
        let index: PlHashMap<&str, u32> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i as u32))
            .collect();
        let missing_slot = categories.len() as u32;
        let unknown_slot = categories.len() as u32 + u32::from(missing_fill.is_none());
        let fill_slot = missing_fill
            .as_deref()
            .and_then(|f| index.get(f).copied())
            .unwrap_or(unknown_slot);
        let missing = if missing_fill.is_none() {
            missing_slot
        } else {
            fill_slot
        };
        Some(dict.map(|v| index.get(v).copied().unwrap_or(unknown_slot), missing))
    }
}

/// Everything needed to turn a raw table into model inputs and model outputs
/// back into predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    pub task: Task,
    pub target: TargetSpec,
    pub features: Vec<FeatureSpec>,
    /// Identifier columns copied into `predict` output when present.
    pub id_columns: Vec<String>,
}

/// Host values of one input column, extracted once.
pub(crate) enum HostColumn {
    /// NaN for a missing value (see [`extract::numeric`]).
    Num(Vec<f64>),
    Text(StringChunked),
    /// A categorical column's slots ([`FeatureSpec::encode`]): 4 bytes a
    /// row where its texts take 16 or more.
    Codes(Vec<u32>),
}

impl Preprocessor {
    /// Model input width.
    pub fn n_inputs(&self) -> usize {
        self.features.iter().map(FeatureSpec::width).sum()
    }

    /// How a stored row (what [`Self::transform`] writes) becomes the
    /// model's inputs.
    pub fn layout(&self) -> InputLayout {
        InputLayout::new(
            self.features
                .iter()
                .flat_map(FeatureSpec::segments)
                .collect(),
        )
    }

    /// The positions among the model inputs of the embedded categorical
    /// columns, with their slot counts.
    pub fn embedded(&self) -> Vec<(usize, usize)> {
        let mut at = 0;
        let mut out = Vec::new();
        for f in &self.features {
            if matches!(f, FeatureSpec::Categorical { embedded: true, .. }) {
                out.push((at, f.slots()));
            }
            at += f.width();
        }
        out
    }

    /// Model output width: classes, or 1 for regression.
    pub fn n_outputs(&self) -> usize {
        match &self.target {
            TargetSpec::Classes { labels, .. } => labels.len(),
            TargetSpec::Regression { .. } => 1,
        }
    }

    /// Names of the model inputs, in order (`age`, `age__missing`,
    /// `sex=female`, `sex=__missing__`, `sex=__unknown__`).
    pub fn input_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.n_inputs());
        for f in &self.features {
            match f {
                FeatureSpec::Numeric {
                    column,
                    indicator,
                    bins,
                    ..
                } => {
                    names.push(column.clone());
                    if *indicator {
                        names.push(format!("{column}__missing"));
                    }
                    let pieces = bins.as_ref().map_or(0, |e| e.len() - 1);
                    names.extend((0..pieces).map(|t| format!("{column}__bin{t}")));
                }
                FeatureSpec::Categorical {
                    column,
                    embedded: true,
                    ..
                } => names.push(column.clone()),
                FeatureSpec::Categorical {
                    column,
                    categories,
                    missing_fill,
                    ..
                } => {
                    names.extend(categories.iter().map(|c| format!("{column}={c}")));
                    if missing_fill.is_none() {
                        names.push(format!("{column}=__missing__"));
                    }
                    names.push(format!("{column}=__unknown__"));
                }
            }
        }
        names
    }

    /// Turns every row of `df` into stored rows (row-major, the
    /// [`Self::layout`]'s `stored()` cells per row; expanded into model
    /// inputs per batch). `rows` maps positions to file rows for error
    /// messages.
    pub fn transform(&self, df: &DataFrame, path: &Path, rows: Option<&[u64]>) -> Result<Vec<f32>> {
        let cols = self.extract(df, path, rows)?;
        Ok(self.transform_columns(&cols, None))
    }

    /// Extracts the host values of every input column.
    pub(crate) fn extract(
        &self,
        df: &DataFrame,
        path: &Path,
        rows: Option<&[u64]>,
    ) -> Result<Vec<HostColumn>> {
        self.features
            .iter()
            .map(|f| {
                let col = extract::column(df, f.column(), "a model input", path)?;
                Ok(match f {
                    FeatureSpec::Numeric { .. } => {
                        HostColumn::Num(extract::numeric(col, path, rows, "")?)
                    }
                    FeatureSpec::Categorical { .. } => HostColumn::Text(extract::text(col, path)?),
                })
            })
            .collect()
    }

    /// Applies the fitted transform to the rows `select` (all when `None`).
    pub(crate) fn transform_columns(
        &self,
        cols: &[HostColumn],
        select: Option<&[usize]>,
    ) -> Vec<f32> {
        let codes = self.encode(cols);
        self.transform_encoded(cols, &codes, select)
    }

    /// The one-hot slot of every row of every categorical column (`None`
    /// for numeric columns): one pass in storage order, one hash lookup per
    /// cell, so that the transform itself only indexes. Computed once and
    /// shared by the train, valid and test transforms.
    pub(crate) fn encode(&self, cols: &[HostColumn]) -> Vec<Option<Vec<u32>>> {
        self.features
            .iter()
            .zip(cols)
            .map(|(spec, col)| match col {
                HostColumn::Text(ca) => spec.encode(ca),
                HostColumn::Codes(codes) => Some(codes.clone()),
                HostColumn::Num(_) => None,
            })
            .collect()
    }

    /// The transform over codes from [`Self::encode`]. Rows are written in
    /// blocks, every column of a block before the next block, so that the
    /// block's slice of the row-major output stays in cache.
    pub(crate) fn transform_encoded(
        &self,
        cols: &[HostColumn],
        codes: &[Option<Vec<u32>>],
        select: Option<&[usize]>,
    ) -> Vec<f32> {
        const BLOCK: usize = 2048;
        // An encoded column's length is its codes' (its texts may be gone).
        let n_all = cols.iter().zip(codes).next().map_or(0, |c| match c {
            (_, Some(slots)) => slots.len(),
            (HostColumn::Num(v), None) => v.len(),
            (HostColumn::Text(ca), None) => ca.len(),
            (HostColumn::Codes(c), None) => c.len(),
        });
        let n = select.map_or(n_all, <[usize]>::len);
        let width = self.layout().stored();
        let mut out = vec![0f32; n * width];
        let offsets: Vec<usize> = self
            .features
            .iter()
            .scan(0, |at, f| {
                let o = *at;
                *at += f.stored_width();
                Some(o)
            })
            .collect();
        // Blocks are independent: they are written in parallel, each the
        // same bits whichever thread writes it.
        let blocks = out.par_chunks_mut(BLOCK * width.max(1));
        blocks.enumerate().for_each(|(b, block)| {
            let first = b * BLOCK;
            let src = |r: usize| select.map_or(first + r, |s| s[first + r]);
            for (((spec, col), code), &offset) in
                self.features.iter().zip(cols).zip(codes).zip(&offsets)
            {
                match (col, code) {
                    (HostColumn::Num(values), _) => {
                        write_numeric(spec, values, block, width, offset, src);
                    }
                    // The slot itself (exact in f32: slots are far below
                    // 2^24); a one-hot block is expanded per batch.
                    (_, Some(slots)) => {
                        for (r, row) in block.chunks_exact_mut(width.max(1)).enumerate() {
                            row[offset] = slots[src(r)] as f32;
                        }
                    }
                    // Extraction follows the spec, so kinds always match.
                    _ => {}
                }
            }
        });
        out
    }
}

/// Writes a numeric column's cells into each row of `block` (rows of
/// `width` cells, this column's at `offset`); row `r`'s value is
/// `values[src(r)]`, NaN for missing.
fn write_numeric(
    spec: &FeatureSpec,
    values: &[f64],
    block: &mut [f32],
    width: usize,
    offset: usize,
    src: impl Fn(usize) -> usize,
) {
    let FeatureSpec::Numeric {
        fill,
        indicator,
        clip,
        offset: shift,
        scale,
        bins,
        ..
    } = spec
    else {
        return;
    };
    for (r, row) in block.chunks_exact_mut(width.max(1)).enumerate() {
        let v = values.get(src(r)).copied().unwrap_or(f64::NAN);
        let missing = v.is_nan();
        let mut x = if missing { *fill } else { v };
        if let Some([lo, hi]) = clip {
            x = x.clamp(*lo, *hi);
        }
        let cells = &mut row[offset..];
        let flag = if missing { 1.0 } else { 0.0 };
        if bins.is_some() {
            // The value's f64 bits: its scaled value and its pieces are
            // computed per batch from them.
            store_f64(x, &mut cells[..2]);
            if *indicator {
                cells[2] = flag;
            }
        } else {
            cells[0] = ((x - shift) / scale) as f32;
            if *indicator {
                cells[1] = flag;
            }
        }
    }
}

/// Writes the piecewise-linear encoding of `x` over `edges` into the first
/// `edges.len() - 1` slots of `out` (see [`FeatureSpec::Numeric`]).
pub(crate) fn piecewise_linear(x: f64, edges: &[f64], out: &mut [f32]) {
    let last = edges.len().saturating_sub(2);
    for (t, (w, slot)) in edges.windows(2).zip(out.iter_mut()).enumerate() {
        let mut v = (x - w[0]) / (w[1] - w[0]);
        if t > 0 {
            v = v.max(0.0);
        }
        if t < last {
            v = v.min(1.0);
        }
        *slot = v as f32;
    }
}

/// Bin edges for the piecewise-linear encoding: `bins + 1` quantiles of the
/// sorted training values without repeats, or the distinct values
/// themselves when there are at most `bins + 1` (a count column gets one
/// piece between each pair of neighbouring values). `None` when the column
/// has fewer than three distinct values: a 0/1 column gains nothing from
/// an encoding beyond its scaled value.
pub(crate) fn quantile_edges(sorted: &[f64], bins: usize) -> Option<Vec<f64>> {
    let mut distinct = Vec::new();
    for &v in sorted {
        if distinct.last() != Some(&v) {
            if distinct.len() > bins {
                distinct.clear();
                break;
            }
            distinct.push(v);
        }
    }
    let mut edges = if distinct.is_empty() {
        (0..=bins)
            .map(|i| quantile_sorted(sorted, i as f64 / bins as f64))
            .collect()
    } else {
        distinct
    };
    edges.dedup();
    (edges.len() >= 3).then_some(edges)
}

/// Settings for fitting one numeric column.
pub(crate) struct NumericFit {
    /// Piecewise-linear encoding bins (0: none).
    pub bins: usize,
    pub impute: Impute,
    pub constant: f64,
    pub indicator: bool,
    pub outliers: anneal_config::Outliers,
    pub quantiles: [f64; 2],
    pub zscore: f64,
    pub scale: anneal_config::Scale,
}

/// Fits a numeric column on the training rows. `None` when the training
/// split has no value at all in this column.
#[cfg(test)]
pub(crate) fn fit_numeric(
    column: &str,
    source_type: ValueType,
    values: &[f64],
    train: &[usize],
    fit: &NumericFit,
) -> Option<FeatureSpec> {
    let mut present = crate::steps::train_present(values, train);
    let spec = fit_numeric_present(column, source_type, &mut present, train.len(), fit);
    crate::scratch::give(present);
    spec
}

/// Fits a numeric column from the training split's present values (in any
/// order) and its row count. Every statistic is taken over sorted values,
/// so the fit does not depend on the order rows arrived in (a dataset cut
/// into shards, read in another order, fits the same bits), and the
/// streaming data stage, which collects the values batch by batch, fits
/// exactly what the in-memory one does.
pub(crate) fn fit_numeric_present(
    column: &str,
    source_type: ValueType,
    present: &mut Vec<f64>,
    train_rows: usize,
    fit: &NumericFit,
) -> Option<FeatureSpec> {
    if present.is_empty() {
        return None;
    }
    let missing = train_rows.saturating_sub(present.len());
    present.sort_by(f64::total_cmp);
    let fill = match fit.impute {
        Impute::Mean => mean(present),
        Impute::Constant => fit.constant,
        Impute::Mode => mode_sorted(present),
        // `missing` is refused by config validation for numeric columns.
        Impute::Median | Impute::Missing => quantile_sorted(present, 0.5),
    };
    let clip = match fit.outliers {
        anneal_config::Outliers::None => None,
        anneal_config::Outliers::Quantile => Some([
            quantile_sorted(present, fit.quantiles[0]),
            quantile_sorted(present, fit.quantiles[1]),
        ]),
        anneal_config::Outliers::Zscore => {
            let (m, s) = mean_std(present);
            Some([m - fit.zscore * s, m + fit.zscore * s])
        }
    };
    // Scaling statistics are taken after imputation and clipping, as a
    // scikit-learn pipeline (imputer -> clipper -> scaler) would, over the
    // sorted filled values.
    let clipped = |x: f64| match clip {
        Some([lo, hi]) => x.clamp(lo, hi),
        None => x,
    };
    let filled = present;
    for x in filled.iter_mut() {
        *x = clipped(*x);
    }
    insert_sorted(filled, clipped(fill), missing);
    let (offset, scale) = match fit.scale {
        anneal_config::Scale::None => (0.0, 1.0),
        anneal_config::Scale::Standard => {
            let (m, s) = mean_std(filled);
            (m, if s > 0.0 { s } else { 1.0 })
        }
        anneal_config::Scale::Minmax => {
            let lo = filled.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = filled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo, if hi > lo { hi - lo } else { 1.0 })
        }
    };
    let bins = if fit.bins > 0 {
        quantile_edges(filled, fit.bins)
    } else {
        None
    };
    Some(FeatureSpec::Numeric {
        column: column.to_string(),
        source_type,
        impute: fit.impute,
        fill,
        indicator: fit.indicator && missing > 0,
        clip,
        offset,
        scale,
        bins,
    })
}

/// Inserts `n` copies of `v` into `sorted` (ascending by `total_cmp`
/// but for the cases below), leaving it sorted: what appending them and
/// sorting again gives, bit for bit (values that compare equal have
/// identical bits), without a second sort of the column. Clipping keeps
/// values in order except where it meets a signed zero (`-0.0` is not
/// below a bound of `0.0`), so unsorted values are sorted first.
fn insert_sorted(sorted: &mut Vec<f64>, v: f64, n: usize) {
    if !sorted.is_sorted_by(|a, b| a.total_cmp(b).is_le()) {
        sorted.sort_by(f64::total_cmp);
    }
    let at = sorted.partition_point(|x| x.total_cmp(&v).is_le());
    sorted.splice(at..at, std::iter::repeat_n(v, n));
}

/// Fits a categorical column on the training rows: the `max_categories` most
/// frequent values (ties by name), listed in name order.
#[cfg(test)]
pub(crate) fn fit_categorical(
    column: &str,
    source_type: ValueType,
    values: &StringChunked,
    train: &[usize],
    impute: Impute,
    max_categories: usize,
) -> FeatureSpec {
    let mut counts: PlHashMap<&str, u64> = PlHashMap::new();
    for &i in train {
        if let Some(v) = values.get(i) {
            *counts.entry(v).or_default() += 1;
        }
    }
    fit_categorical_counts(
        column,
        source_type,
        counts
            .into_iter()
            .map(|(v, n)| (v.to_string(), n))
            .collect(),
        impute,
        max_categories,
    )
}

/// [`fit_categorical`] from the training split's count per value (in any
/// order).
pub(crate) fn fit_categorical_counts(
    column: &str,
    source_type: ValueType,
    mut by_freq: Vec<(String, u64)>,
    impute: Impute,
    max_categories: usize,
) -> FeatureSpec {
    by_freq.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let missing_fill = match impute {
        Impute::Mode => by_freq.first().map(|(v, _)| v.clone()),
        _ => None,
    };
    by_freq.truncate(max_categories);
    let mut categories: Vec<String> = by_freq.into_iter().map(|(v, _)| v).collect();
    categories.sort();
    FeatureSpec::Categorical {
        column: column.to_string(),
        source_type,
        categories,
        missing_fill,
        embedded: false,
    }
}

pub(crate) fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// Mean and population standard deviation (ddof = 0, as StandardScaler).
pub(crate) fn mean_std(v: &[f64]) -> (f64, f64) {
    let m = mean(v);
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len().max(1) as f64;
    (m, var.sqrt())
}

/// Linear-interpolation quantile of sorted values (numpy's default).
pub(crate) fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    v[lo] + (v[hi] - v[lo]) * frac
}

/// Most frequent value of sorted values; ties go to the smallest.
fn mode_sorted(v: &[f64]) -> f64 {
    let mut best = (v[0], 0usize);
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j] == v[i] {
            j += 1;
        }
        if j - i > best.1 {
            best = (v[i], j - i);
        }
        i = j;
    }
    best.0
}

impl DataError {
    pub(crate) fn unusable(path: &Path, message: impl Into<String>) -> Self {
        DataError::Unusable {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert_eq!(quantile_sorted(&v, 0.25), 1.75);
        assert_eq!(mode_sorted(&[1.0, 2.0, 2.0, 3.0, 3.0]), 2.0);
    }

    /// Clipped values with signed zeros and infinities, a fill inside,
    /// at and outside them: the same bits as appending and sorting.
    #[test]
    fn inserting_fills_equals_appending_and_sorting() {
        let base = [-3.5, -1.0, -0.0, 0.0, 0.0, 2.0, 7.25, f64::INFINITY];
        for (lo, hi) in [(0.0, 5.0), (-0.0, 0.0), (-10.0, 10.0), (1.0, 1.0)] {
            let clipped: Vec<f64> = base.iter().map(|x| x.clamp(lo, hi)).collect();
            for v in [-0.0, 0.0, 2.0, -100.0, 100.0, hi] {
                for n in [0, 1, 3] {
                    let mut expected = clipped.clone();
                    expected.extend(std::iter::repeat_n(v, n));
                    expected.sort_by(f64::total_cmp);
                    let mut got = clipped.clone();
                    insert_sorted(&mut got, v, n);
                    let bits = |x: &[f64]| x.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&expected), "clip {lo}..{hi}, {n} x {v}");
                }
            }
        }
    }

    #[test]
    fn numeric_fit_imputes_clips_and_scales() {
        let values = vec![1.0, f64::NAN, 3.0, 100.0, 5.0];
        let fit = NumericFit {
            bins: 0,
            impute: Impute::Median,
            constant: 0.0,
            indicator: true,
            outliers: anneal_config::Outliers::Quantile,
            quantiles: [0.0, 0.75],
            zscore: 3.0,
            scale: anneal_config::Scale::Minmax,
        };
        let spec = fit_numeric("x", ValueType::Double, &values, &[0, 1, 2, 3, 4], &fit).unwrap();
        let FeatureSpec::Numeric {
            fill,
            clip,
            offset,
            scale,
            indicator,
            ..
        } = &spec
        else {
            panic!("numeric expected")
        };
        // median of [1, 3, 5, 100] = 4; 0.75-quantile = 5 + 0.25 * 95 = 28.75
        assert_eq!(*fill, 4.0);
        assert_eq!(*clip, Some([1.0, 28.75]));
        assert_eq!((*offset, *scale), (1.0, 27.75));
        assert!(*indicator);
        let p = Preprocessor {
            task: Task::Regression,
            target: TargetSpec::Regression {
                column: "y".into(),
                offset: 0.0,
                scale: 1.0,
            },
            features: vec![spec],
            id_columns: vec![],
        };
        let out = p.transform_columns(&[HostColumn::Num(values)], Some(&[1, 3]));
        assert_eq!(out, vec![3.0 / 27.75, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn piecewise_linear_encoding() {
        // Edges at the quantiles of 0..=8: 4 bins of width 2.
        let sorted: Vec<f64> = (0..=80).map(|v| f64::from(v) / 10.0).collect();
        let edges = quantile_edges(&sorted, 4).unwrap();
        assert_eq!(edges, [0.0, 2.0, 4.0, 6.0, 8.0]);
        let enc = |x: f64| {
            let mut out = [0f32; 4];
            piecewise_linear(x, &edges, &mut out);
            out
        };
        assert_eq!(enc(3.0), [1.0, 0.5, 0.0, 0.0]);
        assert_eq!(enc(8.0), [1.0, 1.0, 1.0, 1.0]);
        // Outside the training range the end pieces extrapolate.
        assert_eq!(enc(-2.0), [-1.0, 0.0, 0.0, 0.0]);
        assert_eq!(enc(10.0), [1.0, 1.0, 1.0, 2.0]);
        // Few distinct values are the edges; a 0/1 column gets no encoding.
        assert_eq!(
            quantile_edges(&[0.0, 0.0, 0.0, 1.0, 5.0], 4).unwrap(),
            [0.0, 1.0, 5.0]
        );
        assert_eq!(quantile_edges(&[0.0, 0.0, 1.0, 1.0], 8), None);
        // Repeated quantiles collapse.
        let skewed: Vec<f64> = (0..100)
            .map(|i| if i < 60 { 0.0 } else { f64::from(i) })
            .collect();
        let e = quantile_edges(&skewed, 4).unwrap();
        assert_eq!(e[0], 0.0);
        assert!(e.windows(2).all(|w| w[0] < w[1]), "{e:?}");
    }

    #[test]
    fn categorical_slots() {
        let ca = StringChunked::from_iter_options(
            "c".into(),
            [Some("b"), Some("a"), None, Some("b"), Some("z")].into_iter(),
        );
        let spec = fit_categorical(
            "c",
            ValueType::String,
            &ca,
            &[0, 1, 2, 3],
            Impute::Missing,
            10,
        );
        let p = Preprocessor {
            task: Task::Binary,
            target: TargetSpec::Regression {
                column: "y".into(),
                offset: 0.0,
                scale: 1.0,
            },
            features: vec![spec],
            id_columns: vec![],
        };
        assert_eq!(
            p.input_names(),
            ["c=a", "c=b", "c=__missing__", "c=__unknown__"]
        );
        // Stored: the slot; seen by the network: its one-hot block.
        let stored = p.transform_columns(&[HostColumn::Text(ca)], None);
        assert_eq!(stored, [1.0, 0.0, 2.0, 1.0, 3.0]);
        let mut out = Vec::new();
        p.layout().expand_rows(&stored, 5, &mut out);
        #[rustfmt::skip]
        assert_eq!(out, vec![
            0.0, 1.0, 0.0, 0.0,
            1.0, 0.0, 0.0, 0.0,
            0.0, 0.0, 1.0, 0.0,
            0.0, 1.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 1.0,
        ]);
        // Embedded: the network sees the slot itself.
        let mut p = p;
        if let FeatureSpec::Categorical { embedded, .. } = &mut p.features[0] {
            *embedded = true;
        }
        assert_eq!(p.input_names(), ["c"]);
        assert_eq!(p.embedded(), [(0, 4)]);
        assert!(p.layout().is_identity());
    }
}
