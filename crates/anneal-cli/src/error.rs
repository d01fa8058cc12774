//! The CLI's failures: the pipeline's, and those of `anneal serve`, a
//! front-end of its own.

use anneal_core::Failure;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Pipeline(#[from] anneal_pipeline::Error),
    #[error(transparent)]
    Serve(#[from] anneal_serve::ServeError),
}

impl CliError {
    pub fn failure(&self) -> Failure {
        match self {
            CliError::Pipeline(e) => e.failure(),
            CliError::Serve(e) => e.failure(),
        }
    }
}
