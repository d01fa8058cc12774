//! One module per subcommand.

mod artifact;
pub(crate) mod bench;
mod check_data;
mod config;
mod eval;
mod gate;
mod predict;
mod registry;
mod run_dir;
mod serve;
mod signals;
mod sweep;
mod train;
pub(crate) mod verify;

use crate::cli::{Cli, Command};
use crate::error::CliError;

pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Train(a) => train::run(&a),
        Command::Predict(a) => predict::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Artifact(a) => artifact::run(&a),
        Command::Registry(a) => registry::run(&a),
        Command::Serve(a) => serve::run(&a),
        Command::Gate(a) => gate::run(&a),
        Command::CheckData(a) => check_data::run(&a),
        Command::Verify(a) => verify::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Config(a) => config::run(&a),
        Command::Sweep(c) => sweep::run(&c),
    }
}
