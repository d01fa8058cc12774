//! Data: reading CSV/Parquet/NDJSON with polars, inferring column roles and
//! the task, cleaning, a seeded (stratified) split, and the fitted
//! preprocessing that turns a table into the model's float matrix.
//!
//! The fitted [`Preprocessor`] is plain data (serde): `train` fits it on the
//! training split only and the artifact stores it, so `predict` applies the
//! very same transform through the very same code ([`Preprocessor::transform`]).
//!
//! Around it: the `[data.schema]` contract ([`schema`]), checked before
//! anything is fitted; the training-data profile ([`profile`]) stored in the
//! artifact; and the drift checks ([`drift`]) that compare new data with it.

pub mod batches;
mod bytescan;
mod chunked;
mod csvscan;
mod dictionary;
pub mod drift;
pub mod error;
mod extract;
pub mod fingerprint;
mod guard;
pub mod labelled;
pub mod layout;
pub mod matrix;
pub mod memory;
mod plain;
pub mod prepare;
pub mod preprocess;
pub mod profile;
pub mod read;
pub mod schema;
mod scratch;
mod sort;
pub mod source;
pub mod split;
mod stacked;
pub mod stats;
mod steps;
pub mod stream;

pub use drift::{Check, DriftInput};
pub use error::{DataError, Result};
pub use labelled::{Labelled, labelled};
pub use matrix::Matrix;
pub use prepare::{Prepared, SliceColumn, SplitData, Targets, prepare, prepare_with};
pub use preprocess::{FeatureSpec, Preprocessor, TargetSpec, Task};
pub use profile::{CategoryProfile, ColumnProfile, DataProfile, NumericProfile};
pub use read::{Table, read_table};
pub use schema::Violation;
