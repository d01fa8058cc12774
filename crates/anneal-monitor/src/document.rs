//! `monitor.json`: what `anneal monitor` found, per time window, and the
//! policy's verdict; the one module that writes it and reads it back.
//! Canonical JSON like `report.json` (sorted keys, shortest round-trip
//! floats, `null` for an undefined metric), so the same log and labels give
//! the same bytes. The Markdown, HTML and JUnit renderings are in
//! [`crate::render`].

use std::collections::BTreeMap;
use std::path::Path;

use anneal_eval::{EvalSettings, Interval};
use anneal_gate::Verdict;
use serde::{Deserialize, Serialize};

use crate::error::{MonitorError, Result};

/// Bumped when a field changes meaning; readers refuse newer documents.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorDoc {
    pub schema_version: u32,
    pub artifact_id: String,
    /// `binary`, `multiclass` or `regression`.
    pub task: String,
    pub target: String,
    /// The classes, in the model's order (classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// The window as given (`1h`, `500rows`).
    pub window: String,
    /// What was read: `log`, `data`, `labels` and `labels_sha256`.
    pub inputs: BTreeMap<String, String>,
    /// Predicted rows read.
    pub rows: u64,
    pub join: Join,
    /// Log lines and files that could not be read, each named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedEntry>,
    /// The training run's test metrics, the reference for metric drops.
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::map")]
    pub reference: BTreeMap<String, f64>,
    /// The bootstrap behind each window's intervals.
    pub evaluation_settings: EvalSettings,
    pub windows: Vec<WindowDoc>,
    /// The `[monitor]` policy's verdict (also `monitor.junit.xml`).
    pub verdict: Verdict,
}

/// How the labels met the predictions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    /// Rows of the labels file.
    pub label_rows: u64,
    /// Predicted rows with a usable label.
    pub labelled: u64,
    /// Labels whose (request_id, row) matches no logged prediction:
    /// counted, not fatal (they may belong to traffic not in this log).
    pub unknown_ids: u64,
    /// Labels left empty.
    pub empty: u64,
    /// (request_id, row) pairs labelled more than once (the last counts).
    pub duplicates: u64,
    /// Labels matched but unusable: not a class of the model (or not a
    /// number), or a row logged without all its probabilities.
    pub unusable: u64,
}

/// One skipped log line or file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedEntry {
    pub file: String,
    /// 1-based; absent when the whole file was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub reason: String,
}

/// One time window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowDoc {
    /// Span windows: start / span (comparable across runs); row windows:
    /// 0, 1, 2, ...
    pub index: u64,
    /// RFC 3339 UTC.
    pub start: String,
    pub end: String,
    pub rows: u64,
    pub labelled: u64,
    /// Every metric of a training report, on the labelled rows.
    #[serde(default, deserialize_with = "anneal_core::json::null_as_nan::map")]
    pub metrics: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intervals: BTreeMap<String, Interval>,
    /// Share of each predicted class, or the mean prediction.
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::map")]
    pub predictions: BTreeMap<String, f64>,
    /// The predictions against the training labels, by statistic.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prediction_shift: BTreeMap<String, f64>,
    /// `drift[column][statistic]`: psi or jensen_shannon,
    /// null_fraction_increase, out_of_range_fraction or unseen_fraction.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub drift: BTreeMap<String, BTreeMap<String, f64>>,
    /// The verdict checks this window failed (`drift:age`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
}

impl MonitorDoc {
    /// Canonical JSON.
    pub fn to_json(&self) -> Result<String> {
        anneal_core::json::to_canonical_string(self, "monitor.json")
            .map_err(|e| MonitorError::Output(e.to_string()))
    }

    /// Parses a `monitor.json` read from `path` (named in errors).
    pub fn parse(text: &str, path: &Path) -> Result<MonitorDoc> {
        let bad = |reason: String| MonitorError::File {
            path: path.to_path_buf(),
            reason,
        };
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let version = v.get("schema_version").and_then(serde_json::Value::as_u64);
        if version.is_some_and(|n| n > u64::from(SCHEMA_VERSION)) {
            return Err(bad(format!(
                "monitor.json schema_version {} is newer than this anneal reads ({SCHEMA_VERSION})",
                version.unwrap_or_default()
            )));
        }
        serde_json::from_value(v).map_err(|e| bad(format!("not a monitor.json: {e}")))
    }

    /// Reads `path`.
    pub fn read(path: &Path) -> Result<MonitorDoc> {
        let text = std::fs::read_to_string(path).map_err(|source| MonitorError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        MonitorDoc::parse(&text, path)
    }
}
