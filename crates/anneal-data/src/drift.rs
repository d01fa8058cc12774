//! Comparing new data with the training profile ([`crate::profile`]): is a
//! column missing or new, did its type change, are more cells missing, are
//! values outside what training saw, did the distribution move. Every test
//! yields a [`Check`], passing ones included, so a CI report can show what
//! was looked at and not only what failed.
//!
//! Numeric drift is the population stability index over the profile's
//! decile bins; categorical drift is the Jensen-Shannon distance (or the
//! L-infinity distance) over the training categories plus an "(other)"
//! bucket.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use anneal_config::{CategoricalDistance, CheckDataPolicy, SchemaConfig, Severity};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::extract;
use crate::profile::{CategoryProfile, ColumnProfile, DataProfile, NumericProfile, bin_of};
use crate::schema;

/// Shares are floored at this before the PSI: an empty bin would otherwise
/// make `ln(a / e)` infinite, and one stray value would decide the whole
/// index. 1e-4 (one value in ten thousand) is the usual choice; it bounds a
/// single bin's term at about `share * 9.2`.
pub const SHARE_FLOOR: f64 = 1e-4;

/// Comparisons allow this much floating-point slack, so that a share of
/// exactly the threshold (0.25 - 0.2 = 0.050000000000000017) passes.
const SLACK: f64 = 1e-12;

/// One test of new data against the training profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Stable: `row_count`, `missing_column`, `new_column`, `type_change`,
    /// `null_fraction`, `out_of_range`, `unseen_category`, `drift`,
    /// `schema`, or `schema_<violation code>` (`schema_range`, ...).
    pub code: String,
    pub column: Option<String>,
    /// What `value` is: `present`, `type`, `psi`, `jensen_shannon`,
    /// `l_infinity`, `null_fraction_increase`, `out_of_range_fraction`,
    /// `unseen_fraction`, `rows`, or `count` (schema violations: offending
    /// cells).
    pub statistic: String,
    pub value: Option<f64>,
    /// The largest `value` that passes (always an upper bound; `row_count`
    /// names its floor in the message instead).
    pub threshold: Option<f64>,
    pub passed: bool,
    /// How a failure counts: `Error` fails the check, `Warning` only warns.
    pub severity: Severity,
    /// One line: what was found against what was expected.
    pub message: String,
}

/// What new data is compared with.
#[derive(Debug, Clone, Copy)]
pub struct DriftInput<'a> {
    pub profile: &'a DataProfile,
    pub policy: &'a CheckDataPolicy,
    pub schema: &'a SchemaConfig,
    /// Id and dropped columns: present in data files but never profiled,
    /// so never reported as new.
    pub ignored: &'a [String],
}

/// Runs every check of `df` (read from `path`, which messages do not need
/// but polars errors do) against `input`. Order: `row_count`, then per
/// profiled column in profile order (presence, type, missing share, range
/// or unseen categories, drift), then new columns by name, then the schema.
pub fn check(df: &DataFrame, path: &Path, input: &DriftInput) -> Result<Vec<Check>> {
    let policy = input.policy;
    let mut out = vec![row_count_check(df.height() as u64, policy)];
    for cp in &input.profile.columns {
        check_column(df, path, cp, policy, &mut out)?;
    }

    let known: BTreeSet<&str> = input
        .profile
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .chain(input.ignored.iter().map(String::as_str))
        .collect();
    let new: BTreeSet<&str> = df
        .get_column_names()
        .iter()
        .map(|n| n.as_str())
        .filter(|n| !known.contains(n))
        .collect();
    for name in &new {
        out.push(Check {
            value: Some(1.0),
            passed: false,
            severity: policy.new_column,
            message: format!(
                "column {name:?} is new: the training data had no such column, so the model does not use it"
            ),
            ..blank("new_column", Some(name), "present")
        });
    }
    if new.is_empty() {
        out.push(Check {
            value: Some(0.0),
            severity: policy.new_column,
            message: "no columns beyond the training ones".into(),
            ..blank("new_column", None, "present")
        });
    }

    if !input.schema.is_empty() {
        let violations = schema::violations(df, input.schema, path)?;
        if violations.is_empty() {
            out.push(Check {
                value: Some(0.0),
                message: format!(
                    "matches [data.schema] ({} checked)",
                    schema::plural(input.schema.columns.len() as u64, "column", "columns")
                ),
                ..blank("schema", None, "count")
            });
        }
        for v in violations {
            let statistic = if v.code == "row_count" {
                "rows"
            } else {
                "count"
            };
            out.push(Check {
                value: Some(v.count as f64),
                passed: false,
                message: v.message,
                ..blank(
                    &format!("schema_{}", v.code),
                    v.column.as_deref(),
                    statistic,
                )
            });
        }
    }
    Ok(out)
}

/// The sample's size: with fewer than `policy.min_rows` rows, drift is
/// only warned about.
pub fn row_count_check(rows: u64, policy: &CheckDataPolicy) -> Check {
    Check {
        value: Some(rows as f64),
        // `threshold` is always a maximum; this floor is in the message.
        threshold: None,
        passed: rows >= policy.min_rows,
        severity: Severity::Warning,
        message: if rows >= policy.min_rows {
            format!(
                "{} (at least {} are needed to judge drift)",
                schema::plural(rows, "row", "rows"),
                policy.min_rows
            )
        } else {
            format!(
                "{}, fewer than {}: too small a sample to judge drift, so drift is only warned about",
                schema::plural(rows, "row", "rows"),
                policy.min_rows
            )
        },
        ..blank("row_count", None, "rows")
    }
}

/// A passing error-severity check with no value, to be filled in.
fn blank(code: &str, column: Option<&str>, statistic: &str) -> Check {
    Check {
        code: code.to_string(),
        column: column.map(str::to_string),
        statistic: statistic.to_string(),
        value: None,
        threshold: None,
        passed: true,
        severity: Severity::Error,
        message: String::new(),
    }
}

/// The value class a dtype stands for: a change between classes is a type
/// change, a change within one (i64 to f64) is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Numeric,
    Boolean,
    Text,
}

impl Class {
    fn of(dtype: &DataType) -> Class {
        match dtype {
            DataType::Boolean => Class::Boolean,
            d if d.is_primitive_numeric() => Class::Numeric,
            _ => Class::Text,
        }
    }

    /// The class of a dtype as the profile wrote it (`DataType`'s display).
    fn of_name(name: &str) -> Class {
        use DataType::*;
        let numeric = [
            Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float32, Float64,
        ];
        if name == Boolean.to_string() {
            Class::Boolean
        } else if numeric.iter().any(|d| d.to_string() == name) || name == "i128" || name == "u128"
        {
            Class::Numeric
        } else {
            Class::Text
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Class::Numeric => "numbers",
            Class::Boolean => "true/false values",
            Class::Text => "text",
        }
    }
}

fn parse_bool(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(1.0)
    } else if t.eq_ignore_ascii_case("false") {
        Some(0.0)
    } else {
        None
    }
}

/// How text cells are read as numbers for a profiled column: as numbers
/// and/or as true/false (0/1).
#[derive(Clone, Copy)]
struct Reading {
    numbers: bool,
    booleans: bool,
}

impl Reading {
    fn parse(self, s: &str) -> Option<f64> {
        let n = if self.numbers {
            extract::parse_number(s)
        } else {
            None
        };
        n.or_else(|| if self.booleans { parse_bool(s) } else { None })
    }
}

/// A column's numbers: missing (null or NaN) as `None`, infinities kept
/// (they are out of range, not errors: one bad cell must not stop the
/// check), and the text cells that could not be read.
struct Numbers {
    values: Vec<Option<f64>>,
    unreadable: u64,
    first_unreadable: Option<(usize, String)>,
}

fn numbers(col: &Column, path: &Path, reading: Reading) -> Result<Numbers> {
    let mut unreadable = 0;
    let mut first_unreadable = None;
    let values: Vec<Option<f64>> = match col.dtype() {
        d if d.is_primitive_numeric() => col
            .cast(&DataType::Float64)
            .map_err(|e| extract::polars_err(path, e))?
            .f64()
            .map_err(|e| extract::polars_err(path, e))?
            .iter()
            .map(|v| v.filter(|x| !x.is_nan()))
            .collect(),
        DataType::Boolean => col
            .bool()
            .map_err(|e| extract::polars_err(path, e))?
            .iter()
            .map(|v| v.map(|b| if b { 1.0 } else { 0.0 }))
            .collect(),
        _ => {
            let text = extract::text(col, path)?;
            let mut out = Vec::with_capacity(text.len());
            for (i, v) in text.iter().enumerate() {
                out.push(match v {
                    None => None,
                    Some(s) => match reading.parse(s) {
                        Some(x) if x.is_nan() => None,
                        Some(x) => Some(x),
                        None => {
                            unreadable += 1;
                            if first_unreadable.is_none() {
                                first_unreadable = Some((i, extract::truncate(s)));
                            }
                            None
                        }
                    },
                });
            }
            out
        }
    };
    Ok(Numbers {
        values,
        unreadable,
        first_unreadable,
    })
}

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

fn op(passed: bool) -> &'static str {
    if passed { "<=" } else { ">" }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The thresholds for one column: the policy's, overridden per column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_psi: f64,
    pub max_categorical_drift: f64,
    pub max_null_increase: f64,
    pub max_out_of_range: f64,
    pub max_unseen: f64,
    /// Range and drift are not compared for this column.
    pub ignore: bool,
}

/// The thresholds of column `name` under `policy`.
pub fn limits(policy: &CheckDataPolicy, name: &str) -> Limits {
    let c = policy.columns.get(name);
    Limits {
        max_psi: c.and_then(|c| c.max_psi).unwrap_or(policy.max_psi),
        max_categorical_drift: c
            .and_then(|c| c.max_categorical_drift)
            .unwrap_or(policy.max_categorical_drift),
        max_null_increase: c
            .and_then(|c| c.max_null_increase)
            .unwrap_or(policy.max_null_increase),
        max_out_of_range: c
            .and_then(|c| c.max_out_of_range)
            .unwrap_or(policy.max_out_of_range),
        max_unseen: c.and_then(|c| c.max_unseen).unwrap_or(policy.max_unseen),
        ignore: c.is_some_and(|c| c.ignore),
    }
}

fn check_column(
    df: &DataFrame,
    path: &Path,
    cp: &ColumnProfile,
    policy: &CheckDataPolicy,
    out: &mut Vec<Check>,
) -> Result<()> {
    let name = cp.name.as_str();
    let Some(col) = check_presence(df, cp, out) else {
        return Ok(());
    };
    let lim = limits(policy, name);
    let expected = Class::of_name(&cp.dtype);
    let found = Class::of(col.dtype());
    let numeric_kind = cp.kind != "categorical";
    let reading = Reading {
        numbers: numeric_kind || expected == Class::Numeric,
        booleans: cp.kind == "boolean" || expected == Class::Boolean,
    };
    let nums = if numeric_kind || (found == Class::Text && expected != Class::Text) {
        Some(numbers(col, path, reading)?)
    } else {
        None
    };
    let type_ok = check_type(col, cp, nums.as_ref(), out);
    check_nulls(df, col, cp, nums.as_ref().filter(|_| type_ok), &lim, out);

    // Values against the training distribution: meaningless after a type
    // change, and skipped where the policy says to ignore the column.
    if !type_ok || lim.ignore {
        return Ok(());
    }
    let small = |n: u64| n < policy.min_rows;
    match (&cp.numeric, &cp.categories, nums) {
        (Some(np), _, Some(n)) if numeric_kind => {
            numeric_checks(name, cp, np, &n.values, &lim, small, out)
        }
        (_, Some(cat), _) => {
            let text = category_text(col, cp, path)?;
            categorical_checks(name, cp, cat, &text, &lim, policy, small, out);
        }
        _ => {}
    }
    Ok(())
}

/// Whether the column is there: its column when it is (and, for the
/// target, holds a value). New data is often unlabelled: a target column
/// that is absent, or present but empty (a placeholder), is not a problem,
/// and comparing it would only produce noise.
fn check_presence<'a>(
    df: &'a DataFrame,
    cp: &ColumnProfile,
    out: &mut Vec<Check>,
) -> Option<&'a Column> {
    let name = cp.name.as_str();
    let is_target = cp.role == "target";
    let col = df.column(name).ok();
    let unlabelled = match col {
        None => Some("is absent"),
        Some(c) if is_target && c.null_count() == c.len() => Some("has no values"),
        _ => None,
    };
    match (col, unlabelled) {
        (Some(c), None) => {
            out.push(Check {
                value: Some(1.0),
                message: format!("column {name:?} is present"),
                ..blank("missing_column", Some(name), "present")
            });
            Some(c)
        }
        _ if is_target => {
            out.push(Check {
                value: Some(f64::from(u8::from(col.is_some()))),
                severity: Severity::Warning,
                message: format!(
                    "target column {name:?} {} (unlabelled data): its checks are skipped",
                    unlabelled.unwrap_or("is absent")
                ),
                ..blank("missing_column", Some(name), "present")
            });
            None
        }
        _ => {
            out.push(Check {
                value: Some(0.0),
                passed: false,
                message: format!(
                    "column {name:?} is missing: the model was trained with it as a {} {}",
                    cp.kind, cp.role
                ),
                ..blank("missing_column", Some(name), "present")
            });
            None
        }
    }
}

/// Type: text holding only values of the training class is a CSV quirk
/// (a stray quote, a missing-value marker listed elsewhere), not a change;
/// so is a training text column whose values were all numbers (a category
/// code read without its declaration) arriving as numbers. Whether the
/// type is the training one.
fn check_type(
    col: &Column,
    cp: &ColumnProfile,
    nums: Option<&Numbers>,
    out: &mut Vec<Check>,
) -> bool {
    let name = cp.name.as_str();
    let expected = Class::of_name(&cp.dtype);
    let found = Class::of(col.dtype());
    let numeric_kind = cp.kind != "categorical";
    let categories_read_as = |r: Reading| {
        cp.categories
            .as_ref()
            .is_some_and(|c| c.frequencies.iter().all(|(v, _)| r.parse(v).is_some()))
    };
    let dtype = col.dtype().to_string();
    let (type_ok, detail) = match (expected, found) {
        (a, b) if a == b => (true, String::new()),
        (Class::Numeric | Class::Boolean, Class::Text) => match nums {
            Some(n) if n.unreadable == 0 => {
                (true, format!(" holding only {}", expected.describe()))
            }
            Some(Numbers {
                first_unreadable: Some((i, v)),
                unreadable,
                ..
            }) => (
                false,
                format!(
                    "; {} not {} (first: row {}, value {v:?})",
                    schema::plural(*unreadable, "value is", "values are"),
                    expected.describe(),
                    extract::row_number(None, *i)
                ),
            ),
            _ => (false, String::new()),
        },
        (Class::Text, Class::Numeric) => (
            numeric_kind
                || categories_read_as(Reading {
                    numbers: true,
                    booleans: false,
                }),
            String::new(),
        ),
        (Class::Text, Class::Boolean) => (
            cp.kind == "boolean"
                || categories_read_as(Reading {
                    numbers: false,
                    booleans: true,
                }),
            String::new(),
        ),
        _ => (false, String::new()),
    };
    out.push(Check {
        passed: type_ok,
        message: if type_ok {
            format!(
                "column {name:?}: {dtype}{detail}, the same kind of values as in training ({})",
                cp.dtype
            )
        } else {
            format!(
                "column {name:?}: {} ({dtype}), but {} ({}) in training{detail}",
                found.describe(),
                expected.describe(),
                cp.dtype
            )
        },
        ..blank("type_change", Some(name), "type")
    });
    type_ok
}

/// Missing share, counted as training counted it (NaN is missing): from
/// `nums` when the column read as its training type, else polars' nulls.
fn check_nulls(
    df: &DataFrame,
    col: &Column,
    cp: &ColumnProfile,
    nums: Option<&Numbers>,
    lim: &Limits,
    out: &mut Vec<Check>,
) {
    let missing = match nums {
        Some(n) => n.values.iter().filter(|v| v.is_none()).count() as u64,
        None => col.null_count() as u64,
    };
    out.push(null_check(&cp.name, cp, missing, df.height() as u64, lim));
}

/// The missing share of `missing` out of `rows` values against training's.
pub fn null_check(name: &str, cp: &ColumnProfile, missing: u64, rows: u64, lim: &Limits) -> Check {
    let null_fraction = share(missing, rows);
    let increase = null_fraction - cp.null_fraction;
    let passed = increase <= lim.max_null_increase + SLACK;
    Check {
        value: Some(increase),
        threshold: Some(lim.max_null_increase),
        passed,
        message: format!(
            "column {name:?}: missing share {increase:+.3} {} {} ({} missing vs {} in training)",
            op(passed),
            lim.max_null_increase,
            pct(null_fraction),
            pct(cp.null_fraction)
        ),
        ..blank("null_fraction", Some(name), "null_fraction_increase")
    }
}

/// The category texts of `col` as training wrote them. A code column that
/// was integer in training and arrives as floats would otherwise read `1.0`
/// where training read `1` and every value would look unseen: whole floats
/// are written as integers then, so i64 -> f64 is no change here either.
fn category_text(col: &Column, cp: &ColumnProfile, path: &Path) -> Result<StringChunked> {
    let was_integer = Class::of_name(&cp.dtype) == Class::Numeric
        && ![DataType::Float32, DataType::Float64]
            .iter()
            .any(|d| d.to_string() == cp.dtype);
    if !(was_integer && col.dtype().is_float()) {
        return extract::text(col, path);
    }
    let floats = col
        .cast(&DataType::Float64)
        .map_err(|e| extract::polars_err(path, e))?;
    let floats = floats.f64().map_err(|e| extract::polars_err(path, e))?;
    // Rust writes a whole f64 without a fraction (`1`), others as polars
    // does (`2.5`).
    Ok(StringChunked::from_iter_options(
        col.name().clone(),
        floats
            .iter()
            .map(|v| v.filter(|x| !x.is_nan()).map(|x| x.to_string())),
    ))
}

fn numeric_checks(
    name: &str,
    cp: &ColumnProfile,
    np: &NumericProfile,
    values: &[Option<f64>],
    lim: &Limits,
    small: impl Fn(u64) -> bool,
    out: &mut Vec<Check>,
) {
    let mut counts = vec![0u64; np.bin_fractions.len()];
    let mut present = 0u64;
    let mut outside = 0u64;
    let mut first_outside = None;
    for (i, v) in values.iter().enumerate() {
        let Some(x) = *v else { continue };
        present += 1;
        if x < np.min || x > np.max {
            outside += 1;
            if first_outside.is_none() {
                first_outside = Some((i, x));
            }
        }
        let b = bin_of(&np.bin_edges, x).min(counts.len().saturating_sub(1));
        if let Some(c) = counts.get_mut(b) {
            *c += 1;
        }
    }
    let first =
        first_outside.map(|(i, x)| format!("row {}, value {x}", extract::row_number(None, i)));
    out.push(range_check(name, np, outside, present, first, lim));
    out.push(psi_check(name, cp, np, &counts, lim, small(present)));
}

/// The share of `outside` out of `present` values beyond the training
/// range; `first` says where the first one was (`row 4, value inf`).
pub fn range_check(
    name: &str,
    np: &NumericProfile,
    outside: u64,
    present: u64,
    first: Option<String>,
    lim: &Limits,
) -> Check {
    let frac = share(outside, present);
    let passed = frac <= lim.max_out_of_range + SLACK;
    let first = first.map_or(String::new(), |f| format!("; first: {f}"));
    Check {
        value: Some(frac),
        threshold: Some(lim.max_out_of_range),
        passed,
        message: format!(
            "column {name:?}: {} of values outside the training range [{}, {}] {} {} ({outside} of {present}{first})",
            pct(frac),
            np.min,
            np.max,
            op(passed),
            pct(lim.max_out_of_range),
        ),
        ..blank("out_of_range", Some(name), "out_of_range_fraction")
    }
}

/// The PSI of `counts` (present values per bin of `np`) against training;
/// `small`: too few values to judge, so a failure only warns.
pub fn psi_check(
    name: &str,
    cp: &ColumnProfile,
    np: &NumericProfile,
    counts: &[u64],
    lim: &Limits,
    small: bool,
) -> Check {
    let present: u64 = counts.iter().sum();
    let actual: Vec<f64> = counts.iter().map(|&c| share(c, present)).collect();
    let value = (present > 0).then(|| psi(&np.bin_fractions, &actual));
    drift_check(
        name,
        cp,
        "psi",
        "PSI",
        "numeric",
        value,
        lim.max_psi,
        present,
        small,
    )
}

/// A distance between two share vectors.
type Distance = fn(&[f64], &[f64]) -> f64;

#[allow(clippy::too_many_arguments)]
fn categorical_checks(
    name: &str,
    cp: &ColumnProfile,
    cat: &CategoryProfile,
    text: &StringChunked,
    lim: &Limits,
    policy: &CheckDataPolicy,
    small: impl Fn(u64) -> bool,
    out: &mut Vec<Check>,
) {
    let index: HashMap<&str, usize> = cat
        .frequencies
        .iter()
        .enumerate()
        .map(|(i, (v, _))| (v.as_str(), i))
        .collect();
    let other = cat.frequencies.len();
    let mut counts = vec![0u64; other + 1];
    let mut present = 0u64;
    let mut first_unseen = None;
    for (i, v) in text.iter().enumerate() {
        let Some(v) = v else { continue };
        present += 1;
        match index.get(v) {
            Some(&k) => counts[k] += 1,
            None => {
                counts[other] += 1;
                if first_unseen.is_none() {
                    first_unseen = Some((i, extract::truncate(v)));
                }
            }
        }
    }
    let first =
        first_unseen.map(|(i, v)| format!("row {}, value {v:?}", extract::row_number(None, i)));
    out.push(unseen_check(name, cat, counts[other], present, first, lim));
    out.push(category_drift_check(
        name,
        cp,
        cat,
        &counts,
        lim,
        policy,
        small(present),
    ));
}

/// The share of `unseen` out of `present` values that are no training
/// category; `first` says where the first one was (`row 1, value "x"`).
/// Only a warning when the profile lists only the most frequent
/// categories.
pub fn unseen_check(
    name: &str,
    cat: &CategoryProfile,
    unseen: u64,
    present: u64,
    first: Option<String>,
    lim: &Limits,
) -> Check {
    let frac = share(unseen, present);
    let passed = frac <= lim.max_unseen + SLACK;
    let truncated = cat.other_fraction > 0.0;
    let first = first.map_or(String::new(), |f| format!("; first: {f}"));
    Check {
        value: Some(frac),
        threshold: Some(lim.max_unseen),
        passed,
        severity: if truncated {
            Severity::Warning
        } else {
            Severity::Error
        },
        message: format!(
            "column {name:?}: {} of values never seen in training {} {} ({unseen} of {present}{first}){}",
            pct(frac),
            op(passed),
            pct(lim.max_unseen),
            if truncated {
                format!(
                    "; the profile lists only the {} most frequent of {} training categories, so this only warns",
                    cat.frequencies.len(),
                    cat.distinct
                )
            } else {
                String::new()
            }
        ),
        ..blank("unseen_category", Some(name), "unseen_fraction")
    }
}

/// The categorical distance (the policy's) of `counts` (present values
/// per training category of `cat`, then one for all others) against
/// training; `small`: too few values to judge, so a failure only warns.
pub fn category_drift_check(
    name: &str,
    cp: &ColumnProfile,
    cat: &CategoryProfile,
    counts: &[u64],
    lim: &Limits,
    policy: &CheckDataPolicy,
    small: bool,
) -> Check {
    let present: u64 = counts.iter().sum();
    let expected: Vec<f64> = cat
        .frequencies
        .iter()
        .map(|(_, f)| *f)
        .chain([cat.other_fraction])
        .collect();
    let actual: Vec<f64> = counts.iter().map(|&c| share(c, present)).collect();
    let (statistic, label, distance): (&str, &str, Distance) = match policy.categorical_drift {
        CategoricalDistance::JensenShannon => {
            ("jensen_shannon", "Jensen-Shannon distance", jensen_shannon)
        }
        CategoricalDistance::LInfinity => ("l_infinity", "L-infinity distance", l_infinity),
    };
    let value = (present > 0).then(|| distance(&expected, &actual));
    drift_check(
        name,
        cp,
        statistic,
        label,
        "categorical",
        value,
        lim.max_categorical_drift,
        present,
        small,
    )
}

#[allow(clippy::too_many_arguments)]
fn drift_check(
    name: &str,
    cp: &ColumnProfile,
    statistic: &str,
    label: &str,
    kind: &str,
    value: Option<f64>,
    threshold: f64,
    present: u64,
    small: bool,
) -> Check {
    let passed = value.is_some_and(|v| v <= threshold + SLACK);
    let context = format!("{kind} drift against {} training values", cp.count);
    let message = match value {
        None => format!("column {name:?}: no values to compare with training ({context})"),
        Some(v) if small => format!(
            "column {name:?}: {label} {v:.3} {} {threshold} ({context}; only {present} new values: too small a sample to judge, so this only warns)",
            op(passed)
        ),
        Some(v) => format!(
            "column {name:?}: {label} {v:.3} {} {threshold} ({context})",
            op(passed)
        ),
    };
    Check {
        value,
        threshold: Some(threshold),
        passed,
        severity: if small || value.is_none() {
            Severity::Warning
        } else {
            Severity::Error
        },
        message,
        ..blank("drift", Some(name), statistic)
    }
}

/// Population stability index of `actual` shares against `expected`:
/// `sum (a - e) ln(a / e)`, each share first floored at [`SHARE_FLOOR`].
/// 0 for equal shares; 0.1 is commonly read as "watch", 0.25 as "act".
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let e = e.max(SHARE_FLOOR);
            let a = a.max(SHARE_FLOOR);
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// Jensen-Shannon distance of two distributions: the square root of the
/// divergence with base-2 logarithms, so it runs from 0 (equal) to 1
/// (disjoint) and, unlike the divergence, is a metric.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let mut d = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let m = (a + b) / 2.0;
        if a > 0.0 {
            d += 0.5 * a * (a / m).log2();
        }
        if b > 0.0 {
            d += 0.5 * b * (b / m).log2();
        }
    }
    d.max(0.0).sqrt().min(1.0)
}

/// The largest absolute difference of any share.
pub fn l_infinity(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::profile_frame;
    use anneal_config::ColumnCheck;
    use anneal_core::rng::Rng;

    fn titanic() -> (DataFrame, DataProfile) {
        let df = crate::profile::tests::titanic();
        let p = profile_frame(
            &df,
            &crate::profile::tests::titanic_path(),
            Some("survived"),
            &[],
        )
        .unwrap();
        (df, p)
    }

    fn run(df: &DataFrame, profile: &DataProfile, policy: &CheckDataPolicy) -> Vec<Check> {
        let schema = SchemaConfig::default();
        check(
            df,
            Path::new("new.csv"),
            &DriftInput {
                profile,
                policy,
                schema: &schema,
                ignored: &[],
            },
        )
        .unwrap()
    }

    fn find<'a>(checks: &'a [Check], code: &str, column: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.code == code && c.column.as_deref() == Some(column))
            .unwrap_or_else(|| panic!("no {code} check on {column}: {checks:#?}"))
    }

    fn errors(checks: &[Check]) -> Vec<&Check> {
        checks
            .iter()
            .filter(|c| !c.passed && c.severity == Severity::Error)
            .collect()
    }

    #[test]
    fn distances() {
        let p = [0.2, 0.3, 0.5];
        assert_eq!(jensen_shannon(&p, &p), 0.0);
        assert_eq!(jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]), 1.0);
        assert_eq!(
            jensen_shannon(&[0.5, 0.5, 0.0, 0.0], &[0.0, 0.0, 0.5, 0.5]),
            1.0
        );
        assert_eq!(psi(&p, &p), 0.0);
        assert_eq!(l_infinity(&p, &[0.5, 0.3, 0.2]), 0.3);
        // By hand: (0.3 - 0.5) ln(0.3 / 0.5) + (0.7 - 0.5) ln(0.7 / 0.5)
        let want = -0.2 * (0.6f64).ln() + 0.2 * (1.4f64).ln();
        assert!((psi(&[0.5, 0.5], &[0.3, 0.7]) - want).abs() < 1e-15);
        // An empty bin is floored, not infinite.
        let floored = psi(&[0.5, 0.5], &[1.0, 0.0]);
        let want = 0.5 * (1.0f64 / 0.5).ln() + (1e-4 - 0.5) * (1e-4f64 / 0.5).ln();
        assert!((floored - want).abs() < 1e-12, "{floored}");
    }

    #[test]
    fn a_sample_of_the_training_data_passes() {
        let (df, profile) = titanic();
        let mut idx: Vec<IdxSize> = (0..df.height() as IdxSize).collect();
        Rng::stream(7, "drift-test").shuffle(&mut idx);
        idx.truncate(400);
        let sample = df.take(&IdxCa::from_vec("idx".into(), idx)).unwrap();
        let checks = run(&sample, &profile, &CheckDataPolicy::default());
        assert_eq!(errors(&checks), Vec::<&Check>::new());
        // Every test is listed: row count, 6 columns x (present, type, null,
        // range/unseen, drift), new columns.
        assert_eq!(checks.len(), 1 + 6 * 5 + 1, "{checks:#?}");
        let age = find(&checks, "drift", "age");
        assert!(age.passed && age.value.unwrap() < 0.1, "{age:?}");
        assert_eq!(find(&checks, "out_of_range", "age").value, Some(0.0));
        assert_eq!(
            checks[0].message,
            "400 rows (at least 50 are needed to judge drift)"
        );
        assert_eq!(
            find(&checks, "type_change", "age").message,
            "column \"age\": f64, the same kind of values as in training (f64)"
        );
    }

    #[test]
    fn shifted_numbers_drift() {
        let (df, profile) = titanic();
        let shifted = df
            .clone()
            .lazy()
            .with_columns([
                col("age") + lit(15.0),
                col("sibsp").cast(DataType::Float64) * lit(1.5),
                col("parch").cast(DataType::Float64) * lit(1.5),
            ])
            .collect()
            .unwrap();
        let checks = run(&shifted, &profile, &CheckDataPolicy::default());
        for c in ["age", "sibsp", "parch"] {
            let d = find(&checks, "drift", c);
            assert!(!d.passed && d.value.unwrap() > 0.25, "{d:?}");
            assert_eq!(d.severity, Severity::Error);
            // i64 -> f64 is not a type change.
            assert!(find(&checks, "type_change", c).passed);
        }
        let d = find(&checks, "drift", "age");
        assert_eq!(
            d.message,
            format!(
                "column \"age\": PSI {:.3} > 0.25 (numeric drift against 1046 training values)",
                d.value.unwrap()
            )
        );
        // Ages above 65 (10 of 1046 values) leave the training range once
        // shifted: 0.96%, just inside the default 1%; a column override
        // makes the range check stricter.
        let range = find(&checks, "out_of_range", "age");
        assert_eq!(range.value, Some(10.0 / 1046.0));
        assert!(range.passed);
        let mut policy = CheckDataPolicy::default();
        policy.columns.insert(
            "age".into(),
            ColumnCheck {
                max_out_of_range: Some(0.005),
                ..ColumnCheck::default()
            },
        );
        let checks = run(&shifted, &profile, &policy);
        let range = find(&checks, "out_of_range", "age");
        assert!(!range.passed);
        assert!(
            range.message.starts_with(
                "column \"age\": 0.96% of values outside the training range [0.166700006, 80] > 0.50% (10 of 1046; first: row "
            ),
            "{}",
            range.message
        );
        // Shifting every age by 60 leaves most of them out of range.
        let far = df
            .clone()
            .lazy()
            .with_column(col("age") + lit(60.0))
            .collect()
            .unwrap();
        let checks = run(&far, &profile, &CheckDataPolicy::default());
        assert!(!find(&checks, "out_of_range", "age").passed);
        // ignore = true skips range and drift but still checks presence,
        // type and missing share.
        let mut policy = CheckDataPolicy::default();
        policy.columns.insert(
            "age".into(),
            ColumnCheck {
                ignore: true,
                ..ColumnCheck::default()
            },
        );
        let checks = run(&far, &profile, &policy);
        let on_age: Vec<&str> = checks
            .iter()
            .filter(|c| c.column.as_deref() == Some("age"))
            .map(|c| c.code.as_str())
            .collect();
        assert_eq!(on_age, ["missing_column", "type_change", "null_fraction"]);
    }

    #[test]
    fn unseen_categories_drift() {
        let (df, profile) = titanic();
        let sex = df.column("sex").unwrap().str().unwrap().clone();
        let replaced: Vec<Option<&str>> = sex
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 5 == 0 { Some("unknown") } else { v })
            .collect();
        let mut changed = df.clone();
        changed
            .with_column(Column::new("sex".into(), replaced))
            .unwrap();
        let checks = run(&changed, &profile, &CheckDataPolicy::default());
        let unseen = find(&checks, "unseen_category", "sex");
        assert!(!unseen.passed);
        assert_eq!(unseen.severity, Severity::Error);
        assert_eq!(unseen.value, Some(262.0 / 1309.0));
        assert_eq!(
            unseen.message,
            "column \"sex\": 20.02% of values never seen in training > 1.00% (262 of 1309; first: row 1, value \"unknown\")"
        );
        let drift = find(&checks, "drift", "sex");
        assert!(!drift.passed && drift.value.unwrap() > 0.1, "{drift:?}");
        assert_eq!(drift.statistic, "jensen_shannon");
        let policy = CheckDataPolicy {
            categorical_drift: CategoricalDistance::LInfinity,
            ..CheckDataPolicy::default()
        };
        let checks = run(&changed, &profile, &policy);
        let drift = find(&checks, "drift", "sex");
        // The "(other)" bucket went from 0 to 262/1309, the largest change.
        assert_eq!(drift.statistic, "l_infinity");
        assert!((drift.value.unwrap() - 262.0 / 1309.0).abs() < 1e-12);
        assert!(!drift.passed);
        // Other columns are untouched.
        assert!(find(&checks, "drift", "pclass").passed);
    }

    #[test]
    fn columns_missing_new_and_retyped() {
        let (df, profile) = titanic();
        let mut changed = df.drop("sibsp").unwrap().drop("survived").unwrap();
        changed
            .with_column(Column::new("extra".into(), vec![1i64; df.height()]))
            .unwrap();
        let words: Vec<&str> = (0..df.height())
            .map(|i| if i % 2 == 0 { "none" } else { "one" })
            .collect();
        changed
            .with_column(Column::new("parch".into(), words))
            .unwrap();
        let checks = run(&changed, &profile, &CheckDataPolicy::default());
        let missing = find(&checks, "missing_column", "sibsp");
        assert!(!missing.passed);
        assert_eq!(
            missing.message,
            "column \"sibsp\" is missing: the model was trained with it as a numeric feature"
        );
        // The target may be absent: unlabelled data.
        let target = find(&checks, "missing_column", "survived");
        assert!(target.passed);
        assert_eq!(
            checks
                .iter()
                .filter(|c| c.column.as_deref() == Some("survived"))
                .count(),
            1
        );
        let new = find(&checks, "new_column", "extra");
        assert_eq!((new.passed, new.severity), (false, Severity::Warning));
        let t = find(&checks, "type_change", "parch");
        assert!(!t.passed);
        assert_eq!(
            t.message,
            "column \"parch\": text (str), but numbers (i64) in training; 1309 values are not numbers (first: row 1, value \"none\")"
        );
        // After a type change only the missing share is still compared.
        assert!(
            !checks
                .iter()
                .any(|c| c.column.as_deref() == Some("parch") && c.code == "drift")
        );
        let errs: BTreeSet<(&str, &str)> = errors(&checks)
            .iter()
            .map(|c| (c.code.as_str(), c.column.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            errs,
            BTreeSet::from([("missing_column", "sibsp"), ("type_change", "parch")])
        );
        // Ignored columns are never new.
        let schema = SchemaConfig::default();
        let checks = check(
            &changed,
            Path::new("new.csv"),
            &DriftInput {
                profile: &profile,
                policy: &CheckDataPolicy::default(),
                schema: &schema,
                ignored: &["extra".to_string()],
            },
        )
        .unwrap();
        let new = checks.iter().find(|c| c.code == "new_column").unwrap();
        assert!(new.passed && new.column.is_none());
    }

    #[test]
    fn numbers_as_text_and_infinities() {
        let (df, profile) = titanic();
        // age as text (a CSV quirk), with one infinity: not a type change,
        // the infinity is out of range rather than an error.
        let age = df.column("age").unwrap().f64().unwrap().clone();
        let texts: Vec<Option<String>> = age
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i == 3 {
                    Some("inf".to_string())
                } else {
                    v.map(|x| format!(" {x} "))
                }
            })
            .collect();
        let mut changed = df.clone();
        changed
            .with_column(Column::new("age".into(), texts))
            .unwrap();
        let checks = run(&changed, &profile, &CheckDataPolicy::default());
        let t = find(&checks, "type_change", "age");
        assert!(t.passed, "{t:?}");
        assert_eq!(
            t.message,
            "column \"age\": str holding only numbers, the same kind of values as in training (f64)"
        );
        let r = find(&checks, "out_of_range", "age");
        assert_eq!(r.value, Some(1.0 / 1046.0));
        assert!(
            r.message.ends_with("(1 of 1046; first: row 4, value inf)"),
            "{}",
            r.message
        );
        assert!(find(&checks, "drift", "age").passed);
    }

    #[test]
    fn small_samples_only_warn_and_missing_shares_are_compared() {
        let (df, profile) = titanic();
        // 30 rows, ages all missing.
        let mut small = df.slice(0, 30);
        small
            .with_column(Column::full_null("age".into(), 30, &DataType::Float64))
            .unwrap();
        let checks = run(&small, &profile, &CheckDataPolicy::default());
        assert!(!checks[0].passed && checks[0].severity == Severity::Warning);
        assert_eq!(
            checks[0].message,
            "30 rows, fewer than 50: too small a sample to judge drift, so drift is only warned about"
        );
        let null = find(&checks, "null_fraction", "age");
        assert!(!null.passed);
        assert_eq!(
            null.message,
            "column \"age\": missing share +0.799 > 0.05 (100.00% missing vs 20.09% in training)"
        );
        let d = find(&checks, "drift", "age");
        assert_eq!(
            (d.value, d.passed, d.severity),
            (None, false, Severity::Warning)
        );
        let d = find(&checks, "drift", "sex");
        assert_eq!(d.severity, Severity::Warning);
        assert!(
            d.message
                .contains("only 30 new values: too small a sample to judge"),
            "{}",
            d.message
        );
    }

    #[test]
    fn integer_class_codes_arriving_as_floats_are_the_same_classes() {
        let train = df!("x" => [1.0, 2.0, 3.0, 4.0], "y" => [0i64, 1, 1, 0]).unwrap();
        let profile = profile_frame(&train, Path::new("t.csv"), Some("y"), &[]).unwrap();
        assert_eq!(profile.column("y").unwrap().kind, "categorical");
        let new = df!("x" => [1.0, 2.0, 3.0, 4.0], "y" => [Some(0.0), Some(1.0), None, Some(0.0)])
            .unwrap();
        let checks = run(&new, &profile, &CheckDataPolicy::default());
        assert!(find(&checks, "type_change", "y").passed);
        assert_eq!(find(&checks, "unseen_category", "y").value, Some(0.0));
        let new = df!("x" => [1.0, 2.0], "y" => [0.0, 2.5]).unwrap();
        let checks = run(&new, &profile, &CheckDataPolicy::default());
        let unseen = find(&checks, "unseen_category", "y");
        assert_eq!(unseen.value, Some(0.5));
        assert!(
            unseen.message.contains("first: row 2, value \"2.5\""),
            "{}",
            unseen.message
        );
    }

    #[test]
    fn schema_violations_become_checks() {
        let (df, profile) = titanic();
        let policy = CheckDataPolicy::default();
        let mut schema = SchemaConfig::default();
        schema.columns.insert(
            "age".into(),
            anneal_config::ColumnSchema {
                kind: Some(anneal_config::SchemaType::Numeric),
                nullable: true,
                min: Some(0.0),
                max: Some(70.0),
                allowed: None,
            },
        );
        let input = DriftInput {
            profile: &profile,
            policy: &policy,
            schema: &schema,
            ignored: &[],
        };
        let checks = check(&df, Path::new("new.csv"), &input).unwrap();
        let last = checks.last().unwrap();
        assert_eq!(last.code, "schema_range");
        assert_eq!(last.severity, Severity::Error);
        assert!(!last.passed);
        assert!(
            last.message.starts_with("column \"age\": "),
            "{}",
            last.message
        );
        let mut relaxed = schema.clone();
        relaxed.columns.get_mut("age").unwrap().max = Some(80.0);
        let input = DriftInput {
            schema: &relaxed,
            ..input
        };
        let checks = check(&df, Path::new("new.csv"), &input).unwrap();
        let last = checks.last().unwrap();
        assert_eq!(
            (last.code.as_str(), last.passed, last.message.as_str()),
            ("schema", true, "matches [data.schema] (1 column checked)")
        );
    }
}
