//! Time windows: which logged rows are judged together. A window is
//! either a fixed span of time (`--window 1h`), its boundaries aligned to
//! the Unix epoch so that the same rows always fall in the same windows
//! whatever else the log holds, or a fixed number of rows in time order
//! (`--window 500rows`), for files without timestamps.

use std::fmt;
use std::str::FromStr;

use crate::error::MonitorError;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpec {
    /// Windows of this many milliseconds: `[k * ms, (k + 1) * ms)`.
    Span {
        ms: u64,
        text: &'static str,
        count: u64,
    },
    /// Windows of this many consecutive rows (the last may be shorter).
    Rows(u64),
}

const UNITS: [(&str, u64); 5] = [
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
];

impl FromStr for WindowSpec {
    type Err = MonitorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            MonitorError::Usage(format!(
                "--window: expected a span like 30m, 1h or 1d, or a row count like 500rows, got {s:?}"
            ))
        };
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let n: u64 = digits.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        if unit == "rows" || unit.is_empty() {
            return Ok(WindowSpec::Rows(n));
        }
        let (text, ms) = UNITS.iter().find(|(u, _)| *u == unit).ok_or_else(bad)?;
        let ms = ms.checked_mul(n).ok_or_else(bad)?;
        Ok(WindowSpec::Span { ms, text, count: n })
    }
}

impl fmt::Display for WindowSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowSpec::Span { text, count, .. } => write!(f, "{count}{text}"),
            WindowSpec::Rows(n) => write!(f, "{n}rows"),
        }
    }
}

/// One window: its number and span, and the positions (into the
/// time-ordered rows) of the rows it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Span windows: `start_ms / span`, so numbers are comparable across
    /// runs; row windows: 0, 1, 2, ...
    pub index: u64,
    /// Span windows: the boundaries; row windows: the first and one past
    /// the last row's timestamp.
    pub start_ms: u64,
    pub end_ms: u64,
    pub rows: Vec<usize>,
}

/// Groups rows with timestamps `ts_ms` (already in time order) into the
/// non-empty windows of `spec`, in time order.
pub fn assign(ts_ms: &[u64], spec: WindowSpec) -> Vec<Window> {
    let mut out: Vec<Window> = Vec::new();
    for (i, &ts) in ts_ms.iter().enumerate() {
        let index = match spec {
            WindowSpec::Span { ms, .. } => ts / ms,
            WindowSpec::Rows(n) => i as u64 / n,
        };
        match out.last_mut() {
            Some(w) if w.index == index => {
                w.rows.push(i);
                w.end_ms = w.end_ms.max(ts.saturating_add(1));
            }
            _ => out.push(Window {
                index,
                start_ms: ts,
                end_ms: ts.saturating_add(1),
                rows: vec![i],
            }),
        }
    }
    if let WindowSpec::Span { ms, .. } = spec {
        for w in &mut out {
            w.start_ms = w.index * ms;
            w.end_ms = w.start_ms.saturating_add(ms);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse_and_print_back() {
        let h: WindowSpec = "1h".parse().unwrap();
        assert_eq!(
            h,
            WindowSpec::Span {
                ms: 3_600_000,
                text: "h",
                count: 1
            }
        );
        assert_eq!(h.to_string(), "1h");
        assert_eq!("2d".parse::<WindowSpec>().unwrap().to_string(), "2d");
        assert_eq!(
            "500rows".parse::<WindowSpec>().unwrap(),
            WindowSpec::Rows(500)
        );
        assert_eq!("500".parse::<WindowSpec>().unwrap(), WindowSpec::Rows(500));
        for bad in ["", "0h", "h", "1y", "-1h", "99999999999999999w"] {
            assert_eq!(
                bad.parse::<WindowSpec>().unwrap_err().to_string(),
                format!(
                    "--window: expected a span like 30m, 1h or 1d, or a row count like 500rows, got {bad:?}"
                )
            );
        }
    }

    #[test]
    fn span_windows_align_to_the_epoch_and_skip_empty_ones() {
        let hour = 3_600_000;
        let ts = [hour + 5, hour + 10, 2 * hour - 1, 4 * hour, 4 * hour + 7];
        let w = assign(&ts, "1h".parse().unwrap());
        assert_eq!(w.len(), 2);
        assert_eq!(
            (w[0].index, w[0].start_ms, w[0].end_ms),
            (1, hour, 2 * hour)
        );
        assert_eq!(w[0].rows, [0, 1, 2]);
        assert_eq!((w[1].index, w[1].start_ms), (4, 4 * hour));
        assert_eq!(w[1].rows, [3, 4]);
    }

    #[test]
    fn row_windows_hold_n_rows_and_the_rest() {
        let w = assign(&[5, 6, 7, 8, 9], WindowSpec::Rows(2));
        let rows: Vec<Vec<usize>> = w.iter().map(|w| w.rows.clone()).collect();
        assert_eq!(rows, [vec![0, 1], vec![2, 3], vec![4]]);
        assert_eq!((w[1].start_ms, w[1].end_ms), (7, 9));
    }
}
