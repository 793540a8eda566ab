//! Thin tonic adapters that drive the [`zisk_core`] state machines over gRPC.
//!
//! - [`coordinator`]: one task owns the [`zisk_core::Coordinator`]. The client API
//!   ([`coordinator::ClientService`]) and the worker plane
//!   ([`coordinator::WorkerPlaneService`]) send it commands and worker-stream events; it
//!   sleeps until `poll_timeout`, and carries out the outputs (sends to workers, job events
//!   to watchers, counters to [`metrics::CoordinatorMetrics`]).
//! - [`worker`]: one task owns the [`zisk_core::WorkerCore`], dials the coordinator,
//!   reconnects, and runs work orders on blocking threads through a
//!   [`worker::ProvingBackend`] (a panic in proving becomes a failed task).
//! - [`convert`]: protobuf <-> core conversions; chunked payloads are reassembled with
//!   bounded memory before the core sees a message.
//! - [`input`]: job inputs (uploaded bytes, or a path under each worker's inputs folder)
//!   and the checks that keep a path inside that folder.
//! - [`server`]: serving and dialling with explicit [`limits::ServerLimits`].
//!
//! A lost stream is reported to the core from a drop guard in the task that reads it, so a
//! peer that vanishes is noticed even when tonic never yields end-of-stream.
//!
//! The adapters only use `tokio` APIs that madsim also provides (`spawn`, `spawn_blocking`,
//! `time::sleep_until`, `sync::{mpsc, oneshot}`, `select!`) and take time from
//! `tokio::time::Instant`, so the same code can be compiled against madsim.
//!
//! ```no_run
//! use std::sync::Arc;
//! use zisk_core::{Challenge, ChallengeDerivation, CoordinatorConfig, Epoch};
//! use zisk_net::coordinator::{CoordinatorOptions, WorkerPlaneService, spawn_coordinator};
//!
//! struct Fixed;
//! impl ChallengeDerivation for Fixed {
//!     fn derive(&self, _: &zisk_core::ProgramId, _: &zisk_core::Digest,
//!               _: &zisk_core::ExecutionSummary, _: &[zisk_core::Contribution]) -> Challenge {
//!         Challenge(vec![0].into())
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let (handle, _task) = spawn_coordinator(CoordinatorOptions {
//!     config: CoordinatorConfig::default(),
//!     epoch: Epoch(1),
//!     seed: 7,
//!     challenger: Box::new(Fixed),
//!     segment_cycles: 0,
//!     metrics: Arc::new(zisk_net::metrics::NoMetrics),
//!     outcomes: None,
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:50051").await?;
//! let limits = zisk_net::limits::ServerLimits::default();
//! zisk_net::server::serve_worker_plane(
//!     listener,
//!     WorkerPlaneService::new(handle.clone()),
//!     &limits,
//!     std::future::pending(),
//! )
//! .await?;
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod convert;
pub mod coordinator;
pub mod input;
pub mod limits;
pub mod metrics;
pub mod server;
pub mod worker;
