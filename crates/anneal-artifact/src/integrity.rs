//! The integrity rules an artifact is held to, in one place: what
//! [`crate::Artifact::load`] (which stops at the first broken rule) and
//! [`crate::verify`] (which reports every one) both check. Each rule says
//! what is wrong as data; the two callers word it as they always have.

use std::path::{Component, Path};

use crate::manifest::{FileEntry, Manifest};

/// Largest `manifest.json` read (a real one is a few KiB).
pub(crate) const MAX_MANIFEST_BYTES: u64 = 256 * 1024 * 1024;

/// The files every format requires the manifest to list.
pub(crate) const REQUIRED_V1: [&str; 3] = ["model.safetensors", "model.json", "preprocess.json"];

/// The files format 2 requires the manifest to list on top of
/// [`REQUIRED_V1`]: the signature and the golden examples.
pub(crate) const REQUIRED_V2: [&str; 2] = ["signature.json", "examples.json"];

/// The files a format requires the manifest to list.
pub(crate) fn required(format_version: u32) -> impl Iterator<Item = &'static str> {
    let extra: &[&str] = if format_version >= 2 {
        &REQUIRED_V2
    } else {
        &[]
    };
    REQUIRED_V1.iter().chain(extra).copied()
}

/// Files that belong to an artifact of this format without being listed in
/// its manifest: the manifest itself, and files derived from it.
pub fn unlisted_members(format_version: u32) -> &'static [&'static str] {
    if format_version >= 2 {
        &["manifest.json", "MLmodel"]
    } else {
        &["manifest.json"]
    }
}

/// A file name with no folder part: no separators, no `..`, not absolute.
pub(crate) fn is_plain_name(name: &str) -> bool {
    let p = Path::new(name);
    let mut comps = p.components();
    matches!(comps.next(), Some(Component::Normal(_)))
        && comps.next().is_none()
        && !name.contains('\\')
        && !name.contains('/')
}

/// Why the start of a manifest (JSON with a `format_version` this anneal
/// reads) is not there.
#[derive(Debug)]
pub(crate) enum VersionProblem {
    NotJson(serde_json::Error),
    /// No `format_version` key.
    Missing,
    /// A `format_version` that is not a whole number (the value as written).
    NotWhole(serde_json::Value),
    /// A format newer than [`FORMAT_VERSION`].
    Future(u64),
}

/// Parses a manifest's text as JSON and reads its `format_version` first,
/// so that a future layout gets the right message rather than a parse
/// error. Returns the JSON and the version.
pub(crate) fn read_format_version(text: &str) -> Result<(serde_json::Value, u64), VersionProblem> {
    let raw: serde_json::Value = serde_json::from_str(text).map_err(VersionProblem::NotJson)?;
    let version = match raw.get("format_version") {
        None => return Err(VersionProblem::Missing),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| VersionProblem::NotWhole(v.clone()))?,
    };
    if !crate::manifest::reads_format(version) {
        return Err(VersionProblem::Future(version));
    }
    Ok((raw, version))
}

/// The id `text` (the manifest as stored) hashes to, when it is not the id
/// the manifest claims: the manifest was edited.
pub(crate) fn id_mismatch(text: &str, manifest: &Manifest) -> Option<String> {
    let actual = crate::manifest::id_of_text(text, &manifest.id);
    (actual != manifest.id).then_some(actual)
}

/// Whether a file of `bytes` bytes hashing to `sha256` is the one the
/// manifest lists.
pub(crate) fn matches_entry(entry: &FileEntry, sha256: &str, bytes: u64) -> bool {
    entry.sha256 == sha256 && entry.bytes == bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names() {
        assert!(is_plain_name("model.json"));
        for bad in ["", "..", ".", "a/b", "/a", "a\\b", "../a", "./a", "a/"] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }

    #[test]
    fn required_files_by_format() {
        assert_eq!(
            required(1).collect::<Vec<_>>(),
            ["model.safetensors", "model.json", "preprocess.json"]
        );
        assert_eq!(
            required(2).collect::<Vec<_>>(),
            [
                "model.safetensors",
                "model.json",
                "preprocess.json",
                "signature.json",
                "examples.json"
            ]
        );
        assert_eq!(unlisted_members(1), ["manifest.json"]);
        assert_eq!(unlisted_members(2), ["manifest.json", "MLmodel"]);
    }

    #[test]
    fn format_version_is_read_first() {
        let v = |t: &str| read_format_version(t).map(|(_, v)| v);
        assert_eq!(v("{\"format_version\": 2, \"x\": 1}").unwrap(), 2);
        assert!(matches!(v("{"), Err(VersionProblem::NotJson(_))));
        assert!(matches!(v("{}"), Err(VersionProblem::Missing)));
        assert!(matches!(
            v("{\"format_version\": \"2\"}"),
            Err(VersionProblem::NotWhole(serde_json::Value::String(s))) if s == "2"
        ));
        assert!(matches!(
            v("{\"format_version\": 99}"),
            Err(VersionProblem::Future(99))
        ));
    }

    #[test]
    fn entries_match_on_hash_and_size() {
        let entry = FileEntry {
            sha256: "ab".into(),
            bytes: 3,
        };
        assert!(matches_entry(&entry, "ab", 3));
        assert!(!matches_entry(&entry, "ab", 4));
        assert!(!matches_entry(&entry, "cd", 3));
    }
}
