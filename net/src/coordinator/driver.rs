//! The task that owns the coordinator core: feeds it commands and worker-plane events,
//! sleeps until `poll_timeout`, and carries out its outputs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use zisk_core::{
    ConnectionId, Coordinator, Input, JobId, MetricEvent, Output, ProgramId, WorkerId,
};
use zisk_proto::bytes::Bytes;
use zisk_proto::common::v1::Backend;

use super::command::{Command, WorkerSender};
use super::jobs::{JobRecord, is_terminal};
use super::observer::StepObserver;
use super::outcome::{JobOutcome, JobOutcomeListener};
use crate::convert::{OutboundContext, StoredInput, encode_program_elf, encode_to_worker};
use crate::metrics::CoordinatorMetrics;

pub(super) struct Connection {
    sender: WorkerSender,
    heartbeat_sequence: Arc<AtomicU64>,
    /// Programs whose ELF went down this stream (with `Setup` or ahead of an assignment).
    programs_sent: BTreeSet<ProgramId>,
}

/// The core and everything the adapter keeps beside it.
pub(super) struct Driver {
    pub(super) core: Coordinator,
    origin: tokio::time::Instant,
    wall_origin_ms: u64,
    pub(super) segment_cycles: u64,
    pub(super) heartbeat_timeout_ms: u64,
    connections: BTreeMap<ConnectionId, Connection>,
    pub(super) backends: BTreeMap<WorkerId, Backend>,
    pub(super) programs: BTreeMap<ProgramId, Bytes>,
    pub(super) inputs: BTreeMap<JobId, StoredInput>,
    pub(super) jobs: BTreeMap<JobId, JobRecord>,
    pub(super) idempotency: BTreeMap<String, JobId>,
    drain_waiters: Vec<oneshot::Sender<()>>,
    drain_complete: bool,
    pub(super) metrics: Arc<dyn CoordinatorMetrics>,
    pub(super) observer: Option<Box<dyn StepObserver>>,
    pub(super) outcomes: Option<Box<dyn JobOutcomeListener>>,
}

impl Driver {
    pub(super) fn new(
        core: Coordinator,
        segment_cycles: u64,
        metrics: Arc<dyn CoordinatorMetrics>,
    ) -> Self {
        let heartbeat_timeout_ms = core.config().heartbeat_timeout.as_millis() as u64;
        let wall_origin_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as u64);
        Driver {
            core,
            origin: tokio::time::Instant::now(),
            wall_origin_ms,
            segment_cycles,
            heartbeat_timeout_ms,
            connections: BTreeMap::new(),
            backends: BTreeMap::new(),
            programs: BTreeMap::new(),
            inputs: BTreeMap::new(),
            jobs: BTreeMap::new(),
            idempotency: BTreeMap::new(),
            drain_waiters: Vec::new(),
            drain_complete: false,
            metrics,
            observer: None,
            outcomes: None,
        }
    }

    /// The core's clock: milliseconds since the task started.
    pub(super) fn now(&self) -> zisk_core::Instant {
        zisk_core::Instant::from_millis(self.origin.elapsed().as_millis() as u64)
    }

    /// Wall-clock milliseconds since the Unix epoch of a core instant.
    pub(super) fn wall_ms(&self, instant: zisk_core::Instant) -> u64 {
        self.wall_origin_ms + instant.as_millis()
    }

    /// Runs until every handle is dropped.
    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            let deadline = self
                .core
                .poll_timeout()
                .map(|at| self.origin + std::time::Duration::from_millis(at.as_millis()));
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                () = sleep_until(deadline), if deadline.is_some() => {
                    let now = self.now();
                    self.core.handle_timeout(now);
                }
            }
            self.carry_out_outputs();
            if let Some(observer) = &mut self.observer {
                observer.after_step(&self.core);
            }
        }
        tracing::debug!("coordinator core task stopped: every handle is gone");
    }

    fn on_command(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Connected {
                connection,
                sender,
                heartbeat_sequence,
            } => {
                self.connections.insert(
                    connection,
                    Connection {
                        sender,
                        heartbeat_sequence,
                        programs_sent: BTreeSet::new(),
                    },
                );
                self.core.handle(now, Input::Connected { connection });
            }
            Command::Message {
                connection,
                message,
                backend,
            } => {
                if let (
                    Some(backend),
                    zisk_core::FromWorker::Register { worker, .. }
                    | zisk_core::FromWorker::Reconnect { worker, .. },
                ) = (backend, &message)
                {
                    self.backends.insert(worker.clone(), backend);
                }
                let message = self.check_final_outputs(message);
                if let Some(observer) = &mut self.observer {
                    observer.before_message(&self.core, connection, &message);
                }
                self.core.handle(
                    now,
                    Input::Message {
                        connection,
                        message,
                    },
                );
            }
            Command::Closed { connection } => {
                if self.connections.remove(&connection).is_some() {
                    tracing::debug!(connection = connection.0, "worker stream closed");
                }
                self.core.handle(now, Input::Closed { connection });
            }
            Command::Drain { window, reply } => {
                self.core.begin_drain(now, window);
                if self.drain_complete {
                    let _ = reply.send(());
                } else {
                    self.drain_waiters.push(reply);
                }
            }
            Command::CloseWorkerStreams { reply } => {
                tracing::info!(
                    streams = self.connections.len(),
                    "closing every worker stream"
                );
                self.connections.clear();
                let _ = reply.send(());
            }
            other => self.on_request(now, other),
        }
    }

    /// Carries out every output of the core, in order.
    pub(super) fn carry_out_outputs(&mut self) {
        let mut evicted = false;
        while let Some(output) = self.core.poll_output() {
            match output {
                // The coordinator keeps no state across restarts (docs/protocol.md); records
                // are logged so that a durable store can be added here.
                Output::Persist(record) => tracing::debug!(?record, "record"),
                Output::Send {
                    connection,
                    message,
                } => self.send(connection, &message),
                Output::Close { connection, reason } => {
                    if let Some(closed) = self.connections.remove(&connection) {
                        tracing::info!(connection = connection.0, %reason, "closing worker stream");
                        // The stream ends with a status that says why, not a bare end of
                        // stream (a full stream just ends).
                        let status = tonic::Status::aborted(format!(
                            "the coordinator closed this worker stream: {reason}"
                        ));
                        let _ = closed.sender.try_send(Err(status));
                    }
                }
                Output::Job(event) => self.on_job_event(&event),
                Output::Metric(event) => {
                    evicted |= matches!(event, MetricEvent::JobEvicted);
                    log_metric(&event);
                    self.metrics.event(&event);
                }
                Output::DrainComplete => {
                    self.drain_complete = true;
                    for waiter in self.drain_waiters.drain(..) {
                        let _ = waiter.send(());
                    }
                }
            }
        }
        if evicted {
            let core = &self.core;
            self.jobs.retain(|job, _| core.job(*job).is_some());
            let jobs = &self.jobs;
            self.idempotency.retain(|_, job| jobs.contains_key(job));
        }
    }

    fn send(&mut self, connection: ConnectionId, message: &zisk_core::ToWorker) {
        use zisk_core::ToWorker;
        let Some(target) = self.connections.get_mut(&connection) else {
            return;
        };
        // A worker needs the ELF of every program it runs; `Setup` carries it, and an
        // assignment for a program it never set up (execute-only) is preceded by it.
        let mut messages = Vec::new();
        match message {
            ToWorker::Setup { program } => {
                target.programs_sent.insert(*program);
            }
            ToWorker::AssignExecute { program, .. }
            | ToWorker::AssignContributions { program, .. }
            | ToWorker::AssignProve { program, .. } => {
                if target.programs_sent.insert(*program)
                    && let Some(elf) = self.programs.get(program)
                {
                    messages.extend(encode_program_elf(*program, elf));
                }
            }
            _ => {}
        }
        let target = &self.connections[&connection];
        let context = OutboundContext {
            epoch: self.core.epoch(),
            heartbeat_timeout_ms: self.heartbeat_timeout_ms,
            segment_cycles: self.segment_cycles,
            heartbeat_sequence: target.heartbeat_sequence.load(Ordering::Relaxed),
            programs: &self.programs,
            inputs: &self.inputs,
        };
        match encode_to_worker(&context, message) {
            Ok(encoded) => messages.extend(encoded),
            Err(error) => {
                tracing::error!(%error, ?message, "cannot encode a message to a worker; dropped");
                return;
            }
        };
        for message in messages {
            if target.sender.try_send(Ok(message)).is_err() {
                // A worker that cannot keep up (or is gone) loses its stream; the core
                // treats it as any other lost connection.
                tracing::warn!(
                    connection = connection.0,
                    "worker stream full or closed; closing it"
                );
                self.connections.remove(&connection);
                let now = self.now();
                self.core.handle(now, Input::Closed { connection });
                return;
            }
        }
    }

    fn on_job_event(&mut self, event: &zisk_core::JobEvent) {
        let now = self.now();
        let now_ms = self.wall_ms(now);
        let Some(job) = self.core.job(event.job) else {
            return;
        };
        let Some(record) = self.jobs.get_mut(&event.job) else {
            return;
        };
        let granted_units = self
            .core
            .workers()
            .filter(|worker| job.workers.contains(&worker.id))
            .map(|worker| worker.compute_units)
            .sum();
        let wire_event = record.apply(job, &event.kind, now_ms, granted_units);
        let terminal = is_terminal(&wire_event);
        let wire_event = record.event(event.job, now_ms, wire_event);
        record.broadcast(&wire_event);
        if terminal {
            record.watchers.clear();
            if let Some(listener) = &mut self.outcomes
                && let Some(outcome) = JobOutcome::of(job, record)
            {
                listener.job_finished(outcome);
            }
            self.inputs.remove(&event.job);
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn log_metric(event: &MetricEvent) {
    match event {
        MetricEvent::HeartbeatMissed { worker } => {
            tracing::warn!(%worker, "worker missed its heartbeats")
        }
        MetricEvent::PartitionsReassigned { job, count } => {
            tracing::warn!(%job, count, "partitions reassigned");
        }
        MetricEvent::WorkerFaulty { worker } => {
            tracing::warn!(%worker, "worker found faulty and removed")
        }
        MetricEvent::RegistrationRefused => tracing::warn!("worker registration refused"),
        MetricEvent::JobFinished {
            kind,
            outcome,
            duration,
        } => {
            tracing::info!(
                kind = kind.name(),
                outcome,
                seconds = duration.as_secs_f64(),
                "job finished"
            );
        }
        other => tracing::debug!(?other, "metric"),
    }
}

impl Driver {
    /// The core cannot hash: an aggregator's public outputs are checked here against the
    /// outputs digest every worker agreed on in phase 1. A mismatch becomes the aggregator's
    /// failure, so the core replaces it instead of completing the job with wrong outputs.
    fn check_final_outputs(&self, message: zisk_core::FromWorker) -> zisk_core::FromWorker {
        use sha2::{Digest as _, Sha256};
        let zisk_core::FromWorker::Aggregated { fence, outputs, .. } = &message else {
            return message;
        };
        let Some(agreed) = self
            .core
            .job(fence.job)
            .and_then(|job| job.summary.as_ref())
        else {
            return message;
        };
        let digest = zisk_core::Digest(Sha256::digest(outputs.as_ref()).into());
        if digest == agreed.outputs_digest {
            return message;
        }
        zisk_core::FromWorker::Failed {
            fence: *fence,
            reason: "the final proof's public outputs differ from the agreed execution".to_owned(),
            kind: zisk_core::FailureKind::Retryable,
        }
    }
}
