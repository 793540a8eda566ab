//! The Rust client library of the coordinator's public API (the `zisk` CLI is built on it):
//! register programs and run their setup, submit prove and execute jobs (inputs uploaded in
//! chunks or named by path under the workers' inputs folder), follow them, download proofs,
//! list jobs and workers.
//!
//! ```no_run
//! # async fn demo() -> Result<(), zisk_net::client::ClientError> {
//! use zisk_net::client::Client;
//! let mut client = Client::connect("http://127.0.0.1:7000").await?;
//! let elf = std::fs::read("guest.elf").expect("the guest");
//! let program = client.register("guest", elf).await?;
//! let verifying_key = client.setup(&program.program_id).await?;
//! let job = client.submit(true, &program.program_id, b"input".to_vec(), None).await?;
//! let done = client.follow(&job, |event| println!("{event:?}")).await?;
//! let proof = client.download_proof(&job).await?;
//! # let _ = (verifying_key, done, proof);
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio_stream::StreamExt;
use tonic::Status;
use tonic::transport::Channel;
use zisk_proto::bytes::Bytes;
use zisk_proto::client::v1 as api;
use zisk_proto::client::v1::client_api_client::ClientApiClient;
use zisk_proto::client::v1::job_event::Event;
use zisk_proto::common::v1::{ErrorCode, JobPhase};
use zisk_proto::{ChunkAssembler, ChunkError, MAX_CHUNK_BYTES};

use crate::limits::ServerLimits;
use crate::server::DialError;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The coordinator cannot be reached.
    #[error(transparent)]
    Connect(#[from] DialError),
    /// The coordinator answered with an error status (its stable code is in the text).
    #[error("{}", describe_status(.0))]
    Rpc(Status),
    /// The program's setup failed.
    #[error("setup of {program_id} failed: {reason}")]
    SetupFailed {
        /// The program.
        program_id: String,
        /// The reason the coordinator gave.
        reason: String,
    },
    /// The program's setup did not finish in time.
    #[error("setup of {program_id} did not finish within {} s", SETUP_WAIT.as_secs())]
    SetupTimeout {
        /// The program.
        program_id: String,
    },
    /// A download is malformed or too large.
    #[error("proof download: {0}")]
    Download(#[from] ChunkError),
    /// A response lacks what the protocol requires.
    #[error("malformed response from the coordinator: {0}")]
    Protocol(&'static str),
}

impl ClientError {
    /// The gRPC status, when the coordinator answered with one.
    pub fn status(&self) -> Option<&Status> {
        match self {
            ClientError::Rpc(status) => Some(status),
            _ => None,
        }
    }
}

/// Longest the client waits for a setup to finish.
const SETUP_WAIT: Duration = Duration::from_secs(600);

/// Largest proof downloaded.
const MAX_DOWNLOAD_BYTES: u64 = 512 << 20;

/// Where a job's input comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSource {
    /// These bytes, uploaded with the job.
    Inline(Vec<u8>),
    /// A file under each worker's inputs folder (a relative path).
    Path(String),
}

/// A connected client.
#[derive(Clone)]
pub struct Client {
    api: ClientApiClient<Channel>,
}

/// A status as a readable error: the stable code and the message.
pub fn describe_status(status: &Status) -> String {
    match ErrorCode::from_status(status) {
        Some(code) => format!("{} ({})", status.message(), code.as_str_name()),
        None => format!("{} ({:?})", status.message(), status.code()),
    }
}

fn rpc(status: Status) -> ClientError {
    ClientError::Rpc(status)
}

/// A phase's name for people.
pub fn phase_name(phase: i32) -> &'static str {
    match JobPhase::try_from(phase).unwrap_or(JobPhase::Unspecified) {
        JobPhase::Unspecified => "-",
        JobPhase::Setup => "setup",
        JobPhase::Contributions => "contributions (phase 1)",
        JobPhase::Prove => "prove (phase 2)",
        JobPhase::Aggregate => "aggregate (phase 3)",
        JobPhase::Execute => "execute",
    }
}

impl Client {
    /// Connects to the client API at `url`.
    ///
    /// # Errors
    /// The coordinator cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let limits = ServerLimits::default();
        let channel = crate::server::dial(url, &limits).await?;
        let api = ClientApiClient::new(channel)
            .max_decoding_message_size(limits.max_message_bytes)
            .max_encoding_message_size(limits.max_message_bytes);
        Ok(Client { api })
    }

    /// Uploads an ELF; returns its program id.
    ///
    /// # Errors
    /// The coordinator refused it.
    pub async fn register(
        &mut self,
        name: &str,
        elf: Vec<u8>,
    ) -> Result<api::RegisterProgramResponse, ClientError> {
        use api::program_chunk::Part;
        let elf = Bytes::from(elf);
        let header = api::ProgramChunk {
            part: Some(Part::Header(api::ProgramHeader {
                name: name.to_owned(),
                total_size: elf.len() as u64,
                sha256: Bytes::copy_from_slice(&Sha256::digest(&elf)),
            })),
        };
        let data = (0..elf.len().div_ceil(MAX_CHUNK_BYTES)).map(move |index| {
            let end = ((index + 1) * MAX_CHUNK_BYTES).min(elf.len());
            api::ProgramChunk {
                part: Some(Part::Data(elf.slice(index * MAX_CHUNK_BYTES..end))),
            }
        });
        let stream = tokio_stream::iter(std::iter::once(header).chain(data));
        Ok(self
            .api
            .register_program(stream)
            .await
            .map_err(rpc)?
            .into_inner())
    }

    /// Starts the setup of a program and waits until it is ready; returns the verifying key.
    ///
    /// # Errors
    /// The setup failed or did not finish in time.
    pub async fn setup(&mut self, program_id: &str) -> Result<Vec<u8>, ClientError> {
        let deadline = tokio::time::Instant::now() + SETUP_WAIT;
        loop {
            let response = self
                .api
                .setup(api::SetupRequest {
                    program_id: program_id.to_owned(),
                })
                .await
                .map_err(rpc)?
                .into_inner();
            match api::SetupState::try_from(response.state).unwrap_or(api::SetupState::Unspecified)
            {
                api::SetupState::Ready => return Ok(response.verifying_key.to_vec()),
                api::SetupState::Failed => {
                    let reason = response
                        .error
                        .map(|error| error.message)
                        .unwrap_or_default();
                    return Err(ClientError::SetupFailed {
                        program_id: program_id.to_owned(),
                        reason,
                    });
                }
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(ClientError::SetupTimeout {
                        program_id: program_id.to_owned(),
                    });
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Submits a job with its input; returns the job id.
    ///
    /// # Errors
    /// The coordinator refused it.
    pub async fn submit(
        &mut self,
        prove: bool,
        program_id: &str,
        input: Vec<u8>,
        compute_units: Option<u32>,
    ) -> Result<String, ClientError> {
        self.submit_input(prove, program_id, InputSource::Inline(input), compute_units)
            .await
    }

    /// Submits a job whose input is a file each worker reads from its inputs folder
    /// (`input_path` is relative to it); returns the job id.
    ///
    /// # Errors
    /// The coordinator refused it (e.g. a path that would leave the inputs folder).
    pub async fn submit_path(
        &mut self,
        prove: bool,
        program_id: &str,
        input_path: &str,
        compute_units: Option<u32>,
    ) -> Result<String, ClientError> {
        self.submit_input(
            prove,
            program_id,
            InputSource::Path(input_path.to_owned()),
            compute_units,
        )
        .await
    }

    /// Submits a job with its input given either way; returns the job id.
    ///
    /// # Errors
    /// The coordinator refused it.
    pub async fn submit_input(
        &mut self,
        prove: bool,
        program_id: &str,
        input: InputSource,
        compute_units: Option<u32>,
    ) -> Result<String, ClientError> {
        use api::job_submission::Part;
        let (input, input_path) = match input {
            InputSource::Inline(bytes) => (Bytes::from(bytes), String::new()),
            InputSource::Path(path) => (Bytes::new(), path),
        };
        let input_sha256 = if input_path.is_empty() {
            Bytes::copy_from_slice(&Sha256::digest(&input))
        } else {
            Bytes::new()
        };
        let spec = api::JobSubmission {
            part: Some(Part::Spec(api::JobSpec {
                program_id: program_id.to_owned(),
                input_size: input.len() as u64,
                compute_units,
                idempotency_key: String::new(),
                input_sha256,
                input_path,
            })),
        };
        let data = (0..input.len().div_ceil(MAX_CHUNK_BYTES)).map(move |index| {
            let end = ((index + 1) * MAX_CHUNK_BYTES).min(input.len());
            api::JobSubmission {
                part: Some(Part::Data(input.slice(index * MAX_CHUNK_BYTES..end))),
            }
        });
        let stream = tokio_stream::iter(std::iter::once(spec).chain(data));
        let response = if prove {
            self.api.prove(stream).await
        } else {
            self.api.execute(stream).await
        };
        Ok(response.map_err(rpc)?.into_inner().job_id)
    }

    /// Follows a job until it ends, printing each event with `print`; returns the final job.
    ///
    /// # Errors
    /// The stream broke or the job is unknown.
    pub async fn follow(
        &mut self,
        job_id: &str,
        mut print: impl FnMut(&Event),
    ) -> Result<api::Job, ClientError> {
        let mut events = self
            .api
            .watch_job(api::WatchJobRequest {
                job_id: job_id.to_owned(),
            })
            .await
            .map_err(rpc)?
            .into_inner();
        while let Some(event) = events.next().await {
            let event = event.map_err(rpc)?;
            if let Some(event) = &event.event {
                print(event);
            }
        }
        self.job(job_id).await
    }

    /// One job.
    ///
    /// # Errors
    /// Unknown job.
    pub async fn job(&mut self, job_id: &str) -> Result<api::Job, ClientError> {
        let response = self
            .api
            .get_job(api::GetJobRequest {
                job_id: job_id.to_owned(),
            })
            .await
            .map_err(rpc)?;
        response
            .into_inner()
            .job
            .ok_or(ClientError::Protocol("the coordinator returned no job"))
    }

    /// Cancels a job.
    ///
    /// # Errors
    /// Unknown or finished job.
    pub async fn cancel(&mut self, job_id: &str, reason: &str) -> Result<api::Job, ClientError> {
        let response = self
            .api
            .cancel_job(api::CancelJobRequest {
                job_id: job_id.to_owned(),
                reason: reason.to_owned(),
            })
            .await
            .map_err(rpc)?;
        response
            .into_inner()
            .job
            .ok_or(ClientError::Protocol("the coordinator returned no job"))
    }

    /// Downloads a completed job's proof.
    ///
    /// # Errors
    /// No proof, or a broken download.
    pub async fn download_proof(&mut self, job_id: &str) -> Result<Vec<u8>, ClientError> {
        let mut chunks = self
            .api
            .download_proof(api::DownloadProofRequest {
                job_id: job_id.to_owned(),
            })
            .await
            .map_err(rpc)?
            .into_inner();
        let mut proof = ChunkAssembler::new(MAX_DOWNLOAD_BYTES);
        while let Some(message) = chunks.next().await {
            let chunk = message
                .map_err(rpc)?
                .chunk
                .ok_or(ClientError::Protocol("a download message without a chunk"))?;
            proof.push(&chunk)?;
        }
        Ok(proof.finish()?.to_vec())
    }

    /// Jobs, newest first.
    ///
    /// # Errors
    /// The request failed.
    pub async fn jobs(
        &mut self,
        request: api::ListJobsRequest,
    ) -> Result<api::ListJobsResponse, ClientError> {
        Ok(self.api.list_jobs(request).await.map_err(rpc)?.into_inner())
    }

    /// Workers.
    ///
    /// # Errors
    /// The request failed.
    pub async fn workers(&mut self) -> Result<api::ListWorkersResponse, ClientError> {
        Ok(self
            .api
            .list_workers(api::ListWorkersRequest {})
            .await
            .map_err(rpc)?
            .into_inner())
    }

    /// The cluster's summary.
    ///
    /// # Errors
    /// The request failed.
    pub async fn status(&mut self) -> Result<api::ClusterStatusResponse, ClientError> {
        Ok(self
            .api
            .cluster_status(api::ClusterStatusRequest {})
            .await
            .map_err(rpc)?
            .into_inner())
    }
}
