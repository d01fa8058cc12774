//! Canonical JSON: object keys sorted, two-space indentation, shortest
//! round-trip floats (serde_json's ryu), a final newline, no NaN (written as
//! `null`). The same value always gives the same bytes, whatever the order in
//! which maps were filled and whatever serde_json features other crates turn
//! on (`preserve_order` would otherwise change key order).

use serde::Serialize;
use serde_json::Value;

use crate::error::{CoreError, Result};

/// Serialises `value` canonically. `what` names the document in errors.
pub fn to_canonical_string<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<String> {
    let value = serde_json::to_value(value).map_err(|source| CoreError::Json {
        what: what.to_string(),
        source,
    })?;
    Ok(canonical(&value))
}

/// Writes an already-built [`Value`] canonically.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, 0, &mut out);
    out.push('\n');
    out
}

fn write_value(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(indent + 1, out);
                out.push_str(&Value::String((*key).clone()).to_string());
                out.push_str(": ");
                write_value(&map[key.as_str()], indent + 1, out);
            }
            newline(indent, out);
            out.push('}');
        }
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            // Arrays of scalars stay on one line: confusion matrices and
            // curves remain readable and diffs stay small.
            if items.iter().all(|v| !v.is_object() && !v.is_array()) {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&item.to_string());
                }
                out.push(']');
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(indent + 1, out);
                write_value(item, indent + 1, out);
            }
            newline(indent, out);
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn newline(indent: usize, out: &mut String) {
    out.push('\n');
    for _ in 0..indent {
        out.push_str("  ");
    }
}

/// Reading back what [`canonical`] wrote: it writes NaN and the infinities
/// as `null`, so a number field read back takes `null` as NaN. Use with
/// `#[serde(deserialize_with = "...")]` on `f64`, `Vec<f64>` and
/// `BTreeMap<String, f64>` fields that may hold a non-finite value.
pub mod null_as_nan {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer};

    /// An `f64` written by [`super::canonical`].
    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    /// An optional `f64` left out when `None`: present and `null` is NaN.
    /// Use with `#[serde(default, ...)]`.
    pub fn opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Some(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN)))
    }

    /// A list of `f64`s, any of them `null`.
    pub fn vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let v = Vec::<Option<f64>>::deserialize(d)?;
        Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }

    /// A map of `f64`s by name, any of them `null`.
    pub fn map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        let m = BTreeMap::<String, Option<f64>>::deserialize(d)?;
        Ok(m.into_iter()
            .map(|(k, x)| (k, x.unwrap_or(f64::NAN)))
            .collect())
    }

    /// Maps of `f64`s by name, by name (`split -> metric -> value`).
    pub fn map2<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, BTreeMap<String, f64>>, D::Error> {
        let m = BTreeMap::<String, BTreeMap<String, Option<f64>>>::deserialize(d)?;
        Ok(m.into_iter()
            .map(|(k, inner)| {
                let inner = inner
                    .into_iter()
                    .map(|(n, x)| (n, x.unwrap_or(f64::NAN)))
                    .collect();
                (k, inner)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_and_floats_shortest() {
        let v = json!({"b": 0.1, "a": [1, 2.5], "c": {"z": null, "y": "s"}});
        assert_eq!(
            canonical(&v),
            "{\n  \"a\": [1, 2.5],\n  \"b\": 0.1,\n  \"c\": {\n    \"y\": \"s\",\n    \"z\": null\n  }\n}\n"
        );
    }

    #[test]
    fn nan_becomes_null() {
        let s = to_canonical_string(&[f64::NAN, 1.0], "test").unwrap();
        assert_eq!(s, "[null, 1.0]\n");
    }

    #[test]
    fn null_reads_back_as_nan() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(deserialize_with = "null_as_nan::f64")]
            a: f64,
            #[serde(deserialize_with = "null_as_nan::vec")]
            b: Vec<f64>,
            #[serde(deserialize_with = "null_as_nan::map2")]
            c: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>,
        }
        let t: T = serde_json::from_str(
            r#"{"a": null, "b": [null, 2.5], "c": {"x": {"y": null, "z": 1}}}"#,
        )
        .unwrap();
        assert!(t.a.is_nan());
        assert!(t.b[0].is_nan());
        assert_eq!(t.b[1], 2.5);
        assert!(t.c["x"]["y"].is_nan());
        assert_eq!(t.c["x"]["z"], 1.0);
    }
}
