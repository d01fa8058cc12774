//! Checkpoints on disk: a [`TrainState`] as a folder that appears complete
//! or not at all.
//!
//! Layout of `<root>/step-<steps>/`:
//!
//! - `state.json`: counters, RNG states, history and early-stopping state,
//!   with every float stored as its IEEE-754 bits (a decimal round trip
//!   could move the last bit, and a resumed run must be bit-identical), the
//!   identity of the run (config and data hashes), and the SHA-256 of each
//!   other file;
//! - `weights.bin`, `best.bin`: f32 little-endian values of the tensors
//!   listed in `state.json`;
//! - `order.bin`: the row order, u32 little-endian;
//! - `optimizer.bin`: the optimizer's state (moments and step counts) in
//!   the byte format of the `optim` module. Format 1 held burn's burnpack
//!   record instead (`optimizer.bpk`); it is refused with a message that
//!   says so.
//!
//! A checkpoint is written into a temporary sibling (each file fsync'd),
//! renamed into place, and the parent folder is synced; older checkpoints
//! beyond `keep` are removed afterwards. A crash at any point leaves the
//! previous checkpoint intact.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anneal_core::hash;
use anneal_core::staged::{Existing, StagedDir};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::network::NetworkTensor;
use crate::train::{EpochLog, TrainState};

/// Bumped when the layout changes; older checkpoints are then refused.
/// 2: the fused optimizer's state replaced burn's burnpack record.
pub const FORMAT: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    format: u32,
    /// What the checkpoint belongs to (config and data hashes): a resume
    /// with anything else is refused.
    identity: BTreeMap<String, String>,
    epoch: u32,
    batch: u64,
    steps: u64,
    samples: u64,
    since_best: u32,
    order_rng: [u64; 4],
    dropout_rng: [u64; 4],
    loss_sum: u64,
    history: Vec<LogBits>,
    best: Option<BestBits>,
    weights: Vec<TensorMeta>,
    files: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LogBits {
    epoch: u32,
    learning_rate: u64,
    train_loss: u64,
    valid_loss: Option<u64>,
    valid_metric: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct BestBits {
    value: u64,
    epoch: u32,
    tensors: Vec<TensorMeta>,
}

#[derive(Debug, Serialize, Deserialize)]
struct TensorMeta {
    name: String,
    shape: Vec<usize>,
}

/// A checkpoint found on disk.
#[derive(Debug)]
pub struct Found {
    pub dir: PathBuf,
    pub identity: BTreeMap<String, String>,
    pub state: TrainState,
}

fn err(dir: &Path, what: impl std::fmt::Display) -> ModelError {
    ModelError::Checkpoint(format!("{}: {what}", dir.display()))
}

fn floats(tensors: &[NetworkTensor]) -> (Vec<TensorMeta>, Vec<u8>) {
    let mut bytes = Vec::new();
    let meta = tensors
        .iter()
        .map(|t| {
            for v in &t.values {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            TensorMeta {
                name: t.name.clone(),
                shape: t.shape.clone(),
            }
        })
        .collect();
    (meta, bytes)
}

fn unfloats(dir: &Path, meta: &[TensorMeta], bytes: &[u8]) -> Result<Vec<NetworkTensor>> {
    let mut at = 0usize;
    let mut out = Vec::with_capacity(meta.len());
    for m in meta {
        let n: usize = m.shape.iter().product();
        let end = at + n * 4;
        let chunk = bytes
            .get(at..end)
            .ok_or_else(|| err(dir, format!("tensor {} is truncated", m.name)))?;
        out.push(NetworkTensor {
            name: m.name.clone(),
            shape: m.shape.clone(),
            values: chunk
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        });
        at = end;
    }
    if at != bytes.len() {
        return Err(err(dir, "tensor data is longer than its listing"));
    }
    Ok(out)
}

/// Writes `state` as `<root>/step-<steps>` and keeps the newest `keep`
/// checkpoints. Returns the checkpoint's folder.
pub fn save(
    root: &Path,
    identity: &BTreeMap<String, String>,
    state: &TrainState,
    keep: usize,
) -> Result<PathBuf> {
    let io = |what: String| ModelError::Checkpoint(what);
    std::fs::create_dir_all(root)
        .map_err(|e| io(format!("cannot create {}: {e}", root.display())))?;
    let dir = root.join(format!("step-{:012}", state.steps));
    let (weights_meta, weights) = floats(&state.weights);
    let (best, best_bytes) = match &state.best {
        Some((value, epoch, tensors)) => {
            let (meta, bytes) = floats(tensors);
            (
                Some(BestBits {
                    value: value.to_bits(),
                    epoch: *epoch,
                    tensors: meta,
                }),
                Some(bytes),
            )
        }
        None => (None, None),
    };
    let order: Vec<u8> = state.order.iter().flat_map(|i| i.to_le_bytes()).collect();
    let mut files: Vec<(&str, &[u8])> = vec![
        ("weights.bin", &weights),
        ("order.bin", &order),
        ("optimizer.bin", &state.optimizer),
    ];
    if let Some(b) = &best_bytes {
        files.push(("best.bin", b));
    }
    let file = StateFile {
        format: FORMAT,
        identity: identity.clone(),
        epoch: state.epoch,
        batch: state.batch,
        steps: state.steps,
        samples: state.samples,
        since_best: state.since_best,
        order_rng: state.order_rng,
        dropout_rng: state.dropout_rng,
        loss_sum: state.loss_sum.to_bits(),
        history: state
            .history
            .iter()
            .map(|h| LogBits {
                epoch: h.epoch,
                learning_rate: h.learning_rate.to_bits(),
                train_loss: h.train_loss.to_bits(),
                valid_loss: h.valid_loss.map(f64::to_bits),
                valid_metric: h.valid_metric.map(f64::to_bits),
            })
            .collect(),
        best,
        weights: weights_meta,
        files: files
            .iter()
            .map(|(n, b)| (n.to_string(), hash::sha256_hex(b)))
            .collect(),
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| io(e.to_string()))?;

    let tmp = StagedDir::new(&dir).map_err(|e| io(e.to_string()))?;
    for (name, bytes) in &files {
        tmp.write(name, bytes).map_err(|e| io(e.to_string()))?;
    }
    // state.json last: a folder without it is never a checkpoint.
    tmp.write("state.json", &json)
        .map_err(|e| io(e.to_string()))?;
    tmp.commit(Existing::Replace).map_err(|e| {
        io(format!(
            "cannot move the checkpoint into {}: {}",
            dir.display(),
            e.into_io()
        ))
    })?;
    prune(root, keep);
    Ok(dir)
}

/// The checkpoint folders under `root`, newest (most steps) first.
pub fn list(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_prefix("step-")?.parse::<u64>().ok()?;
            Some((n, e.path()))
        })
        .collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    dirs.into_iter().map(|(_, p)| p).collect()
}

fn prune(root: &Path, keep: usize) {
    for old in list(root).into_iter().skip(keep.max(1)) {
        let _ = std::fs::remove_dir_all(old);
    }
    // Temporary folders of checkpoints that never completed.
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains("step-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Reads one checkpoint folder, checking every file's hash.
pub fn load(dir: &Path) -> Result<Found> {
    let text = std::fs::read(dir.join("state.json"))
        .map_err(|e| err(dir, format!("cannot read state.json: {e}")))?;
    let file: StateFile = serde_json::from_slice(&text)
        .map_err(|e| err(dir, format!("state.json is damaged: {e}")))?;
    if file.format != FORMAT {
        return Err(ModelError::CheckpointFormat {
            dir: dir.to_path_buf(),
            found: file.format,
        });
    }
    let mut bytes = BTreeMap::new();
    for (name, sha) in &file.files {
        if !matches!(
            name.as_str(),
            "weights.bin" | "order.bin" | "optimizer.bin" | "best.bin"
        ) {
            return Err(err(
                dir,
                format!("state.json lists an unknown file {name:?}"),
            ));
        }
        let b = std::fs::read(dir.join(name))
            .map_err(|e| err(dir, format!("cannot read {name}: {e}")))?;
        if &hash::sha256_hex(&b) != sha {
            return Err(err(
                dir,
                format!("{name} does not match its hash: the checkpoint is damaged"),
            ));
        }
        bytes.insert(name.as_str(), b);
    }
    let get = |name: &str| -> Result<&Vec<u8>> {
        bytes
            .get(name)
            .ok_or_else(|| err(dir, format!("{name} is missing")))
    };
    let weights = unfloats(dir, &file.weights, get("weights.bin")?)?;
    let order_bytes = get("order.bin")?;
    if order_bytes.len() % 4 != 0 {
        return Err(err(dir, "order.bin is truncated"));
    }
    let order = order_bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let best = match &file.best {
        Some(b) => Some((
            f64::from_bits(b.value),
            b.epoch,
            unfloats(dir, &b.tensors, get("best.bin")?)?,
        )),
        None => None,
    };
    let state = TrainState {
        epoch: file.epoch,
        batch: file.batch,
        order,
        order_rng: file.order_rng,
        dropout_rng: file.dropout_rng,
        loss_sum: f64::from_bits(file.loss_sum),
        steps: file.steps,
        samples: file.samples,
        history: file
            .history
            .iter()
            .map(|h| EpochLog {
                epoch: h.epoch,
                learning_rate: f64::from_bits(h.learning_rate),
                train_loss: f64::from_bits(h.train_loss),
                valid_loss: h.valid_loss.map(f64::from_bits),
                valid_metric: h.valid_metric.map(f64::from_bits),
            })
            .collect(),
        best,
        since_best: file.since_best,
        weights,
        optimizer: get("optimizer.bin")?.clone(),
    };
    Ok(Found {
        dir: dir.to_path_buf(),
        identity: file.identity,
        state,
    })
}

/// The newest intact checkpoint under `root`: a damaged newest one (a
/// crash while the disk lied about fsync) falls back to the one before.
/// `Ok(None)` when there is none at all.
pub fn latest(root: &Path) -> Result<Option<Found>> {
    let mut first_error = None;
    for dir in list(root) {
        match load(&dir) {
            Ok(found) => return Ok(Some(found)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(steps: u64) -> TrainState {
        TrainState {
            epoch: 3,
            batch: 2,
            order: vec![2, 0, 1],
            order_rng: [1, 2, 3, u64::MAX],
            dropout_rng: [5, 6, 7, 8],
            loss_sum: 0.1 + 0.2,
            steps,
            samples: steps * 64,
            history: vec![EpochLog {
                epoch: 1,
                learning_rate: 1e-3,
                train_loss: std::f64::consts::PI,
                valid_loss: Some(f64::MIN_POSITIVE),
                valid_metric: None,
            }],
            best: Some((
                0.123_456_789_012_345_68,
                1,
                vec![NetworkTensor {
                    name: "layers.0.bias".into(),
                    shape: vec![2],
                    values: vec![f32::EPSILON, -0.0],
                }],
            )),
            since_best: 1,
            weights: vec![NetworkTensor {
                name: "layers.0.weight".into(),
                shape: vec![1, 2],
                values: vec![1.0 / 3.0, f32::MAX],
            }],
            optimizer: vec![9, 8, 7],
        }
    }

    #[test]
    fn round_trip_is_exact_and_old_ones_are_pruned() {
        let root = std::env::temp_dir().join(format!("anneal-ckpt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let id = BTreeMap::from([("config_sha256".to_string(), "abc".to_string())]);
        for steps in [10, 20, 30] {
            save(&root, &id, &state(steps), 2).unwrap();
        }
        assert_eq!(
            list(&root),
            vec![
                root.join("step-000000000030"),
                root.join("step-000000000020")
            ]
        );
        let found = latest(&root).unwrap().unwrap();
        assert_eq!(found.state, state(30));
        assert_eq!(found.identity, id);
        // -0.0 keeps its sign bit.
        assert!(found.state.best.unwrap().2[0].values[1].is_sign_negative());

        // A damaged newest checkpoint falls back to the previous one.
        std::fs::write(root.join("step-000000000030/weights.bin"), b"xx").unwrap();
        assert!(load(&root.join("step-000000000030")).is_err());
        assert_eq!(latest(&root).unwrap().unwrap().state.steps, 20);
        // With every one damaged, the error names the folder and file.
        std::fs::write(root.join("step-000000000020/order.bin"), b"x").unwrap();
        let e = latest(&root).unwrap_err().to_string();
        assert!(
            e.contains("step-000000000030: weights.bin does not match its hash"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A checkpoint of format 1 (burn's optimizer record) is refused with
    /// one line that says what to do, as a data error (exit 3).
    #[test]
    fn an_older_format_is_refused_in_one_line() {
        let root = std::env::temp_dir().join(format!("anneal-ckpt-v1-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = save(&root, &BTreeMap::new(), &state(4), 2).unwrap();
        let text = std::fs::read_to_string(dir.join("state.json")).unwrap();
        let old = text.replace(&format!("\"format\": {FORMAT}"), "\"format\": 1");
        assert_ne!(old, text);
        std::fs::write(dir.join("state.json"), old).unwrap();
        let e = latest(&root).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "checkpoint {}: format 1 was written by another anneal version (this one reads format 2); start the run again with --force",
                dir.display()
            )
        );
        assert_eq!(e.failure().exit_code(), 3);
        let _ = std::fs::remove_dir_all(&root);
    }
}
