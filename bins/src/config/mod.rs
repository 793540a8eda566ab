//! Configuration of the binaries: four layers, later wins: built-in defaults < TOML file
//! (`--config`) < environment (`ZISK_COORDINATOR_*` / `ZISK_WORKER_*`, `RUST_LOG`) <
//! command-line flags. Flags and variables are read by clap; values are parsed and checked
//! here so that every error names its source (file, variable or flag) and its key.
//! Nothing starts on a half-read configuration.

mod coordinator;
mod core_tuning;
mod logging;
mod source;
mod worker;

pub use coordinator::{
    CoordinatorArgs, CoordinatorFile, CoordinatorSettings, Environment,
    parse_coordinator_command_line, resolve_coordinator,
};
pub use core_tuning::{
    CoreTuning, CoreTuningFile, DEFAULT_SEGMENT_CYCLES_LOG2, apply_core_tuning, read_core_tuning,
};
pub use logging::{LogFormat, LoggingSettings, LoggingTable};
pub use source::{ConfigError, Source, Sourced};
pub use worker::{
    MAX_COMPUTE_UNITS, WorkerArgs, WorkerFile, WorkerSettings, check_capabilities,
    parse_worker_command_line, resolve_worker,
};
