//! [`CoordinatorHandle`]: the servers' way to talk to the task that owns the core.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tonic::Status;
use zisk_core::{JobId, JobKind, ProgramId};
use zisk_proto::bytes::Bytes;
use zisk_proto::client::v1 as client;
use zisk_proto::common::v1::ErrorCode;

use super::command::{Command, Reply};
use crate::input::JobInput;
use crate::metrics::Gauges;

/// A cloneable handle to a running coordinator core task. Every call is a message to that
/// task; calls fail with `UNAVAILABLE` once it has stopped.
#[derive(Clone)]
pub struct CoordinatorHandle {
    pub(crate) commands: mpsc::Sender<Command>,
}

fn stopped() -> Status {
    ErrorCode::Unavailable.to_status("the coordinator core has stopped")
}

impl CoordinatorHandle {
    pub(crate) async fn send(&self, command: Command) -> Result<(), Status> {
        self.commands.send(command).await.map_err(|_| stopped())
    }

    async fn request<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, Status> {
        let (reply, answer) = oneshot::channel();
        self.send(make(reply)).await?;
        answer.await.map_err(|_| stopped())?
    }

    /// Registers a guest ELF (already checked by the caller).
    pub async fn register_program(
        &self,
        elf: Bytes,
    ) -> Result<client::RegisterProgramResponse, Status> {
        self.request(|reply| Command::RegisterProgram { elf, reply })
            .await
    }

    /// Starts or reports a program's setup.
    pub async fn setup(&self, program: ProgramId) -> Result<client::SetupResponse, Status> {
        self.request(|reply| Command::Setup { program, reply })
            .await
    }

    /// Submits a job with its whole input (or the path workers read it from).
    pub async fn submit(
        &self,
        kind: JobKind,
        program: ProgramId,
        input: JobInput,
        compute_units: Option<u32>,
        idempotency_key: String,
    ) -> Result<client::SubmitJobResponse, Status> {
        self.request(|reply| Command::Submit {
            kind,
            program,
            input,
            compute_units,
            idempotency_key,
            reply,
        })
        .await
    }

    /// Cancels a job.
    pub async fn cancel(&self, job: JobId, reason: String) -> Result<client::Job, Status> {
        self.request(|reply| Command::Cancel { job, reason, reply })
            .await
    }

    /// One job.
    pub async fn job(&self, job: JobId) -> Result<client::Job, Status> {
        self.request(|reply| Command::GetJob { job, reply }).await
    }

    /// A job's events: first its current state, then every change; ends after the terminal
    /// event.
    pub async fn watch(&self, job: JobId) -> Result<mpsc::Receiver<client::JobEvent>, Status> {
        self.request(|reply| Command::Watch { job, reply }).await
    }

    /// One page of jobs.
    pub async fn list_jobs(
        &self,
        request: client::ListJobsRequest,
    ) -> Result<client::ListJobsResponse, Status> {
        self.request(|reply| Command::ListJobs { request, reply })
            .await
    }

    /// Every known worker.
    pub async fn list_workers(&self) -> Result<client::ListWorkersResponse, Status> {
        self.request(|reply| Command::ListWorkers { reply }).await
    }

    /// A summary of the cluster.
    pub async fn cluster_status(&self) -> Result<client::ClusterStatusResponse, Status> {
        self.request(|reply| Command::ClusterStatus { reply }).await
    }

    /// The final proof of a completed prove job.
    pub async fn proof(&self, job: JobId) -> Result<Bytes, Status> {
        self.request(|reply| Command::DownloadProof { job, reply })
            .await
    }

    /// The gauges now.
    pub async fn gauges(&self) -> Result<Gauges, Status> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Gauges { reply }).await?;
        answer.await.map_err(|_| stopped())
    }

    /// Begins the drain: no new jobs, programs, setups or workers; unfinished jobs fail after
    /// `window`. Resolves once no job is left unfinished.
    pub async fn drain(&self, window: Duration) -> Result<(), Status> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Drain { window, reply }).await?;
        answer.await.map_err(|_| stopped())
    }

    /// Ends every worker stream (at shutdown, so that the worker plane's graceful shutdown
    /// does not wait for streams that never end on their own).
    pub async fn close_worker_streams(&self) -> Result<(), Status> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::CloseWorkerStreams { reply }).await?;
        answer.await.map_err(|_| stopped())
    }
}
