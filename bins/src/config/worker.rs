//! `zisk-worker`'s settings: worker.toml, `ZISK_WORKER_*`, `RUST_LOG` and flags, layered
//! defaults < TOML < environment < flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use serde::Deserialize;
use zisk_core::WorkerConfig;

use crate::worker::ProverOptions;

use super::logging::{LoggingArgs, LoggingSettings, LoggingTable, resolve_logging};
use super::source::{Arg, ConfigError, Source, Sourced, in_file, in_range, layer, read_toml};

/// Command-line flags of `zisk-worker`. Every value flag can also come from its environment
/// variable (through clap); flags win.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "zisk-worker",
    version,
    about = "A proving worker of the zisk cluster"
)]
pub struct WorkerArgs {
    /// TOML configuration file (see docs/configuration.md).
    #[arg(long, env = "ZISK_WORKER_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print the resolved settings, each with its source, and exit.
    #[arg(long)]
    pub check_config: bool,
    /// The coordinator's worker plane ([coordinator].url).
    #[arg(long, env = "ZISK_WORKER_COORDINATOR_URL", value_name = "URL")]
    pub coordinator_url: Option<String>,
    /// Stable worker id ([worker].worker_id; a random UUID by default).
    #[arg(long, env = "ZISK_WORKER_ID", value_name = "ID")]
    pub worker_id: Option<String>,
    /// Compute units advertised ([worker].compute_capacity.compute_units).
    #[arg(long, env = "ZISK_WORKER_COMPUTE_CAPACITY", value_name = "UNITS")]
    pub compute_capacity: Option<String>,
    /// Folder for job inputs ([worker].inputs_folder).
    #[arg(long, env = "ZISK_WORKER_INPUTS_FOLDER", value_name = "PATH")]
    pub inputs_folder: Option<String>,
    /// STARK proving key ([worker].proving_key). Refused: the emulator backend computes each
    /// program's keys at setup and reads no key file.
    #[arg(long, env = "ZISK_WORKER_PROVING_KEY", value_name = "PATH")]
    pub proving_key: Option<String>,
    /// Segments committed or proved at once ([prover].parallel_segments).
    #[arg(long, env = "ZISK_WORKER_PARALLEL_SEGMENTS", value_name = "N")]
    pub parallel_segments: Option<String>,
    /// Most segment cycles whose phase-1 traces are kept for phase 2
    /// ([prover].max_kept_phase1_cycles); the rest is recommitted in phase 2.
    #[arg(
        long,
        env = "ZISK_WORKER_MAX_KEPT_PHASE1_CYCLES",
        value_name = "CYCLES"
    )]
    pub max_kept_phase1_cycles: Option<String>,
    /// Seconds between reconnection attempts ([connection].reconnect_interval_seconds).
    #[arg(
        long,
        env = "ZISK_WORKER_RECONNECT_INTERVAL_SECONDS",
        value_name = "SECONDS"
    )]
    pub reconnect_interval_seconds: Option<String>,
    /// Coordinator silence before reconnecting, seconds ([connection].heartbeat_timeout_seconds).
    #[arg(
        long,
        env = "ZISK_WORKER_HEARTBEAT_TIMEOUT_SECONDS",
        value_name = "SECONDS"
    )]
    pub heartbeat_timeout_seconds: Option<String>,
    /// Log level: trace, debug, info, warn, error ([logging].level; beats RUST_LOG).
    #[arg(long, env = "ZISK_WORKER_LOG_LEVEL", value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log format: pretty, json, compact ([logging].format).
    #[arg(long, env = "ZISK_WORKER_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Daily-rotated log file ([logging].file_path).
    #[arg(long, env = "ZISK_WORKER_LOG_FILE", value_name = "PATH")]
    pub log_file: Option<String>,
    /// Use the portable emulator backend (the default: the only one built).
    #[arg(long)]
    pub emulator: bool,
    /// Use the native assembly backend (not built yet).
    #[arg(long, value_name = "PATH")]
    pub asm: Option<PathBuf>,
    /// Use the GPU backend (not built yet).
    #[arg(long)]
    pub gpu: bool,
    /// Concurrent GPU streams (GPU backend only; not built yet).
    #[arg(long, value_name = "N")]
    pub max_streams: Option<u32>,
    /// Produce PLONK proofs (not built yet).
    #[arg(long)]
    pub plonk: bool,
    /// Preload the PLONK key (not built yet).
    #[arg(long)]
    pub preload_plonk: bool,
    /// SNARK proving key (PLONK only; not built yet).
    #[arg(long, value_name = "PATH")]
    pub proving_key_snark: Option<PathBuf>,
}

/// worker.toml.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerFile {
    /// `[worker]`.
    pub worker: WorkerTable,
    /// `[coordinator]`.
    pub coordinator: CoordinatorTable,
    /// `[connection]`.
    pub connection: ConnectionTable,
    /// `[logging]`.
    pub logging: LoggingTable,
    /// `[prover]`.
    pub prover: ProverTable,
}

/// `[prover]`: how the emulator backend spends memory and cores.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProverTable {
    /// Segments committed or proved at once.
    pub parallel_segments: Option<usize>,
    /// Most segment cycles whose phase-1 traces are kept for phase 2.
    pub max_kept_phase1_cycles: Option<u64>,
}

/// `[worker]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WorkerTable {
    /// Stable worker id.
    pub worker_id: Option<String>,
    /// `compute_capacity.compute_units`.
    pub compute_capacity: Option<ComputeCapacity>,
    /// Folder for job inputs.
    pub inputs_folder: Option<PathBuf>,
    /// STARK proving key.
    pub proving_key: Option<PathBuf>,
}

/// `[worker.compute_capacity]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ComputeCapacity {
    /// Compute units advertised.
    pub compute_units: Option<u32>,
}

/// `[coordinator]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CoordinatorTable {
    /// The coordinator's worker plane.
    pub url: Option<String>,
}

/// `[connection]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConnectionTable {
    /// Seconds between reconnection attempts.
    pub reconnect_interval_seconds: Option<u64>,
    /// Coordinator silence before reconnecting, in seconds.
    pub heartbeat_timeout_seconds: Option<u64>,
}

/// Every setting of `zisk-worker`, resolved and validated.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerSettings {
    /// `[worker].worker_id`.
    pub worker_id: String,
    /// `[worker].compute_capacity.compute_units`.
    pub compute_units: Sourced<u32>,
    /// `[worker].inputs_folder`.
    pub inputs_folder: PathBuf,
    /// `[prover]`.
    pub prover: ProverOptions,
    /// `[coordinator].url`.
    pub coordinator_url: String,
    /// The core's tuning (capacity, reconnect interval, heartbeat timeout).
    pub core: WorkerConfig,
    /// `[logging]`.
    pub logging: LoggingSettings,
}

const fn arg(id: &'static str, flag: &'static str, env: &'static str) -> Arg {
    Arg { id, flag, env }
}

const COORDINATOR_URL: Arg = arg(
    "coordinator_url",
    "coordinator-url",
    "ZISK_WORKER_COORDINATOR_URL",
);
const WORKER_ID: Arg = arg("worker_id", "worker-id", "ZISK_WORKER_ID");
const COMPUTE: Arg = arg(
    "compute_capacity",
    "compute-capacity",
    "ZISK_WORKER_COMPUTE_CAPACITY",
);
const INPUTS: Arg = arg(
    "inputs_folder",
    "inputs-folder",
    "ZISK_WORKER_INPUTS_FOLDER",
);
const PROVING_KEY: Arg = arg("proving_key", "proving-key", "ZISK_WORKER_PROVING_KEY");
const PARALLEL: Arg = arg(
    "parallel_segments",
    "parallel-segments",
    "ZISK_WORKER_PARALLEL_SEGMENTS",
);
const KEPT: Arg = arg(
    "max_kept_phase1_cycles",
    "max-kept-phase1-cycles",
    "ZISK_WORKER_MAX_KEPT_PHASE1_CYCLES",
);
const RECONNECT: Arg = arg(
    "reconnect_interval_seconds",
    "reconnect-interval-seconds",
    "ZISK_WORKER_RECONNECT_INTERVAL_SECONDS",
);
const HEARTBEAT: Arg = arg(
    "heartbeat_timeout_seconds",
    "heartbeat-timeout-seconds",
    "ZISK_WORKER_HEARTBEAT_TIMEOUT_SECONDS",
);
const LOGGING: LoggingArgs = LoggingArgs {
    level: arg("log_level", "log-level", "ZISK_WORKER_LOG_LEVEL"),
    format: arg("log_format", "log-format", "ZISK_WORKER_LOG_FORMAT"),
    file: arg("log_file", "log-file", "ZISK_WORKER_LOG_FILE"),
};

/// Largest compute capacity a worker may advertise (the core's default per-worker limit).
pub const MAX_COMPUTE_UNITS: u32 = 1024;

/// Parses the command line (and, through clap, the environment); clap prints help or
/// usage errors and exits.
pub fn parse_worker_command_line() -> ArgMatches {
    WorkerArgs::command().get_matches()
}

fn unsupported(flag: &'static str, why: &str) -> ConfigError {
    ConfigError::Unsupported {
        origin: Source::Flag(flag),
        what: format!("--{flag}"),
        why: why.to_owned(),
    }
}

/// Refuses flags for capabilities that are not built, naming the flag.
///
/// # Errors
/// The first such flag.
pub fn check_capabilities(args: &WorkerArgs) -> Result<(), ConfigError> {
    let not_built = "this backend is not built yet; run with --emulator (the default)";
    if args.asm.is_some() {
        return Err(unsupported("asm", not_built));
    }
    if args.gpu {
        return Err(unsupported("gpu", not_built));
    }
    if args.max_streams.is_some() {
        return Err(unsupported(
            "max-streams",
            "it applies to the GPU backend, which is not built yet",
        ));
    }
    let no_plonk = "PLONK proofs need the STARK prover and a SNARK wrapper, neither built yet";
    if args.plonk {
        return Err(unsupported("plonk", no_plonk));
    }
    if args.preload_plonk {
        return Err(unsupported("preload-plonk", no_plonk));
    }
    if args.proving_key_snark.is_some() {
        return Err(unsupported("proving-key-snark", no_plonk));
    }
    Ok(())
}

/// Resolves every setting from parsed arguments, the file they name and `RUST_LOG`.
///
/// # Errors
/// The first invalid value, unknown key, unreadable file or unsupported flag, naming its
/// source and key.
pub fn resolve_worker(
    matches: &ArgMatches,
    rust_log: Option<String>,
) -> Result<WorkerSettings, ConfigError> {
    let args = WorkerArgs::from_arg_matches(matches)
        .map_err(|error| ConfigError::invalid(Source::Default, "arguments", error.to_string()))?;
    check_capabilities(&args)?;
    let (file, path) = match &args.config {
        Some(path) => (read_toml::<WorkerFile>(path)?, Some(path.as_path())),
        None => (WorkerFile::default(), None),
    };

    let worker_id = layer::<String>(
        matches,
        WORKER_ID,
        "worker.worker_id",
        in_file(file.worker.worker_id.clone(), path),
        String::new(),
    )?;
    let worker_id = if worker_id.source == Source::Default {
        uuid::Uuid::new_v4().to_string()
    } else {
        let length = worker_id.value.len();
        if !(1..=zisk_core::config::MAX_WORKER_ID_BYTES).contains(&length) {
            return Err(ConfigError::invalid(
                worker_id.source,
                "worker.worker_id",
                format!("{length} bytes; expected 1..=128 bytes"),
            ));
        }
        worker_id.value
    };
    let file_units = file
        .worker
        .compute_capacity
        .as_ref()
        .and_then(|capacity| capacity.compute_units);
    let compute_units = layer(
        matches,
        COMPUTE,
        "worker.compute_capacity.compute_units",
        in_file(file_units, path),
        10u32,
    )?;
    in_range(
        &compute_units,
        "worker.compute_capacity.compute_units",
        1..=MAX_COMPUTE_UNITS,
    )?;
    let inputs_folder = layer::<String>(
        matches,
        INPUTS,
        "worker.inputs_folder",
        in_file(
            file.worker
                .inputs_folder
                .as_ref()
                .map(|folder| folder.display().to_string()),
            path,
        ),
        ".".to_owned(),
    )?;
    // A proving-key file is not a thing of this backend: refuse it rather than ignore it.
    let proving_key = layer::<String>(
        matches,
        PROVING_KEY,
        "worker.proving_key",
        in_file(
            file.worker
                .proving_key
                .as_ref()
                .map(|key| key.display().to_string()),
            path,
        ),
        String::new(),
    )?;
    if proving_key.source != Source::Default {
        return Err(ConfigError::Unsupported {
            origin: proving_key.source,
            what: "worker.proving_key".to_owned(),
            why: "the emulator backend computes each program's proving key at setup and reads \
                  no key file; remove the setting"
                .to_owned(),
        });
    }
    let defaults = ProverOptions::default();
    let parallel_segments = layer(
        matches,
        PARALLEL,
        "prover.parallel_segments",
        in_file(file.prover.parallel_segments, path),
        defaults.parallel_segments,
    )?;
    let parallel_segments = in_range(&parallel_segments, "prover.parallel_segments", 1..=64)?;
    let kept = layer(
        matches,
        KEPT,
        "prover.max_kept_phase1_cycles",
        in_file(file.prover.max_kept_phase1_cycles, path),
        defaults.max_kept_cycles,
    )?;
    let max_kept_cycles = in_range(&kept, "prover.max_kept_phase1_cycles", 0..=1 << 40)?;
    let url = layer::<String>(
        matches,
        COORDINATOR_URL,
        "coordinator.url",
        in_file(file.coordinator.url.clone(), path),
        "http://127.0.0.1:50051".to_owned(),
    )?;
    if !(url.value.starts_with("http://") || url.value.starts_with("https://"))
        || url.value.parse::<tonic::transport::Uri>().is_err()
    {
        return Err(ConfigError::invalid(
            url.source,
            "coordinator.url",
            format!("{:?}: expected http://HOST:PORT", url.value),
        ));
    }
    let reconnect = layer(
        matches,
        RECONNECT,
        "connection.reconnect_interval_seconds",
        in_file(file.connection.reconnect_interval_seconds, path),
        5u64,
    )?;
    let reconnect = in_range(
        &reconnect,
        "connection.reconnect_interval_seconds",
        1..=3600,
    )?;
    let heartbeat = layer(
        matches,
        HEARTBEAT,
        "connection.heartbeat_timeout_seconds",
        in_file(file.connection.heartbeat_timeout_seconds, path),
        30u64,
    )?;
    let heartbeat = in_range(&heartbeat, "connection.heartbeat_timeout_seconds", 1..=3600)?;
    let logging = resolve_logging(
        matches,
        LOGGING,
        path.map(|path| (&file.logging, path)),
        rust_log,
    )?;
    let core = WorkerConfig {
        compute_units: compute_units.value,
        reconnect_interval: Duration::from_secs(reconnect),
        heartbeat_timeout: Duration::from_secs(heartbeat),
        ..WorkerConfig::default()
    };
    core.validate()
        .map_err(|error| ConfigError::invalid(Source::Default, error.key, error.problem))?;
    Ok(WorkerSettings {
        worker_id,
        compute_units,
        inputs_folder: PathBuf::from(inputs_folder.value),
        prover: ProverOptions {
            parallel_segments,
            max_kept_cycles,
        },
        coordinator_url: url.value,
        core,
        logging,
    })
}

impl WorkerSettings {
    /// The resolved settings, one `key = value` line each (with the source where it is
    /// tracked), for `--check-config`.
    pub fn describe(&self) -> String {
        [
            format!("worker.worker_id = {}", self.worker_id),
            format!(
                "worker.compute_capacity.compute_units = {} ({})",
                self.compute_units.value, self.compute_units.source
            ),
            format!("worker.inputs_folder = {}", self.inputs_folder.display()),
            format!(
                "prover.parallel_segments = {}",
                self.prover.parallel_segments
            ),
            format!(
                "prover.max_kept_phase1_cycles = {}",
                self.prover.max_kept_cycles
            ),
            format!("coordinator.url = {}", self.coordinator_url),
            format!(
                "connection.reconnect_interval_seconds = {}",
                self.core.reconnect_interval.as_secs()
            ),
            format!(
                "connection.heartbeat_timeout_seconds = {}",
                self.core.heartbeat_timeout.as_secs()
            ),
            format!(
                "logging.filter = {:?} ({})",
                self.logging.filter.value, self.logging.filter.source
            ),
            format!("logging.format = {:?}", self.logging.format),
            format!("logging.file_path = {:?}", self.logging.file_path),
            "backend = emulator".to_owned(),
        ]
        .join("\n")
    }
}
