//! The live drift's statistical figures (a measurement, not a test): how
//! soon a one-standard-deviation shift of one numeric feature raises its
//! alert, and how often a stationary stream raises any, per window size,
//! over seeds, at check-data's default thresholds.
//!
//! ```sh
//! cargo build --release --workspace --examples
//! $CARGO_TARGET_DIR/release/examples/drift_figures 20 1000000
//! ```
//!
//! The training profile is synthetic: 5 numeric columns N(0, 1) (one with
//! 10% missing), a categorical column of 10 categories with unequal shares
//! and one of 50 equal ones, from 20,000 training rows. Traffic comes in
//! requests of 100 rows and the window is judged after every request
//! (stricter than a Prometheus scrape every few seconds).

use anneal_config::CheckDataPolicy;
use anneal_core::rng::Rng;
use anneal_data::profile::{ColumnProfile, DataProfile, category_profile, numeric_profile};
use anneal_monitor::drift::{Counts, Reference, alert};
use anneal_monitor::window::{Window, WindowSpec};

const NUMERIC: usize = 5;
const REQUEST: usize = 100;

fn normal(rng: &mut Rng) -> f64 {
    let u = rng.next_f64().max(f64::MIN_POSITIVE);
    let v = rng.next_f64();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn category(rng: &mut Rng, k: usize, skewed: bool) -> String {
    let i = if skewed {
        // Shares proportional to 1, 1/2, ..., 1/k.
        let total: f64 = (1..=k).map(|j| 1.0 / j as f64).sum();
        let mut x = rng.next_f64() * total;
        (1..=k)
            .position(|j| {
                x -= 1.0 / j as f64;
                x < 0.0
            })
            .unwrap_or(k - 1)
    } else {
        rng.below(k as u64) as usize
    };
    format!("c{i}")
}

/// One row: numbers (the first shifted by `shift`), then two categories.
fn row(rng: &mut Rng, shift: f64) -> (Vec<Option<f64>>, [String; 2]) {
    let nums = (0..NUMERIC)
        .map(|j| {
            let x = normal(rng) + if j == 0 { shift } else { 0.0 };
            (j != 1 || rng.next_f64() >= 0.1).then_some(x)
        })
        .collect();
    (nums, [category(rng, 10, true), category(rng, 50, false)])
}

fn profile() -> DataProfile {
    let mut rng = Rng::stream(12345, "training");
    let rows: Vec<_> = (0..20_000).map(|_| row(&mut rng, 0.0)).collect();
    let mut columns = Vec::new();
    for j in 0..NUMERIC {
        let mut present: Vec<f64> = rows.iter().filter_map(|r| r.0[j]).collect();
        let count = present.len() as u64;
        columns.push(ColumnProfile {
            name: format!("x{j}"),
            role: "feature".into(),
            kind: "numeric".into(),
            dtype: "f64".into(),
            count,
            null_fraction: 1.0 - count as f64 / rows.len() as f64,
            numeric: numeric_profile(&mut present),
            categories: None,
        });
    }
    for j in 0..2 {
        columns.push(ColumnProfile {
            name: format!("c{j}"),
            role: "feature".into(),
            kind: "categorical".into(),
            dtype: "str".into(),
            count: rows.len() as u64,
            null_fraction: 0.0,
            numeric: None,
            categories: category_profile(rows.iter().map(|r| r.1[j].as_str())),
        });
    }
    DataProfile {
        rows: rows.len() as u64,
        columns,
    }
}

fn request(reference: &Reference, rng: &mut Rng, shift: f64) -> Counts {
    let mut c = reference.empty();
    c.rows = REQUEST as u64;
    for _ in 0..REQUEST {
        let (nums, cats) = row(rng, shift);
        for (j, x) in nums.iter().enumerate() {
            reference.columns[j].add_number(&mut c.columns[j], *x);
        }
        for (j, s) in cats.iter().enumerate() {
            reference.columns[NUMERIC + j].add_text(&mut c.columns[NUMERIC + j], Some(s));
        }
    }
    c
}

/// Columns alerting over the window.
fn alerting(reference: &Reference, w: &mut Window, policy: &CheckDataPolicy) -> Vec<String> {
    let checks = reference.checks(w.counts(0), policy);
    reference
        .columns
        .iter()
        .filter(|col| {
            let mine: Vec<_> = checks
                .iter()
                .filter(|c| c.column.as_deref() == Some(col.name.as_str()))
                .collect();
            alert(&mine)
        })
        .map(|col| col.name.clone())
        .collect()
}

/// Nanoseconds to count one text of a 10-category column.
fn category_ns(rng: &mut Rng) -> f64 {
    // Categories: a 10-category column, texts looked up by hash.
    let cat = ColumnProfile {
        name: "c".into(),
        role: "feature".into(),
        kind: "categorical".into(),
        dtype: "str".into(),
        count: 10,
        null_fraction: 0.0,
        numeric: None,
        categories: category_profile(
            (0..10).map(|i| ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"][i]),
        ),
    };
    let cat_ref = anneal_monitor::drift::ColumnReference::new("c", &cat);
    let texts: Vec<String> = (0..100_000).map(|_| category(rng, 12, false)).collect();
    let mut c = cat_ref.empty();
    let start = std::time::Instant::now();
    for t in &texts {
        cat_ref.add_text(&mut c, Some(t));
    }
    start.elapsed().as_secs_f64() * 1e9 / texts.len() as f64
}

/// Time and memory of the bookkeeping for a 100-column numeric model:
/// counting 1,000-row requests into a 2,000-row window, and judging it.
fn cost() {
    let mut rng = Rng::stream(7, "cost");
    let columns: Vec<ColumnProfile> = (0..100)
        .map(|j| {
            let mut v: Vec<f64> = (0..20_000).map(|_| normal(&mut rng)).collect();
            ColumnProfile {
                name: format!("f{j:02}"),
                role: "feature".into(),
                kind: "numeric".into(),
                dtype: "f64".into(),
                count: 20_000,
                null_fraction: 0.0,
                numeric: numeric_profile(&mut v),
                categories: None,
            }
        })
        .collect();
    let reference = Reference::new(&DataProfile {
        rows: 20_000,
        columns,
    });
    let cells: Vec<Vec<Option<f64>>> = (0..100)
        .map(|_| (0..1000).map(|_| Some(normal(&mut rng))).collect())
        .collect();
    let mut w = Window::new(
        reference.empty(),
        WindowSpec {
            rows: 2_000,
            millis: None,
        },
    );
    let requests = 500;
    let start = std::time::Instant::now();
    let mut in_lock = std::time::Duration::ZERO;
    for _ in 0..requests {
        let mut c = reference.empty();
        c.rows = 1000;
        for (j, col) in cells.iter().enumerate() {
            for x in col {
                reference.columns[j].add_number(&mut c.columns[j], *x);
            }
        }
        // What serve does under the window's lock.
        let locked = std::time::Instant::now();
        w.add(&c, 0);
        in_lock += locked.elapsed();
    }
    let count_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(requests);
    println!(
        "window merge (under serve's lock): {:.1} µs per request",
        in_lock.as_secs_f64() * 1e6 / f64::from(requests)
    );
    let start = std::time::Instant::now();
    let policy = CheckDataPolicy::default();
    for _ in 0..100 {
        std::hint::black_box(reference.checks(w.counts(0), &policy));
    }
    let judge_us = start.elapsed().as_secs_f64() * 1e6 / 100.0;
    let cat_ns = category_ns(&mut rng);
    println!(
        "one categorical value: {cat_ns:.0} ns; one number: {:.0} ns",
        count_us * 1e3 / 100_000.0
    );
    let counts_bytes: usize = reference
        .empty()
        .columns
        .iter()
        .map(|c| std::mem::size_of_val(c) + c.buckets.len() * 8)
        .sum();
    println!(
        "100 numeric columns: counting a 1,000-row request {count_us:.0} µs; judging the window {judge_us:.0} µs; counts {counts_bytes} bytes x {} blocks + total + empty",
        w.blocks()
    );
}

fn main() {
    cost();
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("usage: drift_figures SEEDS ROWS"))
        .collect();
    let (seeds, rows) = (
        args.first().copied().unwrap_or(20),
        args.get(1).copied().unwrap_or(1_000_000),
    );
    if seeds == 0 {
        return;
    }
    let reference = Reference::new(&profile());
    let policy = CheckDataPolicy::default();
    println!(
        "| window rows | 1σ shift flagged after (rows: median, max over {seeds} seeds) | other columns flagged | stationary {rows}-row streams with any alert | alerting judgements |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for window in [1_000u64, 2_000, 5_000, 10_000] {
        let spec = WindowSpec {
            rows: window,
            millis: None,
        };
        let mut delays = Vec::new();
        let mut wrong = 0;
        let mut alarmed_seeds = 0;
        let mut alarms = 0u64;
        for seed in 0..seeds {
            let mut rng = Rng::stream(seed, "drift-figures");
            let mut w = Window::new(reference.empty(), spec);
            let mut any = false;
            for _ in 0..rows / REQUEST as u64 {
                w.add(&request(&reference, &mut rng, 0.0), 0);
                if w.counts(0).rows >= window {
                    let a = alerting(&reference, &mut w, &policy);
                    if !a.is_empty() {
                        alarms += 1;
                        any = true;
                    }
                }
            }
            alarmed_seeds += u64::from(any);
            // Then the shift, from a full stationary window.
            let mut shifted = 0;
            loop {
                w.add(&request(&reference, &mut rng, 1.0), 0);
                shifted += REQUEST;
                let a = alerting(&reference, &mut w, &policy);
                if a.iter().any(|c| c == "x0") {
                    wrong += a.iter().filter(|c| *c != "x0").count();
                    break;
                }
            }
            delays.push(shifted);
        }
        delays.sort_unstable();
        println!(
            "| {window} | {}, {} | {wrong} | {alarmed_seeds} of {seeds} | {alarms} |",
            delays[delays.len() / 2],
            delays[delays.len() - 1]
        );
    }
}
