//! Client-API views of core state: job states and phases, failures, workers.

use zisk_core::{FailureReason, JobKind, JobState, Phase, Worker, WorkerState};
use zisk_proto::client::v1 as wire;
use zisk_proto::common::v1 as common;
use zisk_proto::common::v1::{ErrorCode, ErrorInfo};

/// A core phase on the wire.
pub fn phase_to_wire(phase: Phase) -> common::JobPhase {
    match phase {
        Phase::Contributions => common::JobPhase::Contributions,
        Phase::Prove => common::JobPhase::Prove,
        Phase::Aggregate => common::JobPhase::Aggregate,
        Phase::Execute => common::JobPhase::Execute,
    }
}

/// A core job state on the wire.
pub fn state_to_wire(state: &JobState) -> common::JobState {
    match state {
        JobState::Queued => common::JobState::Queued,
        JobState::Running(_) => common::JobState::Running,
        JobState::Completed => common::JobState::Completed,
        JobState::Failed(_) => common::JobState::Failed,
        JobState::Cancelled => common::JobState::Cancelled,
    }
}

/// A core job kind on the wire.
pub fn kind_to_wire(kind: JobKind) -> common::JobKind {
    match kind {
        JobKind::Prove => common::JobKind::Prove,
        JobKind::Execute => common::JobKind::Execute,
    }
}

/// The stable code and message a client sees for a failed job.
pub fn error_code_of_failure(reason: &FailureReason) -> ErrorInfo {
    let code = match reason {
        FailureReason::QueueTimeout | FailureReason::PhaseTimeout(_) => ErrorCode::Timeout,
        FailureReason::RetryBudgetExhausted { .. }
        | FailureReason::AggregationBudgetExhausted { .. } => ErrorCode::RetryBudgetExhausted,
        FailureReason::TooManySegments { .. } | FailureReason::GuestFault { .. } => {
            ErrorCode::ExecutionFailed
        }
        FailureReason::SetupInvalidated => ErrorCode::SetupFailed,
        FailureReason::Drained => ErrorCode::Draining,
    };
    ErrorInfo {
        code: code as i32,
        message: reason.to_string(),
    }
}

/// A core worker as the client API lists it.
pub fn worker_to_wire(
    worker: &Worker,
    backend: common::Backend,
    last_seen_ms: u64,
) -> wire::WorkerInfo {
    let state = match worker.state() {
        WorkerState::Connecting | WorkerState::SettingUp | WorkerState::Ready => {
            wire::WorkerState::Idle
        }
        WorkerState::Computing => wire::WorkerState::Busy,
        WorkerState::Disconnected => wire::WorkerState::Disconnected,
        WorkerState::Draining => wire::WorkerState::Draining,
    };
    wire::WorkerInfo {
        worker_id: worker.id.0.clone(),
        compute_units: worker.compute_units,
        busy_compute_units: if worker.booked.is_some() {
            worker.compute_units
        } else {
            0
        },
        backend: backend as i32,
        state: state as i32,
        connection_generation: worker.generation.0,
        job_ids: worker.booked.iter().map(|job| job.to_string()).collect(),
        last_seen_ms,
    }
}
