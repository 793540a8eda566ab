//! The coordinator process: the core task, the client API, the worker plane and the
//! metrics/health server, with the drain on SIGTERM/SIGINT.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zisk_core::{CoordinatorConfig, Epoch};
use zisk_net::coordinator::{
    ClientService, CoordinatorHandle, CoordinatorOptions, ElfCheck, JobOutcomeListener,
    WorkerPlaneService, spawn_coordinator,
};
use zisk_net::limits::ServerLimits;

use crate::challenge::ProverChallenge;
use crate::config::CoordinatorSettings;
use crate::metrics::{ClusterMetrics, http_router};
use crate::signals::{EXIT_FORCED, ShutdownSignals};
use crate::webhook::{FLUSH_AT_EXIT, Webhook, WebhookLimits};

/// The three listeners of a coordinator.
pub struct Listeners {
    /// Client API.
    pub api: TcpListener,
    /// Worker plane.
    pub cluster: TcpListener,
    /// `/metrics` and `/health`; none in embedded mode.
    pub http: Option<TcpListener>,
}

/// Binds `host:port`, naming the server in the error.
///
/// # Errors
/// The address is in use or not available.
pub async fn bind(what: &str, host: &str, port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind((host, port))
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen for the {what} on {host}:{port}: {error}"))
}

/// A coordinator whose servers run as tasks.
pub struct RunningCoordinator {
    /// The core task's handle.
    pub handle: CoordinatorHandle,
    /// Where the client API listens.
    pub api_address: SocketAddr,
    /// Where the worker plane listens.
    pub cluster_address: SocketAddr,
    /// Where `/metrics` and `/health` listen.
    pub http_address: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
}

/// What a coordinator needs besides its listeners.
pub struct CoordinatorParts {
    /// Core tuning.
    pub core: CoordinatorConfig,
    /// Cycles per segment: `2^segment_cycles_log2`.
    pub segment_cycles_log2: u32,
    /// Whether `/metrics` is served.
    pub metrics_enabled: bool,
}

fn elf_check() -> ElfCheck {
    Arc::new(|elf: &[u8]| {
        zisk_prover::Program::from_elf(elf)
            .map(|_| ())
            .map_err(|error| error.to_string())
    })
}

fn epoch_now() -> Epoch {
    // Every incarnation takes a larger epoch than the last: wall-clock milliseconds.
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |elapsed| elapsed.as_millis() as u64);
    Epoch(millis.max(1))
}

/// Starts the core task and the servers on `listeners`.
///
/// # Errors
/// A listener's address cannot be read.
pub fn start_coordinator(
    parts: CoordinatorParts,
    listeners: Listeners,
) -> anyhow::Result<RunningCoordinator> {
    start_coordinator_with_webhook(parts, listeners, None)
}

/// [`start_coordinator`] that hands a summary of every job that ends to `webhook`.
///
/// # Errors
/// A listener's address cannot be read.
pub fn start_coordinator_with_webhook(
    parts: CoordinatorParts,
    listeners: Listeners,
    webhook: Option<Webhook>,
) -> anyhow::Result<RunningCoordinator> {
    let metrics = Arc::new(ClusterMetrics::new());
    if let Some(webhook) = &webhook {
        webhook.register(metrics.registry())?;
    }
    let epoch = epoch_now();
    let (handle, _core) = spawn_coordinator(CoordinatorOptions {
        config: parts.core,
        epoch,
        seed: epoch.0 ^ u64::from(std::process::id()),
        challenger: Box::new(ProverChallenge),
        segment_cycles: 1u64 << parts.segment_cycles_log2,
        metrics: metrics.clone(),
        outcomes: webhook.map(|webhook| Box::new(webhook) as Box<dyn JobOutcomeListener>),
    });
    let limits = ServerLimits::default();
    let (shutdown, _) = watch::channel(false);
    let stopped = |shutdown: &watch::Sender<bool>| {
        let mut receiver = shutdown.subscribe();
        async move {
            let _ = receiver.wait_for(|stop| *stop).await;
        }
    };
    let api_address = listeners.api.local_addr()?;
    let cluster_address = listeners.cluster.local_addr()?;
    let http_address = listeners
        .http
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let mut servers = Vec::new();
    let client = ClientService::new(handle.clone(), metrics.clone(), Some(elf_check()));
    let (api_limits, api_stop) = (limits.clone(), stopped(&shutdown));
    servers.push(tokio::spawn(async move {
        if let Err(error) =
            zisk_net::server::serve_client_api(listeners.api, client, &api_limits, api_stop).await
        {
            tracing::error!(%error, "client API server failed");
        }
    }));
    let plane = WorkerPlaneService::new(handle.clone());
    let (plane_limits, plane_stop) = (limits, stopped(&shutdown));
    servers.push(tokio::spawn(async move {
        if let Err(error) = zisk_net::server::serve_worker_plane(
            listeners.cluster,
            plane,
            &plane_limits,
            plane_stop,
        )
        .await
        {
            tracing::error!(%error, "worker plane server failed");
        }
    }));
    if let Some(http) = listeners.http {
        let router = http_router(metrics, handle.clone(), parts.metrics_enabled);
        let http_stop = stopped(&shutdown);
        servers.push(tokio::spawn(async move {
            if let Err(error) = axum::serve(http, router)
                .with_graceful_shutdown(http_stop)
                .await
            {
                tracing::error!(%error, "metrics server failed");
            }
        }));
    }
    tracing::info!(epoch = epoch.0, %api_address, %cluster_address, ?http_address, "coordinator listening");
    Ok(RunningCoordinator {
        handle,
        api_address,
        cluster_address,
        http_address,
        shutdown,
        servers,
    })
}

impl RunningCoordinator {
    /// Stops the servers: worker streams are closed, then every server finishes its
    /// requests, for at most `timeout`.
    pub async fn stop(self, timeout: Duration) {
        let _ = self.handle.close_worker_streams().await;
        let _ = self.shutdown.send(true);
        let all = futures_join(self.servers);
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!(
                seconds = timeout.as_secs(),
                "servers did not stop in time; exiting anyway"
            );
        }
    }
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}

/// How long the API keeps answering after a drain completed, so that clients following a job
/// can read its final state.
pub const DRAIN_LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs the coordinator process until it has drained after a signal.
///
/// # Errors
/// A port cannot be bound or the signal handlers cannot be installed.
pub async fn run_coordinator(settings: CoordinatorSettings) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    let listeners = Listeners {
        api: bind("client API", &settings.host, settings.api_port.value).await?,
        cluster: bind("worker plane", &settings.host, settings.cluster_port).await?,
        http: Some(
            bind(
                "metrics server",
                &settings.metrics_host,
                settings.metrics_port,
            )
            .await?,
        ),
    };
    tracing::info!(
        service = %settings.service_name,
        environment = ?settings.environment,
        "zisk-coordinator starting"
    );
    let webhook = settings.webhook_url.clone().map(|url| {
        tracing::info!(%url, "job summaries go to the webhook");
        Webhook::start(url, WebhookLimits::default())
    });
    let running = start_coordinator_with_webhook(
        CoordinatorParts {
            core: settings.core.clone(),
            segment_cycles_log2: settings.segment_cycles_log2,
            metrics_enabled: settings.metrics_enabled,
        },
        listeners,
        webhook.clone(),
    )?;
    let signal = signals.next().await;
    tracing::info!(
        signal,
        window_seconds = settings.shutdown_timeout.as_secs(),
        "draining: no new jobs; unfinished jobs fail at the end of the window (a second signal exits at once)"
    );
    tokio::select! {
        result = running.handle.drain(settings.shutdown_timeout) => {
            if let Err(status) = result {
                tracing::error!(%status, "drain did not complete");
            }
        }
        signal = signals.next() => {
            tracing::warn!(signal, "second signal: exiting at once");
            std::process::exit(EXIT_FORCED);
        }
    }
    // Clients following a job learn its outcome from a last GetJob after the watch stream
    // ends: keep answering for a moment before the listeners close.
    tracing::info!(
        linger_ms = DRAIN_LINGER.as_millis() as u64,
        "drain complete; answering final status queries before stopping"
    );
    tokio::select! {
        () = tokio::time::sleep(DRAIN_LINGER) => {}
        signal = signals.next() => {
            tracing::warn!(signal, "second signal: exiting at once");
            std::process::exit(EXIT_FORCED);
        }
    }
    tracing::info!("stopping the servers");
    running.stop(settings.cluster_shutdown_timeout).await;
    if let Some(webhook) = &webhook
        && !webhook.flush(FLUSH_AT_EXIT).await
    {
        tracing::warn!(
            pending = webhook.stats().pending,
            "job summaries not posted before exit"
        );
    }
    tracing::info!("zisk-coordinator stopped");
    Ok(())
}
