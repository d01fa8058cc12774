//! The serving side of the inference log ([`crate::log`]'s format): off the
//! request path, rotated, sampled, and never in the way.
//!
//! Requests hand their records to [`Sink::send`], which only queues them
//! for one writer thread; when more than [`SinkOptions::max_queued_rows`]
//! rows wait (a slow or full disk), the new ones are dropped and counted,
//! so serving never waits for the log. A write that fails (disk full, the
//! folder gone) drops the rows it held, marks the log unhealthy and closes
//! the file; the next records try a new file, and a success makes the log
//! healthy again. [`SinkStats`] is what `/metrics` shows of this.
//!
//! Files rotate when they reach `max_bytes` or `max_age`; a new sink
//! continues after the highest sequence already in the folder, so a
//! restart never overwrites a file. Buffered lines reach the disk at least
//! once a second ([`FLUSH_EVERY`]) and on [`Sink::close`] (serve calls it
//! once the requests in flight have drained after SIGTERM).
//!
//! Sampling keeps or skips whole requests, decided by a hash of the
//! request id: the same ids give the same log, and a request's rows stay
//! together for the label join.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{MonitorError, Result};
use crate::log::{FileWriter, Record, log_files};

/// Buffered lines are flushed at least this often.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
pub struct SinkOptions {
    pub dir: PathBuf,
    /// Written in every file's header.
    pub artifact_id: String,
    /// Share of requests logged, in (0, 1].
    pub sample: f64,
    /// A file is closed and the next one started past this size.
    pub max_bytes: u64,
    /// ... or past this age.
    pub max_age: Option<Duration>,
    /// Rows waiting for the writer at most; beyond, rows are dropped.
    pub max_queued_rows: u64,
}

/// What the log has done, for `/metrics`.
#[derive(Debug, Default)]
pub struct SinkStats {
    pub rows_written: AtomicU64,
    /// Rows lost: queue full, a failed write, or sent after close.
    pub rows_dropped: AtomicU64,
    /// Rows of requests the sampling skipped.
    pub rows_sampled_out: AtomicU64,
    pub files: AtomicU64,
    pub write_errors: AtomicU64,
    healthy: AtomicBool,
    queued_rows: AtomicU64,
}

impl SinkStats {
    /// False from a failed write until a write succeeds again.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    fn drop_rows(&self, n: u64) {
        self.rows_dropped.fetch_add(n, Ordering::Relaxed);
    }
}

/// Builds a request's records: on the writer thread, so turning rows into
/// records costs the request nothing.
pub type MakeRecords = Box<dyn FnOnce() -> Vec<Record> + Send>;

enum Message {
    Records(u64, MakeRecords),
}

/// The log writer of one server.
pub struct Sink {
    options: SinkOptions,
    stats: Arc<SinkStats>,
    tx: Mutex<Option<Sender<Message>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Sink {
    /// Creates the folder and the first file (so a folder that cannot be
    /// written is an error now, not a silent loss later) and starts the
    /// writer thread.
    pub fn start(options: SinkOptions) -> Result<Sink> {
        let io = |source| MonitorError::Io {
            path: options.dir.clone(),
            source,
        };
        std::fs::create_dir_all(&options.dir).map_err(io)?;
        let next = next_sequence(&options.dir)?;
        let mut first = FileWriter::create(&options.dir, next, &options.artifact_id)?;
        first.flush()?;
        let stats = Arc::new(SinkStats::default());
        stats.healthy.store(true, Ordering::Relaxed);
        stats.files.store(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            options: options.clone(),
            stats: stats.clone(),
            file: Some((first, Instant::now())),
            next: next + 1,
            unflushed: 0,
        };
        let thread = std::thread::Builder::new()
            .name("anneal-log".into())
            .spawn(move || writer.run(rx))
            .map_err(io)?;
        Ok(Sink {
            options,
            stats,
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn stats(&self) -> &SinkStats {
        &self.stats
    }

    pub fn options(&self) -> &SinkOptions {
        &self.options
    }

    /// Whether the request `request_id` is logged (deterministic).
    pub fn sampled(&self, request_id: &str) -> bool {
        keep(request_id, self.options.sample)
    }

    /// Counts `rows` of a request the sampling skipped.
    pub fn sampled_out(&self, rows: usize) {
        self.stats
            .rows_sampled_out
            .fetch_add(rows as u64, Ordering::Relaxed);
    }

    /// Queues one request's records; never blocks (see the module notes).
    pub fn send(&self, records: Vec<Record>) {
        self.send_with(records.len() as u64, Box::new(move || records));
    }

    /// Queues the `n` records `make` builds (on the writer thread).
    pub fn send_with(&self, n: u64, make: MakeRecords) {
        let queued = self.stats.queued_rows.fetch_add(n, Ordering::Relaxed);
        if queued + n > self.options.max_queued_rows {
            self.stats.queued_rows.fetch_sub(n, Ordering::Relaxed);
            self.stats.drop_rows(n);
            return;
        }
        let sent = match &*self.tx.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(tx) => tx.send(Message::Records(n, make)).is_ok(),
            None => false,
        };
        if !sent {
            self.stats.queued_rows.fetch_sub(n, Ordering::Relaxed);
            self.stats.drop_rows(n);
        }
    }

    /// Writes everything queued, flushes and stops the writer. Later
    /// records are dropped (and counted).
    pub fn close(&self) {
        drop(self.tx.lock().unwrap_or_else(|e| e.into_inner()).take());
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.close();
    }
}

/// Keeps a share `sample` of ids: a 64-bit hash of the id, as a fraction
/// of 2^64, below `sample`.
pub fn keep(request_id: &str, sample: f64) -> bool {
    if sample >= 1.0 {
        return true;
    }
    let h = xxhash_rust::xxh3::xxh3_64(request_id.as_bytes());
    ((h >> 11) as f64 / (1u64 << 53) as f64) < sample
}

/// One past the highest sequence among the folder's log files (0 when
/// there are none).
fn next_sequence(dir: &Path) -> Result<u64> {
    Ok(log_files(dir)?
        .iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            name.strip_prefix("inference-")?
                .strip_suffix(".ndjson")?
                .parse::<u64>()
                .ok()
        })
        .max()
        .map_or(0, |s| s + 1))
}

/// The writer thread's state.
struct Writer {
    options: SinkOptions,
    stats: Arc<SinkStats>,
    /// The open file and when it was created; `None` after a failure.
    file: Option<(FileWriter, Instant)>,
    next: u64,
    /// Rows appended since the last successful flush: lost if it fails.
    unflushed: u64,
}

impl Writer {
    fn run(mut self, rx: Receiver<Message>) {
        loop {
            match rx.recv_timeout(FLUSH_EVERY) {
                Ok(Message::Records(n, make)) => {
                    self.write(&make());
                    self.stats.queued_rows.fetch_sub(n, Ordering::Relaxed);
                }
                Err(RecvTimeoutError::Timeout) => self.flush(),
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.flush();
    }

    fn write(&mut self, records: &[Record]) {
        let rotate = self.file.as_ref().is_some_and(|(f, born)| {
            f.bytes() >= self.options.max_bytes
                || self.options.max_age.is_some_and(|a| born.elapsed() >= a)
        });
        if rotate {
            self.flush();
            self.file = None;
        }
        if self.file.is_none() && !self.open() {
            self.stats.drop_rows(records.len() as u64);
            return;
        }
        for (i, r) in records.iter().enumerate() {
            let Some((f, _)) = self.file.as_mut() else {
                return;
            };
            if let Err(e) = f.append(r) {
                self.fail(&e, (records.len() - i) as u64);
                return;
            }
            self.unflushed += 1;
        }
    }

    /// Opens the next file; false (and the error counted) when it cannot.
    fn open(&mut self) -> bool {
        let seq = self.next;
        self.next += 1;
        match FileWriter::create(&self.options.dir, seq, &self.options.artifact_id) {
            Ok(f) => {
                self.file = Some((f, Instant::now()));
                self.stats.files.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(e) => {
                self.fail(&e, 0);
                false
            }
        }
    }

    fn flush(&mut self) {
        let Some((f, _)) = self.file.as_mut() else {
            return;
        };
        match f.flush() {
            Ok(()) => {
                let n = std::mem::take(&mut self.unflushed);
                self.stats.rows_written.fetch_add(n, Ordering::Relaxed);
                self.stats.healthy.store(true, Ordering::Relaxed);
            }
            Err(e) => self.fail(&e, 0),
        }
    }

    /// A failed write: the unflushed rows and `more` are lost, the file is
    /// abandoned, and the error is said once per failure.
    fn fail(&mut self, e: &MonitorError, more: u64) {
        let lost = std::mem::take(&mut self.unflushed) + more;
        self.stats.drop_rows(lost);
        self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
        if self.stats.healthy.swap(false, Ordering::Relaxed) {
            eprintln!(
                "anneal serve: the inference log is failing ({e}); rows are dropped until writes succeed again"
            );
        }
        self.file = None;
    }
}

#[cfg(test)]
mod tests;
