//! One training epoch of the standard MLP (inputs -> 64 -> 64 -> 2, ReLU,
//! Adam 1e-3, batch 64) on 100,000 synthetic rows (80,000 training rows,
//! 68 inputs), per backend: flex and ndarray always, wgpu when the benches
//! are built with `--features wgpu` and an adapter opens.
//!
//!     cd benches && cargo bench --bench train [--features wgpu]
//!
//! Throughput is in training samples per second, the unit of the peers'
//! figures (scikit-learn's MLPClassifier, PyTorch).

use anneal_benches::Synth;
use anneal_config::Backend;
use anneal_data::Targets;
use anneal_model::TrainData;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ROWS: usize = 100_000;

fn bench(c: &mut Criterion) {
    let synth = Synth::new("train", ROWS, 1);
    let loaded = anneal_config::load(&synth.config).expect("config loads");
    let data = anneal_data::prepare(&loaded, 42).expect("prepares");
    let Targets::Classes(y) = &data.train.y else {
        panic!("the synthetic label is a class")
    };
    let train = TrainData {
        x: &data.train.x,
        n: data.train.len(),
        classes: Some(y),
        values: None,
    };
    // The network and loss exactly as `anneal train` builds them from the
    // synthetic config (an MLP 64-64, no numeric embedding).
    let (arch, objective) =
        anneal_pipeline::setup::model_setup(&loaded, &data).expect("the model is set up");
    let mut cfg = loaded.config.train.clone();
    cfg.epochs = 1;

    let mut g = c.benchmark_group("train_epoch");
    g.sample_size(10);
    g.throughput(Throughput::Elements(train.n as u64));
    let mut backends = vec![Backend::Flex, Backend::Ndarray];
    if cfg!(feature = "wgpu") {
        backends.push(Backend::Wgpu);
    }
    for backend in backends {
        let device = match anneal_model::backend::open(backend) {
            Ok(o) => {
                eprintln!("{}: {}", backend.name(), o.name);
                o.device
            }
            Err(e) => {
                eprintln!("skipping {}: {e}", backend.name());
                continue;
            }
        };
        g.bench_function(format!("mlp_64_64_batch64_80k_rows/{}", backend.name()), |b| {
            b.iter(|| {
                anneal_model::train(
                    &cfg,
                    0.0,
                    &arch,
                    &objective,
                    train,
                    None,
                    None,
                    &device,
                    &mut |_| {},
                )
                .expect("trains")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
