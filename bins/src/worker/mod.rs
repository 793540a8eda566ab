//! `zisk-worker`: settings, the emulator backend (execution and STARK proving), and the run
//! loop with signals.

mod emulator;
mod keys;
mod proving;
mod run;

pub use emulator::{EmulatorBackend, segment_cycles_log2};
pub use keys::{CLUSTER_PARAMS, KeyCache, MAX_CACHED_KEYS, ProgramKeys};
pub use proving::{JobProving, ProverOptions};
pub use run::run_worker;
