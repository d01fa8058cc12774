//! The artifact: a folder that holds everything `predict` needs and nothing
//! executable. Weights are safetensors, everything else canonical JSON; the
//! manifest lists every file's SHA-256 and the artifact `id` is the SHA-256 of
//! the manifest without its `id`, so any change to any file changes the id and
//! any tampering is caught at load.

pub mod error;
pub mod examples;
pub mod export;
pub mod inspect;
mod integrity;
pub mod load;
pub mod manifest;
pub mod mlmodel;
pub mod onnx;
pub mod pack;
pub mod predict;
pub mod verify;
mod weights;

pub use error::{ArtifactError, Result};
pub use export::{ExportInput, export};
pub use load::Artifact;
pub use manifest::{FORMAT_VERSION, Manifest};
pub use pack::resolve;
