//! What a request must hold: the model's input columns (exactly the columns
//! `signature.json` lists, all required) and the outputs it answers with, in
//! the vocabulary of the Open Inference Protocol (KServe v2).

use std::collections::HashMap;

use anneal_data::preprocess::ValueType;
use anneal_data::{FeatureSpec, Preprocessor, TargetSpec};

/// How a column's cells are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Numbers (JSON numbers, booleans as 0/1, or text that parses as a
    /// number); `null` or `""` is a missing value, imputed as fitted.
    Numeric,
    /// Text (JSON strings; numbers and booleans are read as their JSON
    /// text); `null` or `""` is a missing value; a category never seen in
    /// training goes to the unknown slot.
    Categorical,
}

impl Kind {
    /// The KServe v2 datatype the column is described with.
    pub fn datatype(self) -> &'static str {
        match self {
            Kind::Numeric => "FP64",
            Kind::Categorical => "BYTES",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Numeric => "numeric",
            Kind::Categorical => "categorical",
        }
    }
}

/// One input column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    pub kind: Kind,
    /// The column's type in the training data (MLflow vocabulary: string,
    /// long, double, boolean).
    pub source_type: ValueType,
}

/// One output tensor / column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub name: String,
    /// `BYTES` (class labels) or `FP64`.
    pub datatype: &'static str,
}

/// The request contract of one model.
#[derive(Debug, Clone)]
pub struct Schema {
    pub inputs: Vec<Input>,
    pub outputs: Vec<Output>,
    /// Class labels in output order; `None` for regression.
    pub labels: Option<Vec<String>>,
    index: HashMap<String, usize>,
}

impl Schema {
    /// The schema of a fitted preprocessing: one required input per feature
    /// column (what `signature.json` lists), `prediction` and, for
    /// classification, `proba_<label>` per class.
    pub fn of(p: &Preprocessor) -> Schema {
        let inputs: Vec<Input> = p
            .features
            .iter()
            .map(|f| Input {
                name: f.column().to_string(),
                kind: match f {
                    FeatureSpec::Numeric { .. } => Kind::Numeric,
                    FeatureSpec::Categorical { .. } => Kind::Categorical,
                },
                source_type: f.source_type(),
            })
            .collect();
        let (outputs, labels) = match &p.target {
            TargetSpec::Classes { labels, .. } => {
                let mut o = vec![Output {
                    name: "prediction".into(),
                    datatype: "BYTES",
                }];
                o.extend(labels.iter().map(|l| Output {
                    name: format!("proba_{l}"),
                    datatype: "FP64",
                }));
                (o, Some(labels.clone()))
            }
            TargetSpec::Regression { .. } => (
                vec![Output {
                    name: "prediction".into(),
                    datatype: "FP64",
                }],
                None,
            ),
        };
        Schema::new(inputs, outputs, labels)
    }

    pub fn new(inputs: Vec<Input>, outputs: Vec<Output>, labels: Option<Vec<String>>) -> Schema {
        let index = inputs
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        Schema {
            inputs,
            outputs,
            labels,
            index,
        }
    }

    /// A two-input schema (numeric `age`, categorical `sex`; labels `a`)
    /// shared by the request parsers' tests, their soak test and the fuzz
    /// target.
    #[doc(hidden)]
    pub fn example() -> Schema {
        Schema::new(
            vec![
                Input {
                    name: "age".into(),
                    kind: Kind::Numeric,
                    source_type: ValueType::Double,
                },
                Input {
                    name: "sex".into(),
                    kind: Kind::Categorical,
                    source_type: ValueType::String,
                },
            ],
            vec![
                Output {
                    name: "prediction".into(),
                    datatype: "BYTES",
                },
                Output {
                    name: "proba_a".into(),
                    datatype: "FP64",
                },
            ],
            Some(vec!["a".into()]),
        )
    }

    /// Position of the input column `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The input names, comma-separated, for messages.
    pub fn input_list(&self) -> String {
        self.inputs
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// MLflow's name of a value type (`signature.json` vocabulary).
pub fn mlflow_type(t: ValueType) -> &'static str {
    match t {
        ValueType::String => "string",
        ValueType::Long => "long",
        ValueType::Double => "double",
        ValueType::Boolean => "boolean",
    }
}
