//! Worker registration, liveness (heartbeats, reconnect grace, generations) and setups.

use std::collections::BTreeMap;

use super::{Coordinator, Timer};
use crate::config::{MAX_WORKER_ID_BYTES, PROTOCOL_VERSION};
use crate::digest::Digest;
use crate::events::{MetricEvent, Output, Record};
use crate::ids::{ConnectionId, Fence, Generation, ProgramId, WorkerId};
use crate::message::{FromWorker, ReconnectDirective, RegistrationRefusal, ToWorker};
use crate::pool::Worker;
use crate::program::{LocalSetup, ProgramState};
use crate::time::Instant;

impl Coordinator {
    pub(super) fn on_connected(&mut self, now: Instant, connection: ConnectionId) {
        if self.connections.contains_key(&connection) {
            return;
        }
        self.connections.insert(connection, None);
        self.timers.set(
            Timer::Registration(connection),
            now + self.config.heartbeat_timeout,
        );
    }

    pub(super) fn on_registration_timeout(&mut self, connection: ConnectionId) {
        if let Some(None) = self.connections.get(&connection) {
            self.connections.remove(&connection);
            self.outputs.push_back(Output::Close {
                connection,
                reason: "no registration within the heartbeat timeout".to_owned(),
            });
        }
    }

    pub(super) fn on_closed(&mut self, now: Instant, connection: ConnectionId) {
        self.timers.cancel(&Timer::Registration(connection));
        let Some(owner) = self.connections.remove(&connection) else {
            return;
        };
        if let Some(worker) = owner {
            self.disconnect(now, &worker);
        }
    }

    /// Marks a worker disconnected and starts its reconnect grace period.
    fn disconnect(&mut self, now: Instant, worker: &WorkerId) {
        let Some(entry) = self.workers.get_mut(worker) else {
            return;
        };
        let Some(connection) = entry.connection.take() else {
            return;
        };
        self.connections.remove(&connection);
        self.timers.cancel(&Timer::Heartbeat(worker.clone()));
        self.timers.set(
            Timer::ReconnectGrace(worker.clone()),
            now + self.config.reconnect_grace_period,
        );
        // A disconnected worker no longer counts for pending setups.
        let pending: Vec<ProgramId> = entry
            .setups
            .iter()
            .filter(|(_, setup)| **setup == LocalSetup::Pending)
            .map(|(program, _)| *program)
            .collect();
        for program in pending {
            self.check_setup_complete(program);
        }
    }

    pub(super) fn on_heartbeat_timeout(&mut self, now: Instant, worker: WorkerId) {
        let Some(connection) = self.workers.get(&worker).and_then(|entry| entry.connection) else {
            return;
        };
        self.metric(MetricEvent::HeartbeatMissed {
            worker: worker.clone(),
        });
        self.outputs.push_back(Output::Close {
            connection,
            reason: "heartbeat timeout".to_owned(),
        });
        self.disconnect(now, &worker);
    }

    pub(super) fn on_grace_expired(&mut self, now: Instant, worker: WorkerId) {
        if self
            .workers
            .get(&worker)
            .is_some_and(|entry| entry.connection.is_none())
        {
            self.remove_worker(now, &worker, "worker lost: reconnect grace period expired");
        }
    }

    /// Removes a worker from the pool: its unfinished work is failed and reassigned.
    pub(crate) fn remove_worker(&mut self, now: Instant, worker: &WorkerId, reason: &str) {
        let Some(entry) = self.workers.remove(worker) else {
            return;
        };
        self.timers.cancel(&Timer::Heartbeat(worker.clone()));
        self.timers.cancel(&Timer::ReconnectGrace(worker.clone()));
        if let Some(connection) = entry.connection {
            self.connections.remove(&connection);
            self.outputs.push_back(Output::Close {
                connection,
                reason: reason.to_owned(),
            });
        }
        for program in entry.setups.keys() {
            self.check_setup_complete(*program);
        }
        if let Some(job) = entry.booked {
            self.worker_left_job(now, job, worker, reason);
        }
        self.schedule(now);
    }

    pub(super) fn on_message(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        message: FromWorker,
    ) {
        let Some(owner) = self.connections.get(&connection).cloned() else {
            self.counters.stale_connection_messages += 1;
            self.metric(MetricEvent::StaleConnectionMessage);
            return;
        };
        match (owner, message) {
            (
                None,
                FromWorker::Register {
                    worker,
                    compute_units,
                    protocol_version,
                },
            ) => self.on_register(
                now,
                connection,
                worker,
                compute_units,
                protocol_version,
                None,
            ),
            (
                None,
                FromWorker::Reconnect {
                    worker,
                    compute_units,
                    protocol_version,
                    held,
                },
            ) => self.on_register(
                now,
                connection,
                worker,
                compute_units,
                protocol_version,
                Some(held),
            ),
            (None, _) => {
                self.connections.remove(&connection);
                self.timers.cancel(&Timer::Registration(connection));
                self.outputs.push_back(Output::Close {
                    connection,
                    reason: "the first message must be Register or Reconnect".to_owned(),
                });
            }
            (Some(worker), message) => {
                self.touch(now, &worker);
                self.on_worker_message(now, &worker, message);
            }
        }
    }

    fn touch(&mut self, now: Instant, worker: &WorkerId) {
        if let Some(entry) = self.workers.get_mut(worker) {
            entry.last_seen = now;
            self.timers.set(
                Timer::Heartbeat(worker.clone()),
                now + self.config.heartbeat_timeout,
            );
        }
    }

    fn refuse(&mut self, connection: ConnectionId, refusal: RegistrationRefusal) {
        self.connections.remove(&connection);
        self.metric(MetricEvent::RegistrationRefused);
        self.outputs.push_back(Output::Send {
            connection,
            message: ToWorker::Refused(refusal.clone()),
        });
        self.outputs.push_back(Output::Close {
            connection,
            reason: format!("registration refused: {refusal:?}"),
        });
    }

    /// A fresh registration (`held == None`) or a reconnection (`held == Some(..)`).
    fn on_register(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        worker: WorkerId,
        compute_units: u32,
        protocol_version: u32,
        held: Option<Option<Fence>>,
    ) {
        self.timers.cancel(&Timer::Registration(connection));
        if protocol_version != PROTOCOL_VERSION {
            let refusal = RegistrationRefusal::ProtocolVersion {
                worker: protocol_version,
                coordinator: PROTOCOL_VERSION,
            };
            return self.refuse(connection, refusal);
        }
        if worker.0.is_empty() || worker.0.len() > MAX_WORKER_ID_BYTES {
            return self.refuse(connection, RegistrationRefusal::InvalidWorkerId);
        }
        let max = self.config.max_compute_units_per_worker;
        if compute_units == 0 || compute_units > max {
            let refusal = RegistrationRefusal::InvalidComputeUnits {
                advertised: compute_units,
                max,
            };
            return self.refuse(connection, refusal);
        }
        let known = self.workers.contains_key(&worker);
        if !known && self.draining {
            return self.refuse(connection, RegistrationRefusal::Draining);
        }
        if !known && self.workers.len() >= self.config.max_total_workers as usize {
            let refusal = RegistrationRefusal::PoolFull {
                max_total_workers: self.config.max_total_workers,
            };
            return self.refuse(connection, refusal);
        }
        let fresh_process = held.is_none();
        if known && fresh_process {
            // The same id registering afresh is a restarted process: whatever the old process
            // held is gone, so its work is reassigned now rather than after the grace period.
            self.remove_worker(now, &worker, "worker restarted");
        }
        let (generation, incarnation) = match self.workers.get(&worker) {
            Some(entry) => (Generation(entry.generation.0 + 1), entry.incarnation),
            None => (Generation(1), 1),
        };
        // Close the previous stream of a reconnecting worker, if it is still open.
        if let Some(old) = self.workers.get(&worker).and_then(|entry| entry.connection)
            && old != connection
        {
            self.connections.remove(&old);
            self.outputs.push_back(Output::Close {
                connection: old,
                reason: "superseded by a reconnection".to_owned(),
            });
        }
        let entry = self
            .workers
            .entry(worker.clone())
            .or_insert_with(|| Worker {
                id: worker.clone(),
                compute_units,
                connection: None,
                generation,
                incarnation,
                last_seen: now,
                booked: None,
                setups: BTreeMap::new(),
                draining: false,
            });
        entry.connection = Some(connection);
        entry.generation = generation;
        entry.last_seen = now;
        if entry.booked.is_none() {
            entry.compute_units = compute_units;
        }
        self.connections.insert(connection, Some(worker.clone()));
        self.timers.cancel(&Timer::ReconnectGrace(worker.clone()));
        self.timers.set(
            Timer::Heartbeat(worker.clone()),
            now + self.config.heartbeat_timeout,
        );
        self.outputs.push_back(Output::Send {
            connection,
            message: ToWorker::Registered {
                worker: worker.clone(),
                generation,
                epoch: self.epoch,
                heartbeat_interval_ms: self.config.heartbeat_interval.as_millis() as u64,
            },
        });
        if let Some(held) = held {
            let directive = self.reconnect_directive(&worker, held);
            self.send(&worker, ToWorker::Directive(directive));
            if let ReconnectDirective::KeepComputing { job } = directive {
                self.resync_worker(job, &worker);
            }
        }
        // Setups the worker must hold: every active program it does not hold yet.
        let missing: Vec<ProgramId> = self
            .programs
            .iter()
            .filter(|(program, state)| {
                state.is_active()
                    && !matches!(
                        self.workers[&worker].setups.get(program),
                        Some(LocalSetup::Done(_))
                    )
            })
            .map(|(program, _)| *program)
            .collect();
        for program in missing {
            self.send_setup(&worker, program);
        }
        self.schedule(now);
    }

    fn reconnect_directive(&self, worker: &WorkerId, held: Option<Fence>) -> ReconnectDirective {
        let booked = self.workers.get(worker).and_then(|entry| entry.booked);
        match (held, booked) {
            (Some(fence), Some(job)) if fence.job == job && fence.epoch == self.epoch => {
                ReconnectDirective::KeepComputing { job }
            }
            (Some(fence), _) => ReconnectDirective::CancelStaleJob { job: fence.job },
            (None, Some(job)) => {
                // It holds nothing but is booked: resync re-sends the assignment.
                ReconnectDirective::KeepComputing { job }
            }
            (None, None) => ReconnectDirective::Idle,
        }
    }

    fn on_worker_message(&mut self, now: Instant, worker: &WorkerId, message: FromWorker) {
        match message {
            FromWorker::Register { .. } | FromWorker::Reconnect { .. } => {
                // A second registration on a live stream is a protocol violation.
                self.remove_worker(now, worker, "registered twice on one stream");
            }
            FromWorker::Heartbeat => self.send(worker, ToWorker::HeartbeatAck),
            FromWorker::SetupDone { program, result } => {
                self.on_setup_done(now, worker, program, result)
            }
            FromWorker::Draining => {
                if let Some(entry) = self.workers.get_mut(worker) {
                    entry.draining = true;
                }
            }
            result => self.on_result(now, worker, result),
        }
    }

    // ---- setups ----

    fn on_setup_done(
        &mut self,
        now: Instant,
        worker: &WorkerId,
        program: ProgramId,
        result: Result<Digest, String>,
    ) {
        let Some(entry) = self.workers.get_mut(worker) else {
            return;
        };
        if entry.setups.get(&program) != Some(&LocalSetup::Pending) {
            self.counters.duplicate_results += 1;
            self.metric(MetricEvent::DuplicateResultIgnored);
            return;
        }
        let state = self.programs.get(&program).cloned();
        match (state, result) {
            (
                Some(ProgramState::SetupRunning {
                    started_at,
                    candidate,
                }),
                Ok(digest),
            ) => {
                if let Some((first, expected)) = &candidate
                    && *expected != digest
                {
                    let reason = format!(
                        "workers disagree on the verifying key: {first} reported {expected:?}, {worker} reported {digest:?}"
                    );
                    return self.fail_setup(program, reason);
                }
                self.workers
                    .get_mut(worker)
                    .expect("checked above")
                    .setups
                    .insert(program, LocalSetup::Done(digest));
                let candidate = candidate.or(Some((worker.clone(), digest)));
                self.programs.insert(
                    program,
                    ProgramState::SetupRunning {
                        started_at,
                        candidate,
                    },
                );
                self.check_setup_complete(program);
            }
            (Some(ProgramState::SetupRunning { .. }), Err(error)) => {
                self.fail_setup(program, format!("setup failed on worker {worker}: {error}"));
            }
            (Some(ProgramState::Ready { verifying_key }), Ok(digest))
                if digest == verifying_key =>
            {
                self.workers
                    .get_mut(worker)
                    .expect("checked above")
                    .setups
                    .insert(program, LocalSetup::Done(digest));
            }
            (Some(ProgramState::Ready { .. }), _) => {
                // A late joiner that cannot reproduce the established key is unfit for work.
                self.metric(MetricEvent::WorkerFaulty {
                    worker: worker.clone(),
                });
                self.remove_worker(
                    now,
                    worker,
                    "setup disagrees with the established verifying key",
                );
            }
            _ => {
                // The setup was abandoned meanwhile; forget the worker's copy.
                self.workers
                    .get_mut(worker)
                    .expect("checked above")
                    .setups
                    .remove(&program);
            }
        }
        self.schedule(now);
    }

    fn fail_setup(&mut self, program: ProgramId, reason: String) {
        self.timers.cancel(&Timer::Setup(program));
        self.programs
            .insert(program, ProgramState::SetupFailed { reason });
        for entry in self.workers.values_mut() {
            entry.setups.remove(&program);
        }
    }

    /// A running setup is complete once some worker reported and no connected worker owes a
    /// report.
    pub(crate) fn check_setup_complete(&mut self, program: ProgramId) {
        let Some(ProgramState::SetupRunning {
            candidate: Some((_, digest)),
            ..
        }) = self.programs.get(&program)
        else {
            return;
        };
        let digest = *digest;
        let owed = self.workers.values().any(|entry| {
            entry.connection.is_some() && entry.setups.get(&program) == Some(&LocalSetup::Pending)
        });
        if owed {
            return;
        }
        self.timers.cancel(&Timer::Setup(program));
        self.programs.insert(
            program,
            ProgramState::Ready {
                verifying_key: digest,
            },
        );
        self.outputs
            .push_back(Output::Persist(Record::ProgramReady {
                program,
                verifying_key: digest,
            }));
    }

    pub(super) fn on_setup_timeout(&mut self, program: ProgramId) {
        if matches!(
            self.programs.get(&program),
            Some(ProgramState::SetupRunning { .. })
        ) {
            self.fail_setup(program, "setup timed out".to_owned());
        }
    }

    /// Whether a job's worker may still be relied on (connected and not removed).
    pub(crate) fn is_connected(&self, worker: &WorkerId) -> bool {
        self.workers
            .get(worker)
            .is_some_and(|entry| entry.connection.is_some())
    }
}
