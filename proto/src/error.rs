//! Mapping of the stable [`ErrorCode`]s to gRPC status codes.

use tonic::metadata::{MetadataMap, MetadataValue};

use crate::common::v1::ErrorCode;

/// Response metadata key that carries the stable [`ErrorCode`] of a failed
/// RPC, as its proto name (for example `ERROR_CODE_QUEUE_FULL`).
pub const ERROR_CODE_METADATA_KEY: &str = "zisk-error-code";

impl ErrorCode {
    /// Every error code, in numeric order.
    pub const ALL: [ErrorCode; 26] = [
        ErrorCode::Unspecified,
        ErrorCode::InvalidArgument,
        ErrorCode::InvalidArgumentElf,
        ErrorCode::InvalidChunk,
        ErrorCode::UnknownProgram,
        ErrorCode::SetupNotReady,
        ErrorCode::SetupFailed,
        ErrorCode::QueueFull,
        ErrorCode::Draining,
        ErrorCode::NotFound,
        ErrorCode::JobTerminal,
        ErrorCode::CapacityExceeded,
        ErrorCode::StaleFence,
        ErrorCode::ProtocolVersionMismatch,
        ErrorCode::WorkerIdConflict,
        ErrorCode::UnsupportedCapability,
        ErrorCode::ExecutionFailed,
        ErrorCode::ExecutionMismatch,
        ErrorCode::ProofVerificationFailed,
        ErrorCode::Timeout,
        ErrorCode::RetryBudgetExhausted,
        ErrorCode::Cancelled,
        ErrorCode::ProofNotAvailable,
        ErrorCode::ResourceExhausted,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The gRPC status code an RPC failing with this error returns (the
    /// table in docs/proto.md).
    pub fn grpc_code(self) -> tonic::Code {
        use tonic::Code;
        match self {
            ErrorCode::Unspecified => Code::Unknown,
            ErrorCode::InvalidArgument
            | ErrorCode::InvalidArgumentElf
            | ErrorCode::InvalidChunk
            | ErrorCode::ExecutionFailed => Code::InvalidArgument,
            ErrorCode::UnknownProgram | ErrorCode::NotFound => Code::NotFound,
            ErrorCode::SetupNotReady
            | ErrorCode::SetupFailed
            | ErrorCode::JobTerminal
            | ErrorCode::ProtocolVersionMismatch
            | ErrorCode::ProofNotAvailable => Code::FailedPrecondition,
            ErrorCode::QueueFull | ErrorCode::ResourceExhausted => Code::ResourceExhausted,
            ErrorCode::Draining | ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::CapacityExceeded => Code::OutOfRange,
            ErrorCode::StaleFence | ErrorCode::RetryBudgetExhausted => Code::Aborted,
            ErrorCode::WorkerIdConflict => Code::AlreadyExists,
            ErrorCode::UnsupportedCapability => Code::Unimplemented,
            ErrorCode::Timeout => Code::DeadlineExceeded,
            ErrorCode::Cancelled => Code::Cancelled,
            ErrorCode::ExecutionMismatch
            | ErrorCode::ProofVerificationFailed
            | ErrorCode::Internal => Code::Internal,
        }
    }

    /// A `tonic::Status` with this error's gRPC code, the message, and the
    /// stable code in the [`ERROR_CODE_METADATA_KEY`] metadata entry.
    pub fn to_status(self, message: impl Into<String>) -> tonic::Status {
        let mut metadata = MetadataMap::new();
        metadata.insert(
            ERROR_CODE_METADATA_KEY,
            MetadataValue::from_static(self.as_str_name()),
        );
        tonic::Status::with_metadata(self.grpc_code(), message, metadata)
    }

    /// The stable code carried by a status built with [`ErrorCode::to_status`];
    /// `None` when the status has no (valid) `zisk-error-code` entry.
    pub fn from_status(status: &tonic::Status) -> Option<ErrorCode> {
        let value = status.metadata().get(ERROR_CODE_METADATA_KEY)?;
        ErrorCode::from_str_name(value.to_str().ok()?)
    }
}

impl From<ErrorCode> for tonic::Code {
    fn from(code: ErrorCode) -> Self {
        code.grpc_code()
    }
}
