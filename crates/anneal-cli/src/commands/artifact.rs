//! `anneal artifact pack|verify|inspect`: reproducible archives, a full
//! integrity check that names every problem, and a readable summary.

use anneal_artifact::{ArtifactError, inspect, pack, verify};

use crate::cli::ArtifactCommand;
use crate::output;
use anneal_pipeline::Error;

pub fn run(cmd: &ArtifactCommand) -> Result<(), Error> {
    match cmd {
        ArtifactCommand::Pack { artifact, out } => {
            let packed = pack::pack_artifact(artifact, out)?;
            output::artifact_packed(&packed, out);
            Ok(())
        }
        ArtifactCommand::Verify { artifact } => {
            let report = verify::verify(artifact)?;
            if report.is_ok() {
                output::artifact_verified(&report);
                return Ok(());
            }
            output::artifact_findings(&report);
            let n = report.findings.len();
            let mut files: Vec<&str> = report.findings.iter().map(|f| f.file.as_str()).collect();
            files.dedup();
            Err(ArtifactError::NotVerified {
                path: artifact.clone(),
                summary: format!(
                    "{n} problem{} ({})",
                    if n == 1 { "" } else { "s" },
                    files.join(", ")
                ),
            }
            .into())
        }
        ArtifactCommand::Inspect { artifact, json } => {
            let summary = inspect::inspect(artifact)?;
            if *json {
                output::artifact_summary_json(&anneal_core::json::to_canonical_string(
                    &summary, "inspect",
                )?);
            } else {
                output::artifact_summary(&summary);
            }
            Ok(())
        }
    }
}
