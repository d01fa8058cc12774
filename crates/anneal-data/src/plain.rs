//! The records of a plain CSV chunk parsed straight into the table's
//! columns, for the chunks after the first of a large file (see
//! [`crate::chunked`]): each piece's numbers are written into its rows of
//! the table's one vector per number column ([`crate::stacked`]), its texts
//! into an array of their own.
//!
//! Polars' reader was most of the data stage's time on the 1M-row CSV. It
//! handles every CSV there is; most chunks of a large file are plain:
//! no quotes, `\n` line ends, one field per column, numbers without
//! surrounding spaces. Such a chunk is parsed here, with the schema the
//! first chunk was given, into exactly the values polars would give: the
//! same number parsers polars calls (`atoi_simd`, `fast_float2`), empty
//! cells and the config's null texts missing, texts as they are. Anything
//! else (a quote, a `\r`, a NUL byte, invalid UTF-8, a blank line, a
//! ragged row, a space before a number, a value the parser refuses, a type
//! other than integer, float and text) gives up, the table as it was, and
//! polars parses that chunk (after the text check, which reports the bad
//! bytes).
//!
//! Fields are found a word at a time ([`Separators`]), and a decimal of up
//! to 15 digits is read by [`parse_float`] without the general parser: on
//! the 1M-row CSV a single core parses the 76 MB in about 0.2 s.

use polars::prelude::*;
use polars_arrow::array::{MutableBinaryViewArray, Utf8ViewArray};
use rayon::prelude::*;

use crate::stacked::{Stack, Stacked};

/// Records parsed by one task: enough to amortise its columns' set-up,
/// small enough to keep both cores busy on a 16 MB chunk.
const PIECE_BYTES: usize = 1 << 20;

/// What [`append`] did with a chunk.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Appended {
    /// Its rows are the table's last.
    Rows(usize),
    /// It is not plain (see the module): the table is as it was.
    NotPlain,
    /// Its rows could not be added: the table is unusable.
    Failed,
}

/// Appends the records of a chunk (whole records, no header) to `table`
/// when the chunk is plain.
pub(crate) fn append(
    records: &[u8],
    table: &mut Stacked,
    delimiter: u8,
    nulls: &[String],
) -> Appended {
    if !can_be_plain(table, records, delimiter) {
        return Appended::NotPlain;
    }
    let pieces = pieces(records);
    let Some(rows) = pieces
        .par_iter()
        .map(|p| records_in(p))
        .collect::<Option<Vec<usize>>>()
    else {
        return Appended::NotPlain;
    };
    let added: usize = rows.iter().sum();
    table.grow(added);
    let first = table.rows();
    let parsed = destinations(table, &rows)
        .into_par_iter()
        .zip(pieces.par_iter().zip(&rows))
        .map(|(dests, (piece, &n))| parse_piece(piece, n, dests, delimiter, nulls))
        .collect::<Option<Vec<Vec<Filled>>>>();
    let Some(parsed) = parsed else {
        table.shrink();
        return Appended::NotPlain;
    };
    match commit(table, first, &rows, parsed) {
        Some(()) => Appended::Rows(added),
        None => Appended::Failed,
    }
}

/// Whether a chunk of `records` can be plain: some records, an ASCII
/// delimiter, and only integer, float and text columns.
fn can_be_plain(table: &Stacked, records: &[u8], delimiter: u8) -> bool {
    let plain_type = |c: &Stack| match c {
        Stack::Int(_) | Stack::Float(_) => true,
        Stack::Chunks(s) => s.dtype() == &DataType::String,
    };
    !records.is_empty()
        && delimiter.is_ascii()
        && delimiter != b'\n'
        && !table.columns.is_empty()
        && table.columns.iter().all(plain_type)
}

/// The records in `piece`; `None` when it holds a byte no plain CSV has.
fn records_in(piece: &[u8]) -> Option<usize> {
    let (newlines, unusual) = scan(piece);
    let unended = piece.last().is_some_and(|&b| b != b'\n');
    (!unusual).then_some(newlines + usize::from(unended))
}

/// Where each piece's fields go: its rows of each number column (the
/// table's grown vectors, cut at the pieces' row counts), or a text
/// builder of its own.
fn destinations<'a>(table: &'a mut Stacked, rows: &[usize]) -> Vec<Vec<Dest<'a>>> {
    let first = table.rows();
    let width = table.columns.len();
    let mut out: Vec<Vec<Dest>> = rows.iter().map(|_| Vec::with_capacity(width)).collect();
    for column in table.columns.iter_mut() {
        match column {
            Stack::Int(n) => cut(&mut n.values[first..], rows, &mut out, Dest::Int),
            Stack::Float(n) => cut(&mut n.values[first..], rows, &mut out, Dest::Float),
            Stack::Chunks(_) => {
                for (dests, &r) in out.iter_mut().zip(rows) {
                    dests.push(Dest::Text(MutableBinaryViewArray::with_capacity(r)));
                }
            }
        }
    }
    out
}

/// `values` cut into one slice per piece.
fn cut<'a, T>(
    mut values: &'a mut [T],
    rows: &[usize],
    out: &mut [Vec<Dest<'a>>],
    dest: fn(&'a mut [T]) -> Dest<'a>,
) {
    for (dests, &r) in out.iter_mut().zip(rows) {
        let (piece, rest) = std::mem::take(&mut values).split_at_mut(r);
        dests.push(dest(piece));
        values = rest;
    }
}

/// The pieces' missing numbers and texts added to the table, whose
/// number columns already hold their values from row `first`.
fn commit(
    table: &mut Stacked,
    first: usize,
    rows: &[usize],
    parsed: Vec<Vec<Filled>>,
) -> Option<()> {
    let mut texts: Vec<Vec<Utf8ViewArray>> = table.columns.iter().map(|_| Vec::new()).collect();
    let mut start = first;
    for (filled, &r) in parsed.into_iter().zip(rows) {
        for ((f, column), texts) in filled.into_iter().zip(&mut table.columns).zip(&mut texts) {
            match (f, column.missing_mut()) {
                (Filled::Missing(m), Some(missing)) => {
                    missing.extend(m.iter().map(|&i| start + i as usize))
                }
                (Filled::Text(arr), None) => texts.push(arr),
                _ => return None,
            }
        }
        start += r;
    }
    for (column, texts) in table.columns.iter_mut().zip(texts) {
        if let Stack::Chunks(series) = column {
            let ca = StringChunked::from_chunk_iter(series.name().clone(), texts);
            series.append(&ca.into_series()).ok()?;
        }
    }
    table.commit(start - first);
    Some(())
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

/// Where one piece's fields of a column go.
enum Dest<'a> {
    Int(&'a mut [i64]),
    Float(&'a mut [f64]),
    Text(MutableBinaryViewArray<str>),
}

/// What a piece gave a column besides the number values written in
/// place: its missing rows (in the piece), or its texts.
enum Filled {
    Missing(Vec<u32>),
    Text(Utf8ViewArray),
}

impl Dest<'_> {
    /// Writes `field` as the piece's row `row`, noting it in `missing`
    /// when it is; `None` when it is not what polars would parse the same
    /// way.
    fn put(
        &mut self,
        row: usize,
        field: &str,
        nulls: &[String],
        missing: &mut Vec<u32>,
    ) -> Option<()> {
        let absent = field.is_empty() || nulls.iter().any(|n| n == field);
        let number = Number {
            row,
            bytes: field.as_bytes(),
            absent,
        };
        match self {
            Dest::Int(values) => number.put(values.get_mut(row)?, missing, parse_int),
            Dest::Float(values) => number.put(values.get_mut(row)?, missing, parse_float),
            Dest::Text(texts) => {
                if absent {
                    texts.push_null();
                } else {
                    texts.push_value(field);
                }
                Some(())
            }
        }
    }

    fn finish(self, missing: Vec<u32>) -> Filled {
        match self {
            Dest::Int(_) | Dest::Float(_) => Filled::Missing(missing),
            Dest::Text(texts) => Filled::Text(texts.freeze()),
        }
    }
}

/// A number field of a piece: its row, its bytes, and whether it is
/// missing (empty, or one of the config's null texts).
struct Number<'a> {
    row: usize,
    bytes: &'a [u8],
    absent: bool,
}

impl Number<'_> {
    /// Writes the field into `slot`: missing as the default value, noted
    /// in `missing`; a leading space or tab (which polars skips) or a
    /// value `parse` refuses gives up.
    fn put<T: Default>(
        &self,
        slot: &mut T,
        missing: &mut Vec<u32>,
        parse: impl Fn(&[u8]) -> Option<T>,
    ) -> Option<()> {
        if self.absent {
            missing.push(u32::try_from(self.row).ok()?);
            *slot = T::default();
            return Some(());
        }
        if matches!(self.bytes.first(), Some(b' ' | b'\t')) {
            return None;
        }
        *slot = parse(self.bytes)?;
        Some(())
    }
}

/// An integer as polars reads it (`atoi_simd`, a leading `+` allowed).
fn parse_int(field: &[u8]) -> Option<i64> {
    atoi_simd::parse::<i64, true, true>(field).ok()
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
    let mut i = 0;
    // At most 17 digits are read (more than 15 go to `fast_float2`
    // below), so the mantissa cannot overflow.
    while i < digits.len() && i < 16 && digits[i].is_ascii_digit() {
        mantissa = mantissa * 10 + u64::from(digits[i] - b'0');
        i += 1;
    }
    let whole = i;
    let mut decimals = 0;
    if whole > 0 && digits.get(i) == Some(&b'.') {
        i += 1;
        while i < digits.len() && i < 17 && digits[i].is_ascii_digit() {
            mantissa = mantissa * 10 + u64::from(digits[i] - b'0');
            i += 1;
        }
        decimals = i - whole - 1;
        if decimals == 0 {
            return fast_float2::parse(field).ok();
        }
    }
    if i != digits.len() || whole == 0 || whole + decimals > 15 {
        return fast_float2::parse(field).ok();
    }
    let value = mantissa as f64 / POW10[decimals];
    Some(if negative { -value } else { value })
}

/// One piece's records written to its destinations, a column each; what
/// each column got besides the numbers written in place. `None` when a
/// record is not plain. The piece is checked to be UTF-8 once: its
/// fields, cut at an ASCII delimiter, are then text without checking each.
fn parse_piece(
    piece: &[u8],
    rows: usize,
    dests: Vec<Dest>,
    delimiter: u8,
    nulls: &[String],
) -> Option<Vec<Filled>> {
    let text = std::str::from_utf8(piece).ok()?;
    let mut record = Record {
        missing: dests.iter().map(|_| Vec::new()).collect(),
        columns: dests,
        column: 0,
        start: 0,
        row: 0,
    };
    for at in Separators::new(piece, delimiter) {
        record.field_ends(text, at, piece[at] == b'\n', nulls)?;
    }
    // The last record may have no newline.
    if record.start < piece.len() {
        record.field_ends(text, piece.len(), true, nulls)?;
    }
    (record.row == rows).then(|| record.finish())
}

/// The piece's columns being written, and where the record being read
/// stands.
struct Record<'a> {
    columns: Vec<Dest<'a>>,
    /// Per column, the rows where it is missing.
    missing: Vec<Vec<u32>>,
    /// The column of the field being read.
    column: usize,
    /// Where that field starts.
    start: usize,
    /// The record's row in the piece.
    row: usize,
}

impl Record<'_> {
    /// The field from `start` ends at `at`, with the record when
    /// `newline`: written to its column. `None` when the record has
    /// more or fewer fields than columns, or is blank.
    fn field_ends(&mut self, text: &str, at: usize, newline: bool, nulls: &[String]) -> Option<()> {
        let last = self.column + 1 == self.columns.len();
        if newline != last || (newline && self.column == 0 && at == self.start) {
            return None;
        }
        // The delimiter and the newline are ASCII: every cut is at a
        // character boundary.
        let field = text.get(self.start..at)?;
        let missing = &mut self.missing[self.column];
        self.columns[self.column].put(self.row, field, nulls, missing)?;
        self.start = at + 1;
        if newline {
            self.column = 0;
            self.row += 1;
        } else {
            self.column += 1;
        }
        Some(())
    }

    /// What each column got.
    fn finish(self) -> Vec<Filled> {
        self.columns
            .into_iter()
            .zip(self.missing)
            .map(|(d, m)| d.finish(m))
            .collect()
    }
}

/// The positions of the delimiters and newlines of some bytes, found
/// eight bytes at a time: one word compare per eight bytes instead of two
/// compares and a branch per byte (fields average six bytes).
struct Separators<'a> {
    bytes: &'a [u8],
    delimiters: u64,
    /// Where the word in `found` starts, and the next word.
    word: usize,
    next: usize,
    /// The separators of that word not yet given: the high bit of each
    /// separator byte.
    found: u64,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const NEWLINES: u64 = ONES * b'\n' as u64;

impl<'a> Separators<'a> {
    fn new(bytes: &'a [u8], delimiter: u8) -> Separators<'a> {
        Separators {
            bytes,
            delimiters: ONES * u64::from(delimiter),
            word: 0,
            next: 0,
            found: 0,
        }
    }
}

/// How many newlines `bytes` holds, and whether it holds a byte no plain
/// CSV has: a quote, a `\r` or a NUL (which the text check refuses). A
/// word at a time.
fn scan(bytes: &[u8]) -> (usize, bool) {
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let mut newlines = tail.iter().filter(|&&b| b == b'\n').count();
    let mut unusual = tail.iter().any(|&b| matches!(b, b'"' | b'\r' | 0));
    let mut found = 0u64;
    for w in words {
        let w = u64::from_le_bytes(w.try_into().unwrap_or_default());
        newlines += equal_bytes(w, NEWLINES).count_ones() as usize;
        found |= equal_bytes(w, ONES * u64::from(b'"'))
            | equal_bytes(w, ONES * u64::from(b'\r'))
            | equal_bytes(w, 0);
    }
    unusual |= found != 0;
    (newlines, unusual)
}

/// The high bit of each byte of `word` that equals the byte repeated in
/// `pattern`, exactly (no carry crosses a byte).
fn equal_bytes(word: u64, pattern: u64) -> u64 {
    let x = word ^ pattern;
    !(((x & LOW7) + LOW7) | x | LOW7)
}

impl Iterator for Separators<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.found == 0 {
            let start = self.next;
            let (word, len) = match self.bytes.get(start..start + 8) {
                Some(w) => (u64::from_le_bytes(w.try_into().ok()?), 8),
                None => {
                    let tail = self.bytes.get(start..)?;
                    if tail.is_empty() {
                        return None;
                    }
                    let mut w = [0u8; 8];
                    w[..tail.len()].copy_from_slice(tail);
                    (u64::from_le_bytes(w), tail.len())
                }
            };
            let valid = if len == 8 {
                u64::MAX
            } else {
                (1 << (8 * len)) - 1
            };
            self.found = (equal_bytes(word, self.delimiters) | equal_bytes(word, NEWLINES)) & valid;
            self.word = start;
            self.next = start + 8;
        }
        let at = self.word + (self.found.trailing_zeros() / 8) as usize;
        self.found &= self.found - 1;
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::read_csv_as;
    use anneal_config::CsvOptions;

    /// `records` appended to an empty table of `schema`, as a frame.
    pub(super) fn parse(
        records: &[u8],
        schema: &Schema,
        delimiter: u8,
        nulls: &[String],
    ) -> Option<DataFrame> {
        let mut table = Stacked::new(&DataFrame::empty_with_schema(schema), 0)?;
        match append(records, &mut table, delimiter, nulls) {
            Appended::Rows(_) => table.finish(),
            _ => None,
        }
    }

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
        assert!(ours.column("t").unwrap().n_chunks() > 1, "several pieces");
        assert_eq!(ours.column("f").unwrap().n_chunks(), 1, "one vector");
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
            "1,2.5,a\0b\n",
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
        let latin1 = b"1,2.5,a\n2,3.5,caf\xe9\n";
        assert!(parse(latin1, &schema(), b',', &[]).is_none());
        let date = Schema::from_iter([Field::new("d".into(), DataType::Boolean)]);
        assert!(parse(b"true\n", &date, b',', &[]).is_none());
    }
}
