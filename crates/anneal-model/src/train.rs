//! anneal's training loop on burn's module and optimizer API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anneal_config::{EarlyStopping, Loss, TrainConfig};
use anneal_core::rng::Rng;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use anneal_data::layout::InputLayout;

use crate::error::{ModelError, Result};
use crate::fastmlp::{FastMlp, Target};
use crate::network::{Architecture, Network, NetworkTensor, softmax_rows};
use crate::optim::Optim;
use crate::schedule::learning_rate;

/// One split as the loop sees it: `n` stored rows (expanded into the
/// network's inputs per batch by `layout`), and either class indices or
/// (scaled) regression targets.
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    pub x: &'a [f32],
    pub layout: &'a InputLayout,
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
    /// The optimizer's state (moments, step counts) in the byte format
    /// of the `optim` module.
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
///
/// Each epoch: its learning rate, the batches still to do (one optimizer
/// step each, with step checkpoints), the epoch's log (training loss,
/// validation loss and metric), early stopping, and an epoch-end
/// checkpoint.
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
    checkpoints: Option<Checkpoints<'_>>,
) -> Result<TrainOutput> {
    let run = Run {
        cfg,
        dropout,
        arch,
        objective,
        train,
        valid,
        monitor,
        device,
    };
    run_loop(run, on_epoch, checkpoints, true)
}

/// The arguments of [`train_with`] that the loop reads.
struct Run<'a> {
    cfg: &'a TrainConfig,
    dropout: f64,
    arch: &'a Architecture,
    objective: &'a Objective,
    train: TrainData<'a>,
    valid: Option<TrainData<'a>>,
    monitor: Option<Monitor<'a>>,
    device: &'a Device,
}

/// The loop of [`train_with`]; `fast` lets the plain MLP take its steps
/// without autodiff where it can (see `fastmlp`), the same in every bit.
fn run_loop(
    run: Run,
    on_epoch: &mut dyn FnMut(&EpochLog),
    mut checkpoints: Option<Checkpoints<'_>>,
    fast: bool,
) -> Result<TrainOutput> {
    let (cfg, arch, valid, monitor) = (run.cfg, run.arch, run.valid, run.monitor);
    let resume = checkpoints.as_mut().and_then(|c| c.resume.take());
    let t = Trainer {
        batch: (cfg.batch_size as usize).max(1),
        defer_loss: !crate::backend::is_deterministic(cfg.backend),
        fast: fast && fast_fits(cfg, arch, run.objective),
        expanded: expand_small(&run.train, arch.inputs),
        cfg,
        dropout: run.dropout,
        arch,
        objective: run.objective,
        train: run.train,
        device: run.device,
    };
    let (mut learner, mut p) = t.start(resume)?;
    let mut saver = checkpoints.map(Saver::new);
    let mut stopped_early = false;
    while p.epoch < cfg.epochs {
        let lr = learning_rate(cfg.learning_rate, &cfg.schedule, p.epoch, cfg.epochs);
        p.begin_epoch(cfg.shuffle_block);
        learner = t.run_batches(learner, &mut p, lr, saver.as_mut())?;
        let log = t.close_epoch(&mut learner, &mut p, lr, valid.as_ref(), monitor.as_ref())?;
        on_epoch(&log);
        let watched = watched(&log, monitor.as_ref());
        p.history.push(log);
        if let Some(es) = cfg.early_stopping()
            && p.early_stopping(es, watched, || learner.tensors(arch))?
        {
            stopped_early = p.epoch + 1 < cfg.epochs;
            break;
        }
        p.next_epoch();
        // A checkpoint at every epoch end (the last one needs none: the
        // run is about to finish).
        if let Some(s) = saver.as_mut()
            && p.epoch < cfg.epochs
            && s.epoch_end_due()
        {
            s.save(&t.snapshot(&learner, &p)?)?;
            if s.stop_requested() {
                return Err(ModelError::Interrupted);
            }
        }
    }
    t.finish(learner, p, monitor, stopped_early)
}

/// Early stopping's best value so far, its (1-based) epoch and weights.
type Best = (f64, u32, Vec<NetworkTensor>);

/// What a run reads and never changes.
struct Trainer<'a> {
    cfg: &'a TrainConfig,
    dropout: f64,
    arch: &'a Architecture,
    objective: &'a Objective,
    train: TrainData<'a>,
    device: &'a Device,
    /// Rows per batch (at least 1).
    batch: usize,
    /// On a GPU, reading each step's loss back would make the host wait
    /// for the device at every step: the losses are summed on the device
    /// and read at the epoch end (or a checkpoint) instead, where
    /// divergence is then reported. The CPU backends read every step, as
    /// they always have (their sums, and so their reports, stay bit for bit
    /// the same).
    defer_loss: bool,
    /// Steps run on [`FastMlp`] instead of burn's autodiff.
    fast: bool,
    /// The training rows as the network's inputs (`[n, inputs]`), when
    /// the layout encodes them and they are small: expanded once, rather
    /// than every row again at every epoch.
    expanded: Option<Vec<f32>>,
}

/// At most this many input values are kept expanded (4 MB): the
/// streaming data stage keeps large splits compact on purpose.
const EXPANDED_MAX: usize = 1 << 20;

/// `train`'s rows expanded into `inputs` values each, when its layout
/// encodes (an identity layout's rows are the inputs already) and the
/// result has at most [`EXPANDED_MAX`] values.
fn expand_small(train: &TrainData, inputs: usize) -> Option<Vec<f32>> {
    let layout = train.layout;
    if layout.is_identity() || train.n.saturating_mul(inputs) > EXPANDED_MAX {
        return None;
    }
    let mut out = Vec::with_capacity(train.n * inputs);
    layout.expand_rows(train.x, train.n, &mut out);
    Some(out)
}

/// Whether a run's steps can be [`FastMlp`]'s: the plain ReLU stack on
/// burn-flex (whose kernels it calls) with the fused optimizer, and a
/// cross-entropy or squared-error loss.
fn fast_fits(cfg: &TrainConfig, arch: &Architecture, objective: &Objective) -> bool {
    cfg.backend == anneal_config::Backend::Flex
        && FastMlp::fits(arch)
        && matches!(objective, Objective::CrossEntropy { .. } | Objective::Mse)
}

/// The weights being trained: a burn network (with autodiff), or the
/// plain MLP's flex tensors.
enum Model {
    Burn(Network),
    Fast(FastMlp),
}

/// The network being trained and what updates it.
struct Learner {
    model: Model,
    optim: Optim,
    /// With `defer_loss`: the row-weighted loss sum of the epoch's steps
    /// since the last read, still on the device.
    pending_loss: Option<Tensor<1>>,
}

/// Where the loop stands at a step boundary: a [`TrainState`] without the
/// weights and the optimizer (the [`Learner`] holds those), with its random
/// streams live.
#[derive(Debug, Clone, PartialEq)]
struct Progress {
    /// The epoch in progress (0-based).
    epoch: u32,
    /// Batches of that epoch already done (0: not started, its shuffle is
    /// still to come).
    batch: u64,
    order: Vec<usize>,
    order_rng: Rng,
    dropout_rng: Rng,
    /// The epoch's loss sum so far (read back from the device).
    loss_sum: f64,
    steps: u64,
    samples: u64,
    history: Vec<EpochLog>,
    best: Option<Best>,
    since_best: u32,
}

/// Checkpointing as the loop uses it: the caller's settings and when the
/// last checkpoint was written.
struct Saver<'c> {
    c: Checkpoints<'c>,
    last_save: Instant,
}

/// What happens after a step: a checkpoint, a stop, both or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AfterStep {
    save: bool,
    stop: bool,
}

impl Trainer<'_> {
    /// The network, the optimizer and the progress to start from: fresh,
    /// or the state `resume` holds (checked against the training split).
    fn start(&self, resume: Option<TrainState>) -> Result<(Learner, Progress)> {
        let (cfg, arch, device) = (self.cfg, self.arch, self.device);
        let network = match &resume {
            Some(state) => Network::from_tensors(arch, &state.weights, device)?.train(),
            None => Network::init(arch, cfg.seed, cfg.init(), device).train(),
        };
        let mut optim = Optim::new(cfg, &network);
        let progress = match resume {
            None => Progress::new(cfg.seed, self.train.n),
            Some(mut state) => {
                check_resume(&state, self.train.n)?;
                optim = optim.load(std::mem::take(&mut state.optimizer))?;
                Progress::from_state(state)
            }
        };
        let model = match self.fast && optim.fused_mut().is_some() {
            true => Model::Fast(FastMlp::from_network(&network, arch)?),
            false => Model::Burn(network),
        };
        let learner = Learner {
            model,
            optim,
            pending_loss: None,
        };
        Ok((learner, progress))
    }

    /// The batches of the epoch in progress still to do, one optimizer
    /// step each; after each, a checkpoint when one is due and a stop when
    /// one is requested.
    fn run_batches(
        &self,
        mut learner: Learner,
        p: &mut Progress,
        lr: f64,
        mut saver: Option<&mut Saver>,
    ) -> Result<Learner> {
        let skip = p.batch as usize;
        for (batch_index, chunk) in p.order.chunks(self.batch).enumerate().skip(skip) {
            learner = self.step(
                learner,
                chunk,
                &mut p.dropout_rng,
                &mut p.loss_sum,
                p.epoch,
                lr,
            )?;
            p.steps += 1;
            p.samples += chunk.len() as u64;
            p.batch = batch_index as u64 + 1;
            let Some(s) = saver.as_deref_mut() else {
                continue;
            };
            let last_of_epoch = (batch_index + 1) * self.batch >= self.train.n;
            let after = s.after_step(p.steps, last_of_epoch);
            if after.save {
                learner.settle(&mut p.loss_sum, p.epoch)?;
                s.save(&self.snapshot(&learner, p)?)?;
            }
            if after.stop {
                return Err(ModelError::Interrupted);
            }
        }
        Ok(learner)
    }

    /// One optimizer step on the rows `chunk` of epoch `epoch`: their
    /// loss is added to `loss_sum` (or, deferred, to the learner's pending
    /// sum).
    fn step(
        &self,
        mut learner: Learner,
        chunk: &[usize],
        dropout_rng: &mut Rng,
        loss_sum: &mut f64,
        epoch: u32,
        lr: f64,
    ) -> Result<Learner> {
        let b = chunk.len();
        let masks = self.dropout_masks(dropout_rng, b);
        let network = match &mut learner.model {
            Model::Fast(fast) => {
                let loss = self.fast_step(fast, &mut learner.optim, chunk, &masks, lr)?;
                add_loss(loss as f64, b, loss_sum, epoch)?;
                return Ok(learner);
            }
            Model::Burn(network) => network,
        };
        let x = self.tensor(self.inputs(chunk), [b, self.arch.inputs]);
        let members = self.arch.members();
        let masks: Vec<Tensor<2>> = (masks.into_iter().zip(&self.arch.hidden))
            .map(|(m, &h)| self.tensor(m, [members * b, h]))
            .collect();
        let out = network.forward(x, self.arch, &masks);
        let loss = self.loss(out, chunk);
        learner.record_loss(&loss, b, loss_sum, epoch, self.defer_loss)?;
        learner.descend(loss, lr, self.cfg.grad_clip)
    }

    /// [`Self::step`] on the plain MLP: returns the batch's loss.
    fn fast_step(
        &self,
        fast: &mut FastMlp,
        optim: &mut Optim,
        chunk: &[usize],
        masks: &[Vec<f32>],
        lr: f64,
    ) -> Result<f32> {
        let optim = optim.fused_mut().ok_or_else(|| {
            ModelError::Tensor("the fast MLP step needs the fused optimizer".into())
        })?;
        let (targets, wsum) = self.targets(chunk);
        let target = match self.objective {
            Objective::CrossEntropy { .. } => Target::Classes {
                onehot: &targets,
                wsum,
            },
            _ => Target::Values(&targets),
        };
        let x = self.inputs(chunk);
        fast.step(x, chunk.len(), masks, target, optim, lr, self.cfg.grad_clip)
    }

    /// `values` as an autodiff tensor of `shape` (not itself trained).
    fn tensor(&self, values: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
        Tensor::<2>::from_data(TensorData::new(values, shape), self.device).autodiff()
    }

    /// The input rows `chunk`, expanded from their stored rows
    /// (`[rows, inputs]`, row-major).
    fn inputs(&self, chunk: &[usize]) -> Vec<f32> {
        let (b, d) = (chunk.len(), self.arch.inputs);
        let layout = self.train.layout;
        let s = layout.stored();
        let mut xb = Vec::with_capacity(b * d);
        match &self.expanded {
            Some(rows) => chunk
                .iter()
                .for_each(|&i| xb.extend_from_slice(&rows[i * d..(i + 1) * d])),
            None => chunk
                .iter()
                .for_each(|&i| layout.expand_row(&self.train.x[i * s..(i + 1) * s], &mut xb)),
        }
        xb
    }

    /// The dropout masks of a batch of `b` rows, one per hidden layer (none
    /// without dropout), each `[members * b, width]` row-major. An
    /// ensemble's members each get their own rows of the mask.
    fn dropout_masks(&self, rng: &mut Rng, b: usize) -> Vec<Vec<f32>> {
        let members = self.arch.members();
        if self.dropout <= 0.0 {
            return Vec::new();
        }
        let keep = 1.0 - self.dropout;
        (self.arch.hidden.iter())
            .map(|&h| dropout_mask(rng, members * b * h, keep))
            .collect()
    }

    /// One member's targets for the rows `chunk`: class-weighted one-hot
    /// rows `[rows, classes]` and the sum of their weights (in row order,
    /// in f32), or the regression values (and 0).
    fn targets(&self, chunk: &[usize]) -> (Vec<f32>, f32) {
        match self.objective {
            Objective::CrossEntropy { classes, weights } => {
                let k = *classes;
                let mut tb = vec![0.0f32; chunk.len() * k];
                let mut wsum = 0.0f32;
                let ys = self.train.classes.unwrap_or(&[]);
                for (r, &i) in chunk.iter().enumerate() {
                    let c = ys[i] as usize;
                    let w = weights.get(c).copied().unwrap_or(1.0);
                    tb[r * k + c] = w;
                    wsum += w;
                }
                (tb, wsum)
            }
            Objective::Mse | Objective::Huber { .. } => {
                let ys = self.train.values.unwrap_or(&[]);
                (chunk.iter().map(|&i| ys[i]).collect(), 0.0)
            }
        }
    }

    /// The objective on the batch `chunk` from the network's outputs `out`.
    /// Every member is scored on the same rows; the loss is the mean of the
    /// members' losses.
    fn loss(&self, out: Tensor<2>, chunk: &[usize]) -> Tensor<1> {
        let (b, members, device) = (chunk.len(), self.arch.members(), self.device);
        let (tb, wsum) = self.targets(chunk);
        match self.objective {
            Objective::CrossEntropy { classes, .. } => {
                let k = *classes;
                let tb = tb.repeat(members);
                let target = Tensor::<2>::from_data(TensorData::new(tb, [members * b, k]), device)
                    .autodiff();
                (log_softmax(out, 1) * target).sum().neg() / (wsum * members as f32)
            }
            Objective::Mse | Objective::Huber { .. } => {
                let tb = tb.repeat(members);
                let target = Tensor::<2>::from_data(TensorData::new(tb, [members * b, 1]), device)
                    .autodiff();
                let diff = out - target;
                match self.objective {
                    Objective::Huber { delta } => {
                        let a = diff.abs();
                        let quad = a.clone().clamp_max(*delta);
                        let lin = a - quad.clone();
                        (quad.clone() * quad * 0.5 + lin * *delta).mean()
                    }
                    _ => (diff.clone() * diff).mean(),
                }
            }
        }
    }

    /// The log of the epoch in progress at learning rate `lr`: its mean
    /// training loss (with the pending device-side sum read now) and the
    /// validation loss and monitored metric on `valid`.
    fn close_epoch(
        &self,
        learner: &mut Learner,
        p: &mut Progress,
        lr: f64,
        valid: Option<&TrainData>,
        monitor: Option<&Monitor>,
    ) -> Result<EpochLog> {
        learner.settle(&mut p.loss_sum, p.epoch)?;
        let train_loss = p.loss_sum / self.train.n.max(1) as f64;
        let (valid_loss, valid_metric) = match valid {
            Some(v) if v.n > 0 => {
                let batch = self.cfg.eval_batch_size as usize;
                let outputs = match &learner.model {
                    Model::Fast(fast) => fast.infer(v.x, v.n, v.layout, batch)?,
                    Model::Burn(network) => (network.valid()).infer(
                        v.x,
                        v.n,
                        self.arch,
                        v.layout,
                        batch,
                        self.device,
                    )?,
                };
                let vl = self.objective.host_loss(&outputs, v);
                let vm = monitor.map(|m| (m.compute)(&outputs));
                (Some(vl), vm)
            }
            _ => (None, None),
        };
        Ok(EpochLog {
            epoch: p.epoch + 1,
            learning_rate: lr,
            train_loss,
            valid_loss,
            valid_metric,
        })
    }

    /// The state at a step boundary, for a checkpoint.
    fn snapshot(&self, learner: &Learner, p: &Progress) -> Result<TrainState> {
        let optimizer = learner.optim.to_bytes()?;
        let weights = learner.tensors(self.arch)?;
        Ok(p.state(weights, optimizer))
    }

    /// The trained network (the best epoch's, when early stopping restores
    /// it) and what the run did.
    fn finish(
        &self,
        learner: Learner,
        p: Progress,
        monitor: Option<Monitor>,
        stopped_early: bool,
    ) -> Result<TrainOutput> {
        let restore = self.cfg.early_stopping().is_some_and(|e| e.restore_best);
        let best_epoch = p.best.as_ref().map(|b| b.1);
        let network = match p.best {
            Some((_, _, tensors)) if restore => {
                let plain = Network::from_tensors(self.arch, &tensors, self.device)?;
                plain.valid()
            }
            _ => learner.plain(self.arch, self.device)?,
        };
        Ok(TrainOutput {
            network,
            history: p.history,
            monitor: monitor.map(|m| m.name),
            best_epoch,
            stopped_early,
            steps: p.steps,
            samples: p.samples,
        })
    }
}

/// A checkpoint fits a training split of `n` rows when it orders exactly
/// those rows.
fn check_resume(state: &TrainState, n: usize) -> Result<()> {
    if state.order.len() != n || state.order.iter().any(|&i| i as usize >= n) {
        return Err(ModelError::Weights(format!(
            "the checkpoint orders {} rows but the training split has {}",
            state.order.len(),
            n
        )));
    }
    Ok(())
}

/// The value early stopping watches in an epoch's log, and whether higher
/// is better: the monitored metric, else the validation loss.
fn watched(log: &EpochLog, monitor: Option<&Monitor>) -> Option<(f64, bool)> {
    match (monitor, log.valid_metric, log.valid_loss) {
        (Some(m), Some(v), _) => Some((v, m.higher_is_better)),
        (_, _, Some(l)) => Some((l, false)),
        _ => None,
    }
}

/// `len` mask values: `1/keep` where a draw from `rng` is below `keep`,
/// else 0. The stream is copied into a local for the loop, which keeps its
/// state in registers (through `&mut` it went to memory at every draw);
/// the draws are the same.
fn dropout_mask(rng: &mut Rng, len: usize, keep: f64) -> Vec<f32> {
    let scale = (1.0 / keep) as f32;
    let mut local = rng.clone();
    let mut mask = vec![0.0f32; len];
    for m in mask.iter_mut() {
        if local.next_f64() < keep {
            *m = scale;
        }
    }
    *rng = local;
    mask
}

/// Adds the mean loss `value` of a batch of `b` rows of epoch `epoch` to
/// the epoch's sum; a loss that is not finite is divergence.
fn add_loss(value: f64, b: usize, loss_sum: &mut f64, epoch: u32) -> Result<()> {
    if !value.is_finite() {
        return Err(ModelError::Diverged {
            epoch: epoch + 1,
            loss: value,
        });
    }
    *loss_sum += value * b as f64;
    Ok(())
}

impl Learner {
    /// Host copies of the weights, in spec order.
    fn tensors(&self, arch: &Architecture) -> Result<Vec<NetworkTensor>> {
        match &self.model {
            Model::Burn(network) => network.valid().to_tensors(arch),
            Model::Fast(fast) => fast.tensors(arch),
        }
    }

    /// The network without autodiff (validation, the result).
    fn plain(&self, arch: &Architecture, device: &Device) -> Result<Network> {
        match &self.model {
            Model::Burn(network) => Ok(network.valid()),
            Model::Fast(fast) => Network::from_tensors(arch, &fast.tensors(arch)?, device),
        }
    }

    /// Adds the loss of a batch of `b` rows of epoch `epoch` to the
    /// epoch's sum: `loss_sum` at once, or the pending device-side sum
    /// when `defer` is set. A loss read that is not finite is divergence.
    fn record_loss(
        &mut self,
        loss: &Tensor<1>,
        b: usize,
        loss_sum: &mut f64,
        epoch: u32,
        defer: bool,
    ) -> Result<()> {
        if defer {
            let weighted = loss.clone().detach() * b as f32;
            self.pending_loss = Some(match self.pending_loss.take() {
                Some(p) => p + weighted,
                None => weighted,
            });
        } else {
            add_loss(loss.clone().into_scalar::<f32>() as f64, b, loss_sum, epoch)?;
        }
        Ok(())
    }

    /// Reads the pending device-side loss sum into `sum`.
    fn settle(&mut self, sum: &mut f64, epoch: u32) -> Result<()> {
        if let Some(p) = self.pending_loss.take() {
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
    }

    /// One optimizer step down the gradient of `loss` at learning rate
    /// `lr`, the gradients clipped to a global norm of `grad_clip` first
    /// (0: no clipping).
    fn descend(mut self, loss: Tensor<1>, lr: f64, grad_clip: f64) -> Result<Self> {
        self.model = match self.model {
            Model::Burn(network) => {
                let grads = GradientsParams::from_grads(loss.backward(), &network);
                Model::Burn(self.optim.step(lr, network, grads, grad_clip)?)
            }
            fast => fast,
        };
        Ok(self)
    }
}

/// The block-wise shuffle: the blocks of `block` consecutive rows (the
/// last one shorter) in a shuffled order, and the rows of each block in a
/// shuffled order. Unlike the full shuffle it does not depend on the
/// previous epoch's order, so an epoch reads each block's rows together.
fn block_order(rng: &mut Rng, order: &mut [usize], block: usize) {
    let n = order.len();
    let block = block.max(1);
    let mut blocks: Vec<usize> = (0..n.div_ceil(block)).collect();
    rng.shuffle(&mut blocks);
    let mut at = 0;
    for b in blocks {
        let rows = b * block..((b + 1) * block).min(n);
        let slot = &mut order[at..at + rows.len()];
        for (o, r) in slot.iter_mut().zip(rows) {
            *o = r;
        }
        rng.shuffle(slot);
        at += slot.len();
    }
}

impl Progress {
    /// A fresh run's start: the rows in file order (each epoch shuffles
    /// the previous order) and the seed's streams.
    fn new(seed: u64, n: usize) -> Self {
        Progress {
            epoch: 0,
            batch: 0,
            order: (0..n).collect(),
            order_rng: Rng::stream(seed, "shuffle"),
            dropout_rng: Rng::stream(seed, "dropout"),
            loss_sum: 0.0,
            steps: 0,
            samples: 0,
            history: Vec::new(),
            best: None,
            since_best: 0,
        }
    }

    /// Where a checkpoint left off (its weights and optimizer state are
    /// the learner's; see [`Trainer::start`]).
    fn from_state(state: TrainState) -> Self {
        Progress {
            epoch: state.epoch,
            batch: state.batch,
            order: state.order.iter().map(|&i| i as usize).collect(),
            order_rng: Rng::from_state(state.order_rng),
            dropout_rng: Rng::from_state(state.dropout_rng),
            loss_sum: state.loss_sum,
            steps: state.steps,
            samples: state.samples,
            history: state.history,
            best: state.best,
            since_best: state.since_best,
        }
    }

    /// The checkpoint state with the learner's `weights` and `optimizer`.
    fn state(&self, weights: Vec<NetworkTensor>, optimizer: Vec<u8>) -> TrainState {
        TrainState {
            epoch: self.epoch,
            batch: self.batch,
            order: self.order.iter().map(|&i| i as u32).collect(),
            order_rng: self.order_rng.state(),
            dropout_rng: self.dropout_rng.state(),
            loss_sum: self.loss_sum,
            steps: self.steps,
            samples: self.samples,
            history: self.history.clone(),
            best: self.best.clone(),
            since_best: self.since_best,
            weights,
            optimizer,
        }
    }

    /// Starts the epoch in progress: unless a resumed run continues it
    /// mid-way, the rows are shuffled (all of them, or by blocks of
    /// `block` consecutive rows) and the loss sum starts at zero.
    fn begin_epoch(&mut self, block: Option<u32>) {
        if self.batch == 0 {
            match block {
                None => self.order_rng.shuffle(&mut self.order),
                Some(b) => block_order(&mut self.order_rng, &mut self.order, b as usize),
            }
            self.loss_sum = 0.0;
        }
    }

    /// Moves on to the next epoch, not yet started.
    fn next_epoch(&mut self) {
        self.epoch += 1;
        self.batch = 0;
        self.loss_sum = 0.0;
    }

    /// Early stopping's bookkeeping for the epoch in progress, which
    /// scored `watched` (value, higher is better): a value better than the
    /// best by more than `min_delta` becomes the best, with the weights
    /// `weights` gives; otherwise the epochs since the best grow, and
    /// reaching the patience stops the run (`true`). Nothing watched,
    /// nothing changes.
    fn early_stopping(
        &mut self,
        es: &EarlyStopping,
        watched: Option<(f64, bool)>,
        weights: impl FnOnce() -> Result<Vec<NetworkTensor>>,
    ) -> Result<bool> {
        let Some((value, higher)) = watched else {
            return Ok(false);
        };
        let improved = match &self.best {
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
            self.best = Some((value, self.epoch + 1, weights()?));
            self.since_best = 0;
            return Ok(false);
        }
        self.since_best += 1;
        Ok(self.since_best >= es.patience)
    }
}

impl<'c> Saver<'c> {
    /// The last checkpoint counts from now.
    fn new(c: Checkpoints<'c>) -> Self {
        Saver {
            c,
            last_save: Instant::now(),
        }
    }

    fn stop_requested(&self) -> bool {
        self.c.stop.is_some_and(|s| s.load(Ordering::SeqCst))
    }

    /// Reports step `steps` and says what follows it: a checkpoint every
    /// `every_steps` steps (one due on an epoch's last batch is left to the
    /// epoch-end one that follows, after validation), and a checkpoint and
    /// a stop when one is requested.
    fn after_step(&mut self, steps: u64, last_of_epoch: bool) -> AfterStep {
        (self.c.on_step)(steps);
        let stop = self.stop_requested();
        let due = self.c.every_steps > 0 && steps.is_multiple_of(self.c.every_steps);
        AfterStep {
            save: stop || (due && !last_of_epoch),
            stop,
        }
    }

    /// Whether an epoch end gets a checkpoint: `min_interval` after the
    /// last one, or at once when a stop is requested.
    fn epoch_end_due(&self) -> bool {
        self.last_save.elapsed() >= self.c.min_interval || self.stop_requested()
    }

    fn save(&mut self, state: &TrainState) -> Result<()> {
        (self.c.save)(state)?;
        self.last_save = Instant::now();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anneal_config::{Activation, Backend, Schedule, ScheduleKind};

    fn weighed(p: &mut Progress, es: &EarlyStopping, value: f64, higher: bool) -> bool {
        let stop = p
            .early_stopping(es, Some((value, higher)), || Ok(Vec::new()))
            .unwrap();
        if !stop {
            p.next_epoch();
        }
        stop
    }

    #[test]
    fn early_stopping_keeps_the_best_and_counts_the_rest() {
        let es = EarlyStopping {
            patience: 2,
            min_delta: 0.1,
            ..EarlyStopping::default()
        };
        let mut p = Progress::new(1, 0);
        // Lower is better: an improvement must beat the best by 0.1.
        assert!(!weighed(&mut p, &es, 1.0, false));
        assert_eq!(
            (p.best.as_ref().map(|b| (b.0, b.1)), p.since_best),
            (Some((1.0, 1)), 0)
        );
        assert!(!weighed(&mut p, &es, 0.95, false));
        assert_eq!(p.since_best, 1);
        assert!(!weighed(&mut p, &es, 0.85, false));
        assert_eq!(
            (p.best.as_ref().map(|b| (b.0, b.1)), p.since_best),
            (Some((0.85, 3)), 0)
        );
        assert!(!weighed(&mut p, &es, 0.9, false));
        assert!(weighed(&mut p, &es, 0.8, false));
        assert_eq!((p.epoch, p.since_best), (4, 2));
        assert_eq!(p.best.as_ref().map(|b| b.1), Some(3));

        // Higher is better; nothing watched changes nothing.
        let es = EarlyStopping {
            patience: 1,
            min_delta: 0.1,
            ..EarlyStopping::default()
        };
        let mut p = Progress::new(1, 0);
        assert!(!weighed(&mut p, &es, 0.5, true));
        assert!(!p.early_stopping(&es, None, || Ok(Vec::new())).unwrap());
        assert_eq!(p.since_best, 0);
        p.next_epoch();
        assert!(!weighed(&mut p, &es, 0.7, true));
        assert_eq!(p.best.as_ref().map(|b| (b.0, b.1)), Some((0.7, 3)));
        assert!(weighed(&mut p, &es, 0.75, true));
        assert_eq!(p.since_best, 1);
    }

    #[test]
    fn the_watched_value_is_the_metric_else_the_loss() {
        let log = |metric: Option<f64>, loss: Option<f64>| EpochLog {
            epoch: 1,
            learning_rate: 0.1,
            train_loss: 1.0,
            valid_loss: loss,
            valid_metric: metric,
        };
        let m = Monitor {
            name: "r2".into(),
            higher_is_better: true,
            compute: Box::new(|_: &[f32]| 0.0),
        };
        assert_eq!(
            watched(&log(Some(0.8), Some(0.3)), Some(&m)),
            Some((0.8, true))
        );
        assert_eq!(watched(&log(None, Some(0.3)), Some(&m)), Some((0.3, false)));
        assert_eq!(
            watched(&log(Some(0.8), Some(0.3)), None),
            Some((0.3, false))
        );
        assert_eq!(watched(&log(None, None), Some(&m)), None);
    }

    #[test]
    fn a_block_shuffle_visits_whole_blocks_in_a_seeded_order() {
        let mut order: Vec<usize> = (0..10).collect();
        block_order(&mut Rng::stream(7, "shuffle"), &mut order, 4);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>(), "a permutation");
        // Blocks {0..4}, {4..8}, {8, 9}: each one's rows come together.
        let mut at = 0;
        while at < order.len() {
            let b = order[at] / 4;
            let len = if b == 2 { 2 } else { 4 };
            assert!(order[at..at + len].iter().all(|r| r / 4 == b), "{order:?}");
            at += len;
        }
        let mut again: Vec<usize> = (0..10).collect();
        block_order(&mut Rng::stream(7, "shuffle"), &mut again, 4);
        assert_eq!(order, again, "the seed decides");
        let mut other: Vec<usize> = (0..10).collect();
        block_order(&mut Rng::stream(8, "shuffle"), &mut other, 4);
        assert_ne!(order, other);
    }

    #[test]
    fn epochs_shuffle_unless_resumed_mid_way() {
        let mut p = Progress::new(7, 5);
        p.loss_sum = 2.5;
        p.begin_epoch(None);
        let mut want: Vec<usize> = (0..5).collect();
        let mut rng = Rng::stream(7, "shuffle");
        rng.shuffle(&mut want);
        assert_eq!((p.order.clone(), p.loss_sum), (want.clone(), 0.0));
        // Mid-epoch (as resumed from a step checkpoint): no shuffle, the
        // loss sum goes on.
        p.batch = 2;
        p.loss_sum = 1.5;
        p.begin_epoch(None);
        assert_eq!((p.order.clone(), p.loss_sum), (want.clone(), 1.5));
        p.next_epoch();
        assert_eq!((p.epoch, p.batch, p.loss_sum), (1, 0, 0.0));
        // The next epoch shuffles the previous order.
        p.begin_epoch(None);
        rng.shuffle(&mut want);
        assert_eq!(p.order, want);
    }

    #[test]
    fn progress_round_trips_through_the_checkpoint_state() {
        let mut p = Progress::new(3, 4);
        p.begin_epoch(None);
        p.dropout_rng.next_u64();
        (p.epoch, p.batch, p.loss_sum, p.steps, p.samples) = (2, 1, 0.25, 9, 33);
        p.best = Some((0.5, 2, Vec::new()));
        p.since_best = 1;
        let state = p.state(Vec::new(), vec![1, 2]);
        assert_eq!(
            (state.epoch, state.batch, state.steps, state.samples),
            (2, 1, 9, 33)
        );
        assert_eq!(
            state.order,
            p.order.iter().map(|&i| i as u32).collect::<Vec<_>>()
        );
        assert_eq!(state.dropout_rng, p.dropout_rng.state());
        assert_eq!(state.optimizer, [1, 2]);
        assert_eq!(Progress::from_state(state), p);
    }

    #[test]
    fn a_checkpoint_must_order_the_training_rows() {
        let mut state = Progress::new(0, 3).state(Vec::new(), Vec::new());
        assert!(check_resume(&state, 3).is_ok());
        let message = |r: Result<()>| match r {
            Err(ModelError::Weights(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            message(check_resume(&state, 4)),
            "the checkpoint orders 3 rows but the training split has 4"
        );
        state.order[1] = 3;
        assert_eq!(
            message(check_resume(&state, 3)),
            "the checkpoint orders 3 rows but the training split has 3"
        );
    }

    #[test]
    fn step_checkpoints_wait_for_the_epoch_end_and_stops_save() {
        let stop = AtomicBool::new(false);
        let mut seen = Vec::new();
        let mut on_step = |s: u64| seen.push(s);
        let mut save = |_: &TrainState| Ok(());
        let mut s = Saver::new(Checkpoints {
            every_steps: 3,
            min_interval: std::time::Duration::from_secs(3600),
            resume: None,
            stop: Some(&stop),
            save: &mut save,
            on_step: &mut on_step,
        });
        let after = |save, stop| AfterStep { save, stop };
        assert_eq!(s.after_step(3, false), after(true, false));
        assert_eq!(s.after_step(3, true), after(false, false));
        assert_eq!(s.after_step(4, false), after(false, false));
        assert!(!s.epoch_end_due());
        stop.store(true, Ordering::SeqCst);
        assert_eq!(s.after_step(5, true), after(true, true));
        assert!(s.epoch_end_due());
        drop(s);
        assert_eq!(seen, [3, 3, 4, 5]);
    }

    /// y = x0 - 2 x1 on 10 rows.
    fn data() -> (Vec<f32>, Vec<f32>) {
        let x: Vec<f32> = (0..20).map(|i| ((i * 7) % 11) as f32 / 11.0).collect();
        let y = x.chunks(2).map(|r| r[0] - 2.0 * r[1]).collect();
        (x, y)
    }

    fn config() -> TrainConfig {
        TrainConfig {
            epochs: 3,
            batch_size: 3,
            learning_rate: 0.01,
            backend: Backend::Flex,
            schedule: Schedule {
                kind: ScheduleKind::Step,
                step_epochs: 1,
                gamma: 0.5,
                ..Schedule::default()
            },
            early_stopping: Some(EarlyStopping {
                patience: 10,
                ..EarlyStopping::default()
            }),
            ..TrainConfig::default()
        }
    }

    fn arch() -> Architecture {
        Architecture {
            inputs: 2,
            hidden: vec![3],
            outputs: 1,
            activation: Activation::Relu,
            ensemble: None,
            periodic: None,
            categorical: None,
        }
    }

    /// Trains on [`data`] (the first 8 rows, validated on the last 2),
    /// resuming from `resume`; returns the output and the states saved
    /// every 2 steps and at epoch ends.
    fn run(resume: Option<TrainState>) -> (TrainOutput, Vec<TrainState>) {
        let (x, y) = data();
        let layout = InputLayout::identity(2);
        let train = TrainData {
            x: &x[..16],
            layout: &layout,
            n: 8,
            classes: None,
            values: Some(&y[..8]),
        };
        let valid = TrainData {
            x: &x[16..],
            layout: &layout,
            n: 2,
            classes: None,
            values: Some(&y[8..]),
        };
        let device = crate::backend::device(Backend::Flex).unwrap();
        let mut states = Vec::new();
        let mut save = |s: &TrainState| {
            states.push(s.clone());
            Ok(())
        };
        let out = train_with(
            &config(),
            0.25,
            &arch(),
            &Objective::Mse,
            train,
            Some(valid),
            None,
            &device,
            &mut |_| {},
            Some(Checkpoints {
                every_steps: 2,
                min_interval: std::time::Duration::ZERO,
                resume,
                stop: None,
                save: &mut save,
                on_step: &mut |_| {},
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (out, states)
    }

    #[test]
    fn epochs_steps_and_learning_rates_add_up() {
        let (out, states) = run(None);
        let arch = arch();
        // 8 rows in batches of 3: 3 steps an epoch.
        assert_eq!((out.steps, out.samples, out.stopped_early), (9, 24, false));
        let epochs: Vec<(u32, f64)> = out
            .history
            .iter()
            .map(|h| (h.epoch, h.learning_rate))
            .collect();
        assert_eq!(epochs, [(1, 0.01), (2, 0.005), (3, 0.0025)]);
        assert!(
            out.history
                .iter()
                .all(|h| h.valid_loss.is_some() && h.valid_metric.is_none())
        );
        assert!(out.best_epoch.is_some());
        // A step checkpoint on an epoch's last batch is left to the epoch
        // end's; the last epoch has none.
        let at: Vec<(u32, u64, u64)> = states.iter().map(|s| (s.epoch, s.batch, s.steps)).collect();
        assert_eq!(at, [(0, 2, 2), (1, 0, 3), (1, 1, 4), (2, 0, 6), (2, 2, 8)]);

        // Resumed from each checkpoint, a run ends exactly where the
        // uninterrupted one did.
        for state in states {
            let (again, _) = run(Some(state));
            assert_eq!(again.history, out.history);
            assert_eq!(
                (again.steps, again.samples, again.best_epoch),
                (9, 24, out.best_epoch)
            );
            assert_eq!(
                again.network.to_tensors(&arch).unwrap(),
                out.network.to_tensors(&arch).unwrap()
            );
        }
    }
}

#[cfg(test)]
mod fast_tests {
    use super::*;
    use anneal_config::{Activation, Backend};

    /// Trains on 40 rows with and without the fast MLP step: the weights,
    /// the losses and the validation figures agree bit for bit, for
    /// cross-entropy (class weights) and squared error, with and without
    /// hidden layers, dropout and gradient clipping.
    #[test]
    fn the_fast_mlp_step_is_autodiffs_bit_for_bit() {
        let x: Vec<f32> = (0..120)
            .map(|i| ((i * 7) % 11) as f32 / 5.0 - 1.0)
            .collect();
        let classes: Vec<u32> = (0..40).map(|i| (i * 5 % 7 % 3) as u32).collect();
        let values: Vec<f32> = x.chunks(3).map(|r| r[0] - 2.0 * r[1] + r[2]).collect();
        let layout = InputLayout::identity(3);
        let device = crate::backend::device(Backend::Flex).unwrap();
        let ce = Objective::CrossEntropy {
            classes: 3,
            weights: vec![1.0, 2.0, 0.5],
        };
        let cases = [
            (ce.clone(), vec![6, 5], 0.25, 0.05),
            (ce, vec![], 0.0, 0.0),
            (Objective::Mse, vec![4], 0.1, 0.5),
            (Objective::Mse, vec![5, 3], 0.0, 0.0),
        ];
        for (objective, hidden, dropout, grad_clip) in cases {
            let regression = objective == Objective::Mse;
            let arch = Architecture {
                inputs: 3,
                hidden,
                outputs: if regression { 1 } else { 3 },
                activation: Activation::Relu,
                ensemble: None,
                periodic: None,
                categorical: None,
            };
            let cfg = TrainConfig {
                epochs: 4,
                batch_size: 7,
                learning_rate: 0.02,
                grad_clip,
                backend: Backend::Flex,
                ..TrainConfig::default()
            };
            let split = |rows: std::ops::Range<usize>| TrainData {
                x: &x[rows.start * 3..rows.end * 3],
                layout: &layout,
                n: rows.len(),
                classes: (!regression).then(|| &classes[rows.clone()]),
                values: regression.then(|| &values[rows.clone()]),
            };
            assert!(fast_fits(&cfg, &arch, &objective));
            let fit = |fast: bool| {
                let run = Run {
                    cfg: &cfg,
                    dropout,
                    arch: &arch,
                    objective: &objective,
                    train: split(0..32),
                    valid: Some(split(32..40)),
                    monitor: None,
                    device: &device,
                };
                let out = run_loop(run, &mut |_| {}, None, fast).unwrap_or_else(|e| panic!("{e}"));
                let bits: Vec<Vec<u32>> = (out.network.to_tensors(&arch).unwrap().iter())
                    .map(|t| t.values.iter().map(|v| v.to_bits()).collect())
                    .collect();
                let losses: Vec<(u64, Option<u64>)> = (out.history.iter())
                    .map(|h| (h.train_loss.to_bits(), h.valid_loss.map(f64::to_bits)))
                    .collect();
                (bits, losses, out.best_epoch)
            };
            let (fast, burn) = (fit(true), fit(false));
            assert_eq!(
                fast, burn,
                "{objective:?} {:?} {dropout} {grad_clip}",
                arch.hidden
            );
        }
    }
}
