//! One module per subcommand: arguments in, a library call, output out.

mod artifact;
mod bench;
mod check_data;
mod config;
mod eval;
mod export;
mod gate;
mod monitor;
mod predict;
mod registry;
mod serve;
mod sweep;
mod train;
mod verify;

use anneal_pipeline::Observer;

use crate::cli::{Cli, Command};
use crate::error::CliError;

/// Runs one parsed command line. `extra` hears `train`'s progress too.
pub fn run(cli: Cli, extra: &mut dyn Observer) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(a) => serve::run(&a),
        Command::Train(a) => Ok(train::run(&a, extra)?),
        Command::Predict(a) => Ok(predict::run(&a)?),
        Command::Eval(a) => Ok(eval::run(&a)?),
        Command::Artifact(a) => Ok(artifact::run(&a)?),
        Command::Export(a) => Ok(export::run(&a)?),
        Command::Registry(a) => Ok(registry::run(&a)?),
        Command::Gate(a) => Ok(gate::run(&a)?),
        Command::CheckData(a) => Ok(check_data::run(&a)?),
        Command::Monitor(a) => Ok(monitor::run(&a)?),
        Command::Verify(a) => Ok(verify::run(&a)?),
        Command::Bench(a) => Ok(bench::run(&a)?),
        Command::Config(a) => Ok(config::run(&a)?),
        Command::Sweep(c) => Ok(sweep::run(&c)?),
    }
}
