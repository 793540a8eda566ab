//! [`JobOutcomeListener`]: told once when a job reaches a terminal state, with a
//! [`JobOutcome`] summary (the binaries' webhook posts it).

use zisk_core::{Job, JobKind, JobResult, JobState, Phase};
use zisk_proto::common::v1::ErrorCode;

use super::jobs::JobRecord;
use crate::convert::{error_code_of_failure, job_wire_id};

/// How a job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobEnd {
    /// Finished with a result.
    Completed {
        /// Executed instructions.
        cycles: u64,
        /// Segments the execution split into.
        segment_count: u32,
        /// Size of the final proof; none for an execute-only job.
        proof_bytes: Option<u64>,
    },
    /// Ended without a result.
    Failed {
        /// The client API's error code, lower-case without its prefix (`timeout`,
        /// `retry_budget_exhausted`, ...).
        code: String,
        /// What went wrong, as the client API shows it.
        message: String,
    },
    /// Cancelled by a client.
    Cancelled {
        /// The client's reason (may be empty).
        reason: String,
    },
}

impl JobEnd {
    /// Lower-case name: `completed`, `failed` or `cancelled`.
    pub fn name(&self) -> &'static str {
        match self {
            JobEnd::Completed { .. } => "completed",
            JobEnd::Failed { .. } => "failed",
            JobEnd::Cancelled { .. } => "cancelled",
        }
    }
}

/// A terminal job as the coordinator process knows it. Times are wall-clock milliseconds
/// since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobOutcome {
    /// The job's id as the client API shows it.
    pub job_id: String,
    /// Prove or execute-only.
    pub kind: JobKind,
    /// The program's id as the client API shows it.
    pub program_id: String,
    /// How it ended.
    pub end: JobEnd,
    /// When it was submitted.
    pub submitted_at_ms: u64,
    /// When it got workers; none if it never started.
    pub started_at_ms: Option<u64>,
    /// When it ended.
    pub finished_at_ms: u64,
    /// Time spent in each phase it entered, in the order first entered (a phase entered
    /// twice is summed).
    pub phase_durations_ms: Vec<(Phase, u64)>,
}

impl JobOutcome {
    /// Submission to end.
    pub fn total_ms(&self) -> u64 {
        self.finished_at_ms.saturating_sub(self.submitted_at_ms)
    }

    /// Submission to start (the whole life of a job that never started).
    pub fn queued_ms(&self) -> u64 {
        self.started_at_ms
            .unwrap_or(self.finished_at_ms)
            .saturating_sub(self.submitted_at_ms)
    }

    /// The outcome of a terminal `job`; none while it is live.
    pub(super) fn of(job: &Job, record: &JobRecord) -> Option<Self> {
        let end = match &job.state {
            JobState::Queued | JobState::Running(_) => return None,
            JobState::Completed => {
                let (summary, proof_bytes) = match job.result.as_ref()? {
                    JobResult::Proof { summary, proof, .. } => (summary, Some(proof.len() as u64)),
                    JobResult::Execution { summary, .. } => (summary, None),
                };
                JobEnd::Completed {
                    cycles: summary.cycles,
                    segment_count: summary.segment_count,
                    proof_bytes,
                }
            }
            JobState::Failed(reason) => {
                let info = error_code_of_failure(reason);
                let code = ErrorCode::try_from(info.code).unwrap_or(ErrorCode::Unspecified);
                JobEnd::Failed {
                    code: code
                        .as_str_name()
                        .trim_start_matches("ERROR_CODE_")
                        .to_ascii_lowercase(),
                    message: info.message,
                }
            }
            JobState::Cancelled => JobEnd::Cancelled {
                reason: record.cancel_reason.clone(),
            },
        };
        Some(JobOutcome {
            job_id: job_wire_id(job.id),
            kind: job.kind,
            program_id: record.program_wire_id.clone(),
            end,
            submitted_at_ms: record.created_at_ms,
            started_at_ms: (record.started_at_ms != 0).then_some(record.started_at_ms),
            finished_at_ms: record.finished_at_ms,
            phase_durations_ms: record.phase_durations_ms.clone(),
        })
    }
}

/// Told once for every job that reaches a terminal state. It runs on the core's task: it must
/// be quick and must never block (queue the outcome and return).
pub trait JobOutcomeListener: Send + 'static {
    /// `outcome`'s job just ended.
    fn job_finished(&mut self, outcome: JobOutcome);
}
