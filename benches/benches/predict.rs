//! Batch predict throughput (rows/s) and single-row latency of an exported
//! artifact: the titanic MLP (13 inputs -> 64 -> 64 -> 2, with imputation,
//! missing indicators and one-hot encoding), through exactly the code path
//! of `anneal predict` and `anneal serve` (`Artifact::predict_frame`).
//!
//!     cd benches && cargo bench --bench predict
//!
//! `benches/compare/predict_sklearn.py` times scikit-learn's pipeline +
//! MLPClassifier of the same size on the same rows, for the ratio.

use std::path::{Path, PathBuf};

use anneal_artifact::Artifact;
use anneal_config::{Backend, CsvOptions};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ROWS: usize = 200_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Trains the shipped titanic config into a scratch folder and loads it.
fn artifact(dir: &Path) -> Artifact {
    let out = dir.join("run");
    let mut req = anneal_pipeline::TrainRequest::new(root().join("configs/titanic.toml"));
    req.out = Some(out.clone());
    req.force = true;
    let stop = anneal_pipeline::StopToken::new();
    anneal_pipeline::train(&req, &mut anneal_pipeline::Silent, &stop).expect("titanic trains");
    let device = anneal_model::device(Backend::Flex).unwrap();
    Artifact::load(&out.join("artifact"), device).unwrap()
}

/// `n` rows: the titanic file's rows repeated.
fn rows_file(dir: &Path, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(root().join("datasets/titanic.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    let mut s = String::with_capacity(n * 32);
    s.push_str(header);
    s.push('\n');
    for i in 0..n {
        s.push_str(body[i % body.len()]);
        s.push('\n');
    }
    let path = dir.join(format!("titanic-{n}.csv"));
    std::fs::write(&path, s).unwrap();
    path
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("anneal-bench-predict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let art = artifact(&dir);
    let text_cols = art.text_columns();
    let big = rows_file(&dir, ROWS);
    let df = anneal_data::read_table(&big, None, &CsvOptions::default(), &text_cols)
        .unwrap()
        .df;
    let one = df.slice(0, 1);

    let mut g = c.benchmark_group("predict");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("frame_200k_rows", |b| {
        b.iter(|| art.predict_frame(&df, &big).unwrap())
    });
    g.bench_function("stream_csv_to_csv_200k_rows", |b| {
        let out = dir.join("out.csv");
        b.iter(|| art.predict_stream(&big, &out, 65_536).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("predict_latency");
    g.throughput(Throughput::Elements(1));
    g.bench_function("frame_1_row", |b| {
        b.iter(|| art.predict_frame(&one, &big).unwrap())
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
