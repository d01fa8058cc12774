//! Which trial this process runs: `--trial I`, or the index a scheduler
//! puts in the environment of each task of an array job.

use crate::error::{Result, SweepError};

/// The environment variables schedulers set to a task's index.
pub const SCHEDULER_VARIABLES: [(&str, &str); 3] = [
    ("JOB_COMPLETION_INDEX", "Kubernetes Indexed Job"),
    ("SLURM_ARRAY_TASK_ID", "Slurm array"),
    ("VC_TASK_INDEX", "Volcano"),
];

/// Where a trial index came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexSource {
    Flag,
    /// The variable's name.
    Env(&'static str),
}

impl std::fmt::Display for IndexSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexSource::Flag => write!(f, "--trial"),
            IndexSource::Env(name) => write!(f, "${name}"),
        }
    }
}

/// The trial index from `--trial` and the scheduler variables (read with
/// `env`), or `None` when none is set. Every source that is set must agree:
/// a pod that inherited a Slurm index and was given another `--trial` is a
/// mistake to stop at, not to guess through.
pub fn trial_index(
    flag: Option<usize>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(usize, IndexSource)>> {
    let mut found: Vec<(usize, IndexSource)> =
        flag.map(|i| (i, IndexSource::Flag)).into_iter().collect();
    for (name, scheduler) in SCHEDULER_VARIABLES {
        let Some(raw) = env(name) else { continue };
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let i = raw.parse::<usize>().map_err(|_| {
            SweepError::Index(format!(
                "${name} ({scheduler} task index) is {raw:?}, not a trial number"
            ))
        })?;
        found.push((i, IndexSource::Env(name)));
    }
    if let Some((first, rest)) = found.split_first()
        && let Some(other) = rest.iter().find(|o| o.0 != first.0)
    {
        return Err(SweepError::Index(format!(
            "two trial indices disagree: {} says {} but {} says {}; set only one",
            first.1, first.0, other.1, other.0
        )));
    }
    Ok(found.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn sources_agree_or_fail() {
        assert_eq!(trial_index(None, env(&[])).unwrap(), None);
        assert_eq!(
            trial_index(None, env(&[("SLURM_ARRAY_TASK_ID", "3")])).unwrap(),
            Some((3, IndexSource::Env("SLURM_ARRAY_TASK_ID")))
        );
        assert_eq!(
            trial_index(Some(2), env(&[("JOB_COMPLETION_INDEX", "2")])).unwrap(),
            Some((2, IndexSource::Flag))
        );
        assert_eq!(
            trial_index(
                None,
                env(&[("JOB_COMPLETION_INDEX", "1"), ("VC_TASK_INDEX", "4")])
            )
            .unwrap_err()
            .to_string(),
            "two trial indices disagree: $JOB_COMPLETION_INDEX says 1 but $VC_TASK_INDEX says 4; set only one"
        );
        assert_eq!(
            trial_index(None, env(&[("SLURM_ARRAY_TASK_ID", "x1")]))
                .unwrap_err()
                .to_string(),
            "$SLURM_ARRAY_TASK_ID (Slurm array task index) is \"x1\", not a trial number"
        );
    }
}
