//! Connections: the accept loop, the connection cap, per-connection header
//! and idle timeouts, and a guard that turns a panic while answering into a
//! generic 500.
//!
//! axum's `serve` has no timeouts, so an idle or slow socket was held
//! forever; here every connection is always under one deadline:
//!
//! - from accept, and from the first byte of each later request, the head
//!   must be complete within the header timeout;
//! - between requests on a keep-alive connection, the next one must start
//!   within the idle timeout;
//! - while a request is being answered the request timeout (a middleware)
//!   applies instead.
//!
//! A connection past its deadline is closed. Connections over the cap are
//! answered 503 at once and closed, so the accept loop never stalls.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower_service::Service;

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Accepts connections until `stop` turns true, then asks every open
/// connection to finish its request and close, and returns once all have.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS));
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                accept_failed(&e).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refuse(stream, &refusals);
            continue;
        };
        // Small JSON answers go out at once rather than wait for an ACK.
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            serve_connection(stream, router, limits, stop).await;
            drop(slot);
        });
    }
    // New connections are refused from here on.
    drop(listener);
    // Every slot back means every connection has closed.
    let _ = slots.acquire_many(limits.max_connections as u32).await;
}

/// An accept error is most often the open-file limit (EMFILE): wait a
/// little for connections to close rather than spin.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
    if !matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted) {
        eprintln!("anneal serve: accept failed: {e}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Refused connections being closed at once (beyond the cap).
const REFUSALS: usize = 64;

/// How long a refused connection may take to send its request.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);

/// Over the connection cap: a 503, written without waiting (a fresh
/// socket's send buffer has room for it), then close. Up to [`REFUSALS`]
/// refused sockets first read what the client sent, for at most
/// [`REFUSAL_LINGER`]: closing with unread data would send a reset, and the
/// client could lose the 503 before reading it.
fn refuse(stream: TcpStream, refusals: &Arc<Semaphore>) {
    const BODY: &str = r#"{"error":"too many connections (--max-connections); retry later"}"#;
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    if stream.try_write(reply.as_bytes()).is_err() {
        return;
    }
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let mut stream = stream;
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = stream.shutdown().await;
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        })
        .await;
        drop(permit);
    });
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let clock = Arc::new(Clock::new(limits));
    let io = TokioIo::new(Tracked {
        inner: stream,
        clock: clock.clone(),
    });
    let service_clock = clock.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let guard = service_clock.begin();
        let answer = CatchPanic(Box::pin(router.clone().call(req)));
        async move {
            let response = answer.await;
            drop(guard);
            response
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            () = clock.expired() => return,
            _ = stop.wait_for(|s| *s), if !stopping => {
                // Finishes the request in flight; an idle connection closes.
                conn.as_mut().graceful_shutdown();
                stopping = true;
            }
        }
    }
}

/// The deadline a connection is under.
struct Clock {
    limits: ConnLimits,
    state: Mutex<Phase>,
    changed: Notify,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for (the rest of) a request head, until the deadline.
    Head(Instant),
    /// Between requests, until the deadline.
    Idle(Instant),
    /// Answering this many requests: no connection deadline.
    Busy(usize),
}

impl Clock {
    fn new(limits: ConnLimits) -> Clock {
        Clock {
            limits,
            state: Mutex::new(Phase::Head(Instant::now() + limits.header_timeout)),
            changed: Notify::new(),
        }
    }

    fn phase(&self) -> Phase {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, phase: Phase) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = phase;
        self.changed.notify_one();
    }

    /// Bytes arrived: on an idle connection they start a request head.
    fn bytes_read(&self) {
        if let Phase::Idle(_) = self.phase() {
            self.set(Phase::Head(Instant::now() + self.limits.header_timeout));
        }
    }

    /// A request head was read; the connection is busy until the guard
    /// is dropped (the answer is ready).
    fn begin(self: &Arc<Self>) -> BusyGuard {
        let busy = match self.phase() {
            Phase::Busy(n) => n + 1,
            _ => 1,
        };
        self.set(Phase::Busy(busy));
        BusyGuard(self.clone())
    }

    fn end(&self) {
        let next = match self.phase() {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now() + self.limits.idle_timeout),
        };
        self.set(next);
    }

    /// Resolves once the connection is past its deadline.
    async fn expired(&self) {
        loop {
            let deadline = match self.phase() {
                Phase::Head(d) | Phase::Idle(d) => d,
                Phase::Busy(_) => {
                    self.changed.notified().await;
                    continue;
                }
            };
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    // The phase may have moved on while the timer ran.
                    if let Phase::Head(d) | Phase::Idle(d) = self.phase()
                        && d <= Instant::now()
                    {
                        return;
                    }
                }
                () = self.changed.notified() => {}
            }
        }
    }
}

struct BusyGuard(Arc<Clock>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// The socket, reporting reads to the connection's clock.
struct Tracked {
    inner: TcpStream,
    clock: Arc<Clock>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.clock.bytes_read();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Answers a generic 500 if the wrapped future panics: the panic's text
/// (which may hold paths or values) goes to the server's stderr through
/// the panic hook, never to the client, and the connection lives on.
struct CatchPanic<F>(F);

impl<F> Future for CatchPanic<F>
where
    F: Future<Output = Result<Response<Body>, Infallible>> + Unpin,
{
    type Output = Result<Response<Body>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(poll) => poll,
            Err(_) => Poll::Ready(Ok(internal_error())),
        }
    }
}

/// The answer to an unexpected failure: no detail leaves the server.
pub(crate) fn internal_error() -> Response<Body> {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        r#"{"error":"internal error"}"#,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use axum::routing::get;

    use super::*;

    /// A server on a free loopback port around `router`.
    async fn start(router: Router, limits: ConnLimits) -> (SocketAddr, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        tokio::spawn(accept_loop(listener, router, limits, rx));
        (addr, tx)
    }

    use std::net::SocketAddr;

    fn get_once(addr: SocketAddr, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    async fn boom() -> &'static str {
        panic!("secret detail at /srv/model/weights")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_is_a_generic_500_and_the_server_lives_on() {
        let router = Router::new()
            .route("/boom", get(boom))
            .route("/ok", get(|| async { "fine" }));
        let limits = ConnLimits {
            max_connections: 8,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
        };
        let (addr, _stop) = start(router, limits).await;
        let (boom, ok) =
            tokio::task::spawn_blocking(move || (get_once(addr, "/boom"), get_once(addr, "/ok")))
                .await
                .unwrap();
        assert!(boom.starts_with("HTTP/1.1 500"), "{boom}");
        assert!(
            boom.ends_with("\r\n\r\n{\"error\":\"internal error\"}"),
            "{boom}"
        );
        assert!(!boom.contains("secret"), "{boom}");
        assert!(
            ok.starts_with("HTTP/1.1 200") && ok.ends_with("fine"),
            "{ok}"
        );
    }
}
