//! `anneal eval`: an artifact scored on a labelled file.

use anneal_pipeline::EvalRequest;

use crate::cli::EvalArgs;
use crate::output;

pub fn run(args: &EvalArgs) -> anneal_pipeline::Result<()> {
    let done = anneal_pipeline::eval(&EvalRequest {
        artifact: args.artifact.clone(),
        data: args.data.clone(),
        out: args.out.clone(),
        force: args.force,
        slices: args.slices.clone(),
        bootstrap: args.bootstrap,
        seed: args.seed,
        command: std::env::args().collect(),
    })?;
    output::eval_done(&done.out, &done.report, done.seconds);
    Ok(())
}
