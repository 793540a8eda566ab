//! Byte encoding of proofs and verifying keys: a fixed header, then a postcard body.
//!
//! ```text
//!     magic (8 bytes) | format version (u16, little-endian) | parameter set (1 byte) | body
//! ```
//!
//! Decoding checks the length limit, the magic, the version and the parameter set before
//! touching the body, and requires the body to use every remaining byte. Field elements are
//! range-checked by their own decoders. Nothing here panics on any input.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::errors::ProofFormatError;
use super::params::ParamSet;

/// Format version written by this build and the only one it reads.
/// Version 2: verifying keys name their execution-scoped buses.
pub const FORMAT_VERSION: u16 = 2;

/// Largest proof accepted by `SegmentProof::from_bytes`.
pub const MAX_PROOF_BYTES: usize = 64 << 20;

/// Largest verifying key accepted by `VerifyingKey::from_bytes`.
pub const MAX_KEY_BYTES: usize = 1 << 20;

const HEADER_BYTES: usize = 11;

/// What a byte string holds, told apart by its magic.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Header {
    Proof,
    Key,
}

impl Header {
    const fn magic(self) -> &'static [u8; 8] {
        match self {
            Self::Proof => b"ZSKSTPRF",
            Self::Key => b"ZSKSTKEY",
        }
    }
}

/// Header followed by the postcard encoding of `body`.
pub(crate) fn encode<B: Serialize>(header: Header, params: ParamSet, body: &B) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_BYTES);
    bytes.extend_from_slice(header.magic());
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.push(params.id());
    postcard::to_extend(body, bytes).expect("serialising into a Vec cannot fail")
}

/// Checks the header and decodes the body, which must end exactly at the end of `bytes`.
pub(crate) fn decode_body<B: DeserializeOwned>(
    header: Header,
    max_len: usize,
    bytes: &[u8],
) -> Result<(ParamSet, B), ProofFormatError> {
    if bytes.len() > max_len {
        return Err(ProofFormatError::TooLarge {
            len: bytes.len(),
            max: max_len,
        });
    }
    let Some((head, body)) = bytes.split_at_checked(HEADER_BYTES) else {
        return Err(ProofFormatError::Truncated {
            len: bytes.len(),
            header: HEADER_BYTES,
        });
    };
    if &head[..8] != header.magic() {
        return Err(ProofFormatError::BadMagic);
    }
    let version = u16::from_le_bytes([head[8], head[9]]);
    if version != FORMAT_VERSION {
        return Err(ProofFormatError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let params =
        ParamSet::from_id(head[10]).ok_or(ProofFormatError::UnknownParamSet { id: head[10] })?;
    let (value, rest) =
        postcard::take_from_bytes::<B>(body).map_err(|e| ProofFormatError::Body {
            detail: e.to_string(),
        })?;
    if !rest.is_empty() {
        return Err(ProofFormatError::TrailingBytes { count: rest.len() });
    }
    Ok((params, value))
}
