//! `anneal predict`: an artifact and a table in, predictions out, one
//! batch of rows at a time.

use crate::cli::PredictArgs;
use crate::output;
use anneal_pipeline::Error;

pub fn run(args: &PredictArgs) -> Result<(), Error> {
    let device = anneal_model::device(anneal_config::Backend::Flex)?;
    let dir = anneal_artifact::resolve(&args.artifact)?;
    let artifact = anneal_artifact::Artifact::load(&dir, device)?;
    let rows = artifact.predict_stream(&args.input, &args.output, args.batch_rows)?;
    output::predicted(rows as usize, &args.output, &artifact.manifest.id);
    Ok(())
}
