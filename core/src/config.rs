//! Tuning of the coordinator and worker cores, with limits on everything.
//!
//! The binaries build these from TOML, environment and flags; the core only validates them.

use std::time::Duration;

/// Version of the worker-plane protocol this core speaks; a worker with another version is
/// refused at registration.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest accepted worker id, in bytes.
pub const MAX_WORKER_ID_BYTES: usize = 128;

/// Coordinator-core tuning (the `[coordinator]` table of the tuning file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorConfig {
    /// Most workers one job may reserve.
    pub max_workers_per_job: u32,
    /// Most registered workers; registrations past it are refused.
    pub max_total_workers: u32,
    /// Compute units a job asks for when the client names none.
    pub default_compute_units: u32,
    /// Most compute units one job may ask for.
    pub max_compute_units_per_job: u32,
    /// Most compute units one worker may advertise.
    pub max_compute_units_per_worker: u32,
    /// Most jobs waiting for capacity; submissions past it are refused.
    pub max_queued_jobs: u32,
    /// Most registered programs.
    pub max_programs: u32,
    /// Most segments one execution may report.
    pub max_segments_per_job: u32,
    /// Failures a partition may suffer (lost worker, failed task, rejected proof) before its
    /// job fails.
    pub max_retries_per_partition: u32,
    /// Longest a job may wait in the queue for capacity.
    pub queue_timeout: Duration,
    /// Longest a program setup may run.
    pub setup_timeout: Duration,
    /// Longest phase 1 (partial contributions) may run.
    pub phase1_timeout: Duration,
    /// Longest phase 2 (prove) may run.
    pub phase2_timeout: Duration,
    /// Longest aggregation may run once every partial proof is in.
    pub aggregate_timeout: Duration,
    /// Longest an execute-only job may run.
    pub execute_timeout: Duration,
    /// How often workers are told to send heartbeats.
    pub heartbeat_interval: Duration,
    /// Silence after which a worker is considered disconnected.
    pub heartbeat_timeout: Duration,
    /// How long a disconnected worker may take to reconnect before its work is reassigned.
    pub reconnect_grace_period: Duration,
    /// How long a finished job stays queryable before it is evicted.
    pub job_ttl: Duration,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        CoordinatorConfig {
            max_workers_per_job: 20,
            max_total_workers: 5000,
            default_compute_units: 10,
            max_compute_units_per_job: 100_000,
            max_compute_units_per_worker: 1024,
            max_queued_jobs: 1024,
            max_programs: 1024,
            max_segments_per_job: 1 << 20,
            max_retries_per_partition: 3,
            queue_timeout: Duration::from_secs(3600),
            setup_timeout: Duration::from_secs(600),
            phase1_timeout: Duration::from_secs(600),
            phase2_timeout: Duration::from_secs(1200),
            aggregate_timeout: Duration::from_secs(1200),
            execute_timeout: Duration::from_secs(600),
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(30),
            reconnect_grace_period: Duration::from_millis(500),
            job_ttl: Duration::from_secs(3600),
        }
    }
}

/// A configuration value outside its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for `{key}`: {problem}")]
pub struct ConfigError {
    /// The offending key, as named in the tuning file.
    pub key: &'static str,
    /// What is wrong and what is expected.
    pub problem: String,
}

fn require(ok: bool, key: &'static str, problem: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            key,
            problem: problem.to_owned(),
        })
    }
}

impl CoordinatorConfig {
    /// Checks every value; the coordinator refuses to start on the first error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let at_least_one = "must be at least 1";
        let positive = "must be greater than zero";
        require(
            self.max_workers_per_job >= 1,
            "max_workers_per_job",
            at_least_one,
        )?;
        require(
            self.max_total_workers >= 1,
            "max_total_workers",
            at_least_one,
        )?;
        require(
            self.default_compute_units >= 1,
            "default_compute_units",
            at_least_one,
        )?;
        require(
            self.default_compute_units <= self.max_compute_units_per_job,
            "default_compute_units",
            "must not exceed max_compute_units_per_job",
        )?;
        require(
            self.max_compute_units_per_worker >= 1,
            "max_compute_units_per_worker",
            at_least_one,
        )?;
        require(self.max_queued_jobs >= 1, "max_queued_jobs", at_least_one)?;
        require(self.max_programs >= 1, "max_programs", at_least_one)?;
        require(
            self.max_segments_per_job >= 1,
            "max_segments_per_job",
            at_least_one,
        )?;
        for (key, value) in [
            ("queue_timeout_seconds", self.queue_timeout),
            ("setup_timeout_seconds", self.setup_timeout),
            ("phase1_timeout_seconds", self.phase1_timeout),
            ("phase2_timeout_seconds", self.phase2_timeout),
            ("aggregate_timeout_seconds", self.aggregate_timeout),
            ("execute_timeout_seconds", self.execute_timeout),
            ("heartbeat_interval_ms", self.heartbeat_interval),
            ("heartbeat_timeout_ms", self.heartbeat_timeout),
            ("job_ttl_seconds", self.job_ttl),
        ] {
            require(!value.is_zero(), key, positive)?;
        }
        require(
            self.heartbeat_timeout > self.heartbeat_interval,
            "heartbeat_timeout_ms",
            "must be longer than heartbeat_interval_ms",
        )?;
        Ok(())
    }
}

/// Worker-core tuning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Compute units advertised at registration.
    pub compute_units: u32,
    /// Pause between reconnection attempts.
    pub reconnect_interval: Duration,
    /// Coordinator silence after which the worker drops the connection and reconnects.
    pub heartbeat_timeout: Duration,
    /// Results kept for re-sending while disconnected; older ones are dropped first.
    pub max_buffered_results: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            compute_units: 10,
            reconnect_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(30),
            max_buffered_results: 4096,
        }
    }
}

impl WorkerConfig {
    /// Checks every value; the worker refuses to start on the first error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        require(
            self.compute_units >= 1,
            "compute_capacity.compute_units",
            "must be at least 1",
        )?;
        require(
            !self.reconnect_interval.is_zero(),
            "reconnect_interval_seconds",
            "must be greater than zero",
        )?;
        require(
            !self.heartbeat_timeout.is_zero(),
            "heartbeat_timeout_seconds",
            "must be greater than zero",
        )?;
        require(
            self.max_buffered_results >= 1,
            "max_buffered_results",
            "must be at least 1",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_configs_are_valid() {
        CoordinatorConfig::default().validate().unwrap();
        WorkerConfig::default().validate().unwrap();
    }

    #[test]
    fn zero_workers_per_job_is_rejected_naming_the_key() {
        let config = CoordinatorConfig {
            max_workers_per_job: 0,
            ..Default::default()
        };
        let error = config.validate().unwrap_err();
        assert_eq!(error.key, "max_workers_per_job");
    }

    #[test]
    fn heartbeat_timeout_not_longer_than_interval_is_rejected() {
        let config = CoordinatorConfig {
            heartbeat_timeout: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(5),
            ..Default::default()
        };
        assert_eq!(config.validate().unwrap_err().key, "heartbeat_timeout_ms");
    }

    #[test]
    fn zero_phase_timeout_is_rejected() {
        let config = CoordinatorConfig {
            phase2_timeout: Duration::ZERO,
            ..Default::default()
        };
        assert_eq!(config.validate().unwrap_err().key, "phase2_timeout_seconds");
    }

    #[test]
    fn worker_with_zero_compute_units_is_rejected() {
        let config = WorkerConfig {
            compute_units: 0,
            ..Default::default()
        };
        assert_eq!(
            config.validate().unwrap_err().key,
            "compute_capacity.compute_units"
        );
    }
}
