//! `anneal export onnx`: an artifact as one ONNX model.

use crate::cli::ExportCommand;
use crate::output;
use anneal_pipeline::{Error, ExportOnnxRequest};

pub fn run(cmd: &ExportCommand) -> Result<(), Error> {
    match cmd {
        ExportCommand::Onnx { artifact, out } => {
            let exported = anneal_pipeline::export_onnx(&ExportOnnxRequest {
                artifact: artifact.clone(),
                out: out.clone(),
            })?;
            output::exported_onnx(&exported);
            Ok(())
        }
    }
}
