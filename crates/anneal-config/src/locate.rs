//! Maps between byte offsets in a TOML document and dotted key paths, so that
//! errors found after deserialisation still point at a line.

use toml::de::{DeTable, DeValue};

/// 1-based line and column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The byte offset of the key at `path` (e.g. `["train", "epochs"]`), or of
/// the deepest table on the way that exists.
pub fn offset_of(source: &str, path: &[&str]) -> Option<usize> {
    let root = DeTable::parse(source).ok()?;
    let mut table = root.get_ref();
    let mut best = None;
    for part in path {
        // `slices[2]` names an array element; point at the array's key.
        let part = part.split('[').next().unwrap_or(part);
        let Some((key, value)) = table.get_key_value(part) else {
            break;
        };
        best = Some(key.span().start);
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    best
}

/// Whether the key at `path` is written in `source` (not only a table on
/// the way to it).
pub fn has_key(source: &str, path: &[&str]) -> bool {
    let Ok(root) = DeTable::parse(source) else {
        return false;
    };
    let mut table = root.get_ref();
    for (i, part) in path.iter().enumerate() {
        let Some(value) = table.get(*part) else {
            return false;
        };
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return i + 1 == path.len(),
        }
    }
    true
}

/// The dotted path of the innermost key whose key or value span holds
/// `offset`.
pub fn path_at(source: &str, offset: usize) -> Option<String> {
    let root = DeTable::parse(source).ok()?;
    let mut path = Vec::new();
    if find(root.get_ref(), offset, &mut path) {
        Some(path.join("."))
    } else {
        None
    }
}

/// The dotted key written on the line of `offset`, read from the text
/// alone: for documents that do not parse (a syntax error, a duplicate key),
/// where [`path_at`] cannot help. A key line gives its table's name and the
/// key (`train.seed`), a `[table]` header its name; anything else, `None`.
pub fn path_near(source: &str, offset: usize) -> Option<String> {
    let offset = floor_char_boundary(source, offset.min(source.len()));
    let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = source[line_start..].lines().next().unwrap_or_default();
    let header = |l: &str| -> Option<String> {
        let l = l.trim_start();
        let inner = l.strip_prefix("[[").or_else(|| l.strip_prefix('['))?;
        let name = inner.split(']').next().unwrap_or(inner);
        let name = name.split('#').next().unwrap_or(name).trim();
        plain_key(name).then(|| name.replace(' ', ""))
    };
    if line.trim_start().starts_with('[') {
        return header(line);
    }
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    if !plain_key(key) || key.is_empty() {
        return None;
    }
    let key = key.replace(' ', "");
    let table = source[..line_start]
        .lines()
        .rev()
        .filter(|l| l.trim_start().starts_with('['))
        .find_map(header);
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key,
    })
}

/// Text that can be a (dotted, possibly quoted) TOML key.
fn plain_key(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-. \"'".contains(c))
}

/// Depth-first search for the key (or leaf value) spanning `offset`.
/// Table spans do not always cover their keys (a `[table]` header is
/// separate from its body), so every table is searched.
fn find(table: &DeTable, offset: usize, path: &mut Vec<String>) -> bool {
    for (key, value) in table.iter() {
        path.push(key.get_ref().to_string());
        if let DeValue::Table(t) = value.get_ref()
            && find(t, offset, path)
        {
            return true;
        }
        if key.span().contains(&offset) || value.span().contains(&offset) {
            return true;
        }
        path.pop();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "[data]\npath = \"x.csv\"\n\n[train]\nepochs = 5\n";

    #[test]
    fn finds_lines_and_paths() {
        let off = offset_of(DOC, &["train", "epochs"]).unwrap();
        assert_eq!(line_col(DOC, off), (5, 1));
        assert_eq!(path_at(DOC, off).as_deref(), Some("train.epochs"));
        // A key that is not written points at its table.
        let off = offset_of(DOC, &["train", "nope"]).unwrap();
        assert_eq!(line_col(DOC, off).0, 4);
    }

    #[test]
    fn finds_keys_in_documents_that_do_not_parse() {
        let doc = "[data]\npath = \"x.csv\"\n\n[train]\nepochs = 5\nepochs = 6\nseed = \n[train\n";
        let at = |s: &str| path_near(doc, doc.find(s).unwrap());
        assert_eq!(at("epochs = 6").as_deref(), Some("train.epochs"));
        assert_eq!(at("seed").as_deref(), Some("train.seed"));
        assert_eq!(at("path").as_deref(), Some("data.path"));
        assert_eq!(at("[train\n").as_deref(), Some("train"));
        assert_eq!(path_near("a = [\n  1,\n  x\n]\n", 12), None);
    }
}
