//! Packed artifacts: one reproducible `.tar.gz` or `.tar.zst` file.
//!
//! **Layout.** The tar holds plain file names at its root, with no top
//! folder: `manifest.json`, every file the manifest lists, and the files
//! derived from it (`MLmodel`, format 2), sorted by name (byte order). Each
//! entry is a regular file in a ustar header with mode 0644, uid and gid 0,
//! empty user and group names and mtime 0; nothing else (no folders, links,
//! PAX or GNU extension headers). gzip is level 9 with mtime 0, no file name
//! and OS byte 255; zstd is level 19, single-threaded, with a content
//! checksum. The same artifact therefore always packs to the same bytes.
//!
//! **Unpacking.** [`resolve`] unpacks an archive into a content-addressed
//! cache, `<cache>/artifacts/<sha256 of the archive>/`, where `<cache>` is
//! `$ANNEAL_CACHE_DIR`, else `$XDG_CACHE_HOME/anneal`, else
//! `$HOME/.cache/anneal`; with none of them set it is an error (never a
//! folder shared with other users). Folders it creates are mode 0700. The
//! archive is opened once: a first pass over that handle hashes it and
//! lists every entry (size and SHA-256) and verifies the listing (every
//! hash, the id, nothing missing or extra). A cached folder is reused only
//! when it holds exactly those files with those hashes, as regular files;
//! otherwise the same handle is read again, its hash checked to be the
//! same, into a temporary sibling that is verified and renamed into place.
//! An archive is refused, naming the entry, for an
//! absolute path, a `..` component, a name inside a folder, anything that is
//! not a regular file (link, folder, device, extension header), a duplicate
//! name, more than [`MAX_ENTRIES`] entries or more than [`MAX_UNPACKED_BYTES`]
//! in all. Archives made by other tools are read when they follow these rules
//! (a leading `./` and a `./` folder entry are accepted).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use anneal_core::staged::{Existing, StagedDir};
use anneal_core::{fsio, hash};
use serde::Serialize;

use crate::error::{ArtifactError, Result};
use crate::verify::{self, Listing, VerifyReport};

/// Most entries an archive may hold.
pub const MAX_ENTRIES: usize = 64;
/// Most bytes an archive may unpack to.
pub const MAX_UNPACKED_BYTES: u64 = 4 << 30;
pub const GZIP_LEVEL: u32 = 9;
pub const ZSTD_LEVEL: i32 = 19;
/// Longest entry name (a ustar name field; no extension headers are used).
const MAX_NAME: usize = 100;

const ACCEPTED: &str = ".tar.gz, .tgz or .tar.zst";

/// How an archive is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The compression an archive name asks for: `.tar.gz` or `.tgz` for
    /// gzip, `.tar.zst` or `.tzst` for zstd (any case).
    pub fn from_name(path: &Path) -> Option<Compression> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(Compression::Gzip)
        } else if name.ends_with(".tar.zst") || name.ends_with(".tzst") {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    /// The compression of data starting with `magic`.
    fn sniff(magic: &[u8]) -> Option<Compression> {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }
}

/// A packed archive and its tar entries, as read.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveInfo {
    pub compression: Compression,
    /// Size and SHA-256 of the archive file.
    pub bytes: u64,
    pub sha256: String,
    /// Every tar entry, in archive order.
    pub entries: Vec<TarEntry>,
}

/// One tar entry's header fields.
#[derive(Debug, Clone, Serialize)]
pub struct TarEntry {
    pub name: String,
    pub bytes: u64,
    /// Permission bits in octal, for example `0644`.
    pub mode: String,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub user: String,
    pub group: String,
}

/// What [`pack_artifact`] wrote.
#[derive(Debug, Clone)]
pub struct Packed {
    pub id: String,
    pub compression: Compression,
    /// The files in the archive, in order.
    pub files: Vec<String>,
    /// Their total size before compression.
    pub content_bytes: u64,
    /// The archive's size and SHA-256.
    pub bytes: u64,
    pub sha256: String,
}

/// Packs the artifact at `dir` (a folder, or an archive to re-pack) into
/// `out`, whose extension picks the compression. The artifact is verified
/// first; the archive is written atomically.
pub fn pack(dir: &Path, out: &Path) -> Result<()> {
    pack_artifact(dir, out).map(|_| ())
}

/// [`pack`], returning what was written.
pub fn pack_artifact(dir: &Path, out: &Path) -> Result<Packed> {
    let output = |reason: String| ArtifactError::Output {
        path: out.to_path_buf(),
        reason,
    };
    let compression = Compression::from_name(out).ok_or_else(|| ArtifactError::OutputName {
        path: out.to_path_buf(),
        reason: format!("unknown archive extension; name it {ACCEPTED}"),
    })?;
    if out.is_dir() {
        return Err(ArtifactError::OutputName {
            path: out.to_path_buf(),
            reason: "is a folder; give the archive's file name".into(),
        });
    }
    let src = resolve(dir)?;
    let report = verify::verify(&src)?;
    let report = match report.into_result() {
        Ok(r) => r,
        // Name the path the user gave, not the cache folder.
        Err(ArtifactError::NotVerified { summary, .. }) => {
            return Err(ArtifactError::NotVerified {
                path: dir.to_path_buf(),
                summary,
            });
        }
        Err(e) => return Err(e),
    };
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| output(format!("cannot create its folder: {e}")))?;
    if let (Ok(a), Ok(b)) = (src.canonicalize(), parent.canonicalize())
        && b.starts_with(&a)
    {
        return Err(ArtifactError::OutputName {
            path: out.to_path_buf(),
            reason: format!(
                "is inside the artifact folder {}; write the archive elsewhere",
                src.display()
            ),
        });
    }
    let names: Vec<String> = report.files.keys().cloned().collect();
    for name in &names {
        if name.len() > MAX_NAME {
            return Err(ArtifactError::Corrupt {
                path: dir.to_path_buf(),
                file: name.clone(),
                reason: format!("a name longer than {MAX_NAME} bytes cannot be packed"),
            });
        }
    }
    let (tmp, file) =
        fsio::create_temp_file(out).map_err(|e| output(format!("cannot create beside it: {e}")))?;
    let written = write_archive(file, &tmp, compression, &src, &report).and_then(|()| {
        fs::rename(&tmp, out).map_err(|e| output(e.to_string()))?;
        fsio::sync_dir(&parent);
        Ok(())
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let bytes = fs::metadata(out).map_err(|e| output(e.to_string()))?.len();
    Ok(Packed {
        id: report.id.clone().unwrap_or_default(),
        compression,
        content_bytes: report.files.values().map(|f| f.bytes).sum(),
        files: names,
        bytes,
        sha256: hash::sha256_file(out)?,
    })
}

/// Writes the tar of `report.files` (read from `src`), compressed, to
/// `file` (the new temporary file `tmp`) and syncs it.
fn write_archive(
    file: File,
    tmp: &Path,
    compression: Compression,
    src: &Path,
    report: &VerifyReport,
) -> Result<()> {
    let err = |e: io::Error| ArtifactError::Output {
        path: tmp.to_path_buf(),
        reason: e.to_string(),
    };
    let file = match compression {
        Compression::Gzip => {
            let enc = flate2::GzBuilder::new()
                .mtime(0)
                .operating_system(255)
                .write(file, flate2::Compression::new(GZIP_LEVEL));
            write_tar(enc, src, report)?.finish().map_err(err)?
        }
        Compression::Zstd => {
            let mut enc = zstd::stream::write::Encoder::new(file, ZSTD_LEVEL).map_err(err)?;
            enc.include_checksum(true).map_err(err)?;
            write_tar(enc, src, report)?.finish().map_err(err)?
        }
    };
    file.sync_all().map_err(err)
}

/// Appends every file of the report, in name order, with fixed headers.
/// Each file is hashed again as it is copied, so a file changed since it
/// was verified is caught.
fn write_tar<W: Write>(w: W, src: &Path, report: &VerifyReport) -> Result<W> {
    let mut builder = tar::Builder::new(w);
    for (name, want) in &report.files {
        let corrupt = |reason: String| ArtifactError::Corrupt {
            path: src.to_path_buf(),
            file: name.clone(),
            reason,
        };
        let out_err = |e: io::Error| ArtifactError::Output {
            path: src.to_path_buf(),
            reason: format!("packing {name}: {e}"),
        };
        let mut header = tar::Header::new_ustar();
        header
            .set_path(name)
            .map_err(|e| corrupt(format!("cannot be packed: {e}")))?;
        header.set_size(want.bytes);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let (file, _) =
            fsio::open_regular(&src.join(name), true).map_err(|e| corrupt(e.to_string()))?;
        let mut reader = HashingReader::new(file.take(want.bytes));
        builder.append(&header, &mut reader).map_err(out_err)?;
        let (got_bytes, got_sha) = reader.finish();
        if got_bytes != want.bytes || got_sha != want.sha256 {
            return Err(corrupt(
                "changed while it was being packed; pack again".into(),
            ));
        }
    }
    builder.into_inner().map_err(|e| ArtifactError::Output {
        path: src.to_path_buf(),
        reason: e.to_string(),
    })
}

struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
    n: u64,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        use sha2::Digest;
        HashingReader {
            inner,
            hasher: sha2::Sha256::new(),
            n: 0,
        }
    }

    fn finish(self) -> (u64, String) {
        use sha2::Digest;
        let digest = self.hasher.finalize();
        (self.n, digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use sha2::Digest;
        let k = self.inner.read(buf)?;
        self.hasher.update(&buf[..k]);
        self.n += k as u64;
        Ok(k)
    }
}

/// The artifact folder behind `path`: the folder itself, or (for a packed
/// `.tar.gz` / `.tar.zst` archive) the verified folder it unpacks to in the
/// cache. A path that does not exist is returned as it is, for the loader
/// to report.
pub fn resolve(path: &Path) -> Result<PathBuf> {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => unpack_cached(path),
        _ => Ok(path.to_path_buf()),
    }
}

/// The cache root: `$ANNEAL_CACHE_DIR`, else `$XDG_CACHE_HOME/anneal`
/// (an absolute one), else `$HOME/.cache/anneal`; `None` when none is set.
/// Never a folder in the shared temporary folder, where another user could
/// have planted what anneal would then load.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = var("ANNEAL_CACHE_DIR") {
        return Some(d);
    }
    if let Some(d) = var("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return Some(d.join("anneal"));
    }
    var("HOME").map(|home| home.join(".cache").join("anneal"))
}

/// `<cache>/artifacts`, created (with its missing parents) mode 0700.
fn artifacts_cache(archive: &Path) -> Result<PathBuf> {
    let root = cache_dir()
        .ok_or_else(|| ArtifactError::NoCache {
            archive: archive.to_path_buf(),
        })?
        .join("artifacts");
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&root).map_err(|e| ArtifactError::Output {
        path: root.clone(),
        reason: format!("cannot create the artifact cache: {e}"),
    })?;
    Ok(root)
}

/// Unpacks `archive` into the cache (or reuses the cached copy) and returns
/// the folder. The archive is opened once; both passes read that handle.
fn unpack_cached(archive: &Path) -> Result<PathBuf> {
    let root = artifacts_cache(archive)?;
    let mut file = open_archive(archive)?;
    let (info, listing) = read_archive_from(&mut file, archive, None)?;
    let sha = info.sha256.clone();
    let expected = listing.entries.clone();
    verify::check(listing, archive, Some(info))?.into_result()?;
    let dest = root.join(&sha);
    if cached_copy_matches(&dest, &expected) {
        return Ok(dest);
    }
    remove_cached(&dest)?;
    unpack_into(&mut file, archive, &dest, &sha)
}

/// Whether `dest` is a folder (not a link) holding exactly the files the
/// archive lists, each a regular file with the archive's size and hash. A
/// folder that is merely consistent with its own manifest is not enough:
/// it could be another artifact.
fn cached_copy_matches(dest: &Path, expected: &BTreeMap<String, verify::Present>) -> bool {
    if !fs::symlink_metadata(dest).is_ok_and(|m| m.is_dir()) {
        return false;
    }
    verify::list_folder(dest, false).is_ok_and(|found| found.entries == *expected)
}

/// Removes a cached folder (or whatever is at its name) that does not match
/// its archive, so that it is unpacked afresh.
fn remove_cached(dest: &Path) -> Result<()> {
    let removed = match fs::symlink_metadata(dest) {
        Err(_) => return Ok(()),
        Ok(m) if m.is_dir() => fs::remove_dir_all(dest),
        Ok(_) => fs::remove_file(dest),
    };
    removed.map_err(|e| ArtifactError::Output {
        path: dest.to_path_buf(),
        reason: format!("cannot replace a cached artifact that does not match its archive: {e}"),
    })
}

/// The second pass: reads `file` again from the start into a new temporary
/// folder beside `dest`, checks that it still hashes to `sha` and verifies,
/// and renames the folder into place.
fn unpack_into(file: &mut File, archive: &Path, dest: &Path, sha: &str) -> Result<PathBuf> {
    let out_err = |path: &Path, reason: String| ArtifactError::Output {
        path: path.to_path_buf(),
        reason,
    };
    let tmp = StagedDir::new(dest).map_err(|e| out_err(dest, e.into_io().to_string()))?;
    file.rewind()
        .map_err(|e| archive_error(archive, format!("cannot read: {e}")))?;
    let (info, listing) = read_archive_from(file, archive, Some(tmp.path()))?;
    if info.sha256 != sha {
        return Err(archive_error(
            archive,
            "changed while it was being unpacked; try again".into(),
        ));
    }
    verify::check(listing, archive, Some(info))?.into_result()?;
    if let Err(e) = tmp.commit(Existing::Refuse) {
        // Another process unpacked the same archive meanwhile (loading
        // verifies whatever is there).
        if !dest.is_dir() {
            return Err(out_err(dest, e.into_io().to_string()));
        }
    }
    Ok(dest.to_path_buf())
}

fn archive_error(path: &Path, reason: String) -> ArtifactError {
    ArtifactError::Archive {
        path: path.to_path_buf(),
        reason,
    }
}

/// Opens an archive, refusing anything but a regular file (a named pipe
/// would block).
fn open_archive(path: &Path) -> Result<File> {
    let (file, _) =
        fsio::open_regular(path, true).map_err(|e| archive_error(path, e.to_string()))?;
    Ok(file)
}

/// Reads a packed artifact: checks every entry, hashes each file and, with
/// `unpack_into`, writes them into that (empty) folder.
pub(crate) fn read_archive(
    path: &Path,
    unpack_into: Option<&Path>,
) -> Result<(ArchiveInfo, Listing)> {
    read_archive_from(&mut open_archive(path)?, path, unpack_into)
}

/// Hashes what its reader reads into a hasher it only borrows, so the hash
/// can be finished after the decoder that owns the reader is gone.
struct Tap<'a, R> {
    inner: R,
    state: &'a std::cell::RefCell<(sha2::Sha256, u64)>,
}

impl<R: Read> Read for Tap<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use sha2::Digest;
        let k = self.inner.read(buf)?;
        let mut state = self.state.borrow_mut();
        state.0.update(&buf[..k]);
        state.1 += k as u64;
        Ok(k)
    }
}

/// [`read_archive`] on an open archive (read from its start): the archive's
/// hash and size come from the same reads that unpack it.
fn read_archive_from(
    file: &mut File,
    path: &Path,
    unpack_into: Option<&Path>,
) -> Result<(ArchiveInfo, Listing)> {
    let archive_err = |reason: String| archive_error(path, reason);
    let compression = sniff_compression(file, path)?;
    let hashed = std::cell::RefCell::new((<sha2::Sha256 as sha2::Digest>::new(), 0u64));
    let tap = Tap {
        inner: &mut *file,
        state: &hashed,
    };
    let corrupt = |e: io::Error| {
        archive_err(format!(
            "not a valid {}-compressed tar archive: {e}",
            compression.name()
        ))
    };
    let reader: Box<dyn Read + '_> = match compression {
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(io::BufReader::new(tap))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(tap).map_err(corrupt)?),
    };
    let mut tar = tar::Archive::new(reader);
    let entries = tar.entries().map_err(corrupt)?.raw(true);
    let mut info = ArchiveInfo {
        compression,
        bytes: 0,
        sha256: String::new(),
        entries: Vec::new(),
    };
    let mut listing = Listing::default();
    let mut seen = BTreeSet::new();
    let mut count = 0usize;
    let mut total: u64 = 0;
    for entry in entries {
        let mut entry = entry.map_err(corrupt)?;
        count += 1;
        if count > MAX_ENTRIES {
            return Err(archive_err(format!(
                "holds more than {MAX_ENTRIES} entries, far more than an artifact has; refusing to unpack it"
            )));
        }
        let raw_name = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_name).into_owned();
        let refuse = |reason: String| ArtifactError::ArchiveEntry {
            path: path.to_path_buf(),
            entry: shown.clone(),
            reason,
        };
        let Some(name) = regular_file_name(&entry, &raw_name, &refuse)? else {
            continue; // the `./` folder entry
        };
        if !seen.insert(name.clone()) {
            return Err(refuse(
                "appears twice; refusing an archive whose content is ambiguous".into(),
            ));
        }
        let size = entry.size();
        total = total.saturating_add(size);
        if total > MAX_UNPACKED_BYTES {
            return Err(refuse(format!(
                "({size} bytes) brings the unpacked size over the {} GiB limit; refusing to unpack it",
                MAX_UNPACKED_BYTES >> 30
            )));
        }
        info.entries
            .push(tar_entry(entry.header(), &name, size, &refuse)?);
        list_entry(&mut listing, &mut entry, &name, size, unpack_into, &refuse).map_err(
            |e| match e {
                EntryFailure::Read(e) => corrupt(e),
                EntryFailure::Refused(e) => e,
            },
        )?;
    }
    drop(tar);
    // The hash covers the whole file, past the end of the tar too.
    let mut rest = Tap {
        inner: &mut *file,
        state: &hashed,
    };
    io::copy(&mut rest, &mut io::sink()).map_err(|e| archive_err(format!("cannot read: {e}")))?;
    let (hasher, bytes) = hashed.into_inner();
    info.bytes = bytes;
    info.sha256 = anneal_core::text::hex(&sha2::Digest::finalize(hasher));
    Ok((info, listing))
}

/// Why [`list_entry`] failed: the archive could not be read (a corrupt
/// stream), or the entry was refused.
enum EntryFailure {
    Read(io::Error),
    Refused(ArtifactError),
}

/// Hashes a tar entry's `size` bytes into `listing` under `name`,
/// writing them to a new file in `unpack_into` when given (synced). An
/// entry shorter than its header says is refused.
fn list_entry(
    listing: &mut Listing,
    entry: &mut dyn Read,
    name: &str,
    size: u64,
    unpack_into: Option<&Path>,
    refuse: &dyn Fn(String) -> ArtifactError,
) -> std::result::Result<(), EntryFailure> {
    let unpackable =
        |e: io::Error| EntryFailure::Refused(refuse(format!("cannot be unpacked: {e}")));
    let mut out = match unpack_into {
        Some(dir) => Some(
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(dir.join(name))
                .map_err(unpackable)?,
        ),
        None => None,
    };
    let n = listing
        .add_reader(
            name,
            entry,
            out.as_mut().map(|f| f as &mut dyn Write),
            Some(size),
        )
        .map_err(EntryFailure::Read)?;
    if n != size {
        return Err(EntryFailure::Refused(refuse(format!(
            "is truncated: its header says {size} bytes, the archive holds {n}"
        ))));
    }
    if let Some(f) = out {
        f.sync_all().map_err(unpackable)?;
    }
    Ok(())
}

/// Reads the first bytes of `file` to tell its compression, then rewinds
/// it; anything but gzip or zstd is not a packed artifact.
fn sniff_compression(file: &mut File, path: &Path) -> Result<Compression> {
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(archive_error(path, format!("cannot read: {e}"))),
        }
    }
    let Some(compression) = Compression::sniff(&magic[..got]) else {
        return Err(ArtifactError::NotArtifact {
            path: path.to_path_buf(),
            reason: format!(
                "not a folder, and not a packed artifact (a gzip- or zstd-compressed tar: {ACCEPTED})"
            ),
        });
    };
    file.rewind()
        .map_err(|e| archive_error(path, format!("cannot read: {e}")))?;
    Ok(compression)
}

/// The file name of a tar entry that may be unpacked: a regular file with
/// a plain name (`None` for the `./` folder entry). Extension headers,
/// links, folders and devices are refused (`refuse` words the error).
fn regular_file_name<R: Read>(
    entry: &tar::Entry<'_, R>,
    raw_name: &[u8],
    refuse: &dyn Fn(String) -> ArtifactError,
) -> Result<Option<String>> {
    let kind = entry.header().entry_type();
    if let Some(what) = extension_header(kind) {
        return Err(refuse(format!(
            "is {what}, which anneal archives never hold; repack the artifact with `anneal artifact pack`"
        )));
    }
    let Some(name) = entry_name(raw_name, kind.is_dir()).map_err(refuse)? else {
        return Ok(None);
    };
    if !kind.is_file() {
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .unwrap_or_default();
        return Err(refuse(format!(
            "{}; an artifact archive holds regular files only",
            describe_kind(kind, &link)
        )));
    }
    Ok(Some(name))
}

/// What `inspect` shows of a tar entry's header.
fn tar_entry(
    header: &tar::Header,
    name: &str,
    size: u64,
    refuse: &dyn Fn(String) -> ArtifactError,
) -> Result<TarEntry> {
    let field = |what: &str, e: io::Error| refuse(format!("has an unreadable {what}: {e}"));
    Ok(TarEntry {
        name: name.to_string(),
        bytes: size,
        mode: format!("{:04o}", header.mode().map_err(|e| field("mode", e))?),
        uid: header.uid().map_err(|e| field("uid", e))?,
        gid: header.gid().map_err(|e| field("gid", e))?,
        mtime: header.mtime().map_err(|e| field("mtime", e))?,
        user: String::from_utf8_lossy(header.username_bytes().unwrap_or_default()).into_owned(),
        group: String::from_utf8_lossy(header.groupname_bytes().unwrap_or_default()).into_owned(),
    })
}

fn extension_header(kind: tar::EntryType) -> Option<&'static str> {
    if kind.is_pax_local_extensions() || kind.is_pax_global_extensions() {
        Some("a PAX extension header")
    } else if kind.is_gnu_longname() || kind.is_gnu_longlink() {
        Some("a GNU long-name header")
    } else {
        None
    }
}

fn describe_kind(kind: tar::EntryType, link: &str) -> String {
    if kind.is_dir() {
        "is a folder".into()
    } else if kind.is_symlink() {
        format!("is a symbolic link (to {link:?})")
    } else if kind.is_hard_link() {
        format!("is a hard link (to {link:?})")
    } else if kind.is_character_special() || kind.is_block_special() {
        "is a device file".into()
    } else if kind.is_fifo() {
        "is a named pipe".into()
    } else {
        format!(
            "is not a regular file (tar type {:?})",
            char::from(kind.as_byte())
        )
    }
}

/// The file name an entry unpacks to: `Ok(None)` for the archive's own
/// `./` folder entry, an error (the reason) for anything that is not a
/// plain file name.
fn entry_name(raw: &[u8], is_dir: bool) -> std::result::Result<Option<String>, String> {
    let Ok(name) = std::str::from_utf8(raw) else {
        return Err("has a name that is not UTF-8".into());
    };
    if name.is_empty() {
        return Err("has an empty name".into());
    }
    if name.starts_with('/')
        || name.starts_with('\\')
        || (name.len() >= 2
            && name.as_bytes()[1] == b':'
            && name.as_bytes()[0].is_ascii_alphabetic())
    {
        return Err("is an absolute path; refusing to unpack it".into());
    }
    if name.split(['/', '\\']).any(|c| c == "..") {
        return Err(
            "has a \"..\" component, which points outside the artifact folder; refusing to unpack it"
                .into(),
        );
    }
    if name.chars().any(char::is_control) {
        return Err("has a control character in its name".into());
    }
    let mut rest = name;
    while let Some(r) = rest.strip_prefix("./") {
        rest = r;
    }
    if is_dir {
        rest = rest.trim_end_matches('/');
    }
    if rest.is_empty() || rest == "." {
        return if is_dir {
            Ok(None)
        } else {
            Err("is not a file name".into())
        };
    }
    if rest.contains('/') || rest.contains('\\') {
        return Err("is inside a folder; an artifact archive holds plain file names only".into());
    }
    Ok(Some(rest.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_entry_hashes_unpacks_and_refuses_a_short_entry() {
        let dir = std::env::temp_dir().join(format!("anneal-list-entry-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let refuse = |reason: String| archive_error(Path::new("a.tar.gz"), reason);
        let mut listing = Listing::default();
        let ok = list_entry(
            &mut listing,
            &mut &b"abc"[..],
            "x.bin",
            3,
            Some(&dir),
            &refuse,
        );
        assert!(ok.is_ok());
        assert_eq!(fs::read(dir.join("x.bin")).unwrap(), b"abc");
        assert_eq!(
            listing.entries["x.bin"],
            verify::Present::File(verify::FileStat {
                bytes: 3,
                sha256: hash::sha256_hex(b"abc"),
            })
        );
        let Err(EntryFailure::Refused(e)) =
            list_entry(&mut listing, &mut &b"ab"[..], "y.bin", 3, None, &refuse)
        else {
            panic!("a short entry was not refused");
        };
        assert_eq!(
            e.to_string(),
            archive_error(
                Path::new("a.tar.gz"),
                "is truncated: its header says 3 bytes, the archive holds 2".into()
            )
            .to_string()
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn compression_is_sniffed_and_the_file_rewound() {
        let dir = std::env::temp_dir().join(format!("anneal-sniff-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let sniff = |bytes: &[u8]| {
            let path = dir.join("a");
            fs::write(&path, bytes).unwrap();
            let mut file = File::open(&path).unwrap();
            let got = sniff_compression(&mut file, &path);
            if got.is_ok() {
                let mut rest = Vec::new();
                file.read_to_end(&mut rest).unwrap();
                assert_eq!(rest, bytes, "not rewound");
            }
            got.map_err(|e| e.to_string())
        };
        assert_eq!(sniff(&[0x1f, 0x8b, 8]).unwrap(), Compression::Gzip);
        assert_eq!(
            sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]).unwrap(),
            Compression::Zstd
        );
        let e = sniff(b"PK").unwrap_err();
        assert!(
            e.ends_with(&format!(
                "not a folder, and not a packed artifact (a gzip- or zstd-compressed tar: {ACCEPTED})"
            )),
            "{e}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn entry_names() {
        assert_eq!(
            entry_name(b"model.json", false),
            Ok(Some("model.json".into()))
        );
        assert_eq!(
            entry_name(b"./model.json", false),
            Ok(Some("model.json".into()))
        );
        assert_eq!(entry_name(b"./", true), Ok(None));
        assert_eq!(entry_name(b".", true), Ok(None));
        assert_eq!(entry_name(b"sub/", true), Ok(Some("sub".into())));
        for (bad, why) in [
            (&b"../evil"[..], "\"..\""),
            (b"a/../../evil", "\"..\""),
            (b"/etc/passwd", "absolute"),
            (b"C:\\x", "absolute"),
            (b"a/b", "inside a folder"),
            (b"", "empty"),
            (b"a\nb", "control"),
            (b"\xff", "UTF-8"),
            (b"./", "not a file name"),
        ] {
            let e = entry_name(bad, false).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn extensions() {
        let c = |s: &str| Compression::from_name(Path::new(s));
        assert_eq!(c("a.tar.gz"), Some(Compression::Gzip));
        assert_eq!(c("a.TGZ"), Some(Compression::Gzip));
        assert_eq!(c("dir/a.tar.zst"), Some(Compression::Zstd));
        assert_eq!(c("a.zip"), None);
        assert_eq!(c("a.gz"), None);
        assert_eq!(c("a.tar"), None);
    }
}
