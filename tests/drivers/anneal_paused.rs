//! The `anneal` command line with one test hook, for the kill-and-resume
//! tests (tests/resume.rs, tests/sweep.rs): with ANNEAL_TEST_PAUSE_AT_STEP=N,
//! training holds the world after optimizer step N, once its checkpoint (if
//! one was due) is written, and says so by creating `.NAME.partial.paused`
//! beside the run's staging folder. It stays there until a stop is
//! requested (SIGINT/SIGTERM: it then checkpoints and exits as `anneal`
//! does) or it is killed. The product binary has no such hook: this
//! driver adds it through the pipeline's `Observer`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anneal_pipeline::{Observer, StopToken};

struct PauseAt(Option<u64>);

impl Observer for PauseAt {
    fn step(&mut self, step: u64, staging: &Path, stop: &StopToken) {
        if self.0 != Some(step) {
            return;
        }
        let marker = staging.with_extension("partial.paused");
        std::fs::write(&marker, step.to_string()).expect("write the pause marker");
        while !stop.is_requested() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn main() -> ExitCode {
    let at = std::env::var("ANNEAL_TEST_PAUSE_AT_STEP")
        .ok()
        .and_then(|v| v.parse().ok());
    anneal_cli::main_with(&mut PauseAt(at))
}
