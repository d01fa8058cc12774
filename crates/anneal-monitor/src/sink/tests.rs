use serde_json::{Map, Value};

use super::*;
use crate::log::{file_name, read_dir};

fn record(request: &str, row: u32) -> Record {
    Record {
        ts_ms: 1_700_000_000_000 + u64::from(row),
        request_id: request.into(),
        row,
        inputs: Map::from_iter([("age".to_string(), Value::from(30 + row))]),
        prediction: Value::from("yes"),
        probabilities: None,
    }
}

fn options(dir: &Path, max_bytes: u64) -> SinkOptions {
    SinkOptions {
        dir: dir.to_path_buf(),
        artifact_id: "ab12".into(),
        sample: 1.0,
        max_bytes,
        max_age: None,
        max_queued_rows: 1000,
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("anneal-sink-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn records_rotate_and_read_back_in_order() {
    let dir = temp("rotate");
    // Each request's lines (~110 bytes a row) pass 200 bytes: one file
    // per request after the first.
    let sink = Sink::start(options(&dir, 200)).unwrap();
    for r in 0..3 {
        sink.send((0..2).map(|i| record(&format!("req-{r}"), i)).collect());
    }
    sink.close();
    let got = read_dir(&dir).unwrap();
    let ids: Vec<(&str, u32)> = got
        .records
        .iter()
        .map(|r| (r.request_id.as_str(), r.row))
        .collect();
    assert_eq!(
        ids,
        [
            ("req-0", 0),
            ("req-0", 1),
            ("req-1", 0),
            ("req-1", 1),
            ("req-2", 0),
            ("req-2", 1)
        ]
    );
    assert!(got.skipped.is_empty());
    assert_eq!(log_files(&dir).unwrap().len(), 3);
    let s = sink.stats();
    assert_eq!(s.rows_written.load(Ordering::Relaxed), 6);
    assert_eq!(s.files.load(Ordering::Relaxed), 3);
    // Sent after close: dropped and counted.
    sink.send(vec![record("late", 0)]);
    assert_eq!(s.rows_dropped.load(Ordering::Relaxed), 1);
    // A restart continues after the last file.
    let again = Sink::start(options(&dir, 200)).unwrap();
    again.close();
    assert!(dir.join(file_name(3)).exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn files_rotate_by_age() {
    let dir = temp("age");
    let sink = Sink::start(SinkOptions {
        max_age: Some(Duration::from_millis(50)),
        ..options(&dir, u64::MAX)
    })
    .unwrap();
    sink.send(vec![record("a", 0)]);
    sink.send(vec![record("b", 0)]);
    std::thread::sleep(Duration::from_millis(300));
    sink.send(vec![record("c", 0)]);
    sink.close();
    // a and b share the first file (unless the machine stalled for 50 ms
    // between them); c, 300 ms later, opens a new one.
    let files = log_files(&dir).unwrap();
    assert!((2..=3).contains(&files.len()), "{files:?}");
    let mut last = crate::log::LogContents::default();
    crate::log::read_file(files.last().unwrap(), &mut last).unwrap();
    let ids: Vec<&str> = last.records.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["c"]);
    assert_eq!(read_dir(&dir).unwrap().records.len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_vanished_folder_drops_rows_and_recovers() {
    let dir = temp("vanish");
    let sink = Sink::start(options(&dir, 1)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    // max_bytes 1: every request opens a new file, in a folder now gone.
    sink.send(vec![record("a", 0), record("a", 1)]);
    let s = sink.stats();
    let wait = |f: &dyn Fn() -> bool| {
        for _ in 0..200 {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("timed out");
    };
    wait(&|| s.rows_dropped.load(Ordering::Relaxed) == 2);
    assert!(!s.healthy());
    std::fs::create_dir_all(&dir).unwrap();
    sink.send(vec![record("b", 0)]);
    sink.close();
    assert!(s.healthy());
    assert_eq!(s.rows_written.load(Ordering::Relaxed), 1);
    assert_eq!(read_dir(&dir).unwrap().records[0].request_id, "b");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sampling_keeps_whole_requests_by_id() {
    let kept = (0..10_000)
        .filter(|i| keep(&format!("req-{i}"), 0.25))
        .count();
    assert_eq!(kept, 2482);
    assert!(keep("anything", 1.0));
    assert_eq!(keep("req-7", 0.25), keep("req-7", 0.25));
}
