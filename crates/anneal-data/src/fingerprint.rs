//! The logical fingerprint of a table: a SHA-256 of what was parsed, not of
//! the bytes. Re-quoting a CSV, changing its line endings or re-encoding it
//! as Parquet with the same column types keeps it; changing any cell, a
//! column name or a column type changes it. The raw-bytes hash (recorded
//! beside it) answers "is it the same file", this one "is it the same data".
//!
//! Encoding, column by column in table order: the name and the polars dtype
//! (each length-prefixed), then every value: a 0 byte for a missing cell, or
//! a 1 byte followed by the value: integers as i64/u64 little-endian, floats
//! as f64 bits (every NaN as one canonical NaN, -0.0 as 0.0), booleans as
//! one byte, text as length-prefixed UTF-8, anything else as its text form.

use polars::prelude::*;
use sha2::{Digest, Sha256};

/// The logical SHA-256 of `df`, in lowercase hex.
pub fn logical_sha256(df: &DataFrame) -> PolarsResult<String> {
    let mut h = Sha256::new();
    h.update((df.width() as u64).to_le_bytes());
    h.update((df.height() as u64).to_le_bytes());
    for col in df.columns() {
        let name = col.name().as_bytes();
        h.update((name.len() as u64).to_le_bytes());
        h.update(name);
        let dtype = col.dtype().to_string();
        h.update((dtype.len() as u64).to_le_bytes());
        h.update(dtype.as_bytes());
        let s = col.as_materialized_series();
        match s.dtype() {
            d if d.is_signed_integer() => {
                for v in s.cast(&DataType::Int64)?.i64()?.iter() {
                    put(&mut h, v.map(i64::to_le_bytes));
                }
            }
            d if d.is_unsigned_integer() => {
                for v in s.cast(&DataType::UInt64)?.u64()?.iter() {
                    put(&mut h, v.map(u64::to_le_bytes));
                }
            }
            d if d.is_float() => {
                for v in s.cast(&DataType::Float64)?.f64()?.iter() {
                    put(
                        &mut h,
                        v.map(|x| {
                            let x = if x.is_nan() {
                                f64::NAN
                            } else if x == 0.0 {
                                0.0
                            } else {
                                x
                            };
                            x.to_bits().to_le_bytes()
                        }),
                    );
                }
            }
            DataType::Boolean => {
                for v in s.bool()?.iter() {
                    put(&mut h, v.map(|b| [u8::from(b)]));
                }
            }
            _ => {
                let text = s.cast(&DataType::String)?;
                for v in text.str()?.iter() {
                    match v {
                        None => h.update([0u8]),
                        Some(t) => {
                            h.update([1u8]);
                            h.update((t.len() as u64).to_le_bytes());
                            h.update(t.as_bytes());
                        }
                    }
                }
            }
        }
    }
    Ok(h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>())
}

fn put<const N: usize>(h: &mut Sha256, v: Option<[u8; N]>) {
    match v {
        None => h.update([0u8]),
        Some(bytes) => {
            h.update([1u8]);
            h.update(bytes);
        }
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
        let h = |d: &DataFrame| logical_sha256(d).unwrap();
        assert_ne!(h(&df), h(&renamed));
        assert_ne!(h(&df), h(&filled));
        assert_ne!(h(&df), h(&float));
        assert_eq!(h(&df), h(&df.clone()));
    }
}
