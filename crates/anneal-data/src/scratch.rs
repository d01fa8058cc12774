//! Column-sized `f64` buffers, reused from one column's fit to the next.
//!
//! Fitting a numeric column gathers its training values and sorts them
//! through a second buffer: two fresh column-sized buffers per column. The
//! data stage hands freed memory back between columns (to keep its peak
//! low), so each fresh buffer was paged in again, and on the 1M-row
//! benchmark those page faults were a third of the fit's time. Buffers
//! taken here and given back are reused instead; [`clear`] frees them all
//! once every column is fitted.

use std::sync::Mutex;

static POOL: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());

/// An empty buffer with room for `len` values: a returned one when one is
/// free (the largest), else a new one.
pub(crate) fn take(len: usize) -> Vec<f64> {
    let reused = POOL.lock().ok().and_then(|mut pool| pool.pop());
    let mut v = reused.unwrap_or_default();
    v.clear();
    v.reserve(len);
    v
}

/// Gives `v` back for a later [`take`]. The pool keeps two buffers per
/// thread (what the columns fitted at once use); a buffer beyond that,
/// one that was not taken here, is freed.
pub(crate) fn give(v: Vec<f64>) {
    if v.capacity() == 0 {
        return;
    }
    if let Ok(mut pool) = POOL.lock()
        && pool.len() < 2 * rayon::current_num_threads()
    {
        pool.push(v);
        pool.sort_by_key(Vec::capacity);
    }
}

/// Frees every buffer given back.
pub(crate) fn clear() {
    if let Ok(mut pool) = POOL.lock() {
        *pool = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_is_taken_again_empty() {
        let mut v = take(1000);
        assert!(v.is_empty() && v.capacity() >= 1000);
        v.extend([1.0, 2.0]);
        let ptr = v.as_ptr();
        give(v);
        let again = take(10);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), ptr, "the buffer is reused");
        give(again);
        clear();
        assert!(POOL.lock().unwrap().is_empty());
    }
}
