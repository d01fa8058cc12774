//! Checks of values that parse but cannot be used, each reported against
//! its dotted key so the loader can point at the line.

use anneal_core::Metric;

use crate::defaults::{MAX_BINS, MAX_K, MAX_SLOTS};
use crate::policy::*;
use crate::types::*;

/// One problem: the key path and what is wrong with it.
pub(crate) type Problem = (String, String);

/// The problems found so far, in the order of the checks (the loader
/// reports the first).
#[derive(Debug, Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn bad(&mut self, key: &str, msg: String) {
        self.0.push((key.to_string(), msg));
    }
}

/// Every check of a config, section by section; the order of the steps is
/// the order of the problems.
pub(crate) fn validate(c: &Config) -> Vec<Problem> {
    let mut p = Problems::default();
    let d = &c.data;
    data_columns(d, &mut p);
    data_missing(d, &mut p);
    data_clean(d, &mut p);
    data_split(d, &mut p);
    task(&c.task, &mut p);
    model(c, &mut p);
    train(&c.train, &mut p);
    schedule(&c.train, &mut p);
    early_stopping(c, &mut p);
    model_identity(&c.model, &mut p);
    eval(c, &mut p);
    data_schema(d, &mut p);
    let mut p = p.0;
    if let Some(g) = &c.gate {
        p.extend(validate_gate(g));
    }
    if let Some(cd) = &c.check_data {
        p.extend(validate_check_data(cd));
    }
    if let Some(m) = &c.monitor {
        p.extend(validate_monitor(m));
    }
    if let Some(s) = &c.sweep {
        p.extend(crate::sweep::validate_sweep(s));
    }
    p
}

/// `[data]`: the file, the target, the CSV delimiter, the column lists
/// and overrides, the fill values.
fn data_columns(d: &DataConfig, p: &mut Problems) {
    if d.path.as_os_str().is_empty() {
        p.bad("data.path", "must name a data file".into());
    }
    if d.target.trim().is_empty() {
        p.bad("data.target", "must name the target column".into());
    }
    if d.csv.delimiter.len() != 1 || !d.csv.delimiter.is_ascii() {
        p.bad(
            "data.csv.delimiter",
            format!("must be one ASCII character, got {:?}", d.csv.delimiter),
        );
    }
    for (list, key) in [(&d.drop, "data.drop"), (&d.id, "data.id")] {
        if list.iter().any(|c| c == &d.target) {
            p.bad(key, format!("lists the target column {:?}", d.target));
        }
    }
    if d.columns.contains_key(&d.target) {
        p.bad(
            "data.columns",
            format!(
                "overrides the target column {:?}; set the task with [task] type instead",
                d.target
            ),
        );
    }
    for (name, o) in &d.columns {
        if let Some(f) = o.fill_value
            && !f.is_finite()
        {
            p.bad(
                &format!("data.columns.{name}.fill_value"),
                "must be a finite number".into(),
            );
        }
    }
    if !d.missing.fill_value.is_finite() {
        p.bad("data.missing.fill_value", "must be a finite number".into());
    }
}

/// `data.missing`: the imputation strategies.
fn data_missing(d: &DataConfig, p: &mut Problems) {
    if !matches!(
        d.missing.numeric,
        Impute::Median | Impute::Mean | Impute::Constant | Impute::Mode
    ) {
        p.bad(
            "data.missing.numeric",
            "must be \"median\", \"mean\", \"constant\" or \"mode\"".into(),
        );
    }
    if !matches!(d.missing.categorical, Impute::Mode | Impute::Missing) {
        p.bad(
            "data.missing.categorical",
            "must be \"mode\" or \"missing\"".into(),
        );
    }
}

/// `data.clean` and `data.encode`.
fn data_clean(d: &DataConfig, p: &mut Problems) {
    let [lo, hi] = d.clean.quantiles;
    if !(0.0..=1.0).contains(&lo) || !(0.0..=1.0).contains(&hi) || lo >= hi {
        p.bad(
            "data.clean.quantiles",
            format!("must be two quantiles 0 <= low < high <= 1, got [{lo}, {hi}]"),
        );
    }
    if !(d.clean.zscore > 0.0 && d.clean.zscore.is_finite()) {
        p.bad(
            "data.clean.zscore",
            format!("must be > 0, got {}", d.clean.zscore),
        );
    }
    for f in &d.clean.filters {
        if let Err(e) = Filter::parse(f) {
            p.bad("data.clean.filters", format!("{f:?}: {e}"));
        }
    }
    if !(1..=MAX_SLOTS - 2).contains(&d.encode.max_categories) {
        p.bad(
            "data.encode.max_categories",
            format!(
                "must be between 1 and {}, got {}",
                MAX_SLOTS - 2,
                d.encode.max_categories
            ),
        );
    }
}

/// `data.split`: the fractions, the key and stratification.
fn data_split(d: &DataConfig, p: &mut Problems) {
    let s = &d.split;
    for (v, key) in [
        (s.train, "data.split.train"),
        (s.valid, "data.split.valid"),
        (s.test, "data.split.test"),
    ] {
        if !(0.0..=1.0).contains(&v) {
            p.bad(key, format!("must be a fraction between 0 and 1, got {v}"));
        }
    }
    if s.train <= 0.0 {
        p.bad("data.split.train", "must be greater than 0".into());
    }
    if let Some(k) = &s.key {
        if k.trim().is_empty() {
            p.bad("data.split.key", "must name a column".into());
        } else if k == &d.target {
            p.bad(
                "data.split.key",
                format!("is the target column {k:?}; name an identifier column"),
            );
        }
        if s.stratify == Some(true) {
            p.bad(
                "data.split.stratify",
                "a split by data.split.key is not stratified (each row's split comes from its key alone); remove one of the two".into(),
            );
        }
    }
    let sum = s.train + s.valid + s.test;
    if (sum - 1.0).abs() > 1e-9 {
        p.bad(
            "data.split",
            format!(
                "train + valid + test must be 1, got {} + {} + {} = {}",
                s.train,
                s.valid,
                s.test,
                // Without the float noise of the sum (0.8999999999999999).
                (sum * 1e9).round() / 1e9
            ),
        );
    }
}

/// `[task]`.
fn task(t: &TaskConfig, p: &mut Problems) {
    if t.max_classes < 2 {
        p.bad("task.max_classes", "must be at least 2".into());
    }
}

/// `[model]`: the layers, the ensemble and embeddings, dropout.
fn model(c: &Config, p: &mut Problems) {
    let m = &c.model;
    if m.kind == ModelKind::Linear && m.hidden.as_ref().is_some_and(|h| !h.is_empty()) {
        p.bad(
            "model.hidden",
            "a linear model has no hidden layers; use kind = \"mlp\" or remove hidden".into(),
        );
    }
    if m.hidden_layers().contains(&0) {
        p.bad("model.hidden", "layer widths must be at least 1".into());
    }
    for (key, msg) in validate_embeddings(c) {
        p.bad(&key, msg);
    }
    if !(0.0..1.0).contains(&m.dropout) {
        p.bad(
            "model.dropout",
            format!("must be in [0, 1), got {}", m.dropout),
        );
    }
}

/// `[train]`: the loop's sizes and the optimizer's numbers.
fn train(t: &TrainConfig, p: &mut Problems) {
    if t.epochs == 0 {
        p.bad("train.epochs", "must be at least 1".into());
    }
    if t.batch_size == 0 {
        p.bad("train.batch_size", "must be at least 1".into());
    }
    if t.eval_batch_size == 0 {
        p.bad("train.eval_batch_size", "must be at least 1".into());
    }
    if t.shuffle_block == Some(0) {
        p.bad("train.shuffle_block", "must be at least 1 row".into());
    }
    if !(t.learning_rate > 0.0 && t.learning_rate.is_finite()) {
        p.bad(
            "train.learning_rate",
            format!("must be > 0, got {}", t.learning_rate),
        );
    }
    if !(t.weight_decay >= 0.0 && t.weight_decay.is_finite()) {
        p.bad(
            "train.weight_decay",
            format!("must be >= 0, got {}", t.weight_decay),
        );
    }
    if !(0.0..1.0).contains(&t.momentum) {
        p.bad(
            "train.momentum",
            format!("must be in [0, 1), got {}", t.momentum),
        );
    }
    if !(t.huber_delta > 0.0 && t.huber_delta.is_finite()) {
        p.bad(
            "train.huber_delta",
            format!("must be > 0, got {}", t.huber_delta),
        );
    }
    if !(t.grad_clip >= 0.0 && t.grad_clip.is_finite()) {
        p.bad(
            "train.grad_clip",
            format!("must be >= 0, got {}", t.grad_clip),
        );
    }
}

/// `train.schedule`.
fn schedule(t: &TrainConfig, p: &mut Problems) {
    let sc = &t.schedule;
    if sc.step_epochs == 0 {
        p.bad("train.schedule.step_epochs", "must be at least 1".into());
    }
    if !(sc.gamma > 0.0 && sc.gamma <= 1.0) {
        p.bad(
            "train.schedule.gamma",
            format!("must be in (0, 1], got {}", sc.gamma),
        );
    }
    if !(sc.min_lr >= 0.0 && sc.min_lr <= t.learning_rate) {
        p.bad(
            "train.schedule.min_lr",
            format!(
                "must be between 0 and train.learning_rate, got {}",
                sc.min_lr
            ),
        );
    }
}

/// `train.early_stopping`, when enabled: the metric, patience and
/// min_delta, and a validation split to watch.
fn early_stopping(c: &Config, p: &mut Problems) {
    let Some(es) = c.train.early_stopping() else {
        return;
    };
    if metric_higher_is_better(&es.metric).is_none() {
        p.bad(
            "train.early_stopping.metric",
            format!(
                "unknown metric {:?}; use \"loss\" or one of accuracy, balanced_accuracy, f1_macro, f1_weighted, log_loss, roc_auc, rmse, mae, r2",
                es.metric
            ),
        );
    }
    if es.patience == 0 {
        p.bad("train.early_stopping.patience", "must be at least 1".into());
    }
    if !(es.min_delta >= 0.0 && es.min_delta.is_finite()) {
        p.bad(
            "train.early_stopping.min_delta",
            format!("must be >= 0, got {}", es.min_delta),
        );
    }
    if c.data.split.valid <= 0.0 {
        p.bad(
            "train.early_stopping",
            "needs a validation split, but data.split.valid is 0; set enabled = false or give valid a share".into(),
        );
    }
}

/// `model.version` and `model.name`.
fn model_identity(m: &ModelConfig, p: &mut Problems) {
    if !is_semver(&m.version) {
        p.bad(
            "model.version",
            format!(
                "{:?} is not a semantic version; use MAJOR.MINOR.PATCH such as \"1.2.0\"",
                m.version
            ),
        );
    }
    if let Some(name) = &m.name
        && (name.is_empty()
            || name.len() > 64
            || name.starts_with('.')
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
    {
        p.bad(
            "model.name",
            format!("{name:?} must be 1-64 characters of A-Z a-z 0-9 . _ - and not start with '.'"),
        );
    }
}

/// `[eval]`: the slices, confidence, bootstrap and calibration bins.
fn eval(c: &Config, p: &mut Problems) {
    let e = &c.eval;
    for (i, col) in e.slices.iter().enumerate() {
        if col.is_empty() {
            p.bad(&format!("eval.slices[{i}]"), "must name a column".into());
        } else if col == &c.data.target {
            p.bad(
                &format!("eval.slices[{i}]"),
                format!("{col:?} is the target; slice by an input column"),
            );
        } else if e.slices[..i].contains(col) {
            p.bad(
                &format!("eval.slices[{i}]"),
                format!("{col:?} is listed twice"),
            );
        }
    }
    if !(e.confidence > 0.0 && e.confidence < 1.0) {
        p.bad(
            "eval.confidence",
            format!("must be in (0, 1), got {}", e.confidence),
        );
    }
    if e.bootstrap > 100_000 {
        p.bad(
            "eval.bootstrap",
            format!("must be at most 100000 resamples, got {}", e.bootstrap),
        );
    }
    if !(2..=100).contains(&e.calibration_bins) {
        p.bad(
            "eval.calibration_bins",
            format!("must be between 2 and 100, got {}", e.calibration_bins),
        );
    }
}

/// `data.schema`: the column bounds and the row counts.
fn data_schema(d: &DataConfig, p: &mut Problems) {
    for (name, col) in &d.schema.columns {
        let key = format!("data.schema.columns.{name}");
        if let (Some(lo), Some(hi)) = (col.min, col.max)
            && lo > hi
        {
            p.bad(&format!("{key}.min"), format!("{lo} is above max {hi}"));
        }
        for (v, k) in [(col.min, "min"), (col.max, "max")] {
            if v.is_some_and(|v| !v.is_finite()) {
                p.bad(&format!("{key}.{k}"), "must be a finite number".into());
            }
        }
        if (col.min.is_some() || col.max.is_some())
            && matches!(col.kind, Some(SchemaType::String | SchemaType::Boolean))
        {
            p.bad(
                &format!("{key}.type"),
                "min and max apply to numeric and integer columns".into(),
            );
        }
        if col.allowed.as_ref().is_some_and(|a| a.is_empty()) {
            p.bad(
                &format!("{key}.allowed"),
                "must list at least one value".into(),
            );
        }
    }
    if let (Some(lo), Some(hi)) = (d.schema.min_rows, d.schema.max_rows)
        && lo > hi
    {
        p.bad(
            "data.schema.min_rows",
            format!("{lo} is above max_rows {hi}"),
        );
    }
}

/// Metrics a gate rule may name: every scalar a report holds (the names
/// of [`anneal_core::Metric::ALL`]).
pub const GATE_METRICS: &[&str] = &anneal_core::Metric::NAMES;

/// The ensemble and numeric-embedding keys of `[model]`, and the
/// per-column embedding overrides.
fn validate_embeddings(c: &Config) -> Vec<Problem> {
    let mut p = Vec::new();
    let mut bad = |key: &str, msg: String| p.push((key.to_string(), msg));
    let (m, d) = (&c.model, &c.data);
    if m.k == 0 || m.k > MAX_K {
        bad(
            "model.k",
            format!(
                "must be between 1 and {MAX_K} ensemble members, got {}",
                m.k
            ),
        );
    }
    if !(1..=256).contains(&m.frequencies) {
        bad(
            "model.frequencies",
            format!("must be between 1 and 256, got {}", m.frequencies),
        );
    }
    if !(m.sigma > 0.0 && m.sigma.is_finite()) {
        bad("model.sigma", format!("must be > 0, got {}", m.sigma));
    }
    if !(1..=1024).contains(&m.embedding_width) {
        bad(
            "model.embedding_width",
            format!("must be between 1 and 1024, got {}", m.embedding_width),
        );
    }
    if let Some(n) = m.embedding_min_slots
        && !(2..=MAX_SLOTS).contains(&n)
    {
        bad(
            "model.embedding_min_slots",
            format!("must be between 2 and {MAX_SLOTS}, got {n}"),
        );
    }
    if !(2..=MAX_BINS).contains(&m.bins) {
        bad(
            "model.bins",
            format!("must be between 2 and {MAX_BINS}, got {}", m.bins),
        );
    }
    for (name, o) in &d.columns {
        let numeric = matches!(
            o.kind,
            None | Some(ColumnType::Numeric) | Some(ColumnType::Boolean)
        );
        if o.embedding.is_some() && !numeric {
            bad(
                &format!("data.columns.{name}.embedding"),
                format!(
                    "a numeric embedding needs a numeric column, but {name:?} has type {:?}",
                    o.kind
                        .map(|k| format!("{k:?}").to_lowercase())
                        .unwrap_or_default()
                ),
            );
        }
    }
    p
}

/// Every check of a `[gate]` section: its settings, then each rule.
pub(crate) fn validate_gate(g: &GatePolicy) -> Vec<Problem> {
    let mut p = Problems::default();
    gate_settings(g, &mut p);
    for (i, rule) in g.rules.iter().enumerate() {
        let key = format!("gate.rules[{i}]");
        rule_target(&key, &rule.target(), &mut p);
        rule_bounds(&key, rule, &mut p);
    }
    p.0
}

/// `gate.split`, `gate.confidence` and `gate.resamples`.
fn gate_settings(g: &GatePolicy, p: &mut Problems) {
    if g.split.trim().is_empty() {
        p.bad(
            "gate.split",
            "must name a split (test, valid or eval)".into(),
        );
    }
    if !(g.confidence > 0.0 && g.confidence < 1.0) {
        p.bad(
            "gate.confidence",
            format!("must be in (0, 1), got {}", g.confidence),
        );
    }
    if !(1..=100_000).contains(&g.resamples) {
        p.bad(
            "gate.resamples",
            format!("must be between 1 and 100000, got {}", g.resamples),
        );
    }
}

/// What a gate rule looks at: a known metric, a split, a slice.
fn rule_target(key: &str, t: &RuleTarget, p: &mut Problems) {
    if Metric::parse(&t.metric).is_none() {
        p.bad(
            key,
            format!(
                "unknown metric {:?}; expected one of {}",
                t.metric,
                GATE_METRICS.join(", ")
            ),
        );
    }
    if t.split.as_deref().is_some_and(|s| s.trim().is_empty()) {
        p.bad(key, "split must name a split".into());
    }
    if let Some(s) = &t.slice
        && (s.is_empty() || s.starts_with('=') || s.ends_with('='))
    {
        p.bad(
            key,
            format!(
                "slice {s:?} must be a column (\"sex\") or a column and value (\"sex=female\")"
            ),
        );
    }
}

/// A gate rule's bounds: present, finite and in order.
fn rule_bounds(key: &str, rule: &GateRule, p: &mut Problems) {
    let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
    match rule {
        GateRule::Threshold { min, max, .. } => {
            if min.is_none() && max.is_none() {
                p.bad(key, "a threshold rule needs min, max or both".into());
            } else if !finite(*min) || !finite(*max) {
                p.bad(key, "min and max must be finite numbers".into());
            } else if let (Some(lo), Some(hi)) = (min, max)
                && lo > hi
            {
                p.bad(key, format!("min {lo} is above max {hi}"));
            }
        }
        GateRule::Change {
            max_drop,
            max_relative_drop,
            ..
        } => {
            if max_drop.is_none() && max_relative_drop.is_none() {
                p.bad(
                    key,
                    "a change rule needs max_drop, max_relative_drop or both".into(),
                );
            } else if !finite(*max_drop) || !finite(*max_relative_drop) {
                p.bad(
                    key,
                    "max_drop and max_relative_drop must be finite numbers".into(),
                );
            }
        }
        GateRule::Regression { margin, .. } => {
            if !margin.is_finite() || *margin < 0.0 {
                p.bad(key, format!("margin must be a number >= 0, got {margin}"));
            }
        }
        GateRule::MaxGain {
            max_gain,
            max_relative_gain,
            ..
        } => {
            if max_gain.is_none() && max_relative_gain.is_none() {
                p.bad(
                    key,
                    "a max_gain rule needs max_gain, max_relative_gain or both".into(),
                );
            } else if [*max_gain, *max_relative_gain]
                .iter()
                .any(|v| v.is_some_and(|v| !(v.is_finite() && v >= 0.0)))
            {
                p.bad(
                    key,
                    "max_gain and max_relative_gain must be numbers >= 0".into(),
                );
            }
        }
    }
}

pub(crate) fn validate_check_data(c: &CheckDataPolicy) -> Vec<Problem> {
    let mut p = Vec::new();
    // `hi`: the largest allowed value (shares and distances are at most 1;
    // the PSI has no upper bound).
    let mut check = |key: String, v: Option<f64>, hi: Option<f64>| {
        if let Some(v) = v
            && !(v.is_finite() && v >= 0.0 && hi.is_none_or(|h| v <= h))
        {
            let range = match hi {
                Some(h) => format!("between 0 and {h}"),
                None => "a number >= 0".to_string(),
            };
            p.push((key, format!("must be {range}, got {v}")));
        }
    };
    check("check_data.max_psi".into(), Some(c.max_psi), None);
    check(
        "check_data.max_categorical_drift".into(),
        Some(c.max_categorical_drift),
        Some(1.0),
    );
    check(
        "check_data.max_null_increase".into(),
        Some(c.max_null_increase),
        Some(1.0),
    );
    check(
        "check_data.max_out_of_range".into(),
        Some(c.max_out_of_range),
        Some(1.0),
    );
    check(
        "check_data.max_unseen".into(),
        Some(c.max_unseen),
        Some(1.0),
    );
    for (name, col) in &c.columns {
        let key = |k: &str| format!("check_data.columns.{name}.{k}");
        check(key("max_psi"), col.max_psi, None);
        check(
            key("max_categorical_drift"),
            col.max_categorical_drift,
            Some(1.0),
        );
        check(key("max_null_increase"), col.max_null_increase, Some(1.0));
        check(key("max_out_of_range"), col.max_out_of_range, Some(1.0));
        check(key("max_unseen"), col.max_unseen, Some(1.0));
    }
    p
}

pub(crate) fn validate_monitor(m: &MonitorPolicy) -> Vec<Problem> {
    let mut p = Vec::new();
    let mut check = |key: &str, v: f64, hi: Option<f64>| {
        if !(v.is_finite() && v >= 0.0 && hi.is_none_or(|h| v <= h)) {
            let range = match hi {
                Some(h) => format!("between 0 and {h}"),
                None => "a number >= 0".to_string(),
            };
            p.push((
                format!("monitor.{key}"),
                format!("must be {range}, got {v}"),
            ));
        }
    };
    check("max_psi", m.max_psi, None);
    check("max_categorical_drift", m.max_categorical_drift, Some(1.0));
    check("max_null_increase", m.max_null_increase, Some(1.0));
    check("max_out_of_range", m.max_out_of_range, Some(1.0));
    check("max_unseen", m.max_unseen, Some(1.0));
    check("max_drop", m.max_drop, None);
    if let Some(bad) = m.metrics.iter().find(|n| Metric::parse(n).is_none()) {
        p.push((
            "monitor.metrics".into(),
            format!(
                "unknown metric {bad:?}; known: {}",
                Metric::NAMES.join(", ")
            ),
        ));
    }
    // The per-column overrides take the [check_data] checks' ranges.
    let columns = CheckDataPolicy {
        columns: m.columns.clone(),
        ..CheckDataPolicy::default()
    };
    p.extend(
        validate_check_data(&columns)
            .into_iter()
            .map(|(k, msg)| (k.replacen("check_data.", "monitor.", 1), msg)),
    );
    p
}

/// A row filter `column op value`, kept when true.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub column: String,
    pub op: FilterOp,
    pub value: FilterValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Number(f64),
    Text(String),
}

impl Filter {
    /// Parses `age >= 0`, `sex == "male"`, `` `body mass` < 6000 ``.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let s = text.trim();
        let (column, rest) = if let Some(inner) = s.strip_prefix('`') {
            let end = inner
                .find('`')
                .ok_or("unclosed backtick around the column name")?;
            (inner[..end].to_string(), inner[end + 1..].trim_start())
        } else {
            let end = s
                .find(|ch: char| ch.is_whitespace() || "=!<>".contains(ch))
                .ok_or("expected `column op value`, e.g. `age >= 0`")?;
            (s[..end].to_string(), s[end..].trim_start())
        };
        if column.is_empty() {
            return Err("missing column name".into());
        }
        let ops = [
            ("==", FilterOp::Eq),
            ("!=", FilterOp::Ne),
            ("<=", FilterOp::Le),
            (">=", FilterOp::Ge),
            ("<", FilterOp::Lt),
            (">", FilterOp::Gt),
        ];
        let (op, rest) = ops
            .iter()
            .find_map(|(tok, op)| rest.strip_prefix(tok).map(|r| (*op, r.trim())))
            .ok_or("expected one of == != < <= > >= after the column name")?;
        let value = if let Some(q) = rest
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .or_else(|| rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
        {
            FilterValue::Text(q.to_string())
        } else {
            match rest.parse::<f64>() {
                Ok(v) if v.is_finite() => FilterValue::Number(v),
                _ => {
                    return Err(format!(
                        "the value {rest:?} is neither a number nor a quoted string"
                    ));
                }
            }
        };
        if matches!(value, FilterValue::Text(_)) && !matches!(op, FilterOp::Eq | FilterOp::Ne) {
            return Err("text values can only be compared with == or !=".into());
        }
        Ok(Filter { column, op, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        toml::from_str(toml).unwrap()
    }

    fn problems(p: Vec<Problem>) -> Vec<String> {
        p.into_iter().map(|(k, m)| format!("{k}: {m}")).collect()
    }

    #[test]
    fn every_section_is_checked_in_order() {
        let c = config(
            r#"[data]
path = "a.csv"
target = "y"
split = { train = 0.7, valid = 0.0, test = 0.3, key = " " }
[task]
max_classes = 1
[model]
version = "1.0"
[train]
epochs = 0
early_stopping = { metric = "auc", patience = 0 }
schedule = { gamma = 2.0 }
[eval]
confidence = 1.5
"#,
        );
        assert_eq!(
            problems(validate(&c)),
            [
                "data.split.key: must name a column",
                "task.max_classes: must be at least 2",
                "train.epochs: must be at least 1",
                "train.schedule.gamma: must be in (0, 1], got 2",
                "train.early_stopping.metric: unknown metric \"auc\"; use \"loss\" or one of accuracy, balanced_accuracy, f1_macro, f1_weighted, log_loss, roc_auc, rmse, mae, r2",
                "train.early_stopping.patience: must be at least 1",
                "train.early_stopping: needs a validation split, but data.split.valid is 0; set enabled = false or give valid a share",
                "model.version: \"1.0\" is not a semantic version; use MAJOR.MINOR.PATCH such as \"1.2.0\"",
                "eval.confidence: must be in (0, 1), got 1.5",
            ]
        );
    }

    #[test]
    fn early_stopping_is_checked_only_when_enabled() {
        let mut p = Problems::default();
        let mut c = config("[data]\npath = \"a.csv\"\ntarget = \"y\"\n");
        c.train.early_stopping = Some(EarlyStopping {
            enabled: false,
            metric: "nope".into(),
            ..EarlyStopping::default()
        });
        early_stopping(&c, &mut p);
        assert!(p.0.is_empty());
        for metric in ["loss", "rmse", "roc_auc", "median_absolute_error"] {
            c.train.early_stopping = Some(EarlyStopping {
                metric: metric.into(),
                ..EarlyStopping::default()
            });
            early_stopping(&c, &mut p);
            assert!(p.0.is_empty(), "{metric}: {:?}", p.0);
        }
    }

    #[test]
    fn gate_rules_are_checked_after_the_settings() {
        let g = GatePolicy {
            split: " ".into(),
            rules: vec![
                GateRule::Threshold {
                    metric: "auc".into(),
                    split: None,
                    slice: Some("=x".into()),
                    min_rows: None,
                    min: None,
                    max: None,
                    on: Default::default(),
                },
                GateRule::Regression {
                    metric: "r2".into(),
                    split: None,
                    slice: None,
                    min_rows: None,
                    higher_is_better: None,
                    margin: -1.0,
                },
            ],
            ..GatePolicy::default()
        };
        assert_eq!(
            problems(validate_gate(&g)),
            [
                "gate.split: must name a split (test, valid or eval)",
                "gate.rules[0]: unknown metric \"auc\"; expected one of accuracy, balanced_accuracy, brier, ece, f1_macro, f1_weighted, log_loss, pr_auc, precision_macro, precision_weighted, recall_macro, recall_weighted, roc_auc, mae, mape, median_absolute_error, mse, r2, rmse",
                "gate.rules[0]: slice \"=x\" must be a column (\"sex\") or a column and value (\"sex=female\")",
                "gate.rules[0]: a threshold rule needs min, max or both",
                "gate.rules[1]: margin must be a number >= 0, got -1",
            ]
        );
    }

    #[test]
    fn metric_directions_come_from_the_table() {
        assert_eq!(metric_higher_is_better("loss"), Some(false));
        assert_eq!(metric_higher_is_better("r2"), Some(true));
        assert_eq!(metric_higher_is_better("pr_auc"), Some(true));
        assert_eq!(metric_higher_is_better("ece"), Some(false));
        assert_eq!(metric_higher_is_better("auc"), None);
        for m in Metric::ALL {
            assert_eq!(
                metric_higher_is_better(m.name()),
                Some(m.higher_is_better())
            );
        }
        assert_eq!(GATE_METRICS.len(), 19);
    }

    #[test]
    fn semantic_versions() {
        use crate::types::is_semver;
        for ok in [
            "1.0.0",
            "0.10.2",
            "2.1.0-rc.1",
            "1.0.0+build.5",
            "1.0.0-alpha-2+x",
        ] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in [
            "1.0",
            "01.0.0",
            "1.0.0-",
            "1.0.0-rc..1",
            "v1.0.0",
            "1.0.x",
            "",
            "1.0.0+",
        ] {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn filters_parse() {
        assert_eq!(
            Filter::parse("age >= 0").unwrap(),
            Filter {
                column: "age".into(),
                op: FilterOp::Ge,
                value: FilterValue::Number(0.0)
            }
        );
        assert_eq!(
            Filter::parse("`body mass` != 'x'").unwrap().value,
            FilterValue::Text("x".into())
        );
        assert!(Filter::parse("age").is_err());
        assert!(Filter::parse("age ~ 3").is_err());
        assert!(Filter::parse("sex < \"m\"").is_err());
    }
}
