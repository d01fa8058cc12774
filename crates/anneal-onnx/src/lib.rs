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
