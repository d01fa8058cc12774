//! An artifact's whole fitted pipeline as one ONNX model: raw columns in
//! (one named input per column of `signature.json`), the preprocessing
//! (imputation, clipping, scaling, category lookup with the missing and
//! unknown slots, piecewise-linear bins), the network of every kind anneal
//! trains (periodic embeddings, TabM ensembles and their averaging), and
//! the label decoding, out: `prediction` and, for classification,
//! `probabilities`.
//!
//! One responsibility: artifact contents in, ONNX bytes out. The bytes are
//! deterministic (fixed node order and names, no timestamps); the protobuf
//! messages are hand-written prost structs ([`proto`]), so nothing needs
//! `protoc` or a download at build time. What cannot be expressed exactly
//! is an [`OnnxError`] naming it, never a graph that silently differs.

pub mod error;
mod features;
mod graph;
mod network;
mod output;
pub mod proto;

use anneal_data::Preprocessor;
use anneal_model::{Architecture, NetworkTensor};
use prost::Message;

pub use error::{OnnxError, Result};
pub use features::OUTPUT_NAMES;

/// The ONNX IR version written (that of opset 17).
pub const IR_VERSION: i64 = 8;
/// The default-domain opset the graph declares.
pub const OPSET: i64 = 17;
/// The ONNX-ML opset (LabelEncoder 2).
pub const ML_OPSET: i64 = 3;

/// Everything the export reads: the artifact's files, decoded.
pub struct OnnxInput<'a> {
    pub preprocessor: &'a Preprocessor,
    /// `model.json`'s `kind`.
    pub model_kind: &'a str,
    pub architecture: &'a Architecture,
    pub weights: &'a [NetworkTensor],
    pub name: &'a str,
    pub version: &'a str,
    /// The artifact id, for an export of a finished artifact; `None` for
    /// the copy inside the artifact (whose id hashes this very file).
    pub artifact_id: Option<&'a str>,
}

/// The model kinds and the ensemble each must carry. Any other kind is
/// refused by name.
fn check_kind(kind: &str, arch: &Architecture) -> Result<()> {
    use anneal_model::network::EnsembleVariant;
    let variant = arch.ensemble.as_ref().map(|e| e.variant);
    let ok = match kind {
        "linear" => variant.is_none() && arch.hidden.is_empty(),
        "mlp" => variant.is_none(),
        "tabm" => variant == Some(EnsembleVariant::Full),
        "tabm_mini" => variant == Some(EnsembleVariant::Mini),
        other => {
            return Err(OnnxError::Unsupported(format!(
                "model kind {other:?} has no ONNX form in this anneal (linear, mlp, tabm and tabm_mini do)"
            )));
        }
    };
    if !ok {
        return Err(OnnxError::Unsupported(format!(
            "model kind {kind:?} does not match its architecture in model.json"
        )));
    }
    Ok(())
}

/// The ONNX model's bytes.
pub fn to_onnx(input: &OnnxInput) -> Result<Vec<u8>> {
    check_kind(input.model_kind, input.architecture)?;
    let pre = input.preprocessor;
    let arch = input.architecture;
    if arch.inputs != pre.n_inputs() || arch.outputs != pre.n_outputs() {
        return Err(OnnxError::Weights(format!(
            "the network takes {} inputs and gives {} outputs, but the preprocessing makes {} and expects {}",
            arch.inputs,
            arch.outputs,
            pre.n_inputs(),
            pre.n_outputs()
        )));
    }
    let mut g = graph::Graph::default();
    let (inputs, x) = features::build(&mut g, pre)?;
    let head = network::build(&mut g, arch, &network::Weights(input.weights), &x)?;
    let outputs = output::build(&mut g, &pre.target, head)?;
    let model = proto::ModelProto {
        ir_version: IR_VERSION,
        producer_name: "anneal".into(),
        producer_version: anneal_core::versions::ANNEAL.into(),
        domain: String::new(),
        model_version: 0,
        doc_string: format!(
            "{} {}: {} ({}), preprocessing and label decoding included",
            input.name,
            input.version,
            pre.task.name(),
            input.model_kind
        ),
        graph: Some(g.finish(input.name, inputs, outputs)),
        opset_import: vec![
            proto::OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            },
            proto::OperatorSetIdProto {
                domain: graph::ML.into(),
                version: ML_OPSET,
            },
        ],
        metadata_props: metadata(input),
    };
    Ok(model.encode_to_vec())
}

/// `metadata_props`, sorted by key.
fn metadata(input: &OnnxInput) -> Vec<proto::StringStringEntryProto> {
    let mut props = vec![
        ("anneal.model_kind", input.model_kind.to_string()),
        ("anneal.name", input.name.to_string()),
        ("anneal.task", input.preprocessor.task.name().to_string()),
        ("anneal.version", input.version.to_string()),
    ];
    if let Some(id) = input.artifact_id {
        props.push(("anneal.artifact_id", id.to_string()));
    }
    props.sort();
    props
        .into_iter()
        .map(|(k, v)| proto::StringStringEntryProto {
            key: k.into(),
            value: v,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anneal_config::{Activation, Impute};
    use anneal_data::FeatureSpec;
    use anneal_data::preprocess::{TargetSpec, Task, ValueType};

    fn pre(categories: &[&str], numeric_name: &str) -> Preprocessor {
        Preprocessor {
            task: Task::Binary,
            target: TargetSpec::Classes {
                column: "y".into(),
                labels: vec!["false".into(), "true".into()],
                label_type: ValueType::Boolean,
            },
            features: vec![
                FeatureSpec::Numeric {
                    column: numeric_name.into(),
                    source_type: ValueType::Double,
                    impute: Impute::Median,
                    fill: 1.5,
                    indicator: true,
                    clip: Some([0.0, 9.0]),
                    offset: 1.0,
                    scale: 2.0,
                    bins: Some(vec![0.0, 1.0, 4.0]),
                },
                FeatureSpec::Categorical {
                    column: "c".into(),
                    source_type: ValueType::String,
                    categories: categories.iter().map(|c| c.to_string()).collect(),
                    missing_fill: None,
                    embedded: false,
                },
            ],
            id_columns: vec![],
        }
    }

    fn linear(p: &Preprocessor) -> (Architecture, Vec<NetworkTensor>) {
        let arch = Architecture {
            inputs: p.n_inputs(),
            hidden: vec![],
            outputs: 2,
            activation: Activation::Relu,
            ensemble: None,
            periodic: None,
            categorical: None,
        };
        let w = vec![
            NetworkTensor {
                name: "layers.0.weight".into(),
                shape: vec![arch.inputs, 2],
                values: (0..arch.inputs * 2).map(|i| i as f32 / 10.0).collect(),
            },
            NetworkTensor {
                name: "layers.0.bias".into(),
                shape: vec![2],
                values: vec![0.5, -0.5],
            },
        ];
        (arch, w)
    }

    fn export(p: &Preprocessor, kind: &str) -> Result<Vec<u8>> {
        let (arch, w) = linear(p);
        to_onnx(&OnnxInput {
            preprocessor: p,
            model_kind: kind,
            architecture: &arch,
            weights: &w,
            name: "m",
            version: "1.2.3",
            artifact_id: Some("abc"),
        })
    }

    /// The bytes decode to the declared contract, and are the same every
    /// time.
    #[test]
    fn graph_contract_and_deterministic_bytes() {
        let p = pre(&["a", "b"], "x");
        let bytes = export(&p, "linear").unwrap();
        assert_eq!(bytes, export(&p, "linear").unwrap());
        let m = proto::ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(m.ir_version, IR_VERSION);
        let g = m.graph.unwrap();
        let io = |v: &[proto::ValueInfoProto]| -> Vec<(String, i32)> {
            v.iter()
                .map(|v| {
                    let t = v.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
                    (v.name.clone(), t.elem_type)
                })
                .collect()
        };
        assert_eq!(
            io(&g.input),
            [
                ("x".into(), proto::dtype::DOUBLE),
                ("c".into(), proto::dtype::STRING)
            ]
        );
        assert_eq!(
            io(&g.output),
            [
                ("prediction".into(), proto::dtype::BOOL),
                ("probabilities".into(), proto::dtype::FLOAT)
            ]
        );
        let keys: Vec<&str> = m.metadata_props.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "anneal.artifact_id",
                "anneal.model_kind",
                "anneal.name",
                "anneal.task",
                "anneal.version"
            ]
        );
    }

    /// Anything without an exact ONNX form is an error naming it.
    #[test]
    fn what_cannot_be_expressed_is_refused_by_name() {
        let msg = |r: Result<Vec<u8>>| r.err().map(|e| e.to_string()).unwrap_or_default();
        let p = pre(&["a"], "x");
        assert_eq!(
            msg(export(&p, "gbdt")),
            "cannot export to ONNX: model kind \"gbdt\" has no ONNX form in this anneal (linear, mlp, tabm and tabm_mini do)"
        );
        assert_eq!(
            msg(export(&p, "tabm")),
            "cannot export to ONNX: model kind \"tabm\" does not match its architecture in model.json"
        );
        assert_eq!(
            msg(export(&pre(&["", "a"], "x"), "mlp")),
            "cannot export to ONNX: column \"c\" has the empty string as a category, which the graph reads as missing"
        );
        assert_eq!(
            msg(export(&pre(&["a"], "prediction"), "mlp")),
            "cannot export to ONNX: input column \"prediction\" has the name of a graph output or internal value"
        );
    }
}
