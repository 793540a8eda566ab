//! The worker adapter: one task owns the [`zisk_core::WorkerCore`], dials the coordinator,
//! feeds the core what arrives, and runs work orders on blocking threads through a
//! [`ProvingBackend`].

mod backend;
mod driver;
mod link;
mod work;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use zisk_core::{WorkerConfig, WorkerCore, WorkerId};

pub use backend::{
    AggregatedProof, BackendCall, BackendCallKind, BackendError, Execution, GuestRun,
    PartitionContribution, PartitionProof, ProvingBackend,
};

use crate::limits::ServerLimits;

/// Everything needed to start a worker.
pub struct WorkerOptions {
    /// The worker's stable id.
    pub worker_id: WorkerId,
    /// Core tuning; must be valid.
    pub config: WorkerConfig,
    /// The coordinator's worker-plane URL (`http://host:port`).
    pub coordinator_url: String,
    /// Channel settings.
    pub limits: ServerLimits,
    /// The zkVM.
    pub backend: Arc<dyn ProvingBackend>,
    /// Folder that job input paths are resolved under (`[worker].inputs_folder`); `None`
    /// fails every job submitted by input path.
    pub inputs_folder: Option<PathBuf>,
}

/// Asks a running worker to drain.
#[derive(Clone)]
pub struct WorkerHandle {
    drain: mpsc::Sender<()>,
}

impl WorkerHandle {
    /// Begins the drain: no new work; the task ends once the work in hand is reported.
    pub async fn drain(&self) {
        let _ = self.drain.send(()).await;
    }
}

/// Starts a worker task. It ends after a drain (or when its handle and task are dropped).
pub fn spawn_worker(options: WorkerOptions) -> (WorkerHandle, tokio::task::JoinHandle<()>) {
    let core = WorkerCore::new(options.worker_id, options.config);
    let (drain, drain_requests) = mpsc::channel(1);
    let driver = driver::WorkerDriver::new(
        core,
        options.coordinator_url,
        options.limits,
        options.backend,
        options.inputs_folder.map(Arc::from),
    );
    let task = tokio::spawn(driver.run(drain_requests));
    (WorkerHandle { drain }, task)
}
