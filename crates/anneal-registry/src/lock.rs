//! The registry's write lock: `<root>/.lock`, created with `create_new` and
//! holding the owner's pid. Every change to an index or an alias is made
//! while holding it; readers never take it (every file they read is
//! replaced by an atomic rename, so they see the old or the new state).
//!
//! A lock whose owner no longer exists (`/proc/<pid>` is gone, on Linux) is
//! broken. Breaking is itself guarded by `<root>/.lock.break` (also
//! `create_new`), and the lock is re-read under that guard, so two waiters
//! that both saw the same dead owner cannot remove a lock a third process
//! has just taken. A guard older than [`BREAK_GUARD_STALE`] (its holder died
//! in the microseconds it is held) is removed.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{RegistryError, Result, io};

pub const LOCK_FILE: &str = ".lock";
const BREAK_FILE: &str = ".lock.break";
/// A lock file with no pid yet is only trusted this long: its creator
/// writes the pid right after creating it.
const EMPTY_LOCK_STALE: Duration = Duration::from_secs(5);
const BREAK_GUARD_STALE: Duration = Duration::from_secs(10);

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Who holds a lock file, as far as its content tells.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    Pid(u32),
    /// Empty or unreadable content, with the file's age.
    Unknown,
    /// The file is gone.
    None,
}

/// Takes the lock of the registry at `root` (created if needed), waiting up
/// to `timeout`.
pub fn acquire(root: &Path, timeout: Duration) -> Result<Lock> {
    fs::create_dir_all(root).map_err(io("create", root))?;
    let path = root.join(LOCK_FILE);
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                let lock = Lock { path };
                file.write_all(format!("{}\n", std::process::id()).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(io("write", &lock.path))?;
                return Ok(lock);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if break_if_stale(root, &path) {
                    continue;
                }
                if start.elapsed() >= timeout {
                    let holder = match read_holder(&path) {
                        Holder::Pid(pid) => format!("process {pid}"),
                        Holder::Unknown => "an unknown process".to_string(),
                        Holder::None => "another process".to_string(),
                    };
                    return Err(RegistryError::Locked {
                        path,
                        holder,
                        waited: start.elapsed(),
                    });
                }
                std::thread::sleep(delay + jitter());
                delay = (delay * 2).min(Duration::from_millis(25));
            }
            Err(e) => return Err(io("create", &path)(e)),
        }
    }
}

/// Removes the lock at `path` when its owner is gone; true if it did (or
/// the lock vanished meanwhile), so that the caller retries at once.
fn break_if_stale(root: &Path, path: &Path) -> bool {
    let seen = read_holder(path);
    if !is_stale(path, &seen) {
        return seen == Holder::None;
    }
    let guard = root.join(BREAK_FILE);
    match OpenOptions::new().write(true).create_new(true).open(&guard) {
        Ok(_) => {
            // Only one breaker at a time: the lock still has the dead owner
            // we saw (nobody else can have re-created it while it exists).
            let now = read_holder(path);
            let broke = now == seen && is_stale(path, &now) && fs::remove_file(path).is_ok();
            let _ = fs::remove_file(&guard);
            broke
        }
        Err(_) => {
            if age(&guard).is_some_and(|a| a > BREAK_GUARD_STALE) {
                let _ = fs::remove_file(&guard);
            }
            false
        }
    }
}

fn is_stale(path: &Path, holder: &Holder) -> bool {
    match holder {
        Holder::Pid(pid) => *pid != std::process::id() && !process_exists(*pid),
        Holder::Unknown => age(path).is_some_and(|a| a > EMPTY_LOCK_STALE),
        Holder::None => false,
    }
}

fn read_holder(path: &Path) -> Holder {
    match fs::read_to_string(path) {
        Ok(text) => match text.trim().parse::<u32>() {
            Ok(pid) => Holder::Pid(pid),
            Err(_) => Holder::Unknown,
        },
        Err(e) if e.kind() == ErrorKind::NotFound => Holder::None,
        Err(_) => Holder::Unknown,
    }
}

fn age(path: &Path) -> Option<Duration> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    SystemTime::now().duration_since(modified).ok()
}

/// Whether a process with this pid exists. Only Linux can tell (through
/// `/proc`); elsewhere every owner is assumed alive and a stale lock has to
/// be deleted by hand (the timeout error says so).
pub fn process_exists(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if cfg!(target_os = "linux") && proc.join("self").exists() {
        proc.join(pid.to_string()).exists()
    } else {
        true
    }
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
        assert_eq!(
            fs::read_to_string(root.join(LOCK_FILE)).unwrap(),
            format!("{}\n", std::process::id())
        );
        // Our own pid is never treated as stale: a second acquire waits.
        let err = acquire(&root, Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, RegistryError::Locked { .. }), "{err}");
        drop(lock);
        assert!(!root.join(LOCK_FILE).exists());
        drop(acquire(&root, Duration::from_secs(1)).unwrap());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn dead_owner_is_broken() {
        let root = scratch("stale");
        fs::create_dir_all(&root).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        fs::write(root.join(LOCK_FILE), format!("{dead}\n")).unwrap();
        let lock = acquire(&root, Duration::from_secs(2)).unwrap();
        drop(lock);
        let left: Vec<_> = fs::read_dir(&root).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
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
