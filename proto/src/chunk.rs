//! Splitting payloads into [`Chunk`]s and reassembling them, enforcing the
//! chunking rules of the protocol (see `zisk/common/v1/common.proto`).

use prost::bytes::{Bytes, BytesMut};

use crate::MAX_CHUNK_BYTES;
use crate::common::v1::{Chunk, ErrorCode};

/// Splits `payload` into chunks of at most [`MAX_CHUNK_BYTES`], in offset
/// order, without copying. An empty payload yields one empty chunk, so the
/// receiver always sees at least one chunk and learns the total size.
pub fn split_chunks(payload: Bytes) -> impl Iterator<Item = Chunk> {
    let total_size = payload.len() as u64;
    let count = payload.len().div_ceil(MAX_CHUNK_BYTES).max(1);
    (0..count).map(move |i| {
        let start = i * MAX_CHUNK_BYTES;
        let end = (start + MAX_CHUNK_BYTES).min(payload.len());
        Chunk {
            offset: start as u64,
            total_size,
            data: payload.slice(start..end),
        }
    })
}

/// A violation of the chunking rules, or a payload over the receiver's limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The announced total size is over the receiver's limit.
    #[error("payload of {total_size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// Announced total size.
        total_size: u64,
        /// The receiver's limit.
        limit: u64,
    },
    /// One chunk carries more than [`MAX_CHUNK_BYTES`].
    #[error("chunk of {len} bytes exceeds MAX_CHUNK_BYTES ({MAX_CHUNK_BYTES})")]
    ChunkTooLarge {
        /// Length of the chunk's data.
        len: usize,
    },
    /// A chunk's total size differs from the first chunk's.
    #[error("chunk announces total size {got}, earlier chunks announced {expected}")]
    TotalSizeChanged {
        /// Total size announced first.
        expected: u64,
        /// Total size of this chunk.
        got: u64,
    },
    /// A chunk does not start where the previous one ended.
    #[error("chunk at offset {got}, expected offset {expected}")]
    UnexpectedOffset {
        /// Bytes received so far.
        expected: u64,
        /// Offset of this chunk.
        got: u64,
    },
    /// A chunk runs past the announced total size.
    #[error("chunk ends at byte {end}, past the total size {total_size}")]
    PastEnd {
        /// End offset of this chunk.
        end: u64,
        /// Announced total size.
        total_size: u64,
    },
    /// The total size is not known: `push_data` on an assembler made with
    /// [`ChunkAssembler::new`], or `finish` before any chunk arrived.
    #[error("total size of the payload not known (no chunk or header received)")]
    UnknownTotalSize,
    /// A chunk arrived after the payload was complete.
    #[error("chunk received after the payload was complete")]
    AlreadyComplete,
    /// The stream ended before the payload was complete.
    #[error("payload incomplete: {received} of {total_size} bytes received")]
    Incomplete {
        /// Bytes received.
        received: u64,
        /// Announced total size.
        total_size: u64,
    },
}

impl ChunkError {
    /// The stable error code for every chunking violation:
    /// [`ErrorCode::InvalidChunk`].
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidChunk
    }
}

/// Reassembles one payload from its chunks, rejecting anything that breaks
/// the chunking rules: chunks must arrive in offset order without gaps or
/// overlaps, each at most [`MAX_CHUNK_BYTES`], all with the same total size,
/// which must not exceed the receiver's limit. Memory grows with the bytes
/// actually received, never with the (untrusted) announced size.
///
/// Feed it with [`push`](Self::push) (or [`push_data`](Self::push_data)) until
/// one returns `true`, then take the payload with [`finish`](Self::finish).
#[derive(Debug)]
pub struct ChunkAssembler {
    limit: u64,
    total_size: Option<u64>,
    received: u64,
    buf: BytesMut,
}

impl ChunkAssembler {
    /// An assembler for a payload of at most `limit` bytes whose total size
    /// comes from its first [`Chunk`].
    pub fn new(limit: u64) -> Self {
        ChunkAssembler {
            limit,
            total_size: None,
            received: 0,
            buf: BytesMut::new(),
        }
    }

    /// An assembler for a payload whose size is already known (from a
    /// `ProgramHeader` or `JobSpec`), at most `limit` bytes.
    pub fn with_total_size(total_size: u64, limit: u64) -> Result<Self, ChunkError> {
        let mut assembler = ChunkAssembler::new(limit);
        assembler.check_total_size(total_size)?;
        Ok(assembler)
    }

    /// True once every byte of the payload has arrived.
    pub fn is_complete(&self) -> bool {
        self.total_size == Some(self.received)
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Announced total size, once known.
    pub fn total_size(&self) -> Option<u64> {
        self.total_size
    }

    fn check_total_size(&mut self, total_size: u64) -> Result<u64, ChunkError> {
        match self.total_size {
            None if total_size > self.limit => Err(ChunkError::PayloadTooLarge {
                total_size,
                limit: self.limit,
            }),
            None => {
                self.total_size = Some(total_size);
                Ok(total_size)
            }
            Some(expected) if expected != total_size => Err(ChunkError::TotalSizeChanged {
                expected,
                got: total_size,
            }),
            Some(expected) => Ok(expected),
        }
    }

    /// Adds the next chunk; returns whether the payload is now complete.
    pub fn push(&mut self, chunk: &Chunk) -> Result<bool, ChunkError> {
        if self.is_complete() {
            return Err(ChunkError::AlreadyComplete);
        }
        let total_size = self.check_total_size(chunk.total_size)?;
        if chunk.offset != self.received {
            return Err(ChunkError::UnexpectedOffset {
                expected: self.received,
                got: chunk.offset,
            });
        }
        self.append(total_size, &chunk.data)
    }

    /// Adds the next bytes of a payload whose size was given to
    /// [`with_total_size`](Self::with_total_size) (streams without offsets:
    /// `ProgramChunk`, `JobSubmission`); returns whether the payload is now
    /// complete.
    pub fn push_data(&mut self, data: &[u8]) -> Result<bool, ChunkError> {
        if self.is_complete() {
            return Err(ChunkError::AlreadyComplete);
        }
        let Some(total_size) = self.total_size else {
            return Err(ChunkError::UnknownTotalSize);
        };
        self.append(total_size, data)
    }

    fn append(&mut self, total_size: u64, data: &[u8]) -> Result<bool, ChunkError> {
        if data.len() > MAX_CHUNK_BYTES {
            return Err(ChunkError::ChunkTooLarge { len: data.len() });
        }
        let end = self.received + data.len() as u64;
        if end > total_size {
            return Err(ChunkError::PastEnd { end, total_size });
        }
        self.buf.extend_from_slice(data);
        self.received = end;
        Ok(self.is_complete())
    }

    /// The whole payload; fails with [`ChunkError::Incomplete`] when bytes are
    /// missing (call it when the stream ends).
    pub fn finish(self) -> Result<Bytes, ChunkError> {
        let Some(total_size) = self.total_size else {
            return Err(ChunkError::UnknownTotalSize);
        };
        if self.received != total_size {
            return Err(ChunkError::Incomplete {
                received: self.received,
                total_size,
            });
        }
        Ok(self.buf.freeze())
    }
}
