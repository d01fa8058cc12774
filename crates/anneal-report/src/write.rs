//! Writing every document of a report into a staging folder, each
//! atomically; the folder's commit makes them durable.

use std::collections::BTreeMap;
use std::path::Path;

use anneal_core::{fsio, json};

use crate::error::{ReportError, Result};
use crate::report::Report;

/// Writes `report.json`, `metrics.json`, `report.md`, `report.html` and
/// `plots/` into `dir`, a staging folder (which must exist) whose commit
/// syncs it ([`fsio::write_unsynced`]).
pub fn write_documents(dir: &Path, r: &Report) -> Result<()> {
    let write = |name: &str, text: &str| -> Result<()> {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ReportError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        Ok(fsio::write_unsynced(&path, text.as_bytes())?)
    };
    write("report.json", &r.to_json()?)?;
    write(
        "metrics.json",
        &json::to_canonical_string(&r.metrics, "metrics.json")?,
    )?;
    write("report.md", &crate::render_markdown(r))?;
    write("report.html", &crate::html::render_html(r)?)?;
    for (name, text) in crate::dvc::plot_files(r) {
        write(&name, &text)?;
    }
    Ok(())
}

/// Metrics by split, as `metrics.json` holds them.
pub type Metrics = BTreeMap<String, BTreeMap<String, f64>>;

/// Reads `metrics.json` back. Canonical JSON writes NaN as `null`, which
/// reads as NaN again.
pub fn read_metrics(file: &Path) -> Result<Metrics> {
    type Written = BTreeMap<String, BTreeMap<String, Option<f64>>>;
    let text = std::fs::read_to_string(file).map_err(|source| ReportError::ReadFile {
        what: "metrics",
        path: file.to_path_buf(),
        source,
    })?;
    let written: Written = serde_json::from_str(&text).map_err(|e| ReportError::Malformed {
        path: file.to_path_buf(),
        reason: format!("not metrics by split: {e}"),
    })?;
    Ok(written
        .into_iter()
        .map(|(split, m)| {
            let m = m.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN)));
            (split, m.collect())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_json_reads_back_with_nan_as_nan() {
        let dir = std::env::temp_dir().join(format!("anneal-metrics-json-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("metrics.json");
        let m: Metrics = BTreeMap::from([(
            "test".to_string(),
            BTreeMap::from([
                ("accuracy".to_string(), 0.875),
                ("roc_auc".to_string(), f64::NAN),
            ]),
        )]);
        let text = json::to_canonical_string(&m, "metrics.json").unwrap();
        std::fs::write(&file, text).unwrap();
        let back = read_metrics(&file).unwrap();
        assert_eq!(back["test"]["accuracy"], 0.875);
        assert!(back["test"]["roc_auc"].is_nan());
        std::fs::write(&file, "[1, 2]").unwrap();
        let e = read_metrics(&file).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: not metrics by split", file.display())),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
