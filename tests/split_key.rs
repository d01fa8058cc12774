//! `[data.split] key = "column"`: a row's split comes from a hash of its
//! key, so it survives the data growing and being reordered. Trained
//! through the real binary on titanic with an id column added.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// titanic.csv with an `id` column (P1, P2, ... in file order), its rows
/// taken in `order` (indices into the original data rows).
fn write_data(path: &Path, order: &[usize]) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("datasets/titanic.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let mut out = format!("id,{header}\n");
    let mut ids = Vec::new();
    for &i in order {
        let id = format!("P{}", i + 1);
        out.push_str(&format!("{id},{}\n", rows[i]));
        ids.push(id);
    }
    std::fs::write(path, out).unwrap();
    ids
}

fn config(dir: &Path, data: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("configs/titanic.toml")).unwrap();
    let text = text
        .replace("\"../datasets/titanic.csv\"", &format!("{:?}", s(data)))
        .replace(
            "target = \"survived\"",
            "target = \"survived\"\nid = [\"id\"]",
        )
        .replace("epochs = 60", "epochs = 3");
    let path = dir.join(format!(
        "{}.toml",
        data.file_stem().unwrap().to_str().unwrap()
    ));
    std::fs::write(&path, format!("{text}\n[data.split]\n{extra}\n")).unwrap();
    path
}

/// id → split for the valid and test rows of a run (train rows are the
/// ones not listed).
fn splits(run: &Path, ids: &[String]) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        let mut f = line.split(',');
        let row: usize = f.next().unwrap().parse().unwrap();
        let split = f.next().unwrap().to_string();
        out.insert(ids[row - 1].clone(), split);
    }
    out
}

#[test]
fn rows_keep_their_split_as_the_data_grows_and_is_reordered() {
    let dir = scratch("split-key");
    // The first 900 passengers, then all 1309 in reverse order.
    let small = dir.join("small.csv");
    let small_ids = write_data(&small, &(0..900).collect::<Vec<_>>());
    let full = dir.join("full.csv");
    let full_ids = write_data(&full, &(0..1309).rev().collect::<Vec<_>>());
    let mut runs = Vec::new();
    for (data, ids) in [(&small, &small_ids), (&full, &full_ids)] {
        let cfg = config(&dir, data, "key = \"id\"");
        let out = dir.join(format!(
            "run-{}",
            data.file_stem().unwrap().to_str().unwrap()
        ));
        let o = anneal(&["train", "--config", s(&cfg), "--out", s(&out), "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        runs.push(splits(&out, ids));
    }
    let (a, b) = (&runs[0], &runs[1]);
    // Every passenger of the small file has the same split in the full one
    // (train rows are absent from both).
    for id in &small_ids {
        assert_eq!(a.get(id), b.get(id), "passenger {id}");
    }
    let held_out = b.len() as f64 / 1309.0;
    assert!((0.25..0.35).contains(&held_out), "{held_out}");
    eprintln!(
        "key split: {} of 900 and {} of 1309 rows held out; every shared id kept its split",
        a.len(),
        b.len()
    );

    // The ordinary seeded shuffle does not have this property.
    let mut moved = 0;
    let mut shuffled = Vec::new();
    for (data, ids) in [(&small, &small_ids), (&full, &full_ids)] {
        let cfg = config(&dir, data, "");
        let out = dir.join(format!(
            "shuffled-{}",
            data.file_stem().unwrap().to_str().unwrap()
        ));
        let o = anneal(&["train", "--config", s(&cfg), "--out", s(&out), "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        shuffled.push(splits(&out, ids));
    }
    for id in &small_ids {
        if shuffled[0].get(id) != shuffled[1].get(id) {
            moved += 1;
        }
    }
    assert!(moved > 100, "only {moved} rows moved with a row shuffle");
}

#[test]
fn split_key_mistakes() {
    let dir = scratch("split-key-bad");
    let data = dir.join("data.csv");
    write_data(&data, &(0..200).collect::<Vec<_>>());
    let cfg = config(&dir, &data, "key = \"passenger\"");
    let o = anneal(&["train", "--config", s(&cfg), "--out", s(&dir.join("r1"))]);
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: data.split.key names column \"passenger\", which is not in the file (columns: id, pclass, survived, sex, age, sibsp, parch)",
            data.display()
        ),
    );
    let cfg = config(&dir, &data, "key = \"survived\"");
    let o = anneal(&["train", "--config", s(&cfg), "--out", s(&dir.join("r2"))]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.trim_end().ends_with(
            "data.split.key: is the target column \"survived\"; name an identifier column"
        ),
        "{err}"
    );
    // A row without a key is named.
    let text = std::fs::read_to_string(&data).unwrap();
    let text = text.replacen("\nP5,", "\n,", 1);
    std::fs::write(&data, text).unwrap();
    let cfg = config(&dir, &data, "key = \"id\"");
    let o = anneal(&["train", "--config", s(&cfg), "--out", s(&dir.join("r3"))]);
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: row 5: the split key column \"id\" is empty; every row needs a key",
            data.display()
        ),
    );
}
