//! What the adapter keeps about each job beyond the core's view: wall-clock times, the
//! watchers, the event sequence, and the wire form of jobs and events.

use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use zisk_core::{Job, JobEventKind, JobId, JobResult, JobState, Phase};
use zisk_proto::bytes::Bytes;
use zisk_proto::client::v1 as client;
use zisk_proto::client::v1::job_event::Event;
use zisk_proto::common::v1 as common;
use zisk_proto::common::v1::{ErrorCode, ErrorInfo};

use crate::convert::{
    error_code_of_failure, job_wire_id, kind_to_wire, phase_to_wire, state_to_wire,
};

/// The adapter's record of one job.
pub(crate) struct JobRecord {
    pub(crate) program_wire_id: String,
    pub(crate) created_at_ms: u64,
    pub(crate) started_at_ms: u64,
    pub(crate) finished_at_ms: u64,
    pub(crate) granted_units: u32,
    pub(crate) last_phase: Option<Phase>,
    /// When `last_phase` was entered.
    pub(crate) phase_entered_ms: u64,
    /// Time spent in each phase so far, in the order first entered.
    pub(crate) phase_durations_ms: Vec<(Phase, u64)>,
    pub(crate) cancel_reason: String,
    pub(crate) sequence: u64,
    pub(crate) watchers: Vec<mpsc::Sender<client::JobEvent>>,
    pub(crate) proof_sha256: Option<[u8; 32]>,
}

impl JobRecord {
    pub(crate) fn new(program_wire_id: String, created_at_ms: u64) -> Self {
        JobRecord {
            program_wire_id,
            created_at_ms,
            started_at_ms: 0,
            finished_at_ms: 0,
            granted_units: 0,
            last_phase: None,
            phase_entered_ms: 0,
            phase_durations_ms: Vec::new(),
            cancel_reason: String::new(),
            sequence: 0,
            watchers: Vec::new(),
            proof_sha256: None,
        }
    }

    /// Wraps an event with the job id, the next sequence number and the time.
    pub(crate) fn event(&mut self, job: JobId, now_ms: u64, event: Event) -> client::JobEvent {
        self.sequence += 1;
        client::JobEvent {
            job_id: job_wire_id(job),
            sequence: self.sequence,
            timestamp_ms: now_ms,
            event: Some(event),
        }
    }

    /// Sends to every watcher; a watcher that is gone or too far behind is dropped.
    pub(crate) fn broadcast(&mut self, event: &client::JobEvent) {
        self.watchers
            .retain(|watcher| watcher.try_send(event.clone()).is_ok());
    }

    /// Updates the record for a core event and returns the wire event.
    /// `granted_units` is the compute units of the workers that booked the job.
    pub(crate) fn apply(
        &mut self,
        job: &Job,
        kind: &JobEventKind,
        now_ms: u64,
        granted_units: u32,
    ) -> Event {
        match kind {
            JobEventKind::Queued { position } => Event::Queued(client::job_event::Queued {
                position: *position,
            }),
            JobEventKind::Started { workers, .. } => {
                self.started_at_ms = now_ms;
                self.granted_units = granted_units;
                Event::Started(client::job_event::Started {
                    phase: job
                        .phase()
                        .map_or(common::JobPhase::Unspecified, phase_to_wire)
                        as i32,
                    granted_compute_units: self.granted_units,
                    worker_count: workers.len() as u32,
                })
            }
            JobEventKind::PhaseChanged(phase) => {
                let from = self
                    .last_phase
                    .map_or(common::JobPhase::Unspecified, phase_to_wire);
                self.close_phase(now_ms);
                self.last_phase = Some(*phase);
                self.phase_entered_ms = now_ms;
                Event::PhaseChanged(client::job_event::PhaseChanged {
                    from: from as i32,
                    to: phase_to_wire(*phase) as i32,
                })
            }
            JobEventKind::Progress { phase, done, total } => {
                Event::Progress(client::job_event::Progress {
                    phase: phase_to_wire(*phase) as i32,
                    tasks_done: u64::from(*done),
                    tasks_total: u64::from(*total),
                })
            }
            JobEventKind::Completed(result) => {
                self.finished_at_ms = now_ms;
                self.close_phase(now_ms);
                if let JobResult::Proof { proof, .. } = result {
                    self.proof_sha256 = Some(Sha256::digest(proof).into());
                }
                Event::Completed(client::job_event::Completed {
                    job: Some(self.to_wire(job)),
                })
            }
            JobEventKind::Failed(reason) => {
                self.finished_at_ms = now_ms;
                self.close_phase(now_ms);
                Event::Failed(client::job_event::Failed {
                    phase: self
                        .last_phase
                        .map_or(common::JobPhase::Unspecified, phase_to_wire)
                        as i32,
                    error: Some(error_code_of_failure(reason)),
                })
            }
            JobEventKind::Cancelled => {
                self.finished_at_ms = now_ms;
                self.close_phase(now_ms);
                Event::Cancelled(client::job_event::Cancelled {
                    reason: self.cancel_reason.clone(),
                })
            }
        }
    }

    /// Adds the time since `last_phase` was entered to its duration.
    fn close_phase(&mut self, now_ms: u64) {
        let Some(phase) = self.last_phase else {
            return;
        };
        let spent_ms = now_ms.saturating_sub(self.phase_entered_ms);
        match self
            .phase_durations_ms
            .iter_mut()
            .find(|(entered, _)| *entered == phase)
        {
            Some((_, total_ms)) => *total_ms += spent_ms,
            None => self.phase_durations_ms.push((phase, spent_ms)),
        }
        self.phase_entered_ms = now_ms;
    }

    /// The event that describes the job's state now (the first event of a watch).
    pub(crate) fn snapshot(&self, job: &Job) -> Event {
        match &job.state {
            JobState::Queued => Event::Queued(client::job_event::Queued { position: 0 }),
            JobState::Running(phase) => {
                let (done, total) = job.progress();
                Event::Progress(client::job_event::Progress {
                    phase: phase_to_wire(*phase) as i32,
                    tasks_done: u64::from(done),
                    tasks_total: u64::from(total),
                })
            }
            JobState::Completed => Event::Completed(client::job_event::Completed {
                job: Some(self.to_wire(job)),
            }),
            JobState::Failed(reason) => Event::Failed(client::job_event::Failed {
                phase: self
                    .last_phase
                    .map_or(common::JobPhase::Unspecified, phase_to_wire)
                    as i32,
                error: Some(error_code_of_failure(reason)),
            }),
            JobState::Cancelled => Event::Cancelled(client::job_event::Cancelled {
                reason: self.cancel_reason.clone(),
            }),
        }
    }

    /// The job as the client API shows it.
    pub(crate) fn to_wire(&self, job: &Job) -> client::Job {
        let (done, total) = job.progress();
        let error = match &job.state {
            JobState::Failed(reason) => Some(error_code_of_failure(reason)),
            JobState::Cancelled => Some(ErrorInfo {
                code: ErrorCode::Cancelled as i32,
                message: if self.cancel_reason.is_empty() {
                    "cancelled".to_owned()
                } else {
                    self.cancel_reason.clone()
                },
            }),
            _ => None,
        };
        let outcome = job.result.as_ref().map(|result| match result {
            JobResult::Execution { summary, outputs } => {
                client::job::Outcome::Execute(client::ExecuteOutcome {
                    cycles: summary.cycles,
                    public_outputs: Bytes::copy_from_slice(outputs),
                    exit_code: 0,
                    segment_count: u64::from(summary.segment_count),
                })
            }
            JobResult::Proof {
                summary,
                proof,
                outputs,
            } => client::job::Outcome::Prove(client::ProveOutcome {
                proof_size: proof.len() as u64,
                proof_sha256: Bytes::copy_from_slice(&self.proof_sha256.unwrap_or_default()),
                public_outputs: Bytes::copy_from_slice(outputs),
                segment_count: u64::from(summary.segment_count),
                cycles: summary.cycles,
            }),
        });
        client::Job {
            job_id: job_wire_id(job.id),
            kind: kind_to_wire(job.kind) as i32,
            program_id: self.program_wire_id.clone(),
            state: state_to_wire(&job.state) as i32,
            phase: job
                .phase()
                .or(self.last_phase)
                .map_or(common::JobPhase::Unspecified, phase_to_wire) as i32,
            requested_compute_units: job.requested_units,
            granted_compute_units: if matches!(job.state, JobState::Queued) {
                0
            } else {
                self.granted_units
            },
            tasks_done: u64::from(done),
            tasks_total: u64::from(total),
            created_at_ms: self.created_at_ms,
            started_at_ms: self.started_at_ms,
            finished_at_ms: self.finished_at_ms,
            error,
            outcome,
        }
    }
}

/// Whether a wire event ends the job's event stream.
pub(crate) fn is_terminal(event: &Event) -> bool {
    matches!(
        event,
        Event::Completed(_) | Event::Failed(_) | Event::Cancelled(_)
    )
}
