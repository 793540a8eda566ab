//! Typed errors of the coordinator core's commands, one enum per surface.

use crate::ids::{JobId, ProgramId};

/// Why a program could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterProgramError {
    /// The registry already holds `max_programs` programs.
    #[error("program registry is full ({max_programs} programs)")]
    RegistryFull {
        /// The configured limit.
        max_programs: u32,
    },
    /// The coordinator is draining.
    #[error("coordinator is draining and accepts no new programs")]
    Draining,
}

/// Why a setup could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// No program with this id was registered.
    #[error("unknown program {0}")]
    UnknownProgram(ProgramId),
    /// The coordinator is draining.
    #[error("coordinator is draining and starts no setups")]
    Draining,
}

/// Why a job was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// No program with this id was registered.
    #[error("unknown program {0}")]
    UnknownProgram(ProgramId),
    /// Prove jobs need a completed setup.
    #[error("setup of program {0} is not ready (run setup first)")]
    SetupNotReady(ProgramId),
    /// The requested compute units are zero or above the limit.
    #[error("requested {requested} compute units; allowed 1..={max}")]
    InvalidComputeUnits {
        /// What was asked for.
        requested: u32,
        /// The configured maximum.
        max: u32,
    },
    /// The queue already holds `max_queued_jobs` jobs.
    #[error("job queue is full ({max_queued_jobs} jobs waiting)")]
    QueueFull {
        /// The configured limit.
        max_queued_jobs: u32,
    },
    /// The coordinator is draining.
    #[error("coordinator is draining and accepts no new jobs")]
    Draining,
}

/// Why a job could not be cancelled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CancelError {
    /// No such job (never existed, or evicted after its TTL).
    #[error("unknown job {0}")]
    UnknownJob(JobId),
    /// The job already ended.
    #[error("job {job} already ended ({state})")]
    AlreadyTerminal {
        /// The job.
        job: JobId,
        /// Its terminal state.
        state: &'static str,
    },
}
