//! Prometheus metrics of the coordinator and the HTTP server for `/metrics` and `/health`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use zisk_core::MetricEvent;
use zisk_net::coordinator::CoordinatorHandle;
use zisk_net::metrics::{CoordinatorMetrics, Gauges};

/// Histogram buckets in seconds for jobs and phases lasting from about a second to hours.
pub const DURATION_BUCKETS_SECONDS: [f64; 14] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0,
];

/// Every metric the coordinator exports.
pub struct ClusterMetrics {
    registry: Registry,
    requests: IntCounterVec,
    jobs_finished: IntCounterVec,
    job_duration: HistogramVec,
    phase_duration: HistogramVec,
    reassignments: IntCounter,
    stale_results: IntCounter,
    duplicate_results: IntCounter,
    heartbeats_missed: IntCounter,
    faulty_workers: IntCounter,
    registrations_refused: IntCounter,
    proofs_rejected: IntCounter,
    active_jobs: IntGauge,
    queue_depth: IntGauge,
    workers_connected: IntGauge,
    workers_by_state: IntGaugeVec,
    programs: IntGauge,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric");
    metric
}

fn plain_counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let metric = IntCounter::new(name, help).expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric");
    metric
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let metric = IntGauge::new(name, help).expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric");
    metric
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let options = HistogramOpts::new(name, help).buckets(DURATION_BUCKETS_SECONDS.to_vec());
    let metric = HistogramVec::new(options, labels).expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric");
    metric
}

impl Default for ClusterMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ClusterMetrics {
    /// The registry `/metrics` serves (other parts of the process add their metrics to it).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let workers_by_state = IntGaugeVec::new(
            Opts::new("zisk_workers", "Registered workers by state"),
            &["state"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(workers_by_state.clone()))
            .expect("unique metric");
        ClusterMetrics {
            requests: counter(
                &registry,
                "zisk_api_requests_total",
                "Client API requests by method and gRPC status",
                &["method", "status"],
            ),
            jobs_finished: counter(
                &registry,
                "zisk_jobs_total",
                "Finished jobs by kind and outcome",
                &["kind", "outcome"],
            ),
            job_duration: histogram(
                &registry,
                "zisk_job_duration_seconds",
                "Time from admission to the end of a job",
                &["kind", "outcome"],
            ),
            phase_duration: histogram(
                &registry,
                "zisk_phase_duration_seconds",
                "Duration of each job phase",
                &["phase"],
            ),
            reassignments: plain_counter(
                &registry,
                "zisk_partitions_reassigned_total",
                "Partitions moved to another worker",
            ),
            stale_results: plain_counter(
                &registry,
                "zisk_stale_results_rejected_total",
                "Results rejected for a stale fence",
            ),
            duplicate_results: plain_counter(
                &registry,
                "zisk_duplicate_results_ignored_total",
                "Duplicate results ignored",
            ),
            heartbeats_missed: plain_counter(
                &registry,
                "zisk_heartbeats_missed_total",
                "Workers silent past the heartbeat timeout",
            ),
            faulty_workers: plain_counter(
                &registry,
                "zisk_faulty_workers_total",
                "Workers removed for inconsistent results",
            ),
            registrations_refused: plain_counter(
                &registry,
                "zisk_registrations_refused_total",
                "Worker registrations refused",
            ),
            proofs_rejected: plain_counter(
                &registry,
                "zisk_proofs_rejected_total",
                "Partial proofs rejected by an aggregator",
            ),
            active_jobs: gauge(&registry, "zisk_active_jobs", "Jobs running now"),
            queue_depth: gauge(&registry, "zisk_queue_depth", "Jobs waiting for capacity"),
            workers_connected: gauge(
                &registry,
                "zisk_workers_connected",
                "Workers with a live stream",
            ),
            programs: gauge(&registry, "zisk_programs_registered", "Registered programs"),
            workers_by_state,
            registry,
        }
    }

    /// Sets the gauges from a snapshot.
    pub fn set_gauges(&self, gauges: &Gauges) {
        self.active_jobs.set(gauges.active_jobs as i64);
        self.queue_depth.set(gauges.queue_depth as i64);
        self.workers_connected.set(gauges.workers_connected as i64);
        self.programs.set(gauges.programs as i64);
        for (state, count) in &gauges.workers_by_state {
            self.workers_by_state
                .with_label_values(&[state])
                .set(*count as i64);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

impl CoordinatorMetrics for ClusterMetrics {
    fn request(&self, method: &'static str, code: tonic::Code) {
        self.requests
            .with_label_values(&[method, &format!("{code:?}")])
            .inc();
    }

    fn event(&self, event: &MetricEvent) {
        match event {
            MetricEvent::StaleResultRejected => self.stale_results.inc(),
            MetricEvent::DuplicateResultIgnored => self.duplicate_results.inc(),
            MetricEvent::StaleConnectionMessage | MetricEvent::JobEvicted => {}
            MetricEvent::HeartbeatMissed { .. } => self.heartbeats_missed.inc(),
            MetricEvent::PartitionsReassigned { count, .. } => {
                self.reassignments.inc_by(u64::from(*count));
            }
            MetricEvent::WorkerFaulty { .. } => self.faulty_workers.inc(),
            MetricEvent::RegistrationRefused => self.registrations_refused.inc(),
            MetricEvent::PhaseCompleted { phase, duration } => {
                self.phase_duration
                    .with_label_values(&[phase.name()])
                    .observe(duration.as_secs_f64());
            }
            MetricEvent::JobFinished {
                kind,
                outcome,
                duration,
            } => {
                self.jobs_finished
                    .with_label_values(&[kind.name(), outcome])
                    .inc();
                self.job_duration
                    .with_label_values(&[kind.name(), outcome])
                    .observe(duration.as_secs_f64());
            }
            MetricEvent::ProofRejected { .. } => self.proofs_rejected.inc(),
        }
    }
}

#[derive(Clone)]
struct HttpState {
    metrics: Arc<ClusterMetrics>,
    coordinator: CoordinatorHandle,
    metrics_enabled: bool,
}

async fn health() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    if !state.metrics_enabled {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            "metrics are disabled ([metrics].enabled = false)\n".to_owned(),
        );
    }
    // Gauges are read from the core at scrape time; a stalled core must not stall scrapes.
    if let Ok(Ok(gauges)) =
        tokio::time::timeout(Duration::from_secs(2), state.coordinator.gauges()).await
    {
        state.metrics.set_gauges(&gauges);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// The HTTP router: `GET /health` always, `GET /metrics` when enabled.
pub fn http_router(
    metrics: Arc<ClusterMetrics>,
    coordinator: CoordinatorHandle,
    metrics_enabled: bool,
) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(self::metrics))
        .with_state(HttpState {
            metrics,
            coordinator,
            metrics_enabled,
        })
}
