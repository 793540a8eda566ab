//! The task that owns the worker core: dials, feeds it messages and finished work, sleeps
//! until `poll_timeout`, and carries out its outputs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;
use zisk_core::{
    Epoch, Fence, Generation, JobId, PartitionId, Payload, ProgramId, ToWorker, WorkOrder,
    WorkerCore, WorkerInput, WorkerOutput,
};
use zisk_proto::bytes::Bytes;
use zisk_proto::worker::v1::WorkerMessage;

use super::backend::ProvingBackend;
use super::link::{LinkEvent, run_link};
use super::work::{Finished, JobData, Work, spawn_work};
use crate::convert::{
    CoordinatorMessageDecoder, DecodedToWorker, WorkerContext, encode_from_worker,
};
use crate::limits::{ServerLimits, WORKER_STREAM_BUFFER};

struct Aggregation {
    partitions: BTreeSet<PartitionId>,
    proofs: BTreeMap<PartitionId, Payload>,
    started: bool,
}

pub(super) struct WorkerDriver {
    core: WorkerCore,
    origin: tokio::time::Instant,
    url: String,
    limits: ServerLimits,
    backend: Arc<dyn ProvingBackend>,
    inputs_folder: Option<Arc<Path>>,
    link: u64,
    link_task: Option<tokio::task::JoinHandle<()>>,
    sender: Option<mpsc::Sender<WorkerMessage>>,
    decoder: CoordinatorMessageDecoder,
    heartbeat_sequence: u64,
    last_session: Option<(Epoch, Generation)>,
    elfs: BTreeMap<ProgramId, Bytes>,
    program_sizes: BTreeMap<ProgramId, u64>,
    jobs: BTreeMap<JobId, JobData>,
    aggregations: BTreeMap<Fence, Aggregation>,
    /// Partition proofs this process produced for the job it holds: an aggregator folds its
    /// own proofs (the coordinator sends it only the others', docs/protocol.md).
    own_proofs: BTreeMap<JobId, BTreeMap<PartitionId, Payload>>,
    link_events: (mpsc::Sender<LinkEvent>, mpsc::Receiver<LinkEvent>),
    work_results: (
        mpsc::UnboundedSender<Finished>,
        mpsc::UnboundedReceiver<Finished>,
    ),
}

impl WorkerDriver {
    pub(super) fn new(
        core: WorkerCore,
        url: String,
        limits: ServerLimits,
        backend: Arc<dyn ProvingBackend>,
        inputs_folder: Option<Arc<Path>>,
    ) -> Self {
        WorkerDriver {
            core,
            origin: tokio::time::Instant::now(),
            url,
            limits,
            backend,
            inputs_folder,
            link: 0,
            link_task: None,
            sender: None,
            decoder: CoordinatorMessageDecoder::default(),
            heartbeat_sequence: 0,
            last_session: None,
            elfs: BTreeMap::new(),
            program_sizes: BTreeMap::new(),
            jobs: BTreeMap::new(),
            aggregations: BTreeMap::new(),
            own_proofs: BTreeMap::new(),
            link_events: mpsc::channel(WORKER_STREAM_BUFFER),
            work_results: mpsc::unbounded_channel(),
        }
    }

    fn now(&self) -> zisk_core::Instant {
        zisk_core::Instant::from_millis(self.origin.elapsed().as_millis() as u64)
    }

    /// Runs until the core exits after a drain.
    pub(super) async fn run(mut self, mut drain: mpsc::Receiver<()>) {
        let mut drain_open = true;
        while !self.core.has_exited() {
            let deadline = self
                .core
                .poll_timeout()
                .map(|at| self.origin + std::time::Duration::from_millis(at.as_millis()));
            tokio::select! {
                Some(event) = self.link_events.1.recv() => self.on_link_event(event),
                Some(finished) = self.work_results.1.recv() => self.on_finished(finished),
                request = drain.recv(), if drain_open => {
                    drain_open = false;
                    if request.is_some() {
                        tracing::info!("draining: finishing the work in hand");
                        let now = self.now();
                        self.core.begin_drain(now);
                    }
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    let now = self.now();
                    self.core.handle_timeout(now);
                }
            }
            self.carry_out_outputs();
        }
        if let Some(task) = self.link_task.take() {
            task.abort();
        }
        tracing::info!("worker drained");
    }

    fn feed(&mut self, input: WorkerInput) {
        let now = self.now();
        self.core.handle(now, input);
    }

    fn on_link_event(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Up { link, sender } if link == self.link => {
                tracing::info!(url = %self.url, "connected to the coordinator");
                self.sender = Some(sender);
                self.decoder = CoordinatorMessageDecoder::default();
                self.feed(WorkerInput::Connected);
            }
            LinkEvent::Message { link, message } if link == self.link => {
                match self.decoder.decode(message) {
                    Ok(Some(decoded)) => self.on_decoded(decoded),
                    Ok(None) => {}
                    Err(error) => {
                        tracing::warn!(%error, "malformed message from the coordinator; reconnecting");
                        self.drop_link();
                        self.feed(WorkerInput::Disconnected);
                    }
                }
            }
            LinkEvent::Down { link, reason } if link == self.link => {
                if self.sender.is_some() {
                    tracing::warn!(%reason, "lost the coordinator stream");
                } else {
                    tracing::warn!(%reason, url = %self.url, "cannot connect to the coordinator");
                }
                self.sender = None;
                self.link_task = None;
                self.feed(WorkerInput::Disconnected);
            }
            _ => {} // a superseded link
        }
    }

    fn on_decoded(&mut self, decoded: DecodedToWorker) {
        let message = match decoded {
            DecodedToWorker::Message(message) => message,
            DecodedToWorker::Program { program, elf } => {
                self.program_sizes.insert(program, elf.len() as u64);
                self.elfs.insert(program, elf);
                return;
            }
            DecodedToWorker::Setup { program, elf } => {
                self.program_sizes.insert(program, elf.len() as u64);
                self.elfs.insert(program, elf);
                ToWorker::Setup { program }
            }
            DecodedToWorker::Assignment {
                message,
                input,
                segment_cycles,
            } => {
                let (fence, program, partition_count) = match &message {
                    ToWorker::AssignExecute { fence, program } => (*fence, *program, 1),
                    ToWorker::AssignContributions {
                        fence,
                        program,
                        partition_count,
                        ..
                    }
                    | ToWorker::AssignProve {
                        fence,
                        program,
                        partition_count,
                        ..
                    } => (*fence, *program, *partition_count),
                    _ => unreachable!("only assignments carry inputs"),
                };
                if let Some(elf) = self.elfs.get(&program).cloned() {
                    self.jobs.insert(
                        fence.job,
                        JobData {
                            program,
                            elf,
                            input,
                            inputs_folder: self.inputs_folder.clone(),
                            segment_cycles,
                            partition_count,
                        },
                    );
                }
                message
            }
        };
        if let ToWorker::Registered {
            epoch, generation, ..
        } = &message
        {
            self.last_session = Some((*epoch, *generation));
        }
        self.feed(WorkerInput::Message(message));
    }

    fn on_finished(&mut self, finished: Finished) {
        match finished {
            Finished::Result(result) => {
                if let zisk_core::WorkResult::Proved {
                    fence,
                    partition,
                    proof,
                    ..
                } = &result
                    && self.core.job() == Some(fence.job)
                {
                    let held = Some(fence.job);
                    self.own_proofs.retain(|job, _| Some(*job) == held);
                    self.own_proofs
                        .entry(fence.job)
                        .or_default()
                        .insert(*partition, proof.clone());
                }
                self.feed(WorkerInput::WorkDone(result));
            }
            Finished::Verified {
                fence,
                partition,
                proof,
            } => {
                let Some(aggregation) = self.aggregations.get_mut(&fence) else {
                    return; // the job ended meanwhile
                };
                aggregation.proofs.insert(partition, proof);
                self.try_aggregate(fence);
            }
        }
    }

    fn try_aggregate(&mut self, fence: Fence) {
        let Some(aggregation) = self.aggregations.get_mut(&fence) else {
            return;
        };
        if aggregation.started
            || !aggregation
                .partitions
                .iter()
                .all(|partition| aggregation.proofs.contains_key(partition))
        {
            return;
        }
        aggregation.started = true;
        let proofs = aggregation
            .proofs
            .iter()
            .map(|(partition, proof)| (*partition, proof.clone()))
            .collect();
        self.spawn(Work::Aggregate { fence, proofs });
    }

    fn spawn(&self, work: Work) {
        spawn_work(self.backend.clone(), work, self.work_results.0.clone());
    }

    fn drop_link(&mut self) {
        self.sender = None;
        if let Some(task) = self.link_task.take() {
            task.abort();
        }
        self.link += 1; // whatever the old link still reports is ignored
    }

    fn carry_out_outputs(&mut self) {
        while let Some(output) = self.core.poll_output() {
            match output {
                WorkerOutput::Dial => {
                    self.drop_link();
                    let task = tokio::spawn(run_link(
                        self.link,
                        self.url.clone(),
                        self.limits.clone(),
                        self.link_events.0.clone(),
                    ));
                    self.link_task = Some(task);
                }
                WorkerOutput::Send(message) => self.send(&message),
                WorkerOutput::Start(order) => self.start(order),
                WorkerOutput::Abort { job } => {
                    tracing::info!(%job, "dropping the job's work");
                    self.jobs.remove(&job);
                    self.aggregations.retain(|fence, _| fence.job != job);
                    self.own_proofs.remove(&job);
                    self.backend.release(job);
                }
                WorkerOutput::CloseConnection { reason } => {
                    tracing::warn!(%reason, "closing the coordinator stream");
                    self.drop_link();
                }
                WorkerOutput::Refused(refusal) => {
                    tracing::error!(
                        ?refusal,
                        "the coordinator refused this worker's registration"
                    );
                }
                WorkerOutput::Exit => {}
            }
        }
    }

    fn send(&mut self, message: &zisk_core::FromWorker) {
        let Some(sender) = &self.sender else {
            return;
        };
        let partition_count = self
            .core
            .job()
            .and_then(|job| self.jobs.get(&job))
            .map_or(0, |data| data.partition_count);
        let context = WorkerContext {
            backend: self.backend.kind(),
            software_version: env!("CARGO_PKG_VERSION"),
            previous_session: self.last_session,
            program_sizes: &self.program_sizes,
            partition_count,
        };
        for wire in encode_from_worker(&context, &mut self.heartbeat_sequence, message) {
            if sender.try_send(wire).is_err() {
                tracing::warn!("coordinator stream full or closed; reconnecting");
                self.drop_link();
                self.feed(WorkerInput::Disconnected);
                return;
            }
        }
    }

    fn start(&mut self, order: WorkOrder) {
        let job_data =
            |jobs: &BTreeMap<JobId, JobData>, fence: &Fence| jobs.get(&fence.job).cloned();
        let work = match order {
            WorkOrder::Setup { program } => match self.elfs.get(&program) {
                Some(elf) => Work::Setup {
                    program,
                    elf: elf.clone(),
                },
                None => {
                    return self.feed(WorkerInput::WorkDone(zisk_core::WorkResult::SetupDone {
                        program,
                        result: Err("the worker holds no ELF for this program".to_owned()),
                    }));
                }
            },
            WorkOrder::Execute { fence, .. } => match job_data(&self.jobs, &fence) {
                Some(data) => Work::Execute { fence, data },
                None => return self.missing_input(fence),
            },
            WorkOrder::Contribute {
                fence, partitions, ..
            } => {
                // Phase 1 (again): proofs from an earlier challenge are not this round's.
                self.own_proofs.remove(&fence.job);
                match job_data(&self.jobs, &fence) {
                    Some(data) => Work::Contribute {
                        fence,
                        data,
                        partitions,
                    },
                    None => return self.missing_input(fence),
                }
            }
            WorkOrder::Prove {
                fence,
                challenge,
                partitions,
            } => Work::Prove {
                fence,
                challenge,
                partitions,
            },
            WorkOrder::RedoAndProve {
                fence,
                partitions,
                challenge,
                ..
            } => match job_data(&self.jobs, &fence) {
                Some(data) => Work::RedoAndProve {
                    fence,
                    data,
                    partitions,
                    challenge,
                },
                None => return self.missing_input(fence),
            },
            WorkOrder::Aggregate { fence, partitions } => {
                let own = self.own_proofs.get(&fence.job);
                let proofs = partitions
                    .iter()
                    .filter_map(|partition| {
                        own.and_then(|own| own.get(partition))
                            .map(|proof| (*partition, proof.clone()))
                    })
                    .collect();
                self.aggregations
                    .entry(fence)
                    .or_insert_with(|| Aggregation {
                        partitions: partitions.into_iter().collect(),
                        proofs,
                        started: false,
                    });
                self.try_aggregate(fence);
                return;
            }
            WorkOrder::AddProof {
                fence,
                partition,
                proof,
            } => Work::Verify {
                fence,
                partition,
                proof,
            },
        };
        self.spawn(work);
    }

    fn missing_input(&mut self, fence: Fence) {
        self.feed(WorkerInput::WorkDone(zisk_core::WorkResult::Failed {
            fence,
            reason: "the worker holds no input or ELF for this assignment".to_owned(),
            kind: zisk_core::FailureKind::Retryable,
        }));
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
