//! `report.md`: a concise summary for people and pull-request comments:
//! the figures of every split (with intervals on the headline split), the
//! confusion matrix, slices, data and reproducibility, in that order.

use std::fmt::Write;

use anneal_core::text::md_cell as cell;
use anneal_eval::{Evaluation, Interval};

use crate::report::Report;

/// Four decimals, or `n/a` for an undefined figure.
pub use anneal_core::text::fixed4_or_na as fmt_metric;

fn fmt_with_interval(v: f64, i: Option<&Interval>) -> String {
    match i {
        Some(i) => format!(
            "{} [{}, {}]",
            fmt_metric(v),
            fmt_metric(i.lower),
            fmt_metric(i.upper)
        ),
        None => fmt_metric(v),
    }
}

/// The metric a slice table shows.
pub fn headline_metric(r: &Report) -> &'static str {
    anneal_core::Metric::headline(anneal_core::MetricTask::of(r.labels.is_some())).name()
}

/// A concise Markdown summary for people (and pull-request comments).
pub fn render_markdown(r: &Report) -> String {
    let mut s = String::new();
    let headline = r.headline_split();
    heading_markdown(&mut s, r);
    metrics_markdown(&mut s, r);
    if let Some((name, _)) = headline {
        baseline_markdown(&mut s, r, name);
    }
    if let (Some(labels), Some((name, e))) = (&r.labels, headline)
        && let Some(m) = &e.classification
    {
        confusion_markdown(&mut s, labels, name, &m.confusion);
    }
    if let Some((name, e)) = headline {
        slices_markdown(&mut s, r, name, e);
    }
    data_markdown(&mut s, r);
    model_markdown(&mut s, r);
    reproducibility_markdown(&mut s, r);
    s
}

/// The title and, with a bootstrap, what the intervals are.
fn heading_markdown(s: &mut String, r: &Report) {
    let _ = writeln!(s, "# anneal report: {} ({})\n", cell(&r.target), r.task);
    let headline = r.headline_split();
    let conf = r.evaluation_settings.confidence;
    if let Some((name, _)) = headline
        && r.evaluation_settings.bootstrap > 0
    {
        let _ = writeln!(
            s,
            "Intervals on `{name}` are {:.0}% bootstrap percentile intervals ({} resamples, seed {}).\n",
            conf * 100.0,
            r.evaluation_settings.bootstrap,
            r.evaluation_settings.seed
        );
    }
}

/// Every metric of every split, with intervals on the headline split.
fn metrics_markdown(s: &mut String, r: &Report) {
    let headline = r.headline_split();
    let splits: Vec<&String> = r.metrics.keys().collect();
    let mut names: Vec<&String> = r.metrics.values().flat_map(|m| m.keys()).collect();
    names.sort();
    names.dedup();
    let _ = write!(s, "| metric |");
    for sp in &splits {
        let rows = r.evaluation.get(*sp).map_or(0, |e| e.rows);
        let _ = write!(s, " {sp} (n={rows}) |");
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
            let interval = headline
                .filter(|(h, _)| h == sp)
                .and_then(|(_, e)| e.intervals.get(name));
            let _ = write!(s, " {} |", fmt_with_interval(v, interval));
        }
        s.push('\n');
    }
}

/// The confusion matrix of the headline split `name`.
fn confusion_markdown(s: &mut String, labels: &[String], name: &str, confusion: &[Vec<u64>]) {
    let _ = writeln!(
        s,
        "\n## Confusion matrix on `{name}` (rows: true, columns: predicted)\n"
    );
    let _ = write!(s, "| |");
    for l in labels {
        let _ = write!(s, " {} |", cell(l));
    }
    let _ = write!(s, "\n|---|");
    for _ in labels {
        let _ = write!(s, "---:|");
    }
    s.push('\n');
    for (l, row) in labels.iter().zip(confusion) {
        let _ = write!(s, "| **{}** |", cell(l));
        for v in row {
            let _ = write!(s, " {v} |");
        }
        s.push('\n');
    }
}

/// Where the data came from and how many rows were used.
fn data_markdown(s: &mut String, r: &Report) {
    let d = &r.data;
    let _ = writeln!(s, "\n## Data\n");
    let used = if d.rows.eval > 0 {
        format!("{} evaluated", d.rows.eval)
    } else {
        format!(
            "{} train / {} valid / {} test",
            d.rows.train, d.rows.valid, d.rows.test
        )
    };
    let _ = writeln!(
        s,
        "`{}` ({} bytes, sha256 `{}`): {} rows read, {} without a target, {} filtered, {} duplicates; {} used: {used}.",
        cell(&d.source.path),
        d.source.bytes,
        d.source.sha256,
        d.rows.read,
        d.rows.missing_target,
        d.rows.filtered,
        d.rows.duplicates,
        d.rows.used,
    );
    let feats: Vec<String> = d
        .columns
        .iter()
        .filter(|c| c.role == "feature")
        .map(|c| format!("`{}` ({})", cell(&c.name), c.kind.as_deref().unwrap_or("?")))
        .collect();
    let _ = writeln!(s, "\nFeatures: {}.", feats.join(", "));
}

/// The network and, for a trained model, how training went.
fn model_markdown(s: &mut String, r: &Report) {
    let m = &r.model;
    let _ = writeln!(
        s,
        "\n## Model{}\n",
        if r.training.is_some() {
            " and training"
        } else {
            ""
        }
    );
    let _ = write!(
        s,
        "{} {:?} → {:?} → {} ({:?}), {} parameters",
        m.kind,
        m.architecture.inputs,
        m.architecture.hidden,
        m.architecture.outputs,
        m.architecture.activation,
        m.parameters,
    );
    match &r.training {
        Some(t) => {
            let _ = writeln!(
                s,
                "; {} epochs ({} steps){}{}.",
                t.epochs_run,
                t.steps,
                t.best_epoch
                    .map(|b| format!(", best epoch {b}"))
                    .unwrap_or_default(),
                if t.stopped_early {
                    ", stopped early"
                } else {
                    ""
                }
            );
            if let Some(last) = t.history.last() {
                let _ = writeln!(
                    s,
                    "Final train loss {}{}.",
                    fmt_metric(last.train_loss),
                    last.valid_loss
                        .map(|v| format!(", valid loss {}", fmt_metric(v)))
                        .unwrap_or_default()
                );
            }
        }
        None => {
            let _ = writeln!(s, ".");
        }
    }
}

/// Seed, backend, hashes, CPU and versions; the artifact id.
fn reproducibility_markdown(s: &mut String, r: &Report) {
    let p = &r.reproducibility;
    let _ = writeln!(s, "\n## Reproducibility\n");
    let _ = writeln!(
        s,
        "seed {}, backend {} ({}), config sha256 `{}`, data sha256 `{}`{}; {} CPU [{}]; versions: {}.",
        p.seed,
        p.backend,
        if p.bit_reproducible {
            "bit-reproducible"
        } else {
            "not bit-reproducible"
        },
        p.config_sha256,
        p.data_sha256,
        p.git_commit
            .as_ref()
            .map(|c| format!(", git commit `{c}`"))
            .unwrap_or_default(),
        p.cpu.arch,
        p.cpu.features.join(", "),
        p.versions
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(id) = &r.artifact_id {
        let _ = writeln!(s, "Artifact id `{id}`.");
    }
}

/// The model against the prior on the headline split.
fn baseline_markdown(s: &mut String, r: &Report, split: &str) {
    let (Some(base), Some(model)) = (r.baseline.get(split), r.metrics.get(split)) else {
        return;
    };
    let _ = writeln!(
        s,
        "\n## Against the baseline on `{split}` (the prior: training class shares, or the mean)\n"
    );
    let _ = writeln!(
        s,
        "| metric | model | baseline | lift |\n|---|---:|---:|---:|"
    );
    for (name, b) in base {
        let Some(m) = model.get(name) else { continue };
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} |",
            fmt_metric(*m),
            fmt_metric(*b),
            fmt_metric(m - b)
        );
    }
}

fn slices_markdown(s: &mut String, r: &Report, split: &str, e: &Evaluation) {
    let metric = headline_metric(r);
    for (column, values) in &e.slices {
        let _ = writeln!(s, "\n## Slices of `{}` on `{split}`\n", cell(column));
        let _ = writeln!(
            s,
            "| {} | rows | {metric} | |\n|---|---:|---:|---|",
            cell(column)
        );
        for (value, sl) in values {
            let v = sl.metrics.get(metric).copied().unwrap_or(f64::NAN);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                cell(value),
                sl.rows,
                fmt_with_interval(v, sl.intervals.get(metric)),
                if sl.small {
                    format!("small (< {} rows)", r.evaluation_settings.min_slice_rows)
                } else {
                    String::new()
                }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_table_escapes_labels() {
        let mut s = String::new();
        let labels = ["a|b".to_string(), "c".to_string()];
        confusion_markdown(&mut s, &labels, "test", &[vec![3, 1], vec![0, 2]]);
        assert_eq!(
            s,
            "\n## Confusion matrix on `test` (rows: true, columns: predicted)\n\n\
             | | a\\|b | c |\n|---|---:|---:|\n| **a\\|b** | 3 | 1 |\n| **c** | 0 | 2 |\n"
        );
    }

    #[test]
    fn intervals_follow_the_figure() {
        let i = Interval {
            lower: 0.5,
            upper: 0.75,
        };
        assert_eq!(fmt_with_interval(0.6, Some(&i)), "0.6000 [0.5000, 0.7500]");
        assert_eq!(fmt_with_interval(f64::NAN, None), "n/a");
    }
}
