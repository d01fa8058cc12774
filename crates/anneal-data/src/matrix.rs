//! A model input matrix (row-major `f32`), held in memory or, for the
//! streaming data stage, in a file mapped into memory. Training and
//! evaluation read it as a plain `&[f32]` either way; a mapped matrix's
//! pages belong to the page cache, which the kernel can drop and re-read,
//! so a matrix larger than memory does not exhaust it.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

pub enum Matrix {
    Memory(Vec<f32>),
    Mapped {
        map: memmap2::Mmap,
        len: usize,
        path: PathBuf,
    },
}

impl Matrix {
    /// Maps the little-endian `f32` file written by a [`MatrixWriter`].
    pub fn map(path: &Path) -> Result<Matrix> {
        let io = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let bytes = file.metadata().map_err(io)?.len() as usize;
        let len = bytes / 4;
        // An empty file cannot be mapped, and a big-endian host would read
        // the bytes wrongly: both are read into memory instead.
        if len == 0 || cfg!(target_endian = "big") {
            let raw = std::fs::read(path).map_err(io)?;
            return Ok(Matrix::Memory(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ));
        }
        // SAFETY: the file is private to this run (written by this process
        // into its own spill folder and never written again), so it does not
        // change under the mapping.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        // Training reads rows in shuffled order: read-ahead would pull in
        // pages nobody asked for, and under memory pressure evict the ones
        // in use.
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Random);
        Ok(Matrix::Mapped {
            map,
            len,
            path: path.to_path_buf(),
        })
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self, Matrix::Mapped { .. })
    }
}

impl Deref for Matrix {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        match self {
            Matrix::Memory(v) => v,
            Matrix::Mapped { map, len, .. } => {
                // SAFETY: a mapping starts on a page boundary (aligned for
                // f32), holds at least `len * 4` bytes, and every bit
                // pattern is a valid f32; the bytes are little-endian, as on
                // this (little-endian) host.
                unsafe { std::slice::from_raw_parts(map.as_ptr().cast::<f32>(), *len) }
            }
        }
    }
}

impl From<Vec<f32>> for Matrix {
    fn from(v: Vec<f32>) -> Self {
        Matrix::Memory(v)
    }
}

impl Clone for Matrix {
    /// A clone is an in-memory copy.
    fn clone(&self) -> Self {
        Matrix::Memory(self.to_vec())
    }
}

impl PartialEq for Matrix {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Matrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matrix::Memory(v) => write!(f, "Matrix::Memory({} values)", v.len()),
            Matrix::Mapped { len, path, .. } => {
                write!(f, "Matrix::Mapped({len} values, {})", path.display())
            }
        }
    }
}

/// Appends rows to a matrix file.
pub struct MatrixWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl MatrixWriter {
    pub fn create(path: &Path) -> Result<MatrixWriter> {
        let file = File::create(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(MatrixWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            path: path.to_path_buf(),
        })
    }

    pub fn write(&mut self, values: &[f32]) -> Result<()> {
        for v in values {
            self.out
                .write_all(&v.to_le_bytes())
                .map_err(|source| DataError::Io {
                    path: self.path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Flushes and maps the file.
    pub fn finish(self) -> Result<Matrix> {
        let path = self.path.clone();
        self.out
            .into_inner()
            .map_err(|e| DataError::Io {
                path: path.clone(),
                source: e.into_error(),
            })?
            .sync_all()
            .map_err(|source| DataError::Io {
                path: path.clone(),
                source,
            })?;
        Matrix::map(&path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_rows_read_back_through_the_mapping() {
        let dir = std::env::temp_dir().join(format!("anneal-matrix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = MatrixWriter::create(&dir.join("x.f32")).unwrap();
        w.write(&[1.5, -2.0]).unwrap();
        w.write(&[f32::MIN_POSITIVE, 3.25]).unwrap();
        let m = w.finish().unwrap();
        assert!(m.is_mapped());
        assert_eq!(&*m, &[1.5, -2.0, f32::MIN_POSITIVE, 3.25]);
        assert_eq!(
            m.clone(),
            Matrix::from(vec![1.5, -2.0, f32::MIN_POSITIVE, 3.25])
        );
        let empty = MatrixWriter::create(&dir.join("e.f32"))
            .unwrap()
            .finish()
            .unwrap();
        assert!(empty.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
