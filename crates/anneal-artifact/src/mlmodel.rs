//! `MLmodel`: the file MLflow tooling reads to list and describe a model,
//! with a custom `anneal` flavor. It holds only deterministic fields (no
//! creation time, no run id; the `model_uuid` is derived from the artifact
//! id), so it is a pure function of the manifest and the signature.
//!
//! Because its uuid comes from the id, it cannot be listed in the manifest
//! that the id hashes. Instead it is derived data: loading and `verify`
//! regenerate it and require the bytes on disk to match.

use std::fmt::Write;

use crate::export::Signature;
use crate::manifest::Manifest;

/// The UUID (version-4 layout) made from the first 128 bits of the id.
pub fn model_uuid(id: &str) -> String {
    let hex: String = id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(32)
        .collect();
    let hex = format!("{hex:0<32}");
    // Set the version (4) and variant (10xx) nibbles.
    let mut b: Vec<char> = hex.chars().collect();
    b[12] = '4';
    let v = b[16].to_digit(16).unwrap_or(0);
    b[16] = std::char::from_digit((v & 0x3) | 0x8, 16).unwrap_or('8');
    let s: String = b.into_iter().collect();
    format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

/// A YAML double-quoted scalar.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `MLmodel` text of an artifact.
pub fn render(m: &Manifest, signature: &Signature) -> String {
    let specs = |cols: &[crate::export::ColumnSpec]| {
        let v: Vec<serde_json::Value> = cols
            .iter()
            .map(|c| serde_json::json!({"name": c.name, "type": c.kind, "required": c.required}))
            .collect();
        serde_json::Value::Array(v).to_string()
    };
    let mut s = String::new();
    let _ = writeln!(s, "artifact_path: model");
    let _ = writeln!(s, "flavors:");
    let _ = writeln!(s, "  anneal:");
    let _ = writeln!(
        s,
        "    anneal_version: {}",
        quoted(&m.versions.get("anneal").cloned().unwrap_or_default())
    );
    let _ = writeln!(s, "    artifact_id: {}", quoted(&m.id));
    let _ = writeln!(s, "    format_version: {}", m.format_version);
    let _ = writeln!(s, "    manifest: manifest.json");
    let _ = writeln!(s, "    model_name: {}", quoted(&m.name));
    let _ = writeln!(s, "    model_version: {}", quoted(&m.version));
    let _ = writeln!(s, "    task: {}", quoted(&m.task));
    let _ = writeln!(s, "    weights: model.safetensors");
    let _ = writeln!(s, "model_uuid: {}", model_uuid(&m.id));
    let _ = writeln!(s, "signature:");
    let _ = writeln!(s, "  inputs: {}", quoted(&specs(&signature.inputs)));
    let _ = writeln!(s, "  outputs: {}", quoted(&specs(&signature.outputs)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_a_version_4_layout_of_the_id() {
        let id = "d704f39e64359ccad61e4e3d112dcf94bb95e629252c51bca68646ef44772afc";
        assert_eq!(model_uuid(id), "d704f39e-6435-4cca-961e-4e3d112dcf94");
    }

    #[test]
    fn quoting_escapes() {
        assert_eq!(quoted("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
