//! `metrics.csv`: the training history in Lightning's CSVLogger long
//! shape, one figure a line: `epoch,split,metric,value` (`train` `loss` and
//! `learning_rate` every epoch; `valid` `loss` and `monitor` when there is
//! a validation split). `train` writes it with [`render`]; [`parse`] reads
//! it back into the epochs it was written from.
//!
//! The file has no version field: its header is its layout, and the
//! reader refuses any other header.

use std::fmt::Write as _;
use std::path::Path;

use anneal_model::EpochLog;

use crate::error::{ReportError, Result};

/// The header line (without its newline).
pub const HEADER: &str = "epoch,split,metric,value";

/// The text of `metrics.csv` for `history`.
pub fn render(history: &[EpochLog]) -> String {
    let mut s = format!("{HEADER}\n");
    for h in history {
        let _ = writeln!(s, "{},train,loss,{}", h.epoch, h.train_loss);
        let _ = writeln!(s, "{},train,learning_rate,{}", h.epoch, h.learning_rate);
        if let Some(v) = h.valid_loss {
            let _ = writeln!(s, "{},valid,loss,{}", h.epoch, v);
        }
        if let Some(v) = h.valid_metric {
            let _ = writeln!(s, "{},valid,monitor,{}", h.epoch, v);
        }
    }
    s
}

/// Reads the `metrics.csv` file `file`.
pub fn read(file: &Path) -> Result<Vec<EpochLog>> {
    let text = std::fs::read_to_string(file).map_err(|source| ReportError::ReadFile {
        what: "training log",
        path: file.to_path_buf(),
        source,
    })?;
    parse(&text, file)
}

/// Parses the text of a `metrics.csv` (`file` names it in errors).
pub fn parse(text: &str, file: &Path) -> Result<Vec<EpochLog>> {
    let bad = |reason: String| ReportError::Malformed {
        path: file.to_path_buf(),
        reason,
    };
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if header != HEADER {
        return Err(bad(format!(
            "header {header:?} is not a training log's ({HEADER:?})"
        )));
    }
    let mut history: Vec<EpochLog> = Vec::new();
    for (i, line) in lines.enumerate() {
        let at = |what: &str| bad(format!("line {}: {what}: {line:?}", i + 2));
        let fields: Vec<&str> = line.split(',').collect();
        let [epoch, split, metric, value] = fields[..] else {
            return Err(at("expected 4 fields"));
        };
        let epoch: u32 = epoch.parse().map_err(|_| at("not an epoch number"))?;
        let value: f64 = value.parse().map_err(|_| at("not a number"))?;
        if history.last().is_none_or(|h| h.epoch != epoch) {
            history.push(EpochLog {
                epoch,
                learning_rate: f64::NAN,
                train_loss: f64::NAN,
                valid_loss: None,
                valid_metric: None,
            });
        }
        let Some(h) = history.last_mut() else {
            return Err(at("no epoch"));
        };
        match (split, metric) {
            ("train", "loss") => h.train_loss = value,
            ("train", "learning_rate") => h.learning_rate = value,
            ("valid", "loss") => h.valid_loss = Some(value),
            ("valid", "monitor") => h.valid_metric = Some(value),
            _ => return Err(at("unknown split and metric")),
        }
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(e: u32, valid: bool) -> EpochLog {
        EpochLog {
            epoch: e,
            learning_rate: 0.01 / f64::from(e),
            train_loss: 1.0 / 3.0 / f64::from(e),
            valid_loss: valid.then_some(0.5),
            valid_metric: valid.then_some(0.875),
        }
    }

    #[test]
    fn history_reads_back_as_written() {
        let history = vec![epoch(1, true), epoch(2, true), epoch(3, true)];
        let text = render(&history);
        assert_eq!(
            text.lines().take(3).collect::<Vec<_>>(),
            [
                "epoch,split,metric,value",
                "1,train,loss,0.3333333333333333",
                "1,train,learning_rate,0.01"
            ]
        );
        assert_eq!(parse(&text, Path::new("metrics.csv")).unwrap(), history);
        let no_valid = vec![epoch(1, false), epoch(2, false)];
        assert_eq!(
            parse(&render(&no_valid), Path::new("metrics.csv")).unwrap(),
            no_valid
        );
    }

    #[test]
    fn another_header_is_refused() {
        let e = parse(
            "step,epoch,split,metric,value\n",
            Path::new("run/metrics.csv"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "run/metrics.csv: header \"step,epoch,split,metric,value\" is not a training log's (\"epoch,split,metric,value\")"
        );
        let e = parse(
            "epoch,split,metric,value\n1,train,loss,x\n",
            Path::new("m.csv"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.csv: line 2: not a number: \"1,train,loss,x\""
        );
    }
}
