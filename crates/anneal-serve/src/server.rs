//! The HTTP server: routes, handlers, the middleware (metrics, Host and
//! token checks, the request timeout), admission and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anneal_artifact::Artifact;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ServeError;
use crate::conn::{self, ConnLimits};
use crate::guard::{self, Hosts, Token};
use crate::infer::{self, MlflowPredictions, V2Output};
use crate::metrics::Metrics;
use crate::monitor::{self, Live, RequestIds};
use crate::request::{self, Invalid};
use crate::schema::{Schema, mlflow_type};

/// How to serve. [`Options::new`] fills in the defaults below.
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
    /// Requests that may wait for a worker; one more is answered 503.
    pub queue: usize,
    /// Open connections; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Time to send a complete request head (from accept, or from its
    /// first byte on a kept-alive connection).
    pub header_timeout: Duration,
    /// Time a kept-alive connection may sit between requests.
    pub idle_timeout: Duration,
    /// Time to send the request body once the request is admitted (408).
    pub body_timeout: Duration,
    /// Time from a complete head to the answer, waiting and predicting
    /// included (503).
    pub request_timeout: Duration,
    /// The bearer token every request but the health probes must carry.
    pub token: Option<String>,
    /// Host header values accepted (`*`: any); empty: the loopback names
    /// on a loopback bind, any otherwise.
    pub allow_hosts: Vec<String>,
    /// Drift of the traffic over a sliding window (`None`: off; off too
    /// when the artifact has no training profile).
    pub monitor: Option<MonitorOptions>,
    /// The inference log (`None`: off).
    pub log: Option<LogOptions>,
}

/// Live drift: the window and the thresholds.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    pub window: anneal_monitor::window::WindowSpec,
    /// The thresholds and where they came from; `None`: the artifact's
    /// config's [check_data], else the defaults.
    pub policy: Option<(anneal_config::CheckDataPolicy, String)>,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        MonitorOptions {
            window: anneal_monitor::window::WindowSpec {
                rows: defaults::MONITOR_WINDOW_ROWS,
                millis: None,
            },
            policy: None,
        }
    }
}

/// The inference log: where, how much, how often a new file.
#[derive(Debug, Clone)]
pub struct LogOptions {
    pub dir: std::path::PathBuf,
    /// Share of requests logged, in (0, 1].
    pub sample: f64,
    pub max_bytes: u64,
    pub max_age: Option<Duration>,
}

impl LogOptions {
    pub fn new(dir: impl Into<std::path::PathBuf>) -> LogOptions {
        LogOptions {
            dir: dir.into(),
            sample: 1.0,
            max_bytes: defaults::LOG_MAX_BYTES,
            max_age: None,
        }
    }
}

/// Defaults of [`Options`] (and of the `anneal serve` flags).
pub mod defaults {
    use std::time::Duration;

    pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
    pub const MAX_ROWS: usize = 100_000;
    pub const QUEUE: usize = 64;
    /// Well under the usual 1,024 open-file limit.
    pub const MAX_CONNECTIONS: usize = 512;
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// Longer than the 60 s idle timeout of common proxies and load
    /// balancers, so they close a kept-alive upstream connection first.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
    pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
    /// The drift window: a one-standard-deviation shift of a feature fills
    /// enough of 2,000 rows to pass PSI 0.25 within about 1,000 shifted
    /// rows, while 2,000 stationary rows stay far below every default
    /// threshold (README, "Monitoring a served model").
    pub const MONITOR_WINDOW_ROWS: u64 = 2_000;
    pub const LOG_MAX_BYTES: u64 = 64 * 1024 * 1024;
    /// Rows waiting for the log writer at most; more are dropped.
    pub const LOG_QUEUE_ROWS: u64 = 100_000;
}

impl Options {
    /// The defaults, listening on `addr`.
    pub fn new(addr: impl Into<String>) -> Options {
        Options {
            addr: addr.into(),
            max_body_bytes: defaults::MAX_BODY_BYTES,
            max_rows: defaults::MAX_ROWS,
            workers: 0,
            queue: defaults::QUEUE,
            max_connections: defaults::MAX_CONNECTIONS,
            header_timeout: defaults::HEADER_TIMEOUT,
            idle_timeout: defaults::IDLE_TIMEOUT,
            body_timeout: defaults::BODY_TIMEOUT,
            request_timeout: defaults::REQUEST_TIMEOUT,
            token: None,
            allow_hosts: Vec::new(),
            monitor: Some(MonitorOptions::default()),
            log: None,
        }
    }

    /// Refuses limits that would make every request fail.
    fn check(&self) -> Result<(), ServeError> {
        let positive = [
            ("--max-rows", self.max_rows),
            ("--max-body-bytes", self.max_body_bytes),
            ("--max-connections", self.max_connections),
        ];
        for (flag, value) in positive {
            if value == 0 {
                return Err(ServeError::Options(format!("{flag} must be at least 1")));
            }
        }
        let timeouts = [
            ("--header-timeout", self.header_timeout),
            ("--idle-timeout", self.idle_timeout),
            ("--body-timeout", self.body_timeout),
            ("--request-timeout", self.request_timeout),
        ];
        for (flag, value) in timeouts {
            if value.is_zero() {
                return Err(ServeError::Options(format!("{flag} must be more than 0")));
            }
        }
        if self.max_connections > Semaphore::MAX_PERMITS || self.max_connections > u32::MAX as usize
        {
            return Err(ServeError::Options("--max-connections is too large".into()));
        }
        if self.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(ServeError::Options("--token must not be empty".into()));
        }
        if self.monitor.as_ref().is_some_and(|m| m.window.rows == 0) {
            return Err(ServeError::Options(
                "--monitor-window-rows must be at least 1".into(),
            ));
        }
        if let Some(log) = &self.log {
            if !(log.sample > 0.0 && log.sample <= 1.0) {
                return Err(ServeError::Options(format!(
                    "--log-sample must be more than 0 and at most 1, not {}",
                    log.sample
                )));
            }
            if log.max_bytes == 0 {
                return Err(ServeError::Options(
                    "--log-max-bytes must be at least 1".into(),
                ));
            }
        }
        Ok(())
    }
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
    max_body_bytes: usize,
    metrics: Metrics,
    /// Bounds the predictions running at once.
    permits: Arc<Semaphore>,
    /// Bounds the requests running or waiting for a worker (workers +
    /// queue); taken before the body is read, so bodies held in memory are
    /// bounded too.
    admission: Arc<Semaphore>,
    body_timeout: Duration,
    request_timeout: Duration,
    token: Option<Token>,
    hosts: Hosts,
    live: Option<Live>,
    sink: Option<anneal_monitor::sink::Sink>,
    ids: RequestIds,
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

    /// An unexpected failure: the detail goes to the server's stderr, the
    /// client gets a generic message (no paths or internals leave).
    fn internal(detail: impl std::fmt::Display) -> ApiError {
        eprintln!("anneal serve: internal error: {detail}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    /// Refused for load: the client should retry after a second.
    fn busy(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, &json!({ "error": self.message }));
        let headers = response.headers_mut();
        match self.status {
            StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            // The body may be partly unread: do not reuse the connection.
            StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => json_bytes(status, bytes),
        Err(e) => {
            ApiError::internal(format_args!("cannot write the response: {e}")).into_response()
        }
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
    options.check()?;
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
    let (listener, addr) = bind(&options.addr).await?;
    let name = artifact.manifest.name.clone();
    let id = artifact.manifest.id.clone();
    let app = App::new(artifact, &options, addr)?;
    let router = router(app.clone(), options.max_body_bytes);
    on_listening(&Listening { addr, name, id });
    let limits = ConnLimits {
        max_connections: options.max_connections,
        header_timeout: options.header_timeout,
        idle_timeout: options.idle_timeout,
    };
    serve_until_signal(listener, router, limits, shutdown).await;
    // The drained requests' rows are queued: write them before exiting.
    if let Some(sink) = &app.sink {
        sink.close();
    }
    eprintln!("anneal serve: stopped");
    Ok(())
}

async fn bind(addr: &str) -> Result<(tokio::net::TcpListener, SocketAddr), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        let reason = e.to_string();
        let addr = addr.to_string();
        if e.kind() == std::io::ErrorKind::InvalidInput {
            ServeError::Addr { addr, reason }
        } else {
            ServeError::Bind { addr, reason }
        }
    })?;
    let local = listener.local_addr().map_err(|e| ServeError::Bind {
        addr: addr.to_string(),
        reason: e.to_string(),
    })?;
    Ok((listener, local))
}

/// Serves until SIGTERM or SIGINT, then lets the connections finish their
/// requests for at most [`DRAIN_LIMIT`].
async fn serve_until_signal(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: Shutdown,
) {
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let mut drain_start = stopping.clone();
    let server = conn::accept_loop(listener, router, limits, stopping);
    let signal = async move {
        shutdown.wait().await;
        let _ = stopping_tx.send(true);
        // Keeps the channel open while the connections drain.
        std::future::pending::<()>().await;
    };
    let drain_limit = async move {
        let _ = drain_start.wait_for(|s| *s).await;
        tokio::time::sleep(DRAIN_LIMIT).await;
    };
    tokio::select! {
        () = server => {}
        () = signal => {}
        () = drain_limit => eprintln!(
            "anneal serve: requests still open after {} s; closing them",
            DRAIN_LIMIT.as_secs()
        ),
    }
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
        .route("/v1/monitor", get(monitor_json))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn_with_state(app.clone(), deadline))
        .layer(middleware::from_fn_with_state(app.clone(), admit))
        .layer(middleware::from_fn_with_state(app.clone(), track))
        .with_state(app)
}

/// The Host allow-list (403) and the bearer token (401), except on the
/// health probes.
async fn admit(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if guard::OPEN_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if !app.hosts.allows(host) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "this Host is not allowed (--allow-host)",
        )
        .into_response();
    }
    if let Some(token) = &app.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        if !token.accepts(given) {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token (Authorization: Bearer ...)",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Answers 503 when a request takes longer than --request-timeout from its
/// head to its answer (a prediction already running finishes on its
/// worker, which stays counted until then).
async fn deadline(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(app.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::busy("the request took longer than the limit (--request-timeout)")
            .into_response(),
    }
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
    fn new(
        artifact: Artifact,
        options: &Options,
        addr: SocketAddr,
    ) -> Result<Arc<App>, ServeError> {
        let workers = if options.workers > 0 {
            options.workers
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
        .min(Semaphore::MAX_PERMITS);
        let admitted = workers
            .saturating_add(options.queue)
            .min(Semaphore::MAX_PERMITS);
        let name = artifact.manifest.name.clone();
        let id = artifact.manifest.id.clone();
        let schema = Schema::of(&artifact.preprocessor);
        let live = options
            .monitor
            .as_ref()
            .and_then(|m| live_monitor(&artifact, &schema, m));
        let sink = match &options.log {
            None => None,
            Some(log) => Some(
                anneal_monitor::sink::Sink::start(anneal_monitor::sink::SinkOptions {
                    dir: log.dir.clone(),
                    artifact_id: id.clone(),
                    sample: log.sample,
                    max_bytes: log.max_bytes,
                    max_age: log.max_age,
                    max_queued_rows: defaults::LOG_QUEUE_ROWS,
                })
                .map_err(|e| ServeError::Options(format!("--log-dir: {e}")))?,
            ),
        };
        Ok(Arc::new(App {
            schema,
            live,
            sink,
            ids: RequestIds::new(),
            metrics: Metrics::new(&name, &id),
            name,
            id,
            max_rows: options.max_rows,
            max_body_bytes: options.max_body_bytes,
            permits: Arc::new(Semaphore::new(workers)),
            admission: Arc::new(Semaphore::new(admitted)),
            body_timeout: options.body_timeout,
            request_timeout: options.request_timeout,
            token: options.token.as_deref().map(Token::new),
            hosts: Hosts::new(&options.allow_hosts, addr),
            artifact,
        }))
    }

    /// Monitoring's look at a validated batch (drift counts, log rows).
    fn watch(&self, batch: &request::Batch, rid: &str) -> monitor::Pending {
        monitor::before(self.live.as_ref(), self.sink.as_ref(), batch, rid)
    }

    /// ... and at its predictions.
    fn record(&self, pending: monitor::Pending, p: &infer::Prediction, rid: &str) {
        monitor::after(
            self.live.as_ref(),
            self.sink.as_ref(),
            &self.schema,
            pending,
            p,
            rid,
        );
    }

    /// The request's id: its `X-Request-Id`, or a new one.
    fn request_id(&self, headers: &HeaderMap) -> String {
        self.ids
            .of(headers.get(REQUEST_ID).map(HeaderValue::as_bytes))
    }

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

    /// A place among the requests running or waiting, or 503 at once:
    /// a full queue answers now rather than let waits grow without bound.
    /// A declared Content-Length over the limit is refused first: such a
    /// request must not hold a place while its body trickles in.
    fn admit(&self, headers: &HeaderMap) -> Result<OwnedSemaphorePermit, ApiError> {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body_bytes as u64) {
            return Err(too_large());
        }
        self.admission.clone().try_acquire_owned().map_err(|_| {
            ApiError::busy("the server is busy: the request queue is full (--queue); retry later")
        })
    }

    /// Reads the body of an admitted request, within --body-timeout.
    async fn read_body(&self, req: Request) -> Result<Bytes, ApiError> {
        match tokio::time::timeout(self.body_timeout, Bytes::from_request(req, &())).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(rejection)) => Err(body_error(rejection)),
            Err(_) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive within the limit (--body-timeout)",
            )),
        }
    }

    /// Runs `work` on the blocking pool, at most `workers` at once. The
    /// admission place is held until the work is done, even if the client
    /// has gone or the request timed out meanwhile.
    async fn blocking<F, T>(
        self: &Arc<Self>,
        admitted: OwnedSemaphorePermit,
        work: F,
    ) -> Result<T, ApiError>
    where
        F: FnOnce(&App) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permits = (permit, admitted);
            work(&app)
        })
        .await
        // A panic's text stays in the server's log (printed by the hook).
        .map_err(|_| ApiError::internal("the prediction task panicked"))?
    }
}

/// Drift monitoring of `artifact`, when it has a training profile.
fn live_monitor(artifact: &Artifact, schema: &Schema, m: &MonitorOptions) -> Option<Live> {
    let profile = artifact.profile.as_ref()?;
    let (policy, source) = m.policy.clone().unwrap_or_else(|| {
        match artifact.config().ok().and_then(|c| c.check_data) {
            Some(c) => (c, "the artifact's config [check_data]".to_string()),
            None => (Default::default(), "defaults".to_string()),
        }
    });
    Some(Live::new(profile, schema, m.window, policy, source))
}

/// The header a request id comes in and goes back in.
const REQUEST_ID: &str = "x-request-id";

/// The answer with the request's id.
fn with_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
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

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the request body is larger than the limit (--max-body-bytes)",
    )
}

/// A body the server could not read: too large (413) or cut short.
fn body_error(r: BytesRejection) -> ApiError {
    let status = r.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
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

async fn v2_infer(State(app): State<Arc<App>>, Path(name): Path<String>, req: Request) -> Response {
    let rid = app.request_id(req.headers());
    with_id(
        respond_v2(infer_v2(app, &name, None, req, rid.clone()).await),
        &rid,
    )
}

async fn v2_infer_version(
    State(app): State<Arc<App>>,
    Path((name, version)): Path<(String, String)>,
    req: Request,
) -> Response {
    let rid = app.request_id(req.headers());
    let answer = infer_v2(app, &name, Some(&version), req, rid.clone()).await;
    with_id(respond_v2(answer), &rid)
}

/// A v2 answer: JSON, or (binary tensor data extension) a JSON header of
/// `header_len` bytes followed by the binary outputs.
struct V2Answer {
    body: Vec<u8>,
    header_len: Option<usize>,
}

/// The request and response header of the binary tensor data extension.
const HEADER_LENGTH: &str = "inference-header-content-length";

fn respond_v2(result: Result<V2Answer, ApiError>) -> Response {
    match result {
        Ok(V2Answer {
            body,
            header_len: None,
        }) => json_bytes(StatusCode::OK, body),
        Ok(V2Answer {
            body,
            header_len: Some(n),
        }) => (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (header::HeaderName::from_static(HEADER_LENGTH), n.into()),
            ],
            body,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The JSON header's length when the request uses the binary tensor data
/// extension.
fn header_length(headers: &HeaderMap) -> Result<Option<usize>, ApiError> {
    let Some(value) = headers.get(HEADER_LENGTH) else {
        return Ok(None);
    };
    match value.to_str().ok().and_then(|v| v.trim().parse().ok()) {
        Some(n) => Ok(Some(n)),
        None => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Inference-Header-Content-Length must be a byte count",
        )),
    }
}

fn respond(result: Result<Vec<u8>, ApiError>) -> Response {
    match result {
        Ok(bytes) => json_bytes(StatusCode::OK, bytes),
        Err(e) => e.into_response(),
    }
}

/// The steps of an inference request: the model (404), the content type
/// (415), a place in the queue (503), the body (413, 408), then parsing
/// and predicting on a worker (400).
async fn infer_v2(
    app: Arc<App>,
    name: &str,
    version: Option<&str>,
    req: Request,
    rid: String,
) -> Result<V2Answer, ApiError> {
    app.check_model(name, version)?;
    let header_len = header_length(req.headers())?;
    // Triton's clients send binary requests without a Content-Type. The
    // Inference-Header-Content-Length header is not one a browser may add
    // to a cross-origin request without a preflight this server never
    // grants, so it protects as a JSON Content-Type does.
    match (content_type(req.headers()), header_len) {
        (BodyKind::Json, _) | (_, Some(_)) => {}
        _ => return Err(unsupported(req.headers(), "application/json")),
    }
    let admitted = app.admit(req.headers())?;
    let body = app.read_body(req).await?;
    app.blocking(admitted, move |app| {
        let req = match header_len {
            None => request::parse_v2(&body, &app.schema, app.max_rows),
            Some(n) => request::parse_v2_binary(&body, n, &app.schema, app.max_rows),
        }
        .map_err(|e| app.invalid(e))?;
        let rows = req.batch.rows;
        let pending = app.watch(&req.batch, &rid);
        let p =
            infer::predict(&app.artifact, &app.schema, req.batch).map_err(ApiError::internal)?;
        app.metrics.rows_predicted(rows);
        app.record(pending, &p, &rid);
        let outputs = p.v2_outputs(req.outputs.as_deref(), &req.binary);
        v2_answer(app, req.id.as_ref(), outputs)
    })
    .await
}

/// The JSON answer, then the binary outputs' bytes when there are any.
fn v2_answer(app: &App, id: Option<&Value>, outputs: Vec<V2Output>) -> Result<V2Answer, ApiError> {
    let response = V2Response {
        model_name: &app.name,
        model_version: &app.id,
        id,
        outputs,
    };
    let mut body = serde_json::to_vec(&response).map_err(ApiError::internal)?;
    if !response.outputs.iter().any(|o| o.binary) {
        return Ok(V2Answer {
            body,
            header_len: None,
        });
    }
    let header_len = body.len();
    for o in response.outputs.iter().filter(|o| o.binary) {
        o.put_binary(&mut body);
    }
    Ok(V2Answer {
        body,
        header_len: Some(header_len),
    })
}

/// What a request body declares itself to be.
enum BodyKind {
    Json,
    Csv,
    /// Anything else, or no Content-Type: refused, so that a cross-origin
    /// "simple" POST (text/plain, form types, or a typeless blob), which a
    /// browser sends without asking, never reaches a model.
    Other,
}

fn content_type(headers: &HeaderMap) -> BodyKind {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return BodyKind::Other;
    };
    let ct = ct.to_str().unwrap_or("");
    if is_json(ct) {
        BodyKind::Json
    } else if media_type(ct) == "text/csv" {
        BodyKind::Csv
    } else {
        BodyKind::Other
    }
}

fn unsupported(headers: &HeaderMap, accepted: &str) -> ApiError {
    let message = match headers.get(header::CONTENT_TYPE) {
        Some(ct) => {
            let ct: String = String::from_utf8_lossy(ct.as_bytes())
                .chars()
                .take(80)
                .collect();
            format!("unsupported Content-Type {ct:?}: send {accepted}")
        }
        None => format!("the request has no Content-Type: send {accepted}"),
    };
    ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message)
}

/// The media type of a Content-Type, lowercase, without parameters.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether a Content-Type names JSON (`application/json`, with parameters
/// or a `+json` suffix).
fn is_json(content_type: &str) -> bool {
    let media = media_type(content_type);
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

async fn invocations(State(app): State<Arc<App>>, req: Request) -> Response {
    let rid = app.request_id(req.headers());
    with_id(respond(invoke(app, req, rid.clone()).await), &rid)
}

/// As [`infer_v2`], for `/invocations` (JSON or CSV).
async fn invoke(app: Arc<App>, req: Request, rid: String) -> Result<Vec<u8>, ApiError> {
    let csv = match content_type(req.headers()) {
        BodyKind::Json => false,
        BodyKind::Csv => true,
        BodyKind::Other => return Err(unsupported(req.headers(), "application/json or text/csv")),
    };
    let admitted = app.admit(req.headers())?;
    let body = app.read_body(req).await?;
    app.blocking(admitted, move |app| {
        let batch = if csv {
            request::parse_csv(&body, &app.schema, app.max_rows)
        } else {
            request::parse_invocations(&body, &app.schema, app.max_rows)
        }
        .map_err(|e| app.invalid(e))?;
        let rows = batch.rows;
        let pending = app.watch(&batch, &rid);
        let p = infer::predict(&app.artifact, &app.schema, batch).map_err(ApiError::internal)?;
        app.metrics.rows_predicted(rows);
        app.record(pending, &p, &rid);
        #[derive(Serialize)]
        struct Answer<'a> {
            predictions: MlflowPredictions<'a>,
        }
        serde_json::to_vec(&Answer {
            predictions: MlflowPredictions(&p),
        })
        .map_err(ApiError::internal)
    })
    .await
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut text = app.metrics.render();
    if let Some(live) = &app.live {
        live.render(&mut text);
    }
    if let Some(sink) = &app.sink {
        monitor::render_log(sink, &mut text);
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// `GET /v1/monitor`: the drift window's checks, as `check-data` words
/// them, and the log's state.
async fn monitor_json(State(app): State<Arc<App>>) -> Response {
    let Some(live) = &app.live else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "drift monitoring is off (--no-monitor, or the artifact has no training profile)",
        )
        .into_response();
    };
    let mut body = live.json();
    body["model"] = json!(app.name);
    body["artifact_id"] = json!(app.id);
    body["log"] = app.sink.as_ref().map_or(Value::Null, monitor::log_json);
    json_response(StatusCode::OK, &body)
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
