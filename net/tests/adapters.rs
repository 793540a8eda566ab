//! The adapters over real loopback gRPC, in one process: a coordinator core task with both
//! services, and worker tasks with scripted backends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use zisk_core::{
    Challenge, ChallengeDerivation, Contribution, CoordinatorConfig, Digest, Epoch,
    ExecutionSummary, JobId, JobKind, PartitionId, Payload, ProgramId, WorkerConfig, WorkerId,
};
use zisk_net::coordinator::{
    CoordinatorHandle, CoordinatorOptions, JobEnd, JobOutcome, JobOutcomeListener,
    WorkerPlaneService, spawn_coordinator,
};
use zisk_net::limits::ServerLimits;
use zisk_net::metrics::NoMetrics;
use zisk_net::worker::{
    AggregatedProof, BackendError, Execution, GuestRun, PartitionContribution, PartitionProof,
    ProvingBackend, WorkerOptions, spawn_worker,
};
use zisk_proto::bytes::Bytes;
use zisk_proto::client::v1::job_event::Event;
use zisk_proto::common::v1::Backend;

struct Fixed;
impl ChallengeDerivation for Fixed {
    fn derive(
        &self,
        _: &ProgramId,
        _: &Digest,
        _: &ExecutionSummary,
        _: &[Contribution],
    ) -> Challenge {
        Challenge(vec![0].into())
    }
}

/// Executes by echoing the input as output; panics on the first `panics` executions.
struct Echo {
    panics: AtomicU32,
}

impl ProvingBackend for Echo {
    fn kind(&self) -> Backend {
        Backend::Emulator
    }
    fn setup(&self, _: ProgramId, elf: &[u8]) -> Result<Digest, BackendError> {
        Ok(Digest(Sha256::digest(elf).into()))
    }
    fn execute(&self, run: &GuestRun<'_>) -> Result<Execution, BackendError> {
        if self.panics.load(Ordering::SeqCst) > 0 {
            self.panics.fetch_sub(1, Ordering::SeqCst);
            panic!("scripted panic");
        }
        Ok(Execution {
            summary: ExecutionSummary {
                segment_count: 1,
                cycles: run.input.len() as u64,
                outputs_digest: Digest(Sha256::digest(run.input).into()),
            },
            outputs: run.input.to_vec(),
        })
    }
    fn contribute(
        &self,
        _: &GuestRun<'_>,
        _: u32,
        _: &[PartitionId],
    ) -> Result<Vec<PartitionContribution>, BackendError> {
        Err(BackendError::NotBuilt("no proving here".to_owned()))
    }
    fn prove(
        &self,
        _: JobId,
        _: &Challenge,
        _: &[PartitionId],
    ) -> Result<Vec<PartitionProof>, BackendError> {
        Err(BackendError::NotBuilt("no proving here".to_owned()))
    }
    fn verify_partition(&self, _: JobId, _: PartitionId, _: &[u8]) -> Result<(), BackendError> {
        Err(BackendError::NotBuilt("no proving here".to_owned()))
    }
    fn aggregate(
        &self,
        _: JobId,
        _: &[(PartitionId, Payload)],
    ) -> Result<AggregatedProof, BackendError> {
        Err(BackendError::NotBuilt("no proving here".to_owned()))
    }
    fn release(&self, _: JobId) {}
}

async fn cluster(panics: u32) -> CoordinatorHandle {
    cluster_reporting(panics, None).await
}

/// Hands every job outcome to a channel.
struct Collect(tokio::sync::mpsc::UnboundedSender<JobOutcome>);
impl JobOutcomeListener for Collect {
    fn job_finished(&mut self, outcome: JobOutcome) {
        let _ = self.0.send(outcome);
    }
}

async fn cluster_reporting(
    panics: u32,
    outcomes: Option<Box<dyn JobOutcomeListener>>,
) -> CoordinatorHandle {
    let (handle, _task) = spawn_coordinator(CoordinatorOptions {
        config: CoordinatorConfig {
            heartbeat_interval: Duration::from_millis(200),
            heartbeat_timeout: Duration::from_secs(2),
            ..CoordinatorConfig::default()
        },
        epoch: Epoch(1),
        seed: 1,
        challenger: Box::new(Fixed),
        segment_cycles: 0,
        metrics: Arc::new(NoMetrics),
        outcomes,
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let plane = WorkerPlaneService::new(handle.clone());
    tokio::spawn(async move {
        zisk_net::server::serve_worker_plane(
            listener,
            plane,
            &ServerLimits::default(),
            std::future::pending(),
        )
        .await
    });
    let (_worker, _task) = spawn_worker(WorkerOptions {
        worker_id: WorkerId::from("echo"),
        config: WorkerConfig {
            reconnect_interval: Duration::from_millis(100),
            ..WorkerConfig::default()
        },
        coordinator_url: url,
        limits: ServerLimits::default(),
        inputs_folder: None,
        backend: Arc::new(Echo {
            panics: AtomicU32::new(panics),
        }),
    });
    handle
}

async fn run_to_end(handle: &CoordinatorHandle, input: Bytes) -> zisk_proto::client::v1::Job {
    let program = handle
        .register_program(Bytes::from_static(
            b"any bytes: the echo backend reads none",
        ))
        .await
        .unwrap();
    let program = zisk_net::convert::parse_program_id(&program.program_id).unwrap();
    let submitted = handle
        .submit(
            JobKind::Execute,
            program,
            zisk_net::input::JobInput::Inline(input),
            None,
            String::new(),
        )
        .await
        .unwrap();
    let job = zisk_net::convert::parse_job_id(&submitted.job_id).unwrap();
    let mut events = handle.watch(job).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = events.recv().await {
            if matches!(event.event, Some(Event::Completed(_) | Event::Failed(_))) {
                break;
            }
        }
    })
    .await
    .expect("the job ends within 20 s");
    handle.job(job).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execute_job_with_a_chunked_input_completes_through_the_adapters() {
    let handle = cluster(0).await;
    let input = Bytes::from(vec![7u8; 3 * zisk_proto::MAX_CHUNK_BYTES + 5]);
    let job = run_to_end(&handle, input.clone()).await;
    let Some(zisk_proto::client::v1::job::Outcome::Execute(outcome)) = job.outcome else {
        panic!("the job did not complete: {job:?}");
    };
    assert_eq!(outcome.public_outputs, input);
    assert_eq!(outcome.cycles, input.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_backend_fails_the_task_and_the_worker_lives_on() {
    let handle = cluster(1).await;
    let job = run_to_end(&handle, Bytes::from_static(b"abc")).await;
    // The first attempt panicked; the retry on the same (still connected) worker succeeded.
    assert!(job.outcome.is_some(), "{job:?}");
    let workers = handle.list_workers().await.unwrap();
    assert_eq!(workers.workers.len(), 1);
    assert_eq!(
        workers.workers[0].connection_generation, 1,
        "the worker never reconnected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_always_panics_fails_the_job_with_the_panic_message() {
    let handle = cluster(u32::MAX).await;
    let job = run_to_end(&handle, Bytes::from_static(b"abc")).await;
    let error = job.error.expect("the job failed");
    assert!(
        error
            .message
            .contains("the prover panicked: scripted panic"),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_that_ends_is_reported_once_to_the_outcome_listener() {
    let (sender, mut outcomes) = tokio::sync::mpsc::unbounded_channel();
    let handle = cluster_reporting(0, Some(Box::new(Collect(sender.clone())))).await;
    let job = run_to_end(&handle, Bytes::from_static(b"abcd")).await;
    let outcome = outcomes.recv().await.expect("an outcome");
    assert_eq!(outcome.job_id, job.job_id);
    assert_eq!(outcome.kind, JobKind::Execute);
    assert_eq!(outcome.program_id, job.program_id);
    assert_eq!(
        outcome.end,
        JobEnd::Completed {
            cycles: 4,
            segment_count: 1,
            proof_bytes: None,
        }
    );
    assert_eq!(outcome.submitted_at_ms, job.created_at_ms);
    assert_eq!(outcome.started_at_ms, Some(job.started_at_ms));
    assert_eq!(outcome.finished_at_ms, job.finished_at_ms);
    let phases: Vec<_> = outcome
        .phase_durations_ms
        .iter()
        .map(|(phase, _)| *phase)
        .collect();
    assert_eq!(phases, [zisk_core::Phase::Execute]);

    let failing = cluster_reporting(u32::MAX, Some(Box::new(Collect(sender)))).await;
    let job = run_to_end(&failing, Bytes::from_static(b"abc")).await;
    let outcome = outcomes.recv().await.expect("an outcome");
    assert_eq!(outcome.job_id, job.job_id);
    let JobEnd::Failed { code, message } = &outcome.end else {
        panic!("not a failure: {outcome:?}");
    };
    assert_eq!(code, "retry_budget_exhausted");
    assert!(message.contains("scripted panic"), "{message}");
    assert!(outcomes.try_recv().is_err(), "one outcome per job");
}
