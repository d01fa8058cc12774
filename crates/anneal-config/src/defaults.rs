//! The defaults a config that says only `[data] path` and `target` gets,
//! and the rule that fits the epoch budget and the batch size to the size
//! of the training split. Each value was chosen by measurement on the
//! shipped datasets and the six tables of `datasets/bench` against
//! LightGBM's defaults on the same rows (README, "Defaults").

use crate::load::Loaded;

/// Hidden widths of the default `mlp`.
pub const DEFAULT_HIDDEN: [usize; 2] = [256, 256];
/// Hidden widths of the `tabm` kinds.
pub const DEFAULT_TABM_HIDDEN: [usize; 2] = [256, 256];
/// Ensemble members of the `tabm` kinds.
pub const DEFAULT_K: usize = 8;
/// Dropout after each hidden activation of the default `mlp`.
pub const DEFAULT_DROPOUT: f64 = 0.1;
/// Quantile bins of the piecewise-linear numeric encoding.
pub const DEFAULT_BINS: usize = 32;
/// The most members `model.k` accepts.
pub const MAX_K: usize = 256;
/// The most slots (categories) a categorical column may have: a stored
/// matrix holds a column's slot in one `f32` cell, exact below 2^24.
pub const MAX_SLOTS: usize = 1 << 20;
/// The most bins `model.bins` accepts.
pub const MAX_BINS: usize = 1024;
/// `periodic` embeddings: frequencies per column, their initial spread and
/// the embedding width (not a default model; see the README).
pub const DEFAULT_FREQUENCIES: usize = 16;
pub const DEFAULT_SIGMA: f64 = 0.1;
pub const DEFAULT_EMBEDDING_WIDTH: usize = 16;
/// Categorical columns of many categories get learned embeddings, the
/// others one-hot blocks (README, "Models and defaults"): on the same rows,
/// embedding the columns of at least 16 slots raised ames' R² from 0.9137
/// to 0.9229, loans' from 0.9963 to 0.9974 and flights' from 0.8917 to
/// 0.8924, while embedding every column cost titanic 4 test rows and
/// attrition one.
pub const DEFAULT_CATEGORICAL_EMBEDDING: crate::CategoricalEmbedding =
    crate::CategoricalEmbedding::Learned;
/// Columns of at least this many slots (categories, the missing and the
/// unknown slot) are embedded.
pub const DEFAULT_EMBEDDING_MIN_SLOTS: usize = 16;
/// AdamW's step size.
pub const DEFAULT_LEARNING_RATE: f64 = 1e-3;
/// AdamW's decoupled weight decay.
pub const DEFAULT_WEIGHT_DECAY: f64 = 1e-4;
/// The global gradient norm is clipped to this.
pub const DEFAULT_GRAD_CLIP: f64 = 1.0;
/// Epochs without a better validation loss before training stops.
pub const DEFAULT_PATIENCE: u32 = 16;

/// Training samples (rows x epochs) the default epoch budget allows: a
/// large table gets fewer epochs, so that the 230k training rows of
/// bench/flights train in minutes on 2 cores. Early stopping usually ends
/// a run well before.
const SAMPLE_BUDGET: u64 = 6_000_000;
const MIN_EPOCHS: u32 = 20;
const MAX_EPOCHS: u32 = 200;

/// The batch size for `train_rows` training rows: small tables take many
/// small steps, large ones fewer, larger steps.
pub fn batch_size_for(train_rows: u64) -> u32 {
    match train_rows {
        0..=2_000 => 32,
        2_001..=10_000 => 64,
        10_001..=50_000 => 128,
        50_001..=200_000 => 256,
        _ => 512,
    }
}

/// The epoch budget for `train_rows` training rows.
pub fn epochs_for(train_rows: u64) -> u32 {
    let epochs = SAMPLE_BUDGET / train_rows.max(1);
    (epochs.min(MAX_EPOCHS as u64) as u32).max(MIN_EPOCHS)
}

/// Fills in the keys that follow the data size, `train.epochs` and
/// `train.batch_size`, where the config file leaves them out. A config
/// built in memory (sweeps, tests) keeps the values it was given.
pub fn fit_to_data(loaded: &mut Loaded, train_rows: u64) {
    if !loaded.is_written("train.epochs") {
        loaded.config.train.epochs = epochs_for(train_rows);
    }
    if !loaded.is_written("train.batch_size") {
        loaded.config.train.batch_size = batch_size_for(train_rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_follows_the_training_rows() {
        assert_eq!(batch_size_for(100), 32);
        assert_eq!(batch_size_for(34_000), 128);
        assert_eq!(batch_size_for(230_000), 512);
        assert_eq!(epochs_for(100), 200);
        assert_eq!(epochs_for(34_000), 176);
        assert_eq!(epochs_for(230_000), 26);
        assert_eq!(epochs_for(10_000_000), 20);
    }

    #[test]
    fn written_keys_are_kept() {
        let src = "[data]\npath = \"d.csv\"\ntarget = \"y\"\n[train]\nbatch_size = 7\n";
        let mut l = crate::parse(src, std::path::Path::new("c.toml")).unwrap();
        fit_to_data(&mut l, 100_000);
        assert_eq!(l.config.train.batch_size, 7);
        assert_eq!(l.config.train.epochs, 60);
    }
}
