//! The `anneal` command line: argument parsing (`cli.rs`), one module per
//! subcommand under `commands/` that turns arguments into a call of
//! `anneal-pipeline` (or of the crate that owns the job), and everything
//! printed in `output.rs`.

mod cli;
mod commands;
mod error;
mod output;

use std::process::ExitCode;

pub use error::CliError;

use anneal_pipeline::{Observer, Silent};
use clap::Parser;

/// Runs one command line (`args[0]` is the program name) and returns its
/// outcome instead of exiting: for benches and embedding.
pub fn run_from(args: Vec<String>) -> Result<(), CliError> {
    let cli =
        cli::Cli::try_parse_from(args).map_err(|e| anneal_pipeline::Error::Usage(e.to_string()))?;
    commands::run(cli, &mut Silent)
}

/// Runs the command line and exits with the code of the failure's class
/// (`anneal_core::failure::EXIT_CODES`).
pub fn main() -> ExitCode {
    main_with(&mut Silent)
}

/// `main`, with `extra` hearing training's progress and steps as well: a
/// test driver's hooks (tests/drivers), never the product's.
pub fn main_with(extra: &mut dyn Observer) -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // Every command but the server: one heap, so that a large data
    // stage's freed memory is not held in several (see the function).
    if !matches!(args.command, cli::Command::Serve(_)) {
        anneal_data::memory::use_one_heap();
    }
    match commands::run(args, extra) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&e);
            ExitCode::from(e.failure().exit_code())
        }
    }
}
