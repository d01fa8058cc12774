//! `anneal gate`: a report judged by a policy, against a baseline.

use anneal_pipeline::GateRequest;

use crate::cli::GateArgs;
use crate::output;

pub fn run(args: &GateArgs) -> anneal_pipeline::Result<()> {
    let decided = anneal_pipeline::gate(&GateRequest {
        report: args.report.clone(),
        policy: args.policy.clone(),
        baseline: args.baseline.clone(),
        data: args.data.clone(),
        registry: args.registry.clone(),
        out: args.out.clone(),
        override_reason: args.override_reason.clone(),
    })?;
    output::verdict(&decided.verdict, &decided.files);
    decided.check()
}
