//! The `[data.schema]` contract: what a data file must look like before
//! anything is fitted. `train` stops at the first violation (a model fitted
//! on data that breaks the contract is not worth having); `check-data`
//! lists them all. The checks run on the table as read, so row numbers are
//! the file's data rows.

use std::collections::HashSet;
use std::path::Path;

use anneal_config::{ColumnSchema, SchemaConfig, SchemaType};
use polars::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::extract;
use crate::prepare::toml_key;

/// One way the data breaks the schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// Stable: `row_count`, `missing_column`, `unexpected_column`, `type`,
    /// `null`, `range` or `allowed`. Tools match on it; the message is for
    /// people.
    pub code: &'static str,
    pub column: Option<String>,
    /// Offending cells; for `row_count` the rows the file has, for a
    /// missing or unexpected column 1 (the column).
    pub count: u64,
    /// The first offending data row, 1-based (header excluded).
    pub first_row: Option<u64>,
    /// One line naming the column, how many cells, the first offending row
    /// and value, and the schema key to look at.
    pub message: String,
}

/// Every violation of `schema` by `df`, in a fixed order: row count, missing
/// columns, unexpected columns (strict), then per schema column (by name)
/// type, missing cells, range and allowed values. `path` is only used for
/// errors polars itself raises.
pub fn violations(df: &DataFrame, schema: &SchemaConfig, path: &Path) -> Result<Vec<Violation>> {
    let mut out = Vec::new();
    let rows = df.height() as u64;
    if let Some(min) = schema.min_rows
        && rows < min
    {
        out.push(Violation {
            code: "row_count",
            column: None,
            count: rows,
            first_row: None,
            message: format!(
                "the file has {}, fewer than the minimum {min} [data.schema.min_rows]",
                plural(rows, "row", "rows")
            ),
        });
    }
    if let Some(max) = schema.max_rows
        && rows > max
    {
        out.push(Violation {
            code: "row_count",
            column: None,
            count: rows,
            first_row: None,
            message: format!(
                "the file has {}, more than the maximum {max} [data.schema.max_rows]",
                plural(rows, "row", "rows")
            ),
        });
    }
    let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    for name in schema.columns.keys() {
        if !names.contains(&name.as_str()) {
            out.push(Violation {
                code: "missing_column",
                column: Some(name.clone()),
                count: 1,
                first_row: None,
                message: format!(
                    "column {name:?} is missing; the columns are: {} [{}]",
                    names.join(", "),
                    key(name, None)
                ),
            });
        }
    }
    if schema.strict {
        for name in &names {
            if !schema.columns.contains_key(*name) {
                out.push(Violation {
                    code: "unexpected_column",
                    column: Some(name.to_string()),
                    count: 1,
                    first_row: None,
                    message: format!(
                        "column {name:?} is not in the schema, which is strict [data.schema.strict]"
                    ),
                });
            }
        }
    }
    for (name, rules) in &schema.columns {
        if let Ok(col) = df.column(name) {
            check_column(col, name, rules, path, &mut out)?;
        }
    }
    Ok(out)
}

/// `data.schema.columns.<name>[.<field>]`, with the name quoted when TOML
/// needs it, so the key can be searched for in the config.
fn key(name: &str, field: Option<&str>) -> String {
    match field {
        Some(f) => format!("data.schema.columns.{}.{f}", toml_key(name)),
        None => format!("data.schema.columns.{}", toml_key(name)),
    }
}

pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The first offending cell and how many there are.
#[derive(Default)]
struct Tally {
    count: u64,
    first: Option<(usize, String)>,
}

impl Tally {
    fn add(&mut self, i: usize, value: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((i, value()));
        }
    }

    /// A violation when any cell offended: `what` is the sentence after the
    /// count (`("value is not a number", "values are not numbers")`).
    fn report(
        self,
        code: &'static str,
        name: &str,
        what: (&str, &str),
        field: &str,
        out: &mut Vec<Violation>,
    ) {
        let Some((i, value)) = self.first else {
            return;
        };
        let row = extract::row_number(None, i);
        let first = if value.is_empty() {
            format!("first: row {row}")
        } else {
            format!("first: row {row}, value {value}")
        };
        out.push(Violation {
            code,
            column: Some(name.to_string()),
            count: self.count,
            first_row: Some(row),
            message: format!(
                "column {name:?}: {} ({first}) [{}]",
                plural(self.count, what.0, what.1),
                key(name, Some(field))
            ),
        });
    }
}

/// A text cell as shown in messages: quoted, and cut when long.
fn quoted(s: &str) -> String {
    format!("{:?}", extract::truncate(s))
}

fn is_whole(x: f64) -> bool {
    x.is_finite() && x.fract() == 0.0
}

fn check_column(
    col: &Column,
    name: &str,
    rules: &ColumnSchema,
    path: &Path,
    out: &mut Vec<Violation>,
) -> Result<()> {
    check_type(col, name, rules, path, out)?;
    if !rules.nullable {
        check_nulls(col, name, path, out)?;
    }
    if rules.min.is_some() || rules.max.is_some() {
        check_range(col, name, rules, path, out)?;
    }
    if let Some(allowed) = &rules.allowed {
        check_allowed(col, name, allowed, path, out)?;
    }
    Ok(())
}

/// The cells of `col` (as text) for which `bad` holds.
fn text_tally(col: &Column, path: &Path, bad: impl Fn(&str) -> bool) -> Result<Tally> {
    let mut t = Tally::default();
    for (i, v) in extract::text(col, path)?.iter().enumerate() {
        if let Some(s) = v
            && bad(s)
        {
            t.add(i, || quoted(s));
        }
    }
    Ok(t)
}

/// Type. Text that reads as the declared type passes: a CSV column with a
/// stray quote or a "1.0" is still the declared type.
fn check_type(
    col: &Column,
    name: &str,
    rules: &ColumnSchema,
    path: &Path,
    out: &mut Vec<Violation>,
) -> Result<()> {
    let dtype = col.dtype();
    let (tally, what) = match rules.kind {
        Some(SchemaType::Numeric) if !dtype.is_primitive_numeric() => (
            text_tally(col, path, |s| extract::parse_number(s).is_none())?,
            ("value is not a number", "values are not numbers"),
        ),
        Some(SchemaType::Integer) if !dtype.is_integer() => {
            let tally = if dtype.is_float() {
                let mut t = Tally::default();
                for (i, v) in floats(col, path)?.iter().enumerate() {
                    if let Some(x) = v
                        && !x.is_nan()
                        && !is_whole(*x)
                    {
                        t.add(i, || x.to_string());
                    }
                }
                t
            } else {
                text_tally(col, path, |s| {
                    !extract::parse_number(s).is_some_and(is_whole)
                })?
            };
            (
                tally,
                (
                    "value is not a whole number",
                    "values are not whole numbers",
                ),
            )
        }
        Some(SchemaType::Boolean) if *dtype != DataType::Boolean => (
            text_tally(col, path, |s| {
                let t = s.trim();
                !(t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false"))
            })?,
            ("value is not true or false", "values are not true or false"),
        ),
        _ => return Ok(()),
    };
    tally.report("type", name, what, "type", out);
    Ok(())
}

/// Missing cells, NaN included for floats (as everywhere in anneal).
fn check_nulls(col: &Column, name: &str, path: &Path, out: &mut Vec<Violation>) -> Result<()> {
    let mut t = Tally::default();
    if col.dtype().is_float() {
        for (i, v) in floats(col, path)?.iter().enumerate() {
            if v.is_none_or(f64::is_nan) {
                t.add(i, String::new);
            }
        }
    } else if col.null_count() > 0 {
        let nulls = col.is_null();
        for (i, v) in nulls.iter().enumerate() {
            if v == Some(true) {
                t.add(i, String::new);
            }
        }
    }
    t.report(
        "null",
        name,
        ("missing value", "missing values"),
        "nullable",
        out,
    );
    Ok(())
}

/// Range, over the cells that read as numbers (the others are type
/// violations already).
fn check_range(
    col: &Column,
    name: &str,
    rules: &ColumnSchema,
    path: &Path,
    out: &mut Vec<Violation>,
) -> Result<()> {
    let values = lenient_numbers(col, path)?;
    let mut below = Tally::default();
    let mut above = Tally::default();
    for (i, v) in values.iter().enumerate() {
        let Some(x) = *v else { continue };
        if rules.min.is_some_and(|m| x < m) {
            below.add(i, || x.to_string());
        }
        if rules.max.is_some_and(|m| x > m) {
            above.add(i, || x.to_string());
        }
    }
    if let Some(min) = rules.min {
        below.report(
            "range",
            name,
            (
                &format!("value below the minimum {min}"),
                &format!("values below the minimum {min}"),
            ),
            "min",
            out,
        );
    }
    if let Some(max) = rules.max {
        above.report(
            "range",
            name,
            (
                &format!("value above the maximum {max}"),
                &format!("values above the maximum {max}"),
            ),
            "max",
            out,
        );
    }
    Ok(())
}

/// Allowed values, compared as text.
fn check_allowed(
    col: &Column,
    name: &str,
    allowed: &[String],
    path: &Path,
    out: &mut Vec<Violation>,
) -> Result<()> {
    let set: HashSet<&str> = allowed.iter().map(String::as_str).collect();
    let tally = text_tally(col, path, |s| !set.contains(s))?;
    let list = allowed_list(allowed);
    tally.report(
        "allowed",
        name,
        (
            &format!("value is not among the allowed {list}"),
            &format!("values are not among the allowed {list}"),
        ),
        "allowed",
        out,
    );
    Ok(())
}

/// The allowed values for a message: all when few, else the first five.
fn allowed_list(allowed: &[String]) -> String {
    const SHOWN: usize = 5;
    let shown: Vec<String> = allowed.iter().take(SHOWN).map(|s| quoted(s)).collect();
    if allowed.len() > SHOWN {
        format!("{}, … ({} in all)", shown.join(", "), allowed.len())
    } else {
        shown.join(", ")
    }
}

/// A float column's values (NaN kept: callers decide what it means).
fn floats(col: &Column, path: &Path) -> Result<Vec<Option<f64>>> {
    let cast = col
        .cast(&DataType::Float64)
        .map_err(|e| extract::polars_err(path, e))?;
    Ok(cast
        .f64()
        .map_err(|e| extract::polars_err(path, e))?
        .iter()
        .collect())
}

/// The numbers in a column of any type: numbers as they are, booleans as
/// 0/1, text cells that parse; NaN and everything else `None`. Infinities
/// are kept (they are out of any finite range).
pub(crate) fn lenient_numbers(col: &Column, path: &Path) -> Result<Vec<Option<f64>>> {
    let values = match col.dtype() {
        d if d.is_primitive_numeric() => floats(col, path)?,
        DataType::Boolean => col
            .bool()
            .map_err(|e| extract::polars_err(path, e))?
            .iter()
            .map(|v| v.map(|b| if b { 1.0 } else { 0.0 }))
            .collect(),
        _ => extract::text(col, path)?
            .iter()
            .map(|v| v.and_then(extract::parse_number))
            .collect(),
    };
    Ok(values
        .into_iter()
        .map(|v| v.filter(|x| !x.is_nan()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rules(kind: Option<SchemaType>) -> ColumnSchema {
        ColumnSchema {
            kind,
            nullable: true,
            min: None,
            max: None,
            allowed: None,
        }
    }

    fn frame() -> DataFrame {
        df!(
            "age" => [Some(30.0), Some(130.0), None, Some(-1.0), Some(125.5), Some(f64::NAN)],
            "n" => [Some(1.0), Some(2.5), Some(3.0), None, Some(4.0), Some(7.25)],
            "sex" => [Some("male"), Some("female"), Some("unknown"), Some("male"), None, Some("x")],
            "flag" => ["TRUE", "false", "yes", "False", "true", "no"],
            "num_text" => ["1", "2", "two", " 3 ", "4", "5"],
            "count" => [1i64, 2, 3, 4, 5, 6],
        )
        .unwrap()
    }

    fn messages(schema: &SchemaConfig) -> Vec<(&'static str, String)> {
        violations(&frame(), schema, Path::new("d.csv"))
            .unwrap()
            .into_iter()
            .map(|v| (v.code, v.message))
            .collect()
    }

    fn one(name: &str, r: ColumnSchema) -> SchemaConfig {
        SchemaConfig {
            columns: BTreeMap::from([(name.to_string(), r)]),
            ..SchemaConfig::default()
        }
    }

    #[test]
    fn a_clean_frame_has_no_violations() {
        let mut columns = BTreeMap::new();
        columns.insert("count".to_string(), {
            let mut r = rules(Some(SchemaType::Integer));
            r.nullable = false;
            r.min = Some(1.0);
            r.max = Some(6.0);
            r
        });
        columns.insert("age".to_string(), rules(Some(SchemaType::Numeric)));
        columns.insert("sex".to_string(), rules(Some(SchemaType::String)));
        columns.insert("n".to_string(), rules(None));
        columns.insert("flag".to_string(), rules(None));
        columns.insert("num_text".to_string(), rules(None));
        let schema = SchemaConfig {
            min_rows: Some(6),
            max_rows: Some(6),
            strict: true,
            columns,
        };
        assert_eq!(messages(&schema), vec![]);
    }

    #[test]
    fn row_count_and_columns() {
        let schema = SchemaConfig {
            min_rows: Some(10),
            strict: true,
            columns: BTreeMap::from([
                ("age".to_string(), rules(None)),
                ("weight".to_string(), rules(None)),
            ]),
            ..SchemaConfig::default()
        };
        let v = violations(&frame(), &schema, Path::new("d.csv")).unwrap();
        let got: Vec<(&str, Option<&str>, u64, String)> = v
            .iter()
            .map(|v| (v.code, v.column.as_deref(), v.count, v.message.clone()))
            .collect();
        assert_eq!(
            got[..3],
            [
                (
                    "row_count",
                    None,
                    6,
                    "the file has 6 rows, fewer than the minimum 10 [data.schema.min_rows]"
                        .to_string()
                ),
                (
                    "missing_column",
                    Some("weight"),
                    1,
                    "column \"weight\" is missing; the columns are: age, n, sex, flag, num_text, count [data.schema.columns.weight]".to_string()
                ),
                (
                    "unexpected_column",
                    Some("n"),
                    1,
                    "column \"n\" is not in the schema, which is strict [data.schema.strict]"
                        .to_string()
                ),
            ]
        );
        assert_eq!(v.len(), 7, "{v:?}");
        let schema = SchemaConfig {
            max_rows: Some(5),
            ..SchemaConfig::default()
        };
        assert_eq!(
            messages(&schema),
            vec![(
                "row_count",
                "the file has 6 rows, more than the maximum 5 [data.schema.max_rows]".to_string()
            )]
        );
    }

    #[test]
    fn types() {
        let m = messages(&one("num_text", rules(Some(SchemaType::Numeric))));
        assert_eq!(
            m,
            vec![(
                "type",
                "column \"num_text\": 1 value is not a number (first: row 3, value \"two\") [data.schema.columns.num_text.type]".to_string()
            )]
        );
        let m = messages(&one("n", rules(Some(SchemaType::Integer))));
        assert_eq!(
            m,
            vec![(
                "type",
                "column \"n\": 2 values are not whole numbers (first: row 2, value 2.5) [data.schema.columns.n.type]".to_string()
            )]
        );
        let m = messages(&one("flag", rules(Some(SchemaType::Boolean))));
        assert_eq!(
            m,
            vec![(
                "type",
                "column \"flag\": 2 values are not true or false (first: row 3, value \"yes\") [data.schema.columns.flag.type]".to_string()
            )]
        );
        // Text holding whole numbers is an integer column; text holding
        // words is not numeric; a numeric column is not boolean.
        assert!(messages(&one("count", rules(Some(SchemaType::Integer)))).is_empty());
        let m = messages(&one("sex", rules(Some(SchemaType::Integer))));
        assert_eq!(
            m[0].1,
            "column \"sex\": 5 values are not whole numbers (first: row 1, value \"male\") [data.schema.columns.sex.type]"
        );
        let m = messages(&one("count", rules(Some(SchemaType::Boolean))));
        assert_eq!(
            m[0].1,
            "column \"count\": 6 values are not true or false (first: row 1, value \"1\") [data.schema.columns.count.type]"
        );
    }

    #[test]
    fn nulls_ranges_and_allowed() {
        let mut r = rules(Some(SchemaType::Numeric));
        r.nullable = false;
        r.min = Some(0.0);
        r.max = Some(120.0);
        let v = violations(&frame(), &one("age", r), Path::new("d.csv")).unwrap();
        let got: Vec<(&str, u64, Option<u64>, &str)> = v
            .iter()
            .map(|v| (v.code, v.count, v.first_row, v.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "null",
                    2,
                    Some(3),
                    "column \"age\": 2 missing values (first: row 3) [data.schema.columns.age.nullable]"
                ),
                (
                    "range",
                    1,
                    Some(4),
                    "column \"age\": 1 value below the minimum 0 (first: row 4, value -1) [data.schema.columns.age.min]"
                ),
                (
                    "range",
                    2,
                    Some(2),
                    "column \"age\": 2 values above the maximum 120 (first: row 2, value 130) [data.schema.columns.age.max]"
                ),
            ]
        );
        let mut r = rules(None);
        r.nullable = false;
        r.allowed = Some(vec!["female".into(), "male".into()]);
        let m = messages(&one("sex", r));
        assert_eq!(
            m,
            vec![
                (
                    "null",
                    "column \"sex\": 1 missing value (first: row 5) [data.schema.columns.sex.nullable]".to_string()
                ),
                (
                    "allowed",
                    "column \"sex\": 2 values are not among the allowed \"female\", \"male\" (first: row 3, value \"unknown\") [data.schema.columns.sex.allowed]".to_string()
                ),
            ]
        );
        // Numbers are compared as polars writes them; odd names are quoted
        // in the key.
        let df = df!("my col" => [1i64, 2, 3]).unwrap();
        let mut r = rules(None);
        r.allowed = Some(vec!["1".into(), "2".into()]);
        let v = violations(&df, &one("my col", r), Path::new("d.csv")).unwrap();
        assert_eq!(
            v[0].message,
            "column \"my col\": 1 value is not among the allowed \"1\", \"2\" (first: row 3, value \"3\") [data.schema.columns.\"my col\".allowed]"
        );
    }
}
