//! `anneal config`: validate a config, or print it resolved.

use crate::cli::ConfigArgs;
use crate::output;
use anneal_pipeline::Error;

pub fn run(args: &ConfigArgs) -> Result<(), Error> {
    let mut loaded = anneal_config::load(&args.config)?;
    if args.resolved {
        // The epoch budget and the batch size follow the training split's
        // size, so the data stage runs to show what `train` would use. A
        // streaming config's data may not fit in memory: it is not read,
        // and the output says so.
        if loaded.config.data.streaming {
            output::print_resolved(&format!(
                "# train.epochs and train.batch_size, when not set here, follow the training split's size at train time\n{}",
                loaded.resolved_toml()
            ));
            return Ok(());
        }
        let data = anneal_data::prepare(&loaded, loaded.config.train.seed)?;
        anneal_pipeline::setup::fit_to_data(&mut loaded, &data)?;
        let note = anneal_pipeline::setup::encoding_note(&loaded, &data.preprocessor);
        output::print_resolved(&format!("{}{note}", loaded.resolved_toml()));
    } else if args.data_path {
        output::print_resolved(&format!("{}\n", loaded.data_path().display()));
    } else {
        output::config_ok(&args.config);
    }
    Ok(())
}
