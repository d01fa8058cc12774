//! The artifact loader on damaged artifacts: a real (iris) artifact with
//! one of its files replaced by fuzzer bytes, and arbitrary bytes as a
//! packed archive. Every hash is checked before anything is parsed, so
//! most inputs stop there; the fuzzer also rewrites manifest.json, whose
//! hashes it then controls. Errors, never panics.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// The seed artifact shipped with the fuzz targets.
fn seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/iris-artifact")
}

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("anneal-fuzz-artifact-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        d
    })
}

const FILES: [&str; 8] = [
    "manifest.json",
    "model.safetensors",
    "model.json",
    "preprocess.json",
    "signature.json",
    "examples.json",
    "profile.json",
    "config.toml",
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let device = match anneal_model::device(anneal_config::Backend::Flex) {
        Ok(d) => d,
        Err(_) => return,
    };
    if which == 255 {
        // Arbitrary bytes as an archive.
        let archive = scratch().join("a.tar.gz");
        if std::fs::write(&archive, rest).is_ok()
            && let Ok(dir) = anneal_artifact::resolve(&archive)
        {
            let _ = anneal_artifact::Artifact::load(&dir, device);
        }
        return;
    }
    let dir = scratch().join("art");
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    for f in FILES {
        let _ = std::fs::copy(seed().join(f), dir.join(f));
    }
    let target = FILES[which as usize % FILES.len()];
    if std::fs::write(dir.join(target), rest).is_err() {
        return;
    }
    let _ = anneal_artifact::Artifact::load(&dir, device.clone());
    let _ = anneal_artifact::verify::verify(&dir);
});
