//! `predictions.csv`: per evaluated row, its file row (1-based), split,
//! true value, prediction, every class probability (`proba_<label>`, for
//! classifiers) and the raw values of the `[eval] slices` columns
//! (`slice:<column>`, empty for a missing cell). `train` and `eval` write
//! it with [`render`]; `anneal gate` reads one split back with
//! [`read_split`] to compare a candidate with a baseline row by row.
//!
//! The file has no version field: its header is its layout, and the
//! reader names the column it misses.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anneal_data::{SplitData, TargetSpec, Targets};
use anneal_eval::{Predictions, Scored, predictions_from_outputs};
use polars::prelude::*;

use crate::dvc::csv_field;

/// The text of `predictions.csv` for the evaluated `splits`: each a name,
/// its rows and the model's raw outputs on them.
pub fn render(target: &TargetSpec, splits: &[(&str, &SplitData, Vec<f32>)]) -> String {
    let mut s = String::from("row,split,target,prediction");
    if let TargetSpec::Classes { labels, .. } = target {
        for l in labels {
            let _ = write!(s, ",{}", csv_field(&format!("proba_{l}")));
        }
    }
    // The [eval] slice columns' raw values (empty for a missing cell), so
    // that `anneal gate` can compare per-slice figures with a baseline.
    let slice_names: Vec<&str> = splits
        .first()
        .map(|(_, d, _)| d.slices.iter().map(|c| c.column.as_str()).collect())
        .unwrap_or_default();
    for name in &slice_names {
        let _ = write!(s, ",{}", csv_field(&format!("slice:{name}")));
    }
    s.push('\n');
    for (name, split, outputs) in splits {
        render_split(
            &mut s,
            name,
            split,
            predictions_from_outputs(outputs, target),
            target,
        );
    }
    s
}

/// The lines of one split.
fn render_split(
    s: &mut String,
    name: &str,
    split: &SplitData,
    predictions: Predictions,
    target: &TargetSpec,
) {
    let slices_of = |i: usize, s: &mut String| {
        for col in &split.slices {
            let v = col.values.get(i).cloned().flatten().unwrap_or_default();
            let _ = write!(s, ",{}", csv_field(&v));
        }
    };
    match (predictions, target, &split.y) {
        (
            Predictions::Classes { proba, k },
            TargetSpec::Classes { labels, .. },
            Targets::Classes(y),
        ) => {
            let best = anneal_eval::metrics::argmax_rows(&proba, k);
            for i in 0..split.len() {
                let _ = write!(
                    s,
                    "{},{name},{},{}",
                    split.rows[i] + 1,
                    csv_field(&labels[y[i] as usize]),
                    csv_field(&labels[best[i]])
                );
                for j in 0..k {
                    let _ = write!(s, ",{}", proba[i * k + j]);
                }
                slices_of(i, s);
                s.push('\n');
            }
        }
        (Predictions::Values(v), _, Targets::Values { raw, .. }) => {
            for i in 0..split.len() {
                let _ = write!(s, "{},{name},{},{}", split.rows[i] + 1, raw[i], v[i]);
                slices_of(i, s);
                s.push('\n');
            }
        }
        _ => {}
    }
}

/// One split's evaluated rows: their 1-based file rows, the truths and
/// predictions, and the slice values (`(missing)` for a missing cell).
#[derive(Debug, Clone, PartialEq)]
pub struct SplitRows {
    pub rows: Vec<u64>,
    pub scored: Scored,
    /// Slice column -> value per row.
    pub slices: BTreeMap<String, Vec<String>>,
}

impl SplitRows {
    /// Row positions per value of slice `column`, values sorted.
    pub fn groups(&self, column: &str) -> Option<BTreeMap<String, Vec<usize>>> {
        let values = self.slices.get(column)?;
        let mut g: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, v) in values.iter().enumerate() {
            g.entry(v.clone()).or_default().push(i);
        }
        Some(g)
    }
}

/// Why a `predictions.csv` cannot be read back. The caller adds what it
/// needed the file for.
#[derive(Debug, thiserror::Error)]
pub enum PredictionsError {
    /// The file cannot be opened or parsed as CSV.
    #[error("cannot read {}: {reason}", path.display())]
    Open { path: PathBuf, reason: String },
    /// The file is CSV but not what anneal writes (a missing column, a
    /// value that is not a number, a label the report does not know).
    #[error("{}: {what}", path.display())]
    Content { path: PathBuf, what: String },
}

type Result<T> = std::result::Result<T, PredictionsError>;

/// The file's columns as text, and its path for errors.
struct Table {
    path: PathBuf,
    df: DataFrame,
}

impl Table {
    fn open(path: &Path) -> Result<Table> {
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(|e| PredictionsError::Open {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(Table {
            path: path.to_path_buf(),
            df,
        })
    }

    fn bad(&self, what: String) -> PredictionsError {
        PredictionsError::Content {
            path: self.path.clone(),
            what,
        }
    }

    fn text(&self, name: &str) -> Result<Vec<Option<String>>> {
        let col = self
            .df
            .column(name)
            .map_err(|_| self.bad(format!("no column {name:?}")))?;
        let ca = col
            .str()
            .map_err(|e| self.bad(format!("column {name:?}: {e}")))?;
        Ok(ca.iter().map(|v| v.map(str::to_string)).collect())
    }

    /// The number in column `name` at data line `line` (0-based).
    fn number(&self, name: &str, line: usize, v: &Option<String>) -> Result<f64> {
        v.as_deref()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(|| {
                self.bad(format!(
                    "line {}: column {name:?} holds {:?}, expected a number",
                    line + 2,
                    v.as_deref().unwrap_or("")
                ))
            })
    }
}

/// Reads the rows of `split` from the `predictions.csv` at `path`.
/// Classification rows (when `labels` is given: the report's labels) are
/// mapped to class indices.
pub fn read_split(path: &Path, split: &str, labels: Option<&[String]>) -> Result<SplitRows> {
    let t = Table::open(path)?;
    let keep = lines_of_split(&t, split)?;
    let row_col = t.text("row")?;
    let mut rows = Vec::with_capacity(keep.len());
    for &i in &keep {
        rows.push(t.number("row", i, &row_col[i])? as u64);
    }
    let scored = match labels {
        Some(labels) => read_classes(&t, &keep, labels)?,
        None => read_values(&t, &keep)?,
    };
    let slices = read_slices(&t, &keep)?;
    Ok(SplitRows {
        rows,
        scored,
        slices,
    })
}

/// The data lines (0-based) of `split`; none is an error.
fn lines_of_split(t: &Table, split: &str) -> Result<Vec<usize>> {
    let keep: Vec<usize> = t
        .text("split")?
        .iter()
        .enumerate()
        .filter(|(_, s)| s.as_deref() == Some(split))
        .map(|(i, _)| i)
        .collect();
    if keep.is_empty() {
        return Err(t.bad(format!("no row of split {split:?}")));
    }
    Ok(keep)
}

fn read_classes(t: &Table, keep: &[usize], labels: &[String]) -> Result<Scored> {
    let target = t.text("target")?;
    let index: HashMap<&str, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let k = labels.len();
    let proba_cols: Vec<Vec<Option<String>>> = labels
        .iter()
        .map(|l| t.text(&format!("proba_{l}")))
        .collect::<Result<_>>()?;
    let mut y = Vec::with_capacity(keep.len());
    let mut proba = Vec::with_capacity(keep.len() * k);
    for &i in keep {
        let v = target[i].as_deref().unwrap_or("");
        y.push(*index.get(v).ok_or_else(|| {
            t.bad(format!(
                "line {}: target {v:?} is not one of the report's labels",
                i + 2
            ))
        })?);
        for (j, col) in proba_cols.iter().enumerate() {
            proba.push(t.number(&format!("proba_{}", labels[j]), i, &col[i])?);
        }
    }
    Ok(Scored::Classes { y, proba, k })
}

fn read_values(t: &Table, keep: &[usize]) -> Result<Scored> {
    let target = t.text("target")?;
    let pred = t.text("prediction")?;
    let mut y = Vec::with_capacity(keep.len());
    let mut p = Vec::with_capacity(keep.len());
    for &i in keep {
        y.push(t.number("target", i, &target[i])?);
        p.push(t.number("prediction", i, &pred[i])?);
    }
    Ok(Scored::Values { y, pred: p })
}

/// Every `slice:<column>` column's values on the kept lines.
fn read_slices(t: &Table, keep: &[usize]) -> Result<BTreeMap<String, Vec<String>>> {
    let mut slices = BTreeMap::new();
    for name in t.df.get_column_names() {
        if let Some(column) = name.as_str().strip_prefix("slice:") {
            let values = t.text(name.as_str())?;
            slices.insert(
                column.to_string(),
                keep.iter()
                    .map(|&i| {
                        values[i]
                            .clone()
                            .unwrap_or_else(|| anneal_eval::evaluate::MISSING_SLICE.to_string())
                    })
                    .collect(),
            );
        }
    }
    Ok(slices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anneal_data::preprocess::ValueType;
    use anneal_data::{Matrix, SliceColumn};

    fn split(y: Targets, rows: Vec<u64>, colour: Vec<Option<&str>>) -> SplitData {
        SplitData {
            x: Matrix::Memory(Vec::new()),
            y,
            rows,
            slices: vec![SliceColumn {
                column: "colour".into(),
                values: colour.into_iter().map(|v| v.map(str::to_string)).collect(),
            }],
        }
    }

    fn write(dir: &str, text: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("anneal-pred-{dir}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("predictions.csv");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn classes_read_back_as_written() {
        let labels = vec!["no".to_string(), "yes, really".to_string()];
        let target = TargetSpec::Classes {
            column: "y".into(),
            labels: labels.clone(),
            label_type: ValueType::String,
        };
        let valid = split(
            Targets::Classes(vec![1, 0]),
            vec![4, 0],
            vec![Some("red"), None],
        );
        let test = split(Targets::Classes(vec![0]), vec![7], vec![Some("blue")]);
        // Logits (0, ln 3) give probabilities 0.25 and 0.75.
        let ln3 = 3f32.ln();
        let text = render(
            &target,
            &[
                ("valid", &valid, vec![0.0, ln3, ln3, 0.0]),
                ("test", &test, vec![0.0, 0.0]),
            ],
        );
        assert!(text.starts_with(
            "row,split,target,prediction,proba_no,\"proba_yes, really\",slice:colour\n5,valid,\"yes, really\",\"yes, really\","
        ));
        let path = write("classes", &text);
        let r = read_split(&path, "valid", Some(&labels)).unwrap();
        assert_eq!(r.rows, vec![5, 1]);
        let Scored::Classes { y, proba, k } = &r.scored else {
            panic!("classes expected");
        };
        assert_eq!((y.as_slice(), *k), (&[1, 0][..], 2));
        let expected = match predictions_from_outputs(&[0.0, ln3, ln3, 0.0], &target) {
            Predictions::Classes { proba, .. } => proba,
            Predictions::Values(_) => unreachable!(),
        };
        assert_eq!(proba, &expected);
        assert!((proba[1] - 0.75).abs() < 1e-6);
        assert_eq!(r.slices["colour"], vec!["red", "(missing)"]);
        assert_eq!(
            r.groups("colour").unwrap(),
            BTreeMap::from([
                ("(missing)".to_string(), vec![1]),
                ("red".to_string(), vec![0])
            ])
        );
        let t = read_split(&path, "test", Some(&labels)).unwrap();
        assert_eq!(t.rows, vec![8]);
    }

    #[test]
    fn values_read_back_as_written() {
        let target = TargetSpec::Regression {
            column: "y".into(),
            offset: 10.0,
            scale: 2.0,
        };
        let eval = split(
            Targets::Values {
                scaled: vec![0.0, 0.0],
                raw: vec![11.5, -3.25],
            },
            vec![0, 1],
            vec![Some("a"), Some("b")],
        );
        let text = render(&target, &[("eval", &eval, vec![0.5, -1.0])]);
        assert_eq!(
            text,
            "row,split,target,prediction,slice:colour\n1,eval,11.5,11,a\n2,eval,-3.25,8,b\n"
        );
        let path = write("values", &text);
        let r = read_split(&path, "eval", None).unwrap();
        assert_eq!(
            r,
            SplitRows {
                rows: vec![1, 2],
                scored: Scored::Values {
                    y: vec![11.5, -3.25],
                    pred: vec![11.0, 8.0],
                },
                slices: BTreeMap::from([("colour".to_string(), vec!["a".into(), "b".into()])]),
            }
        );
    }

    #[test]
    fn errors_name_the_file_and_the_line() {
        let path = write("bad", "row,split,target,prediction\n1,eval,x,2\n");
        let e = read_split(&path, "eval", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: line 2: column \"target\" holds \"x\", expected a number",
                path.display()
            )
        );
        let e = read_split(&path, "test", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}: no row of split \"test\"", path.display())
        );
        let labels = ["a".to_string()];
        let e = read_split(&path, "eval", Some(&labels)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}: no column \"proba_a\"", path.display())
        );
    }
}
