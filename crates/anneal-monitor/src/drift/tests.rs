use std::path::Path;

use anneal_config::CheckDataPolicy;
use anneal_data::drift::{DriftInput, psi};
use anneal_data::profile::{category_profile, numeric_profile, profile_frame};
use polars::prelude::*;
use serde_json::json;

use super::*;

fn column(name: &str, kind: &str, null_fraction: f64) -> ColumnProfile {
    ColumnProfile {
        name: name.into(),
        role: "feature".into(),
        kind: kind.into(),
        dtype: if kind == "numeric" { "f64" } else { "str" }.into(),
        count: 10,
        null_fraction,
        numeric: None,
        categories: None,
    }
}

/// 1..=10: edges 1..9 (numpy's `lower` deciles), ten bins of 10%.
fn numeric_column() -> ColumnReference {
    let mut values: Vec<f64> = (1..=10).map(f64::from).collect();
    let cp = ColumnProfile {
        numeric: numeric_profile(&mut values),
        ..column("x", "numeric", 0.0)
    };
    ColumnReference::new("x", &cp)
}

#[test]
fn numbers_are_counted_into_the_profile_bins() {
    let x = numeric_column();
    let mut c = x.empty();
    for v in [
        json!(0.5),
        json!(1),
        json!(5),
        json!(11),
        json!(null),
        json!("3"),
        json!(true),
        json!("x"),
        json!(""),
    ] {
        x.add_value(&mut c, &v);
    }
    assert_eq!(
        c,
        ColumnCounts {
            rows: 9,
            missing: 3,
            outside: 2,
            buckets: vec![3, 0, 1, 0, 1, 0, 0, 0, 0, 1],
        }
    );
    let checks = x.checks(&c, &CheckDataPolicy::default());
    let codes: Vec<&str> = checks.iter().map(|k| k.code.as_str()).collect();
    assert_eq!(codes, ["null_fraction", "out_of_range", "drift"]);
    assert_eq!(checks[0].value, Some(3.0 / 9.0));
    assert_eq!(
        checks[0].message,
        "column \"x\": missing share +0.333 > 0.05 (33.33% missing vs 0.00% in training)"
    );
    assert_eq!(checks[1].value, Some(2.0 / 6.0));
    assert_eq!(
        checks[1].message,
        "column \"x\": 33.33% of values outside the training range [1, 10] > 1.00% (2 of 6)"
    );
    let shares = [
        0.5,
        0.0,
        1.0 / 6.0,
        0.0,
        1.0 / 6.0,
        0.0,
        0.0,
        0.0,
        0.0,
        1.0 / 6.0,
    ];
    assert_eq!(checks[2].value, Some(psi(&[0.1; 10], &shares)));
    // 6 values are fewer than min_rows (50): a failure only warns.
    assert_eq!(
        (checks[2].passed, checks[2].severity),
        (false, Severity::Warning)
    );
    // Missing and out-of-range shares are judged at any size.
    assert!(alert(&checks.iter().collect::<Vec<_>>()));
    assert!(!alert(&[&checks[2]]));
}

#[test]
fn categories_are_counted_with_an_other_bucket() {
    let texts = ["a"; 5].into_iter().chain(["b"; 3]).chain(["c"; 2]);
    let cp = ColumnProfile {
        categories: category_profile(texts),
        ..column("s", "categorical", 0.1)
    };
    let s = ColumnReference::new("s", &cp);
    let mut c = s.empty();
    for v in [
        json!("a"),
        json!("a"),
        json!("b"),
        json!("z"),
        json!(null),
        json!(1),
    ] {
        s.add_value(&mut c, &v);
    }
    // Buckets: a, b, c, then the rest ("z" and the number 1 as "1").
    assert_eq!(
        c,
        ColumnCounts {
            rows: 6,
            missing: 1,
            outside: 2,
            buckets: vec![2, 1, 0, 2],
        }
    );
    let checks = s.checks(&c, &CheckDataPolicy::default());
    assert_eq!(checks[1].code, "unseen_category");
    assert_eq!(checks[1].value, Some(0.4));
    assert_eq!(
        checks[1].message,
        "column \"s\": 40.00% of values never seen in training > 1.00% (2 of 5)"
    );
    let js = anneal_data::drift::jensen_shannon(&[0.5, 0.3, 0.2, 0.0], &[0.4, 0.2, 0.0, 0.4]);
    assert_eq!(
        (checks[2].statistic.as_str(), checks[2].value),
        ("jensen_shannon", Some(js))
    );
    // An ignored column keeps only its missing share.
    let mut policy = CheckDataPolicy::default();
    policy.columns.insert(
        "s".into(),
        anneal_config::ColumnCheck {
            ignore: true,
            ..Default::default()
        },
    );
    assert_eq!(s.checks(&c, &policy).len(), 1);
}

#[test]
fn counts_merge_and_subtract() {
    let x = numeric_column();
    let count = |vs: &[f64]| {
        let mut c = x.empty();
        for v in vs {
            x.add_number(&mut c, Some(*v));
        }
        c
    };
    let all = count(&[1.0, 2.5, 7.0, 12.0, 3.0]);
    let mut merged = count(&[1.0, 2.5]);
    merged.merge(&count(&[7.0, 12.0, 3.0]));
    assert_eq!(merged, all);
    merged.subtract(&count(&[7.0, 12.0, 3.0]));
    assert_eq!(merged, count(&[1.0, 2.5]));
    // Window counts merge into empty ones (no columns yet) too.
    let mut window = Counts::default();
    let part = Counts {
        rows: 5,
        columns: vec![all.clone()],
        prediction: ColumnCounts::default(),
    };
    window.merge(&part);
    window.merge(&part);
    window.subtract(&part);
    assert_eq!(window, part);
}

fn titanic() -> (DataFrame, DataProfile) {
    let path = Path::new(&manifest_dir()).join("../../datasets/titanic.csv");
    let df = anneal_data::read_table(&path, None, &Default::default(), &[])
        .unwrap()
        .df;
    let profile = profile_frame(&df, &path, Some("survived"), &[]).unwrap();
    (df, profile)
}

/// A column's cells as a client would send them.
fn json_cells(col: &Column) -> Vec<Value> {
    match col.dtype() {
        DataType::String => col.str().unwrap().iter().map(|v| json!(v)).collect(),
        DataType::Float64 => col.f64().unwrap().iter().map(|v| json!(v)).collect(),
        _ => col.i64().unwrap().iter().map(|v| json!(v)).collect(),
    }
}

/// The checks the monitor gives for every row of `df` (the target as the
/// prediction) and those check-data gives for the file, side by side.
fn both(df: &DataFrame, profile: &DataProfile) -> (Vec<Check>, Vec<Check>) {
    let reference = Reference::new(profile);
    let cells: Vec<(String, Vec<Value>)> = df
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), json_cells(c)))
        .collect();
    let mut counts = reference.empty();
    for i in 0..df.height() {
        let mut inputs = Map::new();
        let mut prediction = Value::Null;
        for (name, values) in &cells {
            if name == "survived" {
                prediction = values[i].clone();
            } else {
                inputs.insert(name.clone(), values[i].clone());
            }
        }
        reference.add_record(&mut counts, &inputs, &prediction);
    }
    let policy = CheckDataPolicy::default();
    let live = reference.checks(&counts, &policy);
    let schema = Default::default();
    let input = DriftInput {
        profile,
        policy: &policy,
        schema: &schema,
        ignored: &[],
    };
    let file = anneal_data::drift::check(df, Path::new("new.csv"), &input).unwrap();
    (live, file)
}

/// A check-data message without its "; first: row ..." detail.
fn without_first(message: &str) -> String {
    match message.find("; first: ") {
        Some(at) => {
            let close = at + message[at..].find(')').unwrap();
            format!("{}{}", &message[..at], &message[close..])
        }
        None => message.to_string(),
    }
}

#[test]
fn a_window_gives_check_data_figures() {
    let (df, profile) = titanic();
    let sex: Vec<Option<&str>> = df
        .column("sex")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, v)| if i % 5 == 0 { Some("unknown") } else { v })
        .collect();
    let mut shifted = df
        .clone()
        .lazy()
        .with_column(col("age") + lit(15.0))
        .collect()
        .unwrap();
    shifted.with_column(Column::new("sex".into(), sex)).unwrap();
    for data in [&df, &shifted] {
        let (live, file) = both(data, &profile);
        // check-data also checks presence, types and new columns.
        let compared = [
            "row_count",
            "null_fraction",
            "out_of_range",
            "unseen_category",
            "drift",
        ];
        // The monitor lists the predictions (the target) last.
        let (target, features): (Vec<&Check>, Vec<&Check>) = file
            .iter()
            .filter(|c| compared.contains(&c.code.as_str()))
            .partition(|c| c.column.as_deref() == Some("survived"));
        let file: Vec<&Check> = features.into_iter().chain(target).collect();
        assert_eq!(live.len(), file.len());
        for (l, f) in live.iter().zip(file) {
            let on_target = f.column.as_deref() == Some("survived");
            let want = f
                .column
                .as_deref()
                .map(|c| if on_target { PREDICTION } else { c });
            assert_eq!(l.column.as_deref(), want);
            assert_eq!((&l.code, &l.statistic), (&f.code, &f.statistic));
            assert_eq!(
                (l.value, l.threshold, l.passed),
                (f.value, f.threshold, f.passed)
            );
            // Windows keep no rows, so no "first: row ..." detail.
            let message = without_first(&f.message);
            let message = if on_target {
                message.replace("\"survived\"", &format!("{PREDICTION:?}"))
            } else {
                message
            };
            assert_eq!(l.message, message);
            let severity = if on_target {
                Severity::Warning
            } else {
                f.severity
            };
            assert_eq!(l.severity, severity);
        }
    }
    // The shift is seen where it was made, and only there.
    let (live, _) = both(&shifted, &profile);
    let alerts: Vec<(&str, &str)> = live
        .iter()
        .filter(|c| !c.passed && c.severity == Severity::Error)
        .map(|c| (c.code.as_str(), c.column.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        alerts,
        [
            ("unseen_category", "sex"),
            ("drift", "sex"),
            ("drift", "age")
        ]
    );
}

/// This package's folder in the checkout running the test: cargo sets it at
/// run time; the compile-time path may name another checkout whose binary
/// the shared build folder reused.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
