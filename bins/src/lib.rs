//! The zisk cluster's binaries and what they share.
//!
//! - `zisk-coordinator` ([`coordinator::run_coordinator`]): the core task, the client API
//!   (default port 7000), the worker plane (50051) and `/metrics` + `/health` (9090).
//! - `zisk-worker` ([`worker::run_worker`]): dials the coordinator and runs work on the
//!   emulator backend ([`worker::EmulatorBackend`]).
//! - `zisk` ([`cli`]): the client; with no coordinator it starts an embedded single-node
//!   cluster ([`cli::EmbeddedCluster`]).
//!
//! Configuration is layered defaults < TOML < environment < flags ([`config`]); every error
//! names its source and key. Logging is [`logging`], metrics [`metrics`], signals
//! [`signals`], job webhooks [`webhook`]. See docs/configuration.md and docs/usage.md.
//!
//! ```
//! use zisk_bins::config::{ConfigError, Source};
//!
//! let error = ConfigError::invalid(Source::Env("ZISK_COORDINATOR_API_PORT"), "server.port", "\"x\": invalid digit");
//! assert_eq!(
//!     error.to_string(),
//!     "environment variable ZISK_COORDINATOR_API_PORT: invalid value for `server.port`: \"x\": invalid digit"
//! );
//! ```

pub mod challenge;
pub mod cli;
pub mod config;
pub mod coordinator;
pub mod logging;
pub mod metrics;
pub mod signals;
pub mod webhook;
pub mod worker;

/// Prints an error with its whole chain to stderr and exits with status 2 (configuration)
/// or 1 (anything else).
pub fn exit_with_error(error: &anyhow::Error) -> ! {
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    let status = if error.downcast_ref::<config::ConfigError>().is_some() {
        2
    } else {
        1
    };
    std::process::exit(status)
}
