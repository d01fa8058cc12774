//! `anneal serve`: one verified artifact behind HTTP/1.1 (axum + tokio).
//!
//! Two request vocabularies reach the same prediction code as `anneal
//! predict` ([`anneal_artifact::Artifact::predict_frame`]), so a row gets
//! the same answer over HTTP as from a file:
//!
//! - the Open Inference Protocol (KServe v2): `GET /v2/health/live`,
//!   `GET /v2/health/ready`, `GET /v2` (server metadata),
//!   `GET /v2/models/{name}` (model metadata: inputs `FP64` for numeric
//!   columns, `BYTES` for categorical ones), `GET /v2/models/{name}/ready`,
//!   `POST /v2/models/{name}/infer` (also under `/versions/{version}`, where
//!   the version is the artifact id or its semver). A request holds one
//!   tensor per column, `shape` `[n]` or `[n, 1]`:
//!   `{"id"?, "inputs": [{"name", "shape", "datatype", "data"}], "outputs"?}`;
//!   the answer `{"model_name", "model_version" (the artifact id), "id"?,
//!   "outputs": [{"name": "prediction", "datatype": "BYTES" (class label) or
//!   "FP64" (regression), "shape": [n], "data"}, {"name": "proba_<label>",
//!   "datatype": "FP64", ...}]}`.
//! - the MLflow scoring server: `POST /invocations` with
//!   `{"dataframe_split": {"columns": [...], "data": [[...], ...]}}` or
//!   `{"dataframe_records": [{...}, ...]}`, answering
//!   `{"predictions": [...]}`: for a classifier one object per row,
//!   `{"prediction": <label as in the data>, "proba_<label>": p, ...}` (what
//!   MLflow answers for a model returning a data frame); for a regression
//!   one number per row (what it answers for a model returning a vector).
//!   `GET /ping` answers 200.
//!
//! `GET /metrics` is the Prometheus text exposition. Unless turned off,
//! it includes drift gauges: every input column and the predictions over a
//! sliding window against the artifact's training profile, whose checks
//! `GET /v1/monitor` answers as JSON; with a log folder, every request's
//! rows and predictions go to the inference log, off the request path
//! (see `monitor`).
//!
//! Every request is validated against the model's input columns (those of
//! `signature.json`, all required) before anything is predicted; a refusal
//! is 400 `{"error": "..."}` naming the column and, for a bad value, the
//! row (1-based). Columns the model does not use are ignored. `null` or `""`
//! is a missing value (imputed as fitted); a category never seen in
//! training goes to the unknown slot; NaN and infinities are refused.
//!
//! Predictions run on tokio's blocking pool, at most one per CPU at once
//! (`workers`), sharing one loaded artifact (it is `Send + Sync`: no lock).
//!
//! Hostile or broken clients are bounded (see [`Options`]): a connection
//! cap, header / idle / body / request timeouts, a bounded queue of
//! admitted requests (503 with `Retry-After` when full; admission comes
//! before the body is read, so bodies in memory are bounded too), counts
//! declared by the client checked against the limits before anything is
//! sized from them, a Host allow-list and an optional bearer token, JSON
//! (or CSV) content types only, and a guard that turns a panic into a
//! generic 500. No error answer carries a panic's text or a server path.
//!
//! SIGTERM or SIGINT stops accepting connections, lets the requests in
//! flight finish (for at most [`DRAIN_LIMIT`]) and returns `Ok`, so the
//! process exits 0.

mod binary;
mod conn;
mod guard;
mod infer;
pub mod metrics;
mod monitor;
pub mod request;
pub mod schema;
mod server;

pub use anneal_monitor::window::WindowSpec;
pub use server::{DRAIN_LIMIT, Listening, LogOptions, MonitorOptions, Options, defaults, run};

/// Why the server could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("--addr {addr}: {reason}")]
    Addr { addr: String, reason: String },
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
    #[error("{0}")]
    Options(String),
    #[error("the server failed: {0}")]
    Runtime(String),
}

impl ServeError {
    /// A bad address or option is the command line's fault (usage); a
    /// port that cannot be bound or a server that fails is a run failure.
    pub fn failure(&self) -> anneal_core::Failure {
        match self {
            ServeError::Addr { .. } | ServeError::Options(_) => anneal_core::Failure::Usage,
            ServeError::Bind { .. } | ServeError::Runtime(_) => anneal_core::Failure::RunFailed,
        }
    }
}

#[cfg(test)]
#[allow(dead_code)]
fn artifact_is_shared_across_threads() {
    fn check<T: Send + Sync>() {}
    check::<anneal_artifact::Artifact>();
}
