//! Loading and verifying an artifact. Nothing in it is executed: JSON is
//! parsed into plain types and weights are raw floats.

use std::path::{Path, PathBuf};

use anneal_core::{fsio, hash};
use anneal_data::Preprocessor;
use anneal_model::{Architecture, Network};
use burn::tensor::Device;

use crate::error::{ArtifactError, Result};
use crate::export::ModelFile;
use crate::integrity;
use crate::manifest::Manifest;
use crate::weights;

/// A verified artifact, ready to predict.
pub struct Artifact {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub model: ModelFile,
    pub preprocessor: Preprocessor,
    /// How the preprocessing's stored rows expand into the network's
    /// inputs, built once at load.
    pub layout: anneal_data::layout::InputLayout,
    pub network: Network,
    pub device: Device,
    /// The training data's profile (`profile.json`; artifacts written
    /// before it existed have none).
    pub profile: Option<anneal_data::profile::DataProfile>,
    /// `config.toml` as verified at load (none when the manifest does not
    /// list one): [`Artifact::config`] parses these bytes and never reads
    /// the file again.
    config_toml: Option<Vec<u8>>,
}

impl Artifact {
    /// Reads the artifact at `dir`, checks every hash and the id, and builds
    /// the network on `device`.
    pub fn load(dir: &Path, device: Device) -> Result<Artifact> {
        let not = |reason: &str| ArtifactError::NotArtifact {
            path: dir.to_path_buf(),
            reason: reason.to_string(),
        };
        if !dir.exists() {
            return Err(not("no such folder"));
        }
        if !dir.is_dir() {
            return Err(not("not a folder"));
        }
        let manifest_path = dir.join("manifest.json");
        if !manifest_path.exists() {
            return Err(not("manifest.json is missing"));
        }
        let corrupt = |file: &str, reason: String| ArtifactError::Corrupt {
            path: dir.to_path_buf(),
            file: file.to_string(),
            reason,
        };
        let text = read_manifest(&manifest_path).map_err(|e| corrupt("manifest.json", e))?;
        let manifest = Manifest::parse(&text, dir)?;
        // Names first (as documented): a manifest that points outside the
        // folder is refused as such, whatever its id says.
        if let Some(name) = manifest.files.keys().find(|n| !integrity::is_plain_name(n)) {
            return Err(corrupt(
                "manifest.json",
                format!("lists {name:?}, a path outside the artifact folder"),
            ));
        }
        if let Some(id) = integrity::id_mismatch(&text, &manifest) {
            return Err(corrupt(
                "manifest.json",
                format!(
                    "the id {} does not match the content ({id}); the manifest was modified",
                    manifest.id
                ),
            ));
        }
        for name in integrity::REQUIRED_V1 {
            if !manifest.files.contains_key(name) {
                return Err(corrupt("manifest.json", format!("does not list {name}")));
            }
        }
        let mut contents = std::collections::BTreeMap::new();
        for (name, entry) in &manifest.files {
            let bytes = read_sized(&dir.join(name), entry.bytes).map_err(|e| corrupt(name, e))?;
            let got = hash::sha256_hex(&bytes);
            if !integrity::matches_entry(entry, &got, bytes.len() as u64) {
                return Err(corrupt(
                    name,
                    format!(
                        "content does not match the manifest (sha256 {got}, {} bytes; expected {}, {} bytes): the file was modified or truncated",
                        bytes.len(),
                        entry.sha256,
                        entry.bytes
                    ),
                ));
            }
            contents.insert(name.clone(), bytes);
        }
        let model: ModelFile = serde_json::from_slice(&contents["model.json"])
            .map_err(|e| corrupt("model.json", e.to_string()))?;
        let preprocessor: Preprocessor = serde_json::from_slice(&contents["preprocess.json"])
            .map_err(|e| corrupt("preprocess.json", e.to_string()))?;
        check_consistent(&model.architecture, &preprocessor)
            .map_err(|r| corrupt("model.json", r))?;
        let tensors = weights::decode(&contents["model.safetensors"])
            .map_err(|e| corrupt("model.safetensors", e))?;
        let network = Network::from_tensors(&model.architecture, &tensors, &device)
            .map_err(|e| corrupt("model.safetensors", e.to_string()))?;
        if manifest.format_version >= 2 {
            // Derived files and golden examples, new in format 2.
            // Named in this order (examples.json first) as it always was.
            for name in integrity::REQUIRED_V2.iter().rev().copied() {
                if !contents.contains_key(name) {
                    return Err(corrupt("manifest.json", format!("does not list {name}")));
                }
            }
            let layout = preprocessor.layout();
            let predictor = crate::predict::Predictor {
                pre: &preprocessor,
                layout: &layout,
                network: &network,
                arch: &model.architecture,
                device: &device,
            };
            crate::examples::check(dir, &predictor, &contents["examples.json"])?;
            let signature: crate::export::Signature =
                serde_json::from_slice(&contents["signature.json"])
                    .map_err(|e| corrupt("signature.json", e.to_string()))?;
            let expected = crate::mlmodel::render(&manifest, &signature);
            let differs =
                || "differs from the one the manifest and signature give; it was modified";
            match read_sized(&dir.join("MLmodel"), expected.len() as u64) {
                Ok(b) if b == expected.as_bytes() => {}
                Ok(_) => return Err(corrupt("MLmodel", differs().into())),
                Err(e) if e.starts_with("content does not match") => {
                    return Err(corrupt("MLmodel", differs().into()));
                }
                Err(e) => return Err(corrupt("MLmodel", e)),
            }
        }
        let profile = match contents.get("profile.json") {
            Some(bytes) => Some(
                serde_json::from_slice(bytes)
                    .map_err(|e| corrupt("profile.json", e.to_string()))?,
            ),
            None => None,
        };
        Ok(Artifact {
            dir: dir.to_path_buf(),
            config_toml: contents.remove("config.toml"),
            manifest,
            model,
            layout: preprocessor.layout(),
            preprocessor,
            network,
            device,
            profile,
        })
    }

    /// The training config stored in the artifact (its CSV options,
    /// `[eval]`, `[data.schema]`, `[gate]` and `[check_data]` sections
    /// apply wherever the artifact is used), parsed from the bytes
    /// [`Artifact::load`] verified: the file is not read again, so a change
    /// made since cannot slip in.
    pub fn config(&self) -> Result<anneal_config::Config> {
        let corrupt = |reason: String| ArtifactError::Corrupt {
            path: self.dir.clone(),
            file: "config.toml".into(),
            reason,
        };
        let bytes = self.config_toml.as_deref().ok_or_else(|| {
            corrupt("not listed in the manifest; this artifact has no config".into())
        })?;
        let text =
            std::str::from_utf8(bytes).map_err(|e| corrupt(format!("is not UTF-8 text: {e}")))?;
        Ok(anneal_config::parse(text, &self.dir.join("config.toml"))
            .map_err(|e| corrupt(e.to_string()))?
            .config)
    }

    /// Whether the artifact holds a training config.
    pub fn has_config(&self) -> bool {
        self.config_toml.is_some()
    }
}

/// Reads `manifest.json`: a regular file (links followed) of a sane size,
/// checked on the opened handle before a byte is read. The error is the
/// reason, for the caller to name the file.
pub(crate) fn read_manifest(path: &Path) -> std::result::Result<String, String> {
    let (mut file, len) = fsio::open_regular(path, true).map_err(|e| e.to_string())?;
    if len > integrity::MAX_MANIFEST_BYTES {
        return Err(format!("is {len} bytes, too large for a manifest"));
    }
    let bytes = fsio::read_limited(&mut file, len).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 != len {
        return Err("changed size while it was read".into());
    }
    String::from_utf8(bytes).map_err(|e| format!("is not UTF-8 text: {e}"))
}

/// Reads a file the manifest lists with `bytes` bytes. It must be a regular
/// file of exactly that size, checked on the opened handle before a byte is
/// read, so a named pipe cannot hang the load and a link to `/dev/zero`
/// cannot exhaust memory. The error is the reason, for the caller to name
/// the file.
fn read_sized(path: &Path, bytes: u64) -> std::result::Result<Vec<u8>, String> {
    let (mut file, len) = fsio::open_regular(path, true).map_err(|e| e.to_string())?;
    let mismatch = |got: u64| {
        format!(
            "content does not match the manifest ({got} bytes; expected {bytes} bytes): the file was modified or truncated"
        )
    };
    if len != bytes {
        return Err(mismatch(len));
    }
    let data = fsio::read_limited(&mut file, bytes).map_err(|e| format!("cannot read: {e}"))?;
    if data.len() as u64 != bytes {
        return Err(mismatch(data.len() as u64));
    }
    Ok(data)
}

fn check_consistent(arch: &Architecture, p: &Preprocessor) -> Result<(), String> {
    if arch.inputs != p.n_inputs() || arch.outputs != p.n_outputs() {
        return Err(format!(
            "the network takes {} inputs and gives {} outputs, but the preprocessing makes {} and expects {}",
            arch.inputs,
            arch.outputs,
            p.n_inputs(),
            p.n_outputs()
        ));
    }
    // The embedding table has a row per slot that the preprocessing can
    // produce: a slot beyond it would index past the table.
    let embedded: Vec<(usize, usize)> = arch
        .categorical
        .as_ref()
        .map(|c| {
            c.columns
                .iter()
                .copied()
                .zip(c.slots.iter().copied())
                .collect()
        })
        .unwrap_or_default();
    if embedded != p.embedded() {
        return Err(format!(
            "the network embeds the categorical inputs (position, slots) {embedded:?}, but the preprocessing embeds {:?}",
            p.embedded()
        ));
    }
    Ok(())
}
