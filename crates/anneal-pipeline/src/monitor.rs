//! `monitor`: a served model's inference log (and/or a file of new rows)
//! and the true labels that arrived later, judged per time window against
//! the artifact's training profile and test metrics; the documents
//! (`monitor.json`, `.md`, `.html`, `.junit.xml`) and a verdict with
//! `gate`'s outcomes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anneal_artifact::Artifact;
use anneal_config::MonitorPolicy;
use anneal_eval::EvalSettings;
use anneal_monitor::document::SkippedEntry;
use anneal_monitor::labels::Labels;
use anneal_monitor::log::Record;
use anneal_monitor::{Analysis, MonitorDoc, MonitorError, WindowSpec};

use crate::error::{Error, Result};
use crate::gate::check_reason;

/// What to monitor.
#[derive(Debug, Clone, Default)]
pub struct MonitorRequest {
    /// An artifact folder or archive, or a registry reference
    /// (`NAME@ALIAS`, `NAME:vN`, `NAME`).
    pub artifact: String,
    /// The registry references resolve in.
    pub registry: Option<PathBuf>,
    /// A folder of inference-log files (`anneal serve --log-dir`).
    pub log: Option<PathBuf>,
    /// A file of new rows, predicted here.
    pub data: Option<PathBuf>,
    /// The true labels (`request_id`, optional `row`, the target).
    pub labels: Option<PathBuf>,
    /// `1h`, `1d`, `500rows`, ... [default: 1h; 500rows with `data`,
    /// whose rows carry no time].
    pub window: Option<String>,
    /// A policy file with a [monitor] section [default: the artifact's
    /// config's, else the defaults].
    pub policy: Option<PathBuf>,
    /// Where the documents go.
    pub out: PathBuf,
    /// Override the bootstrap resamples of the artifact's [eval].
    pub bootstrap: Option<u32>,
    pub override_reason: Option<String>,
}

/// The document and the files it was written to.
pub struct Monitored {
    pub doc: MonitorDoc,
    pub files: Vec<PathBuf>,
    pub seconds: f64,
}

impl Monitored {
    /// A failed policy as an error (exit 1), after it has been shown.
    pub fn check(&self) -> Result<()> {
        let v = &self.doc.verdict;
        if v.exit_code() != 0 {
            return Err(Error::VerdictFailed {
                command: v.command.clone(),
                failed: v.counts.failed,
                total: v.checks.len(),
                files: self.files.first().cloned().unwrap_or_default(),
            });
        }
        Ok(())
    }
}

/// `--log` must name the folder `anneal serve --log` writes: a missing
/// path or a single file is one line naming the flag (exit 3, a file the
/// user gave), before the artifact is even opened.
fn check_log_folder(log: &std::path::Path) -> Result<()> {
    let reason = match std::fs::metadata(log) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => "--log names a file; give the folder `anneal serve --log` writes".to_string(),
        Err(e) => format!("--log names no readable folder ({e})"),
    };
    Err(anneal_monitor::MonitorError::File {
        path: log.to_path_buf(),
        reason,
    }
    .into())
}

/// Reads, judges and writes.
pub fn monitor(req: &MonitorRequest) -> Result<Monitored> {
    let started = Instant::now();
    check_reason(req.override_reason.as_deref())?;
    if req.log.is_none() && req.data.is_none() {
        return Err(Error::Usage(
            "anneal monitor needs --log DIR (an inference log), --data FILE (new rows) or both"
                .into(),
        ));
    }
    if let Some(log) = &req.log {
        check_log_folder(log)?;
    }
    let default = if req.data.is_some() { "500rows" } else { "1h" };
    let text = req.window.as_deref().unwrap_or(default);
    let window: WindowSpec = text.parse()?;
    if req.data.is_some() && matches!(window, WindowSpec::Span { .. }) {
        return Err(Error::Usage(format!(
            "--data rows carry no time: give --window as a row count (e.g. 500rows), not {text}"
        )));
    }
    let dir = resolve_artifact(&req.artifact, req.registry.as_deref())?;
    let artifact = Artifact::load(&dir, anneal_model::device(anneal_config::Backend::Flex)?)?;
    let config = artifact.config()?;
    let (policy, policy_source) = policy(req, &config)?;
    let input = read_inputs(req, &artifact, &config)?;
    let mut eval_cfg = config.eval.clone();
    if let Some(b) = req.bootstrap {
        eval_cfg.bootstrap = b;
    }
    let settings = EvalSettings::new(&eval_cfg, artifact.manifest.seed);
    let reference = artifact
        .manifest
        .metrics
        .get("test")
        .cloned()
        .unwrap_or_default();
    let pre = &artifact.preprocessor;
    let doc = anneal_monitor::analyse(&Analysis {
        artifact_id: &artifact.manifest.id,
        task: pre.task.name(),
        target: &pre.target,
        profile: artifact.profile.as_ref(),
        reference: &reference,
        records: &input.records,
        labels: input.labels.as_ref(),
        window,
        settings: &settings,
        policy: &policy,
        policy_source: &policy_source,
        inputs: input.names,
        skipped: input.skipped,
        override_reason: req.override_reason.clone(),
    });
    let files = write(&doc, &req.out)?;
    Ok(Monitored {
        doc,
        files,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A path that exists, else a registry reference.
fn resolve_artifact(artifact: &str, registry: Option<&Path>) -> Result<PathBuf> {
    let path = Path::new(artifact);
    if path.exists() || anneal_registry::Reference::parse(artifact).is_err() {
        return Ok(anneal_artifact::resolve(path)?);
    }
    let root = registry
        .map(Path::to_path_buf)
        .unwrap_or_else(anneal_registry::Registry::default_root);
    let reg = anneal_registry::Registry::open(&root)?;
    Ok(reg.resolve(artifact)?.path)
}

/// The [monitor] policy: `--policy`'s, else the artifact config's, else
/// the defaults; and where it came from.
fn policy(req: &MonitorRequest, config: &anneal_config::Config) -> Result<(MonitorPolicy, String)> {
    Ok(match &req.policy {
        Some(path) => {
            let text = path.display().to_string();
            match anneal_config::load_policy(path)?.monitor {
                Some(m) => (m, text),
                None => (
                    MonitorPolicy::default(),
                    format!("{text} (no [monitor]: defaults)"),
                ),
            }
        }
        None => match config.monitor.clone() {
            Some(m) => (m, "the artifact's config [monitor]".to_string()),
            None => (MonitorPolicy::default(), "defaults".to_string()),
        },
    })
}

/// The predicted rows and labels, and what was read.
struct Inputs {
    records: Vec<Record>,
    labels: Option<Labels>,
    skipped: Vec<SkippedEntry>,
    names: BTreeMap<String, String>,
}

fn read_inputs(
    req: &MonitorRequest,
    artifact: &Artifact,
    config: &anneal_config::Config,
) -> Result<Inputs> {
    let target = artifact.preprocessor.target.column().to_string();
    let mut out = Inputs {
        records: Vec::new(),
        labels: None,
        skipped: Vec::new(),
        names: BTreeMap::new(),
    };
    if let Some(log) = &req.log {
        let read = anneal_monitor::log::read_dir_for(log, &artifact.manifest.id)?;
        out.records = read.records;
        out.skipped = read
            .skipped
            .into_iter()
            .map(|s| SkippedEntry {
                file: s.path.display().to_string(),
                line: s.line,
                reason: s.reason,
            })
            .collect();
        out.names.insert("log".into(), log.display().to_string());
    }
    if let Some(data) = &req.data {
        let table =
            anneal_data::read_table(data, None, &config.data.csv, &artifact.text_columns())?;
        let predicted = artifact.predict_frame(&table.df, data)?;
        out.records.extend(anneal_monitor::rows::records(
            &table.df, &predicted, &target,
        )?);
        out.labels = anneal_monitor::rows::inline_labels(&table.df, &target, data)?;
        out.names.insert("data".into(), data.display().to_string());
        out.names.insert("data_sha256".into(), table.sha256.clone());
    }
    if let Some(path) = &req.labels {
        let labels = anneal_monitor::labels::read(path, &target)?;
        out.names
            .insert("labels".into(), path.display().to_string());
        out.names
            .insert("labels_sha256".into(), labels.sha256.clone());
        out.labels = Some(labels);
    }
    if out.records.is_empty() {
        let from = req
            .log
            .as_ref()
            .or(req.data.as_ref())
            .cloned()
            .unwrap_or_default();
        return Err(MonitorError::File {
            path: from,
            reason: "no predicted rows to monitor".into(),
        }
        .into());
    }
    Ok(out)
}

/// Writes every document into `out` (created if needed), each atomically.
fn write(doc: &MonitorDoc, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)
        .map_err(|e| Error::Write(format!("cannot create {}: {e}", out.display())))?;
    let mut files = Vec::new();
    for (name, text) in anneal_monitor::render::documents(doc)? {
        let path = out.join(name);
        anneal_core::fsio::atomic_write(&path, text.as_bytes())
            .map_err(|e| Error::Write(e.to_string()))?;
        files.push(path);
    }
    Ok(files)
}
