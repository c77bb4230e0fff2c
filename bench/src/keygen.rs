//! Key generation: which key number the next request touches.
//!
//! Each connection owns its own generator (no shared state, no atomics in the hot loop). Three
//! distributions:
//!
//! * **uniform** — every key in `0..keyspace` equally likely;
//! * **zipf** — key `k` (rank `k + 1`) drawn with probability proportional to `1 / rank^skew`,
//!   sampled by rejection-inversion (Hörmann & Derflinger 1996): O(1) set-up and O(1) expected
//!   time per sample for any key space size, unlike the YCSB method whose set-up is O(n);
//! * **sequential** — connection `c` of `C` walks `c, c + C, c + 2C, …` and wraps, so together the
//!   connections sweep the key space in order and a preload of `keyspace` requests writes every
//!   key exactly once.
//!
//! The random source is SplitMix64: tiny, fast and statistically good enough for choosing keys.

/// The key distribution chosen on the command line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyDist {
    Uniform,
    Zipf { skew: f64 },
    Sequential,
}

/// SplitMix64: a 64-bit generator with a single word of state.
#[derive(Clone, Debug)]
pub struct FastRng(u64);

impl FastRng {
    pub fn new(seed: u64) -> Self {
        FastRng(seed)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (multiply-shift; the bias is below 2^-32 for any realistic `n`).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A float in `[0, 1)`.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Zipf sampler over ranks `1..=n` by rejection-inversion.
#[derive(Clone, Debug)]
pub struct Zipf {
    n: f64,
    skew: f64,
    h_x1: f64,
    h_n: f64,
    s: f64,
}

impl Zipf {
    /// `skew` must be positive and finite (checked by the CLI).
    pub fn new(n: u64, skew: f64) -> Self {
        let nf = n as f64;
        let mut z = Zipf {
            n: nf,
            skew,
            h_x1: 0.0,
            h_n: 0.0,
            s: 0.0,
        };
        z.h_x1 = z.big_h(1.5) - 1.0;
        z.h_n = z.big_h(nf + 0.5);
        z.s = 2.0 - z.big_h_inv(z.big_h(2.5) - z.h(2.0));
        z
    }

    /// The unnormalised density `x^-skew`.
    fn h(&self, x: f64) -> f64 {
        (-self.skew * x.ln()).exp()
    }

    /// An antiderivative of `h`: `(x^(1-skew) - 1) / (1 - skew)`, continuous at `skew == 1`.
    fn big_h(&self, x: f64) -> f64 {
        let log_x = x.ln();
        helper2((1.0 - self.skew) * log_x) * log_x
    }

    fn big_h_inv(&self, x: f64) -> f64 {
        let mut t = x * (1.0 - self.skew);
        if t < -1.0 {
            // Rounding can push `t` just past the pole; clamp to the domain.
            t = -1.0;
        }
        (helper1(t) * x).exp()
    }

    /// A rank in `1..=n`; rank 1 is the most frequent.
    pub fn sample(&self, rng: &mut FastRng) -> u64 {
        loop {
            let u = self.h_n + rng.unit() * (self.h_x1 - self.h_n);
            let x = self.big_h_inv(u);
            let k = x.round().clamp(1.0, self.n);
            if k - x <= self.s || u >= self.big_h(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }
}

/// `ln(1 + x) / x`, accurate near zero.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// `(e^x - 1) / x`, accurate near zero.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))
    }
}

/// Per-connection key generator.
#[derive(Clone, Debug)]
pub struct KeyGen {
    keyspace: u64,
    rng: FastRng,
    zipf: Option<Zipf>,
    sequential: bool,
    next: u64,
    stride: u64,
}

impl KeyGen {
    /// `index` and `count` place this connection among all connections (for sequential keys).
    pub fn new(dist: KeyDist, keyspace: u64, seed: u64, index: u64, count: u64) -> Self {
        KeyGen {
            keyspace,
            rng: FastRng::new(seed),
            zipf: match dist {
                KeyDist::Zipf { skew } => Some(Zipf::new(keyspace, skew)),
                _ => None,
            },
            sequential: dist == KeyDist::Sequential,
            next: index % keyspace.max(1),
            stride: count.max(1),
        }
    }

    /// The next key number, in `0..keyspace`.
    #[inline]
    pub fn next_key(&mut self) -> u64 {
        if self.sequential {
            let k = self.next;
            self.next += self.stride;
            if self.next >= self.keyspace {
                self.next %= self.keyspace;
            }
            k
        } else if let Some(z) = &self.zipf {
            z.sample(&mut self.rng) - 1
        } else {
            self.rng.below(self.keyspace)
        }
    }

    /// The generator's random source, shared with value selection.
    pub fn rng(&mut self) -> &mut FastRng {
        &mut self.rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_stays_in_range_and_covers_it() {
        let mut g = KeyGen::new(KeyDist::Uniform, 10, 7, 0, 1);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            seen[g.next_key() as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
    }

    #[test]
    fn sequential_connections_partition_the_space() {
        let mut all = Vec::new();
        for c in 0..3 {
            let mut g = KeyGen::new(KeyDist::Sequential, 10, 1, c, 3);
            let n = (10 - c).div_ceil(3);
            all.extend((0..n).map(|_| g.next_key()));
        }
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    /// The empirical frequency of the first ranks matches `rank^-s / H(n, s)`.
    #[test]
    fn zipf_matches_theory() {
        for &skew in &[0.5, 0.99, 1.0, 1.5] {
            let n = 1000u64;
            let norm: f64 = (1..=n).map(|k| (k as f64).powf(-skew)).sum();
            let z = Zipf::new(n, skew);
            let mut rng = FastRng::new(42);
            let samples = 400_000;
            let mut counts = vec![0u64; n as usize + 1];
            for _ in 0..samples {
                let k = z.sample(&mut rng);
                assert!((1..=n).contains(&k));
                counts[k as usize] += 1;
            }
            for rank in 1..=5u64 {
                let expected = (rank as f64).powf(-skew) / norm;
                let got = counts[rank as usize] as f64 / samples as f64;
                assert!(
                    (got - expected).abs() < expected * 0.05 + 0.001,
                    "skew {skew} rank {rank}: got {got}, expected {expected}"
                );
            }
        }
    }
}
