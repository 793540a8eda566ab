//! The coordinator adapter: one task owns the [`zisk_core::Coordinator`]; the client API
//! ([`ClientService`]) and the worker plane ([`WorkerPlaneService`]) talk to it through a
//! [`CoordinatorHandle`].
//!
//! ```text
//!  ClientApi RPCs ──┐                       ┌──> worker streams (Send / Close)
//!                   ├─ Command ─> core task ─┼──> job watchers (JobEvent)
//!  worker streams ──┘   (mpsc)   poll_timeout └──> metrics (MetricEvent)
//! ```

mod api;
mod command;
mod driver;
mod handle;
mod jobs;
mod observer;
mod outcome;
mod plane;
mod requests;

use std::sync::Arc;

use tokio::sync::mpsc;
use zisk_core::{ChallengeDerivation, Coordinator, CoordinatorConfig, Epoch};

pub use api::{ClientService, ElfCheck};
pub use handle::CoordinatorHandle;
pub use observer::StepObserver;
pub use outcome::{JobEnd, JobOutcome, JobOutcomeListener};
pub use plane::WorkerPlaneService;

use crate::limits::COMMAND_BUFFER;
use crate::metrics::CoordinatorMetrics;

/// Everything needed to start a coordinator core task.
pub struct CoordinatorOptions {
    /// Core tuning; must be valid.
    pub config: CoordinatorConfig,
    /// This incarnation's epoch (larger than any earlier incarnation's).
    pub epoch: Epoch,
    /// Seed of the core's job-id generator.
    pub seed: u64,
    /// The global-challenge derivation supplied by the prover.
    pub challenger: Box<dyn ChallengeDerivation>,
    /// Cycles per segment told to workers (`0` = the prover's default).
    pub segment_cycles: u64,
    /// Where counters go.
    pub metrics: Arc<dyn CoordinatorMetrics>,
    /// Told once for every job that ends (the binaries' webhook); none to skip.
    pub outcomes: Option<Box<dyn JobOutcomeListener>>,
}

/// Starts the task that owns the core and returns its handle. The task ends when every
/// clone of the handle (the services hold some) is dropped.
pub fn spawn_coordinator(
    options: CoordinatorOptions,
) -> (CoordinatorHandle, tokio::task::JoinHandle<()>) {
    spawn(options, None)
}

/// [`spawn_coordinator`] with a [`StepObserver`] called after every step of the core (the
/// simulations check the protocol's invariants with it).
pub fn spawn_observed_coordinator(
    options: CoordinatorOptions,
    observer: Box<dyn StepObserver>,
) -> (CoordinatorHandle, tokio::task::JoinHandle<()>) {
    spawn(options, Some(observer))
}

fn spawn(
    options: CoordinatorOptions,
    observer: Option<Box<dyn StepObserver>>,
) -> (CoordinatorHandle, tokio::task::JoinHandle<()>) {
    let core = Coordinator::new(
        options.config,
        options.epoch,
        options.seed,
        options.challenger,
    );
    let mut driver = driver::Driver::new(core, options.segment_cycles, options.metrics);
    driver.observer = observer;
    driver.outcomes = options.outcomes;
    let (commands, receiver) = mpsc::channel(COMMAND_BUFFER);
    let task = tokio::spawn(driver.run(receiver));
    (CoordinatorHandle { commands }, task)
}
