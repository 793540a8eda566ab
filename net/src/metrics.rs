//! What the coordinator adapter reports for `/metrics`. The binaries implement
//! [`CoordinatorMetrics`] with Prometheus; the adapter stays free of any metrics library.

use std::collections::BTreeMap;

use zisk_core::MetricEvent;

/// Receives the adapter's counters as they happen. Gauges are read on demand with
/// [`crate::coordinator::CoordinatorHandle::gauges`].
pub trait CoordinatorMetrics: Send + Sync + 'static {
    /// A client-API request finished with this status code.
    fn request(&self, method: &'static str, code: tonic::Code);
    /// The core counted something.
    fn event(&self, event: &MetricEvent);
}

/// Metrics that go nowhere (tests, simulations).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMetrics;

impl CoordinatorMetrics for NoMetrics {
    fn request(&self, _method: &'static str, _code: tonic::Code) {}
    fn event(&self, _event: &MetricEvent) {}
}

/// A snapshot of the coordinator's gauges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Jobs running now.
    pub active_jobs: u64,
    /// Jobs waiting for capacity.
    pub queue_depth: u64,
    /// Workers with a live stream.
    pub workers_connected: u64,
    /// Registered workers by state name (`ready`, `computing`, ...).
    pub workers_by_state: BTreeMap<&'static str, u64>,
    /// Registered programs.
    pub programs: u64,
    /// Streams open but not registered yet.
    pub connecting: u64,
}
