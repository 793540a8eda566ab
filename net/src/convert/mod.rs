//! Conversions between the generated protobuf types and the core's types.
//!
//! The core never sees protobuf. Inbound messages are checked here (a malformed one becomes
//! a [`ConvertError`], `INVALID_ARGUMENT` on the client API); payloads that travel in chunks
//! are reassembled by the stateful decoders before the core sees one whole message.

mod client;
mod from_coordinator;
mod ids;
mod to_coordinator;
mod to_worker;

pub use client::{
    error_code_of_failure, kind_to_wire, phase_to_wire, state_to_wire, worker_to_wire,
};
pub use from_coordinator::{CoordinatorMessageDecoder, DecodedToWorker};
pub use ids::{
    fence_from_wire, fence_to_wire, job_id_arg, job_wire_id, parse_job_id, parse_program_id,
    program_id_arg, program_wire_id,
};
pub use to_coordinator::{WorkerContext, WorkerMessageDecoder, encode_from_worker};
pub use to_worker::{OutboundContext, StoredInput, encode_program_elf, encode_to_worker};

use zisk_proto::common::v1::ErrorCode;

/// A protobuf message the core cannot accept: a field is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{field}`: {problem}")]
pub struct ConvertError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl ConvertError {
    pub(crate) fn new(field: &'static str, value: &str) -> Self {
        let shown: String = value.chars().take(80).collect();
        ConvertError {
            field,
            problem: format!("malformed value {shown:?}"),
        }
    }

    pub(crate) fn missing(field: &'static str) -> Self {
        ConvertError {
            field,
            problem: "missing".to_owned(),
        }
    }

    pub(crate) fn other(field: &'static str, problem: impl Into<String>) -> Self {
        ConvertError {
            field,
            problem: problem.into(),
        }
    }

    /// The client-API status for this error: `INVALID_ARGUMENT`.
    pub fn into_status(self) -> tonic::Status {
        ErrorCode::InvalidArgument.to_status(self.to_string())
    }
}

/// A 32-byte digest from a wire byte field.
pub(crate) fn digest_from_wire(
    field: &'static str,
    bytes: &[u8],
) -> Result<zisk_core::Digest, ConvertError> {
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ConvertError::other(field, format!("{} bytes, expected 32", bytes.len())))?;
    Ok(zisk_core::Digest(array))
}

/// A core payload as wire bytes, without copying.
pub(crate) fn payload_to_bytes(payload: &zisk_core::Payload) -> zisk_proto::bytes::Bytes {
    zisk_proto::bytes::Bytes::from_owner(ArcBytes(payload.clone()))
}

struct ArcBytes(zisk_core::Payload);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
