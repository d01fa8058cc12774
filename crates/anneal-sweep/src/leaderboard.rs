//! `anneal sweep collect`: the trials of a sweep folder ranked by the
//! objective, as canonical JSON (same folder, same bytes), Markdown and an
//! HTML page with the objective plotted against each parameter.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anneal_core::text::md_escape_pipes;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SweepError};
use crate::plan::{Plan, TrialRecord};

/// Where each trial stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    /// Its run folder is complete.
    Finished,
    /// It failed; `note` holds the error (from `trials/NNNN.error.json`).
    Failed,
    /// It stopped with a checkpoint; running it again resumes it.
    Interrupted,
    /// Its folder holds another trial (the plan changed since).
    Stale,
    /// Not started.
    Pending,
}

impl TrialStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TrialStatus::Finished => "finished",
            TrialStatus::Failed => "failed",
            TrialStatus::Interrupted => "interrupted",
            TrialStatus::Stale => "stale",
            TrialStatus::Pending => "pending",
        }
    }
}

/// What `train --trial` leaves beside a trial that failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialFailure {
    pub index: usize,
    pub id: String,
    pub exit_code: u8,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 1 for the best finished trial; none for unfinished ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    pub index: usize,
    pub id: String,
    pub status: TrialStatus,
    pub values: BTreeMap<String, serde_json::Value>,
    /// The objective on the sweep's split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objective: Option<f64>,
    /// Every metric of the trial's `metrics.json`: split → metric → value.
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::map2")]
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    /// The trial's artifact folder, relative to the sweep folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    pub config: String,
    pub objective: String,
    pub split: String,
    pub maximize: bool,
    pub parameters: Vec<String>,
    pub trials: usize,
    /// Trials per status.
    pub counts: BTreeMap<String, usize>,
    /// Ranked: finished trials best first (ties by index), then the rest
    /// by index.
    pub entries: Vec<Entry>,
}

impl Entry {
    /// `1`, `2`, ... or `-` for an unfinished trial.
    pub fn rank_label(&self) -> String {
        self.rank.map_or_else(|| "-".into(), |r| r.to_string())
    }

    /// The objective, short, or `-`.
    pub fn objective_label(&self) -> String {
        self.objective.map_or_else(|| "-".into(), short_float)
    }

    /// The status with its note: `failed (exit 3: ...)`.
    pub fn status_label(&self) -> String {
        match &self.note {
            Some(n) => format!("{} ({n})", self.status.as_str()),
            None => self.status.as_str().to_string(),
        }
    }
}

impl Leaderboard {
    /// The best finished trial.
    pub fn best(&self) -> Option<&Entry> {
        self.entries.iter().find(|e| e.rank == Some(1))
    }

    pub fn finished(&self) -> usize {
        self.counts.get("finished").copied().unwrap_or(0)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| SweepError::Read {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SweepError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// A trial's `metrics.json` (split → metric → value), as `anneal train`
/// writes it: canonical JSON, so a NaN figure is `null`.
#[derive(Deserialize)]
#[serde(transparent)]
struct MetricsFile(
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::map2")]
    BTreeMap<String, BTreeMap<String, f64>>,
);

/// Reads the plan and every trial's folder under `sweep_dir`.
pub fn collect(sweep_dir: &Path) -> Result<Leaderboard> {
    let plan = Plan::read(sweep_dir)?;
    let mut entries = Vec::with_capacity(plan.trials.len());
    for t in &plan.trials {
        let dir = crate::trial_dir(sweep_dir, t.index);
        let name = format!("{:04}", t.index);
        let mut e = Entry {
            rank: None,
            index: t.index,
            id: t.id.clone(),
            status: TrialStatus::Pending,
            values: t.values.clone(),
            objective: None,
            metrics: BTreeMap::new(),
            artifact: None,
            artifact_id: None,
            note: None,
        };
        if dir.is_dir() {
            let record: Option<TrialRecord> = read_json(&dir.join("trial.json"))?;
            match record {
                Some(r) if r.id == t.id => {
                    let metrics: Option<MetricsFile> = read_json(&dir.join("metrics.json"))?;
                    e.metrics = metrics.map(|m| m.0).unwrap_or_default();
                    e.objective = e
                        .metrics
                        .get(&plan.split)
                        .and_then(|m| m.get(&plan.objective))
                        .copied()
                        .filter(|v| v.is_finite());
                    if e.objective.is_none() {
                        e.note = Some(format!(
                            "no finite {} on {} in {}",
                            plan.objective,
                            plan.split,
                            dir.join("metrics.json").display()
                        ));
                    }
                    e.status = TrialStatus::Finished;
                    e.artifact = Some(format!("trials/{name}/artifact"));
                    let manifest: Option<anneal_artifact::Manifest> =
                        read_json(&dir.join("artifact/manifest.json"))?;
                    e.artifact_id = manifest.map(|m| m.id).filter(|id| !id.is_empty());
                }
                Some(r) => {
                    e.status = TrialStatus::Stale;
                    e.note = Some(format!(
                        "{} holds trial id {}, not {} of this plan",
                        dir.display(),
                        r.id,
                        t.id
                    ));
                }
                None => {
                    e.status = TrialStatus::Stale;
                    e.note = Some(format!("{} has no trial.json", dir.display()));
                }
            }
        } else if let Some(f) =
            read_json::<TrialFailure>(&sweep_dir.join("trials").join(format!("{name}.error.json")))?
                .filter(|f| f.id == t.id)
        {
            e.status = TrialStatus::Failed;
            e.note = Some(format!("exit {}: {}", f.exit_code, f.message));
        } else if sweep_dir
            .join("trials")
            .join(format!(".{name}.partial"))
            .is_dir()
        {
            e.status = TrialStatus::Interrupted;
        }
        entries.push(e);
    }
    rank(&mut entries, plan.maximize);
    let mut counts = BTreeMap::new();
    for e in &entries {
        *counts.entry(e.status.as_str().to_string()).or_insert(0) += 1;
    }
    Ok(Leaderboard {
        config: plan.config,
        objective: plan.objective,
        split: plan.split,
        maximize: plan.maximize,
        parameters: plan.parameters,
        trials: plan.trials.len(),
        counts,
        entries,
    })
}

fn rank(entries: &mut [Entry], maximize: bool) {
    entries.sort_by(|a, b| match (a.objective, b.objective) {
        (Some(x), Some(y)) => {
            let ord = if maximize {
                y.total_cmp(&x)
            } else {
                x.total_cmp(&y)
            };
            ord.then(a.index.cmp(&b.index))
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.index.cmp(&b.index),
    });
    for (i, e) in entries.iter_mut().enumerate() {
        if e.objective.is_some() {
            e.rank = Some(i + 1);
        }
    }
}

/// A parameter value as a short label: `0.001`, `[64, 64]`, `"relu"`.
pub fn show_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => short_float(f),
            _ => n.to_string(),
        },
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(show_value).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// Four significant digits, without trailing zeros.
pub use anneal_core::text::significant4 as short_float;

impl Leaderboard {
    /// `leaderboard.json`'s text: canonical JSON. The file has no version
    /// field; [`Leaderboard::read`] reads what this anneal writes.
    pub fn to_json(&self) -> Result<String> {
        Ok(anneal_core::json::to_canonical_string(
            self,
            "leaderboard.json",
        )?)
    }

    /// Reads `DIR/leaderboard.json`, as `anneal sweep collect` wrote it.
    pub fn read(sweep_dir: &Path) -> Result<Leaderboard> {
        let path = sweep_dir.join("leaderboard.json");
        let read = |reason: String| SweepError::Read {
            path: path.clone(),
            reason,
        };
        let bytes = std::fs::read(&path).map_err(|e| read(e.to_string()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| read(format!("not a leaderboard written by anneal: {e}")))
    }

    /// A Markdown table for a pull-request comment or a job summary.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let dir = if self.maximize { "higher" } else { "lower" };
        let _ = writeln!(s, "# Sweep leaderboard: {}\n", self.config);
        let _ = writeln!(
            s,
            "Objective: **{}** on **{}** ({dir} is better). {} of {} trials finished.\n",
            self.objective,
            self.split,
            self.finished(),
            self.trials
        );
        if let Some(b) = self.best() {
            let _ = writeln!(
                s,
                "Best: trial {} (`{}`), {} = {}, artifact `{}`.\n",
                b.index,
                b.id,
                self.objective,
                b.objective_label(),
                b.artifact.as_deref().unwrap_or("-")
            );
        }
        let test = self.split != "test";
        let mut head = vec!["rank".to_string(), "trial".into(), "id".into()];
        head.extend(self.parameters.iter().map(|p| format!("`{p}`")));
        head.push(format!("{} ({})", self.objective, self.split));
        if test {
            head.push(format!("{} (test)", self.objective));
        }
        head.push("status".into());
        let _ = writeln!(s, "| {} |", head.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
        for e in &self.entries {
            let mut row = vec![e.rank_label(), e.index.to_string(), format!("`{}`", e.id)];
            for p in &self.parameters {
                row.push(e.values.get(p).map(show_value).unwrap_or_default());
            }
            row.push(e.objective_label());
            if test {
                row.push(
                    e.metrics
                        .get("test")
                        .and_then(|m| m.get(&self.objective))
                        .map(|v| short_float(*v))
                        .unwrap_or_else(|| "-".into()),
                );
            }
            row.push(md_escape_pipes(&e.status_label()));
            let _ = writeln!(s, "| {} |", row.join(" | "));
        }
        s
    }

    /// Writes `leaderboard.json`, `leaderboard.md` and `leaderboard.html`
    /// into the sweep folder, each atomically.
    pub fn write(&self, sweep_dir: &Path) -> Result<()> {
        let html = crate::html::page(self)?;
        for (name, text) in [
            ("leaderboard.json", self.to_json()?),
            ("leaderboard.md", self.to_markdown()),
            ("leaderboard.html", html),
        ] {
            anneal_core::fsio::atomic_write(&sweep_dir.join(name), text.as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_short() {
        assert_eq!(short_float(0.001), "0.001");
        assert_eq!(short_float(0.000342712), "0.0003427");
        assert_eq!(short_float(0.966666), "0.9667");
        assert_eq!(short_float(58.61), "58.61");
        assert_eq!(short_float(1.5e-7), "1.500e-7");
        assert_eq!(show_value(&serde_json::json!([64, 64])), "[64, 64]");
    }

    fn entry(index: usize, objective: Option<f64>) -> Entry {
        Entry {
            rank: None,
            index,
            id: format!("id{index}"),
            status: if objective.is_some() {
                TrialStatus::Finished
            } else {
                TrialStatus::Pending
            },
            values: BTreeMap::new(),
            objective,
            metrics: BTreeMap::new(),
            artifact: None,
            artifact_id: None,
            note: None,
        }
    }

    #[test]
    fn ranking_respects_direction_and_ties() {
        let mut e = vec![
            entry(0, Some(0.9)),
            entry(1, None),
            entry(2, Some(0.95)),
            entry(3, Some(0.9)),
        ];
        rank(&mut e, true);
        let order: Vec<(usize, Option<usize>)> = e.iter().map(|e| (e.index, e.rank)).collect();
        assert_eq!(order, [(2, Some(1)), (0, Some(2)), (3, Some(3)), (1, None)]);
        rank(&mut e, false);
        let order: Vec<usize> = e.iter().map(|e| e.index).collect();
        assert_eq!(order, [0, 3, 2, 1]);
    }

    fn sweep_dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("anneal-board-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn plan() -> Plan {
        let trial = |index: usize, lr: f64| crate::plan::Trial {
            index,
            id: format!("{index:012}"),
            values: BTreeMap::from([("train.lr".to_string(), serde_json::json!(lr))]),
            config: format!("[train]\nlr = {lr}\n"),
        };
        Plan {
            config: "sweep.toml".into(),
            method: anneal_config::SweepMethod::Grid,
            objective: "accuracy".into(),
            split: "valid".into(),
            maximize: true,
            parameters: vec!["train.lr".into()],
            trials: vec![trial(0, 0.1), trial(1, 0.01), trial(2, 0.001)],
        }
    }

    fn write(path: &std::path::Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn plan_json_reads_back_as_written() {
        let dir = sweep_dir("plan");
        let p = plan();
        p.write(&dir).unwrap();
        assert_eq!(Plan::read(&dir).unwrap(), p);
        // Writing the same plan again is a no-op; another plan is refused.
        p.write(&dir).unwrap();
        let mut other = plan();
        other.objective = "f1".into();
        assert!(other.write(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn leaderboard_json_reads_back_as_written() {
        let dir = sweep_dir("board");
        let p = plan();
        p.write(&dir).unwrap();
        // Trial 0 finished (a NaN metric is written as null); trial 1
        // failed; trial 2 is pending.
        let t0 = crate::trial_dir(&dir, 0);
        write(
            &t0.join("trial.json"),
            &anneal_core::json::to_canonical_string(&p.trials[0].record(), "trial.json").unwrap(),
        );
        write(
            &t0.join("metrics.json"),
            "{\"valid\": {\"accuracy\": 0.875, \"r2\": null}}\n",
        );
        let mut m = anneal_artifact::Manifest {
            format_version: anneal_artifact::FORMAT_VERSION,
            id: String::new(),
            name: "m".into(),
            version: "0.1.0".into(),
            task: "binary".into(),
            files: BTreeMap::new(),
            config_sha256: "c".into(),
            data: BTreeMap::new(),
            seed: 1,
            backend: "flex".into(),
            versions: BTreeMap::new(),
            metrics: BTreeMap::new(),
        };
        m.id = m.compute_id().unwrap();
        write(&t0.join("artifact/manifest.json"), &m.to_json().unwrap());
        write(
            &dir.join("trials/0001.error.json"),
            &serde_json::to_string(&TrialFailure {
                index: 1,
                id: p.trials[1].id.clone(),
                exit_code: 3,
                message: "bad data".into(),
            })
            .unwrap(),
        );
        let board = collect(&dir).unwrap();
        let e = &board.entries[0];
        assert_eq!((e.index, e.rank, e.objective), (0, Some(1), Some(0.875)));
        assert_eq!(e.artifact_id.as_deref(), Some(m.id.as_str()));
        assert!(e.metrics["valid"]["r2"].is_nan());
        assert_eq!(board.entries[1].status_label(), "failed (exit 3: bad data)");
        assert_eq!(board.entries[2].status, TrialStatus::Pending);
        let text = board.to_json().unwrap();
        write(&dir.join("leaderboard.json"), &text);
        let back = Leaderboard::read(&dir).unwrap();
        assert_eq!(back.to_json().unwrap(), text);
        assert_eq!(back.entries[1..], board.entries[1..]);
        assert_eq!(back.counts, board.counts);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
