//! The network: a stack of dense layers (none hidden: a linear model), or
//! a parameter-efficient ensemble of such stacks (TabM, Gorishniy et al.
//! 2024: k members that share the dense weights, each with its own small
//! adapters and output head, trained together on the same batches).

use anneal_config::{Activation, WeightInit};
use anneal_core::rng::Rng;
use burn::module::{Module, Param, ParamId};
use burn::tensor::activation;
use burn::tensor::module::linear;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use anneal_data::layout::InputLayout;

use crate::error::{ModelError, Result};

/// The shape of a network: what the artifact stores besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    pub inputs: usize,
    pub hidden: Vec<usize>,
    pub outputs: usize,
    pub activation: Activation,
    /// Present for the ensemble kinds (`tabm`, `tabm_mini`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensemble: Option<Ensemble>,
    /// Periodic embeddings of some inputs, computed before the dense
    /// layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periodic: Option<Periodic>,
    /// Learned embeddings of categorical slots, looked up before the
    /// dense layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categorical: Option<Categorical>,
}

/// Learned categorical embeddings: the input at each listed position holds
/// a slot index (a category, or the missing or unknown slot), which
/// selects a trainable row of `width` values from that column's table.
/// The tables are stacked into one `[sum of slots, width]` tensor, so one
/// lookup serves every column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Categorical {
    /// Positions among the inputs of the embedded slot cells.
    pub columns: Vec<usize>,
    /// Each column's slot count (its table's rows).
    pub slots: Vec<usize>,
    pub width: usize,
}

impl Categorical {
    /// Where each column's rows start in the stacked table.
    fn offsets(&self) -> Vec<usize> {
        self.slots
            .iter()
            .scan(0, |at, s| {
                let o = *at;
                *at += s;
                Some(o)
            })
            .collect()
    }
}

/// Periodic embeddings (PLR): input `x` of each listed column becomes
/// `relu(W [cos(2 pi c x), sin(2 pi c x)] + b)` with trainable frequencies
/// `c` (drawn from N(0, sigma^2)) and a linear layer of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Periodic {
    /// Positions among the inputs of the embedded (scaled numeric) values.
    pub columns: Vec<usize>,
    pub frequencies: usize,
    pub sigma: f64,
    pub width: usize,
}

/// The members of an ensemble network and how their outputs are combined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ensemble {
    /// Members.
    pub k: usize,
    /// `full`: every dense layer is a BatchEnsemble layer (per member an
    /// input scaling `r`, an output scaling `s` and a bias); `mini`: one
    /// per-member input scaling before a plainly shared stack.
    pub variant: EnsembleVariant,
    /// What the prediction averages over the members: class
    /// `probabilities`, or regression `values`.
    pub average: Average,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnsembleVariant {
    Full,
    Mini,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Average {
    Probabilities,
    Values,
}

impl Architecture {
    /// `(fan_in, fan_out)` of each layer.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let mut dims = vec![self.first_width()];
        dims.extend(&self.hidden);
        dims.push(self.outputs);
        dims.windows(2).map(|w| (w[0], w[1])).collect()
    }

    pub fn parameter_count(&self) -> usize {
        self.tensor_specs()
            .iter()
            .map(|(_, shape, _)| shape.iter().product::<usize>())
            .sum()
    }

    /// The width the first dense layer sees: the inputs, with each
    /// embedded column (periodic or categorical) replaced by its embedding.
    pub fn first_width(&self) -> usize {
        let mut w = self.inputs;
        if let Some(p) = &self.periodic {
            w = w - p.columns.len() + p.columns.len() * p.width;
        }
        if let Some(c) = &self.categorical {
            w = w - c.columns.len() + c.columns.len() * c.width;
        }
        w
    }

    /// The inputs that pass to the first layer as they are, in order.
    fn plain_inputs(&self) -> Vec<i64> {
        let embedded = |c: &usize| {
            self.periodic
                .as_ref()
                .is_some_and(|p| p.columns.contains(c))
                || self
                    .categorical
                    .as_ref()
                    .is_some_and(|e| e.columns.contains(c))
        };
        (0..self.inputs)
            .filter(|c| !embedded(c))
            .map(|c| c as i64)
            .collect()
    }

    /// What the forward pass relies on, for an architecture read from a
    /// file: at least one member, and periodic columns that are distinct
    /// inputs with at least one frequency and embedding dimension.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.ensemble.as_ref().is_some_and(|e| e.k == 0) {
            return Err("the ensemble has no members (k = 0)".into());
        }
        if let Some(p) = &self.periodic {
            let mut seen = std::collections::BTreeSet::new();
            if let Some(c) = p
                .columns
                .iter()
                .find(|&&c| c >= self.inputs || !seen.insert(c))
            {
                return Err(format!(
                    "periodic column {c} is repeated or not among the {} inputs",
                    self.inputs
                ));
            }
            if p.frequencies == 0 || p.width == 0 {
                return Err("periodic embeddings need frequencies and a width".into());
            }
        }
        if let Some(c) = &self.categorical {
            self.check_categorical(c)?;
        }
        Ok(())
    }

    /// Embedded categorical columns: distinct inputs that are not also
    /// periodic, each with at least one slot, and a width.
    fn check_categorical(&self, c: &Categorical) -> std::result::Result<(), String> {
        let mut seen: std::collections::BTreeSet<usize> = self
            .periodic
            .as_ref()
            .map(|p| p.columns.iter().copied().collect())
            .unwrap_or_default();
        if let Some(col) = c
            .columns
            .iter()
            .find(|&&col| col >= self.inputs || !seen.insert(col))
        {
            return Err(format!(
                "categorical column {col} is repeated or not among the {} inputs",
                self.inputs
            ));
        }
        if c.slots.len() != c.columns.len() || c.slots.contains(&0) || c.width == 0 {
            return Err("categorical embeddings need one slot count per column and a width".into());
        }
        Ok(())
    }

    /// Members whose outputs are averaged (1 for a plain network).
    pub fn members(&self) -> usize {
        self.ensemble.as_ref().map_or(1, |e| e.k)
    }

    /// Every parameter tensor: its name, shape and how it starts. The
    /// order is the parameter-id order.
    pub(crate) fn tensor_specs(&self) -> Vec<(String, Vec<usize>, Init)> {
        let shapes = self.layer_shapes();
        let last = shapes.len().saturating_sub(1);
        let mut specs = Vec::new();
        for (i, &(fan_in, fan_out)) in shapes.iter().enumerate() {
            let head = i == last;
            match &self.ensemble {
                Some(e) if head => {
                    let k = e.k;
                    specs.push((
                        format!("layers.{i}.weight"),
                        vec![k, fan_in, fan_out],
                        Init::Dense(fan_in, fan_out),
                    ));
                    specs.push((
                        format!("layers.{i}.bias"),
                        vec![k, fan_out],
                        Init::Dense(fan_in, fan_out),
                    ));
                }
                Some(e) if e.variant == EnsembleVariant::Full => {
                    let k = e.k;
                    specs.push((
                        format!("layers.{i}.weight"),
                        vec![fan_in, fan_out],
                        Init::Dense(fan_in, fan_out),
                    ));
                    let r = if i == 0 { Init::Signs } else { Init::Ones };
                    specs.push((format!("layers.{i}.r"), vec![k, fan_in], r));
                    specs.push((format!("layers.{i}.s"), vec![k, fan_out], Init::Ones));
                    specs.push((
                        format!("layers.{i}.bias"),
                        vec![k, fan_out],
                        Init::Dense(fan_in, fan_out),
                    ));
                }
                _ => {
                    specs.push((
                        format!("layers.{i}.weight"),
                        vec![fan_in, fan_out],
                        Init::Dense(fan_in, fan_out),
                    ));
                    specs.push((
                        format!("layers.{i}.bias"),
                        vec![fan_out],
                        Init::Dense(fan_in, fan_out),
                    ));
                }
            }
        }
        if let Some(e) = &self.ensemble
            && e.variant == EnsembleVariant::Mini
        {
            specs.push(("scale".into(), vec![e.k, self.first_width()], Init::Signs));
        }
        if let Some(p) = &self.periodic {
            let (n, m, w) = (p.columns.len(), p.frequencies, p.width);
            specs.push((
                "periodic.frequencies".into(),
                vec![n, m],
                Init::Normal(p.sigma),
            ));
            specs.push((
                "periodic.weight".into(),
                vec![n, 2 * m, w],
                Init::Uniform(2 * m),
            ));
            specs.push(("periodic.bias".into(), vec![n, w], Init::Uniform(2 * m)));
        }
        if let Some(c) = &self.categorical {
            specs.push((
                "categorical.table".into(),
                vec![c.slots.iter().sum(), c.width],
                Init::Uniform(c.width),
            ));
        }
        specs
    }

    /// The rank and position of the named tensor in a [`Network`].
    fn slot(&self, name: &str) -> (usize, usize) {
        let specs = self.tensor_specs();
        let at = specs.iter().position(|(n, _, _)| n == name).unwrap_or(0);
        slots(&specs)[at]
    }
}

/// How a parameter starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Init {
    /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as PyTorch's `nn.Linear`.
    Uniform(usize),
    /// A dense layer's weight or bias, `fan_in -> fan_out`: drawn as the
    /// run's [`WeightInit`] says.
    Dense(usize, usize),
    /// Random signs: each member sees the inputs through its own +-1 mask,
    /// which is what makes the members differ (TabM's default).
    Signs,
    Ones,
    /// N(0, sigma^2), from pairs of uniform draws (Box-Muller).
    Normal(f64),
}

/// A network's parameters, by rank, each list in [`Architecture::
/// tensor_specs`] order (the forward pass finds them by that order).
#[derive(Module, Debug)]
pub struct Network {
    pub vectors: Vec<Param<Tensor<1>>>,
    pub matrices: Vec<Param<Tensor<2>>>,
    pub cubes: Vec<Param<Tensor<3>>>,
}

/// A named host copy of one parameter, in the layout of safetensors.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Where one spec's tensor lives in a [`Network`]: its rank and index.
fn slots(specs: &[(String, Vec<usize>, Init)]) -> Vec<(usize, usize)> {
    let mut next = [0usize; 4];
    specs
        .iter()
        .map(|(_, shape, _)| {
            let rank = shape.len();
            let at = next[rank];
            next[rank] += 1;
            (rank, at)
        })
        .collect()
}

/// `n` starting values of a tensor that starts as `init`.
fn draw(init: Init, n: usize, scheme: WeightInit, rng: &mut Rng) -> Vec<f32> {
    let mut uniform = |bound: f32| -> Vec<f32> {
        (0..n)
            .map(|_| (rng.next_f32() * 2.0 - 1.0) * bound)
            .collect()
    };
    let rsqrt = |fan_in: usize| 1.0 / (fan_in as f32).sqrt();
    match init {
        Init::Uniform(fan_in) => uniform(rsqrt(fan_in)),
        Init::Dense(fan_in, fan_out) => uniform(match scheme {
            WeightInit::Uniform => rsqrt(fan_in),
            WeightInit::Glorot => (6.0 / (fan_in + fan_out) as f32).sqrt(),
        }),
        Init::Signs => (0..n)
            .map(|_| if rng.next_f64() < 0.5 { -1.0 } else { 1.0 })
            .collect(),
        Init::Ones => vec![1.0; n],
        Init::Normal(sigma) => (0..n)
            .map(|_| {
                let u = 1.0 - rng.next_f64();
                let v = rng.next_f64();
                let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                (z * sigma) as f32
            })
            .collect(),
    }
}

impl Network {
    /// Fresh weights for `arch`, drawn from `seed` on the host, so every
    /// backend starts from the same numbers; dense layers as `scheme` says.
    pub fn init(arch: &Architecture, seed: u64, scheme: WeightInit, device: &Device) -> Network {
        let mut rng = Rng::stream(seed, "init");
        let tensors: Vec<NetworkTensor> = arch
            .tensor_specs()
            .into_iter()
            .map(|(name, shape, init)| {
                let n = shape.iter().product::<usize>();
                let values = draw(init, n, scheme, &mut rng);
                NetworkTensor {
                    name,
                    shape,
                    values,
                }
            })
            .collect();
        // The shapes come from `arch` itself, so they always fit.
        Self::from_tensors(arch, &tensors, device).unwrap_or_else(|_| Network {
            vectors: Vec::new(),
            matrices: Vec::new(),
            cubes: Vec::new(),
        })
    }

    /// Builds a network from named host tensors (dense weights as
    /// `[in, out]`). Parameter ids are fixed by position so that nothing
    /// random enters the model state.
    pub fn from_tensors(
        arch: &Architecture,
        tensors: &[NetworkTensor],
        device: &Device,
    ) -> Result<Network> {
        arch.check().map_err(ModelError::Weights)?;
        let specs = arch.tensor_specs();
        let mut net = Network {
            vectors: Vec::new(),
            matrices: Vec::new(),
            cubes: Vec::new(),
        };
        for (i, (name, shape, _)) in specs.iter().enumerate() {
            let t = tensors
                .iter()
                .find(|t| &t.name == name)
                .ok_or_else(|| ModelError::Weights(format!("missing tensor {name}")))?;
            if &t.shape != shape || t.values.len() != shape.iter().product::<usize>() {
                return Err(ModelError::Weights(format!(
                    "tensor {name} has shape {:?}, expected {shape:?}",
                    t.shape
                )));
            }
            // Ids as the plain stack always had them: weight 2i+1, bias
            // 2i+2 for layer i; the ensemble's extra tensors follow.
            let id = ParamId::from(i as u64 + 1);
            let data = TensorData::new(t.values.clone(), shape.clone());
            match shape.len() {
                1 => net
                    .vectors
                    .push(param(Tensor::<1>::from_data(data, device), id)),
                2 => net
                    .matrices
                    .push(param(Tensor::<2>::from_data(data, device), id)),
                _ => net
                    .cubes
                    .push(param(Tensor::<3>::from_data(data, device), id)),
            }
        }
        if let Some(extra) = tensors
            .iter()
            .find(|t| !specs.iter().any(|(name, _, _)| &t.name == name))
        {
            return Err(ModelError::Weights(format!(
                "unexpected tensor {}",
                extra.name
            )));
        }
        Ok(net)
    }

    /// Host copies of every parameter, in spec order.
    pub fn to_tensors(&self, arch: &Architecture) -> Result<Vec<NetworkTensor>> {
        let specs = arch.tensor_specs();
        let mut out = Vec::with_capacity(specs.len());
        for ((name, shape, _), (rank, at)) in specs.iter().zip(slots(&specs)) {
            let data = match rank {
                1 => self.vectors.get(at).map(|p| p.val().into_data()),
                2 => self.matrices.get(at).map(|p| p.val().into_data()),
                _ => self.cubes.get(at).map(|p| p.val().into_data()),
            }
            .ok_or_else(|| ModelError::Weights(format!("missing tensor {name}")))?;
            out.push(NetworkTensor {
                name: name.clone(),
                shape: shape.clone(),
                values: to_vec(data)?,
            });
        }
        Ok(out)
    }

    /// Every parameter's id and rank, in spec order (gradient clipping).
    pub(crate) fn param_ids(&self) -> Vec<(ParamId, usize)> {
        let mut ids: Vec<(ParamId, usize)> = Vec::new();
        ids.extend(self.vectors.iter().map(|p| (p.id, 1)));
        ids.extend(self.matrices.iter().map(|p| (p.id, 2)));
        ids.extend(self.cubes.iter().map(|p| (p.id, 3)));
        // Ids are positions in spec order (see `from_tensors`).
        ids.sort_by_key(|(id, _)| id.val());
        ids
    }

    /// Forward pass: the outputs of every member, member after member
    /// (`[members * rows, outputs]`; a plain network has one member).
    /// `masks` holds one dropout mask per hidden layer (already scaled by
    /// 1/(1-p), shaped like that layer's output) during training, and is
    /// empty otherwise.
    pub fn forward(&self, x: Tensor<2>, arch: &Architecture, masks: &[Tensor<2>]) -> Tensor<2> {
        let x = match arch.periodic.is_some() || arch.categorical.is_some() {
            true => self.embed(x, arch),
            false => x,
        };
        match &arch.ensemble {
            None => self.forward_plain(x, arch, masks),
            Some(e) => self.forward_ensemble(x, arch, e, masks),
        }
    }

    fn forward_plain(&self, x: Tensor<2>, arch: &Architecture, masks: &[Tensor<2>]) -> Tensor<2> {
        let last = arch.hidden.len();
        let mut h = x;
        for i in 0..=last {
            let (w, b) = (self.matrices[i].val(), self.vectors[i].val());
            h = linear(h, w, Some(b));
            if i < last {
                h = activate(h, arch.activation);
                if let Some(m) = masks.get(i) {
                    h = h * m.clone();
                }
            }
        }
        h
    }

    /// The ensemble pass on `[k, rows, features]` tensors: members see the
    /// same rows through their own adapters, and each has its own head.
    fn forward_ensemble(
        &self,
        x: Tensor<2>,
        arch: &Architecture,
        e: &Ensemble,
        masks: &[Tensor<2>],
    ) -> Tensor<2> {
        let [rows, d] = x.dims();
        let k = e.k;
        let x3: Tensor<3> = x.unsqueeze_dim::<3>(0);
        let mut h: Tensor<3> = match e.variant {
            // `scale`: `[k, d]` -> `[k, 1, d]`.
            EnsembleVariant::Mini => {
                let scale = self.matrices[arch.slot("scale").1].val();
                x3 * scale.unsqueeze_dim::<3>(1)
            }
            EnsembleVariant::Full => x3.expand([k, rows, d]),
        };
        let hidden = arch.hidden.len();
        for i in 0..hidden {
            h = match e.variant {
                EnsembleVariant::Mini => {
                    let (w, b) = (self.matrices[i].val(), self.vectors[i].val());
                    linear(h, w, Some(b))
                }
                EnsembleVariant::Full => {
                    // Per layer: weight, r, s, bias (see `tensor_specs`).
                    let base = 4 * i;
                    let w = self.matrices[base].val();
                    let r = self.matrices[base + 1].val().unsqueeze_dim::<3>(1);
                    let s = self.matrices[base + 2].val().unsqueeze_dim::<3>(1);
                    let b = self.matrices[base + 3].val().unsqueeze_dim::<3>(1);
                    linear(h * r, w, None) * s + b
                }
            };
            h = activate(h, arch.activation);
            if let Some(m) = masks.get(i) {
                let [_, _, width] = h.dims();
                h = h * m.clone().reshape([k, rows, width]);
            }
        }
        // The heads: `[k, rows, h] @ [k, h, out] + [k, 1, out]`.
        let head = arch.hidden.len();
        let w = self.cubes[arch.slot(&format!("layers.{head}.weight")).1].val();
        let b = self.matrices[arch.slot(&format!("layers.{head}.bias")).1].val();
        let b = b.unsqueeze_dim::<3>(1);
        let out = h.matmul(w) + b;
        let [_, _, o] = out.dims();
        out.reshape([k * rows, o])
    }

    /// The embedded inputs (periodic, then categorical), followed by the
    /// other inputs in their order: `[rows, first_width]`.
    fn embed(&self, x: Tensor<2>, arch: &Architecture) -> Tensor<2> {
        let device = x.device();
        let mut parts = Vec::new();
        if let Some(p) = &arch.periodic {
            parts.push(self.periodic(x.clone(), arch, p));
        }
        if let Some(c) = &arch.categorical {
            parts.push(self.categorical(x.clone(), arch, c));
        }
        let rest = arch.plain_inputs();
        if !rest.is_empty() {
            parts.push(x.select(1, index(rest, &device)));
        }
        Tensor::cat(parts, 1)
    }

    /// The periodic embedding of `p.columns`: `[rows, n * width]`.
    fn periodic(&self, x: Tensor<2>, arch: &Architecture, p: &Periodic) -> Tensor<2> {
        let [rows, _] = x.dims();
        let device = x.device();
        let n = p.columns.len();
        let xs = x.select(
            1,
            index(p.columns.iter().map(|&c| c as i64).collect(), &device),
        );
        let c = self.matrices[arch.slot("periodic.frequencies").1].val();
        // `[rows, n, 1] * [1, n, m]`.
        let v = xs.unsqueeze_dim::<3>(2) * c.unsqueeze_dim::<3>(0) * std::f32::consts::TAU;
        let feats = Tensor::cat(vec![v.clone().cos(), v.sin()], 2);
        // Each column its own linear layer: `[n, rows, 2m] @ [n, 2m, w]`.
        let w = self.cubes[arch.slot("periodic.weight").1].val();
        let b = self.matrices[arch.slot("periodic.bias").1].val();
        let h = feats.swap_dims(0, 1).matmul(w) + b.unsqueeze_dim::<3>(1);
        activation::relu(h)
            .swap_dims(0, 1)
            .reshape([rows, n * p.width])
    }

    /// The learned embeddings of the slots at `c.columns`: each slot,
    /// shifted to its column's rows of the stacked table, selects one row
    /// (`[rows, n * width]`). Slots are small whole numbers, exact in
    /// `f32`, so the conversion to integers loses nothing.
    fn categorical(&self, x: Tensor<2>, arch: &Architecture, c: &Categorical) -> Tensor<2> {
        let [rows, _] = x.dims();
        let device = x.device();
        let n = c.columns.len();
        let slots = x.select(
            1,
            index(c.columns.iter().map(|&i| i as i64).collect(), &device),
        );
        let offsets: Vec<f32> = c.offsets().into_iter().map(|o| o as f32).collect();
        let offsets = Tensor::<2>::from_data(TensorData::new(offsets, [1, n]), &device);
        let rows_of_table = (slots + offsets).reshape([rows * n]).int();
        let table = self.matrices[arch.slot("categorical.table").1].val();
        table.select(0, rows_of_table).reshape([rows, n * c.width])
    }

    /// Raw outputs (logits, or the scaled regression value) for `n` rows of
    /// `x`, computed in batches of `batch` rows on `device`. An ensemble's
    /// members are combined here: the mean of their class probabilities
    /// (returned as its logarithm, so that a softmax gives it back), or of
    /// their values.
    pub fn infer(
        &self,
        x: &[f32],
        n: usize,
        arch: &Architecture,
        layout: &InputLayout,
        batch: usize,
        device: &Device,
    ) -> Result<Vec<f32>> {
        let (d, s) = (arch.inputs, layout.stored());
        if layout.inputs() != d || x.len() < n * s {
            return Err(ModelError::Weights(format!(
                "{n} rows of {} stored cells ({} inputs) do not fit a network of {d} inputs",
                s,
                layout.inputs()
            )));
        }
        let mut out = Vec::with_capacity(n * arch.outputs);
        let batch = batch.max(1);
        let mut start = 0;
        while start < n {
            let end = (start + batch).min(n);
            let rows = end - start;
            let mut xb = Vec::with_capacity(rows * d);
            layout.expand_rows(&x[start * s..end * s], rows, &mut xb);
            let xb = Tensor::<2>::from_data(TensorData::new(xb, [rows, d]), device);
            let y = to_vec(self.forward(xb, arch, &[]).into_data())?;
            match &arch.ensemble {
                None => out.extend(y),
                Some(e) => combine_members(&y, e, rows, arch.outputs, &mut out),
            }
            start = end;
        }
        Ok(out)
    }
}

/// A column index tensor.
fn index(cols: Vec<i64>, device: &Device) -> Tensor<1, Int> {
    let n = cols.len();
    Tensor::<1, Int>::from_data(TensorData::new(cols, [n]), device)
}

/// Averages `k` members' outputs (`[k * rows, outputs]`, member-major) into
/// `out`, in f64 on the host.
fn combine_members(y: &[f32], e: &Ensemble, rows: usize, outputs: usize, out: &mut Vec<f32>) {
    let k = e.k;
    let member = |m: usize, r: usize| &y[(m * rows + r) * outputs..(m * rows + r + 1) * outputs];
    for r in 0..rows {
        match e.average {
            Average::Values => {
                for j in 0..outputs {
                    let sum: f64 = (0..k).map(|m| member(m, r)[j] as f64).sum();
                    out.push((sum / k as f64) as f32);
                }
            }
            Average::Probabilities => {
                let mut mean = vec![0f64; outputs];
                for m in 0..k {
                    let p = softmax_rows(member(m, r), outputs);
                    for (acc, v) in mean.iter_mut().zip(p) {
                        *acc += v / k as f64;
                    }
                }
                out.extend(mean.iter().map(|p| p.max(1e-30).ln() as f32));
            }
        }
    }
}

fn param<const D: usize>(t: Tensor<D>, id: ParamId) -> Param<Tensor<D>> {
    let mut p = Param::from_tensor(t);
    p.id = id;
    p
}

fn activate<const D: usize>(h: Tensor<D>, a: Activation) -> Tensor<D> {
    match a {
        Activation::Relu => activation::relu(h),
        Activation::Tanh => activation::tanh(h),
        Activation::Gelu => activation::gelu(h),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(periodic: Option<Periodic>, ensemble: Option<Ensemble>) -> Architecture {
        Architecture {
            inputs: 3,
            hidden: vec![4],
            outputs: 2,
            activation: Activation::Relu,
            ensemble,
            periodic,
            categorical: None,
        }
    }

    /// A model.json that the forward pass could not run (a periodic column
    /// beyond the inputs, no members) is refused when the weights are
    /// loaded, never a panic in the first forward pass.
    #[test]
    fn impossible_architectures_are_refused_at_load() {
        let device = crate::backend::device(anneal_config::Backend::Flex).unwrap();
        let periodic = |columns: Vec<usize>| Periodic {
            columns,
            frequencies: 2,
            sigma: 0.1,
            width: 2,
        };
        let good = arch(Some(periodic(vec![0, 2])), None);
        let tensors = Network::init(&good, 1, WeightInit::Uniform, &device)
            .to_tensors(&good)
            .unwrap();
        assert!(Network::from_tensors(&good, &tensors, &device).is_ok());
        for (bad, why) in [
            (
                arch(Some(periodic(vec![0, 3])), None),
                "not among the 3 inputs",
            ),
            (arch(Some(periodic(vec![1, 1])), None), "repeated"),
            (
                arch(
                    None,
                    Some(Ensemble {
                        k: 0,
                        variant: EnsembleVariant::Mini,
                        average: Average::Values,
                    }),
                ),
                "no members",
            ),
        ] {
            let e = Network::from_tensors(&bad, &tensors, &device)
                .err()
                .unwrap();
            assert!(e.to_string().contains(why), "{e}");
        }
    }

    /// `glorot` draws the same numbers as `uniform`, scaled from each dense
    /// layer's 1/sqrt(fan_in) to sqrt(6/(fan_in + fan_out)); the periodic
    /// embedding keeps its own bound under both.
    #[test]
    fn glorot_rescales_the_dense_layers_only() {
        let device = crate::backend::device(anneal_config::Backend::Flex).unwrap();
        let a = arch(
            Some(Periodic {
                columns: vec![0],
                frequencies: 2,
                sigma: 0.1,
                width: 2,
            }),
            None,
        );
        let draw = |scheme| {
            Network::init(&a, 5, scheme, &device)
                .to_tensors(&a)
                .unwrap()
        };
        let (uniform, glorot) = (draw(WeightInit::Uniform), draw(WeightInit::Glorot));
        let mut scaled = 0;
        for (u, g) in uniform.iter().zip(&glorot) {
            assert_eq!(u.name, g.name);
            let factor = match u.name.as_str() {
                // 3 inputs, the periodic column's 2 replacing its 1: 4 -> 4 -> 2.
                "layers.0.weight" | "layers.0.bias" => (6.0f32 / 8.0).sqrt() / 0.5,
                "layers.1.weight" | "layers.1.bias" => (6.0f32 / 6.0).sqrt() / 0.5,
                _ => 1.0,
            };
            scaled += usize::from(factor != 1.0);
            for (x, y) in u.values.iter().zip(&g.values) {
                assert!(
                    (x * factor - y).abs() <= 1e-6,
                    "{}: {x} * {factor} != {y}",
                    u.name
                );
            }
        }
        assert_eq!(scaled, 4);
    }
}
