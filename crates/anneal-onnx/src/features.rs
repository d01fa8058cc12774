//! The fitted preprocessing as graph nodes: one named input per raw column
//! (numbers as double with NaN for missing, categories as strings with ""
//! for missing), one builder per kind of [`FeatureSpec`], and the model
//! inputs concatenated in the preprocessor's order. Numeric steps run in
//! double and are cast to float at the end, as `Preprocessor::transform`
//! computes in f64 and stores f32, so the network sees the same bits.

use anneal_data::{FeatureSpec, Preprocessor};

use crate::error::{OnnxError, Result};
use crate::graph::{Attr, Dim, Graph, INTERNAL, value_info};
use crate::proto::{ValueInfoProto, dtype};

/// Graph outputs: no input may take these names.
pub const OUTPUT_NAMES: [&str; 2] = ["prediction", "probabilities"];

/// The raw-column inputs and the name of the `[N, inputs]` float matrix
/// the network takes.
pub fn build(g: &mut Graph, pre: &Preprocessor) -> Result<(Vec<ValueInfoProto>, String)> {
    let mut inputs = Vec::with_capacity(pre.features.len());
    let mut pieces: Vec<String> = Vec::new();
    for f in &pre.features {
        let column = f.column();
        if OUTPUT_NAMES.contains(&column) || column.starts_with(INTERNAL) {
            return Err(OnnxError::Unsupported(format!(
                "input column {column:?} has the name of a graph output or internal value"
            )));
        }
        let elem = match f {
            FeatureSpec::Numeric { .. } => dtype::DOUBLE,
            FeatureSpec::Categorical { .. } => dtype::STRING,
        };
        inputs.push(value_info(column, elem, &[Dim::Named("N"), Dim::Fixed(1)]));
        pieces.extend(match f {
            FeatureSpec::Numeric { .. } => numeric(g, f)?,
            FeatureSpec::Categorical { .. } => categorical(g, f)?,
        });
    }
    if pieces.is_empty() {
        return Err(OnnxError::Unsupported(
            "a model without input columns".into(),
        ));
    }
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let x = g.op("Concat", &refs, vec![("axis", Attr::Int(1))]);
    Ok((inputs, x))
}

/// `((clip(value or fill)) - offset) / scale`, the 0/1 missing indicator
/// and the piecewise-linear bins (see [`FeatureSpec::Numeric`]), each a
/// float block of the model inputs.
fn numeric(g: &mut Graph, f: &FeatureSpec) -> Result<Vec<String>> {
    // Every field is named, so a new one cannot be skipped silently.
    let FeatureSpec::Numeric {
        column,
        source_type: _,
        impute: _,
        fill,
        indicator,
        clip,
        offset,
        scale,
        bins,
    } = f
    else {
        return Err(OnnxError::Unsupported(format!(
            "column {:?} is not numeric",
            f.column()
        )));
    };
    let missing = g.op("IsNaN", &[column], vec![]);
    let fill = g.f64s("fill", &[], &[*fill]);
    let mut x = g.op("Where", &[&missing, &fill, column], vec![]);
    if let Some([lo, hi]) = clip {
        let lo = g.f64s("clip_lo", &[], &[*lo]);
        let hi = g.f64s("clip_hi", &[], &[*hi]);
        x = g.op("Clip", &[&x, &lo, &hi], vec![]);
    }
    let shift = g.f64s("offset", &[], &[*offset]);
    let scale = g.f64s("scale", &[], &[*scale]);
    let centred = g.op("Sub", &[&x, &shift], vec![]);
    let scaled = g.op("Div", &[&centred, &scale], vec![]);
    let mut out = vec![to_float(g, &scaled)];
    if *indicator {
        out.push(to_float(g, &missing));
    }
    if let Some(edges) = bins {
        out.push(piecewise_linear(g, &x, edges)?);
    }
    Ok(out)
}

/// Piece `t` is `(x - e_t) / (e_{t+1} - e_t)`, clamped to [0, 1] except
/// below for the first and above for the last: bounds of -inf and +inf
/// leave those ends open.
fn piecewise_linear(g: &mut Graph, x: &str, edges: &[f64]) -> Result<String> {
    if edges.len() < 2 {
        return Err(OnnxError::Unsupported(format!(
            "piecewise-linear bins with {} edge(s)",
            edges.len()
        )));
    }
    let t = edges.len() - 1;
    let lefts: Vec<f64> = edges[..t].to_vec();
    let widths: Vec<f64> = edges.windows(2).map(|w| w[1] - w[0]).collect();
    let mut lower = vec![0.0; t];
    let mut upper = vec![1.0; t];
    lower[0] = f64::NEG_INFINITY;
    upper[t - 1] = f64::INFINITY;
    let lefts = g.f64s("bin_left", &[1, t], &lefts);
    let widths = g.f64s("bin_width", &[1, t], &widths);
    let lower = g.f64s("bin_lower", &[1, t], &lower);
    let upper = g.f64s("bin_upper", &[1, t], &upper);
    let d = g.op("Sub", &[x, &lefts], vec![]);
    let v = g.op("Div", &[&d, &widths], vec![]);
    let v = g.op("Max", &[&v, &lower], vec![]);
    let v = g.op("Min", &[&v, &upper], vec![]);
    Ok(to_float(g, &v))
}

/// One-hot over the categories, then the `missing` slot (when missing
/// values are a category of their own), then the `unknown` slot: an
/// ONNX-ML LabelEncoder maps each string to its slot ("" is missing, any
/// other unlisted value unknown), and the slot is compared with every
/// position.
fn categorical(g: &mut Graph, f: &FeatureSpec) -> Result<Vec<String>> {
    let FeatureSpec::Categorical {
        column,
        source_type: _,
        categories,
        missing_fill,
        embedded,
    } = f
    else {
        return Err(OnnxError::Unsupported(format!(
            "column {:?} is not categorical",
            f.column()
        )));
    };
    if categories.iter().any(String::is_empty) {
        return Err(OnnxError::Unsupported(format!(
            "column {column:?} has the empty string as a category, which the graph reads as missing"
        )));
    }
    let n = categories.len() as i64;
    let missing_slot = n;
    let unknown_slot = n + i64::from(missing_fill.is_none());
    let missing_code = match missing_fill {
        None => missing_slot,
        Some(fill) => categories
            .iter()
            .position(|c| c == fill)
            .map_or(unknown_slot, |i| i as i64),
    };
    let mut keys = categories.clone();
    keys.push(String::new());
    let mut values: Vec<i64> = (0..n).collect();
    values.push(missing_code);
    let codes = g.ml_op(
        "LabelEncoder",
        &[column],
        vec![
            ("keys_strings", Attr::Strings(keys)),
            ("values_int64s", Attr::Ints(values)),
            ("default_int64", Attr::Int(unknown_slot)),
        ],
    );
    // An embedded column: the network takes the slot itself.
    if *embedded {
        return Ok(vec![to_float(g, &codes)]);
    }
    let width = (unknown_slot + 1) as usize;
    let slots: Vec<i64> = (0..width as i64).collect();
    let slots = g.i64s("slots", &[1, width], &slots);
    let hot = g.op("Equal", &[&codes, &slots], vec![]);
    Ok(vec![to_float(g, &hot)])
}

pub fn to_float(g: &mut Graph, x: &str) -> String {
    g.op("Cast", &[x], vec![("to", Attr::Int(dtype::FLOAT as i64))])
}

pub fn to_double(g: &mut Graph, x: &str) -> String {
    g.op("Cast", &[x], vec![("to", Attr::Int(dtype::DOUBLE as i64))])
}
