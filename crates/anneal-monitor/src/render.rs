//! The monitor document for people and CI: `monitor.md` (a summary for a
//! pull request, a chat message or `$GITHUB_STEP_SUMMARY`),
//! `monitor.html` (one self-contained page of time-series plots in the
//! style of `report.html`) and `monitor.junit.xml` (one test case per
//! policy check). Each is a pure function of the document.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anneal_core::text::{html_escape as escape, md_cell_lf as md_cell, thousands};
use anneal_gate::verdict::fmt_num;
use anneal_report::plots::{self, Series};

use crate::document::{MonitorDoc, WindowDoc};
use crate::error::{MonitorError, Result};

/// The metrics the policy watched (those its checks name), in check order.
pub fn watched_metrics(doc: &MonitorDoc) -> Vec<String> {
    doc.verdict
        .checks
        .iter()
        .filter(|c| c.kind == "metric_drop")
        .map(|c| c.statistic.clone())
        .collect()
}

/// JUnit XML of the policy's verdict.
pub fn junit(doc: &MonitorDoc) -> Result<String> {
    doc.verdict
        .to_junit()
        .map_err(|e| MonitorError::Output(e.to_string()))
}

/// `monitor.md`.
pub fn markdown(doc: &MonitorDoc) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# anneal monitor: {} ({})\n",
        md_cell(&doc.target),
        doc.task
    );
    for line in facts(doc) {
        let _ = writeln!(s, "- {}", md_cell(&line));
    }
    s.push('\n');
    s.push_str(&doc.verdict.to_markdown().replacen("## ", "## Policy ", 1));
    let metrics = watched_metrics(doc);
    s.push_str("\n## Windows\n\n| Window | Rows | Labelled |");
    for m in &metrics {
        let _ = write!(s, " {} |", md_cell(m));
    }
    s.push_str(" Prediction shift | Largest drift | Alerts |\n|---|---|---|");
    s.push_str(&"---|".repeat(metrics.len() + 3));
    s.push('\n');
    for w in &doc.windows {
        let _ = write!(s, "| {} | {} | {} |", w.start, w.rows, w.labelled);
        for m in &metrics {
            let _ = write!(s, " {} |", metric_cell(w, m));
        }
        let shift: Vec<String> = w
            .prediction_shift
            .iter()
            .map(|(k, v)| format!("{k} {}", fmt_num(*v)))
            .collect();
        let alerts: Vec<String> = w
            .alerts
            .iter()
            .map(|a| format!("`{}`", md_cell(a)))
            .collect();
        let _ = writeln!(
            s,
            " {} | {} | {} |",
            shift.join(", "),
            largest_drift(w)
                .map(|(c, st, v)| format!("{} {st} {}", md_cell(&c), fmt_num(v)))
                .unwrap_or_default(),
            alerts.join(" ")
        );
    }
    if !doc.skipped.is_empty() {
        s.push_str("\n## Skipped log input\n\n");
        for k in &doc.skipped {
            let at = k.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = writeln!(s, "- `{}{at}`: {}", md_cell(&k.file), md_cell(&k.reason));
        }
    }
    s
}

/// The headline facts, one line each.
fn facts(doc: &MonitorDoc) -> Vec<String> {
    let j = &doc.join;
    let mut out = vec![
        format!("artifact: {}", doc.artifact_id),
        format!(
            "{} windows of {}, {} predicted rows, {} labelled",
            doc.windows.len(),
            doc.window,
            thousands(doc.rows),
            thousands(j.labelled)
        ),
    ];
    if j.label_rows > 0 {
        out.push(format!(
            "labels: {} rows, {} unknown ids, {} empty, {} duplicates, {} unusable",
            thousands(j.label_rows),
            thousands(j.unknown_ids),
            thousands(j.empty),
            thousands(j.duplicates),
            thousands(j.unusable)
        ));
    }
    if !doc.skipped.is_empty() {
        out.push(format!(
            "skipped log input: {} (listed below)",
            doc.skipped.len()
        ));
    }
    for (k, v) in &doc.inputs {
        out.push(format!("{k}: {v}"));
    }
    out
}

fn metric_cell(w: &WindowDoc, m: &str) -> String {
    match (w.metrics.get(m), w.intervals.get(m)) {
        (Some(v), Some(iv)) => format!(
            "{} [{}, {}]",
            fmt_num(*v),
            fmt_num(iv.lower),
            fmt_num(iv.upper)
        ),
        (Some(v), None) => fmt_num(*v),
        _ => String::new(),
    }
}

/// The column with the largest PSI or Jensen-Shannon distance.
fn largest_drift(w: &WindowDoc) -> Option<(String, String, f64)> {
    w.drift
        .iter()
        .flat_map(|(col, stats)| {
            stats
                .iter()
                .filter(|(st, _)| *st == "psi" || *st == "jensen_shannon")
                .map(move |(st, v)| (col.clone(), st.clone(), *v))
        })
        .max_by(|a, b| a.2.total_cmp(&b.2))
}

/// `monitor.html`.
pub fn html(doc: &MonitorDoc) -> Result<String> {
    let mut s = String::with_capacity(64 * 1024);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"anneal\">\n\
         <title>anneal monitor: {}</title>\n<style>{}</style>\n</head>\n<body>\n",
        escape(&doc.target),
        anneal_report::html::STYLE
    );
    let _ = write!(
        s,
        "<header class=\"top\"><div class=\"wrap\"><p class=\"eyebrow\">anneal monitor</p>\
         <h1>{} <span class=\"task\">{}</span></h1><dl class=\"facts\">",
        escape(&doc.target),
        escape(&doc.task)
    );
    for f in facts(doc) {
        let (k, v) = f.split_once(": ").unwrap_or(("", &f));
        let _ = write!(s, "<div><dt>{}</dt><dd>{}</dd></div>", escape(k), escape(v));
    }
    s.push_str("</dl></div></header>\n<main class=\"wrap\">\n");
    verdict_section(&mut s, doc);
    plots_section(&mut s, doc)?;
    windows_section(&mut s, doc);
    s.push_str("</main>\n<footer class=\"wrap\">Generated by anneal. This page is self-contained: no scripts, no external resources.</footer>\n</body>\n</html>\n");
    Ok(s)
}

fn verdict_section(s: &mut String, doc: &MonitorDoc) {
    let v = &doc.verdict;
    let tag = if v.exit_code() == 0 { "ok" } else { "warn" };
    let _ = writeln!(
        s,
        "<section id=\"policy\"><h2>Policy <span class=\"tag {tag}\">{}</span></h2>\
         <div class=\"scroll\"><table><thead><tr><th>Status</th><th>Check</th><th class=\"n\">Value</th>\
         <th>Threshold</th><th>Message</th></tr></thead><tbody>",
        escape(v.outcome_name())
    );
    for c in &v.checks {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            c.status.name(),
            escape(&c.name),
            c.value.map(fmt_num).unwrap_or_default(),
            escape(c.threshold.as_deref().unwrap_or("")),
            escape(&c.message)
        );
    }
    s.push_str("</tbody></table></div></section>\n");
}

/// One plot to draw: id, title, y axis, series, dashed references, caption.
struct Plot {
    id: String,
    title: String,
    y_desc: String,
    series: Vec<Series>,
    references: Vec<(String, f64)>,
    caption: String,
}

/// A series of one value per window.
fn per_window(name: &str, doc: &MonitorDoc, value: impl Fn(&WindowDoc) -> Option<f64>) -> Series {
    Series {
        name: name.to_string(),
        values: doc.windows.iter().map(value).collect(),
        band: Vec::new(),
    }
}

/// The plots: each watched metric with its intervals, the drift
/// statistics of the most drifting columns, the predictions, the rows.
fn plots_section(s: &mut String, doc: &MonitorDoc) -> Result<()> {
    let labels: Vec<String> = doc.windows.iter().map(|w| short_time(&w.start)).collect();
    let mut plots_to_draw = metric_plots(doc);
    plots_to_draw.extend(drift_plots(doc));
    let keys: Vec<String> = doc
        .windows
        .first()
        .map(|w| w.predictions.keys().cloned().collect())
        .unwrap_or_default();
    plots_to_draw.push(Plot {
        id: "predictions".into(),
        title: "Predictions by window".into(),
        y_desc: "share or mean".into(),
        series: keys
            .iter()
            .map(|k| per_window(k, doc, |w| w.predictions.get(k).copied()))
            .collect(),
        references: Vec::new(),
        caption: "The share of each predicted class (or the mean prediction) in each window."
            .into(),
    });
    plots_to_draw.push(Plot {
        id: "rows".into(),
        title: "Rows by window".into(),
        y_desc: "rows".into(),
        series: vec![
            per_window("rows", doc, |w| Some(w.rows as f64)),
            per_window("labelled", doc, |w| Some(w.labelled as f64)),
        ],
        references: Vec::new(),
        caption: "Predicted and labelled rows per window.".into(),
    });
    s.push_str("<section id=\"plots\"><h2>Over time</h2><div class=\"figs\">\n");
    for p in plots_to_draw {
        let svg = plots::time_series(&p.title, &p.y_desc, &labels, &p.series, &p.references)
            .map_err(|e| MonitorError::Output(e.to_string()))?;
        if let Some(svg) = svg {
            anneal_report::html::figure(s, &p.id, &svg, &p.title, &escape(&p.caption));
        }
    }
    s.push_str("</div></section>\n");
    Ok(())
}

/// Each watched metric with its intervals and the training test value.
fn metric_plots(doc: &MonitorDoc) -> Vec<Plot> {
    watched_metrics(doc)
        .into_iter()
        .map(|m| {
            let mut series = per_window(&m, doc, |w| w.metrics.get(&m).copied());
            series.band = doc
                .windows
                .iter()
                .map(|w| w.intervals.get(&m).map(|iv| (iv.lower, iv.upper)))
                .collect();
            Plot {
                id: format!("metric-{m}"),
                title: format!("{m} by window"),
                y_desc: m.clone(),
                series: vec![series],
                references: doc
                    .reference
                    .get(&m)
                    .map(|&r| vec![("training test".to_string(), r)])
                    .unwrap_or_default(),
                caption: format!("{m} on the labelled rows of each window, with its bootstrap interval; dashed: the training run's test value."),
            }
        })
        .collect()
}

/// Each drift statistic for the columns that reach its highest values.
fn drift_plots(doc: &MonitorDoc) -> Vec<Plot> {
    [
        "psi",
        "jensen_shannon",
        "out_of_range_fraction",
        "unseen_fraction",
        "null_fraction_increase",
    ]
    .into_iter()
    .map(|statistic| Plot {
        id: format!("drift-{statistic}"),
        title: format!("{statistic} by window"),
        y_desc: statistic.to_string(),
        series: top_columns(doc, statistic, 6),
        references: threshold_of(doc, statistic),
        caption: format!("{statistic} of the (up to 6) columns that reach the highest values, against the training profile; dashed: the policy's threshold."),
    })
    .collect()
}

/// `2026-12-04T10:00:00Z` as `12-04 10:00`.
fn short_time(rfc: &str) -> String {
    match (rfc.get(5..10), rfc.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t}"),
        _ => rfc.to_string(),
    }
}

/// The `n` columns with the largest value of `statistic`, as series.
fn top_columns(doc: &MonitorDoc, statistic: &str, n: usize) -> Vec<Series> {
    let mut peak: BTreeMap<&str, f64> = BTreeMap::new();
    for w in &doc.windows {
        for (col, stats) in &w.drift {
            if let Some(&v) = stats.get(statistic) {
                let e = peak.entry(col.as_str()).or_insert(f64::NEG_INFINITY);
                *e = e.max(v);
            }
        }
    }
    let mut cols: Vec<(&str, f64)> = peak.into_iter().collect();
    cols.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    cols.into_iter()
        .take(n)
        .map(|(col, _)| Series {
            name: col.to_string(),
            values: doc
                .windows
                .iter()
                .map(|w| w.drift.get(col).and_then(|s| s.get(statistic)).copied())
                .collect(),
            band: Vec::new(),
        })
        .collect()
}

/// The policy's threshold of `statistic`, from the verdict's checks.
fn threshold_of(doc: &MonitorDoc, statistic: &str) -> Vec<(String, f64)> {
    doc.verdict
        .checks
        .iter()
        .find(|c| c.statistic == statistic && c.column.as_deref() != Some(crate::drift::PREDICTION))
        .and_then(|c| {
            c.threshold
                .as_deref()?
                .trim_start_matches("<= ")
                .parse()
                .ok()
        })
        .map(|t| vec![("threshold".to_string(), t)])
        .unwrap_or_default()
}

fn windows_section(s: &mut String, doc: &MonitorDoc) {
    s.push_str("<section id=\"windows\"><h2>Windows</h2><div class=\"scroll\"><table><thead><tr><th>Window</th><th class=\"n\">Rows</th><th class=\"n\">Labelled</th>");
    let metrics = watched_metrics(doc);
    for m in &metrics {
        let _ = write!(s, "<th class=\"n\">{}</th>", escape(m));
    }
    s.push_str("<th>Alerts</th></tr></thead><tbody>\n");
    for w in &doc.windows {
        let _ = write!(
            s,
            "<tr><th>{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            escape(&w.start),
            w.rows,
            w.labelled
        );
        for m in &metrics {
            let _ = write!(s, "<td class=\"n\">{}</td>", escape(&metric_cell(w, m)));
        }
        let _ = writeln!(
            s,
            "<td><code>{}</code></td></tr>",
            escape(&w.alerts.join(" "))
        );
    }
    s.push_str("</tbody></table></div>");
    if !doc.skipped.is_empty() {
        s.push_str("<h3>Skipped log input</h3><ul>");
        for k in &doc.skipped {
            let at = k.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = write!(
                s,
                "<li><code>{}{at}</code>: {}</li>",
                escape(&k.file),
                escape(&k.reason)
            );
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>\n");
}

/// Every document file of `doc`: (file name, contents).
pub fn documents(doc: &MonitorDoc) -> Result<Vec<(&'static str, String)>> {
    Ok(vec![
        ("monitor.json", doc.to_json()?),
        ("monitor.md", markdown(doc)),
        ("monitor.html", html(doc)?),
        ("monitor.junit.xml", junit(doc)?),
    ])
}
