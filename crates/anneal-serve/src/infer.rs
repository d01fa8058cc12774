//! Prediction for a validated batch, through `Artifact::predict_frame`: the
//! same preprocessing and forward pass as `anneal predict`, so a row gets
//! the same answer over HTTP as from a file.

use std::path::Path;

use anneal_artifact::Artifact;
use polars::prelude::*;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::binary;
use crate::request::{Batch, BinaryOutputs, Cells};
use crate::schema::Schema;

/// The predicted column, typed as `anneal predict` writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicted {
    /// Class labels read as text in the data.
    Text(Vec<Option<String>>),
    /// Integer class labels.
    Int(Vec<Option<i64>>),
    /// Boolean class labels.
    Bool(Vec<Option<bool>>),
    /// Regression values.
    Float(Vec<Option<f64>>),
}

impl Predicted {
    fn len(&self) -> usize {
        match self {
            Predicted::Text(v) => v.len(),
            Predicted::Int(v) => v.len(),
            Predicted::Bool(v) => v.len(),
            Predicted::Float(v) => v.len(),
        }
    }
}

/// Predictions for every row of a batch, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub prediction: Predicted,
    /// `(proba_<label>, values)` per class, in label order; empty for
    /// regression.
    pub proba: Vec<(String, Vec<Option<f64>>)>,
}

impl Prediction {
    pub fn rows(&self) -> usize {
        self.prediction.len()
    }
}

/// The name requests are reported under in (unexpected) prediction errors.
const SOURCE: &str = "request";

/// Builds the input frame (one column per model input) for `batch`.
pub fn frame(schema: &Schema, batch: Batch) -> Result<DataFrame, String> {
    let columns: Vec<Column> = schema
        .inputs
        .iter()
        .zip(batch.columns)
        .map(|(input, cells)| match cells {
            Cells::Num(v) => Column::new(input.name.as_str().into(), v),
            Cells::Text(v) => Column::new(input.name.as_str().into(), v),
        })
        .collect();
    DataFrame::new(batch.rows, columns).map_err(|e| e.to_string())
}

/// Predicts every row of `batch`.
pub fn predict(artifact: &Artifact, schema: &Schema, batch: Batch) -> Result<Prediction, String> {
    let df = frame(schema, batch)?;
    let out = artifact
        .predict_frame(&df, Path::new(SOURCE))
        .map_err(|e| e.to_string())?;
    read_output(&out, schema)
}

fn read_output(out: &DataFrame, schema: &Schema) -> Result<Prediction, String> {
    let col = out
        .column("prediction")
        .map_err(|_| "the model gave no prediction column".to_string())?;
    let err = |e: PolarsError| e.to_string();
    let prediction = match col.dtype() {
        DataType::String => Predicted::Text(
            col.str()
                .map_err(err)?
                .iter()
                .map(|v| v.map(str::to_string))
                .collect(),
        ),
        DataType::Boolean => Predicted::Bool(col.bool().map_err(err)?.iter().collect()),
        d if d.is_integer() => Predicted::Int(
            col.cast(&DataType::Int64)
                .map_err(err)?
                .i64()
                .map_err(err)?
                .iter()
                .collect(),
        ),
        _ => Predicted::Float(
            col.cast(&DataType::Float64)
                .map_err(err)?
                .f64()
                .map_err(err)?
                .iter()
                .collect(),
        ),
    };
    let mut proba = Vec::new();
    for label in schema.labels.iter().flatten() {
        let name = format!("proba_{label}");
        let values: Vec<Option<f64>> = out
            .column(&name)
            .map_err(|_| format!("the model gave no {name} column"))?
            .f64()
            .map_err(err)?
            .iter()
            .collect();
        proba.push((name, values));
    }
    Ok(Prediction { prediction, proba })
}

/// `{"name", "shape": [n], "datatype", "data"}` for one output.
pub struct V2Output<'a> {
    pub name: &'a str,
    pub data: V2Data<'a>,
    /// Sent after the JSON header as binary tensor data, its size in
    /// `parameters.binary_data_size`, instead of in `data`.
    pub binary: bool,
}

impl V2Output<'_> {
    /// The output's binary tensor data (FP64 little-endian, or BYTES with
    /// 4-byte length prefixes).
    pub fn put_binary(&self, out: &mut Vec<u8>) {
        match &self.data {
            V2Data::Numbers(v) => binary::put_numbers(out, v),
            V2Data::Labels(p) => binary::put_strings(out, label_strings(p)),
        }
    }

    /// The byte count `put_binary` writes, for the JSON header that
    /// precedes the bytes.
    fn binary_size(&self) -> usize {
        match &self.data {
            V2Data::Numbers(v) => v.len() * 8,
            V2Data::Labels(p) => label_strings(p).map(|s| 4 + s.map_or(0, |s| s.len())).sum(),
        }
    }
}

/// Class labels as text, as the JSON answer writes them.
fn label_strings(p: &Predicted) -> Box<dyn Iterator<Item = Option<String>> + '_> {
    match p {
        Predicted::Text(v) => Box::new(v.iter().cloned()),
        Predicted::Int(v) => Box::new(v.iter().map(|x| x.map(|i| i.to_string()))),
        Predicted::Bool(v) => Box::new(v.iter().map(|x| x.map(|b| b.to_string()))),
        Predicted::Float(v) => Box::new(v.iter().map(|x| x.map(|f| f.to_string()))),
    }
}

pub enum V2Data<'a> {
    /// Class labels as text (BYTES).
    Labels(&'a Predicted),
    /// Numbers (FP64).
    Numbers(&'a [Option<f64>]),
}

impl Serialize for V2Output<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (datatype, n) = match &self.data {
            V2Data::Labels(p) => ("BYTES", p.len()),
            V2Data::Numbers(v) => ("FP64", v.len()),
        };
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("name", self.name)?;
        m.serialize_entry("datatype", datatype)?;
        m.serialize_entry("shape", &[n])?;
        if self.binary {
            let size = serde_json::json!({ "binary_data_size": self.binary_size() });
            m.serialize_entry("parameters", &size)?;
            return m.end();
        }
        match &self.data {
            V2Data::Labels(p) => m.serialize_entry("data", &LabelText(p))?,
            V2Data::Numbers(v) => m.serialize_entry("data", v)?,
        }
        m.end()
    }
}

/// Class labels as strings (the v2 BYTES representation).
struct LabelText<'a>(&'a Predicted);

impl Serialize for LabelText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        match self.0 {
            Predicted::Text(v) => v.iter().try_for_each(|x| seq.serialize_element(x))?,
            Predicted::Int(v) => v
                .iter()
                .try_for_each(|x| seq.serialize_element(&x.map(|i| i.to_string())))?,
            Predicted::Bool(v) => v
                .iter()
                .try_for_each(|x| seq.serialize_element(&x.map(|b| b.to_string())))?,
            Predicted::Float(v) => v.iter().try_for_each(|x| seq.serialize_element(x))?,
        }
        seq.end()
    }
}

impl Prediction {
    /// The v2 outputs, all or those named in `only`, binary as `binary`
    /// asks.
    pub fn v2_outputs<'a>(
        &'a self,
        only: Option<&[String]>,
        binary: &BinaryOutputs,
    ) -> Vec<V2Output<'a>> {
        let wanted = |name: &str| only.is_none_or(|o| o.iter().any(|n| n == name));
        let mut out = Vec::new();
        if wanted("prediction") {
            out.push(V2Output {
                name: "prediction",
                data: match &self.prediction {
                    Predicted::Float(v) => V2Data::Numbers(v),
                    p => V2Data::Labels(p),
                },
                binary: binary.is_binary("prediction"),
            });
        }
        for (name, values) in &self.proba {
            if wanted(name) {
                out.push(V2Output {
                    name,
                    data: V2Data::Numbers(values),
                    binary: binary.is_binary(name),
                });
            }
        }
        out
    }
}

/// The MLflow `predictions` list: for a classifier one object per row
/// (`prediction` typed as in the data, then `proba_<label>` per class); for
/// a regression one number per row.
pub struct MlflowPredictions<'a>(pub &'a Prediction);

impl Serialize for MlflowPredictions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let n = p.rows();
        let mut seq = s.serialize_seq(Some(n))?;
        if let (Predicted::Float(v), true) = (&p.prediction, p.proba.is_empty()) {
            for x in v {
                seq.serialize_element(x)?;
            }
            return seq.end();
        }
        for i in 0..n {
            seq.serialize_element(&Row { p, i })?;
        }
        seq.end()
    }
}

struct Row<'a> {
    p: &'a Prediction,
    i: usize,
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Row { p, i } = *self;
        let mut m = s.serialize_map(Some(1 + p.proba.len()))?;
        match &p.prediction {
            Predicted::Text(v) => m.serialize_entry("prediction", &v[i])?,
            Predicted::Int(v) => m.serialize_entry("prediction", &v[i])?,
            Predicted::Bool(v) => m.serialize_entry("prediction", &v[i])?,
            Predicted::Float(v) => m.serialize_entry("prediction", &v[i])?,
        }
        for (name, values) in &p.proba {
            m.serialize_entry(name, &values[i])?;
        }
        m.end()
    }
}
