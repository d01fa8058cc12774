//! Ingestion with an inferred schema on arbitrary bytes, as CSV and as
//! NDJSON: read, fingerprint, profile and check the schema. Errors, never
//! panics.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use anneal_config::{CsvOptions, DataFormat, SchemaConfig};
use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("anneal-fuzz-ingest-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        d
    })
}

fuzz_target!(|data: &[u8]| {
    for (name, format) in [
        ("in.csv", DataFormat::Csv),
        ("in.ndjson", DataFormat::Ndjson),
    ] {
        let path = scratch().join(name);
        if std::fs::write(&path, data).is_err() {
            return;
        }
        let Ok(table) = anneal_data::read_table(&path, Some(format), &CsvOptions::default(), &[])
        else {
            continue;
        };
        let _ = anneal_data::profile::profile_frame(&table.df, &path, None, &[]);
        let _ = anneal_data::schema::violations(&table.df, &SchemaConfig::default(), &path);
    }
});
