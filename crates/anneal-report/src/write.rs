//! Writing every document of a report into a folder, each atomically.

use std::path::Path;

use anneal_core::{fsio, json};

use crate::error::{ReportError, Result};
use crate::report::Report;

/// Writes `report.json`, `metrics.json`, `report.md`, `report.html` and
/// `plots/` into `dir` (which must exist).
pub fn write_documents(dir: &Path, r: &Report) -> Result<()> {
    let write = |name: &str, text: &str| -> Result<()> {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ReportError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        Ok(fsio::atomic_write(&path, text.as_bytes())?)
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
