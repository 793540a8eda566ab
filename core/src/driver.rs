//! A deterministic in-crate driver for tests: one coordinator core, several worker cores, a
//! virtual clock, a message queue with drop, duplicate, reorder and partition faults, and a
//! model prover whose results are deterministic functions of their inputs (so a redone
//! phase 1 reproduces its commitments, and a faulty worker's results are detectably wrong).
//!
//! Compiled with the `test-driver` feature only; nothing in production uses it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::config::{CoordinatorConfig, WorkerConfig};
use crate::coordinator::{ChallengeDerivation, Coordinator, Input};
use crate::digest::{Challenge, Digest, Payload};
use crate::events::{JobEvent, MetricEvent, Output};
use crate::ids::{
    ConnectionId, Epoch, Fence, JobId, PartitionId, ProgramId, SegmentIndex, WorkerId,
};
use crate::message::{Contribution, ExecutionSummary, FromWorker, ToWorker};
use crate::partition::segments_of_partition;
use crate::rng::SeededRng;
use crate::time::Instant;
use crate::worker::{WorkOrder, WorkResult, WorkerCore, WorkerInput, WorkerOutput};

/// A 32-byte non-cryptographic mix of some words, standing in for a hash.
pub fn mix(words: &[u64]) -> Digest {
    let mut rng = SeededRng::new(0x5EED);
    let mut state = 0u64;
    for word in words {
        state = SeededRng::new(state ^ word.wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64();
    }
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        chunk.copy_from_slice(&(state ^ rng.next_u64()).to_le_bytes());
        state = SeededRng::new(state).next_u64();
    }
    Digest(out)
}

fn digest_word(digest: &Digest) -> u64 {
    u64::from_le_bytes(digest.0[..8].try_into().expect("8 bytes"))
}

/// Segments the model execution of `program` has: 1 to 12, from the program id.
pub fn model_segment_count(program: &ProgramId) -> u32 {
    u32::from(program.0[0]) % 12 + 1
}

fn model_summary(program: &ProgramId, job: JobId) -> ExecutionSummary {
    let segment_count = model_segment_count(program);
    ExecutionSummary {
        segment_count,
        cycles: u64::from(segment_count) * 1024,
        outputs_digest: mix(&[digest_word(&Digest(program.0)), job.0 as u64]),
    }
}

/// The public output bytes of the model execution (its digest's bytes).
pub fn model_outputs(program: &ProgramId, job: JobId) -> Payload {
    Payload::from(model_summary(program, job).outputs_digest.0.to_vec())
}

fn model_contributions(
    program: &ProgramId,
    job: JobId,
    partition: PartitionId,
    partition_count: u32,
    faulty: bool,
) -> Vec<Contribution> {
    let segment_count = model_segment_count(program);
    segments_of_partition(partition, partition_count, segment_count)
        .map(|segment| Contribution {
            segment,
            commitment: mix(&[
                digest_word(&Digest(program.0)),
                job.0 as u64,
                u64::from(segment.0),
                u64::from(faulty),
            ]),
        })
        .collect()
}

fn model_proof(
    challenge: &Challenge,
    partition: PartitionId,
    contributions: &[Contribution],
) -> Payload {
    let mut words: Vec<u64> = challenge.0.iter().map(|byte| u64::from(*byte)).collect();
    words.push(u64::from(partition.0));
    words.extend(
        contributions
            .iter()
            .map(|contribution| digest_word(&contribution.commitment)),
    );
    Payload::from(mix(&words).0.to_vec())
}

/// The model challenge: an order-independent sum of per-segment mixes.
pub struct ModelChallenge;

impl ChallengeDerivation for ModelChallenge {
    fn derive(
        &self,
        program: &ProgramId,
        verifying_key: &Digest,
        summary: &ExecutionSummary,
        contributions: &[Contribution],
    ) -> Challenge {
        let mut sum = digest_word(&Digest(program.0))
            ^ digest_word(verifying_key)
            ^ u64::from(summary.segment_count);
        for contribution in contributions {
            sum = sum.wrapping_add(digest_word(&mix(&[
                u64::from(contribution.segment.0),
                digest_word(&contribution.commitment),
            ])));
        }
        Challenge(Payload::from(sum.to_le_bytes().to_vec()))
    }
}

/// Fault rates of the message queue, in parts per thousand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Messages dropped.
    pub drop_per_mille: u32,
    /// Messages delivered twice.
    pub duplicate_per_mille: u32,
    /// Extra random delay up to this many milliseconds (reorders messages).
    pub jitter_ms: u64,
}

#[derive(Clone, Debug)]
enum Envelope {
    ToCoordinator {
        connection: ConnectionId,
        message: FromWorker,
    },
    ClosedAtCoordinator {
        connection: ConnectionId,
    },
    ToWorker {
        worker: WorkerId,
        connection: ConnectionId,
        message: ToWorker,
    },
    ClosedAtWorker {
        worker: WorkerId,
        connection: ConnectionId,
    },
}

/// A worker process in the network: its core, its stream, and its model prover.
pub struct SimWorker {
    /// The worker core.
    pub core: WorkerCore,
    /// The current stream, if any.
    pub connection: Option<ConnectionId>,
    /// Whether the process runs.
    pub alive: bool,
    /// Whether the model prover produces wrong commitments.
    pub faulty: bool,
    /// Whether the model prover's phase-2 proofs are garbage (commitments stay right).
    pub bad_proofs: bool,
    /// Milliseconds each partition's work takes.
    pub work_ms: u64,
    config: WorkerConfig,
    work: Vec<(Instant, JobId, WorkResult)>,
    produced: BTreeMap<(JobId, PartitionId), Payload>,
    aggregation: Option<(Fence, BTreeSet<PartitionId>, BTreeSet<PartitionId>, u64)>,
}

/// The virtual network. Every decision comes from the seed, so a schedule replays exactly.
pub struct Network {
    /// The virtual clock.
    pub now: Instant,
    /// The coordinator core.
    pub coordinator: Coordinator,
    /// The workers, by id.
    pub workers: BTreeMap<WorkerId, SimWorker>,
    /// Queue faults in force.
    pub faults: Faults,
    /// Workers cut off from the coordinator (both directions).
    pub partitioned: BTreeSet<WorkerId>,
    /// Every job event seen, in order.
    pub job_events: Vec<JobEvent>,
    /// Every metric event seen, in order.
    pub metrics: Vec<MetricEvent>,
    /// Whether the coordinator reported its drain complete.
    pub drain_complete: bool,
    queue: BTreeMap<(Instant, u64), Envelope>,
    sequence: u64,
    next_connection: u64,
    rng: SeededRng,
    latency_ms: u64,
}

impl Network {
    /// A network with a coordinator (epoch 1) and no workers.
    pub fn new(config: CoordinatorConfig, seed: u64) -> Self {
        let mut rng = SeededRng::new(seed);
        let coordinator =
            Coordinator::new(config, Epoch(1), rng.next_u64(), Box::new(ModelChallenge));
        Network {
            now: Instant::from_millis(0),
            coordinator,
            workers: BTreeMap::new(),
            faults: Faults::default(),
            partitioned: BTreeSet::new(),
            job_events: Vec::new(),
            metrics: Vec::new(),
            drain_complete: false,
            queue: BTreeMap::new(),
            sequence: 0,
            next_connection: 1,
            rng,
            latency_ms: 1,
        }
    }

    /// Adds a worker process that dials at once.
    pub fn add_worker(&mut self, id: &str, compute_units: u32, work_ms: u64) {
        let config = WorkerConfig {
            compute_units,
            reconnect_interval: Duration::from_millis(200),
            heartbeat_timeout: Duration::from_secs(3),
            max_buffered_results: 64,
        };
        let worker = SimWorker {
            core: WorkerCore::new(WorkerId::from(id), config.clone()),
            connection: None,
            alive: true,
            faulty: false,
            bad_proofs: false,
            work_ms,
            config,
            work: Vec::new(),
            produced: BTreeMap::new(),
            aggregation: None,
        };
        self.workers.insert(WorkerId::from(id), worker);
    }

    /// Kills a worker process (SIGKILL). With `reset`, its stream is reset and the
    /// coordinator notices at once; without, only the heartbeat timeout will tell.
    pub fn kill_worker(&mut self, id: &WorkerId, reset: bool) {
        let Some(worker) = self.workers.get_mut(id) else {
            return;
        };
        if !worker.alive {
            return;
        }
        worker.alive = false;
        worker.work.clear();
        worker.produced.clear();
        worker.aggregation = None;
        if let Some(connection) = worker.connection.take()
            && reset
        {
            self.enqueue(id, Envelope::ClosedAtCoordinator { connection }, true);
        }
    }

    /// Restarts a killed worker as a fresh process.
    pub fn restart_worker(&mut self, id: &WorkerId) {
        let Some(worker) = self.workers.get_mut(id) else {
            return;
        };
        if worker.alive {
            return;
        }
        worker.alive = true;
        worker.core = WorkerCore::new(id.clone(), worker.config.clone());
    }

    fn latency(&mut self) -> Duration {
        let jitter = if self.faults.jitter_ms > 0 {
            self.rng.below(self.faults.jitter_ms + 1)
        } else {
            0
        };
        Duration::from_millis(self.latency_ms + jitter)
    }

    fn enqueue(&mut self, worker: &WorkerId, envelope: Envelope, reliable: bool) {
        if self.partitioned.contains(worker) {
            return;
        }
        if !reliable && self.rng.below(1000) < u64::from(self.faults.drop_per_mille) {
            return;
        }
        let copies =
            if !reliable && self.rng.below(1000) < u64::from(self.faults.duplicate_per_mille) {
                2
            } else {
                1
            };
        for _ in 0..copies {
            let at = self.now + self.latency();
            self.sequence += 1;
            self.queue.insert((at, self.sequence), envelope.clone());
        }
    }

    fn worker_of_connection(&self, connection: ConnectionId) -> Option<WorkerId> {
        self.workers
            .iter()
            .find(|(_, worker)| worker.connection == Some(connection))
            .map(|(id, _)| id.clone())
    }

    /// Carries out every pending output of the coordinator and the workers.
    pub fn flush(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(output) = self.coordinator.poll_output() {
                progressed = true;
                self.on_coordinator_output(output);
            }
            let ids: Vec<WorkerId> = self.workers.keys().cloned().collect();
            for id in ids {
                while let Some(output) = self
                    .workers
                    .get_mut(&id)
                    .and_then(|worker| worker.core.poll_output())
                {
                    progressed = true;
                    self.on_worker_output(&id, output);
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn on_coordinator_output(&mut self, output: Output) {
        match output {
            Output::Send {
                connection,
                message,
            } => {
                if let Some(worker) = self.worker_of_connection(connection) {
                    self.enqueue(
                        &worker.clone(),
                        Envelope::ToWorker {
                            worker,
                            connection,
                            message,
                        },
                        false,
                    );
                }
            }
            Output::Close { connection, .. } => {
                if let Some(worker) = self.worker_of_connection(connection) {
                    self.enqueue(
                        &worker.clone(),
                        Envelope::ClosedAtWorker { worker, connection },
                        true,
                    );
                }
            }
            Output::Job(event) => self.job_events.push(event),
            Output::Metric(event) => self.metrics.push(event),
            Output::Persist(_) => {}
            Output::DrainComplete => self.drain_complete = true,
        }
    }

    fn on_worker_output(&mut self, id: &WorkerId, output: WorkerOutput) {
        let now = self.now;
        match output {
            WorkerOutput::Dial => {
                if self.partitioned.contains(id) || !self.workers[id].alive {
                    let worker = self.workers.get_mut(id).expect("exists");
                    worker.core.handle(now, WorkerInput::Disconnected);
                    return;
                }
                let connection = ConnectionId(self.next_connection);
                self.next_connection += 1;
                self.workers.get_mut(id).expect("exists").connection = Some(connection);
                self.coordinator
                    .handle(now, Input::Connected { connection });
                self.workers
                    .get_mut(id)
                    .expect("exists")
                    .core
                    .handle(now, WorkerInput::Connected);
            }
            WorkerOutput::Send(message) => {
                if let Some(connection) = self.workers[id].connection {
                    self.enqueue(
                        id,
                        Envelope::ToCoordinator {
                            connection,
                            message,
                        },
                        false,
                    );
                }
            }
            WorkerOutput::Start(order) => self.start_work(id, order),
            WorkerOutput::Abort { job } => {
                let worker = self.workers.get_mut(id).expect("exists");
                worker.work.retain(|(_, held, _)| *held != job);
                if worker
                    .aggregation
                    .as_ref()
                    .is_some_and(|(fence, ..)| fence.job == job)
                {
                    worker.aggregation = None;
                }
            }
            WorkerOutput::CloseConnection { .. } => {
                if let Some(connection) =
                    self.workers.get_mut(id).expect("exists").connection.take()
                {
                    self.enqueue(id, Envelope::ClosedAtCoordinator { connection }, true);
                }
            }
            WorkerOutput::Refused(_) => {}
            WorkerOutput::Exit => {
                let worker = self.workers.get_mut(id).expect("exists");
                worker.alive = false;
                if let Some(connection) = worker.connection.take() {
                    self.enqueue(id, Envelope::ClosedAtCoordinator { connection }, true);
                }
            }
        }
    }

    fn start_work(&mut self, id: &WorkerId, order: WorkOrder) {
        let now = self.now;
        let worker = self.workers.get_mut(id).expect("exists");
        let step = Duration::from_millis(worker.work_ms);
        let faulty = worker.faulty;
        let mut at = now;
        let mut push = |worker: &mut SimWorker, job: JobId, result: WorkResult| {
            at = at + step;
            worker.work.push((at, job, result));
        };
        match order {
            WorkOrder::Setup { program } => {
                let result = WorkResult::SetupDone {
                    program,
                    result: Ok(mix(&[digest_word(&Digest(program.0)), 1])),
                };
                push(worker, JobId(u128::MAX), result);
            }
            WorkOrder::Contribute {
                fence,
                program,
                partition_count,
                partitions,
            } => {
                for partition in partitions {
                    let contributions = model_contributions(
                        &program,
                        fence.job,
                        partition,
                        partition_count,
                        faulty,
                    );
                    let summary = model_summary(&program, fence.job);
                    push(
                        worker,
                        fence.job,
                        WorkResult::Contributed {
                            fence,
                            partition,
                            summary,
                            contributions,
                        },
                    );
                }
            }
            WorkOrder::Prove {
                fence,
                challenge,
                partitions,
            } => {
                // The model's phase-1 data is recomputable from the program id, which this
                // driver reads from the coordinator's job table.
                let Some((program, partition_count)) = self
                    .coordinator
                    .job(fence.job)
                    .map(|job| (job.program, job.partition_count))
                else {
                    return;
                };
                self.schedule_proofs(id, fence, program, partition_count, partitions, &challenge);
            }
            WorkOrder::RedoAndProve {
                fence,
                program,
                partition_count,
                partitions,
                challenge,
                ..
            } => {
                self.schedule_proofs(id, fence, program, partition_count, partitions, &challenge);
            }
            WorkOrder::Aggregate { fence, partitions } => {
                let own: BTreeSet<PartitionId> = partitions
                    .iter()
                    .filter(|partition| worker.produced.contains_key(&(fence.job, **partition)))
                    .copied()
                    .collect();
                let expected: BTreeSet<PartitionId> = partitions.into_iter().collect();
                worker.aggregation = Some((fence, expected, own, 0));
                self.maybe_finish_aggregation(id);
            }
            WorkOrder::AddProof {
                fence,
                partition,
                proof,
            } => {
                let valid = self.model_proof_is_valid(fence.job, partition, &proof);
                let worker = self.workers.get_mut(id).expect("exists");
                let Some((held, _, received, _)) = worker.aggregation.as_mut() else {
                    return;
                };
                if *held != fence {
                    return;
                }
                if !valid {
                    let reason = "model proof does not verify".to_owned();
                    worker.work.push((
                        now + step,
                        fence.job,
                        WorkResult::ProofRejected {
                            fence,
                            partition,
                            reason,
                        },
                    ));
                    return;
                }
                received.insert(partition);
                self.maybe_finish_aggregation(id);
            }
            WorkOrder::Execute { fence, program } => {
                let summary = model_summary(&program, fence.job);
                let outputs = Payload::from(summary.outputs_digest.0.to_vec());
                push(
                    worker,
                    fence.job,
                    WorkResult::Executed {
                        fence,
                        summary,
                        outputs,
                    },
                );
            }
        }
    }

    /// Schedules one model proof per partition, `work_ms` apart.
    fn schedule_proofs(
        &mut self,
        id: &WorkerId,
        fence: Fence,
        program: ProgramId,
        partition_count: u32,
        partitions: Vec<PartitionId>,
        challenge: &Challenge,
    ) {
        let now = self.now;
        let worker = self.workers.get_mut(id).expect("exists");
        let step = Duration::from_millis(worker.work_ms);
        let mut at = now;
        for partition in partitions {
            let contributions = model_contributions(
                &program,
                fence.job,
                partition,
                partition_count,
                worker.faulty,
            );
            let proof = if worker.bad_proofs {
                Payload::from(vec![0u8; 32])
            } else {
                model_proof(challenge, partition, &contributions)
            };
            worker
                .produced
                .insert((fence.job, partition), proof.clone());
            at = at + step;
            let result = WorkResult::Proved {
                fence,
                partition,
                contributions,
                proof,
            };
            worker.work.push((at, fence.job, result));
        }
    }

    fn model_proof_is_valid(&self, job: JobId, partition: PartitionId, proof: &Payload) -> bool {
        let Some(job) = self.coordinator.job(job) else {
            return false;
        };
        let Some(challenge) = &job.challenge else {
            return false;
        };
        let contributions =
            model_contributions(&job.program, job.id, partition, job.partition_count, false);
        model_proof(challenge, partition, &contributions) == *proof
    }

    fn maybe_finish_aggregation(&mut self, id: &WorkerId) {
        let now = self.now;
        let outputs = match self.workers[id].aggregation.as_ref() {
            Some((fence, ..)) => self
                .coordinator
                .job(fence.job)
                .map(|job| model_outputs(&job.program, job.id)),
            None => return,
        };
        let Some(outputs) = outputs else { return };
        let worker = self.workers.get_mut(id).expect("exists");
        let Some((fence, expected, received, finished)) = worker.aggregation.as_mut() else {
            return;
        };
        if *finished > 0
            || !expected
                .iter()
                .all(|partition| received.contains(partition))
        {
            return;
        }
        *finished = 1;
        let fence = *fence;
        let mut words = vec![fence.job.0 as u64];
        words.extend(expected.iter().map(|partition| u64::from(partition.0)));
        let proof = Payload::from(mix(&words).0.to_vec());
        let step = Duration::from_millis(worker.work_ms);
        worker.work.push((
            now + step,
            fence.job,
            WorkResult::Aggregated {
                fence,
                proof,
                outputs,
            },
        ));
    }

    /// The earliest instant at which something is due.
    pub fn next_event_at(&self) -> Option<Instant> {
        let queue = self.queue.keys().next().map(|(at, _)| *at);
        let coordinator = self.coordinator.poll_timeout();
        let workers = self
            .workers
            .values()
            .filter(|worker| worker.alive)
            .flat_map(|worker| {
                worker
                    .core
                    .poll_timeout()
                    .into_iter()
                    .chain(worker.work.iter().map(|(at, ..)| *at))
            })
            .min();
        [queue, coordinator, workers].into_iter().flatten().min()
    }

    /// Advances to the next due event and processes everything due then. False when idle.
    pub fn step(&mut self) -> bool {
        let Some(at) = self.next_event_at() else {
            return false;
        };
        self.now = self.now.max(at);
        let now = self.now;
        while let Some((&key, _)) = self.queue.iter().next() {
            if key.0 > now {
                break;
            }
            let envelope = self.queue.remove(&key).expect("exists");
            self.deliver(envelope);
            self.flush();
        }
        self.coordinator.handle_timeout(now);
        self.flush();
        let ids: Vec<WorkerId> = self.workers.keys().cloned().collect();
        for id in ids {
            let worker = self.workers.get_mut(&id).expect("exists");
            if !worker.alive {
                continue;
            }
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut worker.work)
                .into_iter()
                .partition(|(at, ..)| *at <= now);
            worker.work = later;
            for (_, _, result) in due {
                self.workers
                    .get_mut(&id)
                    .expect("exists")
                    .core
                    .handle(now, WorkerInput::WorkDone(result));
            }
            self.workers
                .get_mut(&id)
                .expect("exists")
                .core
                .handle_timeout(now);
            self.flush();
        }
        true
    }

    fn deliver(&mut self, envelope: Envelope) {
        let now = self.now;
        match envelope {
            Envelope::ToCoordinator {
                connection,
                message,
            } => {
                self.coordinator.handle(
                    now,
                    Input::Message {
                        connection,
                        message,
                    },
                );
            }
            Envelope::ClosedAtCoordinator { connection } => {
                self.coordinator.handle(now, Input::Closed { connection });
            }
            Envelope::ToWorker {
                worker,
                connection,
                message,
            } => {
                let Some(entry) = self.workers.get_mut(&worker) else {
                    return;
                };
                if entry.alive && entry.connection == Some(connection) {
                    entry.core.handle(now, WorkerInput::Message(message));
                }
            }
            Envelope::ClosedAtWorker { worker, connection } => {
                let Some(entry) = self.workers.get_mut(&worker) else {
                    return;
                };
                if entry.alive && entry.connection == Some(connection) {
                    entry.connection = None;
                    entry.core.handle(now, WorkerInput::Disconnected);
                }
            }
        }
    }

    /// Steps until `done` holds or the clock passes `deadline`; returns whether `done` held.
    pub fn run_until(&mut self, deadline: Instant, mut done: impl FnMut(&Network) -> bool) -> bool {
        self.flush();
        loop {
            if done(self) {
                return true;
            }
            match self.next_event_at() {
                Some(at) if at <= deadline => {
                    self.step();
                }
                _ => return done(self),
            }
        }
    }

    /// Runs for `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration) {
        let deadline = self.now + duration;
        self.run_until(deadline, |_| false);
        self.now = self.now.max(deadline);
    }

    /// Sends a raw message to the coordinator as if from `worker`'s current stream.
    pub fn inject(&mut self, worker: &WorkerId, message: FromWorker) {
        if let Some(connection) = self
            .workers
            .get(worker)
            .and_then(|worker| worker.connection)
        {
            self.coordinator.handle(
                self.now,
                Input::Message {
                    connection,
                    message,
                },
            );
            self.flush();
        }
    }

    /// The test program whose model execution has `segments` segments (1..=12).
    pub fn program_with_segments(segments: u32) -> ProgramId {
        assert!((1..=12).contains(&segments));
        let mut id = [0u8; 32];
        id[0] = (segments - 1) as u8;
        id[1] = 0xAB;
        ProgramId(id)
    }

    /// Registers a program and runs its setup to completion (needs connected workers).
    pub fn ready_program(&mut self, segments: u32) -> ProgramId {
        let program = Self::program_with_segments(segments);
        self.coordinator
            .register_program(program)
            .expect("registry has room");
        self.coordinator
            .request_setup(self.now, program)
            .expect("known program");
        let deadline = self.now + Duration::from_secs(60);
        let ready = self.run_until(deadline, |network| {
            matches!(
                network.coordinator.program(program),
                Some(crate::program::ProgramState::Ready { .. })
            )
        });
        assert!(ready, "setup did not complete");
        program
    }

    /// Segment index helper for tests.
    pub fn segment(index: u32) -> SegmentIndex {
        SegmentIndex(index)
    }
}
