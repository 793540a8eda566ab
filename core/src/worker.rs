//! The worker's protocol core: connection lifecycle, registration and reconnection,
//! heartbeats, assignment bookkeeping (fences, duplicates, cancellation), result buffering
//! across reconnections, and drain. Proving itself is done by the driver when the core
//! emits [`WorkerOutput::Start`].
//!
//! # Method families
//! - [`WorkerCore::new`]; the first `poll_timeout` is due at once and yields
//!   [`WorkerOutput::Dial`].
//! - Inputs: [`WorkerCore::handle`] with a [`WorkerInput`] (transport up or down, a message,
//!   a finished work order); [`WorkerCore::begin_drain`].
//! - Time: [`WorkerCore::handle_timeout`] when [`WorkerCore::poll_timeout`] has passed.
//! - Outputs: [`WorkerCore::poll_output`] until `None`, in order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use crate::config::{PROTOCOL_VERSION, WorkerConfig};
use crate::digest::{Challenge, Digest, Payload};
use crate::ids::{Epoch, Fence, Generation, JobId, PartitionId, ProgramId, WorkerId};
use crate::message::{
    Contribution, ExecutionSummary, FailureKind, FromWorker, ReconnectDirective,
    RegistrationRefusal, ToWorker,
};
use crate::time::Instant;

/// Work the driver must run (on blocking threads) and report back with a [`WorkResult`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum WorkOrder {
    /// Compute a program's setup (verifying key).
    Setup {
        /// The program.
        program: ProgramId,
    },
    /// Phase 1 for these partitions: one [`WorkResult::Contributed`] per partition.
    Contribute {
        /// The assignment's fence.
        fence: Fence,
        /// The guest.
        program: ProgramId,
        /// Partitions of the job.
        partition_count: u32,
        /// The partitions to commit.
        partitions: Vec<PartitionId>,
    },
    /// Phase 2 on this worker's phase-1 data: one [`WorkResult::Proved`] per partition.
    Prove {
        /// The assignment's fence.
        fence: Fence,
        /// The global challenge.
        challenge: Challenge,
        /// The partitions to prove.
        partitions: Vec<PartitionId>,
    },
    /// Redo phase 1 of taken-over partitions, then prove them: one result per partition.
    RedoAndProve {
        /// The assignment's fence.
        fence: Fence,
        /// The guest.
        program: ProgramId,
        /// Partitions of the job.
        partition_count: u32,
        /// The partitions.
        partitions: Vec<PartitionId>,
        /// The global challenge.
        challenge: Challenge,
        /// The commitments the redo must reproduce.
        expected: Vec<Contribution>,
    },
    /// Start aggregating these partitions' proofs; ends with [`WorkResult::Aggregated`].
    Aggregate {
        /// The aggregation's fence.
        fence: Fence,
        /// Every partition in the aggregation tree.
        partitions: Vec<PartitionId>,
    },
    /// Fold one more partial proof into the running aggregation.
    AddProof {
        /// The aggregation's fence.
        fence: Fence,
        /// The partition.
        partition: PartitionId,
        /// The proof bytes.
        proof: Payload,
    },
    /// Execute only: one [`WorkResult::Executed`].
    Execute {
        /// The assignment's fence.
        fence: Fence,
        /// The guest.
        program: ProgramId,
    },
}

/// What a work order produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkResult {
    /// A setup finished.
    SetupDone {
        /// The program.
        program: ProgramId,
        /// The verifying-key digest, or why it failed.
        result: Result<Digest, String>,
    },
    /// One partition's phase-1 result.
    Contributed {
        /// The fence of the order.
        fence: Fence,
        /// The partition.
        partition: PartitionId,
        /// The execution summary.
        summary: ExecutionSummary,
        /// The partition's contributions.
        contributions: Vec<Contribution>,
    },
    /// One partition's proof.
    Proved {
        /// The fence of the order.
        fence: Fence,
        /// The partition.
        partition: PartitionId,
        /// The phase-1 commitments the proof is built on.
        contributions: Vec<Contribution>,
        /// The proof bytes.
        proof: Payload,
    },
    /// A partial proof given to the aggregator failed verification.
    ProofRejected {
        /// The aggregation's fence.
        fence: Fence,
        /// The partition.
        partition: PartitionId,
        /// Why.
        reason: String,
    },
    /// The final proof.
    Aggregated {
        /// The aggregation's fence.
        fence: Fence,
        /// The final proof bytes.
        proof: Payload,
        /// The public output bytes the proof attests.
        outputs: Payload,
    },
    /// An execution finished.
    Executed {
        /// The fence of the order.
        fence: Fence,
        /// Its summary.
        summary: ExecutionSummary,
        /// The public output bytes.
        outputs: Payload,
    },
    /// An order failed (a panic in proving counts as a failure).
    Failed {
        /// The fence of the order.
        fence: Fence,
        /// Why.
        reason: String,
        /// Whether another attempt can succeed.
        kind: FailureKind,
    },
}

/// An event for the worker core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerInput {
    /// The stream to the coordinator is up (answering a [`WorkerOutput::Dial`]).
    Connected,
    /// The stream is down, or the dial failed.
    Disconnected,
    /// A message from the coordinator.
    Message(ToWorker),
    /// A work order finished.
    WorkDone(WorkResult),
}

/// What the worker core asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum WorkerOutput {
    /// Open a stream to the coordinator.
    Dial,
    /// Send on the open stream.
    Send(FromWorker),
    /// Run a work order.
    Start(WorkOrder),
    /// Stop every work order of a job; their results will be ignored.
    Abort {
        /// The job.
        job: JobId,
    },
    /// Close the stream (the coordinator fell silent).
    CloseConnection {
        /// Why.
        reason: String,
    },
    /// The coordinator refused the registration.
    Refused(RegistrationRefusal),
    /// Drain finished: exit the process.
    Exit,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Link {
    Down {
        dial_at: Instant,
    },
    Dialing,
    Registering,
    Up {
        generation: Generation,
        epoch: Epoch,
        heartbeat_interval: Duration,
    },
}

/// One worker's protocol state machine. See the module docs for the calling protocol.
pub struct WorkerCore {
    id: WorkerId,
    config: WorkerConfig,
    link: Link,
    registered_once: bool,
    awaiting_directive: bool,
    last_heard: Instant,
    next_heartbeat: Option<Instant>,
    job: Option<JobId>,
    fences: BTreeSet<Fence>,
    received_proofs: BTreeSet<(Fence, PartitionId)>,
    aggregation: Option<Fence>,
    outstanding: BTreeMap<Fence, u32>,
    setups: BTreeMap<ProgramId, Option<Result<Digest, String>>>,
    sent_log: VecDeque<FromWorker>,
    outbox: VecDeque<FromWorker>,
    outputs: VecDeque<WorkerOutput>,
    draining: bool,
    exited: bool,
}

impl WorkerCore {
    /// A worker that will dial at the first timeout. `config` must be valid.
    pub fn new(id: WorkerId, config: WorkerConfig) -> Self {
        if let Err(error) = config.validate() {
            panic!("WorkerCore::new needs a validated config: {error}");
        }
        WorkerCore {
            id,
            config,
            link: Link::Down {
                dial_at: Instant::from_millis(0),
            },
            registered_once: false,
            awaiting_directive: false,
            last_heard: Instant::from_millis(0),
            next_heartbeat: None,
            job: None,
            fences: BTreeSet::new(),
            received_proofs: BTreeSet::new(),
            aggregation: None,
            outstanding: BTreeMap::new(),
            setups: BTreeMap::new(),
            sent_log: VecDeque::new(),
            outbox: VecDeque::new(),
            outputs: VecDeque::new(),
            draining: false,
            exited: false,
        }
    }

    /// The worker's id.
    pub fn id(&self) -> &WorkerId {
        &self.id
    }

    /// The job it works on, if any.
    pub fn job(&self) -> Option<JobId> {
        self.job
    }

    /// Whether it is registered with a live stream.
    pub fn is_connected(&self) -> bool {
        matches!(self.link, Link::Up { .. })
    }

    /// The coordinator epoch and connection generation of the live stream.
    pub fn session(&self) -> Option<(Epoch, Generation)> {
        match self.link {
            Link::Up {
                epoch, generation, ..
            } => Some((epoch, generation)),
            _ => None,
        }
    }

    /// Results waiting for a stream.
    pub fn buffered_results(&self) -> usize {
        self.outbox.len()
    }

    /// Whether the drain finished.
    pub fn has_exited(&self) -> bool {
        self.exited
    }

    /// The next output, in order.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<WorkerOutput> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.exited {
            return None;
        }
        let dial = match self.link {
            Link::Down { dial_at } => Some(dial_at),
            _ => None,
        };
        let silence = match self.link {
            Link::Up { .. } | Link::Registering => {
                Some(self.last_heard + self.config.heartbeat_timeout)
            }
            _ => None,
        };
        [dial, silence, self.next_heartbeat]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires the timers due at `now`: dialling, heartbeats, coordinator silence.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.exited {
            return;
        }
        match self.link {
            Link::Down { dial_at } if dial_at <= now => {
                self.link = Link::Dialing;
                self.outputs.push_back(WorkerOutput::Dial);
            }
            Link::Up { .. } | Link::Registering
                if self.last_heard + self.config.heartbeat_timeout <= now =>
            {
                self.outputs.push_back(WorkerOutput::CloseConnection {
                    reason: "coordinator silent past the heartbeat timeout".to_owned(),
                });
                self.go_down(now);
            }
            _ => {}
        }
        if let (
            Some(at),
            Link::Up {
                heartbeat_interval, ..
            },
        ) = (self.next_heartbeat, &self.link)
            && at <= now
        {
            self.next_heartbeat = Some(now + *heartbeat_interval);
            self.outputs
                .push_back(WorkerOutput::Send(FromWorker::Heartbeat));
        }
    }

    /// Stops taking work; [`WorkerOutput::Exit`] follows once the work in hand is reported.
    pub fn begin_drain(&mut self, _now: Instant) {
        if self.draining {
            return;
        }
        self.draining = true;
        if self.is_connected() {
            self.outputs
                .push_back(WorkerOutput::Send(FromWorker::Draining));
        }
        self.check_exit();
    }

    /// Applies one event.
    pub fn handle(&mut self, now: Instant, input: WorkerInput) {
        if self.exited {
            return;
        }
        match input {
            WorkerInput::Connected => {
                self.last_heard = now;
                self.link = Link::Registering;
                let message = if self.registered_once {
                    self.awaiting_directive = true;
                    FromWorker::Reconnect {
                        worker: self.id.clone(),
                        compute_units: self.config.compute_units,
                        protocol_version: PROTOCOL_VERSION,
                        held: self.fences.iter().next_back().copied(),
                    }
                } else {
                    FromWorker::Register {
                        worker: self.id.clone(),
                        compute_units: self.config.compute_units,
                        protocol_version: PROTOCOL_VERSION,
                    }
                };
                self.outputs.push_back(WorkerOutput::Send(message));
            }
            WorkerInput::Disconnected => self.go_down(now),
            WorkerInput::Message(message) => {
                self.last_heard = now;
                self.on_message(now, message);
            }
            WorkerInput::WorkDone(result) => self.on_work_done(result),
        }
        self.check_exit();
    }

    fn go_down(&mut self, now: Instant) {
        self.link = Link::Down {
            dial_at: now + self.config.reconnect_interval,
        };
        self.next_heartbeat = None;
        self.awaiting_directive = false;
        self.check_exit();
    }

    fn on_message(&mut self, now: Instant, message: ToWorker) {
        match message {
            ToWorker::Registered {
                generation,
                epoch,
                heartbeat_interval_ms,
                ..
            } => {
                let heartbeat_interval = Duration::from_millis(heartbeat_interval_ms.max(1));
                self.link = Link::Up {
                    generation,
                    epoch,
                    heartbeat_interval,
                };
                self.next_heartbeat = Some(now + heartbeat_interval);
                if !self.registered_once {
                    self.registered_once = true;
                    self.flush_outbox();
                }
                if self.draining {
                    self.outputs
                        .push_back(WorkerOutput::Send(FromWorker::Draining));
                }
            }
            ToWorker::Refused(refusal) => {
                self.outputs.push_back(WorkerOutput::Refused(refusal));
                self.outputs.push_back(WorkerOutput::CloseConnection {
                    reason: "registration refused".to_owned(),
                });
                self.go_down(now);
            }
            ToWorker::Directive(directive) => self.on_directive(directive),
            ToWorker::HeartbeatAck => {}
            ToWorker::Setup { program } => match self.setups.get(&program) {
                None => {
                    self.setups.insert(program, None);
                    self.outputs
                        .push_back(WorkerOutput::Start(WorkOrder::Setup { program }));
                }
                // Asked again (a reconnection): answer from the finished setup.
                Some(Some(result)) => {
                    let result = result.clone();
                    self.send(FromWorker::SetupDone { program, result });
                }
                Some(None) => {}
            },
            ToWorker::AssignContributions {
                fence,
                program,
                partition_count,
                partitions,
            } => {
                let count = partitions.len() as u32;
                self.take_assignment(
                    fence,
                    count,
                    WorkOrder::Contribute {
                        fence,
                        program,
                        partition_count,
                        partitions,
                    },
                );
            }
            ToWorker::StartProve {
                fence,
                challenge,
                partitions,
            } => {
                let count = partitions.len() as u32;
                self.take_assignment(
                    fence,
                    count,
                    WorkOrder::Prove {
                        fence,
                        challenge,
                        partitions,
                    },
                );
            }
            ToWorker::AssignProve {
                fence,
                program,
                partition_count,
                partitions,
                challenge,
                expected,
            } => {
                let count = partitions.len() as u32;
                let order = WorkOrder::RedoAndProve {
                    fence,
                    program,
                    partition_count,
                    partitions,
                    challenge,
                    expected,
                };
                self.take_assignment(fence, count, order);
            }
            ToWorker::AssignExecute { fence, program } => {
                self.take_assignment(fence, 1, WorkOrder::Execute { fence, program });
            }
            ToWorker::BecomeAggregator { fence, partitions } => {
                self.take_assignment(fence, 1, WorkOrder::Aggregate { fence, partitions });
                if self.fences.contains(&fence) {
                    self.aggregation = Some(fence);
                }
            }
            ToWorker::AggregateProof {
                fence,
                partition,
                proof,
            } => {
                if self.fences.contains(&fence) && self.received_proofs.insert((fence, partition)) {
                    self.outputs
                        .push_back(WorkerOutput::Start(WorkOrder::AddProof {
                            fence,
                            partition,
                            proof,
                        }));
                }
            }
            ToWorker::Cancel { job } => self.drop_job(job),
        }
    }

    fn on_directive(&mut self, directive: ReconnectDirective) {
        self.awaiting_directive = false;
        match directive {
            ReconnectDirective::KeepComputing { job } => {
                if self.job.is_some_and(|held| held != job) {
                    let stale = self.job.expect("checked");
                    self.drop_job(stale);
                }
                // Results sent on the dead stream may never have arrived: send them again
                // (the coordinator ignores the ones it already has).
                self.outbox.retain(|message| message.fence().is_none());
                let replay: Vec<FromWorker> = self.sent_log.iter().cloned().collect();
                self.flush_outbox();
                self.outputs
                    .extend(replay.into_iter().map(WorkerOutput::Send));
                return;
            }
            ReconnectDirective::CancelStaleJob { job } => self.drop_job(job),
            ReconnectDirective::Idle => {
                if let Some(job) = self.job {
                    self.drop_job(job);
                }
            }
        }
        self.flush_outbox();
    }

    /// Starts an assignment unless it is a duplicate (same fence) or the worker is draining.
    fn take_assignment(&mut self, fence: Fence, results: u32, order: WorkOrder) {
        if self.fences.contains(&fence) {
            self.send(FromWorker::Accepted { fence });
            return;
        }
        if self.draining {
            self.send(FromWorker::Failed {
                fence,
                reason: "worker is draining".to_owned(),
                kind: FailureKind::Retryable,
            });
            return;
        }
        if let Some(held) = self.job
            && held != fence.job
        {
            // One job at a time: a new job means the coordinator is done with the old one.
            self.drop_job(held);
        }
        self.job = Some(fence.job);
        self.fences.insert(fence);
        if results > 0 {
            self.outstanding.insert(fence, results);
        }
        self.send(FromWorker::Accepted { fence });
        self.outputs.push_back(WorkerOutput::Start(order));
    }

    fn drop_job(&mut self, job: JobId) {
        if self.job != Some(job) {
            return;
        }
        self.job = None;
        self.fences.clear();
        self.received_proofs.clear();
        self.aggregation = None;
        self.outstanding.clear();
        self.sent_log.clear();
        self.outbox
            .retain(|message| message.fence().is_none_or(|fence| fence.job != job));
        self.outputs.push_back(WorkerOutput::Abort { job });
    }

    fn on_work_done(&mut self, result: WorkResult) {
        let message = match result {
            WorkResult::SetupDone { program, result } => {
                let Some(slot) = self.setups.get_mut(&program) else {
                    return;
                };
                *slot = Some(result.clone());
                FromWorker::SetupDone { program, result }
            }
            WorkResult::Contributed {
                fence,
                partition,
                summary,
                contributions,
            } => FromWorker::Contributed {
                fence,
                partition,
                summary,
                contributions,
            },
            WorkResult::Proved {
                fence,
                partition,
                contributions,
                proof,
            } => {
                // An aggregator folds the proofs it produces itself: the coordinator sends it
                // only the others'.
                if let Some(aggregation) = self.aggregation
                    && aggregation.job == fence.job
                    && self.fences.contains(&fence)
                    && self.received_proofs.insert((aggregation, partition))
                {
                    let order = WorkOrder::AddProof {
                        fence: aggregation,
                        partition,
                        proof: proof.clone(),
                    };
                    self.outputs.push_back(WorkerOutput::Start(order));
                }
                FromWorker::Proved {
                    fence,
                    partition,
                    contributions,
                    proof,
                }
            }
            WorkResult::ProofRejected {
                fence,
                partition,
                reason,
            } => {
                // A replacement proof for the partition will come.
                self.received_proofs.remove(&(fence, partition));
                FromWorker::ProofRejected {
                    fence,
                    partition,
                    reason,
                }
            }
            WorkResult::Aggregated {
                fence,
                proof,
                outputs,
            } => FromWorker::Aggregated {
                fence,
                proof,
                outputs,
            },
            WorkResult::Executed {
                fence,
                summary,
                outputs,
            } => FromWorker::Executed {
                fence,
                summary,
                outputs,
            },
            WorkResult::Failed {
                fence,
                reason,
                kind,
            } => FromWorker::Failed {
                fence,
                reason,
                kind,
            },
        };
        if let Some(fence) = message.fence().copied() {
            if !self.fences.contains(&fence) {
                return; // cancelled meanwhile
            }
            let finishes_order = matches!(message, FromWorker::Failed { .. });
            let counts = !matches!(message, FromWorker::ProofRejected { .. });
            if let Some(left) = self.outstanding.get_mut(&fence)
                && counts
            {
                *left = if finishes_order {
                    0
                } else {
                    left.saturating_sub(1)
                };
                if *left == 0 {
                    self.outstanding.remove(&fence);
                }
            }
        }
        if message.fence().is_some() {
            if self.sent_log.len() >= self.config.max_buffered_results {
                self.sent_log.pop_front();
            }
            self.sent_log.push_back(message.clone());
        }
        self.send(message);
    }

    /// Sends now if registered, else keeps the message for the next stream (bounded).
    fn send(&mut self, message: FromWorker) {
        if self.is_connected() && !self.awaiting_directive {
            self.outputs.push_back(WorkerOutput::Send(message));
            return;
        }
        if self.outbox.len() >= self.config.max_buffered_results {
            self.outbox.pop_front();
        }
        self.outbox.push_back(message);
    }

    fn flush_outbox(&mut self) {
        while let Some(message) = self.outbox.pop_front() {
            self.outputs.push_back(WorkerOutput::Send(message));
        }
    }

    fn check_exit(&mut self) {
        if self.draining && !self.exited && self.outstanding.is_empty() && self.outbox.is_empty() {
            self.exited = true;
            self.outputs.push_back(WorkerOutput::Exit);
        }
    }
}
