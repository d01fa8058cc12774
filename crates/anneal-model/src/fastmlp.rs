//! The plain MLP's training step on burn-flex without autodiff.
//!
//! A 64-64 MLP step on a batch of 64 rows is a few microseconds of matrix
//! products; through burn's autodiff it cost ~100 µs, most of it graph
//! bookkeeping (node ids, hash maps of gradients, checkpointed states) and
//! a fresh allocation for every op of the forward pass, the backward pass
//! and the parameter update. For the plain stack (ReLU, no ensemble, no
//! embeddings) with a cross-entropy or squared-error loss, this module
//! runs the step that autodiff would have run, op for op:
//!
//! - the matrix products and reductions are burn-flex's own functions
//!   (`matmul`, `sum`, `sum_dim`, `max_dim`, `mean`), called on tensors of
//!   the same shapes and strides as autodiff passes them (its backward
//!   multiplies by transposed views), so their bits are the same;
//! - the element-wise ops are written out on the host: each is a single
//!   correctly rounded IEEE operation (or `f32::exp`/`f32::ln`, the same
//!   functions flex calls), so their bits are the same too;
//! - the composition is autodiff's: `log_softmax` as burn's default (max
//!   shift, exp, sum, log), each backward formula as burn-autodiff 0.22.1
//!   writes it (the log's gradient through a reciprocal, the mean's through
//!   `1/n` rounded to f32, two contributions to one node added).
//!
//! The weights stay in this module's tensors for the run and are updated
//! in place by the fused optimizer; the burn network is rebuilt from them
//! only where one is needed (validation, checkpoints, the result). The
//! test below and the byte-identity check of every shipped config hold the
//! result to burn's path bit for bit.

use std::borrow::Cow;

use burn::tensor::TensorData;
use burn_flex::FlexTensor;
use burn_flex::ops::matmul::matmul;
use burn_flex::ops::reduce;

use anneal_data::layout::InputLayout;

use crate::error::{ModelError, Result};
use crate::network::{Architecture, Network, NetworkTensor};
use crate::optim::Fused;

/// What one batch is scored against.
pub(crate) enum Target<'a> {
    /// Class-weighted one-hot rows `[rows, classes]` and the sum of the
    /// rows' weights (the loss's divisor).
    Classes { onehot: &'a [f32], wsum: f32 },
    /// Regression targets, one per row.
    Values(&'a [f32]),
}

/// The weights of a plain stack as burn-flex tensors, layer by layer.
pub(crate) struct FastMlp {
    /// `[fan_in, fan_out]` per layer.
    weights: Vec<FlexTensor>,
    /// `[fan_out]` per layer.
    biases: Vec<FlexTensor>,
    dims: Vec<(usize, usize)>,
}

/// The forward pass's values that the backward pass reads.
struct Pass {
    /// Each layer's input: the batch, then each hidden layer's output
    /// (after its dropout mask).
    inputs: Vec<FlexTensor>,
    /// Each hidden layer's pre-activation (ReLU's input).
    pre: Vec<Vec<f32>>,
    /// The outputs `[rows, outputs]`.
    out: Vec<f32>,
}

impl FastMlp {
    /// Whether `arch` is a stack this module trains: no ensemble, no
    /// embeddings, ReLU.
    pub(crate) fn fits(arch: &Architecture) -> bool {
        arch.ensemble.is_none()
            && arch.periodic.is_none()
            && arch.categorical.is_none()
            && arch.activation == anneal_config::Activation::Relu
    }

    /// The weights of `network` (a stack that [`Self::fits`]).
    pub(crate) fn from_network(network: &Network, arch: &Architecture) -> Result<Self> {
        let tensors = network.to_tensors(arch)?;
        let dims = arch.layer_shapes();
        if tensors.len() != 2 * dims.len() {
            return Err(ModelError::Weights("not a plain stack".into()));
        }
        let mut fast = FastMlp {
            weights: Vec::new(),
            biases: Vec::new(),
            dims,
        };
        for pair in tensors.chunks(2) {
            fast.weights
                .push(flex(pair[0].values.clone(), &pair[0].shape));
            fast.biases
                .push(flex(pair[1].values.clone(), &pair[1].shape));
        }
        Ok(fast)
    }

    /// Host copies of the weights, named and ordered as
    /// [`Network::to_tensors`] gives them.
    pub(crate) fn tensors(&self, arch: &Architecture) -> Result<Vec<NetworkTensor>> {
        let specs = arch.tensor_specs();
        let params = self.weights.iter().zip(&self.biases);
        let values = params.flat_map(|(w, b)| [w, b]);
        specs
            .into_iter()
            .zip(values)
            .map(|((name, shape, _), t)| {
                Ok(NetworkTensor {
                    name,
                    shape,
                    values: read(t)?.into_owned(),
                })
            })
            .collect()
    }

    /// Raw outputs for `n` stored rows of `x`, in batches of `batch` rows:
    /// what [`Network::infer`] computes for this stack (the same ops on
    /// the same batches, without dropout), without building the network.
    pub(crate) fn infer(
        &self,
        x: &[f32],
        n: usize,
        layout: &InputLayout,
        batch: usize,
    ) -> Result<Vec<f32>> {
        let (d, s) = (self.dims.first().map_or(0, |d| d.0), layout.stored());
        if layout.inputs() != d || x.len() < n * s {
            return Err(ModelError::Weights(format!(
                "{n} rows of {s} stored cells ({} inputs) do not fit a network of {d} inputs",
                layout.inputs()
            )));
        }
        let mut out = Vec::with_capacity(n * self.dims.last().map_or(0, |d| d.1));
        let batch = batch.max(1);
        for start in (0..n).step_by(batch) {
            let rows = batch.min(n - start);
            let mut xb = Vec::with_capacity(rows * d);
            layout.expand_rows(&x[start * s..(start + rows) * s], rows, &mut xb);
            out.extend(self.forward(flex(xb, &[rows, d]), rows, &[])?.out);
        }
        Ok(out)
    }

    /// One optimizer step on a batch of `rows` rows `x`: forward, loss,
    /// backward, clipping to a global norm of `grad_clip` (0: none) and
    /// the fused update at learning rate `lr`. Returns the batch's loss;
    /// a loss that is not finite leaves the weights as they were.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn step(
        &mut self,
        x: Vec<f32>,
        rows: usize,
        masks: &[Vec<f32>],
        target: Target,
        optim: &mut Fused,
        lr: f64,
        grad_clip: f64,
    ) -> Result<f32> {
        let inputs = self.dims.first().map_or(0, |d| d.0);
        let pass = self.forward(flex(x, &[rows, inputs]), rows, masks)?;
        let (loss, grad) = match target {
            Target::Classes { onehot, wsum } => {
                let k = self.dims.last().map_or(0, |d| d.1);
                cross_entropy(&pass.out, rows, k, onehot, wsum)?
            }
            Target::Values(y) => squared_error(&pass.out, rows, y)?,
        };
        if !loss.is_finite() {
            return Ok(loss);
        }
        let grads = self.backward(pass, grad, rows, masks)?;
        let scale = match grad_clip > 0.0 {
            true => clip_scale(&grads, grad_clip)?,
            false => None,
        };
        self.update(&grads, optim, lr, scale.unwrap_or(1.0))?;
        Ok(loss)
    }

    /// `linear` (matmul, then the bias added row by row), ReLU and the
    /// dropout mask per hidden layer; the last layer's outputs raw.
    fn forward(&self, x: FlexTensor, rows: usize, masks: &[Vec<f32>]) -> Result<Pass> {
        let last = self.dims.len() - 1;
        let mut pass = Pass {
            inputs: vec![x],
            pre: Vec::new(),
            out: Vec::new(),
        };
        for i in 0..=last {
            let fan_out = self.dims[i].1;
            let mut z = owned(matmul(pass.inputs[i].clone(), self.weights[i].clone()))?;
            let bias = read(&self.biases[i])?;
            for row in z.chunks_mut(fan_out) {
                for (v, b) in row.iter_mut().zip(bias.iter()) {
                    *v += b;
                }
            }
            if i == last {
                pass.out = z;
                break;
            }
            // flex's ReLU: NaN passes through.
            let mut h: Vec<f32> = z
                .iter()
                .map(|&v| if v.is_nan() || v > 0.0 { v } else { 0.0 })
                .collect();
            if let Some(m) = masks.get(i) {
                h.iter_mut().zip(m).for_each(|(a, m)| *a *= m);
            }
            pass.pre.push(z);
            pass.inputs.push(flex(h, &[rows, fan_out]));
        }
        Ok(pass)
    }

    /// Per layer, the weight's and the bias's gradients from `grad`, the
    /// gradient of the outputs: autodiff's matmul backward (`x^T @ g`,
    /// `g @ w^T` on transposed views), the broadcast bias's (`sum_dim`
    /// over the rows), the mask's product and ReLU's backward.
    fn backward(
        &self,
        pass: Pass,
        grad: Vec<f32>,
        rows: usize,
        masks: &[Vec<f32>],
    ) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
        let last = self.dims.len() - 1;
        let mut grads = Vec::with_capacity(last + 1);
        let mut g = flex(grad, &[rows, self.dims[last].1]);
        for (i, input) in pass.inputs.into_iter().enumerate().rev() {
            let gw = owned(matmul(input.transpose(0, 1), g.clone()))?;
            let gb = owned(reduce::sum_dim(g.clone(), 0))?;
            grads.push((gw, gb));
            if i == 0 {
                break;
            }
            let mut gx = owned(matmul(g, self.weights[i].transpose(0, 1)))?;
            if let Some(m) = masks.get(i - 1) {
                gx.iter_mut().zip(m).for_each(|(a, m)| *a *= m);
            }
            for (a, &z) in gx.iter_mut().zip(&pass.pre[i - 1]) {
                if !(z.is_nan() || z > 0.0) {
                    *a = 0.0;
                }
            }
            g = flex(gx, &[rows, self.dims[i].0]);
        }
        grads.reverse();
        Ok(grads)
    }

    /// The fused optimizer's update of every weight in place (parameter
    /// ids as [`Network::from_tensors`] gives them: `2i+1` for layer `i`'s
    /// weight, `2i+2` for its bias).
    fn update(
        &mut self,
        grads: &[(Vec<f32>, Vec<f32>)],
        optim: &mut Fused,
        lr: f64,
        scale: f32,
    ) -> Result<()> {
        let params = self.weights.iter_mut().zip(self.biases.iter_mut());
        for (i, ((w, b), (gw, gb))) in params.zip(grads).enumerate() {
            let id = 2 * i as u64 + 1;
            optim.update(id, lr, scale, w.storage_mut::<f32>(), gw)?;
            optim.update(id + 1, lr, scale, b.storage_mut::<f32>(), gb)?;
        }
        Ok(())
    }
}

/// `log_softmax(out) * onehot`, summed, negated and divided by `wsum`, and
/// its gradient with respect to `out`, as autodiff composes them.
fn cross_entropy(
    out: &[f32],
    rows: usize,
    k: usize,
    onehot: &[f32],
    wsum: f32,
) -> Result<(f32, Vec<f32>)> {
    let max = owned(reduce::max_dim(flex(out.to_vec(), &[rows, k]), 1))?;
    let row_of = |i: usize| i / k.max(1);
    let shifted: Vec<f32> = (0..out.len()).map(|i| out[i] - max[row_of(i)]).collect();
    let e: Vec<f32> = shifted.iter().map(|v| v.exp()).collect();
    let s = owned(reduce::sum_dim(flex(e.clone(), &[rows, k]), 1))?;
    let lse: Vec<f32> = s.iter().map(|v| v.ln()).collect();
    let prod: Vec<f32> = (0..out.len())
        .map(|i| (shifted[i] - lse[row_of(i)]) * onehot[i])
        .collect();
    let total = owned(reduce::sum(flex(prod, &[rows, k])))?[0];
    let loss = (-total) / wsum;
    // Backward: div_scalar (through 1/wsum), neg, sum (the value spread),
    // the product with the targets, then log_softmax's two paths.
    let g_lsm: Vec<f32> = onehot.iter().map(|t| -(1.0 / wsum) * t).collect();
    let neg: Vec<f32> = g_lsm.iter().map(|g| -g).collect();
    let g_lse = owned(reduce::sum_dim(flex(neg, &[rows, k]), 1))?;
    let g_s: Vec<f32> = g_lse.iter().zip(&s).map(|(g, s)| g * (1.0 / s)).collect();
    let g_s = owned(reduce::sum_dim(flex(g_s, &[rows, 1]), 1))?;
    let grad = (0..out.len())
        .map(|i| g_s[row_of(i)] * e[i] + g_lsm[i])
        .collect();
    Ok((loss, grad))
}

/// `mean((out - y)^2)` and its gradient with respect to `out`, as autodiff
/// composes them (the square's two operands each contribute `g * diff`).
fn squared_error(out: &[f32], rows: usize, y: &[f32]) -> Result<(f32, Vec<f32>)> {
    let diff: Vec<f32> = out.iter().zip(y).map(|(o, t)| o - t).collect();
    let sq: Vec<f32> = diff.iter().map(|d| d * d).collect();
    let loss = owned(reduce::mean(flex(sq, &[rows, 1])))?[0];
    let val = (1.0 / diff.len().max(1) as f64) as f32;
    let grad = diff
        .iter()
        .map(|d| {
            let a = val * d;
            a + a
        })
        .collect();
    Ok((loss, grad))
}

/// The factor that scales the gradients to a global norm of `max_norm`,
/// as `optim::clip_factor` computes it: each gradient's squared sum by
/// flex's `sum`, added in parameter-id order in f32.
fn clip_scale(grads: &[(Vec<f32>, Vec<f32>)], max_norm: f64) -> Result<Option<f32>> {
    let mut total: Option<f32> = None;
    for g in grads.iter().flat_map(|(w, b)| [w, b]) {
        let sq: Vec<f32> = g.iter().map(|v| v * v).collect();
        let part = owned(reduce::sum(flex(sq, &[g.len()])))?[0];
        total = Some(total.map_or(part, |t| t + part));
    }
    Ok(total.and_then(|t| crate::optim::clip_of_norm(t, max_norm)))
}

fn flex(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}

/// A tensor's values in row-major order (borrowed when contiguous).
fn read(t: &FlexTensor) -> Result<Cow<'_, [f32]>> {
    match t.as_slice::<f32>() {
        Some(s) => Ok(Cow::Borrowed(s)),
        None => owned(t.to_contiguous()).map(Cow::Owned),
    }
}

fn owned(t: FlexTensor) -> Result<Vec<f32>> {
    t.into_data()
        .try_into_vec::<f32>()
        .map_err(|e| ModelError::Tensor(format!("{e:?}")))
}
