//! `anneal check-data`: new data against the artifact's training profile.

use anneal_pipeline::CheckDataRequest;

use crate::cli::CheckDataArgs;
use crate::output;

pub fn run(args: &CheckDataArgs) -> anneal_pipeline::Result<()> {
    let decided = anneal_pipeline::check_data(&CheckDataRequest {
        artifact: args.artifact.clone(),
        data: args.data.clone(),
        policy: args.policy.clone(),
        out: args.out.clone(),
        override_reason: args.override_reason.clone(),
    })?;
    output::verdict(&decided.verdict, &decided.files);
    decided.check()
}
