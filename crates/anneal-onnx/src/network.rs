//! The network as graph nodes, one builder per layer kind, mirroring
//! `anneal_model::Network::forward` (dropout is off at inference): the
//! periodic embeddings, then a plain stack of dense layers or a TabM
//! ensemble whose members are combined as `Network::infer` combines them.

use anneal_config::Activation;
use anneal_model::network::{Average, Categorical, Ensemble, EnsembleVariant, Periodic};
use anneal_model::{Architecture, NetworkTensor};

use crate::error::{OnnxError, Result};
use crate::features::{to_double, to_float};
use crate::graph::{Attr, Graph};
use crate::proto::dtype;

/// What the network's last node gives.
pub enum Head {
    /// `[N, outputs]` raw outputs: logits, or the scaled regression value.
    Raw(String),
    /// `[N, outputs]` class probabilities (the mean of the members').
    Probabilities(String),
}

/// The weights, found by name and checked against the expected shape.
pub struct Weights<'a>(pub &'a [NetworkTensor]);

impl Weights<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<&[f32]> {
        let t = self
            .0
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| OnnxError::Weights(format!("the weights have no tensor {name}")))?;
        if t.shape != shape || t.values.len() != shape.iter().product::<usize>() {
            return Err(OnnxError::Weights(format!(
                "tensor {name} has shape {:?}, expected {shape:?}",
                t.shape
            )));
        }
        Ok(&t.values)
    }

    /// The named tensor as a graph constant of shape `dims` (a reshape
    /// of the stored one: same values, same order).
    fn constant(
        &self,
        g: &mut Graph,
        name: &str,
        shape: &[usize],
        dims: &[usize],
    ) -> Result<String> {
        let values = self.get(name, shape)?;
        Ok(g.f32s(&name.replace('.', "_"), dims, values))
    }
}

/// The forward pass over `x` (`[N, inputs]` floats). Every field of the
/// architecture is named, so one added later must be handled here.
pub fn build(g: &mut Graph, arch: &Architecture, w: &Weights, x: &str) -> Result<Head> {
    let Architecture {
        inputs,
        hidden,
        outputs,
        activation,
        ensemble,
        periodic,
        categorical,
    } = arch;
    arch.check().map_err(OnnxError::Unsupported)?;
    let x = embed(g, w, x, *inputs, periodic.as_ref(), categorical.as_ref())?;
    let d = arch.first_width();
    match ensemble {
        None => plain(g, w, &x, d, hidden, *outputs, *activation).map(Head::Raw),
        Some(e) => {
            let members = members(g, w, &x, d, hidden, *outputs, *activation, e)?;
            Ok(combine(g, &members, e))
        }
    }
}

/// Dense layers `h @ W + b` with the activation between them.
fn plain(
    g: &mut Graph,
    w: &Weights,
    x: &str,
    d: usize,
    hidden: &[usize],
    outputs: usize,
    act: Activation,
) -> Result<String> {
    let mut h = x.to_string();
    let mut fan_in = d;
    for (i, &fan_out) in hidden.iter().chain([&outputs]).enumerate() {
        let wt = w.constant(
            g,
            &format!("layers.{i}.weight"),
            &[fan_in, fan_out],
            &[fan_in, fan_out],
        )?;
        let b = w.constant(g, &format!("layers.{i}.bias"), &[fan_out], &[fan_out])?;
        let m = g.op("MatMul", &[&h, &wt], vec![]);
        h = g.op("Add", &[&m, &b], vec![]);
        if i < hidden.len() {
            h = activate(g, &h, act);
        }
        fan_in = fan_out;
    }
    Ok(h)
}

/// The members' outputs, `[k, N, outputs]`: the rows seen by every member
/// through its adapters (`full`: per layer an input scaling `r`, an output
/// scaling `s` and a bias; `mini`: one input scaling, then the shared
/// stack), then a head per member as a batched matmul.
#[allow(clippy::too_many_arguments)]
fn members(
    g: &mut Graph,
    w: &Weights,
    x: &str,
    d: usize,
    hidden: &[usize],
    outputs: usize,
    act: Activation,
    e: &Ensemble,
) -> Result<String> {
    let k = e.k;
    let axis0 = g.i64s("axes", &[1], &[0]);
    let mut h = g.op("Unsqueeze", &[x, &axis0], vec![]);
    if e.variant == EnsembleVariant::Mini {
        let scale = w.constant(g, "scale", &[k, d], &[k, 1, d])?;
        h = g.op("Mul", &[&h, &scale], vec![]);
    }
    let mut fan_in = d;
    for (i, &fan_out) in hidden.iter().enumerate() {
        h = match e.variant {
            EnsembleVariant::Mini => {
                let wt = w.constant(
                    g,
                    &format!("layers.{i}.weight"),
                    &[fan_in, fan_out],
                    &[fan_in, fan_out],
                )?;
                let b = w.constant(g, &format!("layers.{i}.bias"), &[fan_out], &[fan_out])?;
                let m = g.op("MatMul", &[&h, &wt], vec![]);
                g.op("Add", &[&m, &b], vec![])
            }
            EnsembleVariant::Full => batch_ensemble_layer(g, w, &h, i, k, fan_in, fan_out)?,
        };
        h = activate(g, &h, act);
        fan_in = fan_out;
    }
    let i = hidden.len();
    let wt = w.constant(
        g,
        &format!("layers.{i}.weight"),
        &[k, fan_in, outputs],
        &[k, fan_in, outputs],
    )?;
    let b = w.constant(
        g,
        &format!("layers.{i}.bias"),
        &[k, outputs],
        &[k, 1, outputs],
    )?;
    let m = g.op("MatMul", &[&h, &wt], vec![]);
    Ok(g.op("Add", &[&m, &b], vec![]))
}

/// `((h * r) @ W) * s + b` with `r`, `s` and `b` per member.
fn batch_ensemble_layer(
    g: &mut Graph,
    w: &Weights,
    h: &str,
    i: usize,
    k: usize,
    fan_in: usize,
    fan_out: usize,
) -> Result<String> {
    let wt = w.constant(
        g,
        &format!("layers.{i}.weight"),
        &[fan_in, fan_out],
        &[fan_in, fan_out],
    )?;
    let r = w.constant(g, &format!("layers.{i}.r"), &[k, fan_in], &[k, 1, fan_in])?;
    let s = w.constant(g, &format!("layers.{i}.s"), &[k, fan_out], &[k, 1, fan_out])?;
    let b = w.constant(
        g,
        &format!("layers.{i}.bias"),
        &[k, fan_out],
        &[k, 1, fan_out],
    )?;
    let hr = g.op("Mul", &[h, &r], vec![]);
    let m = g.op("MatMul", &[&hr, &wt], vec![]);
    let ms = g.op("Mul", &[&m, &s], vec![]);
    Ok(g.op("Add", &[&ms, &b], vec![]))
}

/// The members' mean, in double as `Network::infer` takes it: of their
/// class probabilities (a softmax each) or of their raw values.
fn combine(g: &mut Graph, members: &str, e: &Ensemble) -> Head {
    let wide = to_double(g, members);
    let mean = |g: &mut Graph, v: &str| {
        let m = g.op(
            "ReduceMean",
            &[v],
            vec![("axes", Attr::Ints(vec![0])), ("keepdims", Attr::Int(0))],
        );
        to_float(g, &m)
    };
    match e.average {
        Average::Probabilities => {
            let p = g.op("Softmax", &[&wide], vec![("axis", Attr::Int(2))]);
            Head::Probabilities(mean(g, &p))
        }
        Average::Values => Head::Raw(mean(g, &wide)),
    }
}

/// The embedded inputs (periodic, then categorical) followed by the other
/// inputs in their order, as anneal's forward pass concatenates them; the
/// inputs unchanged when nothing is embedded.
fn embed(
    g: &mut Graph,
    w: &Weights,
    x: &str,
    inputs: usize,
    periodic: Option<&Periodic>,
    categorical: Option<&Categorical>,
) -> Result<String> {
    if periodic.is_none() && categorical.is_none() {
        return Ok(x.to_string());
    }
    let mut parts = Vec::new();
    let mut embedded: Vec<usize> = Vec::new();
    if let Some(p) = periodic {
        parts.push(periodic_part(g, w, x, p)?);
        embedded.extend(&p.columns);
    }
    if let Some(c) = categorical {
        parts.push(categorical_part(g, w, x, c)?);
        embedded.extend(&c.columns);
    }
    let rest: Vec<i64> = (0..inputs)
        .filter(|c| !embedded.contains(c))
        .map(|c| c as i64)
        .collect();
    if !rest.is_empty() {
        let rest_idx = g.i64s("other_columns", &[rest.len()], &rest);
        parts.push(g.op("Gather", &[x, &rest_idx], vec![("axis", Attr::Int(1))]));
    }
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    Ok(g.op("Concat", &refs, vec![("axis", Attr::Int(1))]))
}

/// Periodic embeddings: `relu(W [cos(2 pi c x), sin(2 pi c x)] + b)` per
/// column, `[N, n * width]`.
fn periodic_part(g: &mut Graph, w: &Weights, x: &str, p: &Periodic) -> Result<String> {
    let Periodic {
        columns,
        frequencies: m,
        sigma: _,
        width,
    } = p;
    let (n, m, width) = (columns.len(), *m, *width);
    let cols: Vec<i64> = columns.iter().map(|&c| c as i64).collect();
    let cols = g.i64s("periodic_columns", &[n], &cols);
    let xs = g.op("Gather", &[x, &cols], vec![("axis", Attr::Int(1))]);
    let axis2 = g.i64s("axes", &[1], &[2]);
    let xs = g.op("Unsqueeze", &[&xs, &axis2], vec![]);
    let c = w.constant(g, "periodic.frequencies", &[n, m], &[1, n, m])?;
    let tau = g.f32s("tau", &[], &[std::f32::consts::TAU]);
    let v = g.op("Mul", &[&xs, &c], vec![]);
    let v = g.op("Mul", &[&v, &tau], vec![]);
    let cos = g.op("Cos", &[&v], vec![]);
    let sin = g.op("Sin", &[&v], vec![]);
    let feats = g.op("Concat", &[&cos, &sin], vec![("axis", Attr::Int(2))]);
    let perm = || Attr::Ints(vec![1, 0, 2]);
    let feats = g.op("Transpose", &[&feats], vec![("perm", perm())]);
    let wt = w.constant(g, "periodic.weight", &[n, 2 * m, width], &[n, 2 * m, width])?;
    let b = w.constant(g, "periodic.bias", &[n, width], &[n, 1, width])?;
    let h = g.op("MatMul", &[&feats, &wt], vec![]);
    let h = g.op("Add", &[&h, &b], vec![]);
    let h = g.op("Relu", &[&h], vec![]);
    let h = g.op("Transpose", &[&h], vec![("perm", perm())]);
    let shape = g.i64s("shape", &[2], &[0, (n * width) as i64]);
    Ok(g.op("Reshape", &[&h, &shape], vec![]))
}

/// Learned categorical embeddings: each slot, shifted to its column's rows
/// of the stacked table, gathers one row: `[N, n * width]`.
fn categorical_part(g: &mut Graph, w: &Weights, x: &str, c: &Categorical) -> Result<String> {
    let Categorical {
        columns,
        slots,
        width,
    } = c;
    let n = columns.len();
    let total: usize = slots.iter().sum();
    let cols: Vec<i64> = columns.iter().map(|&i| i as i64).collect();
    let cols = g.i64s("categorical_columns", &[n], &cols);
    let codes = g.op("Gather", &[x, &cols], vec![("axis", Attr::Int(1))]);
    let offsets: Vec<f32> = slots
        .iter()
        .scan(0usize, |at, s| {
            let o = *at;
            *at += s;
            Some(o as f32)
        })
        .collect();
    let offsets = g.f32s("categorical_offsets", &[1, n], &offsets);
    let rows = g.op("Add", &[&codes, &offsets], vec![]);
    let rows = g.op(
        "Cast",
        &[&rows],
        vec![("to", Attr::Int(dtype::INT64 as i64))],
    );
    let table = w.constant(g, "categorical.table", &[total, *width], &[total, *width])?;
    let h = g.op("Gather", &[&table, &rows], vec![("axis", Attr::Int(0))]);
    let shape = g.i64s("shape", &[2], &[0, (n * width) as i64]);
    Ok(g.op("Reshape", &[&h, &shape], vec![]))
}

/// The hidden activation. GELU is the exact (erf) form burn computes.
fn activate(g: &mut Graph, h: &str, act: Activation) -> String {
    match act {
        Activation::Relu => g.op("Relu", &[h], vec![]),
        Activation::Tanh => g.op("Tanh", &[h], vec![]),
        Activation::Gelu => {
            let sqrt2 = g.f32s("sqrt2", &[], &[std::f32::consts::SQRT_2]);
            let one = g.f32s("one", &[], &[1.0]);
            let half = g.f32s("half", &[], &[0.5]);
            let z = g.op("Div", &[h, &sqrt2], vec![]);
            let e = g.op("Erf", &[&z], vec![]);
            let e1 = g.op("Add", &[&e, &one], vec![]);
            let xh = g.op("Mul", &[h, &half], vec![]);
            g.op("Mul", &[&xh, &e1], vec![])
        }
    }
}
