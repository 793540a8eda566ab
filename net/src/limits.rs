//! Limits the adapters enforce, as documented constants and the server settings.

use std::time::Duration;

/// Largest guest ELF accepted by `RegisterProgram` and by a worker's setup (the prover's
/// default ELF limit).
pub const MAX_ELF_BYTES: u64 = 16 << 20;

/// Largest job input accepted by `Prove` / `Execute` and by a worker (the prover's default
/// input limit).
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// Largest partition or final proof reassembled from chunks.
pub const MAX_PROOF_BYTES: u64 = 256 << 20;

/// Most chunked payloads one stream may have half-received at once.
pub const MAX_PENDING_PAYLOADS: usize = 64;

/// Most clients watching one job; more `WatchJob` calls are refused.
pub const MAX_WATCHERS_PER_JOB: usize = 64;

/// Events buffered per watcher; a watcher that falls this far behind is dropped.
pub const WATCHER_BUFFER: usize = 256;

/// Messages buffered towards one worker stream before the sender waits.
pub const WORKER_STREAM_BUFFER: usize = 1024;

/// Commands buffered towards the coordinator's core task.
pub const COMMAND_BUFFER: usize = 4096;

/// Longest `WaitJob` wait the server grants.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// Settings every gRPC server and client channel of the cluster uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Largest encoded message either side accepts.
    pub max_message_bytes: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Requests served at once per connection.
    pub concurrency_limit_per_connection: usize,
    /// HTTP/2 keepalive ping interval.
    pub keepalive_interval: Duration,
    /// How long a keepalive ping may go unanswered before the connection is closed.
    pub keepalive_timeout: Duration,
    /// TCP keepalive.
    pub tcp_keepalive: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_message_bytes: zisk_proto::MAX_MESSAGE_BYTES,
            max_concurrent_streams: 256,
            concurrency_limit_per_connection: 256,
            keepalive_interval: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(20),
            tcp_keepalive: Duration::from_secs(30),
        }
    }
}
