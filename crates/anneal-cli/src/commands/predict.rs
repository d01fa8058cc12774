//! `anneal predict`: an artifact and a table in, predictions out.

use crate::cli::PredictArgs;
use crate::error::CliError;
use crate::output;

pub fn run(args: &PredictArgs) -> Result<(), CliError> {
    let device = anneal_model::device(anneal_config::Backend::Flex)?;
    let artifact = anneal_artifact::Artifact::load(&args.artifact, device)?;
    let mut frame = artifact.predict_file(&args.input)?;
    anneal_artifact::predict::write_frame(&mut frame, &args.output)?;
    output::predicted(frame.height(), &args.output, &artifact.manifest.id);
    Ok(())
}
