//! A small quote-aware walk over CSV bytes, used only to say *where*
//! something is wrong: the line, the data row and the column of a byte, a
//! row with more fields than the header, or a quoted field that is never
//! closed. Parsing itself is left to polars. As in polars (and the record
//! splitter of [`crate::batches`]), every `"` opens or closes a quoted
//! stretch, so `""` inside quotes reads as a quote.

/// A place in a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CsvPos {
    /// 1-based line of the file.
    pub line: usize,
    /// Record number: 0 for the header, then the 1-based data row.
    pub record: usize,
    /// 0-based field of the record.
    pub field: usize,
}

impl CsvPos {
    pub(crate) const START: CsvPos = CsvPos {
        line: 1,
        record: 0,
        field: 0,
    };
}

/// What is wrong with the shape of a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The record starting at `at` has `fields` fields; the header `header`.
    TooManyFields {
        at: CsvPos,
        fields: usize,
        header: usize,
    },
    /// A quoted field starting at `at` runs to the end of the data.
    OpenQuote { at: CsvPos },
}

/// Walks `bytes[..end]` starting at `start`; calls `on_record(record start,
/// field count)` at the end of every record (including a last one without
/// a newline when `end` is the end of the data) until it returns `false`.
/// Returns the position at `end` and, when `end` falls inside a quoted
/// field, where that field began.
fn walk(
    bytes: &[u8],
    delimiter: u8,
    start: CsvPos,
    end: usize,
    mut on_record: impl FnMut(CsvPos, usize) -> bool,
) -> (CsvPos, Option<CsvPos>) {
    let end = end.min(bytes.len());
    let mut pos = start;
    let mut record_start = start;
    let mut in_quotes = false;
    let mut quote_at = start;
    let mut empty_record = true;
    for &b in &bytes[..end] {
        if in_quotes {
            if b == b'"' {
                in_quotes = false;
            } else if b == b'\n' {
                pos.line += 1;
            }
            continue;
        }
        if b == b'\n' {
            if !on_record(record_start, pos.field + 1) {
                return (pos, None);
            }
            pos.line += 1;
            pos.record += 1;
            pos.field = 0;
            record_start = pos;
            empty_record = true;
            continue;
        }
        empty_record = false;
        if b == b'"' {
            in_quotes = true;
            quote_at = pos;
        } else if b == delimiter {
            pos.field += 1;
        }
    }
    if in_quotes {
        return (pos, Some(quote_at));
    }
    if end == bytes.len() && !empty_record {
        on_record(record_start, pos.field + 1);
    }
    (pos, None)
}

/// The position of byte `offset` of a CSV file (or of a piece of one that
/// starts at `start`).
pub(crate) fn position(bytes: &[u8], delimiter: u8, start: CsvPos, offset: usize) -> CsvPos {
    walk(bytes, delimiter, start, offset, |_, _| true).0
}

/// The first problem with the shape of a CSV file: a record with more
/// fields than the header, or a quoted field never closed.
pub(crate) fn shape_problem(bytes: &[u8], delimiter: u8) -> Option<Shape> {
    let mut header = None;
    let mut found = None;
    let (_, open) = walk(bytes, delimiter, CsvPos::START, bytes.len(), |at, n| {
        match header {
            None => header = Some(n),
            Some(h) if n > h => {
                found = Some(Shape::TooManyFields {
                    at,
                    fields: n,
                    header: h,
                });
                return false;
            }
            Some(_) => {}
        }
        true
    });
    found.or(open.map(|at| Shape::OpenQuote { at }))
}

/// The column names of the header (the first line), unquoted; lossy for
/// bytes that are not UTF-8.
pub(crate) fn header_names(bytes: &[u8], delimiter: u8) -> Vec<String> {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.split(|&b| b == delimiter)
        .map(|f| {
            let f = String::from_utf8_lossy(f);
            let f = f.trim();
            match f.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(inner) => inner.replace("\"\"", "\""),
                None => f.to_string(),
            }
        })
        .collect()
}

/// `line 9, row 8, column "c"` (the header is `line 1` alone; the column is
/// left out when the header does not name it).
pub(crate) fn describe(pos: CsvPos, names: &[String]) -> String {
    if pos.record == 0 {
        return format!("line {}", pos.line);
    }
    match names.get(pos.field).filter(|n| !n.is_empty()) {
        Some(name) => format!(
            "line {}, row {}, column {:?}",
            pos.line,
            pos.record,
            crate::extract::truncate(name)
        ),
        None => format!("line {}, row {}", pos.line, pos.record),
    }
}

/// Binary data or invalid UTF-8 in `bytes` (a whole CSV file or NDJSON
/// file, or one CSV record starting at `start`), described with its place.
/// `csv` gives the delimiter and the header's names for CSV.
pub(crate) fn text_problem(
    bytes: &[u8],
    csv: Option<(u8, &[String])>,
    start: CsvPos,
) -> Option<String> {
    let place = |offset: usize| match csv {
        Some((delimiter, names)) => describe(position(bytes, delimiter, start, offset), names),
        None => format!(
            "line {}",
            start.line + bytes[..offset].iter().filter(|&&b| b == b'\n').count()
        ),
    };
    // `contains` finds a byte with memchr; the position only when there
    // is one.
    if bytes.contains(&0)
        && let Some(pos) = bytes.iter().position(|&b| b == 0)
    {
        return Some(format!(
            "binary data (a NUL byte at {}), expected UTF-8 text",
            place(pos)
        ));
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        let pos = e.valid_up_to();
        return Some(format!(
            "invalid UTF-8 (byte 0x{:02x} at {}), expected UTF-8 text",
            bytes.get(pos).copied().unwrap_or(0),
            place(pos)
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_quotes() {
        let csv = b"a,b,c\n1,\"x,\ny\",3\n4,5,6\n";
        let names = header_names(csv, b',');
        assert_eq!(names, ["a", "b", "c"]);
        let at = |s: &str| {
            let off = csv
                .windows(s.len())
                .position(|w| w == s.as_bytes())
                .unwrap();
            describe(position(csv, b',', CsvPos::START, off), &names)
        };
        assert_eq!(at("3"), "line 3, row 1, column \"c\"");
        assert_eq!(at("5"), "line 4, row 2, column \"b\"");
        assert_eq!(at("b"), "line 1");
    }

    #[test]
    fn shapes() {
        assert_eq!(shape_problem(b"a,b\n1,2\n3,4\n", b','), None);
        assert_eq!(
            shape_problem(b"a,b\n1,2\n3,4,5\n", b','),
            Some(Shape::TooManyFields {
                at: CsvPos {
                    line: 3,
                    record: 2,
                    field: 0
                },
                fields: 3,
                header: 2
            })
        );
        // A last record without a newline counts too.
        assert!(matches!(
            shape_problem(b"a,b\n1,2,3", b','),
            Some(Shape::TooManyFields { fields: 3, .. })
        ));
        // `""` is an escaped quote, not the end of the field.
        assert_eq!(shape_problem(b"a,b\n\"x\"\",y\",2\n", b','), None);
        assert_eq!(
            shape_problem(b"a,b\n1,2\n\"3,4\n5,6\n", b','),
            Some(Shape::OpenQuote {
                at: CsvPos {
                    line: 3,
                    record: 2,
                    field: 0
                }
            })
        );
    }

    #[test]
    fn text_problems_name_the_cell() {
        let names = vec!["x".to_string(), "c".to_string()];
        let bytes = b"x,c\n1,a\n2,caf\xe9\n";
        assert_eq!(
            text_problem(bytes, Some((b',', &names)), CsvPos::START).as_deref(),
            Some("invalid UTF-8 (byte 0xe9 at line 3, row 2, column \"c\"), expected UTF-8 text")
        );
        assert_eq!(
            text_problem(b"x\0", Some((b',', &names)), CsvPos::START).as_deref(),
            Some("binary data (a NUL byte at line 1), expected UTF-8 text")
        );
        assert_eq!(
            text_problem(b"{}\n{\"a\": \"\xff\"}\n", None, CsvPos::START).as_deref(),
            Some("invalid UTF-8 (byte 0xff at line 2), expected UTF-8 text")
        );
    }
}
