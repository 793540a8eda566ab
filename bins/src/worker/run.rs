//! The worker process: start the adapter with the emulator backend, drain on the first
//! signal, exit at once on the second.

use std::sync::Arc;

use zisk_core::WorkerId;
use zisk_net::limits::ServerLimits;
use zisk_net::worker::{WorkerOptions, spawn_worker};

use super::emulator::EmulatorBackend;
use crate::config::WorkerSettings;
use crate::signals::{EXIT_FORCED, ShutdownSignals};

/// Runs a worker until it has drained after a signal.
///
/// # Errors
/// The signal handlers cannot be installed, or the worker task failed.
pub async fn run_worker(settings: WorkerSettings) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    std::fs::create_dir_all(&settings.inputs_folder).map_err(|error| {
        anyhow::anyhow!(
            "cannot use inputs folder {}: {error}",
            settings.inputs_folder.display()
        )
    })?;
    tracing::info!(
        worker_id = %settings.worker_id,
        compute_units = settings.core.compute_units,
        coordinator = %settings.coordinator_url,
        backend = "emulator",
        "zisk-worker starting"
    );
    let (handle, mut task) = spawn_worker(WorkerOptions {
        worker_id: WorkerId(settings.worker_id.clone()),
        config: settings.core.clone(),
        coordinator_url: settings.coordinator_url.clone(),
        limits: ServerLimits::default(),
        backend: Arc::new(EmulatorBackend::new(settings.prover)),
        inputs_folder: Some(settings.inputs_folder.clone()),
    });
    tokio::select! {
        result = &mut task => {
            result?;
            return Ok(());
        }
        signal = signals.next() => {
            tracing::info!(signal, "shutting down: finishing the work in hand (a second signal exits at once)");
        }
    }
    handle.drain().await;
    tokio::select! {
        result = task => result?,
        signal = signals.next() => {
            tracing::warn!(signal, "second signal: exiting at once");
            std::process::exit(EXIT_FORCED);
        }
    }
    tracing::info!("zisk-worker stopped");
    Ok(())
}
