//! Model names, aliases and version references.

use std::fmt;
use std::str::FromStr;

use crate::error::{RegistryError, Result};

/// The shortest id prefix a reference may use.
pub const MIN_ID_PREFIX: usize = 8;

/// Checks a model name or alias: 1 to 64 characters from `[A-Za-z0-9._-]`,
/// not starting with `.` (names starting with `.` are the registry's own
/// lock and temporary files). `what` names the value in the error
/// ("model name", "alias").
pub fn validate_name(what: &'static str, value: &str) -> Result<()> {
    let ok = (1..=64).contains(&value.len())
        && !value.starts_with('.')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(RegistryError::BadName {
            what,
            value: value.to_string(),
        })
    }
}

/// Which version of a model a reference picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `NAME`: the latest (highest-numbered) version.
    Latest,
    /// `NAME@ALIAS`.
    Alias(String),
    /// `NAME:vN`.
    Number(u32),
    /// `NAME:<hex>`: a unique prefix (at least 8 characters, lowercase) of
    /// the artifact id.
    Id(String),
}

/// A parsed reference: `NAME`, `NAME@ALIAS`, `NAME:vN` or `NAME:<id prefix>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub selector: Selector,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference> {
        let bad = |reason: String| RegistryError::BadReference {
            reference: text.to_string(),
            reason,
        };
        if let Some((name, alias)) = text.split_once('@') {
            validate_name("model name", name)?;
            validate_name("alias", alias)?;
            return Ok(Reference {
                name: name.to_string(),
                selector: Selector::Alias(alias.to_string()),
            });
        }
        let Some((name, version)) = text.split_once(':') else {
            validate_name("model name", text)?;
            return Ok(Reference {
                name: text.to_string(),
                selector: Selector::Latest,
            });
        };
        validate_name("model name", name)?;
        if let Some(digits) = version.strip_prefix('v')
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            return match digits.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(Reference {
                    name: name.to_string(),
                    selector: Selector::Number(n),
                }),
                _ => Err(bad(format!(
                    "versions are numbered v1, v2, ...; {version} is not one"
                ))),
            };
        }
        if !version.is_empty() && version.bytes().all(|b| b.is_ascii_hexdigit()) {
            if version.len() < MIN_ID_PREFIX {
                return Err(bad(format!(
                    "an id prefix needs at least {MIN_ID_PREFIX} hex characters, {version} has {}",
                    version.len()
                )));
            }
            if version.len() > 64 {
                return Err(bad("an id has 64 hex characters".into()));
            }
            return Ok(Reference {
                name: name.to_string(),
                selector: Selector::Id(version.to_ascii_lowercase()),
            });
        }
        Err(bad(format!(
            "after ':' give vN (a version number) or at least {MIN_ID_PREFIX} hex characters of the id"
        )))
    }
}

impl FromStr for Reference {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Reference> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            Selector::Latest => write!(f, "{}", self.name),
            Selector::Alias(a) => write!(f, "{}@{a}", self.name),
            Selector::Number(n) => write!(f, "{}:v{n}", self.name),
            Selector::Id(p) => write!(f, "{}:{p}", self.name),
        }
    }
}

/// Splits `NAME@ALIAS` (what `alias` sets or deletes), checking both parts.
pub fn parse_alias_ref(text: &str) -> Result<(String, String)> {
    let Some((name, alias)) = text.split_once('@') else {
        return Err(RegistryError::BadReference {
            reference: text.to_string(),
            reason: "an alias is written NAME@ALIAS".into(),
        });
    };
    validate_name("model name", name)?;
    validate_name("alias", alias)?;
    Ok((name.to_string(), alias.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["iris", "a", "A-b_c.9", &"x".repeat(64), "v1", "champion"] {
            validate_name("model name", ok).unwrap();
        }
        for bad in [
            "",
            ".hidden",
            "a b",
            "a/b",
            "é",
            &"x".repeat(65),
            "a@b",
            "a:b",
        ] {
            assert!(validate_name("model name", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            validate_name("alias", "a b").unwrap_err().to_string(),
            "bad alias \"a b\": use 1 to 64 characters from A-Z a-z 0-9 . _ - (not starting with '.')"
        );
    }

    #[test]
    fn references() {
        let r = |s: &str| Reference::parse(s).unwrap();
        assert_eq!(r("iris").selector, Selector::Latest);
        assert_eq!(
            r("iris@champion").selector,
            Selector::Alias("champion".into())
        );
        assert_eq!(r("iris:v12").selector, Selector::Number(12));
        assert_eq!(r("iris:ABCDEF12").selector, Selector::Id("abcdef12".into()));
        for s in ["iris", "iris@champion", "iris:v3", "iris:0123abcd"] {
            assert_eq!(r(s).to_string(), s);
        }
        let e = |s: &str| Reference::parse(s).unwrap_err().to_string();
        assert_eq!(
            e("iris:abc"),
            "bad reference \"iris:abc\": an id prefix needs at least 8 hex characters, abc has 3"
        );
        assert_eq!(
            e("iris:v0"),
            "bad reference \"iris:v0\": versions are numbered v1, v2, ...; v0 is not one"
        );
        assert_eq!(
            e("iris:latest"),
            "bad reference \"iris:latest\": after ':' give vN (a version number) or at least 8 hex characters of the id"
        );
        assert!(e("iris@").starts_with("bad alias \"\""));
        assert!(e("@x").starts_with("bad model name \"\""));
        assert!(e("a b").starts_with("bad model name \"a b\""));
        assert_eq!(
            parse_alias_ref("iris").unwrap_err().to_string(),
            "bad reference \"iris\": an alias is written NAME@ALIAS"
        );
    }
}
