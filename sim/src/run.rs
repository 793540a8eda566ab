//! One simulation run: a seeded madsim runtime, the cluster, the safety phase that plays a
//! schedule, the liveness phase with every fault healed, and the final checks.
//!
//! Safety properties are checked throughout: by the coordinator's [`InvariantObserver`] after
//! every core step, by the prover model's probe at every call (one aggregator per aggregation
//! fence, no worker working on two jobs) and by the clients (results match the model). The
//! liveness phase then requires every job admitted before it to reach a terminal state, as
//! its client sees it, within [`LIVENESS_BOUND`].
//!
//! [`InvariantObserver`]: crate::observer::InvariantObserver

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::client::{Book, Outcome, SharedBook, SimClient, lock_book};
use crate::cluster::{Cluster, coordinator_config};
use crate::model::Guest;
use crate::schedule::{Fault, FaultKind, Schedule};
use crate::state::{Shared, SimState, Tally};

/// How long after the faults are healed every admitted job must have ended: the queue
/// timeout plus every phase timeout, plus reconnection and slack.
pub const LIVENESS_BOUND: Duration = Duration::from_secs(120 + 90 + 90 + 60 + 120);

/// Simulated time after which a run is stopped as hung (madsim's time limit).
const TIME_LIMIT: Duration = Duration::from_secs(4 * 3600);

/// How a run's jobs ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// Completed (and checked against the model).
    pub completed: u64,
    /// Failed with a reason.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
    /// Lost with a coordinator incarnation (reported failed to their clients).
    pub lost: u64,
    /// Submissions refused.
    pub refused: u64,
}

/// What a passing run reports.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The seed.
    pub seed: u64,
    /// SHA-256 of the event log: equal for equal seeds (the determinism check).
    pub log_digest: String,
    /// Lines in the event log.
    pub log_lines: u64,
    /// Simulated time the run covered.
    pub simulated: Duration,
    /// How its jobs ended.
    pub outcomes: Outcomes,
    /// The fault kinds its schedule used.
    pub kinds: BTreeSet<FaultKind>,
    /// Counters from the checks.
    pub tally: Tally,
}

/// A failed run: what broke, and the end of its event log.
#[derive(Clone, Debug)]
pub struct RunFailure {
    /// The seed.
    pub seed: u64,
    /// Every broken invariant (or the panic).
    pub violations: Vec<String>,
    /// The last lines of the event log.
    pub log_tail: Vec<String>,
    /// The schedule, printed.
    pub schedule: String,
    /// How to replay the run.
    pub replay: String,
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "simulation seed {} failed:", self.seed)?;
        for violation in &self.violations {
            writeln!(f, "  - {violation}")?;
        }
        writeln!(f, "schedule:\n{}", self.schedule)?;
        writeln!(f, "last events:")?;
        for line in &self.log_tail {
            writeln!(f, "  {line}")?;
        }
        write!(f, "replay it with:\n  {}\n", self.replay)
    }
}

/// The command that replays `seed`.
pub fn replay_command(seed: u64) -> String {
    format!(
        "ZISK_SIM_SEED={seed} ZISK_SIM_SEEDS=1 ZISK_SIM_LOG=1 cargo sim-test --test cluster -- random_seeds_keep_every_invariant_and_every_job_ends --exact --nocapture"
    )
}

/// Options of a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Print every event-log line as it happens.
    pub echo_log: bool,
}

/// Runs the schedule seed `seed` draws.
///
/// # Errors
/// The broken invariants, with the event log's tail.
pub fn run_seed(seed: u64, options: RunOptions) -> Result<RunReport, RunFailure> {
    run_schedule(seed, &Schedule::from_seed(seed), options).map_err(|mut failure| {
        failure.replay = replay_command(seed);
        failure
    })
}

/// Runs `schedule` on a runtime seeded with `seed`.
///
/// # Errors
/// The broken invariants, with the event log's tail.
pub fn run_schedule(
    seed: u64,
    schedule: &Schedule,
    options: RunOptions,
) -> Result<RunReport, RunFailure> {
    let clock = Box::new(|| {
        madsim::time::TimeHandle::try_current().map_or(0, |time| time.elapsed().as_millis() as u64)
    });
    let shared = SimState::shared(clock, options.echo_log);
    let book: SharedBook = Arc::new(Mutex::new(Book::default()));
    let mut runtime =
        madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
    runtime.set_time_limit(TIME_LIMIT);
    let result = catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(simulate(
            seed,
            schedule.clone(),
            shared.clone(),
            book.clone(),
        ))
    }));
    drop(runtime);
    let state = SimState::lock(&shared);
    let simulated = Duration::from_millis(state.finished_ms);
    let mut violations = state.violations().to_vec();
    if let Err(panic) = &result {
        let message = panic
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        violations.push(format!("the simulation panicked: {message}"));
    }
    if !violations.is_empty() {
        return Err(RunFailure {
            seed,
            violations,
            log_tail: state.event_log().tail().cloned().collect(),
            schedule: schedule.to_string(),
            replay: "cargo sim-test --test schedules -- --nocapture (proptest replays the cases \
                     saved in sim/tests/schedules.proptest-regressions first)"
                .to_owned(),
        });
    }
    let book = lock_book(&book);
    let mut outcomes = Outcomes {
        refused: book.refused,
        ..Outcomes::default()
    };
    for job in &book.jobs {
        match job.outcome {
            Some(Outcome::Completed) => outcomes.completed += 1,
            Some(Outcome::Failed(_)) => outcomes.failed += 1,
            Some(Outcome::Cancelled) => outcomes.cancelled += 1,
            Some(Outcome::Lost) | None => outcomes.lost += 1,
        }
    }
    Ok(RunReport {
        seed,
        log_digest: state.event_log().digest(),
        log_lines: state.event_log().len(),
        simulated,
        outcomes,
        kinds: schedule.kinds(),
        tally: state.tally.clone(),
    })
}

fn client(shared: &Shared, book: &SharedBook, index: usize) -> SimClient {
    SimClient::new(format!("client-{index}"), shared.clone(), book.clone())
}

/// The whole run, on the simulated runtime.
async fn simulate(seed: u64, schedule: Schedule, shared: Shared, book: SharedBook) {
    let mut cluster = Cluster::start(
        shared.clone(),
        seed,
        schedule.reuse_job_ids,
        &schedule.workers,
        schedule.clients as usize,
    );
    SimState::lock(&shared).log(format!("seed {seed} start"));
    // Let the workers register before the first job.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let start = tokio::time::Instant::now();
    let mut salt = seed.wrapping_mul(1_000_003);
    for event in &schedule.events {
        if event.at_ms >= schedule.safety_ms {
            break;
        }
        tokio::time::sleep_until(start + Duration::from_millis(event.at_ms)).await;
        apply(&mut cluster, &shared, &book, &event.fault, &mut salt);
    }
    tokio::time::sleep_until(start + Duration::from_millis(schedule.safety_ms)).await;

    // Liveness: every fault healed; every admitted job must end within the bound.
    cluster.heal();
    let healed_at = tokio::time::Instant::now();
    let all_ended = cluster
        .wait_until(LIVENESS_BOUND, Duration::from_millis(500), || {
            lock_book(&book)
                .jobs
                .iter()
                .all(|job| job.outcome.is_some())
        })
        .await;
    let mut state = SimState::lock(&shared);
    state.log(format!(
        "liveness phase took {} ms",
        healed_at.elapsed().as_millis()
    ));
    let book = lock_book(&book);
    if !all_ended {
        for job in book.jobs.iter().filter(|job| job.outcome.is_none()) {
            state.violation(format!(
                "job {} (epoch {}, admitted at {} ms) did not end within {} s of the faults healing",
                job.id,
                job.epoch,
                job.admitted_ms,
                LIVENESS_BOUND.as_secs()
            ));
        }
    }
    for job in &book.jobs {
        if job.cancel_acknowledged
            && !matches!(job.outcome, Some(Outcome::Cancelled | Outcome::Lost) | None)
        {
            state.violation(format!(
                "job {} was cancelled (acknowledged) but ended {:?}",
                job.id, job.outcome
            ));
        }
        if schedule.calm && job.outcome != Some(Outcome::Completed) {
            state.violation(format!(
                "job {} of a calm run (no faults, light load) ended {:?} instead of completing",
                job.id, job.outcome
            ));
        }
        // The incarnation that admitted a job is the only one that can lose it, and only by
        // dying. Judging by time instead (a kill after the client saw the admission) is wrong:
        // the answer to the admission can still be on its way when the coordinator is killed
        // (regression seeds 111906 and 113946).
        if job.outcome == Some(Outcome::Lost)
            && !job.ambiguous
            && !book.killed_epochs.contains(&job.epoch)
        {
            state.violation(format!(
                "job {} was lost although the coordinator of epoch {} that admitted it was never killed",
                job.id, job.epoch
            ));
        }
    }
    state.finished_ms = state.now_ms();
    let config = coordinator_config();
    state.log(format!(
        "end jobs={} refused={} epoch={} (heartbeat timeout {} s)",
        book.jobs.len(),
        book.refused,
        cluster.incarnations(),
        config.heartbeat_timeout.as_secs()
    ));
}

fn apply(cluster: &mut Cluster, shared: &Shared, book: &SharedBook, fault: &Fault, salt: &mut u64) {
    let worker_ok = |worker: u32| (worker as usize) < cluster.worker_count();
    match fault {
        Fault::Submit {
            client: index,
            prove,
            segments,
            compute_units,
            count,
        } => {
            for _ in 0..*count {
                *salt = salt.wrapping_add(1);
                let guest = Guest {
                    segments: *segments,
                    cycles_per_segment: 1 << 16,
                    salt: *salt,
                };
                let task = client(shared, book, *index as usize).submit_and_follow(
                    *prove,
                    guest,
                    *compute_units,
                );
                cluster.spawn_on_client(*index as usize, task);
            }
        }
        Fault::Cancel { job } => {
            let admitted = lock_book(book).jobs.len();
            if admitted > 0 {
                let index = *job as usize % admitted;
                let task = client(shared, book, 0).cancel(index);
                cluster.spawn_on_client(0, task);
            }
        }
        Fault::KillWorker { worker } if worker_ok(*worker) => cluster.kill_worker(*worker as usize),
        Fault::RestartWorker { worker } if worker_ok(*worker) => {
            cluster.restart_worker(*worker as usize);
        }
        Fault::KillCoordinator => {
            if cluster.coordinator_alive() {
                lock_book(book).killed_epochs.push(cluster.incarnations());
            }
            cluster.kill_coordinator();
        }
        Fault::RestartCoordinator => cluster.restart_coordinator(),
        Fault::Partition { worker, direction } if worker_ok(*worker) => {
            cluster.partition(*worker as usize, *direction);
        }
        Fault::HealPartition { worker } if worker_ok(*worker) => {
            cluster.unpartition(*worker as usize);
        }
        Fault::Pause { worker } if worker_ok(*worker) => cluster.pause_worker(*worker as usize),
        Fault::Resume { worker } if worker_ok(*worker) => cluster.resume_worker(*worker as usize),
        Fault::SetSpeed {
            worker,
            speed_milli,
        } if worker_ok(*worker) => {
            cluster
                .hardware(*worker as usize)
                .set_speed_milli(*speed_milli);
            SimState::lock(shared).log(format!("speed worker-{worker} {speed_milli}"));
        }
        Fault::CorruptProofs { worker, corrupt } if worker_ok(*worker) => {
            cluster
                .hardware(*worker as usize)
                .set_corrupt_proofs(*corrupt);
            SimState::lock(shared).log(format!("corrupt worker-{worker} {corrupt}"));
        }
        Fault::JoinWorker(spec) => {
            cluster.add_worker(*spec);
        }
        Fault::ZombieReplay { worker, forge } if worker_ok(*worker) => {
            cluster.zombie_replay(*worker as usize, *forge);
        }
        _ => {} // a fault on a worker that has not joined yet
    }
}
