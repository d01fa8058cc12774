//! The network: a stack of dense layers (none hidden: a linear model).

use anneal_config::Activation;
use anneal_core::rng::Rng;
use burn::module::{Module, Param, ParamId};
use burn::nn::Linear;
use burn::tensor::activation;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// The shape of a network: what the artifact stores besides the weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Architecture {
    pub inputs: usize,
    pub hidden: Vec<usize>,
    pub outputs: usize,
    pub activation: Activation,
}

impl Architecture {
    /// `(fan_in, fan_out)` of each layer.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let mut dims = vec![self.inputs];
        dims.extend(&self.hidden);
        dims.push(self.outputs);
        dims.windows(2).map(|w| (w[0], w[1])).collect()
    }

    pub fn parameter_count(&self) -> usize {
        self.layer_shapes().iter().map(|(i, o)| i * o + o).sum()
    }
}

#[derive(Module, Debug)]
pub struct Network {
    pub layers: Vec<Linear>,
}

/// A named host copy of one parameter, in the layout of safetensors.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl Network {
    /// Fresh weights for `arch`, drawn from `seed`: U(-1/sqrt(fan_in),
    /// 1/sqrt(fan_in)) for weights and biases, as PyTorch's `nn.Linear`.
    pub fn init(arch: &Architecture, seed: u64, device: &Device) -> Network {
        let mut rng = Rng::stream(seed, "init");
        let tensors = arch
            .layer_shapes()
            .into_iter()
            .enumerate()
            .flat_map(|(i, (fan_in, fan_out))| {
                let bound = 1.0 / (fan_in as f32).sqrt();
                let mut draw = |n: usize| -> Vec<f32> {
                    (0..n)
                        .map(|_| (rng.next_f32() * 2.0 - 1.0) * bound)
                        .collect()
                };
                let w = draw(fan_in * fan_out);
                let b = draw(fan_out);
                [
                    NetworkTensor {
                        name: format!("layers.{i}.weight"),
                        shape: vec![fan_in, fan_out],
                        values: w,
                    },
                    NetworkTensor {
                        name: format!("layers.{i}.bias"),
                        shape: vec![fan_out],
                        values: b,
                    },
                ]
            })
            .collect::<Vec<_>>();
        // The shapes come from `arch` itself, so they always fit.
        Self::from_tensors(arch, &tensors, device)
            .unwrap_or_else(|_| Network { layers: Vec::new() })
    }

    /// Builds a network from named host tensors (weights as `[in, out]`).
    /// Parameter ids are fixed by position so that nothing random enters the
    /// model state.
    pub fn from_tensors(
        arch: &Architecture,
        tensors: &[NetworkTensor],
        device: &Device,
    ) -> Result<Network> {
        let find = |name: &str, shape: &[usize]| -> Result<&NetworkTensor> {
            let t = tensors
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| ModelError::Weights(format!("missing tensor {name}")))?;
            if t.shape != shape || t.values.len() != shape.iter().product::<usize>() {
                return Err(ModelError::Weights(format!(
                    "tensor {name} has shape {:?}, expected {shape:?}",
                    t.shape
                )));
            }
            Ok(t)
        };
        let mut layers = Vec::new();
        for (i, (fan_in, fan_out)) in arch.layer_shapes().into_iter().enumerate() {
            let w = find(&format!("layers.{i}.weight"), &[fan_in, fan_out])?;
            let b = find(&format!("layers.{i}.bias"), &[fan_out])?;
            let weight = Tensor::<2>::from_data(
                TensorData::new(w.values.clone(), [fan_in, fan_out]),
                device,
            );
            let bias = Tensor::<1>::from_data(TensorData::new(b.values.clone(), [fan_out]), device);
            let mut wp = Param::from_tensor(weight);
            wp.id = ParamId::from(2 * i as u64 + 1);
            let mut bp = Param::from_tensor(bias);
            bp.id = ParamId::from(2 * i as u64 + 2);
            layers.push(Linear {
                weight: wp,
                bias: Some(bp),
            });
        }
        if let Some(extra) = tensors.iter().find(|t| {
            !(0..arch.layer_shapes().len()).any(|i| {
                t.name == format!("layers.{i}.weight") || t.name == format!("layers.{i}.bias")
            })
        }) {
            return Err(ModelError::Weights(format!(
                "unexpected tensor {}",
                extra.name
            )));
        }
        Ok(Network { layers })
    }

    /// Host copies of every parameter, in layer order.
    pub fn to_tensors(&self) -> Result<Vec<NetworkTensor>> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let w = layer.weight.val();
            let shape = w.dims().to_vec();
            out.push(NetworkTensor {
                name: format!("layers.{i}.weight"),
                shape,
                values: to_vec(w.into_data())?,
            });
            if let Some(b) = &layer.bias {
                let b = b.val();
                out.push(NetworkTensor {
                    name: format!("layers.{i}.bias"),
                    shape: b.dims().to_vec(),
                    values: to_vec(b.into_data())?,
                });
            }
        }
        Ok(out)
    }

    /// Forward pass. `masks` holds one dropout mask per hidden layer (already
    /// scaled by 1/(1-p)) during training, and is empty otherwise.
    pub fn forward(&self, x: Tensor<2>, activation: Activation, masks: &[Tensor<2>]) -> Tensor<2> {
        let last = self.layers.len().saturating_sub(1);
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h);
            if i < last {
                h = match activation {
                    Activation::Relu => activation::relu(h),
                    Activation::Tanh => activation::tanh(h),
                    Activation::Gelu => activation::gelu(h),
                };
                if let Some(m) = masks.get(i) {
                    h = h * m.clone();
                }
            }
        }
        h
    }

    /// Raw outputs (logits, or the scaled regression value) for `n` rows of
    /// `x`, computed in batches of `batch` rows on `device`.
    pub fn infer(
        &self,
        x: &[f32],
        n: usize,
        arch: &Architecture,
        batch: usize,
        device: &Device,
    ) -> Result<Vec<f32>> {
        let d = arch.inputs;
        let mut out = Vec::with_capacity(n * arch.outputs);
        let batch = batch.max(1);
        let mut start = 0;
        while start < n {
            let end = (start + batch).min(n);
            let rows = end - start;
            let xb = Tensor::<2>::from_data(
                TensorData::new(x[start * d..end * d].to_vec(), [rows, d]),
                device,
            );
            let y = self.forward(xb, arch.activation, &[]);
            out.extend(to_vec(y.into_data())?);
            start = end;
        }
        Ok(out)
    }
}

pub(crate) fn to_vec(data: TensorData) -> Result<Vec<f32>> {
    data.try_to_vec::<f32>()
        .map_err(|e| ModelError::Tensor(format!("{e:?}")))
}

/// Row-wise softmax of logits in f64, on the host: the probabilities that
/// metrics and `predict` report, computed once, identically.
pub fn softmax_rows(logits: &[f32], k: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(logits.len());
    for row in logits.chunks(k.max(1)) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let exps: Vec<f64> = row.iter().map(|&z| (z as f64 - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        out.extend(exps.iter().map(|e| e / sum));
    }
    out
}
