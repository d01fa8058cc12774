//! `bench`: the figures a benchmark run collects, measured on the real
//! stages (the same data stage, setup, training loop with its
//! early-stopping monitor, and forward pass as `train`), for CI to collect
//! as JSON and people to read as a table. Nothing is exported: a
//! benchmark leaves no run folder behind.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anneal_config::Backend;
use anneal_data::{Prepared, Targets};
use anneal_model::{Architecture, Objective};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::observer::Observer;
use crate::run_dir::Spill;
use crate::setup::{monitor, train_data};
use crate::train::{Setup, prepare};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchRequest {
    pub config: PathBuf,
    /// Overrides train.backend.
    pub backend: Option<Backend>,
    /// Overrides train.epochs (early stopping still applies).
    pub epochs: Option<u32>,
    /// The stages to measure; the data stage always runs.
    pub stages: Vec<BenchStage>,
    /// Rows per forward pass when predicting in batches.
    pub predict_batch: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchStage {
    /// Read, clean, split, fit and transform the data.
    Prep,
    /// Train the configured model (the standard loop, no checkpoints).
    Train,
    /// Batch prediction and single-row latency.
    Predict,
}

/// Everything `bench.json` holds. Wall-clock figures: not deterministic.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub anneal_version: &'static str,
    pub config: String,
    pub backend: &'static str,
    /// The adapter or CPU the figures were taken on.
    pub device: String,
    pub threads: usize,
    pub data: DataFigures,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train: Option<TrainFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predict: Option<PredictFigures>,
    /// The process's peak resident memory (VmHWM), where the OS reports it.
    pub peak_rss_bytes: Option<u64>,
    /// From process start to the end of the last stage.
    pub process_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct DataFigures {
    pub file_bytes: u64,
    pub rows_read: u64,
    pub train_rows: usize,
    pub test_rows: usize,
    pub inputs: usize,
    /// Read, clean, split, fit and transform into model matrices.
    pub prepare_seconds: f64,
    pub rows_per_second: f64,
}

#[derive(Debug, Serialize)]
pub struct TrainFigures {
    pub architecture: String,
    pub batch_size: u32,
    pub epochs: u32,
    /// Wall time of each epoch (validation included when there is a
    /// validation split).
    pub epoch_seconds: Vec<f64>,
    pub seconds: f64,
    pub samples: u64,
    pub steps: u64,
    pub samples_per_second: f64,
    pub final_train_loss: f64,
    /// Classification: the accuracy of the trained model on the test
    /// split, so that throughput is compared at equal accuracy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct PredictFigures {
    /// Rows scored by the forward pass in batches of `batch_rows`.
    pub rows: usize,
    pub batch_rows: usize,
    pub seconds: f64,
    pub rows_per_second: f64,
    /// One row at a time: host matrix in, outputs back on the host.
    pub single_row: Latency,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub calls: usize,
    pub median_us: f64,
    pub p99_us: f64,
}

/// Runs the stages `req` asks for and returns their figures.
pub fn bench(req: &BenchRequest, obs: &mut dyn Observer) -> Result<BenchReport> {
    let started = Instant::now();
    let mut loaded = anneal_config::load(&req.config)?;
    if let Some(b) = req.backend {
        loaded.config.train.backend = b;
    }
    let backend: Backend = loaded.config.train.backend;
    let wants = |s: BenchStage| req.stages.contains(&s);
    // The device is opened first: a missing GPU is reported before
    // minutes of data preparation.
    let opened = if wants(BenchStage::Train) || wants(BenchStage::Predict) {
        Some(anneal_model::backend::open(backend)?)
    } else {
        None
    };

    // A streaming config's matrices are mapped from files in the working
    // folder (on disk, as `train` keeps them beside the run folder).
    let spill = match loaded.config.data.streaming {
        true => Some(Spill::create(std::path::Path::new("bench"))?),
        false => None,
    };
    let seed = loaded.config.train.seed;
    let Setup {
        mut loaded,
        data,
        arch,
        objective,
        data_secs: prepare_seconds,
        ..
    } = prepare(loaded, spill.as_ref())?;
    if let Some(e) = req.epochs {
        loaded.config.train.epochs = e;
    }
    let figures = DataFigures {
        file_bytes: data.stats.source.bytes,
        rows_read: data.stats.rows.read,
        train_rows: data.train.len(),
        test_rows: data.test.len(),
        inputs: arch.inputs,
        prepare_seconds,
        rows_per_second: data.stats.rows.read as f64 / prepare_seconds.max(1e-9),
    };

    let mut train_figures = None;
    let mut predict_figures = None;
    if let Some(opened) = &opened {
        let network = if wants(BenchStage::Train) {
            obs.data_ready(&loaded, &data, &arch);
            let (figures, network) = train(&loaded, &data, &arch, &objective, &opened.device, obs)?;
            train_figures = Some(figures);
            network
        } else {
            // Prediction alone: a freshly initialised network has the same
            // cost per row as a trained one.
            anneal_model::Network::init(&arch, seed, loaded.config.train.init(), &opened.device)
        };
        if wants(BenchStage::Predict) {
            predict_figures = Some(predict(&data, &arch, &network, &opened.device, req)?);
        }
    }
    Ok(BenchReport {
        anneal_version: env!("CARGO_PKG_VERSION"),
        config: req.config.display().to_string(),
        backend: backend.name(),
        device: opened
            .as_ref()
            .map(|o| o.name.clone())
            .unwrap_or_else(|| "none (data stage only)".into()),
        threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        data: figures,
        train: train_figures,
        predict: predict_figures,
        peak_rss_bytes: peak_rss_bytes(),
        process_seconds: process_seconds().unwrap_or(started.elapsed().as_secs_f64()),
    })
}

impl BenchReport {
    /// bench.json's text.
    pub fn to_json(&self) -> Result<String> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Io(format!("bench.json: {e}")))?;
        text.push('\n');
        Ok(text)
    }
}

fn train(
    loaded: &anneal_config::Loaded,
    data: &Prepared,
    arch: &Architecture,
    objective: &Objective,
    device: &burn::tensor::Device,
    obs: &mut dyn Observer,
) -> Result<(TrainFigures, anneal_model::Network)> {
    let cfg = &loaded.config;
    let layout = &data.preprocessor.layout();
    let mut epoch_seconds = Vec::new();
    let mut last = Instant::now();
    let t = Instant::now();
    let trained = anneal_model::train(
        &cfg.train,
        cfg.model.dropout,
        arch,
        objective,
        train_data(&data.train, layout),
        (!data.valid.is_empty()).then(|| train_data(&data.valid, layout)),
        monitor(loaded, data)?,
        device,
        &mut |log| {
            epoch_seconds.push(last.elapsed().as_secs_f64());
            last = Instant::now();
            obs.epoch(log);
        },
    );
    obs.training_done();
    let trained = trained?;
    let seconds = t.elapsed().as_secs_f64();
    let final_train_loss = trained.history.last().map_or(f64::NAN, |l| l.train_loss);
    let test_accuracy = match &data.test.y {
        Targets::Classes(y) if !y.is_empty() => {
            let k = arch.outputs;
            let out = trained.network.infer(
                &data.test.x,
                y.len(),
                arch,
                layout,
                cfg.train.eval_batch_size as usize,
                device,
            )?;
            let right = out
                .chunks(k)
                .zip(y)
                .filter(|(row, c)| {
                    let best = row
                        .iter()
                        .enumerate()
                        .fold(0, |b, (i, v)| if *v > row[b] { i } else { b });
                    best == **c as usize
                })
                .count();
            Some(right as f64 / y.len() as f64)
        }
        _ => None,
    };
    Ok((
        TrainFigures {
            architecture: format!(
                "{} -> {} -> {}",
                arch.inputs,
                arch.hidden
                    .iter()
                    .map(|h| h.to_string())
                    .collect::<Vec<_>>()
                    .join(" -> "),
                arch.outputs
            ),
            batch_size: cfg.train.batch_size,
            epochs: epoch_seconds.len() as u32,
            epoch_seconds,
            seconds,
            samples: trained.samples,
            steps: trained.steps,
            samples_per_second: trained.samples as f64 / seconds.max(1e-9),
            final_train_loss,
            test_accuracy,
        },
        trained.network,
    ))
}

fn predict(
    data: &Prepared,
    arch: &Architecture,
    network: &anneal_model::Network,
    device: &burn::tensor::Device,
    req: &BenchRequest,
) -> Result<PredictFigures> {
    // The test split, else whatever split has rows.
    let split = [&data.test, &data.valid, &data.train]
        .into_iter()
        .find(|s| !s.is_empty())
        .ok_or_else(|| Error::Usage("no rows to predict".into()))?;
    let n = split.len();
    let layout = &data.preprocessor.layout();
    let batch = req.predict_batch.max(1);
    // One warm-up batch: a GPU compiles its kernels on first use.
    let warm = n.min(batch);
    let width = layout.stored();
    network.infer(&split.x[..warm * width], warm, arch, layout, batch, device)?;
    let t = Instant::now();
    let out = network.infer(&split.x, n, arch, layout, batch, device)?;
    let seconds = t.elapsed().as_secs_f64();
    debug_assert_eq!(out.len(), n * arch.outputs);

    // Single rows, cycling through the split, for about half a second
    // (at least 100 calls, at most 100,000).
    let mut times = Vec::new();
    let budget = Duration::from_millis(500);
    let t = Instant::now();
    while times.len() < 100 || (t.elapsed() < budget && times.len() < 100_000) {
        let i = times.len() % n;
        let s = Instant::now();
        network.infer(
            &split.x[i * width..(i + 1) * width],
            1,
            arch,
            layout,
            1,
            device,
        )?;
        times.push(s.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok(PredictFigures {
        rows: n,
        batch_rows: batch,
        seconds,
        rows_per_second: n as f64 / seconds.max(1e-9),
        single_row: Latency {
            calls: times.len(),
            median_us: at(0.5),
            p99_us: at(0.99),
        },
    })
}

/// VmHWM from /proc/self/status, in bytes.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Seconds since the process started (Linux: field 22 of /proc/self/stat,
/// in clock ticks since boot, against /proc/uptime), so that the figure
/// includes loading the binary.
fn process_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: fields are counted after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let start_ticks: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| uptime - start_ticks / hz as f64)
}
