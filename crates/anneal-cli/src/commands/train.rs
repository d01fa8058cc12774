//! `anneal train`: the arguments as a `TrainRequest`, progress on the
//! terminal, SIGINT/SIGTERM as stop requests, the summary at the end.

use anneal_pipeline::{CheckpointPolicy, Observer, Start, StopToken, TrainRequest, Trained};

use crate::cli::TrainArgs;
use crate::output::{self, Both, Progress};

pub fn run(args: &TrainArgs, extra: &mut dyn Observer) -> anneal_pipeline::Result<()> {
    let req = TrainRequest {
        start: match (&args.resume, &args.config) {
            (Some(run), _) => Start::Resume(run.clone()),
            (None, Some(config)) => Start::Config(config.clone()),
            (None, None) => {
                return Err(anneal_pipeline::Error::Usage(
                    "train needs --config or --resume".into(),
                ));
            }
        },
        out: args.out.clone(),
        seed: args.seed,
        backend: args.backend.map(Into::into),
        force: args.force,
        trial: args.trial,
        checkpoints: CheckpointPolicy {
            every_steps: args.checkpoint_every,
            // `seconds` in cli.rs keeps it finite and >= 0.
            min_interval: std::time::Duration::from_secs_f64(args.checkpoint_secs.clamp(0.0, 1e9)),
            keep: args.keep_checkpoints as usize,
        },
        command: std::env::args().collect(),
    };
    // SIGINT/SIGTERM: finish the step, checkpoint, exit 130/143. A second
    // SIGINT exits at once.
    let stop = StopToken::new();
    let _signals = stop.on_signals(true);
    let mut progress = Progress::new(args.quiet);
    match anneal_pipeline::train(&req, &mut Both(&mut progress, extra), &stop)? {
        Trained::Run(s) => output::train_done(
            &s.out,
            &s.report,
            &s.artifact_id,
            s.seconds,
            s.samples_per_second,
        ),
        Trained::TrialSkipped { index, id, dir } => output::trial_skipped(index, &id, &dir),
    }
    Ok(())
}
