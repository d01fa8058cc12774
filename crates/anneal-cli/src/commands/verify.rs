//! `anneal verify RUN_DIR`: re-run a recorded training and compare.

use anneal_pipeline::{Verified, VerifyRequest};

use crate::cli::VerifyArgs;
use crate::output;

pub fn run(args: &VerifyArgs) -> anneal_pipeline::Result<()> {
    let req = VerifyRequest {
        run: args.run.clone(),
        against_cpu: args.against_cpu,
        tolerance: args.tolerance,
        keep: args.keep.clone(),
    };
    let verified = anneal_pipeline::verify(&req)?;
    match &verified {
        Verified::Agreed {
            backend,
            agreements,
        } => output::verified_against_cpu(&req.run, backend, agreements, req.tolerance),
        Verified::Compared {
            compared,
            environment,
        } => output::verified(&req.run, compared, environment),
    }
    verified.check(&req)
}
