//! `anneal check-data` and `[data.schema]` through the real binary, on
//! titanic: drift found on a shifted copy and not on a fresh sample, each
//! anomaly code, the schema at train time (a precise stop) and at check
//! time (every violation), the output files and the exit codes.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use anneal_core::rng::Rng;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The shipped titanic model, trained once per test binary.
fn artifact() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let run = scratch("check-data-base").join("run");
        train("titanic", &run);
        run.join("artifact")
    })
}

/// titanic.csv as a header and rows of cells (the file has no quoting).
fn titanic() -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(root().join("datasets/titanic.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) {
    let mut text = header.join(",") + "\n";
    for r in rows {
        text.push_str(&r.join(","));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn check(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "check-data",
        "--artifact",
        s(artifact()),
        "--data",
        s(data),
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    anneal(&args)
}

/// check-data.json's checks by name: (status, value).
fn results(out: &Path) -> Vec<(String, String, Option<f64>, String)> {
    let v = read_json(&out.join("check-data.json"));
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["value"].as_f64(),
                c["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn find(out: &Path, name: &str) -> (String, Option<f64>, String) {
    results(out)
        .into_iter()
        .find(|c| c.0 == name)
        .map(|c| (c.1, c.2, c.3))
        .unwrap_or_else(|| panic!("no check {name}: {:?}", results(out)))
}

#[test]
fn a_fresh_sample_passes_and_a_shifted_copy_drifts() {
    let dir = scratch("check-data-drift");
    let (header, rows) = titanic();
    // A seeded random sample of 400 rows: the same distribution.
    let mut rng = Rng::stream(2026, "check-data-sample");
    let mut pool: Vec<usize> = (0..rows.len()).collect();
    for i in 0..400 {
        let j = i + rng.below((pool.len() - i) as u64) as usize;
        pool.swap(i, j);
    }
    let sample: Vec<Vec<String>> = pool[..400].iter().map(|&i| rows[i].clone()).collect();
    let fresh = dir.join("fresh.csv");
    write_csv(&fresh, &header, &sample);
    let out = dir.join("fresh");
    let o = check(&fresh, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let all = results(&out);
    assert!(all.iter().all(|c| c.1 == "pass"), "{all:?}");
    for col in ["age", "sibsp", "parch"] {
        let (_, psi, _) = find(&out, &format!("drift:{col}"));
        assert!(psi.unwrap() < 0.1, "{col}: {psi:?}");
    }
    for col in ["sex", "pclass"] {
        let (_, js, _) = find(&out, &format!("drift:{col}"));
        assert!(js.unwrap() < 0.1, "{col}: {js:?}");
    }

    // The whole file with every age 15 years higher.
    let age = header.iter().position(|h| h == "age").unwrap();
    let shifted_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if let Ok(a) = r[age].parse::<f64>() {
                r[age] = format!("{}", a + 15.0);
            }
            r
        })
        .collect();
    let shifted = dir.join("shifted.csv");
    write_csv(&shifted, &header, &shifted_rows);
    let out = dir.join("shifted");
    let o = check(&shifted, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let (status, psi, message) = find(&out, "drift:age");
    assert_eq!(status, "fail", "{message}");
    assert!(psi.unwrap() > 1.0, "{psi:?}");
    // Only 10 of 1046 ages land above the training maximum (80): under the
    // default 1% allowance, so the range check passes while drift fails.
    let (status, share, _) = find(&out, "out_of_range:age");
    assert_eq!(status, "pass");
    assert!((share.unwrap() - 10.0 / 1046.0).abs() < 1e-12, "{share:?}");
    // Only age moved.
    for name in ["drift:sex", "drift:pclass", "drift:sibsp", "drift:parch"] {
        assert_eq!(find(&out, name).0, "pass", "{name}");
    }
    assert!(
        stderr(&o).starts_with("error: check-data FAILED: 1 of "),
        "{}",
        stderr(&o)
    );
    let xml = std::fs::read_to_string(out.join("check-data.junit.xml")).unwrap();
    assert!(xml.contains("failures=\"1\""), "{xml}");
    let md = std::fs::read_to_string(out.join("check-data.md")).unwrap();
    assert!(md.starts_with("## ❌ anneal check-data: FAILED"), "{md}");
}

#[test]
fn each_anomaly_has_its_code() {
    let dir = scratch("check-data-anomalies");
    let (header, rows) = titanic();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // sex dropped, a new column, ages as words in 1 of 10 rows, 20% of
    // pclass an unseen class, sibsp missing in 30% of rows.
    let (sex, age, pclass, sibsp) = (col("sex"), col("age"), col("pclass"), col("sibsp"));
    let mut new_header: Vec<String> = header.clone();
    new_header.remove(sex);
    new_header.push("ticket_price".into());
    let new_rows: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.clone();
            if i % 10 == 3 {
                r[age] = "unknown".into();
            }
            if i % 5 == 1 {
                r[pclass] = "crew".into();
            }
            if i % 10 < 3 {
                r[sibsp] = String::new();
            }
            r.remove(sex);
            r.push(format!("{}", 10 + i % 7));
            r
        })
        .collect();
    let data = dir.join("odd.csv");
    write_csv(&data, &new_header, &new_rows);
    let out = dir.join("out");
    let o = check(&data, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    assert_eq!(find(&out, "missing_column:sex").0, "fail");
    assert_eq!(find(&out, "new_column:ticket_price").0, "warn");
    assert_eq!(find(&out, "type_change:age").0, "fail");
    let (status, share, _) = find(&out, "unseen_category:pclass");
    assert_eq!(status, "fail");
    assert!((share.unwrap() - 0.2).abs() < 0.01, "{share:?}");
    assert_eq!(find(&out, "drift:pclass").0, "fail");
    let (status, increase, _) = find(&out, "null_fraction:sibsp");
    assert_eq!(status, "fail");
    assert!((increase.unwrap() - 0.3).abs() < 0.01, "{increase:?}");
    // A policy can make the new column an error and loosen the rest.
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        "[check_data]\nnew_column = \"error\"\nmax_unseen = 0.5\nmax_categorical_drift = 1.0\n",
    )
    .unwrap();
    let out2 = dir.join("out2");
    check(&data, &out2, &["--policy", s(&policy)]);
    assert_eq!(find(&out2, "new_column:ticket_price").0, "fail");
    assert_eq!(find(&out2, "unseen_category:pclass").0, "pass");
    assert_eq!(find(&out2, "drift:pclass").0, "pass");
    // Overridden: exit 0, reason recorded.
    let o = check(
        &data,
        &dir.join("out3"),
        &["--override-reason", "known pipeline change"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        read_json(&dir.join("out3/check-data.json"))["outcome"],
        "overridden"
    );
}

/// titanic.toml with an absolute data path and a schema.
fn schema_config(dir: &Path, schema: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("configs/titanic.toml")).unwrap();
    let data = root().join("datasets/titanic.csv");
    let text = text.replace("\"../datasets/titanic.csv\"", &format!("{:?}", s(&data)));
    let path = dir.join("titanic.toml");
    std::fs::write(&path, format!("{text}\n{schema}")).unwrap();
    path
}

#[test]
fn the_schema_stops_train_and_is_checked_on_new_data() {
    let dir = scratch("check-data-schema");
    let data = root().join("datasets/titanic.csv");
    // A contract titanic breaks: ages above 60 exist.
    let strict = schema_config(
        &dir,
        "[data.schema]\nmin_rows = 100\n\n[data.schema.columns.age]\ntype = \"numeric\"\nmin = 0\nmax = 60\n\n[data.schema.columns.sex]\nnullable = false\nallowed = [\"female\", \"male\"]\n",
    );
    let o = anneal(&[
        "train",
        "--config",
        s(&strict),
        "--out",
        s(&dir.join("run-strict")),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "error: {}: schema violation: column \"age\": ",
            data.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("values above the maximum 60 (first: row "),
        "{err}"
    );
    assert!(
        err.trim_end().ends_with("[data.schema.columns.age.max]"),
        "{err}"
    );
    assert!(!dir.join("run-strict").exists());

    // A contract titanic keeps: trains, and the artifact carries it.
    let ok = schema_config(
        &dir,
        "[data.schema]\nmin_rows = 1000\nmax_rows = 2000\n\n[data.schema.columns.age]\ntype = \"numeric\"\nmin = 0\nmax = 100\n\n[data.schema.columns.sex]\nnullable = false\nallowed = [\"female\", \"male\"]\n",
    );
    let run = dir.join("run");
    let o = anneal(&["train", "--config", s(&ok), "--out", s(&run), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // New data breaking it three ways: every violation is listed.
    let (header, rows) = titanic();
    let age = header.iter().position(|h| h == "age").unwrap();
    let sex = header.iter().position(|h| h == "sex").unwrap();
    let bad_rows: Vec<Vec<String>> = rows
        .iter()
        .take(300)
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.clone();
            if i == 5 {
                r[age] = "130".into();
            }
            if i == 7 {
                r[sex] = "other".into();
            }
            r
        })
        .collect();
    let bad = dir.join("bad.csv");
    write_csv(&bad, &header, &bad_rows);
    let out = dir.join("out");
    let o = anneal(&[
        "check-data",
        "--artifact",
        s(&run.join("artifact")),
        "--data",
        s(&bad),
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let all = results(&out);
    let schema: Vec<&(String, String, Option<f64>, String)> =
        all.iter().filter(|c| c.0.starts_with("schema_")).collect();
    assert_eq!(
        schema.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ["schema_row_count", "schema_range:age", "schema_allowed:sex"],
        "{all:?}"
    );
    assert!(schema.iter().all(|c| c.1 == "fail"));
    assert!(
        schema[1].3.contains("(first: row 6, value 130)"),
        "{}",
        schema[1].3
    );
}

#[test]
fn exit_codes_of_bad_inputs() {
    let dir = scratch("check-data-errors");
    let data = root().join("datasets/titanic.csv");
    let missing = dir.join("nothing.csv");
    let o = check(&missing, &dir.join("o1"), &[]);
    assert_error(
        &o,
        3,
        &format!("error: data file {} does not exist", missing.display()),
    );
    let policy = dir.join("bad.toml");
    std::fs::write(&policy, "[check_data]\nmax_psi = -1\n").unwrap();
    let o = check(&data, &dir.join("o2"), &["--policy", s(&policy)]);
    assert_error(
        &o,
        2,
        &format!(
            "error: {}:2:1: check_data.max_psi: must be a number >= 0, got -1",
            policy.display()
        ),
    );
    let o = anneal(&[
        "check-data",
        "--artifact",
        s(&dir),
        "--data",
        s(&data),
        "--out",
        s(&dir.join("o3")),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // The training data itself is, of course, fine.
    let o = check(&data, &dir.join("o4"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
