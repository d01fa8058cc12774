//! `gate`: a report, a policy and (optionally) a baseline in; a verdict
//! out, as files CI systems read and as the outcome.

use std::path::{Path, PathBuf};

use anneal_gate::{GateError, GateInput, Verdict, run_gate};

use crate::error::{Error, Result};

/// What to decide.
#[derive(Debug, Clone)]
pub struct GateRequest {
    /// A run folder or its report.json.
    pub report: PathBuf,
    /// The policy file [default: the run's config's [gate] section].
    pub policy: Option<PathBuf>,
    /// A run folder, report.json or registry reference to compare with.
    pub baseline: Option<String>,
    /// The labelled data to recompute paired statistics on.
    pub data: Option<PathBuf>,
    /// The registry that `@alias` baselines resolve in.
    pub registry: Option<PathBuf>,
    /// Where the verdict files go [default: the run folder].
    pub out: Option<PathBuf>,
    /// Lets a failing verdict pass, recorded with this reason.
    pub override_reason: Option<String>,
}

/// A verdict and the files it was written to.
pub struct Decided {
    pub verdict: Verdict,
    pub files: Vec<PathBuf>,
    /// The folder they went to.
    pub out: PathBuf,
}

impl Decided {
    /// A failed verdict as an error (exit 1), after it has been shown.
    pub fn check(&self) -> Result<()> {
        if self.verdict.exit_code() != 0 {
            return Err(Error::VerdictFailed {
                command: self.verdict.command.clone(),
                failed: self.verdict.counts.failed,
                total: self.verdict.checks.len(),
                files: self.files.first().unwrap_or(&self.out).clone(),
            });
        }
        Ok(())
    }
}

/// Applies the policy and writes the verdict files.
pub fn gate(req: &GateRequest) -> Result<Decided> {
    let args = req;
    check_reason(args.override_reason.as_deref())?;
    let run = anneal_gate::read_report(&args.report)?;
    let artifact_dir = run.dir.join("artifact");
    let (policy, source) = match &args.policy {
        Some(path) => {
            let p = anneal_config::load_policy(path)?;
            let gate = p.gate.ok_or_else(|| {
                GateError::Usage(format!("policy {} has no [gate] section", path.display()))
            })?;
            (gate, path.display().to_string())
        }
        None => {
            let config = artifact_dir.join("config.toml");
            let gate = std::fs::read_to_string(&config)
                .ok()
                .and_then(|text| anneal_config::parse(&text, &config).ok())
                .and_then(|l| l.config.gate)
                .ok_or_else(|| {
                    GateError::Usage(format!(
                        "no --policy given and {} has no [gate] section; pass --policy gate.toml",
                        config.display()
                    ))
                })?;
            (gate, format!("{} [gate]", config.display()))
        }
    };
    let registry = args
        .registry
        .clone()
        .unwrap_or_else(anneal_registry::Registry::default_root);
    let baseline = match &args.baseline {
        None => Err("no baseline given (--baseline)".to_string()),
        Some(b) => {
            anneal_gate::baseline::resolve(b, &registry, model_name(&artifact_dir).as_deref())?
        }
    };
    let verdict = run_gate(GateInput {
        candidate: &run,
        policy: &policy,
        baseline,
        data: args.data.as_deref(),
        override_reason: args.override_reason.clone(),
        policy_source: source,
    })?;
    let out = args.out.clone().unwrap_or_else(|| run.dir.clone());
    write(verdict, &out)
}

/// Writes the verdict's files into `out`.
pub(crate) fn write(verdict: Verdict, out: &Path) -> Result<Decided> {
    let files = verdict.write(out)?;
    Ok(Decided {
        verdict,
        files,
        out: out.to_path_buf(),
    })
}

/// An override needs a reason that says something.
pub(crate) fn check_reason(reason: Option<&str>) -> Result<()> {
    if reason.is_some_and(|r| r.trim().is_empty()) {
        return Err(GateError::Usage(
            "--override-reason needs a reason: say why a failing verdict may pass".into(),
        )
        .into());
    }
    Ok(())
}

/// The model name in the run's artifact manifest (for `@alias` baselines).
fn model_name(artifact: &Path) -> Option<String> {
    anneal_artifact::Manifest::read(artifact)
        .ok()
        .map(|m| m.name)
}
