//! Client-API requests as the core task answers them.

use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tonic::Status;
use zisk_core::{
    CancelError, JobId, JobKind, JobRequest, JobState, ProgramId, ProgramState,
    RegisterProgramError, SetupError, SubmitError, WorkerState,
};
use zisk_proto::bytes::Bytes;
use zisk_proto::client::v1 as client;
use zisk_proto::common::v1::{Backend, ErrorCode, ErrorInfo};

use super::command::Command;
use super::driver::Driver;
use super::jobs::{JobRecord, is_terminal};
use crate::convert::{StoredInput, job_wire_id, program_wire_id, state_to_wire, worker_to_wire};
use crate::input::JobInput;
use crate::limits::{MAX_WATCHERS_PER_JOB, WATCHER_BUFFER};
use crate::metrics::Gauges;

fn submit_status(error: &SubmitError, program: Option<&ProgramState>) -> Status {
    let code = match error {
        SubmitError::UnknownProgram(_) => ErrorCode::UnknownProgram,
        SubmitError::SetupNotReady(_)
            if matches!(program, Some(ProgramState::SetupFailed { .. })) =>
        {
            ErrorCode::SetupFailed
        }
        SubmitError::SetupNotReady(_) => ErrorCode::SetupNotReady,
        SubmitError::InvalidComputeUnits { .. } => ErrorCode::CapacityExceeded,
        SubmitError::QueueFull { .. } => ErrorCode::QueueFull,
        SubmitError::Draining => ErrorCode::Draining,
    };
    code.to_status(error.to_string())
}

fn not_found(job: JobId) -> Status {
    ErrorCode::NotFound.to_status(format!("unknown job {job}"))
}

impl Driver {
    pub(super) fn on_request(&mut self, now: zisk_core::Instant, command: Command) {
        match command {
            Command::RegisterProgram { elf, reply } => {
                let _ = reply.send(self.register_program(elf));
            }
            Command::Setup { program, reply } => {
                let _ = reply.send(self.setup(now, program));
            }
            Command::Submit {
                kind,
                program,
                input,
                compute_units,
                idempotency_key,
                reply,
            } => {
                let _ = reply.send(self.submit(
                    now,
                    kind,
                    program,
                    input,
                    compute_units,
                    idempotency_key,
                ));
            }
            Command::Cancel { job, reason, reply } => {
                let _ = reply.send(self.cancel(now, job, reason));
            }
            Command::GetJob { job, reply } => {
                let _ = reply.send(self.job_to_wire(job));
            }
            Command::Watch { job, reply } => {
                let _ = reply.send(self.watch(now, job));
            }
            Command::ListJobs { request, reply } => {
                let _ = reply.send(self.list_jobs(&request));
            }
            Command::ListWorkers { reply } => {
                let _ = reply.send(Ok(self.list_workers()));
            }
            Command::ClusterStatus { reply } => {
                let _ = reply.send(Ok(self.cluster_status()));
            }
            Command::DownloadProof { job, reply } => {
                let _ = reply.send(self.proof(job));
            }
            Command::Gauges { reply } => {
                let _ = reply.send(self.gauges());
            }
            Command::Connected { .. }
            | Command::Message { .. }
            | Command::Closed { .. }
            | Command::Drain { .. }
            | Command::CloseWorkerStreams { .. } => {
                unreachable!("handled by on_command")
            }
        }
    }

    fn register_program(&mut self, elf: Bytes) -> Result<client::RegisterProgramResponse, Status> {
        let sha256: [u8; 32] = Sha256::digest(&elf).into();
        let program = ProgramId(sha256);
        let newly_registered = self.core.program(program).is_none();
        self.core.register_program(program).map_err(|error| {
            let code = match error {
                RegisterProgramError::RegistryFull { .. } => ErrorCode::ResourceExhausted,
                RegisterProgramError::Draining => ErrorCode::Draining,
            };
            code.to_status(error.to_string())
        })?;
        let size = elf.len() as u64;
        self.programs.entry(program).or_insert(elf);
        Ok(client::RegisterProgramResponse {
            program_id: program_wire_id(program, size),
            sha256: Bytes::copy_from_slice(&sha256),
            size,
            newly_registered,
        })
    }

    fn setup(
        &mut self,
        now: zisk_core::Instant,
        program: ProgramId,
    ) -> Result<client::SetupResponse, Status> {
        self.core
            .request_setup(now, program)
            .map_err(|error| match error {
                SetupError::UnknownProgram(_) => {
                    ErrorCode::UnknownProgram.to_status(error.to_string())
                }
                SetupError::Draining => ErrorCode::Draining.to_status(error.to_string()),
            })?;
        let size = self
            .programs
            .get(&program)
            .map_or(0, |elf| elf.len() as u64);
        let mut response = client::SetupResponse {
            program_id: program_wire_id(program, size),
            ..Default::default()
        };
        let state = match self.core.program(program) {
            None | Some(ProgramState::Registered) => client::SetupState::NotStarted,
            Some(ProgramState::SetupRunning { .. }) => client::SetupState::Running,
            Some(ProgramState::Ready { verifying_key }) => {
                response.verifying_key = Bytes::copy_from_slice(&verifying_key.0);
                client::SetupState::Ready
            }
            Some(ProgramState::SetupFailed { reason }) => {
                response.error = Some(ErrorInfo {
                    code: ErrorCode::SetupFailed as i32,
                    message: reason.clone(),
                });
                client::SetupState::Failed
            }
        };
        response.state = state as i32;
        Ok(response)
    }

    fn submit(
        &mut self,
        now: zisk_core::Instant,
        kind: JobKind,
        program: ProgramId,
        input: JobInput,
        compute_units: Option<u32>,
        idempotency_key: String,
    ) -> Result<client::SubmitJobResponse, Status> {
        if !idempotency_key.is_empty()
            && let Some(job) = self.idempotency.get(&idempotency_key)
            && let Some(existing) = self.core.job(*job)
        {
            return Ok(client::SubmitJobResponse {
                job_id: job_wire_id(*job),
                state: state_to_wire(&existing.state) as i32,
            });
        }
        let request = JobRequest {
            kind,
            program,
            compute_units,
        };
        let job = self
            .core
            .submit_job(now, request)
            .map_err(|error| submit_status(&error, self.core.program(program)))?;
        // The core may already have asked for the input (an idle worker): keep it before
        // carrying out the outputs.
        self.inputs.insert(job, StoredInput::new(input));
        let size = self
            .programs
            .get(&program)
            .map_or(0, |elf| elf.len() as u64);
        let now_ms = self.wall_ms(now);
        self.jobs
            .insert(job, JobRecord::new(program_wire_id(program, size), now_ms));
        if !idempotency_key.is_empty() {
            self.idempotency.insert(idempotency_key, job);
        }
        self.carry_out_outputs();
        let state = self
            .core
            .job(job)
            .map_or(JobState::Queued, |job| job.state.clone());
        Ok(client::SubmitJobResponse {
            job_id: job_wire_id(job),
            state: state_to_wire(&state) as i32,
        })
    }

    fn cancel(
        &mut self,
        now: zisk_core::Instant,
        job: JobId,
        reason: String,
    ) -> Result<client::Job, Status> {
        let live = self
            .core
            .job(job)
            .is_some_and(|job| !job.state.is_terminal());
        if let Some(record) = self.jobs.get_mut(&job)
            && live
        {
            record.cancel_reason = if reason.is_empty() {
                "cancelled by a client".to_owned()
            } else {
                reason
            };
        }
        match self.core.cancel_job(now, job) {
            Ok(()) => {}
            Err(CancelError::UnknownJob(_)) => return Err(not_found(job)),
            Err(CancelError::AlreadyTerminal { .. })
                if matches!(
                    self.core.job(job).map(|job| &job.state),
                    Some(JobState::Cancelled)
                ) => {}
            Err(error @ CancelError::AlreadyTerminal { .. }) => {
                return Err(ErrorCode::JobTerminal.to_status(error.to_string()));
            }
        }
        self.carry_out_outputs();
        self.job_to_wire(job)
    }

    pub(super) fn job_to_wire(&self, job: JobId) -> Result<client::Job, Status> {
        match (self.core.job(job), self.jobs.get(&job)) {
            (Some(core_job), Some(record)) => Ok(record.to_wire(core_job)),
            _ => Err(not_found(job)),
        }
    }

    fn watch(
        &mut self,
        now: zisk_core::Instant,
        job: JobId,
    ) -> Result<mpsc::Receiver<client::JobEvent>, Status> {
        let now_ms = self.wall_ms(now);
        let core_job = self.core.job(job).ok_or_else(|| not_found(job))?;
        let record = self.jobs.get_mut(&job).ok_or_else(|| not_found(job))?;
        if record.watchers.len() >= MAX_WATCHERS_PER_JOB {
            return Err(ErrorCode::ResourceExhausted.to_status(format!(
                "job {job} already has {MAX_WATCHERS_PER_JOB} watchers"
            )));
        }
        let (sender, receiver) = mpsc::channel(WATCHER_BUFFER);
        let snapshot = record.snapshot(core_job);
        let terminal = is_terminal(&snapshot);
        let event = record.event(job, now_ms, snapshot);
        sender.try_send(event).expect("a fresh channel has room");
        if !terminal {
            record.watchers.push(sender);
        }
        Ok(receiver)
    }

    fn list_jobs(
        &self,
        request: &client::ListJobsRequest,
    ) -> Result<client::ListJobsResponse, Status> {
        let page_size = match request.page_size {
            0 => zisk_proto::DEFAULT_PAGE_SIZE,
            size => size.min(zisk_proto::MAX_PAGE_SIZE),
        } as usize;
        let offset: usize = if request.page_token.is_empty() {
            0
        } else {
            request
                .page_token
                .parse()
                .map_err(|_| ErrorCode::InvalidArgument.to_status("invalid page_token"))?
        };
        let program_filter = if request.program_id.is_empty() {
            None
        } else {
            Some(crate::convert::program_id_arg(&request.program_id)?)
        };
        let mut jobs: Vec<client::Job> = self
            .core
            .jobs()
            .filter(|job| program_filter.is_none_or(|program| job.program == program))
            .filter_map(|job| self.jobs.get(&job.id).map(|record| record.to_wire(job)))
            .filter(|job| request.state.is_none_or(|state| job.state == state))
            .collect();
        jobs.sort_by(|a, b| (b.created_at_ms, &b.job_id).cmp(&(a.created_at_ms, &a.job_id)));
        let total = jobs.len();
        let page: Vec<client::Job> = jobs.into_iter().skip(offset).take(page_size).collect();
        let next = offset + page.len();
        Ok(client::ListJobsResponse {
            jobs: page,
            next_page_token: if next < total {
                next.to_string()
            } else {
                String::new()
            },
        })
    }

    fn list_workers(&self) -> client::ListWorkersResponse {
        client::ListWorkersResponse {
            workers: self
                .core
                .workers()
                .map(|worker| {
                    let backend = self
                        .backends
                        .get(&worker.id)
                        .copied()
                        .unwrap_or(Backend::Unspecified);
                    worker_to_wire(worker, backend, self.wall_ms(worker.last_seen))
                })
                .collect(),
        }
    }

    fn cluster_status(&self) -> client::ClusterStatusResponse {
        let connected = || {
            self.core
                .workers()
                .filter(|worker| worker.connection.is_some())
        };
        client::ClusterStatusResponse {
            coordinator_epoch: self.core.epoch().0,
            draining: self.core.is_draining(),
            workers_connected: connected().count() as u32,
            workers_disconnected: self
                .core
                .workers()
                .filter(|worker| worker.connection.is_none())
                .count() as u32,
            compute_units_total: connected().map(|worker| worker.compute_units).sum(),
            compute_units_free: connected()
                .filter(|worker| worker.booked.is_none())
                .map(|worker| worker.compute_units)
                .sum(),
            jobs_queued: self.core.queue_depth() as u32,
            jobs_running: self
                .core
                .jobs()
                .filter(|job| matches!(job.state, JobState::Running(_)))
                .count() as u32,
            queue_capacity: self.core.config().max_queued_jobs,
            protocol_version: zisk_core::PROTOCOL_VERSION,
            software_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    fn proof(&self, job: JobId) -> Result<Bytes, Status> {
        let core_job = self.core.job(job).ok_or_else(|| not_found(job))?;
        match &core_job.result {
            Some(zisk_core::JobResult::Proof { proof, .. }) => Ok(Bytes::copy_from_slice(proof)),
            _ => Err(ErrorCode::ProofNotAvailable.to_status(format!(
                "job {job} has no proof (state {}, kind {})",
                core_job.state.name(),
                core_job.kind.name()
            ))),
        }
    }

    fn gauges(&self) -> Gauges {
        let mut gauges = Gauges {
            active_jobs: self
                .core
                .jobs()
                .filter(|job| matches!(job.state, JobState::Running(_)))
                .count() as u64,
            queue_depth: self.core.queue_depth() as u64,
            programs: self.core.programs().count() as u64,
            connecting: self.core.connecting() as u64,
            ..Gauges::default()
        };
        for state in [
            WorkerState::SettingUp,
            WorkerState::Ready,
            WorkerState::Computing,
            WorkerState::Disconnected,
            WorkerState::Draining,
        ] {
            gauges.workers_by_state.insert(state.name(), 0);
        }
        for worker in self.core.workers() {
            *gauges
                .workers_by_state
                .entry(worker.state().name())
                .or_default() += 1;
            if worker.connection.is_some() {
                gauges.workers_connected += 1;
            }
        }
        gauges
    }
}
