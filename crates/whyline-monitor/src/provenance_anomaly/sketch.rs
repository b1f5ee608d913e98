//! StreamHash: a graph's shingle-count vector kept as a fixed-width random projection and its
//! sign bits.
//!
//! Each shingle `s` has a weight vector `w(s)` of `width` signed bytes, drawn from a
//! splitmix64 stream seeded by the shingle's hash (eight weights per 64-bit draw, uniform in
//! `[-128, 127]`). A graph with shingle counts `c` keeps the projection `y = Σ c(s) w(s)`: a
//! shingle that changes from `old` to `new` costs `y += w(new) − w(old)`, O(width) and
//! independent of the graph's size. The sketch is the sign vector of `y`, one bit per
//! component. For two graphs the fraction of differing bits estimates `θ / π`, θ the angle
//! between their count vectors (sign random projections), so
//!
//! ```text
//! estimated cosine = cos(π × hamming / width)
//! distance         = 1 − estimated cosine          (0 identical, 2 opposite)
//! ```
//!
//! The projection is kept in `i32`: each edge moves a component by at most 255, so a graph's
//! sketch is updated for its first [`MAX_SKETCH_EDGES`] edges (2^23, no overflow possible)
//! and frozen after that (counted in the monitor's statistics).
//!
//! The hamming count is binomial, so the angle estimate has standard deviation
//! `π √(p (1 − p) / width) ≤ π / (2 √width)`: 0.069 rad at the default width of 512.

/// The splitmix64 finaliser: a bijective 64-bit mixer.
pub(crate) const fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Edges after which a graph's sketch stops changing (keeps `i32` components exact).
pub(crate) const MAX_SKETCH_EDGES: u64 = 1 << 23;

const WORD_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// Eight weights of `shingle` (components `8 × word .. 8 × word + 8`).
#[inline]
fn weights(shingle: u64, word: usize) -> [u8; 8] {
    mix64(shingle ^ (word as u64).wrapping_add(1).wrapping_mul(WORD_SEED)).to_le_bytes()
}

/// One graph's projection and sketch.
#[derive(Clone, Debug)]
pub(crate) struct GraphSketch {
    projection: Box<[i32]>,
    bits: Box<[u64]>,
}

impl GraphSketch {
    /// An empty graph's sketch, `width` components (a multiple of 64).
    pub(crate) fn new(width: usize) -> Self {
        Self {
            projection: vec![0; width].into_boxed_slice(),
            bits: vec![0; width / 64].into_boxed_slice(),
        }
    }

    /// The projection's components (what every edge changes, where the sign bits may not).
    #[cfg(test)]
    pub(crate) fn projection(&self) -> &[i32] {
        &self.projection
    }

    /// Back to the empty graph.
    pub(crate) fn clear(&mut self) {
        self.projection.fill(0);
        self.bits.fill(0);
    }

    /// One shingle changes: `removed` loses a count (none when a new chunk opens), `added`
    /// gains one. Updates the projection and the sign bits.
    #[inline]
    pub(crate) fn replace(&mut self, removed: Option<u64>, added: u64) {
        match removed {
            Some(removed) => {
                for (word, chunk) in self.projection.chunks_exact_mut(8).enumerate() {
                    let plus = weights(added, word);
                    let minus = weights(removed, word);
                    for ((y, p), m) in chunk.iter_mut().zip(plus).zip(minus) {
                        *y += i32::from(p as i8) - i32::from(m as i8);
                    }
                }
            }
            None => {
                for (word, chunk) in self.projection.chunks_exact_mut(8).enumerate() {
                    for (y, p) in chunk.iter_mut().zip(weights(added, word)) {
                        *y += i32::from(p as i8);
                    }
                }
            }
        }
        for (bits, chunk) in self.bits.iter_mut().zip(self.projection.chunks_exact(64)) {
            *bits = chunk
                .iter()
                .enumerate()
                .fold(0u64, |word, (bit, y)| word | (u64::from(*y > 0) << bit));
        }
    }

    /// The sign bits.
    pub(crate) fn bits(&self) -> &[u64] {
        &self.bits
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.projection.len() * size_of::<i32>() + self.bits.len() * size_of::<u64>()
    }
}

/// Number of differing bits. SWAR bit counting (the build targets baseline x86-64, which has
/// no `popcnt` instruction): per-byte counts of up to 31 words are summed before the one
/// multiply that adds the bytes.
#[inline]
pub(crate) fn hamming(a: &[u64], b: &[u64]) -> u32 {
    const M1: u64 = 0x5555_5555_5555_5555;
    const M2: u64 = 0x3333_3333_3333_3333;
    const M4: u64 = 0x0f0f_0f0f_0f0f_0f0f;
    let mut total = 0u32;
    for (a, b) in a.chunks(31).zip(b.chunks(31)) {
        let mut bytes = 0u64;
        for (x, y) in a.iter().zip(b) {
            let mut v = x ^ y;
            v -= (v >> 1) & M1;
            v = (v & M2) + ((v >> 2) & M2);
            bytes += (v + (v >> 4)) & M4;
        }
        // Each byte holds at most 31 × 8 = 248.
        let low = bytes & 0x00ff_00ff_00ff_00ff;
        let high = (bytes >> 8) & 0x00ff_00ff_00ff_00ff;
        total += (((low + high).wrapping_mul(0x0001_0001_0001_0001)) >> 48) as u32;
    }
    total
}

/// `1 − cos(π × hamming / width)`, `width = 64 × a.len()`.
#[inline]
pub(crate) fn distance(a: &[u64], b: &[u64]) -> f64 {
    let width = (a.len() * 64) as f64;
    1.0 - (std::f64::consts::PI * f64::from(hamming(a, b)) / width).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mix64` is splitmix64's finaliser: the reference generator seeded with 0 returns
    /// these first three outputs (Vigna's `splitmix64.c`), each the mix of k × the golden
    /// gamma.
    #[test]
    fn mix64_gives_splitmix64s_known_outputs() {
        let gamma = 0x9e37_79b9_7f4a_7c15_u64;
        assert_eq!(mix64(gamma), 0xe220_a839_7b1d_cdaf);
        assert_eq!(mix64(gamma.wrapping_mul(2)), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(mix64(gamma.wrapping_mul(3)), 0x06c4_5d18_8009_454f);
    }

    /// A sketch of `width` components holds a 32-bit projection and one sign bit per
    /// component: 4.125 bytes each.
    #[test]
    fn a_sketch_holds_four_bytes_and_a_bit_per_component() {
        for width in [64, 512, 4096] {
            assert_eq!(GraphSketch::new(width).heap_bytes(), width * 4 + width / 8);
        }
    }

    #[test]
    fn adding_then_removing_a_shingle_restores_the_empty_sketch() {
        let mut sketch = GraphSketch::new(128);
        sketch.replace(None, 7);
        assert_ne!(sketch.bits(), &[0, 0]);
        sketch.replace(Some(7), 9);
        sketch.replace(Some(9), 7);
        let mut again = GraphSketch::new(128);
        again.replace(None, 7);
        assert_eq!(sketch.bits(), again.bits());
        assert_eq!(distance(sketch.bits(), again.bits()), 0.0);
    }

    #[test]
    fn hamming_counts_every_differing_bit() {
        let mut x = 0x9e37_79b9_u64;
        for len in [1usize, 8, 31, 32, 100, 128] {
            let a: Vec<u64> = (0..len)
                .map(|_| {
                    x = mix64(x);
                    x
                })
                .collect();
            let b: Vec<u64> = (0..len)
                .map(|_| {
                    x = mix64(x);
                    x
                })
                .collect();
            let expected: u32 = a.iter().zip(&b).map(|(p, q)| (p ^ q).count_ones()).sum();
            assert_eq!(hamming(&a, &b), expected, "len {len}");
        }
        assert_eq!(hamming(&[!0; 128], &[0; 128]), 8192);
    }

    #[test]
    fn unrelated_shingles_are_about_orthogonal() {
        // Two single-shingle graphs: orthogonal count vectors, so about half the bits differ.
        let mut a = GraphSketch::new(4096);
        let mut b = GraphSketch::new(4096);
        a.replace(None, 1);
        b.replace(None, 2);
        let d = distance(a.bits(), b.bits());
        assert!((d - 1.0).abs() < 0.1, "distance {d}");
    }
}
