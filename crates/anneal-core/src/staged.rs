//! A folder staged in a hidden sibling and renamed into place once
//! complete, so that it appears whole or not at all ([`StagedDir`]).
//!
//! Every writer of a folder (artifact export, the unpacked-archive cache,
//! checkpoints, registry push and pull, run folders) stages it the same
//! way: create the sibling, write the files, then [`StagedDir::commit`]
//! (fsync the folder, rename it over or beside the target as the caller
//! asks, fsync the parent). A stage dropped before it is committed is
//! removed, unless it was made [`kept`](StagedDir::kept) (a resumable
//! stage) or handed over with [`StagedDir::keep`].

use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::fsio;

/// What [`StagedDir::commit`] does when something is already at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Remove an existing folder at the target (`Path::exists`, so a link
    /// is followed to decide) and then rename the stage into place.
    Replace,
    /// Refuse anything at the target, a dangling link included
    /// ([`StageError::Exists`]).
    Refuse,
}

/// Why staging or committing a folder failed. Each names the folder it is
/// about; callers that word their own errors take [`StageError::into_io`].
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The staging folder (`path`) could not be created.
    #[error("cannot create {}: {source}", path.display())]
    Create { path: PathBuf, source: io::Error },
    /// [`StagedDir::reopen`] found no staging folder at `path`.
    #[error("{} is not a folder", path.display())]
    Missing { path: PathBuf },
    /// [`Existing::Refuse`] and the target `path` is there.
    #[error("{} already exists", path.display())]
    Exists { path: PathBuf },
    /// [`Existing::Replace`] and the old target `path` could not be removed.
    #[error("cannot replace {}: {source}", path.display())]
    Replace { path: PathBuf, source: io::Error },
    /// The rename of the stage to the target `path` failed.
    #[error("cannot move a folder into {}: {source}", path.display())]
    Rename { path: PathBuf, source: io::Error },
    /// The files of the stage `path` could not be synced to disk.
    #[error("cannot sync {} to disk: {source}", path.display())]
    Sync { path: PathBuf, source: io::Error },
}

impl StageError {
    /// The underlying I/O error (`AlreadyExists` for [`StageError::Exists`],
    /// `NotFound` for [`StageError::Missing`]).
    pub fn into_io(self) -> io::Error {
        match self {
            StageError::Create { source, .. }
            | StageError::Replace { source, .. }
            | StageError::Rename { source, .. }
            | StageError::Sync { source, .. } => source,
            StageError::Missing { .. } => io::Error::from(ErrorKind::NotFound),
            StageError::Exists { .. } => io::Error::from(ErrorKind::AlreadyExists),
        }
    }
}

/// A folder being assembled beside its target; see the module docs.
#[derive(Debug)]
pub struct StagedDir {
    path: PathBuf,
    target: PathBuf,
    keep: bool,
}

impl StagedDir {
    /// A new, empty staging folder with a unique hidden name beside
    /// `target` (`.<name>.<pid>-<n>-<random>.tmp`, see
    /// [`fsio::temp_sibling`]), never an existing folder or a link. The
    /// target's parent must exist.
    pub fn new(target: &Path) -> Result<StagedDir, StageError> {
        let mut last = None;
        for _ in 0..8 {
            let path = fsio::temp_sibling(target);
            match fs::create_dir(&path) {
                Ok(()) => return Ok(StagedDir::held(path, target)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some((path, e)),
                Err(source) => return Err(StageError::Create { path, source }),
            }
        }
        let (path, source) = last.unwrap_or_else(|| {
            (
                target.to_path_buf(),
                io::Error::other("no free temporary name"),
            )
        });
        Err(StageError::Create { path, source })
    }

    /// A fresh staging folder at the explicit path `staging` (a stable
    /// name such as `.NAME.partial`): whatever is there is removed, then
    /// the folder is created with its missing parents.
    pub fn at(staging: &Path, target: &Path) -> Result<StagedDir, StageError> {
        let _ = fs::remove_dir_all(staging);
        fs::create_dir_all(staging).map_err(|source| StageError::Create {
            path: staging.to_path_buf(),
            source,
        })?;
        Ok(StagedDir::held(staging.to_path_buf(), target))
    }

    /// The existing staging folder `staging`, as it is (to resume an
    /// interrupted stage). It is [`kept`](StagedDir::kept).
    pub fn reopen(staging: &Path, target: &Path) -> Result<StagedDir, StageError> {
        if !staging.is_dir() {
            return Err(StageError::Missing {
                path: staging.to_path_buf(),
            });
        }
        Ok(StagedDir::held(staging.to_path_buf(), target).kept())
    }

    fn held(path: PathBuf, target: &Path) -> StagedDir {
        StagedDir {
            path,
            target: target.to_path_buf(),
            keep: false,
        }
    }

    /// Dropping this stage uncommitted leaves its folder in place (a stage
    /// that can be resumed); [`StagedDir::abandon`] still removes it.
    pub fn kept(mut self) -> StagedDir {
        self.keep = true;
        self
    }

    /// The staging folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where [`StagedDir::commit`] moves the folder.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Writes `bytes` to `name` inside the staging folder, made durable
    /// by [`StagedDir::commit`] ([`fsio::write_unsynced`]).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        fsio::write_unsynced(&self.path.join(name), bytes)
    }

    /// Writes `bytes` to `name` inside the staging folder, durable at once
    /// ([`fsio::atomic_write`]): for what a kept stage reads back when it
    /// is resumed after a crash, before any commit.
    pub fn write_durable(&self, name: &str, bytes: &[u8]) -> Result<()> {
        fsio::atomic_write(&self.path.join(name), bytes)
    }

    /// Leaves the staging folder where it is and returns its path.
    pub fn keep(mut self) -> PathBuf {
        self.keep = true;
        std::mem::take(&mut self.path)
    }

    /// Removes the staging folder, kept or not.
    pub fn abandon(mut self) {
        let _ = fs::remove_dir_all(&self.path);
        self.keep = true;
    }

    /// Fsyncs everything in the staging folder (files written without
    /// fsync included, see [`StagedDir::write`]) and the folder itself,
    /// deals with an existing target as `existing` says, renames the
    /// folder to the target and fsyncs the target's parent: the rename
    /// only ever exposes data already on disk. Returns the target. On
    /// failure the stage is dropped (removed unless kept).
    pub fn commit(mut self, existing: Existing) -> Result<PathBuf, StageError> {
        fsio::sync_tree(&self.path).map_err(|source| StageError::Sync {
            path: self.path.clone(),
            source,
        })?;
        let target = self.target.clone();
        match existing {
            Existing::Refuse if target.symlink_metadata().is_ok() => {
                return Err(StageError::Exists { path: target });
            }
            Existing::Replace if target.exists() => {
                fs::remove_dir_all(&target).map_err(|source| StageError::Replace {
                    path: target.clone(),
                    source,
                })?;
            }
            _ => {}
        }
        fs::rename(&self.path, &target).map_err(|source| StageError::Rename {
            path: target.clone(),
            source,
        })?;
        self.keep = true;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        fsio::sync_dir(parent);
        Ok(target)
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("anneal-staged-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn commit_moves_the_files_into_place_and_leaves_no_stage() {
        let dir = scratch("commit");
        let target = dir.join("out");
        let stage = StagedDir::new(&target).unwrap();
        let name = stage
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with(".out.") && name.ends_with(".tmp"),
            "{name}"
        );
        stage.write("a.txt", b"one").unwrap();
        assert!(!target.exists());
        assert_eq!(stage.commit(Existing::Refuse).unwrap(), target);
        assert_eq!(fs::read(target.join("a.txt")).unwrap(), b"one");
        assert_eq!(names(&dir), ["out"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn drop_removes_an_uncommitted_stage_unless_kept() {
        let dir = scratch("drop");
        let target = dir.join("out");
        let stage = StagedDir::new(&target).unwrap();
        stage.write("a.txt", b"one").unwrap();
        drop(stage);
        assert!(names(&dir).is_empty());

        let partial = dir.join(".out.partial");
        let stage = StagedDir::at(&partial, &target).unwrap().kept();
        stage.write("a.txt", b"two").unwrap();
        drop(stage);
        assert_eq!(names(&dir), [".out.partial"]);
        let stage = StagedDir::reopen(&partial, &target).unwrap();
        assert_eq!(fs::read(stage.path().join("a.txt")).unwrap(), b"two");
        stage.abandon();
        assert!(names(&dir).is_empty());

        let stage = StagedDir::new(&target).unwrap();
        let kept = stage.keep();
        assert!(kept.is_dir());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_existing_target_is_refused_or_replaced() {
        let dir = scratch("existing");
        let target = dir.join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("old.txt"), b"old").unwrap();

        let stage = StagedDir::new(&target).unwrap();
        stage.write("new.txt", b"new").unwrap();
        let err = stage.commit(Existing::Refuse).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{} already exists", target.display())
        );
        assert_eq!(err.into_io().kind(), ErrorKind::AlreadyExists);
        // The refused stage is gone, the old folder untouched.
        assert_eq!(names(&dir), ["out"]);
        assert_eq!(names(&target), ["old.txt"]);

        let stage = StagedDir::new(&target).unwrap();
        stage.write("new.txt", b"new").unwrap();
        stage.commit(Existing::Replace).unwrap();
        assert_eq!(names(&dir), ["out"]);
        assert_eq!(names(&target), ["new.txt"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_link_at_the_target_is_refused() {
        let dir = scratch("dangling");
        let target = dir.join("out");
        std::os::unix::fs::symlink(dir.join("nowhere"), &target).unwrap();
        let err = StagedDir::new(&target)
            .unwrap()
            .commit(Existing::Refuse)
            .unwrap_err();
        assert!(matches!(err, StageError::Exists { .. }), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failure_to_create_names_the_folder() {
        let dir = scratch("create");
        let target = dir.join("missing-parent").join("out");
        let err = StagedDir::new(&target).unwrap_err();
        let StageError::Create { path, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(path.parent(), target.parent());
        assert!(
            err.to_string()
                .starts_with(&format!("cannot create {}", path.display())),
            "{err}"
        );
        // A regular file where the explicit stage's parent should be.
        fs::write(dir.join("file"), b"x").unwrap();
        let staging = dir.join("file").join(".out.partial");
        let err = StagedDir::at(&staging, &target).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot create {}: ", staging.display())),
            "{err}"
        );
        let err = StagedDir::reopen(&dir.join(".none.partial"), &target).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{} is not a folder", dir.join(".none.partial").display())
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
