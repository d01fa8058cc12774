//! From a loaded config and its prepared data to what the training loop
//! takes: the data-size defaults, the network's shape, the loss, class
//! weights and the early-stopping monitor. `train`, `bench` and
//! `config --resolved` share these steps.

use anneal_config::{ClassWeights, Loaded, ModelKind};
use anneal_core::{Metric, MetricTask};
use anneal_data::layout::InputLayout;
use anneal_data::{Prepared, SplitData, TargetSpec, Targets};
use anneal_eval::score_split;
use anneal_model::network::{Average, Categorical, Ensemble, EnsembleVariant, Periodic};
use anneal_model::train::Monitor;
use anneal_model::{Architecture, Objective, TrainData};

use crate::error::Error;

/// Fills in the defaults that follow the training split's size, and
/// refuses a bin count the training split cannot fill.
pub fn fit_to_data(loaded: &mut Loaded, data: &Prepared) -> Result<(), Error> {
    let rows = data.train.len() as u64;
    let binned = data
        .preprocessor
        .features
        .iter()
        .any(|f| matches!(f, anneal_data::FeatureSpec::Numeric { bins: Some(_), .. }));
    let bins = loaded.config.model.bins;
    // The default bin count simply yields fewer bins on a small table; a
    // count the user wrote is taken at its word.
    if binned && loaded.is_written("model.bins") && bins as u64 > rows {
        return Err(loaded
            .error_at(
                "model.bins",
                format!("{bins} bins need at least as many training rows, but the training split has {rows}"),
            )
            .into());
    }
    anneal_config::defaults::fit_to_data(loaded, rows);
    Ok(())
}

/// The network shape and the loss for a config and its prepared data (a
/// loss that does not fit the task is a config error).
pub fn model_setup(loaded: &Loaded, data: &Prepared) -> Result<(Architecture, Objective), Error> {
    let cfg = &loaded.config;
    let pre = &data.preprocessor;
    let classes = match &pre.target {
        TargetSpec::Classes { labels, .. } => Some(labels.len()),
        TargetSpec::Regression { .. } => None,
    };
    check_loss(loaded, classes.is_some())?;
    let arch = Architecture {
        inputs: pre.n_inputs(),
        hidden: cfg.model.hidden_layers(),
        outputs: pre.n_outputs(),
        activation: cfg.model.activation,
        ensemble: ensemble(&cfg.model, classes.is_some()),
        periodic: periodic(cfg, pre),
        categorical: categorical(cfg, pre),
    };
    let objective = Objective::new(
        classes,
        cfg.train.loss,
        cfg.train.huber_delta,
        class_weights(data, cfg.train.class_weights),
    );
    Ok((arch, objective))
}

/// The periodic embeddings: the scaled value of every numeric (not 0/1)
/// column whose embedding is `periodic`.
fn periodic(cfg: &anneal_config::Config, pre: &anneal_data::Preprocessor) -> Option<Periodic> {
    let names = pre.input_names();
    let columns: Vec<usize> = pre
        .features
        .iter()
        .filter(|f| {
            let numeric = matches!(f, anneal_data::FeatureSpec::Numeric { .. })
                && f.source_type() != anneal_data::preprocess::ValueType::Boolean;
            let embedding = cfg
                .data
                .columns
                .get(f.column())
                .and_then(|o| o.embedding)
                .unwrap_or(cfg.model.numeric_embedding);
            numeric && embedding == anneal_config::NumericEmbedding::Periodic
        })
        .filter_map(|f| names.iter().position(|n| n == f.column()))
        .collect();
    let m = &cfg.model;
    (!columns.is_empty()).then_some(Periodic {
        columns,
        frequencies: m.frequencies,
        sigma: m.sigma,
        width: m.embedding_width,
    })
}

/// The learned embeddings of the categorical columns the preprocessing
/// marked `embedded` (see `model.categorical_embedding`).
fn categorical(
    cfg: &anneal_config::Config,
    pre: &anneal_data::Preprocessor,
) -> Option<Categorical> {
    let (columns, slots): (Vec<usize>, Vec<usize>) = pre.embedded().into_iter().unzip();
    (!columns.is_empty()).then_some(Categorical {
        columns,
        slots,
        width: cfg.model.embedding_width,
    })
}

/// A comment for `anneal config --resolved`: how each categorical column
/// enters the network (the choice follows its slot count, known only once
/// the data is read). Empty without categorical columns.
pub fn encoding_note(loaded: &Loaded, pre: &anneal_data::Preprocessor) -> String {
    let (mut learned, mut one_hot) = (Vec::new(), Vec::new());
    for f in &pre.features {
        if let anneal_data::FeatureSpec::Categorical { embedded, .. } = f {
            let entry = format!("{} ({} slots)", f.column(), f.slots());
            if *embedded {
                &mut learned
            } else {
                &mut one_hot
            }
            .push(entry);
        }
    }
    let m = &loaded.config.model;
    let mut note = String::new();
    if !learned.is_empty() {
        note += &format!(
            "# categorical columns with learned embeddings (width {}, at least {} slots): {}\n",
            m.embedding_width,
            m.embedding_min_slots(),
            learned.join(", ")
        );
    }
    if !one_hot.is_empty() {
        note += &format!("# categorical columns one-hot: {}\n", one_hot.join(", "));
    }
    note
}

/// The ensemble of the `tabm` kinds.
fn ensemble(m: &anneal_config::ModelConfig, classification: bool) -> Option<Ensemble> {
    let variant = match m.kind {
        ModelKind::Tabm => EnsembleVariant::Full,
        ModelKind::TabmMini => EnsembleVariant::Mini,
        ModelKind::Linear | ModelKind::Mlp => return None,
    };
    Some(Ensemble {
        k: m.k,
        variant,
        average: if classification {
            Average::Probabilities
        } else {
            Average::Values
        },
    })
}

/// A split as the training loop reads it.
pub fn train_data<'a>(s: &'a SplitData, layout: &'a InputLayout) -> TrainData<'a> {
    match &s.y {
        Targets::Classes(c) => TrainData {
            x: &s.x,
            layout,
            n: s.len(),
            classes: Some(c),
            values: None,
        },
        Targets::Values { scaled, .. } => TrainData {
            x: &s.x,
            layout,
            n: s.len(),
            classes: None,
            values: Some(scaled),
        },
    }
}

/// A loss that does not fit the task inferred from the data is a config
/// error, pointed at its line.
fn check_loss(loaded: &Loaded, classification: bool) -> Result<(), Error> {
    use anneal_config::Loss;
    let loss = loaded.config.train.loss;
    let bad = match loss {
        Loss::CrossEntropy => !classification,
        Loss::Mse | Loss::Huber => classification,
        Loss::Auto => false,
    };
    if bad {
        let task = if classification {
            "classification"
        } else {
            "regression"
        };
        return Err(loaded
            .error_at(
                "train.loss",
                format!(
                    "{loss:?} does not fit the {task} task inferred from the data; use \"auto\""
                ),
            )
            .into());
    }
    Ok(())
}

/// scikit-learn's "balanced" weights: n / (k * n_c), from the training split.
fn class_weights(data: &Prepared, mode: ClassWeights) -> Vec<f32> {
    let Targets::Classes(y) = &data.train.y else {
        return Vec::new();
    };
    let k = data.preprocessor.n_outputs();
    match mode {
        ClassWeights::None => vec![1.0; k],
        ClassWeights::Balanced => balanced(y, k),
    }
}

/// n / (k * n_c) per class; 0 for a class the training split lacks.
fn balanced(y: &[u32], k: usize) -> Vec<f32> {
    let mut counts = vec![0usize; k];
    for &c in y {
        counts[c as usize] += 1;
    }
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                (y.len() as f64 / (k as f64 * c as f64)) as f32
            }
        })
        .collect()
}

/// The early-stopping monitor, when it watches a metric rather than the
/// validation loss.
pub fn monitor<'a>(loaded: &Loaded, data: &'a Prepared) -> Result<Option<Monitor<'a>>, Error> {
    let Some(es) = loaded.config.train.early_stopping() else {
        return Ok(None);
    };
    if es.metric == "loss" {
        return Ok(None);
    }
    let task = MetricTask::of(data.preprocessor.task.is_classification());
    let Some(metric) = Metric::parse(&es.metric).filter(|m| m.applies_to(task)) else {
        return Err(loaded
            .error_at(
                "train.early_stopping.metric",
                format!(
                    "{:?} is not a {} metric",
                    es.metric,
                    data.preprocessor.task.name()
                ),
            )
            .into());
    };
    let name = metric.name().to_string();
    let key = name.clone();
    let higher = metric.higher_is_better();
    let target = data.preprocessor.target.clone();
    let valid = &data.valid;
    Ok(Some(Monitor {
        name,
        higher_is_better: higher,
        compute: Box::new(move |outputs: &[f32]| {
            score_split(outputs, valid, &target)
                .get(&key)
                .copied()
                .unwrap_or(f64::NAN)
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_weights_are_n_over_k_times_the_class_count() {
        let y = [0u32, 0, 0, 1];
        assert_eq!(balanced(&y, 3), vec![4.0 / 9.0, 4.0 / 3.0, 0.0]);
    }
}
