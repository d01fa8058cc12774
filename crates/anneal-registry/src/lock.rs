//! The registry's write lock: an OS file lock (`flock`, emulated with POSIX
//! locks on NFS) on `<root>/.lock`. Every change to an index or an alias is
//! made while holding it; readers never take it (every file they read is
//! replaced by an atomic rename, so they see the old or the new state).
//!
//! The kernel releases the lock when its holder exits, however it exits, so
//! nothing guesses whether a holder is alive (a pid means nothing across
//! containers sharing a volume, or across NFS clients).
//!
//! The lock file is removed on release, so that an idle registry holds no
//! dot-file; that is only safe with two rules. The holder removes the file
//! while it still holds the lock, and only when the path still names the
//! file it locked (it never deletes a lock file it does not hold). A waiter
//! that gets the lock checks that the path still names the file it locked:
//! if the previous holder removed it meanwhile, it locked an orphan and
//! starts again.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{RegistryError, Result, io};

pub const LOCK_FILE: &str = ".lock";

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    file: File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Still holding the lock: nobody else can be using this file, and a
        // path that names another file (replaced by hand) is left alone.
        if same_file(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
        let _ = self.file.unlock();
    }
}

/// Takes the lock of the registry at `root` (created if needed), waiting up
/// to `timeout`.
pub fn acquire(root: &Path, timeout: Duration) -> Result<Lock> {
    anneal_core::fsio::create_dir_all_synced(root).map_err(io("create", root))?;
    let path = root.join(LOCK_FILE);
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        let file = open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) if same_file(&file, &path) => return record_holder(path, file),
            // The holder we waited for removed the file before unlocking
            // it: this one is an orphan.
            Ok(()) => continue,
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(io("lock", &path)(e)),
        }
        if start.elapsed() >= timeout {
            return Err(RegistryError::Locked {
                holder: read_holder(&path),
                path,
                waited: start.elapsed(),
            });
        }
        drop(file);
        std::thread::sleep(delay + jitter());
        delay = (delay * 2).min(Duration::from_millis(25));
    }
}

/// Opens (or creates) the lock file without following a link planted at
/// its name.
fn open_lock_file(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path).map_err(io("open the lock", path))
}

/// Writes who holds the lock into it, for the message another writer gives
/// when it gives up waiting; nothing decides anything from it.
fn record_holder(path: PathBuf, mut file: File) -> Result<Lock> {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let who = if host.is_empty() {
        format!("process {}\n", std::process::id())
    } else {
        format!("process {} on {host}\n", std::process::id())
    };
    file.set_len(0)
        .and_then(|()| file.write_all(who.as_bytes()))
        .map_err(io("write", &path))?;
    Ok(Lock { path, file })
}

fn read_holder(path: &Path) -> String {
    match fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_string(),
        _ => "another process".to_string(),
    }
}

/// Whether `path` (not following a link) names the file `file` has open.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Without inode numbers the file is kept on release (never removed), so
/// every opener locks the same file.
#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// A few hundred microseconds of spread so that waiters do not retry in
/// lockstep.
fn jitter() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_micros(u64::from((nanos ^ std::process::id()) % 500))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "anneal-registry-lock-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn acquire_release_and_timeout() {
        let root = scratch("timeout");
        let lock = acquire(&root, Duration::from_secs(1)).unwrap();
        assert!(
            fs::read_to_string(root.join(LOCK_FILE))
                .unwrap()
                .starts_with(&format!("process {}", std::process::id()))
        );
        // A second open file in the same process is a second holder: it waits.
        let err = acquire(&root, Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, RegistryError::Locked { .. }), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("is held by process {}", std::process::id())),
            "{err}"
        );
        drop(lock);
        assert!(!root.join(LOCK_FILE).exists());
        drop(acquire(&root, Duration::from_secs(1)).unwrap());
        fs::remove_dir_all(&root).unwrap();
    }

    /// A lock file left behind with a pid this machine does not know is no
    /// reason to wait (nobody holds the OS lock) ...
    #[test]
    fn a_leftover_lock_file_is_not_held() {
        let root = scratch("leftover");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join(LOCK_FILE), "process 4000000000\n").unwrap();
        drop(acquire(&root, Duration::from_millis(200)).unwrap());
        let left: Vec<_> = fs::read_dir(&root).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        fs::remove_dir_all(&root).unwrap();
    }

    /// ... and a holder whose pid is not visible here (another container on
    /// the same volume) is waited for, not broken.
    #[test]
    fn a_holder_with_an_unknown_pid_is_respected() {
        let root = scratch("foreign");
        fs::create_dir_all(&root).unwrap();
        let path = root.join(LOCK_FILE);
        let other = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .unwrap();
        other.lock().unwrap();
        fs::write(&path, "4000000000\n").unwrap();
        let err = acquire(&root, Duration::from_millis(100)).unwrap_err();
        assert!(matches!(err, RegistryError::Locked { .. }), "{err}");
        assert!(
            path.exists(),
            "a waiter never removes a lock it does not hold"
        );
        other.unlock().unwrap();
        drop(acquire(&root, Duration::from_secs(1)).unwrap());
        fs::remove_dir_all(&root).unwrap();
    }

    /// A holder whose lock file was replaced (deleted by hand and taken by
    /// someone else) leaves the new file alone when it releases.
    #[test]
    fn release_never_removes_a_file_it_does_not_hold() {
        let root = scratch("owner");
        let first = acquire(&root, Duration::from_secs(1)).unwrap();
        fs::remove_file(root.join(LOCK_FILE)).unwrap();
        let second = acquire(&root, Duration::from_secs(1)).unwrap();
        drop(first);
        assert!(
            root.join(LOCK_FILE).exists(),
            "the second holder's file is gone"
        );
        // The second holder still excludes everyone else.
        assert!(acquire(&root, Duration::from_millis(50)).is_err());
        drop(second);
        assert!(!root.join(LOCK_FILE).exists());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn threads_serialise() {
        let root = scratch("threads");
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let root = root.clone();
                let counter = counter.clone();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _lock = acquire(&root, Duration::from_secs(20)).unwrap();
                        let inside = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        assert_eq!(inside, 0, "two holders at once");
                        std::thread::sleep(Duration::from_micros(200));
                        counter.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        fs::remove_dir_all(&root).unwrap();
    }
}
