//! The coordinator's protocol core.
//!
//! # Method families
//! - Construction: [`Coordinator::new`] with a validated [`CoordinatorConfig`], the epoch, a
//!   seed and the challenge derivation.
//! - Commands from the client API: [`Coordinator::register_program`],
//!   [`Coordinator::request_setup`], [`Coordinator::submit_job`], [`Coordinator::cancel_job`],
//!   [`Coordinator::begin_drain`].
//! - Inputs from the worker plane: [`Coordinator::handle`] with an [`Input`].
//! - Time: [`Coordinator::handle_timeout`] whenever the instant from
//!   [`Coordinator::poll_timeout`] has passed (a spurious call does nothing).
//! - Outputs: [`Coordinator::poll_output`] until it returns `None`, carried out in order.
//! - Getters: [`Coordinator::job`], [`Coordinator::jobs`], [`Coordinator::workers`],
//!   [`Coordinator::program`], [`Coordinator::queue_depth`], [`Coordinator::check_invariants`].
//!
//! A driver calls, after every command, input or timeout: `poll_output` until empty, then
//! `poll_timeout` to know when to wake up next.

mod invariants;
mod jobs;
mod results;
mod workers;

use std::collections::{BTreeMap, VecDeque};

use crate::config::CoordinatorConfig;
use crate::digest::{Challenge, Digest};
use crate::errors::{CancelError, RegisterProgramError, SetupError, SubmitError};
use crate::events::{JobEvent, JobEventKind, MetricEvent, Output, Record};
use crate::ids::{ConnectionId, Epoch, JobId, ProgramId, WorkerId};
use crate::job::{Job, JobKind, JobState};
use crate::message::{Contribution, ExecutionSummary, FromWorker, ToWorker};
use crate::pool::Worker;
use crate::program::{LocalSetup, ProgramState};
use crate::rng::SeededRng;
use crate::time::Instant;
use crate::timers::TimerTable;

/// Derives a job's global challenge from its phase-1 contributions. A pure function supplied
/// by the prover crate; the core calls it but knows nothing of the cryptography.
pub trait ChallengeDerivation: Send {
    /// The challenge for `contributions` (sorted by segment) of one execution.
    fn derive(
        &self,
        program: &ProgramId,
        verifying_key: &Digest,
        summary: &ExecutionSummary,
        contributions: &[Contribution],
    ) -> Challenge;
}

/// An event from the worker plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A worker stream opened; it must register within the heartbeat timeout.
    Connected {
        /// The adapter's id for the stream.
        connection: ConnectionId,
    },
    /// A message arrived on a stream.
    Message {
        /// The stream.
        connection: ConnectionId,
        /// The message.
        message: FromWorker,
    },
    /// A stream ended or broke.
    Closed {
        /// The stream.
        connection: ConnectionId,
    },
}

/// A job as submitted by a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRequest {
    /// Prove or execute-only.
    pub kind: JobKind,
    /// The registered guest.
    pub program: ProgramId,
    /// Compute units to reserve; the configured default when `None`.
    pub compute_units: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    Registration(ConnectionId),
    Heartbeat(WorkerId),
    ReconnectGrace(WorkerId),
    Setup(ProgramId),
    Queue(JobId),
    Phase(JobId),
    Ttl(JobId),
    Drain,
}

/// Counters kept by the core itself (the adapter also sees them as [`MetricEvent`]s).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Results rejected for a stale fence.
    pub stale_results: u64,
    /// Results ignored as duplicates.
    pub duplicate_results: u64,
    /// Messages from a connection that is not its worker's current one.
    pub stale_connection_messages: u64,
}

/// The coordinator's sans-IO state machine. See the module docs for the calling protocol.
pub struct Coordinator {
    config: CoordinatorConfig,
    epoch: Epoch,
    rng: SeededRng,
    challenger: Box<dyn ChallengeDerivation>,
    programs: BTreeMap<ProgramId, ProgramState>,
    workers: BTreeMap<WorkerId, Worker>,
    connections: BTreeMap<ConnectionId, Option<WorkerId>>,
    jobs: BTreeMap<JobId, Job>,
    queue: VecDeque<JobId>,
    timers: TimerTable<Timer>,
    outputs: VecDeque<Output>,
    draining: bool,
    drain_reported: bool,
    counters: Counters,
}

impl Coordinator {
    /// A coordinator with no workers, programs or jobs. `config` must be valid.
    pub fn new(
        config: CoordinatorConfig,
        epoch: Epoch,
        seed: u64,
        challenger: Box<dyn ChallengeDerivation>,
    ) -> Self {
        if let Err(error) = config.validate() {
            panic!("Coordinator::new needs a validated config: {error}");
        }
        Coordinator {
            config,
            epoch,
            rng: SeededRng::new(seed),
            challenger,
            programs: BTreeMap::new(),
            workers: BTreeMap::new(),
            connections: BTreeMap::new(),
            jobs: BTreeMap::new(),
            queue: VecDeque::new(),
            timers: TimerTable::default(),
            outputs: VecDeque::new(),
            draining: false,
            drain_reported: false,
            counters: Counters::default(),
        }
    }

    // ---- getters ----

    /// The configuration in force.
    pub fn config(&self) -> &CoordinatorConfig {
        &self.config
    }

    /// This coordinator's epoch.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// A job, until it is evicted after its TTL.
    pub fn job(&self, id: JobId) -> Option<&Job> {
        self.jobs.get(&id)
    }

    /// Every job still held, by id.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.values()
    }

    /// Every registered worker, by id.
    pub fn workers(&self) -> impl Iterator<Item = &Worker> {
        self.workers.values()
    }

    /// A program's setup state.
    pub fn program(&self, id: ProgramId) -> Option<&ProgramState> {
        self.programs.get(&id)
    }

    /// Every registered program.
    pub fn programs(&self) -> impl Iterator<Item = (&ProgramId, &ProgramState)> {
        self.programs.iter()
    }

    /// Jobs waiting for capacity.
    pub fn queue_depth(&self) -> usize {
        self.queue.len()
    }

    /// Streams open but not yet registered.
    pub fn connecting(&self) -> usize {
        self.connections
            .values()
            .filter(|worker| worker.is_none())
            .count()
    }

    /// Whether a drain has begun.
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// Counters of rejected and ignored results.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    // ---- outputs and time ----

    /// The next output to carry out, in order.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            match timer {
                Timer::Registration(connection) => self.on_registration_timeout(connection),
                Timer::Heartbeat(worker) => self.on_heartbeat_timeout(now, worker),
                Timer::ReconnectGrace(worker) => self.on_grace_expired(now, worker),
                Timer::Setup(program) => self.on_setup_timeout(program),
                Timer::Queue(job) => self.on_queue_timeout(now, job),
                Timer::Phase(job) => self.on_phase_timeout(now, job),
                Timer::Ttl(job) => self.on_ttl_expired(job),
                Timer::Drain => self.on_drain_deadline(now),
            }
        }
    }

    // ---- inputs ----

    /// Applies one worker-plane event.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Connected { connection } => self.on_connected(now, connection),
            Input::Closed { connection } => self.on_closed(now, connection),
            Input::Message {
                connection,
                message,
            } => self.on_message(now, connection, message),
        }
    }

    // ---- commands ----

    /// Registers a program by content hash. Registering it again is a no-op.
    pub fn register_program(&mut self, program: ProgramId) -> Result<(), RegisterProgramError> {
        if self.programs.contains_key(&program) {
            return Ok(());
        }
        if self.draining {
            return Err(RegisterProgramError::Draining);
        }
        if self.programs.len() >= self.config.max_programs as usize {
            return Err(RegisterProgramError::RegistryFull {
                max_programs: self.config.max_programs,
            });
        }
        self.programs.insert(program, ProgramState::Registered);
        Ok(())
    }

    /// Starts the setup of a program on every connected worker. A running or completed setup
    /// is left as it is; a failed one is retried.
    pub fn request_setup(&mut self, now: Instant, program: ProgramId) -> Result<(), SetupError> {
        let state = self
            .programs
            .get(&program)
            .ok_or(SetupError::UnknownProgram(program))?;
        if state.is_active() {
            return Ok(());
        }
        if self.draining {
            return Err(SetupError::Draining);
        }
        self.programs.insert(
            program,
            ProgramState::SetupRunning {
                started_at: now,
                candidate: None,
            },
        );
        self.timers
            .set(Timer::Setup(program), now + self.config.setup_timeout);
        let connected: Vec<WorkerId> = self
            .workers
            .values()
            .filter(|worker| worker.connection.is_some())
            .map(|worker| worker.id.clone())
            .collect();
        for worker in connected {
            self.send_setup(&worker, program);
        }
        Ok(())
    }

    /// Admits a job to the queue; it starts as soon as capacity allows.
    pub fn submit_job(&mut self, now: Instant, request: JobRequest) -> Result<JobId, SubmitError> {
        if self.draining {
            return Err(SubmitError::Draining);
        }
        let state = self
            .programs
            .get(&request.program)
            .ok_or(SubmitError::UnknownProgram(request.program))?;
        if request.kind == JobKind::Prove && !matches!(state, ProgramState::Ready { .. }) {
            return Err(SubmitError::SetupNotReady(request.program));
        }
        let units = request
            .compute_units
            .unwrap_or(self.config.default_compute_units);
        if units == 0 || units > self.config.max_compute_units_per_job {
            return Err(SubmitError::InvalidComputeUnits {
                requested: units,
                max: self.config.max_compute_units_per_job,
            });
        }
        if self.queue.len() >= self.config.max_queued_jobs as usize {
            return Err(SubmitError::QueueFull {
                max_queued_jobs: self.config.max_queued_jobs,
            });
        }
        let mut id = JobId(self.rng.next_u128());
        while self.jobs.contains_key(&id) {
            id = JobId(self.rng.next_u128());
        }
        self.jobs
            .insert(id, Job::new(id, request.kind, request.program, units, now));
        self.queue.push_back(id);
        self.timers
            .set(Timer::Queue(id), now + self.config.queue_timeout);
        self.outputs.push_back(Output::Persist(Record::JobAdmitted {
            job: id,
            kind: request.kind,
            program: request.program,
        }));
        let position = (self.queue.len() - 1) as u32;
        self.emit_job(id, JobEventKind::Queued { position });
        self.schedule(now);
        Ok(id)
    }

    /// Cancels a job in any non-terminal state; its workers are told to stop.
    pub fn cancel_job(&mut self, now: Instant, job: JobId) -> Result<(), CancelError> {
        let state = &self
            .jobs
            .get(&job)
            .ok_or(CancelError::UnknownJob(job))?
            .state;
        if state.is_terminal() {
            return Err(CancelError::AlreadyTerminal {
                job,
                state: state.name(),
            });
        }
        self.finish_job(now, job, JobState::Cancelled);
        Ok(())
    }

    /// Stops admitting jobs, programs, setups and workers. Jobs already admitted may finish
    /// until `now + window`; then the rest fail with [`crate::FailureReason::Drained`].
    /// [`Output::DrainComplete`] follows once no job is left unfinished.
    pub fn begin_drain(&mut self, now: Instant, window: std::time::Duration) {
        if self.draining {
            return;
        }
        self.draining = true;
        self.timers.set(Timer::Drain, now + window);
        self.check_drain_complete();
    }

    // ---- shared helpers ----

    pub(crate) fn emit_job(&mut self, job: JobId, kind: JobEventKind) {
        self.outputs.push_back(Output::Job(JobEvent { job, kind }));
    }

    pub(crate) fn metric(&mut self, event: MetricEvent) {
        self.outputs.push_back(Output::Metric(event));
    }

    /// Sends to a worker's current connection; dropped while it is disconnected (what it
    /// needs is re-sent when it reconnects).
    pub(crate) fn send(&mut self, worker: &WorkerId, message: ToWorker) {
        if let Some(connection) = self
            .workers
            .get(worker)
            .and_then(|worker| worker.connection)
        {
            self.outputs.push_back(Output::Send {
                connection,
                message,
            });
        }
    }

    pub(crate) fn send_setup(&mut self, worker: &WorkerId, program: ProgramId) {
        let Some(entry) = self.workers.get_mut(worker) else {
            return;
        };
        entry.setups.insert(program, LocalSetup::Pending);
        self.send(worker, ToWorker::Setup { program });
    }

    fn check_drain_complete(&mut self) {
        if !self.draining || self.drain_reported {
            return;
        }
        if self.jobs.values().all(|job| job.state.is_terminal()) {
            self.drain_reported = true;
            self.timers.cancel(&Timer::Drain);
            self.outputs.push_back(Output::DrainComplete);
        }
    }

    fn on_drain_deadline(&mut self, now: Instant) {
        let unfinished: Vec<JobId> = self
            .jobs
            .values()
            .filter(|job| !job.state.is_terminal())
            .map(|job| job.id)
            .collect();
        for job in unfinished {
            self.finish_job(
                now,
                job,
                JobState::Failed(crate::job::FailureReason::Drained),
            );
        }
        self.check_drain_complete();
    }
}
