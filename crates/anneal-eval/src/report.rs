//! The run report: one serialisable value rendered as canonical JSON
//! (`report.json`) and as Markdown (`report.md`). It holds no wall-clock
//! value, so the same run always gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write;

use anneal_data::stats::DataStats;
use anneal_model::{Architecture, EpochLog};
use serde::Serialize;

use crate::evaluate::SplitEval;

/// Bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub task: String,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// `metrics.<split>.<metric>`: the headline numbers.
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    /// Per split: confusion matrix, per-class figures, row counts.
    pub evaluation: BTreeMap<String, SplitEval>,
    pub data: DataStats,
    pub model: ModelSummary,
    pub training: TrainingSummary,
    pub reproducibility: Reproducibility,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    pub kind: String,
    pub architecture: Architecture,
    pub parameters: usize,
    pub input_names: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainingSummary {
    pub epochs_run: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<u32>,
    pub stopped_early: bool,
    pub steps: u64,
    /// The validation metric watched by early stopping, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    pub history: Vec<EpochLog>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reproducibility {
    pub config_sha256: String,
    pub data_sha256: String,
    pub seed: u64,
    pub backend: String,
    /// Whether the backend promises bit-identical results for this seed.
    pub bit_reproducible: bool,
    pub versions: BTreeMap<String, String>,
}

fn fmt_metric(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else {
        format!("{v:.4}")
    }
}

/// A concise Markdown summary for people (and pull-request comments).
pub fn render_markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# anneal report: {} ({})\n", r.target, r.task);
    let splits: Vec<&String> = r.metrics.keys().collect();
    let mut names: Vec<&String> = r.metrics.values().flat_map(|m| m.keys()).collect();
    names.sort();
    names.dedup();
    let _ = write!(s, "| metric |");
    for sp in &splits {
        let _ = write!(s, " {sp} |");
    }
    let _ = write!(s, "\n|---|");
    for _ in &splits {
        let _ = write!(s, "---:|");
    }
    s.push('\n');
    for name in names {
        let _ = write!(s, "| {name} |");
        for sp in &splits {
            let v = r.metrics[*sp].get(name).copied().unwrap_or(f64::NAN);
            let _ = write!(s, " {} |", fmt_metric(v));
        }
        s.push('\n');
    }
    if let (Some(labels), Some(test)) = (
        &r.labels,
        r.evaluation
            .get("test")
            .or_else(|| r.evaluation.get("valid"))
            .and_then(|e| e.classification.as_ref()),
    ) {
        let _ = writeln!(
            s,
            "\n## Confusion matrix (rows: true, columns: predicted)\n"
        );
        let _ = write!(s, "| |");
        for l in labels {
            let _ = write!(s, " {l} |");
        }
        let _ = write!(s, "\n|---|");
        for _ in labels {
            let _ = write!(s, "---:|");
        }
        s.push('\n');
        for (l, row) in labels.iter().zip(&test.confusion) {
            let _ = write!(s, "| **{l}** |");
            for v in row {
                let _ = write!(s, " {v} |");
            }
            s.push('\n');
        }
    }
    let d = &r.data;
    let _ = writeln!(s, "\n## Data\n");
    let _ = writeln!(
        s,
        "`{}` ({} bytes, sha256 `{}`): {} rows read, {} without a target, {} filtered, {} duplicates; {} used: {} train / {} valid / {} test.",
        d.source.path,
        d.source.bytes,
        d.source.sha256,
        d.rows.read,
        d.rows.missing_target,
        d.rows.filtered,
        d.rows.duplicates,
        d.rows.used,
        d.rows.train,
        d.rows.valid,
        d.rows.test
    );
    let feats: Vec<String> = d
        .columns
        .iter()
        .filter(|c| c.role == "feature")
        .map(|c| format!("`{}` ({})", c.name, c.kind.as_deref().unwrap_or("?")))
        .collect();
    let _ = writeln!(s, "\nFeatures: {}.", feats.join(", "));
    let m = &r.model;
    let _ = writeln!(s, "\n## Model and training\n");
    let _ = writeln!(
        s,
        "{} {:?} → {:?} → {} ({:?}), {} parameters; {} epochs ({} steps){}{}.",
        m.kind,
        m.architecture.inputs,
        m.architecture.hidden,
        m.architecture.outputs,
        m.architecture.activation,
        m.parameters,
        r.training.epochs_run,
        r.training.steps,
        r.training
            .best_epoch
            .map(|b| format!(", best epoch {b}"))
            .unwrap_or_default(),
        if r.training.stopped_early {
            ", stopped early"
        } else {
            ""
        }
    );
    if let Some(last) = r.training.history.last() {
        let _ = writeln!(
            s,
            "Final train loss {}{}.",
            fmt_metric(last.train_loss),
            last.valid_loss
                .map(|v| format!(", valid loss {}", fmt_metric(v)))
                .unwrap_or_default()
        );
    }
    let p = &r.reproducibility;
    let _ = writeln!(s, "\n## Reproducibility\n");
    let _ = writeln!(
        s,
        "seed {}, backend {} ({}), config sha256 `{}`, versions: {}.",
        p.seed,
        p.backend,
        if p.bit_reproducible {
            "bit-reproducible"
        } else {
            "not bit-reproducible"
        },
        p.config_sha256,
        p.versions
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(id) = &r.artifact_id {
        let _ = writeln!(s, "Artifact id `{id}`.");
    }
    s
}
