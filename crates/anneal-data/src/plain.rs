//! The records of a plain CSV chunk parsed straight into typed columns,
//! for the chunks after the first of a large file (see [`crate::chunked`]).
//!
//! Polars' reader was most of the data stage's time on the 1M-row CSV. It
//! handles every CSV there is; most chunks of a large file are plain:
//! no quotes, `\n` line ends, one field per column, numbers without
//! surrounding spaces. Such a chunk is parsed here, with the schema the
//! first chunk was given, into exactly the values polars would give: the
//! same number parsers polars calls (`atoi_simd`, `fast_float2`), empty
//! cells and the config's null texts missing, texts as they are. Anything
//! else (a quote, a `\r`, a blank line, a ragged row, a space before a
//! number, a value the parser refuses, a type other than integer, float
//! and text) gives up, and polars parses that chunk as before.

use polars::prelude::*;
use polars_arrow::array::{MutableBinaryViewArray, PrimitiveArray};
use polars_arrow::bitmap::MutableBitmap;
use rayon::prelude::*;

/// Records parsed by one task: enough to amortise its columns' set-up,
/// small enough to keep both cores busy on a 16 MB chunk.
const PIECE_BYTES: usize = 1 << 20;

/// The table in `records` (whole records, no header) with `schema`'s
/// columns and types; `None` when the chunk is not plain (see the module).
pub(crate) fn parse(
    records: &[u8],
    schema: &Schema,
    delimiter: u8,
    nulls: &[String],
) -> Option<DataFrame> {
    if records.is_empty() || records.contains(&b'"') || records.contains(&b'\r') {
        return None;
    }
    let kinds = schema
        .iter_values()
        .map(Kind::of)
        .collect::<Option<Vec<Kind>>>()?;
    let pieces = pieces(records);
    let parsed = pieces
        .par_iter()
        .map(|piece| parse_piece(piece, &kinds, delimiter, nulls))
        .collect::<Option<Vec<Vec<Builder>>>>()?;
    frame(parsed, schema)
}

/// A column's type, as far as plain chunks go.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Float,
    Text,
}

impl Kind {
    fn of(dtype: &DataType) -> Option<Kind> {
        match dtype {
            DataType::Int64 => Some(Kind::Int),
            DataType::Float64 => Some(Kind::Float),
            DataType::String => Some(Kind::Text),
            _ => None,
        }
    }
}

/// `records` cut at line ends into pieces of about [`PIECE_BYTES`].
fn pieces(records: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = records;
    while rest.len() > PIECE_BYTES {
        match rest[PIECE_BYTES..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                let (piece, tail) = rest.split_at(PIECE_BYTES + i + 1);
                out.push(piece);
                rest = tail;
            }
            None => break,
        }
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// One column's values as they are parsed.
enum Builder {
    Int(Vec<i64>, Nulls),
    Float(Vec<f64>, Nulls),
    Text(MutableBinaryViewArray<str>),
}

/// The rows of a number column that are missing: most are not, so
/// positions are kept and the validity bitmap is built once at the end.
type Nulls = Vec<u32>;

impl Builder {
    fn new(kind: Kind, rows: usize) -> Builder {
        match kind {
            Kind::Int => Builder::Int(Vec::with_capacity(rows), Vec::new()),
            Kind::Float => Builder::Float(Vec::with_capacity(rows), Vec::new()),
            Kind::Text => Builder::Text(MutableBinaryViewArray::with_capacity(rows)),
        }
    }

    /// Appends `field`; `None` when it is not what polars would parse
    /// the same way.
    fn push(&mut self, field: &str, nulls: &[String]) -> Option<()> {
        let missing = field.is_empty() || nulls.iter().any(|n| n == field);
        match self {
            Builder::Int(values, valid) => {
                push_number(values, valid, field.as_bytes(), missing, |f| {
                    atoi_simd::parse::<i64, true, true>(f).ok()
                })
            }
            Builder::Float(values, valid) => {
                push_number(values, valid, field.as_bytes(), missing, parse_float)
            }
            Builder::Text(texts) => {
                if missing {
                    texts.push_null();
                } else {
                    texts.push_value(field);
                }
                Some(())
            }
        }
    }

    fn into_column(self, name: &PlSmallStr) -> Column {
        match self {
            Builder::Int(values, valid) => {
                Int64Chunked::with_chunk(name.clone(), primitive(values, valid)).into_column()
            }
            Builder::Float(values, valid) => {
                Float64Chunked::with_chunk(name.clone(), primitive(values, valid)).into_column()
            }
            Builder::Text(texts) => {
                StringChunked::with_chunk(name.clone(), texts.freeze()).into_column()
            }
        }
    }
}

/// Appends a number field: missing as a null; a leading space or tab
/// (which polars skips) or a value `parse` refuses gives up.
fn push_number<T: Default>(
    values: &mut Vec<T>,
    nulls: &mut Nulls,
    field: &[u8],
    missing: bool,
    parse: impl Fn(&[u8]) -> Option<T>,
) -> Option<()> {
    if missing {
        nulls.push(u32::try_from(values.len()).ok()?);
        values.push(T::default());
        return Some(());
    }
    if field[0] == b' ' || field[0] == b'\t' {
        return None;
    }
    values.push(parse(field)?);
    Some(())
}

/// A float as `fast_float2` (polars' parser) reads it. A plain decimal
/// (`[-]digits[.digits]`, at most 15 digits) is its digits as an integer
/// divided by a power of ten: both are exact in an f64 and the division is
/// correctly rounded, so this is the correctly rounded value, the one
/// `fast_float2` gives (its own fast path is this division). Anything else
/// goes to `fast_float2`.
fn parse_float(field: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, digits) = match field.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, field),
    };
    let mut mantissa: u64 = 0;
    let mut count = 0usize;
    let mut fraction: Option<usize> = None;
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                count += 1;
            }
            b'.' if fraction.is_none() && i > 0 => fraction = Some(i),
            _ => return fast_float2::parse(field).ok(),
        }
    }
    let decimals = fraction.map_or(0, |at| digits.len() - at - 1);
    if count == 0 || count > 15 || (fraction.is_some() && decimals == 0) {
        return fast_float2::parse(field).ok();
    }
    let value = mantissa as f64 / POW10[decimals];
    Some(if negative { -value } else { value })
}

fn primitive<T: polars_arrow::types::NativeType>(
    values: Vec<T>,
    nulls: Nulls,
) -> PrimitiveArray<T> {
    let validity = (!nulls.is_empty()).then(|| {
        let mut valid = MutableBitmap::from_len_set(values.len());
        for i in nulls {
            valid.set(i as usize, false);
        }
        valid.into()
    });
    PrimitiveArray::new(T::PRIMITIVE.into(), values.into(), validity)
}

/// The columns of one piece of records; `None` when a record is not
/// plain. The piece is checked to be UTF-8 once: its fields, cut at an
/// ASCII delimiter, are then text without checking each.
fn parse_piece(
    piece: &[u8],
    kinds: &[Kind],
    delimiter: u8,
    nulls: &[String],
) -> Option<Vec<Builder>> {
    let piece = std::str::from_utf8(piece).ok()?;
    if !delimiter.is_ascii() {
        return None;
    }
    let rows = piece.bytes().filter(|&b| b == b'\n').count() + 1;
    let mut columns: Vec<Builder> = kinds.iter().map(|&k| Builder::new(k, rows)).collect();
    let body = piece.strip_suffix('\n').unwrap_or(piece);
    let mut line_start = 0;
    for end in body
        .bytes()
        .enumerate()
        .filter_map(|(i, b)| (b == b'\n').then_some(i))
        .chain([body.len()])
    {
        let line = body.get(line_start..end)?;
        line_start = end + 1;
        if line.is_empty() {
            return None;
        }
        push_line(&mut columns, line, delimiter, nulls)?;
    }
    Some(columns)
}

/// Appends one record's fields, one per column. The delimiter is ASCII,
/// so every cut is at a character boundary.
fn push_line(columns: &mut [Builder], line: &str, delimiter: u8, nulls: &[String]) -> Option<()> {
    let mut columns = columns.iter_mut();
    let mut start = 0;
    for (i, &b) in line.as_bytes().iter().enumerate() {
        if b == delimiter {
            columns.next()?.push(line.get(start..i)?, nulls)?;
            start = i + 1;
        }
    }
    columns.next()?.push(line.get(start..)?, nulls)?;
    match columns.next() {
        Some(_) => None,
        None => Some(()),
    }
}

/// The pieces' columns as one frame (each piece one array of each column).
fn frame(pieces: Vec<Vec<Builder>>, schema: &Schema) -> Option<DataFrame> {
    let mut out: Option<DataFrame> = None;
    for columns in pieces {
        let columns: Vec<Column> = columns
            .into_iter()
            .zip(schema.iter_names())
            .map(|(b, name)| b.into_column(name))
            .collect();
        let df = DataFrame::new_infer_height(columns).ok()?;
        match out.as_mut() {
            None => out = Some(df),
            Some(t) => {
                t.vstack_mut(&df).ok()?;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::read_csv_as;
    use anneal_config::CsvOptions;

    fn schema() -> Schema {
        Schema::from_iter([
            Field::new("i".into(), DataType::Int64),
            Field::new("f".into(), DataType::Float64),
            Field::new("t".into(), DataType::String),
        ])
    }

    /// `records` parsed here and by polars with the same schema.
    fn both(records: &str, nulls: &[&str]) -> (Option<DataFrame>, PolarsResult<DataFrame>) {
        let nulls: Vec<String> = nulls.iter().map(|s| s.to_string()).collect();
        let csv = CsvOptions {
            null_values: nulls.clone(),
            ..CsvOptions::default()
        };
        let text = format!("i,f,t\n{records}");
        let polars = read_csv_as(text.as_bytes(), b',', &csv, Arc::new(schema()));
        (parse(records.as_bytes(), &schema(), b',', &nulls), polars)
    }

    /// Integers with signs and leading zeros, floats in every notation
    /// polars reads (exponents, infinities, NaN, signed zeros), texts
    /// short and long, empty cells and null texts, no final newline, and
    /// more than one piece: the frame polars gives.
    #[test]
    fn plain_records_give_polars_frame() {
        let mut records = String::new();
        let floats = [
            "1.5", "-0.0", "1e-3", "inf", "-inf", "NaN", ".5", "7.", "-12.25e2", "",
        ];
        let ints = [
            "0",
            "-7",
            "+3",
            "007",
            "",
            "9223372036854775807",
            "-42",
            "NA",
        ];
        let texts = [
            "a",
            "",
            "NA",
            "twelve bytes",
            "a text longer than twelve bytes",
            "é",
        ];
        let rows = 3 * PIECE_BYTES / 40;
        for r in 0..rows {
            let line = format!(
                "{},{},{}\n",
                ints[r % ints.len()],
                floats[r % floats.len()],
                texts[r % texts.len()]
            );
            records.push_str(&line);
        }
        records.push_str("5,2.5,end");
        let (ours, polars) = both(&records, &["NA"]);
        let ours = ours.expect("plain");
        let polars = polars.expect("polars");
        assert!(ours.first_col_n_chunks() > 1, "several pieces");
        assert_eq!(ours.schema(), polars.schema());
        assert!(ours.equals_missing(&polars));
        // NaN equals NaN above; the bits must match too (signed zeros).
        let bits = |df: &DataFrame| -> Vec<Option<u64>> {
            let f = df.column("f").unwrap().f64().unwrap().clone();
            f.iter().map(|v| v.map(f64::to_bits)).collect()
        };
        assert_eq!(bits(&ours), bits(&polars));
    }

    /// The decimal fast path gives fast_float2's bits on every form it
    /// takes, and hands the rest over.
    #[test]
    fn plain_decimals_parse_as_fast_float2() {
        let mut rng = anneal_core::rng::Rng::new(42);
        let mut next = || rng.next_u64();
        let mut fields: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "1",
            "-1",
            "0.1",
            "0.3",
            "1.5",
            "123456789012345",
            "1234567890123456",
            "99999999999999.9",
            "0.000000000000001",
            "-.5",
            ".5",
            "5.",
            "1e3",
            "1.5e-7",
            "inf",
            "NaN",
            "00012.5000",
            "-",
            "1.2.3",
            "+1.5",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..200_000 {
            let r = next();
            let int = r % 10u64.pow((r >> 60) as u32 % 12);
            let frac_len = (r >> 40) as usize % 9;
            let frac = (next() % 1_000_000_000).to_string();
            let sign = if r & 1 == 1 { "-" } else { "" };
            let frac = &frac[..frac_len.min(frac.len())];
            fields.push(if frac.is_empty() {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{frac}")
            });
        }
        for f in &fields {
            let ours = parse_float(f.as_bytes()).map(f64::to_bits);
            let theirs = fast_float2::parse::<f64, _>(f.as_bytes())
                .ok()
                .map(f64::to_bits);
            assert_eq!(ours, theirs, "{f:?}");
        }
    }

    /// What is not plain gives up (polars parses those chunks).
    #[test]
    fn anything_else_gives_up() {
        for records in [
            "1,2.5,\"quoted\"\n",
            "1,2.5,a\r\n",
            "1,2.5,a\n\n2,3.5,b\n",
            "1,2.5\n",
            "1,2.5,a,extra\n",
            " 1,2.5,a\n",
            "1, 2.5,a\n",
            "1.5,2.5,a\n",
            "1,abc,a\n",
            "99999999999999999999,2.5,a\n",
        ] {
            let (ours, _) = both(records, &[]);
            assert!(ours.is_none(), "{records:?} is not plain");
        }
        let date = Schema::from_iter([Field::new("d".into(), DataType::Boolean)]);
        assert!(parse(b"true\n", &date, b',', &[]).is_none());
    }
}
