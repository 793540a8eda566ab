//! Protobuf definitions of the zisk cluster's two gRPC services, with the
//! prost messages and tonic clients/servers generated from them.
//!
//! - [`client::v1`]: the client API (`ClientApi`, coordinator port 7000).
//! - [`worker::v1`]: the worker plane (`WorkerPlane`, one bidirectional
//!   `Connect` stream per worker, coordinator port 50051).
//! - [`common::v1`]: types shared by both: [`Fence`], [`Chunk`], [`ErrorCode`],
//!   job states and phases.
//!
//! The generated clients have no `connect(url)` constructor (it would clash
//! with the `Connect` RPC): build a `tonic::transport::Channel` and call
//! `XClient::new(channel)`. Set `max_decoding_message_size(MAX_MESSAGE_BYTES)`
//! on clients and servers. Only the network adapters (zisk-net) use this crate;
//! the sans-IO core never sees these types.
//!
//! The wire protocol is documented in the `.proto` files and docs/proto.md.
//!
//! [`Fence`]: common::v1::Fence
//! [`Chunk`]: common::v1::Chunk
//! [`ErrorCode`]: common::v1::ErrorCode

pub mod chunk;
mod error;

pub use chunk::{ChunkAssembler, ChunkError, split_chunks};
pub use error::ERROR_CODE_METADATA_KEY;
/// Re-export of the `bytes` crate used by generated `bytes` fields.
pub use prost::bytes;

/// Shared types (`zisk.common.v1`).
pub mod common {
    /// Version 1 of the shared types.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/zisk.common.v1.rs"));
    }
}

/// Client API (`zisk.client.v1`).
pub mod client {
    /// Version 1 of the client API: the `ClientApi` service.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/zisk.client.v1.rs"));
    }
}

/// Worker plane (`zisk.worker.v1`).
pub mod worker {
    /// Version 1 of the worker plane: the `WorkerPlane` service.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/zisk.worker.v1.rs"));
    }
}

/// Version of the worker-plane protocol, sent in `Register.protocol_version`
/// and `Registered.protocol_version`. Bumped only together with a new
/// `zisk.worker.vN` package; appending fields does not change it.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest payload, in bytes, of one chunk: the `data` of a
/// `zisk.common.v1.Chunk` and the `data` part of `ProgramChunk` and
/// `JobSubmission`. Larger payloads (ELFs, inputs, proofs) are split into
/// several chunks with [`split_chunks`]. Single-message byte fields documented
/// as "at most MAX_CHUNK_BYTES" (verifying keys, public outputs) share the
/// bound. 1 MiB.
pub const MAX_CHUNK_BYTES: usize = 1 << 20;

/// Largest encoded message, in bytes, either side accepts on either service;
/// pass it to `max_decoding_message_size` (and `max_encoding_message_size`)
/// of generated clients and servers. 4 MiB, tonic's default decoding limit:
/// room for one full chunk plus its envelope, and for a `ContributionResult`
/// of tens of thousands of segments.
pub const MAX_MESSAGE_BYTES: usize = 4 << 20;

/// `ListJobs` page size used when the request asks for 0.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Largest `ListJobs` page size; larger requests are reduced to it.
pub const MAX_PAGE_SIZE: u32 = 1000;

const _: () = assert!(2 * MAX_CHUNK_BYTES <= MAX_MESSAGE_BYTES);
const _: () = assert!(DEFAULT_PAGE_SIZE <= MAX_PAGE_SIZE);
