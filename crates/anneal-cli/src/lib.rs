//! The `anneal` command line: argument parsing, one module per subcommand
//! under `commands/`, and terminal output kept in `output.rs`.

mod cli;
mod commands;
mod error;
mod output;

use std::process::ExitCode;

use clap::Parser;

pub use error::CliError;

/// Runs one command line (`args[0]` is the program name) and returns its
/// outcome instead of exiting: for benches and embedding.
pub fn run_from(args: Vec<String>) -> Result<(), CliError> {
    let cli = cli::Cli::try_parse_from(args).map_err(|e| CliError::Io(e.to_string()))?;
    commands::run(cli)
}

/// Runs the command line and maps the outcome to the documented exit codes:
/// 0 success, 1 a run that failed, 2 a usage or config error, 3 a data or
/// artifact error.
pub fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match commands::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}
