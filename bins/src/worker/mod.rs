//! `zisk-worker`: settings, the emulator backend, and the run loop with signals.

mod emulator;
mod run;

pub use emulator::{EmulatorBackend, STARK_NOT_BUILT, interim_program_digest, segment_cycles_log2};
pub use run::run_worker;
