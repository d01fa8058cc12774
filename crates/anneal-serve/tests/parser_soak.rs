//! An in-process stand-in for `cargo fuzz` (fuzz/fuzz_targets/
//! serve_request.rs) where libFuzzer cannot be built: the three request
//! parsers on mutated valid bodies and random bytes, checking what the
//! fuzz target checks. `parsers_survive_mutated_bodies` runs 30,000 calls;
//! `ANNEAL_SOAK_CALLS=1000000 cargo test --release -p anneal-serve --test
//! parser_soak` runs as many as asked.

use anneal_serve::request::{self, Batch, Cells, Invalid};
use anneal_serve::schema::Schema;

const MAX_ROWS: usize = 64;

fn schema() -> Schema {
    Schema::example()
}

const SEEDS: [&str; 6] = [
    r#"{"id": "x", "inputs": [{"name": "age", "shape": [2, 1], "datatype": "FP64", "data": [[1.5], [null]]}, {"name": "sex", "shape": [2], "datatype": "BYTES", "data": ["m", ""]}], "outputs": [{"name": "proba_a"}]}"#,
    r#"{"dataframe_split": {"columns": ["sex", "age", "x"], "data": [["m", 3, 0], ["f", null, "1"]]}}"#,
    r#"{"dataframe_records": [{"sex": "m", "age": 3}, {"age": "2.5", "sex": true}]}"#,
    "age,sex,x\n1,m,2\n\"2\",\"f, \"\"q\"\"\",\n,,\r\n",
    r#"{"inputs": [{"name": "age", "shape": [35184372088832], "datatype": "FP64", "data": [1e300]}]}"#,
    "sex,age\n\"a\nb\",1e39\n",
];

/// Pieces spliced into bodies: numbers at the edges, structure, quotes.
const TOKENS: [&str; 16] = [
    "1e300",
    "-1e39",
    "18446744073709551615",
    "1152921504606846976",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\"",
    "\n",
    "null",
    "[[[[",
    "\"shape\": [0]",
    "NaN",
    "\"\",",
];

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A seed with a few random edits, or (one time in eight) random bytes.
fn body(rng: &mut Rng) -> Vec<u8> {
    if rng.below(8) == 0 {
        let len = rng.below(64);
        return (0..len).map(|_| rng.next() as u8).collect();
    }
    let mut b = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(4) {
            0 if at < b.len() => b[at] = rng.next() as u8,
            1 if at < b.len() => {
                let end = (at + rng.below(8)).min(b.len());
                b.drain(at..end);
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                b.splice(at..at, t.iter().copied());
            }
            _ => {
                // Repeat a slice: long arrays, deep nesting.
                let end = (at + rng.below(16)).min(b.len());
                let piece = b[at..end].repeat(1 + rng.below(40));
                b.splice(at..at, piece);
            }
        }
    }
    b
}

fn check(result: Result<Batch, Invalid>, input: &[u8]) -> bool {
    match result {
        Ok(b) => {
            assert!(b.rows >= 1 && b.rows <= MAX_ROWS, "{input:?}");
            for c in &b.columns {
                let n = match c {
                    Cells::Num(v) => {
                        assert!(v.iter().flatten().all(|x| x.abs() <= f32::MAX as f64));
                        v.len()
                    }
                    Cells::Text(v) => v.len(),
                };
                assert_eq!(n, b.rows, "{input:?}");
            }
            true
        }
        Err(e) => {
            assert!(!e.0.contains('\n'), "one line: {:?}", e.0);
            false
        }
    }
}

/// Returns (parser calls, accepted).
fn soak(calls: usize, seed: u64) -> (usize, usize) {
    let schema = schema();
    let mut rng = Rng(seed);
    let (mut done, mut accepted) = (0, 0);
    while done < calls {
        let b = body(&mut rng);
        accepted += check(
            request::parse_v2(&b, &schema, MAX_ROWS).map(|r| r.batch),
            &b,
        ) as usize;
        accepted += check(request::parse_invocations(&b, &schema, MAX_ROWS), &b) as usize;
        accepted += check(request::parse_csv(&b, &schema, MAX_ROWS), &b) as usize;
        done += 3;
    }
    (done, accepted)
}

#[test]
fn parsers_survive_mutated_bodies() {
    let calls = std::env::var("ANNEAL_SOAK_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    let start = std::time::Instant::now();
    let (done, accepted) = soak(calls, 0x5eed_a11e);
    eprintln!(
        "parser soak: {done} parser calls, {accepted} accepted, {:.2} s",
        start.elapsed().as_secs_f64()
    );
    // The mutations must not all be rejected, or the soak tests nothing.
    assert!(accepted > done / 100, "{accepted} of {done} accepted");
}
