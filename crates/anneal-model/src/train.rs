//! anneal's training loop on burn's module and optimizer API.

use std::sync::atomic::{AtomicBool, Ordering};

use anneal_config::{Loss, Optimizer, TrainConfig};
use anneal_core::rng::Rng;
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, SgdConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use serde::Serialize;

use crate::error::{ModelError, Result};
use crate::network::{Architecture, Network, softmax_rows};
use crate::schedule::learning_rate;

/// One split as the loop sees it: `n` rows of `inputs` floats, and either
/// class indices or (scaled) regression targets.
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    pub x: &'a [f32],
    pub n: usize,
    pub classes: Option<&'a [u32]>,
    pub values: Option<&'a [f32]>,
}

/// What is minimised.
#[derive(Debug, Clone, PartialEq)]
pub enum Objective {
    /// Softmax cross-entropy over `classes`, optionally weighted per class.
    CrossEntropy {
        classes: usize,
        weights: Vec<f32>,
    },
    Mse,
    Huber {
        delta: f64,
    },
}

impl Objective {
    /// The objective for a task and the configured loss.
    pub fn new(classes: Option<usize>, loss: Loss, huber_delta: f64, weights: Vec<f32>) -> Self {
        match (classes, loss) {
            (Some(k), _) => Objective::CrossEntropy {
                classes: k,
                weights,
            },
            (None, Loss::Huber) => Objective::Huber { delta: huber_delta },
            (None, _) => Objective::Mse,
        }
    }

    /// Mean loss of raw model outputs on the host, in f64.
    pub fn host_loss(&self, outputs: &[f32], data: &TrainData) -> f64 {
        let n = data.n;
        if n == 0 {
            return f64::NAN;
        }
        match self {
            Objective::CrossEntropy { classes, weights } => {
                let p = softmax_rows(outputs, *classes);
                let (mut total, mut wsum) = (0.0, 0.0);
                for (i, &c) in data.classes.unwrap_or(&[]).iter().enumerate() {
                    let w = weights.get(c as usize).copied().unwrap_or(1.0) as f64;
                    total -= w * p[i * classes + c as usize].max(f64::MIN_POSITIVE).ln();
                    wsum += w;
                }
                total / wsum
            }
            Objective::Mse | Objective::Huber { .. } => {
                let y = data.values.unwrap_or(&[]);
                let mut total = 0.0;
                for (o, t) in outputs.iter().zip(y) {
                    let e = (*o as f64 - *t as f64).abs();
                    total += match self {
                        Objective::Huber { delta } if e > *delta => delta * (e - 0.5 * delta),
                        Objective::Huber { .. } => 0.5 * e * e,
                        _ => e * e,
                    };
                }
                total / n as f64
            }
        }
    }
}

/// Scores the raw validation outputs of one epoch.
pub type MetricFn<'a> = Box<dyn Fn(&[f32]) -> f64 + 'a>;

/// A validation metric to watch for early stopping: computed by the caller
/// (the evaluation crate knows metrics) from raw outputs.
pub struct Monitor<'a> {
    pub name: String,
    pub higher_is_better: bool,
    pub compute: MetricFn<'a>,
}

/// What happened in one epoch. Part of the report: no wall-clock values.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct EpochLog {
    pub epoch: u32,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub learning_rate: f64,
    #[serde(deserialize_with = "anneal_core::json::null_as_nan::f64")]
    pub train_loss: f64,
    #[serde(
        default,
        deserialize_with = "anneal_core::json::null_as_nan::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_loss: Option<f64>,
    #[serde(
        default,
        deserialize_with = "anneal_core::json::null_as_nan::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_metric: Option<f64>,
}

pub struct TrainOutput {
    /// The final (or best, with early stopping) network, without autodiff.
    pub network: Network,
    pub history: Vec<EpochLog>,
    pub monitor: Option<String>,
    pub best_epoch: Option<u32>,
    pub stopped_early: bool,
    pub steps: u64,
    pub samples: u64,
}

/// Everything that decides the rest of a run, at a step boundary: with it,
/// a resumed run continues bit for bit as if it had never stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainState {
    /// The epoch in progress (0-based).
    pub epoch: u32,
    /// Batches of that epoch already done (0: the epoch has not started,
    /// and its shuffle is still to come).
    pub batch: u64,
    /// The row order: this epoch's when `batch > 0`, else the last one
    /// (each epoch shuffles the previous order).
    pub order: Vec<u32>,
    pub order_rng: [u64; 4],
    pub dropout_rng: [u64; 4],
    /// The epoch's loss sum so far.
    pub loss_sum: f64,
    pub steps: u64,
    pub samples: u64,
    pub history: Vec<EpochLog>,
    /// Early stopping: the best value, its epoch and its weights.
    pub best: Option<(f64, u32, Vec<crate::network::NetworkTensor>)>,
    pub since_best: u32,
    pub weights: Vec<crate::network::NetworkTensor>,
    /// The optimizer's state (moments, step counts) in burn's burnpack
    /// format.
    pub optimizer: Vec<u8>,
}

/// Checkpointing and interruption: how a run saves its state and when it
/// stops early on request.
pub struct Checkpoints<'a> {
    /// Save every this many optimizer steps (0: at epoch ends only).
    pub every_steps: u64,
    /// Epoch-end checkpoints are skipped until this long after the last
    /// checkpoint (or the start): a run of a few seconds is cheaper to
    /// redo than to checkpoint, and fsyncs would dominate it. Zero saves at
    /// every epoch end. Step checkpoints and the one on a stop request are
    /// never skipped.
    pub min_interval: std::time::Duration,
    /// Continue from this state instead of starting fresh.
    pub resume: Option<TrainState>,
    /// Set (by a SIGINT/SIGTERM handler) to stop after the current step,
    /// with a checkpoint: training then returns `ModelError::Interrupted`.
    pub stop: Option<&'a AtomicBool>,
    /// Writes one checkpoint.
    pub save: &'a mut dyn FnMut(&TrainState) -> Result<()>,
    /// Called after every step with the step count (progress, test hooks).
    pub on_step: &'a mut dyn FnMut(u64),
}

/// Trains a fresh network for `arch` on `train`, watching `valid`.
#[allow(clippy::too_many_arguments)]
pub fn train(
    cfg: &TrainConfig,
    dropout: f64,
    arch: &Architecture,
    objective: &Objective,
    train: TrainData,
    valid: Option<TrainData>,
    monitor: Option<Monitor>,
    device: &Device,
    on_epoch: &mut dyn FnMut(&EpochLog),
) -> Result<TrainOutput> {
    train_with(
        cfg, dropout, arch, objective, train, valid, monitor, device, on_epoch, None,
    )
}

/// [`train`] with checkpoints, resume and interruption.
#[allow(clippy::too_many_arguments)]
pub fn train_with(
    cfg: &TrainConfig,
    dropout: f64,
    arch: &Architecture,
    objective: &Objective,
    train: TrainData,
    valid: Option<TrainData>,
    monitor: Option<Monitor>,
    device: &Device,
    on_epoch: &mut dyn FnMut(&EpochLog),
    mut checkpoints: Option<Checkpoints<'_>>,
) -> Result<TrainOutput> {
    let resume = checkpoints.as_mut().and_then(|c| c.resume.take());
    let mut model = match &resume {
        Some(state) => Network::from_tensors(arch, &state.weights, device)?.train(),
        None => Network::init(arch, cfg.seed, device).train(),
    };
    let mut optim = match cfg.optimizer {
        Optimizer::Adam => AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(
                (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32)),
            )
            .init(),
        Optimizer::Adamw => AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(cfg.weight_decay as f32)
            .init(),
        Optimizer::Sgd => SgdConfig::new()
            .with_weight_decay(
                (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32)),
            )
            .with_momentum((cfg.momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(cfg.momentum)
                    .with_dampening(0.0)
            }))
            .init(),
    };
    let mut order_rng = Rng::stream(cfg.seed, "shuffle");
    let mut dropout_rng = Rng::stream(cfg.seed, "dropout");
    let d = arch.inputs;
    let batch = (cfg.batch_size as usize).max(1);
    let mut order: Vec<usize> = (0..train.n).collect();
    let mut history = Vec::new();
    let mut best: Option<(f64, u32, Vec<crate::network::NetworkTensor>)> = None;
    let mut since_best = 0u32;
    let mut stopped_early = false;
    let mut steps = 0u64;
    let mut samples = 0u64;
    let es = cfg.early_stopping();
    let mut first_epoch = 0u32;
    let mut skip_batches = 0u64;
    let mut resumed_loss_sum = 0.0f64;
    if let Some(state) = resume {
        if state.order.len() != train.n || state.order.iter().any(|&i| i as usize >= train.n) {
            return Err(ModelError::Weights(format!(
                "the checkpoint orders {} rows but the training split has {}",
                state.order.len(),
                train.n
            )));
        }
        optim = optim
            .from_bytes(Bytes::from_bytes_vec(state.optimizer))
            .map_err(|e| ModelError::Weights(format!("optimizer state: {e:?}")))?;
        order = state.order.iter().map(|&i| i as usize).collect();
        order_rng = Rng::from_state(state.order_rng);
        dropout_rng = Rng::from_state(state.dropout_rng);
        history = state.history;
        best = state.best;
        since_best = state.since_best;
        steps = state.steps;
        samples = state.samples;
        first_epoch = state.epoch;
        skip_batches = state.batch;
        resumed_loss_sum = state.loss_sum;
    }
    // The state at a step boundary, for a checkpoint.
    let snapshot = |model: &Network,
                    optim_bytes: Vec<u8>,
                    epoch: u32,
                    batch_done: u64,
                    order: &[usize],
                    order_rng: &Rng,
                    dropout_rng: &Rng,
                    loss_sum: f64,
                    steps: u64,
                    samples: u64,
                    history: &[EpochLog],
                    best: &Option<(f64, u32, Vec<crate::network::NetworkTensor>)>,
                    since_best: u32|
     -> Result<TrainState> {
        Ok(TrainState {
            epoch,
            batch: batch_done,
            order: order.iter().map(|&i| i as u32).collect(),
            order_rng: order_rng.state(),
            dropout_rng: dropout_rng.state(),
            loss_sum,
            steps,
            samples,
            history: history.to_vec(),
            best: best.clone(),
            since_best,
            weights: model.valid().to_tensors(arch)?,
            optimizer: optim_bytes,
        })
    };
    let optim_bytes = |o: &_| -> Result<Vec<u8>> {
        let o: &burn::optim::ModuleOptimizer = o;
        o.into_bytes()
            .map(|b| b.to_vec())
            .map_err(|e| ModelError::Tensor(format!("optimizer state: {e:?}")))
    };

    // On a GPU, reading each step's loss back would make the host wait for
    // the device at every step: the losses are summed on the device and
    // read at the epoch end (or a checkpoint) instead, where divergence is
    // then reported. The CPU backends read every step, as they always have
    // (their sums, and so their reports, stay bit for bit the same).
    let defer_loss = !crate::backend::is_deterministic(cfg.backend);
    let mut pending_loss: Option<Tensor<1>> = None;
    let settle = |pending: &mut Option<Tensor<1>>, sum: &mut f64, epoch: u32| -> Result<()> {
        if let Some(p) = pending.take() {
            let v = p.into_scalar::<f32>() as f64;
            if !v.is_finite() {
                return Err(ModelError::Diverged {
                    epoch: epoch + 1,
                    loss: v,
                });
            }
            *sum += v;
        }
        Ok(())
    };
    let mut last_save = std::time::Instant::now();
    for epoch in first_epoch..cfg.epochs {
        let lr = learning_rate(cfg.learning_rate, &cfg.schedule, epoch, cfg.epochs);
        let resuming_mid_epoch = epoch == first_epoch && skip_batches > 0;
        if !resuming_mid_epoch {
            order_rng.shuffle(&mut order);
        }
        let mut loss_sum = if resuming_mid_epoch {
            resumed_loss_sum
        } else {
            0.0f64
        };
        let skip = if resuming_mid_epoch { skip_batches } else { 0 };
        for (batch_index, chunk) in order.chunks(batch).enumerate().skip(skip as usize) {
            let b = chunk.len();
            // Each batch buffer is built once and moved into its tensor.
            let mut xb = Vec::with_capacity(b * d);
            for &i in chunk {
                xb.extend_from_slice(&train.x[i * d..(i + 1) * d]);
            }
            let x = Tensor::<2>::from_data(TensorData::new(xb, [b, d]), device).autodiff();
            // An ensemble's members each get their own rows of the mask.
            let members = arch.members();
            let masks: Vec<Tensor<2>> = if dropout > 0.0 {
                let keep = 1.0 - dropout;
                arch.hidden
                    .iter()
                    .map(|&h| {
                        let m: Vec<f32> = (0..members * b * h)
                            .map(|_| {
                                if dropout_rng.next_f64() < keep {
                                    (1.0 / keep) as f32
                                } else {
                                    0.0
                                }
                            })
                            .collect();
                        Tensor::<2>::from_data(TensorData::new(m, [members * b, h]), device)
                            .autodiff()
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let out = model.forward(x, arch, &masks);
            let loss = match objective {
                Objective::CrossEntropy { classes, weights } => {
                    let k = *classes;
                    let mut tb = vec![0.0f32; b * k];
                    let mut wsum = 0.0f32;
                    let ys = train.classes.unwrap_or(&[]);
                    for (r, &i) in chunk.iter().enumerate() {
                        let c = ys[i] as usize;
                        let w = weights.get(c).copied().unwrap_or(1.0);
                        tb[r * k + c] = w;
                        wsum += w;
                    }
                    // Every member is scored on the same rows; the loss is
                    // the mean of the members' losses.
                    let tb = tb.repeat(members);
                    let target =
                        Tensor::<2>::from_data(TensorData::new(tb, [members * b, k]), device)
                            .autodiff();
                    (log_softmax(out, 1) * target).sum().neg() / (wsum * members as f32)
                }
                Objective::Mse | Objective::Huber { .. } => {
                    let ys = train.values.unwrap_or(&[]);
                    let tb: Vec<f32> = chunk.iter().map(|&i| ys[i]).collect();
                    let tb = tb.repeat(members);
                    let target =
                        Tensor::<2>::from_data(TensorData::new(tb, [members * b, 1]), device)
                            .autodiff();
                    let diff = out - target;
                    match objective {
                        Objective::Huber { delta } => {
                            let a = diff.abs();
                            let quad = a.clone().clamp_max(*delta);
                            let lin = a - quad.clone();
                            (quad.clone() * quad * 0.5 + lin * *delta).mean()
                        }
                        _ => (diff.clone() * diff).mean(),
                    }
                }
            };
            if defer_loss {
                let weighted = loss.clone().detach() * b as f32;
                pending_loss = Some(match pending_loss.take() {
                    Some(p) => p + weighted,
                    None => weighted,
                });
            } else {
                let loss_value = loss.clone().into_scalar::<f32>() as f64;
                if !loss_value.is_finite() {
                    return Err(ModelError::Diverged {
                        epoch: epoch + 1,
                        loss: loss_value,
                    });
                }
                loss_sum += loss_value * b as f64;
            }
            let grads = loss.backward();
            let mut grads = GradientsParams::from_grads(grads, &model);
            if cfg.grad_clip > 0.0 {
                clip_global_norm(&model, &mut grads, cfg.grad_clip);
            }
            model = optim.step(lr, model, grads);
            steps += 1;
            samples += b as u64;
            if let Some(c) = checkpoints.as_mut() {
                (c.on_step)(steps);
                let stop = c.stop.is_some_and(|s| s.load(Ordering::SeqCst));
                let due = c.every_steps > 0 && steps.is_multiple_of(c.every_steps);
                let last_of_epoch = (batch_index + 1) * batch >= train.n;
                // A due checkpoint on an epoch's last batch is left to the
                // epoch-end one that follows (after validation).
                if stop || (due && !last_of_epoch) {
                    settle(&mut pending_loss, &mut loss_sum, epoch)?;
                    let state = snapshot(
                        &model,
                        optim_bytes(&optim)?,
                        epoch,
                        batch_index as u64 + 1,
                        &order,
                        &order_rng,
                        &dropout_rng,
                        loss_sum,
                        steps,
                        samples,
                        &history,
                        &best,
                        since_best,
                    )?;
                    (c.save)(&state)?;
                    last_save = std::time::Instant::now();
                }
                if stop {
                    return Err(ModelError::Interrupted);
                }
            }
        }
        settle(&mut pending_loss, &mut loss_sum, epoch)?;
        let train_loss = loss_sum / train.n.max(1) as f64;

        let (valid_loss, valid_metric) = match &valid {
            Some(v) if v.n > 0 => {
                let plain = model.valid();
                let outputs = plain.infer(v.x, v.n, arch, cfg.eval_batch_size as usize, device)?;
                let vl = objective.host_loss(&outputs, v);
                let vm = monitor.as_ref().map(|m| (m.compute)(&outputs));
                (Some(vl), vm)
            }
            _ => (None, None),
        };
        let log = EpochLog {
            epoch: epoch + 1,
            learning_rate: lr,
            train_loss,
            valid_loss,
            valid_metric,
        };
        on_epoch(&log);
        history.push(log);

        if let Some(es) = es {
            let watched = match (&monitor, valid_metric, valid_loss) {
                (Some(m), Some(v), _) => Some((v, m.higher_is_better)),
                (_, _, Some(l)) => Some((l, false)),
                _ => None,
            };
            if let Some((value, higher)) = watched {
                let improved = match &best {
                    None => true,
                    Some((b, _, _)) => {
                        if higher {
                            value > b + es.min_delta
                        } else {
                            value < b - es.min_delta
                        }
                    }
                };
                if improved {
                    best = Some((value, epoch + 1, model.valid().to_tensors(arch)?));
                    since_best = 0;
                } else {
                    since_best += 1;
                    if since_best >= es.patience {
                        stopped_early = epoch + 1 < cfg.epochs;
                        break;
                    }
                }
            }
        }
        // A checkpoint at every epoch end (the last one needs none: the
        // run is about to finish).
        if let Some(c) = checkpoints.as_mut()
            && epoch + 1 < cfg.epochs
            && (last_save.elapsed() >= c.min_interval
                || c.stop.is_some_and(|s| s.load(Ordering::SeqCst)))
        {
            let state = snapshot(
                &model,
                optim_bytes(&optim)?,
                epoch + 1,
                0,
                &order,
                &order_rng,
                &dropout_rng,
                0.0,
                steps,
                samples,
                &history,
                &best,
                since_best,
            )?;
            (c.save)(&state)?;
            last_save = std::time::Instant::now();
            if c.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Err(ModelError::Interrupted);
            }
        }
    }

    let restore = es.is_some_and(|e| e.restore_best);
    let best_epoch = best.as_ref().map(|b| b.1);
    let network = match best {
        Some((_, _, tensors)) if restore => {
            let plain = Network::from_tensors(arch, &tensors, device)?;
            plain.valid()
        }
        _ => model.valid(),
    };
    Ok(TrainOutput {
        network,
        history,
        monitor: monitor.map(|m| m.name),
        best_epoch,
        stopped_early,
        steps,
        samples,
    })
}

/// Scales all gradients so that their joint L2 norm is at most `max_norm`.
/// The squared norms are summed on the device in parameter-id order (so the
/// sum is deterministic) and read back once per step.
fn clip_global_norm(model: &Network, grads: &mut GradientsParams, max_norm: f64) {
    let ids = model.param_ids();
    let mut total: Option<Tensor<1>> = None;
    for &(id, rank) in &ids {
        let part = match rank {
            1 => squared_norm(grads.get::<1>(id)),
            2 => squared_norm(grads.get::<2>(id)),
            _ => squared_norm(grads.get::<3>(id)),
        };
        total = match (total, part) {
            (Some(t), Some(p)) => Some(t + p),
            (t, p) => t.or(p),
        };
    }
    let Some(total) = total else { return };
    let norm = (total.into_scalar::<f32>() as f64).sqrt();
    if norm <= max_norm || norm == 0.0 || !norm.is_finite() {
        return;
    }
    let factor = (max_norm / norm) as f32;
    for &(id, rank) in &ids {
        match rank {
            1 => rescale::<1>(grads, id, factor),
            2 => rescale::<2>(grads, id, factor),
            _ => rescale::<3>(grads, id, factor),
        }
    }
}

fn squared_norm<const D: usize>(g: Option<Tensor<D>>) -> Option<Tensor<1>> {
    g.map(|g| (g.clone() * g).sum())
}

fn rescale<const D: usize>(grads: &mut GradientsParams, id: burn::module::ParamId, factor: f32) {
    if let Some(g) = grads.remove::<D>(id) {
        grads.register(id, g * factor);
    }
}
