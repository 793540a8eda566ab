//! Messages from the servers to the task that owns the coordinator core.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tonic::Status;
use zisk_core::{ConnectionId, FromWorker, JobId, JobKind, ProgramId};
use zisk_proto::bytes::Bytes;
use zisk_proto::client::v1 as client;
use zisk_proto::common::v1::Backend;
use zisk_proto::worker::v1::CoordinatorMessage;

use crate::input::JobInput;
use crate::metrics::Gauges;

/// The reply half of a request.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, Status>>;

/// Where the core task sends a worker's messages.
pub(crate) type WorkerSender = mpsc::Sender<Result<CoordinatorMessage, Status>>;

/// One request to the core task.
pub(crate) enum Command {
    RegisterProgram {
        elf: Bytes,
        reply: Reply<client::RegisterProgramResponse>,
    },
    Setup {
        program: ProgramId,
        reply: Reply<client::SetupResponse>,
    },
    Submit {
        kind: JobKind,
        program: ProgramId,
        input: JobInput,
        compute_units: Option<u32>,
        idempotency_key: String,
        reply: Reply<client::SubmitJobResponse>,
    },
    Cancel {
        job: JobId,
        reason: String,
        reply: Reply<client::Job>,
    },
    GetJob {
        job: JobId,
        reply: Reply<client::Job>,
    },
    Watch {
        job: JobId,
        reply: Reply<mpsc::Receiver<client::JobEvent>>,
    },
    ListJobs {
        request: client::ListJobsRequest,
        reply: Reply<client::ListJobsResponse>,
    },
    ListWorkers {
        reply: Reply<client::ListWorkersResponse>,
    },
    ClusterStatus {
        reply: Reply<client::ClusterStatusResponse>,
    },
    DownloadProof {
        job: JobId,
        reply: Reply<Bytes>,
    },
    Gauges {
        reply: oneshot::Sender<Gauges>,
    },
    Drain {
        window: Duration,
        reply: oneshot::Sender<()>,
    },
    CloseWorkerStreams {
        reply: oneshot::Sender<()>,
    },
    Connected {
        connection: ConnectionId,
        sender: WorkerSender,
        heartbeat_sequence: Arc<AtomicU64>,
    },
    Message {
        connection: ConnectionId,
        message: FromWorker,
        backend: Option<Backend>,
    },
    Closed {
        connection: ConnectionId,
    },
}
