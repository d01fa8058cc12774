//! The logical fingerprint of a table: a hash of what was parsed, not of
//! the bytes. Re-quoting a CSV, changing its line endings, re-encoding it as
//! Parquet, reordering its rows or columns, or cutting it into shards (Hive
//! partitions, batches) in any order keeps it; changing, adding or removing
//! any cell, row or column name changes it. The raw-bytes hash (recorded
//! beside it) answers "is it the same file", this one "is it the same data".
//!
//! It is a multiset hash: every row is encoded canonically (columns in name
//! order), hashed with XXH3-128, and the row hashes are added modulo 2^128,
//! so the sum does not depend on the order rows arrive in and shards merge
//! by addition ([`LogicalHash::merge`]). The result is the SHA-256 of the
//! sorted column names, the row count and that sum.
//!
//! A cell is encoded by value, not by storage type, so that a column read
//! as integers from one shard and as floats from another is the same data:
//! missing is `0`; a number that is a whole value in `i64` (floats
//! included, `-0.0` as `0`) is `1` and the integer, little-endian; any
//! other float is `3` and its bits (every NaN as one NaN); a boolean is `2`
//! and one byte; text (and anything else, by its text form) is `5`, its
//! length and its UTF-8 bytes.

use polars::prelude::*;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::prepare::ROW;

/// Rows materialised at a time while hashing, so a large frame is not
/// copied whole into host vectors.
const CHUNK: usize = 65_536;

/// A logical hash under construction: add frames (batches, shards) in any
/// order, then [`finish`](Self::finish).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogicalHash {
    /// Sorted column names, set by the first frame.
    columns: Option<Vec<String>>,
    rows: u64,
    sum: u128,
}

/// One column's cells for a chunk of rows.
enum Cells {
    Int(Vec<Option<i64>>),
    UInt(Vec<Option<u64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Text(StringChunked),
}

impl LogicalHash {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every row of `df` (the internal row-number column, if present,
    /// is not data and is skipped). Every frame must have the same column
    /// names, in any order.
    pub fn add(&mut self, df: &DataFrame) -> PolarsResult<()> {
        let hashes = row_hashes(df)?;
        self.add_hashed(df, &hashes)
    }

    /// Adds the rows of `df` whose [`row_hashes`] are `hashes`: a caller
    /// that needs the row hashes anyway (to find duplicates) hashes once.
    pub(crate) fn add_hashed(&mut self, df: &DataFrame, hashes: &[u128]) -> PolarsResult<()> {
        let names = sorted_names(df);
        match &self.columns {
            None => self.columns = Some(names.iter().map(|n| n.to_string()).collect()),
            Some(known) => {
                if known.iter().map(String::as_str).ne(names.iter().copied()) {
                    polars_bail!(ShapeMismatch: "a batch has columns [{}], but the data's columns are [{}]", names.join(", "), known.join(", "));
                }
            }
        }
        self.sum = hashes.iter().fold(self.sum, |s, &h| s.wrapping_add(h));
        self.rows += hashes.len() as u64;
        Ok(())
    }

    /// Combines the hash of another part of the same table.
    pub fn merge(&mut self, other: &LogicalHash) -> PolarsResult<()> {
        if let (Some(a), Some(b)) = (&self.columns, &other.columns)
            && a != b
        {
            polars_bail!(ShapeMismatch: "shards with different columns: [{}] and [{}]", a.join(", "), b.join(", "));
        }
        if self.columns.is_none() {
            self.columns = other.columns.clone();
        }
        self.rows += other.rows;
        self.sum = self.sum.wrapping_add(other.sum);
        Ok(())
    }

    /// The SHA-256, in lowercase hex.
    pub fn finish(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"anneal-logical-v2");
        let columns = self.columns.as_deref().unwrap_or(&[]);
        h.update((columns.len() as u64).to_le_bytes());
        for name in columns {
            h.update((name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
        }
        h.update(self.rows.to_le_bytes());
        h.update(self.sum.to_le_bytes());
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    }
}

/// The logical SHA-256 of `df`, in lowercase hex.
pub fn logical_sha256(df: &DataFrame) -> PolarsResult<String> {
    let mut h = LogicalHash::new();
    h.add(df)?;
    Ok(h.finish())
}

/// The logical SHA-256 of `df` and its [`row_hashes`].
pub(crate) fn logical_sha256_and_rows(df: &DataFrame) -> PolarsResult<(String, Vec<u128>)> {
    let hashes = row_hashes(df)?;
    let mut h = LogicalHash::new();
    h.add_hashed(df, &hashes)?;
    Ok((h.finish(), hashes))
}

/// The 128-bit hash of each row of `df` in row order (columns in name
/// order, the internal row number skipped): equal rows, and only equal
/// rows (up to hash collisions, about 2^-64 for a billion rows), hash
/// equal. Chunks of rows are hashed in parallel, so a large frame is
/// never copied whole into host vectors.
pub(crate) fn row_hashes(df: &DataFrame) -> PolarsResult<Vec<u128>> {
    let names = sorted_names(df);
    let starts: Vec<usize> = (0..df.height()).step_by(CHUNK).collect();
    let chunks = starts
        .par_iter()
        .map(|&start| {
            let chunk = df.slice(start as i64, CHUNK.min(df.height() - start));
            let mut out = Vec::with_capacity(chunk.height());
            each_row_hash(&chunk, &names, |h| out.push(h))?;
            Ok(out)
        })
        .collect::<PolarsResult<Vec<Vec<u128>>>>()?;
    Ok(chunks.concat())
}

fn sorted_names(df: &DataFrame) -> Vec<&str> {
    let mut names: Vec<&str> = df
        .get_column_names()
        .into_iter()
        .map(|n| n.as_str())
        .filter(|n| *n != ROW)
        .collect();
    names.sort_unstable();
    names
}

fn each_row_hash(df: &DataFrame, names: &[&str], mut f: impl FnMut(u128)) -> PolarsResult<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    let mut start = 0;
    while start < df.height() {
        let len = CHUNK.min(df.height() - start);
        let chunk = df.slice(start as i64, len);
        let cells = names
            .iter()
            .map(|n| cells(chunk.column(n)?.as_materialized_series()))
            .collect::<PolarsResult<Vec<_>>>()?;
        for r in 0..len {
            buf.clear();
            for c in &cells {
                encode(c, r, &mut buf);
            }
            f(xxhash_rust::xxh3::xxh3_128(&buf));
        }
        start += len;
    }
    Ok(())
}

fn cells(s: &Series) -> PolarsResult<Cells> {
    Ok(match s.dtype() {
        d if d.is_signed_integer() => Cells::Int(s.cast(&DataType::Int64)?.i64()?.iter().collect()),
        d if d.is_unsigned_integer() => {
            Cells::UInt(s.cast(&DataType::UInt64)?.u64()?.iter().collect())
        }
        d if d.is_float() => Cells::Float(s.cast(&DataType::Float64)?.f64()?.iter().collect()),
        DataType::Boolean => Cells::Bool(s.bool()?.iter().collect()),
        _ => Cells::Text(s.cast(&DataType::String)?.str()?.clone()),
    })
}

fn int(buf: &mut Vec<u8>, v: i64) {
    buf.push(1);
    buf.extend_from_slice(&v.to_le_bytes());
}

fn encode(c: &Cells, r: usize, buf: &mut Vec<u8>) {
    match c {
        Cells::Int(v) => match v[r] {
            None => buf.push(0),
            Some(x) => int(buf, x),
        },
        Cells::UInt(v) => match v[r] {
            None => buf.push(0),
            Some(x) => match i64::try_from(x) {
                Ok(x) => int(buf, x),
                Err(_) => {
                    buf.push(4);
                    buf.extend_from_slice(&x.to_le_bytes());
                }
            },
        },
        Cells::Float(v) => match v[r] {
            None => buf.push(0),
            // Whole values in i64's range hash as the integer they are.
            Some(x) if x.fract() == 0.0 && x.abs() < 9.2e18 => int(buf, x as i64),
            Some(x) => {
                buf.push(3);
                let x = if x.is_nan() { f64::NAN } else { x };
                buf.extend_from_slice(&x.to_bits().to_le_bytes());
            }
        },
        Cells::Bool(v) => match v[r] {
            None => buf.push(0),
            Some(b) => buf.extend_from_slice(&[2, u8::from(b)]),
        },
        Cells::Text(ca) => match ca.get(r) {
            None => buf.push(0),
            Some(t) => {
                buf.push(5);
                buf.extend_from_slice(&(t.len() as u64).to_le_bytes());
                buf.extend_from_slice(t.as_bytes());
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::read_table;
    use anneal_config::CsvOptions;

    fn table(dir: &std::path::Path, name: &str, text: &str) -> crate::Table {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        read_table(&path, None, &CsvOptions::default(), &[]).unwrap()
    }

    /// 12,000 rows of mixed columns, one cell after row 10,000 changed,
    /// and the same table re-quoted with CRLF line ends.
    #[test]
    fn a_changed_cell_changes_both_hashes_and_requoting_keeps_the_logical_one() {
        let dir = std::env::temp_dir().join(format!("anneal-fp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rows = |changed: bool, quoted: bool| {
            let mut s = String::from("id,x,name,flag\n");
            for i in 0..12_000 {
                let x = if changed && i == 11_000 {
                    0.25
                } else {
                    i as f64 / 8.0
                };
                let name = format!("n{}", i % 37);
                let (q, end) = if quoted { ("\"", "\r\n") } else { ("", "\n") };
                s.push_str(&format!("{i},{x},{q}{name}{q},{}{end}", i % 2 == 0));
            }
            s
        };
        let a = table(&dir, "a.csv", &rows(false, false));
        let b = table(&dir, "b.csv", &rows(true, false));
        let c = table(&dir, "c.csv", &rows(false, true));
        let (la, lb, lc) = (
            logical_sha256(&a.df).unwrap(),
            logical_sha256(&b.df).unwrap(),
            logical_sha256(&c.df).unwrap(),
        );
        assert_ne!(a.sha256, b.sha256);
        assert_ne!(la, lb, "one cell after row 10,000 changes the logical hash");
        assert_ne!(a.sha256, c.sha256, "re-quoting changes the bytes");
        assert_eq!(la, lc, "re-quoting keeps the logical hash");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn names_types_and_missing_cells_count() {
        let df = polars::df!("a" => [Some(1i64), None], "b" => ["x", "y"]).unwrap();
        let renamed = polars::df!("c" => [Some(1i64), None], "b" => ["x", "y"]).unwrap();
        let filled = polars::df!("a" => [Some(1i64), Some(0)], "b" => ["x", "y"]).unwrap();
        let float = polars::df!("a" => [Some(1.0f64), None], "b" => ["x", "y"]).unwrap();
        let half = polars::df!("a" => [Some(1.5f64), None], "b" => ["x", "y"]).unwrap();
        let text = polars::df!("a" => [Some("1"), None], "b" => ["x", "y"]).unwrap();
        let swapped = polars::df!("b" => ["y", "x"], "a" => [None, Some(1i64)]).unwrap();
        let moved = polars::df!("a" => [None, Some(1i64)], "b" => ["x", "y"]).unwrap();
        let h = |d: &DataFrame| logical_sha256(d).unwrap();
        assert_ne!(h(&df), h(&renamed));
        assert_ne!(h(&df), h(&filled));
        assert_ne!(h(&df), h(&half));
        assert_ne!(h(&df), h(&text), "the number 1 is not the text \"1\"");
        assert_ne!(
            h(&df),
            h(&moved),
            "a value moved to another row is other data"
        );
        assert_eq!(h(&df), h(&float), "1 read as a float is the same value");
        assert_eq!(h(&df), h(&swapped), "rows and columns in another order");
        assert_eq!(h(&df), h(&df.clone()));
    }

    /// Shards hashed separately and merged, in any order, give the hash of
    /// the whole; a duplicated row counts.
    #[test]
    fn shards_merge_in_any_order() {
        let df = polars::df!(
            "id" => (0..1000i64).collect::<Vec<_>>(),
            "x" => (0..1000).map(|i| f64::from(i) / 7.0).collect::<Vec<_>>(),
            "c" => (0..1000).map(|i| format!("c{}", i % 13)).collect::<Vec<_>>()
        )
        .unwrap();
        let whole = logical_sha256(&df).unwrap();
        let part = |a: i64, n: usize| {
            let mut h = LogicalHash::new();
            h.add(&df.slice(a, n)).unwrap();
            h
        };
        let mut merged = part(700, 300);
        merged.merge(&part(0, 250)).unwrap();
        merged.merge(&part(250, 450)).unwrap();
        assert_eq!(merged.finish(), whole);
        let mut batches = LogicalHash::new();
        batches.add(&df.slice(500, 500)).unwrap();
        batches.add(&df.slice(0, 500)).unwrap();
        assert_eq!(batches.finish(), whole);
        let doubled = df.vstack(&df.slice(3, 1)).unwrap();
        assert_ne!(logical_sha256(&doubled).unwrap(), whole);
        let mut other = LogicalHash::new();
        other.add(&polars::df!("id" => [1i64]).unwrap()).unwrap();
        assert!(merged.merge(&other).is_err(), "shards with other columns");
    }
}
