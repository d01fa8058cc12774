//! The documents of a run, all rendered from one [`Report`] value:
//! `report.json` (canonical JSON for machines and CI diffs), `metrics.json`
//! (flat figures `dvc metrics diff` reads), `plots/` (the CSV/JSON shapes
//! `dvc plots` reads), `report.md` (a pull-request comment) and
//! `report.html` (one self-contained page with SVG plots).
//!
//! Every renderer is a pure function of the report, so the same run gives
//! the same bytes in every file.

pub mod dvc;
pub mod error;
pub mod html;
pub mod markdown;
pub mod metrics_csv;
pub mod plots;
pub mod predictions_csv;
pub mod report;
pub mod run_info;
pub mod write;

pub use error::{ReportError, Result};
pub use markdown::render_markdown;
pub use report::{CpuInfo, ModelSummary, Report, Reproducibility, SCHEMA_VERSION, TrainingSummary};
pub use run_info::RunInfo;
pub use write::write_documents;
