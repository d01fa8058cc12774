//! Drift of live traffic against the training profile, in constant memory.
//!
//! `check-data` reads a whole file; a served model sees one request at a
//! time, forever. So values are not kept but counted, per column, into the
//! same buckets `check-data` compares: the profile's decile bins (numbers)
//! or its training categories plus one bucket for the rest (categories),
//! with the missing and out-of-range counts beside them. A column's counts
//! are a few integers (at most [`MAX_PROFILE_CATEGORIES`] + 1 buckets),
//! whatever the traffic.
//!
//! Counts add up: [`Counts::merge`] and [`Counts::subtract`] let a sliding
//! window (serve: [`crate::window`]) or per-hour windows (`anneal monitor`,
//! from the inference log) be built from smaller ones. The statistics are
//! then the very functions `check-data` uses
//! ([`anneal_data::drift::null_check`], `range_check`, `psi_check`,
//! `unseen_check`, `category_drift_check`), so the same window gives the
//! same figures and messages as `check-data` over a file of its rows (the
//! messages name no first offending row: a window keeps no rows).
//!
//! ```text
//! let reference = Reference::new(&profile);      // once
//! let mut counts = reference.empty();
//! reference.add_record(&mut counts, &record.inputs, &record.prediction);
//! let checks = reference.checks(&counts, &policy);  // Vec<Check>
//! ```
//!
//! The predictions are counted too, as column [`PREDICTION`], against the
//! training labels (the target's profile). A model's answers only
//! approximate the labels (a regression's are narrower, a classifier
//! favours the common class), so prediction checks only warn: their
//! figures are there to chart, not to page anyone at the defaults.
//!
//! Values are read as `anneal serve` reads them: for a numeric column a
//! number, `true`/`false` (1/0) or a text holding a number, `null` or `""`
//! missing (anything else, which serve refuses, counts as missing); for a
//! categorical one the text, or a number's or boolean's JSON text.

use std::collections::HashMap;

use anneal_config::{CheckDataPolicy, Severity};
use anneal_data::drift::{
    Check, category_drift_check, limits, null_check, psi_check, range_check, row_count_check,
    unseen_check,
};
use anneal_data::profile::{
    ColumnProfile, DataProfile, MAX_PROFILE_CATEGORIES, NumericProfile, bin_of,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The column name predictions are reported under (in checks, gauges and
/// the monitoring endpoint): no data column is named so.
pub const PREDICTION: &str = "__prediction__";

/// One column's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnCounts {
    /// Values counted, missing ones included.
    pub rows: u64,
    pub missing: u64,
    /// Numbers outside the training range [min, max]; for categories the
    /// values no training category matched (also the last bucket).
    pub outside: u64,
    /// Present values per bucket: per decile bin of the profile, or per
    /// training category then one for all others. Empty for a column the
    /// profile has no distribution of.
    pub buckets: Vec<u64>,
}

impl ColumnCounts {
    /// Adds `other` (counted against the same reference).
    pub fn merge(&mut self, other: &ColumnCounts) {
        self.rows += other.rows;
        self.missing += other.missing;
        self.outside += other.outside;
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
    }

    /// Takes away `other`, a part of these counts (saturating, so a wrong
    /// caller gets wrong figures, never a panic).
    pub fn subtract(&mut self, other: &ColumnCounts) {
        self.rows = self.rows.saturating_sub(other.rows);
        self.missing = self.missing.saturating_sub(other.missing);
        self.outside = self.outside.saturating_sub(other.outside);
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a = a.saturating_sub(*b);
        }
    }

    pub fn present(&self) -> u64 {
        self.rows - self.missing.min(self.rows)
    }
}

/// The counts of a window: every input column (in the reference's order)
/// and the predictions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Rows (predictions) counted.
    pub rows: u64,
    pub columns: Vec<ColumnCounts>,
    pub prediction: ColumnCounts,
}

impl Counts {
    pub fn merge(&mut self, other: &Counts) {
        self.rows += other.rows;
        if self.columns.len() < other.columns.len() {
            self.columns
                .resize(other.columns.len(), ColumnCounts::default());
        }
        for (a, b) in self.columns.iter_mut().zip(&other.columns) {
            a.merge(b);
        }
        self.prediction.merge(&other.prediction);
    }

    pub fn subtract(&mut self, other: &Counts) {
        self.rows = self.rows.saturating_sub(other.rows);
        for (a, b) in self.columns.iter_mut().zip(&other.columns) {
            a.subtract(b);
        }
        self.prediction.subtract(&other.prediction);
    }
}

/// How a column's values are bucketed.
#[derive(Debug, Clone)]
enum Buckets {
    /// Decile bins of the profile; outside: beyond [min, max].
    Numeric(NumericProfile),
    /// Training category to bucket; the last bucket holds the rest.
    Categories(HashMap<String, usize>),
    /// No distribution in the profile: only missing values are counted.
    None,
}

/// One column of the reference: its profile and a lookup built once.
#[derive(Debug, Clone)]
pub struct ColumnReference {
    /// The name checks report (the column's, or [`PREDICTION`]).
    pub name: String,
    pub profile: ColumnProfile,
    buckets: Buckets,
}

impl ColumnReference {
    pub fn new(name: &str, cp: &ColumnProfile) -> ColumnReference {
        let buckets = match (&cp.numeric, &cp.categories) {
            (Some(np), _) if cp.kind != "categorical" => Buckets::Numeric(np.clone()),
            (_, Some(cat)) => Buckets::Categories(
                cat.frequencies
                    .iter()
                    .take(MAX_PROFILE_CATEGORIES)
                    .enumerate()
                    .map(|(i, (v, _))| (v.clone(), i))
                    .collect(),
            ),
            _ => Buckets::None,
        };
        ColumnReference {
            name: name.to_string(),
            profile: cp.clone(),
            buckets,
        }
    }

    /// Whether values are read as numbers (else as text).
    pub fn is_numeric(&self) -> bool {
        matches!(self.buckets, Buckets::Numeric(_))
    }

    /// Zero counts, sized for this column.
    pub fn empty(&self) -> ColumnCounts {
        let n = match &self.buckets {
            Buckets::Numeric(np) => np.bin_fractions.len(),
            Buckets::Categories(index) => index.len() + 1,
            Buckets::None => 0,
        };
        ColumnCounts {
            buckets: vec![0; n],
            ..ColumnCounts::default()
        }
    }

    /// Counts one number (`None` or NaN: missing). On a categorical column
    /// the number counts as its text.
    pub fn add_number(&self, c: &mut ColumnCounts, v: Option<f64>) {
        c.rows += 1;
        let Some(x) = v.filter(|x| !x.is_nan()) else {
            c.missing += 1;
            return;
        };
        match &self.buckets {
            Buckets::Numeric(np) => {
                if x < np.min || x > np.max {
                    c.outside += 1;
                }
                let b = bin_of(&np.bin_edges, x).min(c.buckets.len().saturating_sub(1));
                if let Some(n) = c.buckets.get_mut(b) {
                    *n += 1;
                }
            }
            Buckets::Categories(_) => {
                c.rows -= 1;
                self.add_text(c, Some(&x.to_string()));
            }
            Buckets::None => {}
        }
    }

    /// Counts one text (`None` or `""`: missing). On a numeric column the
    /// text is read as a number (unreadable: missing).
    pub fn add_text(&self, c: &mut ColumnCounts, v: Option<&str>) {
        let Some(s) = v.filter(|s| !s.is_empty()) else {
            c.rows += 1;
            c.missing += 1;
            return;
        };
        match &self.buckets {
            Buckets::Numeric(_) => self.add_number(c, s.trim().parse::<f64>().ok()),
            Buckets::Categories(index) => {
                c.rows += 1;
                let other = c.buckets.len().saturating_sub(1);
                let b = match index.get(s) {
                    Some(&b) => b,
                    None => {
                        c.outside += 1;
                        other
                    }
                };
                if let Some(n) = c.buckets.get_mut(b) {
                    *n += 1;
                }
            }
            Buckets::None => c.rows += 1,
        }
    }

    /// Counts one value as a client sent it (see the module notes).
    pub fn add_value(&self, c: &mut ColumnCounts, v: &Value) {
        match v {
            Value::Null => self.add_text(c, None),
            Value::String(s) => self.add_text(c, Some(s)),
            Value::Number(n) if self.is_numeric() => self.add_number(c, n.as_f64()),
            Value::Number(n) => self.add_text(c, Some(&n.to_string())),
            Value::Bool(b) if self.is_numeric() => {
                self.add_number(c, Some(f64::from(u8::from(*b))))
            }
            Value::Bool(b) => self.add_text(c, Some(&b.to_string())),
            Value::Array(_) | Value::Object(_) => self.add_text(c, None),
        }
    }

    /// The checks of `c`, in `check-data`'s order: missing share, then
    /// range (numbers) or unseen categories, then drift; range and drift
    /// are left out for a column the policy ignores.
    pub fn checks(&self, c: &ColumnCounts, policy: &CheckDataPolicy) -> Vec<Check> {
        let name = self.name.as_str();
        let cp = &self.profile;
        let lim = limits(policy, name);
        let mut out = vec![null_check(name, cp, c.missing, c.rows, &lim)];
        if lim.ignore {
            return out;
        }
        let small = c.present() < policy.min_rows;
        match (&self.buckets, &cp.categories) {
            (Buckets::Numeric(np), _) => {
                out.push(range_check(name, np, c.outside, c.present(), None, &lim));
                out.push(psi_check(name, cp, np, &c.buckets, &lim, small));
            }
            (Buckets::Categories(_), Some(cat)) => {
                out.push(unseen_check(name, cat, c.outside, c.present(), None, &lim));
                out.push(category_drift_check(
                    name, cp, cat, &c.buckets, &lim, policy, small,
                ));
            }
            _ => {}
        }
        out
    }
}

/// What live traffic is compared with: the profile's feature columns (in
/// profile order) and its target (for the predictions).
#[derive(Debug, Clone)]
pub struct Reference {
    pub columns: Vec<ColumnReference>,
    /// `None` when the profile has no target column.
    pub prediction: Option<ColumnReference>,
}

impl Reference {
    pub fn new(profile: &DataProfile) -> Reference {
        Reference {
            columns: profile
                .columns
                .iter()
                .filter(|c| c.role != "target")
                .map(|c| ColumnReference::new(&c.name, c))
                .collect(),
            prediction: profile
                .columns
                .iter()
                .find(|c| c.role == "target")
                .map(|c| ColumnReference::new(PREDICTION, c)),
        }
    }

    /// The position of input column `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Zero counts, sized for every column.
    pub fn empty(&self) -> Counts {
        Counts {
            rows: 0,
            columns: self.columns.iter().map(ColumnReference::empty).collect(),
            prediction: self
                .prediction
                .as_ref()
                .map_or_else(ColumnCounts::default, ColumnReference::empty),
        }
    }

    /// Counts one logged row: its inputs by name (an absent one is
    /// missing) and its prediction.
    pub fn add_record(&self, c: &mut Counts, inputs: &Map<String, Value>, prediction: &Value) {
        c.rows += 1;
        for (col, counts) in self.columns.iter().zip(c.columns.iter_mut()) {
            col.add_value(counts, inputs.get(&col.name).unwrap_or(&Value::Null));
        }
        if let Some(p) = &self.prediction {
            p.add_value(&mut c.prediction, prediction);
        }
    }

    /// Every check of `c`: the row count, then each column's (see
    /// [`ColumnReference::checks`]), then the predictions' (warnings only).
    pub fn checks(&self, c: &Counts, policy: &CheckDataPolicy) -> Vec<Check> {
        let mut out = vec![row_count_check(c.rows, policy)];
        for (col, counts) in self.columns.iter().zip(&c.columns) {
            out.extend(col.checks(counts, policy));
        }
        if let Some(p) = &self.prediction {
            out.extend(p.checks(&c.prediction, policy).into_iter().map(|mut k| {
                k.severity = Severity::Warning;
                k
            }));
        }
        out
    }
}

/// Whether `checks` hold a failure that counts (error severity): the
/// alert of a column, or of a window when given all its checks.
pub fn alert(checks: &[&Check]) -> bool {
    checks
        .iter()
        .any(|c| !c.passed && c.severity == Severity::Error)
}

#[cfg(test)]
mod tests;
