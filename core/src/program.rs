//! The program registry and the setup cache state.

use crate::digest::Digest;
use crate::ids::WorkerId;
use crate::time::Instant;

/// Setup state of one registered program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramState {
    /// Registered; no setup asked for yet.
    Registered,
    /// Workers are computing the setup.
    SetupRunning {
        /// When the setup started.
        started_at: Instant,
        /// The first verifying-key digest reported, and by whom; every other must match.
        candidate: Option<(WorkerId, Digest)>,
    },
    /// Setup done; prove jobs may run.
    Ready {
        /// The program's verifying-key digest.
        verifying_key: Digest,
    },
    /// Setup failed; it may be requested again.
    SetupFailed {
        /// Why.
        reason: String,
    },
}

impl ProgramState {
    /// Lower-case name of the state.
    pub fn name(&self) -> &'static str {
        match self {
            ProgramState::Registered => "registered",
            ProgramState::SetupRunning { .. } => "setup_running",
            ProgramState::Ready { .. } => "ready",
            ProgramState::SetupFailed { .. } => "setup_failed",
        }
    }

    /// Whether workers should hold this program's setup (running or ready).
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            ProgramState::SetupRunning { .. } | ProgramState::Ready { .. }
        )
    }
}

/// A worker's copy of one program's setup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalSetup {
    /// Asked for, not reported yet.
    Pending,
    /// Done with this verifying-key digest.
    Done(Digest),
}
