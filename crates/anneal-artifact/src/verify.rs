//! `anneal artifact verify`: every check an artifact can fail, all of them
//! reported (where [`crate::Artifact::load`] stops at the first).
//!
//! A folder or a packed archive is first listed (each file's size and
//! SHA-256, read once), then the listing is checked against its manifest:
//! the manifest parses and has a format this anneal reads, its id matches its
//! content, every listed file is present with the listed size and hash, the
//! files a format requires are listed, derived files (`MLmodel`, format 2)
//! match what the manifest gives, and nothing else is there.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ArtifactError, Result};
pub use crate::integrity::unlisted_members;
use crate::integrity::{self, VersionProblem, is_plain_name};
use crate::manifest::{FORMAT_VERSION, Manifest};
use crate::pack::ArchiveInfo;

/// Files kept in memory while listing (small metadata files that the checks
/// and `inspect` read); anything else is only hashed.
const KEEP: [&str; 5] = [
    "manifest.json",
    "MLmodel",
    "signature.json",
    "model.json",
    "preprocess.json",
];

/// Largest metadata file kept in memory: the manifest's limit, so that a
/// manifest not kept is one too large to read.
const KEEP_LIMIT: u64 = integrity::MAX_MANIFEST_BYTES;

/// Size and SHA-256 of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStat {
    pub bytes: u64,
    pub sha256: String,
}

/// One thing wrong with an artifact: the file it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: String,
    pub problem: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.problem)
    }
}

/// What `verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// The folder or archive that was checked.
    pub path: PathBuf,
    /// The manifest's id, when the manifest could be read.
    pub id: Option<String>,
    pub format_version: Option<u64>,
    /// The parsed manifest, when it could be parsed.
    pub manifest: Option<Manifest>,
    /// The files that make up the artifact (the listed ones, the manifest and
    /// the derived files of its format) that were found, with their size and
    /// hash as found.
    pub files: BTreeMap<String, FileStat>,
    /// How many files the artifact should have.
    pub expected_files: usize,
    /// Every problem, the manifest's first, then by file name.
    pub findings: Vec<Finding>,
    /// For a packed artifact: the archive and its tar entries.
    pub archive: Option<ArchiveInfo>,
    /// Metadata files as read (manifest.json, MLmodel, signature.json,
    /// model.json, preprocess.json).
    pub contents: BTreeMap<String, Vec<u8>>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }

    /// Every finding on one line, separated by `; `.
    pub fn summary(&self) -> String {
        self.findings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// `Ok(())` when nothing was found, else [`ArtifactError::NotVerified`]
    /// naming every finding.
    pub fn into_result(self) -> Result<VerifyReport> {
        if self.is_ok() {
            Ok(self)
        } else {
            Err(ArtifactError::NotVerified {
                path: self.path.clone(),
                summary: self.summary(),
            })
        }
    }
}

/// Checks the artifact folder or packed archive at `path`. An artifact that
/// cannot be examined at all (no such path, an unsafe or unreadable archive,
/// a manifest from a future anneal) is an error; everything else wrong is a
/// finding in the report.
pub fn verify(path: &Path) -> Result<VerifyReport> {
    let meta = std::fs::metadata(path).map_err(|e| ArtifactError::NotArtifact {
        path: path.to_path_buf(),
        reason: if e.kind() == std::io::ErrorKind::NotFound {
            "no such folder or file".into()
        } else {
            format!("cannot read: {e}")
        },
    })?;
    if meta.is_dir() {
        let listing = list_folder(path, true)?;
        let mut report = check(listing, path, None)?;
        // A run folder given for its artifact folder.
        let inner = path.join("artifact");
        if report.manifest.is_none() && inner.join("manifest.json").is_file() {
            for f in &mut report.findings {
                if f.file == "manifest.json" && f.problem == "missing" {
                    f.problem = format!(
                        "missing; this looks like a run folder, whose artifact is {}",
                        inner.display()
                    );
                }
            }
        }
        Ok(report)
    } else {
        let (info, listing) = crate::pack::read_archive(path, None)?;
        check(listing, path, Some(info))
    }
}

/// What one file of a listing is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Present {
    File(FileStat),
    Unreadable(String),
    Folder,
    Other(String),
}

/// Every name in an artifact folder or archive, and the metadata files'
/// bytes.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub entries: BTreeMap<String, Present>,
    pub contents: BTreeMap<String, Vec<u8>>,
}

impl Listing {
    /// Hashes `reader` into the listing under `name`, copying it to `sink`
    /// when given. Returns the number of bytes read.
    pub(crate) fn add_reader(
        &mut self,
        name: &str,
        reader: &mut dyn Read,
        mut sink: Option<&mut dyn std::io::Write>,
        expected_bytes: Option<u64>,
    ) -> std::io::Result<u64> {
        let keep = KEEP.contains(&name) && expected_bytes.is_none_or(|b| b <= KEEP_LIMIT);
        let mut hasher = Sha256::new();
        let mut kept = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut n: u64 = 0;
        loop {
            let k = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..k]);
            if keep && n + (k as u64) <= KEEP_LIMIT {
                kept.extend_from_slice(&buf[..k]);
            }
            if let Some(s) = sink.as_mut() {
                s.write_all(&buf[..k])?;
            }
            n += k as u64;
        }
        if keep && n <= KEEP_LIMIT {
            self.contents.insert(name.to_string(), kept);
        }
        self.entries.insert(
            name.to_string(),
            Present::File(FileStat {
                bytes: n,
                sha256: anneal_core::text::hex(&hasher.finalize()),
            }),
        );
        Ok(n)
    }
}

/// Lists an artifact folder: every entry, files hashed. Symbolic links
/// are followed (as loading does) when `follow_links`, else listed as
/// what they are. Each file is checked to be a regular file on the opened
/// handle before it is read: a named pipe cannot hang the listing.
pub(crate) fn list_folder(dir: &Path, follow_links: bool) -> Result<Listing> {
    let not = |reason: String| ArtifactError::NotArtifact {
        path: dir.to_path_buf(),
        reason,
    };
    let read = std::fs::read_dir(dir).map_err(|e| not(format!("cannot list the folder: {e}")))?;
    let mut listing = Listing::default();
    for entry in read {
        let entry = entry.map_err(|e| not(format!("cannot list the folder: {e}")))?;
        let raw = entry.file_name();
        let Some(name) = raw.to_str().map(str::to_string) else {
            listing.entries.insert(
                raw.to_string_lossy().into_owned(),
                Present::Other("has a name that is not UTF-8".into()),
            );
            continue;
        };
        let present = list_file(&entry.path(), &name, follow_links, &mut listing);
        if let Some(p) = present {
            listing.entries.insert(name, p);
        }
    }
    Ok(listing)
}

/// Hashes one entry into `listing`, or says what it is instead.
fn list_file(
    path: &Path,
    name: &str,
    follow_links: bool,
    listing: &mut Listing,
) -> Option<Present> {
    use anneal_core::fsio::{NotRegular, open_regular};
    match open_regular(path, follow_links) {
        Ok((mut file, len)) => match listing.add_reader(name, &mut file, None, Some(len)) {
            Ok(_) => None,
            Err(e) => Some(Present::Unreadable(e.to_string())),
        },
        Err(NotRegular::Kind("a folder")) => Some(Present::Folder),
        Err(NotRegular::Kind(_)) => Some(Present::Other("is not a regular file".into())),
        Err(NotRegular::Link) => Some(Present::Other("is a symbolic link".into())),
        Err(NotRegular::Io(e)) => Some(Present::Unreadable(e.to_string())),
    }
}

/// Findings as they are made.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, file: &str, problem: impl Into<String>) {
        self.0.push(Finding {
            file: file.to_string(),
            problem: problem.into(),
        });
    }
}

/// Checks a listing against its manifest. `path` names the artifact in the
/// report and in errors.
pub(crate) fn check(
    listing: Listing,
    path: &Path,
    archive: Option<ArchiveInfo>,
) -> Result<VerifyReport> {
    let Listing { entries, contents } = listing;
    let mut found = Findings::default();
    let mut report = VerifyReport {
        path: path.to_path_buf(),
        id: None,
        format_version: None,
        manifest: None,
        files: BTreeMap::new(),
        expected_files: 0,
        findings: Vec::new(),
        archive,
        contents: BTreeMap::new(),
    };
    let text = manifest_text(&entries, &contents, &mut found);
    let manifest = match text {
        Some(text) => checked_manifest(text, path, &mut report, &mut found)?,
        None => None,
    };
    let Some(manifest) = manifest else {
        // Without a manifest nothing else can be checked.
        for (name, present) in &entries {
            if let Present::File(stat) = present {
                report.files.insert(name.clone(), stat.clone());
            }
        }
        report.findings = found.0;
        report.contents = contents;
        return Ok(report);
    };
    let version = manifest.format_version;
    for name in integrity::required(version) {
        if !manifest.files.contains_key(name) {
            found.add("manifest.json", format!("does not list {name}"));
        }
    }
    let mut members = check_listed(&manifest, &entries, &mut found);
    members.extend(unlisted_members(version));
    if version >= 2 {
        check_mlmodel(&manifest, &entries, &contents, &mut found);
    }
    check_unlisted(&entries, &members, &mut found);
    report.expected_files = members.len();
    for name in members {
        if let Some(Present::File(stat)) = entries.get(name) {
            report.files.insert(name.to_string(), stat.clone());
        }
    }
    let mut findings = found.0;
    // The manifest's findings first, then by file name (a stable sort keeps
    // the order of several findings about one file).
    findings.sort_by(|a, b| {
        (a.file != "manifest.json", &a.file).cmp(&(b.file != "manifest.json", &b.file))
    });
    report.findings = findings;
    report.id = Some(manifest.id.clone());
    report.format_version = Some(u64::from(version));
    report.manifest = Some(manifest);
    report.contents = contents;
    Ok(report)
}

/// The manifest's text, when it is a regular file of UTF-8 small enough
/// to have been kept; otherwise a finding.
fn manifest_text<'a>(
    entries: &BTreeMap<String, Present>,
    contents: &'a BTreeMap<String, Vec<u8>>,
    found: &mut Findings,
) -> Option<&'a str> {
    match (entries.get("manifest.json"), contents.get("manifest.json")) {
        (None, _) => {
            found.add("manifest.json", "missing");
            None
        }
        (Some(Present::File(_)), Some(bytes)) => match std::str::from_utf8(bytes) {
            Ok(t) => Some(t),
            Err(e) => {
                found.add("manifest.json", format!("is not UTF-8 text: {e}"));
                None
            }
        },
        (Some(Present::File(s)), None) => {
            found.add(
                "manifest.json",
                format!("is {} bytes, too large for a manifest", s.bytes),
            );
            None
        }
        (Some(other), _) => {
            found.add("manifest.json", describe_not_file(other));
            None
        }
    }
}

/// Parses the manifest and checks its id. A manifest from a future anneal
/// is an error; one that does not parse is a finding (and `None`), with
/// its version in the report when that could be read.
fn checked_manifest(
    text: &str,
    path: &Path,
    report: &mut VerifyReport,
    found: &mut Findings,
) -> Result<Option<Manifest>> {
    let manifest = match parse_manifest(text) {
        Err(Parsed::Future(version)) => {
            return Err(ArtifactError::FutureFormat {
                path: path.to_path_buf(),
                found: u32::try_from(version).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
            });
        }
        Err(Parsed::Bad(version, problem)) => {
            report.format_version = version;
            found.add("manifest.json", problem);
            return Ok(None);
        }
        Ok(manifest) => manifest,
    };
    if manifest.id.is_empty() {
        found.add("manifest.json", "has no id");
    } else if let Some(actual) = integrity::id_mismatch(text, &manifest) {
        found.add(
            "manifest.json",
            format!(
                "id {} does not match its content ({actual}); the manifest was edited",
                manifest.id
            ),
        );
    }
    Ok(Some(manifest))
}

/// Checks every file the manifest lists against the listing; returns the
/// names that are members of the artifact (plain names the manifest may
/// list).
fn check_listed<'m>(
    manifest: &'m Manifest,
    entries: &BTreeMap<String, Present>,
    found: &mut Findings,
) -> Vec<&'m str> {
    let derived = unlisted_members(manifest.format_version);
    let mut members: Vec<&str> = Vec::new();
    for (name, want) in &manifest.files {
        if !is_plain_name(name) {
            found.add(
                "manifest.json",
                format!("lists {name:?}, which is not a plain file name in the artifact folder"),
            );
            continue;
        }
        if derived.contains(&name.as_str()) {
            found.add(
                "manifest.json",
                format!("lists {name}, which a manifest cannot list"),
            );
            continue;
        }
        members.push(name);
        match entries.get(name) {
            None => found.add(name, "missing"),
            Some(Present::File(got)) => {
                if !integrity::matches_entry(want, &got.sha256, got.bytes) {
                    found.add(
                        name,
                        format!(
                            "modified (sha256 {}, {} bytes; manifest says {}, {} bytes)",
                            got.sha256, got.bytes, want.sha256, want.bytes
                        ),
                    );
                }
            }
            Some(other) => found.add(name, describe_not_file(other)),
        }
    }
    members
}

/// A finding for every entry that is not one of `members`.
fn check_unlisted(entries: &BTreeMap<String, Present>, members: &[&str], found: &mut Findings) {
    for (name, present) in entries {
        if members.contains(&name.as_str()) {
            continue;
        }
        let problem = match present {
            Present::Folder => "a folder, not part of the artifact".to_string(),
            Present::Other(what) => format!("{what}, and not listed in the manifest"),
            _ => "not listed in the manifest".to_string(),
        };
        found.add(name, problem);
    }
}

fn describe_not_file(p: &Present) -> String {
    match p {
        Present::File(_) => "a file".into(),
        Present::Unreadable(e) => format!("cannot read: {e}"),
        Present::Folder => "is a folder, expected a file".into(),
        Present::Other(what) => what.clone(),
    }
}

enum Parsed {
    Future(u64),
    Bad(Option<u64>, String),
}

/// Parses a manifest, reading its version first so that a future layout
/// gets the right message rather than a parse error.
fn parse_manifest(text: &str) -> std::result::Result<Manifest, Parsed> {
    let (raw, found) = integrity::read_format_version(text).map_err(|p| match p {
        VersionProblem::NotJson(e) => Parsed::Bad(None, format!("not valid JSON: {e}")),
        VersionProblem::Missing => Parsed::Bad(None, "has no format_version".into()),
        VersionProblem::NotWhole(v) => {
            Parsed::Bad(None, format!("format_version {v} is not a whole number"))
        }
        VersionProblem::Future(v) => Parsed::Future(v),
    })?;
    if found == 0 {
        return Err(Parsed::Bad(
            Some(found),
            "format_version 0 does not exist (the first is 1)".into(),
        ));
    }
    let manifest: Manifest = serde_json::from_value(raw)
        .map_err(|e| Parsed::Bad(Some(found), format!("not a valid manifest: {e}")))?;
    Ok(manifest)
}

/// `MLmodel` is derived from the manifest and the signature: it must be
/// exactly what they give.
fn check_mlmodel(
    manifest: &Manifest,
    entries: &BTreeMap<String, Present>,
    contents: &BTreeMap<String, Vec<u8>>,
    found: &mut Findings,
) {
    match entries.get("MLmodel") {
        None => {
            found.add("MLmodel", "missing");
            return;
        }
        Some(Present::File(_)) => {}
        Some(other) => {
            found.add("MLmodel", describe_not_file(other));
            return;
        }
    }
    // A missing or unreadable signature is a finding of its own already.
    let Some(signature) = contents
        .get("signature.json")
        .and_then(|b| serde_json::from_slice::<crate::export::Signature>(b).ok())
    else {
        return;
    };
    let expected = crate::mlmodel::render(manifest, &signature);
    match contents.get("MLmodel") {
        Some(b) if b == expected.as_bytes() => {}
        Some(_) => found.add(
            "MLmodel",
            "differs from the one the manifest and signature give; it was modified",
        ),
        None => found.add("MLmodel", "too large for an MLmodel file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(bytes: u64, sha256: &str) -> Present {
        Present::File(FileStat {
            bytes,
            sha256: sha256.into(),
        })
    }

    #[test]
    fn listed_files_are_checked_by_hash_and_size() {
        let manifest: Manifest = serde_json::from_value(serde_json::json!({
            "format_version": 2, "name": "m", "version": "1", "task": "t",
            "config_sha256": "", "data": {}, "seed": 1, "backend": "flex",
            "versions": {}, "metrics": {},
            "files": {
                "a.bin": {"sha256": "aa", "bytes": 1},
                "b.bin": {"sha256": "bb", "bytes": 2},
                "c.bin": {"sha256": "cc", "bytes": 3},
                "d": {"sha256": "dd", "bytes": 4},
                "../x": {"sha256": "ee", "bytes": 5},
                "MLmodel": {"sha256": "ff", "bytes": 6}
            }
        }))
        .unwrap();
        let entries = BTreeMap::from([
            ("a.bin".to_string(), stat(1, "aa")),
            ("b.bin".to_string(), stat(3, "bb")),
            ("d".to_string(), Present::Folder),
            ("extra".to_string(), stat(1, "00")),
            ("sub".to_string(), Present::Folder),
        ]);
        let mut found = Findings::default();
        let members = check_listed(&manifest, &entries, &mut found);
        assert_eq!(members, ["a.bin", "b.bin", "c.bin", "d"]);
        check_unlisted(&entries, &members, &mut found);
        let said: Vec<String> = found.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "manifest.json: lists \"../x\", which is not a plain file name in the artifact folder",
                "manifest.json: lists MLmodel, which a manifest cannot list",
                "b.bin: modified (sha256 bb, 3 bytes; manifest says bb, 2 bytes)",
                "c.bin: missing",
                "d: is a folder, expected a file",
                "extra: not listed in the manifest",
                "sub: a folder, not part of the artifact",
            ]
        );
    }

    #[test]
    fn the_manifest_text_must_be_a_kept_utf8_file() {
        let mut found = Findings::default();
        let entries = BTreeMap::from([("manifest.json".to_string(), stat(9, "00"))]);
        let contents = BTreeMap::new();
        assert_eq!(manifest_text(&entries, &contents, &mut found), None);
        let contents = BTreeMap::from([("manifest.json".to_string(), vec![0xff])]);
        assert_eq!(manifest_text(&entries, &contents, &mut found), None);
        let contents = BTreeMap::from([("manifest.json".to_string(), b"{}".to_vec())]);
        assert_eq!(manifest_text(&entries, &contents, &mut found), Some("{}"));
        let said: Vec<String> = found.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "manifest.json: is 9 bytes, too large for a manifest",
                "manifest.json: is not UTF-8 text: invalid utf-8 sequence of 1 bytes from index 0",
            ]
        );
    }

    #[test]
    fn a_future_manifest_is_an_error_not_a_finding() {
        let mut l = Listing::default();
        let text = b"{\"format_version\": 99}";
        l.add_reader("manifest.json", &mut &text[..], None, None)
            .unwrap();
        let e = check(l, Path::new("a"), None).unwrap_err().to_string();
        assert!(
            e.starts_with("artifact a has format_version 99, but"),
            "{e}"
        );
    }

    #[test]
    fn no_manifest_is_a_finding() {
        let mut l = Listing::default();
        l.add_reader("x.bin", &mut &b"1"[..], None, None).unwrap();
        let r = check(l, Path::new("a"), None).unwrap();
        assert_eq!(r.summary(), "manifest.json: missing");
    }
}
