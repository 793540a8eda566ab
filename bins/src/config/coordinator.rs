//! `zisk-coordinator`'s settings: coordinator.toml, `ZISK_COORDINATOR_*`, `RUST_LOG` and
//! flags, layered defaults < TOML < environment < flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use serde::Deserialize;
use zisk_core::CoordinatorConfig;

use super::core_tuning::{CoreTuning, read_core_tuning};
use super::logging::{LoggingArgs, LoggingSettings, LoggingTable, resolve_logging};
use super::source::{Arg, ConfigError, Source, Sourced, in_file, in_range, layer, read_toml};
use crate::webhook::WebhookUrl;

/// Command-line flags of `zisk-coordinator`. Every value flag can also come from its
/// environment variable (through clap); flags win.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "zisk-coordinator",
    version,
    about = "The zisk proving cluster's coordinator"
)]
pub struct CoordinatorArgs {
    /// TOML configuration file (see docs/configuration.md).
    #[arg(long, env = "ZISK_COORDINATOR_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print the resolved settings, each with its source, and exit.
    #[arg(long)]
    pub check_config: bool,
    /// Bind address of the client API and the worker plane ([server].host).
    #[arg(long, env = "ZISK_COORDINATOR_HOST", value_name = "ADDRESS")]
    pub host: Option<String>,
    /// Client API port ([server].port).
    #[arg(long, env = "ZISK_COORDINATOR_API_PORT", value_name = "PORT")]
    pub api_port: Option<String>,
    /// Worker plane port ([coordinator].port).
    #[arg(long, env = "ZISK_COORDINATOR_CLUSTER_PORT", value_name = "PORT")]
    pub cluster_port: Option<String>,
    /// Coordinator-core tuning file ([coordinator].config_file).
    #[arg(long, env = "ZISK_COORDINATOR_CORE_CONFIG", value_name = "PATH")]
    pub core_config: Option<String>,
    /// Drain window after SIGTERM/SIGINT, in seconds ([server].shutdown_timeout_seconds).
    #[arg(
        long,
        env = "ZISK_COORDINATOR_SHUTDOWN_TIMEOUT_SECONDS",
        value_name = "SECONDS"
    )]
    pub shutdown_timeout_seconds: Option<String>,
    /// Serve /metrics: true or false ([metrics].enabled; /health is always served).
    #[arg(long, env = "ZISK_COORDINATOR_METRICS_ENABLED", value_name = "BOOL")]
    pub metrics_enabled: Option<String>,
    /// Bind address of /metrics and /health ([metrics].host).
    #[arg(long, env = "ZISK_COORDINATOR_METRICS_HOST", value_name = "ADDRESS")]
    pub metrics_host: Option<String>,
    /// Port of /metrics and /health ([metrics].port).
    #[arg(long, env = "ZISK_COORDINATOR_METRICS_PORT", value_name = "PORT")]
    pub metrics_port: Option<String>,
    /// Log level: trace, debug, info, warn, error ([logging].level; beats RUST_LOG).
    #[arg(long, env = "ZISK_COORDINATOR_LOG_LEVEL", value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log format: pretty, json, compact ([logging].format).
    #[arg(long, env = "ZISK_COORDINATOR_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Daily-rotated log file ([logging].file_path).
    #[arg(long, env = "ZISK_COORDINATOR_LOG_FILE", value_name = "PATH")]
    pub log_file: Option<String>,
    /// Environment label: development, staging, production ([service].environment).
    #[arg(long, env = "ZISK_COORDINATOR_ENVIRONMENT", value_name = "NAME")]
    pub environment: Option<String>,
}

/// coordinator.toml.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CoordinatorFile {
    /// `[service]`.
    pub service: ServiceTable,
    /// `[server]`: the client API.
    pub server: ServerTable,
    /// `[coordinator]`: the worker plane.
    pub coordinator: ClusterTable,
    /// `[metrics]`.
    pub metrics: MetricsTable,
    /// `[logging]`.
    pub logging: LoggingTable,
    /// `[backend]`.
    pub backend: BackendTable,
}

/// `[service]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServiceTable {
    /// Shown in logs and status output.
    pub name: Option<String>,
    /// development, staging or production.
    pub environment: Option<String>,
}

/// `[server]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerTable {
    /// Bind address.
    pub host: Option<String>,
    /// Client API port.
    pub port: Option<u16>,
    /// Drain window after SIGTERM, in seconds.
    pub shutdown_timeout_seconds: Option<u64>,
}

/// `[coordinator]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterTable {
    /// Worker plane port.
    pub port: Option<u16>,
    /// Coordinator-core tuning file.
    pub config_file: Option<PathBuf>,
}

/// `[metrics]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MetricsTable {
    /// Serve /metrics.
    pub enabled: Option<bool>,
    /// Bind address.
    pub host: Option<String>,
    /// Port.
    pub port: Option<u16>,
}

/// `[backend]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BackendTable {
    /// Must be `coordinator`.
    pub mode: Option<String>,
}

/// The coordinator's environment label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    /// development
    Development,
    /// staging
    Staging,
    /// production
    Production,
}

impl std::str::FromStr for Environment {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "development" => Ok(Environment::Development),
            "staging" => Ok(Environment::Staging),
            "production" => Ok(Environment::Production),
            _ => Err("expected development, staging or production".to_owned()),
        }
    }
}

/// Every setting of `zisk-coordinator`, resolved and validated.
#[derive(Clone, Debug, PartialEq)]
pub struct CoordinatorSettings {
    /// `[service].name`.
    pub service_name: String,
    /// `[service].environment`.
    pub environment: Environment,
    /// `[server].host`: bind address of the client API and the worker plane.
    pub host: String,
    /// `[server].port`: the client API.
    pub api_port: Sourced<u16>,
    /// `[coordinator].port`: the worker plane.
    pub cluster_port: u16,
    /// `[server].shutdown_timeout_seconds`: the drain window for jobs.
    pub shutdown_timeout: Duration,
    /// The core tuning (from `[coordinator].config_file`, defaults otherwise).
    pub core: CoordinatorConfig,
    /// The tuning file's `shutdown_timeout_seconds`: how long the worker plane may take to
    /// close once the drain is over.
    pub cluster_shutdown_timeout: Duration,
    /// Cycles per segment, told to workers.
    pub segment_cycles_log2: u32,
    /// The tuning file's `webhook_url`: where job summaries are posted.
    pub webhook_url: Option<WebhookUrl>,
    /// `[metrics].enabled`.
    pub metrics_enabled: bool,
    /// `[metrics].host`.
    pub metrics_host: String,
    /// `[metrics].port`.
    pub metrics_port: u16,
    /// `[logging]`.
    pub logging: LoggingSettings,
}

const fn arg(id: &'static str, flag: &'static str, env: &'static str) -> Arg {
    Arg { id, flag, env }
}

const HOST: Arg = arg("host", "host", "ZISK_COORDINATOR_HOST");
const API_PORT: Arg = arg("api_port", "api-port", "ZISK_COORDINATOR_API_PORT");
const CLUSTER_PORT: Arg = arg(
    "cluster_port",
    "cluster-port",
    "ZISK_COORDINATOR_CLUSTER_PORT",
);
const CORE_CONFIG: Arg = arg("core_config", "core-config", "ZISK_COORDINATOR_CORE_CONFIG");
const SHUTDOWN: Arg = arg(
    "shutdown_timeout_seconds",
    "shutdown-timeout-seconds",
    "ZISK_COORDINATOR_SHUTDOWN_TIMEOUT_SECONDS",
);
const METRICS_ENABLED: Arg = arg(
    "metrics_enabled",
    "metrics-enabled",
    "ZISK_COORDINATOR_METRICS_ENABLED",
);
const METRICS_HOST: Arg = arg(
    "metrics_host",
    "metrics-host",
    "ZISK_COORDINATOR_METRICS_HOST",
);
const METRICS_PORT: Arg = arg(
    "metrics_port",
    "metrics-port",
    "ZISK_COORDINATOR_METRICS_PORT",
);
const ENVIRONMENT: Arg = arg("environment", "environment", "ZISK_COORDINATOR_ENVIRONMENT");
const LOGGING: LoggingArgs = LoggingArgs {
    level: arg("log_level", "log-level", "ZISK_COORDINATOR_LOG_LEVEL"),
    format: arg("log_format", "log-format", "ZISK_COORDINATOR_LOG_FORMAT"),
    file: arg("log_file", "log-file", "ZISK_COORDINATOR_LOG_FILE"),
};

/// Parses the command line (and, through clap, the environment); clap prints help or
/// usage errors and exits.
pub fn parse_coordinator_command_line() -> ArgMatches {
    CoordinatorArgs::command().get_matches()
}

/// Resolves every setting from parsed arguments, the files they name and `RUST_LOG`.
///
/// # Errors
/// The first invalid value, unknown key or unreadable file, naming its source and key.
pub fn resolve_coordinator(
    matches: &ArgMatches,
    rust_log: Option<String>,
) -> Result<CoordinatorSettings, ConfigError> {
    let args = CoordinatorArgs::from_arg_matches(matches)
        .map_err(|error| ConfigError::invalid(Source::Default, "arguments", error.to_string()))?;
    let (file, path) = match &args.config {
        Some(path) => (read_toml::<CoordinatorFile>(path)?, Some(path.as_path())),
        None => (CoordinatorFile::default(), None),
    };

    let service_name = file
        .service
        .name
        .clone()
        .unwrap_or_else(|| "ZisK Coordinator".to_owned());
    let environment = layer::<String>(
        matches,
        ENVIRONMENT,
        "service.environment",
        in_file(file.service.environment.clone(), path),
        "development".to_owned(),
    )?;
    let environment = environment
        .value
        .parse::<Environment>()
        .map_err(|problem| {
            ConfigError::invalid(
                environment.source.clone(),
                "service.environment",
                format!("{:?}: {problem}", environment.value),
            )
        })?;

    let host = layer::<String>(
        matches,
        HOST,
        "server.host",
        in_file(file.server.host.clone(), path),
        "0.0.0.0".to_owned(),
    )?;
    check_host(&host, "server.host")?;
    let api_port = layer(
        matches,
        API_PORT,
        "server.port",
        in_file(file.server.port, path),
        7000u16,
    )?;
    in_range(&api_port, "server.port", 1..=u16::MAX)?;
    let cluster_port = layer(
        matches,
        CLUSTER_PORT,
        "coordinator.port",
        in_file(file.coordinator.port, path),
        50051u16,
    )?;
    let cluster_port = in_range(&cluster_port, "coordinator.port", 1..=u16::MAX)?;
    let shutdown = layer(
        matches,
        SHUTDOWN,
        "server.shutdown_timeout_seconds",
        in_file(file.server.shutdown_timeout_seconds, path),
        30u64,
    )?;
    let shutdown_seconds = in_range(&shutdown, "server.shutdown_timeout_seconds", 1..=86_400)?;

    let metrics_enabled = layer(
        matches,
        METRICS_ENABLED,
        "metrics.enabled",
        in_file(file.metrics.enabled, path),
        true,
    )?;
    let metrics_host = layer::<String>(
        matches,
        METRICS_HOST,
        "metrics.host",
        in_file(file.metrics.host.clone(), path),
        "0.0.0.0".to_owned(),
    )?;
    check_host(&metrics_host, "metrics.host")?;
    let metrics_port = layer(
        matches,
        METRICS_PORT,
        "metrics.port",
        in_file(file.metrics.port, path),
        9090u16,
    )?;
    let metrics_port = in_range(&metrics_port, "metrics.port", 1..=u16::MAX)?;

    if let Some(mode) = &file.backend.mode
        && mode != "coordinator"
    {
        return Err(ConfigError::invalid(
            Source::File(path.expect("a file was read").to_owned()),
            "backend.mode",
            format!("{mode:?}: zisk-coordinator runs only in mode \"coordinator\""),
        ));
    }

    let core_file = layer::<String>(
        matches,
        CORE_CONFIG,
        "coordinator.config_file",
        in_file(
            file.coordinator
                .config_file
                .as_ref()
                .map(|file| file.display().to_string()),
            path,
        ),
        String::new(),
    )?;
    let tuning = if core_file.value.is_empty() {
        CoreTuning::default()
    } else {
        let base = match (&core_file.source, path) {
            (Source::File(_), Some(config)) => config.parent().unwrap_or(Path::new(".")),
            _ => Path::new("."),
        };
        read_core_tuning(&base.join(&core_file.value))?
    };

    let logging = resolve_logging(
        matches,
        LOGGING,
        path.map(|path| (&file.logging, path)),
        rust_log,
    )?;
    for (port, key, other, other_key) in [
        (
            api_port.value,
            "server.port",
            cluster_port,
            "coordinator.port",
        ),
        (api_port.value, "server.port", metrics_port, "metrics.port"),
        (
            cluster_port,
            "coordinator.port",
            metrics_port,
            "metrics.port",
        ),
    ] {
        if port == other {
            return Err(ConfigError::invalid(
                Source::Default,
                key,
                format!("port {port} is also `{other_key}`; each server needs its own port"),
            ));
        }
    }
    Ok(CoordinatorSettings {
        service_name,
        environment,
        host: host.value,
        api_port,
        cluster_port,
        shutdown_timeout: Duration::from_secs(shutdown_seconds),
        core: tuning.config,
        cluster_shutdown_timeout: tuning.shutdown_timeout,
        segment_cycles_log2: tuning.segment_cycles_log2,
        webhook_url: tuning.webhook_url,
        metrics_enabled: metrics_enabled.value,
        metrics_host: metrics_host.value,
        metrics_port,
        logging,
    })
}

fn check_host(host: &Sourced<String>, key: &str) -> Result<(), ConfigError> {
    host.value
        .parse::<std::net::IpAddr>()
        .map(|_| ())
        .map_err(|_| {
            ConfigError::invalid(
                host.source.clone(),
                key,
                format!("{:?} is not an IP address", host.value),
            )
        })
}

impl CoordinatorSettings {
    /// The resolved settings, one `key = value` line each (with the source where it is
    /// tracked), for `--check-config`.
    pub fn describe(&self) -> String {
        let core = &self.core;
        [
            format!("service.name = {:?}", self.service_name),
            format!("service.environment = {:?}", self.environment),
            format!("server.host = {}", self.host),
            format!(
                "server.port = {} ({})",
                self.api_port.value, self.api_port.source
            ),
            format!(
                "server.shutdown_timeout_seconds = {}",
                self.shutdown_timeout.as_secs()
            ),
            format!("coordinator.port = {}", self.cluster_port),
            format!("metrics.enabled = {}", self.metrics_enabled),
            format!("metrics.host = {}", self.metrics_host),
            format!("metrics.port = {}", self.metrics_port),
            format!(
                "logging.filter = {:?} ({})",
                self.logging.filter.value, self.logging.filter.source
            ),
            format!("logging.format = {:?}", self.logging.format),
            format!("logging.file_path = {:?}", self.logging.file_path),
            format!(
                "core.shutdown_timeout_seconds = {}",
                self.cluster_shutdown_timeout.as_secs()
            ),
            format!("core.max_workers_per_job = {}", core.max_workers_per_job),
            format!("core.max_total_workers = {}", core.max_total_workers),
            format!(
                "core.phase1_timeout_seconds = {}",
                core.phase1_timeout.as_secs()
            ),
            format!(
                "core.phase2_timeout_seconds = {}",
                core.phase2_timeout.as_secs()
            ),
            format!(
                "core.reconnect_grace_period_ms = {}",
                core.reconnect_grace_period.as_millis()
            ),
            format!(
                "core.heartbeat_interval_ms = {}",
                core.heartbeat_interval.as_millis()
            ),
            format!(
                "core.heartbeat_timeout_ms = {}",
                core.heartbeat_timeout.as_millis()
            ),
            format!("core.job_ttl_seconds = {}", core.job_ttl.as_secs()),
            format!("core.segment_cycles_log2 = {}", self.segment_cycles_log2),
            match &self.webhook_url {
                Some(url) => format!("core.webhook_url = {:?}", url.to_string()),
                None => "core.webhook_url = unset".to_owned(),
            },
        ]
        .join("\n")
    }
}
