//! `anneal sweep plan|run|collect`.

use anneal_pipeline::{StopToken, SweepRequest};

use crate::cli::SweepCommand;
use crate::output;

pub fn run(cmd: &SweepCommand) -> anneal_pipeline::Result<()> {
    match cmd {
        SweepCommand::Plan { config, out } => {
            let (dir, plan) = anneal_pipeline::sweep::plan(config, out.as_deref())?;
            output::sweep_planned(&dir, &plan);
            Ok(())
        }
        SweepCommand::Run {
            config,
            out,
            parallel,
            backend,
        } => {
            let req = SweepRequest {
                config: config.clone(),
                out: out.clone(),
                parallel: *parallel as usize,
                backend: backend.map(Into::into),
                exe: std::env::current_exe().map_err(|e| {
                    anneal_pipeline::Error::Io(format!(
                        "cannot find the anneal binary to run trials: {e}"
                    ))
                })?,
            };
            // SIGINT/SIGTERM: stop starting trials and pass the signal on;
            // each running trial checkpoints and exits, and the same
            // command resumes.
            let stop = StopToken::new();
            let signals = stop.on_signals(false);
            let run = anneal_pipeline::run_sweep(&req, &mut output::SweepProgress, &stop);
            drop(signals);
            let run = run?;
            output::leaderboard(&run.dir, &run.board);
            output::sweep_done(run.seconds);
            run.failure.map_or(Ok(()), Err)
        }
        SweepCommand::Collect { dir } => {
            let board = anneal_pipeline::sweep::collect(dir)?;
            output::leaderboard(dir, &board);
            anneal_pipeline::sweep::require_finished(dir, &board)
        }
    }
}
