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
//! Fields are found 64 bytes at a time ([`Separators`]); a decimal of up
//! to 15 digits is read by [`parse_float`] without the general parser, and
//! one of up to 8 bytes from a single word ([`Cell::short_decimal`]); a
//! short text becomes its view in registers ([`Texts`]). On the 1M-row
//! CSV a single core parses the 76 MB in about 0.16 s (0.23 s before the
//! last three).

use polars::prelude::*;
use polars_arrow::array::{MutableBinaryViewArray, Utf8ViewArray, View};
use rayon::prelude::*;

use crate::bytescan::words::{self, LOW7, ONES};
use crate::bytescan::{Separators, scan};
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
                    dests.push(Dest::Text(Texts::with_capacity(r)));
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
    Text(Texts),
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
        field: Cell,
        nulls: &[String],
        missing: &mut Vec<u32>,
    ) -> Option<()> {
        let text = field.text;
        let absent = text.is_empty() || nulls.iter().any(|n| n == text);
        let number = Number {
            row,
            bytes: text.as_bytes(),
            absent,
        };
        match self {
            Dest::Int(values) => number.put(values.get_mut(row)?, missing, parse_int),
            Dest::Float(values) => number.put(values.get_mut(row)?, missing, |bytes| {
                field.short_decimal().or_else(|| parse_float(bytes))
            }),
            Dest::Text(texts) => {
                if absent {
                    texts.array.push_null();
                } else {
                    texts.push(field);
                }
                Some(())
            }
        }
    }

    fn finish(self, missing: Vec<u32>) -> Filled {
        match self {
            Dest::Int(_) | Dest::Float(_) => Filled::Missing(missing),
            Dest::Text(texts) => Filled::Text(texts.finish()),
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

/// A piece's texts of a column: an arrow array of views, to which a
/// short text is added as a view built in registers (see
/// [`Cell::inline_view`]) rather than through the array's general push,
/// whose returned view was stored in two halves and reloaded whole (a
/// failed store forward per cell: 0.173 -> 0.164 s for the 1M-row CSV on
/// one core).
struct Texts {
    array: MutableBinaryViewArray<str>,
    /// The bytes of the texts added as views, not yet in the array's
    /// total.
    inline_bytes: usize,
}

impl Texts {
    fn with_capacity(rows: usize) -> Texts {
        Texts {
            array: MutableBinaryViewArray::with_capacity(rows),
            inline_bytes: 0,
        }
    }

    fn push(&mut self, field: Cell) {
        let Some(view) = field.inline_view() else {
            self.array.push_value(field.text);
            return;
        };
        // SAFETY: an inline view of a `str`'s bytes (at most 12, zero
        // padded) is a valid view that uses no buffer; the array's
        // validity gets its bit here and its byte total in `finish`.
        unsafe { self.array.views_mut() }.push(view);
        if let Some(validity) = self.array.validity() {
            validity.push(true);
        }
        self.inline_bytes += field.text.len();
    }

    fn finish(mut self) -> Utf8ViewArray {
        let total = self.array.total_bytes_len() + self.inline_bytes;
        // SAFETY: the total of every view's length, the invariant the
        // pushes above left to here.
        unsafe { self.array.set_total_bytes_len(total) };
        self.array.freeze()
    }
}

/// A field's text, and the 16 bytes from its start when the piece has
/// them: short fields are read from that one load, without a loop over
/// their bytes.
#[derive(Clone, Copy)]
struct Cell<'a> {
    text: &'a str,
    window: Option<u128>,
}

impl<'a> Cell<'a> {
    /// The field of `text` from `start` to `end`; `None` when that is not
    /// at character boundaries.
    fn of(text: &'a str, start: usize, end: usize) -> Option<Cell<'a>> {
        let window = text.as_bytes().get(start..start + 16);
        Some(Cell {
            text: text.get(start..end)?,
            window: window.and_then(|w| Some(u128::from_le_bytes(w.try_into().ok()?))),
        })
    }

    /// The field as an inline view (a text of at most 12 bytes is stored
    /// in the view itself: its length, then its bytes, zero padded), built
    /// in registers.
    #[inline(always)]
    fn inline_view(self) -> Option<View> {
        let len = self.text.len();
        let window = self
            .window
            .filter(|_| len <= View::MAX_INLINE_SIZE as usize)?;
        let bytes = window & ((1u128 << (8 * len)) - 1);
        Some(View::from(len as u128 | bytes << 32))
    }

    /// The value of a decimal of at most 8 bytes after its sign
    /// (`[-]digits[.digits]`), read with word operations instead of a
    /// loop whose end mispredicts: exactly [`parse_float`]'s value for
    /// the same text (the same integer divided by the same power of ten).
    /// `None` for anything else, which [`parse_float`] then reads.
    #[inline(always)]
    fn short_decimal(self) -> Option<f64> {
        const ZEROS: u64 = ONES * b'0' as u64;
        const POW10: [f64; 8] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7];
        let bytes = self.text.as_bytes();
        let negative = bytes.first() == Some(&b'-');
        let len = bytes.len() - usize::from(negative);
        if len == 0 || len > 8 {
            return None;
        }
        let word = (self.window? >> (8 * usize::from(negative))) as u64;
        let valid = if len == 8 {
            !0
        } else {
            (1u64 << (8 * len)) - 1
        };
        let dots = words::equal(word, b'.') & valid;
        // Each byte's digit value (a dot counts as a zero digit here);
        // any byte of 10 or more, or with its high bit set, is no digit.
        let values = (word ^ ZEROS) & !(dots >> 7).wrapping_mul(0xff) & valid;
        let not_digits = (((values & LOW7) + ONES * 0x76) | values) & !LOW7 & valid;
        if not_digits != 0 || dots & dots.wrapping_sub(1) != 0 {
            return None;
        }
        let (digits, decimals) = if dots == 0 {
            (values, 0)
        } else {
            // The dot must have digits on both sides; it is cut out.
            let at = (dots.trailing_zeros() / 8) as usize;
            if at == 0 || at + 1 == len {
                return None;
            }
            let below = values & ((1u64 << (8 * at)) - 1);
            let above = values >> (8 * (at + 1));
            (below | above << (8 * at), len - at - 1)
        };
        let count = len - usize::from(dots != 0);
        let mantissa = eight_digits(digits << (8 * (8 - count)));
        let value = mantissa as i64 as f64 / POW10[decimals];
        Some(if negative { -value } else { value })
    }
}

/// The number written by eight digit values, most significant in the
/// lowest byte: pairs, then fours, then the eight combined by three
/// multiplications.
fn eight_digits(digits: u64) -> u64 {
    let pairs = (digits.wrapping_mul(10 * 256 + 1) >> 8) & 0x00ff_00ff_00ff_00ff;
    let fours = (pairs.wrapping_mul(100 * 65_536 + 1) >> 16) & 0x0000_ffff_0000_ffff;
    fours.wrapping_mul(10_000 * (1 << 32) + 1) >> 32
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
        let field = Cell::of(text, self.start, at)?;
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
        // The views built in registers keep the arrays' byte totals.
        let t = ours.column("t").unwrap().str().unwrap();
        let total: usize = t.downcast_iter().map(|a| a.total_bytes_len()).sum();
        assert_eq!(total, t.iter().flatten().map(str::len).sum::<usize>());
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
        let mut short = 0;
        for f in &fields {
            let ours = parse_float(f.as_bytes()).map(f64::to_bits);
            let theirs = fast_float2::parse::<f64, _>(f.as_bytes())
                .ok()
                .map(f64::to_bits);
            assert_eq!(ours, theirs, "{f:?}");
            // The word-at-a-time path, with the next fields' bytes in the
            // window, agrees wherever it answers.
            let mut window = f.as_bytes().to_vec();
            window.extend_from_slice(b",9.5,-1\n0123456789.");
            let field = Cell {
                text: f,
                window: Some(u128::from_le_bytes(window[..16].try_into().unwrap())),
            };
            if let Some(v) = field.short_decimal() {
                assert_eq!(Some(v.to_bits()), theirs, "{f:?}");
                short += 1;
            }
        }
        // Every decimal of at most 8 bytes after its sign takes it.
        let eligible = fields
            .iter()
            .filter(|f| {
                let t = f.trim_start_matches('-');
                let digits = t.bytes().filter(u8::is_ascii_digit).count();
                let dots = t.bytes().filter(|&b| b == b'.').count();
                digits + dots == t.len()
                    && t.len() <= 8
                    && digits > 0
                    && (dots == 0 || (dots == 1 && !t.starts_with('.') && !t.ends_with('.')))
            })
            .count();
        assert_eq!(short, eligible);
        assert!(short > 50_000, "{short}");
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
