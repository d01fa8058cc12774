//! Everything a user can do with anneal, as library calls that every
//! front-end (the CLI, a server, the benches, the tests) makes the same
//! way: train (and resume), evaluate an artifact, verify a run, bench a
//! config, run a sweep, gate a report and check data.
//!
//! Progress goes to an [`Observer`], stop requests come through a
//! [`StopToken`]; nothing here prints, parses a command line or reads
//! the environment for hooks. Every error is an [`Error`] whose
//! `failure()` says its class (`anneal_core::Failure`) and exit code.

pub mod bench;
pub mod check_data;
pub mod error;
pub mod eval;
pub mod export;
pub mod gate;
pub mod monitor;
pub mod observer;
pub mod run_dir;
pub mod setup;
pub mod stop;
pub mod sweep;
pub mod train;
pub mod verify;

pub use bench::{BenchReport, BenchRequest, BenchStage, bench};
pub use check_data::{CheckDataRequest, check_data};
pub use error::{Error, Result};
pub use eval::{EvalRequest, EvalSummary, eval};
pub use export::{ExportOnnxRequest, Exported, export_onnx};
pub use gate::{Decided, GateRequest, gate};
pub use monitor::{MonitorRequest, Monitored, monitor};
pub use observer::{Observer, Silent};
pub use stop::{SignalGuard, StopToken};
pub use sweep::{SweepObserver, SweepRequest, SweepRun, run_sweep};
pub use train::{CheckpointPolicy, RunSummary, Start, TrainRequest, Trained, train};
pub use verify::{Verified, VerifyRequest, verify};
