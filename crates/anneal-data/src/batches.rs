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
    let file = File::open(path).map_err(|e| crate::source::io_err(path, e))?;
    if format == DataFormat::Parquet {
        return parquet_batches(path, file, rows, f);
    }
    let mut text = TextBatches::open(path, file, format, csv)?;
    loop {
        let (in_chunk, eof) = text.next_chunk(rows)?;
        if in_chunk > 0 {
            let df = text.parse_chunk(in_chunk, csv, as_text)?;
            f(df, text.done)?;
            text.done += in_chunk as u64;
        }
        if eof {
            break;
        }
    }
    Ok(text.finish()?)
}

fn malformed(path: &Path, format: DataFormat, detail: String) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        format: format_name(format),
        detail,
    }
}

/// Parquet, read by row slices of `rows`.
fn parquet_batches<E: From<DataError>>(
    path: &Path,
    file: File,
    rows: usize,
    mut f: impl FnMut(DataFrame, u64) -> std::result::Result<(), E>,
) -> std::result::Result<BatchSummary, E> {
    let open_err = |e: std::io::Error| crate::source::io_err(path, e);
    let malformed = |e: PolarsError| malformed(path, DataFormat::Parquet, polars_message(&e));
    let sha256 = anneal_core::hash::sha256_file(path).map_err(|e| DataError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let total = ParquetReader::new(file).num_rows().map_err(malformed)?;
    let mut offset = 0usize;
    while offset < total {
        let file = File::open(path).map_err(open_err)?;
        let df = ParquetReader::new(file)
            .with_slice(Some((offset, rows)))
            .finish()
            .map_err(malformed)?;
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
    Ok(BatchSummary {
        rows: offset as u64,
        bytes,
        sha256,
    })
}

/// A CSV or NDJSON file read record by record into chunks of text, each
/// parsed by polars on its own; the file is hashed as it goes.
struct TextBatches<'a> {
    path: &'a Path,
    format: DataFormat,
    csv_format: bool,
    delimiter: u8,
    reader: BufReader<File>,
    hasher: Sha256,
    bytes: u64,
    /// The CSV header (ending in a newline), put before every chunk.
    header: Vec<u8>,
    header_lines: usize,
    names: Vec<String>,
    /// The file line the next record starts on.
    line: usize,
    /// Data rows handed over so far.
    done: u64,
    chunk: Vec<u8>,
    record: Vec<u8>,
    /// Per record of the chunk: the chunk line and the file line it starts on.
    starts: Vec<(usize, usize)>,
}

fn newlines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

impl<'a> TextBatches<'a> {
    /// Opens the reader and, for CSV, reads and checks the header.
    fn open(
        path: &'a Path,
        file: File,
        format: DataFormat,
        csv: &CsvOptions,
    ) -> Result<TextBatches<'a>, DataError> {
        let mut t = TextBatches {
            path,
            format,
            csv_format: format == DataFormat::Csv,
            delimiter: csv.delimiter.as_bytes().first().copied().unwrap_or(b','),
            reader: BufReader::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            bytes: 0,
            header: Vec::new(),
            header_lines: 0,
            names: Vec::new(),
            line: 1,
            done: 0,
            chunk: Vec::new(),
            record: Vec::new(),
            starts: Vec::new(),
        };
        if t.csv_format {
            t.read_header()?;
        }
        let end = t.header.len() - usize::from(t.csv_format);
        t.header_lines = 1 + newlines(&t.header[..end]);
        Ok(t)
    }

    fn read_header(&mut self) -> Result<(), DataError> {
        let path = self.path;
        read_record(&mut self.reader, &mut self.header)
            .map_err(|e| crate::source::io_err(path, e))?;
        self.hasher.update(&self.header);
        self.bytes += self.header.len() as u64;
        if self.header.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
            });
        }
        self.names = crate::csvscan::header_names(&self.header, self.delimiter);
        if let Some(problem) = crate::csvscan::text_problem(
            &self.header,
            Some((self.delimiter, &self.names)),
            CsvPos::START,
        ) {
            return Err(malformed(path, self.format, problem));
        }
        self.line += newlines(&self.header);
        if !self.header.ends_with(b"\n") {
            self.header.push(b'\n');
        }
        Ok(())
    }

    /// Fills the chunk with up to `rows` records (blank ones skipped, each
    /// checked as text); the records read, and whether the file ended.
    fn next_chunk(&mut self, rows: usize) -> Result<(usize, bool), DataError> {
        let path = self.path;
        self.chunk.clear();
        self.starts.clear();
        let mut chunk_line = 1;
        if self.csv_format {
            self.chunk.extend_from_slice(&self.header);
            chunk_line += self.header_lines;
        }
        let mut in_chunk = 0usize;
        while in_chunk < rows {
            self.record.clear();
            let n = if self.csv_format {
                read_record(&mut self.reader, &mut self.record)
            } else {
                self.reader.read_until(b'\n', &mut self.record)
            }
            .map_err(|e| crate::source::io_err(path, e))?;
            if n == 0 {
                return Ok((in_chunk, true));
            }
            self.hasher.update(&self.record);
            self.bytes += n as u64;
            let record_line = self.line;
            self.line += newlines(&self.record);
            if self.record.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let row = self.done as usize + in_chunk + 1;
            let at = CsvPos {
                line: record_line,
                record: if self.csv_format { row } else { 0 },
                field: 0,
            };
            let layout = self
                .csv_format
                .then_some((self.delimiter, self.names.as_slice()));
            if let Some(problem) = crate::csvscan::text_problem(&self.record, layout, at) {
                return Err(malformed(path, self.format, problem));
            }
            if !self.record.ends_with(b"\n") {
                self.record.push(b'\n');
            }
            self.starts.push((chunk_line, record_line));
            chunk_line += newlines(&self.record);
            self.chunk.extend_from_slice(&self.record);
            in_chunk += 1;
        }
        Ok((in_chunk, false))
    }

    /// The chunk of `in_chunk` records parsed by polars; a parse error
    /// names the file line and record where it can, else the rows.
    fn parse_chunk(
        &self,
        in_chunk: usize,
        csv: &CsvOptions,
        as_text: &[String],
    ) -> Result<DataFrame, DataError> {
        let done = self.done;
        let parsed = if self.csv_format {
            read_csv_bytes(&self.chunk, self.delimiter, csv, as_text, None)
        } else {
            JsonReader::new(Cursor::new(self.chunk.as_slice()))
                .with_json_format(JsonFormat::JsonLines)
                .finish()
        };
        parsed.map_err(|e| {
            let shape = if self.csv_format {
                shape_message(&self.chunk, self.delimiter, |at| {
                    match at.record.checked_sub(1).and_then(|r| self.starts.get(r)) {
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
            malformed(
                self.path,
                self.format,
                shape.unwrap_or_else(|| {
                    format!(
                        "rows {}-{}: {}",
                        done + 1,
                        done + in_chunk as u64,
                        polars_message(&e)
                    )
                }),
            )
        })
    }

    /// What was read; an error when no row was.
    fn finish(self) -> Result<BatchSummary, DataError> {
        if self.done == 0 {
            return Err(if self.bytes == 0 {
                DataError::Empty {
                    path: self.path.to_path_buf(),
                }
            } else {
                DataError::NoRows {
                    path: self.path.to_path_buf(),
                }
            });
        }
        Ok(BatchSummary {
            rows: self.done,
            bytes: self.bytes,
            sha256: anneal_core::text::hex(&self.hasher.finalize()),
        })
    }
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
