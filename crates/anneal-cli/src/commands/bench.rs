//! `anneal bench`: a config's stages measured, as a table and JSON.

use anneal_pipeline::{BenchRequest, BenchStage};

use crate::cli::{BenchArgs, BenchStageArg};
use crate::output::{self, Progress};

pub fn run(args: &BenchArgs) -> anneal_pipeline::Result<()> {
    let req = BenchRequest {
        config: args.config.clone(),
        backend: args.backend.map(Into::into),
        epochs: args.epochs,
        stages: args
            .stages
            .iter()
            .map(|s| match s {
                BenchStageArg::Prep => BenchStage::Prep,
                BenchStageArg::Train => BenchStage::Train,
                BenchStageArg::Predict => BenchStage::Predict,
            })
            .collect(),
        predict_batch: args.predict_batch as usize,
    };
    let report = anneal_pipeline::bench(&req, &mut Progress::new(args.quiet))?;
    if let Some(out) = &args.out {
        anneal_core::fsio::atomic_write(out, report.to_json()?.as_bytes())?;
    }
    if !args.quiet || args.out.is_none() {
        output::bench(&report, args.out.as_deref());
    }
    Ok(())
}
