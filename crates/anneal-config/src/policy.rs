//! The contract and CI policy sections: `[data.schema]` (checked by `train`
//! and `check-data`), `[gate]` (read by `anneal gate`) and `[check_data]`
//! (read by `anneal check-data`). The last two may also live in a policy
//! file of their own; see [`load_policy`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, Result};
use crate::locate;

/// `[data.schema]`: what the data must look like before anything is fitted.
/// Columns not listed are free unless `strict`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchemaConfig {
    /// Fewest rows the file may hold (as read, before cleaning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_rows: Option<u64>,
    /// Most rows the file may hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u64>,
    /// A column the schema does not list is an error.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnSchema>,
}

impl SchemaConfig {
    pub fn is_empty(&self) -> bool {
        self == &SchemaConfig::default()
    }
}

/// One column's contract. Every listed column must be present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSchema {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<SchemaType>,
    /// Whether a missing cell is allowed.
    #[serde(default = "yes")]
    pub nullable: bool,
    /// Smallest allowed value (numeric columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest allowed value (numeric columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The only values allowed (compared as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// The value type a schema column must have as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaType {
    /// Integers or floats.
    Numeric,
    /// Whole numbers only.
    Integer,
    /// Text (any column can be read as text, so this checks nothing but
    /// presence, nulls and `allowed`).
    String,
    /// true/false.
    Boolean,
}

impl SchemaType {
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Numeric => "numeric",
            SchemaType::Integer => "integer",
            SchemaType::String => "string",
            SchemaType::Boolean => "boolean",
        }
    }
}

/// `[gate]`: the rules that decide whether a model may ship.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatePolicy {
    /// The split rules read when they do not name one: `test`, `valid`, or
    /// `eval` for a report written by `anneal eval`.
    pub split: String,
    /// What a rule on a metric the report lacks does.
    pub missing_metric: MissingAction,
    /// What a rule on a slice column the report lacks does.
    pub missing_slice: MissingAction,
    /// What rules against a baseline do when there is none (a first run).
    pub missing_baseline: MissingBaseline,
    /// Slices with fewer rows are skipped by slice rules [default: the
    /// report's `min_slice_rows`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_slice_rows: Option<u64>,
    /// Seed of the paired bootstrap [default: the report's seed].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Resamples of the paired bootstrap.
    pub resamples: u32,
    /// One-sided confidence of the paired bootstrap's bound on the drop.
    pub confidence: f64,
    pub rules: Vec<GateRule>,
}

impl Default for GatePolicy {
    fn default() -> Self {
        GatePolicy {
            split: "test".into(),
            missing_metric: MissingAction::Fail,
            missing_slice: MissingAction::Fail,
            missing_baseline: MissingBaseline::Pass,
            min_slice_rows: None,
            seed: None,
            resamples: 1000,
            confidence: 0.95,
            rules: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingAction {
    Fail,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingBaseline {
    /// Baseline rules are skipped and say so: the first run passes on its
    /// value thresholds alone.
    Pass,
    Fail,
}

/// What every rule names: a metric, and where to read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTarget {
    pub metric: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// `"sex"` applies the rule to every value of the slice column;
    /// `"sex=female"` to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice: Option<String>,
    /// Overrides the policy's `min_slice_rows` for this rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rows: Option<u64>,
    /// Whether a larger value is better [default: known per metric].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub higher_is_better: Option<bool>,
}

/// One gate rule, told apart by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GateRule {
    /// The metric's value (or a bound of its bootstrap interval) within
    /// `min`/`max`.
    Threshold {
        metric: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        split: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slice: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_rows: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        /// Which value is compared: `point`, or the interval's `lower` or
        /// `upper` bound.
        #[serde(default)]
        on: Bound,
    },
    /// The change against the baseline on the same rows: fails when the
    /// metric got worse by more than `max_drop` (absolute) or
    /// `max_relative_drop` (a fraction of the baseline's value). A negative
    /// allowance demands an improvement.
    Change {
        metric: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        split: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slice: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_rows: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        higher_is_better: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_drop: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_relative_drop: Option<f64>,
    },
    /// Noise-aware regression check: a seeded paired bootstrap of the drop
    /// (baseline minus candidate, oriented so that positive is worse) on
    /// the same rows; fails only when the upper confidence bound of the drop
    /// exceeds `margin`.
    Regression {
        metric: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        split: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slice: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_rows: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        higher_is_better: Option<bool>,
        #[serde(default)]
        margin: f64,
    },
    /// The leakage trip-wire: an improvement over the baseline larger than
    /// `max_gain` (absolute) or `max_relative_gain` is too good to be true.
    MaxGain {
        metric: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        split: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slice: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_rows: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        higher_is_better: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_gain: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_relative_gain: Option<f64>,
    },
}

impl GateRule {
    pub fn kind(&self) -> &'static str {
        match self {
            GateRule::Threshold { .. } => "threshold",
            GateRule::Change { .. } => "change",
            GateRule::Regression { .. } => "regression",
            GateRule::MaxGain { .. } => "max_gain",
        }
    }

    /// The metric, split, slice, row floor and direction every rule has.
    pub fn target(&self) -> RuleTarget {
        let (metric, split, slice, min_rows, hib) = match self {
            GateRule::Threshold {
                metric,
                split,
                slice,
                min_rows,
                ..
            } => (metric, split, slice, min_rows, &None),
            GateRule::Change {
                metric,
                split,
                slice,
                min_rows,
                higher_is_better,
                ..
            }
            | GateRule::Regression {
                metric,
                split,
                slice,
                min_rows,
                higher_is_better,
                ..
            }
            | GateRule::MaxGain {
                metric,
                split,
                slice,
                min_rows,
                higher_is_better,
                ..
            } => (metric, split, slice, min_rows, higher_is_better),
        };
        RuleTarget {
            metric: metric.clone(),
            split: split.clone(),
            slice: slice.clone(),
            min_rows: *min_rows,
            higher_is_better: *hib,
        }
    }

    /// Whether the rule compares against a baseline.
    pub fn needs_baseline(&self) -> bool {
        !matches!(self, GateRule::Threshold { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    #[default]
    Point,
    Lower,
    Upper,
}

/// `[check_data]`: when new data no longer looks like the training data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckDataPolicy {
    /// Largest population stability index allowed for a numeric column
    /// (0.1 is a common "watch", 0.25 a common "act").
    pub max_psi: f64,
    /// The distance used for categorical columns.
    pub categorical_drift: CategoricalDistance,
    /// Largest categorical distance allowed.
    pub max_categorical_drift: f64,
    /// Largest increase of a column's missing fraction over training
    /// (absolute).
    pub max_null_increase: f64,
    /// Largest fraction of a numeric column's values outside the training
    /// range.
    pub max_out_of_range: f64,
    /// Largest fraction of a categorical column's values never seen in
    /// training.
    pub max_unseen: f64,
    /// Whether a column training did not have fails the check or only
    /// warns.
    pub new_column: Severity,
    /// Fewest rows for drift to be judged (fewer: drift is reported as a
    /// warning only).
    pub min_rows: u64,
    /// Per-column overrides of the thresholds above.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnCheck>,
}

impl Default for CheckDataPolicy {
    fn default() -> Self {
        CheckDataPolicy {
            max_psi: 0.25,
            categorical_drift: CategoricalDistance::JensenShannon,
            max_categorical_drift: 0.1,
            max_null_increase: 0.05,
            max_out_of_range: 0.01,
            max_unseen: 0.01,
            new_column: Severity::Warning,
            min_rows: 50,
            columns: BTreeMap::new(),
        }
    }
}

/// Per-column thresholds; absent ones fall back to the policy's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ColumnCheck {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_psi: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_categorical_drift: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_null_increase: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_out_of_range: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unseen: Option<f64>,
    /// Skip drift and range checks for this column.
    pub ignore: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoricalDistance {
    /// Jensen-Shannon distance (square root of the divergence, base 2):
    /// 0 for equal distributions, 1 for disjoint ones.
    JensenShannon,
    /// The largest absolute difference of any category's share.
    LInfinity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// `[monitor]`: when a served model needs attention (`anneal monitor`).
/// Drift is judged per time window against the training profile with the
/// statistics of `[check_data]`; metrics per window against the training
/// report's test metrics. The defaults are meant to stay quiet on a
/// stationary stream and to catch a one-standard-deviation shift of one
/// numeric feature in a window of a few hundred rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorPolicy {
    /// Largest population stability index of a numeric column in a window.
    pub max_psi: f64,
    /// Largest Jensen-Shannon distance of a categorical column in a window.
    pub max_categorical_drift: f64,
    /// Largest increase of a column's missing share over training.
    pub max_null_increase: f64,
    /// Largest share of a numeric column's values outside the training
    /// range.
    pub max_out_of_range: f64,
    /// Largest share of a categorical column's values never seen in
    /// training.
    pub max_unseen: f64,
    /// Fewest rows for a window's drift to be judged (fewer: skipped).
    pub min_rows: u64,
    /// Whether a shift of the predictions (against the training labels)
    /// fails the policy or only warns: the labels may move without the
    /// model being wrong.
    pub prediction_shift: Severity,
    /// The metrics watched for a drop [default: the task's headline,
    /// accuracy or r2].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
    /// Largest drop of a watched metric in a window below its value on
    /// the training run's test split (a rise, for lower-is-better ones).
    pub max_drop: f64,
    /// Fewest labelled rows for a window's metrics to be judged.
    pub min_labelled_rows: u64,
    /// Per-column overrides of the drift thresholds.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnCheck>,
}

impl Default for MonitorPolicy {
    fn default() -> Self {
        MonitorPolicy {
            max_psi: 0.25,
            max_categorical_drift: 0.1,
            max_null_increase: 0.05,
            max_out_of_range: 0.02,
            max_unseen: 0.02,
            min_rows: 500,
            prediction_shift: Severity::Warning,
            metrics: Vec::new(),
            max_drop: 0.05,
            min_labelled_rows: 200,
            columns: BTreeMap::new(),
        }
    }
}

/// A standalone policy file: `[gate]`, `[check_data]` and/or `[monitor]`,
/// as in a training config (so a training config is a policy file too).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy {
    pub path: PathBuf,
    pub gate: Option<GatePolicy>,
    pub check_data: Option<CheckDataPolicy>,
    pub monitor: Option<MonitorPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    gate: Option<GatePolicy>,
    #[serde(default)]
    check_data: Option<CheckDataPolicy>,
    #[serde(default)]
    monitor: Option<MonitorPolicy>,
}

/// Reads a policy file: a TOML document with `[gate]` and/or
/// `[check_data]`, or a whole training config (whose other sections are
/// then checked as a config).
pub fn load_policy(path: &Path) -> Result<Policy> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let source = crate::load::text(bytes, path)?;
    parse_policy(&source, path)
}

/// Parses and validates a policy document; see [`load_policy`].
pub fn parse_policy(source: &str, path: &Path) -> Result<Policy> {
    let is_config = toml::from_str::<toml::Table>(source)
        .map(|t| t.contains_key("data"))
        .unwrap_or(false);
    if is_config {
        let loaded = crate::load::parse(source, path)?;
        return Ok(Policy {
            path: path.to_path_buf(),
            gate: loaded.config.gate,
            check_data: loaded.config.check_data,
            monitor: loaded.config.monitor,
        });
    }
    let file: PolicyFile =
        toml::from_str(source).map_err(|e| crate::load::toml_error(source, path, &e))?;
    let mut problems = Vec::new();
    if let Some(g) = &file.gate {
        problems.extend(crate::validate::validate_gate(g));
    }
    if let Some(c) = &file.check_data {
        problems.extend(crate::validate::validate_check_data(c));
    }
    if let Some(m) = &file.monitor {
        problems.extend(crate::validate::validate_monitor(m));
    }
    if let Some((key, message)) = problems.into_iter().next() {
        let parts: Vec<&str> = key.split('.').collect();
        let (line, column) = match locate::offset_of(source, &parts) {
            Some(off) => {
                let (l, c) = locate::line_col(source, off);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            key: format!("{key}: "),
            message,
        });
    }
    if file.gate.is_none() && file.check_data.is_none() && file.monitor.is_none() {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            line: None,
            column: None,
            key: String::new(),
            message: "holds no [gate], [check_data] or [monitor] section".into(),
        });
    }
    Ok(Policy {
        path: path.to_path_buf(),
        gate: file.gate,
        check_data: file.check_data,
        monitor: file.monitor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy> {
        parse_policy(text, Path::new("p.toml"))
    }

    #[test]
    fn a_bare_policy_file() {
        let p = parse(
            "[gate]\nresamples = 200\n[[gate.rules]]\nkind = \"regression\"\nmetric = \"accuracy\"\nmargin = 0.02\nslice = \"sex=female\"\n\n[check_data]\nmax_psi = 0.1\n[check_data.columns.age]\nignore = true\n",
        )
        .unwrap();
        let g = p.gate.unwrap();
        assert_eq!(g.resamples, 200);
        assert_eq!(g.split, "test");
        assert_eq!(
            g.rules,
            vec![GateRule::Regression {
                metric: "accuracy".into(),
                split: None,
                slice: Some("sex=female".into()),
                min_rows: None,
                higher_is_better: None,
                margin: 0.02,
            }]
        );
        assert!(p.monitor.is_none());
        let c = p.check_data.unwrap();
        assert_eq!(c.max_psi, 0.1);
        assert!(c.columns["age"].ignore);
        assert_eq!(c.max_unseen, 0.01);
    }

    #[test]
    fn mistakes_name_file_line_and_key() {
        let err = |t: &str| parse(t).unwrap_err().to_string();
        assert_eq!(
            err("[gate]\n[[gate.rules]]\nkind = \"change\"\nmetric = \"accuracy\"\n"),
            "p.toml:2:8: gate.rules[0]: a change rule needs max_drop, max_relative_drop or both"
        );
        assert_eq!(
            err("[gate]\nconfidence = 1.5\n"),
            "p.toml:2:1: gate.confidence: must be in (0, 1), got 1.5"
        );
        assert_eq!(
            err(
                "[gate]\n[[gate.rules]]\nkind = \"threshold\"\nmetric = \"accuracy\"\nmin = 0.9\nmax = 0.5\n"
            ),
            "p.toml:2:8: gate.rules[0]: min 0.9 is above max 0.5"
        );
        assert!(
            err("[gate]\n[[gate.rules]]\nkind = \"regression\"\nmetric = \"accuracy\"\nmin = 3\n")
                .contains("unknown field `min`"),
        );
        assert_eq!(
            err("# nothing\n"),
            "p.toml: holds no [gate], [check_data] or [monitor] section"
        );
        assert_eq!(
            err("[monitor]\nmax_drop = -1\n"),
            "p.toml:2:1: monitor.max_drop: must be a number >= 0, got -1"
        );
        assert_eq!(
            err("[monitor]\nmetrics = [\"acuracy\"]\n"),
            "p.toml:2:1: monitor.metrics: unknown metric \"acuracy\"; known: accuracy, balanced_accuracy, brier, ece, f1_macro, f1_weighted, log_loss, pr_auc, precision_macro, precision_weighted, recall_macro, recall_weighted, roc_auc, mae, mape, median_absolute_error, mse, r2, rmse"
        );
        assert_eq!(
            err("[check_data]\nmax_unseen = 2\n"),
            "p.toml:2:1: check_data.max_unseen: must be between 0 and 1, got 2"
        );
    }

    #[test]
    fn a_training_config_is_a_policy_file_too() {
        let p = parse(
            "[data]\npath = \"x.csv\"\ntarget = \"y\"\n\n[gate]\n[[gate.rules]]\nkind = \"threshold\"\nmetric = \"r2\"\nmin = 0.3\n",
        )
        .unwrap();
        assert_eq!(p.gate.unwrap().rules.len(), 1);
        assert!(p.check_data.is_none());
        // And its other sections are checked as a config.
        let e = parse("[data]\npath = \"x.csv\"\ntarget = \"y\"\n[train]\nepochs = -1\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.toml:5:10: train.epochs"), "{e}");
    }
}
