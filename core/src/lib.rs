//! Sans-IO protocol core of the zisk proving cluster.
//!
//! This crate holds every protocol decision of the cluster and nothing else: no sockets, no
//! threads, no clock, no global randomness. The [`Coordinator`] owns programs, jobs, workers
//! and timers; the [`WorkerCore`] owns one worker's connection lifecycle and assignments.
//! Both are driven the same way (quinn-proto style): feed inputs with a `now`, drain
//! `poll_output`, sleep until `poll_timeout`, call `handle_timeout`. The tonic adapters in
//! `zisk-net` do this in production; simulations and the in-crate [`driver`] do it with a
//! virtual clock.
//!
//! ```
//! use zisk_core::*;
//!
//! struct Sum;
//! impl ChallengeDerivation for Sum {
//!     fn derive(&self, _: &ProgramId, _: &Digest, _: &ExecutionSummary, c: &[Contribution]) -> Challenge {
//!         Challenge(vec![c.len() as u8].into())
//!     }
//! }
//!
//! let mut coordinator = Coordinator::new(CoordinatorConfig::default(), Epoch(1), 42, Box::new(Sum));
//! let now = Instant::from_millis(0);
//! let program = ProgramId([7; 32]);
//! coordinator.register_program(program).unwrap();
//! // A worker connects and registers.
//! coordinator.handle(now, Input::Connected { connection: ConnectionId(1) });
//! coordinator.handle(now, Input::Message {
//!     connection: ConnectionId(1),
//!     message: FromWorker::Register {
//!         worker: WorkerId::from("w1"),
//!         compute_units: 10,
//!         protocol_version: PROTOCOL_VERSION,
//!     },
//! });
//! // An execute-only job starts on it at once.
//! let job = coordinator
//!     .submit_job(now, JobRequest { kind: JobKind::Execute, program, compute_units: None })
//!     .unwrap();
//! let mut assigned = false;
//! while let Some(output) = coordinator.poll_output() {
//!     if let Output::Send { message: ToWorker::AssignExecute { fence, .. }, .. } = output {
//!         assert_eq!(fence.job, job);
//!         assigned = true;
//!     }
//! }
//! assert!(assigned);
//! assert_eq!(coordinator.job(job).unwrap().phase(), Some(Phase::Execute));
//! ```

pub mod config;
pub mod coordinator;
pub mod digest;
#[cfg(feature = "test-driver")]
pub mod driver;
pub mod errors;
pub mod events;
pub mod ids;
pub mod job;
pub mod message;
pub mod partition;
pub mod pool;
pub mod program;
pub mod rng;
pub mod time;
pub mod timers;
pub mod worker;

pub use config::{ConfigError, CoordinatorConfig, PROTOCOL_VERSION, WorkerConfig};
pub use coordinator::{ChallengeDerivation, Coordinator, Counters, Input, JobRequest};
pub use digest::{Challenge, Digest, Payload};
pub use errors::{CancelError, RegisterProgramError, SetupError, SubmitError};
pub use events::{JobEvent, JobEventKind, JobResult, MetricEvent, Output, Record};
pub use ids::{
    Attempt, ConnectionId, Epoch, Fence, Generation, JobId, PartitionId, ProgramId, SegmentIndex,
    WorkerId,
};
pub use job::{FailureReason, Job, JobKind, JobState, Phase, Task, TaskState};
pub use message::{
    Contribution, ExecutionSummary, FailureKind, FromWorker, ReconnectDirective,
    RegistrationRefusal, ToWorker,
};
pub use pool::{Worker, WorkerState};
pub use program::{LocalSetup, ProgramState};
pub use time::Instant;
pub use worker::{WorkOrder, WorkResult, WorkerCore, WorkerInput, WorkerOutput};
