//! The embedded single-node cluster: a coordinator and workers in this process, talking
//! over loopback exactly as separate processes would.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use zisk_core::{CoordinatorConfig, WorkerConfig, WorkerId};
use zisk_net::limits::ServerLimits;
use zisk_net::worker::{WorkerHandle, WorkerOptions, spawn_worker};

use crate::config::DEFAULT_SEGMENT_CYCLES_LOG2;
use crate::coordinator::{CoordinatorParts, Listeners, RunningCoordinator, start_coordinator};
use crate::worker::EmulatorBackend;

/// A running embedded cluster.
pub struct EmbeddedCluster {
    coordinator: RunningCoordinator,
    workers: Vec<(WorkerHandle, tokio::task::JoinHandle<()>)>,
}

impl EmbeddedCluster {
    /// Starts a coordinator on loopback ports chosen by the system and `workers` workers of
    /// `compute_units` units each.
    ///
    /// # Errors
    /// A loopback port cannot be bound.
    pub async fn start(workers: u32, compute_units: u32) -> anyhow::Result<Self> {
        let listeners = Listeners {
            api: TcpListener::bind("127.0.0.1:0").await?,
            cluster: TcpListener::bind("127.0.0.1:0").await?,
            http: None,
        };
        let coordinator = start_coordinator(
            CoordinatorParts {
                core: CoordinatorConfig {
                    heartbeat_interval: Duration::from_secs(1),
                    heartbeat_timeout: Duration::from_secs(10),
                    ..CoordinatorConfig::default()
                },
                segment_cycles_log2: DEFAULT_SEGMENT_CYCLES_LOG2,
                metrics_enabled: false,
            },
            listeners,
        )?;
        let url = format!("http://{}", coordinator.cluster_address);
        let workers = (0..workers)
            .map(|index| {
                spawn_worker(WorkerOptions {
                    worker_id: WorkerId(format!("embedded-{index}")),
                    config: WorkerConfig {
                        compute_units,
                        reconnect_interval: Duration::from_millis(200),
                        ..WorkerConfig::default()
                    },
                    coordinator_url: url.clone(),
                    limits: ServerLimits::default(),
                    backend: Arc::new(EmulatorBackend::default()),
                    // Input paths need --coordinator: the CLI refuses them before starting.
                    inputs_folder: None,
                })
            })
            .collect();
        Ok(EmbeddedCluster {
            coordinator,
            workers,
        })
    }

    /// The client API's URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.coordinator.api_address)
    }

    /// Stops the workers and the coordinator.
    pub async fn stop(self) {
        for (handle, task) in self.workers {
            handle.drain().await;
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        self.coordinator.stop(Duration::from_secs(2)).await;
    }
}
