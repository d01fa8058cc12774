//! The HTTP server: routes, handlers, the metrics middleware and graceful
//! shutdown.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anneal_artifact::Artifact;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::ServeError;
use crate::infer::{self, MlflowPredictions, V2Output};
use crate::metrics::Metrics;
use crate::request::{self, Invalid};
use crate::schema::{Schema, mlflow_type};

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// `host:port` to listen on (`127.0.0.1:0` picks a free port).
    pub addr: String,
    /// Largest accepted request body (413 above it).
    pub max_body_bytes: usize,
    /// Largest number of rows in one request (400 above it).
    pub max_rows: usize,
    /// Predictions run at once (on the blocking pool); 0: one per CPU.
    pub workers: usize,
}

/// What the server says about itself once it listens.
#[derive(Debug, Clone)]
pub struct Listening {
    pub addr: SocketAddr,
    pub name: String,
    pub id: String,
}

struct App {
    artifact: Artifact,
    schema: Schema,
    name: String,
    id: String,
    max_rows: usize,
    metrics: Metrics,
    /// Bounds the predictions running at once.
    permits: Arc<Semaphore>,
}

/// A JSON error answer: `{"error": "..."}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &json!({ "error": self.message }))
    }
}

fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => json_bytes(status, bytes),
        Err(e) => ApiError::internal(format!("cannot write the response: {e}")).into_response(),
    }
}

fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// Serves `artifact` until SIGTERM or SIGINT, then finishes the requests in
/// flight and returns. `on_listening` is called once the socket is bound.
pub fn run(
    artifact: Artifact,
    options: Options,
    on_listening: impl FnOnce(&Listening),
) -> Result<(), ServeError> {
    if options.max_rows == 0 {
        return Err(ServeError::Options(
            "--max-rows must be at least 1".to_string(),
        ));
    }
    if options.max_body_bytes == 0 {
        return Err(ServeError::Options(
            "--max-body-bytes must be at least 1".to_string(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("anneal-serve")
        .build()
        .map_err(|e| ServeError::Runtime(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(serve(artifact, options, on_listening));
    // Predictions still running after the drain limit are not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// How long a shutdown waits for the requests in flight (Kubernetes sends
/// SIGKILL 30 s after SIGTERM by default).
pub const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(25);

async fn serve(
    artifact: Artifact,
    options: Options,
    on_listening: impl FnOnce(&Listening),
) -> Result<(), ServeError> {
    // Signal handlers are installed before the address is announced, so a
    // signal sent as soon as the line is read already shuts down gracefully.
    let shutdown = Shutdown::install()?;
    let listener = tokio::net::TcpListener::bind(options.addr.as_str())
        .await
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidInput {
                ServeError::Addr {
                    addr: options.addr.clone(),
                    reason: e.to_string(),
                }
            } else {
                ServeError::Bind {
                    addr: options.addr.clone(),
                    reason: e.to_string(),
                }
            }
        })?;
    let addr = listener.local_addr().map_err(|e| ServeError::Bind {
        addr: options.addr.clone(),
        reason: e.to_string(),
    })?;
    let workers = if options.workers > 0 {
        options.workers
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    let name = artifact.manifest.name.clone();
    let id = artifact.manifest.id.clone();
    let app = Arc::new(App {
        schema: Schema::of(&artifact.preprocessor),
        metrics: Metrics::new(&name, &id),
        name: name.clone(),
        id: id.clone(),
        max_rows: options.max_rows,
        permits: Arc::new(Semaphore::new(workers)),
        artifact,
    });
    let router = router(app, options.max_body_bytes);
    on_listening(&Listening { addr, name, id });
    let listener = listener.tap_io(|tcp| {
        // Small JSON answers go out at once rather than wait for an ACK.
        let _ = tcp.set_nodelay(true);
    });
    let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.wait().await;
        let _ = stopping_tx.send(true);
    };
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(signal)
        .into_future();
    let drain_limit = async move {
        let _ = stopping.wait_for(|s| *s).await;
        tokio::time::sleep(DRAIN_LIMIT).await;
    };
    tokio::select! {
        r = server => r.map_err(|e| ServeError::Runtime(e.to_string()))?,
        () = drain_limit => eprintln!(
            "anneal serve: requests still open after {} s; closing them",
            DRAIN_LIMIT.as_secs()
        ),
    }
    eprintln!("anneal serve: stopped");
    Ok(())
}

fn router(app: Arc<App>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2", get(server_metadata))
        .route("/v2/models/{name}", get(model_metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route("/v2/models/{name}/infer", post(v2_infer))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(model_metadata_version),
        )
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(model_ready_version),
        )
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(v2_infer_version),
        )
        .route("/invocations", post(invocations))
        .route("/ping", get(ping))
        .route("/health", get(ping))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn_with_state(app.clone(), track))
        .with_state(app)
}

/// Counts every answer by route template and status, and times it.
async fn track(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let start = Instant::now();
    let response = next.run(req).await;
    app.metrics
        .observe(&route, response.status().as_u16(), start.elapsed());
    response
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {}", uri.path()),
    )
}

async fn live() -> Response {
    json_response(StatusCode::OK, &json!({ "live": true }))
}

async fn ready() -> Response {
    // The artifact is loaded and verified before the socket is bound.
    json_response(StatusCode::OK, &json!({ "ready": true }))
}

async fn ping() -> StatusCode {
    StatusCode::OK
}

async fn server_metadata() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "name": "anneal",
            "version": anneal_core::versions::ANNEAL,
            "extensions": [],
        }),
    )
}

impl App {
    /// 404 unless `name` (and `version`, when given) is the served model.
    fn check_model(&self, name: &str, version: Option<&str>) -> Result<(), ApiError> {
        if name != self.name {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no model {name:?}; this server serves {:?}", self.name),
            ));
        }
        if let Some(v) = version
            && v != self.id
            && v != self.artifact.manifest.version
        {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "model {name:?} has no version {v:?}; it is version {} (id {})",
                    self.artifact.manifest.version, self.id
                ),
            ));
        }
        Ok(())
    }

    fn metadata(&self) -> Value {
        let inputs: Vec<Value> = self
            .schema
            .inputs
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "datatype": c.kind.datatype(),
                    "shape": [-1],
                    "parameters": {
                        "kind": c.kind.name(),
                        "type": mlflow_type(c.source_type),
                        "required": true,
                    },
                })
            })
            .collect();
        let outputs: Vec<Value> = self
            .schema
            .outputs
            .iter()
            .map(|o| json!({ "name": o.name, "datatype": o.datatype, "shape": [-1] }))
            .collect();
        json!({
            "name": self.name,
            "versions": [self.id],
            "platform": "anneal",
            "inputs": inputs,
            "outputs": outputs,
            "parameters": {
                "task": self.artifact.manifest.task,
                "version": self.artifact.manifest.version,
            },
        })
    }

    fn invalid(&self, e: Invalid) -> ApiError {
        self.metrics.validation_failure();
        ApiError::new(StatusCode::BAD_REQUEST, e.0)
    }

    /// Runs `work` on the blocking pool, at most `workers` at once.
    async fn blocking<F>(self: &Arc<Self>, work: F) -> Result<Vec<u8>, ApiError>
    where
        F: FnOnce(&App) -> Result<Vec<u8>, ApiError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&app)
        })
        .await
        .map_err(|e| ApiError::internal(format!("prediction failed: {e}")))?
    }
}

async fn model_metadata(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    match app.check_model(&name, None) {
        Ok(()) => json_response(StatusCode::OK, &app.metadata()),
        Err(e) => e.into_response(),
    }
}

async fn model_metadata_version(
    State(app): State<Arc<App>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    match app.check_model(&name, Some(&version)) {
        Ok(()) => json_response(StatusCode::OK, &app.metadata()),
        Err(e) => e.into_response(),
    }
}

async fn model_ready(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    match app.check_model(&name, None) {
        Ok(()) => json_response(StatusCode::OK, &json!({ "name": name, "ready": true })),
        Err(e) => e.into_response(),
    }
}

async fn model_ready_version(
    State(app): State<Arc<App>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    match app.check_model(&name, Some(&version)) {
        Ok(()) => json_response(StatusCode::OK, &json!({ "name": name, "ready": true })),
        Err(e) => e.into_response(),
    }
}

/// A body the server could not read: too large (413) or cut short.
fn body_error(r: BytesRejection) -> ApiError {
    let status = r.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            status,
            "the request body is larger than the limit (--max-body-bytes)",
        );
    }
    ApiError::new(status, r.body_text())
}

#[derive(Serialize)]
struct V2Response<'a> {
    model_name: &'a str,
    model_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    outputs: Vec<V2Output<'a>>,
}

async fn v2_infer(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    infer_v2(app, &name, None, body).await
}

async fn v2_infer_version(
    State(app): State<Arc<App>>,
    Path((name, version)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    infer_v2(app, &name, Some(&version), body).await
}

async fn infer_v2(
    app: Arc<App>,
    name: &str,
    version: Option<&str>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(e) = app.check_model(name, version) {
        return e.into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(r) => return body_error(r).into_response(),
    };
    let result = app
        .blocking(move |app| {
            let req =
                request::parse_v2(&body, &app.schema, app.max_rows).map_err(|e| app.invalid(e))?;
            let rows = req.batch.rows;
            let p = infer::predict(&app.artifact, &app.schema, req.batch)
                .map_err(ApiError::internal)?;
            app.metrics.rows_predicted(rows);
            let response = V2Response {
                model_name: &app.name,
                model_version: &app.id,
                id: req.id.as_ref(),
                outputs: p.v2_outputs(req.outputs.as_deref()),
            };
            serde_json::to_vec(&response).map_err(|e| ApiError::internal(e.to_string()))
        })
        .await;
    match result {
        Ok(bytes) => json_bytes(StatusCode::OK, bytes),
        Err(e) => e.into_response(),
    }
}

/// Whether a Content-Type names JSON (`application/json`, with parameters
/// or a `+json` suffix).
fn is_json(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

async fn invocations(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        if !is_json(ct) {
            return ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported Content-Type {ct:?}: send application/json"),
            )
            .into_response();
        }
    }
    let body = match body {
        Ok(b) => b,
        Err(r) => return body_error(r).into_response(),
    };
    let result = app
        .blocking(move |app| {
            let batch = request::parse_invocations(&body, &app.schema, app.max_rows)
                .map_err(|e| app.invalid(e))?;
            let rows = batch.rows;
            let p =
                infer::predict(&app.artifact, &app.schema, batch).map_err(ApiError::internal)?;
            app.metrics.rows_predicted(rows);
            #[derive(Serialize)]
            struct Answer<'a> {
                predictions: MlflowPredictions<'a>,
            }
            serde_json::to_vec(&Answer {
                predictions: MlflowPredictions(&p),
            })
            .map_err(|e| ApiError::internal(e.to_string()))
        })
        .await;
    match result {
        Ok(bytes) => json_bytes(StatusCode::OK, bytes),
        Err(e) => e.into_response(),
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// SIGTERM / SIGINT, registered up front.
struct Shutdown {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Shutdown {
    #[cfg(unix)]
    fn install() -> Result<Shutdown, ServeError> {
        use tokio::signal::unix::{SignalKind, signal};
        let err = |e: std::io::Error| ServeError::Runtime(format!("cannot handle signals: {e}"));
        Ok(Shutdown {
            term: signal(SignalKind::terminate()).map_err(err)?,
            int: signal(SignalKind::interrupt()).map_err(err)?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> Result<Shutdown, ServeError> {
        Ok(Shutdown {})
    }

    #[cfg(unix)]
    async fn wait(mut self) {
        let name = tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        };
        eprintln!("anneal serve: {name} received, finishing requests in flight");
    }

    #[cfg(not(unix))]
    async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("anneal serve: interrupted, finishing requests in flight");
    }
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/vnd.api+json"));
        assert!(!is_json("text/csv"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
