//! What the data stage records about its input, for reports and artifacts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataStats {
    pub source: SourceInfo,
    pub rows: RowCounts,
    pub columns: Vec<ColumnInfo>,
    /// Per class label: rows in train, valid, test (classification only).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub class_counts: BTreeMap<String, [u64; 3]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The path as written in the config (relative), so reports do not
    /// depend on where the project is checked out.
    pub path: String,
    pub format: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// SHA-256 of the parsed table: unchanged by re-quoting or re-encoding.
    #[serde(default)]
    pub logical_sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RowCounts {
    pub read: u64,
    pub missing_target: u64,
    pub filtered: u64,
    /// Rows removed as exact duplicates (`data.clean.drop_duplicates`).
    pub duplicates: u64,
    /// Rows kept that repeat an earlier row exactly (counted when
    /// duplicates are not dropped, by the in-memory data stage).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repeated: u64,
    pub used: u64,
    pub train: u64,
    pub valid: u64,
    pub test: u64,
    /// Rows scored by `anneal eval` (absent from training reports).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub eval: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// `feature`, `target`, `id` or `dropped`.
    pub role: String,
    /// `numeric`, `categorical`, `boolean` for features.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<String>,
    pub dtype: String,
    /// Missing cells in the rows used.
    pub missing: u64,
}
