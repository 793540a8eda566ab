//! The coordinator-core tuning file: its own `[coordinator]` table with every knob of
//! [`CoordinatorConfig`], in the units its key names.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use zisk_core::CoordinatorConfig;

use super::source::{ConfigError, Source, read_toml};
use crate::webhook::WebhookUrl;

/// The tuning file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CoreTuningFile {
    /// `[coordinator]`.
    pub coordinator: CoreTuningTable,
}

/// `[coordinator]` of the tuning file; every key is optional.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CoreTuningTable {
    pub shutdown_timeout_seconds: Option<u64>,
    pub max_workers_per_job: Option<u32>,
    pub max_total_workers: Option<u32>,
    pub default_compute_units: Option<u32>,
    pub max_compute_units_per_job: Option<u32>,
    pub max_compute_units_per_worker: Option<u32>,
    pub max_queued_jobs: Option<u32>,
    pub max_programs: Option<u32>,
    pub max_segments_per_job: Option<u32>,
    pub max_retries_per_partition: Option<u32>,
    pub queue_timeout_seconds: Option<u64>,
    pub setup_timeout_seconds: Option<u64>,
    pub phase1_timeout_seconds: Option<u64>,
    pub phase2_timeout_seconds: Option<u64>,
    pub aggregate_timeout_seconds: Option<u64>,
    pub execute_timeout_seconds: Option<u64>,
    pub heartbeat_interval_ms: Option<u64>,
    pub heartbeat_timeout_ms: Option<u64>,
    pub reconnect_grace_period_ms: Option<u64>,
    pub job_ttl_seconds: Option<u64>,
    pub segment_cycles_log2: Option<u32>,
    pub webhook_url: Option<String>,
}

/// The resolved tuning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreTuning {
    /// The core's configuration (validated).
    pub config: CoordinatorConfig,
    /// Cluster-plane shutdown window.
    pub shutdown_timeout: Duration,
    /// Cycles per segment: `2^segment_cycles_log2`.
    pub segment_cycles_log2: u32,
    /// Where job summaries are posted; none to post nothing.
    pub webhook_url: Option<WebhookUrl>,
}

/// Default cycles per segment (the prover's default, 2^20).
pub const DEFAULT_SEGMENT_CYCLES_LOG2: u32 = zisk_prover::DEFAULT_SEGMENT_CYCLES_LOG2;

impl Default for CoreTuning {
    fn default() -> Self {
        CoreTuning {
            config: CoordinatorConfig::default(),
            shutdown_timeout: Duration::from_secs(30),
            segment_cycles_log2: DEFAULT_SEGMENT_CYCLES_LOG2,
            webhook_url: None,
        }
    }
}

/// Applies a tuning table over the defaults and validates the result.
///
/// # Errors
/// An out-of-range value or an unsupported key, naming `source`.
pub fn apply_core_tuning(
    table: &CoreTuningTable,
    source: &Source,
) -> Result<CoreTuning, ConfigError> {
    let mut tuning = CoreTuning::default();
    let config = &mut tuning.config;
    macro_rules! set {
        ($key:ident) => {
            if let Some(value) = table.$key {
                config.$key = value;
            }
        };
        ($key:ident => $field:ident, $unit:expr) => {
            if let Some(value) = table.$key {
                config.$field = $unit(value);
            }
        };
    }
    set!(max_workers_per_job);
    set!(max_total_workers);
    set!(default_compute_units);
    set!(max_compute_units_per_job);
    set!(max_compute_units_per_worker);
    set!(max_queued_jobs);
    set!(max_programs);
    set!(max_segments_per_job);
    set!(max_retries_per_partition);
    set!(queue_timeout_seconds => queue_timeout, Duration::from_secs);
    set!(setup_timeout_seconds => setup_timeout, Duration::from_secs);
    set!(phase1_timeout_seconds => phase1_timeout, Duration::from_secs);
    set!(phase2_timeout_seconds => phase2_timeout, Duration::from_secs);
    set!(aggregate_timeout_seconds => aggregate_timeout, Duration::from_secs);
    set!(execute_timeout_seconds => execute_timeout, Duration::from_secs);
    set!(heartbeat_interval_ms => heartbeat_interval, Duration::from_millis);
    set!(heartbeat_timeout_ms => heartbeat_timeout, Duration::from_millis);
    set!(reconnect_grace_period_ms => reconnect_grace_period, Duration::from_millis);
    set!(job_ttl_seconds => job_ttl, Duration::from_secs);
    config.validate().map_err(|error| {
        ConfigError::invalid(
            source.clone(),
            &format!("coordinator.{}", error.key),
            error.problem,
        )
    })?;
    if let Some(seconds) = table.shutdown_timeout_seconds {
        if !(1..=86_400).contains(&seconds) {
            return Err(ConfigError::invalid(
                source.clone(),
                "coordinator.shutdown_timeout_seconds",
                format!("{seconds} is out of range; expected 1..=86400"),
            ));
        }
        tuning.shutdown_timeout = Duration::from_secs(seconds);
    }
    if let Some(log2) = table.segment_cycles_log2 {
        let range = zisk_prover::MIN_SEGMENT_CYCLES_LOG2..=zisk_prover::MAX_SEGMENT_CYCLES_LOG2;
        if !range.contains(&log2) {
            return Err(ConfigError::invalid(
                source.clone(),
                "coordinator.segment_cycles_log2",
                format!(
                    "{log2} is out of range; expected {}..={}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        tuning.segment_cycles_log2 = log2;
    }
    if let Some(url) = &table.webhook_url {
        let url = WebhookUrl::parse(url).map_err(|problem| {
            ConfigError::invalid(source.clone(), "coordinator.webhook_url", problem)
        })?;
        tuning.webhook_url = Some(url);
    }
    Ok(tuning)
}

/// Reads the tuning file at `path`.
///
/// # Errors
/// The file is unreadable, has an unknown key or a wrong type, or a value is out of range.
pub fn read_core_tuning(path: &Path) -> Result<CoreTuning, ConfigError> {
    let file: CoreTuningFile = read_toml(path)?;
    apply_core_tuning(&file.coordinator, &Source::File(path.to_owned()))
}
