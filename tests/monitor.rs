//! `anneal monitor` through the real binary, on breast_cancer: traffic
//! sampled from the dataset and logged with the inference-log writer,
//! eight size features shifted by one training standard deviation from
//! the half-way point, labels arriving for 70% of the rows (and a few for
//! requests this log never saw). The shift is flagged in the later windows
//! only, accuracy drops there, the policy fails with exit 1; a stationary
//! log passes at the default thresholds; the documents are byte-identical
//! run to run and read back; bad inputs are one-line errors.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use anneal_core::rng::Rng;
use anneal_monitor::MonitorDoc;
use anneal_monitor::log::{FileWriter, Record};
use serde_json::{Map, Value};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// 2026-12-04T21:00:00Z: windows of 10 minutes start on the hour.
const T0_MS: u64 = 1_796_418_000_000;
/// Rows of traffic: one a second, so four 10-minute windows.
const ROWS: usize = 2400;
/// The features moved in the second half.
const SHIFTED: [&str; 8] = [
    "mean radius",
    "mean perimeter",
    "mean area",
    "mean concavity",
    "worst radius",
    "worst perimeter",
    "worst area",
    "worst concavity",
];

struct Setup {
    dir: PathBuf,
    artifact: PathBuf,
    artifact_id: String,
    shifted_log: PathBuf,
    stationary_log: PathBuf,
    labels: PathBuf,
    /// The shifted traffic as a data file, with its labels.
    traffic: PathBuf,
}

/// breast_cancer.csv as a header and rows of cells (no quoting).
fn dataset() -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(root().join("datasets/breast_cancer.csv")).unwrap();
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

/// `ROWS` rows drawn (seeded) from the dataset; with `shift`, the
/// `SHIFTED` columns of the second half move up by one training SD.
fn traffic(
    header: &[String],
    rows: &[Vec<String>],
    sd: &Map<String, Value>,
    shift: bool,
) -> Vec<Vec<String>> {
    let mut rng = Rng::new(7);
    (0..ROWS)
        .map(|i| {
            let mut r = rows[rng.below(rows.len() as u64) as usize].clone();
            if shift && i >= ROWS / 2 {
                for (j, name) in header.iter().enumerate() {
                    if SHIFTED.contains(&name.as_str()) {
                        let v: f64 = r[j].parse().unwrap();
                        r[j] = (v + sd[name].as_f64().unwrap()).to_string();
                    }
                }
            }
            r
        })
        .collect()
}

/// Predicts `rows` with `anneal predict` and logs them, one file per half
/// (as after a rotation), one row a second from `T0_MS`.
fn log(
    setup_dir: &Path,
    artifact: &Path,
    id: &str,
    name: &str,
    header: &[String],
    rows: &[Vec<String>],
) -> PathBuf {
    let input = setup_dir.join(format!("{name}.csv"));
    write_csv(&input, header, rows);
    let pred = setup_dir.join(format!("{name}-pred.csv"));
    let o = anneal(&[
        "predict",
        "--artifact",
        s(artifact),
        "--input",
        s(&input),
        "--output",
        s(&pred),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&pred).unwrap();
    let mut lines = text.lines();
    let cols: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let dir = setup_dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut w = FileWriter::create(&dir, 0, id).unwrap();
    for (i, (row, line)) in rows.iter().zip(lines).enumerate() {
        if i == ROWS / 2 {
            w.flush().unwrap();
            w = FileWriter::create(&dir, 1, id).unwrap();
        }
        w.append(&record(i, header, row, &cols, line)).unwrap();
    }
    w.flush().unwrap();
    dir
}

fn record(i: usize, header: &[String], row: &[String], cols: &[String], line: &str) -> Record {
    let mut inputs = Map::new();
    for (name, cell) in header.iter().zip(row) {
        if name != "diagnosis" {
            inputs.insert(name.clone(), Value::from(cell.parse::<f64>().unwrap()));
        }
    }
    let cells: Vec<&str> = line.split(',').collect();
    let mut proba = Map::new();
    for (c, v) in cols.iter().zip(&cells) {
        if let Some(class) = c.strip_prefix("proba_") {
            proba.insert(class.to_string(), Value::from(v.parse::<f64>().unwrap()));
        }
    }
    Record {
        ts_ms: T0_MS + i as u64 * 1000,
        request_id: format!("req-{i}"),
        row: 0,
        inputs,
        prediction: Value::from(cells[0]),
        probabilities: Some(proba),
    }
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = scratch("monitor-base");
        train("breast_cancer", &dir.join("run"));
        let artifact = dir.join("run/artifact");
        let id = read_json(&artifact.join("manifest.json"))["id"]
            .as_str()
            .unwrap()
            .to_string();
        let profile = read_json(&artifact.join("profile.json"));
        let sd: Map<String, Value> = profile["columns"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| Some((c["name"].as_str()?.to_string(), c["numeric"]["std"].clone())))
            .collect();
        let (header, rows) = dataset();
        let shifted = traffic(&header, &rows, &sd, true);
        let stationary = traffic(&header, &rows, &sd, false);
        let shifted_log = log(&dir, &artifact, &id, "shifted", &header, &shifted);
        let stationary_log = log(&dir, &artifact, &id, "stationary", &header, &stationary);
        // Labels for 70% of the rows, plus three for requests never logged.
        let target = header.iter().position(|c| c == "diagnosis").unwrap();
        let mut labels = String::from("request_id,row,diagnosis\n");
        for (i, r) in shifted.iter().enumerate().filter(|(i, _)| i % 10 < 7) {
            labels.push_str(&format!("req-{i},0,{}\n", r[target]));
        }
        labels.push_str("ghost-1,0,benign\nghost-2,0,benign\nghost-3,0,malignant\n");
        let labels_path = dir.join("labels.csv");
        std::fs::write(&labels_path, labels).unwrap();
        // The same traffic as a data file: ids in `request_id`.
        let mut h = header.clone();
        h.push("request_id".into());
        let with_ids: Vec<Vec<String>> = shifted
            .iter()
            .enumerate()
            .map(|(i, r)| r.iter().cloned().chain([format!("req-{i}")]).collect())
            .collect();
        let traffic = dir.join("traffic-with-labels.csv");
        write_csv(&traffic, &h, &with_ids);
        Setup {
            dir,
            artifact,
            artifact_id: id,
            shifted_log,
            stationary_log,
            labels: labels_path,
            traffic,
        }
    })
}

fn monitor(extra: &[&str]) -> Output {
    let mut args = vec![
        "monitor",
        "--artifact",
        s(&setup().artifact),
        "--bootstrap",
        "200",
    ];
    args.extend_from_slice(extra);
    anneal(&args)
}

fn windows_alerts(doc: &MonitorDoc) -> Vec<Vec<String>> {
    doc.windows.iter().map(|w| w.alerts.clone()).collect()
}

/// The shifted log with labels, in 10-minute windows, into `out`: exit 1
/// and the document.
fn shifted_run(out: &Path) -> MonitorDoc {
    let st = setup();
    let o = monitor(&[
        "--log",
        s(&st.shifted_log),
        "--labels",
        s(&st.labels),
        "--window",
        "10m",
        "--out",
        s(out),
    ]);
    let json = out.join("monitor.json");
    assert_error(
        &o,
        1,
        &format!(
            "error: monitor FAILED: 9 of 94 checks failed (details in {})",
            s(&json)
        ),
    );
    let text = stdout(&o);
    assert!(text.starts_with("monitor: 2400 rows in 4 windows of 10m, 1680 labelled (3 labels with unknown ids, 0 unusable) in "), "{text}");
    assert!(text.contains("\nFAIL drift:mean area: 2 of 4 windows over the threshold; first in the window from 2026-12-04T21:20:00Z: column \"mean area\": PSI "), "{text}");
    MonitorDoc::read(&json).unwrap()
}

/// Drift only after the shift; accuracy drops there too.
fn assert_later_windows_only(doc: &MonitorDoc) {
    let alerts = windows_alerts(doc);
    assert!(alerts[0].is_empty() && alerts[1].is_empty(), "{alerts:?}");
    for a in &alerts[2..] {
        for name in SHIFTED {
            assert!(a.contains(&format!("drift:{name}")), "{a:?}");
        }
        assert!(a.contains(&"metric_drop:accuracy".to_string()), "{a:?}");
    }
    let acc: Vec<f64> = doc.windows.iter().map(|w| w.metrics["accuracy"]).collect();
    let reference = doc.reference["accuracy"];
    assert!(
        acc[..2].iter().all(|a| (reference - a) < 0.05),
        "{acc:?} vs {reference}"
    );
    assert!(
        acc[2..].iter().all(|a| (reference - a) > 0.05),
        "{acc:?} vs {reference}"
    );
    assert_eq!(
        doc.windows.iter().map(|w| w.labelled).collect::<Vec<_>>(),
        [420; 4]
    );
    assert_eq!(
        (doc.join.label_rows, doc.join.unknown_ids, doc.join.labelled),
        (1683, 3, 1680)
    );
    let check = doc
        .verdict
        .checks
        .iter()
        .find(|c| c.name == "metric_drop:accuracy")
        .unwrap();
    assert!(
        check
            .message
            .ends_with("more than 0.05; 2 of 4 judged windows over"),
        "{}",
        check.message
    );
}

/// monitor.json reads back; the JUnit, HTML and Markdown say the same.
fn assert_documents(out: &Path, doc: &MonitorDoc) {
    let json = out.join("monitor.json");
    let alerts = windows_alerts(doc);
    // The document reads back (serde_json may move a float by one unit in
    // the last place: no `float_roundtrip`, whose parsing would change
    // figures read from existing artifacts).
    let back = MonitorDoc::parse(&doc.to_json().unwrap(), &json).unwrap();
    assert_eq!(back.verdict, doc.verdict.clone());
    assert_eq!(windows_alerts(&back), alerts);
    for (a, b) in back.windows.iter().zip(&doc.windows) {
        for (k, v) in &a.metrics {
            assert!((v - b.metrics[k]).abs() <= 1e-15 * v.abs().max(1.0), "{k}");
        }
    }
    let junit = std::fs::read_to_string(out.join("monitor.junit.xml")).unwrap();
    assert!(junit.contains("<testcase name=\"drift:mean area\" classname=\"anneal.monitor.drift\">\n            <failure"), "{junit}");
    let html = std::fs::read_to_string(out.join("monitor.html")).unwrap();
    // accuracy; psi, out of range, missing (no categorical column);
    // predictions; rows.
    assert_eq!(html.matches("<svg").count(), 6);
    assert!(!html.contains("<script"));
    let md = std::fs::read_to_string(out.join("monitor.md")).unwrap();
    assert!(md.contains("## Policy ❌ anneal monitor: FAILED"), "{md}");
}

/// A second run gives byte-identical documents.
fn assert_same_bytes(out: &Path) {
    let st = setup();
    let again = st.dir.join("mon-b");
    let o = monitor(&[
        "--log",
        s(&st.shifted_log),
        "--labels",
        s(&st.labels),
        "--window",
        "10m",
        "--out",
        s(&again),
    ]);
    assert_eq!(o.status.code(), Some(1));
    for f in [
        "monitor.json",
        "monitor.md",
        "monitor.html",
        "monitor.junit.xml",
    ] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// The same rows as a data file (labels in its target column), in
/// windows of 600 rows: the same drift figures, window by window.
fn assert_data_file_agrees(doc: &MonitorDoc) {
    let st = setup();
    let data_out = st.dir.join("mon-data");
    let o = monitor(&[
        "--data",
        s(&st.traffic),
        "--window",
        "600rows",
        "--out",
        s(&data_out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let from_data = MonitorDoc::read(&data_out.join("monitor.json")).unwrap();
    let drift = |d: &MonitorDoc| {
        d.windows
            .iter()
            .map(|w| w.drift.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(drift(&from_data), drift(doc));
    assert_eq!(from_data.join.labelled, 2400);
}

#[test]
fn a_shift_half_way_fails_the_policy_in_the_later_windows_only() {
    let out = setup().dir.join("mon-a");
    let doc = shifted_run(&out);
    assert_later_windows_only(&doc);
    assert_documents(&out, &doc);
    assert_same_bytes(&out);
    assert_data_file_agrees(&doc);
}

#[test]
fn a_stationary_log_raises_no_alarm_at_the_defaults() {
    let st = setup();
    let out = st.dir.join("mon-stationary");
    let o = monitor(&[
        "--log",
        s(&st.stationary_log),
        "--window",
        "10m",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let text = stdout(&o);
    assert!(text.contains("\nSKIP metric_drop:accuracy: no labels given (--labels): accuracy is not judged\nmonitor PASSED: 93 passed, 0 failed, 0 warnings, 1 skipped\n"), "{text}");
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let st = setup();
    let dir = st.dir.join("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    let out_s = s(&out);

    // A log written by another model.
    let other = dir.join("other-log");
    std::fs::create_dir_all(&other).unwrap();
    let foreign = "f".repeat(64);
    FileWriter::create(&other, 0, &foreign)
        .unwrap()
        .flush()
        .unwrap();
    let o = monitor(&["--log", s(&other), "--out", out_s]);
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: inference log of artifact {foreign}, but the artifact given is {}",
            s(&other.join("inference-00000000.ndjson")),
            st.artifact_id
        ),
    );

    // --log names nothing, or a file instead of the folder.
    let missing = dir.join("no-such-log");
    let o = monitor(&["--log", s(&missing), "--out", out_s]);
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: --log names no readable folder (No such file or directory (os error 2))",
            s(&missing)
        ),
    );
    let one_file = other.join("inference-00000000.ndjson");
    let o = monitor(&["--log", s(&one_file), "--out", out_s]);
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: --log names a file; give the folder `anneal serve --log` writes",
            s(&one_file)
        ),
    );

    // Labels without an id column.
    let labels = dir.join("no-id.csv");
    std::fs::write(&labels, "id,diagnosis\nreq-1,benign\n").unwrap();
    let o = monitor(&[
        "--log",
        s(&st.shifted_log),
        "--labels",
        s(&labels),
        "--out",
        out_s,
    ]);
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: labels need a \"request_id\" column naming the logged request of each label; found columns: id, diagnosis",
            s(&labels)
        ),
    );

    // A bad window.
    let o = monitor(&[
        "--log",
        s(&st.shifted_log),
        "--window",
        "3x",
        "--out",
        out_s,
    ]);
    assert_error(
        &o,
        2,
        "error: --window: expected a span like 30m, 1h or 1d, or a row count like 500rows, got \"3x\"",
    );
    // --data rows have no time.
    let o = monitor(&["--data", s(&st.traffic), "--window", "1h", "--out", out_s]);
    assert_error(
        &o,
        2,
        "error: --data rows carry no time: give --window as a row count (e.g. 500rows), not 1h",
    );
}

#[test]
fn corrupt_log_input_is_named_and_skipped() {
    let st = setup();
    let dir = st.dir.join("corrupt");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    let out_s = s(&out);
    // A corrupt file and a torn line: named on stderr and in monitor.json,
    // the rest read.
    let torn = dir.join("torn-log");
    std::fs::create_dir_all(&torn).unwrap();
    for f in ["inference-00000000.ndjson", "inference-00000001.ndjson"] {
        std::fs::copy(st.stationary_log.join(f), torn.join(f)).unwrap();
    }
    let last = torn.join("inference-00000001.ndjson");
    let mut text = std::fs::read_to_string(&last).unwrap();
    text.push_str("{\"ts_ms\":17964");
    std::fs::write(&last, text).unwrap();
    let junk = torn.join("inference-00000002.ndjson");
    std::fs::write(&junk, "PK\u{3}\u{4} not a log\n").unwrap();
    let o = monitor(&["--log", s(&torn), "--window", "10m", "--out", out_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with(&format!(
            "anneal: warning: skipped {}:1202: not a log record: ",
            s(&last)
        )),
        "{err}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "anneal: warning: skipped {}: the first line is not a header: ",
            s(&junk)
        )),
        "{err}"
    );
    let doc = MonitorDoc::read(&out.join("monitor.json")).unwrap();
    assert_eq!(doc.rows, ROWS as u64);
    assert_eq!(doc.skipped.len(), 2);
    assert_eq!(doc.skipped[0].line, Some(1202));
}
