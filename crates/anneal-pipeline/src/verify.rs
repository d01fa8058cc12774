//! `verify RUN_DIR`: re-derive a run bit for bit. The config stored in
//! the run's artifact is trained again (resolved against the original
//! config's folder, on the data file the run recorded) into a scratch
//! folder, and every output's hash is compared with the recorded one. A
//! GPU-trained run is compared with a CPU retraining metric by metric,
//! within a tolerance, instead.

use std::path::{Path, PathBuf};

use anneal_config::Backend;
use anneal_core::hash;
use anneal_report::Report;
use anneal_report::write::Metrics;

use crate::error::{Error, Result};
use crate::observer::Silent;
use crate::stop::StopToken;
use crate::train::{CheckpointPolicy, Job};

/// What to verify, and how.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    pub run: PathBuf,
    /// Retrain on the CPU and compare metrics within `tolerance`.
    pub against_cpu: bool,
    pub tolerance: f64,
    /// Keep the re-run here instead of a scratch folder that is removed.
    pub keep: Option<PathBuf>,
}

/// The re-run beside the recorded run.
pub enum Verified {
    /// `against_cpu`: every metric, and the recorded run's backend.
    Agreed {
        backend: String,
        agreements: Vec<Agreement>,
    },
    /// Every hash, and whether bitwise equality is promised here.
    Compared {
        compared: Vec<Compared>,
        environment: String,
    },
}

impl Verified {
    /// The verdict: an error naming how many items differ, if any do.
    pub fn check(&self, req: &VerifyRequest) -> Result<()> {
        match self {
            Verified::Agreed { agreements, .. } => {
                let differ = agreements.iter().filter(|m| !m.within).count();
                if differ > 0 {
                    return Err(Error::VerifyDisagrees {
                        run: req.run.clone(),
                        differ,
                        total: agreements.len(),
                        tolerance: req.tolerance,
                    });
                }
            }
            Verified::Compared { compared, .. } => {
                let differ = compared.iter().filter(|c| !c.same()).count();
                if differ > 0 {
                    return Err(Error::VerifyDiffers {
                        run: req.run.clone(),
                        differ,
                        total: compared.len(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The files whose bytes must come out the same (run.json holds wall-clock
/// times; gate and check-data outputs are not the run's).
const COMPARED: [&str; 9] = [
    "artifact/manifest.json",
    "artifact/model.safetensors",
    "artifact/preprocess.json",
    "artifact/profile.json",
    "report.json",
    "metrics.json",
    "metrics.csv",
    "predictions.csv",
    "report.md",
];

/// One compared item.
pub struct Compared {
    pub what: String,
    pub recorded: Option<String>,
    pub rerun: Option<String>,
}

impl Compared {
    pub fn same(&self) -> bool {
        self.recorded == self.rerun
    }
}

/// Re-runs the training recorded in `req.run` and compares.
pub fn verify(req: &VerifyRequest) -> Result<Verified> {
    let run = &req.run;
    let config_path = recorded_config(run)?;
    let stored = run.join("artifact/config.toml");
    let text = std::fs::read_to_string(&stored)
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", stored.display())))?;
    let report = Report::read(&run.join("report.json"))?;

    let scratch = match &req.keep {
        Some(p) => p.clone(),
        None => std::env::temp_dir().join(format!("anneal-verify-{}", std::process::id())),
    };
    let out = scratch.join("run");
    let _ = std::fs::remove_dir_all(&out);
    let job = Job {
        config: config_path,
        config_text: Some(text),
        out: out.clone(),
        seed: None,
        backend: req.against_cpu.then_some(Backend::Flex),
        force: true,
        resuming: false,
        trial: None,
        checkpoints: CheckpointPolicy {
            every_steps: 0,
            min_interval: std::time::Duration::from_secs(1_000_000_000),
            keep: 1,
        },
        command: Vec::new(),
    };
    // Everything is read from the re-run before its folder goes.
    let outcome = crate::train::run(&job, &mut Silent, &StopToken::new()).and_then(|_| {
        if req.against_cpu {
            Ok(Verified::Agreed {
                backend: report.reproducibility.backend.clone(),
                agreements: agreement(run, &out, req.tolerance)?,
            })
        } else {
            Ok(Verified::Compared {
                compared: compare(run, &out),
                environment: environment(&report, &out),
            })
        }
    });
    if req.keep.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    outcome
}

/// The config a finished run was trained from, as its run.json records.
fn recorded_config(run: &Path) -> Result<PathBuf> {
    let run_json = anneal_report::RunInfo::read(&run.join("run.json"))
        .ok()
        .ok_or_else(|| {
            Error::Usage(format!(
                "{} is not a finished run folder of `anneal train` (no readable run.json)",
                run.display()
            ))
        })?;
    run_json
        .config_path
        .map(PathBuf::from)
        .ok_or_else(|| {
            Error::Usage(format!(
                "{}: run.json does not record the config's path (a run made by an older anneal); retrain it to make it verifiable",
                run.display()
            ))
        })
}

/// One metric of the run beside the CPU-trained model's.
pub struct Agreement {
    /// `split/metric`, e.g. `test/accuracy`.
    pub metric: String,
    pub recorded: f64,
    pub cpu: f64,
    pub within: bool,
}

/// Compares every metric in the two runs' metrics.json: a metric agrees
/// when |recorded - cpu| <= tolerance * max(1, |recorded|, |cpu|). A
/// metric that is NaN in both agrees; one present in only one run does not.
fn agreement(recorded: &Path, cpu: &Path, tolerance: f64) -> Result<Vec<Agreement>> {
    let read = |dir: &Path| anneal_report::write::read_metrics(&dir.join("metrics.json"));
    let (a, b) = (&read(recorded)?, &read(cpu)?);
    let mut names = std::collections::BTreeSet::new();
    for m in [a, b] {
        for (split, metrics) in m {
            for k in metrics.keys() {
                names.insert((split.clone(), k.clone()));
            }
        }
    }
    Ok(names
        .into_iter()
        .map(|(split, k)| {
            let get = |m: &Metrics| m.get(&split).and_then(|s| s.get(&k)).copied();
            let (r, c) = (get(a), get(b));
            let within = match (r, c) {
                (Some(r), Some(c)) if r.is_nan() && c.is_nan() => true,
                (Some(r), Some(c)) => (r - c).abs() <= tolerance * 1f64.max(r.abs()).max(c.abs()),
                _ => false,
            };
            Agreement {
                metric: format!("{split}/{k}"),
                recorded: r.unwrap_or(f64::NAN),
                cpu: c.unwrap_or(f64::NAN),
                within,
            }
        })
        .collect())
}

fn file_hash(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|b| hash::sha256_hex(&b))
}

fn compare(recorded: &Path, rerun: &Path) -> Vec<Compared> {
    let id = |dir: &Path| -> Option<String> {
        let m = anneal_artifact::Manifest::read(&dir.join("artifact")).ok()?;
        Some(m.id).filter(|id| !id.is_empty())
    };
    let data = |dir: &Path| -> Option<String> {
        let r = Report::read(&dir.join("report.json")).ok()?;
        Some(r.data.source.sha256)
    };
    let mut out = vec![
        Compared {
            what: "data file".into(),
            recorded: data(recorded),
            rerun: data(rerun),
        },
        Compared {
            what: "artifact id".into(),
            recorded: id(recorded),
            rerun: id(rerun),
        },
    ];
    for f in COMPARED {
        out.push(Compared {
            what: f.to_string(),
            recorded: file_hash(&recorded.join(f)),
            rerun: file_hash(&rerun.join(f)),
        });
    }
    out
}

/// Whether bitwise equality is promised: the same backend guarantee, CPU
/// features and library versions as recorded. Returns one line.
fn environment(report: &Report, rerun: &Path) -> String {
    let Ok(now) = Report::read(&rerun.join("report.json")) else {
        return "the re-run wrote no report".into();
    };
    let (was, is) = (&report.reproducibility, &now.reproducibility);
    let mut changed = Vec::new();
    for (what, same) in [
        ("CPU architecture", was.cpu.arch == is.cpu.arch),
        ("CPU features", was.cpu.features == is.cpu.features),
        ("library versions", was.versions == is.versions),
        ("backend", was.backend == is.backend),
    ] {
        if !same {
            changed.push(what);
        }
    }
    let reproducible = was.bit_reproducible;
    if !reproducible {
        "the recorded backend is not bit-reproducible: only close agreement is expected".into()
    } else if changed.is_empty() {
        "same CPU features, versions and backend as recorded: bitwise equality is expected".into()
    } else {
        format!(
            "{} differ from the recorded ones: bitwise equality is not promised",
            changed.join(", ")
        )
    }
}
