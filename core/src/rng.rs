//! The core's only source of randomness: a SplitMix64 stream seeded at construction.
//! Identical seeds and inputs give identical decisions, which simulations rely on.

/// A small, fast, seedable generator (SplitMix64). Not cryptographic: it only draws ids.
#[derive(Clone, Debug)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng { state: seed }
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next 128 pseudo-random bits.
    pub fn next_u128(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())
    }

    /// A child generator for an independent stream (per job or per worker).
    pub fn child(&mut self) -> SeededRng {
        SeededRng::new(self.next_u64())
    }

    /// A value in `0..bound`; `bound` must be non-zero.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "below() needs a non-zero bound");
        self.next_u64() % bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_stream_and_different_seeds_differ() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        let mut c = SeededRng::new(8);
        let a_values: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let b_values: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let c_values: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(a_values, b_values);
        assert_ne!(a_values, c_values);
    }
}
