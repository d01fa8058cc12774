//! The graph outputs, decoded as `anneal predict` decodes them:
//! `probabilities` (classification, in the artifact's class order) and
//! `prediction`, the label as in the data (string, integer or boolean) or
//! the regression value in the target's units.

use anneal_data::TargetSpec;
use anneal_data::preprocess::ValueType;

use crate::error::{OnnxError, Result};
use crate::features::{OUTPUT_NAMES, to_double, to_float};
use crate::graph::{Attr, Dim, Graph, value_info};
use crate::network::Head;
use crate::proto::{ValueInfoProto, dtype};

/// Writes the outputs from the network's head; returns their declarations.
pub fn build(g: &mut Graph, target: &TargetSpec, head: Head) -> Result<Vec<ValueInfoProto>> {
    match target {
        TargetSpec::Classes {
            column: _,
            labels,
            label_type,
        } => classes(g, labels, *label_type, head),
        TargetSpec::Regression {
            column: _,
            offset,
            scale,
        } => regression(g, *offset, *scale, head),
    }
}

/// `probabilities`, and `prediction` as the label of the best class.
fn classes(
    g: &mut Graph,
    labels: &[String],
    label_type: ValueType,
    head: Head,
) -> Result<Vec<ValueInfoProto>> {
    let [prediction, probabilities] = OUTPUT_NAMES;
    let (proba, scores) = match head {
        // Softmax in double, as `softmax_rows`; the class is the argmax of
        // the logits themselves (the softmax keeps their order), so
        // rounding cannot change it.
        Head::Raw(logits) => {
            let wide = to_double(g, &logits);
            let p = g.op("Softmax", &[&wide], vec![("axis", Attr::Int(1))]);
            (to_float(g, &p), logits)
        }
        Head::Probabilities(p) => (p.clone(), p),
    };
    g.node("", "Identity", &[&proba], vec![], probabilities);
    let best = g.op(
        "ArgMax",
        &[&scores],
        vec![("axis", Attr::Int(1)), ("keepdims", Attr::Int(0))],
    );
    let k = labels.len();
    let (labels, elem) = label_constant(g, labels, label_type)?;
    g.node(
        "",
        "Gather",
        &[&labels, &best],
        vec![("axis", Attr::Int(0))],
        prediction,
    );
    Ok(vec![
        value_info(prediction, elem, &[Dim::Named("N")]),
        value_info(
            probabilities,
            dtype::FLOAT,
            &[Dim::Named("N"), Dim::Fixed(k)],
        ),
    ])
}

/// `prediction`: `o as f64 * scale + offset`, as `predictions_from_outputs`.
fn regression(g: &mut Graph, offset: f64, scale: f64, head: Head) -> Result<Vec<ValueInfoProto>> {
    let Head::Raw(value) = head else {
        return Err(OnnxError::Unsupported(
            "an ensemble that averages probabilities for a regression target".into(),
        ));
    };
    let wide = to_double(g, &value);
    let scale = g.f64s("target_scale", &[], &[scale]);
    let offset = g.f64s("target_offset", &[], &[offset]);
    let v = g.op("Mul", &[&wide, &scale], vec![]);
    let v = g.op("Add", &[&v, &offset], vec![]);
    let axis1 = g.i64s("axes", &[1], &[1]);
    let prediction = OUTPUT_NAMES[0];
    g.node("", "Squeeze", &[&v, &axis1], vec![], prediction);
    Ok(vec![value_info(
        prediction,
        dtype::DOUBLE,
        &[Dim::Named("N")],
    )])
}

/// The labels as a constant of the type `predict` writes them in.
fn label_constant(g: &mut Graph, labels: &[String], t: ValueType) -> Result<(String, i32)> {
    let k = labels.len();
    let bad = |l: &String, what: &str| {
        OnnxError::Unsupported(format!("class label {l:?} of a {what} target"))
    };
    match t {
        ValueType::Long => {
            let v = labels
                .iter()
                .map(|l| l.parse::<i64>().map_err(|_| bad(l, "long")))
                .collect::<Result<Vec<_>>>()?;
            Ok((g.i64s("labels", &[k], &v), dtype::INT64))
        }
        ValueType::Boolean => {
            let v = labels
                .iter()
                .map(|l| match l.as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(bad(l, "boolean")),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((g.bools("labels", &[k], &v), dtype::BOOL))
        }
        ValueType::String | ValueType::Double => {
            Ok((g.strings("labels", &[k], labels), dtype::STRING))
        }
    }
}
