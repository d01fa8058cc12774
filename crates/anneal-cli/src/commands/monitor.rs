//! `anneal monitor`: a served model's log and late labels, per window.

use anneal_pipeline::MonitorRequest;

use crate::cli::MonitorArgs;
use crate::output;

pub fn run(args: &MonitorArgs) -> anneal_pipeline::Result<()> {
    let monitored = anneal_pipeline::monitor(&MonitorRequest {
        artifact: args.artifact.clone(),
        registry: args.registry.clone(),
        log: args.log.clone(),
        data: args.data.clone(),
        labels: args.labels.clone(),
        window: args.window.clone(),
        policy: args.policy.clone(),
        out: args.out.clone(),
        bootstrap: args.bootstrap,
        override_reason: args.override_reason.clone(),
    })?;
    output::monitored(&monitored);
    monitored.check()
}
