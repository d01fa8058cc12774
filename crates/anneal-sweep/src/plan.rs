//! From a config with a `[sweep]` section to its trials.
//!
//! Trial `i` is a pure function of the config and `i`: a grid decodes `i`
//! as a mixed-radix number over the parameters in key order (the last key
//! varies fastest); random search draws every parameter from the RNG
//! stream `sweep/<i>` of the sweep's seed. So any process (a Slurm array
//! task, a Kubernetes pod) derives its own trial without a shared plan
//! file, and raising `trials` of a random search keeps the earlier ones.
//!
//! A trial's config is the sweep config without its `[sweep]` section, with
//! the trial's values set, parsed and validated like any config; its id is
//! the SHA-256 of its resolved TOML, so the same trial always has the same
//! id and any change to the base config gives new ids.

use std::collections::BTreeMap;
use std::path::Path;

use anneal_config::{ConfigError, Loaded, Parameter, SweepConfig, SweepMethod, Values};
use anneal_core::{hash, rng::Rng};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SweepError};

/// The trial list written to `plan.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The sweep config's file name (not its path: the same sweep planned
    /// from another folder is the same plan).
    pub config: String,
    pub method: SweepMethod,
    pub objective: String,
    pub split: String,
    /// Whether larger objective values are better.
    pub maximize: bool,
    /// The swept keys, in the order the grid counts them.
    pub parameters: Vec<String>,
    pub trials: Vec<Trial>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub index: usize,
    /// The first 12 hex digits of the SHA-256 of `config`.
    pub id: String,
    /// Dotted key → the value this trial sets.
    pub values: BTreeMap<String, serde_json::Value>,
    /// The trial's complete config (every default filled in), as TOML.
    pub config: String,
}

/// What a trial's run folder records of it (`trial.json`): enough to tell
/// a finished trial of this plan from one of another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub index: usize,
    pub id: String,
    pub values: BTreeMap<String, serde_json::Value>,
}

impl Trial {
    pub fn record(&self) -> TrialRecord {
        TrialRecord {
            index: self.index,
            id: self.id.clone(),
            values: self.values.clone(),
        }
    }
}

/// The sweep section of `loaded`, or a usage-style error naming the file.
fn section(loaded: &Loaded) -> Result<&SweepConfig> {
    loaded.config.sweep.as_ref().ok_or_else(|| {
        SweepError::Index(format!(
            "{} has no [sweep] section: there are no trials to run",
            loaded.path.display()
        ))
    })
}

/// Every trial of the sweep in `loaded`.
pub fn plan(loaded: &Loaded) -> Result<Plan> {
    let sweep = section(loaded)?;
    let space = space(loaded, sweep)?;
    let n = sweep.trial_count(&space) as usize;
    let base = base_table(loaded)?;
    let mut trials = Vec::with_capacity(n);
    for i in 0..n {
        trials.push(resolve(loaded, sweep, &space, &base, i)?.0);
    }
    Ok(Plan {
        config: loaded
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        method: sweep.method,
        objective: sweep.objective.clone(),
        split: sweep.split.clone(),
        maximize: sweep.maximize(),
        parameters: space.iter().map(|p| p.key.clone()).collect(),
        trials,
    })
}

/// Trial `index` alone, with its config parsed (relative paths resolve
/// against the sweep config's folder, as for the sweep itself).
pub fn trial(loaded: &Loaded, index: usize) -> Result<(Trial, Loaded)> {
    let sweep = section(loaded)?;
    let space = space(loaded, sweep)?;
    let n = sweep.trial_count(&space);
    if index as u64 >= n {
        return Err(SweepError::Index(format!(
            "trial {index} does not exist: {} plans {n} trials (0 to {})",
            loaded.path.display(),
            n.saturating_sub(1)
        )));
    }
    let base = base_table(loaded)?;
    resolve(loaded, sweep, &space, &base, index)
}

fn space(loaded: &Loaded, sweep: &SweepConfig) -> Result<Vec<Parameter>> {
    sweep
        .space()
        .map_err(|(key, msg)| SweepError::Config(loaded.error_at(&key, msg)))
}

/// The config as a TOML table without its `[sweep]` section.
fn base_table(loaded: &Loaded) -> Result<toml::Table> {
    let mut table: toml::Table = if loaded.source().is_empty() {
        match toml::Value::try_from(&loaded.config) {
            Ok(toml::Value::Table(t)) => t,
            _ => {
                return Err(SweepError::Config(
                    loaded.error_at("", "cannot render the config as TOML"),
                ));
            }
        }
    } else {
        // It parsed once as a Config, so it parses as a table.
        toml::from_str(loaded.source()).map_err(|e| {
            SweepError::Config(loaded.error_at("", format!("cannot re-read the config: {e}")))
        })?
    };
    table.remove("sweep");
    Ok(table)
}

/// The values trial `index` sets, in parameter order.
fn values(sweep: &SweepConfig, space: &[Parameter], index: usize) -> Vec<toml::Value> {
    match sweep.method {
        SweepMethod::Grid => {
            let mut rest = index;
            let mut out = vec![toml::Value::Boolean(false); space.len()];
            for (j, p) in space.iter().enumerate().rev() {
                if let Values::Choice(v) = &p.values {
                    out[j] = v[rest % v.len()].clone();
                    rest /= v.len();
                }
            }
            out
        }
        SweepMethod::Random => {
            let seed = sweep.seed.unwrap_or(0);
            let mut rng = Rng::stream(seed, &format!("sweep/{index}"));
            space
                .iter()
                .map(|p| match &p.values {
                    Values::Choice(v) => v[rng.below(v.len() as u64) as usize].clone(),
                    Values::Uniform(lo, hi) => toml::Value::Float(lo + (hi - lo) * rng.next_f64()),
                    Values::LogUniform(lo, hi) => {
                        let (a, b) = (lo.ln(), hi.ln());
                        toml::Value::Float((a + (b - a) * rng.next_f64()).exp().clamp(*lo, *hi))
                    }
                    Values::IntUniform(lo, hi) => {
                        let span = (hi - lo) as u64 + 1;
                        toml::Value::Integer(lo + rng.below(span) as i64)
                    }
                })
                .collect()
        }
    }
}

fn resolve(
    loaded: &Loaded,
    sweep: &SweepConfig,
    space: &[Parameter],
    base: &toml::Table,
    index: usize,
) -> Result<(Trial, Loaded)> {
    let mut sweep = sweep.clone();
    if sweep.seed.is_none() {
        sweep.seed = Some(loaded.config.train.seed);
    }
    let chosen = values(&sweep, space, index);
    let mut table = base.clone();
    for (p, v) in space.iter().zip(&chosen) {
        set(&mut table, &p.key, v.clone()).map_err(|msg| {
            SweepError::Config(loaded.error_at(&format!("sweep.parameters.{}", p.key), msg))
        })?;
    }
    let assignment = || {
        space
            .iter()
            .zip(&chosen)
            .map(|(p, v)| format!("{} = {v}", p.key))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = toml::to_string(&table).map_err(|e| {
        SweepError::Config(loaded.error_at(
            "sweep.parameters",
            format!(
                "trial {index} ({}) cannot be written as TOML: {e}",
                assignment()
            ),
        ))
    })?;
    let parsed = anneal_config::parse(&text, &loaded.path).map_err(|e| match e {
        ConfigError::Invalid { key, message, .. } => {
            let bad = key.trim_end_matches(": ");
            let blamed = space
                .iter()
                .find(|p| bad == p.key || bad.starts_with(&format!("{}.", p.key)))
                .or_else(|| space.iter().find(|p| p.key.starts_with(&format!("{bad}."))));
            let (at, what) = match blamed {
                Some(p) => (
                    format!("sweep.parameters.{}", p.key),
                    format!(
                        "{} = {}",
                        p.key,
                        chosen[space.iter().position(|q| q == p).unwrap_or(0)]
                    ),
                ),
                None => ("sweep.parameters".to_string(), assignment()),
            };
            let inner = if bad.is_empty() || blamed.is_some_and(|p| p.key == bad) {
                message
            } else {
                format!("{key}{message}")
            };
            SweepError::Config(loaded.error_at(&at, format!("trial {index} sets {what}: {inner}")))
        }
        other => SweepError::Config(other),
    })?;
    // The resolved text is itself a complete config describing the same
    // run; it is what the trial trains and what its id hashes.
    let config = parsed.resolved_toml();
    let id = hash::sha256_hex(config.as_bytes())[..12].to_string();
    let values = space
        .iter()
        .zip(chosen)
        .map(|(p, v)| {
            (
                p.key.clone(),
                serde_json::to_value(&v).unwrap_or(serde_json::Value::Null),
            )
        })
        .collect();
    Ok((
        Trial {
            index,
            id,
            values,
            config,
        },
        parsed,
    ))
}

/// Sets the dotted `key` in `table`, creating the tables on the way.
fn set(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    let mut t = table;
    for (depth, part) in parts[..parts.len() - 1].iter().enumerate() {
        let entry = t
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = match entry {
            toml::Value::Table(inner) => inner,
            other => {
                return Err(format!(
                    "{} is a {}, not a section with keys",
                    parts[..=depth].join("."),
                    other.type_str()
                ));
            }
        };
    }
    t.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

impl Plan {
    /// The plan as canonical JSON (sorted keys): the same sweep always
    /// writes the same bytes.
    pub fn to_json(&self) -> Result<String> {
        Ok(anneal_core::json::to_canonical_string(self, "plan.json")?)
    }

    /// Reads `DIR/plan.json`.
    pub fn read(sweep_dir: &Path) -> Result<Plan> {
        let path = sweep_dir.join("plan.json");
        let bytes = std::fs::read(&path).map_err(|e| {
            SweepError::Folder(format!(
                "{} is not a sweep folder: cannot read {}: {e} (write it with `anneal sweep plan`)",
                sweep_dir.display(),
                path.display()
            ))
        })?;
        serde_json::from_slice(&bytes).map_err(|e| SweepError::Read {
            path,
            reason: format!("not a plan written by anneal: {e}"),
        })
    }

    /// Writes `DIR/plan.json` atomically. A plan already there must be this
    /// one: trials of two different sweeps never share a folder.
    pub fn write(&self, sweep_dir: &Path) -> Result<()> {
        let text = self.to_json()?;
        let path = sweep_dir.join("plan.json");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            if existing == text {
                return Ok(());
            }
            return Err(SweepError::Folder(format!(
                "{} holds the plan of a different sweep (the config or its [sweep] section changed since it was planned); choose another --out, or delete the folder to start over",
                sweep_dir.display()
            )));
        }
        std::fs::create_dir_all(sweep_dir).map_err(|source| anneal_core::CoreError::Write {
            path: sweep_dir.to_path_buf(),
            source,
        })?;
        anneal_core::fsio::atomic_write(&path, text.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"[data]
path = "../datasets/iris.csv"
target = "species"

[model]
kind = "mlp"
hidden = [64, 64]

[train]
epochs = 5
learning_rate = 0.001
seed = 42
"#;

    fn load(sweep: &str) -> Loaded {
        anneal_config::parse(&format!("{BASE}\n{sweep}"), Path::new("configs/s.toml")).unwrap()
    }

    fn load_err(sweep: &str) -> String {
        let l = load(sweep);
        plan(&l).unwrap_err().to_string()
    }

    #[test]
    fn grid_counts_last_key_fastest_and_ids_are_stable() {
        let l = load(
            "[sweep]\nobjective = \"accuracy\"\n[sweep.parameters]\ntrain.learning_rate = [1e-2, 1e-3]\nmodel.hidden = [[64, 64], [128], [8]]\n",
        );
        let p = plan(&l).unwrap();
        assert_eq!(p.trials.len(), 6);
        assert_eq!(p.parameters, ["model.hidden", "train.learning_rate"]);
        let lr: Vec<f64> = p
            .trials
            .iter()
            .map(|t| t.values["train.learning_rate"].as_f64().unwrap())
            .collect();
        assert_eq!(lr, [1e-2, 1e-3, 1e-2, 1e-3, 1e-2, 1e-3]);
        assert_eq!(p.trials[5].values["model.hidden"], serde_json::json!([8]));
        // The trial's config carries its values and no [sweep].
        let (t, cfg) = trial(&l, 3).unwrap();
        assert_eq!(t, p.trials[3]);
        assert_eq!(cfg.config.model.hidden, Some(vec![128]));
        assert_eq!(cfg.config.train.learning_rate, 1e-3);
        assert!(cfg.config.sweep.is_none());
        assert_eq!(cfg.data_path(), Path::new("configs/../datasets/iris.csv"));
        // Ids: distinct, and the same on every plan.
        let ids: std::collections::BTreeSet<&str> =
            p.trials.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids.len(), 6);
        assert_eq!(plan(&l).unwrap().to_json().unwrap(), p.to_json().unwrap());
        assert!(trial(&l, 6).unwrap_err().to_string().contains("0 to 5"));
    }

    #[test]
    fn random_search_is_seeded_and_prefix_stable() {
        let src = |n: u32, seed: u64| {
            format!(
                "[sweep]\nmethod = \"random\"\ntrials = {n}\nseed = {seed}\nobjective = \"log_loss\"\n[sweep.parameters]\ntrain.learning_rate = {{ log_uniform = [1e-4, 1e-1] }}\ntrain.batch_size = [16, 32, 64]\nmodel.dropout = {{ uniform = [0.0, 0.5] }}\ntrain.epochs = {{ int_uniform = [3, 6] }}\n"
            )
        };
        let a = plan(&load(&src(8, 1))).unwrap();
        let b = plan(&load(&src(12, 1))).unwrap();
        let c = plan(&load(&src(8, 2))).unwrap();
        assert!(!a.maximize);
        assert_eq!(a.trials[..], b.trials[..8]);
        assert_ne!(a.trials, c.trials);
        for t in &b.trials {
            let lr = t.values["train.learning_rate"].as_f64().unwrap();
            assert!((1e-4..=1e-1).contains(&lr), "{lr}");
            let e = t.values["train.epochs"].as_i64().unwrap();
            assert!((3..=6).contains(&e));
            let d = t.values["model.dropout"].as_f64().unwrap();
            assert!((0.0..=0.5).contains(&d));
        }
    }

    #[test]
    fn bad_trial_values_point_at_the_sweep_parameter() {
        assert_eq!(
            load_err(
                "[sweep]\nobjective = \"accuracy\"\n[sweep.parameters]\ntrain.learning_rate = [1e-3, -1.0]\n"
            ),
            "configs/s.toml:17:7: sweep.parameters.train.learning_rate: trial 1 sets train.learning_rate = -1.0: must be > 0, got -1"
        );
        let e = load_err(
            "[sweep]\nobjective = \"accuracy\"\n[sweep.parameters]\ntrain.learnin_rate = [1e-3]\n",
        );
        assert!(
            e.starts_with(
                "configs/s.toml:17:7: sweep.parameters.train.learnin_rate: trial 0 sets train.learnin_rate = 0.001: unknown field `learnin_rate`"
            ),
            "{e}"
        );
        let e = load_err(
            "[sweep]\nobjective = \"accuracy\"\n[sweep.parameters]\ntrain.epochs.x = [1]\n",
        );
        assert!(
            e.ends_with("sweep.parameters.train.epochs.x: train.epochs is a integer, not a section with keys"),
            "{e}"
        );
    }
}
