//! The optimizer step: Adam, AdamW and SGD (momentum, weight decay) with
//! gradient-norm clipping, fused into one host pass per parameter on the
//! CPU backends.
//!
//! burn-optim's optimizers chain separate tensor ops per parameter (about
//! 36 allocating passes per Adam step on burn-flex). On the CPU backends a
//! step here reads each gradient and parameter once, updates the
//! parameter and its moments in one loop over a flat moment buffer, and
//! hands the buffer back to the backend. The loop repeats burn 0.22.1's
//! f32 operations in burn's order (its `AdaptiveMomentum`,
//! `AdaptiveMomentumW`, `WeightDecay`, `Momentum` and `Sgd`), each rounded
//! to f32 as the tensor ops were: every operation is a correctly rounded
//! IEEE one (Rust never fuses a multiply and an add), so the weights come
//! out bit for bit as burn's optimizer made them.
//!
//! On other backends (wgpu) the step stays burn's optimizer: reading every
//! parameter back to the host at each step would cost more than it saves.
//!
//! The optimizer's state has its own versioned byte format, written and
//! read back here ([`Optim::to_bytes`], [`Optim::load`]).

use anneal_config::{Optimizer, TrainConfig};
use burn::module::{Param, ParamId};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Bytes, Tensor};

use crate::error::{ModelError, Result};
use crate::network::Network;

const BETA_1: f32 = 0.9;
const BETA_2: f32 = 0.999;
const EPSILON: f32 = 1e-8;

/// The optimizer of a run: fused on the host, or burn's.
pub(crate) enum Optim {
    Fused(Fused),
    Burn(Box<ModuleOptimizer>),
}

/// The update rule and its constants, as burn's configs hold them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// Adam with an optional L2 penalty added to the gradient.
    Adam { penalty: Option<f32> },
    /// AdamW: decoupled weight decay.
    AdamW { weight_decay: f32 },
    /// SGD with an optional L2 penalty and momentum (no dampening).
    Sgd {
        penalty: Option<f32>,
        momentum: Option<f32>,
    },
}

impl Rule {
    fn of(cfg: &TrainConfig) -> Rule {
        let penalty = (cfg.weight_decay > 0.0).then_some(cfg.weight_decay as f32);
        match cfg.optimizer {
            Optimizer::Adam => Rule::Adam { penalty },
            Optimizer::Adamw => Rule::AdamW {
                weight_decay: cfg.weight_decay as f32,
            },
            Optimizer::Sgd => Rule::Sgd {
                penalty,
                momentum: (cfg.momentum > 0.0).then_some(cfg.momentum as f32),
            },
        }
    }

    /// Moment buffers the rule keeps (first and second moments, or the
    /// velocity).
    fn buffers(self) -> usize {
        match self {
            Rule::Adam { .. } | Rule::AdamW { .. } => 2,
            Rule::Sgd { momentum, .. } => usize::from(momentum.is_some()),
        }
    }

    fn code(self) -> u8 {
        match self {
            Rule::Adam { .. } => 0,
            Rule::AdamW { .. } => 1,
            Rule::Sgd { .. } => 2,
        }
    }
}

/// The fused optimizer's state: per parameter (in id order) its place in
/// the flat moment buffers and its step count (0: no state yet; burn
/// treats a parameter's first step apart).
pub(crate) struct Fused {
    rule: Rule,
    slots: Vec<Slot>,
    /// First moments (Adam, AdamW) or velocities (SGD with momentum).
    m: Vec<f32>,
    /// Second moments (Adam, AdamW).
    v: Vec<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Slot {
    id: u64,
    offset: usize,
    len: usize,
    time: u64,
}

impl Optim {
    /// The optimizer `cfg` names for `network`: fused on the CPU
    /// backends, burn's elsewhere.
    pub(crate) fn new(cfg: &TrainConfig, network: &Network) -> Self {
        if crate::backend::is_deterministic(cfg.backend) {
            Optim::Fused(Fused::new(Rule::of(cfg), network))
        } else {
            Optim::Burn(Box::new(burn_optimizer(cfg)))
        }
    }

    /// One step at learning rate `lr`, the gradients first scaled to a
    /// global L2 norm of at most `grad_clip` (0: no clipping).
    pub(crate) fn step(
        &mut self,
        lr: f64,
        network: Network,
        mut grads: GradientsParams,
        grad_clip: f64,
    ) -> Result<Network> {
        let factor = if grad_clip > 0.0 {
            clip_factor(&network, &grads, grad_clip)
        } else {
            None
        };
        match self {
            Optim::Fused(f) => f.step(lr, network, grads, factor.unwrap_or(1.0)),
            Optim::Burn(o) => {
                if let Some(factor) = factor {
                    rescale_all(&network, &mut grads, factor);
                }
                Ok(o.step(lr, network, grads))
            }
        }
    }

    /// The fused optimizer, when this is one.
    pub(crate) fn fused_mut(&mut self) -> Option<&mut Fused> {
        match self {
            Optim::Fused(f) => Some(f),
            Optim::Burn(_) => None,
        }
    }

    /// The state as bytes: a tag, then the fused state or burn's burnpack
    /// record.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>> {
        match self {
            Optim::Fused(f) => Ok(f.to_bytes()),
            Optim::Burn(o) => {
                let record = o
                    .into_bytes()
                    .map_err(|e| ModelError::Tensor(format!("optimizer state: {e:?}")))?;
                let mut out = BURN_MAGIC.to_vec();
                out.extend_from_slice(&record);
                Ok(out)
            }
        }
    }

    /// This optimizer with the state `bytes` hold (from [`Self::to_bytes`]).
    pub(crate) fn load(self, bytes: Vec<u8>) -> Result<Self> {
        let bad = |what: &str| ModelError::Weights(format!("optimizer state: {what}"));
        match self {
            Optim::Fused(f) => {
                let body = bytes
                    .strip_prefix(FUSED_MAGIC)
                    .ok_or_else(|| bad("not the fused optimizer's (another backend's?)"))?;
                Ok(Optim::Fused(f.load(body).map_err(|e| bad(&e))?))
            }
            Optim::Burn(o) => {
                if !bytes.starts_with(BURN_MAGIC) {
                    return Err(bad("not burn's optimizer record (another backend's?)"));
                }
                let record = bytes[BURN_MAGIC.len()..].to_vec();
                let o = o
                    .from_bytes(Bytes::from_bytes_vec(record))
                    .map_err(|e| bad(&format!("{e:?}")))?;
                Ok(Optim::Burn(Box::new(o)))
            }
        }
    }
}

/// burn's optimizer for `cfg`, with its weight decay and momentum.
fn burn_optimizer(cfg: &TrainConfig) -> ModuleOptimizer {
    let decay = (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32));
    match cfg.optimizer {
        Optimizer::Adam => AdamConfig::new()
            .with_epsilon(EPSILON)
            .with_weight_decay(decay)
            .init(),
        Optimizer::Adamw => AdamWConfig::new()
            .with_epsilon(EPSILON)
            .with_weight_decay(cfg.weight_decay as f32)
            .init(),
        Optimizer::Sgd => SgdConfig::new()
            .with_weight_decay(decay)
            .with_momentum((cfg.momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(cfg.momentum)
                    .with_dampening(0.0)
            }))
            .init(),
    }
}

/// The factor that scales all gradients to a joint L2 norm of `max_norm`,
/// when their norm is above it. The squared norms are summed on the device
/// in parameter-id order (so the sum is deterministic, and the backend's
/// own reduction decides its bits) and read back once per step.
fn clip_factor(model: &Network, grads: &GradientsParams, max_norm: f64) -> Option<f32> {
    let mut total: Option<Tensor<1>> = None;
    for (id, rank) in model.param_ids() {
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
    clip_of_norm(total?.into_scalar::<f32>(), max_norm)
}

/// The clipping factor for gradients whose squared norms sum to `total`:
/// none when their norm is within `max_norm` (or zero, or not finite).
pub(crate) fn clip_of_norm(total: f32, max_norm: f64) -> Option<f32> {
    let norm = (total as f64).sqrt();
    if norm <= max_norm || norm == 0.0 || !norm.is_finite() {
        return None;
    }
    Some((max_norm / norm) as f32)
}

fn squared_norm<const D: usize>(g: Option<Tensor<D>>) -> Option<Tensor<1>> {
    g.map(|g| (g.clone() * g).sum())
}

/// Scales every gradient by `factor` (burn's optimizer path).
fn rescale_all(model: &Network, grads: &mut GradientsParams, factor: f32) {
    fn rescale<const D: usize>(grads: &mut GradientsParams, id: ParamId, factor: f32) {
        if let Some(g) = grads.remove::<D>(id) {
            grads.register(id, g * factor);
        }
    }
    for (id, rank) in model.param_ids() {
        match rank {
            1 => rescale::<1>(grads, id, factor),
            2 => rescale::<2>(grads, id, factor),
            _ => rescale::<3>(grads, id, factor),
        }
    }
}

impl Fused {
    /// No state yet; the flat buffers sized for `network`'s parameters.
    fn new(rule: Rule, network: &Network) -> Self {
        let mut sizes: Vec<(u64, usize)> = Vec::new();
        sizes.extend(network.vectors.iter().map(|p| (p.id.val(), numel(p))));
        sizes.extend(network.matrices.iter().map(|p| (p.id.val(), numel(p))));
        sizes.extend(network.cubes.iter().map(|p| (p.id.val(), numel(p))));
        sizes.sort_unstable();
        let mut offset = 0;
        let slots = sizes
            .into_iter()
            .map(|(id, len)| {
                let s = Slot {
                    id,
                    offset,
                    len,
                    time: 0,
                };
                offset += len;
                s
            })
            .collect();
        let buffers = rule.buffers();
        Fused {
            rule,
            slots,
            m: vec![0.0; if buffers >= 1 { offset } else { 0 }],
            v: vec![0.0; if buffers >= 2 { offset } else { 0 }],
        }
    }

    /// Updates every parameter that has a gradient, its gradient first
    /// multiplied by `scale` (1 when not clipped: exact).
    fn step(
        &mut self,
        lr: f64,
        mut network: Network,
        mut grads: GradientsParams,
        scale: f32,
    ) -> Result<Network> {
        let mut update = |id: u64, p: &mut [f32], g: &[f32]| self.update(id, lr, scale, p, g);
        network.vectors = each_param(network.vectors, &mut grads, &mut update)?;
        network.matrices = each_param(network.matrices, &mut grads, &mut update)?;
        network.cubes = each_param(network.cubes, &mut grads, &mut update)?;
        Ok(network)
    }

    /// One parameter's update in place: `p` its values, `g` its gradient.
    pub(crate) fn update(
        &mut self,
        id: u64,
        lr: f64,
        scale: f32,
        p: &mut [f32],
        g: &[f32],
    ) -> Result<()> {
        let at = self
            .slots
            .binary_search_by_key(&id, |s| s.id)
            .map_err(|_| ModelError::Tensor(format!("no optimizer slot for parameter {id}")))?;
        let slot = &mut self.slots[at];
        if p.len() != slot.len || g.len() != slot.len {
            return Err(ModelError::Tensor(format!(
                "parameter {id} has {} values and a gradient of {}, its optimizer slot {}",
                p.len(),
                g.len(),
                slot.len
            )));
        }
        let range = slot.offset..slot.offset + slot.len;
        let first = slot.time == 0;
        slot.time += 1;
        let time = slot.time.min(i32::MAX as u64) as i32;
        let k = Step {
            lr: lr as f32,
            scale,
            first,
        };
        match self.rule {
            Rule::Adam { penalty } => {
                adam(
                    &k,
                    time,
                    penalty,
                    p,
                    g,
                    &mut self.m[range.clone()],
                    &mut self.v[range],
                );
            }
            Rule::AdamW { weight_decay } => {
                let decay = lr * weight_decay as f64;
                let keep = (decay != 0.0).then_some((1.0 - decay) as f32);
                adamw(
                    &k,
                    time,
                    keep,
                    p,
                    g,
                    &mut self.m[range.clone()],
                    &mut self.v[range],
                );
            }
            Rule::Sgd { penalty, momentum } => {
                let velocity = momentum.map(|mu| (mu, &mut self.m[range]));
                sgd(&k, penalty, velocity, p, g);
            }
        }
        Ok(())
    }
}

fn numel<const D: usize>(p: &Param<Tensor<D>>) -> usize {
    p.val().shape().num_elements()
}

/// Applies `update(id, values, gradient)` to each parameter of `params`
/// that has a gradient in `grads`, and puts the result back as a trainable
/// parameter with the autodiff settings it had (as burn's optimizer does).
fn each_param<const D: usize>(
    params: Vec<Param<Tensor<D>>>,
    grads: &mut GradientsParams,
    update: &mut impl FnMut(u64, &mut [f32], &[f32]) -> Result<()>,
) -> Result<Vec<Param<Tensor<D>>>> {
    let read = |e| ModelError::Tensor(format!("{e:?}"));
    let mut out = Vec::with_capacity(params.len());
    for param in params {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = grads.remove::<D>(id) else {
            out.push(Param::from_mapped_value(id, tensor, mapper));
            continue;
        };
        let require_grad = tensor.is_require_grad();
        let checkpointing = tensor.gradient_checkpointing_strategy();
        let device = tensor.device();
        let mut values = tensor.inner().into_data();
        let gradient = grad.into_data();
        update(
            id.val(),
            values.as_mut_slice::<f32>().map_err(read)?,
            gradient.as_slice::<f32>().map_err(read)?,
        )?;
        let mut updated = Tensor::<D>::from_inner(Tensor::from_data(values, &device));
        if let Some(strategy) = checkpointing {
            updated = updated.with_gradient_checkpointing_strategy(strategy);
        }
        if require_grad {
            updated = updated.require_grad();
        }
        out.push(Param::from_mapped_value(id, updated, mapper));
    }
    Ok(out)
}

/// What every rule's step needs besides its state.
struct Step {
    /// The learning rate as burn's scalar ops see it (f32).
    lr: f32,
    /// The clipping factor (1: none).
    scale: f32,
    /// The parameter's first step: burn starts its moments from the
    /// gradient rather than from zeros.
    first: bool,
}

/// Defines `$name(c, flags, slices)`, the Adam-family update `$kernel`
/// over a parameter's [`Slices`]: each of the four settings of the two
/// flags is `$kernel::<A, B>`, its own loop without a branch per element,
/// and each is compiled for AVX-512 or AVX2 where the CPU has them (16 or 8
/// lanes instead of SSE2's 4). The kernel must be `#[inline(always)]`, so that it is compiled inside each variant
/// (a closure handed to a `target_feature` function is not: it stays SSE2
/// code). Each lane does the same IEEE operations in the same order, so the
/// results are the same bit for bit: Rust never contracts a multiply and an
/// add into an FMA, whatever the target.
macro_rules! vectorized {
    ($name:ident, $kernel:ident, $consts:ty) => {
        fn $name(c: &$consts, flags: (bool, bool), s: Slices<'_>) {
            #[inline(always)]
            fn any(c: &$consts, flags: (bool, bool), s: Slices<'_>) {
                let Slices { p, g, m, v } = s;
                match flags {
                    (true, true) => $kernel::<true, true>(c, p, g, m, v),
                    (true, false) => $kernel::<true, false>(c, p, g, m, v),
                    (false, true) => $kernel::<false, true>(c, p, g, m, v),
                    (false, false) => $kernel::<false, false>(c, p, g, m, v),
                }
            }
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512(c: &$consts, flags: (bool, bool), s: Slices<'_>) {
                    any(c, flags, s)
                }
                #[target_feature(enable = "avx2")]
                fn avx2(c: &$consts, flags: (bool, bool), s: Slices<'_>) {
                    any(c, flags, s)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU was just checked for AVX-512F.
                    return unsafe { avx512(c, flags, s) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU was just checked for AVX2.
                    return unsafe { avx2(c, flags, s) };
                }
            }
            any(c, flags, s)
        }
    };
}

/// One parameter's values, gradients and two moment buffers.
struct Slices<'a> {
    p: &'a mut [f32],
    g: &'a [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
}

// The flags: the parameter's first step, then an L2 penalty (Adam) or a
// decay (AdamW).
vectorized!(adam_kernel, adam_loop, AdamConsts);
vectorized!(adamw_kernel, adamw_loop, AdamWConsts);

/// burn's `Adam` (with `WeightDecay` before `AdaptiveMomentum`), element
/// by element:
/// `g = p*penalty + g; m = m*b1 + g*(1-b1); v = v*b2 + g²*(1-b2);
/// p = p - (m*cf / (sqrt(v) + eps*bc2)) * lr`.
fn adam(
    k: &Step,
    time: i32,
    penalty: Option<f32>,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let bc2 = (1.0 - BETA_2.powi(time)).sqrt();
    let c = AdamConsts {
        lr: k.lr,
        scale: k.scale,
        cf: bc2 / (1.0 - BETA_1.powi(time)),
        eps: EPSILON * bc2,
        penalty: penalty.unwrap_or(0.0),
    };
    adam_kernel(&c, (k.first, penalty.is_some()), Slices { p, g, m, v });
}

struct AdamConsts {
    lr: f32,
    scale: f32,
    cf: f32,
    eps: f32,
    penalty: f32,
}

#[inline(always)]
fn adam_loop<const FIRST: bool, const L2: bool>(
    c: &AdamConsts,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        let mut gi = g[i] * c.scale;
        if L2 {
            // burn's `p*penalty + g`: IEEE addition commutes exactly.
            gi += p[i] * c.penalty;
        }
        (m[i], v[i]) = moments::<FIRST>(gi, m[i], v[i]);
        let delta = (m[i] * c.cf) / (v[i].sqrt() + c.eps);
        p[i] -= delta * c.lr;
    }
}

/// burn's `AdamW`: `m`, `v` as Adam's; `p = p*(1 - lr*wd) -
/// ((m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)) * lr`, the decay skipped
/// (`keep` none) when `lr*wd` is 0.
fn adamw(
    k: &Step,
    time: i32,
    keep: Option<f32>,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let c = AdamWConsts {
        lr: k.lr,
        scale: k.scale,
        c1: 1f32 - BETA_1.powi(time),
        c2: 1f32 - BETA_2.powi(time),
        keep: keep.unwrap_or(1.0),
    };
    adamw_kernel(&c, (k.first, keep.is_some()), Slices { p, g, m, v });
}

struct AdamWConsts {
    lr: f32,
    scale: f32,
    c1: f32,
    c2: f32,
    keep: f32,
}

#[inline(always)]
fn adamw_loop<const FIRST: bool, const DECAY: bool>(
    c: &AdamWConsts,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        (m[i], v[i]) = moments::<FIRST>(g[i] * c.scale, m[i], v[i]);
        let delta = (m[i] / c.c1) / ((v[i] / c.c2).sqrt() + EPSILON);
        let decayed = if DECAY { p[i] * c.keep } else { p[i] };
        p[i] = decayed - delta * c.lr;
    }
}

/// burn's moment update: on the first step `m = g*(1-b1)`,
/// `v = g²*(1-b2)`; then `m = m*b1 + g*(1-b1)`, `v = v*b2 + g²*(1-b2)`.
#[inline(always)]
fn moments<const FIRST: bool>(g: f32, m: f32, v: f32) -> (f32, f32) {
    let (f1, f2) = (1.0 - BETA_1, 1.0 - BETA_2);
    if FIRST {
        (g * f1, (g * g) * f2)
    } else {
        (m * BETA_1 + g * f1, v * BETA_2 + (g * g) * f2)
    }
}

/// burn's `Sgd`: `g = p*penalty + g`; with momentum `mu` (no dampening,
/// so burn's `g*1` is `g`) the velocity is `g` on the first step, then
/// `g + vel*mu`, and replaces `g`; `p = p - g*lr`.
fn sgd(
    k: &Step,
    penalty: Option<f32>,
    velocity: Option<(f32, &mut [f32])>,
    p: &mut [f32],
    g: &[f32],
) {
    let step = |p: &mut f32, g: f32| {
        let mut g = g * k.scale;
        if let Some(pen) = penalty {
            g += *p * pen;
        }
        g
    };
    match velocity {
        Some((mu, vel)) => {
            for ((p, &g), vel) in p.iter_mut().zip(g).zip(vel) {
                let g = step(p, g);
                *vel = if k.first { g } else { g + *vel * mu };
                *p -= *vel * k.lr;
            }
        }
        None => {
            for (p, &g) in p.iter_mut().zip(g) {
                let g = step(p, g);
                *p -= g * k.lr;
            }
        }
    }
}

/// Tags the state bytes: the fused state, version 1, or burn's record.
const FUSED_MAGIC: &[u8] = b"anneal-optim fused 1\n";
const BURN_MAGIC: &[u8] = b"anneal-optim burnpack\n";

impl Fused {
    /// The rule's code, the slot count, per slot its id, length and step
    /// count (u64 LE), then the moment buffers as f32 LE.
    fn to_bytes(&self) -> Vec<u8> {
        let floats = self.m.len() + self.v.len();
        let mut out =
            Vec::with_capacity(FUSED_MAGIC.len() + 9 + self.slots.len() * 24 + floats * 4);
        out.extend_from_slice(FUSED_MAGIC);
        out.push(self.rule.code());
        out.extend_from_slice(&(self.slots.len() as u64).to_le_bytes());
        for s in &self.slots {
            for n in [s.id, s.len as u64, s.time] {
                out.extend_from_slice(&n.to_le_bytes());
            }
        }
        for x in self.m.iter().chain(&self.v) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// The state `body` holds, checked against this optimizer's rule and
    /// parameters before anything is copied.
    fn load(mut self, body: &[u8]) -> std::result::Result<Self, String> {
        let mut at = 0usize;
        let mut take = |n: usize| -> std::result::Result<&[u8], String> {
            let chunk = body.get(at..at + n).ok_or("truncated")?;
            at += n;
            Ok(chunk)
        };
        let u64_at = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        if take(1)?[0] != self.rule.code() {
            return Err("written for another optimizer".into());
        }
        if u64_at(take(8)?) != self.slots.len() as u64 {
            return Err("written for another network".into());
        }
        for s in self.slots.iter_mut() {
            let (id, len) = (u64_at(take(8)?), u64_at(take(8)?));
            if id != s.id || len != s.len as u64 {
                return Err(format!("parameter {id} does not match the network"));
            }
            s.time = u64_at(take(8)?);
        }
        for x in self.m.iter_mut().chain(self.v.iter_mut()) {
            let b = take(4)?;
            *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        if at != body.len() {
            return Err("longer than its parameters".into());
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anneal_config::{Activation, Backend, WeightInit};
    use burn::module::Module;
    use burn::tensor::TensorData;

    use crate::network::{Architecture, NetworkTensor};

    /// Ten steps on a small network (a `[k, n]` matrix, vectors and, with
    /// the ensemble head, a cube) with the fused step and with burn's
    /// optimizer, for every rule: the weights agree bit for bit, and the
    /// fused state survives a save and load half-way.
    #[test]
    fn the_fused_step_is_burns_optimizer_bit_for_bit() {
        let configs = [
            (Optimizer::Adam, 0.0, 0.0, 0.0),
            (Optimizer::Adam, 0.01, 0.0, 0.05),
            (Optimizer::Adamw, 0.01, 0.0, 0.05),
            (Optimizer::Adamw, 0.0, 0.0, 0.0),
            (Optimizer::Sgd, 0.0, 0.0, 0.0),
            (Optimizer::Sgd, 0.001, 0.9, 0.05),
        ];
        let device = crate::backend::device(Backend::Flex).unwrap();
        let arch = Architecture {
            inputs: 3,
            hidden: vec![5],
            outputs: 2,
            activation: Activation::Tanh,
            ensemble: Some(crate::network::Ensemble {
                k: 2,
                variant: crate::network::EnsembleVariant::Full,
                average: crate::network::Average::Values,
            }),
            periodic: None,
            categorical: None,
        };
        let x: Vec<f32> = (0..12).map(|i| ((i * 7) % 5) as f32 / 3.0 - 0.6).collect();
        for (optimizer, weight_decay, momentum, grad_clip) in configs {
            let cfg = TrainConfig {
                optimizer,
                weight_decay,
                momentum,
                grad_clip,
                learning_rate: 0.05,
                backend: Backend::Flex,
                ..TrainConfig::default()
            };
            let run = |fused: bool| -> Vec<NetworkTensor> {
                let mut net = Network::init(&arch, 7, WeightInit::Uniform, &device).train();
                let mut optim = match fused {
                    true => Optim::new(&cfg, &net),
                    false => Optim::Burn(Box::new(burn_optimizer(&cfg))),
                };
                for step in 0..10 {
                    if step == 5 && fused {
                        let bytes = optim.to_bytes().unwrap();
                        optim = Optim::new(&cfg, &net).load(bytes).unwrap();
                    }
                    let xb = Tensor::<2>::from_data(TensorData::new(x.clone(), [4, 3]), &device)
                        .autodiff();
                    let out = net.forward(xb, &arch, &[]);
                    let loss = (out.clone() * out).mean() * (step as f32 + 1.0);
                    let grads = GradientsParams::from_grads(loss.backward(), &net);
                    net = optim
                        .step(0.05 / (step as f64 + 1.0), net, grads, grad_clip)
                        .unwrap();
                }
                assert!(matches!(optim, Optim::Fused(_)) == fused);
                net.valid().to_tensors(&arch).unwrap()
            };
            let (fused, burn) = (run(true), run(false));
            let bits = |t: &[NetworkTensor]| -> Vec<Vec<u32>> {
                t.iter()
                    .map(|t| t.values.iter().map(|v| v.to_bits()).collect())
                    .collect()
            };
            assert_eq!(
                bits(&fused),
                bits(&burn),
                "{optimizer:?} {weight_decay} {momentum} {grad_clip}"
            );
            let start = Network::init(&arch, 7, WeightInit::Uniform, &device)
                .to_tensors(&arch)
                .unwrap();
            assert_ne!(bits(&fused), bits(&start), "the weights moved");
        }
    }

    #[test]
    fn fused_state_round_trips_and_refuses_other_shapes() {
        let mut f = Fused {
            rule: Rule::Adam { penalty: None },
            slots: vec![
                Slot {
                    id: 1,
                    offset: 0,
                    len: 2,
                    time: 3,
                },
                Slot {
                    id: 2,
                    offset: 2,
                    len: 1,
                    time: 3,
                },
            ],
            m: vec![1.0, -0.0, f32::MIN_POSITIVE],
            v: vec![0.5, 0.25, 1e-30],
        };
        let bytes = f.to_bytes();
        let blank = |f: &Fused| Fused {
            rule: f.rule,
            slots: f.slots.iter().map(|s| Slot { time: 0, ..*s }).collect(),
            m: vec![0.0; 3],
            v: vec![0.0; 3],
        };
        let body = &bytes[FUSED_MAGIC.len()..];
        let back = blank(&f).load(body).unwrap();
        assert_eq!(back.slots, f.slots);
        assert_eq!(
            back.m.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            f.m.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(back.v, f.v);
        assert_eq!(
            blank(&f).load(&body[..body.len() - 1]).err().unwrap(),
            "truncated"
        );
        let mut longer = body.to_vec();
        longer.push(0);
        assert_eq!(
            blank(&f).load(&longer).err().unwrap(),
            "longer than its parameters"
        );
        f.rule = Rule::AdamW { weight_decay: 0.0 };
        assert_eq!(
            blank(&f).load(body).err().unwrap(),
            "written for another optimizer"
        );
        f.rule = Rule::Adam { penalty: None };
        f.slots[1].len = 2;
        assert_eq!(
            blank(&f).load(body).err().unwrap(),
            "parameter 2 does not match the network"
        );
    }
}
