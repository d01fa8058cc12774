//! The training data profile: per column, what the training rows looked
//! like (missing share, range, quantiles, a binned histogram, category
//! shares). It is computed once by [`crate::prepare`] from the training
//! split only, stored in the artifact, and is what [`crate::drift`] compares
//! new data against: a profile over the validation or test rows would let
//! held-out data leak into what "normal" means.
//!
//! Everything here is deterministic (sorted vectors and `BTreeMap`s, no hash
//! iteration order) so that the same data gives byte-identical artifacts.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::extract;
use crate::preprocess::mean_std;

/// Categories kept per column. Beyond it the rest is summed into
/// [`CategoryProfile::other_fraction`], so an id-like column cannot blow up
/// the artifact.
pub const MAX_PROFILE_CATEGORIES: usize = 1000;

/// The quantiles a numeric profile records, with their keys.
pub const QUANTILES: [(&str, f64); 7] = [
    ("p01", 0.01),
    ("p05", 0.05),
    ("p25", 0.25),
    ("p50", 0.50),
    ("p75", 0.75),
    ("p95", 0.95),
    ("p99", 0.99),
];

/// What the training rows looked like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataProfile {
    /// Rows profiled: the training split.
    pub rows: u64,
    /// Feature columns and the target, in file order.
    pub columns: Vec<ColumnProfile>,
}

impl DataProfile {
    /// The profile of `name`, if it was profiled.
    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// One column of the profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    pub name: String,
    /// `feature` or `target`.
    pub role: String,
    /// `numeric`, `categorical` or `boolean` (as [`crate::stats::ColumnInfo`]);
    /// the target is `numeric` for regression and `categorical` for classes.
    pub kind: String,
    /// The polars dtype as read (`f64`, `i64`, `str`, `bool`): drift checks
    /// compare it to tell a changed value type from a CSV quirk.
    pub dtype: String,
    /// Non-missing values in the profiled rows.
    pub count: u64,
    /// Share of the profiled rows where the value is missing (NaN counts as
    /// missing for numbers).
    pub null_fraction: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub numeric: Option<NumericProfile>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub categories: Option<CategoryProfile>,
}

/// The distribution of a numeric (or 0/1 boolean) column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Population standard deviation (ddof = 0).
    pub std: f64,
    /// `p01` .. `p99`, numpy's default `linear` method.
    pub quantiles: BTreeMap<String, f64>,
    /// Interior bin edges for the PSI: the distinct values among the deciles
    /// p10..p90 taken with numpy's `lower` method, ascending. Taking actual
    /// data values (rather than interpolating) keeps ties together: a column
    /// that is 70% zeros gets one bin for the zeros instead of seven empty
    /// slivers that make the PSI explode on any resample.
    pub bin_edges: Vec<f64>,
    /// Share of the non-missing training values per bin (`bin_edges.len() +
    /// 1` bins); value `v` falls in bin [`bin_of`]`(bin_edges, v)`.
    pub bin_fractions: Vec<f64>,
}

/// The distribution of a categorical column (or of class labels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryProfile {
    /// Share of the non-missing values per category, most frequent first
    /// (ties by text), at most [`MAX_PROFILE_CATEGORIES`].
    pub frequencies: Vec<(String, f64)>,
    /// Share of the values whose categories did not make the list.
    pub other_fraction: f64,
    /// Distinct non-missing values, listed or not.
    pub distinct: u64,
}

/// The bin of `v` for interior `edges`: a value equal to an edge goes to
/// the lower bin, so bin `i` holds `(edges[i-1], edges[i]]`. NaN goes to the
/// last bin (callers drop NaN first).
pub fn bin_of(edges: &[f64], v: f64) -> usize {
    edges.partition_point(|e| *e < v)
}

/// The profile of non-missing numbers; `None` when there are none. Sorts
/// `values` in place (once): every statistic is then a lookup or a binary
/// search, so a million rows take milliseconds. NaN must not be present
/// (callers treat it as missing).
pub fn numeric_profile(values: &mut [f64]) -> Option<NumericProfile> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let sorted = &*values;
    let n = sorted.len();
    let (mean, std) = mean_std(sorted);
    let quantiles = QUANTILES
        .iter()
        .map(|(k, q)| (k.to_string(), quantile_linear(sorted, *q)))
        .collect();
    let mut bin_edges: Vec<f64> = Vec::with_capacity(9);
    for k in 1..=9 {
        let e = quantile_lower(sorted, f64::from(k) / 10.0);
        if bin_edges.last() != Some(&e) {
            bin_edges.push(e);
        }
    }
    // Sorted data: the values up to an edge are a prefix, so each bin's
    // count is a difference of two binary searches.
    let mut bin_fractions = Vec::with_capacity(bin_edges.len() + 1);
    let mut below = 0usize;
    for e in &bin_edges {
        let upto = sorted.partition_point(|x| x <= e);
        bin_fractions.push((upto - below) as f64 / n as f64);
        below = upto;
    }
    bin_fractions.push((n - below) as f64 / n as f64);
    Some(NumericProfile {
        min: sorted[0],
        max: sorted[n - 1],
        mean,
        std,
        quantiles,
        bin_edges,
        bin_fractions,
    })
}

/// The profile of non-missing category texts; `None` when there are none.
pub fn category_profile<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<CategoryProfile> {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    category_profile_from_counts(
        counts
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect(),
    )
}

/// The profile from per-category counts (in any order; zero counts are
/// ignored).
pub fn category_profile_from_counts(mut counts: Vec<(String, u64)>) -> Option<CategoryProfile> {
    counts.retain(|(_, n)| *n > 0);
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let distinct = counts.len() as u64;
    let rest: u64 = counts
        .iter()
        .skip(MAX_PROFILE_CATEGORIES)
        .map(|(_, n)| n)
        .sum();
    counts.truncate(MAX_PROFILE_CATEGORIES);
    let total_f = total as f64;
    Some(CategoryProfile {
        frequencies: counts
            .into_iter()
            .map(|(k, n)| (k, n as f64 / total_f))
            .collect(),
        other_fraction: rest as f64 / total_f,
        distinct,
    })
}

/// numpy's default (`linear`) quantile of sorted values, including its
/// two-sided interpolation (from the upper neighbour when the fraction is at
/// least one half), so values agree with numpy to the last bit rather than
/// to rounding.
pub(crate) fn quantile_linear(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = pos.floor();
    let t = pos - lo;
    let i = (lo as usize).min(n - 1);
    let j = (i + 1).min(n - 1);
    let (a, b) = (sorted[i], sorted[j]);
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// numpy's `lower` quantile: the data value at `floor((n - 1) * q)`.
pub(crate) fn quantile_lower(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let i = ((n - 1) as f64 * q.clamp(0.0, 1.0)).floor() as usize;
    sorted[i.min(n - 1)]
}

fn fraction(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The profile of a numeric or boolean column over the positions `rows`.
pub(crate) fn numeric_column(
    name: &str,
    role: &str,
    kind: &str,
    dtype: &str,
    values: &[f64],
    rows: &[usize],
) -> ColumnProfile {
    let mut present: Vec<f64> = rows
        .iter()
        .filter_map(|&i| values.get(i).copied())
        .filter(|x| !x.is_nan())
        .collect();
    numeric_column_present(name, role, kind, dtype, &mut present, rows.len())
}

/// The profile of a numeric column from its present values (in any order)
/// over `rows` rows.
pub(crate) fn numeric_column_present(
    name: &str,
    role: &str,
    kind: &str,
    dtype: &str,
    present: &mut Vec<f64>,
    rows: usize,
) -> ColumnProfile {
    present.retain(|v| !v.is_nan());
    let count = present.len();
    ColumnProfile {
        name: name.to_string(),
        role: role.to_string(),
        kind: kind.to_string(),
        dtype: dtype.to_string(),
        count: count as u64,
        null_fraction: fraction(rows - count, rows),
        numeric: numeric_profile(present),
        categories: None,
    }
}

/// The profile of a categorical column from its count per value over
/// `rows` rows (the missing ones are those not counted).
pub(crate) fn text_column_counts(
    name: &str,
    role: &str,
    dtype: &str,
    counts: Vec<(String, u64)>,
    rows: usize,
) -> ColumnProfile {
    let count: u64 = counts.iter().map(|(_, n)| n).sum();
    ColumnProfile {
        name: name.to_string(),
        role: role.to_string(),
        kind: "categorical".to_string(),
        dtype: dtype.to_string(),
        count,
        null_fraction: fraction(rows - count as usize, rows),
        numeric: None,
        categories: category_profile_from_counts(counts),
    }
}

/// The profile of a categorical column over the positions `rows`.
pub(crate) fn text_column(
    name: &str,
    role: &str,
    dtype: &str,
    values: &StringChunked,
    rows: &[usize],
) -> ColumnProfile {
    let present: Vec<&str> = rows.iter().filter_map(|&i| values.get(i)).collect();
    let count = present.len();
    ColumnProfile {
        name: name.to_string(),
        role: role.to_string(),
        kind: "categorical".to_string(),
        dtype: dtype.to_string(),
        count: count as u64,
        null_fraction: fraction(rows.len() - count, rows.len()),
        numeric: None,
        categories: category_profile(present),
    }
}

/// A profile of every row of `df` with kinds taken from the dtypes
/// (booleans `boolean`, numbers `numeric`, anything else `categorical`; a
/// float target `numeric`, any other target `categorical`), skipping the
/// `ignored` columns. For tools and tests that have a table but no training
/// run: [`crate::prepare`] builds the artifact's profile from the roles and
/// kinds it decided, over the training split only.
pub fn profile_frame(
    df: &DataFrame,
    path: &Path,
    target: Option<&str>,
    ignored: &[String],
) -> Result<DataProfile> {
    let all: Vec<usize> = (0..df.height()).collect();
    let mut columns = Vec::new();
    for col in df.columns() {
        let name = col.name().as_str();
        if ignored.iter().any(|c| c == name) {
            continue;
        }
        let is_target = target == Some(name);
        let role = if is_target { "target" } else { "feature" };
        let dtype = col.dtype();
        let kind = match dtype {
            DataType::Boolean if !is_target => "boolean",
            d if d.is_float() => "numeric",
            d if d.is_primitive_numeric() && !is_target => "numeric",
            _ => "categorical",
        };
        let profile = if kind == "categorical" {
            text_column(
                name,
                role,
                &dtype.to_string(),
                &extract::text(col, path)?,
                &all,
            )
        } else {
            let values = extract::numeric(col, path, None, "")?;
            numeric_column(name, role, kind, &dtype.to_string(), &values, &all)
        };
        columns.push(profile);
    }
    Ok(DataProfile {
        rows: df.height() as u64,
        columns,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;

    pub(crate) fn titanic_path() -> PathBuf {
        Path::new(&manifest_dir()).join("../../datasets/titanic.csv")
    }

    pub(crate) fn titanic() -> DataFrame {
        crate::read::read_table(
            &titanic_path(),
            None,
            &anneal_config::CsvOptions::default(),
            &[],
        )
        .unwrap()
        .df
    }

    #[test]
    fn numeric_profile_matches_numpy_by_hand() {
        // 11 values: (n - 1) = 10, so quantile q sits at position 10 q.
        let mut v = vec![7.0, 1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 100.0];
        let p = numeric_profile(&mut v).unwrap();
        // sorted: 1 2 2 2 3 4 5 6 7 8 100
        assert_eq!((p.min, p.max), (1.0, 100.0));
        assert_eq!(p.mean, 140.0 / 11.0);
        let var = [1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 100.0]
            .iter()
            .map(|x: &f64| (x - 140.0 / 11.0).powi(2))
            .sum::<f64>()
            / 11.0;
        assert_eq!(p.std, var.sqrt());
        // numpy.quantile(v, [.01,.05,.25,.5,.75,.95,.99]) =
        // [1.1, 1.5, 2.0, 4.0, 6.5, 54.0, 90.8]
        let q = |k: &str| p.quantiles[k];
        assert!((q("p01") - 1.1).abs() < 1e-12, "{}", q("p01"));
        assert!((q("p05") - 1.5).abs() < 1e-12);
        assert_eq!(q("p25"), 2.0);
        assert_eq!(q("p50"), 4.0);
        assert_eq!(q("p75"), 6.5);
        assert!((q("p95") - 54.0).abs() < 1e-9, "{}", q("p95"));
        assert!((q("p99") - 90.8).abs() < 1e-9, "{}", q("p99"));
        // numpy.quantile(v, [.1,...,.9], method="lower") =
        // [2, 2, 2, 3, 4, 5, 6, 7, 8]: distinct edges 2 3 4 5 6 7 8.
        assert_eq!(p.bin_edges, vec![2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        // bins: <=2 {1,2,2,2}, (2,3] {3}, ... (7,8] {8}, >8 {100}
        let f = |k: f64| k / 11.0;
        assert_eq!(
            p.bin_fractions,
            vec![
                f(4.0),
                f(1.0),
                f(1.0),
                f(1.0),
                f(1.0),
                f(1.0),
                f(1.0),
                f(1.0)
            ]
        );
        assert_eq!(bin_of(&p.bin_edges, 2.0), 0);
        assert_eq!(bin_of(&p.bin_edges, 2.5), 1);
        assert_eq!(bin_of(&p.bin_edges, 1e9), 7);
    }

    #[test]
    fn mostly_constant_column_gets_one_bin_for_the_tie() {
        let mut v = vec![0.0; 8];
        v.extend([1.0, 5.0]);
        let p = numeric_profile(&mut v).unwrap();
        // lower deciles at positions floor(0.9 k): 0,1,2,3,4,5,6,7,8 -> 0 x8, 1
        assert_eq!(p.bin_edges, vec![0.0, 1.0]);
        assert_eq!(p.bin_fractions, vec![0.8, 0.1, 0.1]);
        assert!(numeric_profile(&mut []).is_none());
    }

    #[test]
    fn categories_by_frequency_then_text_and_truncated() {
        let p = category_profile(["b", "a", "c", "a", "b", "d"]).unwrap();
        assert_eq!(
            p.frequencies,
            vec![
                ("a".to_string(), 2.0 / 6.0),
                ("b".to_string(), 2.0 / 6.0),
                ("c".to_string(), 1.0 / 6.0),
                ("d".to_string(), 1.0 / 6.0),
            ]
        );
        assert_eq!((p.other_fraction, p.distinct), (0.0, 4));

        let many: Vec<String> = (0..1500).map(|i| format!("v{i:04}")).collect();
        let mut values: Vec<&str> = many.iter().map(String::as_str).collect();
        values.extend(["v1499"; 9]);
        let p = category_profile(values).unwrap();
        assert_eq!(p.frequencies.len(), MAX_PROFILE_CATEGORIES);
        assert_eq!(p.frequencies[0], ("v1499".to_string(), 10.0 / 1509.0));
        assert_eq!(p.frequencies[1].0, "v0000");
        assert_eq!(p.distinct, 1500);
        assert!((p.other_fraction - 500.0 / 1509.0).abs() < 1e-12);
        assert!(category_profile(Vec::<&str>::new()).is_none());
    }

    #[test]
    fn titanic_profile() {
        let df = titanic();
        let p = profile_frame(&df, &titanic_path(), Some("survived"), &[]).unwrap();
        assert_eq!(p.rows, 1309);
        let names: Vec<&str> = p.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["pclass", "survived", "sex", "age", "sibsp", "parch"]
        );
        let age = p.column("age").unwrap();
        assert_eq!((age.kind.as_str(), age.dtype.as_str()), ("numeric", "f64"));
        assert!(
            age.null_fraction > 0.15 && age.null_fraction < 0.25,
            "{}",
            age.null_fraction
        );
        assert_eq!(age.count, 1046);
        let n = age.numeric.as_ref().unwrap();
        assert_eq!(n.max, 80.0);
        assert!(n.min > 0.16 && n.min < 0.17);
        assert_eq!(n.bin_fractions.len(), n.bin_edges.len() + 1);
        assert!((n.bin_fractions.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let sex = p.column("sex").unwrap();
        let cats = sex.categories.as_ref().unwrap();
        assert_eq!(cats.frequencies[0].0, "male");
        assert!((cats.frequencies.iter().map(|c| c.1).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(sex.null_fraction, 0.0);
        let target = p.column("survived").unwrap();
        assert_eq!(
            (target.role.as_str(), target.kind.as_str()),
            ("target", "categorical")
        );
        // parch: 1002 zeros, 170 ones, 113 twos, 24 more of 1309 rows.
        let parch = p.column("parch").unwrap().numeric.as_ref().unwrap();
        assert_eq!(parch.bin_edges, vec![0.0, 1.0, 2.0]);
        assert_eq!(
            parch.bin_fractions,
            vec![
                1002.0 / 1309.0,
                170.0 / 1309.0,
                113.0 / 1309.0,
                24.0 / 1309.0
            ]
        );
        // The profile survives JSON (it is stored in the artifact). Without
        // serde_json's `float_roundtrip` feature, reading may move a float
        // by one unit in the last place, hence the tolerance.
        let json = serde_json::to_string(&p).unwrap();
        let back: DataProfile = serde_json::from_str(&json).unwrap();
        assert_eq!(back.columns.len(), p.columns.len());
        for (a, b) in back.columns.iter().zip(&p.columns) {
            assert_eq!(
                (&a.name, &a.kind, &a.dtype, a.count),
                (&b.name, &b.kind, &b.dtype, b.count)
            );
            assert!((a.null_fraction - b.null_fraction).abs() < 1e-15);
            assert_eq!(a.numeric.is_some(), b.numeric.is_some());
            if let (Some(x), Some(y)) = (&a.numeric, &b.numeric) {
                assert_eq!((x.min, x.max, &x.bin_edges), (y.min, y.max, &y.bin_edges));
                for (u, v) in x.bin_fractions.iter().zip(&y.bin_fractions) {
                    assert!((u - v).abs() < 1e-15);
                }
            }
            assert_eq!(
                a.categories.as_ref().map(|c| c.frequencies.len()),
                b.categories.as_ref().map(|c| c.frequencies.len())
            );
        }
        // Deterministic: the same data gives the same JSON.
        let again = profile_frame(&df, &titanic_path(), Some("survived"), &[]).unwrap();
        assert_eq!(serde_json::to_string(&again).unwrap(), json);
    }

    fn titanic_config(extra: &str) -> anneal_config::Loaded {
        let src = format!("[data]\npath = \"titanic.csv\"\ntarget = \"survived\"\n{extra}");
        let config = titanic_path().with_file_name("titanic-test.toml");
        anneal_config::parse(&src, &config).unwrap()
    }

    #[test]
    fn prepare_profiles_the_training_split_only() {
        let prepared = crate::prepare(&titanic_config(""), 42).unwrap();
        let p = &prepared.profile;
        assert_eq!(p.rows, prepared.train.len() as u64);
        assert!(p.rows < 1309);
        let names: Vec<(&str, &str, &str)> = p
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.role.as_str(), c.kind.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("pclass", "feature", "categorical"),
                ("survived", "target", "categorical"),
                ("sex", "feature", "categorical"),
                ("age", "feature", "numeric"),
                ("sibsp", "feature", "numeric"),
                ("parch", "feature", "numeric"),
            ]
        );
        // The class shares are those of the training split.
        let target = p.column("survived").unwrap();
        let cats = target.categories.as_ref().unwrap();
        for (label, share) in &cats.frequencies {
            let n = prepared.stats.class_counts[label][0];
            assert_eq!(*share, n as f64 / p.rows as f64, "{label}");
        }
        assert_eq!((target.count, target.null_fraction), (p.rows, 0.0));
        // Ages: the non-missing values among the training rows.
        let age = p.column("age").unwrap();
        let all = titanic();
        let ages = all.column("age").unwrap().f64().unwrap();
        let present = prepared
            .train
            .rows
            .iter()
            .filter(|&&r| ages.get(r as usize).is_some())
            .count() as u64;
        assert_eq!(age.count, present);
        assert_eq!(age.null_fraction, (p.rows - present) as f64 / p.rows as f64);
        // Duplicate rows were dropped first (mostly rows without an age);
        // the training split of the whole file has titanic's ~20%.
        let all_rows = crate::prepare(
            &titanic_config("[data.clean]\ndrop_duplicates = false\n"),
            42,
        )
        .unwrap();
        let age = all_rows.profile.column("age").unwrap();
        assert_eq!(all_rows.profile.rows, all_rows.train.len() as u64);
        assert!(
            age.null_fraction > 0.15 && age.null_fraction < 0.25,
            "{age:?}"
        );
        let sex = p.column("sex").unwrap().categories.as_ref().unwrap();
        assert!((sex.frequencies.iter().map(|c| c.1).sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn prepare_stops_at_the_first_schema_violation() {
        let loaded = titanic_config(
            "[data.schema]\nmin_rows = 100\n[data.schema.columns.age]\ntype = \"numeric\"\nmax = 70\n[data.schema.columns.sex]\nallowed = [\"female\", \"male\"]\n",
        );
        let err = crate::prepare(&loaded, 42).unwrap_err();
        assert!(matches!(err, crate::DataError::Schema { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: schema violation: column \"age\": 6 values above the maximum 70 (first: row 10, value 71) [data.schema.columns.age.max]",
                titanic_path().display()
            )
        );
        // A schema the data meets changes nothing.
        let loaded =
            titanic_config("[data.schema.columns.sex]\nallowed = [\"female\", \"male\"]\n");
        assert!(crate::prepare(&loaded, 42).is_ok());
    }

    #[test]
    fn a_million_rows_profile_quickly() {
        let values: Vec<f64> = (0..1_000_000u64)
            .map(|i| {
                if i % 10 == 0 {
                    f64::NAN
                } else {
                    ((i * 2_654_435_761) % 100_003) as f64 / 7.0
                }
            })
            .collect();
        let rows: Vec<usize> = (0..values.len()).collect();
        let texts = StringChunked::from_iter_options(
            "c".into(),
            (0..1_000_000u32).map(|i| Some(format!("c{}", i % 37))),
        );
        let start = std::time::Instant::now();
        let p = numeric_column("x", "feature", "numeric", "f64", &values, &rows);
        let c = text_column("c", "feature", "str", &texts, &rows);
        let took = start.elapsed();
        assert!(took.as_secs_f64() < 1.0, "{took:?}");
        assert_eq!(p.count, 900_000);
        assert!((p.null_fraction - 0.1).abs() < 1e-12);
        assert_eq!(c.categories.unwrap().distinct, 37);
    }

    /// This package's folder in the checkout running the test: cargo sets it at
    /// run time; the compile-time path may name another checkout whose binary
    /// the shared build folder reused.
    fn manifest_dir() -> String {
        std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
    }
}
