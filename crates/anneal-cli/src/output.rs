//! Everything anneal prints. Results go to stdout; progress and errors go
//! to stderr. On a terminal, training shows a progress bar; elsewhere (CI,
//! pipes) one plain line per epoch.

use std::io::IsTerminal;
use std::path::Path;

use anneal_config::Loaded;
use anneal_data::Prepared;
use anneal_model::{Architecture, EpochLog};
use anneal_report::Report;
use indicatif::{ProgressBar, ProgressStyle};

use anneal_pipeline::sweep::TrialEnd;
use anneal_pipeline::{Error, Observer, StopToken};

use crate::error::CliError;

/// `println!` that ignores a closed stdout (`anneal ... | head`) instead of
/// panicking.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

pub fn error(e: &CliError) {
    eprintln!("error: {e}");
}

pub fn print_resolved(toml: &str) {
    use std::io::Write as _;
    let _ = write!(std::io::stdout(), "{toml}");
}

pub fn config_ok(path: &Path) {
    out!("{}: ok", path.display());
}

pub fn predicted(rows: usize, output: &Path, id: &str) {
    out!(
        "wrote {rows} predictions to {} (artifact {})",
        output.display(),
        anneal_core::hash::short_id(id)
    );
}

fn train_start(loaded: &Loaded, data: &Prepared, arch: &Architecture) {
    let r = &data.stats.rows;
    eprintln!(
        "anneal: {} rows from {} ({} train / {} valid / {} test), task {}, {} inputs, {} {:?} on {}",
        r.used,
        loaded.data_path().display(),
        r.train,
        r.valid,
        r.test,
        data.preprocessor.task.name(),
        arch.inputs,
        loaded.config.model.kind.name(),
        arch.hidden,
        loaded.config.train.backend.name()
    );
    duplicates(r);
}

/// What the data stage did with exact duplicate rows: removed ones are
/// counted; kept ones are worth a warning when there are many (more than
/// 1 %), since they may be a join gone wrong, or legitimately repeated
/// records.
fn duplicates(r: &anneal_data::stats::RowCounts) {
    if r.duplicates > 0 {
        eprintln!(
            "anneal: removed {} exact duplicate rows (data.clean.drop_duplicates = true)",
            r.duplicates
        );
    }
    if r.repeated * 100 > r.used {
        eprintln!(
            "anneal: warning: {} of {} rows ({:.1} %) repeat an earlier row exactly; they are kept (set data.clean.drop_duplicates = true to remove them)",
            r.repeated,
            r.used,
            100.0 * r.repeated as f64 / r.used.max(1) as f64
        );
    }
}

/// The headline figures of `split`, with their intervals when present.
fn headline(report: &Report, split: &str) -> String {
    let keys: &[&str] = if report.task == "regression" {
        &["rmse", "mae", "r2"]
    } else {
        &["accuracy", "f1_macro", "log_loss"]
    };
    let Some(e) = report.evaluation.get(split) else {
        return String::new();
    };
    keys.iter()
        .filter_map(|k| {
            e.metrics.get(*k).map(|v| match e.intervals.get(*k) {
                Some(i) => format!("{k} {v:.4} [{:.4}, {:.4}]", i.lower, i.upper),
                None => format!("{k} {v:.4}"),
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn train_done(out: &Path, report: &Report, id: &str, seconds: f64, samples_per_sec: f64) {
    let split = if report.metrics.contains_key("test") {
        "test"
    } else {
        "valid"
    };
    out!("{split}: {}", headline(report, split));
    out!(
        "run: {} (report.json, report.html, report.md, artifact/) in {seconds:.2} s, {:.0} samples/s",
        out.display(),
        samples_per_sec
    );
    out!("artifact id: {id}");
}

pub fn eval_done(out: &Path, report: &Report, seconds: f64) {
    let rows = report.evaluation.get("eval").map_or(0, |e| e.rows);
    out!("eval ({rows} rows): {}", headline(report, "eval"));
    for (column, values) in report
        .evaluation
        .get("eval")
        .map(|e| &e.slices)
        .into_iter()
        .flatten()
    {
        let small = values.values().filter(|s| s.small).count();
        out!(
            "slices of {column}: {} values{}",
            values.len(),
            if small > 0 {
                format!(
                    ", {small} below {} rows",
                    report.evaluation_settings.min_slice_rows
                )
            } else {
                String::new()
            }
        );
    }
    out!(
        "report: {} (report.json, report.html, report.md) in {seconds:.2} s",
        out.display()
    );
}

/// What `train` and `bench` show while they work: the run's headline
/// when the data is ready, then per-epoch progress (a bar on a terminal,
/// one line per epoch elsewhere); `quiet` shows neither.
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    epochs: u32,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress {
            bar: None,
            quiet,
            epochs: 0,
        }
    }
}

impl Observer for Progress {
    fn data_ready(&mut self, loaded: &Loaded, data: &Prepared, arch: &Architecture) {
        self.epochs = loaded.config.train.epochs;
        if self.quiet {
            return;
        }
        train_start(loaded, data, arch);
        self.bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(u64::from(self.epochs));
            let style = ProgressStyle::with_template(
                "{bar:30} {pos}/{len} epochs {msg} [{elapsed_precise}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
    }

    fn resuming(&mut self, checkpoint: &Path, epoch: u32, step: u64) {
        if !self.quiet {
            resuming(checkpoint, epoch, step);
        }
    }

    fn epoch(&mut self, log: &EpochLog) {
        let mut msg = format!("loss {:.4}", log.train_loss);
        if let Some(v) = log.valid_loss {
            msg.push_str(&format!(" valid_loss {v:.4}"));
        }
        if let Some(v) = log.valid_metric {
            msg.push_str(&format!(" valid_metric {v:.4}"));
        }
        match &self.bar {
            Some(bar) => {
                bar.set_position(u64::from(log.epoch));
                bar.set_message(msg);
            }
            None if !self.quiet => eprintln!("epoch {}/{} {msg}", log.epoch, self.epochs),
            None => {}
        }
    }

    fn training_done(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Two observers hearing the same run (the terminal's, and a front-end's
/// own, such as a test driver's).
pub struct Both<'a>(pub &'a mut dyn Observer, pub &'a mut dyn Observer);

impl Observer for Both<'_> {
    fn data_ready(&mut self, loaded: &Loaded, data: &Prepared, arch: &Architecture) {
        self.0.data_ready(loaded, data, arch);
        self.1.data_ready(loaded, data, arch);
    }
    fn resuming(&mut self, checkpoint: &Path, epoch: u32, step: u64) {
        self.0.resuming(checkpoint, epoch, step);
        self.1.resuming(checkpoint, epoch, step);
    }
    fn epoch(&mut self, log: &EpochLog) {
        self.0.epoch(log);
        self.1.epoch(log);
    }
    fn step(&mut self, step: u64, staging: &Path, stop: &StopToken) {
        self.0.step(step, staging, stop);
        self.1.step(step, staging, stop);
    }
    fn training_done(&mut self) {
        self.0.training_done();
        self.1.training_done();
    }
}

/// `anneal sweep run`'s lines as trials end.
pub struct SweepProgress;

impl anneal_pipeline::SweepObserver for SweepProgress {
    fn started(&mut self, dir: &Path, plan: &anneal_sweep::Plan, todo: usize, workers: usize) {
        eprintln!(
            "anneal: sweep of {} trials into {}: {} to run, {} at a time (logs in {})",
            plan.trials.len(),
            dir.display(),
            todo,
            workers,
            dir.join("logs").display()
        );
    }

    fn trial_done(&mut self, plan: &anneal_sweep::Plan, dir: &Path, end: &TrialEnd) {
        sweep_trial(plan, dir, end);
    }
}

// ---- anneal registry -------------------------------------------------------

/// Left-aligned columns, two spaces apart.
fn registry_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        out!("{}", s.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn registry_headline(entry: &anneal_registry::VersionEntry) -> String {
    match entry.headline() {
        Some((k, v)) => format!("{k} {v:.4}"),
        None => "-".into(),
    }
}

fn registry_alias_list(aliases: Vec<&str>) -> String {
    if aliases.is_empty() {
        "-".into()
    } else {
        aliases.join(", ")
    }
}

pub fn registry_pushed(root: &Path, pushed: &anneal_registry::Pushed) {
    let v = &pushed.version;
    let short = anneal_core::hash::short_id(&v.id);
    if pushed.created {
        out!(
            "pushed {}:v{} (id {short}) to {}",
            v.name,
            v.number,
            root.display()
        );
    } else {
        out!(
            "{}:v{} already holds artifact {short}; nothing pushed",
            v.name,
            v.number
        );
    }
    for change in &pushed.aliases {
        registry_alias_set(change);
    }
}

pub fn registry_alias_set(change: &anneal_registry::AliasChange) {
    let was = match change.previous {
        Some(n) if n == change.now.number => " (unchanged)".to_string(),
        Some(n) => format!(" (was v{n})"),
        None => String::new(),
    };
    out!(
        "{}@{} -> v{}{was}",
        change.name,
        change.alias,
        change.now.number
    );
}

pub fn registry_alias_deleted(name: &str, alias: &str, was: Option<u32>) {
    match was {
        Some(n) => out!("deleted {name}@{alias} (was v{n})"),
        None => out!("deleted {name}@{alias}"),
    }
}

pub fn registry_models(root: &Path, models: &[anneal_registry::ModelInfo]) {
    if models.is_empty() {
        out!("registry {} holds no models", root.display());
        return;
    }
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|m| {
            let latest = m.latest().map_or("-".to_string(), |v| {
                format!("v{} {}", v.number, v.short_id())
            });
            let aliases: Vec<String> = m.aliases.iter().map(|(a, n)| format!("{a}=v{n}")).collect();
            vec![
                m.name.clone(),
                m.versions.len().to_string(),
                latest,
                registry_alias_list(aliases.iter().map(String::as_str).collect()),
            ]
        })
        .collect();
    registry_table(&["MODEL", "VERSIONS", "LATEST", "ALIASES"], &rows);
}

pub fn registry_versions(model: &anneal_registry::ModelInfo) {
    let rows: Vec<Vec<String>> = model
        .versions
        .iter()
        .map(|v| {
            vec![
                format!("v{}", v.number),
                v.short_id().to_string(),
                v.version.clone(),
                registry_headline(v),
                registry_alias_list(model.aliases_of(v.number)),
            ]
        })
        .collect();
    registry_table(&["VERSION", "ID", "SEMVER", "METRIC", "ALIASES"], &rows);
}

pub fn registry_show(d: &anneal_registry::VersionDetails) {
    let m = &d.manifest;
    let v = &d.version;
    out!("{}:v{}", v.name, v.number);
    out!("id:        {}", v.id);
    out!(
        "aliases:   {}",
        registry_alias_list(d.aliases.iter().map(String::as_str).collect())
    );
    out!("name:      {} {} ({})", m.name, m.version, m.task);
    out!("backend:   {}, seed {}", m.backend, m.seed);
    let bytes: u64 = m.files.values().map(|f| f.bytes).sum();
    out!(
        "files:     manifest.json + {} ({bytes} bytes): {}",
        m.files.len(),
        m.files.keys().cloned().collect::<Vec<_>>().join(", ")
    );
    for (split, metrics) in &m.metrics {
        let keys: &[&str] = if m.task == "regression" {
            &["rmse", "mae", "r2"]
        } else {
            &["accuracy", "f1_macro", "log_loss"]
        };
        let shown: Vec<String> = keys
            .iter()
            .filter_map(|k| metrics.get(*k).map(|x| format!("{k} {x:.4}")))
            .collect();
        if !shown.is_empty() {
            out!("{:<10} {}", format!("{split}:"), shown.join(", "));
        }
    }
    if !d.entry.pushed_at.is_empty() {
        out!("pushed:    {}", d.entry.pushed_at);
    }
    out!("path:      {}", v.path.display());
}

pub fn registry_show_json(d: &anneal_registry::VersionDetails) -> Result<(), Error> {
    let v = &d.version;
    let value = serde_json::json!({
        "name": v.name,
        "number": v.number,
        "reference": format!("{}:v{}", v.name, v.number),
        "id": v.id,
        "version": d.entry.version,
        "task": d.entry.task,
        "aliases": d.aliases,
        "pushed_at": d.entry.pushed_at,
        "path": v.path.display().to_string(),
        "manifest": d.manifest,
    });
    use std::io::Write as _;
    let _ = write!(
        std::io::stdout(),
        "{}",
        anneal_core::json::canonical(&value)
    );
    Ok(())
}

pub fn registry_pulled(v: &anneal_registry::ResolvedVersion, out_dir: &Path) {
    out!(
        "pulled {}:v{} (id {}) to {}",
        v.name,
        v.number,
        anneal_core::hash::short_id(&v.id),
        out_dir.display()
    );
}

// ---- anneal artifact pack|verify|inspect ----

pub fn exported_onnx(e: &anneal_pipeline::Exported) {
    out!(
        "exported artifact {} to {}: {} bytes, sha256 {} ({:.2} s)",
        anneal_core::hash::short_id(&e.artifact_id),
        e.out.display(),
        e.bytes,
        e.sha256,
        e.seconds
    );
}

pub fn artifact_packed(p: &anneal_artifact::pack::Packed, out: &Path) {
    out!(
        "packed {} ({} files, {} bytes) into {}: {}, {} bytes, sha256 {}",
        p.id,
        p.files.len(),
        p.content_bytes,
        out.display(),
        p.compression.name(),
        p.bytes,
        p.sha256
    );
}

pub fn artifact_verified(r: &anneal_artifact::verify::VerifyReport) {
    out!(
        "ok {} ({} files)",
        r.id.as_deref().unwrap_or_default(),
        r.files.len()
    );
}

/// One line per finding, on stdout: `file: problem`.
pub fn artifact_findings(r: &anneal_artifact::verify::VerifyReport) {
    for f in &r.findings {
        out!("{f}");
    }
}

pub fn artifact_summary_json(text: &str) {
    use std::io::Write as _;
    let _ = write!(std::io::stdout(), "{text}");
}

pub fn artifact_summary(s: &anneal_artifact::inspect::Summary) {
    let row = |k: &str, v: &str| out!("{k:<15}{v}");
    row("name", &format!("{} {}", s.name, s.version));
    row("id", &s.id);
    row("path", &s.path);
    row("format_version", &s.format_version.to_string());
    row("task", &s.task);
    if let Some(t) = &s.target {
        match &t.labels {
            Some(labels) => row(
                "target",
                &format!(
                    "{} ({} classes: {})",
                    t.column,
                    labels.len(),
                    labels.join(", ")
                ),
            ),
            None => row("target", &t.column),
        }
    }
    let specs = |cols: &[anneal_artifact::export::ColumnSpec]| {
        cols.iter()
            .map(|c| format!("{} ({})", c.name, c.kind))
            .collect::<Vec<_>>()
            .join(", ")
    };
    row(
        "inputs",
        &format!("{}: {}", s.inputs.len(), specs(&s.inputs)),
    );
    row(
        "outputs",
        &format!("{}: {}", s.outputs.len(), specs(&s.outputs)),
    );
    if let Some(m) = &s.model {
        let a = &m.architecture;
        let activation = serde_json::to_value(a.activation)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut layers = vec![a.inputs.to_string()];
        layers.extend(a.hidden.iter().map(ToString::to_string));
        layers.push(a.outputs.to_string());
        let members = a
            .ensemble
            .as_ref()
            .map(|e| format!(", {} members", e.k))
            .unwrap_or_default();
        row(
            "model",
            &format!(
                "{} {} ({activation}{members}), {} parameters",
                m.kind,
                layers.join(" -> "),
                m.parameters
            ),
        );
    }
    for (split, metrics) in &s.metrics {
        let v: Vec<String> = metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        row(&format!("metrics.{split}"), &v.join(", "));
    }
    for (split, d) in &s.data {
        row(
            &format!("data.{split}"),
            &format!("{} ({} bytes, sha256 {})", d.path, d.bytes, d.sha256),
        );
    }
    row("config_sha256", &s.config_sha256);
    row("seed", &s.seed.to_string());
    row("backend", &s.backend);
    let versions: Vec<String> = s.versions.iter().map(|(k, v)| format!("{k} {v}")).collect();
    row("versions", &versions.join(", "));
    row(
        "files",
        &format!("{} files, {} bytes", s.files.len(), s.total_bytes),
    );
    let width = s.files.keys().map(String::len).max().unwrap_or(0);
    for (name, f) in &s.files {
        out!("  {name:<width$} {:>10}  {}", f.bytes, f.sha256);
    }
    if let Some(a) = &s.archive {
        row(
            "archive",
            &format!(
                "{}, {} bytes, sha256 {}, {} entries",
                a.compression.name(),
                a.bytes,
                a.sha256,
                a.entries.len()
            ),
        );
        for e in &a.entries {
            out!(
                "  {:<width$} {:>10}  mode {} uid {} gid {} mtime {} user {:?} group {:?}",
                e.name,
                e.bytes,
                e.mode,
                e.uid,
                e.gid,
                e.mtime,
                e.user,
                e.group
            );
        }
    }
    if s.verified {
        row("verified", "ok");
    } else {
        row(
            "verified",
            &format!(
                "NO: {} problem{} (run `anneal artifact verify`)",
                s.problems.len(),
                if s.problems.len() == 1 { "" } else { "s" }
            ),
        );
        for p in &s.problems {
            out!("  {p}");
        }
    }
}

/// The one line `anneal serve` prints once it listens (tests and scripts
/// read the port from it), flushed at once.
pub fn listening(addr: std::net::SocketAddr, name: &str, id: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on http://{addr} (model {name}, id {id})");
    let _ = stdout.flush();
}

/// A gate or data-check verdict: one line per check, the outcome, the
/// files; under GitHub Actions also the annotations and the job summary.
/// `anneal monitor`: every skipped log line or file as a warning (never
/// silently), the totals, then the verdict.
pub fn monitored(m: &anneal_pipeline::Monitored) {
    let d = &m.doc;
    for k in &d.skipped {
        let at = k.line.map(|l| format!(":{l}")).unwrap_or_default();
        eprintln!("anneal: warning: skipped {}{at}: {}", k.file, k.reason);
    }
    let j = &d.join;
    out!(
        "monitor: {} rows in {} windows of {}, {} labelled ({} labels with unknown ids, {} unusable) in {:.1}s",
        d.rows,
        d.windows.len(),
        d.window,
        j.labelled,
        j.unknown_ids,
        j.unusable,
        m.seconds
    );
    // Every check is in the files; the terminal gets the ones that did
    // not pass (a log has a few checks per column).
    let v = &d.verdict;
    for c in v
        .checks
        .iter()
        .filter(|c| c.status != anneal_gate::Status::Pass)
    {
        out!(
            "{} {}: {}",
            c.status.name().to_uppercase(),
            c.name,
            c.message
        );
    }
    if let Some(r) = &v.override_reason {
        out!("override: {r}");
    }
    out!(
        "monitor {}: {} passed, {} failed, {} warnings, {} skipped",
        v.outcome_name(),
        v.counts.passed,
        v.counts.failed,
        v.counts.warnings,
        v.counts.skipped
    );
    let names: Vec<String> = m.files.iter().map(|f| f.display().to_string()).collect();
    out!("wrote {}", names.join(", "));
    ci_outputs(v);
}

pub fn verdict(v: &anneal_gate::Verdict, files: &[std::path::PathBuf]) {
    use anneal_gate::Status;
    for c in &v.checks {
        let tag = match c.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Warn => "WARN",
            Status::Skip => "SKIP",
        };
        out!("{tag} {}: {}", c.name, c.message);
    }
    for n in &v.notes {
        out!("note: {n}");
    }
    if let Some(r) = &v.override_reason {
        out!("override: {r}");
    }
    out!(
        "{} {}: {} passed, {} failed, {} warnings, {} skipped",
        v.command,
        v.outcome_name(),
        v.counts.passed,
        v.counts.failed,
        v.counts.warnings,
        v.counts.skipped
    );
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    out!("wrote {}", names.join(", "));
    ci_outputs(v);
}

/// Under GitHub Actions: `::error` annotations, and the verdict appended to
/// `$GITHUB_STEP_SUMMARY`.
fn ci_outputs(v: &anneal_gate::Verdict) {
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        for a in v.annotations() {
            out!("{a}");
        }
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        use std::io::Write as _;
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{}", v.to_markdown()));
        if let Err(e) = appended {
            eprintln!(
                "warning: cannot append to $GITHUB_STEP_SUMMARY ({}): {e}",
                std::path::Path::new(&path).display()
            );
        }
    }
}

fn resuming(checkpoint: &Path, epoch: u32, step: u64) {
    eprintln!(
        "resuming from {} (epoch {}, step {step})",
        checkpoint.display(),
        epoch + 1
    );
}

/// `anneal verify`: one line per compared hash, then the environment.
pub fn verified(run: &Path, compared: &[anneal_pipeline::verify::Compared], environment: &str) {
    let short = |h: &Option<String>| {
        h.as_deref()
            .map(|h| h.chars().take(16).collect::<String>())
            .unwrap_or_else(|| "(absent)".into())
    };
    out!("verify {}: re-ran the recorded training", run.display());
    for c in compared {
        if c.same() {
            out!("same     {:<28} {}", c.what, short(&c.recorded));
        } else {
            out!(
                "DIFFERS  {:<28} recorded {}, re-run {}",
                c.what,
                short(&c.recorded),
                short(&c.rerun)
            );
        }
    }
    out!("{environment}");
    let differ = compared.iter().filter(|c| !c.same()).count();
    if differ == 0 {
        out!("verify: IDENTICAL ({} hashes)", compared.len());
    }
}

pub fn sweep_planned(dir: &Path, plan: &anneal_sweep::Plan) {
    out!(
        "planned {} trials ({} over {}) in {}",
        plan.trials.len(),
        match plan.method {
            anneal_config::SweepMethod::Grid => "grid",
            anneal_config::SweepMethod::Random => "random search",
        },
        plan.parameters.join(", "),
        dir.join("plan.json").display()
    );
    for t in &plan.trials {
        out!(
            "  trial {:>4}  {}  {}",
            t.index,
            t.id,
            trial_values(&t.values)
        );
    }
}

fn trial_values(values: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k}={}", anneal_sweep::leaderboard::show_value(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn trial_skipped(index: usize, id: &str, dir: &Path) {
    eprintln!(
        "anneal: trial {index} ({id}) already finished in {}: skipping",
        dir.display()
    );
}

/// One line per trial as it ends: `[3/8] trial 2 (id) ...`.
fn sweep_trial(plan: &anneal_sweep::Plan, dir: &Path, end: &TrialEnd) {
    let TrialEnd {
        index,
        code,
        seconds,
        completed,
        total,
    } = *end;
    let Some(t) = plan.trials.get(index) else {
        return;
    };
    let what = match code {
        None => "already finished".to_string(),
        Some(0) => {
            let metrics = std::fs::read(anneal_sweep::trial_dir(dir, index).join("metrics.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
            let value = metrics
                .as_ref()
                .and_then(|m| m.get(&plan.split)?.get(&plan.objective)?.as_f64());
            match value {
                Some(v) => format!(
                    "done in {seconds:.1} s: {} ({}) {}",
                    plan.objective,
                    plan.split,
                    anneal_sweep::leaderboard::short_float(v)
                ),
                None => format!("done in {seconds:.1} s"),
            }
        }
        Some(c) => format!(
            "FAILED with exit {c} after {seconds:.1} s (see {})",
            dir.join("logs").join(format!("{index:04}.log")).display()
        ),
    };
    eprintln!(
        "[{completed}/{total}] trial {index} ({}) {}: {what}",
        t.id,
        trial_values(&t.values)
    );
}

pub fn leaderboard(dir: &Path, board: &anneal_sweep::Leaderboard) {
    out!(
        "leaderboard of {} ({} of {} trials finished), by {} on {} ({} is better):",
        dir.display(),
        board.finished(),
        board.trials,
        board.objective,
        board.split,
        if board.maximize { "higher" } else { "lower" }
    );
    for e in board.entries.iter().take(10) {
        out!(
            "  {:>4}  trial {:>4}  {}  {:>10}  {}{}",
            e.rank
                .map(|r| format!("#{r}"))
                .unwrap_or_else(|| "-".into()),
            e.index,
            e.id,
            e.objective_label(),
            trial_values(&e.values),
            if e.rank.is_some() {
                String::new()
            } else {
                format!("  [{}]", e.status.as_str())
            }
        );
    }
    if board.entries.len() > 10 {
        out!("  ... {} more in leaderboard.md", board.entries.len() - 10);
    }
    if let Some(b) = board.best() {
        out!(
            "best: trial {} ({}), artifact {}",
            b.index,
            b.id,
            dir.join(b.artifact.as_deref().unwrap_or("")).display()
        );
    }
    out!(
        "wrote {}, leaderboard.md, leaderboard.html",
        dir.join("leaderboard.json").display()
    );
}

pub fn sweep_done(seconds: f64) {
    eprintln!("anneal: sweep finished in {seconds:.1} s");
}

/// `anneal bench`'s table.
pub fn bench(r: &anneal_pipeline::BenchReport, out: Option<&Path>) {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    out!(
        "bench {} on {} ({}, {} threads)",
        r.config,
        r.backend,
        r.device,
        r.threads
    );
    let d = &r.data;
    out!(
        "  data     {:>10.3} s  {:>12.0} rows/s    {} rows ({}) -> {} train / {} test x {} inputs",
        d.prepare_seconds,
        d.rows_per_second,
        d.rows_read,
        if d.file_bytes < 1 << 20 {
            format!("{:.1} KiB", d.file_bytes as f64 / 1024.0)
        } else {
            format!("{:.1} MiB", mib(d.file_bytes))
        },
        d.train_rows,
        d.test_rows,
        d.inputs
    );
    if let Some(t) = &r.train {
        let mean = t.epoch_seconds.iter().sum::<f64>() / t.epoch_seconds.len().max(1) as f64;
        out!(
            "  train    {:>10.3} s  {:>12.0} samples/s {} epochs of {} (batch {}), {:.3} s per epoch, final loss {:.4}",
            t.seconds,
            t.samples_per_second,
            t.epochs,
            t.architecture,
            t.batch_size,
            mean,
            t.final_train_loss
        );
        if let Some(a) = t.test_accuracy {
            out!("           test accuracy {a:.4}");
        }
    }
    if let Some(p) = &r.predict {
        out!(
            "  predict  {:>10.3} s  {:>12.0} rows/s    {} rows in batches of {}; one row: median {:.1} us, p99 {:.1} us ({} calls)",
            p.seconds,
            p.rows_per_second,
            p.rows,
            p.batch_rows,
            p.single_row.median_us,
            p.single_row.p99_us,
            p.single_row.calls
        );
    }
    match r.peak_rss_bytes {
        Some(b) => out!(
            "  process  {:>10.3} s  peak memory {:.0} MiB",
            r.process_seconds,
            mib(b)
        ),
        None => out!("  process  {:>10.3} s", r.process_seconds),
    }
    if let Some(p) = out {
        out!("figures: {}", p.display());
    }
}

pub fn verified_against_cpu(
    run: &Path,
    backend: &str,
    agreed: &[anneal_pipeline::verify::Agreement],
    tolerance: f64,
) {
    out!(
        "verify {}: retrained on the CPU (flex); every metric must agree with the {backend} run's within {tolerance} (relative to max(1, |value|))",
        run.display()
    );
    out!(
        "         {:<32} {:>12} {:>12} {:>10}",
        "metric",
        backend,
        "cpu",
        "difference"
    );
    for m in agreed {
        out!(
            "{}  {:<32} {:>12.6} {:>12.6} {:>10.6}",
            if m.within { "agrees " } else { "DIFFERS" },
            m.metric,
            m.recorded,
            m.cpu,
            (m.recorded - m.cpu).abs()
        );
    }
    if backend == "flex" || backend == "ndarray" {
        out!(
            "the run was trained on a CPU backend: `anneal verify` without --against-cpu checks it bit for bit"
        );
    } else {
        out!(
            "GPU training is not bit-reproducible (autotuned kernels, float atomics): agreement within the tolerance is the guarantee"
        );
    }
    if agreed.iter().all(|m| m.within) {
        out!("verify: AGREES ({} metrics)", agreed.len());
    }
}
