//! A verdict and the files CI systems read from it. `anneal gate` and
//! `anneal check-data` both produce a [`Verdict`]: a list of checks, each
//! with its value, threshold and message, and an outcome. It is written as
//!
//! - `<name>.json`: canonical JSON, the same bytes for the same inputs;
//! - `<name>.junit.xml`: one test case per check (GitLab, Jenkins, Azure,
//!   GitHub test reporters all read JUnit);
//! - `<name>.md`: a Markdown table, also appended to `$GITHUB_STEP_SUMMARY`
//!   when that variable is set;
//!
//! and, under GitHub Actions, one `::error` (or `::warning`) annotation per
//! failing check on standard output.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anneal_core::text::md_cell_lf as md_cell;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::{Deserialize, Serialize};

use crate::error::{GateError, Result};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    /// Failed, but only worth a warning: does not fail the verdict.
    Warn,
    /// Not evaluated (a small slice, a first run, a metric the policy lets
    /// be missing); the message says why.
    Skip,
    Fail,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Fail => "fail",
        }
    }
}

/// One rule (gate) or test (check-data) and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Unique within the verdict and stable across runs: what JUnit calls
    /// the test case, e.g. `threshold:accuracy[test,sex=female]`.
    pub name: String,
    /// The rule kind (`threshold`, `change`, `regression`, `max_gain`) or
    /// the data check's code (`drift`, `unseen_category`, ...).
    pub kind: String,
    /// The metric or statistic compared.
    pub statistic: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slice: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub status: Status,
    /// The value compared with the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The threshold, as a comparison (`>= 0.85`, `<= 0.02`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    /// The baseline's value of the metric on the same rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// The candidate's value, when `value` is a difference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate: Option<f64>,
    /// Extra figures (interval bounds, rows, resamples).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, f64>,
    pub message: String,
}

/// The outcome of a whole verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// Failed, forced to pass with a recorded reason.
    Overridden,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub warnings: usize,
    pub skipped: usize,
}

/// Everything a CI system needs to know about one gate or data check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// `gate` or `check-data`: names the output files too.
    pub command: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
    pub counts: Counts,
    /// What was judged: artifact ids, file hashes, the baseline.
    pub subject: BTreeMap<String, String>,
    pub checks: Vec<Check>,
    /// Notes on how the verdict was reached (the baseline that was used,
    /// why one was missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Verdict {
    /// The verdict of `checks`, overridden to a pass when a reason is given
    /// and something failed.
    pub fn new(
        command: &str,
        subject: BTreeMap<String, String>,
        checks: Vec<Check>,
        notes: Vec<String>,
        override_reason: Option<String>,
    ) -> Verdict {
        let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
        let counts = Counts {
            passed: count(Status::Pass),
            failed: count(Status::Fail),
            warnings: count(Status::Warn),
            skipped: count(Status::Skip),
        };
        let outcome = match (counts.failed, &override_reason) {
            (0, _) => Outcome::Pass,
            (_, Some(_)) => Outcome::Overridden,
            (_, None) => Outcome::Fail,
        };
        Verdict {
            command: command.to_string(),
            outcome,
            override_reason: override_reason.filter(|_| counts.failed > 0),
            counts,
            subject,
            checks,
            notes,
        }
    }

    /// The process exit code: 0 pass (or overridden), 1 failed.
    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            Outcome::Pass | Outcome::Overridden => 0,
            Outcome::Fail => 1,
        }
    }

    pub fn outcome_name(&self) -> &'static str {
        match self.outcome {
            Outcome::Pass => "PASSED",
            Outcome::Fail => "FAILED",
            Outcome::Overridden => "OVERRIDDEN (forced pass)",
        }
    }

    pub fn to_json(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        anneal_core::json::canonical(&value)
    }

    /// JUnit XML: one suite named after the command, one case per check
    /// (skips as skipped, warnings as passes with the message in
    /// system-out, failures with the message).
    pub fn to_junit(&self) -> Result<String> {
        let mut suite = TestSuite::new(format!("anneal {}", self.command));
        for c in &self.checks {
            let status = match c.status {
                Status::Pass | Status::Warn => TestCaseStatus::success(),
                Status::Skip => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(c.message.as_str());
                    s
                }
                Status::Fail => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(c.message.as_str());
                    s.set_type(c.kind.as_str());
                    s
                }
            };
            let mut case = TestCase::new(c.name.as_str(), status);
            case.set_classname(format!("anneal.{}.{}", self.command, c.kind));
            if c.status == Status::Warn {
                case.set_system_out(format!("warning: {}", c.message));
            }
            suite.add_test_case(case);
        }
        let mut report = Report::new(format!("anneal {}", self.command));
        report.add_test_suite(suite);
        report
            .to_string()
            .map_err(|e| GateError::Io(format!("cannot write JUnit XML: {e}")))
    }

    /// A Markdown summary: the outcome, a table of every check, and the
    /// notes.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let icon = match self.outcome {
            Outcome::Pass => "✅",
            Outcome::Fail => "❌",
            Outcome::Overridden => "⚠️",
        };
        let _ = writeln!(
            s,
            "## {icon} anneal {}: {}\n",
            self.command,
            self.outcome_name()
        );
        let _ = writeln!(
            s,
            "{} passed, {} failed, {} warnings, {} skipped.\n",
            self.counts.passed, self.counts.failed, self.counts.warnings, self.counts.skipped
        );
        if let Some(r) = &self.override_reason {
            let _ = writeln!(s, "**Override:** {}\n", md_cell(r));
        }
        for (k, v) in &self.subject {
            let _ = writeln!(s, "- {k}: `{}`", md_cell(v));
        }
        if !self.subject.is_empty() {
            s.push('\n');
        }
        s.push_str("| Status | Check | Value | Threshold | Baseline | Message |\n");
        s.push_str("|---|---|---|---|---|---|\n");
        for c in &self.checks {
            let status = match c.status {
                Status::Pass => "✅ pass",
                Status::Warn => "⚠️ warn",
                Status::Skip => "⏭️ skip",
                Status::Fail => "❌ fail",
            };
            let _ = writeln!(
                s,
                "| {status} | `{}` | {} | {} | {} | {} |",
                md_cell(&c.name),
                c.value.map(fmt_num).unwrap_or_default(),
                c.threshold.as_deref().map(md_cell).unwrap_or_default(),
                c.baseline.map(fmt_num).unwrap_or_default(),
                md_cell(&c.message)
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "\n> {}", md_cell(n));
        }
        s
    }

    /// GitHub Actions workflow commands for failures and warnings.
    pub fn annotations(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|c| {
                let level = match (c.status, self.outcome) {
                    (Status::Fail, Outcome::Overridden) => "warning",
                    (Status::Fail, _) => "error",
                    (Status::Warn, _) => "warning",
                    _ => return None,
                };
                Some(format!(
                    "::{level} title=anneal {} {}::{}",
                    self.command,
                    escape_property(&c.name),
                    escape_data(&c.message)
                ))
            })
            .collect()
    }

    /// Writes `<command>.json`, `<command>.junit.xml` and `<command>.md`
    /// into `dir` (created if needed), each atomically. Returns the paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)
            .map_err(|e| GateError::Io(format!("cannot create {}: {e}", dir.display())))?;
        let files = [
            (format!("{}.json", self.command), self.to_json()),
            (format!("{}.junit.xml", self.command), self.to_junit()?),
            (format!("{}.md", self.command), self.to_markdown()),
        ];
        let mut out = Vec::new();
        for (name, text) in files {
            let path = dir.join(name);
            anneal_core::fsio::atomic_write(&path, text.as_bytes())
                .map_err(|e| GateError::Io(e.to_string()))?;
            out.push(path);
        }
        Ok(out)
    }
}

/// Numbers in tables: up to 4 decimals, trailing zeros trimmed.
pub fn fmt_num(v: f64) -> String {
    anneal_core::text::decimals_trimmed(v, 4)
}

/// `%`, CR and LF escaped as GitHub's workflow commands require.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, status: Status) -> Check {
        Check {
            name: name.into(),
            kind: "threshold".into(),
            statistic: "accuracy".into(),
            split: Some("test".into()),
            slice: None,
            column: None,
            status,
            value: Some(0.8123456),
            threshold: Some(">= 0.85".into()),
            baseline: None,
            candidate: None,
            details: BTreeMap::new(),
            message: format!("{name}: 50% done, a|b"),
        }
    }

    #[test]
    fn outcome_counts_and_override() {
        let checks = vec![check("a", Status::Pass), check("b", Status::Fail)];
        let v = Verdict::new("gate", BTreeMap::new(), checks.clone(), vec![], None);
        assert_eq!((v.outcome, v.exit_code()), (Outcome::Fail, 1));
        assert_eq!(v.counts.failed, 1);
        let o = Verdict::new(
            "gate",
            BTreeMap::new(),
            checks,
            vec![],
            Some("known flaky slice".into()),
        );
        assert_eq!((o.outcome, o.exit_code()), (Outcome::Overridden, 0));
        assert!(
            o.to_json()
                .contains("\"override_reason\": \"known flaky slice\""),
            "{}",
            o.to_json()
        );
        // An override of a passing verdict records nothing.
        let p = Verdict::new(
            "gate",
            BTreeMap::new(),
            vec![check("a", Status::Pass)],
            vec![],
            Some("why".into()),
        );
        assert_eq!((p.outcome, p.override_reason), (Outcome::Pass, None));
    }

    #[test]
    fn junit_markdown_and_annotations() {
        let v = Verdict::new(
            "gate",
            BTreeMap::new(),
            vec![
                check("ok", Status::Pass),
                check("bad:x[test]", Status::Fail),
                check("small", Status::Skip),
            ],
            vec![],
            None,
        );
        let xml = v.to_junit().unwrap();
        assert!(xml.contains("tests=\"3\""), "{xml}");
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("skipped=\"1\""), "{xml}");
        assert!(
            xml.contains("<failure message=\"bad:x[test]: 50% done, a|b\" type=\"threshold\""),
            "{xml}"
        );
        let md = v.to_markdown();
        assert!(md.contains("## ❌ anneal gate: FAILED"), "{md}");
        assert!(
            md.contains(
                "| ❌ fail | `bad:x[test]` | 0.8123 | >= 0.85 |  | bad:x[test]: 50% done, a\\|b |"
            ),
            "{md}"
        );
        assert_eq!(
            v.annotations(),
            vec!["::error title=anneal gate bad%3Ax[test]::bad:x[test]: 50%25 done, a|b"]
        );
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(-0.00001), "0");
    }
}
