//! `check-data`: is new data still the data the model knows? The
//! artifact's training profile and `[data.schema]` against a file, as a
//! verdict with the same outputs and outcomes as `gate`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anneal_artifact::{Artifact, ArtifactError};
use anneal_config::{ColumnType, Severity};
use anneal_gate::{Check, Status, Verdict};

use crate::error::Result;
use crate::gate::{Decided, check_reason, write};

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckDataRequest {
    /// The artifact folder or archive whose training profile is the
    /// reference.
    pub artifact: PathBuf,
    /// The new data.
    pub data: PathBuf,
    /// A policy file with a [check_data] section [default: the artifact's
    /// config's, else the defaults].
    pub policy: Option<PathBuf>,
    /// Where the verdict files go.
    pub out: PathBuf,
    pub override_reason: Option<String>,
}

/// Checks the data and writes the verdict files.
pub fn check_data(req: &CheckDataRequest) -> Result<Decided> {
    let args = req;
    check_reason(args.override_reason.as_deref())?;
    let device = anneal_model::device(anneal_config::Backend::Flex)?;
    let dir = anneal_artifact::resolve(&args.artifact)?;
    let artifact = Artifact::load(&dir, device)?;
    let profile = artifact
        .profile
        .as_ref()
        .ok_or_else(|| ArtifactError::Corrupt {
            path: artifact.dir.clone(),
            file: "profile.json".into(),
            reason: "the artifact has no training data profile (it was exported before anneal recorded one); retrain it to check data against it".into(),
        })?;
    let config = artifact.config()?;
    let (policy, source) = match &args.policy {
        Some(path) => {
            let p = anneal_config::load_policy(path)?;
            let text = path.display().to_string();
            match p.check_data {
                Some(c) => (c, text),
                None => (
                    Default::default(),
                    format!("{text} (no [check_data]: defaults)"),
                ),
            }
        }
        None => match config.check_data.clone() {
            Some(c) => (c, "the artifact's config [check_data]".to_string()),
            None => (Default::default(), "defaults".to_string()),
        },
    };
    let table =
        anneal_data::read_table(&args.data, None, &config.data.csv, &artifact.text_columns())?;
    // Identifier and dropped columns are expected in new data and never
    // "new": the model just does not use them.
    let mut ignored: Vec<String> = config.data.id.clone();
    ignored.extend(config.data.drop.iter().cloned());
    ignored.extend(
        config
            .data
            .columns
            .iter()
            .filter(|(_, o)| matches!(o.kind, Some(ColumnType::Id | ColumnType::Drop)))
            .map(|(n, _)| n.clone()),
    );
    let found = anneal_data::drift::check(
        &table.df,
        &args.data,
        &anneal_data::drift::DriftInput {
            profile,
            policy: &policy,
            schema: &config.data.schema,
            ignored: &ignored,
        },
    )?;
    let checks = checks(found);
    let subject = BTreeMap::from([
        ("artifact".to_string(), artifact.manifest.id.clone()),
        ("data".to_string(), args.data.display().to_string()),
        ("data_sha256".to_string(), table.sha256.clone()),
        ("rows".to_string(), table.df.height().to_string()),
        ("training_rows".to_string(), profile.rows.to_string()),
        ("policy".to_string(), source),
    ]);
    let verdict = Verdict::new(
        "check-data",
        subject,
        checks,
        Vec::new(),
        args.override_reason.clone(),
    );
    write(verdict, &args.out)
}

/// The drift findings as verdict checks, named uniquely (JUnit test
/// cases): `code:column`, with `#2`, `#3` for repeats.
fn checks(found: Vec<anneal_data::Check>) -> Vec<Check> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    found
        .into_iter()
        .map(|c| {
            let base = match &c.column {
                Some(col) => format!("{}:{col}", c.code),
                None => c.code.clone(),
            };
            // Names are unique within a verdict (JUnit test cases).
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let name = if *n == 1 { base } else { format!("{base}#{n}") };
            Check {
                name,
                kind: c.code,
                statistic: c.statistic,
                split: None,
                slice: None,
                column: c.column,
                status: match (c.passed, c.severity) {
                    (true, _) => Status::Pass,
                    (false, Severity::Error) => Status::Fail,
                    (false, Severity::Warning) => Status::Warn,
                },
                value: c.value,
                threshold: c
                    .threshold
                    .map(|t| format!("<= {}", anneal_gate::verdict::fmt_num(t))),
                baseline: None,
                candidate: None,
                details: BTreeMap::new(),
                message: c.message,
            }
        })
        .collect()
}
