//! The binary tensor data extension (Triton / KServe v2): input tensors sent
//! as raw little-endian bytes after the JSON header, and outputs answered
//! the same way. Binary inputs are turned into the JSON `data` arrays the
//! JSON path reads, so both go through the same validation and prediction.
//! Every size is checked against the bytes at hand before anything is
//! allocated from it.

use serde_json::{Map, Number, Value};

use crate::request::{Invalid, shape_rows};
use crate::schema::Schema;

type Result<T> = std::result::Result<T, Invalid>;

/// How one element of a datatype is laid out.
#[derive(Clone, Copy)]
enum Layout {
    Fixed(usize),
    /// Each element a 4-byte little-endian length, then that many bytes.
    Bytes,
}

fn layout(datatype: &str) -> Option<Layout> {
    Some(match datatype {
        "BOOL" | "INT8" | "UINT8" => Layout::Fixed(1),
        "INT16" | "UINT16" => Layout::Fixed(2),
        "INT32" | "UINT32" | "FP32" => Layout::Fixed(4),
        "INT64" | "UINT64" | "FP64" => Layout::Fixed(8),
        "BYTES" => Layout::Bytes,
        _ => return None,
    })
}

fn tensor_name(t: &Map<String, Value>, i: usize) -> Result<&str> {
    t.get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| Invalid(format!("input {} has no \"name\"", i + 1)))
}

/// The `binary_data_size` of a tensor, if it has one.
fn declared_size(t: &Map<String, Value>, name: &str) -> Result<Option<usize>> {
    let Some(size) = t.get("parameters").and_then(|p| p.get("binary_data_size")) else {
        return Ok(None);
    };
    size.as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            Invalid(format!(
                "input {name:?}: \"binary_data_size\" must be a byte count"
            ))
        })
}

/// Gives each input with a `binary_data_size` its bytes from `tail`, in
/// input order, as a JSON `data` array. Sizes are all checked against the
/// tail before any tensor is decoded.
pub fn attach(
    obj: &mut Map<String, Value>,
    tail: &[u8],
    schema: &Schema,
    max_rows: usize,
) -> Result<()> {
    let Some(Value::Array(inputs)) = obj.get_mut("inputs") else {
        return check_unused(0, tail);
    };
    let mut end = 0usize;
    for (i, t) in inputs.iter().enumerate() {
        let Value::Object(t) = t else { continue };
        let name = tensor_name(t, i)?;
        if let Some(size) = declared_size(t, name)? {
            end = end
                .checked_add(size)
                .filter(|&e| e <= tail.len())
                .ok_or_else(|| {
                    Invalid(format!(
                        "input {name:?}: binary_data_size is {size}, but only {} bytes of binary data are left",
                        tail.len() - end
                    ))
                })?;
        }
    }
    check_unused(end, tail)?;
    let mut offset = 0;
    for (i, t) in inputs.iter_mut().enumerate() {
        let Value::Object(t) = t else { continue };
        let name = tensor_name(t, i)?.to_string();
        let Some(size) = declared_size(t, &name)? else {
            continue;
        };
        let bytes = &tail[offset..offset + size];
        offset += size;
        // Inputs the model does not use are skipped, as in JSON.
        if schema.position(&name).is_some() {
            let data = decode(t, &name, bytes, max_rows)?;
            t.insert("data".into(), Value::Array(data));
        }
    }
    Ok(())
}

fn check_unused(end: usize, tail: &[u8]) -> Result<()> {
    if end == tail.len() {
        return Ok(());
    }
    Err(Invalid(format!(
        "the inputs' binary_data_size add up to {end} bytes, but {} bytes follow the JSON header",
        tail.len()
    )))
}

/// One tensor's elements, after checking its bytes against its shape.
fn decode(t: &Map<String, Value>, name: &str, bytes: &[u8], max_rows: usize) -> Result<Vec<Value>> {
    if t.contains_key("data") {
        return Err(Invalid(format!(
            "input {name:?} has both \"data\" and binary_data_size: send one"
        )));
    }
    let datatype = t.get("datatype").and_then(Value::as_str).unwrap_or("");
    let Some(layout) = layout(datatype) else {
        return Err(Invalid(format!(
            "input {name:?}: datatype {datatype:?} cannot be sent as binary data (BOOL, INT8..INT64, UINT8..UINT64, FP32, FP64, BYTES)"
        )));
    };
    let shape: Vec<u64> = t
        .get("shape")
        .and_then(Value::as_array)
        .and_then(|s| s.iter().map(Value::as_u64).collect())
        .ok_or_else(|| {
            Invalid(format!(
                "input {name:?}: \"shape\" must be a list of non-negative integers"
            ))
        })?;
    // The row count is bounded by --max-rows before it sizes anything.
    let rows = shape_rows(name, &shape, max_rows)?;
    match layout {
        Layout::Fixed(width) => fixed(name, datatype, width, rows, bytes),
        Layout::Bytes => strings(name, rows, bytes),
    }
}

fn fixed(
    name: &str,
    datatype: &str,
    width: usize,
    rows: usize,
    bytes: &[u8],
) -> Result<Vec<Value>> {
    if rows.checked_mul(width) != Some(bytes.len()) {
        return Err(Invalid(format!(
            "input {name:?}: {rows} {datatype} values need {} bytes, binary_data_size is {}",
            rows.saturating_mul(width),
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(width)
        .map(|b| element(datatype, b))
        .collect())
}

/// One little-endian element as the JSON value it would have been sent as.
fn element(datatype: &str, b: &[u8]) -> Value {
    let mut le = [0u8; 8];
    le[..b.len()].copy_from_slice(b);
    let u = u64::from_le_bytes(le);
    // Sign-extends a `bits`-wide integer.
    let signed = |bits: u32| ((u << (64 - bits)) as i64) >> (64 - bits);
    match datatype {
        "BOOL" => Value::Bool(u != 0),
        "INT8" => Value::from(signed(8)),
        "INT16" => Value::from(signed(16)),
        "INT32" => Value::from(signed(32)),
        "INT64" => Value::from(u as i64),
        "FP32" => float(f64::from(f32::from_bits(u as u32))),
        "FP64" => float(f64::from_bits(u)),
        _ => Value::from(u),
    }
}

/// A float as JSON. Binary tensors have no null, so NaN is the missing
/// value (as in numpy and pandas, and as missing outputs are sent); an
/// infinity becomes its text so that the column reader refuses it by row.
fn float(x: f64) -> Value {
    if x.is_nan() {
        return Value::Null;
    }
    Number::from_f64(x).map_or_else(|| Value::String(x.to_string()), Value::Number)
}

/// `rows` length-prefixed strings filling `bytes` exactly.
fn strings(name: &str, rows: usize, mut bytes: &[u8]) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(rows);
    for i in 0..rows {
        let bad = |what: String| Invalid(format!("input {name:?}, element {}: {what}", i + 1));
        let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
            return Err(bad(format!(
                "the binary data ends before its 4-byte length ({} bytes left)",
                bytes.len()
            )));
        };
        let len = u32::from_le_bytes(*len) as usize;
        let Some((text, rest)) = rest.split_at_checked(len) else {
            return Err(bad(format!(
                "the length is {len} bytes, but only {} are left",
                rest.len()
            )));
        };
        let text = std::str::from_utf8(text).map_err(|_| bad("the bytes are not UTF-8".into()))?;
        out.push(Value::String(text.to_string()));
        bytes = rest;
    }
    if !bytes.is_empty() {
        return Err(Invalid(format!(
            "input {name:?}: {} bytes are left after its {rows} BYTES elements",
            bytes.len()
        )));
    }
    Ok(out)
}

/// Appends one FP64 tensor (a missing value as NaN, which binary FP64 has
/// and JSON's `null` stands for).
pub fn put_numbers(out: &mut Vec<u8>, values: &[Option<f64>]) {
    for v in values {
        out.extend_from_slice(&v.unwrap_or(f64::NAN).to_le_bytes());
    }
}

/// Appends one BYTES tensor (a missing value as an empty string).
pub fn put_strings<S: AsRef<str>>(out: &mut Vec<u8>, values: impl Iterator<Item = Option<S>>) {
    for v in values {
        let v = v.as_ref().map_or("", AsRef::as_ref);
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(v.as_bytes());
    }
}
