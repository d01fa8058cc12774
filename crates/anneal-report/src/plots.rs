//! The SVG plots of `report.html`, drawn with `plotters`' SVG backend.
//!
//! Every function returns the text of one `<svg>` element of a fixed size,
//! and is a pure function of its input: the same figures give the same
//! bytes. None panics on data: non-finite values are left out, degenerate
//! ranges (one point, all values equal) are widened, and a plot with
//! nothing to draw is `None`.
//!
//! Text is laid out with plotters' font-free size estimate and rendered by
//! the browser, so labels are placed with some slack and long ones are
//! shortened with an ellipsis.

use std::collections::BTreeMap;
use std::ops::Range;

use anneal_eval::curves::{CalibrationCurve, PrCurve, RocCurve};
use anneal_eval::{Residuals, SliceEval};
use anneal_model::EpochLog;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{ReportError, Result};

/// Size of the line and scatter plots, in pixels.
pub const SIZE: (u32, u32) = (560, 400);
/// Size of the confusion heat map with a few classes; it grows taller (up
/// to 560 + 240 pixels) for many classes or long class names.
pub const CONFUSION_SIZE: (u32, u32) = SIZE;
/// Most bars in one slice chart; the rest are left to the table.
pub const MAX_SLICE_BARS: usize = 40;
/// Most curves with a legend inside the plot; more get a column on the
/// right.
const MAX_INNER_LEGEND: usize = 4;
/// Most entries in the legend column.
const MAX_LEGEND: usize = 16;
/// Width of the legend column.
const LEGEND_COLUMN: u32 = 168;

/// Okabe-Ito: distinguishable under the common colour-vision deficiencies.
/// Yellow comes last: it is weak on white.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
    RGBColor(240, 228, 66),  // yellow
];

const INK: RGBColor = RGBColor(31, 41, 55);
const MUTED: RGBColor = RGBColor(107, 114, 128);
const GRID: RGBColor = RGBColor(229, 231, 235);
const AXIS: RGBColor = RGBColor(156, 163, 175);
const REFERENCE: RGBColor = RGBColor(120, 120, 120);
/// The "Blues" sequential scale of the heat map, light to dark.
const BLUES: [(f64, f64, f64); 5] = [
    (247.0, 251.0, 255.0),
    (198.0, 219.0, 239.0),
    (107.0, 174.0, 214.0),
    (33.0, 113.0, 181.0),
    (8.0, 48.0, 107.0),
];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = std::result::Result<(), DrawingAreaErrorKind<std::io::Error>>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws one plot on a white canvas of `size` and returns its SVG text.
fn render(plot: &str, size: (u32, u32), draw: impl FnOnce(&Area<'_>) -> Drawn) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present())
            .map_err(|e| ReportError::Plot {
                plot: plot.to_string(),
                reason: e.to_string(),
            })?;
    }
    Ok(svg)
}

/// A text style of `px` CSS pixels (the SVG backend divides font sizes by
/// 1.24, the naive layout estimate by 1.24 twice).
fn text(px: f64, color: &RGBColor) -> TextStyle<'static> {
    FontDesc::new(FontFamily::SansSerif, px * 1.24, FontStyle::Normal).color(color)
}

fn bold(px: f64, color: &RGBColor) -> TextStyle<'static> {
    FontDesc::new(FontFamily::SansSerif, px * 1.24, FontStyle::Bold).color(color)
}

/// Roughly how wide `s` renders at `px` pixels in a sans-serif font.
fn text_width(s: &str, px: f64) -> f64 {
    s.chars().count() as f64 * px * 0.56
}

fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// `s` cut to at most `max` characters, the cut marked with an ellipsis.
fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('\u{2026}');
        out
    }
}

/// `s` cut to at most `max` characters in the middle, keeping both ends:
/// names that share a long prefix ("class number 1", "class number 2")
/// stay distinct.
fn ellipsize_middle(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 5 {
        return ellipsize(s, max);
    }
    let tail = (max - 1) / 2;
    let head = max - 1 - tail;
    let mut out: String = s.chars().take(head).collect();
    out.push('\u{2026}');
    out.extend(s.chars().skip(n - tail));
    out
}

fn line_style(color: RGBColor, width: u32) -> ShapeStyle {
    ShapeStyle {
        color: color.to_rgba(),
        filled: false,
        stroke_width: width,
    }
}

fn fill_style(color: RGBColor, alpha: f64) -> ShapeStyle {
    ShapeStyle {
        color: color.mix(alpha),
        filled: true,
        stroke_width: 0,
    }
}

/// The colour of the `i`-th series.
fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The finite minimum and maximum of `values`.
fn finite_bounds(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// An axis range around `lo..hi`, padded by `pad` of its span on each side;
/// widened when the span is (nearly) zero. `None` when it cannot be drawn
/// (a span overflowing f64).
fn axis_range(lo: f64, hi: f64, pad: f64) -> Option<Range<f64>> {
    if !(lo.is_finite() && hi.is_finite()) {
        return None;
    }
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let span = hi - lo;
    let scale = lo.abs().max(hi.abs());
    let (lo, hi) = if span <= scale * 1e-9 || span <= f64::MIN_POSITIVE {
        let d = if scale > 0.0 { scale * 0.1 } else { 1.0 };
        (lo - d, hi + d)
    } else {
        (lo - span * pad, hi + span * pad)
    };
    (lo.is_finite() && hi.is_finite() && (hi - lo).is_finite() && hi > lo).then_some(lo..hi)
}

/// Digits after the point for ticks on an axis spanning `range`.
fn tick_decimals(range: &Range<f64>) -> usize {
    let step = (range.end - range.start) / 8.0;
    if !(step.is_finite() && step > 0.0) {
        return 2;
    }
    (-step.log10().floor()).clamp(0.0, 6.0) as usize
}

/// A tick label: fixed decimals, scientific for very large or very small
/// magnitudes, and never "-0".
fn fmt_tick(v: f64, decimals: usize) -> String {
    let v = if v == 0.0 { 0.0 } else { v };
    let a = v.abs();
    if a >= 1e6 || (a > 0.0 && a < 1e-4 && decimals >= 5) {
        format!("{v:.1e}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// A figure formatted for labels inside plots.
fn fmt_value(v: f64) -> String {
    if v.is_finite() {
        let a = v.abs();
        if a != 0.0 && !(1e-3..1e6).contains(&a) {
            format!("{v:.2e}")
        } else {
            format!("{v:.3}")
        }
    } else {
        "n/a".to_string()
    }
}

/// A chart with a title, axis names, light grid lines and formatted ticks.
fn cartesian<'a, 'b>(
    root: &'a Area<'b>,
    title: &str,
    x: Range<f64>,
    y: Range<f64>,
    left: u32,
) -> std::result::Result<Chart<'a, 'b>, DrawingAreaErrorKind<std::io::Error>> {
    cartesian_with_right(root, title, x, y, left, 22)
}

fn cartesian_with_right<'a, 'b>(
    root: &'a Area<'b>,
    title: &str,
    x: Range<f64>,
    y: Range<f64>,
    left: u32,
    right: u32,
) -> std::result::Result<Chart<'a, 'b>, DrawingAreaErrorKind<std::io::Error>> {
    ChartBuilder::on(root)
        .caption(title, bold(15.0, &INK))
        .margin_top(12)
        .margin_right(right)
        .margin_left(10)
        .margin_bottom(8)
        .x_label_area_size(44)
        .y_label_area_size(left)
        .build_cartesian_2d(x, y)
}

/// Draws the grid, axes and tick labels of `chart`.
fn mesh(
    chart: &mut Chart<'_, '_>,
    x_desc: &str,
    y_desc: &str,
    x_fmt: &dyn Fn(&f64) -> String,
    y_fmt: &dyn Fn(&f64) -> String,
    x_labels: usize,
) -> Drawn {
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(WHITE)
        .max_light_lines(0)
        .axis_style(AXIS)
        .x_labels(x_labels)
        .y_labels(8)
        .x_label_formatter(x_fmt)
        .y_label_formatter(y_fmt)
        .label_style(text(12.0, &MUTED))
        .axis_desc_style(text(13.0, &INK))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()
}

/// Draws the legend of the labelled series.
fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> Drawn {
    chart
        .configure_series_labels()
        .position(position)
        .margin(10)
        .legend_area_size(22)
        .background_style(WHITE.mix(0.92))
        .border_style(GRID)
        .label_font(text(12.0, &INK))
        .draw()
}

/// Legend marker: a short line in `color`.
fn solid_marker(color: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], line_style(color, width))
}

/// Legend marker: a short dashed line in `color`.
fn dashed_marker(
    color: RGBColor,
    width: u32,
) -> impl Fn((i32, i32)) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 18, y)], 5, 3, line_style(color, width))
}

/// "No data" in the middle of an empty canvas.
fn draw_empty(root: &Area<'_>, title: &str, note: &str) -> Drawn {
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    root.draw(&Text::new(
        title.to_string(),
        (w / 2, 14),
        anchored(bold(15.0, &INK), HPos::Center, VPos::Top),
    ))?;
    root.draw(&Text::new(
        note.to_string(),
        (w / 2, h / 2),
        anchored(text(13.0, &MUTED), HPos::Center, VPos::Center),
    ))
}

/// Train and validation loss by epoch; `None` when no epoch has a finite
/// loss.
pub fn loss_curves(history: &[EpochLog]) -> Result<Option<String>> {
    let train: Vec<(f64, f64)> = history
        .iter()
        .filter(|e| e.train_loss.is_finite())
        .map(|e| (f64::from(e.epoch), e.train_loss))
        .collect();
    let valid: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|e| {
            e.valid_loss
                .filter(|v| v.is_finite())
                .map(|v| (f64::from(e.epoch), v))
        })
        .collect();
    let all = || train.iter().chain(&valid);
    let (Some((x0, x1)), Some((y0, y1))) = (
        finite_bounds(all().map(|p| p.0)),
        finite_bounds(all().map(|p| p.1)),
    ) else {
        return Ok(None);
    };
    // Losses are not negative: keep the axis above zero unless they are.
    let pad = (y1 - y0) * 0.08;
    let floor = if y0 >= 0.0 { 0.0 } else { f64::NEG_INFINITY };
    let (Some(x), Some(y)) = (
        axis_range(x0, x1, 0.02),
        axis_range((y0 - pad).max(floor), y1 + pad, 0.0),
    ) else {
        return Ok(None);
    };
    let markers = history.len() <= 40;
    let epochs = (x1 - x0).round() as usize + 1;
    let dec = tick_decimals(&y);
    let y_fmt = move |v: &f64| fmt_tick(*v, dec);
    let x_fmt = |v: &f64| {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            String::new()
        }
    };
    render("loss", SIZE, |root| {
        let mut chart = cartesian(root, "Loss by epoch", x, y, 56)?;
        mesh(
            &mut chart,
            "epoch",
            "loss",
            &x_fmt,
            &y_fmt,
            epochs.clamp(2, 10),
        )?;
        for (i, (name, points)) in [("train", &train), ("valid", &valid)]
            .into_iter()
            .enumerate()
        {
            if points.is_empty() {
                continue;
            }
            let color = series_color(i);
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    line_style(color, 2),
                ))?
                .label(name)
                .legend(solid_marker(color, 2));
            if markers {
                chart.draw_series(
                    points
                        .iter()
                        .map(|&p| Circle::new(p, 3, fill_style(color, 1.0))),
                )?;
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
    .map(Some)
}

/// One line of a time-series plot: a value per window (`None`: no value
/// in that window) and, optionally, an interval around it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
    /// Lower and upper bound per window, drawn as a shaded band.
    pub band: Vec<Option<(f64, f64)>>,
}

/// Values over time windows (`anneal monitor`): one line per series, its
/// band shaded, and dashed horizontal `references` (a training value, a
/// threshold). `windows` labels the x axis; `None` when nothing is
/// finite.
pub fn time_series(
    title: &str,
    y_desc: &str,
    windows: &[String],
    series: &[Series],
    references: &[(String, f64)],
) -> Result<Option<String>> {
    let ys = series
        .iter()
        .flat_map(|s| {
            let values = s.values.iter().flatten().copied();
            let bands = s.band.iter().flatten().flat_map(|&(lo, hi)| [lo, hi]);
            values.chain(bands)
        })
        .chain(references.iter().map(|r| r.1));
    let (Some((y0, y1)), n) = (finite_bounds(ys), windows.len()) else {
        return Ok(None);
    };
    let (Some(x), Some(y)) = (
        axis_range(0.0, n.saturating_sub(1) as f64, 0.03),
        axis_range(y0, y1, 0.08),
    ) else {
        return Ok(None);
    };
    let dec = tick_decimals(&y);
    let y_fmt = move |v: &f64| fmt_tick(*v, dec);
    let x_fmt = |v: &f64| {
        let i = v.round();
        match windows.get(i as usize) {
            Some(w) if (v - i).abs() < 1e-9 && i >= 0.0 => ellipsize(w, 16),
            _ => String::new(),
        }
    };
    render(title, SIZE, |root| {
        let mut chart = cartesian(root, title, x, y, 56)?;
        mesh(&mut chart, "window", y_desc, &x_fmt, &y_fmt, n.clamp(2, 6))?;
        for (i, s) in series.iter().enumerate() {
            draw_series_line(&mut chart, s, series_color(i))?;
        }
        for (name, v) in references {
            let end = (n.saturating_sub(1)) as f64;
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    vec![(0.0, *v), (end, *v)],
                    6,
                    4,
                    line_style(REFERENCE, 1),
                )))?
                .label(name.as_str())
                .legend(dashed_marker(REFERENCE, 1));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
    .map(Some)
}

/// One series of [`time_series`]: the band, the line and the points (a
/// window without a value breaks the line).
fn draw_series_line(chart: &mut Chart<'_, '_>, s: &Series, color: RGBColor) -> Drawn {
    for (i, b) in s.band.iter().enumerate() {
        if let Some((lo, hi)) = b.filter(|(lo, hi)| lo.is_finite() && hi.is_finite()) {
            let x = i as f64;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.2, lo), (x + 0.2, hi)],
                fill_style(color, 0.18),
            )))?;
        }
    }
    let points: Vec<(f64, f64)> = s
        .values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i as f64, v)))
        .collect();
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    for p in &points {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|q| p.0 - q.0 < 1.5) => run.push(*p),
            _ => runs.push(vec![*p]),
        }
    }
    for (k, run) in runs.into_iter().enumerate() {
        let line = chart.draw_series(LineSeries::new(run, line_style(color, 2)))?;
        if k == 0 {
            line.label(s.name.as_str()).legend(solid_marker(color, 2));
        }
    }
    chart.draw_series(
        points
            .iter()
            .map(|&p| Circle::new(p, 3, fill_style(color, 1.0))),
    )?;
    Ok(())
}

/// Linear interpolation of the "Blues" scale at `t` in [0, 1].
fn blues(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (BLUES.len() - 1) as f64;
    let i = (pos.floor() as usize).min(BLUES.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (BLUES[i], BLUES[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round().clamp(0.0, 255.0) as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The confusion matrix as a heat map: rows are the true classes, columns
/// the predicted ones, each cell shaded by its share of the row (so a rare
/// class's errors stand out as much as a common one's) and labelled with
/// its count and that share.
pub fn confusion_heatmap(labels: &[String], confusion: &[Vec<u64>]) -> Result<String> {
    const TITLE: &str = "Confusion matrix";
    let rows = confusion.len();
    let cols = confusion.iter().map(Vec::len).max().unwrap_or(0);
    if rows == 0 || cols == 0 {
        return render("confusion", CONFUSION_SIZE, |root| {
            draw_empty(root, TITLE, "no rows")
        });
    }
    let name =
        |i: usize| ellipsize_middle(&labels.get(i).cloned().unwrap_or_else(|| i.to_string()), 16);
    let row_names: Vec<String> = (0..rows).map(name).collect();
    let col_names: Vec<String> = (0..cols).map(name).collect();
    let l = heat_layout(&row_names, &col_names);
    let totals: Vec<u64> = confusion.iter().map(|r| r.iter().sum()).collect();
    render("confusion", (CONFUSION_SIZE.0, l.h as u32), |root| {
        let cw = l.w as i32;
        root.draw(&Text::new(
            TITLE,
            (cw / 2, 12),
            anchored(bold(15.0, &INK), HPos::Center, VPos::Top),
        ))?;
        root.draw(&Text::new(
            "rows: true class \u{b7} columns: predicted \u{b7} shade: share of the row",
            (cw / 2, 34),
            anchored(text(12.0, &MUTED), HPos::Center, VPos::Top),
        ))?;
        let mut chart = ChartBuilder::on(root)
            .margin_left(l.gx as u32)
            .margin_top(l.gy as u32)
            .margin_right((l.w - l.gx - l.gw).max(0.0) as u32)
            .margin_bottom((l.h - l.gy - l.gh).max(0.0) as u32)
            .build_cartesian_2d(0.0..cols as f64, 0.0..rows as f64)?;
        // Row 0 at the top.
        let cell_at = |i: usize, j: usize| {
            [
                (j as f64, (rows - i) as f64),
                ((j + 1) as f64, (rows - i - 1) as f64),
            ]
        };
        let cells: Vec<(usize, usize)> = (0..rows)
            .flat_map(|i| (0..cols).map(move |j| (i, j)))
            .collect();
        chart.draw_series(cells.iter().map(|&(i, j)| {
            let share = row_share(confusion, &totals, i, j).1;
            Rectangle::new(cell_at(i, j), blues(share).filled())
        }))?;
        chart.draw_series(
            cells
                .iter()
                .map(|&(i, j)| Rectangle::new(cell_at(i, j), line_style(WHITE, 2))),
        )?;
        draw_cell_counts(root, &chart, &l, &cells, |i, j| {
            row_share(confusion, &totals, i, j)
        })?;
        draw_class_names(root, &chart, &l, &row_names, &col_names)
    })
}

/// Where the parts of the confusion heat map go, in pixels.
#[derive(Debug, Clone, PartialEq)]
struct HeatLayout {
    /// The number of rows (true classes).
    rows: usize,
    /// The picture's width and height.
    w: f64,
    h: f64,
    /// A cell's side.
    cell: f64,
    /// The grid's left, top, width and height.
    gx: f64,
    gy: f64,
    gw: f64,
    gh: f64,
    /// Whether the column names are turned upright (too wide for a cell).
    rotate: bool,
    /// The height the column names take.
    tick_h: f64,
    /// Where the "true class" axis name is centred.
    true_x: i32,
    /// Every `row_step`-th row name and `col_step`-th column name is shown.
    row_step: usize,
    col_step: usize,
}

/// Class names' size in the heat map.
const HEAT_TICK_PX: f64 = 12.0;

/// Lays out the heat map for these row and column names: cells of about
/// 30 pixels within the picture's limits, the grid centred.
fn heat_layout(row_names: &[String], col_names: &[String]) -> HeatLayout {
    let (rows, cols) = (row_names.len(), col_names.len());
    let w = CONFUSION_SIZE.0 as f64;
    let widest = |names: &[String]| {
        names
            .iter()
            .map(|s| text_width(s, HEAT_TICK_PX))
            .fold(0.0, f64::max)
    };
    let top = 62.0;
    let row_w = widest(row_names).min(120.0);
    let left = 16.0 + 16.0 + 10.0 + row_w + 8.0;
    let avail_w = w - left - 24.0;
    // Room for cells of about 30 pixels, within limits.
    let min_h = CONFUSION_SIZE.1 as f64 - top - 62.0;
    let avail_h = (rows as f64 * 30.0).clamp(min_h, 560.0);
    let cell = (avail_w / cols as f64).min(avail_h / rows as f64).max(1.0);
    // Column names across when they fit under their column, else rotated.
    let col_w = widest(col_names);
    // (The width estimate is deliberately wide: most names render 15-25%
    // narrower, and centred neighbours may come close without overlapping.)
    let rotate = col_w * 0.85 > cell - 2.0;
    let tick_h = if rotate { col_w.min(120.0) } else { 16.0 };
    let bottom = 8.0 + tick_h + 10.0 + 16.0 + 12.0;
    let h = (top + cell * rows as f64 + bottom)
        .round()
        .max(CONFUSION_SIZE.1 as f64);
    let (gw, gh) = (cell * cols as f64, cell * rows as f64);
    let gx = (left + (avail_w - gw) / 2.0).round();
    // Every class name when they fit, else every `step`-th.
    let step = |n: f64| (n / cell).ceil().max(1.0) as usize;
    HeatLayout {
        rows,
        w,
        h,
        cell,
        gx,
        gy: top,
        gw,
        gh,
        rotate,
        tick_h,
        // The axis name just left of the row names (which end 8 pixels
        // left of the grid).
        true_x: (gx - 8.0 - row_w - 16.0).max(22.0) as i32,
        row_step: step(14.0),
        col_step: step(14.0),
    }
}

/// Cell `(i, j)`'s count and its share of row `i` (0 for an empty row).
fn row_share(confusion: &[Vec<u64>], totals: &[u64], i: usize, j: usize) -> (u64, f64) {
    let n = confusion[i].get(j).copied().unwrap_or(0);
    let total = totals[i];
    (
        n,
        if total == 0 {
            0.0
        } else {
            n as f64 / total as f64
        },
    )
}

/// Counts in the cells (and their row shares in large cells), when there
/// is room.
fn draw_cell_counts(
    root: &Area<'_>,
    chart: &Chart<'_, '_>,
    l: &HeatLayout,
    cells: &[(usize, usize)],
    share: impl Fn(usize, usize) -> (u64, f64),
) -> Drawn {
    let rows = l.rows;
    let px = l.cell.min(60.0) * 0.3;
    if px < 7.0 {
        return Ok(());
    }
    let with_share = l.cell >= 46.0;
    for &(i, j) in cells {
        let (n, s) = share(i, j);
        let (x, y) = chart.backend_coord(&((j as f64) + 0.5, (rows - i) as f64 - 0.5));
        let ink = if s > 0.5 { WHITE } else { INK };
        let dy = if with_share { -(px * 0.45) as i32 } else { 0 };
        root.draw(&Text::new(
            n.to_string(),
            (x, y + dy),
            anchored(bold(px.min(15.0), &ink), HPos::Center, VPos::Center),
        ))?;
        if with_share {
            root.draw(&Text::new(
                format!("{:.1}%", s * 100.0),
                (x, y + (px * 0.75) as i32),
                anchored(
                    text((px * 0.75).min(11.0), &ink),
                    HPos::Center,
                    VPos::Center,
                ),
            ))?;
        }
    }
    Ok(())
}

/// The class names along both sides of the grid and the two axis names.
fn draw_class_names(
    root: &Area<'_>,
    chart: &Chart<'_, '_>,
    l: &HeatLayout,
    row_names: &[String],
    col_names: &[String],
) -> Drawn {
    let rows = row_names.len();
    let (gx, gy, gw, gh) = (l.gx as i32, l.gy as i32, l.gw as i32, l.gh as i32);
    for (i, n) in row_names.iter().enumerate().step_by(l.row_step) {
        let (_, y) = chart.backend_coord(&(0.0, (rows - i) as f64 - 0.5));
        root.draw(&Text::new(
            n.as_str(),
            (gx - 8, y),
            anchored(text(HEAT_TICK_PX, &INK), HPos::Right, VPos::Center),
        ))?;
    }
    for (j, n) in col_names.iter().enumerate().step_by(l.col_step) {
        let (x, _) = chart.backend_coord(&((j as f64) + 0.5, 0.0));
        let style = if l.rotate {
            anchored(text(HEAT_TICK_PX, &INK), HPos::Right, VPos::Center)
                .transform(FontTransform::Rotate270)
        } else {
            anchored(text(HEAT_TICK_PX, &INK), HPos::Center, VPos::Top)
        };
        root.draw(&Text::new(n.as_str(), (x, gy + gh + 8), style))?;
    }
    // Axis names.
    root.draw(&Text::new(
        "predicted class",
        (gx + gw / 2, gy + gh + 8 + l.tick_h as i32 + 10),
        anchored(text(13.0, &INK), HPos::Center, VPos::Top),
    ))?;
    root.draw(&Text::new(
        "true class",
        (l.true_x, gy + gh / 2),
        anchored(text(13.0, &INK), HPos::Center, VPos::Center).transform(FontTransform::Rotate270),
    ))?;
    Ok(())
}

/// One named line of a curve plot.
struct Curve {
    name: String,
    points: Vec<(f64, f64)>,
}

/// Finite points of `xs`/`ys`, clamped to the unit square.
fn unit_points(xs: &[f64], ys: &[f64]) -> Vec<(f64, f64)> {
    xs.iter()
        .zip(ys)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(&x, &y)| (x.clamp(0.0, 1.0), y.clamp(0.0, 1.0)))
        .collect()
}

/// Curves on the unit square, one colour each, with an optional dashed
/// diagonal reference. `None` when no curve has a point.
#[allow(clippy::too_many_arguments)]
fn unit_square_plot(
    plot: &str,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    curves: Vec<Curve>,
    diagonal: Option<&str>,
    markers: bool,
    position: SeriesLabelPosition,
) -> Result<Option<String>> {
    let curves: Vec<Curve> = curves
        .into_iter()
        .filter(|c| !c.points.is_empty())
        .collect();
    if curves.is_empty() {
        return Ok(None);
    }
    let fmt = |v: &f64| fmt_tick(*v, 1);
    let inner = curves.len() <= MAX_INNER_LEGEND;
    // Past the palette, the colours come back dashed.
    let dashed = |i: usize| (i / PALETTE.len()) % 2 == 1;
    render(plot, SIZE, |root| {
        let right = if inner { 22 } else { LEGEND_COLUMN };
        let mut chart = cartesian_with_right(root, title, -0.02..1.02, -0.02..1.02, 52, right)?;
        mesh(&mut chart, x_desc, y_desc, &fmt, &fmt, 6)?;
        if let Some(name) = diagonal {
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, 0.0), (1.0, 1.0)],
                    6,
                    5,
                    line_style(REFERENCE, 1),
                ))?
                .label(name)
                .legend(dashed_marker(REFERENCE, 1));
        }
        for (i, c) in curves.iter().enumerate() {
            let color = series_color(i);
            let points = c.points.iter().copied();
            let anno = if dashed(i) {
                chart.draw_series(DashedLineSeries::new(points, 7, 4, line_style(color, 2)))?
            } else {
                chart.draw_series(LineSeries::new(points, line_style(color, 2)))?
            };
            if inner {
                anno.label(ellipsize_middle(&c.name, 24));
                if dashed(i) {
                    anno.legend(dashed_marker(color, 2));
                } else {
                    anno.legend(solid_marker(color, 2));
                }
            }
            if markers {
                chart.draw_series(
                    c.points
                        .iter()
                        .map(|&p| Circle::new(p, 3, fill_style(color, 1.0))),
                )?;
            }
        }
        if inner {
            return legend(&mut chart, position);
        }
        // A legend column right of the plot.
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let x0 = xr.end + 10;
        let text_x = x0 + 24;
        let fit = ((SIZE.0 as i32 - text_x - 4) as f64 / (12.0 * 0.56))
            .floor()
            .max(4.0) as usize;
        let mut y = yr.start + 6;
        let mut entry = |name: &str, color: RGBColor, width: u32, dash: bool| -> Drawn {
            if dash {
                root.draw(&dashed_marker(color, width)((x0, y)))?;
            } else {
                root.draw(&solid_marker(color, width)((x0, y)))?;
            }
            root.draw(&Text::new(
                ellipsize_middle(name, fit),
                (text_x, y),
                anchored(text(12.0, &INK), HPos::Left, VPos::Center),
            ))?;
            y += 18;
            Ok(())
        };
        if let Some(name) = diagonal {
            entry(name, REFERENCE, 1, true)?;
        }
        for (i, c) in curves.iter().enumerate().take(MAX_LEGEND) {
            entry(&c.name, series_color(i), 2, dashed(i))?;
        }
        if curves.len() > MAX_LEGEND {
            root.draw(&Text::new(
                format!("\u{2026} {} more", curves.len() - MAX_LEGEND),
                (text_x, y),
                anchored(text(12.0, &MUTED), HPos::Left, VPos::Center),
            ))?;
        }
        Ok(())
    })
    .map(Some)
}

fn with_score(title: &str, name: &str, score: Option<f64>) -> String {
    match score {
        Some(s) if s.is_finite() => format!("{title} ({name} {s:.4})"),
        _ => title.to_string(),
    }
}

/// ROC curves, one per class (the positive class of a binary task), with
/// the chance diagonal. `auc` goes in the title.
pub fn roc(curves: &BTreeMap<String, RocCurve>, auc: Option<f64>) -> Result<Option<String>> {
    let (title, score) = if curves.len() > 1 {
        ("ROC curves, one vs rest", "macro AUC")
    } else {
        ("ROC curve", "AUC")
    };
    let lines = curves
        .iter()
        .map(|(name, c)| Curve {
            name: name.clone(),
            points: unit_points(&c.fpr, &c.tpr),
        })
        .collect();
    unit_square_plot(
        "ROC",
        &with_score(title, score, auc),
        "false positive rate",
        "true positive rate",
        lines,
        Some("chance"),
        false,
        SeriesLabelPosition::LowerRight,
    )
}

/// Precision-recall curves, drawn as steps as scikit-learn does.
pub fn pr(curves: &BTreeMap<String, PrCurve>, ap: Option<f64>) -> Result<Option<String>> {
    let (title, score) = if curves.len() > 1 {
        ("Precision-recall, one vs rest", "macro AP")
    } else {
        ("Precision-recall", "AP")
    };
    let lines = curves
        .iter()
        .map(|(name, c)| {
            let pts = unit_points(&c.recall, &c.precision);
            // "steps-post": hold each precision until the next recall.
            let mut points = Vec::with_capacity(pts.len() * 2);
            for (k, &p) in pts.iter().enumerate() {
                if let Some(&(_, prev_y)) = k.checked_sub(1).and_then(|k| pts.get(k)) {
                    points.push((p.0, prev_y));
                }
                points.push(p);
            }
            Curve {
                name: name.clone(),
                points,
            }
        })
        .collect();
    unit_square_plot(
        "precision-recall",
        &with_score(title, score, ap),
        "recall",
        "precision",
        lines,
        None,
        false,
        SeriesLabelPosition::LowerLeft,
    )
}

/// Reliability diagram: the observed share of positives against the mean
/// predicted probability of each bin, with the diagonal of a perfectly
/// calibrated model.
pub fn calibration(curves: &BTreeMap<String, CalibrationCurve>) -> Result<Option<String>> {
    let lines = curves
        .iter()
        .map(|(name, c)| Curve {
            name: name.clone(),
            points: unit_points(&c.prob_pred, &c.prob_true),
        })
        .collect();
    unit_square_plot(
        "calibration",
        "Calibration (reliability diagram)",
        "mean predicted probability",
        "observed frequency",
        lines,
        Some("perfect calibration"),
        true,
        SeriesLabelPosition::UpperLeft,
    )
}

/// Residuals (`true - predicted`) against the prediction, with the zero
/// line. `None` when no point is finite.
pub fn residuals(r: &Residuals) -> Result<Option<String>> {
    let points: Vec<(f64, f64)> = r
        .predicted
        .iter()
        .zip(&r.residual)
        .filter(|(p, e)| p.is_finite() && e.is_finite())
        .map(|(&p, &e)| (p, e))
        .collect();
    let (Some((x0, x1)), Some((y0, y1))) = (
        finite_bounds(points.iter().map(|p| p.0)),
        finite_bounds(points.iter().map(|p| p.1)),
    ) else {
        return Ok(None);
    };
    let (Some(x), Some(y)) = (
        axis_range(x0, x1, 0.04),
        axis_range(y0.min(0.0), y1.max(0.0), 0.06),
    ) else {
        return Ok(None);
    };
    let (xd, yd) = (tick_decimals(&x), tick_decimals(&y));
    let x_fmt = move |v: &f64| fmt_tick(*v, xd);
    let y_fmt = move |v: &f64| fmt_tick(*v, yd);
    let left = 14 + (y_fmt(&y.start).len().max(y_fmt(&y.end).len()) as u32) * 7 + 26;
    let alpha = if points.len() > 500 { 0.35 } else { 0.6 };
    render("residuals", SIZE, |root| {
        let (xs, xe) = (x.start, x.end);
        let mut chart = cartesian(root, "Residuals vs predicted", x, y, left)?;
        mesh(
            &mut chart,
            "predicted value",
            "residual (true \u{2212} predicted)",
            &x_fmt,
            &y_fmt,
            8,
        )?;
        chart.draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, 3, fill_style(PALETTE[0], alpha))),
        )?;
        chart.draw_series(DashedLineSeries::new(
            [(xs, 0.0), (xe, 0.0)],
            6,
            5,
            line_style(PALETTE[4], 2),
        ))?;
        Ok(())
    })
    .map(Some)
}

/// One bar per value of a slicing column, with its bootstrap interval as an
/// error bar when there is one. Slices with fewer rows than the configured
/// minimum are drawn in a light colour and labelled "small". `None` when no
/// slice has a finite `metric`.
pub fn slice_bars(
    column: &str,
    slices: &BTreeMap<String, SliceEval>,
    metric: &str,
) -> Result<Option<String>> {
    let bars = slice_bar_list(slices, metric);
    let Some(x) = slice_axis(&bars) else {
        return Ok(None);
    };
    let dec = tick_decimals(&x);
    let x_fmt = move |v: &f64| fmt_tick(*v, dec);
    let no_y = |_: &f64| String::new();

    let n = bars.len();
    let left = (bars
        .iter()
        .map(|b| text_width(&b.label, SLICE_LABEL_PX))
        .fold(0.0, f64::max)
        + 16.0)
        .clamp(60.0, 250.0);
    let height = (110 + 26 * n as u32).max(220);
    let title = if slices.len() > n {
        format!(
            "{metric} by {} (first {n} of {})",
            ellipsize(column, 30),
            slices.len()
        )
    } else {
        format!("{metric} by {}", ellipsize(column, 40))
    };
    let plot = format!("slice {column}");
    render(&plot, (SIZE.0, height), |root| {
        let nf = n as f64;
        let mut chart = cartesian(root, &title, x.clone(), 0.0..nf, left as u32)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .bold_line_style(GRID)
            .light_line_style(WHITE)
            .max_light_lines(0)
            .axis_style(AXIS)
            .x_labels(8)
            .y_labels(0)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&no_y)
            .label_style(text(12.0, &MUTED))
            .axis_desc_style(text(13.0, &INK))
            .x_desc(metric)
            .draw()?;
        for (i, b) in bars.iter().enumerate() {
            // Bar i spans slot n-1-i, so the first value is at the top.
            let slot = (nf - 1.0 - i as f64 + 0.18, nf - i as f64 - 0.18);
            draw_slice_bar(root, &mut chart, b, slot, x.start)?;
        }
        // The zero line, when the axis crosses zero.
        if x.start < 0.0 {
            chart.draw_series([PathElement::new(
                vec![(0.0, 0.0), (0.0, nf)],
                line_style(AXIS, 1),
            )])?;
        }
        Ok(())
    })
    .map(Some)
}

/// Slice names' size in the slice chart.
const SLICE_LABEL_PX: f64 = 12.0;

/// One bar of a slice chart.
#[derive(Debug, Clone, PartialEq)]
struct SliceBar {
    /// The slice's value (shortened) and its rows: `a (n=12, small)`.
    label: String,
    value: f64,
    /// The finite bootstrap interval, lower bound first.
    interval: Option<(f64, f64)>,
    small: bool,
}

/// The first [`MAX_SLICE_BARS`] slices as bars of `metric`.
fn slice_bar_list(slices: &BTreeMap<String, SliceEval>, metric: &str) -> Vec<SliceBar> {
    let max_label_chars: usize = 34;
    slices
        .iter()
        .take(MAX_SLICE_BARS)
        .map(|(value, s)| {
            let suffix = if s.small {
                format!(" (n={}, small)", s.rows)
            } else {
                format!(" (n={})", s.rows)
            };
            let keep = max_label_chars
                .saturating_sub(suffix.chars().count())
                .max(6);
            SliceBar {
                label: format!("{}{suffix}", ellipsize_middle(value, keep)),
                value: s.metrics.get(metric).copied().unwrap_or(f64::NAN),
                interval: s
                    .intervals
                    .get(metric)
                    .filter(|iv| iv.lower.is_finite() && iv.upper.is_finite())
                    .map(|iv| (iv.lower.min(iv.upper), iv.lower.max(iv.upper))),
                small: s.small,
            }
        })
        .collect()
}

/// The value axis of a slice chart: every bar, interval and zero, with
/// room on the right for the value labels and a little on the left of a
/// negative bar. `None` when nothing is finite.
fn slice_axis(bars: &[SliceBar]) -> Option<Range<f64>> {
    let extent = bars.iter().flat_map(|b| {
        let (lo, hi) = b.interval.unwrap_or((b.value, b.value));
        [b.value, lo, hi]
    });
    let (lo, hi) = finite_bounds(extent)?;
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let base = axis_range(lo, hi, 0.0)?;
    let span = base.end - base.start;
    Some(
        (if base.start < 0.0 {
            base.start - span * 0.04
        } else {
            base.start
        })..(base.end + span * 0.16),
    )
}

/// Draws one bar in `slot` (its bottom and top on the y axis): the bar,
/// its error bar, its value right of both and its label left of the axis
/// (which starts at `x_start`).
fn draw_slice_bar(
    root: &Area<'_>,
    chart: &mut Chart<'_, '_>,
    b: &SliceBar,
    (y0, y1): (f64, f64),
    x_start: f64,
) -> Drawn {
    let normal = PALETTE[0];
    let light = RGBColor(171, 208, 232);
    let mid = (y0 + y1) / 2.0;
    if b.value.is_finite() {
        let fill = if b.small { light } else { normal };
        chart.draw_series([Rectangle::new([(0.0, y0), (b.value, y1)], fill.filled())])?;
        if b.small {
            chart.draw_series([Rectangle::new(
                [(0.0, y0), (b.value, y1)],
                line_style(normal, 1),
            )])?;
        }
    }
    if let Some((lo, hi)) = b.interval {
        let q = (y1 - y0) * 0.25;
        let style = line_style(INK, 1);
        chart.draw_series([
            PathElement::new(vec![(lo, mid), (hi, mid)], style),
            PathElement::new(vec![(lo, mid - q), (lo, mid + q)], style),
            PathElement::new(vec![(hi, mid - q), (hi, mid + q)], style),
        ])?;
    }
    // The value, right of the bar and its error bar.
    let end = [b.value, b.interval.map_or(f64::NAN, |iv| iv.1)]
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let (px, py) = chart.backend_coord(&(end, mid));
    root.draw(&Text::new(
        fmt_value(b.value),
        (px + 6, py),
        anchored(text(11.0, &MUTED), HPos::Left, VPos::Center),
    ))?;
    // The slice name, left of the axis.
    let (ax, _) = chart.backend_coord(&(x_start, mid));
    let ink = if b.small { MUTED } else { INK };
    root.draw(&Text::new(
        b.label.as_str(),
        (ax - 8, py),
        anchored(text(SLICE_LABEL_PX, &ink), HPos::Right, VPos::Center),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use anneal_eval::Interval;

    #[test]
    fn heat_layout_of_two_short_classes() {
        let names = ["a".to_string(), "b".to_string()];
        let l = heat_layout(&names, &names);
        assert_eq!(
            l,
            HeatLayout {
                rows: 2,
                w: 560.0,
                h: 400.0,
                cell: 138.0,
                gx: 158.0,
                gy: 62.0,
                gw: 276.0,
                gh: 276.0,
                rotate: false,
                tick_h: 16.0,
                true_x: 127,
                row_step: 1,
                col_step: 1,
            }
        );
    }

    #[test]
    fn heat_layout_of_many_classes_rotates_and_thins_names() {
        let names: Vec<String> = (0..40).map(|i| format!("class-{i:02}")).collect();
        let l = heat_layout(&names, &names);
        assert!(l.rotate);
        assert_eq!((l.row_step, l.col_step), (2, 2));
        assert!((l.cell - 432.24 / 40.0).abs() < 1e-9, "{}", l.cell);
        assert_eq!(l.tick_h, 8.0 * 12.0 * 0.56);
    }

    #[test]
    fn row_shares() {
        let confusion = [vec![3, 1], vec![0, 0]];
        let totals = [4, 0];
        assert_eq!(row_share(&confusion, &totals, 0, 0), (3, 0.75));
        assert_eq!(row_share(&confusion, &totals, 0, 1), (1, 0.25));
        assert_eq!(row_share(&confusion, &totals, 1, 1), (0, 0.0));
    }

    fn epoch(e: u32, train: f64, valid: Option<f64>) -> EpochLog {
        EpochLog {
            epoch: e,
            learning_rate: 0.01,
            train_loss: train,
            valid_loss: valid,
            valid_metric: None,
        }
    }

    fn is_svg(s: &str) -> bool {
        s.starts_with("<svg")
            && s.trim_end().ends_with("</svg>")
            && !s.contains("NaN")
            && !s.contains("inf")
    }

    #[test]
    fn loss_curves_handle_degenerate_histories() {
        assert!(loss_curves(&[]).unwrap().is_none());
        assert!(loss_curves(&[epoch(1, f64::NAN, None)]).unwrap().is_none());
        let one = loss_curves(&[epoch(1, 0.5, Some(0.6))]).unwrap().unwrap();
        assert!(is_svg(&one));
        let flat: Vec<_> = (1..=5).map(|e| epoch(e, 0.3, Some(0.3))).collect();
        assert!(is_svg(&loss_curves(&flat).unwrap().unwrap()));
        let mixed = [
            epoch(1, 1.0, None),
            epoch(2, f64::INFINITY, Some(f64::NAN)),
            epoch(3, 0.4, Some(0.5)),
        ];
        let svg = loss_curves(&mixed).unwrap().unwrap();
        assert!(is_svg(&svg));
        assert!(svg.contains(">train") || svg.contains("train\n"));
    }

    #[test]
    fn heatmap_handles_any_shape() {
        let labels = vec!["a".to_string(), "b<&>".to_string()];
        let svg = confusion_heatmap(&labels, &[vec![5, 1], vec![0, 7]]).unwrap();
        assert!(is_svg(&svg));
        assert!(svg.contains("b&lt;&amp;&gt;"));
        assert!(is_svg(&confusion_heatmap(&[], &[]).unwrap()));
        assert!(is_svg(
            &confusion_heatmap(&labels, &[vec![0, 0], vec![0, 0]]).unwrap()
        ));
        // Ragged rows and missing labels.
        assert!(is_svg(
            &confusion_heatmap(&labels[..1], &[vec![1], vec![2, 3, 4]]).unwrap()
        ));
        let many: Vec<String> = (0..60).map(|i| format!("class number {i}")).collect();
        let m: Vec<Vec<u64>> = (0..60)
            .map(|i| (0..60).map(|j| (i * j) as u64).collect())
            .collect();
        assert!(is_svg(&confusion_heatmap(&many, &m).unwrap()));
    }

    #[test]
    fn curves_skip_empty_and_non_finite_input() {
        assert!(roc(&BTreeMap::new(), None).unwrap().is_none());
        let mut r = BTreeMap::new();
        r.insert(
            "x".to_string(),
            RocCurve {
                fpr: vec![],
                tpr: vec![],
                thresholds: vec![],
            },
        );
        assert!(roc(&r, Some(f64::NAN)).unwrap().is_none());
        r.insert(
            "y".to_string(),
            RocCurve {
                fpr: vec![0.0, f64::NAN, 1.0],
                tpr: vec![0.0, 0.5, 1.0],
                thresholds: vec![f64::INFINITY, 0.5, 0.1],
            },
        );
        assert!(is_svg(&roc(&r, Some(0.5)).unwrap().unwrap()));
        let mut p = BTreeMap::new();
        p.insert(
            "pos".to_string(),
            PrCurve {
                precision: vec![0.5],
                recall: vec![1.0],
                thresholds: vec![],
            },
        );
        assert!(is_svg(&pr(&p, None).unwrap().unwrap()));
        let mut c = BTreeMap::new();
        c.insert(
            "pos".to_string(),
            CalibrationCurve {
                prob_pred: vec![f64::NAN],
                prob_true: vec![0.2],
                counts: vec![3],
            },
        );
        assert!(calibration(&c).unwrap().is_none());
    }

    #[test]
    fn residuals_handle_degenerate_points() {
        let none = Residuals {
            predicted: vec![],
            residual: vec![],
        };
        assert!(residuals(&none).unwrap().is_none());
        let one = Residuals {
            predicted: vec![3.0, f64::NAN],
            residual: vec![0.0, 1.0],
        };
        assert!(is_svg(&residuals(&one).unwrap().unwrap()));
        let huge = Residuals {
            predicted: vec![-1e308, 1e308],
            residual: vec![1.0, 2.0],
        };
        assert!(residuals(&huge).unwrap().is_none());
    }

    #[test]
    fn slice_bar_labels_intervals_and_axis() {
        let slice = |rows: u64, small: bool, v: f64, lower: f64, upper: f64| SliceEval {
            rows,
            small,
            metrics: BTreeMap::from([("r2".to_string(), v)]),
            intervals: BTreeMap::from([("r2".to_string(), Interval { lower, upper })]),
        };
        let slices = BTreeMap::from([
            ("a".to_string(), slice(300, false, 0.8, 0.9, 0.7)),
            ("b".repeat(40), slice(3, true, -0.5, f64::NAN, 0.1)),
        ]);
        let bars = slice_bar_list(&slices, "r2");
        assert_eq!(
            bars,
            [
                SliceBar {
                    label: "a (n=300)".into(),
                    value: 0.8,
                    interval: Some((0.7, 0.9)),
                    small: false,
                },
                SliceBar {
                    label: "bbbbbbbbbb\u{2026}bbbbbbbbbb (n=3, small)".into(),
                    value: -0.5,
                    interval: None,
                    small: true,
                },
            ]
        );
        let x = slice_axis(&bars).unwrap();
        assert!((x.start - (-0.5 - 1.4 * 0.04)).abs() < 1e-12, "{x:?}");
        assert!((x.end - (0.9 + 1.4 * 0.16)).abs() < 1e-12, "{x:?}");
        assert_eq!(slice_axis(&[]), None);
    }

    #[test]
    fn slice_bars_handle_missing_and_small_slices() {
        let slice = |rows: u64, small: bool, v: f64, iv: Option<(f64, f64)>| SliceEval {
            rows,
            small,
            metrics: BTreeMap::from([("accuracy".to_string(), v)]),
            intervals: iv
                .map(|(lower, upper)| {
                    BTreeMap::from([("accuracy".to_string(), Interval { lower, upper })])
                })
                .unwrap_or_default(),
        };
        assert!(
            slice_bars("c", &BTreeMap::new(), "accuracy")
                .unwrap()
                .is_none()
        );
        let only_nan = BTreeMap::from([("a".to_string(), slice(3, true, f64::NAN, None))]);
        assert!(slice_bars("c", &only_nan, "accuracy").unwrap().is_none());
        let s = BTreeMap::from([
            ("a".to_string(), slice(300, false, 0.8, Some((0.7, 0.9)))),
            ("b".to_string(), slice(12, true, 0.5, None)),
            ("c".to_string(), slice(40, false, f64::NAN, None)),
        ]);
        let svg = slice_bars("col", &s, "accuracy").unwrap().unwrap();
        assert!(is_svg(&svg));
        assert!(svg.contains("b (n=12, small)"));
        let neg = BTreeMap::from([("a".to_string(), slice(30, false, -2.5, Some((-4.0, -1.0))))]);
        assert!(is_svg(
            &slice_bars("col", &neg, "accuracy").unwrap().unwrap()
        ));
        assert!(slice_bars("col", &s, "missing_metric").unwrap().is_none());
    }

    #[test]
    fn plots_are_deterministic() {
        let h: Vec<_> = (1..=10)
            .map(|e| epoch(e, 1.0 / f64::from(e), Some(1.2 / f64::from(e))))
            .collect();
        assert_eq!(loss_curves(&h).unwrap(), loss_curves(&h).unwrap());
    }
}
