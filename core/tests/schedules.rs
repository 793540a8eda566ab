//! Property tests: random fault schedules against the coordinator and worker cores, with the
//! safety invariants checked after every step and liveness required once faults stop.
//!
//! Cases per property: `PROPTEST_CASES` (default 256).

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use zisk_core::driver::{Faults, Network, model_outputs, model_segment_count};
use zisk_core::*;

const WORKERS: [&str; 4] = ["w0", "w1", "w2", "w3"];

/// One timed event of a schedule.
#[derive(Clone, Debug)]
enum Event {
    Submit {
        prove: bool,
        segments: u32,
        units: u32,
    },
    Cancel {
        job_index: usize,
    },
    Kill {
        worker: usize,
        reset: bool,
    },
    Restart {
        worker: usize,
    },
    Partition {
        worker: usize,
    },
    Heal {
        worker: usize,
    },
    Faults {
        drop_per_mille: u32,
        duplicate_per_mille: u32,
        jitter_ms: u64,
    },
    InjectStale {
        worker: usize,
        job_index: usize,
        attempt_offset: u32,
    },
    Advance {
        millis: u64,
    },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => (any::<bool>(), 1u32..=12, 1u32..=5).prop_map(|(prove, segments, units)| Event::Submit { prove, segments, units }),
        1 => (0usize..8).prop_map(|job_index| Event::Cancel { job_index }),
        1 => (0usize..4, any::<bool>()).prop_map(|(worker, reset)| Event::Kill { worker, reset }),
        1 => (0usize..4).prop_map(|worker| Event::Restart { worker }),
        1 => (0usize..4).prop_map(|worker| Event::Partition { worker }),
        1 => (0usize..4).prop_map(|worker| Event::Heal { worker }),
        1 => (0u32..200, 0u32..300, 0u64..30).prop_map(|(drop_per_mille, duplicate_per_mille, jitter_ms)| Event::Faults { drop_per_mille, duplicate_per_mille, jitter_ms }),
        2 => (0usize..4, 0usize..8, 0u32..3).prop_map(|(worker, job_index, attempt_offset)| Event::InjectStale { worker, job_index, attempt_offset }),
        4 => (1u64..3_000).prop_map(|millis| Event::Advance { millis }),
    ]
}

#[derive(Clone, Debug)]
struct Setup {
    units: Vec<u32>,
    work_ms: Vec<u64>,
    faulty: Option<usize>,
    bad_proofs: Option<usize>,
    seed: u64,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        prop::collection::vec(1u32..=3, 4),
        prop::collection::vec(1u64..200, 4),
        prop::option::weighted(0.15, 0usize..4),
        prop::option::weighted(0.15, 0usize..4),
        any::<u64>(),
    )
        .prop_map(|(units, work_ms, faulty, bad_proofs, seed)| Setup {
            units,
            work_ms,
            faulty,
            bad_proofs,
            seed,
        })
}

fn config() -> CoordinatorConfig {
    CoordinatorConfig {
        max_workers_per_job: 3,
        default_compute_units: 2,
        max_queued_jobs: 6,
        queue_timeout: Duration::from_secs(20),
        setup_timeout: Duration::from_secs(5),
        phase1_timeout: Duration::from_secs(6),
        phase2_timeout: Duration::from_secs(6),
        aggregate_timeout: Duration::from_secs(6),
        execute_timeout: Duration::from_secs(6),
        heartbeat_interval: Duration::from_millis(300),
        heartbeat_timeout: Duration::from_secs(1),
        reconnect_grace_period: Duration::from_millis(800),
        job_ttl: Duration::from_secs(3600),
        ..CoordinatorConfig::default()
    }
}

/// Safety checks carried across steps.
#[derive(Default)]
struct Observer {
    terminal: BTreeMap<JobId, String>,
    aggregators: BTreeMap<(JobId, Attempt), WorkerId>,
}

impl Observer {
    fn check(&mut self, net: &Network) -> Result<(), String> {
        net.coordinator.check_invariants()?;
        let pool_units: u64 = net
            .coordinator
            .workers()
            .map(|worker| u64::from(worker.compute_units))
            .sum();
        let booked_units: u64 = net
            .coordinator
            .workers()
            .filter(|worker| worker.booked.is_some())
            .map(|worker| u64::from(worker.compute_units))
            .sum();
        if booked_units > pool_units {
            return Err(format!(
                "reserved {booked_units} units of a pool of {pool_units}"
            ));
        }
        for job in net.coordinator.jobs() {
            if job.state.is_terminal() {
                let snapshot = format!("{:?} {:?}", job.state, job.result);
                if let Some(first) = self.terminal.get(&job.id) {
                    if *first != snapshot {
                        return Err(format!(
                            "terminal job {} changed from {first} to {snapshot}",
                            job.id
                        ));
                    }
                } else {
                    self.terminal.insert(job.id, snapshot);
                }
            } else if self.terminal.contains_key(&job.id) {
                return Err(format!("job {} left its terminal state", job.id));
            }
            if let Some(aggregator) = &job.aggregator {
                let previous = self
                    .aggregators
                    .entry((job.id, aggregator.attempt))
                    .or_insert(aggregator.worker.clone());
                if *previous != aggregator.worker {
                    return Err(format!(
                        "two aggregators for job {} attempt {}",
                        job.id, aggregator.attempt.0
                    ));
                }
            }
            if job.state == JobState::Completed {
                match &job.result {
                    Some(JobResult::Proof {
                        summary, outputs, ..
                    })
                    | Some(JobResult::Execution { summary, outputs }) => {
                        if summary.segment_count != model_segment_count(&job.program)
                            || *outputs != model_outputs(&job.program, job.id)
                        {
                            return Err(format!(
                                "job {} completed with a summary its workers did not produce",
                                job.id
                            ));
                        }
                    }
                    None => return Err(format!("job {} completed without a result", job.id)),
                }
            }
        }
        Ok(())
    }
}

fn run_steps_until(
    net: &mut Network,
    observer: &mut Observer,
    deadline: Instant,
) -> Result<(), String> {
    while net.next_event_at().is_some_and(|at| at <= deadline) {
        net.step();
        observer.check(net)?;
    }
    net.now = net.now.max(deadline);
    Ok(())
}

/// How a schedule's jobs ended.
#[derive(Debug, Default)]
struct Outcome {
    completed: usize,
    failed: usize,
    cancelled: usize,
}

fn run_schedule(setup: &Setup, events: &[Event]) -> Result<Outcome, String> {
    let mut net = Network::new(config(), setup.seed);
    for (index, id) in WORKERS.iter().enumerate() {
        net.add_worker(id, setup.units[index], setup.work_ms[index]);
        let worker = net.workers.get_mut(&WorkerId::from(*id)).unwrap();
        worker.faulty = setup.faulty == Some(index);
        worker.bad_proofs = setup.bad_proofs == Some(index);
    }
    let mut observer = Observer::default();
    run_steps_until(&mut net, &mut observer, Instant::from_millis(500))?;
    let mut programs = BTreeMap::new();
    for segments in 1..=12u32 {
        let program = Network::program_with_segments(segments);
        net.coordinator
            .register_program(program)
            .map_err(|error| error.to_string())?;
        net.coordinator
            .request_setup(net.now, program)
            .map_err(|error| error.to_string())?;
        programs.insert(segments, program);
    }
    net.flush();
    let deadline = net.now + Duration::from_secs(2);
    run_steps_until(&mut net, &mut observer, deadline)?;
    let mut jobs: Vec<JobId> = Vec::new();

    for event in events {
        let now = net.now;
        match event.clone() {
            Event::Submit {
                prove,
                segments,
                units,
            } => {
                let kind = if prove {
                    JobKind::Prove
                } else {
                    JobKind::Execute
                };
                let request = JobRequest {
                    kind,
                    program: programs[&segments],
                    compute_units: Some(units),
                };
                if let Ok(job) = net.coordinator.submit_job(now, request) {
                    jobs.push(job);
                }
            }
            Event::Cancel { job_index } => {
                if let Some(job) = jobs.get(job_index) {
                    let _ = net.coordinator.cancel_job(now, *job);
                }
            }
            Event::Kill { worker, reset } => {
                net.kill_worker(&WorkerId::from(WORKERS[worker]), reset)
            }
            Event::Restart { worker } => net.restart_worker(&WorkerId::from(WORKERS[worker])),
            Event::Partition { worker } => {
                net.partitioned.insert(WorkerId::from(WORKERS[worker]));
            }
            Event::Heal { worker } => {
                net.partitioned.remove(&WorkerId::from(WORKERS[worker]));
            }
            Event::Faults {
                drop_per_mille,
                duplicate_per_mille,
                jitter_ms,
            } => {
                net.faults = Faults {
                    drop_per_mille,
                    duplicate_per_mille,
                    jitter_ms,
                };
            }
            Event::InjectStale {
                worker,
                job_index,
                attempt_offset,
            } => {
                let worker = WorkerId::from(WORKERS[worker]);
                if let Some(job) = jobs
                    .get(job_index)
                    .and_then(|job| net.coordinator.job(*job))
                {
                    // A fence from a previous epoch, or an attempt the job never issued.
                    let attempt = Attempt(job.next_attempt + attempt_offset);
                    let epoch = if attempt_offset == 0 {
                        Epoch(0)
                    } else {
                        Epoch(1)
                    };
                    let fence = Fence {
                        epoch,
                        job: job.id,
                        attempt,
                    };
                    let summary = ExecutionSummary {
                        segment_count: 1,
                        cycles: 1,
                        outputs_digest: Digest::default(),
                    };
                    let before: Vec<String> = net
                        .coordinator
                        .jobs()
                        .map(|job| format!("{job:?}"))
                        .collect();
                    let stale_before = net.coordinator.counters().stale_results;
                    let message = FromWorker::Contributed {
                        fence,
                        partition: PartitionId(0),
                        summary,
                        contributions: vec![],
                    };
                    let connected = net.workers[&worker].connection.is_some();
                    net.inject(&worker, message);
                    let after: Vec<String> = net
                        .coordinator
                        .jobs()
                        .map(|job| format!("{job:?}"))
                        .collect();
                    if before != after {
                        return Err("a stale-fenced result changed state".to_owned());
                    }
                    let registered = net
                        .coordinator
                        .workers()
                        .any(|entry| entry.id == worker && entry.connection.is_some());
                    if connected
                        && registered
                        && net.coordinator.counters().stale_results != stale_before + 1
                    {
                        return Err("a stale-fenced result was not counted".to_owned());
                    }
                }
            }
            Event::Advance { millis } => {
                let deadline = net.now + Duration::from_millis(millis);
                run_steps_until(&mut net, &mut observer, deadline)?;
            }
        }
        net.flush();
        observer.check(&net)?;
    }

    // Liveness: faults stop; every admitted job must end within the bound.
    net.faults = Faults::default();
    net.partitioned.clear();
    for id in WORKERS {
        net.restart_worker(&WorkerId::from(id));
    }
    let bound = net.now + Duration::from_secs(300);
    while jobs.iter().any(|job| {
        net.coordinator
            .job(*job)
            .is_some_and(|job| !job.state.is_terminal())
    }) {
        if net.next_event_at().is_none_or(|at| at > bound) {
            let stuck: Vec<String> = jobs
                .iter()
                .filter_map(|job| net.coordinator.job(*job))
                .filter(|job| !job.state.is_terminal())
                .map(|job| format!("{} {:?} tasks={:?}", job.id, job.state, job.tasks))
                .collect();
            return Err(format!(
                "jobs not terminal within the liveness bound: {stuck:?}"
            ));
        }
        net.step();
        observer.check(&net)?;
    }
    let mut outcome = Outcome::default();
    for job in jobs.iter().filter_map(|job| net.coordinator.job(*job)) {
        match job.state {
            JobState::Completed => outcome.completed += 1,
            JobState::Failed(_) => outcome.failed += 1,
            JobState::Cancelled => outcome.cancelled += 1,
            _ => unreachable!("all terminal"),
        }
    }
    Ok(outcome)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("tests/schedules.proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_fault_schedules_keep_every_invariant_and_every_job_ends(
        setup in setup(),
        events in prop::collection::vec(event(), 1..60),
    ) {
        match run_schedule(&setup, &events) {
            Err(violation) => prop_assert!(false, "{violation}"),
            Ok(outcome) => {
                if std::env::var("SCHEDULE_STATS").is_ok() {
                    eprintln!("{outcome:?}");
                }
            }
        }
    }
}

#[test]
fn fault_free_schedule_completes_every_job() {
    let setup = Setup {
        units: vec![2, 2, 1, 1],
        work_ms: vec![20, 30, 40, 50],
        faulty: None,
        bad_proofs: None,
        seed: 3,
    };
    let mut events = Vec::new();
    for segments in [1, 5, 12] {
        events.push(Event::Submit {
            prove: true,
            segments,
            units: 2,
        });
        events.push(Event::Submit {
            prove: false,
            segments,
            units: 1,
        });
    }
    events.push(Event::Advance { millis: 20_000 });
    let outcome = run_schedule(&setup, &events).unwrap();
    assert_eq!(
        (outcome.completed, outcome.failed, outcome.cancelled),
        (6, 0, 0)
    );
}
