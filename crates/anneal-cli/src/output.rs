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
        &id[..id.len().min(12)]
    );
}

pub fn train_start(loaded: &Loaded, data: &Prepared, arch: &Architecture) {
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
        match loaded.config.model.kind {
            anneal_config::ModelKind::Linear => "linear",
            anneal_config::ModelKind::Mlp => "mlp",
        },
        arch.hidden,
        loaded.config.train.backend.name()
    );
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

/// Per-epoch progress.
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    epochs: u32,
}

impl Progress {
    pub fn new(epochs: u32, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(u64::from(epochs));
            let style = ProgressStyle::with_template(
                "{bar:30} {pos}/{len} epochs {msg} [{elapsed_precise}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress { bar, quiet, epochs }
    }

    pub fn epoch(&mut self, log: &EpochLog) {
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

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The current UTC time as RFC 3339, for `run.json` only.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}
