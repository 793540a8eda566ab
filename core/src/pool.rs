//! The worker pool: who is connected, with what capacity, doing what.

use std::collections::BTreeMap;

use crate::ids::{ConnectionId, Generation, JobId, ProgramId, WorkerId};
use crate::program::LocalSetup;
use crate::time::Instant;

/// A worker's state as reported to operators; derived, never stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkerState {
    /// Connected, not yet registered.
    Connecting,
    /// Registered, still computing setups it must hold before taking jobs.
    SettingUp,
    /// Idle and eligible for jobs.
    Ready,
    /// Booked by a job.
    Computing,
    /// Connection lost; inside the reconnect grace period.
    Disconnected,
    /// Draining: finishing its work, taking no more.
    Draining,
}

impl WorkerState {
    /// Lower-case name, used as a metric label.
    pub fn name(self) -> &'static str {
        match self {
            WorkerState::Connecting => "connecting",
            WorkerState::SettingUp => "setting_up",
            WorkerState::Ready => "ready",
            WorkerState::Computing => "computing",
            WorkerState::Disconnected => "disconnected",
            WorkerState::Draining => "draining",
        }
    }
}

/// One registered worker.
#[derive(Clone, Debug)]
pub struct Worker {
    /// Its id.
    pub id: WorkerId,
    /// Advertised compute units.
    pub compute_units: u32,
    /// The current connection; `None` while disconnected.
    pub connection: Option<ConnectionId>,
    /// Connections made by this worker id so far.
    pub generation: Generation,
    /// Fresh registrations (process starts) of this worker id so far.
    pub incarnation: u64,
    /// When it last sent anything.
    pub last_seen: Instant,
    /// The job that booked it.
    pub booked: Option<JobId>,
    /// Its copies of active setups.
    pub setups: BTreeMap<ProgramId, LocalSetup>,
    /// Whether it announced a drain.
    pub draining: bool,
}

impl Worker {
    /// The operator-facing state.
    pub fn state(&self) -> WorkerState {
        if self.connection.is_none() {
            WorkerState::Disconnected
        } else if self.booked.is_some() {
            WorkerState::Computing
        } else if self.draining {
            WorkerState::Draining
        } else if self
            .setups
            .values()
            .any(|setup| *setup == LocalSetup::Pending)
        {
            WorkerState::SettingUp
        } else {
            WorkerState::Ready
        }
    }

    /// Whether it can be booked by a new job right now.
    pub fn is_idle(&self) -> bool {
        self.state() == WorkerState::Ready
    }
}
