//! `manifest.json`: what the artifact is, where it came from, and the hash
//! of every other file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The artifact layout version this anneal writes. It reads this one and
/// every earlier one: 1 (no golden examples, no MLmodel, no logical data
/// hash) and 2.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// SHA-256 of this manifest's canonical JSON without the `id` field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub name: String,
    /// The model's semantic version.
    pub version: String,
    pub task: String,
    pub files: BTreeMap<String, FileEntry>,
    pub config_sha256: String,
    pub data: BTreeMap<String, DataEntry>,
    pub seed: u64,
    pub backend: String,
    pub versions: BTreeMap<String, String>,
    /// Headline metrics per split, copied from the report.
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataEntry {
    pub path: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// SHA-256 of the parsed table (format 2): unchanged by re-quoting.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub logical_sha256: String,
    pub bytes: u64,
}

impl Manifest {
    /// The content id: SHA-256 of the canonical JSON without `id`.
    pub fn compute_id(&self) -> anneal_core::Result<String> {
        let mut m = self.clone();
        m.id = String::new();
        let text = anneal_core::json::to_canonical_string(&m, "manifest")?;
        Ok(anneal_core::hash::sha256_hex(text.as_bytes()))
    }
}

/// The id of a manifest file's text: the SHA-256 of its canonical JSON
/// without the `id` line. Hashing the bytes (rather than a re-serialised
/// parse) keeps every float exactly as written; any edit, including
/// re-formatting, changes the id.
pub fn id_of_text(text: &str, claimed_id: &str) -> String {
    let line = format!("  \"id\": \"{claimed_id}\",\n");
    anneal_core::hash::sha256_hex(text.replacen(&line, "", 1).as_bytes())
}
