//! Atomic writes: a reader (or a crash) sees either the old file or the
//! complete new one, never half of it. Also the one way anneal opens a file
//! it is about to trust ([`open_regular`]): a named pipe, a device or a
//! folder in its place is refused before a byte is read.

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::error::{CoreError, Result};

/// How many fresh temporary names to try before giving up: a clash needs
/// the same pid, counter and 64 random bits, so a second try never fails.
const TEMP_TRIES: usize = 8;

/// Writes `bytes` to `path` through a new temporary file in the same
/// directory, fsynced and then renamed over the target; the directory is
/// fsynced after the rename. Missing parent directories are created and
/// fsynced into their own parents.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| CoreError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = parent_dir(path);
    create_dir_all_synced(&dir).map_err(err)?;
    let (tmp, mut file) = create_temp_file(path).map_err(err)?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        sync_dir(&dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Writes `bytes` to `path` inside a staging folder that is not visible
/// yet: through a temporary file renamed over the target (a reader never
/// sees half a file), but without fsync. The folder's commit
/// ([`crate::staged::StagedDir::commit`]) fsyncs the whole tree
/// ([`sync_tree`]) before the rename that exposes it, so what appears is
/// as durable as with [`atomic_write`]; a crash before the commit leaves
/// only an unfinished stage, which is never read as a result. Writing all
/// files first and syncing them together also costs one fsync per file
/// instead of two (file and folder), and later fsyncs find the journal
/// already committed by the first.
pub fn write_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| CoreError::Write {
        path: path.to_path_buf(),
        source,
    };
    fs::create_dir_all(parent_dir(path)).map_err(err)?;
    let (tmp, mut file) = create_temp_file(path).map_err(err)?;
    let result = file.write_all(bytes).and_then(|()| {
        drop(file);
        fs::rename(&tmp, path)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Fsyncs every regular file under `dir`, then every folder, each after
/// what it contains (`dir` last), so that the tree's data and names are
/// on disk. A file that cannot be synced is an error; a folder is synced
/// as [`sync_dir`] does (best effort). Links are not followed.
pub fn sync_tree(dir: &Path) -> io::Result<()> {
    let (mut folders, mut files) = (Vec::new(), Vec::new());
    list_tree(dir, &mut folders, &mut files)?;
    sync_files(&files)?;
    for d in folders.iter().rev() {
        sync_dir(d);
    }
    Ok(())
}

/// Lists `dir` and its folders (parents before children) and the regular
/// files under them.
fn list_tree(dir: &Path, folders: &mut Vec<PathBuf>, files: &mut Vec<PathBuf>) -> io::Result<()> {
    folders.push(dir.to_path_buf());
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            list_tree(&entry.path(), folders, files)?;
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    Ok(())
}

/// Threads that fsync at once in [`sync_files`].
const SYNC_THREADS: usize = 8;

/// Fsyncs every file of `files`, several at a time: an fsync mostly waits
/// for the disk (on ext4 without a journal, for the file's data and then
/// its inode), and a run folder's two dozen small files one after the
/// other cost two dozen round trips where overlapped waits cost a few.
/// Every file is still fsynced before this returns, so the commit's
/// guarantee is unchanged. The first error is returned.
fn sync_files(files: &[PathBuf]) -> io::Result<()> {
    let next = AtomicUsize::new(0);
    let work = || -> io::Result<()> {
        while let Some(f) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
            File::open(f)?.sync_all()?;
        }
        Ok(())
    };
    if files.len() < 2 {
        return work();
    }
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..SYNC_THREADS.min(files.len()))
            .map(|_| s.spawn(work))
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err(io::Error::other("an fsync thread panicked")))
        })
    })
}

/// A name beside `path` that no other writer of the same file uses: the
/// pid (not unique across containers sharing a volume), a per-process
/// counter (unique between threads) and 64 random bits. The name is
/// `.<file name>.<pid>-<counter>-<random>.tmp`. Create it with `create_new`
/// or `create_dir` ([`create_temp_file`], [`create_temp_dir`]) so that
/// whatever is already there, a planted link included, is never followed.
pub fn temp_sibling(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    parent_dir(path).join(format!(
        ".{name}.{}-{n}-{:016x}.tmp",
        std::process::id(),
        random_u64(n)
    ))
}

/// 64 bits from the standard library's randomly keyed hasher (seeded from
/// the OS once per thread), mixed with the time, the thread and `salt`.
fn random_u64(salt: u64) -> u64 {
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_u64(salt);
    h.write(format!("{:?}", std::thread::current().id()).as_bytes());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish()
}

/// Creates a new temporary file beside `path` (`O_EXCL`: never an
/// existing file or a link) and returns its name and handle.
pub fn create_temp_file(path: &Path) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..TEMP_TRIES {
        let tmp = temp_sibling(path);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// Creates a new, empty temporary folder beside `path` (never an existing
/// one or a link) and returns its name.
pub fn create_temp_dir(path: &Path) -> io::Result<PathBuf> {
    let mut last = None;
    for _ in 0..TEMP_TRIES {
        let tmp = temp_sibling(path);
        match fs::create_dir(&tmp) {
            Ok(()) => return Ok(tmp),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// `fs::create_dir_all`, then fsyncs the parent of every folder it
/// created, so that a crash cannot lose a new folder whose files were
/// fsynced.
pub fn create_dir_all_synced(dir: &Path) -> io::Result<()> {
    let missing = missing_ancestors(dir);
    fs::create_dir_all(dir)?;
    for created in &missing {
        sync_dir(&parent_dir(created));
    }
    Ok(())
}

/// `dir` and its ancestors that do not exist yet, deepest first.
fn missing_ancestors(dir: &Path) -> Vec<PathBuf> {
    dir.ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| a.symlink_metadata().is_err())
        .map(Path::to_path_buf)
        .collect()
}

/// Makes a directory entry change (rename) durable. Best effort: not every
/// file system lets a directory be opened for syncing.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|source| CoreError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Why [`open_regular`] refused a path. Displays as the end of a sentence
/// about the file ("is a named pipe, not a regular file").
#[derive(Debug)]
pub enum NotRegular {
    /// A symbolic link, refused because links were not to be followed.
    Link,
    /// Something other than a regular file: "a folder", "a named pipe", ...
    Kind(&'static str),
    Io(io::Error),
}

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotRegular::Link => write!(f, "is a symbolic link, not a regular file"),
            NotRegular::Kind(kind) => write!(f, "is {kind}, not a regular file"),
            NotRegular::Io(e) if e.kind() == ErrorKind::NotFound => write!(f, "missing"),
            NotRegular::Io(e) => write!(f, "cannot read: {e}"),
        }
    }
}

/// Opens `path` for reading and checks, on the opened handle, that it is a
/// regular file; returns the handle and its size. The open is
/// non-blocking, so a named pipe is refused instead of waiting for a
/// writer; with `follow_links` false a symbolic link (as the last
/// component) is refused too (`O_NOFOLLOW`).
pub fn open_regular(
    path: &Path,
    follow_links: bool,
) -> std::result::Result<(File, u64), NotRegular> {
    let file = open_options(follow_links)
        .open(path)
        .map_err(|e| classify_open_error(path, e, follow_links))?;
    let meta = file.metadata().map_err(NotRegular::Io)?;
    if !meta.is_file() {
        return Err(NotRegular::Kind(kind_of(&meta.file_type())));
    }
    Ok((file, meta.len()))
}

#[cfg(unix)]
fn open_options(follow_links: bool) -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    let nofollow = if follow_links { 0 } else { libc::O_NOFOLLOW };
    options.read(true).custom_flags(libc::O_NONBLOCK | nofollow);
    options
}

#[cfg(not(unix))]
fn open_options(_follow_links: bool) -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true);
    options
}

/// `O_NOFOLLOW` on a link fails with `ELOOP`; say "a link" rather than
/// "too many levels of symbolic links".
fn classify_open_error(path: &Path, e: io::Error, follow_links: bool) -> NotRegular {
    if !follow_links
        && path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
    {
        return NotRegular::Link;
    }
    NotRegular::Io(e)
}

/// A short description of what a non-regular file is.
pub fn kind_of(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Reads at most `limit + 1` bytes of `file`: one past the limit, so that a
/// file that grew since its size was checked shows as too long without
/// reading (or holding) more of it.
pub fn read_limited(file: &mut File, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(limit.min(1 << 26)).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("anneal-fsio-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = scratch("replace");
        let path = dir.join("sub/file.txt");
        atomic_write(&path, b"one").unwrap();
        atomic_write(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temp_names_differ_between_threads_and_calls() {
        let path = Path::new("/x/index.json");
        let names: std::collections::BTreeSet<PathBuf> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..100).map(|_| temp_sibling(path)).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(names.len(), 800);
        let one = names.iter().next().unwrap().file_name().unwrap();
        let one = one.to_str().unwrap();
        assert!(
            one.starts_with(&format!(".index.json.{}-", std::process::id())),
            "{one}"
        );
        assert!(one.ends_with(".tmp"), "{one}");
    }

    /// Threads writing one file at once, with no lock: every write lands
    /// whole (the old per-process temp name made them clobber each other's
    /// temporary file and fail the rename).
    #[test]
    fn concurrent_writers_of_one_file() {
        let dir = scratch("concurrent");
        let path = dir.join("f.txt");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..50 {
                        atomic_write(path, &[t; 4096]).unwrap();
                    }
                });
            }
        });
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(bytes.iter().all(|b| *b == bytes[0]));
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "temporary files left"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_link_at_the_temp_path_is_not_followed() {
        let dir = scratch("planted");
        fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        fs::write(&victim, b"keep").unwrap();
        // Whatever name comes next, create_new refuses an existing entry:
        // plant links at the next few names this thread could get.
        let path = dir.join("out");
        let (tmp, file) = create_temp_file(&path).unwrap();
        drop(file);
        fs::remove_file(&tmp).unwrap();
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        let err = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        atomic_write(&path, b"new").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(fs::read(&path).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn new_parent_folders_are_created() {
        let dir = scratch("parents");
        let deep = dir.join("a/b/c");
        assert_eq!(missing_ancestors(&deep).len(), 4);
        create_dir_all_synced(&deep).unwrap();
        assert!(deep.is_dir());
        assert!(missing_ancestors(&deep).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn open_regular_refuses_pipes_links_folders_and_devices() {
        let dir = scratch("regular");
        fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let file = dir.join("file");
        fs::write(&file, b"abc").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let zero = dir.join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let said = |p: &Path, follow: bool| open_regular(p, follow).unwrap_err().to_string();
        // Would block forever without O_NONBLOCK.
        assert_eq!(said(&fifo, true), "is a named pipe, not a regular file");
        assert_eq!(said(&dir, true), "is a folder, not a regular file");
        assert_eq!(said(&zero, true), "is a device, not a regular file");
        assert_eq!(said(&link, false), "is a symbolic link, not a regular file");
        assert_eq!(said(&dir.join("none"), true), "missing");
        assert_eq!(open_regular(&link, true).unwrap().1, 3);
        let (mut f, len) = open_regular(&file, false).unwrap();
        assert_eq!(read_limited(&mut f, len).unwrap(), b"abc");
        fs::remove_dir_all(&dir).unwrap();
    }
}
