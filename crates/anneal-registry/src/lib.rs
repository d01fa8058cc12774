//! A local model registry over a directory, in the manner of MLflow's:
//! immutable versions keyed by artifact id, numbered in push order, and
//! movable aliases (`champion`, `candidate`, ...) that name one version each.
//!
//! # Layout
//!
//! ```text
//! <root>/
//!   .lock                          write lock: an OS lock on this file (which exists only
//!                                    while held) and, for messages, who holds it
//!   models/<name>/
//!     index.json                   canonical JSON: {format_version, name, versions: [
//!                                    {number, id, version, task, metrics, pushed_at}, ...]}
//!                                    in push order (number 1, 2, ...)
//!     versions/<id>/               a verified copy of the artifact: manifest.json, every
//!                                    file it lists and MLmodel, read-only, never changed
//!     aliases/<alias>              one line: the id of the version the alias names
//! ```
//!
//! The root is `--registry DIR`, else `$ANNEAL_REGISTRY`, else
//! `~/.anneal/registry` ([`Registry::default_root`]); it is created by the
//! first push. Model names and aliases are 1 to 64 characters from
//! `[A-Za-z0-9._-]`, not starting with `.`, so they never collide with the
//! registry's own dot-files (`.lock`, temporary `.<name>.<pid>-<n>-<random>.tmp`).
//!
//! # References
//!
//! `NAME` (the latest version), `NAME@ALIAS`, `NAME:vN`, and `NAME:<id
//! prefix>` (at least 8 hex characters, unique among the model's versions).
//!
//! # Consistency
//!
//! - A push verifies the artifact (`Artifact::load`: every file hash and the
//!   id) and refuses a folder holding anything but regular files that belong
//!   to it (`manifest.json`, the files it lists, `MLmodel`): a symbolic link
//!   or an unlisted entry is named, and nothing is written. It then copies
//!   those files (never following a link) into a new temporary sibling
//!   folder, fsyncs, verifies the copy again and renames it to
//!   `versions/<id>` while holding the lock. Pushing an id the model already
//!   has changes nothing and reports the existing version.
//! - `index.json` and alias files are only replaced by fsynced temporary
//!   files renamed into place ([`anneal_core::fsio::atomic_write`]), under
//!   the lock ([`lock`]), so concurrent pushes and alias moves serialise and
//!   readers, which take no lock, always see a complete state.
//! - Alias files are read before the index: an alias is only written after
//!   the version it names is in the index, and indexes only grow.
//! - Temporary files and folders untouched for a day (left by a process that
//!   died: no pid is checked, as it may run in another container) are
//!   removed by the next write to the same model.
//! - Index entries whose id is not a SHA-256 are damage, named with the
//!   index file.
//!
//! # Errors
//!
//! [`RegistryError::exit_code`]: 2 for a bad name or reference, one that
//! names nothing that exists, or `pull` into an existing folder; 3 for a
//! damaged registry or artifact (including a tampered artifact, a link or
//! an unlisted file at push); 1 for I/O failures and a lock still held
//! after the wait.

pub mod error;
pub mod lock;
pub mod reference;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anneal_artifact::{Artifact, ArtifactError, Manifest};
use anneal_core::fsio;
use anneal_core::metric::{Metric, MetricTask};
use anneal_core::staged::{Existing, StageError, StagedDir};
use serde::{Deserialize, Serialize};

pub use error::{RegistryError, Result};
pub use reference::{MIN_ID_PREFIX, Reference, Selector, parse_alias_ref, validate_name};

use error::io;

/// The `index.json` layout this anneal writes and reads.
pub const INDEX_FORMAT_VERSION: u32 = 1;
/// How long a writer waits for the lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

const MODELS: &str = "models";
const VERSIONS: &str = "versions";
const ALIASES: &str = "aliases";
const INDEX: &str = "index.json";

/// A registry rooted at a directory (which need not exist until the first
/// push).
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
    lock_timeout: Duration,
}

/// One version as a reference resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedVersion {
    pub name: String,
    /// The version number: `N` of `NAME:vN`.
    pub number: u32,
    /// The artifact id.
    pub id: String,
    /// The stored artifact folder (`versions/<id>`), ready for
    /// `Artifact::load`.
    pub path: PathBuf,
}

/// One line of `index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionEntry {
    pub number: u32,
    pub id: String,
    /// The artifact's semantic version (its manifest `version`).
    pub version: String,
    #[serde(default)]
    pub task: String,
    /// The artifact's headline metrics, `split -> metric -> value`.
    #[serde(default)]
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
    /// When it was pushed (UTC, RFC 3339).
    #[serde(default)]
    pub pushed_at: String,
}

impl VersionEntry {
    /// Test accuracy, else test R², when present.
    pub fn headline(&self) -> Option<(&'static str, f64)> {
        let test = self.metrics.get("test")?;
        [MetricTask::Classification, MetricTask::Regression]
            .into_iter()
            .map(|t| Metric::headline(t).name())
            .find_map(|k| test.get(k).map(|v| (k, *v)))
    }

    /// The first 12 characters of the id.
    pub fn short_id(&self) -> &str {
        short(&self.id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Index {
    format_version: u32,
    name: String,
    versions: Vec<VersionEntry>,
}

impl Index {
    fn find_id(&self, id: &str) -> Option<&VersionEntry> {
        self.versions.iter().find(|v| v.id == id)
    }
    fn next_number(&self) -> u32 {
        self.versions.iter().map(|v| v.number).max().unwrap_or(0) + 1
    }
}

/// A model: its versions in push order and its aliases (alias -> number).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    pub versions: Vec<VersionEntry>,
    pub aliases: BTreeMap<String, u32>,
}

impl ModelInfo {
    pub fn latest(&self) -> Option<&VersionEntry> {
        self.versions.iter().max_by_key(|v| v.number)
    }
    /// The aliases that name version `number`.
    pub fn aliases_of(&self, number: u32) -> Vec<&str> {
        self.aliases
            .iter()
            .filter(|(_, n)| **n == number)
            .map(|(a, _)| a.as_str())
            .collect()
    }
}

/// What `show` prints: the version, its index entry, its aliases and its
/// manifest.
#[derive(Debug, Clone)]
pub struct VersionDetails {
    pub version: ResolvedVersion,
    pub entry: VersionEntry,
    pub aliases: Vec<String>,
    pub manifest: Manifest,
}

/// The outcome of a push.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub version: ResolvedVersion,
    /// False when the model already held this id (nothing was copied).
    pub created: bool,
    pub aliases: Vec<AliasChange>,
}

/// An alias set (or moved) to a version.
#[derive(Debug, Clone)]
pub struct AliasChange {
    pub name: String,
    pub alias: String,
    /// The version it named before, if any.
    pub previous: Option<u32>,
    pub now: ResolvedVersion,
}

impl Registry {
    /// A registry at `root`. Nothing is created until the first push; a
    /// missing root reads as an empty registry.
    pub fn open(root: impl AsRef<Path>) -> Result<Registry> {
        let root = root.as_ref().to_path_buf();
        if root.exists() && !root.is_dir() {
            return Err(RegistryError::Io {
                action: "open registry",
                path: root,
                source: std::io::Error::other("not a folder"),
            });
        }
        Ok(Registry {
            root,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        })
    }

    /// `$ANNEAL_REGISTRY`, else `~/.anneal/registry`.
    pub fn default_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("ANNEAL_REGISTRY").filter(|v| !v.is_empty()) {
            return PathBuf::from(dir);
        }
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        home.join(".anneal").join("registry")
    }

    /// How long writers wait for the lock before giving up.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Registry {
        self.lock_timeout = timeout;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn model_dir(&self, name: &str) -> PathBuf {
        self.root.join(MODELS).join(name)
    }

    fn version_path(&self, name: &str, id: &str) -> PathBuf {
        self.model_dir(name).join(VERSIONS).join(id)
    }

    fn read_index(&self, name: &str) -> Result<Option<Index>> {
        let path = self.model_dir(name).join(INDEX);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("read", &path)(e)),
        };
        let corrupt = |reason: String| RegistryError::Corrupt {
            path: path.clone(),
            reason,
        };
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("not a valid index: {e}")))?;
        if index.format_version > INDEX_FORMAT_VERSION {
            return Err(corrupt(format!(
                "format_version {} is newer than this anneal reads ({INDEX_FORMAT_VERSION}); upgrade anneal",
                index.format_version
            )));
        }
        // Every id is later shortened, used as a folder name and matched
        // by prefix: anything but a SHA-256 is damage, named here.
        if let Some(v) = index.versions.iter().find(|v| !is_artifact_id(&v.id)) {
            return Err(corrupt(format!(
                "version v{} has id {:?}, expected 64 lowercase hex characters (a SHA-256)",
                v.number, v.id
            )));
        }
        Ok(Some(index))
    }

    fn require_index(&self, name: &str) -> Result<Index> {
        validate_name("model name", name)?;
        match self.read_index(name)? {
            Some(index) => Ok(index),
            None => {
                let names = self.model_names()?;
                Err(RegistryError::UnknownModel {
                    name: name.to_string(),
                    root: self.root.clone(),
                    known: if names.is_empty() {
                        "it holds no models".to_string()
                    } else {
                        format!("models: {}", names.join(", "))
                    },
                })
            }
        }
    }

    fn write_index(&self, index: &Index) -> Result<()> {
        let text = anneal_core::json::to_canonical_string(index, "index.json")?;
        fsio::atomic_write(&self.model_dir(&index.name).join(INDEX), text.as_bytes())?;
        Ok(())
    }

    /// The names of every model (those with an index), sorted.
    pub fn model_names(&self) -> Result<Vec<String>> {
        let dir = self.root.join(MODELS);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("read", &dir)(e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("read", &dir))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if validate_name("model name", &name).is_ok() && entry.path().join(INDEX).is_file() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Alias -> id, straight from the alias files.
    fn alias_ids(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let dir = self.model_dir(name).join(ALIASES);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(io("read", &dir)(e)),
        };
        let mut out = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(io("read", &dir))?;
            let Ok(alias) = entry.file_name().into_string() else {
                continue;
            };
            if validate_name("alias", &alias).is_err() {
                continue;
            }
            match fs::read_to_string(entry.path()) {
                Ok(text) => {
                    out.insert(alias, text.trim().to_string());
                }
                // Deleted between the listing and the read.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("read", &entry.path())(e)),
            }
        }
        Ok(out)
    }

    fn alias_number(&self, name: &str, alias: &str, id: &str, index: &Index) -> Result<u32> {
        index
            .find_id(id)
            .map(|v| v.number)
            .ok_or_else(|| RegistryError::Corrupt {
                path: self.model_dir(name).join(ALIASES).join(alias),
                reason: format!(
                    "alias {name}@{alias} names id {id:?}, which is not a version of {name}"
                ),
            })
    }

    /// One model: its versions (push order) and aliases.
    pub fn model(&self, name: &str) -> Result<ModelInfo> {
        validate_name("model name", name)?;
        // Aliases first: every id they name is already in the index.
        let ids = self.alias_ids(name)?;
        let index = self.require_index(name)?;
        let mut aliases = BTreeMap::new();
        for (alias, id) in ids {
            let n = self.alias_number(name, &alias, &id, &index)?;
            aliases.insert(alias, n);
        }
        Ok(ModelInfo {
            name: name.to_string(),
            versions: index.versions,
            aliases,
        })
    }

    /// Every model, by name.
    pub fn list(&self) -> Result<Vec<ModelInfo>> {
        self.model_names()?
            .iter()
            .map(|name| self.model(name))
            .collect()
    }

    /// The versions of `name`, in push order.
    pub fn versions(&self, name: &str) -> Result<Vec<VersionEntry>> {
        Ok(self.require_index(name)?.versions)
    }

    /// Alias -> version number for `name`.
    pub fn aliases(&self, name: &str) -> Result<BTreeMap<String, u32>> {
        Ok(self.model(name)?.aliases)
    }

    /// Resolves `NAME`, `NAME@ALIAS`, `NAME:vN` or `NAME:<id prefix>`.
    pub fn resolve(&self, reference: &str) -> Result<ResolvedVersion> {
        self.resolve_ref(&Reference::parse(reference)?)
    }

    pub fn resolve_ref(&self, r: &Reference) -> Result<ResolvedVersion> {
        Ok(self.resolve_entry(r)?.0)
    }

    fn resolve_entry(&self, r: &Reference) -> Result<(ResolvedVersion, VersionEntry)> {
        let name = &r.name;
        // Read an alias before the index (see the crate docs).
        let alias_id = match &r.selector {
            Selector::Alias(alias) => {
                let path = self.model_dir(name).join(ALIASES).join(alias);
                match fs::read_to_string(&path) {
                    Ok(text) => Some(text.trim().to_string()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(io("read", &path)(e)),
                }
            }
            _ => None,
        };
        let index = self.require_index(name)?;
        let entry = match &r.selector {
            Selector::Latest => {
                index
                    .versions
                    .iter()
                    .max_by_key(|v| v.number)
                    .ok_or_else(|| RegistryError::UnknownVersion {
                        name: name.clone(),
                        what: "at all".into(),
                        known: "its index is empty".into(),
                    })?
            }
            Selector::Alias(alias) => {
                let Some(id) = alias_id else {
                    return Err(self.unknown_alias(name, alias)?);
                };
                let n = self.alias_number(name, alias, &id, &index)?;
                index
                    .versions
                    .iter()
                    .find(|v| v.number == n)
                    .ok_or_else(|| RegistryError::UnknownVersion {
                        name: name.clone(),
                        what: format!("v{n} (alias {alias})"),
                        known: "the index changed while it was read; retry".into(),
                    })?
            }
            Selector::Number(n) => {
                index
                    .versions
                    .iter()
                    .find(|v| v.number == *n)
                    .ok_or_else(|| RegistryError::UnknownVersion {
                        name: name.clone(),
                        what: format!("v{n}"),
                        known: span(&index),
                    })?
            }
            Selector::Id(prefix) => {
                let matches: Vec<&VersionEntry> = index
                    .versions
                    .iter()
                    .filter(|v| v.id.starts_with(prefix.as_str()))
                    .collect();
                match matches.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(RegistryError::UnknownVersion {
                            name: name.clone(),
                            what: format!("with id prefix {prefix}"),
                            known: format!("versions: {}", numbered_ids(index.versions.iter())),
                        });
                    }
                    many => {
                        return Err(RegistryError::AmbiguousId {
                            name: name.clone(),
                            prefix: prefix.clone(),
                            matches: numbered_ids(many.iter().copied()),
                        });
                    }
                }
            }
        };
        Ok((
            ResolvedVersion {
                name: name.clone(),
                number: entry.number,
                id: entry.id.clone(),
                path: self.version_path(name, &entry.id),
            },
            entry.clone(),
        ))
    }

    fn unknown_alias(&self, name: &str, alias: &str) -> Result<RegistryError> {
        let known = self.alias_ids(name)?;
        Ok(RegistryError::UnknownAlias {
            name: name.to_string(),
            alias: alias.to_string(),
            known: if known.is_empty() {
                "it has no aliases".into()
            } else {
                format!(
                    "aliases: {}",
                    known.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            },
        })
    }

    /// A version with its index entry, aliases and manifest.
    pub fn details(&self, reference: &str) -> Result<VersionDetails> {
        let (version, entry) = self.resolve_entry(&Reference::parse(reference)?)?;
        let info = self.model(&version.name)?;
        let path = version.path.join("manifest.json");
        let corrupt = |reason: String| RegistryError::Corrupt {
            path: path.clone(),
            reason,
        };
        // Not a file the loader has checked: refuse a pipe or a device
        // rather than block on it or read it without end.
        let (mut file, len) = fsio::open_regular(&path, true).map_err(|e| match e {
            fsio::NotRegular::Io(e) => corrupt(format!("cannot read: {e}")),
            other => corrupt(other.to_string()),
        })?;
        let text =
            fsio::read_limited(&mut file, len).map_err(|e| corrupt(format!("cannot read: {e}")))?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|e| corrupt(format!("not a valid manifest: {e}")))?;
        if manifest.id != version.id {
            return Err(corrupt(format!(
                "the manifest's id {} is not the version's id {}",
                manifest.id, version.id
            )));
        }
        Ok(VersionDetails {
            aliases: info
                .aliases_of(version.number)
                .into_iter()
                .map(str::to_string)
                .collect(),
            version,
            entry,
            manifest,
        })
    }

    /// Stores the artifact at `artifact` (a folder, or an archive
    /// [`anneal_artifact::resolve`] unpacks) as a version of `name` (default:
    /// the manifest's name) and points `aliases` at it. An id the model
    /// already holds is not stored again.
    pub fn push(&self, artifact: &Path, name: Option<&str>, aliases: &[String]) -> Result<Pushed> {
        if let Some(name) = name {
            validate_name("model name", name)?;
        }
        for alias in aliases {
            validate_name("alias", alias)?;
        }
        let dir = anneal_artifact::resolve(artifact)?;
        let manifest = load(&dir)?;
        // What the loader followed (links) or never looked at (extra
        // files) must not reach a shared registry.
        check_entries(&dir, &manifest)?;
        let name = name.unwrap_or(&manifest.name).to_string();
        validate_name("model name", &name)?;
        let id = manifest.id.clone();
        let model_dir = self.model_dir(&name);
        let versions_dir = model_dir.join(VERSIONS);
        fsio::create_dir_all_synced(&versions_dir).map_err(io("create", &versions_dir))?;
        let final_dir = versions_dir.join(&id);

        let copy = |tmp: &Path| copy_verified(&dir, &manifest, tmp, true);
        // The copy happens outside the lock unless the id is already there.
        let stored = self
            .read_index(&name)?
            .is_some_and(|i| i.find_id(&id).is_some());
        let mut tmp = None;
        if !stored {
            let t = stage(&final_dir)?;
            copy(t.path())?;
            tmp = Some(t);
        }

        let _lock = lock::acquire(&self.root, self.lock_timeout)?;
        for d in [&model_dir, &versions_dir, &model_dir.join(ALIASES)] {
            sweep(d);
        }
        let mut index = self.read_index(&name)?.unwrap_or_else(|| Index {
            format_version: INDEX_FORMAT_VERSION,
            name: name.clone(),
            versions: Vec::new(),
        });
        let (entry, created) = match index.find_id(&id) {
            Some(entry) => (entry.clone(), false),
            None => {
                let tmp = match tmp.take() {
                    Some(t) => t,
                    None => {
                        let t = stage(&final_dir)?;
                        copy(t.path())?;
                        t
                    }
                };
                // A folder already there was left by a push that died
                // between the rename and the index update: not a version
                // yet, so replaceable.
                tmp.commit(Existing::Replace).map_err(|e| match e {
                    StageError::Replace { path, source } => io("remove", &path)(source),
                    e => io("rename into place", &final_dir)(e.into_io()),
                })?;
                let entry = VersionEntry {
                    number: index.next_number(),
                    id: id.clone(),
                    version: manifest.version.clone(),
                    task: manifest.task.clone(),
                    metrics: finite(&manifest.metrics),
                    pushed_at: utc_now(),
                };
                index.versions.push(entry.clone());
                self.write_index(&index)?;
                (entry, true)
            }
        };
        let version = ResolvedVersion {
            name: name.clone(),
            number: entry.number,
            id: id.clone(),
            path: final_dir,
        };
        let mut changes = Vec::new();
        for alias in aliases {
            changes.push(self.write_alias(&index, alias, &version)?);
        }
        Ok(Pushed {
            version,
            created,
            aliases: changes,
        })
    }

    /// Writes an alias file; the caller holds the lock.
    fn write_alias(&self, index: &Index, alias: &str, to: &ResolvedVersion) -> Result<AliasChange> {
        let path = self.model_dir(&index.name).join(ALIASES).join(alias);
        let previous = match fs::read_to_string(&path) {
            Ok(text) => index.find_id(text.trim()).map(|v| v.number),
            Err(_) => None,
        };
        fsio::atomic_write(&path, format!("{}\n", to.id).as_bytes())?;
        Ok(AliasChange {
            name: index.name.clone(),
            alias: alias.to_string(),
            previous,
            now: to.clone(),
        })
    }

    /// Points `name@alias` at `target` (a reference to a version of the
    /// same model: `NAME:vN`, `NAME:<id>`, `NAME@OTHER` or `NAME`).
    pub fn set_alias(&self, name: &str, alias: &str, target: &str) -> Result<AliasChange> {
        validate_name("model name", name)?;
        validate_name("alias", alias)?;
        let target_ref = Reference::parse(target)?;
        if target_ref.name != name {
            return Err(RegistryError::OtherModel {
                alias: format!("{name}@{alias}"),
                target: target.to_string(),
            });
        }
        // Checked before locking too, so that a missing registry is not
        // created.
        self.require_index(name)?;
        let _lock = lock::acquire(&self.root, self.lock_timeout)?;
        let version = self.resolve_ref(&target_ref)?;
        let index = self.require_index(name)?;
        sweep(&self.model_dir(name).join(ALIASES));
        self.write_alias(&index, alias, &version)
    }

    /// Removes `name@alias`; returns the version number it named (none if
    /// it named an id that is not in the index, which is how a damaged
    /// alias is removed).
    pub fn delete_alias(&self, name: &str, alias: &str) -> Result<Option<u32>> {
        validate_name("model name", name)?;
        validate_name("alias", alias)?;
        self.require_index(name)?;
        let _lock = lock::acquire(&self.root, self.lock_timeout)?;
        let index = self.require_index(name)?;
        let dir = self.model_dir(name).join(ALIASES);
        let path = dir.join(alias);
        let id = match fs::read_to_string(&path) {
            Ok(text) => text.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(self.unknown_alias(name, alias)?);
            }
            Err(e) => return Err(io("read", &path)(e)),
        };
        fs::remove_file(&path).map_err(io("remove", &path))?;
        fsio::sync_dir(&dir);
        Ok(index.find_id(&id).map(|v| v.number))
    }

    /// Copies the version `reference` names to a new folder `out` (created
    /// beside itself and renamed into place, so it appears complete or not
    /// at all) and verifies the copy.
    pub fn pull(&self, reference: &str, out: &Path) -> Result<ResolvedVersion> {
        if out.symlink_metadata().is_ok() {
            return Err(RegistryError::Exists {
                path: out.to_path_buf(),
            });
        }
        let version = self.resolve(reference)?;
        // The stored copy first, so that damage names the registry.
        let manifest = load(&version.path)?;
        if manifest.id != version.id {
            return Err(RegistryError::Corrupt {
                path: version.path.join("manifest.json"),
                reason: format!(
                    "the manifest's id {} is not the version's id {}",
                    manifest.id, version.id
                ),
            });
        }
        check_entries(&version.path, &manifest)?;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fsio::create_dir_all_synced(&parent).map_err(io("create", &parent))?;
        let tmp = stage(out)?;
        copy_verified(&version.path, &manifest, tmp.path(), false)?;
        tmp.commit(Existing::Refuse).map_err(|e| match e {
            StageError::Exists { path } => RegistryError::Exists { path },
            e => io("rename into place", out)(e.into_io()),
        })?;
        Ok(version)
    }
}

/// "versions: v1 to v3" (or "versions: v1").
fn span(index: &Index) -> String {
    let numbers: Vec<u32> = index.versions.iter().map(|v| v.number).collect();
    match (numbers.iter().min(), numbers.iter().max()) {
        (Some(a), Some(b)) if a == b => format!("versions: v{a}"),
        (Some(a), Some(b)) => format!("versions: v{a} to v{b}"),
        _ => "it has no versions".into(),
    }
}

/// "v1 326ff8119dcc, v2 0a1b2c3d4e5f" (at most 20, then a count).
fn numbered_ids<'a>(entries: impl Iterator<Item = &'a VersionEntry>) -> String {
    let all: Vec<String> = entries
        .map(|v| format!("v{} {}", v.number, v.short_id()))
        .collect();
    if all.len() > 20 {
        format!("{}, and {} more", all[..20].join(", "), all.len() - 20)
    } else {
        all.join(", ")
    }
}

fn short(id: &str) -> &str {
    anneal_core::hash::short_id(id)
}

/// An artifact id: 64 lowercase hex characters.
fn is_artifact_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn finite(
    metrics: &BTreeMap<String, BTreeMap<String, f64>>,
) -> BTreeMap<String, BTreeMap<String, f64>> {
    metrics
        .iter()
        .map(|(split, m)| {
            (
                split.clone(),
                m.iter()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(k, v)| (k.clone(), *v))
                    .collect(),
            )
        })
        .collect()
}

/// Copies the artifact at `src` (whose verified manifest is `manifest`)
/// into the new folder `dst`: `manifest.json`, the files it lists and its
/// derived files, nothing else. Each file is fsynced, then the copy is
/// verified (`Artifact::load`: every hash, the id, derived files) and
/// checked to be the same artifact: `src` may have changed since it was
/// verified.
fn copy_verified(src: &Path, manifest: &Manifest, dst: &Path, read_only: bool) -> Result<()> {
    for name in members(manifest) {
        copy_file(src, &name, dst, read_only)?;
    }
    fsio::sync_dir(dst);
    let copied = load(dst)?;
    if copied.id != manifest.id {
        return Err(RegistryError::Artifact(ArtifactError::Corrupt {
            path: src.to_path_buf(),
            file: "manifest.json".into(),
            reason: format!(
                "changed while it was being copied (id {}, now {})",
                manifest.id, copied.id
            ),
        }));
    }
    Ok(())
}

/// The names an artifact folder holds: `manifest.json`, every file the
/// manifest lists, and the files derived from it (`MLmodel`, format 2).
fn members(manifest: &Manifest) -> Vec<String> {
    let derived = anneal_artifact::verify::unlisted_members(manifest.format_version);
    derived
        .iter()
        .map(|n| n.to_string())
        .chain(manifest.files.keys().cloned())
        .collect()
}

/// Checks that every entry of the artifact folder `dir` is a regular file
/// (not a link, even to one) that belongs to the artifact, naming the first
/// that is not: `push` copies exactly the artifact's own files, so an
/// unlisted file or a link (say, to `~/.ssh`) is refused, not carried into
/// a shared registry.
fn check_entries(dir: &Path, manifest: &Manifest) -> Result<()> {
    let refuse = |file: String, reason: String| {
        RegistryError::Artifact(ArtifactError::Corrupt {
            path: dir.to_path_buf(),
            file,
            reason,
        })
    };
    let members = members(manifest);
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(io("read", dir))?
        .collect::<std::io::Result<_>>()
        .map_err(io("read", dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let kind = fs::symlink_metadata(&path)
            .map_err(io("read", &path))?
            .file_type();
        if kind.is_symlink() {
            let target = fs::read_link(&path).unwrap_or_default();
            return Err(refuse(
                name,
                format!(
                    "is a symbolic link (to {}); the registry stores regular files only",
                    target.display()
                ),
            ));
        }
        if !members.contains(&name) {
            return Err(refuse(
                name,
                "is not listed in the manifest; the registry stores only the artifact's own files (remove it)"
                    .into(),
            ));
        }
        if !kind.is_file() {
            let what = anneal_core::fsio::kind_of(&kind);
            return Err(refuse(name, format!("is {what}, not a regular file")));
        }
    }
    Ok(())
}

/// Copies `src/name` to a new file `dst/name`, never following a link at
/// either end, and fsyncs it.
fn copy_file(src: &Path, name: &str, dst: &Path, read_only: bool) -> Result<()> {
    use std::io::Write;
    let from = src.join(name);
    let to = dst.join(name);
    let (mut input, len) = fsio::open_regular(&from, false).map_err(|e| {
        RegistryError::Artifact(ArtifactError::Corrupt {
            path: src.to_path_buf(),
            file: name.to_string(),
            reason: e.to_string(),
        })
    })?;
    let bytes = fsio::read_limited(&mut input, len).map_err(io("read", &from))?;
    let mut file = fs::File::create_new(&to).map_err(io("create", &to))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(io("write", &to))?;
    if read_only {
        let mut perms = file.metadata().map_err(io("read", &to))?.permissions();
        perms.set_readonly(true);
        fs::set_permissions(&to, perms).map_err(io("write", &to))?;
    }
    Ok(())
}

/// Verifies the artifact folder `dir` (`Artifact::load` on the CPU: every
/// hash, the id, the derived files and golden examples) and returns its
/// manifest.
fn load(dir: &Path) -> Result<Manifest> {
    let device = anneal_model::device(anneal_config::Backend::Flex)?;
    Ok(Artifact::load(dir, device)?.manifest)
}

/// A new staging folder beside `target`, removed unless committed.
fn stage(target: &Path) -> Result<StagedDir> {
    StagedDir::new(target).map_err(|e| io("create a folder beside", target)(e.into_io()))
}

/// How long a temporary file or folder must have been left untouched
/// before a writer removes it. Its owner may live in another container or
/// on another NFS client, where no pid can be checked, so only age tells;
/// a push touches its folder as every file lands, far more often than this.
const TEMP_STALE: Duration = Duration::from_secs(24 * 3600);

/// Removes temporary files and folders (`.<name>.<unique>.tmp`, see
/// [`fsio::temp_sibling`]) that nothing has touched for [`TEMP_STALE`].
/// Best effort; the caller holds the lock.
fn sweep(dir: &Path) {
    sweep_older_than(dir, TEMP_STALE);
}

fn sweep_older_than(dir: &Path, stale: Duration) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let path = entry.path();
        if untouched_for(&path).is_none_or(|age| age < stale) {
            continue;
        }
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => drop(fs::remove_dir_all(&path)),
            Ok(_) => drop(fs::remove_file(&path)),
            Err(_) => {}
        }
    }
}

/// Time since `path` (or, for a folder, anything directly in it) was last
/// modified.
fn untouched_for(path: &Path) -> Option<Duration> {
    let mut newest = fs::symlink_metadata(path).ok()?.modified().ok()?;
    if let Ok(entries) = fs::read_dir(path) {
        for m in entries.flatten().filter_map(|e| e.metadata().ok()) {
            newest = newest.max(m.modified().ok()?);
        }
    }
    Some(
        std::time::SystemTime::now()
            .duration_since(newest)
            .unwrap_or_default(),
    )
}

/// The current UTC time as RFC 3339 (seconds).
fn utc_now() -> String {
    anneal_core::time::utc_now()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("anneal-registry-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn entry(number: u32, id: &str) -> VersionEntry {
        VersionEntry {
            number,
            id: id.to_string(),
            version: "1.0.0".into(),
            task: "multiclass".into(),
            metrics: BTreeMap::from([(
                "test".to_string(),
                BTreeMap::from([("accuracy".to_string(), 0.5)]),
            )]),
            pushed_at: String::new(),
        }
    }

    /// A registry written by hand: ids that share a prefix cannot be had
    /// from real artifacts.
    fn fixture(name: &str) -> Registry {
        let root = scratch(name);
        let reg = Registry::open(&root).unwrap();
        let a = format!("aaaaaaaa1111{}", "0".repeat(52));
        let b = format!("aaaaaaaa2222{}", "0".repeat(52));
        let c = format!("bbbbbbbb3333{}", "0".repeat(52));
        reg.write_index(&Index {
            format_version: 1,
            name: "m".into(),
            versions: vec![entry(1, &a), entry(2, &b), entry(3, &c)],
        })
        .unwrap();
        fsio::atomic_write(
            &reg.model_dir("m").join("aliases/champion"),
            format!("{b}\n").as_bytes(),
        )
        .unwrap();
        reg
    }

    #[test]
    fn resolves_every_form() {
        let reg = fixture("forms");
        let n = |r: &str| reg.resolve(r).unwrap().number;
        assert_eq!(n("m"), 3);
        assert_eq!(n("m:v1"), 1);
        assert_eq!(n("m@champion"), 2);
        assert_eq!(n("m:aaaaaaaa1"), 1);
        assert_eq!(n("m:BBBBBBBB"), 3);
        let path = reg.resolve("m:v2").unwrap().path;
        assert!(path.ends_with(format!("models/m/versions/aaaaaaaa2222{}", "0".repeat(52))));
        let e = |r: &str| reg.resolve(r).unwrap_err();
        assert_eq!(
            e("m:aaaaaaaa").to_string(),
            "id prefix aaaaaaaa of model m is ambiguous: it matches v1 aaaaaaaa1111, v2 aaaaaaaa2222; give more characters"
        );
        assert_eq!(e("m:aaaaaaaa").failure(), anneal_core::Failure::Usage);
        assert_eq!(
            e("m:cccccccc").to_string(),
            "model m has no version with id prefix cccccccc; versions: v1 aaaaaaaa1111, v2 aaaaaaaa2222, v3 bbbbbbbb3333"
        );
        assert_eq!(
            e("m:v4").to_string(),
            "model m has no version v4; versions: v1 to v3"
        );
        assert_eq!(
            e("m@prod").to_string(),
            "model m has no alias \"prod\"; aliases: champion"
        );
        assert_eq!(
            e("x").to_string(),
            format!(
                "no model \"x\" in registry {}; models: m",
                reg.root().display()
            )
        );
        let info = reg.model("m").unwrap();
        assert_eq!(info.aliases_of(2), vec!["champion"]);
        assert_eq!(info.latest().unwrap().headline(), Some(("accuracy", 0.5)));
        fs::remove_dir_all(reg.root()).unwrap();
    }

    #[test]
    fn alias_to_a_missing_version_is_corruption() {
        let reg = fixture("dangling");
        fsio::atomic_write(&reg.model_dir("m").join("aliases/old"), b"ffffffff\n").unwrap();
        let err = reg.resolve("m@old").unwrap_err();
        assert_eq!(reg.delete_alias("m", "old").unwrap(), None);
        assert_eq!(err.failure(), anneal_core::Failure::Data);
        assert_eq!(
            err.to_string(),
            format!(
                "registry {}: alias m@old names id \"ffffffff\", which is not a version of m",
                reg.model_dir("m").join("aliases/old").display()
            )
        );
        fs::remove_dir_all(reg.root()).unwrap();
    }

    #[test]
    fn alias_moves_and_deletes() {
        let reg = fixture("alias");
        let c = reg.set_alias("m", "candidate", "m:v1").unwrap();
        assert_eq!((c.previous, c.now.number), (None, 1));
        let c = reg.set_alias("m", "candidate", "m@champion").unwrap();
        assert_eq!((c.previous, c.now.number), (Some(1), 2));
        assert_eq!(reg.delete_alias("m", "candidate").unwrap(), Some(2));
        assert!(matches!(
            reg.delete_alias("m", "candidate").unwrap_err(),
            RegistryError::UnknownAlias { .. }
        ));
        let err = reg.set_alias("m", "x", "other:v1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "alias m@x cannot point at other:v1: aliases point at versions of their own model"
        );
        let left: Vec<String> = fs::read_dir(reg.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, vec!["models"]);
        fs::remove_dir_all(reg.root()).unwrap();
    }

    #[test]
    fn missing_root_is_empty() {
        let reg = Registry::open(scratch("missing")).unwrap();
        assert!(reg.list().unwrap().is_empty());
        assert_eq!(
            reg.resolve("iris").unwrap_err().to_string(),
            format!(
                "no model \"iris\" in registry {}; it holds no models",
                reg.root().display()
            )
        );
    }

    #[test]
    fn sweeps_only_untouched_temps() {
        let dir = scratch("sweep");
        fs::create_dir_all(&dir).unwrap();
        let old_dir = dir.join(".abc.1-0-00.tmp");
        fs::create_dir_all(&old_dir).unwrap();
        fs::write(dir.join(".index.json.1-1-00.tmp"), b"x").unwrap();
        fs::write(dir.join("champion"), b"x").unwrap();
        // Nothing is old enough for a day...
        sweep(&dir);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 3);
        // ... everything temporary is for no time at all.
        std::thread::sleep(Duration::from_millis(20));
        sweep_older_than(&dir, Duration::from_millis(10));
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, vec!["champion".to_string()]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_id_in_the_index_is_named_not_a_panic() {
        for bad in ["é".repeat(13), "abc".to_string(), "Z".repeat(64)] {
            let reg = fixture("bad-id");
            let path = reg.model_dir("m").join(INDEX);
            let text = fs::read_to_string(&path).unwrap();
            let first = format!("aaaaaaaa1111{}", "0".repeat(52));
            fs::write(&path, text.replace(&first, &bad)).unwrap();
            for r in ["m", "m:v1", "m:aaaaaaaa2222"] {
                let err = reg.resolve(r).unwrap_err();
                assert_eq!(err.failure(), anneal_core::Failure::Data);
                assert_eq!(
                    err.to_string(),
                    format!(
                        "registry {}: version v1 has id {bad:?}, expected 64 lowercase hex characters (a SHA-256)",
                        path.display()
                    )
                );
            }
            assert!(reg.list().is_err());
            fs::remove_dir_all(reg.root()).unwrap();
        }
    }

    #[test]
    fn utc_format() {
        let t = utc_now();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z'));
    }
}
