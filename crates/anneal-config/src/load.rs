//! Reading a config file into [`Loaded`]: the typed config plus its source
//! text, kept so that later checks (for example a loss that does not fit the
//! task inferred from the data) can still point at a line.

use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Result};
use crate::locate;
use crate::types::Config;
use crate::validate::validate;

/// A parsed and validated config with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The config file as given on the command line.
    pub path: PathBuf,
    source: String,
}

/// Reads, parses and validates the config at `path`.
pub fn load(path: &Path) -> Result<Loaded> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let source = text(bytes, path)?;
    parse(&source, path)
}

/// The config's bytes as text, or an error at the first byte that is not
/// UTF-8.
pub(crate) fn text(bytes: Vec<u8>, path: &Path) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = String::from_utf8_lossy(&bytes[..at]);
        let (line, column) = locate::line_col(&before, before.len());
        invalid(
            path,
            Some(line),
            Some(column),
            "",
            &format!(
                "byte 0x{:02x} is not UTF-8; save the config as UTF-8 text",
                bytes.get(at).copied().unwrap_or(0)
            ),
        )
    })
}

/// Parses and validates `source`; `path` is used for messages and to resolve
/// relative data paths.
pub fn parse(source: &str, path: &Path) -> Result<Loaded> {
    let config: Config = toml::from_str(source).map_err(|e| toml_error(source, path, &e))?;
    let loaded = Loaded {
        config,
        path: path.to_path_buf(),
        source: source.to_string(),
    };
    if let Some((key, message)) = validate(&loaded.config).into_iter().next() {
        return Err(loaded.error_at(&key, message));
    }
    Ok(loaded)
}

/// A TOML parse or type error, located at its key.
pub(crate) fn toml_error(source: &str, path: &Path, e: &toml::de::Error) -> ConfigError {
    let (line, column, key) = match e.span() {
        Some(span) => {
            let (l, c) = locate::line_col(source, span.start);
            let key = locate::path_at(source, span.start)
                .or_else(|| locate::path_near(source, span.start))
                .unwrap_or_default();
            (Some(l), Some(c), key)
        }
        None => (None, None, String::new()),
    };
    let message = e.message().trim();
    if message == "duplicate key" {
        // toml names neither the key nor what to do.
        let header = e.span().is_some_and(|span| {
            let start = source[..span.start.min(source.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            source[start..].trim_start().starts_with('[')
        });
        let message = if header {
            "duplicate table: this section is already defined above; merge the two"
        } else {
            "duplicate key: it is already set above in the same table"
        };
        return invalid(path, line, column, &key, message);
    }
    invalid(path, line, column, &key, message)
}

fn invalid(
    path: &Path,
    line: Option<usize>,
    column: Option<usize>,
    key: &str,
    message: &str,
) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        key: if key.is_empty() {
            String::new()
        } else {
            format!("{key}: ")
        },
        message: message.to_string(),
    }
}

impl Loaded {
    /// Wraps a config already in memory (tests, sweeps); errors then carry
    /// no line.
    pub fn from_config(config: Config, path: PathBuf) -> Self {
        Loaded {
            config,
            path,
            source: String::new(),
        }
    }

    /// An error about the dotted `key`, located in the source when written
    /// there (or at its enclosing table when it was left to its default).
    pub fn error_at(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let parts: Vec<&str> = key.split('.').collect();
        let (line, column) = match locate::offset_of(&self.source, &parts) {
            Some(off) => {
                let (l, c) = locate::line_col(&self.source, off);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        invalid(&self.path, line, column, key, &message.into())
    }

    /// Whether the config file sets the dotted `key`. A config built in
    /// memory counts as setting every key: its values were chosen by code.
    pub fn is_written(&self, key: &str) -> bool {
        let parts: Vec<&str> = key.split('.').collect();
        self.source.is_empty() || locate::has_key(&self.source, &parts)
    }

    /// The config file's text (empty for a config built in memory).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The folder relative paths in the config are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// `data.path` resolved against the config's folder. When no file is
    /// there but the path names one from the current directory (a config in
    /// `configs/` saying `datasets/iris.csv`, run from the project root),
    /// that one is used.
    pub fn data_path(&self) -> PathBuf {
        let beside = self.base_dir().join(&self.config.data.path);
        if !beside.exists() && self.config.data.path.is_relative() && self.config.data.path.exists()
        {
            return self.config.data.path.clone();
        }
        beside
    }

    /// The config with every default filled in, as TOML.
    pub fn resolved_toml(&self) -> String {
        let mut c = self.config.clone();
        c.model.hidden = Some(c.model.hidden_layers());
        if c.data.split.seed.is_none() {
            c.data.split.seed = Some(c.train.seed);
        }
        toml::to_string(&c).unwrap_or_else(|e| format!("# cannot render the config: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;

    const MINIMAL: &str = r#"[data]
path = "datasets/iris.csv"
target = "species"

[model]
kind = "mlp"
hidden = [64, 64]

[train]
epochs = 100
batch_size = 32
learning_rate = 0.001
seed = 42
"#;

    fn err(src: &str) -> String {
        parse(src, Path::new("configs/x.toml"))
            .unwrap_err()
            .to_string()
    }

    /// `[export] onnx = true` asks for model.onnx in the artifact; absent,
    /// the resolved config has no `[export]` (so artifacts keep their
    /// bytes); a wrong type or key is an error at its line.
    #[test]
    fn export_section() {
        let plain = parse(MINIMAL, Path::new("configs/x.toml")).unwrap();
        assert!(!plain.config.export_onnx());
        assert!(!plain.resolved_toml().contains("[export]"));
        let with = format!("{MINIMAL}\n[export]\nonnx = true\n");
        let l = parse(&with, Path::new("configs/x.toml")).unwrap();
        assert!(l.config.export_onnx());
        assert!(l.resolved_toml().contains("[export]\nonnx = true"));
        let e = err(&format!("{MINIMAL}\n[export]\nonnx = \"yes\"\n"));
        assert!(
            e.starts_with("configs/x.toml:") && e.contains("export.onnx"),
            "{e}"
        );
        let e = err(&format!("{MINIMAL}\n[export]\ntflite = true\n"));
        assert!(e.contains("tflite"), "{e}");
    }

    #[test]
    fn minimal_config_parses_with_defaults() {
        let l = parse(MINIMAL, Path::new("configs/iris.toml")).unwrap();
        assert_eq!(l.config.train.epochs, 100);
        assert_eq!(l.config.data.split.train, 0.7);
        assert_eq!(l.config.train.backend, Backend::Flex);
        assert_eq!(l.data_path(), PathBuf::from("configs/datasets/iris.csv"));
        let resolved = l.resolved_toml();
        assert!(resolved.contains("max_categories = 100"), "{resolved}");
        // The resolved config is itself a valid config describing the same run.
        let again = parse(&resolved, Path::new("configs/iris.toml")).unwrap();
        assert_eq!(again.config.train, l.config.train);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let src = MINIMAL.replace("seed = 42", "seed = 42\nepochz = 3");
        assert_eq!(
            err(&src),
            "configs/x.toml:14:1: train.epochz: unknown field `epochz`, expected one of `epochs`, `batch_size`, `learning_rate`, `seed`, `backend`, `optimizer`, `weight_decay`, `momentum`, `schedule`, `loss`, `huber_delta`, `class_weights`, `grad_clip`, `eval_batch_size`, `shuffle_block`, `init`, `early_stopping`"
        );
    }

    /// `train.init` is absent from the resolved config until set (so older
    /// configs keep their artifact ids), round-trips when set, and a wrong
    /// name is one line naming the key and the two choices.
    #[test]
    fn weight_init_key() {
        let l = parse(MINIMAL, Path::new("configs/x.toml")).unwrap();
        assert_eq!(l.config.train.init(), WeightInit::Uniform);
        assert!(!l.resolved_toml().contains("init"));
        let src = MINIMAL.replace("seed = 42", "seed = 42\ninit = \"glorot\"");
        let l = parse(&src, Path::new("configs/x.toml")).unwrap();
        assert_eq!(l.config.train.init(), WeightInit::Glorot);
        let again = parse(&l.resolved_toml(), Path::new("configs/x.toml")).unwrap();
        assert_eq!(again.config.train.init(), WeightInit::Glorot);
        let src = MINIMAL.replace("seed = 42", "seed = 42\ninit = \"xavier\"");
        assert_eq!(
            err(&src),
            "configs/x.toml:14:8: train.init: unknown variant `xavier`, expected `uniform` or `glorot`"
        );
    }

    #[test]
    fn wrong_type_and_negative_values() {
        let src = MINIMAL.replace("epochs = 100", "epochs = -5");
        let e = err(&src);
        assert!(e.starts_with("configs/x.toml:10:10: train.epochs: "), "{e}");
        let src = MINIMAL.replace("batch_size = 32", "batch_size = \"big\"");
        let e = err(&src);
        assert!(
            e.starts_with("configs/x.toml:11:14: train.batch_size: "),
            "{e}"
        );
    }

    #[test]
    fn impossible_values_point_at_their_line() {
        let src = MINIMAL.replace("epochs = 100", "epochs = 0");
        assert_eq!(
            err(&src),
            "configs/x.toml:10:1: train.epochs: must be at least 1"
        );
        let src = MINIMAL.replace("[model]", "[data.split]\ntrain = 0.8\n\n[model]");
        assert_eq!(
            err(&src),
            "configs/x.toml:5:7: data.split: train + valid + test must be 1, got 0.8 + 0.15 + 0.15 = 1.1"
        );
    }

    #[test]
    fn syntax_error_and_missing_target() {
        let e = err("[data\npath = 1");
        assert!(e.starts_with("configs/x.toml:1:"), "{e}");
        let e = err("[data]\npath = \"a.csv\"\n");
        assert!(e.contains("missing field `target`"), "{e}");
    }

    #[test]
    fn linear_with_hidden_is_rejected() {
        let src = MINIMAL.replace("kind = \"mlp\"", "kind = \"linear\"");
        assert_eq!(
            err(&src),
            "configs/x.toml:7:1: model.hidden: a linear model has no hidden layers; use kind = \"mlp\" or remove hidden"
        );
    }
}
