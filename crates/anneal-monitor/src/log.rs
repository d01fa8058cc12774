//! The inference log: what a served model was asked and what it answered,
//! one JSON object per line (NDJSON), so that `anneal monitor` can score
//! the model once the true labels arrive and chart drift over time.
//!
//! A log is a folder of files named `inference-<sequence>.ndjson` (the
//! sequence zero-padded to 8 digits, so names sort in write order). Each
//! file starts with one header line,
//!
//! ```text
//! {"format":"anneal-inference-log","version":1,"artifact_id":"<64 hex>"}
//! ```
//!
//! and then one [`Record`] per predicted row:
//!
//! ```text
//! {"ts_ms":1796418000123,"request_id":"3f2a…","row":0,"inputs":{"age":39,"sex":"Male"},"prediction":">50K","probabilities":{"<=50K":0.31,">50K":0.69}}
//! ```
//!
//! `inputs` holds the row as the client sent it (raw column values, `null`
//! for missing); `probabilities` is absent for regression. A file names its
//! artifact once, so a log from another model is refused as a whole.
//!
//! NDJSON rather than Parquet: a line is complete or it is not, so a crash
//! or a full disk loses at most the last line, which the reader reports and
//! skips; every language and `jq` read it.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{MonitorError, Result};

/// The header's `format` value.
pub const FORMAT: &str = "anneal-inference-log";
/// The header's `version`; a reader refuses a newer one by name.
pub const VERSION: u32 = 1;

/// The first line of every log file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub artifact_id: String,
}

/// One predicted row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// When the request was answered, milliseconds since the Unix epoch.
    pub ts_ms: u64,
    /// The request's id: the client's `X-Request-Id` header, or one the
    /// server made up. Labels are joined on (`request_id`, `row`).
    pub request_id: String,
    /// The row's position within its request, from 0.
    pub row: u32,
    /// The row as sent: column name to raw value (`null` when missing).
    pub inputs: Map<String, Value>,
    /// The label as in the data, or the predicted value.
    pub prediction: Value,
    /// Class name to probability, in the artifact's class order (absent for
    /// regression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Map<String, Value>>,
}

/// The name of the `sequence`-th file of a log.
pub fn file_name(sequence: u64) -> String {
    format!("inference-{sequence:08}.ndjson")
}

/// Appends records to one log file (rotation, sampling and the disk-full
/// policy are the serving side's, on top of this).
pub struct FileWriter {
    path: PathBuf,
    out: BufWriter<File>,
    bytes: u64,
}

impl FileWriter {
    /// Creates `dir/inference-<sequence>.ndjson` (never over an existing
    /// file) and writes its header.
    pub fn create(dir: &Path, sequence: u64, artifact_id: &str) -> Result<FileWriter> {
        let path = dir.join(file_name(sequence));
        let io = |source| MonitorError::Io {
            path: path.clone(),
            source,
        };
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io)?;
        let mut w = FileWriter {
            out: BufWriter::new(file),
            path: path.clone(),
            bytes: 0,
        };
        let header = Header {
            format: FORMAT.to_string(),
            version: VERSION,
            artifact_id: artifact_id.to_string(),
        };
        w.write_line(&serde_json::to_string(&header).map_err(|e| w.json_error(e))?)?;
        Ok(w)
    }

    /// Appends one record as one line (buffered: see [`FileWriter::flush`]).
    pub fn append(&mut self, record: &Record) -> Result<()> {
        let line = serde_json::to_string(record).map_err(|e| self.json_error(e))?;
        self.write_line(&line)
    }

    /// Pushes buffered lines to the file and the file to the disk.
    pub fn flush(&mut self) -> Result<()> {
        let path = self.path.clone();
        let io = |source| MonitorError::Io { path, source };
        self.out.flush().map_err(io.clone())?;
        self.out.get_ref().sync_data().map_err(io)
    }

    /// Bytes written so far, header included.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        let path = self.path.clone();
        let io = |source| MonitorError::Io { path, source };
        self.out.write_all(line.as_bytes()).map_err(io.clone())?;
        self.out.write_all(b"\n").map_err(io)?;
        self.bytes += line.len() as u64 + 1;
        Ok(())
    }

    fn json_error(&self, e: serde_json::Error) -> MonitorError {
        MonitorError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        }
    }
}

/// A line (or a whole file) the reader skipped, and why: never silently.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub path: PathBuf,
    /// 1-based; `None` when the whole file was skipped.
    pub line: Option<u64>,
    pub reason: String,
}

/// Everything read from a log folder, in write order.
#[derive(Debug, Default)]
pub struct LogContents {
    pub artifact_id: Option<String>,
    pub records: Vec<Record>,
    pub skipped: Vec<Skipped>,
}

/// Reads every `inference-*.ndjson` file of `dir` in name order. A file
/// whose header is missing or unreadable is skipped whole (and listed); a
/// line that is not a record is skipped (and listed). A file from another
/// artifact than the first one read is an error: mixing two models'
/// traffic would make every figure wrong.
pub fn read_dir(dir: &Path) -> Result<LogContents> {
    let mut out = LogContents::default();
    for path in log_files(dir)? {
        read_file(&path, &mut out)?;
    }
    Ok(out)
}

/// [`read_dir`] for the model being monitored: a file written for another
/// artifact than `expected` is an error naming the file and both ids.
pub fn read_dir_for(dir: &Path, expected: &str) -> Result<LogContents> {
    let mut out = LogContents::default();
    for path in log_files(dir)? {
        let io = |source| MonitorError::Io {
            path: path.clone(),
            source,
        };
        let first = BufReader::new(File::open(&path).map_err(io)?)
            .lines()
            .next();
        let header = first.transpose().map_err(io)?.map(|l| parse_header(&l));
        if let Some(Ok(h)) = header
            && h.artifact_id != expected
        {
            return Err(MonitorError::OtherArtifact {
                path,
                found: h.artifact_id,
                expected: expected.to_string(),
            });
        }
        read_file(&path, &mut out)?;
    }
    Ok(out)
}

/// The log files of `dir`, sorted by name.
pub fn log_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = |source| MonitorError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("inference-") && name.ends_with(".ndjson") {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Reads one file into `out` (see [`read_dir`]).
pub fn read_file(path: &Path, out: &mut LogContents) -> Result<()> {
    let io = |source| MonitorError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut lines = BufReader::new(File::open(path).map_err(io)?).lines();
    let header = match lines.next() {
        None => Err("the file is empty".to_string()),
        Some(line) => parse_header(&line.map_err(io)?),
    };
    let header = match header {
        Ok(h) => h,
        Err(reason) => {
            out.skipped.push(Skipped {
                path: path.to_path_buf(),
                line: None,
                reason,
            });
            return Ok(());
        }
    };
    check_artifact(path, &header, out)?;
    for (i, line) in lines.enumerate() {
        let line = line.map_err(io)?;
        match serde_json::from_str::<Record>(&line) {
            Ok(r) => out.records.push(r),
            Err(e) => out.skipped.push(Skipped {
                path: path.to_path_buf(),
                line: Some(i as u64 + 2),
                reason: format!("not a log record: {e}"),
            }),
        }
    }
    Ok(())
}

fn parse_header(line: &str) -> std::result::Result<Header, String> {
    let h: Header =
        serde_json::from_str(line).map_err(|e| format!("the first line is not a header: {e}"))?;
    if h.format != FORMAT {
        return Err(format!("format is {:?}, expected {FORMAT:?}", h.format));
    }
    if h.version > VERSION {
        return Err(format!(
            "log version {} is newer than this anneal reads ({VERSION})",
            h.version
        ));
    }
    Ok(h)
}

fn check_artifact(path: &Path, header: &Header, out: &mut LogContents) -> Result<()> {
    match &out.artifact_id {
        None => out.artifact_id = Some(header.artifact_id.clone()),
        Some(id) if *id != header.artifact_id => {
            return Err(MonitorError::NotALog {
                path: path.to_path_buf(),
                reason: format!(
                    "written for artifact {}, but earlier files are from {}",
                    header.artifact_id, id
                ),
            });
        }
        Some(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ts_ms: u64, row: u32, age: f64) -> Record {
        let mut inputs = Map::new();
        inputs.insert("age".into(), Value::from(age));
        inputs.insert("sex".into(), Value::Null);
        Record {
            ts_ms,
            request_id: "r-1".into(),
            row,
            inputs,
            prediction: Value::from("yes"),
            probabilities: Some(Map::from_iter([
                ("no".to_string(), Value::from(0.25)),
                ("yes".to_string(), Value::from(0.75)),
            ])),
        }
    }

    #[test]
    fn records_read_back_in_order_and_bad_lines_are_listed() {
        let dir = std::env::temp_dir().join(format!("anneal-monitor-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = FileWriter::create(&dir, 0, "ab12").unwrap();
        w.append(&record(1, 0, 39.0)).unwrap();
        w.append(&record(2, 1, 41.5)).unwrap();
        w.flush().unwrap();
        let mut w = FileWriter::create(&dir, 1, "ab12").unwrap();
        w.append(&record(3, 0, 50.0)).unwrap();
        w.flush().unwrap();
        // A torn last line, as after a crash mid-write.
        let torn = dir.join(file_name(1));
        let mut f = File::options().append(true).open(&torn).unwrap();
        f.write_all(b"{\"ts_ms\":4,\"requ").unwrap();
        std::fs::write(dir.join(file_name(2)), "hello\n").unwrap();

        let got = read_dir(&dir).unwrap();
        assert_eq!(got.artifact_id.as_deref(), Some("ab12"));
        let ts: Vec<u64> = got.records.iter().map(|r| r.ts_ms).collect();
        assert_eq!(ts, [1, 2, 3]);
        assert_eq!(got.records[1], record(2, 1, 41.5));
        assert_eq!(got.skipped.len(), 2);
        assert_eq!(got.skipped[0].line, Some(3));
        assert_eq!(got.skipped[1].line, None);
        assert!(
            got.skipped[1]
                .reason
                .starts_with("the first line is not a header")
        );

        FileWriter::create(&dir, 3, "ffff")
            .unwrap()
            .flush()
            .unwrap();
        let err = read_dir(&dir).unwrap_err().to_string();
        assert!(err.ends_with("not an anneal inference log: written for artifact ffff, but earlier files are from ab12"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
