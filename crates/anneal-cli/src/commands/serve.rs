//! `anneal serve`: an artifact (folder or packed archive) behind HTTP,
//! until SIGTERM or SIGINT.

use std::time::Duration;

use crate::cli::ServeArgs;
use crate::error::CliError;
use crate::output;

/// Where the bearer token may come from instead of `--token`.
const TOKEN_ENV: &str = "ANNEAL_SERVE_TOKEN";

pub fn run(args: &ServeArgs) -> Result<(), CliError> {
    let options = options(args)?;
    let artifact = load(args).map_err(anneal_pipeline::Error::from)?;
    anneal_serve::run(artifact, options, |l| {
        output::listening(l.addr, &l.name, &l.id);
    })?;
    Ok(())
}

/// The artifact, on the CPU.
fn load(args: &ServeArgs) -> Result<anneal_artifact::Artifact, anneal_artifact::ArtifactError> {
    let dir = anneal_artifact::resolve(&args.artifact)?;
    let device = anneal_model::device(anneal_config::Backend::Flex)?;
    anneal_artifact::Artifact::load(&dir, device)
}

fn options(args: &ServeArgs) -> Result<anneal_serve::Options, CliError> {
    let token = args.token.clone().or_else(|| std::env::var(TOKEN_ENV).ok());
    Ok(anneal_serve::Options {
        max_body_bytes: args.max_body_bytes,
        max_rows: args.max_rows,
        workers: args.workers,
        queue: args.queue,
        max_connections: args.max_connections,
        header_timeout: seconds("--header-timeout", args.header_timeout)?,
        idle_timeout: seconds("--idle-timeout", args.idle_timeout)?,
        body_timeout: seconds("--body-timeout", args.body_timeout)?,
        request_timeout: seconds("--request-timeout", args.request_timeout)?,
        token,
        allow_hosts: args.allow_hosts.clone(),
        monitor: monitor(args)?,
        log: log(args)?,
        ..anneal_serve::Options::new(args.addr.clone())
    })
}

/// Drift monitoring, unless --no-monitor.
fn monitor(args: &ServeArgs) -> Result<Option<anneal_serve::MonitorOptions>, CliError> {
    if args.no_monitor {
        return Ok(None);
    }
    let policy = match &args.policy {
        None => None,
        Some(path) => {
            let p = anneal_config::load_policy(path).map_err(anneal_pipeline::Error::from)?;
            let text = path.display().to_string();
            Some(match p.check_data {
                Some(c) => (c, text),
                None => (
                    Default::default(),
                    format!("{text} (no [check_data]: defaults)"),
                ),
            })
        }
    };
    let millis = match args.monitor_window_seconds {
        None => None,
        Some(s) => Some(seconds("--monitor-window-seconds", s)?.as_millis() as u64),
    };
    Ok(Some(anneal_serve::MonitorOptions {
        window: anneal_serve::WindowSpec {
            rows: args.monitor_window_rows,
            millis,
        },
        policy,
    }))
}

/// The inference log, with --log-dir.
fn log(args: &ServeArgs) -> Result<Option<anneal_serve::LogOptions>, CliError> {
    let Some(dir) = &args.log_dir else {
        return Ok(None);
    };
    let max_age = match args.log_max_seconds {
        None => None,
        Some(s) => Some(seconds("--log-max-seconds", s)?),
    };
    Ok(Some(anneal_serve::LogOptions {
        sample: args.log_sample,
        max_bytes: args.log_max_bytes,
        max_age,
        ..anneal_serve::LogOptions::new(dir.clone())
    }))
}

/// A timeout flag: seconds, more than 0, at most a day.
fn seconds(flag: &str, value: f64) -> Result<Duration, CliError> {
    if value.is_finite() && value > 0.0 && value <= 86_400.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(anneal_serve::ServeError::Options(format!(
            "{flag} must be more than 0 and at most 86400 seconds"
        ))
        .into())
    }
}
