//! Where the data comes from: one file, or a directory of Parquet files
//! laid out as Hive partitions (`year=2024/region=eu/part-0.parquet`, what
//! Spark, Ballista, Daft or Sail write). A directory is one logical table:
//! the partition keys become columns, and the raw-bytes hash covers every
//! file by its path inside the directory.
//!
//! Both the in-memory reader ([`crate::read_table`]) and the streaming data
//! stage ([`crate::stream`]) open data through the lazy scans built here,
//! so a directory reads the same either way.

use std::path::{Path, PathBuf};

use anneal_config::{CsvOptions, DataFormat};
use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};
use crate::read::{INFER_ROWS, detect_format};

/// A resolved data location.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub format: DataFormat,
    /// Whether `path` is a directory of partitions.
    pub is_dir: bool,
    /// The data files, sorted by their path inside `path`.
    pub files: Vec<PathBuf>,
    /// Total size of the files.
    pub bytes: u64,
}

impl Source {
    /// Resolves `path`: a file, or a directory of Parquet files.
    pub fn resolve(path: &Path, declared: Option<DataFormat>) -> Result<Source> {
        let meta = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
        if !meta.is_dir() {
            let format = detect_format(path, declared)?;
            if meta.len() == 0 {
                return Err(DataError::Empty {
                    path: path.to_path_buf(),
                });
            }
            return Ok(Source {
                path: path.to_path_buf(),
                format,
                is_dir: false,
                files: vec![path.to_path_buf()],
                bytes: meta.len(),
            });
        }
        let mut files = Vec::new();
        collect(path, &mut files)?;
        files.sort();
        let unsupported = |what: String| DataError::unusable(path, what);
        if files.is_empty() {
            return Err(unsupported(
                "the directory holds no .parquet files (a directory is read as Hive-partitioned Parquet)"
                    .into(),
            ));
        }
        for f in &files {
            if detect_format(f, None).ok() != Some(DataFormat::Parquet) {
                return Err(unsupported(format!(
                    "{} is not a .parquet file; a directory is read as Hive-partitioned Parquet (point data.path at a single CSV or NDJSON file instead)",
                    f.strip_prefix(path).unwrap_or(f).display()
                )));
            }
        }
        if let Some(d) = declared
            && d != DataFormat::Parquet
        {
            return Err(unsupported(format!(
                "data.format is {:?}, but a directory is read as Hive-partitioned Parquet",
                format!("{d:?}").to_lowercase()
            )));
        }
        let mut bytes = 0;
        for f in &files {
            bytes += std::fs::metadata(f).map_err(|e| io_err(f, e))?.len();
        }
        Ok(Source {
            path: path.to_path_buf(),
            format: DataFormat::Parquet,
            is_dir: true,
            files,
            bytes,
        })
    }

    /// SHA-256 of the bytes: of the file, or for a directory of the list of
    /// `relative path NUL file sha256 LF` lines in path order.
    pub fn sha256(&self) -> Result<String> {
        if !self.is_dir {
            return anneal_core::hash::sha256_file(&self.path).map_err(|e| DataError::Io {
                path: self.path.clone(),
                source: std::io::Error::other(e.to_string()),
            });
        }
        let mut h = Sha256::new();
        for f in &self.files {
            let rel = f.strip_prefix(&self.path).unwrap_or(f);
            let digest = anneal_core::hash::sha256_file(f).map_err(|e| DataError::Io {
                path: f.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
            h.update(rel.to_string_lossy().replace('\\', "/").as_bytes());
            h.update([0]);
            h.update(digest.as_bytes());
            h.update([b'\n']);
        }
        Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A lazy scan of the whole table, with the internal row-number column
    /// `row_index` first when given. CSV columns in `as_text` are read as
    /// strings.
    pub fn scan(
        &self,
        csv: &CsvOptions,
        as_text: &[String],
        row_index: Option<&str>,
    ) -> Result<LazyFrame> {
        let ri = row_index.map(|name| RowIndex {
            name: name.into(),
            offset: 0,
        });
        let at = PlRefPath::try_from_path(&self.path).map_err(|e| self.malformed(&e))?;
        let lf = match self.format {
            DataFormat::Csv => {
                let delimiter = csv.delimiter.as_bytes().first().copied().unwrap_or(b',');
                let overwrite = (!as_text.is_empty()).then(|| {
                    Arc::new(Schema::from_iter(
                        as_text
                            .iter()
                            .map(|n| Field::new(n.as_str().into(), DataType::String)),
                    ))
                });
                let nulls = (!csv.null_values.is_empty()).then(|| {
                    NullValues::AllColumns(
                        csv.null_values.iter().map(|s| s.as_str().into()).collect(),
                    )
                });
                LazyCsvReader::new(at)
                    .with_has_header(true)
                    .with_infer_schema_length(Some(INFER_ROWS))
                    .with_dtype_overwrite(overwrite)
                    .with_separator(delimiter)
                    .with_null_values(nulls)
                    .with_missing_is_null(true)
                    .with_raise_if_empty(true)
                    .with_row_index(ri)
                    .finish()
            }
            DataFormat::Parquet => LazyFrame::scan_parquet(
                at,
                ScanArgsParquet {
                    row_index: ri,
                    hive_options: if self.is_dir {
                        HiveOptions {
                            // Partition values are numbers or text: date
                            // parsing is not compiled in.
                            try_parse_dates: false,
                            ..HiveOptions::new_enabled()
                        }
                    } else {
                        HiveOptions::new_disabled()
                    },
                    ..Default::default()
                },
            ),
            DataFormat::Ndjson => LazyJsonLineReader::new(at).with_row_index(ri).finish(),
        };
        lf.map_err(|e| self.malformed(&e))
    }

    pub(crate) fn malformed(&self, e: &PolarsError) -> DataError {
        DataError::Malformed {
            path: self.path.clone(),
            format: crate::read::format_name(self.format),
            detail: crate::read::polars_message(e),
        }
    }
}

/// Data files under `dir`, skipping hidden entries and Spark's markers
/// (`_SUCCESS`, `_committed_*`, `.crc` files).
fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| io_err(&path, e))?;
        if kind.is_dir() {
            collect(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// An I/O error on `path`: not found, or anything else.
pub(crate) fn io_err(path: &Path, e: std::io::Error) -> DataError {
    if e.kind() == std::io::ErrorKind::NotFound {
        DataError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        DataError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}
