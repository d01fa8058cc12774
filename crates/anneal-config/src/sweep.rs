//! The `[sweep]` section: a search space over any config key, and the
//! objective the trials are ranked by. Planning the trials (sampling and
//! resolving each into a full config) lives in `anneal-sweep`; here is only
//! what the section may say, and its checks.
//!
//! ```toml
//! [sweep]
//! method = "grid"              # or "random" (then `trials = N`)
//! objective = "accuracy"       # a metric of the report
//! split = "valid"              # never tune on test
//!
//! [sweep.parameters]
//! train.learning_rate = [1e-3, 3e-4]
//! model.hidden = [[64, 64], [128]]
//! model.dropout = { uniform = [0.0, 0.3] }      # random search only
//! ```
//!
//! A parameter is a dotted config key whose value is a list of choices or,
//! for random search, a one-key table naming a distribution. The keys are
//! TOML dotted keys, so `train.learning_rate = [...]` under
//! `[sweep.parameters]` is the nested table `train = { learning_rate = ... }`,
//! walked back into the dotted name here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::validate::GATE_METRICS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    #[serde(default)]
    pub method: SweepMethod,
    /// Random search: how many trials to draw. Grid search: must be absent
    /// (the grid's size is the product of the lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trials: Option<u32>,
    /// Random search's seed [default: train.seed]. Trial `i` draws from the
    /// stream `sweep/<i>`, so raising `trials` keeps the earlier trials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The metric trials are ranked by.
    pub objective: String,
    /// The split the objective is read from.
    #[serde(default = "default_split")]
    pub split: String,
    /// Whether larger or smaller is better [default: known per metric].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// The search space: dotted config keys (nested tables in TOML).
    pub parameters: toml::Table,
}

fn default_split() -> String {
    "valid".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepMethod {
    #[default]
    Grid,
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Maximize,
    Minimize,
}

/// One dimension of the search space.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The dotted config key it sets, e.g. `train.learning_rate`.
    pub key: String,
    pub values: Values,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Grid: every value in turn; random: one drawn uniformly.
    Choice(Vec<toml::Value>),
    /// Uniform on [low, high].
    Uniform(f64, f64),
    /// Log-uniform on [low, high], both > 0 (learning rates).
    LogUniform(f64, f64),
    /// Integers uniform on [low, high], both included.
    IntUniform(i64, i64),
}

/// The distribution names a parameter table may use.
const DISTRIBUTIONS: [&str; 3] = ["uniform", "log_uniform", "int_uniform"];

/// The largest grid a sweep may plan: a typo such as a 1000-value list
/// should be an error, not a million-trial plan.
pub const MAX_TRIALS: u64 = 100_000;

impl SweepConfig {
    /// The parameters in key order, or the first mistake as
    /// `(dotted key under sweep.parameters, message)`.
    pub fn space(&self) -> Result<Vec<Parameter>, (String, String)> {
        let mut out = Vec::new();
        walk(&self.parameters, "", &mut out)?;
        if out.is_empty() {
            return Err((
                "sweep.parameters".into(),
                "names no parameter; add e.g. train.learning_rate = [1e-3, 3e-4]".into(),
            ));
        }
        Ok(out)
    }

    /// Whether larger values of the objective are better.
    pub fn maximize(&self) -> bool {
        match self.direction {
            Some(d) => d == Direction::Maximize,
            None => crate::metric_higher_is_better(&self.objective).unwrap_or(true),
        }
    }

    /// How many trials the sweep has (the grid's size or `trials`).
    pub fn trial_count(&self, space: &[Parameter]) -> u64 {
        match self.method {
            SweepMethod::Random => u64::from(self.trials.unwrap_or(0)),
            SweepMethod::Grid => space.iter().fold(1u64, |n, p| match &p.values {
                Values::Choice(v) => n.saturating_mul(v.len() as u64),
                _ => n,
            }),
        }
    }
}

fn walk(
    table: &toml::Table,
    prefix: &str,
    out: &mut Vec<Parameter>,
) -> Result<(), (String, String)> {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let at = format!("sweep.parameters.{key}");
        match value {
            toml::Value::Array(items) => {
                if items.is_empty() {
                    return Err((at, "lists no value; give at least one".into()));
                }
                let mut seen: Vec<&toml::Value> = Vec::new();
                for v in items {
                    if seen.contains(&v) {
                        return Err((at, format!("lists {v} twice")));
                    }
                    seen.push(v);
                }
                out.push(Parameter {
                    key,
                    values: Values::Choice(items.clone()),
                });
            }
            toml::Value::Table(t) if t.len() == 1 && DISTRIBUTIONS.contains(&first_key(t)) => {
                out.push(Parameter {
                    values: distribution(t, &at)?,
                    key,
                });
            }
            toml::Value::Table(t) => {
                if t.keys().any(|k| DISTRIBUTIONS.contains(&k.as_str())) {
                    return Err((
                        at,
                        format!(
                            "a distribution table has exactly one key ({}), got {}",
                            DISTRIBUTIONS.join(", "),
                            t.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                walk(t, &key, out)?;
            }
            other => {
                return Err((
                    at,
                    format!(
                        "must be a list of values to try (e.g. [{other}]) or a distribution such as {{ uniform = [0.0, 0.5] }}, got {other}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn first_key(t: &toml::Table) -> &str {
    t.keys().next().map_or("", String::as_str)
}

fn distribution(t: &toml::Table, at: &str) -> Result<Values, (String, String)> {
    let name = first_key(t);
    let bad = |msg: String| Err((format!("{at}.{name}"), msg));
    let Some(toml::Value::Array(bounds)) = t.get(name) else {
        return bad("must be a list [low, high]".into());
    };
    if bounds.len() != 2 {
        return bad(format!("must be [low, high], got {} values", bounds.len()));
    }
    if name == "int_uniform" {
        let (Some(lo), Some(hi)) = (bounds[0].as_integer(), bounds[1].as_integer()) else {
            return bad("bounds must be integers".into());
        };
        if lo > hi {
            return bad(format!("low {lo} is above high {hi}"));
        }
        return Ok(Values::IntUniform(lo, hi));
    }
    let num = |v: &toml::Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
    let (Some(lo), Some(hi)) = (num(&bounds[0]), num(&bounds[1])) else {
        return bad("bounds must be numbers".into());
    };
    if !lo.is_finite() || !hi.is_finite() || lo > hi {
        return bad(format!("must be finite with low <= high, got [{lo}, {hi}]"));
    }
    if name == "log_uniform" {
        if lo <= 0.0 {
            return bad(format!("bounds must be > 0 on a log scale, got {lo}"));
        }
        return Ok(Values::LogUniform(lo, hi));
    }
    Ok(Values::Uniform(lo, hi))
}

/// The checks of a `[sweep]` section as `(key, message)` problems.
pub(crate) fn validate_sweep(s: &SweepConfig) -> Vec<(String, String)> {
    let mut p = Vec::new();
    if anneal_core::Metric::parse(&s.objective).is_none() {
        p.push((
            "sweep.objective".into(),
            format!(
                "unknown metric {:?}; expected one of {}",
                s.objective,
                GATE_METRICS.join(", ")
            ),
        ));
    }
    if !["train", "valid", "test"].contains(&s.split.as_str()) {
        p.push((
            "sweep.split".into(),
            format!(
                "must be \"valid\" (or \"test\", \"train\"), got {:?}",
                s.split
            ),
        ));
    }
    let space = match s.space() {
        Ok(space) => space,
        Err(e) => {
            p.push(e);
            return p;
        }
    };
    let mut keys: BTreeMap<&str, ()> = BTreeMap::new();
    for par in &space {
        keys.insert(&par.key, ());
        if par.key == "sweep" || par.key.starts_with("sweep.") {
            p.push((
                format!("sweep.parameters.{}", par.key),
                "a sweep cannot sweep its own section".into(),
            ));
        }
    }
    match s.method {
        SweepMethod::Grid => {
            if s.trials.is_some() {
                p.push((
                    "sweep.trials".into(),
                    "a grid runs every combination; trials is for method = \"random\"".into(),
                ));
            }
            if let Some(par) = space
                .iter()
                .find(|par| !matches!(par.values, Values::Choice(_)))
            {
                p.push((
                    format!("sweep.parameters.{}", par.key),
                    "a grid needs a list of values; distributions are for method = \"random\""
                        .into(),
                ));
            }
            let n = s.trial_count(&space);
            if n > MAX_TRIALS {
                p.push((
                    "sweep.parameters".into(),
                    format!("the grid has {n} combinations, more than {MAX_TRIALS}"),
                ));
            }
        }
        SweepMethod::Random => match s.trials {
            None | Some(0) => p.push((
                "sweep.trials".into(),
                "random search needs trials = N (at least 1)".into(),
            )),
            Some(n) if u64::from(n) > MAX_TRIALS => p.push((
                "sweep.trials".into(),
                format!("must be at most {MAX_TRIALS}, got {n}"),
            )),
            Some(_) => {}
        },
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(src: &str) -> SweepConfig {
        toml::from_str(src).unwrap()
    }

    #[test]
    fn dotted_keys_become_parameters_in_key_order() {
        let s = sweep(
            r#"objective = "accuracy"
[parameters]
train.learning_rate = [1e-3, 3e-4]
model.hidden = [[64, 64], [128]]
model.dropout = { uniform = [0.0, 0.3] }
train.epochs = { int_uniform = [10, 50] }
"#,
        );
        let space = s.space().unwrap();
        let keys: Vec<&str> = space.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "model.dropout",
                "model.hidden",
                "train.epochs",
                "train.learning_rate"
            ]
        );
        assert_eq!(space[0].values, Values::Uniform(0.0, 0.3));
        assert_eq!(space[2].values, Values::IntUniform(10, 50));
        assert!(s.maximize());
        // A grid may not hold distributions.
        let problems = validate_sweep(&s);
        assert_eq!(problems[0].0, "sweep.parameters.model.dropout");
    }

    #[test]
    fn mistakes_name_their_key() {
        let s = sweep("objective = \"rmse\"\n[parameters]\ntrain.learning_rate = 0.1\n");
        assert!(!s.maximize());
        let (key, msg) = s.space().unwrap_err();
        assert_eq!(key, "sweep.parameters.train.learning_rate");
        assert!(msg.starts_with("must be a list of values to try"), "{msg}");
        let s = sweep(
            "objective = \"rmse\"\nmethod = \"random\"\ntrials = 3\n[parameters]\ntrain.learning_rate = { log_uniform = [0.0, 0.1] }\n",
        );
        assert_eq!(
            s.space().unwrap_err(),
            (
                "sweep.parameters.train.learning_rate.log_uniform".into(),
                "bounds must be > 0 on a log scale, got 0".into()
            )
        );
        let s = sweep("objective = \"acc\"\n[parameters]\nmodel.hidden = []\n");
        let p = validate_sweep(&s);
        assert_eq!(p[0].0, "sweep.objective");
        assert_eq!(
            p[1],
            (
                "sweep.parameters.model.hidden".into(),
                "lists no value; give at least one".into()
            )
        );
        let s = sweep("objective = \"r2\"\nmethod = \"random\"\n[parameters]\na = [1, 2]\n");
        assert_eq!(validate_sweep(&s)[0].0, "sweep.trials");
    }
}
