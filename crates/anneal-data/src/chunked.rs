//! Reading a large CSV in chunks, so that the file's bytes and its table
//! are never in memory together (on a 76 MB file that was a third of the
//! data stage's peak).
//!
//! The result is the table the whole-file read gives, or nothing: the first
//! chunk holds at least the rows polars infers types from
//! ([`INFER_ROWS`]), so it infers what the whole file would; later chunks
//! are parsed with its schema. Anything unusual (a text problem, a value
//! that does not fit that schema, a parse error) gives up, and the caller
//! reads the whole file, which reports the problem exactly as always.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anneal_config::CsvOptions;
use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::csvscan::{self, CsvPos};
use crate::error::{DataError, Result};
use crate::plain::{self, Appended};
use crate::read::{INFER_ROWS, read_csv, read_csv_as};
use crate::stacked::Stacked;

/// Bytes read and parsed at a time.
pub(crate) const CHUNK_BYTES: usize = 16 << 20;

/// The table in the CSV at `path` and the SHA-256 of its bytes, read
/// `chunk` bytes at a time; `None` when the whole file must be read instead.
pub(crate) fn read(
    path: &Path,
    delimiter: u8,
    csv: &CsvOptions,
    as_text: &[String],
    chunk: usize,
) -> Result<Option<(DataFrame, String)>> {
    let mut source = Source::open(path, chunk)?;
    let mut hasher = Sha256::new();
    // The text being parsed: the header, then whole records; and the
    // buffer the next text is read into while this one parses.
    let mut text: Vec<u8> = Vec::with_capacity(chunk + (1 << 16));
    let mut spare: Vec<u8> = Vec::new();
    let Some(header) = source.header(&mut text)? else {
        return Ok(None);
    };
    let names = csvscan::header_names(&text[..header], delimiter);
    let mut table: Option<Stacked> = None;
    // Bytes of `text` before this are hashed.
    let mut hashed = 0usize;
    loop {
        let Some(end) = chunk_end(&text, header, table.is_none(), source.eof) else {
            source.fill(&mut text, chunk)?;
            continue;
        };
        let last = source.eof && end == text.len();
        let first = table.is_none();
        let part = Part {
            bytes: &text[..end],
            header,
            names: &names,
            file_bytes: source.bytes,
        };
        // While the chunk parses, the bytes read since the last one are
        // hashed and the next text is read: the file is read while both
        // cores parse, not between chunks.
        let (next, parsed) = rayon::join(
            || {
                hasher.update(&text[hashed..]);
                if last {
                    return Ok(());
                }
                source.carry(&text, header, end, &mut spare)
            },
            || append(part, &mut table, delimiter, csv, as_text),
        );
        next?;
        let Some(rows) = parsed else { return Ok(None) };
        // Types are inferred from the first rows of the file: exactly
        // those of the whole-file read only if the chunk holds them all.
        if first && end < text.len() && rows <= INFER_ROWS {
            return Ok(None);
        }
        if last {
            break;
        }
        // The header and the rest of the text were hashed above; what
        // was read after them was not.
        hashed = header + text.len() - end;
        std::mem::swap(&mut text, &mut spare);
    }
    let sha256 = anneal_core::text::hex(&hasher.finalize());
    Ok(table.and_then(Stacked::finish).map(|t| (t, sha256)))
}

/// The file being read, `chunk` bytes at a time.
struct Source<'a> {
    file: File,
    path: &'a Path,
    chunk: usize,
    /// The file's length.
    bytes: usize,
    /// Whether the file has been read to its end.
    eof: bool,
}

impl<'a> Source<'a> {
    fn open(path: &'a Path, chunk: usize) -> Result<Source<'a>> {
        let file = File::open(path).map_err(|e| crate::source::io_err(path, e))?;
        let bytes = file.metadata().map_or(0, |m| m.len()) as usize;
        Ok(Source {
            file,
            path,
            chunk,
            bytes,
            eof: false,
        })
    }

    /// Reads into `text` up to the end of the header, and returns its
    /// length; `None` when the file has no complete header line. The first
    /// read is short: the first chunk's records are usually in it, and the
    /// next read overlaps their parse.
    fn header(&mut self, text: &mut Vec<u8>) -> Result<Option<usize>> {
        self.fill(text, self.chunk / 8)?;
        loop {
            match record_end(text, false) {
                Some(h) => return Ok(Some(h)),
                None if self.eof => return Ok(None),
                None => self.fill(text, self.chunk)?,
            }
        }
    }

    /// The next text into `spare`: the header, the rest of `text` after
    /// the chunk that ends at `end`, and more of the file unless another
    /// chunk's worth is left.
    fn carry(&mut self, text: &[u8], header: usize, end: usize, spare: &mut Vec<u8>) -> Result<()> {
        let rest = &text[end..];
        let refill = !self.eof && rest.len() < self.chunk / 2;
        spare.clear();
        // One allocation of the size needed, not a doubling series.
        spare.reserve_exact(header + rest.len() + if refill { self.chunk } else { 0 });
        spare.extend_from_slice(&text[..header]);
        spare.extend_from_slice(rest);
        if refill {
            self.fill(spare, self.chunk)?;
        }
        Ok(())
    }

    /// Appends up to `n` bytes of the file to `buf`, noting its end.
    fn fill(&mut self, buf: &mut Vec<u8>, n: usize) -> Result<()> {
        // Read into the vector's spare room: no zeroing of 16 MB first.
        let read = (&mut self.file)
            .take(n as u64)
            .read_to_end(buf)
            .map_err(|e| DataError::Io {
                path: self.path.to_path_buf(),
                source: e,
            })?;
        self.eof = read < n;
        Ok(())
    }
}

/// A chunk of the file: the header, then whole records.
struct Part<'a> {
    bytes: &'a [u8],
    /// The header's length.
    header: usize,
    names: &'a [String],
    /// The whole file's length.
    file_bytes: usize,
}

/// One chunk added to the table, its rows counted: the first parsed by
/// polars with the types it infers for the whole file (the table starts
/// with it), a later one by [`crate::plain`] when it is plain, else by
/// polars with the table's types. `None` on a text problem or a parse
/// error.
fn append(
    part: Part,
    table: &mut Option<Stacked>,
    delimiter: u8,
    csv: &CsvOptions,
    as_text: &[String],
) -> Option<usize> {
    let text_problem = || {
        csvscan::text_problem(part.bytes, Some((delimiter, part.names)), CsvPos::START).is_some()
    };
    let Some(t) = table else {
        if text_problem() {
            return None;
        }
        let df = read_csv(part.bytes, delimiter, csv, as_text, Some(INFER_ROWS)).ok()?;
        // The file's rows if the rest are as long as these, and a little.
        let per_byte = df.height() as f64 / part.bytes.len().max(1) as f64;
        let expected = (part.file_bytes as f64 * per_byte * 1.02) as usize;
        *table = Some(Stacked::new(&df, expected.min(part.file_bytes))?);
        return Some(df.height());
    };
    // The plain parser checks the text itself, a piece per task.
    let records = &part.bytes[part.header..];
    match plain::append(records, t, delimiter, &csv.null_values) {
        Appended::Rows(n) => return Some(n),
        Appended::Failed => return None,
        Appended::NotPlain => {}
    }
    if text_problem() {
        return None;
    }
    let df = read_csv_as(part.bytes, delimiter, csv, t.schema().clone()).ok()?;
    t.append_frame(&df)?;
    Some(df.height())
}

/// Where the next chunk of `text` (after its `header` bytes) ends; `None`
/// when more must be read first. The first chunk is the records polars
/// infers types from and one more: polars parses it, and
/// [`crate::plain`] most of the rest. At the end of the file, everything
/// left.
fn chunk_end(text: &[u8], header: usize, first: bool, eof: bool) -> Option<usize> {
    let records = &text[header..];
    if first && let Some(e) = nth_record_end(records, INFER_ROWS + 1) {
        return Some(header + e);
    }
    if eof {
        return Some(text.len());
    }
    if first {
        return None;
    }
    record_end(records, true).map(|e| header + e)
}

/// Just past the newline that ends the `n`th record of `bytes`; a
/// newline inside double quotes ends nothing.
fn nth_record_end(bytes: &[u8], n: usize) -> Option<usize> {
    let mut in_quotes = false;
    let mut seen = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                seen += 1;
                if seen == n {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The end (just past the newline) of the first record of `bytes`, or,
/// with `last`, of its last complete record; a newline inside double
/// quotes ends nothing.
fn record_end(bytes: &[u8], last: bool) -> Option<usize> {
    if last && !bytes.contains(&b'"') {
        return bytes.iter().rposition(|&b| b == b'\n').map(|i| i + 1);
    }
    let mut in_quotes = false;
    let mut end = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                end = Some(i + 1);
                if !last {
                    break;
                }
            }
            _ => {}
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::read_table;

    /// 30,000 rows with quoted fields (delimiters and newlines inside),
    /// missing cells, a text column of digits read as text, and CRLF line
    /// ends: read in 64 KiB chunks, the same table and hash as whole; and
    /// the same file made plain.
    #[test]
    fn chunks_give_the_whole_files_table() {
        let dir = std::env::temp_dir().join(format!("anneal-chunked-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut csv = String::from("id,x,note,code,y\r\n");
        for i in 0..30_000u32 {
            let x = if i % 7 == 0 {
                String::new()
            } else {
                format!("{}.5", i % 113)
            };
            let note = match i % 5 {
                0 => "\"a, b\"".to_string(),
                1 => "\"two\nlines\"".to_string(),
                2 => String::new(),
                _ => format!("n{}", i % 11),
            };
            csv.push_str(&format!("{i},{x},{note},{:03},{}\r\n", i % 40, i % 3));
        }
        let path = dir.join("t.csv");
        std::fs::write(&path, &csv).expect("write");
        let opts = CsvOptions::default();
        let as_text = ["code".to_string()];
        let whole = read_table(&path, None, &opts, &as_text).expect("whole");
        let (df, sha) = read(&path, b',', &opts, &as_text, 64 << 10)
            .expect("read")
            .expect("chunked");
        assert!(df.column("note").expect("note").n_chunks() > 1);
        assert!(df.equals_missing(&whole.df));
        assert_eq!(df.schema(), whole.df.schema());
        assert_eq!(sha, whole.sha256);
        // A plain file (no quotes, `\n`): the plain parser reads all but
        // the first chunk, straight into one vector per number column.
        let plain = csv
            .replace("\"a, b\"", "ab")
            .replace("\"two\nlines\"", "two")
            .replace("\r\n", "\n");
        let plain_path = dir.join("plain.csv");
        std::fs::write(&plain_path, &plain).expect("write");
        let whole = read_table(&plain_path, None, &opts, &as_text).expect("whole");
        let (df, sha) = read(&plain_path, b',', &opts, &as_text, 64 << 10)
            .expect("read")
            .expect("chunked");
        assert!(df.equals_missing(&whole.df));
        assert_eq!(df.schema(), whole.df.schema());
        assert_eq!(sha, whole.sha256);
        assert_eq!(df.column("x").expect("x").n_chunks(), 1);
        assert!(df.column("note").expect("note").n_chunks() > 2);
        // A float after the inferred integers gives up, for the whole-file
        // read to infer again.
        csv.push_str("30000,1,n,001,0.5\r\n");
        std::fs::write(&path, &csv).expect("write");
        assert!(
            read(&path, b',', &opts, &as_text, 64 << 10)
                .expect("read")
                .is_none()
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
