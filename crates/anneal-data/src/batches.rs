//! Reading a table in batches of rows, so a file larger than memory can be
//! predicted: CSV and NDJSON are split on record boundaries (quote-aware for
//! CSV) and each batch is parsed by polars on its own; Parquet is read by
//! row slices. Only one batch is held at a time.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor};
use std::path::Path;

use anneal_config::{CsvOptions, DataFormat};
use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::csvscan::CsvPos;
use crate::error::DataError;
use crate::read::{
    detect_format, format_name, polars_message, read_csv as read_csv_bytes, shape_message,
};

/// What was read, once every batch went through.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSummary {
    pub rows: u64,
    pub bytes: u64,
    /// SHA-256 of the file's bytes, computed while reading.
    pub sha256: String,
}

/// Calls `f(batch, first_row)` for consecutive batches of at most `rows`
/// rows of the file at `path` (`first_row` is the 0-based data row of the
/// batch's first row). Columns in `as_text` are read as strings.
pub fn for_each_batch<E: From<DataError>>(
    path: &Path,
    format: Option<DataFormat>,
    csv: &CsvOptions,
    as_text: &[String],
    rows: usize,
    mut f: impl FnMut(DataFrame, u64) -> std::result::Result<(), E>,
) -> std::result::Result<BatchSummary, E> {
    let format = detect_format(path, format)?;
    let rows = rows.max(1);
    let open_err = |e: std::io::Error| crate::source::io_err(path, e);
    let malformed = |detail: String| DataError::Malformed {
        path: path.to_path_buf(),
        format: format_name(format),
        detail,
    };
    let file = File::open(path).map_err(open_err)?;
    if format == DataFormat::Parquet {
        let sha256 = anneal_core::hash::sha256_file(path).map_err(|e| DataError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let total = ParquetReader::new(file)
            .num_rows()
            .map_err(|e| malformed(polars_message(&e)))?;
        let mut offset = 0usize;
        while offset < total {
            let file = File::open(path).map_err(open_err)?;
            let df = ParquetReader::new(file)
                .with_slice(Some((offset, rows)))
                .finish()
                .map_err(|e| malformed(polars_message(&e)))?;
            let n = df.height();
            if n == 0 {
                break;
            }
            f(df, offset as u64)?;
            offset += n;
        }
        if total == 0 {
            return Err(DataError::NoRows {
                path: path.to_path_buf(),
            }
            .into());
        }
        return Ok(BatchSummary {
            rows: offset as u64,
            bytes,
            sha256,
        });
    }

    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut header: Vec<u8> = Vec::new();
    let csv_format = format == DataFormat::Csv;
    let delimiter = csv.delimiter.as_bytes().first().copied().unwrap_or(b',');
    let newlines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
    // The file line the next record starts on.
    let mut line = 1usize;
    let mut names: Vec<String> = Vec::new();
    if csv_format {
        read_record(&mut reader, &mut header).map_err(open_err)?;
        hasher.update(&header);
        bytes += header.len() as u64;
        if header.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
            }
            .into());
        }
        names = crate::csvscan::header_names(&header, delimiter);
        if let Some(problem) =
            crate::csvscan::text_problem(&header, Some((delimiter, &names)), CsvPos::START)
        {
            return Err(malformed(problem).into());
        }
        line += newlines(&header);
        if !header.ends_with(b"\n") {
            header.push(b'\n');
        }
    }
    let header_lines = 1 + newlines(&header[..header.len() - usize::from(csv_format)]);
    let mut done = 0u64;
    let mut chunk: Vec<u8> = Vec::new();
    let mut record: Vec<u8> = Vec::new();
    // Per record of the chunk: the chunk line and the file line it starts on.
    let mut starts: Vec<(usize, usize)> = Vec::new();
    loop {
        chunk.clear();
        starts.clear();
        let mut chunk_line = 1;
        if csv_format {
            chunk.extend_from_slice(&header);
            chunk_line += header_lines;
        }
        let mut in_chunk = 0usize;
        let mut eof = false;
        while in_chunk < rows {
            record.clear();
            let n = if csv_format {
                read_record(&mut reader, &mut record).map_err(open_err)?
            } else {
                reader.read_until(b'\n', &mut record).map_err(open_err)?
            };
            if n == 0 {
                eof = true;
                break;
            }
            hasher.update(&record);
            bytes += n as u64;
            let record_line = line;
            line += newlines(&record);
            if record.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let row = done as usize + in_chunk + 1;
            let at = CsvPos {
                line: record_line,
                record: if csv_format { row } else { 0 },
                field: 0,
            };
            let layout = csv_format.then_some((delimiter, names.as_slice()));
            if let Some(problem) = crate::csvscan::text_problem(&record, layout, at) {
                return Err(malformed(problem).into());
            }
            if !record.ends_with(b"\n") {
                record.push(b'\n');
            }
            starts.push((chunk_line, record_line));
            chunk_line += newlines(&record);
            chunk.extend_from_slice(&record);
            in_chunk += 1;
        }
        if in_chunk > 0 {
            let df = if csv_format {
                read_csv_bytes(&chunk, delimiter, csv, as_text, None)
            } else {
                JsonReader::new(Cursor::new(chunk.as_slice()))
                    .with_json_format(JsonFormat::JsonLines)
                    .finish()
            }
            .map_err(|e| {
                let shape = if csv_format {
                    shape_message(&chunk, delimiter, |at| {
                        match at.record.checked_sub(1).and_then(|r| starts.get(r)) {
                            Some(&(chunk_line, file_line)) => CsvPos {
                                line: file_line + at.line.saturating_sub(chunk_line),
                                record: done as usize + at.record,
                                field: at.field,
                            },
                            None => at,
                        }
                    })
                } else {
                    None
                };
                malformed(shape.unwrap_or_else(|| {
                    format!(
                        "rows {}-{}: {}",
                        done + 1,
                        done + in_chunk as u64,
                        polars_message(&e)
                    )
                }))
            })?;
            f(df, done)?;
            done += in_chunk as u64;
        }
        if eof {
            break;
        }
    }
    if done == 0 {
        return Err(if bytes == 0 {
            DataError::Empty {
                path: path.to_path_buf(),
            }
        } else {
            DataError::NoRows {
                path: path.to_path_buf(),
            }
        }
        .into());
    }
    Ok(BatchSummary {
        rows: done,
        bytes,
        sha256: anneal_core::text::hex(&hasher.finalize()),
    })
}

/// Reads one CSV record (which may span lines inside double quotes) into
/// `buf`; returns the bytes read, 0 at the end of the file.
fn read_record(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut total = 0;
    let mut in_quotes = false;
    loop {
        let start = buf.len();
        let n = reader.read_until(b'\n', buf)?;
        total += n;
        if n == 0 {
            return Ok(total);
        }
        for &b in &buf[start..] {
            if b == b'"' {
                in_quotes = !in_quotes;
            }
        }
        if !in_quotes {
            return Ok(total);
        }
    }
}
