//! Checks of values that parse but cannot be used, each reported against
//! its dotted key so the loader can point at the line.

use crate::defaults::{MAX_BINS, MAX_K};
use crate::policy::*;
use crate::types::*;

/// One problem: the key path and what is wrong with it.
pub(crate) type Problem = (String, String);

pub(crate) fn validate(c: &Config) -> Vec<Problem> {
    let mut p = Vec::new();
    let mut bad = |key: &str, msg: String| p.push((key.to_string(), msg));

    let d = &c.data;
    if d.path.as_os_str().is_empty() {
        bad("data.path", "must name a data file".into());
    }
    if d.target.trim().is_empty() {
        bad("data.target", "must name the target column".into());
    }
    if d.csv.delimiter.len() != 1 || !d.csv.delimiter.is_ascii() {
        bad(
            "data.csv.delimiter",
            format!("must be one ASCII character, got {:?}", d.csv.delimiter),
        );
    }
    for (list, key) in [(&d.drop, "data.drop"), (&d.id, "data.id")] {
        if list.iter().any(|c| c == &d.target) {
            bad(key, format!("lists the target column {:?}", d.target));
        }
    }
    if d.columns.contains_key(&d.target) {
        bad(
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
            bad(
                &format!("data.columns.{name}.fill_value"),
                "must be a finite number".into(),
            );
        }
    }
    if !d.missing.fill_value.is_finite() {
        bad("data.missing.fill_value", "must be a finite number".into());
    }
    if !matches!(
        d.missing.numeric,
        Impute::Median | Impute::Mean | Impute::Constant | Impute::Mode
    ) {
        bad(
            "data.missing.numeric",
            "must be \"median\", \"mean\", \"constant\" or \"mode\"".into(),
        );
    }
    if !matches!(d.missing.categorical, Impute::Mode | Impute::Missing) {
        bad(
            "data.missing.categorical",
            "must be \"mode\" or \"missing\"".into(),
        );
    }
    let [lo, hi] = d.clean.quantiles;
    if !(0.0..=1.0).contains(&lo) || !(0.0..=1.0).contains(&hi) || lo >= hi {
        bad(
            "data.clean.quantiles",
            format!("must be two quantiles 0 <= low < high <= 1, got [{lo}, {hi}]"),
        );
    }
    if !(d.clean.zscore > 0.0 && d.clean.zscore.is_finite()) {
        bad(
            "data.clean.zscore",
            format!("must be > 0, got {}", d.clean.zscore),
        );
    }
    for f in &d.clean.filters {
        if let Err(e) = Filter::parse(f) {
            bad("data.clean.filters", format!("{f:?}: {e}"));
        }
    }
    if d.encode.max_categories == 0 {
        bad("data.encode.max_categories", "must be at least 1".into());
    }
    let s = &d.split;
    for (v, key) in [
        (s.train, "data.split.train"),
        (s.valid, "data.split.valid"),
        (s.test, "data.split.test"),
    ] {
        if !(0.0..=1.0).contains(&v) {
            bad(key, format!("must be a fraction between 0 and 1, got {v}"));
        }
    }
    if s.train <= 0.0 {
        bad("data.split.train", "must be greater than 0".into());
    }
    if let Some(k) = &s.key {
        if k.trim().is_empty() {
            bad("data.split.key", "must name a column".into());
        } else if k == &d.target {
            bad(
                "data.split.key",
                format!("is the target column {k:?}; name an identifier column"),
            );
        }
        if s.stratify == Some(true) {
            bad(
                "data.split.stratify",
                "a split by data.split.key is not stratified (each row's split comes from its key alone); remove one of the two".into(),
            );
        }
    }
    let sum = s.train + s.valid + s.test;
    if (sum - 1.0).abs() > 1e-9 {
        bad(
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

    if c.task.max_classes < 2 {
        bad("task.max_classes", "must be at least 2".into());
    }

    let m = &c.model;
    if m.kind == ModelKind::Linear && m.hidden.as_ref().is_some_and(|h| !h.is_empty()) {
        bad(
            "model.hidden",
            "a linear model has no hidden layers; use kind = \"mlp\" or remove hidden".into(),
        );
    }
    if m.hidden_layers().contains(&0) {
        bad("model.hidden", "layer widths must be at least 1".into());
    }
    for (key, msg) in validate_embeddings(c) {
        bad(&key, msg);
    }
    if !(0.0..1.0).contains(&m.dropout) {
        bad(
            "model.dropout",
            format!("must be in [0, 1), got {}", m.dropout),
        );
    }

    let t = &c.train;
    if t.epochs == 0 {
        bad("train.epochs", "must be at least 1".into());
    }
    if t.batch_size == 0 {
        bad("train.batch_size", "must be at least 1".into());
    }
    if t.eval_batch_size == 0 {
        bad("train.eval_batch_size", "must be at least 1".into());
    }
    if !(t.learning_rate > 0.0 && t.learning_rate.is_finite()) {
        bad(
            "train.learning_rate",
            format!("must be > 0, got {}", t.learning_rate),
        );
    }
    if !(t.weight_decay >= 0.0 && t.weight_decay.is_finite()) {
        bad(
            "train.weight_decay",
            format!("must be >= 0, got {}", t.weight_decay),
        );
    }
    if !(0.0..1.0).contains(&t.momentum) {
        bad(
            "train.momentum",
            format!("must be in [0, 1), got {}", t.momentum),
        );
    }
    if !(t.huber_delta > 0.0 && t.huber_delta.is_finite()) {
        bad(
            "train.huber_delta",
            format!("must be > 0, got {}", t.huber_delta),
        );
    }
    if !(t.grad_clip >= 0.0 && t.grad_clip.is_finite()) {
        bad(
            "train.grad_clip",
            format!("must be >= 0, got {}", t.grad_clip),
        );
    }
    let sc = &t.schedule;
    if sc.step_epochs == 0 {
        bad("train.schedule.step_epochs", "must be at least 1".into());
    }
    if !(sc.gamma > 0.0 && sc.gamma <= 1.0) {
        bad(
            "train.schedule.gamma",
            format!("must be in (0, 1], got {}", sc.gamma),
        );
    }
    if !(sc.min_lr >= 0.0 && sc.min_lr <= t.learning_rate) {
        bad(
            "train.schedule.min_lr",
            format!(
                "must be between 0 and train.learning_rate, got {}",
                sc.min_lr
            ),
        );
    }
    if let Some(es) = t.early_stopping() {
        if metric_higher_is_better(&es.metric).is_none() {
            bad(
                "train.early_stopping.metric",
                format!(
                    "unknown metric {:?}; use \"loss\" or one of accuracy, balanced_accuracy, f1_macro, f1_weighted, log_loss, roc_auc, rmse, mae, r2",
                    es.metric
                ),
            );
        }
        if es.patience == 0 {
            bad("train.early_stopping.patience", "must be at least 1".into());
        }
        if !(es.min_delta >= 0.0 && es.min_delta.is_finite()) {
            bad(
                "train.early_stopping.min_delta",
                format!("must be >= 0, got {}", es.min_delta),
            );
        }
        if d.split.valid <= 0.0 {
            bad(
                "train.early_stopping",
                "needs a validation split, but data.split.valid is 0; set enabled = false or give valid a share".into(),
            );
        }
    }
    if !is_semver(&c.model.version) {
        bad(
            "model.version",
            format!(
                "{:?} is not a semantic version; use MAJOR.MINOR.PATCH such as \"1.2.0\"",
                c.model.version
            ),
        );
    }
    if let Some(name) = &c.model.name
        && (name.is_empty()
            || name.len() > 64
            || name.starts_with('.')
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
    {
        bad(
            "model.name",
            format!("{name:?} must be 1-64 characters of A-Z a-z 0-9 . _ - and not start with '.'"),
        );
    }
    let e = &c.eval;
    for (i, col) in e.slices.iter().enumerate() {
        if col.is_empty() {
            bad(&format!("eval.slices[{i}]"), "must name a column".into());
        } else if col == &d.target {
            bad(
                &format!("eval.slices[{i}]"),
                format!("{col:?} is the target; slice by an input column"),
            );
        } else if e.slices[..i].contains(col) {
            bad(
                &format!("eval.slices[{i}]"),
                format!("{col:?} is listed twice"),
            );
        }
    }
    if !(e.confidence > 0.0 && e.confidence < 1.0) {
        bad(
            "eval.confidence",
            format!("must be in (0, 1), got {}", e.confidence),
        );
    }
    if e.bootstrap > 100_000 {
        bad(
            "eval.bootstrap",
            format!("must be at most 100000 resamples, got {}", e.bootstrap),
        );
    }
    if !(2..=100).contains(&e.calibration_bins) {
        bad(
            "eval.calibration_bins",
            format!("must be between 2 and 100, got {}", e.calibration_bins),
        );
    }
    for (name, col) in &d.schema.columns {
        let key = format!("data.schema.columns.{name}");
        if let (Some(lo), Some(hi)) = (col.min, col.max)
            && lo > hi
        {
            bad(&format!("{key}.min"), format!("{lo} is above max {hi}"));
        }
        for (v, k) in [(col.min, "min"), (col.max, "max")] {
            if v.is_some_and(|v| !v.is_finite()) {
                bad(&format!("{key}.{k}"), "must be a finite number".into());
            }
        }
        if (col.min.is_some() || col.max.is_some())
            && matches!(col.kind, Some(SchemaType::String | SchemaType::Boolean))
        {
            bad(
                &format!("{key}.type"),
                "min and max apply to numeric and integer columns".into(),
            );
        }
        if col.allowed.as_ref().is_some_and(|a| a.is_empty()) {
            bad(
                &format!("{key}.allowed"),
                "must list at least one value".into(),
            );
        }
    }
    if let (Some(lo), Some(hi)) = (d.schema.min_rows, d.schema.max_rows)
        && lo > hi
    {
        bad(
            "data.schema.min_rows",
            format!("{lo} is above max_rows {hi}"),
        );
    }
    if let Some(g) = &c.gate {
        p.extend(validate_gate(g));
    }
    if let Some(cd) = &c.check_data {
        p.extend(validate_check_data(cd));
    }
    if let Some(s) = &c.sweep {
        p.extend(crate::sweep::validate_sweep(s));
    }
    p
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

pub(crate) fn validate_gate(g: &GatePolicy) -> Vec<Problem> {
    let mut p = Vec::new();
    let mut bad = |key: &str, msg: String| p.push((key.to_string(), msg));
    if g.split.trim().is_empty() {
        bad(
            "gate.split",
            "must name a split (test, valid or eval)".into(),
        );
    }
    if !(g.confidence > 0.0 && g.confidence < 1.0) {
        bad(
            "gate.confidence",
            format!("must be in (0, 1), got {}", g.confidence),
        );
    }
    if !(1..=100_000).contains(&g.resamples) {
        bad(
            "gate.resamples",
            format!("must be between 1 and 100000, got {}", g.resamples),
        );
    }
    for (i, rule) in g.rules.iter().enumerate() {
        let key = format!("gate.rules[{i}]");
        let t = rule.target();
        if anneal_core::Metric::parse(&t.metric).is_none() {
            bad(
                &key,
                format!(
                    "unknown metric {:?}; expected one of {}",
                    t.metric,
                    GATE_METRICS.join(", ")
                ),
            );
        }
        if t.split.as_deref().is_some_and(|s| s.trim().is_empty()) {
            bad(&key, "split must name a split".into());
        }
        if let Some(s) = &t.slice
            && (s.is_empty() || s.starts_with('=') || s.ends_with('='))
        {
            bad(
                &key,
                format!(
                    "slice {s:?} must be a column (\"sex\") or a column and value (\"sex=female\")"
                ),
            );
        }
        let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
        match rule {
            GateRule::Threshold { min, max, .. } => {
                if min.is_none() && max.is_none() {
                    bad(&key, "a threshold rule needs min, max or both".into());
                } else if !finite(*min) || !finite(*max) {
                    bad(&key, "min and max must be finite numbers".into());
                } else if let (Some(lo), Some(hi)) = (min, max)
                    && lo > hi
                {
                    bad(&key, format!("min {lo} is above max {hi}"));
                }
            }
            GateRule::Change {
                max_drop,
                max_relative_drop,
                ..
            } => {
                if max_drop.is_none() && max_relative_drop.is_none() {
                    bad(
                        &key,
                        "a change rule needs max_drop, max_relative_drop or both".into(),
                    );
                } else if !finite(*max_drop) || !finite(*max_relative_drop) {
                    bad(
                        &key,
                        "max_drop and max_relative_drop must be finite numbers".into(),
                    );
                }
            }
            GateRule::Regression { margin, .. } => {
                if !margin.is_finite() || *margin < 0.0 {
                    bad(&key, format!("margin must be a number >= 0, got {margin}"));
                }
            }
            GateRule::MaxGain {
                max_gain,
                max_relative_gain,
                ..
            } => {
                if max_gain.is_none() && max_relative_gain.is_none() {
                    bad(
                        &key,
                        "a max_gain rule needs max_gain, max_relative_gain or both".into(),
                    );
                } else if [*max_gain, *max_relative_gain]
                    .iter()
                    .any(|v| v.is_some_and(|v| !(v.is_finite() && v >= 0.0)))
                {
                    bad(
                        &key,
                        "max_gain and max_relative_gain must be numbers >= 0".into(),
                    );
                }
            }
        }
    }
    p
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
