//! `anneal config`: validate a config, or print it resolved.

use crate::cli::ConfigArgs;
use crate::error::CliError;
use crate::output;

pub fn run(args: &ConfigArgs) -> Result<(), CliError> {
    let loaded = anneal_config::load(&args.config)?;
    if args.resolved {
        output::print_resolved(&loaded.resolved_toml());
    } else if args.data_path {
        output::print_resolved(&format!("{}\n", loaded.data_path().display()));
    } else {
        output::config_ok(&args.config);
    }
    Ok(())
}
