//! [`StepObserver`]: a window on the core from inside the task that owns it, for simulations
//! and tests that check the protocol's safety invariants after every step.

use zisk_core::{ConnectionId, Coordinator, FromWorker};

/// Watches the coordinator core from inside its task. Production passes none
/// ([`super::spawn_coordinator`]); the simulations in `zisk-sim` pass one that checks
/// [`Coordinator::check_invariants`] and the properties that need history (terminal jobs never
/// change, stale-fenced results change nothing, one aggregator per attempt) after every step.
/// The observer runs on the core's task: it must be quick and must not block.
pub trait StepObserver: Send + 'static {
    /// A worker message is about to be handed to the core.
    fn before_message(
        &mut self,
        core: &Coordinator,
        connection: ConnectionId,
        message: &FromWorker,
    ) {
        let _ = (core, connection, message);
    }

    /// The core handled one command, worker-plane event or timeout, and its outputs were
    /// carried out.
    fn after_step(&mut self, core: &Coordinator);
}
