//! `manifest.json`: what the artifact is, where it came from, and the hash
//! of every other file.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ArtifactError, Result};
use crate::integrity::{self, VersionProblem};

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

impl Manifest {
    /// `manifest.json`'s text: canonical JSON.
    pub fn to_json(&self) -> anneal_core::Result<String> {
        anneal_core::json::to_canonical_string(self, "manifest.json")
    }

    /// Reads `dir/manifest.json` (`dir`: an artifact folder). Only the
    /// manifest: the files it lists, and its id, are checked by
    /// [`crate::Artifact::load`] and `anneal verify`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let text = crate::load::read_manifest(&dir.join("manifest.json"))
            .map_err(|reason| corrupt(dir, reason))?;
        Manifest::parse(&text, dir)
    }

    /// Parses the text of the manifest of the artifact `dir`. Its
    /// `format_version` is read first, so that a newer layout gets the
    /// right message rather than a parse error.
    pub fn parse(text: &str, dir: &Path) -> Result<Manifest> {
        let raw = match integrity::read_format_version(text) {
            Ok((raw, _)) => raw,
            Err(VersionProblem::NotJson(e)) => {
                return Err(corrupt(dir, format!("not valid JSON: {e}")));
            }
            Err(VersionProblem::Missing | VersionProblem::NotWhole(_)) => {
                return Err(corrupt(dir, "no format_version".into()));
            }
            Err(VersionProblem::Future(found)) => return Err(future(dir, found)),
        };
        serde_json::from_value(raw).map_err(|e| corrupt(dir, e.to_string()))
    }
}

fn corrupt(dir: &Path, reason: String) -> ArtifactError {
    ArtifactError::Corrupt {
        path: dir.to_path_buf(),
        file: "manifest.json".into(),
        reason,
    }
}

/// Whether this anneal reads manifests of `format_version` `found`.
pub fn reads_format(found: u64) -> bool {
    found <= u64::from(FORMAT_VERSION)
}

/// The one check of a manifest's `format_version`: this anneal reads
/// [`FORMAT_VERSION`] and every earlier layout; a newer one is refused
/// with both versions named.
pub fn check_format_version(dir: &Path, found: u64) -> Result<()> {
    if !reads_format(found) {
        return Err(future(dir, found));
    }
    Ok(())
}

fn future(dir: &Path, found: u64) -> ArtifactError {
    ArtifactError::FutureFormat {
        path: dir.to_path_buf(),
        found: u32::try_from(found).unwrap_or(u32::MAX),
        supported: FORMAT_VERSION,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let mut m = Manifest {
            format_version: FORMAT_VERSION,
            id: String::new(),
            name: "churn".into(),
            version: "1.2.0".into(),
            task: "binary".into(),
            files: BTreeMap::from([(
                "model.json".to_string(),
                FileEntry {
                    sha256: "ab".repeat(32),
                    bytes: 123,
                },
            )]),
            config_sha256: "cd".repeat(32),
            data: BTreeMap::from([(
                "train".to_string(),
                DataEntry {
                    path: "data.csv".into(),
                    sha256: "ef".repeat(32),
                    logical_sha256: String::new(),
                    bytes: 456,
                },
            )]),
            seed: 7,
            backend: "flex".into(),
            versions: BTreeMap::from([("anneal".to_string(), "0.1.0".to_string())]),
            metrics: BTreeMap::from([(
                "test".to_string(),
                BTreeMap::from([("accuracy".to_string(), 0.875)]),
            )]),
        };
        m.id = m.compute_id().unwrap();
        m
    }

    #[test]
    fn manifest_reads_back_as_written() {
        let m = manifest();
        let text = m.to_json().unwrap();
        assert_eq!(id_of_text(&text, &m.id), m.id);
        let dir = std::env::temp_dir().join(format!("anneal-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("manifest.json"), &text).unwrap();
        assert_eq!(Manifest::read(&dir).unwrap(), m);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_newer_format_is_one_line_naming_both_versions() {
        let text = manifest().to_json().unwrap().replace(
            &format!("\"format_version\": {FORMAT_VERSION}"),
            "\"format_version\": 9",
        );
        let e = Manifest::parse(&text, Path::new("art")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "artifact art has format_version 9, but this anneal reads up to 2; upgrade anneal"
        );
        let e = Manifest::parse("{}", Path::new("art")).unwrap_err();
        assert!(e.to_string().contains("no format_version"), "{e}");
    }
}
