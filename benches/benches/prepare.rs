//! The data stage on the peers' 1M-row synthetic CSV (76 MB: 8 numeric and
//! 4 categorical columns, 5% missing cells): read, clean, hash, split,
//! fit (median imputation, mean/std, category lists) and transform into
//! float32 model matrices, exactly as `anneal train` runs it.
//!
//!     cd benches && cargo bench --bench prepare
//!
//! `compare/compare.py` times the whole process against pandas and
//! polars-python on the same file.

use anneal_benches::Synth;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ROWS: usize = 1_000_000;

fn bench(c: &mut Criterion) {
    let synth = Synth::new("prepare", ROWS, 1);
    let loaded = anneal_config::load(&synth.config).expect("config loads");
    let mut g = c.benchmark_group("prepare");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("synth_1m_rows", |b| {
        b.iter(|| anneal_data::prepare(&loaded, 42).expect("prepares"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
