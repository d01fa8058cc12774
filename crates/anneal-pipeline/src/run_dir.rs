//! What `train` and `eval` share: a run folder assembled in a hidden
//! sibling and renamed into place (so it appears complete or not at all),
//! the streaming stage's scratch folder, and what run.json and the
//! reproducibility block record about where a run came from.

use std::path::{Path, PathBuf};

use anneal_core::staged::{Existing, StageError, StagedDir};

use crate::error::{Error, Result};

/// A run folder being written: a kept `StagedDir` at the stable
/// `.NAME.partial` (checkpoints of an interrupted run stay in it).
pub struct Staging {
    pub dir: PathBuf,
    stage: StagedDir,
}

/// The hidden sibling a run folder is assembled in: `.NAME.partial`. Its
/// name is stable (not per process) so that an interrupted `train` can be
/// resumed from the checkpoints inside it.
pub fn partial_dir(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(format!(".{name}.partial"))
}

/// A scratch folder beside the run folder (`.NAME.spill-PID`) for the
/// streaming data stage's matrix files, removed when dropped. It sits on
/// the run's disk, not in a temp folder that may be held in memory.
pub struct Spill {
    pub dir: PathBuf,
}

impl Spill {
    pub fn create(out: &Path) -> Result<Spill> {
        let dir = partial_dir(out).with_extension(format!("spill-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Write(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Spill { dir })
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Staging {
    /// Refuses an existing `out` unless `force`, and creates the staging
    /// folder beside it. An interrupted run's staging folder (one holding
    /// checkpoints) is refused too unless `force`: it is resumed with
    /// `--resume`, not overwritten by accident.
    pub fn begin(out: &Path, force: bool) -> Result<Staging> {
        if out.exists() && !force {
            return Err(Error::RunExists(out.to_path_buf()));
        }
        let dir = partial_dir(out);
        if dir.join("checkpoints").exists() && !force {
            return Err(Error::InterruptedRunExists(out.to_path_buf()));
        }
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::Write(format!("cannot create {}: {e}", parent.display())))?;
        }
        let stage = StagedDir::at(&dir, out).map_err(|e| Error::Write(e.to_string()))?;
        Ok(Staging {
            dir,
            stage: stage.kept(),
        })
    }

    /// The staging folder of an interrupted run of `out`, kept as it is.
    pub fn reopen(out: &Path) -> Result<Staging> {
        let dir = partial_dir(out);
        let stage = StagedDir::reopen(&dir, out).map_err(|_| Error::NothingToResume {
            run: out.to_path_buf(),
            reason: if out.join("report.json").is_file() {
                "the run is complete".into()
            } else {
                format!(
                    "there is no interrupted run ({} does not exist)",
                    dir.display()
                )
            },
        })?;
        Ok(Staging { dir, stage })
    }

    /// Removes the staging folder (a run that failed for good).
    pub fn abandon(self) {
        self.stage.abandon();
    }

    /// Writes `text` to `name` inside the staging folder.
    pub fn write(&self, name: &str, text: &str) -> Result<()> {
        Ok(self.stage.write(name, text.as_bytes())?)
    }

    /// Writes `name` durably at once: for what `--resume` reads back from
    /// an interrupted run's staging folder.
    pub fn write_durable(&self, name: &str, text: &str) -> Result<()> {
        Ok(self.stage.write_durable(name, text.as_bytes())?)
    }

    /// Moves the finished folder into place, replacing an old one.
    pub fn commit(self) -> Result<PathBuf> {
        let out = self.stage.target().to_path_buf();
        self.stage.commit(Existing::Replace).map_err(|e| match e {
            StageError::Replace { source, .. } => {
                Error::Write(format!("cannot replace {}: {source}", out.display()))
            }
            StageError::Rename { source, .. } => Error::Write(format!(
                "cannot move the run into {}: {source}",
                out.display()
            )),
            other => Error::Write(other.to_string()),
        })
    }
}

/// `path` made absolute, for `run.json` (so that `anneal gate` can find
/// the data file again from anywhere); not in the deterministic documents.
pub fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .or_else(|_| std::env::current_dir().map(|d| d.join(path)))
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// The commit checked out where `dir` lives, when it is in a git work tree
/// and git is installed; CI systems' variables are the fallback.
pub fn git_commit(dir: &Path) -> Option<String> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let from_git = match head_of_plain_repo(dir) {
        Some(commit) => Some(commit),
        None => git_rev_parse(dir),
    };
    from_git.or_else(|| {
        ["GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    })
}

/// The commit HEAD names in the work tree around `dir`, read from the
/// repository's files (a git process costs a few milliseconds, a large
/// share of a small run). Only the plain case is answered: none of the
/// variables that move git's repository discovery, a `.git` folder (or a worktree's `.git` file) owned by this
/// user, HEAD a commit id or a branch whose ref is a loose file or in
/// `packed-refs`. Anything else is `None`, and `git rev-parse` decides.
fn head_of_plain_repo(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    const DISCOVERY: [&str; 6] = [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_COMMON_DIR",
        "GIT_CEILING_DIRECTORIES",
        "GIT_DISCOVERY_ACROSS_FILESYSTEM",
        "GIT_NAMESPACE",
    ];
    if DISCOVERY.iter().any(|v| std::env::var_os(v).is_some()) {
        return None;
    }
    let start = std::fs::canonicalize(dir).ok()?;
    let top = start.ancestors().find(|a| a.join(".git").exists())?;
    let dot_git = top.join(".git");
    let me = unsafe { libc::geteuid() };
    if std::fs::metadata(top).ok()?.uid() != me {
        return None;
    }
    let git_dir = if dot_git.is_dir() {
        dot_git
    } else {
        let text = std::fs::read_to_string(&dot_git).ok()?;
        top.join(text.strip_prefix("gitdir: ")?.trim_end())
    };
    let common = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(rel) => git_dir.join(rel.trim_end()),
        Err(_) => git_dir.clone(),
    };
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim_end();
    let commit = match head.strip_prefix("ref: ") {
        None => head.to_string(),
        Some(name) if name.starts_with("refs/") && !name.contains("..") => {
            let loose = std::fs::read_to_string(git_dir.join(name))
                .or_else(|_| std::fs::read_to_string(common.join(name)));
            match loose {
                Ok(text) => text.trim_end().to_string(),
                Err(_) => packed_ref(&common, name)?,
            }
        }
        Some(_) => return None,
    };
    (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())).then_some(commit)
}

/// The commit `name` points to in the repository's `packed-refs`.
fn packed_ref(common: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(common.join("packed-refs")).ok()?;
    text.lines().find_map(|line| {
        let (commit, r) = line.split_once(' ')?;
        (r == name).then(|| commit.to_string())
    })
}

/// `git rev-parse --verify HEAD` in `dir`, when git is installed.
fn git_rev_parse(dir: &Path) -> Option<String> {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading HEAD from the repository's files agrees with git itself,
    /// in this source tree (a work tree, or a linked worktree, when it is
    /// a checkout; a `.git` file, a packed ref or a detached HEAD all go
    /// through the same reader).
    #[test]
    fn head_is_read_as_git_reads_it() {
        let dir = manifest_dir();
        let here = Path::new(&dir);
        if let Some(native) = head_of_plain_repo(here) {
            assert_eq!(Some(native), git_rev_parse(here));
        }
    }

    /// This package's folder in the checkout running the test: cargo sets it at
    /// run time; the compile-time path may name another checkout whose binary
    /// the shared build folder reused.
    fn manifest_dir() -> String {
        std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
    }
}
