//! The `anneal serve` request parsers on arbitrary bytes: the KServe v2
//! JSON body, the v2 binary tensor body (the first two bytes give the JSON
//! header's length), the /invocations JSON body and the /invocations CSV body,
//! against a schema with a numeric and a categorical input. Errors, never
//! panics; every error is one line; an accepted batch never exceeds the
//! row limit and its columns are all as long as it says.
#![no_main]

use std::sync::OnceLock;

use anneal_serve::request::{self, Batch, Cells};
use anneal_serve::schema::Schema;
use libfuzzer_sys::fuzz_target;

const MAX_ROWS: usize = 64;

fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(Schema::example)
}

fn check(result: Result<Batch, request::Invalid>) {
    match result {
        Ok(b) => {
            assert!(b.rows >= 1 && b.rows <= MAX_ROWS);
            for c in &b.columns {
                let n = match c {
                    Cells::Num(v) => v.len(),
                    Cells::Text(v) => v.len(),
                };
                assert_eq!(n, b.rows);
            }
        }
        Err(e) => assert!(!e.0.contains('\n'), "one line: {}", e.0),
    }
}

fuzz_target!(|data: &[u8]| {
    check(request::parse_v2(data, schema(), MAX_ROWS).map(|r| r.batch));
    if let [a, b, rest @ ..] = data {
        let header = usize::from(u16::from_le_bytes([*a, *b]));
        check(request::parse_v2_binary(rest, header, schema(), MAX_ROWS).map(|r| r.batch));
    }
    check(request::parse_invocations(data, schema(), MAX_ROWS));
    check(request::parse_csv(data, schema(), MAX_ROWS));
});
