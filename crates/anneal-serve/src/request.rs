//! Reading and validating request bodies against the model's schema, before
//! anything is predicted. Every refusal is one message naming the input or
//! column and, for a bad value, the row (1-based, in request order).

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::schema::{Input, Kind, Schema};

/// A request refused before prediction (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
    fn new(message: impl Into<String>) -> Invalid {
        Invalid(message.into())
    }
}

type Result<T> = std::result::Result<T, Invalid>;

/// The host values of one input column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    Num(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

/// A validated request: one column per schema input, in schema order, all
/// `rows` long.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub rows: usize,
    pub columns: Vec<Cells>,
}

/// What a v2 inference request asks besides its inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct V2Request {
    /// Echoed in the response.
    pub id: Option<Value>,
    /// The outputs asked for (`outputs: [{"name": ...}]`); all when `None`.
    pub outputs: Option<Vec<String>>,
    /// Which outputs are answered as binary tensor data.
    pub binary: BinaryOutputs,
    pub batch: Batch,
}

/// The binary tensor data extension's output choices: the request's
/// `parameters.binary_data_output`, overridden per output by its own
/// `parameters.binary_data`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BinaryOutputs {
    pub all: bool,
    pub named: Vec<(String, bool)>,
}

impl BinaryOutputs {
    pub fn is_binary(&self, output: &str) -> bool {
        self.named
            .iter()
            .find(|(n, _)| n == output)
            .map_or(self.all, |(_, b)| *b)
    }

    pub fn any(&self) -> bool {
        self.all || self.named.iter().any(|(_, b)| *b)
    }
}

/// Parses a body as one JSON object.
fn parse_object(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Invalid::new(
            "the request body is empty: expected a JSON object",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(Invalid(format!(
            "the request body must be a JSON object, not {}",
            kind_of(&other)
        ))),
        Err(e) => Err(Invalid(format!("malformed JSON: {e}"))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn missing_column(schema: &Schema, name: &str) -> Invalid {
    Invalid(format!(
        "missing required column {name:?} (the model's inputs are: {})",
        schema.input_list()
    ))
}

/// Where each of the model's inputs is among the request's column `names`
/// (extra columns are ignored); a repeated name is an error worded by
/// `twice`, a missing input an error naming it.
fn column_positions<'a>(
    names: impl Iterator<Item = &'a str>,
    schema: &Schema,
    twice: impl Fn(&str) -> String,
) -> Result<Vec<usize>> {
    let mut seen = HashSet::new();
    let mut position: Vec<Option<usize>> = vec![None; schema.inputs.len()];
    for (j, name) in names.enumerate() {
        if !seen.insert(name) {
            return Err(Invalid(twice(name)));
        }
        if let Some(pos) = schema.position(name) {
            position[pos] = Some(j);
        }
    }
    schema
        .inputs
        .iter()
        .zip(&position)
        .map(|(input, p)| p.ok_or_else(|| missing_column(schema, &input.name)))
        .collect()
}

fn check_rows(rows: usize, max_rows: usize) -> Result<()> {
    if rows == 0 {
        return Err(Invalid::new("the request has no rows"));
    }
    if rows > max_rows {
        return Err(Invalid(format!(
            "the request has {rows} rows, more than the limit of {max_rows} (--max-rows)"
        )));
    }
    Ok(())
}

/// The v2 datatypes (Open Inference Protocol, "Tensor Data Types").
const NUMERIC_DATATYPES: [&str; 12] = [
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16",
    "FP32", "FP64",
];

fn check_datatype(input: &Input, datatype: &str) -> Result<()> {
    let numeric = NUMERIC_DATATYPES.contains(&datatype);
    let ok = match input.kind {
        Kind::Numeric => numeric,
        // Categories may be numbers in the data (pclass = 1, 2, 3): any
        // datatype is read as text.
        Kind::Categorical => numeric || datatype == "BYTES",
    };
    if ok {
        return Ok(());
    }
    if !numeric && datatype != "BYTES" {
        return Err(Invalid(format!(
            "input {:?}: {datatype:?} is not a v2 datatype (BOOL, INT8..INT64, UINT8..UINT64, FP16, FP32, FP64, BYTES)",
            input.name
        )));
    }
    Err(Invalid(format!(
        "input {:?} has datatype {datatype}, but the column is {}: use {}",
        input.name,
        input.kind.name(),
        input.kind.datatype()
    )))
}

/// Flattens (row-major) nested data arrays into `out`, keeping at most
/// `limit` values (the shape's count: more is an error, and the buffer is
/// never grown past what the limits allow); returns how many there are.
/// Recursion is bounded by serde_json's nesting limit (128).
fn flatten<'a>(data: &'a [Value], limit: usize, out: &mut Vec<&'a Value>) -> usize {
    let mut count = 0;
    for v in data {
        match v {
            Value::Array(inner) => count += flatten(inner, limit.saturating_sub(count), out),
            other => {
                if count < limit {
                    out.push(other);
                }
                count += 1;
            }
        }
    }
    count
}

/// The row count a v2 `shape` declares, checked against `max_rows` before
/// anything is sized from it. The product of all dimensions is computed
/// with overflow checks, so `[2^60, 2^60]` is refused as too large rather
/// than wrapping to a small number.
pub(crate) fn shape_rows(name: &str, shape: &[u64], max_rows: usize) -> Result<usize> {
    let elements = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
    let too_many = |n: String| {
        Invalid(format!(
            "input {name:?}: \"shape\" declares {n} values, more than the limit of {max_rows} rows (--max-rows)"
        ))
    };
    let Some(elements) = elements else {
        return Err(too_many(format!("more than {}", u64::MAX)));
    };
    let n = match shape {
        [n] | [n, 1] => *n,
        _ => {
            return Err(Invalid(format!(
                "input {name:?} has shape {shape:?}: expected [rows] or [rows, 1]"
            )));
        }
    };
    match usize::try_from(n) {
        Ok(rows) if rows <= max_rows => Ok(rows),
        _ => Err(too_many(elements.to_string())),
    }
}

/// Reads a v2 inference request: `{"id"?, "inputs": [{"name", "shape",
/// "datatype", "data"}], "outputs"?: [{"name"}]}`.
pub fn parse_v2(body: &[u8], schema: &Schema, max_rows: usize) -> Result<V2Request> {
    parse_v2_object(parse_object(body)?, schema, max_rows)
}

/// Reads a v2 request sent with the binary tensor data extension: the first
/// `header_len` bytes are the JSON header, the rest the tensors' bytes.
pub fn parse_v2_binary(
    body: &[u8],
    header_len: usize,
    schema: &Schema,
    max_rows: usize,
) -> Result<V2Request> {
    let Some((header, tail)) = body.split_at_checked(header_len) else {
        return Err(Invalid(format!(
            "Inference-Header-Content-Length is {header_len}, but the body has only {} bytes",
            body.len()
        )));
    };
    let mut obj = parse_object(header)?;
    crate::binary::attach(&mut obj, tail, schema, max_rows)?;
    parse_v2_object(obj, schema, max_rows)
}

/// The request's `parameters.binary_data_output` flag.
fn binary_default(obj: &Map<String, Value>) -> bool {
    obj.get("parameters")
        .and_then(|p| p.get("binary_data_output"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// A parsed V2 request object, step by step: the outputs asked for, the
/// tensor given for each model input, each tensor's values, then the
/// values converted to the batch.
fn parse_v2_object(
    mut obj: Map<String, Value>,
    schema: &Schema,
    max_rows: usize,
) -> Result<V2Request> {
    let id = obj.remove("id");
    let mut binary = BinaryOutputs {
        all: binary_default(&obj),
        named: Vec::new(),
    };
    let outputs = requested_outputs(&obj, schema, &mut binary)?;
    let given = tensors_by_input(&obj, schema)?;
    let mut columns: Vec<Vec<&Value>> = Vec::with_capacity(schema.inputs.len());
    let mut first: Option<(&str, usize)> = None;
    for (input, tensor) in schema.inputs.iter().zip(&given) {
        let Some(t) = tensor else {
            return Err(missing_column(schema, &input.name));
        };
        let name = input.name.as_str();
        let (values, rows) = tensor_values(input, t, max_rows)?;
        match first {
            None => first = Some((name, rows)),
            Some((other, n)) if n != rows => {
                return Err(Invalid(format!(
                    "column {name:?} has {rows} rows, but column {other:?} has {n}"
                )));
            }
            Some(_) => {}
        }
        columns.push(values);
    }
    let rows = first.map_or(0, |(_, n)| n);
    check_rows(rows, max_rows)?;
    let columns = schema
        .inputs
        .iter()
        .zip(&columns)
        .map(|(input, values)| convert(input, values))
        .collect::<Result<Vec<Cells>>>()?;
    Ok(V2Request {
        id,
        outputs,
        binary,
        batch: Batch { rows, columns },
    })
}

/// The request's `"outputs"`: the names asked for (`None`: all), each a
/// model output, with any per-output `binary_data` flag added to `binary`.
fn requested_outputs(
    obj: &Map<String, Value>,
    schema: &Schema,
    binary: &mut BinaryOutputs,
) -> Result<Option<Vec<String>>> {
    let list = match obj.get("outputs") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(Invalid::new(
                "\"outputs\" must be an array of {\"name\": ...} objects",
            ));
        }
    };
    let mut names = Vec::with_capacity(list.len());
    for (i, o) in list.iter().enumerate() {
        let flag = o
            .get("parameters")
            .and_then(|p| p.get("binary_data"))
            .and_then(Value::as_bool);
        let Some(name) = o.get("name").and_then(Value::as_str) else {
            return Err(Invalid(format!(
                "output {} of \"outputs\" has no \"name\"",
                i + 1
            )));
        };
        if !schema.outputs.iter().any(|s| s.name == name) {
            return Err(Invalid(format!(
                "unknown output {name:?} (the model's outputs are: {})",
                schema
                    .outputs
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if let Some(flag) = flag {
            binary.named.push((name.to_string(), flag));
        }
        names.push(name.to_string());
    }
    Ok(Some(names))
}

/// The tensor of `"inputs"` given for each schema column (`None` where
/// none is); every tensor must be a named object, no name twice. Inputs
/// the model does not use are ignored.
fn tensors_by_input<'a>(
    obj: &'a Map<String, Value>,
    schema: &Schema,
) -> Result<Vec<Option<&'a Map<String, Value>>>> {
    let inputs = match obj.get("inputs") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(Invalid::new("\"inputs\" must be an array of tensors")),
        None => return Err(Invalid::new("the request has no \"inputs\"")),
    };
    if inputs.is_empty() {
        return Err(Invalid::new("the request has no inputs"));
    }
    let mut given: Vec<Option<&Map<String, Value>>> = vec![None; schema.inputs.len()];
    let mut seen = HashSet::new();
    for (i, t) in inputs.iter().enumerate() {
        let Value::Object(t) = t else {
            return Err(Invalid(format!("input {} is not an object", i + 1)));
        };
        let Some(name) = t.get("name").and_then(Value::as_str) else {
            return Err(Invalid(format!("input {} has no \"name\"", i + 1)));
        };
        if !seen.insert(name) {
            return Err(Invalid(format!("input {name:?} is given twice")));
        }
        if let Some(pos) = schema.position(name) {
            given[pos] = Some(t);
        }
    }
    Ok(given)
}

/// One input tensor's flattened values and its row count: its datatype
/// must fit the column, its shape give at most `max_rows` rows (checked
/// before anything is sized by it), its data hold exactly that many values.
fn tensor_values<'a>(
    input: &Input,
    t: &'a Map<String, Value>,
    max_rows: usize,
) -> Result<(Vec<&'a Value>, usize)> {
    let name = &input.name;
    let datatype = match t.get("datatype") {
        Some(Value::String(d)) => d.as_str(),
        _ => return Err(Invalid(format!("input {name:?} has no \"datatype\""))),
    };
    check_datatype(input, datatype)?;
    let shape: Vec<u64> = match t.get("shape") {
        Some(Value::Array(s)) => s
            .iter()
            .map(Value::as_u64)
            .collect::<Option<Vec<u64>>>()
            .ok_or_else(|| {
                Invalid(format!(
                    "input {name:?}: \"shape\" must be a list of non-negative integers"
                ))
            })?,
        _ => return Err(Invalid(format!("input {name:?} has no \"shape\""))),
    };
    let rows = shape_rows(name, &shape, max_rows)?;
    let data = match t.get("data") {
        Some(Value::Array(d)) => d,
        Some(_) => {
            return Err(Invalid(format!(
                "input {name:?}: \"data\" must be an array"
            )));
        }
        None => return Err(Invalid(format!("input {name:?} has no \"data\""))),
    };
    // `rows` is at most max_rows here, so it may size the buffer.
    let mut values = Vec::with_capacity(rows);
    let count = flatten(data, rows, &mut values);
    if count != rows {
        return Err(Invalid(format!(
            "input {name:?}: shape {shape:?} needs {rows} values, \"data\" has {count}"
        )));
    }
    Ok((values, rows))
}

/// Reads an MLflow scoring-server request: `{"dataframe_split": {"columns",
/// "data"}}` or `{"dataframe_records": [{...}]}`.
pub fn parse_invocations(body: &[u8], schema: &Schema, max_rows: usize) -> Result<Batch> {
    let obj = parse_object(body)?;
    let split = obj.get("dataframe_split");
    let records = obj.get("dataframe_records");
    match (split, records) {
        (Some(_), Some(_)) => Err(Invalid::new(
            "the request holds both \"dataframe_split\" and \"dataframe_records\": send one",
        )),
        (Some(s), None) => parse_split(s, schema, max_rows),
        (None, Some(r)) => parse_records(r, schema, max_rows),
        (None, None) => {
            let keys: Vec<String> = obj.keys().map(|k| format!("{k:?}")).collect();
            Err(Invalid(format!(
                "the request must hold \"dataframe_split\" or \"dataframe_records\" (found: {})",
                if keys.is_empty() {
                    "no keys".to_string()
                } else {
                    keys.join(", ")
                }
            )))
        }
    }
}

/// Reads a `text/csv` body for `/invocations` (what MLflow's scoring
/// server accepts): a header line of column names, then one line per row;
/// fields may be quoted (RFC 4180, `""` inside quotes is a quote). An empty
/// field is a missing value. Rows are counted as they are read, so a body
/// with more than `max_rows` rows is refused before it is all split.
pub fn parse_csv(body: &[u8], schema: &Schema, max_rows: usize) -> Result<Batch> {
    let text = std::str::from_utf8(body).map_err(|e| {
        Invalid(format!(
            "the CSV body is not UTF-8 (byte {})",
            e.valid_up_to()
        ))
    })?;
    let mut records = CsvRecords {
        rest: text,
        line: 0,
        next_line: 1,
    };
    let header = match records.next_record()? {
        Some(h) if !(h.len() == 1 && h[0].is_empty()) => h,
        _ => {
            return Err(Invalid::new(
                "the CSV body is empty: expected a header line",
            ));
        }
    };
    let position = column_positions(header.iter().map(String::as_str), schema, |name| {
        format!("column {:?} appears twice in the CSV header", shorten(name))
    })?;
    let mut table: Vec<Vec<String>> = Vec::new();
    while let Some(fields) = records.next_record()? {
        // A blank line (often the last one) is not a row.
        if fields.len() == 1 && fields[0].is_empty() {
            continue;
        }
        if fields.len() != header.len() {
            return Err(Invalid(format!(
                "CSV line {} has {}, but the header names {}",
                records.line,
                plural(fields.len(), "field"),
                plural(header.len(), "column")
            )));
        }
        if table.len() == max_rows {
            return Err(Invalid(format!(
                "the request has more than {max_rows} rows, the limit (--max-rows)"
            )));
        }
        table.push(fields);
    }
    check_rows(table.len(), max_rows)?;
    let columns = schema
        .inputs
        .iter()
        .zip(&position)
        .map(|(input, &j)| {
            let cells: Vec<Value> = table.iter().map(|r| Value::String(r[j].clone())).collect();
            let values: Vec<&Value> = cells.iter().collect();
            convert(input, &values)
        })
        .collect::<Result<Vec<Cells>>>()?;
    Ok(Batch {
        rows: table.len(),
        columns,
    })
}

/// Splits CSV text into records, one at a time.
struct CsvRecords<'a> {
    rest: &'a str,
    /// The (1-based) line the last record started on.
    line: usize,
    /// The line the next record starts on (quoted fields may hold line
    /// breaks).
    next_line: usize,
}

impl CsvRecords<'_> {
    fn next_record(&mut self) -> Result<Option<Vec<String>>> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        self.line = self.next_line;
        self.next_line += 1;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = self.rest.char_indices().peekable();
        let mut quoted = false;
        let mut at_field_start = true;
        while let Some((i, c)) = chars.next() {
            match c {
                '"' if quoted => {
                    if chars.peek().is_some_and(|&(_, n)| n == '"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                '"' if at_field_start => quoted = true,
                '\n' if quoted => {
                    self.next_line += 1;
                    field.push(c);
                }
                ',' if !quoted => {
                    fields.push(std::mem::take(&mut field));
                    at_field_start = true;
                    continue;
                }
                '\n' => {
                    self.rest = &self.rest[i + 1..];
                    fields.push(end_field(field));
                    return Ok(Some(fields));
                }
                _ => field.push(c),
            }
            at_field_start = false;
        }
        if quoted {
            return Err(Invalid(format!(
                "CSV line {}: a quoted field is not closed",
                self.line
            )));
        }
        self.rest = "";
        fields.push(end_field(field));
        Ok(Some(fields))
    }
}

/// A field at the end of a line, without the `\r` of a CRLF line end.
fn end_field(mut field: String) -> String {
    if field.ends_with('\r') {
        field.pop();
    }
    field
}

fn parse_split(split: &Value, schema: &Schema, max_rows: usize) -> Result<Batch> {
    let Value::Object(split) = split else {
        return Err(Invalid::new(
            "\"dataframe_split\" must be an object with \"columns\" and \"data\"",
        ));
    };
    let names: Vec<&str> = match split.get("columns") {
        Some(Value::Array(c)) => c
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()
            .ok_or_else(|| {
                Invalid::new("\"dataframe_split\": \"columns\" must be a list of column names")
            })?,
        _ => {
            return Err(Invalid::new("\"dataframe_split\" has no \"columns\" list"));
        }
    };
    let rows = match split.get("data") {
        Some(Value::Array(d)) => d,
        _ => return Err(Invalid::new("\"dataframe_split\" has no \"data\" list")),
    };
    let position = column_positions(names.iter().copied(), schema, |name| {
        format!("column {name:?} appears twice in \"columns\"")
    })?;
    check_rows(rows.len(), max_rows)?;
    let mut table: Vec<&Vec<Value>> = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        match row {
            Value::Array(cells) if cells.len() == names.len() => table.push(cells),
            Value::Array(cells) => {
                return Err(Invalid(format!(
                    "row {} has {}, but \"columns\" names {}",
                    i + 1,
                    plural(cells.len(), "value"),
                    plural(names.len(), "column")
                )));
            }
            other => {
                return Err(Invalid(format!(
                    "row {} of \"data\" is {}, not a list of values",
                    i + 1,
                    kind_of(other)
                )));
            }
        }
    }
    let columns = schema
        .inputs
        .iter()
        .zip(&position)
        .map(|(input, &j)| {
            let values: Vec<&Value> = table.iter().map(|r| &r[j]).collect();
            convert(input, &values)
        })
        .collect::<Result<Vec<Cells>>>()?;
    Ok(Batch {
        rows: table.len(),
        columns,
    })
}

fn parse_records(records: &Value, schema: &Schema, max_rows: usize) -> Result<Batch> {
    let Value::Array(records) = records else {
        return Err(Invalid::new(
            "\"dataframe_records\" must be a list of objects",
        ));
    };
    check_rows(records.len(), max_rows)?;
    let mut table: Vec<&Map<String, Value>> = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        match r {
            Value::Object(m) => table.push(m),
            other => {
                return Err(Invalid(format!(
                    "record {} is {}, not an object",
                    i + 1,
                    kind_of(other)
                )));
            }
        }
    }
    // A column no record names is missing; one that some records lack is
    // an error naming the first such row (null is the missing value).
    for input in &schema.inputs {
        if !table.iter().any(|r| r.contains_key(&input.name)) {
            return Err(missing_column(schema, &input.name));
        }
    }
    let columns = schema
        .inputs
        .iter()
        .map(|input| {
            let mut values = Vec::with_capacity(table.len());
            for (i, r) in table.iter().enumerate() {
                match r.get(&input.name) {
                    Some(v) => values.push(v),
                    None => {
                        return Err(Invalid(format!(
                            "column {:?}, row {}: no value (send null for a missing value)",
                            input.name,
                            i + 1
                        )));
                    }
                }
            }
            convert(input, &values)
        })
        .collect::<Result<Vec<Cells>>>()?;
    Ok(Batch {
        rows: table.len(),
        columns,
    })
}

/// Reads one column's cells.
fn convert(input: &Input, values: &[&Value]) -> Result<Cells> {
    let bad = |row: usize, what: String| {
        Invalid(format!("column {:?}, row {}: {what}", input.name, row + 1))
    };
    match input.kind {
        Kind::Numeric => {
            let mut out = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                out.push(match v {
                    Value::Null => None,
                    Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
                    Value::Number(n) => match n.as_f64() {
                        Some(x) if x.is_finite() => Some(in_f32_range(x).map_err(|m| bad(i, m))?),
                        _ => return Err(bad(i, format!("{n} is not a finite number"))),
                    },
                    Value::String(s) if s.is_empty() => None,
                    Value::String(s) => match s.trim().parse::<f64>() {
                        Ok(x) if x.is_finite() => Some(in_f32_range(x).map_err(|m| bad(i, m))?),
                        Ok(_) => {
                            return Err(bad(i, format!("{:?} is not a finite number", shorten(s))));
                        }
                        Err(_) => return Err(bad(i, format!("{:?} is not a number", shorten(s)))),
                    },
                    other => return Err(bad(i, format!("{} is not a number", kind_of(other)))),
                });
            }
            Ok(Cells::Num(out))
        }
        Kind::Categorical => {
            let mut out = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                out.push(match v {
                    Value::Null => None,
                    Value::String(s) if s.is_empty() => None,
                    Value::String(s) => Some(s.clone()),
                    Value::Bool(b) => Some(b.to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    other => {
                        return Err(bad(
                            i,
                            format!("{} is not a category (expected a string)", kind_of(other)),
                        ));
                    }
                });
            }
            Ok(Cells::Text(out))
        }
    }
}

/// The model computes in 32-bit floats: a finite value beyond f32's range
/// would become infinite there (and the answer null), so it is refused
/// here, where the column and row can still be named.
fn in_f32_range(x: f64) -> std::result::Result<f64, String> {
    if x.abs() <= f64::from(f32::MAX) {
        Ok(x)
    } else {
        Err(format!(
            "{x:e} is outside the range of the model's 32-bit floats (±{:e})",
            f32::MAX
        ))
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Long values are cut in messages so one error stays one line.
fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}… ({} characters)", s.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::example()
    }

    fn v2(body: &str) -> Result<V2Request> {
        parse_v2(body.as_bytes(), &schema(), 10)
    }

    fn inv(body: &str) -> Result<Batch> {
        parse_invocations(body.as_bytes(), &schema(), 10)
    }

    fn err(r: Result<impl std::fmt::Debug>) -> String {
        r.expect_err("an error").0
    }

    #[test]
    fn v2_reads_columns_and_ignores_extras() {
        let r = v2(r#"{"id": "x", "inputs": [
            {"name": "sex", "shape": [3, 1], "datatype": "BYTES", "data": [["m"], [""], [null]]},
            {"name": "extra", "shape": [1], "datatype": "BYTES", "data": ["?"]},
            {"name": "age", "shape": [3], "datatype": "FP64", "data": [1.5, null, "2"]}]}"#)
        .unwrap();
        assert_eq!(r.id, Some(Value::String("x".into())));
        assert_eq!(r.batch.rows, 3);
        assert_eq!(
            r.batch.columns,
            vec![
                Cells::Num(vec![Some(1.5), None, Some(2.0)]),
                Cells::Text(vec![Some("m".into()), None, None]),
            ]
        );
    }

    #[test]
    fn v2_errors() {
        let age = r#"{"name": "age", "shape": [2], "datatype": "FP64", "data": [1, 2]}"#;
        assert_eq!(
            err(v2(&format!(r#"{{"inputs": [{age}]}}"#))),
            "missing required column \"sex\" (the model's inputs are: age, sex)"
        );
        assert_eq!(
            err(v2(&format!(
                r#"{{"inputs": [{age}, {{"name": "sex", "shape": [3], "datatype": "BYTES", "data": ["a", "b", "c"]}}]}}"#
            ))),
            "column \"sex\" has 3 rows, but column \"age\" has 2"
        );
        assert_eq!(
            err(v2(&format!(
                r#"{{"inputs": [{age}, {{"name": "sex", "shape": [2], "datatype": "BYTES", "data": ["a"]}}]}}"#
            ))),
            "input \"sex\": shape [2] needs 2 values, \"data\" has 1"
        );
        assert_eq!(
            err(v2(
                r#"{"inputs": [{"name": "age", "shape": [1], "datatype": "BYTES", "data": ["1"]}]}"#
            )),
            "input \"age\" has datatype BYTES, but the column is numeric: use FP64"
        );
        assert_eq!(err(v2(r#"{"inputs": []}"#)), "the request has no inputs");
        assert_eq!(
            err(v2("")),
            "the request body is empty: expected a JSON object"
        );
        assert_eq!(
            err(v2("{\"inputs\": [")),
            "malformed JSON: EOF while parsing a list at line 1 column 12"
        );
    }

    #[test]
    fn shape_bombs_are_refused_before_allocating() {
        // 2^45 rows would abort on allocation, 2^60 would overflow the
        // capacity: both are refused by count, naming the input.
        for n in [1u64 << 45, 1 << 60, u64::MAX] {
            let body = format!(
                r#"{{"inputs": [{{"name": "age", "shape": [{n}], "datatype": "FP64", "data": [1]}},
                    {{"name": "sex", "shape": [1], "datatype": "BYTES", "data": ["m"]}}]}}"#
            );
            assert_eq!(
                err(v2(&body)),
                format!(
                    "input \"age\": \"shape\" declares {n} values, more than the limit of 10 rows (--max-rows)"
                )
            );
        }
        let overflow = format!(
            r#"{{"inputs": [{{"name": "age", "shape": [{}, {}], "datatype": "FP64", "data": [1]}}]}}"#,
            1u64 << 40,
            1u64 << 40
        );
        assert_eq!(
            err(v2(&overflow)),
            format!(
                "input \"age\": \"shape\" declares more than {} values, more than the limit of 10 rows (--max-rows)",
                u64::MAX
            )
        );
        // Data longer than the shape is counted, not stored.
        let long = r#"{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [[1], [2, [3]]]}]}"#;
        assert_eq!(
            err(v2(long)),
            "input \"age\": shape [1] needs 1 values, \"data\" has 3"
        );
    }

    #[test]
    fn values_beyond_f32_are_refused() {
        let rec = |age: &str| {
            inv(&format!(
                r#"{{"dataframe_records": [{{"sex": "m", "age": {age}}}]}}"#
            ))
        };
        assert_eq!(
            err(rec("1e300")),
            "column \"age\", row 1: 1e300 is outside the range of the model's 32-bit floats (±3.4028235e38)"
        );
        assert_eq!(
            err(rec("\"-1e39\"")),
            "column \"age\", row 1: -1e39 is outside the range of the model's 32-bit floats (±3.4028235e38)"
        );
        assert!(rec("3.4e38").is_ok());
        assert!(rec("1e-300").is_ok());
    }

    fn csv(body: &str) -> Result<Batch> {
        parse_csv(body.as_bytes(), &schema(), 3)
    }

    #[test]
    fn csv_bodies() {
        let b = csv("x,sex,age\r\n1,\"m, \"\"q\"\"\",3.5\r\n2,,\n\n").unwrap();
        assert_eq!(b.rows, 2);
        assert_eq!(
            b.columns,
            vec![
                Cells::Num(vec![Some(3.5), None]),
                Cells::Text(vec![Some("m, \"q\"".into()), None]),
            ]
        );
        let json = inv(r#"{"dataframe_split": {"columns": ["x", "sex", "age"], "data": [[1, "m, \"q\"", 3.5], [2, null, null]]}}"#).unwrap();
        assert_eq!(b, json, "CSV and JSON read alike");
        assert_eq!(
            err(csv("")),
            "the CSV body is empty: expected a header line"
        );
        assert_eq!(
            err(csv("age\n1\n")),
            "missing required column \"sex\" (the model's inputs are: age, sex)"
        );
        assert_eq!(
            err(csv("age,sex\n1,m\n2\n")),
            "CSV line 3 has 1 field, but the header names 2 columns"
        );
        assert_eq!(
            err(csv("age,sex\n1,\"m\n")),
            "CSV line 2: a quoted field is not closed"
        );
        assert_eq!(err(csv("age,sex\n")), "the request has no rows");
        assert_eq!(
            err(csv("age,sex\n1,m\n1,m\n1,m\n1,m\n")),
            "the request has more than 3 rows, the limit (--max-rows)"
        );
        assert_eq!(
            err(csv("age,sex\nold,m\n")),
            "column \"age\", row 1: \"old\" is not a number"
        );
        assert_eq!(
            err(parse_csv(b"age,sex\n\xff,m\n", &schema(), 3)),
            "the CSV body is not UTF-8 (byte 8)"
        );
    }

    #[test]
    fn invocation_formats_agree() {
        let a = inv(r#"{"dataframe_split": {"columns": ["sex", "age", "x"], "data": [["m", 3, 0], ["f", null, 1]]}}"#)
            .unwrap();
        let b =
            inv(r#"{"dataframe_records": [{"sex": "m", "age": 3}, {"age": null, "sex": "f"}]}"#)
                .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.rows, 2);
    }

    #[test]
    fn value_errors_name_column_and_row() {
        let rec = |age: &str| {
            inv(&format!(
                r#"{{"dataframe_records": [{{"sex": "m", "age": 1}}, {{"sex": "m", "age": 2}}, {{"sex": "m", "age": {age}}}]}}"#
            ))
        };
        assert_eq!(
            err(rec("\"old\"")),
            "column \"age\", row 3: \"old\" is not a number"
        );
        assert_eq!(
            err(rec("\"NaN\"")),
            "column \"age\", row 3: \"NaN\" is not a finite number"
        );
        assert_eq!(
            err(rec("\"-inf\"")),
            "column \"age\", row 3: \"-inf\" is not a finite number"
        );
        assert_eq!(
            err(rec("[1]")),
            "column \"age\", row 3: an array is not a number"
        );
        assert_eq!(
            err(inv(
                r#"{"dataframe_records": [{"sex": "m", "age": 1}, {"sex": "m"}]}"#
            )),
            "column \"age\", row 2: no value (send null for a missing value)"
        );
        assert_eq!(
            err(inv(
                r#"{"dataframe_split": {"columns": ["sex", "age"], "data": [["m", 1], ["f"]]}}"#
            )),
            "row 2 has 1 value, but \"columns\" names 2 columns"
        );
        assert_eq!(
            err(inv(r#"{"dataframe_records": []}"#)),
            "the request has no rows"
        );
        let many = [r#"{"sex": "m", "age": 1}"#; 11].join(",");
        assert_eq!(
            err(inv(&format!(r#"{{"dataframe_records": [{many}]}}"#))),
            "the request has 11 rows, more than the limit of 10 (--max-rows)"
        );
    }

    /// A binary request: the JSON header (its inputs' `binary_data_size`
    /// given), then the tail.
    fn bin(header: &str, tail: &[u8]) -> Result<V2Request> {
        let mut body = header.as_bytes().to_vec();
        body.extend_from_slice(tail);
        parse_v2_binary(&body, header.len(), &schema(), 10)
    }

    fn tensor(name: &str, datatype: &str, shape: &str, size: usize) -> String {
        format!(
            r#"{{"name": "{name}", "datatype": "{datatype}", "shape": {shape}, "parameters": {{"binary_data_size": {size}}}}}"#
        )
    }

    fn strings(values: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for v in values {
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v.as_bytes());
        }
        out
    }

    /// `age` in `datatype` (the bytes given), `sex` as BYTES "m", "f".
    fn age_as(datatype: &str, age: &[u8]) -> Result<V2Request> {
        let sex = strings(&["m", "f"]);
        let header = format!(
            r#"{{"inputs": [{}, {}]}}"#,
            tensor("age", datatype, "[2, 1]", age.len()),
            tensor("sex", "BYTES", "[2]", sex.len())
        );
        bin(&header, &[age, &sex].concat())
    }

    #[test]
    fn binary_reads_every_datatype() {
        let cases: Vec<(&str, Vec<u8>, [f64; 2])> = vec![
            (
                "FP64",
                [1.5f64.to_le_bytes(), (-2f64).to_le_bytes()].concat(),
                [1.5, -2.0],
            ),
            (
                "FP32",
                [1.5f32.to_le_bytes(), (-2f32).to_le_bytes()].concat(),
                [1.5, -2.0],
            ),
            (
                "INT64",
                [(-3i64).to_le_bytes(), 4i64.to_le_bytes()].concat(),
                [-3.0, 4.0],
            ),
            (
                "INT32",
                [(-3i32).to_le_bytes(), 4i32.to_le_bytes()].concat(),
                [-3.0, 4.0],
            ),
            (
                "INT16",
                [(-3i16).to_le_bytes(), 4i16.to_le_bytes()].concat(),
                [-3.0, 4.0],
            ),
            ("INT8", vec![0xfd, 4], [-3.0, 4.0]),
            ("UINT8", vec![0xfd, 4], [253.0, 4.0]),
            (
                "UINT16",
                [65535u16.to_le_bytes(), 4u16.to_le_bytes()].concat(),
                [65535.0, 4.0],
            ),
            (
                "UINT32",
                [7u32.to_le_bytes(), 4u32.to_le_bytes()].concat(),
                [7.0, 4.0],
            ),
            (
                "UINT64",
                [7u64.to_le_bytes(), 4u64.to_le_bytes()].concat(),
                [7.0, 4.0],
            ),
            ("BOOL", vec![1, 0], [1.0, 0.0]),
        ];
        for (datatype, bytes, want) in cases {
            let r = age_as(datatype, &bytes).unwrap_or_else(|e| panic!("{datatype}: {e:?}"));
            assert_eq!(r.batch.rows, 2);
            assert_eq!(
                r.batch.columns,
                vec![
                    Cells::Num(vec![Some(want[0]), Some(want[1])]),
                    Cells::Text(vec![Some("m".into()), Some("f".into())]),
                ],
                "{datatype}"
            );
        }
        // NaN is the binary missing value; an infinity is refused by row.
        let nan = [f64::NAN.to_le_bytes(), 1f64.to_le_bytes()].concat();
        assert_eq!(
            age_as("FP64", &nan).unwrap().batch.columns[0],
            Cells::Num(vec![None, Some(1.0)])
        );
        let inf = [1f64.to_le_bytes(), f64::INFINITY.to_le_bytes()].concat();
        assert_eq!(
            err(age_as("FP64", &inf)),
            "column \"age\", row 2: \"inf\" is not a finite number"
        );
        assert_eq!(
            err(age_as("FP16", &[0; 4])),
            "input \"age\": datatype \"FP16\" cannot be sent as binary data (BOOL, INT8..INT64, UINT8..UINT64, FP32, FP64, BYTES)"
        );
    }

    #[test]
    fn binary_mixes_with_json_and_matches_it() {
        let sex = strings(&["m", "", "f"]);
        let header = format!(
            r#"{{"id": 7, "inputs": [{}, {{"name": "age", "shape": [3], "datatype": "FP64", "data": [1, null, 2]}}],
                "parameters": {{"binary_data_output": true}},
                "outputs": [{{"name": "prediction", "parameters": {{"binary_data": false}}}}, {{"name": "proba_a"}}]}}"#,
            tensor("sex", "BYTES", "[3, 1]", sex.len())
        );
        let r = bin(&header, &sex).unwrap();
        let json = v2(r#"{"inputs": [{"name": "sex", "shape": [3], "datatype": "BYTES", "data": ["m", "", "f"]},
            {"name": "age", "shape": [3], "datatype": "FP64", "data": [1, null, 2]}]}"#)
        .unwrap();
        assert_eq!(r.batch, json.batch);
        assert!(!r.binary.is_binary("prediction"));
        assert!(r.binary.is_binary("proba_a"));
        assert!(!json.binary.any());
    }

    #[test]
    fn binary_sizes_are_checked_before_allocating() {
        let age = [1f64.to_le_bytes(), 2f64.to_le_bytes()].concat();
        let sex = strings(&["m", "f"]);
        let header = |age_size: usize, sex_size: usize| {
            format!(
                r#"{{"inputs": [{}, {}]}}"#,
                tensor("age", "FP64", "[2]", age_size),
                tensor("sex", "BYTES", "[2]", sex_size)
            )
        };
        let tail = [&age[..], &sex].concat();
        // The header length past the body.
        assert_eq!(
            err(parse_v2_binary(b"{}", 3, &schema(), 10)),
            "Inference-Header-Content-Length is 3, but the body has only 2 bytes"
        );
        // A truncated body names the input whose bytes are missing.
        assert_eq!(
            err(bin(&header(16, sex.len()), &tail[..20])),
            "input \"sex\": binary_data_size is 10, but only 4 bytes of binary data are left"
        );
        assert_eq!(
            err(bin(&header(16, sex.len()), &[&tail[..], &[0]].concat())),
            "the inputs' binary_data_size add up to 26 bytes, but 27 bytes follow the JSON header"
        );
        // The size against the shape.
        assert_eq!(
            err(bin(&header(8, 18), &tail)),
            "input \"age\": 2 FP64 values need 16 bytes, binary_data_size is 8"
        );
        // A declared size far beyond the body is refused by the sum.
        assert_eq!(
            err(bin(&header(usize::MAX, 10), &tail)),
            format!(
                "input \"age\": binary_data_size is {}, but only 26 bytes of binary data are left",
                usize::MAX
            )
        );
        // BYTES lengths must stay inside the tensor's bytes.
        let long = [&age[..], &100u32.to_le_bytes(), b"m"].concat();
        assert_eq!(
            err(bin(&header(16, 5), &long)),
            "input \"sex\", element 1: the length is 100 bytes, but only 1 are left"
        );
        let short = [&age[..], &[1, 0]].concat();
        assert_eq!(
            err(bin(&header(16, 2), &short)),
            "input \"sex\", element 1: the binary data ends before its 4-byte length (2 bytes left)"
        );
        let extra = [&age[..], &sex, b"x"].concat();
        assert_eq!(
            err(bin(&header(16, 11), &extra)),
            "input \"sex\": 1 bytes are left after its 2 BYTES elements"
        );
        let bad = [&age[..], &strings(&["m"]), &1u32.to_le_bytes(), &[0xff]].concat();
        assert_eq!(
            err(bin(&header(16, 10), &bad)),
            "input \"sex\", element 2: the bytes are not UTF-8"
        );
    }

    #[test]
    fn binary_shape_bombs_are_refused() {
        // A huge shape is refused by --max-rows before its size is
        // multiplied or anything is allocated.
        for shape in [
            "[1152921504606846976]".to_string(),
            format!("[{}, 1]", u64::MAX),
        ] {
            let header = format!(r#"{{"inputs": [{}]}}"#, tensor("age", "FP64", &shape, 8));
            let msg = err(bin(&header, &[0; 8]));
            assert!(
                msg.starts_with("input \"age\": \"shape\" declares")
                    && msg.ends_with("(--max-rows)"),
                "{msg}"
            );
        }
        let header = format!(
            r#"{{"inputs": [{}]}}"#,
            tensor("sex", "BYTES", "[1000000]", 4)
        );
        assert_eq!(
            err(bin(&header, &[0; 4])),
            "input \"sex\": \"shape\" declares 1000000 values, more than the limit of 10 rows (--max-rows)"
        );
    }
}
