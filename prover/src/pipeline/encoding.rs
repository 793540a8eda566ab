//! Byte encoding of the pipeline's objects that cross the network: a fixed header, then a
//! postcard body.
//!
//! ```text
//!     magic (8 bytes) | format version (u16, little-endian) | body
//! ```
//!
//! Decoding checks the length limit, the magic and the version before touching the body, and
//! requires the body to use every remaining byte; any malformed input is a typed
//! [`FormatError`], never a panic.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::stark::ProofFormatError;

/// Format version of the pipeline's objects written by this build and the only one it reads.
pub const PIPELINE_FORMAT_VERSION: u16 = 1;

/// Largest [`super::VerifyingKey`] accepted (an ELF of at most 256 MiB and a few bytes).
pub const MAX_VERIFYING_KEY_BYTES: usize = 257 << 20;

/// Largest [`super::SegmentProofBundle`] accepted: a segment proof (at most 64 MiB) and, for
/// the last segment, the final memory and the public output.
pub const MAX_BUNDLE_BYTES: usize = 512 << 20;

/// Largest [`super::FinalProof`] accepted.
pub const MAX_FINAL_PROOF_BYTES: usize = 4 << 30;

const HEADER_BYTES: usize = 10;

/// What a byte string holds, told apart by its magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// A program's verifying key.
    VerifyingKey,
    /// A segment proof with what the aggregator needs besides it.
    SegmentProofBundle,
    /// The final proof of a run.
    FinalProof,
    /// Several segment proof bundles (a worker's partition).
    BundleBatch,
}

impl ObjectKind {
    const fn magic(self) -> &'static [u8; 8] {
        match self {
            Self::VerifyingKey => b"ZSKVMKEY",
            Self::SegmentProofBundle => b"ZSKVMSEG",
            Self::FinalProof => b"ZSKVMFIN",
            Self::BundleBatch => b"ZSKVMBAT",
        }
    }

    const fn max_bytes(self) -> usize {
        match self {
            Self::VerifyingKey => MAX_VERIFYING_KEY_BYTES,
            Self::SegmentProofBundle => MAX_BUNDLE_BYTES,
            Self::FinalProof | Self::BundleBatch => MAX_FINAL_PROOF_BYTES,
        }
    }
}

/// Why bytes do not decode into a pipeline object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Shorter than the header.
    #[error("{len} bytes is shorter than the {header}-byte header")]
    Truncated {
        /// Length given.
        len: usize,
        /// Header length.
        header: usize,
    },
    /// Longer than the limit of its kind.
    #[error("{len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Length given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The magic bytes are not the expected kind's.
    #[error("bad magic bytes: not a {expected:?}")]
    BadMagic {
        /// The kind that was expected.
        expected: ObjectKind,
    },
    /// Unknown format version.
    #[error("format version {found} is not supported (expected {supported})")]
    UnsupportedVersion {
        /// Version in the header.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// The body does not decode.
    #[error("malformed body: {detail}")]
    Body {
        /// The decoder's description.
        detail: String,
    },
    /// Bytes are left after the body.
    #[error("{count} bytes after the body")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// An embedded segment proof does not decode.
    #[error("embedded segment proof: {0}")]
    SegmentProof(#[from] ProofFormatError),
    /// The body decodes but says something impossible (named).
    #[error("invalid content: {what}")]
    Invalid {
        /// What is wrong.
        what: &'static str,
    },
}

/// Header followed by the postcard encoding of `body`.
pub(crate) fn encode<B: Serialize>(kind: ObjectKind, body: &B) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_BYTES);
    bytes.extend_from_slice(kind.magic());
    bytes.extend_from_slice(&PIPELINE_FORMAT_VERSION.to_le_bytes());
    postcard::to_extend(body, bytes).expect("serialising into a Vec cannot fail")
}

/// Checks the header and decodes the body, which must end exactly at the end of `bytes`.
pub(crate) fn decode<B: DeserializeOwned>(
    kind: ObjectKind,
    bytes: &[u8],
) -> Result<B, FormatError> {
    let max = kind.max_bytes();
    if bytes.len() > max {
        return Err(FormatError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    if bytes.len() < HEADER_BYTES {
        return Err(FormatError::Truncated {
            len: bytes.len(),
            header: HEADER_BYTES,
        });
    }
    if &bytes[..8] != kind.magic() {
        return Err(FormatError::BadMagic { expected: kind });
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != PIPELINE_FORMAT_VERSION {
        return Err(FormatError::UnsupportedVersion {
            found: version,
            supported: PIPELINE_FORMAT_VERSION,
        });
    }
    let (body, rest) =
        postcard::take_from_bytes(&bytes[HEADER_BYTES..]).map_err(|e| FormatError::Body {
            detail: e.to_string(),
        })?;
    if !rest.is_empty() {
        return Err(FormatError::TrailingBytes { count: rest.len() });
    }
    Ok(body)
}
