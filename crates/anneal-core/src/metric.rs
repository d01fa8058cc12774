//! The metrics anneal reports, in one table: each name with the task it
//! scores and its direction. Configs (early stopping, gate rules, the sweep
//! objective), gates, sweeps and the registry look names up here rather
//! than keeping their own lists.
//!
//! The early-stopping monitor may also name `"loss"` (the validation loss):
//! that is the objective being minimised, not a metric of the evaluation,
//! and is not in the table.

use std::fmt;

/// The task a metric scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricTask {
    /// Binary and multiclass classification.
    Classification,
    Regression,
}

impl MetricTask {
    /// `Classification` when `classification` is true, else `Regression`.
    #[must_use]
    pub const fn of(classification: bool) -> Self {
        if classification {
            MetricTask::Classification
        } else {
            MetricTask::Regression
        }
    }
}

/// One metric of the evaluation. Only the constants of this type exist:
/// get one by name with [`Metric::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Metric {
    name: &'static str,
    task: MetricTask,
    higher_is_better: bool,
}

const fn metric(name: &'static str, task: MetricTask, higher_is_better: bool) -> Metric {
    Metric {
        name,
        task,
        higher_is_better,
    }
}

use MetricTask::{Classification as C, Regression as R};

impl Metric {
    pub const ACCURACY: Metric = metric("accuracy", C, true);
    pub const BALANCED_ACCURACY: Metric = metric("balanced_accuracy", C, true);
    /// Mean squared error of the predicted probabilities.
    pub const BRIER: Metric = metric("brier", C, false);
    /// Expected calibration error.
    pub const ECE: Metric = metric("ece", C, false);
    pub const F1_MACRO: Metric = metric("f1_macro", C, true);
    pub const F1_WEIGHTED: Metric = metric("f1_weighted", C, true);
    pub const LOG_LOSS: Metric = metric("log_loss", C, false);
    pub const PR_AUC: Metric = metric("pr_auc", C, true);
    pub const PRECISION_MACRO: Metric = metric("precision_macro", C, true);
    pub const PRECISION_WEIGHTED: Metric = metric("precision_weighted", C, true);
    pub const RECALL_MACRO: Metric = metric("recall_macro", C, true);
    pub const RECALL_WEIGHTED: Metric = metric("recall_weighted", C, true);
    pub const ROC_AUC: Metric = metric("roc_auc", C, true);
    pub const MAE: Metric = metric("mae", R, false);
    pub const MAPE: Metric = metric("mape", R, false);
    pub const MEDIAN_ABSOLUTE_ERROR: Metric = metric("median_absolute_error", R, false);
    pub const MSE: Metric = metric("mse", R, false);
    pub const R2: Metric = metric("r2", R, true);
    pub const RMSE: Metric = metric("rmse", R, false);

    /// Every metric: the classification ones, then the regression ones,
    /// each group in name order (the order error messages list them in).
    pub const ALL: &'static [Metric] = &[
        Self::ACCURACY,
        Self::BALANCED_ACCURACY,
        Self::BRIER,
        Self::ECE,
        Self::F1_MACRO,
        Self::F1_WEIGHTED,
        Self::LOG_LOSS,
        Self::PR_AUC,
        Self::PRECISION_MACRO,
        Self::PRECISION_WEIGHTED,
        Self::RECALL_MACRO,
        Self::RECALL_WEIGHTED,
        Self::ROC_AUC,
        Self::MAE,
        Self::MAPE,
        Self::MEDIAN_ABSOLUTE_ERROR,
        Self::MSE,
        Self::R2,
        Self::RMSE,
    ];

    /// The names of [`Metric::ALL`], in its order.
    pub const NAMES: [&'static str; Metric::ALL.len()] = {
        let mut out = [""; Metric::ALL.len()];
        let mut i = 0;
        while i < out.len() {
            out[i] = Self::ALL[i].name;
            i += 1;
        }
        out
    };

    /// The metric called `name`; `None` for a name anneal does not know.
    #[must_use]
    pub fn parse(name: &str) -> Option<&'static Metric> {
        Self::ALL.iter().find(|m| m.name == name)
    }

    /// The metrics of `task`, in table order.
    pub fn for_task(task: MetricTask) -> impl Iterator<Item = &'static Metric> {
        Self::ALL.iter().filter(move |m| m.task == task)
    }

    /// The metric a summary leads with: accuracy for classification, R²
    /// for regression.
    #[must_use]
    pub const fn headline(task: MetricTask) -> &'static Metric {
        match task {
            MetricTask::Classification => &Self::ACCURACY,
            MetricTask::Regression => &Self::R2,
        }
    }

    /// Its name in configs, reports and `metrics.json`.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    #[must_use]
    pub const fn task(&self) -> MetricTask {
        self.task
    }

    /// Whether a larger value is better.
    #[must_use]
    pub const fn higher_is_better(&self) -> bool {
        self.higher_is_better
    }

    /// Whether it scores `task`.
    #[must_use]
    pub fn applies_to(&self, task: MetricTask) -> bool {
        self.task == task
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_finds_each_metric_and_nothing_else() {
        assert_eq!(Metric::parse("rmse"), Some(&Metric::RMSE));
        assert_eq!(Metric::parse("roc_auc").map(Metric::name), Some("roc_auc"));
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.name()), Some(m));
        }
        for unknown in ["", "loss", "RMSE", "auc", "rmse ", "f1"] {
            assert_eq!(Metric::parse(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn names_are_unique_and_in_table_order() {
        let mut seen = std::collections::BTreeSet::new();
        for (m, n) in Metric::ALL.iter().zip(Metric::NAMES) {
            assert_eq!(m.name(), n);
            assert!(seen.insert(n), "{n} twice");
        }
        assert_eq!(Metric::NAMES.len(), 19);
        assert_eq!(
            Metric::NAMES.join(", "),
            "accuracy, balanced_accuracy, brier, ece, f1_macro, f1_weighted, log_loss, \
             pr_auc, precision_macro, precision_weighted, recall_macro, recall_weighted, \
             roc_auc, mae, mape, median_absolute_error, mse, r2, rmse"
        );
    }

    #[test]
    fn directions() {
        let higher: Vec<&str> = Metric::ALL
            .iter()
            .filter(|m| m.higher_is_better())
            .map(Metric::name)
            .collect();
        assert_eq!(
            higher,
            [
                "accuracy",
                "balanced_accuracy",
                "f1_macro",
                "f1_weighted",
                "pr_auc",
                "precision_macro",
                "precision_weighted",
                "recall_macro",
                "recall_weighted",
                "roc_auc",
                "r2"
            ]
        );
        assert!(!Metric::LOG_LOSS.higher_is_better());
        assert!(!Metric::RMSE.higher_is_better());
    }

    #[test]
    fn tasks() {
        let regression: Vec<&str> = Metric::for_task(MetricTask::Regression)
            .map(Metric::name)
            .collect();
        assert_eq!(
            regression,
            ["mae", "mape", "median_absolute_error", "mse", "r2", "rmse"]
        );
        assert_eq!(Metric::for_task(MetricTask::Classification).count(), 13);
        assert!(Metric::ECE.applies_to(MetricTask::Classification));
        assert!(!Metric::ECE.applies_to(MetricTask::Regression));
        assert_eq!(MetricTask::of(true), MetricTask::Classification);
        assert_eq!(MetricTask::of(false), MetricTask::Regression);
        assert_eq!(Metric::headline(MetricTask::of(true)).name(), "accuracy");
        assert_eq!(Metric::headline(MetricTask::of(false)).name(), "r2");
        assert_eq!(
            Metric::MEDIAN_ABSOLUTE_ERROR.to_string(),
            "median_absolute_error"
        );
    }
}
