//! The simulated cluster: nodes, their addresses, and the fault controls.
//!
//! # Node and address plan
//!
//! Addresses are madsim's simulated ones (nothing leaves the process); they come from the
//! documentation range 192.0.2.0/24 so that they can never be mistaken for real hosts.
//!
//! | node | name | address | listens |
//! |---|---|---|---|
//! | coordinator | `coordinator` | 192.0.2.1 | client API :7000, worker plane :50051 |
//! | worker *i* (0-based) | `worker-i` | 192.0.2.(10 + i) | — (dials the coordinator) |
//! | client *i* (0-based) | `client-i` | 192.0.2.(200 + i) | — (dials the client API) |
//! | zombie workers | `zombie` | 192.0.2.250 | — (dials the worker plane under a live worker's id) |
//!
//! Worker *i* registers as worker id `worker-i`. A restarted worker is a fresh process with
//! the same id (it registers anew); its [`Hardware`] (speed factor, corrupt GPU) belongs to the
//! machine and survives. A restarted coordinator is a fresh process with the next epoch
//! (incarnation 1, 2, ...) and no state: programs, setups and jobs are gone.
//!
//! # Controls
//!
//! [`Cluster::kill_worker`] / [`Cluster::restart_worker`] (SIGKILL, start again),
//! [`Cluster::kill_coordinator`] / [`Cluster::restart_coordinator`], [`Cluster::pause_worker`]
//! / [`Cluster::resume_worker`] (a stalled process), [`Cluster::partition`] (clog the links
//! between a worker and the coordinator, one way or both) / [`Cluster::unpartition`],
//! [`Cluster::heal`] (everything back: links, stalls, dead nodes) and [`Cluster::wait_until`].

use std::collections::BTreeSet;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use madsim::net::NetSim;
use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId;
use zisk_core::{CoordinatorConfig, Epoch, MetricEvent, WorkerConfig, WorkerId};
use zisk_net::coordinator::{
    ClientService, CoordinatorOptions, WorkerPlaneService, spawn_observed_coordinator,
};
use zisk_net::limits::ServerLimits;
use zisk_net::metrics::CoordinatorMetrics;
use zisk_net::worker::{WorkerOptions, spawn_worker};

use crate::model::{CostModel, Hardware, ModelBackend, ModelChallenge};
use crate::observer::InvariantObserver;
use crate::schedule::{Direction, Forge, WorkerSpec};
use crate::state::{Shared, SimState, StateProbe};

/// The coordinator's simulated address.
pub const COORDINATOR_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The client API's port.
pub const CLIENT_API_PORT: u16 = 7000;
/// The worker plane's port.
pub const WORKER_PLANE_PORT: u16 = 50051;

/// The zombie workers' simulated address.
pub const ZOMBIE_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 250);

/// Worker `index`'s simulated address.
pub fn worker_ip(index: usize) -> Ipv4Addr {
    assert!(index < 150, "the address plan has room for 150 workers");
    Ipv4Addr::new(192, 0, 2, 10 + index as u8)
}

/// Client `index`'s simulated address.
pub fn client_ip(index: usize) -> Ipv4Addr {
    assert!(index < 50, "the address plan has room for 50 clients");
    Ipv4Addr::new(192, 0, 2, 200 + index as u8)
}

/// The client API's URL.
pub fn client_api_url() -> String {
    format!("http://{COORDINATOR_IP}:{CLIENT_API_PORT}")
}

/// The worker plane's URL.
pub fn worker_plane_url() -> String {
    format!("http://{COORDINATOR_IP}:{WORKER_PLANE_PORT}")
}

/// Worker `index`'s id.
pub fn worker_id(index: usize) -> WorkerId {
    WorkerId::from(format!("worker-{index}").as_str())
}

/// The coordinator tuning simulations use: short timers so that a few simulated minutes
/// exercise every one of them.
pub fn coordinator_config() -> CoordinatorConfig {
    CoordinatorConfig {
        max_workers_per_job: 3,
        default_compute_units: 2,
        max_compute_units_per_job: 64,
        max_queued_jobs: 24,
        max_retries_per_partition: 3,
        queue_timeout: Duration::from_secs(120),
        setup_timeout: Duration::from_secs(30),
        phase1_timeout: Duration::from_secs(90),
        phase2_timeout: Duration::from_secs(90),
        aggregate_timeout: Duration::from_secs(60),
        execute_timeout: Duration::from_secs(60),
        heartbeat_interval: Duration::from_secs(1),
        heartbeat_timeout: Duration::from_secs(4),
        reconnect_grace_period: Duration::from_secs(3),
        job_ttl: Duration::from_secs(4 * 3600),
        ..CoordinatorConfig::default()
    }
}

/// The worker tuning simulations use.
pub fn worker_config(compute_units: u32) -> WorkerConfig {
    WorkerConfig {
        compute_units,
        reconnect_interval: Duration::from_millis(1500),
        heartbeat_timeout: Duration::from_secs(4),
        ..WorkerConfig::default()
    }
}

/// Counters of the simulated coordinator go to the event log.
struct LogMetrics(Shared);

impl CoordinatorMetrics for LogMetrics {
    fn request(&self, _method: &'static str, _code: tonic::Code) {}

    fn event(&self, event: &MetricEvent) {
        let name = format!("{event:?}");
        let name = name
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_owned();
        let line = match event {
            MetricEvent::PhaseCompleted { phase, .. } => format!("metric PhaseCompleted {phase:?}"),
            MetricEvent::JobFinished { kind, outcome, .. } => {
                format!("metric JobFinished {kind:?} {outcome}")
            }
            other => format!("metric {other:?}"),
        };
        let mut state = SimState::lock(&self.0);
        *state.tally.metrics.entry(name).or_default() += 1;
        state.log(line);
    }
}

struct WorkerNode {
    id: WorkerId,
    spec: WorkerSpec,
    node: NodeHandle,
    hardware: Arc<Hardware>,
    alive: bool,
    paused: bool,
}

/// The running simulated cluster (see the module docs for the plan).
pub struct Cluster {
    handle: Handle,
    shared: Shared,
    coordinator: NodeHandle,
    coordinator_alive: bool,
    incarnations: Arc<AtomicU64>,
    workers: Vec<WorkerNode>,
    clients: Vec<NodeHandle>,
    zombie: NodeHandle,
    partitions: BTreeSet<usize>,
    cost: CostModel,
}

impl Cluster {
    /// Starts a coordinator, `workers` and `clients` client nodes. The coordinator's job-id
    /// generator is seeded from `seed`; with `reuse_job_ids` every incarnation draws the same
    /// ids.
    pub fn start(
        shared: Shared,
        seed: u64,
        reuse_job_ids: bool,
        workers: &[WorkerSpec],
        clients: usize,
    ) -> Cluster {
        let handle = Handle::current();
        let incarnations = Arc::new(AtomicU64::new(0));
        let coordinator = {
            let shared = shared.clone();
            let incarnations = incarnations.clone();
            handle
                .create_node()
                .name("coordinator")
                .ip(IpAddr::V4(COORDINATOR_IP))
                .init(move || {
                    let incarnation = incarnations.fetch_add(1, Ordering::Relaxed) + 1;
                    let seed = if reuse_job_ids {
                        seed
                    } else {
                        seed ^ incarnation.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    };
                    run_coordinator(shared.clone(), Epoch(incarnation), seed)
                })
                .build()
        };
        let zombie = handle
            .create_node()
            .name("zombie")
            .ip(IpAddr::V4(ZOMBIE_IP))
            .build();
        let mut cluster = Cluster {
            zombie,
            handle,
            shared,
            coordinator,
            coordinator_alive: true,
            incarnations,
            workers: Vec::new(),
            clients: Vec::new(),
            partitions: BTreeSet::new(),
            cost: CostModel::default(),
        };
        for spec in workers {
            cluster.add_worker(*spec);
        }
        for index in 0..clients {
            let node = cluster
                .handle
                .create_node()
                .name(format!("client-{index}"))
                .ip(IpAddr::V4(client_ip(index)))
                .build();
            cluster.clients.push(node);
        }
        cluster
    }

    fn log(&self, line: String) {
        SimState::lock(&self.shared).log(line);
    }

    /// A new worker machine joins; returns its index.
    pub fn add_worker(&mut self, spec: WorkerSpec) -> usize {
        let index = self.workers.len();
        let id = worker_id(index);
        let hardware = Arc::new(Hardware::default());
        hardware.set_speed_milli(spec.speed_milli);
        let node = {
            let (id, hardware, shared, cost) =
                (id.clone(), hardware.clone(), self.shared.clone(), self.cost);
            self.handle
                .create_node()
                .name(format!("worker-{index}"))
                .ip(IpAddr::V4(worker_ip(index)))
                .init(move || {
                    let (id, hardware, shared) = (id.clone(), hardware.clone(), shared.clone());
                    // Runs on the worker's node: everything it spawns belongs to that node.
                    async move {
                        let backend = Arc::new(ModelBackend::new(
                            id.clone(),
                            hardware,
                            cost,
                            Arc::new(StateProbe(shared)),
                        ));
                        let (_handle, task) = spawn_worker(WorkerOptions {
                            worker_id: id,
                            config: worker_config(spec.compute_units),
                            coordinator_url: worker_plane_url(),
                            limits: ServerLimits::default(),
                            backend,
                            inputs_folder: None,
                        });
                        let _ = task.await;
                    }
                })
                .build()
        };
        self.log(format!(
            "join {id} units={} speed={}",
            spec.compute_units, spec.speed_milli
        ));
        self.workers.push(WorkerNode {
            id,
            spec,
            node,
            hardware,
            alive: true,
            paused: false,
        });
        index
    }

    /// Workers in the cluster (joined ones included).
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// Worker `index`'s machine.
    pub fn hardware(&self, index: usize) -> &Hardware {
        &self.workers[index].hardware
    }

    /// Client `index`'s node (to spawn client tasks on).
    pub fn client(&self, index: usize) -> &NodeHandle {
        &self.clients[index % self.clients.len()]
    }

    /// Coordinator incarnations started so far (the current epoch).
    pub fn incarnations(&self) -> u64 {
        self.incarnations.load(Ordering::Relaxed)
    }

    /// Whether the coordinator process is up.
    pub fn coordinator_alive(&self) -> bool {
        self.coordinator_alive
    }

    /// SIGKILL worker `index` (nothing if it is already down).
    pub fn kill_worker(&mut self, index: usize) {
        let worker = &mut self.workers[index];
        if !worker.alive {
            return;
        }
        worker.alive = false;
        worker.paused = false;
        let (id, node) = (worker.id.clone(), worker.node.id());
        self.handle.kill(node);
        let mut state = SimState::lock(&self.shared);
        state.worker_died(&id);
        state.log(format!("kill {id}"));
    }

    /// Starts worker `index` again if it is down (a fresh process, same id).
    pub fn restart_worker(&mut self, index: usize) {
        let worker = &mut self.workers[index];
        if worker.alive {
            return;
        }
        worker.alive = true;
        let (id, node) = (worker.id.clone(), worker.node.id());
        self.handle.restart(node);
        self.log(format!("restart {id}"));
    }

    /// SIGKILL the coordinator.
    pub fn kill_coordinator(&mut self) {
        if !self.coordinator_alive {
            return;
        }
        self.coordinator_alive = false;
        self.handle.kill(self.coordinator.id());
        self.log("kill coordinator".to_owned());
    }

    /// Starts the coordinator again (next epoch, no state) if it is down.
    pub fn restart_coordinator(&mut self) {
        if self.coordinator_alive {
            return;
        }
        self.coordinator_alive = true;
        self.handle.restart(self.coordinator.id());
        self.log("restart coordinator".to_owned());
    }

    /// Stalls worker `index`: its process stops being scheduled.
    pub fn pause_worker(&mut self, index: usize) {
        let worker = &mut self.workers[index];
        if !worker.alive || worker.paused {
            return;
        }
        worker.paused = true;
        let (id, node) = (worker.id.clone(), worker.node.id());
        self.handle.pause(node);
        self.log(format!("pause {id}"));
    }

    /// Lets a stalled worker run again.
    pub fn resume_worker(&mut self, index: usize) {
        let worker = &mut self.workers[index];
        if !worker.paused {
            return;
        }
        worker.paused = false;
        let (id, node) = (worker.id.clone(), worker.node.id());
        self.handle.resume(node);
        self.log(format!("resume {id}"));
    }

    fn links(&self, index: usize) -> (NodeId, NodeId) {
        (self.workers[index].node.id(), self.coordinator.id())
    }

    /// Cuts worker `index`'s links to the coordinator in `direction` (messages wait until the
    /// link is restored, as TCP retransmits; new connections are refused).
    pub fn partition(&mut self, index: usize, direction: Direction) {
        let (worker, coordinator) = self.links(index);
        let net = NetSim::current();
        if matches!(direction, Direction::WorkerToCoordinator | Direction::Both) {
            net.clog_link(worker, coordinator);
        }
        if matches!(direction, Direction::CoordinatorToWorker | Direction::Both) {
            net.clog_link(coordinator, worker);
        }
        self.partitions.insert(index);
        self.log(format!(
            "partition {} {direction:?}",
            self.workers[index].id
        ));
    }

    /// Restores worker `index`'s links to the coordinator.
    pub fn unpartition(&mut self, index: usize) {
        if !self.partitions.remove(&index) {
            return;
        }
        let (worker, coordinator) = self.links(index);
        let net = NetSim::current();
        net.unclog_link(worker, coordinator);
        net.unclog_link(coordinator, worker);
        self.log(format!("heal-partition {}", self.workers[index].id));
    }

    /// Ends every fault: links restored, stalled workers resumed, dead nodes restarted,
    /// GPUs sound again (slow GPUs stay slow: that is hardware, not a fault to heal).
    pub fn heal(&mut self) {
        for index in 0..self.workers.len() {
            self.unpartition(index);
            self.resume_worker(index);
            self.restart_worker(index);
            self.workers[index].hardware.set_corrupt_proofs(false);
        }
        self.restart_coordinator();
        self.log("heal".to_owned());
    }

    /// Waits (in simulated time, polling every `every`) until `condition` holds or `limit`
    /// has passed; returns whether it holds.
    pub async fn wait_until(
        &self,
        limit: Duration,
        every: Duration,
        mut condition: impl FnMut() -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if condition() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(every).await;
        }
    }

    /// A zombie process of worker `index` replays results with fences forged by `forge`.
    pub fn zombie_replay(&self, index: usize, forge: Forge) {
        if !self.coordinator_alive {
            return;
        }
        let task = crate::zombie::replay_stale(
            self.shared.clone(),
            index,
            self.workers[index].spec.compute_units,
            forge,
            self.incarnations(),
        );
        drop(self.zombie.spawn(task)); // detached: it ends on its own
    }

    /// Spawns `task` on client `index`'s node, detached.
    pub fn spawn_on_client<F>(&self, index: usize, task: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        drop(self.client(index).spawn(task));
    }
}

/// The coordinator process: core task with the invariant observer, client API and worker
/// plane on the plan's ports.
async fn run_coordinator(shared: Shared, epoch: Epoch, seed: u64) {
    let metrics: Arc<dyn CoordinatorMetrics> = Arc::new(LogMetrics(shared.clone()));
    SimState::lock(&shared).log(format!("coordinator up epoch={}", epoch.0));
    let (handle, _core) = spawn_observed_coordinator(
        CoordinatorOptions {
            config: coordinator_config(),
            epoch,
            seed,
            challenger: Box::new(ModelChallenge),
            segment_cycles: 0,
            metrics: metrics.clone(),
            outcomes: None,
        },
        Box::new(InvariantObserver::new(shared, epoch)),
    );
    let limits = ServerLimits::default();
    let bind = |port: u16| tokio::net::TcpListener::bind((COORDINATOR_IP, port));
    #[allow(clippy::expect_used)]
    let (api, plane) = (
        bind(CLIENT_API_PORT)
            .await
            .expect("the simulated client API port is free"),
        bind(WORKER_PLANE_PORT)
            .await
            .expect("the simulated worker plane port is free"),
    );
    let plane_service = WorkerPlaneService::new(handle.clone());
    let plane_limits = limits.clone();
    tokio::spawn(async move {
        let served = zisk_net::server::serve_worker_plane(
            plane,
            plane_service,
            &plane_limits,
            std::future::pending(),
        )
        .await;
        if let Err(error) = served {
            tracing::error!(%error, "simulated worker plane failed");
        }
    });
    let client = ClientService::new(handle, metrics, None);
    let served =
        zisk_net::server::serve_client_api(api, client, &limits, std::future::pending()).await;
    if let Err(error) = served {
        tracing::error!(%error, "simulated client API failed");
    }
}
