//! The seeded train/valid/test split. Stratified splits cut every class in
//! the same proportions; each split lists its rows in file order, so the
//! split depends on the seed and the data alone.

use anneal_core::rng::Rng;

/// Row positions of the train, valid and test splits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitIndices {
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
    pub test: Vec<usize>,
}

/// Splits `n` rows with fractions `[train, valid, test]` (summing to 1).
/// With `strata`, each stratum (class) is split on its own.
pub fn split(n: usize, strata: Option<&[u32]>, fractions: [f64; 3], seed: u64) -> SplitIndices {
    // Strata, when given, list every row.
    let n = strata.map_or(n, <[u32]>::len);
    let mut rng = Rng::stream(seed, "split");
    let mut out = SplitIndices {
        train: Vec::new(),
        valid: Vec::new(),
        test: Vec::new(),
    };
    let groups: Vec<Vec<usize>> = match strata {
        Some(s) => {
            let k = s.iter().copied().max().map_or(0, |m| m as usize + 1);
            let mut g = vec![Vec::new(); k];
            for (i, &c) in s.iter().enumerate() {
                g[c as usize].push(i);
            }
            g
        }
        None => vec![(0..n).collect()],
    };
    // Each row's part, set group by group.
    let mut parts = vec![TEST; n];
    for mut group in groups {
        rng.shuffle(&mut group);
        let len = group.len();
        let n_train = ((len as f64 * fractions[0]).round() as usize).clamp(1.min(len), len);
        let n_valid = ((len as f64 * fractions[1]).round() as usize).min(len - n_train);
        let n_test = len - n_train - n_valid;
        // A zero test fraction sends the rounding remainder to valid.
        let (n_valid, _) = if fractions[2] == 0.0 {
            (n_valid + n_test, 0)
        } else {
            (n_valid, n_test)
        };
        for (rows, part) in [
            (&group[..n_train], TRAIN),
            (&group[n_train..n_train + n_valid], VALID),
            (&group[n_train + n_valid..], TEST),
        ] {
            for &i in rows {
                parts[i] = part;
            }
        }
    }
    // Each part's rows in row order: one pass over the rows' parts
    // instead of sorting each part.
    let n_train = parts.iter().filter(|&&p| p == TRAIN).count();
    let n_valid = parts.iter().filter(|&&p| p == VALID).count();
    out.train.reserve_exact(n_train);
    out.valid.reserve_exact(n_valid);
    out.test.reserve_exact(n - n_train - n_valid);
    for (i, &p) in parts.iter().enumerate() {
        match p {
            TRAIN => out.train.push(i),
            VALID => out.valid.push(i),
            _ => out.test.push(i),
        }
    }
    out
}

const TRAIN: u8 = 0;
const VALID: u8 = 1;
const TEST: u8 = 2;

/// Where a row with this key goes: the key's hash under `seed` as a
/// uniform number in [0, 1), against the cumulative fractions. A pure
/// function of (seed, key, fractions), so a row keeps its split however
/// many rows come before or after it, in whatever order or file.
pub fn split_of_key(key: &str, fractions: [f64; 3], seed: u64) -> usize {
    let u = Rng::stream(seed, &format!("split-key/{key}")).next_f64();
    if u < fractions[0] {
        0
    } else if u < fractions[0] + fractions[1] || fractions[2] == 0.0 {
        1
    } else {
        2
    }
}

/// Splits rows by their keys ([`split_of_key`]); rows sharing a key share
/// a split.
pub fn split_by_key<'a>(
    keys: impl IntoIterator<Item = &'a str>,
    fractions: [f64; 3],
    seed: u64,
) -> SplitIndices {
    let mut out = SplitIndices {
        train: Vec::new(),
        valid: Vec::new(),
        test: Vec::new(),
    };
    for (i, key) in keys.into_iter().enumerate() {
        match split_of_key(key, fractions, seed) {
            0 => out.train.push(i),
            1 => out.valid.push(i),
            _ => out.test.push(i),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_split_is_stable_as_data_grows_and_reorders() {
        let keys: Vec<String> = (0..20_000).map(|i| format!("id-{i}")).collect();
        let f = [0.7, 0.15, 0.15];
        let all = split_by_key(keys.iter().map(String::as_str), f, 7);
        // Proportions close to the fractions.
        let n = keys.len() as f64;
        assert!((all.train.len() as f64 / n - 0.7).abs() < 0.01);
        assert!((all.test.len() as f64 / n - 0.15).abs() < 0.01);
        // The first half alone, and the keys in reverse: same splits.
        let half = split_by_key(keys[..10_000].iter().map(String::as_str), f, 7);
        assert_eq!(
            half.train,
            all.train
                .iter()
                .copied()
                .filter(|&i| i < 10_000)
                .collect::<Vec<_>>()
        );
        for (i, k) in keys.iter().enumerate().rev().take(500) {
            let which = split_of_key(k, f, 7);
            let expected = if all.train.binary_search(&i).is_ok() {
                0
            } else if all.valid.binary_search(&i).is_ok() {
                1
            } else {
                2
            };
            assert_eq!(which, expected);
        }
        assert_ne!(all, split_by_key(keys.iter().map(String::as_str), f, 8));
        // No test fraction: nothing goes to test.
        let s = split_by_key(keys.iter().map(String::as_str), [0.8, 0.2, 0.0], 7);
        assert!(s.test.is_empty());
    }

    #[test]
    fn stratified_split_keeps_proportions_and_is_seeded() {
        let strata: Vec<u32> = (0..150).map(|i| (i / 50) as u32).collect();
        let s = split(150, Some(&strata), [0.7, 0.15, 0.15], 42);
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (105, 24, 21));
        for c in 0..3u32 {
            let count = s.train.iter().filter(|&&i| strata[i] == c).count();
            assert_eq!(count, 35);
        }
        assert_eq!(s, split(150, Some(&strata), [0.7, 0.15, 0.15], 42));
        assert_ne!(s, split(150, Some(&strata), [0.7, 0.15, 0.15], 43));
        let mut all: Vec<usize> = [s.train, s.valid, s.test].concat();
        all.sort_unstable();
        assert_eq!(all, (0..150).collect::<Vec<_>>());
    }

    #[test]
    fn zero_fractions() {
        let s = split(10, None, [0.8, 0.2, 0.0], 1);
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (8, 2, 0));
        let s = split(10, None, [1.0, 0.0, 0.0], 1);
        assert_eq!(s.train.len(), 10);
    }
}
