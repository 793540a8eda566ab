//! The simulated clients: they use the real client API over simulated gRPC, exactly as the
//! CLI does, and record what they see in the [`Book`].
//!
//! A client registers the modelled guest, runs its setup, submits jobs and follows each one
//! with `WatchJob` until it ends. When its stream breaks or falls silent it asks
//! `ClusterStatus` for the coordinator's epoch: a job admitted by another incarnation was lost
//! with it (docs/protocol.md: the coordinator keeps no state across restarts) and the client
//! reports it failed ("lost"); otherwise it watches again. A completed job's result is checked
//! against the prover model: outputs, cycles, segments and the downloaded final proof, bit for
//! bit.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio_stream::StreamExt;
use tonic::Status;
use tonic::transport::Channel;
use zisk_core::{JobId, ProgramId};
use zisk_net::limits::ServerLimits;
use zisk_proto::ChunkAssembler;
use zisk_proto::bytes::Bytes;
use zisk_proto::client::v1 as api;
use zisk_proto::client::v1::client_api_client::ClientApiClient;
use zisk_proto::client::v1::job_event::Event;
use zisk_proto::common::v1::ErrorCode;

use crate::cluster::client_api_url;
use crate::model::{self, Guest, verify_final_proof};
use crate::state::{Shared, SimState};

/// The modelled guest's "ELF" (the simulated coordinator checks no ELF).
pub const GUEST_ELF: &[u8] = b"zisk-sim modelled guest v1";

/// Longest silence on a watch stream before the client checks on the coordinator (what
/// HTTP/2 keepalive does for a real client).
const WATCH_SILENCE: Duration = Duration::from_secs(20);

/// How a tracked job ended, as its client saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Completed, and its result matched the model.
    Completed,
    /// Failed, with the error code's name.
    Failed(String),
    /// Cancelled.
    Cancelled,
    /// Lost with a coordinator incarnation: reported to the client as failed.
    Lost,
}

/// One job a client submitted and the coordinator admitted.
#[derive(Clone, Debug)]
pub struct TrackedJob {
    /// The wire id.
    pub id: String,
    /// The coordinator epoch that admitted it.
    pub epoch: u64,
    /// Whether the coordinator restarted while it was being submitted (the admitting
    /// incarnation is then unknown).
    pub ambiguous: bool,
    /// Prove (or execute-only).
    pub prove: bool,
    /// The modelled run.
    pub guest: Guest,
    /// When its client saw it admitted (simulated ms). The coordinator admitted it earlier:
    /// a kill may fall between the two, so loss is judged by `epoch`, not by this time.
    pub admitted_ms: u64,
    /// A cancel of it was acknowledged (the job was then Cancelled).
    pub cancel_acknowledged: bool,
    /// How it ended, once it has.
    pub outcome: Option<Outcome>,
}

/// What every client has submitted and seen.
#[derive(Debug, Default)]
pub struct Book {
    /// Admitted jobs, in admission order.
    pub jobs: Vec<TrackedJob>,
    /// Submissions refused (or not answered).
    pub refused: u64,
    /// The epochs of the coordinator incarnations that were killed (a job admitted by one of
    /// them may be lost; no other job may).
    pub killed_epochs: Vec<u64>,
}

/// A handle to the [`Book`].
pub type SharedBook = Arc<Mutex<Book>>;

/// Locks the book.
pub fn lock_book(shared: &SharedBook) -> MutexGuard<'_, Book> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One client node's connection to the client API.
#[derive(Clone)]
pub struct SimClient {
    name: String,
    shared: Shared,
    book: SharedBook,
}

fn code_of(status: &Status) -> String {
    ErrorCode::from_status(status).map_or_else(
        || format!("{:?}", status.code()),
        |code| code.as_str_name().to_owned(),
    )
}

/// The program id of the modelled guest.
pub fn guest_program() -> ProgramId {
    ProgramId(Sha256::digest(GUEST_ELF).into())
}

fn parse_job(id: &str) -> Option<JobId> {
    u128::from_str_radix(id, 16).ok().map(JobId)
}

impl SimClient {
    /// A client called `name` recording into `shared` and `book`.
    pub fn new(name: String, shared: Shared, book: SharedBook) -> Self {
        SimClient { name, shared, book }
    }

    fn log(&self, line: String) {
        SimState::lock(&self.shared).log(format!("{} {line}", self.name));
    }

    fn violation(&self, what: String) {
        SimState::lock(&self.shared).violation(format!("client {}: {what}", self.name));
    }

    async fn api(&self) -> Result<ClientApiClient<Channel>, Status> {
        let limits = ServerLimits::default();
        let channel = zisk_net::server::dial(&client_api_url(), &limits)
            .await
            .map_err(|error| Status::unavailable(error.to_string()))?;
        Ok(ClientApiClient::new(channel))
    }

    /// The running coordinator's epoch.
    pub async fn epoch(&self) -> Result<u64, Status> {
        let mut api = self.api().await?;
        Ok(api
            .cluster_status(api::ClusterStatusRequest {})
            .await?
            .into_inner()
            .coordinator_epoch)
    }

    /// Registers the guest and waits until its setup is ready; returns the program's wire id.
    async fn ensure_program(&self) -> Result<String, Status> {
        use api::program_chunk::Part;
        let mut api = self.api().await?;
        let elf = Bytes::from_static(GUEST_ELF);
        let header = api::ProgramChunk {
            part: Some(Part::Header(api::ProgramHeader {
                name: "sim-guest".to_owned(),
                total_size: elf.len() as u64,
                sha256: Bytes::copy_from_slice(&Sha256::digest(&elf)),
            })),
        };
        let data = api::ProgramChunk {
            part: Some(Part::Data(elf)),
        };
        let program = api
            .register_program(tokio_stream::iter([header, data]))
            .await?
            .into_inner()
            .program_id;
        for _ in 0..60 {
            let response = api
                .setup(api::SetupRequest {
                    program_id: program.clone(),
                })
                .await?
                .into_inner();
            if response.state == api::SetupState::Ready as i32 {
                if response.verifying_key.as_ref() != model::verifying_key(&guest_program()).0 {
                    self.violation(format!(
                        "setup of {program} reported a verifying key the workers did not compute"
                    ));
                }
                return Ok(program);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(Status::deadline_exceeded("setup did not become ready"))
    }

    /// Submits one job; on admission records it and follows it to its end.
    pub async fn submit_and_follow(self, prove: bool, guest: Guest, compute_units: Option<u32>) {
        let admitted = match self.submit(prove, guest, compute_units).await {
            Ok(admitted) => admitted,
            Err(status) => {
                lock_book(&self.book).refused += 1;
                self.log(format!(
                    "submit refused {} salt={}",
                    code_of(&status),
                    guest.salt
                ));
                return;
            }
        };
        let (id, epoch, ambiguous) = admitted;
        let now = SimState::lock(&self.shared).now_ms();
        let index = {
            let mut book = lock_book(&self.book);
            book.jobs.push(TrackedJob {
                id: id.clone(),
                epoch,
                ambiguous,
                prove,
                guest,
                admitted_ms: now,
                cancel_acknowledged: false,
                outcome: None,
            });
            book.jobs.len() - 1
        };
        self.log(format!(
            "admitted {id} epoch={epoch} prove={prove} segments={} units={compute_units:?} salt={}",
            guest.segments, guest.salt
        ));
        let outcome = self.follow(index).await;
        self.log(format!("outcome {id} {outcome:?}"));
        lock_book(&self.book).jobs[index].outcome = Some(outcome);
    }

    async fn submit(
        &self,
        prove: bool,
        guest: Guest,
        compute_units: Option<u32>,
    ) -> Result<(String, u64, bool), Status> {
        use api::job_submission::Part;
        let epoch_before = self.epoch().await?;
        let program = self.ensure_program().await?;
        let input = Bytes::from(guest.encode());
        let messages = [
            api::JobSubmission {
                part: Some(Part::Spec(api::JobSpec {
                    program_id: program,
                    input_size: input.len() as u64,
                    compute_units,
                    idempotency_key: String::new(),
                    input_sha256: Bytes::copy_from_slice(&Sha256::digest(&input)),
                    input_path: String::new(),
                })),
            },
            api::JobSubmission {
                part: Some(Part::Data(input)),
            },
        ];
        let mut api = self.api().await?;
        let stream = tokio_stream::iter(messages);
        let response = if prove {
            api.prove(stream).await?
        } else {
            api.execute(stream).await?
        };
        let id = response.into_inner().job_id;
        let epoch_after = self.epoch().await.unwrap_or(0);
        Ok((id, epoch_after, epoch_before != epoch_after))
    }

    /// Follows job `index` of the book until it ends (or is lost with its coordinator).
    async fn follow(&self, index: usize) -> Outcome {
        let job = lock_book(&self.book).jobs[index].clone();
        loop {
            match self.epoch().await {
                Ok(epoch) if epoch != job.epoch => return Outcome::Lost,
                Ok(_) => {}
                Err(_) => {
                    // The coordinator is down: ask again later.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
            match self.watch(&job).await {
                Some(outcome) => return outcome,
                None => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    /// Watches the job; `None` when the stream broke or fell silent before the job ended.
    async fn watch(&self, job: &TrackedJob) -> Option<Outcome> {
        let mut api = self.api().await.ok()?;
        let mut events = match api
            .watch_job(api::WatchJobRequest {
                job_id: job.id.clone(),
            })
            .await
        {
            Ok(response) => response.into_inner(),
            Err(status) => {
                if ErrorCode::from_status(&status) == Some(ErrorCode::NotFound)
                    && self.epoch().await.ok() == Some(job.epoch)
                    && !job.ambiguous
                {
                    self.violation(format!(
                        "job {} vanished from the incarnation that admitted it",
                        job.id
                    ));
                    return Some(Outcome::Lost);
                }
                return None;
            }
        };
        loop {
            let event = match tokio::time::timeout(WATCH_SILENCE, events.next()).await {
                Ok(Some(Ok(event))) => event,
                Ok(Some(Err(_)) | None) | Err(_) => return None,
            };
            match event.event {
                Some(Event::Completed(completed)) => {
                    let Some(wire) = completed.job else {
                        self.violation(format!("job {} completed without its job", job.id));
                        return Some(Outcome::Completed);
                    };
                    self.check_result(&mut api, job, &wire).await;
                    return Some(Outcome::Completed);
                }
                Some(Event::Failed(failed)) => {
                    let code = failed
                        .error
                        .and_then(|error| ErrorCode::try_from(error.code).ok())
                        .map_or_else(
                            || "unknown".to_owned(),
                            |code| code.as_str_name().to_owned(),
                        );
                    return Some(Outcome::Failed(code));
                }
                Some(Event::Cancelled(_)) => return Some(Outcome::Cancelled),
                _ => {}
            }
        }
    }

    /// Checks a completed job against the prover model.
    async fn check_result(
        &self,
        api: &mut ClientApiClient<Channel>,
        job: &TrackedJob,
        wire: &api::Job,
    ) {
        if job.ambiguous {
            return;
        }
        let program = guest_program();
        let input = job.guest.encode();
        let outputs = model::outputs(&program, &input);
        let cycles = u64::from(job.guest.segments) * u64::from(job.guest.cycles_per_segment);
        let segments = u64::from(job.guest.segments);
        match &wire.outcome {
            Some(api::job::Outcome::Execute(outcome)) if !job.prove => {
                if outcome.cycles != cycles
                    || outcome.segment_count != segments
                    || outcome.public_outputs.as_ref() != outputs.as_slice()
                {
                    self.violation(format!(
                        "execute job {} completed with a result its workers did not produce: {outcome:?}",
                        job.id
                    ));
                }
            }
            Some(api::job::Outcome::Prove(outcome)) if job.prove => {
                if outcome.cycles != cycles || outcome.segment_count != segments {
                    self.violation(format!(
                        "prove job {} completed with a summary its workers did not produce: {outcome:?}",
                        job.id
                    ));
                }
                let epoch = self.epoch().await.ok();
                let proof = match self.download(api, &job.id).await {
                    Ok(proof) => proof,
                    Err(status) => {
                        if epoch == Some(job.epoch) && self.epoch().await.ok() == Some(job.epoch) {
                            self.violation(format!(
                                "the proof of completed job {} cannot be downloaded: {}",
                                job.id,
                                code_of(&status)
                            ));
                        }
                        return;
                    }
                };
                if Sha256::digest(&proof).as_slice() != outcome.proof_sha256.as_ref() {
                    self.violation(format!(
                        "job {}'s downloaded proof does not match its SHA-256",
                        job.id
                    ));
                }
                let Some(job_id) = parse_job(&job.id) else {
                    self.violation(format!("job id {} does not parse", job.id));
                    return;
                };
                let partition_count = match verify_final_proof(&proof) {
                    Ok(view) => view.partition_count,
                    Err(error) => {
                        self.violation(format!("job {} has a bad final proof: {error}", job.id));
                        return;
                    }
                };
                if partition_count != wire.granted_compute_units {
                    self.violation(format!(
                        "job {} was proven over {partition_count} partitions but granted {} units",
                        job.id, wire.granted_compute_units
                    ));
                }
                match model::expected_final_proof(job_id, &program, &input, partition_count) {
                    Ok(expected) if *expected == *proof => {}
                    _ => self.violation(format!(
                        "job {}'s final proof is not the one its workers' honest results make",
                        job.id
                    )),
                }
            }
            other => self.violation(format!(
                "job {} (prove={}) completed with the wrong kind of outcome: {other:?}",
                job.id, job.prove
            )),
        }
    }

    async fn download(
        &self,
        api: &mut ClientApiClient<Channel>,
        job: &str,
    ) -> Result<Vec<u8>, Status> {
        let mut chunks = api
            .download_proof(api::DownloadProofRequest {
                job_id: job.to_owned(),
            })
            .await?
            .into_inner();
        let mut proof = ChunkAssembler::new(64 << 20);
        while let Some(message) = chunks.next().await {
            let chunk = message?
                .chunk
                .ok_or_else(|| Status::internal("a download message without a chunk"))?;
            proof
                .push(&chunk)
                .map_err(|error| Status::internal(error.to_string()))?;
        }
        Ok(proof
            .finish()
            .map_err(|error| Status::internal(error.to_string()))?
            .to_vec())
    }

    /// Cancels job `index` of the book (if it has not ended); a cancel the coordinator
    /// acknowledges is remembered, and the job must then end Cancelled.
    pub async fn cancel(self, index: usize) {
        let job = lock_book(&self.book).jobs[index].clone();
        if job.outcome.is_some() {
            return;
        }
        let Ok(mut api) = self.api().await else {
            return;
        };
        let response = api
            .cancel_job(api::CancelJobRequest {
                job_id: job.id.clone(),
                reason: "simulated client cancel".to_owned(),
            })
            .await;
        match response {
            Ok(response) => {
                let state = response.into_inner().job.map(|job| job.state);
                let acknowledged = state
                    == Some(zisk_proto::common::v1::JobState::Cancelled as i32)
                    && !job.ambiguous
                    && self.epoch().await.ok() == Some(job.epoch);
                self.log(format!("cancel {} acknowledged={acknowledged}", job.id));
                if acknowledged {
                    lock_book(&self.book).jobs[index].cancel_acknowledged = true;
                }
            }
            Err(status) => self.log(format!("cancel {} refused {}", job.id, code_of(&status))),
        }
    }
}
