//! Opaque cryptographic values the core moves around but never computes: commitments,
//! verifying-key digests, challenges, and proof bytes.

use std::fmt;
use std::sync::Arc;

/// A 32-byte digest (trace commitment root, verifying-key hash, output hash).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Digest(pub [u8; 32]);

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0[..6] {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("..")
    }
}

/// Immutable bytes shared without copying (proofs, public outputs, challenges).
pub type Payload = Arc<[u8]>;

/// The global challenge of a job, derived from every phase-1 contribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge(pub Payload);
