//! `anneal gate`: a report, a policy and (optionally) a baseline in; a
//! verdict out, as files CI systems read and as the exit code.

use std::path::{Path, PathBuf};

use anneal_gate::{GateError, GateInput, run_gate};

use crate::cli::GateArgs;
use crate::error::CliError;
use crate::output;

pub fn run(args: &GateArgs) -> Result<(), CliError> {
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
    finish(&verdict, &out)
}

/// Writes the verdict's files, prints it, and turns a failed verdict into
/// exit code 1.
pub fn finish(verdict: &anneal_gate::Verdict, out: &Path) -> Result<(), CliError> {
    let files = verdict.write(out)?;
    output::verdict(verdict, &files);
    if verdict.exit_code() != 0 {
        return Err(CliError::VerdictFailed {
            command: verdict.command.clone(),
            failed: verdict.counts.failed,
            total: verdict.checks.len(),
            files: files.first().cloned().unwrap_or_else(|| PathBuf::from(out)),
        });
    }
    Ok(())
}

pub fn check_reason(reason: Option<&str>) -> Result<(), CliError> {
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
