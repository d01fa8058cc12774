//! Finding the bytes that matter in plain CSV text, many at a time: a
//! piece's newlines and unusual bytes ([`scan`]), and the positions of its
//! delimiters and newlines ([`Separators`]), for [`crate::plain`].
//!
//! On x86-64 both compare 16 bytes per instruction (SSE2, which every
//! x86-64 CPU has); elsewhere eight bytes per word operation. The two ways
//! give the same answers (tested against each other), and the word way
//! alone is what a non-x86 build runs.

/// How many newlines `bytes` holds, and whether it holds a byte no plain
/// CSV has: a quote, a `\r` or a NUL (which the text check refuses).
pub(crate) fn scan(bytes: &[u8]) -> (usize, bool) {
    // SAFETY: every x86-64 CPU has SSE2.
    #[cfg(target_arch = "x86_64")]
    return unsafe { sse2::scan(bytes) };
    #[cfg(not(target_arch = "x86_64"))]
    return words::scan(bytes);
}

/// The positions of the delimiters and newlines of some bytes, in order:
/// a mask of the separators of 64 bytes is made at once, then its bits
/// are given one by one.
pub(crate) struct Separators<'a> {
    bytes: &'a [u8],
    delimiter: u8,
    /// Where the 64 bytes of `found` start.
    block: usize,
    /// The separators of that block not yet given, a bit per byte.
    found: u64,
}

impl<'a> Separators<'a> {
    pub(crate) fn new(bytes: &'a [u8], delimiter: u8) -> Separators<'a> {
        Separators {
            bytes,
            delimiter,
            block: 0,
            found: block_mask(bytes, delimiter),
        }
    }
}

impl Iterator for Separators<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.found == 0 {
            self.block += 64;
            if self.block >= self.bytes.len() {
                return None;
            }
            self.found = block_mask(&self.bytes[self.block..], self.delimiter);
        }
        let at = self.block + self.found.trailing_zeros() as usize;
        self.found &= self.found - 1;
        Some(at)
    }
}

/// The separators among the first 64 bytes of `bytes` (fewer at the
/// end), a bit per byte.
fn block_mask(bytes: &[u8], delimiter: u8) -> u64 {
    let mut block = [0u8; 64];
    let bytes = match bytes.get(..64) {
        Some(whole) => whole,
        None => {
            block[..bytes.len()].copy_from_slice(bytes);
            // Past the end no byte is a separator, whatever the delimiter.
            let filler = if delimiter == 0 { 1 } else { 0 };
            block[bytes.len()..].fill(filler);
            &block[..]
        }
    };
    // SAFETY: every x86-64 CPU has SSE2.
    #[cfg(target_arch = "x86_64")]
    return unsafe { sse2::separators(bytes, delimiter) };
    #[cfg(not(target_arch = "x86_64"))]
    return words::separators(bytes, delimiter);
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// 16 bytes as a vector.
    #[target_feature(enable = "sse2")]
    fn load(bytes: &[u8; 16]) -> __m128i {
        // SAFETY: the pointer is to 16 readable bytes, and an unaligned
        // load has no alignment requirement.
        unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
    }

    /// A bit per byte of 16 bytes: whether it equals `byte`.
    #[target_feature(enable = "sse2")]
    fn equal(v: __m128i, byte: u8) -> __m128i {
        _mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8))
    }

    #[target_feature(enable = "sse2")]
    pub(super) fn scan(bytes: &[u8]) -> (usize, bool) {
        let (blocks, tail) = bytes.as_chunks::<16>();
        let (mut newlines, mut unusual) = super::words::scan(tail);
        let mut found = _mm_setzero_si128();
        // Newlines are counted per byte lane, in lanes of a byte: at most
        // 255 blocks go into a count before it is summed.
        for group in blocks.chunks(255) {
            let mut counts = _mm_setzero_si128();
            for block in group {
                let v = load(block);
                counts = _mm_sub_epi8(counts, equal(v, b'\n'));
                let odd = _mm_or_si128(equal(v, b'"'), _mm_or_si128(equal(v, b'\r'), equal(v, 0)));
                found = _mm_or_si128(found, odd);
            }
            let sums = _mm_sad_epu8(counts, _mm_setzero_si128());
            let high = _mm_unpackhi_epi64(sums, sums);
            newlines += (_mm_cvtsi128_si64(sums) + _mm_cvtsi128_si64(high)) as usize;
        }
        unusual |= _mm_movemask_epi8(found) != 0;
        (newlines, unusual)
    }

    #[target_feature(enable = "sse2")]
    pub(super) fn separators(bytes: &[u8], delimiter: u8) -> u64 {
        let mut mask = 0u64;
        for (k, block) in bytes.as_chunks::<16>().0.iter().enumerate() {
            let v = load(block);
            let hits = _mm_or_si128(equal(v, delimiter), equal(v, b'\n'));
            mask |= u64::from(_mm_movemask_epi8(hits) as u16) << (16 * k);
        }
        mask
    }
}

/// The same, eight bytes per word operation (and the word operations
/// [`crate::plain`] reads short numbers with).
pub(crate) mod words {
    /// Every byte 1, and every byte's low seven bits.
    pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
    pub(crate) const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

    /// The high bit of each byte of `word` that equals `byte`, exactly (no
    /// carry crosses a byte).
    pub(crate) fn equal(word: u64, byte: u8) -> u64 {
        let x = word ^ (ONES * u64::from(byte));
        !(((x & LOW7) + LOW7) | x | LOW7)
    }

    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    pub(super) fn scan(bytes: &[u8]) -> (usize, bool) {
        let (words, tail) = bytes.as_chunks::<8>();
        let mut newlines = tail.iter().filter(|&&b| b == b'\n').count();
        let unusual = tail.iter().any(|&b| matches!(b, b'"' | b'\r' | 0));
        let mut found = 0u64;
        for w in words {
            let w = u64::from_le_bytes(*w);
            newlines += equal(w, b'\n').count_ones() as usize;
            found |= equal(w, b'"') | equal(w, b'\r') | equal(w, 0);
        }
        (newlines, unusual || found != 0)
    }

    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    pub(super) fn separators(bytes: &[u8], delimiter: u8) -> u64 {
        let mut mask = 0u64;
        for (k, w) in bytes.as_chunks::<8>().0.iter().enumerate() {
            let w = u64::from_le_bytes(*w);
            let high = equal(w, delimiter) | equal(w, b'\n');
            // The high bit of byte i moved to bit i.
            let bits = (high >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
            mask |= bits << (8 * k);
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of every kind the scans look for, at every offset.
    fn sample() -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b",;\n\"\r\0abc019.-\xc3\xa9\t ";
        (0..5_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                alphabet[(state % alphabet.len() as u64) as usize]
            })
            .collect()
    }

    #[test]
    fn scans_count_newlines_and_find_unusual_bytes() {
        let bytes = sample();
        for start in 0..70 {
            for end in [start, start + 1, start + 63, start + 64, start + 4_900] {
                let part = &bytes[start..end];
                let newlines = part.iter().filter(|&&b| b == b'\n').count();
                let unusual = part.iter().any(|&b| matches!(b, b'"' | b'\r' | 0));
                assert_eq!(scan(part), (newlines, unusual), "{start}..{end}");
                assert_eq!(words::scan(part), (newlines, unusual), "{start}..{end}");
            }
        }
        // More than 255 blocks of newlines: the per-lane counts are summed
        // before they overflow.
        let many = vec![b'\n'; 16 * 1_000 + 5];
        assert_eq!(scan(&many), (many.len(), false));
        assert_eq!(scan(b"a,b\nc,d"), (1, false));
    }

    #[test]
    fn separators_are_every_delimiter_and_newline() {
        let bytes = sample();
        for delimiter in [b',', b';', b'\t', 0] {
            for start in 0..70 {
                let part = &bytes[start..start + 1_000 + start % 7];
                let expected: Vec<usize> = (0..part.len())
                    .filter(|&i| part[i] == delimiter || part[i] == b'\n')
                    .collect();
                assert_eq!(
                    Separators::new(part, delimiter).collect::<Vec<_>>(),
                    expected
                );
                for block in part.chunks(64).filter(|b| b.len() == 64) {
                    assert_eq!(
                        words::separators(block, delimiter),
                        block_mask(block, delimiter)
                    );
                }
            }
        }
        assert_eq!(Separators::new(b"", b',').next(), None);
    }
}
