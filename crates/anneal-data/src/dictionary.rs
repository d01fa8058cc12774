//! A text column as codes into its distinct values, found in one pass.
//!
//! Fitting a categorical column needs its training counts and then every
//! row's slot. Looking each row's text up twice (once to count, once to
//! encode) was most of the fit's time on the 1M-row CSV; with the codes,
//! counting is an array increment and encoding one lookup per distinct
//! value.

use polars::prelude::*;
use polars_arrow::array::Array;

/// A missing cell's code.
pub(crate) const MISSING: u32 = u32::MAX;

/// The codes of a text column's rows (in row order, [`MISSING`] for a
/// missing cell) and the distinct texts they index, in order of first
/// appearance.
pub(crate) struct Dictionary<'a> {
    pub codes: Vec<u32>,
    pub values: Vec<&'a str>,
}

impl<'a> Dictionary<'a> {
    /// The dictionary of `ca`. A text of up to 12 bytes is stored inside
    /// its 16-byte view, so it is looked up by the view's bits (the bytes
    /// past its length masked off), without reading or comparing the
    /// text; a longer one by its text.
    pub(crate) fn of(ca: &'a StringChunked) -> Self {
        let mut dict = Dictionary {
            codes: Vec::with_capacity(ca.len()),
            values: Vec::new(),
        };
        let mut short: PlHashMap<u128, u32> = PlHashMap::new();
        let mut long: PlHashMap<&'a str, u32> = PlHashMap::new();
        for arr in ca.downcast_iter() {
            let valid = arr.validity().filter(|v| v.unset_bits() > 0);
            for (i, view) in arr.views().iter().enumerate() {
                if valid.is_some_and(|v| !v.get_bit(i)) {
                    dict.codes.push(MISSING);
                    continue;
                }
                let code = if view.length <= 12 {
                    let key = inline_key(view.as_u128(), view.length);
                    dict.code(&mut short, key, || arr.value(i))
                } else {
                    let text = arr.value(i);
                    dict.code(&mut long, text, || text)
                };
                dict.codes.push(code);
            }
        }
        dict
    }

    /// The code of `key`, a new one (for the text `text()`) when unseen.
    fn code<K: std::hash::Hash + Eq>(
        &mut self,
        seen: &mut PlHashMap<K, u32>,
        key: K,
        text: impl FnOnce() -> &'a str,
    ) -> u32 {
        *seen.entry(key).or_insert_with(|| {
            self.values.push(text());
            (self.values.len() - 1) as u32
        })
    }

    /// Each distinct text's count among the rows `train`, those counted
    /// at least once, in order of first appearance.
    pub(crate) fn counts(&self, train: &[usize]) -> Vec<(String, u64)> {
        let mut counts = vec![0u64; self.values.len()];
        for &i in train {
            if let Some(n) = counts.get_mut(self.codes[i] as usize) {
                *n += 1;
            }
        }
        self.values
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| (v.to_string(), n))
            .collect()
    }

    /// Every row mapped through `slot` (given each distinct text once),
    /// a missing cell to `missing`, in the codes' own buffer.
    pub(crate) fn map(self, slot: impl Fn(&str) -> u32, missing: u32) -> Vec<u32> {
        let slots: Vec<u32> = self.values.iter().map(|v| slot(v)).collect();
        let mut codes = self.codes;
        for c in codes.iter_mut() {
            *c = slots.get(*c as usize).copied().unwrap_or(missing);
        }
        codes
    }
}

/// A view of an inline text (`len` ≤ 12 bytes: 4 bytes of length, then
/// the text) with the bytes past the text cleared, so that equal texts
/// give equal keys whatever a writer left in the padding.
fn inline_key(view: u128, len: u32) -> u128 {
    let bits = 32 + 8 * len;
    if bits >= 128 {
        view
    } else {
        view & ((1u128 << bits) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short and long texts, missing cells and several arrays: the codes
    /// index the right texts, counts follow the training rows only.
    #[test]
    fn codes_index_each_rows_text() {
        let texts = |n: usize, from: usize| -> Vec<Option<String>> {
            (from..from + n)
                .map(|r| match r % 5 {
                    0 => None,
                    1 => Some(format!("c{}", r % 3)),
                    2 => Some(format!("a text longer than twelve bytes {}", r % 2)),
                    3 => Some(String::new()),
                    _ => Some("twelve bytes".to_string()),
                })
                .collect()
        };
        let mut ca = StringChunked::from_iter_options("t".into(), texts(40, 0).into_iter());
        ca.append(&StringChunked::from_iter_options(
            "t".into(),
            texts(60, 40).into_iter(),
        ))
        .unwrap();
        assert!(ca.chunks().len() > 1);
        let dict = Dictionary::of(&ca);
        let rows: Vec<Option<&str>> = ca.iter().collect();
        for (r, v) in rows.iter().enumerate() {
            let decoded = dict.values.get(dict.codes[r] as usize).copied();
            assert_eq!(decoded, *v, "row {r}");
        }
        assert_eq!(
            dict.values.len(),
            7,
            "3 short, 2 long, the empty text, twelve bytes"
        );
        let train: Vec<usize> = (0..50).collect();
        let mut counts = dict.counts(&train);
        counts.sort();
        let mut expected: PlHashMap<String, u64> = PlHashMap::new();
        for v in rows[..50].iter().flatten() {
            *expected.entry(v.to_string()).or_default() += 1;
        }
        let mut expected: Vec<(String, u64)> = expected.into_iter().collect();
        expected.sort();
        assert_eq!(counts, expected);
    }

    #[test]
    fn padding_past_an_inline_text_is_ignored() {
        let view = |len: u32, text: u128, pad: u128| u128::from(len) | (text << 32) | pad;
        let a = view(3, 0x636261, 0);
        let b = view(3, 0x636261, 0xff << (32 + 24));
        assert_ne!(a, b);
        assert_eq!(inline_key(a, 3), inline_key(b, 3));
        assert_eq!(inline_key(u128::MAX, 12), u128::MAX);
    }
}
