//! The data stage is partition-invariant, and the streaming stage is the
//! in-memory one fed in batches. Titanic (with an `id` column) is written
//! as one Parquet file and as two Hive-partitioned Parquet directories cut
//! differently, with the rows shuffled differently, then trained through
//! the real binary with `[data.split] key = "id"`, in memory and streaming.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// titanic.csv with `id` = P1, P2, ... in file order.
fn titanic() -> DataFrame {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(root().join("datasets/titanic.csv")))
        .unwrap()
        .finish()
        .unwrap();
    let ids: Vec<String> = (1..=df.height()).map(|i| format!("P{i}")).collect();
    let mut df = df;
    df.insert_column(0, Column::new("id".into(), ids)).unwrap();
    df
}

/// `df`'s rows in a seeded shuffled order.
fn shuffled(df: &DataFrame, seed: u64) -> DataFrame {
    let mut idx: Vec<IdxSize> = (0..df.height() as IdxSize).collect();
    let mut state = seed;
    for i in (1..idx.len()).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        idx.swap(i, (state >> 33) as usize % (i + 1));
    }
    df.take(&IdxCa::from_vec("idx".into(), idx)).unwrap()
}

fn write_parquet(df: &mut DataFrame, path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    ParquetWriter::new(File::create(path).unwrap())
        .finish(df)
        .unwrap();
}

/// Writes `df` under `dir` as Hive partitions on `keys`, each partition cut
/// into `files` files.
fn write_hive(df: &DataFrame, dir: &Path, keys: &[&str], files: usize) {
    let text: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            let c = df.column(k).unwrap().cast(&DataType::String).unwrap();
            c.str()
                .unwrap()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect()
        })
        .collect();
    let mut groups: BTreeMap<Vec<String>, Vec<IdxSize>> = BTreeMap::new();
    for i in 0..df.height() {
        let key = text.iter().map(|c| c[i].clone()).collect();
        groups.entry(key).or_default().push(i as IdxSize);
    }
    for (values, idx) in groups {
        let part = df.take(&IdxCa::from_vec("idx".into(), idx)).unwrap();
        let mut sub = dir.to_path_buf();
        for (k, v) in keys.iter().zip(&values) {
            sub = sub.join(format!("{k}={v}"));
        }
        let data = part.drop_many(keys.iter().copied());
        let n = data.height();
        let per = n.div_ceil(files);
        for f in 0..files {
            let start = f * per;
            if start >= n {
                break;
            }
            let mut chunk = data.slice(start as i64, per.min(n - start));
            write_parquet(&mut chunk, &sub.join(format!("part-{f}.parquet")));
        }
    }
}

/// The `id` of each data row as anneal numbers them (scan order).
fn ids_in_scan_order(path: &Path) -> Vec<String> {
    let lf = if path.is_dir() {
        LazyFrame::scan_parquet(
            PlRefPath::try_from_path(path).unwrap(),
            ScanArgsParquet {
                hive_options: HiveOptions {
                    try_parse_dates: false,
                    ..HiveOptions::new_enabled()
                },
                ..Default::default()
            },
        )
        .unwrap()
    } else {
        LazyFrame::scan_parquet(PlRefPath::try_from_path(path).unwrap(), Default::default())
            .unwrap()
    };
    let df = lf.select([col("id")]).collect().unwrap();
    df.column("id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap().to_string())
        .collect()
}

fn config(dir: &Path, name: &str, data: &Path, streaming: bool) -> PathBuf {
    let text = std::fs::read_to_string(root().join("configs/titanic.toml")).unwrap();
    let text = text
        .replace(
            "path = \"../datasets/titanic.csv\"",
            &format!(
                "path = {:?}{}",
                s(data),
                if streaming { "\nstreaming = true" } else { "" }
            ),
        )
        .replace(
            "target = \"survived\"",
            "target = \"survived\"\nid = [\"id\"]",
        )
        .replace("epochs = 60", "epochs = 3");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("{text}\n[data.split]\nkey = \"id\"\n")).unwrap();
    path
}

struct Run {
    dir: PathBuf,
    report: serde_json::Value,
}

impl Run {
    fn new(dir: &Path, name: &str, data: &Path, streaming: bool) -> Run {
        let cfg = config(dir, name, data, streaming);
        let out = dir.join(format!("run-{name}"));
        let o = anneal(&["train", "--config", s(&cfg), "--out", s(&out), "--quiet"]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        Run {
            report: read_json(&out.join("report.json")),
            dir: out,
        }
    }

    fn logical(&self) -> String {
        self.report["data"]["source"]["logical_sha256"]
            .as_str()
            .unwrap_or_else(|| panic!("no logical hash in {}", self.dir.display()))
            .to_string()
    }

    /// id -> split of every held-out row (train rows are the others).
    fn splits(&self, ids: &[String]) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(self.dir.join("predictions.csv")).unwrap();
        text.lines()
            .skip(1)
            .map(|line| {
                let mut f = line.split(',');
                let row: usize = f.next().unwrap().parse().unwrap();
                (ids[row - 1].clone(), f.next().unwrap().to_string())
            })
            .collect()
    }

    /// The fitted preprocessing per input column, and the training-data
    /// profile per column, keyed by column name.
    fn statistics(
        &self,
    ) -> (
        BTreeMap<String, serde_json::Value>,
        BTreeMap<String, serde_json::Value>,
    ) {
        let pre = read_json(&self.dir.join("artifact/preprocess.json"));
        let features = pre["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["column"].as_str().unwrap().to_string(), f.clone()))
            .collect();
        let profile = read_json(&self.dir.join("artifact/profile.json"));
        let columns = profile["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_string(), c.clone()))
            .collect();
        (features, columns)
    }

    fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap()
    }
}

#[test]
fn shards_in_any_order_give_the_same_split_statistics_and_hash() {
    let dir = scratch("partition");
    let df = titanic();
    let single = dir.join("titanic.parquet");
    write_parquet(&mut df.clone(), &single);
    let by_class = dir.join("by-class");
    write_hive(&shuffled(&df, 7), &by_class, &["pclass"], 3);
    let by_class_sex = dir.join("by-class-sex");
    write_hive(&shuffled(&df, 99), &by_class_sex, &["sex", "pclass"], 2);

    let base = Run::new(&dir, "single", &single, false);
    let base_ids = ids_in_scan_order(&single);
    let base_split = base.splits(&base_ids);
    let base_stats = base.statistics();
    let held_out = base_split.len();
    assert!((300..500).contains(&held_out), "{held_out} rows held out");

    for (name, data, streaming) in [
        ("class", &by_class, false),
        ("class-sex", &by_class_sex, false),
        ("class-sex-streaming", &by_class_sex, true),
        ("single-streaming", &single, true),
    ] {
        let run = Run::new(&dir, name, data, streaming);
        let ids = ids_in_scan_order(data);
        assert!(
            !data.is_dir() || ids != base_ids,
            "{name}: the shards hold the rows in another order"
        );
        assert_eq!(run.logical(), base.logical(), "{name}: logical hash");
        assert_eq!(run.splits(&ids), base_split, "{name}: split");
        assert_eq!(run.statistics(), base_stats, "{name}: statistics");
        assert_eq!(
            run.report["data"]["rows"], base.report["data"]["rows"],
            "{name}: row counts"
        );
        assert_eq!(
            run.report["data"]["class_counts"], base.report["data"]["class_counts"],
            "{name}: class counts"
        );
    }
    // The raw hash is of the bytes, so it tells the layouts apart.
    let class = Run {
        dir: dir.join("run-class"),
        report: read_json(&dir.join("run-class/report.json")),
    };
    assert_ne!(
        class.report["data"]["source"]["sha256"],
        base.report["data"]["source"]["sha256"]
    );
    eprintln!(
        "partition invariance: 1 file, 3x3 and 6x2 Hive shards, streaming or not: logical {} and {} held-out rows in every run",
        &base.logical()[..16],
        held_out
    );
}

#[test]
fn streaming_trains_the_same_model_as_in_memory() {
    let dir = scratch("streaming");
    // The shipped CSV with an id column, in file order.
    let text = std::fs::read_to_string(root().join("datasets/titanic.csv")).unwrap();
    let mut lines = text.lines();
    let mut csv = format!("id,{}\n", lines.next().unwrap());
    for (i, line) in lines.enumerate() {
        csv.push_str(&format!("P{},{line}\n", i + 1));
    }
    let data = dir.join("titanic-ids.csv");
    std::fs::write(&data, csv).unwrap();
    let memory = Run::new(&dir, "memory", &data, false);
    let streaming = Run::new(&dir, "streaming", &data, true);
    for file in [
        "artifact/model.safetensors",
        "artifact/preprocess.json",
        "artifact/profile.json",
        "metrics.json",
        "predictions.csv",
    ] {
        assert!(
            memory.file(file) == streaming.file(file),
            "{file} differs between the in-memory and the streaming data stage"
        );
    }
    assert_eq!(streaming.logical(), memory.logical());
    // The scratch files are gone.
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("spill"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // What streaming cannot do is refused by name.
    let cfg = config(&dir, "stratified", &data, true);
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("key = \"id\"", "stratify = true")).unwrap();
    let o = anneal(&["train", "--config", s(&cfg), "--out", s(&dir.join("r1"))]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.trim_end().ends_with("data.split.stratify: a stratified split needs every row's class at once; with data.streaming = true rows are split by a hash of data.split.key (or of the row number)"),
        "{err}"
    );
    // A directory that is not Parquet.
    let csv_dir = dir.join("csv-dir");
    std::fs::create_dir_all(&csv_dir).unwrap();
    std::fs::copy(&data, csv_dir.join("a.csv")).unwrap();
    let cfg = config(&dir, "csv-dir", &csv_dir, true);
    let o = anneal(&["train", "--config", s(&cfg), "--out", s(&dir.join("r2"))]);
    assert_error(
        &o,
        3,
        &format!(
            "error: {}: a.csv is not a .parquet file; a directory is read as Hive-partitioned Parquet (point data.path at a single CSV or NDJSON file instead)",
            csv_dir.display()
        ),
    );
}
