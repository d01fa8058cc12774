//! Versions written into every report and artifact. The dependency versions
//! are pinned with `=` in the workspace `Cargo.toml`, so these constants
//! cannot drift from what is compiled in.

pub const ANNEAL: &str = env!("CARGO_PKG_VERSION");
pub const BURN: &str = "0.22.1";
pub const POLARS: &str = "0.55.2";
