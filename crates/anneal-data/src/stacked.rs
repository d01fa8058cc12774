//! The table of a CSV read in chunks ([`crate::chunked`]), built column
//! by column as the chunks come.
//!
//! A number column is one vector every chunk appends to, so the finished
//! table's number columns are one array each, and the fit takes each over
//! as its values instead of copying it ([`crate::extract::numeric_owned`]):
//! on 1M rows, 8 MB a column that is not allocated, faulted in and copied
//! a second time. The plain parser ([`crate::plain`]) writes its rows
//! straight into these vectors; a chunk polars parsed is copied in. Other
//! columns (texts above all) keep the chunks' arrays, as stacking frames
//! does.

use polars::prelude::*;
use polars_arrow::array::PrimitiveArray;
use polars_arrow::bitmap::MutableBitmap;
use polars_arrow::types::NativeType;
use rayon::prelude::*;

/// The table so far.
pub(crate) struct Stacked {
    schema: SchemaRef,
    pub(crate) columns: Vec<Stack>,
    rows: usize,
}

/// One column so far.
pub(crate) enum Stack {
    Int(Numbers<i64>),
    Float(Numbers<f64>),
    /// Any other type: the chunks' arrays, as polars gave them.
    Chunks(Series),
}

/// A number column's values (a missing one holds whatever its chunk
/// held; 0 from the plain parser) and the rows where it is missing.
pub(crate) struct Numbers<T> {
    pub(crate) values: Vec<T>,
    pub(crate) missing: Vec<usize>,
}

impl Stacked {
    /// The table of the first chunk, which polars parsed (and typed);
    /// number columns have room for `expected` rows in all (an estimate:
    /// one allocation each rather than a doubling series of them).
    pub(crate) fn new(first: &DataFrame, expected: usize) -> Option<Stacked> {
        let schema = first.schema().clone();
        let columns = first
            .columns()
            .iter()
            .map(|c| match c.dtype() {
                DataType::Int64 => Stack::Int(Numbers::with_capacity(expected)),
                DataType::Float64 => Stack::Float(Numbers::with_capacity(expected)),
                dtype => Stack::Chunks(Series::new_empty(c.name().clone(), dtype)),
            })
            .collect();
        let mut table = Stacked {
            schema,
            columns,
            rows: 0,
        };
        table.append_frame(first)?;
        Some(table)
    }

    /// The columns' names and types: those of the first chunk.
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Appends a chunk polars parsed with [`Self::schema`]; `None` when
    /// its columns differ (the table is then unusable: the caller reads
    /// the whole file instead).
    pub(crate) fn append_frame(&mut self, df: &DataFrame) -> Option<()> {
        if df.width() != self.columns.len() {
            return None;
        }
        let at = self.rows;
        for (stack, col) in self.columns.iter_mut().zip(df.columns()) {
            let s = col.as_materialized_series();
            match stack {
                Stack::Int(n) => n.append(s.i64().ok()?, at),
                Stack::Float(n) => n.append(s.f64().ok()?, at),
                Stack::Chunks(series) => {
                    series.append(s).ok()?;
                }
            }
        }
        self.rows += df.height();
        Some(())
    }

    /// Makes room for `rows` more rows in every number column (zeros
    /// until written), a column per task: both cores fault the pages in.
    pub(crate) fn grow(&mut self, rows: usize) {
        let len = self.rows + rows;
        self.columns.par_iter_mut().for_each(|c| match c {
            Stack::Int(n) => n.values.resize(len, 0),
            Stack::Float(n) => n.values.resize(len, 0.0),
            Stack::Chunks(_) => {}
        });
    }

    /// Undoes [`Self::grow`]: the number columns back to the table's rows.
    pub(crate) fn shrink(&mut self) {
        for c in &mut self.columns {
            match c {
                Stack::Int(n) => n.values.truncate(self.rows),
                Stack::Float(n) => n.values.truncate(self.rows),
                Stack::Chunks(_) => {}
            }
        }
    }

    /// `rows` rows written into the grown columns are the table's.
    pub(crate) fn commit(&mut self, rows: usize) {
        self.rows += rows;
    }

    /// The table as a frame: each number column one array.
    pub(crate) fn finish(self) -> Option<DataFrame> {
        let columns = self
            .columns
            .into_iter()
            .zip(self.schema.iter_names())
            .map(|(c, name)| match c {
                Stack::Int(n) => {
                    Int64Chunked::with_chunk(name.clone(), n.into_array()).into_column()
                }
                Stack::Float(n) => {
                    Float64Chunked::with_chunk(name.clone(), n.into_array()).into_column()
                }
                Stack::Chunks(series) => series.into_column(),
            })
            .collect();
        DataFrame::new_infer_height(columns).ok()
    }
}

impl Stack {
    /// A number column's missing rows; `None` for any other column.
    pub(crate) fn missing_mut(&mut self) -> Option<&mut Vec<usize>> {
        match self {
            Stack::Int(n) => Some(&mut n.missing),
            Stack::Float(n) => Some(&mut n.missing),
            Stack::Chunks(_) => None,
        }
    }
}

impl<T: NativeType> Numbers<T> {
    fn with_capacity(rows: usize) -> Numbers<T> {
        Numbers {
            values: Vec::with_capacity(rows),
            missing: Vec::new(),
        }
    }

    /// Appends the values of `ca`, whose first row is the table's row `at`.
    fn append<P: PolarsNumericType<Native = T>>(&mut self, ca: &ChunkedArray<P>, at: usize) {
        let mut row = at;
        for arr in ca.downcast_iter() {
            self.values.extend_from_slice(arr.values());
            if let Some(valid) = arr.validity() {
                let missing = valid.iter().enumerate().filter(|(_, ok)| !ok);
                self.missing.extend(missing.map(|(i, _)| row + i));
            }
            row += arr.len();
        }
    }

    fn into_array(self) -> PrimitiveArray<T> {
        let validity = (!self.missing.is_empty()).then(|| {
            let mut valid = MutableBitmap::from_len_set(self.values.len());
            for i in self.missing {
                valid.set(i, false);
            }
            valid.into()
        });
        PrimitiveArray::new(T::PRIMITIVE.into(), self.values.into(), validity)
    }
}
