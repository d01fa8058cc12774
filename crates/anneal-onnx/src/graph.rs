//! A small builder of ONNX graphs: nodes in the order they are added,
//! initializers (constants) in the order they are made, and every internal
//! name drawn from one counter, so the same model always gives the same
//! graph, byte for byte.

use crate::proto::{
    AttributeProto, Dimension, GraphProto, NodeProto, TensorProto, TensorShapeProto,
    TensorTypeProto, TypeProto, ValueInfoProto, attr_type, dtype,
};

/// Every internal value and node name starts with this, so none collides
/// with an input (a column name) or an output.
pub const INTERNAL: &str = "anneal/";

/// The ONNX-ML operator domain.
pub const ML: &str = "ai.onnx.ml";

/// A node attribute.
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

#[derive(Default)]
pub struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    next: usize,
}

impl Graph {
    fn fresh(&mut self, hint: &str) -> String {
        self.next += 1;
        format!("{INTERNAL}{hint}_{}", self.next)
    }

    /// Adds a default-domain node with one output and returns its name.
    pub fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>) -> String {
        let out = self.fresh(&op.to_ascii_lowercase());
        self.node("", op, inputs, attrs, &out);
        out
    }

    /// Adds an ONNX-ML node with one output and returns its name.
    pub fn ml_op(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>) -> String {
        let out = self.fresh(&op.to_ascii_lowercase());
        self.node(ML, op, inputs, attrs, &out);
        out
    }

    /// Adds a node writing the value named `out` (a graph output).
    pub fn node(
        &mut self,
        domain: &str,
        op: &str,
        inputs: &[&str],
        attrs: Vec<(&str, Attr)>,
        out: &str,
    ) {
        let name = self.fresh("node");
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.to_string()],
            name,
            op_type: op.to_string(),
            attribute: attrs.into_iter().map(|(n, a)| attribute(n, a)).collect(),
            domain: domain.to_string(),
        });
    }

    fn constant(&mut self, hint: &str, data_type: i32, dims: &[usize]) -> TensorProto {
        TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type,
            string_data: Vec::new(),
            name: self.fresh(hint),
            raw_data: Vec::new(),
        }
    }

    fn push(&mut self, t: TensorProto) -> String {
        let name = t.name.clone();
        self.initializers.push(t);
        name
    }

    /// A float constant of shape `dims` (little-endian raw data).
    pub fn f32s(&mut self, hint: &str, dims: &[usize], values: &[f32]) -> String {
        let mut t = self.constant(hint, dtype::FLOAT, dims);
        t.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(t)
    }

    pub fn f64s(&mut self, hint: &str, dims: &[usize], values: &[f64]) -> String {
        let mut t = self.constant(hint, dtype::DOUBLE, dims);
        t.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(t)
    }

    pub fn i64s(&mut self, hint: &str, dims: &[usize], values: &[i64]) -> String {
        let mut t = self.constant(hint, dtype::INT64, dims);
        t.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(t)
    }

    pub fn bools(&mut self, hint: &str, dims: &[usize], values: &[bool]) -> String {
        let mut t = self.constant(hint, dtype::BOOL, dims);
        t.raw_data = values.iter().map(|&b| u8::from(b)).collect();
        self.push(t)
    }

    pub fn strings(&mut self, hint: &str, dims: &[usize], values: &[String]) -> String {
        let mut t = self.constant(hint, dtype::STRING, dims);
        t.string_data = values.iter().map(|s| s.as_bytes().to_vec()).collect();
        self.push(t)
    }

    /// The finished graph.
    pub fn finish(
        self,
        name: &str,
        inputs: Vec<ValueInfoProto>,
        outputs: Vec<ValueInfoProto>,
    ) -> GraphProto {
        GraphProto {
            node: self.nodes,
            name: name.to_string(),
            initializer: self.initializers,
            doc_string: String::new(),
            input: inputs,
            output: outputs,
        }
    }
}

fn attribute(name: &str, a: Attr) -> AttributeProto {
    let mut p = AttributeProto {
        name: name.to_string(),
        ..Default::default()
    };
    match a {
        Attr::Int(i) => (p.i, p.r#type) = (Some(i), attr_type::INT),
        Attr::Ints(v) => (p.ints, p.r#type) = (v, attr_type::INTS),
        Attr::Strings(v) => {
            p.strings = v.into_iter().map(String::into_bytes).collect();
            p.r#type = attr_type::STRINGS;
        }
    }
    p
}

/// One dimension of a declared shape: a number or a symbolic name.
pub enum Dim {
    Fixed(usize),
    Named(&'static str),
}

/// A graph input or output: a tensor of `elem_type` and `dims`.
pub fn value_info(name: &str, elem_type: i32, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => Dimension {
                dim_value: Some(*n as i64),
                dim_param: None,
            },
            Dim::Named(s) => Dimension {
                dim_value: None,
                dim_param: Some(s.to_string()),
            },
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
    }
}
