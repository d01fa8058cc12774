//! `run.json`: when and how a run was made (wall-clock times, threads, the
//! command line, the absolute paths of its data file and config). It is
//! the one file of a run folder that differs between two runs of the same
//! config, so nothing deterministic goes in it.
//!
//! It has no version field. Every field is optional on reading, so the
//! `run.json` of an older anneal (without `config_path`, say) still reads;
//! readers say what they miss.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ReportError, Result};

/// The content of `run.json`. `train` fills every field; `eval` leaves out
/// the training ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunInfo {
    pub started_at: String,
    pub finished_at: String,
    pub seconds: Seconds,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_samples_per_second: Option<f64>,
    pub threads: usize,
    pub command: Vec<String>,
    /// The data file, absolute (so that `anneal gate` finds it again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_path: Option<String>,
    /// The config, absolute (so that `anneal verify` can rerun it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// Whether `train` resumed an interrupted run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<bool>,
}

/// Wall-clock seconds: in all, and (`train`) in the data and training
/// stages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Seconds {
    pub total: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train: Option<f64>,
}

impl RunInfo {
    /// The record of a run that finishes now: the clock and the thread
    /// count filled in, the training fields left out. `command` is what
    /// the front-end was asked to do (the CLI's arguments).
    pub fn finished_now(
        started_at: String,
        seconds: Seconds,
        data_path: String,
        command: Vec<String>,
    ) -> RunInfo {
        RunInfo {
            started_at,
            finished_at: anneal_core::time::utc_now(),
            seconds,
            train_samples_per_second: None,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            command,
            data_path: Some(data_path),
            config_path: None,
            resumed: None,
        }
    }

    /// `run.json`'s text: canonical JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(anneal_core::json::to_canonical_string(self, "run.json")?)
    }

    /// Reads the `run.json` file `file`.
    pub fn read(file: &Path) -> Result<RunInfo> {
        let text = std::fs::read_to_string(file).map_err(|source| ReportError::ReadFile {
            what: "run record",
            path: file.to_path_buf(),
            source,
        })?;
        RunInfo::parse(&text, file)
    }

    /// Parses the text of a `run.json` (`file` names it in errors).
    pub fn parse(text: &str, file: &Path) -> Result<RunInfo> {
        serde_json::from_str(text).map_err(|e| ReportError::Malformed {
            path: file.to_path_buf(),
            reason: format!("not a run record written by anneal: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train_run() -> RunInfo {
        RunInfo {
            started_at: "2026-01-02T03:04:05Z".into(),
            finished_at: "2026-01-02T03:04:09Z".into(),
            seconds: Seconds {
                total: 4.25,
                data: Some(0.5),
                train: Some(3.0),
            },
            train_samples_per_second: Some(1000.0),
            threads: 8,
            command: vec!["anneal".into(), "train".into()],
            data_path: Some("/d/data.csv".into()),
            config_path: Some("/d/anneal.toml".into()),
            resumed: Some(false),
        }
    }

    #[test]
    fn the_bytes_of_the_json_it_replaces() {
        let r = train_run();
        let before = serde_json::json!({
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "seconds": {"total": 4.25, "data": 0.5, "train": 3.0},
            "train_samples_per_second": 1000.0,
            "threads": 8,
            "command": ["anneal", "train"],
            "data_path": "/d/data.csv",
            "config_path": "/d/anneal.toml",
            "resumed": false,
        });
        assert_eq!(r.to_json().unwrap(), anneal_core::json::canonical(&before));
        let eval = RunInfo {
            seconds: Seconds {
                total: 1.0,
                ..Seconds::default()
            },
            train_samples_per_second: None,
            config_path: None,
            resumed: None,
            ..train_run()
        };
        let before = serde_json::json!({
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "seconds": {"total": 1.0},
            "threads": 8,
            "command": ["anneal", "train"],
            "data_path": "/d/data.csv",
        });
        assert_eq!(
            eval.to_json().unwrap(),
            anneal_core::json::canonical(&before)
        );
    }

    #[test]
    fn run_json_reads_back_as_written() {
        let r = train_run();
        let text = r.to_json().unwrap();
        assert_eq!(RunInfo::parse(&text, Path::new("run.json")).unwrap(), r);
        // An older run without the config's path still reads.
        let old = RunInfo::parse(r#"{"data_path": "/d.csv"}"#, Path::new("run.json")).unwrap();
        assert_eq!(old.data_path.as_deref(), Some("/d.csv"));
        assert_eq!(old.config_path, None);
        let e = RunInfo::parse(r#"{"threads": "8"}"#, Path::new("r/run.json")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "r/run.json: not a run record written by anneal: invalid type: string \"8\", expected usize at line 1 column 15"
        );
    }
}
