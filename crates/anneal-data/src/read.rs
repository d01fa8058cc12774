//! Reading a data file into a polars `DataFrame`, once: the bytes are read a
//! single time, hashed, checked to be text where text is expected, and handed
//! to polars from memory.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use anneal_config::{CsvOptions, DataFormat};
use polars::prelude::*;

use crate::chunked;
use crate::csvscan::{self, CsvPos};
use crate::error::{DataError, Result};

/// A loaded table and the facts about its file that reports record.
#[derive(Debug, Clone)]
pub struct Table {
    pub df: DataFrame,
    pub path: PathBuf,
    pub format: DataFormat,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// SHA-256 of the parsed table (see [`crate::fingerprint`]).
    pub logical_sha256: String,
    /// Each row's 128-bit hash, in row order: the logical hash is their
    /// sum, and the data stage finds exact duplicates by them.
    pub row_hashes: Vec<u128>,
    pub bytes: u64,
}

/// Rows polars reads to infer CSV column types before falling back to the
/// whole file (when a later row does not fit the inferred type).
pub(crate) const INFER_ROWS: usize = 10_000;

/// The format named by the config, or else by the file extension.
pub fn detect_format(path: &Path, declared: Option<DataFormat>) -> Result<DataFormat> {
    if let Some(f) = declared {
        return Ok(f);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("csv") | Some("tsv") | Some("txt") => Ok(DataFormat::Csv),
        Some("parquet") | Some("pq") => Ok(DataFormat::Parquet),
        Some("ndjson") | Some("jsonl") | Some("json") => Ok(DataFormat::Ndjson),
        _ => Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
        }),
    }
}

/// Reads `path`. Columns in `as_text` are read as strings whatever they look
/// like (categorical columns whose values happen to be digits).
pub fn read_table(
    path: &Path,
    format: Option<DataFormat>,
    csv: &CsvOptions,
    as_text: &[String],
) -> Result<Table> {
    if path.is_dir() {
        return read_dir(path, format);
    }
    let format = detect_format(path, format)?;
    if let Some((df, sha256, size)) = read_in_chunks(path, format, csv, as_text)? {
        return table(df, path, format, sha256, size);
    }
    let bytes = read_bytes(path)?;
    // The file's SHA-256 is computed on another thread while the text is
    // checked and parsed.
    let size = bytes.len() as u64;
    let (sha256, parsed) = rayon::join(
        || anneal_core::hash::sha256_hex(&bytes),
        || parse_bytes(&bytes, path, format, csv, as_text),
    );
    // The bytes go before the table is hashed: a file and its table are in
    // memory together only while it is parsed.
    drop(bytes);
    table(parsed?, path, format, sha256, size)
}

/// A CSV of two chunks or more, read in chunks ([`crate::chunked`]); `None`
/// for anything else, or when the whole file must be read after all.
fn read_in_chunks(
    path: &Path,
    format: DataFormat,
    csv: &CsvOptions,
    as_text: &[String],
) -> Result<Option<(DataFrame, String, u64)>> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if format != DataFormat::Csv || size < 2 * chunked::CHUNK_BYTES as u64 {
        return Ok(None);
    }
    let delimiter = csv.delimiter.as_bytes().first().copied().unwrap_or(b',');
    let read = chunked::read(path, delimiter, csv, as_text, chunked::CHUNK_BYTES)?;
    Ok(read.map(|(df, sha256)| (df, sha256, size)))
}

/// The table read from `path`, with its hashes; an error when it has no
/// column or no row.
fn table(
    df: DataFrame,
    path: &Path,
    format: DataFormat,
    sha256: String,
    size: u64,
) -> Result<Table> {
    if df.width() == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    if df.height() == 0 {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
        });
    }
    let (logical_sha256, row_hashes) =
        crate::fingerprint::logical_sha256_and_rows(&df).map_err(|e| DataError::Malformed {
            path: path.to_path_buf(),
            format: format_name(format),
            detail: polars_message(&e),
        })?;
    Ok(Table {
        df,
        path: path.to_path_buf(),
        format,
        sha256,
        logical_sha256,
        row_hashes,
        bytes: size,
    })
}

/// The file's bytes; an error for a missing or empty file.
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DataError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(DataError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if bytes.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// The table in `bytes`, checked to be text first where text is expected.
fn parse_bytes(
    bytes: &[u8],
    path: &Path,
    format: DataFormat,
    csv: &CsvOptions,
    as_text: &[String],
) -> Result<DataFrame> {
    let malformed = |detail: String| DataError::Malformed {
        path: path.to_path_buf(),
        format: format_name(format),
        detail,
    };
    let delimiter = csv.delimiter.as_bytes().first().copied().unwrap_or(b',');
    if format != DataFormat::Parquet {
        let names;
        let layout = if format == DataFormat::Csv {
            names = csvscan::header_names(bytes, delimiter);
            Some((delimiter, names.as_slice()))
        } else {
            None
        };
        if let Some(problem) = csvscan::text_problem(bytes, layout, CsvPos::START) {
            return Err(malformed(problem));
        }
    }
    match format {
        DataFormat::Csv => match read_csv(bytes, delimiter, csv, as_text, Some(INFER_ROWS)) {
            Ok(df) => Ok(df),
            // A value after the sampled rows did not fit the inferred type:
            // infer from every row instead, so that the column comes back as
            // text and the value can be reported by row.
            Err(_) => read_csv(bytes, delimiter, csv, as_text, None).map_err(|e| {
                malformed(
                    shape_message(bytes, delimiter, |at| at).unwrap_or_else(|| polars_message(&e)),
                )
            }),
        },
        DataFormat::Parquet => {
            crate::guard::no_panic(|| ParquetReader::new(Cursor::new(bytes)).finish())
                .map_err(|panic| malformed(format!("the Parquet reader failed ({panic})")))?
                .map_err(|e| malformed(polars_message(&e)))
        }
        DataFormat::Ndjson => crate::guard::no_panic(|| {
            JsonReader::new(Cursor::new(bytes))
                .with_json_format(JsonFormat::JsonLines)
                .finish()
        })
        .map_err(|panic| malformed(format!("the NDJSON reader failed ({panic})")))?
        .map_err(|e| malformed(polars_message(&e))),
    }
}

/// A directory of Hive-partitioned Parquet files, read whole.
fn read_dir(path: &Path, format: Option<DataFormat>) -> Result<Table> {
    let source = crate::source::Source::resolve(path, format)?;
    let lf = source.scan(&CsvOptions::default(), &[], None)?;
    let df = crate::guard::no_panic(|| lf.collect())
        .map_err(|panic| source.malformed(&PolarsError::ComputeError(panic.into())))?
        .map_err(|e| source.malformed(&e))?;
    if df.height() == 0 {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
        });
    }
    let (logical_sha256, row_hashes) =
        crate::fingerprint::logical_sha256_and_rows(&df).map_err(|e| source.malformed(&e))?;
    Ok(Table {
        df,
        path: path.to_path_buf(),
        format: source.format,
        sha256: source.sha256()?,
        logical_sha256,
        row_hashes,
        bytes: source.bytes,
    })
}

pub(crate) fn read_csv(
    bytes: &[u8],
    delimiter: u8,
    csv: &CsvOptions,
    as_text: &[String],
    infer: Option<usize>,
) -> PolarsResult<DataFrame> {
    let overwrite = if as_text.is_empty() {
        None
    } else {
        Some(Arc::new(Schema::from_iter(
            as_text
                .iter()
                .map(|n| Field::new(n.as_str().into(), DataType::String)),
        )))
    };
    parse_csv(bytes, delimiter, csv, |o| {
        o.with_infer_schema_length(infer)
            .with_schema_overwrite(overwrite.clone())
    })
}

/// `bytes` (a header and records) parsed with a known `schema`, nothing
/// inferred: the later chunks of a file read in chunks.
pub(crate) fn read_csv_as(
    bytes: &[u8],
    delimiter: u8,
    csv: &CsvOptions,
    schema: SchemaRef,
) -> PolarsResult<DataFrame> {
    parse_csv(bytes, delimiter, csv, |o| {
        o.with_schema(Some(schema.clone()))
    })
}

/// The CSV reader with the config's options, and the types from `typed`.
fn parse_csv(
    bytes: &[u8],
    delimiter: u8,
    csv: &CsvOptions,
    typed: impl Fn(CsvReadOptions) -> CsvReadOptions,
) -> PolarsResult<DataFrame> {
    let nulls = if csv.null_values.is_empty() {
        None
    } else {
        Some(NullValues::AllColumns(
            csv.null_values.iter().map(|s| s.as_str().into()).collect(),
        ))
    };
    let read = || {
        typed(CsvReadOptions::default())
            .with_has_header(true)
            .with_raise_if_empty(true)
            .map_parse_options(|o| {
                o.with_separator(delimiter)
                    .with_null_values(nulls.clone())
                    .with_missing_is_null(true)
            })
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish()
    };
    crate::guard::no_panic(read).unwrap_or_else(|panic| {
        Err(PolarsError::ComputeError(
            format!(
                "the CSV reader failed ({panic}); look for a stray \" inside an unquoted value"
            )
            .into(),
        ))
    })
}

/// What polars cannot parse, said with its place: a record with more
/// fields than the header, or a quoted field that is never closed.
/// `place` maps a position in `bytes` (which may be a batch of the file,
/// header first) to the file's line and data row.
pub(crate) fn shape_message(
    bytes: &[u8],
    delimiter: u8,
    place: impl Fn(CsvPos) -> CsvPos,
) -> Option<String> {
    Some(match csvscan::shape_problem(bytes, delimiter)? {
        csvscan::Shape::TooManyFields { at, fields, header } => {
            let at = place(at);
            format!(
                "line {} (row {}) has {fields} fields, but the header has {header}; quote values that hold the delimiter",
                at.line, at.record
            )
        }
        csvscan::Shape::OpenQuote { at } => format!(
            "a quoted value opened at {} is never closed",
            csvscan::describe(place(at), &csvscan::header_names(bytes, delimiter))
        ),
    })
}

/// Polars errors carry a context chain over several lines; keep the first,
/// which says what went wrong.
pub(crate) fn polars_message(e: &PolarsError) -> String {
    let text = e.to_string();
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("unknown error")
        .to_string()
}

pub(crate) fn format_name(f: DataFormat) -> &'static str {
    match f {
        DataFormat::Csv => "valid CSV",
        DataFormat::Parquet => "valid Parquet",
        DataFormat::Ndjson => "valid NDJSON",
    }
}
