//! `anneal serve`: an artifact (folder or packed archive) behind HTTP,
//! until SIGTERM or SIGINT.

use crate::cli::ServeArgs;
use crate::error::CliError;
use crate::output;

pub fn run(args: &ServeArgs) -> Result<(), CliError> {
    let dir = anneal_artifact::resolve(&args.artifact)?;
    let device = anneal_model::device(anneal_config::Backend::Flex)?;
    let artifact = anneal_artifact::Artifact::load(&dir, device)?;
    let options = anneal_serve::Options {
        addr: args.addr.clone(),
        max_body_bytes: args.max_body_bytes,
        max_rows: args.max_rows,
        workers: 0,
    };
    anneal_serve::run(artifact, options, |l| {
        output::listening(l.addr, &l.name, &l.id);
    })?;
    Ok(())
}
