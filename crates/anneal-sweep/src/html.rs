//! `leaderboard.html`: one self-contained page (no JavaScript, no network)
//! with the ranked table and, per swept parameter, the objective of every
//! finished trial plotted against the parameter's value. Numeric
//! parameters get a numeric axis (log10 when the values span more than two
//! decades, as learning rates do); lists and strings get one column per
//! distinct value.

use std::fmt::Write as _;
use std::ops::Range;

use anneal_core::text::html_escape as escape;
use plotters::prelude::*;

use crate::error::{Result, SweepError};
use crate::leaderboard::{Leaderboard, short_float, show_value};

const SIZE: (u32, u32) = (520, 340);
const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(213, 94, 0);
const INK: RGBColor = RGBColor(31, 41, 55);
const GRID: RGBColor = RGBColor(229, 231, 235);

/// The whole page.
pub fn page(board: &Leaderboard) -> Result<String> {
    let mut s = String::new();
    let title = format!("Sweep leaderboard: {}", board.config);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
body{{font-family:system-ui,sans-serif;color:#1f2937;margin:2rem;max-width:1200px}}\
table{{border-collapse:collapse;font-size:14px;margin:1rem 0}}\
td,th{{border-bottom:1px solid #e5e7eb;padding:4px 10px;text-align:left}}\
tr.best td{{background:#fff7ed;font-weight:600}}\
.plots{{display:flex;flex-wrap:wrap;gap:1rem}}\
figure{{margin:0}}figcaption{{font-size:13px;color:#6b7280}}\
</style></head><body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    let dir = if board.maximize { "higher" } else { "lower" };
    let _ = writeln!(
        s,
        "<p>Objective: <b>{}</b> on <b>{}</b> ({dir} is better). {} of {} trials finished.</p>",
        escape(&board.objective),
        escape(&board.split),
        board.finished(),
        board.trials
    );
    if let Some(b) = board.best() {
        let _ = writeln!(
            s,
            "<p>Best: trial {} (<code>{}</code>), {} = {}, artifact <code>{}</code>.</p>",
            b.index,
            escape(&b.id),
            escape(&board.objective),
            b.objective_label(),
            escape(b.artifact.as_deref().unwrap_or("-"))
        );
    }
    s.push_str("<h2>Objective against each parameter</h2>\n<div class=\"plots\">\n");
    for p in &board.parameters {
        if let Some(svg) = scatter(board, p)? {
            let _ = writeln!(
                s,
                "<figure>{svg}<figcaption>{} ({}) against <code>{}</code>; the best trial in orange.</figcaption></figure>",
                escape(&board.objective),
                escape(&board.split),
                escape(p)
            );
        }
    }
    s.push_str("</div>\n<h2>Trials</h2>\n<table><tr><th>rank</th><th>trial</th><th>id</th>");
    for p in &board.parameters {
        let _ = write!(s, "<th><code>{}</code></th>", escape(p));
    }
    let _ = writeln!(
        s,
        "<th>{} ({})</th><th>status</th></tr>",
        escape(&board.objective),
        escape(&board.split)
    );
    for e in &board.entries {
        let class = if e.rank == Some(1) {
            " class=\"best\""
        } else {
            ""
        };
        let _ = write!(
            s,
            "<tr{class}><td>{}</td><td>{}</td><td><code>{}</code></td>",
            e.rank_label(),
            e.index,
            escape(&e.id)
        );
        for p in &board.parameters {
            let _ = write!(
                s,
                "<td>{}</td>",
                escape(&e.values.get(p).map(show_value).unwrap_or_default())
            );
        }
        let _ = writeln!(
            s,
            "<td>{}</td><td>{}</td></tr>",
            e.objective_label(),
            escape(&e.status_label())
        );
    }
    s.push_str("</table>\n</body></html>\n");
    Ok(s)
}

/// How a parameter's values map to the x axis.
enum Axis {
    /// Plain numbers, or log10 of them.
    Numeric { log: bool },
    /// One position per distinct label, in first-seen (rank) order sorted.
    Labels(Vec<String>),
}

fn scatter(board: &Leaderboard, param: &str) -> Result<Option<String>> {
    let points: Vec<Point<'_>> = board
        .entries
        .iter()
        .filter_map(|e| {
            let v = e.values.get(param)?;
            Some((v, e.objective?, e.rank == Some(1)))
        })
        .collect();
    if points.is_empty() {
        return Ok(None);
    }
    let axis = scatter_axis(&points);
    let xy = scatter_points(&points, &axis);
    let (x, y) = plot_ranges(&xy, &axis);
    let x_desc = match &axis {
        Axis::Numeric { log: true } => format!("log10({param})"),
        _ => param.to_string(),
    };
    let mut svg = String::new();
    let err = |e: &dyn std::fmt::Display| SweepError::Plot {
        plot: param.to_string(),
        reason: e.to_string(),
    };
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(58)
            .build_cartesian_2d(x, y)
            .map_err(|e| err(&e))?;
        let labels = match &axis {
            Axis::Labels(l) => l.clone(),
            _ => Vec::new(),
        };
        let n_labels = labels.len();
        let x_fmt = move |v: &f64| -> String {
            if n_labels > 0 {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n_labels {
                    return labels[i as usize].clone();
                }
                return String::new();
            }
            short_float(*v)
        };
        let y_fmt = |v: &f64| short_float(*v);
        let mut mesh = chart.configure_mesh();
        mesh.light_line_style(GRID)
            .bold_line_style(GRID)
            .axis_desc_style(("sans-serif", 13).into_font().color(&INK))
            .label_style(("sans-serif", 12).into_font().color(&INK))
            .x_desc(x_desc)
            .y_desc(format!("{} ({})", board.objective, board.split))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt);
        if n_labels > 0 {
            mesh.x_labels(n_labels * 2 + 1);
        }
        mesh.draw().map_err(|e| err(&e))?;
        chart
            .draw_series(
                xy.iter()
                    .filter(|p| !p.2)
                    .map(|&(x, y, _)| Circle::new((x, y), 5, BLUE.mix(0.75).filled())),
            )
            .map_err(|e| err(&e))?;
        chart
            .draw_series(
                xy.iter()
                    .filter(|p| p.2)
                    .map(|&(x, y, _)| Circle::new((x, y), 7, ORANGE.filled())),
            )
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(Some(svg))
}

/// A parameter's points: its value, the objective and whether the trial
/// ranks first.
type Point<'a> = (&'a serde_json::Value, f64, bool);

/// Numbers (on a log scale when positive and spanning more than a factor
/// of 100) when every value is one, else the distinct labels, sorted.
fn scatter_axis(points: &[Point<'_>]) -> Axis {
    let numeric: Option<Vec<f64>> = points.iter().map(|(v, _, _)| v.as_f64()).collect();
    match &numeric {
        Some(xs) => {
            let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            Axis::Numeric {
                log: lo > 0.0 && hi / lo > 100.0,
            }
        }
        None => {
            let mut labels: Vec<String> = points.iter().map(|(v, _, _)| show_value(v)).collect();
            labels.sort();
            labels.dedup();
            Axis::Labels(labels)
        }
    }
}

/// Each point's position on `axis`, its objective and whether it is best.
fn scatter_points(points: &[Point<'_>], axis: &Axis) -> Vec<(f64, f64, bool)> {
    points
        .iter()
        .map(|(v, y, best)| {
            let x = match axis {
                Axis::Numeric { log: true } => v.as_f64().unwrap_or(1.0).log10(),
                Axis::Numeric { log: false } => v.as_f64().unwrap_or(0.0),
                Axis::Labels(l) => l.iter().position(|s| *s == show_value(v)).unwrap_or(0) as f64,
            };
            (x, *y, *best)
        })
        .collect()
}

/// The x and y ranges drawn: the points' bounds padded (6% and 8%), or
/// half a slot beyond the first and last label.
fn plot_ranges(xy: &[(f64, f64, bool)], axis: &Axis) -> (Range<f64>, Range<f64>) {
    let (mut x0, mut x1) = bounds(xy.iter().map(|p| p.0));
    let (mut y0, mut y1) = bounds(xy.iter().map(|p| p.1));
    if let Axis::Labels(l) = axis {
        x0 = -0.5;
        x1 = l.len() as f64 - 0.5;
    } else {
        let pad = (x1 - x0) * 0.06;
        x0 -= pad;
        x1 += pad;
    }
    let pad = (y1 - y0) * 0.08;
    y0 -= pad;
    y1 += pad;
    (x0..x1, y0..y1)
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let w = if lo.abs() > 1e-9 {
            lo.abs() * 0.05
        } else {
            0.5
        };
        return (lo - w, hi + w);
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wide_positive_numbers_get_a_log_axis() {
        let (a, b, c) = (json!(0.001), json!(0.1), json!(1.0));
        let points = [(&a, 0.5, false), (&b, 0.7, true), (&c, 0.6, false)];
        let axis = scatter_axis(&points);
        assert!(matches!(axis, Axis::Numeric { log: true }));
        let xy = scatter_points(&points, &axis);
        assert_eq!(
            xy,
            [(-3.0, 0.5, false), (-1.0, 0.7, true), (0.0, 0.6, false)]
        );
        let (x, y) = plot_ranges(&xy, &axis);
        assert!((x.start - (-3.0 - 0.18)).abs() < 1e-12, "{x:?}");
        assert!((x.end - 0.18).abs() < 1e-12, "{x:?}");
        assert!((y.start - (0.5 - 0.016)).abs() < 1e-12, "{y:?}");
        assert!((y.end - (0.7 + 0.016)).abs() < 1e-12, "{y:?}");
    }

    #[test]
    fn labels_are_sorted_slots() {
        let (a, b) = (json!("relu"), json!("gelu"));
        let points = [(&a, 0.5, false), (&b, 0.7, true), (&a, 0.6, false)];
        let axis = scatter_axis(&points);
        let Axis::Labels(labels) = &axis else {
            panic!("not labels");
        };
        assert_eq!(labels, &["gelu", "relu"]);
        let xy = scatter_points(&points, &axis);
        assert_eq!(xy.iter().map(|p| p.0).collect::<Vec<_>>(), [1.0, 0.0, 1.0]);
        assert_eq!(plot_ranges(&xy, &axis).0, -0.5..1.5);
        let n = json!(3);
        assert!(matches!(
            scatter_axis(&[(&n, 1.0, true)]),
            Axis::Numeric { log: false }
        ));
    }
}
