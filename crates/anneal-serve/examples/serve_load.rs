//! A bounded load generator for `anneal serve` on loopback (a benchmark,
//! not a test): requests/s and p50/p99 latency at 1, 16 and 256 keep-alive
//! connections for 1-row and 1,000-row KServe v2 requests, then a soak in
//! which healthy clients run beside hostile ones (slow headers, idle
//! sockets, oversized and malformed bodies, shape bombs).
//!
//! ```sh
//! anneal serve --artifact A --addr 127.0.0.1:8080 --queue 512 &
//! cargo run --release -p anneal-serve --example serve_load -- 127.0.0.1:8080 MODEL 4 20
//! ```
//!
//! Only loopback addresses are accepted; every phase is bounded in time
//! and in connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, model, secs, soak_secs] = args.as_slice() else {
        return Err("usage: serve_load 127.0.0.1:PORT MODEL SECONDS SOAK_SECONDS".into());
    };
    let soak_secs = Duration::from_secs_f64(soak_secs.parse::<f64>()?.clamp(0.5, 120.0));
    let addr: SocketAddr = addr.parse()?;
    if !addr.ip().is_loopback() {
        return Err("serve_load only sends traffic to a loopback address".into());
    }
    let secs = Duration::from_secs_f64(secs.parse::<f64>()?.clamp(0.5, 60.0));
    let path = format!("/v2/models/{model}/infer");
    let meta = get_json(addr, &format!("/v2/models/{model}")).await?;
    let one = Arc::new(post_bytes(&path, &v2_body(&meta, 1)?));
    let thousand = Arc::new(post_bytes(&path, &v2_body(&meta, 1000)?));

    println!("| connections | rows/request | requests/s | p50 ms | p99 ms | errors |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for conns in [1, 16, 256] {
        for (rows, body) in [(1, &one), (1000, &thousand)] {
            let s = run(addr, conns, body.clone(), secs).await;
            println!(
                "| {conns} | {rows} | {:.0} | {:.2} | {:.2} | {} |",
                s.rate, s.p50, s.p99, s.errors
            );
        }
    }

    let base = run(addr, 16, one.clone(), soak_secs).await;
    let stop = Arc::new(AtomicBool::new(false));
    let hostile = Hostile::start(addr, &path, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let soaked = run(addr, 16, one.clone(), soak_secs).await;
    stop.store(true, Ordering::Relaxed);
    let alive = get_json(addr, "/v2/health/live").await.is_ok();
    println!(
        "\nsoak (16 healthy connections, 1 row): alone p50 {:.2} ms p99 {:.2} ms {:.0}/s; \
         beside hostile clients p50 {:.2} ms p99 {:.2} ms {:.0}/s ({:.2}x p99), errors {}",
        base.p50,
        base.p99,
        base.rate,
        soaked.p50,
        soaked.p99,
        soaked.rate,
        soaked.p99 / base.p99,
        soaked.errors
    );
    println!(
        "hostile: {}; server alive after: {alive}",
        hostile.summary()
    );
    Ok(())
}

/// A v2 request of `rows` rows for the model's inputs.
fn v2_body(meta: &Value, rows: usize) -> Result<Vec<u8>, Error> {
    let inputs = meta["inputs"]
        .as_array()
        .ok_or("no inputs in the metadata")?;
    let tensors: Vec<Value> = inputs
        .iter()
        .map(|i| {
            let numeric = i["datatype"] == "FP64";
            let data: Vec<Value> = (0..rows)
                .map(|r| {
                    if numeric {
                        json!(1.0 + (r % 7) as f64 * 0.5)
                    } else {
                        json!(format!("v{}", r % 3))
                    }
                })
                .collect();
            json!({"name": i["name"], "shape": [rows], "datatype": i["datatype"], "data": data})
        })
        .collect();
    Ok(serde_json::to_vec(&json!({ "inputs": tensors }))?)
}

fn post_bytes(path: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

async fn get_json(addr: SocketAddr, path: &str) -> Result<Value, Error> {
    let mut c = Client::connect(addr).await?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let (status, body) = c.request(req.as_bytes()).await?;
    if status != 200 {
        return Err(format!("GET {path}: {status}").into());
    }
    Ok(serde_json::from_slice(&body)?)
}

/// A keep-alive HTTP/1.1 connection reading Content-Length answers.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Result<Client, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::new(),
        })
    }

    async fn request(&mut self, bytes: &[u8]) -> Result<(u16, Vec<u8>), Error> {
        self.stream.write_all(bytes).await?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])?.to_ascii_lowercase();
        let status: u16 = head.get(9..12).ok_or("short status line")?.parse()?;
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .ok_or("no content-length")?
            .trim()
            .parse()?;
        while self.buf.len() < head_end + len {
            self.fill().await?;
        }
        let body = self.buf[head_end..head_end + len].to_vec();
        self.buf.drain(..head_end + len);
        Ok((status, body))
    }

    async fn fill(&mut self) -> Result<(), Error> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct Stats {
    rate: f64,
    p50: f64,
    p99: f64,
    errors: usize,
}

/// `conns` connections sending `body` back to back for `secs`.
async fn run(addr: SocketAddr, conns: usize, body: Arc<Vec<u8>>, secs: Duration) -> Stats {
    let start = Instant::now();
    let end = start + secs;
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let body = body.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0usize;
                let Ok(mut c) = Client::connect(addr).await else {
                    return (lat, 1);
                };
                while Instant::now() < end {
                    let t0 = Instant::now();
                    match c.request(&body).await {
                        Ok((200, _)) => lat.push(t0.elapsed()),
                        Ok(_) => errors += 1,
                        Err(_) => {
                            errors += 1;
                            match Client::connect(addr).await {
                                Ok(fresh) => c = fresh,
                                Err(_) => break,
                            }
                        }
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            lat.extend(l);
            errors += e;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    lat.sort();
    let q = |p: f64| {
        lat.get(((lat.len().saturating_sub(1)) as f64 * p).round() as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    Stats {
        rate: lat.len() as f64 / wall,
        p50: q(0.5),
        p99: q(0.99),
        errors,
    }
}

/// Hostile traffic, bounded: 50 slow-header sockets, 200 idle sockets and
/// three request loops (oversized body, malformed JSON, a 2^45-row shape
/// bomb) of 4 connections each at about 20 requests/s per connection.
struct Hostile {
    answered: Arc<[AtomicU64; 3]>,
    reconnects: Arc<AtomicU64>,
}

impl Hostile {
    fn start(addr: SocketAddr, path: &str, stop: Arc<AtomicBool>) -> Hostile {
        let answered = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
        let reconnects = Arc::new(AtomicU64::new(0));
        for _ in 0..50 {
            tokio::spawn(slow_header(addr, stop.clone(), reconnects.clone()));
        }
        for _ in 0..200 {
            tokio::spawn(idle(addr, stop.clone(), reconnects.clone()));
        }
        let oversized = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            64 * 1024 * 1024
        )
        .into_bytes();
        let malformed = post_bytes(path, b"{\"inputs\": [{\"name\": ");
        let bomb = post_bytes(
            path,
            br#"{"inputs": [{"name": "x", "shape": [35184372088832], "datatype": "FP64", "data": [1]}]}"#,
        );
        for (i, bytes) in [oversized, malformed, bomb].into_iter().enumerate() {
            let bytes = Arc::new(bytes);
            for _ in 0..4 {
                let (stop, answered, bytes) = (stop.clone(), answered.clone(), bytes.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok(mut c) = Client::connect(addr).await
                            && c.request(&bytes).await.is_ok()
                        {
                            answered[i].fetch_add(1, Ordering::Relaxed);
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                });
            }
        }
        Hostile {
            answered,
            reconnects,
        }
    }

    fn summary(&self) -> String {
        let a = |i: usize| self.answered[i].load(Ordering::Relaxed);
        format!(
            "{} oversized, {} malformed, {} shape bombs answered; {} slow/idle sockets closed by the server",
            a(0),
            a(1),
            a(2),
            self.reconnects.load(Ordering::Relaxed)
        )
    }
}

/// Sends a header byte every 500 ms; reconnects when the server closes.
async fn slow_header(addr: SocketAddr, stop: Arc<AtomicBool>, closed: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let _ = s.write_all(b"POST /invocations HTTP/1.1\r\nX-Slow: ").await;
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if s.write_all(b"a").await.is_err() {
                closed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// Connects and sends nothing; reconnects when the server closes.
async fn idle(addr: SocketAddr, stop: Arc<AtomicBool>, closed: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let mut b = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(60), s.read(&mut b));
        tokio::select! {
            _ = read => { closed.fetch_add(1, Ordering::Relaxed); }
            () = async { while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            } } => {}
        }
    }
}
