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
use polars_arrow::array::Array;
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
/// never copied whole into host vectors; each chunk writes its own part of
/// the result (no serial concatenation, and its pages are first touched
/// by the thread that fills them).
pub(crate) fn row_hashes(df: &DataFrame) -> PolarsResult<Vec<u128>> {
    let names = sorted_names(df);
    let mut hashes = vec![0u128; df.height()];
    hashes
        .par_chunks_mut(CHUNK)
        .enumerate()
        .try_for_each(|(i, out)| {
            let chunk = df.slice((i * CHUNK) as i64, out.len());
            block_hashes(&chunk, &names, out)
        })?;
    Ok(hashes)
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

/// Rows encoded at a time: their encodings (about 130 bytes a row on a
/// table of a dozen columns) stay in the core's cache while they are
/// written column by column and hashed.
const BLOCK: usize = 4096;

/// The row hashes of `df`, a block of rows at a time. Each block is
/// encoded column by column, not cell by cell: every row's length is
/// summed first, so each column's cells are written straight to their
/// rows' places in one typed loop, without a branch on the column's type
/// per cell.
fn block_hashes(df: &DataFrame, names: &[&str], out: &mut [u128]) -> PolarsResult<()> {
    let mut buf: Vec<u8> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut start = 0;
    while start < df.height() {
        let len = BLOCK.min(df.height() - start);
        let block = df.slice(start as i64, len);
        let cells = names
            .iter()
            .map(|n| cells(block.column(n)?.as_materialized_series()))
            .collect::<PolarsResult<Vec<_>>>()?;
        ends.clear();
        ends.resize(len, 0);
        for c in &cells {
            c.add_lengths(&mut ends);
        }
        let mut total = 0;
        for e in ends.iter_mut() {
            total += *e;
            *e = total;
        }
        buf.clear();
        buf.resize(total, 0);
        // Each row's write position: its start, moved on by every cell.
        let mut at: Vec<usize> = std::iter::once(0)
            .chain(ends[..len - 1].iter().copied())
            .collect();
        for c in &cells {
            c.write(&mut buf, &mut at);
        }
        let mut from = 0;
        for (hash, &end) in out[start..start + len].iter_mut().zip(&ends) {
            *hash = xxhash_rust::xxh3::xxh3_128(&buf[from..end]);
            from = end;
        }
        start += len;
    }
    Ok(())
}

/// One column's cells for a block of rows, in the type they are encoded
/// by.
enum Cells {
    Int(Int64Chunked),
    UInt(UInt64Chunked),
    Float(Float64Chunked),
    Bool(BooleanChunked),
    Text(StringChunked),
}

fn cells(s: &Series) -> PolarsResult<Cells> {
    Ok(match s.dtype() {
        d if d.is_signed_integer() => Cells::Int(s.cast(&DataType::Int64)?.i64()?.clone()),
        d if d.is_unsigned_integer() => Cells::UInt(s.cast(&DataType::UInt64)?.u64()?.clone()),
        d if d.is_float() => Cells::Float(s.cast(&DataType::Float64)?.f64()?.clone()),
        DataType::Boolean => Cells::Bool(s.bool()?.clone()),
        _ => Cells::Text(s.cast(&DataType::String)?.str()?.clone()),
    })
}

/// Tag and payload of a number cell, always 9 bytes.
const NUMBER: usize = 9;

/// A column's arrays as (length, validity), the validity `None` when no
/// value is missing. (A macro: arrow's array and bitmap types are not
/// exported by polars.)
macro_rules! arrays {
    ($ca:expr) => {
        $ca.downcast_iter().map(|a| {
            let valid = a.validity().filter(|v| v.unset_bits() > 0);
            (a.len(), valid.map(|v| v.iter()))
        })
    };
}

impl Cells {
    /// Adds each row's encoded length to `lens`.
    fn add_lengths(&self, lens: &mut [usize]) {
        match self {
            Cells::Int(ca) => add_fixed(lens, NUMBER, arrays!(ca)),
            Cells::UInt(ca) => add_fixed(lens, NUMBER, arrays!(ca)),
            Cells::Float(ca) => add_fixed(lens, NUMBER, arrays!(ca)),
            Cells::Bool(ca) => add_fixed(lens, 2, arrays!(ca)),
            // A text's length is in its view: the bytes are not read.
            Cells::Text(ca) => {
                let mut row = 0;
                for arr in ca.downcast_iter() {
                    let lens = &mut lens[row..row + arr.len()];
                    let views = arr.views().iter();
                    match arr.validity().filter(|v| v.unset_bits() > 0) {
                        None => {
                            for (l, v) in lens.iter_mut().zip(views) {
                                *l += NUMBER + v.length as usize;
                            }
                        }
                        Some(valid) => {
                            for ((l, v), ok) in lens.iter_mut().zip(views).zip(valid.iter()) {
                                *l += if ok { NUMBER + v.length as usize } else { 1 };
                            }
                        }
                    }
                    row += arr.len();
                }
            }
        }
    }

    /// Writes each row's cell at `at[row]` and moves `at[row]` past it.
    fn write(&self, buf: &mut [u8], at: &mut [usize]) {
        match self {
            Cells::Int(ca) => put_numbers(ca, buf, at, |x, b| int(b, x)),
            Cells::UInt(ca) => put_numbers(ca, buf, at, |x, b| match i64::try_from(x) {
                Ok(x) => int(b, x),
                Err(_) => tagged(b, 4, x),
            }),
            // Whole values in i64's range hash as the integer they are.
            // (The test is `fract() == 0.0`, without a call to `trunc`.)
            Cells::Float(ca) => put_numbers(ca, buf, at, |x, b| {
                if x.abs() < 9.2e18 && (x as i64) as f64 == x {
                    int(b, x as i64)
                } else {
                    let x = if x.is_nan() { f64::NAN } else { x };
                    tagged(b, 3, x.to_bits())
                }
            }),
            Cells::Bool(ca) => {
                let cells = ca.downcast_iter().flat_map(|a| a.iter());
                for (a, v) in at.iter_mut().zip(cells) {
                    *a += match v {
                        None => missing(buf, *a),
                        Some(v) => {
                            buf[*a..*a + 2].copy_from_slice(&[2, u8::from(v)]);
                            2
                        }
                    };
                }
            }
            Cells::Text(ca) => {
                let mut row = 0;
                for arr in ca.downcast_iter() {
                    for (a, v) in at[row..row + arr.len()].iter_mut().zip(arr.iter()) {
                        *a += match v {
                            None => missing(buf, *a),
                            Some(t) => text(&mut buf[*a..], t),
                        };
                    }
                    row += arr.len();
                }
            }
        }
    }
}

/// Adds `present` to each row's length, 1 for a missing cell, over a
/// column's arrays given by length and validity.
fn add_fixed<V: Iterator<Item = bool>>(
    lens: &mut [usize],
    present: usize,
    arrays: impl Iterator<Item = (usize, Option<V>)>,
) {
    let mut row = 0;
    for (len, validity) in arrays {
        let lens = &mut lens[row..row + len];
        match validity {
            None => lens.iter_mut().for_each(|l| *l += present),
            Some(valid) => {
                for (l, ok) in lens.iter_mut().zip(valid) {
                    *l += if ok { present } else { 1 };
                }
            }
        }
        row += len;
    }
}

/// Writes each row's number with `put` (a missing one as `0`) at
/// `at[row]`, which moves past it; `put` returns the bytes it wrote. A
/// plain loop over each array's values: a chunked array's own iterator is
/// dynamically dispatched per value.
fn put_numbers<T: PolarsNumericType>(
    ca: &ChunkedArray<T>,
    buf: &mut [u8],
    at: &mut [usize],
    put: impl Fn(T::Native, &mut [u8]) -> usize,
) {
    let mut row = 0;
    for arr in ca.downcast_iter() {
        let at = &mut at[row..row + arr.len()];
        let values = arr.values().as_slice();
        match arr.validity().filter(|v| v.unset_bits() > 0) {
            None => {
                for (a, &x) in at.iter_mut().zip(values) {
                    *a += put(x, &mut buf[*a..]);
                }
            }
            Some(valid) => {
                for ((a, &x), ok) in at.iter_mut().zip(values).zip(valid.iter()) {
                    *a += if ok {
                        put(x, &mut buf[*a..])
                    } else {
                        missing(buf, *a)
                    };
                }
            }
        }
        row += arr.len();
    }
}

fn missing(buf: &mut [u8], at: usize) -> usize {
    buf[at] = 0;
    1
}

fn text(b: &mut [u8], t: &str) -> usize {
    let n = t.len();
    b[0] = 5;
    b[1..NUMBER].copy_from_slice(&(n as u64).to_le_bytes());
    b[NUMBER..NUMBER + n].copy_from_slice(t.as_bytes());
    NUMBER + n
}

fn int(b: &mut [u8], v: i64) -> usize {
    tagged(b, 1, v as u64)
}

fn tagged(b: &mut [u8], tag: u8, v: u64) -> usize {
    b[0] = tag;
    b[1..NUMBER].copy_from_slice(&v.to_le_bytes());
    NUMBER
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

    /// The encoding as the module's comment defines it, one cell at a
    /// time: the column-by-column writer must give each row these bytes.
    fn reference_row_hashes(df: &DataFrame) -> Vec<u128> {
        let names = sorted_names(df);
        (0..df.height())
            .map(|r| {
                let mut b: Vec<u8> = Vec::new();
                for n in &names {
                    let v = df.column(n).unwrap().get(r).unwrap();
                    match v {
                        AnyValue::Null => b.push(0),
                        AnyValue::Int64(x) => b.extend([&[1u8][..], &x.to_le_bytes()].concat()),
                        AnyValue::Int32(x) => {
                            b.extend([&[1u8][..], &i64::from(x).to_le_bytes()].concat())
                        }
                        AnyValue::UInt64(x) => match i64::try_from(x) {
                            Ok(x) => b.extend([&[1u8][..], &x.to_le_bytes()].concat()),
                            Err(_) => b.extend([&[4u8][..], &x.to_le_bytes()].concat()),
                        },
                        AnyValue::Float64(x) if x.fract() == 0.0 && x.abs() < 9.2e18 => {
                            b.extend([&[1u8][..], &(x as i64).to_le_bytes()].concat())
                        }
                        AnyValue::Float64(x) => {
                            let x = if x.is_nan() { f64::NAN } else { x };
                            b.extend([&[3u8][..], &x.to_bits().to_le_bytes()].concat())
                        }
                        AnyValue::Boolean(x) => b.extend([2, u8::from(x)]),
                        AnyValue::String(t) => {
                            b.push(5);
                            b.extend((t.len() as u64).to_le_bytes());
                            b.extend(t.as_bytes());
                        }
                        other => panic!("no reference encoding for {other:?}"),
                    }
                }
                xxhash_rust::xxh3::xxh3_128(&b)
            })
            .collect()
    }

    /// Every cell type, missing cells, several arrays per column and more
    /// rows than a block: the same row hashes as the cell-by-cell
    /// definition.
    #[test]
    fn row_hashes_follow_the_cell_encoding() {
        let n = BLOCK + 1000;
        let part = |from: usize, to: usize| {
            let rows = from..to;
            polars::df!(
                "i" => rows.clone().map(|r| (r % 7 != 0).then_some(r as i64 - 3000)).collect::<Vec<_>>(),
                "k" => rows.clone().map(|r| r as i32).collect::<Vec<_>>(),
                "u" => rows.clone().map(|r| if r % 5 == 0 { u64::MAX - r as u64 } else { r as u64 }).collect::<Vec<_>>(),
                "f" => rows.clone().map(|r| match r % 6 {
                    0 => None,
                    1 => Some(f64::NAN),
                    2 => Some(-0.0),
                    3 => Some(r as f64),
                    4 => Some(1e19),
                    _ => Some(r as f64 / 3.0),
                }).collect::<Vec<_>>(),
                "b" => rows.clone().map(|r| (r % 3 != 0).then_some(r % 2 == 0)).collect::<Vec<_>>(),
                "t" => rows.map(|r| match r % 4 {
                    0 => None,
                    1 => Some(format!("short{}", r % 10)),
                    2 => Some("a text longer than a view's twelve inline bytes".to_string()),
                    _ => Some(String::new()),
                }).collect::<Vec<_>>()
            )
            .unwrap()
        };
        let mut df = part(0, 3000);
        df.vstack_mut(&part(3000, n)).unwrap();
        assert!(df.first_col_n_chunks() > 1);
        assert_eq!(row_hashes(&df).unwrap(), reference_row_hashes(&df));
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
