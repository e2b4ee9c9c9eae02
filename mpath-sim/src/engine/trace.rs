//! The run's trace as one number: every event the engine handles is
//! folded into a 64-bit FNV-1a hash, so two runs of the same scenario and
//! seed can be compared bit for bit without keeping the trace. FNV-1a,
//! not `std`'s hasher, because its output is fixed by its definition and
//! not by the Rust release.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// A running FNV-1a hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trace(u64);

impl Default for Trace {
    fn default() -> Self {
        Trace(OFFSET)
    }
}

impl Trace {
    /// Fold in bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(PRIME);
        }
    }

    /// Fold in a number.
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    /// The hash so far.
    pub fn value(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_values() {
        // FNV-1a 64 of "" and "a" (from the algorithm's definition).
        let mut t = Trace::default();
        assert_eq!(t.value(), 0xcbf2_9ce4_8422_2325);
        t.bytes(b"a");
        assert_eq!(t.value(), 0xaf63_dc4c_8601_ec8c);
        let mut u = Trace::default();
        u.u64(1);
        let mut v = Trace::default();
        v.u64(2);
        assert_ne!(u.value(), v.value());
    }
}
