//! proptest over fault schedules: strategies build the timed fault events the simulator plays,
//! through the real adapters; failing schedules shrink to a minimal one. Schedules it found
//! are kept below as named regression tests.
//!
//! Cases per property: `PROPTEST_CASES` (default 32). Run with `cargo sim-test`.
#![cfg(madsim)]

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use zisk_sim::run::{RunOptions, run_schedule};
use zisk_sim::schedule::{Direction, Fault, Forge, Schedule, TimedFault, WorkerSpec};

fn worker_spec() -> impl Strategy<Value = WorkerSpec> {
    (
        1u32..=4,
        prop_oneof![3 => 800u64..1_300, 1 => 2_000u64..8_000],
    )
        .prop_map(|(compute_units, speed_milli)| WorkerSpec {
            compute_units,
            speed_milli,
        })
}

fn fault() -> impl Strategy<Value = Fault> {
    let worker = 0u32..5;
    prop_oneof![
        6 => (0u32..2, any::<bool>(), 1u32..=16, prop::option::of(1u32..=6), 1u32..=4).prop_map(
            |(client, prove, segments, compute_units, count)| Fault::Submit {
                client, prove, segments, compute_units, count,
            }
        ),
        1 => (0u32..16).prop_map(|job| Fault::Cancel { job }),
        1 => worker.clone().prop_map(|worker| Fault::KillWorker { worker }),
        1 => worker.clone().prop_map(|worker| Fault::RestartWorker { worker }),
        1 => Just(Fault::KillCoordinator),
        1 => Just(Fault::RestartCoordinator),
        2 => (worker.clone(), prop_oneof![
            Just(Direction::WorkerToCoordinator),
            Just(Direction::CoordinatorToWorker),
            Just(Direction::Both),
        ]).prop_map(|(worker, direction)| Fault::Partition { worker, direction }),
        2 => worker.clone().prop_map(|worker| Fault::HealPartition { worker }),
        1 => worker.clone().prop_map(|worker| Fault::Pause { worker }),
        1 => worker.clone().prop_map(|worker| Fault::Resume { worker }),
        1 => (worker.clone(), 1_000u64..20_000).prop_map(|(worker, speed_milli)| Fault::SetSpeed { worker, speed_milli }),
        1 => (worker.clone(), any::<bool>()).prop_map(|(worker, corrupt)| Fault::CorruptProofs { worker, corrupt }),
        1 => worker_spec().prop_map(Fault::JoinWorker),
        1 => (worker, prop_oneof![Just(Forge::PreviousEpoch), Just(Forge::AttemptNeverIssued)])
            .prop_map(|(worker, forge)| Fault::ZombieReplay { worker, forge }),
    ]
}

fn schedule() -> impl Strategy<Value = Schedule> {
    (
        prop::collection::vec(worker_spec(), 1..=4),
        1u32..=2,
        any::<bool>(),
        30_000u64..150_000,
        prop::collection::vec((0u64..150_000, fault()), 1..40),
    )
        .prop_map(|(workers, clients, reuse_job_ids, safety_ms, events)| {
            let mut schedule = Schedule {
                workers,
                clients,
                reuse_job_ids,
                calm: false,
                safety_ms,
                events: events
                    .into_iter()
                    .filter(|(at_ms, _)| *at_ms < safety_ms)
                    .map(|(at_ms, fault)| TimedFault { at_ms, fault })
                    .collect(),
            };
            schedule.sort();
            schedule
        })
}

/// Fault-free schedules: only submissions the pool can take, spaced out. Every job must
/// complete.
fn calm_schedule() -> impl Strategy<Value = Schedule> {
    (
        prop::collection::vec(
            (1u32..=4).prop_map(|compute_units| WorkerSpec {
                compute_units,
                speed_milli: 1_000,
            }),
            1..=4,
        ),
        prop::collection::vec((any::<bool>(), 1u32..=16, 1u32..=12), 1..5),
    )
        .prop_map(|(workers, jobs)| {
            let mut units: Vec<u32> = workers.iter().map(|w| w.compute_units).collect();
            units.sort_unstable_by(|a, b| b.cmp(a));
            let capacity: u32 = units.iter().take(3).sum();
            let events = jobs
                .into_iter()
                .enumerate()
                .map(|(index, (prove, segments, units))| TimedFault {
                    at_ms: 500 + 20_000 * index as u64,
                    fault: Fault::Submit {
                        client: 0,
                        prove,
                        segments,
                        compute_units: Some(units.min(capacity)),
                        count: 1,
                    },
                })
                .collect::<Vec<_>>();
            Schedule {
                workers,
                clients: 1,
                reuse_job_ids: false,
                calm: true,
                safety_ms: 20_000 * events.len() as u64 + 1_000,
                events,
            }
        })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(32)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/schedules.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn fuzzed_fault_schedules_keep_every_invariant_and_every_job_ends(
        schedule in schedule(),
        seed in any::<u64>(),
    ) {
        if let Err(failure) = run_schedule(seed, &schedule, RunOptions::default()) {
            prop_assert!(false, "{failure}");
        }
    }

    #[test]
    fn fuzzed_fault_free_schedules_complete_every_job(
        schedule in calm_schedule(),
        seed in any::<u64>(),
    ) {
        if let Err(failure) = run_schedule(seed, &schedule, RunOptions::default()) {
            prop_assert!(false, "{failure}");
        }
    }
}

// Schedules proptest found, kept as named regression tests.

fn assert_passes(seed: u64, schedule: &Schedule) {
    if let Err(failure) = run_schedule(seed, schedule, RunOptions::default()) {
        panic!("{failure}");
    }
}

/// Found by `fuzzed_fault_free_schedules_complete_every_job` (shrunk): the worker adapter's
/// aggregator waited for proofs of its own partitions that the coordinator never sends it
/// (it folds its own), so a job whose aggregator had proved a partition itself timed out in
/// aggregation. One worker, one prove job of one segment.
#[test]
fn a_lone_worker_aggregates_the_proofs_it_produced_itself() {
    let schedule = Schedule {
        workers: vec![WorkerSpec {
            compute_units: 1,
            speed_milli: 1_000,
        }],
        clients: 1,
        reuse_job_ids: false,
        calm: true,
        safety_ms: 21_000,
        events: vec![TimedFault {
            at_ms: 500,
            fault: Fault::Submit {
                client: 0,
                prove: true,
                segments: 1,
                compute_units: Some(1),
                count: 1,
            },
        }],
    };
    assert_passes(0, &schedule);
}
