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
use crate::plain;
use crate::read::{INFER_ROWS, read_csv, read_csv_as};

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
    let mut file = File::open(path).map_err(|e| crate::source::io_err(path, e))?;
    let mut hasher = Sha256::new();
    // The text being parsed: the header, then whole records.
    let mut text: Vec<u8> = Vec::with_capacity(chunk + (1 << 16));
    let mut header = 0usize;
    let mut names = Vec::new();
    let mut table: Option<DataFrame> = None;
    // Bytes of `text` before this are hashed.
    let mut hashed = 0usize;
    let mut eof = false;
    // Whether to read more before the next parse.
    let mut more = true;
    loop {
        if more && !eof {
            eof = fill(&mut file, &mut text, chunk, path)?;
        }
        more = true;
        if header == 0 {
            match record_end(&text, false) {
                Some(h) => header = h,
                None if eof => return Ok(None),
                None => continue,
            }
            names = csvscan::header_names(&text[..header], delimiter);
        }
        let Some(end) = chunk_end(&text, header, table.is_none(), eof) else {
            continue;
        };
        // The bytes read since the last chunk are hashed while it parses.
        let (_, parsed) = rayon::join(
            || hasher.update(&text[hashed..]),
            || {
                parse(
                    &text[..end],
                    header,
                    &names,
                    table.as_ref(),
                    delimiter,
                    csv,
                    as_text,
                )
            },
        );
        let Some(df) = parsed else { return Ok(None) };
        // Types are inferred from the first rows of the file: exactly
        // those of the whole-file read only if the chunk holds them all.
        if table.is_none() && end < text.len() && df.height() <= INFER_ROWS {
            return Ok(None);
        }
        match table.as_mut() {
            None => table = Some(df),
            Some(t) => {
                if t.vstack_mut(&df).is_err() {
                    return Ok(None);
                }
            }
        }
        text.drain(header..end);
        hashed = text.len();
        if eof && text.len() == header {
            break;
        }
        // Another chunk's worth left (after the small first one): parse it
        // before reading more.
        more = text.len() - header < chunk / 2;
    }
    let sha256 = anneal_core::text::hex(&hasher.finalize());
    Ok(table.map(|t| (t, sha256)))
}

/// One chunk (the `header` bytes and whole records) parsed: with the
/// inferred types of the whole file for the first (`table` is `None`),
/// with the table's types after that, by [`crate::plain`] when the chunk
/// is plain; `None` on a text problem or a parse error.
fn parse(
    part: &[u8],
    header: usize,
    names: &[String],
    table: Option<&DataFrame>,
    delimiter: u8,
    csv: &CsvOptions,
    as_text: &[String],
) -> Option<DataFrame> {
    if csvscan::text_problem(part, Some((delimiter, names)), CsvPos::START).is_some() {
        return None;
    }
    match table {
        None => read_csv(part, delimiter, csv, as_text, Some(INFER_ROWS)),
        Some(t) => {
            let schema = t.schema();
            if let Some(df) = plain::parse(&part[header..], schema, delimiter, &csv.null_values) {
                return Some(df);
            }
            read_csv_as(part, delimiter, csv, schema.clone())
        }
    }
    .ok()
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

/// Appends up to `chunk` bytes of the file to `text`; whether the file
/// ended.
fn fill(file: &mut File, text: &mut Vec<u8>, chunk: usize, path: &Path) -> Result<bool> {
    // Read into the vector's spare room: no zeroing of 16 MB first.
    let read = file
        .take(chunk as u64)
        .read_to_end(text)
        .map_err(|e| DataError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
    Ok(read < chunk)
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
    /// ends: read in 64 KiB chunks, the same table and hash as whole.
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
        assert!(df.first_col_n_chunks() > 1);
        assert!(df.equals_missing(&whole.df));
        assert_eq!(df.schema(), whole.df.schema());
        assert_eq!(sha, whole.sha256);
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
