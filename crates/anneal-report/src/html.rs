//! `report.html`: one self-contained page for people.
//!
//! Everything is inline: the style sheet, and the plots as `<svg>` elements
//! drawn by [`crate::plots`]. There is no script and no link to anything
//! outside the file, so the page opens the same offline, from a CI artifact
//! or attached to an email. Every piece of user text (column names, class
//! labels, paths) is HTML-escaped.
//!
//! The page is a pure function of the report: maps are `BTreeMap`s, figures
//! have fixed formats, and nothing reads the clock, so the same run gives
//! the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use anneal_core::text::{fixed4_symbols as num, percent, thousands as count};
use anneal_eval::{Evaluation, Interval};

use crate::error::Result;
use crate::plots;
use crate::report::Report;

/// `s` with the five HTML-special characters escaped (the page's one
/// escaping, also used by the sweep leaderboard page).
pub use anneal_core::text::html_escape as escape;

fn interval(iv: &Interval) -> String {
    format!("[{}, {}]", num(iv.lower), num(iv.upper))
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// A fragment id from user text: ASCII letters, digits, `-` and `_` kept,
/// anything else `-`.
fn slug(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() { "-".to_string() } else { out }
}

/// The metrics shown first, in this order, when present.
const CLASSIFICATION_KEYS: [&str; 6] = [
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "roc_auc",
    "pr_auc",
    "log_loss",
];
const REGRESSION_KEYS: [&str; 4] = ["r2", "rmse", "mae", "mape"];
/// The columns of a slice table (besides the charted metric).
const CLASSIFICATION_SLICE_KEYS: [&str; 4] = ["accuracy", "f1_macro", "roc_auc", "log_loss"];
const REGRESSION_SLICE_KEYS: [&str; 3] = ["r2", "rmse", "mae"];

fn is_classification(r: &Report) -> bool {
    r.labels.is_some()
        || r.evaluation.values().any(|e| e.classification.is_some())
        || matches!(r.task.as_str(), "binary" | "multiclass" | "classification")
}

fn slice_keys(r: &Report) -> &'static [&'static str] {
    if is_classification(r) {
        &CLASSIFICATION_SLICE_KEYS
    } else {
        &REGRESSION_SLICE_KEYS
    }
}

fn key_metrics(r: &Report) -> &'static [&'static str] {
    if is_classification(r) {
        &CLASSIFICATION_KEYS
    } else {
        &REGRESSION_KEYS
    }
}

/// `names`, the key metrics first, then the rest in sorted order.
fn ordered<'a>(names: impl IntoIterator<Item = &'a String>, keys: &[&str]) -> Vec<&'a String> {
    let names: BTreeSet<&String> = names.into_iter().collect();
    let mut out: Vec<&String> = keys
        .iter()
        .filter_map(|k| names.iter().find(|n| n.as_str() == *k).copied())
        .collect();
    out.extend(names.iter().filter(|n| !keys.contains(&n.as_str())));
    out
}

/// The split names, in the order a run produces them.
fn splits(r: &Report) -> Vec<&String> {
    let all: BTreeSet<&String> = r.metrics.keys().chain(r.evaluation.keys()).collect();
    let rank = |s: &str| match s {
        "train" => 0,
        "valid" => 1,
        "test" => 2,
        "eval" => 3,
        _ => 4,
    };
    let mut v: Vec<&String> = all.into_iter().collect();
    v.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    v
}

/// The metric a slice chart shows.
fn slice_metric<'a>(
    r: &Report,
    slices: &'a BTreeMap<String, anneal_eval::SliceEval>,
) -> Option<&'a str> {
    let wanted =
        anneal_core::Metric::headline(anneal_core::MetricTask::of(is_classification(r))).name();
    let names: BTreeSet<&String> = slices.values().flat_map(|s| s.metrics.keys()).collect();
    names
        .iter()
        .find(|n| n.as_str() == wanted)
        .or_else(|| names.iter().find(|n| key_metrics(r).contains(&n.as_str())))
        .or_else(|| names.iter().next())
        .map(|n| n.as_str())
}

/// An inline `<svg>` for HTML: labelled for screen readers, without the
/// XML namespace (implied in HTML, and the only URL plotters writes).
fn inline_svg(svg: &str, label: &str) -> String {
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
        .replacen(
            "<svg ",
            &format!("<svg role=\"img\" aria-label=\"{}\" ", escape(label)),
            1,
        )
}

/// One plot as a `<figure>` with a caption (the sweep and monitor pages
/// use it too).
pub fn figure(out: &mut String, id: &str, svg: &str, label: &str, caption: &str) {
    let _ = write!(
        out,
        "<figure id=\"{}\">\n{}\n<figcaption>{caption}</figcaption>\n</figure>\n",
        escape(id),
        inline_svg(svg, label).trim_end(),
    );
}

/// The page style, shared by every anneal HTML page.
pub const STYLE: &str = r#"
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f3f4f6; --panel: #ffffff; --head: #f9fafb; --accent: #0072b2; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.wrap { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header.top { background: var(--panel); border-bottom: 1px solid var(--line); padding: 26px 0 22px; }
.eyebrow { margin: 0; color: var(--muted); font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .08em; }
h1 { margin: 2px 0 14px; font-size: 28px; line-height: 1.25; word-break: break-word; }
h1 .lead { font-weight: 400; color: var(--muted); }
h1 .task { display: inline-block; vertical-align: middle; margin-left: 10px; padding: 2px 10px; border-radius: 999px; background: #e0f2fe; color: #075985; font-size: 13px; font-weight: 600; }
dl.facts { display: flex; flex-wrap: wrap; gap: 10px 32px; margin: 0; }
dl.facts dt { color: var(--muted); font-size: 12px; }
dl.facts dd { margin: 0; font-weight: 600; word-break: break-all; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 12px; margin-top: 20px; }
.card { background: var(--head); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.3; }
.card .ci { font-size: 12px; }
nav.toc { display: flex; flex-wrap: wrap; gap: 4px 18px; padding-top: 14px; font-size: 14px; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 20px 24px; margin: 18px 0; }
h2 { font-size: 20px; margin: 0 0 12px; }
h3 { font-size: 16px; margin: 22px 0 8px; }
h3:first-child, h2 + h3 { margin-top: 4px; }
p { margin: 6px 0 10px; }
.note { color: var(--muted); font-size: 13px; }
.tables { display: flex; flex-wrap: wrap; gap: 8px 40px; align-items: flex-start; }
.tables > div { flex: 0 1 auto; min-width: 0; max-width: 100%; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; margin: 4px 0 8px; }
th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--head); color: var(--muted); font-size: 12px; font-weight: 600; white-space: nowrap; }
tbody th { font-weight: 500; white-space: nowrap; }
td.n, th.n { text-align: right; white-space: nowrap; }
tbody tr:hover { background: var(--head); }
.ci { color: var(--muted); white-space: nowrap; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 13px; word-break: break-all; }
.tag { display: inline-block; margin-left: 6px; padding: 0 7px; border-radius: 999px; font-size: 11px; font-weight: 600; vertical-align: 1px; }
.tag.small { background: #fef3c7; color: #92400e; }
.tag.ok { background: #dcfce7; color: #166534; }
.tag.warn { background: #fee2e2; color: #991b1b; }
tr.small td, tr.small th { color: var(--muted); }
tr.best td { font-weight: 650; }
.figs { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px; background: #fff; min-width: 0; }
figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figure svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
figcaption { color: var(--muted); font-size: 13px; margin: 8px 4px 0; }
.pair { display: flex; flex-wrap: wrap; gap: 16px 28px; align-items: flex-start; }
.pair > .scroll { flex: 0 1 auto; }
.pair > figure { flex: 0 1 584px; }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--accent); font-size: 14px; }
ul.inline { list-style: none; padding: 0; margin: 4px 0; display: flex; flex-wrap: wrap; gap: 4px 6px; }
ul.inline li { background: var(--head); border: 1px solid var(--line); border-radius: 4px; padding: 0 6px; font-size: 13px; }
footer { color: var(--muted); font-size: 13px; padding: 8px 0 36px; }
@media print { body { background: #fff; } section { border: none; padding: 0; break-inside: avoid; } nav.toc { display: none; } }
"#;

/// The self-contained HTML page of `r`.
pub fn render_html(r: &Report) -> Result<String> {
    let mut s = String::with_capacity(64 * 1024);
    let title = format!("{} ({})", r.target, r.task);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"anneal\">\n\
         <title>anneal report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    header(&mut s, r);
    let headline = r.headline_split();
    let classification = is_classification(r);

    s.push_str("<nav class=\"toc wrap\" aria-label=\"Contents\">");
    let mut toc = vec![("metrics", "Metrics")];
    if classification && headline.is_some_and(|(_, e)| e.classification.is_some()) {
        toc.push(("classes", "Per class"));
    }
    toc.push(("plots", "Plots"));
    if headline.is_some_and(|(_, e)| !e.slices.is_empty()) {
        toc.push(("slices", "Slices"));
    }
    toc.extend([
        ("data", "Data"),
        ("model", "Model"),
        ("reproducibility", "Reproducibility"),
    ]);
    for (id, name) in toc {
        let _ = write!(s, "<a href=\"#{id}\">{name}</a>");
    }
    s.push_str("</nav>\n<main class=\"wrap\">\n");

    metrics_section(&mut s, r);
    if let Some((split, e)) = headline {
        per_class_section(&mut s, r, split, e);
    }
    plots_section(&mut s, r)?;
    if let Some((split, e)) = headline {
        slices_section(&mut s, r, split, e)?;
    }
    data_section(&mut s, r);
    model_section(&mut s, r);
    reproducibility_section(&mut s, r);
    s.push_str("</main>\n<footer class=\"wrap\">");
    let _ = write!(
        s,
        "Generated by anneal{} (report schema {}). This page is self-contained: no scripts, no external resources.",
        r.reproducibility
            .versions
            .get("anneal")
            .map(|v| format!(" {}", escape(v)))
            .unwrap_or_default(),
        r.schema_version
    );
    s.push_str("</footer>\n</body>\n</html>\n");
    Ok(s)
}

fn header(s: &mut String, r: &Report) {
    let _ = write!(
        s,
        "<header class=\"top\">\n<div class=\"wrap\">\n<p class=\"eyebrow\">anneal run report</p>\n\
         <h1><span class=\"lead\">Predicting</span> <span class=\"target\">{}</span><span class=\"task\">{}</span></h1>\n<dl class=\"facts\">\n",
        escape(&r.target),
        escape(&r.task)
    );
    let headline = r.headline_split();
    let mut fact = |k: &str, v: String| {
        let _ = writeln!(s, "<div><dt>{k}</dt><dd>{v}</dd></div>");
    };
    fact(
        "headline split",
        headline.map_or("none".to_string(), |(n, e)| {
            format!("{} ({} rows)", escape(n), count(e.rows))
        }),
    );
    fact("model", escape(&r.model.kind));
    fact(
        "artifact",
        r.artifact_id.as_deref().map_or("none".to_string(), |a| {
            format!("<code>{}</code>", escape(a))
        }),
    );
    fact(
        "data",
        format!("<code>{}</code>", escape(&r.data.source.path)),
    );
    fact("seed", r.reproducibility.seed.to_string());
    s.push_str("</dl>\n");

    if let Some((split, e)) = headline {
        let values = r.metrics.get(split).unwrap_or(&e.metrics);
        let keys: Vec<&String> = ordered(values.keys(), key_metrics(r))
            .into_iter()
            .filter(|k| key_metrics(r).contains(&k.as_str()))
            .collect();
        if !keys.is_empty() {
            s.push_str("<div class=\"cards\">\n");
            for k in keys {
                let v = values.get(k).copied().unwrap_or(f64::NAN);
                let ci = e
                    .intervals
                    .get(k)
                    .map(|iv| {
                        format!(
                            "<div class=\"ci\">{} CI {}</div>",
                            percent(r.evaluation_settings.confidence),
                            interval(iv)
                        )
                    })
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "<div class=\"card\"><div class=\"k\">{}</div><div class=\"v\">{}</div>{ci}</div>",
                    escape(k),
                    num(v)
                );
            }
            s.push_str("</div>\n");
        }
    }
    s.push_str("</div>\n</header>\n");
}

fn metrics_section(s: &mut String, r: &Report) {
    let settings = &r.evaluation_settings;
    let level = percent(settings.confidence);
    s.push_str("<section id=\"metrics\">\n<h2>Metrics</h2>\n");
    if settings.bootstrap > 0 {
        let _ = writeln!(
            s,
            "<p class=\"note\">Intervals are {level} bootstrap percentile intervals over {} resamples (seed {}).</p>",
            count(u64::from(settings.bootstrap)),
            settings.seed
        );
    } else {
        s.push_str("<p class=\"note\">No intervals: bootstrap resampling is off (<code>eval.bootstrap = 0</code>).</p>\n");
    }
    let splits = splits(r);
    if splits.is_empty() {
        s.push_str("<p>No split was evaluated.</p>\n");
    }
    s.push_str("<div class=\"tables\">\n");
    for split in splits {
        let e = r.evaluation.get(split);
        let values = r.metrics.get(split).or(e.map(|e| &e.metrics));
        let empty = BTreeMap::new();
        let values = values.unwrap_or(&empty);
        let intervals = e.map(|e| &e.intervals);
        let has_iv = intervals.is_some_and(|iv| !iv.is_empty());
        let rows = e
            .map(|e| format!(" <span class=\"note\">{} rows</span>", count(e.rows)))
            .unwrap_or_default();
        let base = r.baseline.get(split);
        let _ = write!(
            s,
            "<div>\n<h3>{}{rows}</h3>\n<div class=\"scroll\"><table>\n<thead><tr><th>metric</th><th class=\"n\">value</th>{}{}</tr></thead>\n<tbody>\n",
            escape(split),
            if has_iv {
                format!("<th class=\"n\">{level} CI</th>")
            } else {
                String::new()
            },
            if base.is_some() {
                "<th class=\"n\" title=\"the prior: training class shares, or the mean\">baseline</th><th class=\"n\">lift</th>"
            } else {
                ""
            }
        );
        if values.is_empty() {
            let _ = writeln!(
                s,
                "<tr><td colspan=\"{}\" class=\"note\">no metrics</td></tr>",
                if has_iv { 3 } else { 2 }
            );
        }
        for name in ordered(values.keys(), key_metrics(r)) {
            let _ = write!(
                s,
                "<tr><th>{}</th><td class=\"n\">{}</td>",
                escape(name),
                num(values[name])
            );
            if has_iv {
                let iv = intervals
                    .and_then(|iv| iv.get(name))
                    .map(interval)
                    .unwrap_or_default();
                let _ = write!(s, "<td class=\"n ci\">{iv}</td>");
            }
            if let Some(base) = base {
                let (b, lift) = match base.get(name) {
                    Some(b) => (num(*b), num(values[name] - b)),
                    None => (String::new(), String::new()),
                };
                let _ = write!(s, "<td class=\"n\">{b}</td><td class=\"n\">{lift}</td>");
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody>\n</table></div>\n</div>\n");
    }
    s.push_str("</div>\n</section>\n");
}

fn class_label(r: &Report, i: usize) -> String {
    r.labels
        .as_ref()
        .and_then(|l| l.get(i))
        .cloned()
        .unwrap_or_else(|| i.to_string())
}

fn per_class_section(s: &mut String, r: &Report, split: &str, e: &Evaluation) {
    let Some(c) = &e.classification else {
        return;
    };
    let _ = write!(
        s,
        "<section id=\"classes\">\n<h2>Per class <span class=\"note\">({} split)</span></h2>\n\
         <div class=\"scroll\"><table>\n<thead><tr><th>class</th><th class=\"n\">precision</th>\
         <th class=\"n\">recall</th><th class=\"n\">F1</th><th class=\"n\">support</th></tr></thead>\n<tbody>\n",
        escape(split)
    );
    for (i, st) in c.per_class.iter().enumerate() {
        let _ = writeln!(
            s,
            "<tr><th>{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&class_label(r, i)),
            num(st.precision),
            num(st.recall),
            num(st.f1),
            count(st.support)
        );
    }
    if c.per_class.is_empty() {
        s.push_str("<tr><td colspan=\"5\" class=\"note\">no rows</td></tr>\n");
    }
    s.push_str("</tbody>\n</table></div>\n<p class=\"note\">Precision, recall and F1 of each class against the rest; a class never predicted has precision 0.</p>\n</section>\n");
}

fn plots_section(s: &mut String, r: &Report) -> Result<()> {
    s.push_str("<section id=\"plots\">\n<h2>Plots</h2>\n<div class=\"figs\">\n");
    let mut f = Figures {
        s,
        drawn: 0,
        missing: Vec::new(),
    };
    if let Some(t) = &r.training {
        loss_figure(&mut f, t)?;
    }
    match r.headline_split() {
        None => f
            .missing
            .push("evaluation plots (no split was evaluated)".into()),
        Some((split, e)) => {
            if let Some(c) = &e.classification {
                classification_figures(&mut f, r, split, e, c)?;
            }
            if let Some(res) = &e.curves.residuals {
                residual_figure(&mut f, split, e, res)?;
            } else if e.classification.is_none() && e.regression.is_some() {
                f.missing
                    .push("residual plot (no residuals recorded)".into());
            }
        }
    }
    let Figures { s, drawn, missing } = f;
    s.push_str("</div>\n");
    if drawn == 0 {
        s.push_str("<p>No plot could be drawn.</p>\n");
    }
    if !missing.is_empty() {
        s.push_str("<p class=\"note\">Not drawn: ");
        s.push_str(
            &missing
                .iter()
                .map(|m| escape(m))
                .collect::<Vec<_>>()
                .join("; "),
        );
        s.push_str(".</p>\n");
    }
    s.push_str("</section>\n");
    Ok(())
}

/// The plots section's figures as they are drawn, and what could not be.
struct Figures<'a> {
    s: &'a mut String,
    drawn: usize,
    missing: Vec<String>,
}

impl Figures<'_> {
    /// Adds the figure `svg` with its caption, or notes `missing` when the
    /// plot could not be drawn.
    fn add(
        &mut self,
        svg: Option<String>,
        id: &str,
        label: &str,
        caption: impl FnOnce() -> String,
        missing: &str,
    ) {
        match svg {
            Some(svg) => {
                figure(self.s, id, &svg, label, &caption());
                self.drawn += 1;
            }
            None => self.missing.push(missing.into()),
        }
    }
}

/// Training and validation loss by epoch.
fn loss_figure(f: &mut Figures<'_>, t: &crate::report::TrainingSummary) -> Result<()> {
    let svg = plots::loss_curves(&t.history)?;
    f.add(
        svg,
        "plot-loss",
        "Loss by epoch",
        || {
            let mut cap = format!(
                "Loss per epoch: training loss (train split) and validation loss (valid split). {} epoch{} run",
                t.epochs_run,
                if t.epochs_run == 1 { "" } else { "s" }
            );
            if let Some(b) = t.best_epoch {
                let _ = write!(cap, "; best epoch {b}");
            }
            if let Some(m) = &t.monitor {
                let _ = write!(cap, " by <code>{}</code>", escape(m));
            }
            if t.stopped_early {
                cap.push_str("; stopped early");
            }
            cap.push('.');
            cap
        },
        "loss curves (no finite loss was recorded)",
    );
    Ok(())
}

/// A classifier's confusion matrix, ROC, precision-recall and calibration
/// curves on the headline split.
fn classification_figures(
    f: &mut Figures<'_>,
    r: &Report,
    split: &str,
    e: &Evaluation,
    c: &anneal_eval::metrics::ClassificationMetrics,
) -> Result<()> {
    let split_e = escape(split);
    let labels: Vec<String> = (0..c.confusion.len().max(c.per_class.len()))
        .map(|i| class_label(r, i))
        .collect();
    let svg = plots::confusion_heatmap(&labels, &c.confusion)?;
    figure(
        f.s,
        "plot-confusion",
        &svg,
        "Confusion matrix",
        &format!(
            "Confusion matrix on the {split_e} split ({} rows): rows are the true class, columns the predicted one. \
             Each cell shows its count and its share of the row; the shade follows the share.",
            count(c.rows)
        ),
    );
    f.drawn += 1;
    let one_vs_rest = e.curves.roc.len() > 1 || e.curves.calibration.len() > 1;
    let ovr = if one_vs_rest {
        ", one class against the rest"
    } else {
        ""
    };
    f.add(
        plots::roc(&e.curves.roc, c.roc_auc)?,
        "plot-roc",
        "ROC curve",
        || {
            format!(
                "ROC curve on the {split_e} split{ovr}. The dashed diagonal is a random ranking. AUC: {}.",
                c.roc_auc
                    .map_or("undefined (a class is absent)".to_string(), num)
            )
        },
        "ROC curve (a class has no rows in this split)",
    );
    f.add(
        plots::pr(&e.curves.pr, c.pr_auc)?,
        "plot-pr",
        "Precision-recall curve",
        || {
            format!(
                "Precision against recall on the {split_e} split{ovr}, as the decision threshold moves."
            )
        },
        "precision-recall curve (a class has no rows in this split)",
    );
    f.add(
        plots::calibration(&e.curves.calibration)?,
        "plot-calibration",
        "Calibration curve",
        || {
            format!(
                "Reliability diagram on the {split_e} split{ovr}: the share of positives against the mean predicted \
                 probability, in {} equal-width bins (empty bins left out). Points on the dashed diagonal are \
                 perfectly calibrated.",
                r.evaluation_settings.calibration_bins
            )
        },
        "calibration curve (no probabilities to bin)",
    );
    Ok(())
}

/// A regressor's residuals against its predictions on the headline split.
fn residual_figure(
    f: &mut Figures<'_>,
    split: &str,
    e: &Evaluation,
    res: &anneal_eval::Residuals,
) -> Result<()> {
    let split_e = escape(split);
    f.add(
        plots::residuals(res)?,
        "plot-residuals",
        "Residuals against predictions",
        || {
            format!(
                "Residuals (true minus predicted) against the prediction on the {split_e} split, {} point{} \
                 (at most {} are kept, in row order). A good fit scatters evenly around the dashed zero line.{}",
                count(res.predicted.len().min(res.residual.len()) as u64),
                if res.predicted.len() == 1 { "" } else { "s" },
                count(anneal_eval::evaluate::MAX_RESIDUAL_POINTS as u64),
                e.regression
                    .as_ref()
                    .filter(|m| !m.residual_quantiles.is_empty())
                    .map(|m| format!(
                        " Residual quantiles over all rows: {}.",
                        m.residual_quantiles
                            .iter()
                            .map(|(q, v)| format!("{} {}", escape(q), num(*v)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .unwrap_or_default()
            )
        },
        "residual plot (no finite prediction)",
    );
    Ok(())
}

fn slices_section(s: &mut String, r: &Report, split: &str, e: &Evaluation) -> Result<()> {
    if e.slices.is_empty() {
        return Ok(());
    }
    let level = percent(r.evaluation_settings.confidence);
    let _ = write!(
        s,
        "<section id=\"slices\">\n<h2>Slices <span class=\"note\">({} split)</span></h2>\n\
         <p class=\"note\">The metrics of the rows sharing each value of a slicing column. Slices with fewer than {} rows are \
         marked <span class=\"tag small\">small</span>: their figures are noisy and not to be trusted on their own.</p>\n",
        escape(split),
        count(r.evaluation_settings.min_slice_rows)
    );
    let mut used_ids = BTreeSet::new();
    for (column, slices) in &e.slices {
        let _ = writeln!(s, "<h3>by <code>{}</code></h3>", escape(column));
        let Some(metric) = slice_metric(r, slices) else {
            s.push_str("<p class=\"note\">No metric could be computed on these slices.</p>\n");
            continue;
        };
        let names: Vec<&String> = ordered(
            slices.values().flat_map(|v| v.metrics.keys()),
            slice_keys(r),
        )
        .into_iter()
        .filter(|n| n.as_str() == metric || slice_keys(r).contains(&n.as_str()))
        .collect();
        let mut t = String::new();
        t.push_str(
            "<div class=\"scroll\"><table>\n<thead><tr><th>value</th><th class=\"n\">rows</th>",
        );
        for n in &names {
            let _ = write!(t, "<th class=\"n\">{}</th>", escape(n));
        }
        let _ = writeln!(
            t,
            "<th class=\"n\">{} {level} CI</th></tr></thead>\n<tbody>",
            escape(metric)
        );
        for (value, sl) in slices {
            let _ = write!(
                t,
                "<tr{}><th>{}{}</th><td class=\"n\">{}</td>",
                if sl.small { " class=\"small\"" } else { "" },
                escape(value),
                if sl.small {
                    "<span class=\"tag small\">small</span>"
                } else {
                    ""
                },
                count(sl.rows)
            );
            for n in &names {
                let _ = write!(
                    t,
                    "<td class=\"n\">{}</td>",
                    sl.metrics.get(*n).copied().map_or("n/a".to_string(), num)
                );
            }
            let iv = sl.intervals.get(metric).map(interval).unwrap_or_default();
            let _ = writeln!(t, "<td class=\"n ci\">{iv}</td></tr>");
        }
        t.push_str("</tbody>\n</table></div>\n");
        s.push_str("<div class=\"pair\">\n");
        if let Some(svg) = plots::slice_bars(column, slices, metric)? {
            let mut id = format!("plot-slice-{}", slug(column));
            let base = id.clone();
            let mut k = 2;
            while !used_ids.insert(id.clone()) {
                id = format!("{base}-{k}");
                k += 1;
            }
            let shown = slices.len().min(plots::MAX_SLICE_BARS);
            let more = if shown < slices.len() {
                format!(
                    " The first {shown} of {} values are drawn; the table lists all.",
                    slices.len()
                )
            } else {
                String::new()
            };
            figure(
                s,
                &id,
                &svg,
                &format!("{metric} by {column}"),
                &format!(
                    "<code>{}</code> per value of <code>{}</code> on the {} split, with the {level} bootstrap interval as an error bar \
                     where there is one. Light bars are small slices.{more}",
                    escape(metric),
                    escape(column),
                    escape(split)
                ),
            );
        }
        s.push_str(&t);
        s.push_str("</div>\n");
    }
    s.push_str("</section>\n");
    Ok(())
}

fn data_section(s: &mut String, r: &Report) {
    let d = &r.data;
    s.push_str("<section id=\"data\">\n<h2>Data</h2>\n<div class=\"tables\">\n<div>\n<h3>Source</h3>\n<table>\n<tbody>\n");
    let _ = writeln!(
        s,
        "<tr><th>path</th><td><code>{}</code></td></tr>",
        escape(&d.source.path)
    );
    let _ = writeln!(
        s,
        "<tr><th>format</th><td>{}</td></tr>",
        escape(&d.source.format)
    );
    let _ = writeln!(
        s,
        "<tr><th>size</th><td>{} bytes</td></tr>",
        count(d.source.bytes)
    );
    let _ = writeln!(
        s,
        "<tr><th>sha256</th><td><code>{}</code></td></tr>",
        escape(&d.source.sha256)
    );
    s.push_str("</tbody>\n</table>\n</div>\n<div>\n<h3>Rows</h3>\n<table>\n<tbody>\n");
    let rc = &d.rows;
    let mut rows = vec![
        ("read", rc.read),
        ("without a target", rc.missing_target),
        ("filtered out", rc.filtered),
        ("duplicates", rc.duplicates),
        ("used", rc.used),
        ("train", rc.train),
        ("valid", rc.valid),
        ("test", rc.test),
    ];
    if rc.eval > 0 {
        rows.push(("eval", rc.eval));
    }
    for (k, v) in rows {
        let _ = writeln!(s, "<tr><th>{k}</th><td class=\"n\">{}</td></tr>", count(v));
    }
    s.push_str("</tbody>\n</table>\n</div>\n");
    if !d.class_counts.is_empty() {
        s.push_str(
            "<div>\n<h3>Classes</h3>\n<table>\n<thead><tr><th>class</th><th class=\"n\">train</th>\
             <th class=\"n\">valid</th><th class=\"n\">test</th></tr></thead>\n<tbody>\n",
        );
        for (label, [tr, va, te]) in &d.class_counts {
            let _ = writeln!(
                s,
                "<tr><th>{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(label),
                count(*tr),
                count(*va),
                count(*te)
            );
        }
        s.push_str("</tbody>\n</table>\n</div>\n");
    }
    s.push_str("</div>\n");
    let _ = write!(
        s,
        "<h3>Columns <span class=\"note\">({})</span></h3>\n<div class=\"scroll\"><table>\n<thead><tr><th>name</th><th>role</th>\
         <th>kind</th><th>dtype</th><th class=\"n\">missing</th></tr></thead>\n<tbody>\n",
        d.columns.len()
    );
    for c in &d.columns {
        let _ = writeln!(
            s,
            "<tr><th><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&c.name),
            escape(&c.role),
            c.kind.as_deref().map(escape).unwrap_or_default(),
            escape(&c.dtype),
            count(c.missing)
        );
    }
    if d.columns.is_empty() {
        s.push_str("<tr><td colspan=\"5\" class=\"note\">no columns recorded</td></tr>\n");
    }
    s.push_str("</tbody>\n</table></div>\n</section>\n");
}

fn model_section(s: &mut String, r: &Report) {
    let m = &r.model;
    let a = &m.architecture;
    let mut layers = vec![a.inputs.to_string()];
    layers.extend(a.hidden.iter().map(|h| h.to_string()));
    layers.push(a.outputs.to_string());
    // The config's spelling of the activation ("relu"), without quotes.
    let activation = serde_json::to_value(a.activation)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{:?}", a.activation).to_lowercase());
    s.push_str(
        "<section id=\"model\">\n<h2>Model</h2>\n<div class=\"tables\">\n<div>\n<h3>Architecture</h3>\n<table>\n<tbody>\n",
    );
    let _ = writeln!(s, "<tr><th>kind</th><td>{}</td></tr>", escape(&m.kind));
    let _ = writeln!(
        s,
        "<tr><th>layers</th><td>{}</td></tr>",
        layers.join(" \u{2192} ")
    );
    if !a.hidden.is_empty() {
        let _ = writeln!(
            s,
            "<tr><th>activation</th><td>{}</td></tr>",
            escape(&activation)
        );
    }
    let _ = writeln!(
        s,
        "<tr><th>parameters</th><td class=\"n\">{}</td></tr>",
        count(m.parameters as u64)
    );
    let _ = writeln!(
        s,
        "<tr><th>inputs</th><td class=\"n\">{}</td></tr>",
        count(m.input_names.len() as u64)
    );
    s.push_str("</tbody>\n</table>\n</div>\n");
    if let Some(t) = &r.training {
        s.push_str("<div>\n<h3>Training</h3>\n<table>\n<tbody>\n");
        let _ = writeln!(
            s,
            "<tr><th>epochs run</th><td class=\"n\">{}</td></tr>",
            t.epochs_run
        );
        let _ = writeln!(
            s,
            "<tr><th>best epoch</th><td class=\"n\">{}</td></tr>",
            t.best_epoch.map_or("n/a".to_string(), |b| b.to_string())
        );
        let _ = writeln!(
            s,
            "<tr><th>stopped early</th><td class=\"n\">{}</td></tr>",
            yes_no(t.stopped_early)
        );
        let _ = writeln!(
            s,
            "<tr><th>optimiser steps</th><td class=\"n\">{}</td></tr>",
            count(t.steps)
        );
        let _ = writeln!(
            s,
            "<tr><th>monitored metric</th><td class=\"n\">{}</td></tr>",
            t.monitor.as_deref().map_or("none".to_string(), |m| format!(
                "<code>{}</code>",
                escape(m)
            ))
        );
        s.push_str("</tbody>\n</table>\n</div>\n");
    } else {
        s.push_str("<div>\n<h3>Training</h3>\n<p class=\"note\">An existing artifact was evaluated: no training in this run.</p></div>\n");
    }
    s.push_str("</div>\n");
    if !m.input_names.is_empty() {
        let _ = write!(
            s,
            "<details>\n<summary>Model inputs ({})</summary>\n<ul class=\"inline\">",
            m.input_names.len()
        );
        for n in &m.input_names {
            let _ = write!(s, "<li><code>{}</code></li>", escape(n));
        }
        s.push_str("</ul>\n</details>\n");
    }
    if let Some(t) = r.training.as_ref().filter(|t| !t.history.is_empty()) {
        let with_metric = t.history.iter().any(|h| h.valid_metric.is_some());
        let _ = write!(
            s,
            "<details>\n<summary>Training history ({} epochs)</summary>\n<div class=\"scroll\"><table>\n<thead><tr><th class=\"n\">epoch</th>\
             <th class=\"n\">learning rate</th><th class=\"n\">train loss</th><th class=\"n\">valid loss</th>{}</tr></thead>\n<tbody>\n",
            t.history.len(),
            if with_metric {
                format!(
                    "<th class=\"n\">{}</th>",
                    t.monitor
                        .as_deref()
                        .map_or("valid metric".to_string(), escape)
                )
            } else {
                String::new()
            }
        );
        for h in &t.history {
            let best = t.best_epoch == Some(h.epoch);
            let _ = write!(
                s,
                "<tr{}><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
                if best { " class=\"best\"" } else { "" },
                h.epoch,
                fmt_lr(h.learning_rate),
                num(h.train_loss),
                h.valid_loss.map_or("n/a".to_string(), num)
            );
            if with_metric {
                let _ = write!(
                    s,
                    "<td class=\"n\">{}</td>",
                    h.valid_metric.map_or("n/a".to_string(), num)
                );
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody>\n</table></div>\n</details>\n");
    }
    s.push_str("</section>\n");
}

/// A learning rate: scientific notation, which keeps small rates readable.
fn fmt_lr(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3e}")
    } else {
        num(v)
    }
}

fn reproducibility_section(s: &mut String, r: &Report) {
    let p = &r.reproducibility;
    let ev = &r.evaluation_settings;
    s.push_str("<section id=\"reproducibility\">\n<h2>Reproducibility</h2>\n<div class=\"tables\">\n<div>\n<table>\n<tbody>\n");
    let _ = writeln!(
        s,
        "<tr><th>config sha256</th><td><code>{}</code></td></tr>",
        escape(&p.config_sha256)
    );
    let _ = writeln!(
        s,
        "<tr><th>data sha256</th><td><code>{}</code></td></tr>",
        escape(&p.data_sha256)
    );
    let _ = writeln!(s, "<tr><th>seed</th><td>{}</td></tr>", p.seed);
    let _ = writeln!(
        s,
        "<tr><th>backend</th><td>{}</td></tr>",
        escape(&p.backend)
    );
    let _ = writeln!(
        s,
        "<tr><th>bit-reproducible</th><td>{}</td></tr>",
        if p.bit_reproducible {
            "<span class=\"tag ok\">yes</span> same seed, data, config and CPU features give the same bits"
        } else {
            "<span class=\"tag warn\">no</span> this backend does not promise identical bits between runs"
        }
    );
    let _ = writeln!(
        s,
        "<tr><th>git commit</th><td>{}</td></tr>",
        p.git_commit
            .as_deref()
            .map_or("not a git checkout".to_string(), |c| format!(
                "<code>{}</code>",
                escape(c)
            ))
    );
    let _ = writeln!(s, "<tr><th>CPU</th><td>{}</td></tr>", escape(&p.cpu.arch));
    let _ = writeln!(
        s,
        "<tr><th>CPU features</th><td>{}</td></tr>",
        if p.cpu.features.is_empty() {
            "none detected".to_string()
        } else {
            p.cpu
                .features
                .iter()
                .map(|f| escape(f))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    s.push_str(
        "</tbody>\n</table>\n</div>\n<div>\n<h3>Evaluation settings</h3>\n<table>\n<tbody>\n",
    );
    let _ = writeln!(
        s,
        "<tr><th>bootstrap resamples</th><td class=\"n\">{}</td></tr>",
        count(u64::from(ev.bootstrap))
    );
    let _ = writeln!(
        s,
        "<tr><th>confidence</th><td class=\"n\">{}</td></tr>",
        percent(ev.confidence)
    );
    let _ = writeln!(
        s,
        "<tr><th>calibration bins</th><td class=\"n\">{}</td></tr>",
        ev.calibration_bins
    );
    let _ = writeln!(
        s,
        "<tr><th>small slice below</th><td class=\"n\">{} rows</td></tr>",
        count(ev.min_slice_rows)
    );
    let _ = writeln!(s, "<tr><th>seed</th><td class=\"n\">{}</td></tr>", ev.seed);
    s.push_str("</tbody>\n</table>\n");
    if !p.versions.is_empty() {
        s.push_str("<h3>Versions</h3>\n<table>\n<tbody>\n");
        for (k, v) in &p.versions {
            let _ = writeln!(
                s,
                "<tr><th>{}</th><td><code>{}</code></td></tr>",
                escape(k),
                escape(v)
            );
        }
        s.push_str("</tbody>\n</table>\n");
    }
    s.push_str("</div>\n</div>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CpuInfo, ModelSummary, Reproducibility, TrainingSummary};
    use anneal_data::stats::{ColumnInfo, DataStats, RowCounts, SourceInfo};
    use anneal_eval::curves::{CalibrationCurve, PrCurve, RocCurve};
    use anneal_eval::metrics::{ClassStats, ClassificationMetrics, RegressionMetrics};
    use anneal_eval::{Curves, EvalSettings, Residuals, SliceEval};
    use anneal_model::{Architecture, EpochLog};

    fn data() -> DataStats {
        DataStats {
            source: SourceInfo {
                path: "data/<weird> & \"path\".csv".into(),
                format: "csv".into(),
                sha256: "ab".repeat(32),
                logical_sha256: "cd".repeat(32),
                bytes: 123_456,
            },
            rows: RowCounts {
                read: 1000,
                used: 990,
                train: 600,
                valid: 190,
                test: 200,
                missing_target: 10,
                ..RowCounts::default()
            },
            columns: vec![
                ColumnInfo {
                    name: "colour<script>".into(),
                    role: "feature".into(),
                    kind: Some("categorical".into()),
                    dtype: "str".into(),
                    missing: 3,
                },
                ColumnInfo {
                    name: "y".into(),
                    role: "target".into(),
                    kind: None,
                    dtype: "str".into(),
                    missing: 0,
                },
            ],
            class_counts: BTreeMap::from([
                ("a".to_string(), [300, 95, 100]),
                ("b".to_string(), [300, 95, 100]),
            ]),
        }
    }

    fn model() -> ModelSummary {
        let architecture: Architecture = serde_json::from_value(serde_json::json!({
            "inputs": 3, "hidden": [8], "outputs": 2, "activation": "relu"
        }))
        .unwrap();
        ModelSummary {
            kind: "mlp".into(),
            parameters: architecture.parameter_count(),
            architecture,
            input_names: vec!["x1".into(), "colour=red".into(), "colour=<blue>".into()],
        }
    }

    fn settings() -> EvalSettings {
        EvalSettings {
            bootstrap: 200,
            confidence: 0.95,
            calibration_bins: 10,
            min_slice_rows: 30,
            seed: 7,
        }
    }

    fn repro() -> Reproducibility {
        Reproducibility {
            config_sha256: "cd".repeat(32),
            data_sha256: "ab".repeat(32),
            seed: 42,
            backend: "flex".into(),
            bit_reproducible: true,
            versions: BTreeMap::from([("anneal".to_string(), "0.1.0".to_string())]),
            git_commit: None,
            cpu: CpuInfo {
                arch: "x86_64".into(),
                features: vec!["avx2".into()],
            },
        }
    }

    fn slice(rows: u64, small: bool, m: &str, v: f64) -> SliceEval {
        SliceEval {
            rows,
            small,
            metrics: BTreeMap::from([(m.to_string(), v)]),
            intervals: BTreeMap::from([(
                m.to_string(),
                Interval {
                    lower: v - 0.1,
                    upper: v + 0.05,
                },
            )]),
        }
    }

    fn classification_report() -> Report {
        let metrics = BTreeMap::from([
            ("accuracy".to_string(), 0.85),
            ("roc_auc".to_string(), 0.9),
            ("log_loss".to_string(), 0.35),
        ]);
        let eval = Evaluation {
            rows: 200,
            metrics: metrics.clone(),
            intervals: BTreeMap::from([(
                "accuracy".to_string(),
                Interval {
                    lower: 0.8,
                    upper: 0.9,
                },
            )]),
            classification: Some(ClassificationMetrics {
                accuracy: 0.85,
                balanced_accuracy: 0.85,
                precision_macro: 0.85,
                recall_macro: 0.85,
                f1_macro: 0.85,
                precision_weighted: 0.85,
                recall_weighted: 0.85,
                f1_weighted: 0.85,
                log_loss: 0.35,
                brier: 0.1,
                roc_auc: Some(0.9),
                pr_auc: Some(0.88),
                ece: 0.04,
                per_class: vec![
                    ClassStats {
                        precision: 0.8,
                        recall: 0.9,
                        f1: 0.847,
                        support: 100,
                    },
                    ClassStats {
                        precision: 0.9,
                        recall: 0.8,
                        f1: 0.847,
                        support: 100,
                    },
                ],
                confusion: vec![vec![90, 10], vec![20, 80]],
                rows: 200,
            }),
            regression: None,
            curves: Curves {
                roc: BTreeMap::from([(
                    "b".to_string(),
                    RocCurve {
                        fpr: vec![0.0, 0.1, 0.3, 1.0],
                        tpr: vec![0.0, 0.6, 0.9, 1.0],
                        thresholds: vec![f64::INFINITY, 0.8, 0.5, 0.1],
                    },
                )]),
                pr: BTreeMap::from([(
                    "b".to_string(),
                    PrCurve {
                        precision: vec![0.5, 0.8, 0.9, 1.0],
                        recall: vec![1.0, 0.9, 0.6, 0.0],
                        thresholds: vec![0.1, 0.5, 0.8],
                    },
                )]),
                calibration: BTreeMap::from([(
                    "b".to_string(),
                    CalibrationCurve {
                        prob_pred: vec![0.1, 0.5, 0.9],
                        prob_true: vec![0.15, 0.45, 0.85],
                        counts: vec![50, 60, 90],
                    },
                )]),
                residuals: None,
            },
            slices: BTreeMap::from([(
                "colour<script>".to_string(),
                BTreeMap::from([
                    ("red".to_string(), slice(150, false, "accuracy", 0.87)),
                    ("<blue>".to_string(), slice(12, true, "accuracy", 0.7)),
                ]),
            )]),
        };
        Report {
            schema_version: crate::SCHEMA_VERSION,
            task: "binary".into(),
            target: "y & <z>".into(),
            labels: Some(vec!["a".into(), "b".into()]),
            metrics: BTreeMap::from([("test".to_string(), metrics)]),
            baseline: BTreeMap::new(),
            lift: BTreeMap::new(),
            evaluation: BTreeMap::from([("test".to_string(), eval)]),
            evaluation_settings: settings(),
            data: data(),
            model: model(),
            training: Some(TrainingSummary {
                epochs_run: 3,
                best_epoch: Some(2),
                stopped_early: false,
                steps: 30,
                monitor: Some("valid_accuracy".into()),
                history: (1..=3)
                    .map(|e| EpochLog {
                        epoch: e,
                        learning_rate: 0.01,
                        train_loss: 1.0 / f64::from(e),
                        valid_loss: Some(1.1 / f64::from(e)),
                        valid_metric: Some(0.8),
                    })
                    .collect(),
            }),
            reproducibility: repro(),
            artifact_id: Some("sha256:0123abcd".into()),
        }
    }

    fn regression_report() -> Report {
        let mut r = classification_report();
        r.task = "regression".into();
        r.labels = None;
        r.data.class_counts.clear();
        let metrics = BTreeMap::from([("r2".to_string(), 0.7), ("rmse".to_string(), 1.5)]);
        let e = r.evaluation.get_mut("test").unwrap();
        e.metrics = metrics.clone();
        e.intervals.clear();
        e.classification = None;
        e.regression = Some(RegressionMetrics {
            mae: 1.0,
            rmse: 1.5,
            r2: 0.7,
            mse: 2.25,
            median_absolute_error: 0.9,
            mape: None,
            residual_quantiles: BTreeMap::from([
                ("q05".to_string(), -1.9),
                ("q50".to_string(), 0.1),
                ("q95".to_string(), 2.2),
            ]),
            rows: 200,
        });
        e.curves = Curves {
            residuals: Some(Residuals {
                predicted: (0..50).map(|i| f64::from(i) * 0.5).collect(),
                residual: (0..50).map(|i| (f64::from(i) * 1.7).sin()).collect(),
            }),
            ..Curves::default()
        };
        e.slices = BTreeMap::from([(
            "region".to_string(),
            BTreeMap::from([
                ("north".to_string(), slice(120, false, "r2", 0.75)),
                ("south".to_string(), slice(80, false, "r2", -0.2)),
            ]),
        )]);
        r.metrics.insert("test".into(), metrics);
        r
    }

    fn count_of(html: &str, needle: &str) -> usize {
        html.matches(needle).count()
    }

    #[test]
    fn classification_page_has_every_part() {
        let html = render_html(&classification_report()).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.ends_with("</html>\n"));
        for id in [
            "plot-loss",
            "plot-confusion",
            "plot-roc",
            "plot-pr",
            "plot-calibration",
        ] {
            assert_eq!(count_of(&html, &format!("<figure id=\"{id}\"")), 1, "{id}");
        }
        assert_eq!(
            count_of(&html, "<figure id=\"plot-slice-colour-script-\""),
            1
        );
        assert_eq!(count_of(&html, "<figure"), count_of(&html, "<figcaption>"));
        assert_eq!(count_of(&html, "<svg"), 6);
        assert!(!html.contains("plot-residuals"));
        // Intervals with the confidence level, per-class figures.
        assert!(html.contains("95% CI"));
        assert!(html.contains("[0.8000, 0.9000]"));
        assert!(html.contains("<th>a</th><td class=\"n\">0.8000</td>"));
        assert!(html.contains("b (n=12, small)") || html.contains("&lt;blue&gt; (n=12, small)"));
    }

    #[test]
    fn page_is_self_contained_and_escaped() {
        for r in [classification_report(), regression_report()] {
            let html = render_html(&r).unwrap();
            assert!(
                !html.contains("<script"),
                "no script, and user text is escaped"
            );
            assert!(
                !html.contains("http:") && !html.contains("https:") && !html.contains("//"),
                "no URL"
            );
            assert!(!html.contains("src="));
            assert!(!html.contains("<blue>") && !html.contains("<z>"));
            assert!(html.contains("y &amp; &lt;z&gt;"));
            assert!(html.contains("data/&lt;weird&gt; &amp; &quot;path&quot;.csv"));
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        for r in [classification_report(), regression_report()] {
            assert_eq!(render_html(&r).unwrap(), render_html(&r.clone()).unwrap());
        }
    }

    #[test]
    fn regression_page_draws_residuals() {
        let html = render_html(&regression_report()).unwrap();
        assert_eq!(count_of(&html, "<figure id=\"plot-residuals\""), 1);
        assert_eq!(count_of(&html, "<figure id=\"plot-slice-region\""), 1);
        assert!(!html.contains("plot-confusion") && !html.contains("plot-roc"));
        assert!(html.contains("<th>r2</th>"));
    }

    #[test]
    fn degenerate_reports_render() {
        // NaN metrics, empty curves, no training, no intervals.
        let mut r = classification_report();
        r.training = None;
        r.artifact_id = None;
        r.evaluation_settings.bootstrap = 0;
        for m in r.metrics.values_mut() {
            for v in m.values_mut() {
                *v = f64::NAN;
            }
        }
        let e = r.evaluation.get_mut("test").unwrap();
        e.intervals.clear();
        e.curves = Curves::default();
        e.metrics.insert("accuracy".into(), f64::NAN);
        if let Some(c) = e.classification.as_mut() {
            c.roc_auc = None;
            c.confusion.clear();
            c.per_class.clear();
        }
        for sl in e.slices.values_mut() {
            for v in sl.values_mut() {
                v.metrics.insert("accuracy".into(), f64::NAN);
                v.intervals.clear();
            }
        }
        let html = render_html(&r).unwrap();
        assert!(html.contains("n/a"));
        assert!(html.contains("plot-confusion"));
        assert!(!html.contains("plot-roc") && !html.contains("plot-loss"));
        assert!(html.contains("Not drawn"));

        // Regression with NaN residuals and an empty history.
        let mut r = regression_report();
        if let Some(t) = r.training.as_mut() {
            t.history.clear();
        }
        let e = r.evaluation.get_mut("test").unwrap();
        e.curves.residuals = Some(Residuals {
            predicted: vec![f64::NAN, 1.0],
            residual: vec![0.0, f64::INFINITY],
        });
        let html = render_html(&r).unwrap();
        assert!(!html.contains("plot-residuals") && !html.contains("plot-loss"));

        // Nothing evaluated at all.
        let mut r = regression_report();
        r.evaluation.clear();
        r.metrics.clear();
        let html = render_html(&r).unwrap();
        assert!(html.contains("No split was evaluated"));
    }

    #[test]
    fn helpers_format_fixed_strings() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(percent(0.95), "95%");
        assert_eq!(percent(0.999), "99.9%");
        assert_eq!(num(-0.0), "0.0000");
        assert_eq!(num(f64::NAN), "n/a");
        assert_eq!(slug("a b/c"), "a-b-c");
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
