//! A sliding window of [`Counts`]: the most recent rows (and/or seconds)
//! of traffic, in constant memory.
//!
//! The window is a queue of blocks, each the merged counts of a tenth of
//! the window ([`BLOCKS`]); a batch is merged into the newest block and
//! into a running total, and the oldest block is subtracted from the total
//! once the rest already fill the window (or once it is older than the
//! time span). So the total covers between `rows` and `rows` plus one
//! block (or one request, when a request is larger) of the latest rows,
//! and memory is about [`BLOCKS`] + 2 copies of the counts, whatever the
//! traffic.

use std::collections::VecDeque;

use crate::drift::Counts;

/// Blocks a window is cut into: the window slides by a tenth at a time.
pub const BLOCKS: u64 = 10;

/// How much a window holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    /// The latest rows (at least 1).
    pub rows: u64,
    /// Only rows of the latest milliseconds, too.
    pub millis: Option<u64>,
}

struct Block {
    first_ms: u64,
    last_ms: u64,
    counts: Counts,
}

pub struct Window {
    spec: WindowSpec,
    empty: Counts,
    blocks: VecDeque<Block>,
    total: Counts,
}

impl Window {
    /// An empty window; `empty` is the reference's zero counts.
    pub fn new(empty: Counts, spec: WindowSpec) -> Window {
        Window {
            spec,
            total: empty.clone(),
            empty,
            blocks: VecDeque::new(),
        }
    }

    pub fn spec(&self) -> WindowSpec {
        self.spec
    }

    /// Adds one request's counts, received at `now_ms`.
    pub fn add(&mut self, batch: &Counts, now_ms: u64) {
        let block_rows = (self.spec.rows / BLOCKS).max(1);
        let block_ms = self.spec.millis.map(|m| (m / BLOCKS).max(1));
        let open = self.blocks.back().is_some_and(|b| {
            b.counts.rows < block_rows && block_ms.is_none_or(|d| now_ms < b.first_ms + d)
        });
        if !open {
            self.blocks.push_back(Block {
                first_ms: now_ms,
                last_ms: now_ms,
                counts: self.empty.clone(),
            });
        }
        if let Some(b) = self.blocks.back_mut() {
            b.counts.merge(batch);
            b.last_ms = b.last_ms.max(now_ms);
        }
        self.total.merge(batch);
        self.evict(now_ms);
    }

    /// The window's counts at `now_ms` (older blocks leave first).
    pub fn counts(&mut self, now_ms: u64) -> &Counts {
        self.evict(now_ms);
        &self.total
    }

    /// Blocks held (for tests and the memory bound).
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    fn evict(&mut self, now_ms: u64) {
        while let Some(oldest) = self.blocks.front() {
            let rest = self.total.rows - oldest.counts.rows.min(self.total.rows);
            let full = rest >= self.spec.rows;
            let stale = self
                .spec
                .millis
                .is_some_and(|m| oldest.last_ms.saturating_add(m) <= now_ms);
            if !(full || stale) {
                break;
            }
            self.total.subtract(&oldest.counts);
            self.blocks.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::ColumnCounts;

    fn batch(rows: u64, missing: u64) -> Counts {
        Counts {
            rows,
            columns: vec![ColumnCounts {
                rows,
                missing,
                outside: 0,
                buckets: vec![rows - missing],
            }],
            prediction: ColumnCounts::default(),
        }
    }

    #[test]
    fn rows_slide_out_a_block_at_a_time() {
        let mut w = Window::new(
            batch(0, 0),
            WindowSpec {
                rows: 100,
                millis: None,
            },
        );
        // 10-row blocks: 12 requests of 10 rows keep the last 100.
        for i in 0..12 {
            w.add(&batch(10, u64::from(i >= 10) * 10), i);
        }
        assert_eq!(w.counts(12).rows, 100);
        assert_eq!(w.counts(12).columns[0].missing, 20);
        assert_eq!(w.blocks(), 10);
        // A request larger than the window replaces it whole.
        w.add(&batch(500, 0), 13);
        assert_eq!((w.counts(13).rows, w.blocks()), (500, 1));
        // Small requests share a block.
        for i in 0..7 {
            w.add(&batch(3, 3), 14 + i);
        }
        assert_eq!(w.blocks(), 1 + 2);
        assert_eq!(w.counts(30).rows, 521);
    }

    #[test]
    fn time_spans_expire_whole_blocks() {
        let spec = WindowSpec {
            rows: 1_000_000,
            millis: Some(10_000),
        };
        let mut w = Window::new(batch(0, 0), spec);
        // One request a second: a block per second.
        for s in 0..15 {
            w.add(&batch(1, 0), s * 1000);
        }
        // Blocks last touched before 14 s - 10 s are gone.
        assert_eq!(w.counts(14_000).rows, 10);
        assert_eq!(w.counts(30_000).rows, 0);
        assert_eq!(w.counts(30_000), &batch(0, 0));
    }
}
