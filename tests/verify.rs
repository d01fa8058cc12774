//! `anneal verify RUN_DIR`: the recorded training re-run and every hash
//! compared; a tampered output is named; an environment change is said to
//! void the bitwise promise.

mod common;
use common::*;

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_run_verifies_and_a_tampered_one_is_named() {
    let dir = scratch("verify");
    let run = dir.join("run");
    train("titanic", &run);
    let o = anneal(&["verify", s(&run)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("verify: IDENTICAL (11 hashes)\n"), "{text}");
    assert!(
        text.contains(
            "same CPU features, versions and backend as recorded: bitwise equality is expected\n"
        ),
        "{text}"
    );
    let id = read_json(&run.join("artifact/manifest.json"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains(&format!(
            "same     artifact id                  {}\n",
            &id[..16]
        )),
        "{text}"
    );

    // One changed prediction: named, exit 1.
    let p = run.join("predictions.csv");
    let original = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, original.replacen(",0.", ",1.", 1)).unwrap();
    let o = anneal(&["verify", s(&run)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("DIFFERS  predictions.csv              recorded "),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        stderr(&o).trim(),
        format!(
            "error: verify FAILED: 1 of 11 hashes of {} differ from the re-run",
            run.display()
        )
    );
    std::fs::write(&p, &original).unwrap();

    // Recorded on other CPU features: the report differs, and verify says
    // why bitwise equality was not promised.
    let r = run.join("report.json");
    let report = std::fs::read_to_string(&r).unwrap();
    std::fs::write(
        &r,
        report
            .replacen("\"avx2\"", "\"neon\"", 1)
            .replacen("\"sse4.2\"", "\"neon\"", 1),
    )
    .unwrap();
    let o = anneal(&["verify", s(&run)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains(
            "CPU features differ from the recorded ones: bitwise equality is not promised\n"
        ),
        "{}",
        stdout(&o)
    );
    std::fs::write(&r, &report).unwrap();

    // Not a run folder.
    assert_error(
        &anneal(&["verify", s(&dir)]),
        2,
        &format!(
            "error: {} is not a finished run folder of `anneal train` (no readable run.json)",
            dir.display()
        ),
    );
}
