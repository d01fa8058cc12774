use std::path::PathBuf;
use std::time::Duration;

/// Everything the registry can fail with. Each is one line that names the
/// value, the file or what exists instead; [`RegistryError::exit_code`] maps
/// it to anneal's exit codes.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A model name or alias outside `[A-Za-z0-9._-]{1,64}` (or starting
    /// with `.`).
    #[error(
        "bad {what} {value:?}: use 1 to 64 characters from A-Z a-z 0-9 . _ - (not starting with '.')"
    )]
    BadName { what: &'static str, value: String },
    /// A reference that does not parse.
    #[error("bad reference {reference:?}: {reason}")]
    BadReference { reference: String, reason: String },
    #[error("no model {name:?} in registry {}; {known}", root.display())]
    UnknownModel {
        name: String,
        root: PathBuf,
        known: String,
    },
    #[error("model {name} has no alias {alias:?}; {known}")]
    UnknownAlias {
        name: String,
        alias: String,
        known: String,
    },
    #[error("model {name} has no version {what}; {known}")]
    UnknownVersion {
        name: String,
        what: String,
        known: String,
    },
    #[error(
        "id prefix {prefix} of model {name} is ambiguous: it matches {matches}; give more characters"
    )]
    AmbiguousId {
        name: String,
        prefix: String,
        matches: String,
    },
    /// `alias NAME@ALIAS TARGET` with a target of another model.
    #[error("alias {alias} cannot point at {target}: aliases point at versions of their own model")]
    OtherModel { alias: String, target: String },
    /// `pull` into a folder that is already there.
    #[error("{} already exists; pull creates a new folder and never replaces one", path.display())]
    Exists { path: PathBuf },
    /// The registry's own files are damaged (an index that does not parse,
    /// an alias naming a missing version, a stored version whose files do
    /// not match its manifest).
    #[error("registry {}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error(transparent)]
    Artifact(#[from] anneal_artifact::ArtifactError),
    #[error(transparent)]
    Model(#[from] anneal_model::ModelError),
    #[error(transparent)]
    Core(#[from] anneal_core::CoreError),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "registry lock {} is held by {holder}; gave up after {} s (the lock is released when that process ends)",
        path.display(),
        waited.as_secs()
    )]
    Locked {
        path: PathBuf,
        holder: String,
        waited: Duration,
    },
}

impl RegistryError {
    /// Usage for a bad name or reference (including one that names
    /// nothing that exists) and for `pull` into an existing folder; data
    /// for a damaged registry or artifact; transient for a file or folder
    /// that could not be created, written, renamed or removed; a run
    /// failure for other I/O and a lock that stays held.
    pub fn failure(&self) -> anneal_core::Failure {
        use RegistryError::*;
        use anneal_core::Failure;
        match self {
            BadName { .. }
            | BadReference { .. }
            | UnknownModel { .. }
            | UnknownAlias { .. }
            | UnknownVersion { .. }
            | AmbiguousId { .. }
            | OtherModel { .. }
            | Exists { .. } => Failure::Usage,
            Corrupt { .. } => Failure::Data,
            Artifact(e) => e.failure(),
            Model(e) => e.failure(),
            Core(e) => e.failure(),
            Io { action, .. } if WRITES.contains(action) => Failure::Transient,
            Io { .. } | Locked { .. } => Failure::RunFailed,
        }
    }
}

/// The `Io` actions that write: their failures may pass if retried.
const WRITES: [&str; 5] = [
    "create",
    "create a folder beside",
    "write",
    "rename into place",
    "remove",
];

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// Wraps an I/O error with what was being done and to which path.
pub(crate) fn io(
    action: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> RegistryError {
    let path = path.to_path_buf();
    move |source| RegistryError::Io {
        action,
        path,
        source,
    }
}
