//! The stored matrix row and how it becomes the network's inputs.
//!
//! The model matrices (in memory, and the spill files of the streaming data
//! stage) hold a compact row per example; the inputs the network sees are
//! expanded from it one batch at a time. A categorical column is stored as
//! one cell holding its slot (the network sees a one-hot block, or embeds
//! the slot itself); a piecewise-linear encoded column is stored as the two
//! 32-bit halves of its clipped value in `f64`, from which its scaled value
//! and its pieces are computed exactly as the fitted transform defines
//! them. A table of 8 numeric columns with 32 bins and a few categories
//! thus stores ~20 cells per row instead of ~330, and the expanded inputs
//! are bit for bit the ones the whole matrix used to hold.
//!
//! [`crate::Preprocessor::transform`] writes stored rows; [`InputLayout`]
//! reads them back. Both follow [`crate::Preprocessor::layout`].

use crate::preprocess::piecewise_linear;

/// One stretch of a stored row.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `n` cells the network sees as they are (scaled values, missing
    /// indicators, the slots of embedded categories).
    Copy(usize),
    /// One cell holding a slot index, seen as a one-hot block of `slots`
    /// inputs.
    OneHot(usize),
    /// Two cells holding the bits of a column's value in `f64`
    /// ([`store_f64`]), then its missing indicator if it has one: seen as
    /// the scaled value `(x - shift) / scale`, the indicator, and the
    /// value's piecewise-linear pieces over `edges`.
    Pieces {
        shift: f64,
        scale: f64,
        indicator: bool,
        edges: Vec<f64>,
    },
}

impl Segment {
    fn stored(&self) -> usize {
        match self {
            Segment::Copy(n) => *n,
            Segment::OneHot(_) => 1,
            Segment::Pieces { indicator, .. } => 2 + usize::from(*indicator),
        }
    }

    fn inputs(&self) -> usize {
        match self {
            Segment::Copy(n) => *n,
            Segment::OneHot(slots) => *slots,
            Segment::Pieces {
                indicator, edges, ..
            } => 1 + usize::from(*indicator) + edges.len().saturating_sub(1),
        }
    }
}

/// The segments of a stored row, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct InputLayout {
    segments: Vec<Segment>,
    stored: usize,
    inputs: usize,
}

impl InputLayout {
    /// A layout from its segments; neighbouring copies are merged.
    pub fn new(segments: Vec<Segment>) -> InputLayout {
        let mut merged: Vec<Segment> = Vec::with_capacity(segments.len());
        for s in segments {
            match (merged.last_mut(), &s) {
                (_, Segment::Copy(0)) => {}
                (Some(Segment::Copy(a)), Segment::Copy(b)) => *a += b,
                _ => merged.push(s),
            }
        }
        InputLayout {
            stored: merged.iter().map(Segment::stored).sum(),
            inputs: merged.iter().map(Segment::inputs).sum(),
            segments: merged,
        }
    }

    /// Rows stored as the network sees them (`width` cells each).
    pub fn identity(width: usize) -> InputLayout {
        InputLayout::new(vec![Segment::Copy(width)])
    }

    /// Cells per stored row.
    pub fn stored(&self) -> usize {
        self.stored
    }

    /// Network inputs per row.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether stored rows are the inputs themselves.
    pub fn is_identity(&self) -> bool {
        self.stored == self.inputs && self.segments.iter().all(|s| matches!(s, Segment::Copy(_)))
    }

    /// Appends the inputs of the stored row `row` to `out`.
    pub fn expand_row(&self, row: &[f32], out: &mut Vec<f32>) {
        if self.is_identity() {
            out.extend_from_slice(&row[..self.stored]);
            return;
        }
        let mut at = 0;
        for s in &self.segments {
            match s {
                Segment::Copy(n) => out.extend_from_slice(&row[at..at + n]),
                Segment::OneHot(slots) => {
                    let start = out.len();
                    out.resize(start + slots, 0.0);
                    // A slot beyond the block (never written by the
                    // transform) lights nothing rather than a neighbour.
                    if let Some(cell) = out[start..].get_mut(row[at] as usize) {
                        *cell = 1.0;
                    }
                }
                Segment::Pieces {
                    shift,
                    scale,
                    indicator,
                    edges,
                } => {
                    let x = load_f64(&row[at..at + 2]);
                    out.push(((x - shift) / scale) as f32);
                    if *indicator {
                        out.push(row[at + 2]);
                    }
                    let start = out.len();
                    out.resize(start + edges.len().saturating_sub(1), 0.0);
                    piecewise_linear(x, edges, &mut out[start..]);
                }
            }
            at += s.stored();
        }
    }

    /// Appends the inputs of `n` consecutive stored rows to `out`.
    pub fn expand_rows(&self, rows: &[f32], n: usize, out: &mut Vec<f32>) {
        out.reserve(n * self.inputs);
        if self.is_identity() {
            out.extend_from_slice(&rows[..n * self.stored]);
            return;
        }
        for row in rows.chunks_exact(self.stored.max(1)).take(n) {
            self.expand_row(row, out);
        }
    }
}

/// Stores `x` in two cells, bit for bit: the low and high 32 bits of its
/// `f64` representation, each reinterpreted as an `f32`. The cells are only
/// ever copied (never computed with), so every bit pattern survives memory,
/// files and maps.
pub fn store_f64(x: f64, out: &mut [f32]) {
    let bits = x.to_bits();
    out[0] = f32::from_bits(bits as u32);
    out[1] = f32::from_bits((bits >> 32) as u32);
}

/// The value [`store_f64`] stored.
pub fn load_f64(cells: &[f32]) -> f64 {
    f64::from_bits(u64::from(cells[0].to_bits()) | (u64::from(cells[1].to_bits()) << 32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f64_cells_keep_every_bit() {
        for x in [0.1, -3.5e300, f64::MIN_POSITIVE, 1.0 / 3.0, f64::NAN, -0.0] {
            let mut c = [0f32; 2];
            store_f64(x, &mut c);
            // Through bytes, as in a spill file.
            let bytes: Vec<u8> = c.iter().flat_map(|v| v.to_le_bytes()).collect();
            let back: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            assert_eq!(load_f64(&back).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn rows_expand_into_one_hot_blocks_and_pieces() {
        let layout = InputLayout::new(vec![
            Segment::Copy(1),
            Segment::Copy(1),
            Segment::Pieces {
                shift: 1.0,
                scale: 4.0,
                indicator: true,
                edges: vec![0.0, 1.0, 3.0],
            },
            Segment::OneHot(3),
            Segment::Copy(0),
        ]);
        assert_eq!(layout.segments().len(), 3);
        assert_eq!((layout.stored(), layout.inputs()), (6, 9));
        let mut row = [0.25, 1.0, 0.0, 0.0, 1.0, 2.0];
        store_f64(2.0, &mut row[2..4]);
        let mut out = Vec::new();
        layout.expand_rows(&row, 1, &mut out);
        // 2.0 scaled by (2 - 1) / 4, its indicator, its two pieces, slot 2.
        assert_eq!(out, [0.25, 1.0, 0.25, 1.0, 1.0, 0.5, 0.0, 0.0, 1.0]);
        assert!(InputLayout::identity(4).is_identity());
        assert!(!layout.is_identity());
    }
}
