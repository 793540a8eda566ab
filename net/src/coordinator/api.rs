//! The client API: uploads are reassembled and checked here, everything else is a request
//! to the core task.

use std::pin::Pin;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use zisk_core::JobKind;
use zisk_proto::ChunkAssembler;
use zisk_proto::bytes::Bytes;
use zisk_proto::client::v1 as client;
use zisk_proto::client::v1::client_api_server::ClientApi;
use zisk_proto::client::v1::job_event::Event;
use zisk_proto::common::v1::{ErrorCode, JobState};

use super::handle::CoordinatorHandle;
use crate::convert::{job_id_arg, program_id_arg};
use crate::input::JobInput;
use crate::limits::{MAX_ELF_BYTES, MAX_INPUT_BYTES, MAX_WAIT};
use crate::metrics::CoordinatorMetrics;

/// Checks an uploaded ELF before it is registered (the binaries pass the prover's loader);
/// the error text is shown to the client with `INVALID_ARGUMENT_ELF`.
pub type ElfCheck = Arc<dyn Fn(&[u8]) -> Result<(), String> + Send + Sync>;

/// The `ClientApi` gRPC service.
#[derive(Clone)]
pub struct ClientService {
    handle: CoordinatorHandle,
    metrics: Arc<dyn CoordinatorMetrics>,
    elf_check: Option<ElfCheck>,
}

type EventStream = Pin<Box<dyn Stream<Item = Result<client::JobEvent, Status>> + Send + 'static>>;
type ProofStream =
    Pin<Box<dyn Stream<Item = Result<client::DownloadProofResponse, Status>> + Send + 'static>>;

fn invalid_chunk(message: impl Into<String>) -> Status {
    ErrorCode::InvalidChunk.to_status(message)
}

fn check_sha256(expected: &[u8], payload: &[u8], what: &str) -> Result<(), Status> {
    if expected.is_empty() {
        return Ok(());
    }
    if expected.len() != 32 || Sha256::digest(payload).as_slice() != expected {
        return Err(invalid_chunk(format!(
            "the {what} does not match the SHA-256 given"
        )));
    }
    Ok(())
}

impl ClientService {
    /// A service answering from the core behind `handle`.
    pub fn new(
        handle: CoordinatorHandle,
        metrics: Arc<dyn CoordinatorMetrics>,
        elf_check: Option<ElfCheck>,
    ) -> Self {
        ClientService {
            handle,
            metrics,
            elf_check,
        }
    }

    fn observe<T>(
        &self,
        method: &'static str,
        result: Result<T, Status>,
    ) -> Result<Response<T>, Status> {
        let code = result
            .as_ref()
            .map_or_else(Status::code, |_| tonic::Code::Ok);
        self.metrics.request(method, code);
        result.map(Response::new)
    }

    async fn submit(
        &self,
        kind: JobKind,
        mut stream: Streaming<client::JobSubmission>,
    ) -> Result<client::SubmitJobResponse, Status> {
        use client::job_submission::Part;
        let spec = match stream
            .next()
            .await
            .transpose()?
            .and_then(|message| message.part)
        {
            Some(Part::Spec(spec)) => spec,
            _ => return Err(invalid_chunk("the first message must carry the job spec")),
        };
        let program = program_id_arg(&spec.program_id)?;
        let input_path = JobInput::from_spec(&spec.input_path, spec.input_size)
            .map_err(|error| ErrorCode::InvalidArgument.to_status(error.to_string()))?;
        if input_path.is_some() && !spec.input_sha256.is_empty() {
            return Err(ErrorCode::InvalidArgument
                .to_status("input_sha256 cannot be checked for an input path; leave it empty"));
        }
        let mut input = ChunkAssembler::with_total_size(spec.input_size, MAX_INPUT_BYTES)
            .map_err(|error| invalid_chunk(error.to_string()))?;
        while let Some(message) = stream.next().await.transpose()? {
            match message.part {
                Some(Part::Data(data)) => {
                    input
                        .push_data(&data)
                        .map_err(|error| invalid_chunk(error.to_string()))?;
                }
                _ => return Err(invalid_chunk("only data may follow the job spec")),
            }
        }
        let input = input
            .finish()
            .map_err(|error| invalid_chunk(error.to_string()))?;
        check_sha256(&spec.input_sha256, &input, "input")?;
        let input = input_path.map_or(JobInput::Inline(input), JobInput::Path);
        self.handle
            .submit(
                kind,
                program,
                input,
                spec.compute_units,
                spec.idempotency_key,
            )
            .await
    }

    async fn register(
        &self,
        mut stream: Streaming<client::ProgramChunk>,
    ) -> Result<client::RegisterProgramResponse, Status> {
        use client::program_chunk::Part;
        let header = match stream
            .next()
            .await
            .transpose()?
            .and_then(|message| message.part)
        {
            Some(Part::Header(header)) => header,
            _ => {
                return Err(invalid_chunk(
                    "the first message must carry the program header",
                ));
            }
        };
        let mut elf = ChunkAssembler::with_total_size(header.total_size, MAX_ELF_BYTES)
            .map_err(|error| invalid_chunk(error.to_string()))?;
        while let Some(message) = stream.next().await.transpose()? {
            match message.part {
                Some(Part::Data(data)) => {
                    elf.push_data(&data)
                        .map_err(|error| invalid_chunk(error.to_string()))?;
                }
                _ => return Err(invalid_chunk("only data may follow the program header")),
            }
        }
        let elf: Bytes = elf
            .finish()
            .map_err(|error| invalid_chunk(error.to_string()))?;
        check_sha256(&header.sha256, &elf, "ELF")?;
        if let Some(check) = &self.elf_check {
            check(&elf).map_err(|reason| ErrorCode::InvalidArgumentElf.to_status(reason))?;
        }
        tracing::info!(name = %header.name, size = elf.len(), "program registered");
        self.handle.register_program(elf).await
    }

    async fn wait(
        &self,
        request: client::WaitJobRequest,
    ) -> Result<client::WaitJobResponse, Status> {
        let job = job_id_arg(&request.job_id)?;
        let wait = std::time::Duration::from_millis(request.timeout_ms).min(MAX_WAIT);
        let mut events = self.handle.watch(job).await?;
        let _finished = tokio::time::timeout(wait, async {
            while let Some(event) = events.recv().await {
                if matches!(
                    event.event,
                    Some(Event::Completed(_) | Event::Failed(_) | Event::Cancelled(_))
                ) {
                    return;
                }
            }
        })
        .await
        .is_ok();
        let job = self.handle.job(job).await?;
        let terminal = [JobState::Completed, JobState::Failed, JobState::Cancelled]
            .iter()
            .any(|state| *state as i32 == job.state);
        Ok(client::WaitJobResponse {
            job: Some(job),
            still_running: !terminal,
        })
    }
}

#[tonic::async_trait]
impl ClientApi for ClientService {
    async fn register_program(
        &self,
        request: Request<Streaming<client::ProgramChunk>>,
    ) -> Result<Response<client::RegisterProgramResponse>, Status> {
        let result = self.register(request.into_inner()).await;
        self.observe("RegisterProgram", result)
    }

    async fn setup(
        &self,
        request: Request<client::SetupRequest>,
    ) -> Result<Response<client::SetupResponse>, Status> {
        let result = async {
            self.handle
                .setup(program_id_arg(&request.get_ref().program_id)?)
                .await
        }
        .await;
        self.observe("Setup", result)
    }

    async fn prove(
        &self,
        request: Request<Streaming<client::JobSubmission>>,
    ) -> Result<Response<client::SubmitJobResponse>, Status> {
        let result = self.submit(JobKind::Prove, request.into_inner()).await;
        self.observe("Prove", result)
    }

    async fn execute(
        &self,
        request: Request<Streaming<client::JobSubmission>>,
    ) -> Result<Response<client::SubmitJobResponse>, Status> {
        let result = self.submit(JobKind::Execute, request.into_inner()).await;
        self.observe("Execute", result)
    }

    async fn wait_job(
        &self,
        request: Request<client::WaitJobRequest>,
    ) -> Result<Response<client::WaitJobResponse>, Status> {
        let result = self.wait(request.into_inner()).await;
        self.observe("WaitJob", result)
    }

    type WatchJobStream = EventStream;

    async fn watch_job(
        &self,
        request: Request<client::WatchJobRequest>,
    ) -> Result<Response<Self::WatchJobStream>, Status> {
        let result = async {
            let job = job_id_arg(&request.get_ref().job_id)?;
            let events = self.handle.watch(job).await?;
            Ok(Box::pin(ReceiverStream::new(events).map(Ok)) as EventStream)
        }
        .await;
        self.observe("WatchJob", result)
    }

    async fn cancel_job(
        &self,
        request: Request<client::CancelJobRequest>,
    ) -> Result<Response<client::CancelJobResponse>, Status> {
        let result = async {
            let request = request.into_inner();
            let job = self
                .handle
                .cancel(job_id_arg(&request.job_id)?, request.reason)
                .await?;
            Ok(client::CancelJobResponse { job: Some(job) })
        }
        .await;
        self.observe("CancelJob", result)
    }

    async fn get_job(
        &self,
        request: Request<client::GetJobRequest>,
    ) -> Result<Response<client::GetJobResponse>, Status> {
        let result = async {
            let job = self
                .handle
                .job(job_id_arg(&request.get_ref().job_id)?)
                .await?;
            Ok(client::GetJobResponse { job: Some(job) })
        }
        .await;
        self.observe("GetJob", result)
    }

    async fn list_jobs(
        &self,
        request: Request<client::ListJobsRequest>,
    ) -> Result<Response<client::ListJobsResponse>, Status> {
        let result = self.handle.list_jobs(request.into_inner()).await;
        self.observe("ListJobs", result)
    }

    async fn list_workers(
        &self,
        _request: Request<client::ListWorkersRequest>,
    ) -> Result<Response<client::ListWorkersResponse>, Status> {
        let result = self.handle.list_workers().await;
        self.observe("ListWorkers", result)
    }

    async fn cluster_status(
        &self,
        _request: Request<client::ClusterStatusRequest>,
    ) -> Result<Response<client::ClusterStatusResponse>, Status> {
        let result = self.handle.cluster_status().await;
        self.observe("ClusterStatus", result)
    }

    type DownloadProofStream = ProofStream;

    async fn download_proof(
        &self,
        request: Request<client::DownloadProofRequest>,
    ) -> Result<Response<Self::DownloadProofStream>, Status> {
        let result = async {
            let proof = self
                .handle
                .proof(job_id_arg(&request.get_ref().job_id)?)
                .await?;
            let chunks = zisk_proto::split_chunks(proof)
                .map(|chunk| Ok(client::DownloadProofResponse { chunk: Some(chunk) }));
            Ok(Box::pin(tokio_stream::iter(chunks)) as ProofStream)
        }
        .await;
        self.observe("DownloadProof", result)
    }
}
