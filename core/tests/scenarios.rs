//! Scenario tests of the coordinator and worker cores, driven by the in-crate `Network`.

use std::time::Duration;

use zisk_core::driver::Network;
use zisk_core::*;

fn config() -> CoordinatorConfig {
    CoordinatorConfig {
        default_compute_units: 2,
        queue_timeout: Duration::from_secs(30),
        setup_timeout: Duration::from_secs(5),
        phase1_timeout: Duration::from_secs(5),
        phase2_timeout: Duration::from_secs(5),
        aggregate_timeout: Duration::from_secs(5),
        execute_timeout: Duration::from_secs(5),
        heartbeat_interval: Duration::from_millis(500),
        heartbeat_timeout: Duration::from_secs(2),
        reconnect_grace_period: Duration::from_secs(1),
        job_ttl: Duration::from_secs(60),
        ..CoordinatorConfig::default()
    }
}

fn w(id: &str) -> WorkerId {
    WorkerId::from(id)
}

/// A network with `workers` workers of `units` compute units each, all registered.
fn network(workers: &[(&str, u32)], config: CoordinatorConfig) -> Network {
    let mut net = Network::new(config, 7);
    for (id, units) in workers {
        net.add_worker(id, *units, 10);
    }
    let count = workers.len();
    let ok = net.run_until(Instant::from_millis(5_000), |n| {
        n.coordinator
            .workers()
            .filter(|w| w.connection.is_some())
            .count()
            == count
    });
    assert!(ok, "workers did not register");
    net
}

fn prove(net: &mut Network, program: ProgramId, units: Option<u32>) -> JobId {
    let now = net.now;
    let job = net
        .coordinator
        .submit_job(
            now,
            JobRequest {
                kind: JobKind::Prove,
                program,
                compute_units: units,
            },
        )
        .unwrap();
    net.flush();
    job
}

fn state(net: &Network, job: JobId) -> JobState {
    net.coordinator.job(job).expect("job held").state.clone()
}

fn run_to_terminal(net: &mut Network, job: JobId, seconds: u64) -> JobState {
    let deadline = net.now + Duration::from_secs(seconds);
    net.run_until(deadline, |n| {
        n.coordinator
            .job(job)
            .is_some_and(|j| j.state.is_terminal())
    });
    state(net, job)
}

/// The first (by id) worker booked by `job`.
fn first_worker(net: &Network, job: JobId) -> WorkerId {
    net.coordinator
        .job(job)
        .expect("job held")
        .workers
        .iter()
        .next()
        .expect("booked")
        .clone()
}

/// Whether any partition was moved to another worker so far.
fn reassigned(net: &Network) -> bool {
    net.metrics
        .iter()
        .any(|m| matches!(m, MetricEvent::PartitionsReassigned { .. }))
}

fn phases_seen(net: &Network, job: JobId) -> Vec<Phase> {
    net.job_events
        .iter()
        .filter(|event| event.job == job)
        .filter_map(|event| match event.kind {
            JobEventKind::PhaseChanged(phase) => Some(phase),
            _ => None,
        })
        .collect()
}

#[test]
fn prove_job_runs_through_all_three_phases_and_completes_with_a_proof() {
    let mut net = network(&[("a", 2), ("b", 2)], config());
    let program = net.ready_program(5);
    let job = prove(&mut net, program, Some(4));
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
    assert_eq!(
        phases_seen(&net, job),
        vec![Phase::Contributions, Phase::Prove, Phase::Aggregate]
    );
    let held = net.coordinator.job(job).unwrap();
    assert_eq!(held.partition_count, 4);
    match held.result.as_ref().unwrap() {
        JobResult::Proof {
            summary,
            proof,
            outputs,
        } => {
            assert_eq!(*outputs, zisk_core::driver::model_outputs(&program, job));
            assert_eq!(summary.segment_count, 5);
            assert!(!proof.is_empty());
        }
        other => panic!("expected a proof, got {other:?}"),
    }
    // Workers are free again.
    assert!(
        net.coordinator
            .workers()
            .all(|worker| worker.booked.is_none())
    );
    net.coordinator.check_invariants().unwrap();
}

#[test]
fn execute_only_job_completes_with_outputs_on_one_worker() {
    let mut net = network(&[("a", 2), ("b", 2)], config());
    let program = Network::program_with_segments(3);
    net.coordinator.register_program(program).unwrap();
    let job = net
        .coordinator
        .submit_job(
            net.now,
            JobRequest {
                kind: JobKind::Execute,
                program,
                compute_units: None,
            },
        )
        .unwrap();
    assert_eq!(run_to_terminal(&mut net, job, 10), JobState::Completed);
    let held = net.coordinator.job(job).unwrap();
    assert!(
        matches!(held.result, Some(JobResult::Execution { ref summary, .. }) if summary.segment_count == 3)
    );
    assert_eq!(phases_seen(&net, job), vec![Phase::Execute]);
}

#[test]
fn partitions_are_spread_over_workers_in_proportion_to_compute_units() {
    let mut net = network(&[("big", 3), ("small", 1)], config());
    let program = net.ready_program(12);
    let job = prove(&mut net, program, Some(4));
    net.run_for(Duration::from_millis(3));
    let held = net.coordinator.job(job).unwrap();
    let of = |id: &str| {
        held.tasks
            .values()
            .filter(|task| task.worker == Some(w(id)))
            .count()
    };
    assert_eq!((of("big"), of("small")), (3, 1));
}

#[test]
fn job_waits_in_the_fifo_queue_until_capacity_frees_up() {
    let mut net = network(&[("a", 2)], config());
    let program = net.ready_program(2);
    let first = prove(&mut net, program, Some(2));
    let second = prove(&mut net, program, Some(2));
    assert_eq!(state(&net, second), JobState::Queued);
    assert_eq!(net.coordinator.queue_depth(), 1);
    assert_eq!(run_to_terminal(&mut net, first, 30), JobState::Completed);
    assert_eq!(run_to_terminal(&mut net, second, 30), JobState::Completed);
}

#[test]
fn submission_past_the_queue_limit_is_refused() {
    let mut net = network(
        &[("a", 1)],
        CoordinatorConfig {
            max_queued_jobs: 1,
            ..config()
        },
    );
    let program = net.ready_program(2);
    prove(&mut net, program, Some(1)); // starts at once
    prove(&mut net, program, Some(1)); // queued
    let refused = net.coordinator.submit_job(
        net.now,
        JobRequest {
            kind: JobKind::Prove,
            program,
            compute_units: Some(1),
        },
    );
    assert_eq!(refused, Err(SubmitError::QueueFull { max_queued_jobs: 1 }));
}

#[test]
fn queued_job_fails_when_no_capacity_frees_within_the_queue_timeout() {
    let mut net = network(&[("a", 1)], config());
    let program = net.ready_program(2);
    let job = prove(&mut net, program, Some(5));
    assert_eq!(
        run_to_terminal(&mut net, job, 60),
        JobState::Failed(FailureReason::QueueTimeout)
    );
}

#[test]
fn prove_job_for_a_program_without_ready_setup_is_refused() {
    let mut net = network(&[("a", 1)], config());
    let program = Network::program_with_segments(2);
    net.coordinator.register_program(program).unwrap();
    let result = net.coordinator.submit_job(
        net.now,
        JobRequest {
            kind: JobKind::Prove,
            program,
            compute_units: None,
        },
    );
    assert_eq!(result, Err(SubmitError::SetupNotReady(program)));
    let unknown = ProgramId([9; 32]);
    let result = net.coordinator.submit_job(
        net.now,
        JobRequest {
            kind: JobKind::Execute,
            program: unknown,
            compute_units: None,
        },
    );
    assert_eq!(result, Err(SubmitError::UnknownProgram(unknown)));
}

#[test]
fn requests_for_zero_or_too_many_compute_units_are_refused() {
    let mut net = network(&[("a", 1)], config());
    let program = net.ready_program(2);
    for units in [0, 100_001] {
        let result = net.coordinator.submit_job(
            net.now,
            JobRequest {
                kind: JobKind::Prove,
                program,
                compute_units: Some(units),
            },
        );
        assert!(
            matches!(result, Err(SubmitError::InvalidComputeUnits { .. })),
            "{units}: {result:?}"
        );
    }
}

#[test]
fn registration_past_max_total_workers_is_refused() {
    let mut net = Network::new(
        CoordinatorConfig {
            max_total_workers: 1,
            ..config()
        },
        1,
    );
    net.add_worker("a", 1, 10);
    net.add_worker("b", 1, 10);
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.coordinator.workers().count(), 1);
    assert!(net.metrics.contains(&MetricEvent::RegistrationRefused));
}

#[test]
fn registration_with_invalid_compute_units_or_protocol_version_is_refused() {
    let mut net = Network::new(config(), 1);
    net.add_worker("a", 1, 10);
    net.run_for(Duration::from_millis(50));
    for (connection, message) in [
        (
            ConnectionId(100),
            FromWorker::Register {
                worker: w("x"),
                compute_units: 0,
                protocol_version: PROTOCOL_VERSION,
            },
        ),
        (
            ConnectionId(101),
            FromWorker::Register {
                worker: w("y"),
                compute_units: 1,
                protocol_version: 99,
            },
        ),
        (
            ConnectionId(102),
            FromWorker::Register {
                worker: w(""),
                compute_units: 1,
                protocol_version: PROTOCOL_VERSION,
            },
        ),
    ] {
        net.coordinator
            .handle(net.now, Input::Connected { connection });
        net.coordinator.handle(
            net.now,
            Input::Message {
                connection,
                message,
            },
        );
    }
    let mut refusals = Vec::new();
    while let Some(output) = net.coordinator.poll_output() {
        if let Output::Send {
            message: ToWorker::Refused(refusal),
            ..
        } = output
        {
            refusals.push(refusal);
        }
    }
    assert_eq!(refusals.len(), 3);
    assert!(matches!(
        refusals[0],
        RegistrationRefusal::InvalidComputeUnits { advertised: 0, .. }
    ));
    assert!(matches!(
        refusals[1],
        RegistrationRefusal::ProtocolVersion { worker: 99, .. }
    ));
    assert_eq!(refusals[2], RegistrationRefusal::InvalidWorkerId);
    assert_eq!(net.coordinator.workers().count(), 1);
}

#[test]
fn connection_that_never_registers_is_closed_after_the_heartbeat_timeout() {
    let mut net = Network::new(config(), 1);
    net.coordinator.handle(
        Instant::from_millis(0),
        Input::Connected {
            connection: ConnectionId(55),
        },
    );
    assert_eq!(net.coordinator.connecting(), 1);
    net.coordinator.handle_timeout(Instant::from_millis(2_000));
    let closed = std::iter::from_fn(|| net.coordinator.poll_output()).any(|output| {
        matches!(
            output,
            Output::Close {
                connection: ConnectionId(55),
                ..
            }
        )
    });
    assert!(closed);
    assert_eq!(net.coordinator.connecting(), 0);
}

#[test]
fn killed_worker_has_its_partitions_reassigned_within_budget() {
    let mut net = network(&[("a", 2), ("b", 2), ("c", 2)], config());
    let program = net.ready_program(8);
    let job = prove(&mut net, program, Some(4));
    net.run_for(Duration::from_millis(5));
    let victim = first_worker(&net, job);
    net.kill_worker(&victim, true);
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
    assert!(reassigned(&net));
    assert!(net.coordinator.workers().all(|worker| worker.id != victim));
}

#[test]
fn silent_worker_is_detected_by_heartbeat_timeout_and_its_work_reassigned() {
    let mut net = network(&[("a", 2), ("b", 2)], config());
    let program = net.ready_program(6);
    let job = prove(&mut net, program, Some(2));
    net.run_for(Duration::from_millis(5));
    let victim = first_worker(&net, job);
    net.kill_worker(&victim, false);
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
    assert!(
        net.metrics
            .contains(&MetricEvent::HeartbeatMissed { worker: victim })
    );
}

#[test]
fn worker_reconnecting_within_the_grace_period_keeps_computing() {
    let mut net = network(
        &[("a", 2)],
        CoordinatorConfig {
            reconnect_grace_period: Duration::from_secs(10),
            ..config()
        },
    );
    let program = net.ready_program(6);
    let job = prove(&mut net, program, Some(2));
    net.run_for(Duration::from_millis(5));
    // Cut the link long enough for both sides to notice, then heal it.
    net.partitioned.insert(w("a"));
    net.run_for(Duration::from_secs(3));
    assert_eq!(
        net.coordinator.workers().next().unwrap().state(),
        WorkerState::Disconnected
    );
    net.partitioned.clear();
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
    assert!(!reassigned(&net));
    assert!(net.coordinator.workers().next().unwrap().generation.0 >= 2);
}

#[test]
fn worker_returning_after_its_grace_period_is_told_to_drop_the_stale_job() {
    let mut net = network(&[("a", 2), ("b", 2)], config());
    let program = net.ready_program(6);
    let job = prove(&mut net, program, Some(2));
    net.run_for(Duration::from_millis(5));
    let victim = first_worker(&net, job);
    net.partitioned.insert(victim.clone());
    net.run_for(Duration::from_secs(4));
    net.partitioned.clear();
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
    // The victim came back and is idle, not working on the old job.
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.workers[&victim].core.job(), None);
    assert!(
        net.coordinator
            .workers()
            .any(|worker| worker.id == victim && worker.state() == WorkerState::Ready)
    );
}

#[test]
fn lost_aggregator_is_replaced_and_the_job_still_completes() {
    let mut net = network(&[("a", 1), ("b", 1), ("c", 1)], config());
    // Slow down "c" so that the aggregator is a, b, and kill it as soon as it is elected.
    net.workers.get_mut(&w("c")).unwrap().work_ms = 300;
    let program = net.ready_program(6);
    let job = prove(&mut net, program, Some(3));
    let elected = net.run_until(net.now + Duration::from_secs(10), |n| {
        n.coordinator.job(job).unwrap().aggregator.is_some()
    });
    assert!(elected);
    let aggregator = net
        .coordinator
        .job(job)
        .unwrap()
        .aggregator
        .as_ref()
        .unwrap()
        .worker
        .clone();
    assert_ne!(aggregator, w("c"));
    net.kill_worker(&aggregator, true);
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
    assert_eq!(net.coordinator.job(job).unwrap().aggregation_failures, 1);
}

#[test]
fn stale_fenced_result_is_rejected_and_counted_without_changing_state() {
    let mut net = network(&[("a", 2)], config());
    let program = net.ready_program(4);
    let job = prove(&mut net, program, Some(2));
    net.run_for(Duration::from_millis(3));
    let before = format!("{:?}", net.coordinator.job(job).unwrap());
    let summary = ExecutionSummary {
        segment_count: 4,
        cycles: 1,
        outputs_digest: Digest::default(),
    };
    for fence in [
        Fence {
            epoch: Epoch(0),
            job,
            attempt: Attempt(1),
        },
        Fence {
            epoch: Epoch(1),
            job,
            attempt: Attempt(99),
        },
        Fence {
            epoch: Epoch(1),
            job: JobId(12345),
            attempt: Attempt(1),
        },
    ] {
        let message = FromWorker::Contributed {
            fence,
            partition: PartitionId(0),
            summary: summary.clone(),
            contributions: vec![],
        };
        net.inject(&w("a"), message);
    }
    assert_eq!(format!("{:?}", net.coordinator.job(job).unwrap()), before);
    assert_eq!(net.coordinator.counters().stale_results, 3);
}

#[test]
fn duplicated_messages_are_idempotent() {
    let mut net = network(&[("a", 2), ("b", 1)], config());
    net.faults.duplicate_per_mille = 1000;
    let program = net.ready_program(7);
    let job = prove(&mut net, program, Some(3));
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
    assert!(net.coordinator.counters().duplicate_results > 0);
    net.coordinator.check_invariants().unwrap();
}

#[test]
fn repeated_task_failures_exhaust_the_retry_budget_and_fail_the_job_with_a_reason() {
    let mut net = network(&[("a", 1)], config());
    let program = net.ready_program(2);
    let job = prove(&mut net, program, Some(1));
    for _ in 0..4 {
        net.run_for(Duration::from_millis(2));
        let Some(task) = net
            .coordinator
            .job(job)
            .and_then(|j| j.tasks.get(&PartitionId(0)).cloned())
        else {
            break;
        };
        let fence = Fence {
            epoch: Epoch(1),
            job,
            attempt: task.attempt,
        };
        net.inject(
            &w("a"),
            FromWorker::Failed {
                fence,
                reason: "out of memory".into(),
                kind: FailureKind::Retryable,
            },
        );
    }
    match state(&net, job) {
        JobState::Failed(FailureReason::RetryBudgetExhausted {
            partition,
            last_error,
        }) => {
            assert_eq!(partition, PartitionId(0));
            assert!(last_error.contains("out of memory"), "{last_error}");
        }
        other => panic!("expected budget exhaustion, got {other:?}"),
    }
}

#[test]
fn phase_that_runs_past_its_timeout_fails_the_job() {
    let mut net = network(&[("a", 1)], config());
    let program = net.ready_program(2);
    net.workers.get_mut(&w("a")).unwrap().work_ms = 60_000;
    let job = prove(&mut net, program, Some(1));
    assert_eq!(
        run_to_terminal(&mut net, job, 30),
        JobState::Failed(FailureReason::PhaseTimeout(Phase::Contributions))
    );
    assert!(
        net.coordinator
            .workers()
            .all(|worker| worker.booked.is_none())
    );
}

#[test]
fn client_cancel_stops_the_workers_and_frees_them_for_the_next_job() {
    let mut net = network(&[("a", 2)], config());
    let program = net.ready_program(6);
    let job = prove(&mut net, program, Some(2));
    let next = prove(&mut net, program, Some(2));
    net.run_for(Duration::from_millis(5));
    net.coordinator.cancel_job(net.now, job).unwrap();
    net.flush();
    assert_eq!(state(&net, job), JobState::Cancelled);
    assert_eq!(
        net.coordinator.cancel_job(net.now, job),
        Err(CancelError::AlreadyTerminal {
            job,
            state: "cancelled"
        })
    );
    assert_eq!(run_to_terminal(&mut net, next, 30), JobState::Completed);
}

#[test]
fn queued_job_can_be_cancelled_and_leaves_the_queue() {
    let mut net = network(&[("a", 1)], config());
    let program = net.ready_program(2);
    prove(&mut net, program, Some(1));
    let queued = prove(&mut net, program, Some(1));
    net.coordinator.cancel_job(net.now, queued).unwrap();
    assert_eq!(net.coordinator.queue_depth(), 0);
    assert_eq!(
        net.coordinator.cancel_job(net.now, JobId(1)),
        Err(CancelError::UnknownJob(JobId(1)))
    );
}

#[test]
fn finished_jobs_are_evicted_after_their_ttl() {
    let mut net = network(&[("a", 1)], config());
    let program = net.ready_program(2);
    let job = prove(&mut net, program, Some(1));
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
    net.run_for(Duration::from_secs(61));
    assert!(net.coordinator.job(job).is_none());
    assert!(net.metrics.contains(&MetricEvent::JobEvicted));
}

#[test]
fn drain_refuses_new_work_and_fails_what_is_left_at_the_deadline() {
    let mut net = network(
        &[("a", 1)],
        CoordinatorConfig {
            phase1_timeout: Duration::from_secs(600),
            ..config()
        },
    );
    let program = net.ready_program(2);
    net.workers.get_mut(&w("a")).unwrap().work_ms = 100_000;
    let job = prove(&mut net, program, Some(1));
    net.coordinator
        .begin_drain(net.now, Duration::from_secs(10));
    let refused = net.coordinator.submit_job(
        net.now,
        JobRequest {
            kind: JobKind::Prove,
            program,
            compute_units: Some(1),
        },
    );
    assert_eq!(refused, Err(SubmitError::Draining));
    assert!(!net.drain_complete);
    assert_eq!(
        run_to_terminal(&mut net, job, 30),
        JobState::Failed(FailureReason::Drained)
    );
    net.flush();
    assert!(net.drain_complete);
}

#[test]
fn drain_with_nothing_running_completes_at_once() {
    let mut net = network(&[("a", 1)], config());
    net.coordinator
        .begin_drain(net.now, Duration::from_secs(10));
    net.flush();
    assert!(net.drain_complete);
}

#[test]
fn setup_results_that_disagree_between_workers_fail_the_setup() {
    let mut net = network(&[("a", 1), ("b", 1)], config());
    let program = Network::program_with_segments(2);
    net.coordinator.register_program(program).unwrap();
    net.coordinator.request_setup(net.now, program).unwrap();
    net.flush();
    net.inject(
        &w("a"),
        FromWorker::SetupDone {
            program,
            result: Ok(Digest([1; 32])),
        },
    );
    net.inject(
        &w("b"),
        FromWorker::SetupDone {
            program,
            result: Ok(Digest([2; 32])),
        },
    );
    match net.coordinator.program(program) {
        Some(ProgramState::SetupFailed { reason }) => {
            assert!(reason.contains("disagree"), "{reason}")
        }
        other => panic!("expected a failed setup, got {other:?}"),
    }
}

#[test]
fn setup_reported_failed_by_a_worker_fails_with_its_error() {
    let mut net = network(&[("a", 1)], config());
    let program = Network::program_with_segments(2);
    net.coordinator.register_program(program).unwrap();
    net.coordinator.request_setup(net.now, program).unwrap();
    net.flush();
    net.inject(
        &w("a"),
        FromWorker::SetupDone {
            program,
            result: Err("bad ELF".into()),
        },
    );
    assert!(
        matches!(net.coordinator.program(program), Some(ProgramState::SetupFailed { reason }) if reason.contains("bad ELF"))
    );
    // A failed setup may be requested again.
    net.coordinator.request_setup(net.now, program).unwrap();
    assert!(matches!(
        net.coordinator.program(program),
        Some(ProgramState::SetupRunning { .. })
    ));
}

#[test]
fn late_joining_worker_gets_active_setups_before_it_is_eligible() {
    let mut net = network(&[("a", 1)], config());
    let program = net.ready_program(2);
    net.add_worker("late", 1, 10);
    net.workers.get_mut(&w("late")).unwrap().work_ms = 500;
    net.run_until(net.now + Duration::from_secs(1), |n| {
        n.coordinator.workers().count() == 2
    });
    let late = |n: &Network| {
        n.coordinator
            .workers()
            .find(|x| x.id == w("late"))
            .unwrap()
            .state()
    };
    assert_eq!(late(&net), WorkerState::SettingUp);
    net.run_for(Duration::from_secs(1));
    assert_eq!(late(&net), WorkerState::Ready);
    let job = prove(&mut net, program, Some(2));
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
}

#[test]
fn faulty_contribution_is_caught_at_aggregation_and_phase_one_starts_over() {
    let mut net = network(&[("good", 1), ("bad", 1)], config());
    net.workers.get_mut(&w("bad")).unwrap().faulty = true;
    net.workers.get_mut(&w("bad")).unwrap().work_ms = 50;
    let program = net.ready_program(4);
    let job = prove(&mut net, program, Some(2));
    assert_eq!(run_to_terminal(&mut net, job, 60), JobState::Completed);
    assert!(
        net.metrics
            .contains(&MetricEvent::WorkerFaulty { worker: w("bad") })
    );
    assert!(net.coordinator.job(job).unwrap().restarts >= 1);
}

#[test]
fn restarted_worker_with_the_same_id_has_its_work_reassigned_at_once() {
    let mut net = network(
        &[("a", 1), ("b", 1)],
        CoordinatorConfig {
            reconnect_grace_period: Duration::from_secs(30),
            ..config()
        },
    );
    let program = net.ready_program(4);
    let job = prove(&mut net, program, Some(2));
    net.run_for(Duration::from_millis(5));
    net.kill_worker(&w("a"), false);
    net.restart_worker(&w("a"));
    // Well inside the 30 s grace period, the fresh registration already moved the work.
    assert_eq!(run_to_terminal(&mut net, job, 10), JobState::Completed);
    assert!(reassigned(&net));
}

#[test]
fn messages_from_a_superseded_connection_are_ignored() {
    let mut net = network(&[("a", 1)], config());
    let old = net.workers[&w("a")].connection.unwrap();
    net.partitioned.insert(w("a"));
    net.run_for(Duration::from_secs(3));
    net.partitioned.clear();
    net.run_for(Duration::from_secs(1));
    assert_ne!(net.workers[&w("a")].connection, Some(old));
    net.coordinator.handle(
        net.now,
        Input::Message {
            connection: old,
            message: FromWorker::Heartbeat,
        },
    );
    assert_eq!(net.coordinator.counters().stale_connection_messages, 1);
}

#[test]
fn max_workers_per_job_caps_the_reservation() {
    let mut net = network(
        &[("a", 1), ("b", 1), ("c", 1)],
        CoordinatorConfig {
            max_workers_per_job: 2,
            ..config()
        },
    );
    let program = net.ready_program(2);
    let job = prove(&mut net, program, Some(3));
    assert_eq!(
        state(&net, job),
        JobState::Queued,
        "three units need three workers; only two allowed"
    );
    let fits = prove(&mut net, program, Some(2));
    assert_eq!(
        state(&net, fits),
        JobState::Queued,
        "strict FIFO: the head blocks the queue"
    );
    net.coordinator.cancel_job(net.now, job).unwrap();
    net.flush();
    assert_eq!(net.coordinator.job(fits).unwrap().workers.len(), 2);
}

#[test]
fn worker_buffers_results_while_disconnected_and_sends_them_after_keep_computing() {
    let mut net = network(
        &[("a", 1)],
        CoordinatorConfig {
            reconnect_grace_period: Duration::from_secs(20),
            ..config()
        },
    );
    let program = net.ready_program(2);
    net.workers.get_mut(&w("a")).unwrap().work_ms = 3_300;
    let job = prove(&mut net, program, Some(1));
    net.run_for(Duration::from_millis(5));
    net.partitioned.insert(w("a"));
    net.run_for(Duration::from_millis(3_400));
    assert!(!net.workers[&w("a")].core.is_connected());
    assert!(net.workers[&w("a")].core.buffered_results() > 0);
    net.partitioned.clear();
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
}

#[test]
fn draining_worker_finishes_its_work_then_exits_and_takes_no_more() {
    let mut net = network(&[("a", 1), ("b", 1)], config());
    let program = net.ready_program(3);
    let job = prove(&mut net, program, Some(1));
    net.run_for(Duration::from_millis(3));
    let busy = first_worker(&net, job);
    let now = net.now;
    net.workers.get_mut(&busy).unwrap().core.begin_drain(now);
    net.flush();
    assert!(!net.workers[&busy].core.has_exited());
    net.run_until(net.now + Duration::from_secs(10), |n| {
        n.workers[&busy].core.has_exited()
    });
    assert!(net.workers[&busy].core.has_exited());
    // The job still completes, on the other worker if need be.
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
}

#[test]
fn program_registry_refuses_programs_past_its_limit_and_while_draining() {
    let mut net = Network::new(
        CoordinatorConfig {
            max_programs: 1,
            ..config()
        },
        1,
    );
    net.coordinator
        .register_program(ProgramId([1; 32]))
        .unwrap();
    net.coordinator
        .register_program(ProgramId([1; 32]))
        .unwrap(); // idempotent
    assert_eq!(
        net.coordinator.register_program(ProgramId([2; 32])),
        Err(RegisterProgramError::RegistryFull { max_programs: 1 })
    );
    net.coordinator.begin_drain(net.now, Duration::from_secs(1));
    assert_eq!(
        net.coordinator.request_setup(net.now, ProgramId([1; 32])),
        Err(SetupError::Draining)
    );
    assert_eq!(
        net.coordinator.request_setup(net.now, ProgramId([5; 32])),
        Err(SetupError::UnknownProgram(ProgramId([5; 32])))
    );
}

#[test]
fn setup_that_no_worker_answers_times_out() {
    let mut net = Network::new(config(), 1);
    let program = ProgramId([4; 32]);
    net.coordinator.register_program(program).unwrap();
    net.coordinator.request_setup(net.now, program).unwrap();
    net.run_for(Duration::from_secs(6));
    assert!(
        matches!(net.coordinator.program(program), Some(ProgramState::SetupFailed { reason }) if reason.contains("timed out"))
    );
}

#[test]
fn job_admission_is_persisted_before_the_job_is_announced() {
    let mut net = network(&[("a", 1)], config());
    let program = net.ready_program(2);
    let job = net
        .coordinator
        .submit_job(
            net.now,
            JobRequest {
                kind: JobKind::Prove,
                program,
                compute_units: Some(1),
            },
        )
        .unwrap();
    let outputs: Vec<Output> = std::iter::from_fn(|| net.coordinator.poll_output()).collect();
    let persisted = outputs
        .iter()
        .position(|o| matches!(o, Output::Persist(Record::JobAdmitted { job: j, .. }) if *j == job))
        .unwrap();
    let announced = outputs
        .iter()
        .position(|o| {
            matches!(
                o,
                Output::Job(JobEvent {
                    kind: JobEventKind::Queued { .. },
                    ..
                })
            )
        })
        .unwrap();
    let assigned = outputs
        .iter()
        .position(|o| {
            matches!(
                o,
                Output::Send {
                    message: ToWorker::AssignContributions { .. },
                    ..
                }
            )
        })
        .unwrap();
    assert!(persisted < announced && persisted < assigned);
}

#[test]
fn rejected_partial_proof_marks_its_producer_faulty_and_is_proved_again() {
    let mut net = network(&[("a", 1), ("b", 1), ("c", 1)], config());
    let program = net.ready_program(6);
    // "b" produces proofs that do not verify; it is slow, so it is never the aggregator.
    net.workers.get_mut(&w("b")).unwrap().bad_proofs = true;
    net.workers.get_mut(&w("b")).unwrap().work_ms = 200;
    let job = prove(&mut net, program, Some(3));
    assert_eq!(run_to_terminal(&mut net, job, 30), JobState::Completed);
    assert!(
        net.metrics
            .contains(&MetricEvent::WorkerFaulty { worker: w("b") })
    );
    assert!(
        net.metrics
            .iter()
            .any(|m| matches!(m, MetricEvent::ProofRejected { .. }))
    );
    let held = net.coordinator.job(job).unwrap();
    assert!(held.failures.values().any(|count| *count >= 1));
    assert!(held.proofs.values().all(|proof| proof.producer != w("b")));
}

#[test]
fn guest_fault_fails_the_job_at_once_without_retries() {
    let mut net = network(&[("a", 1), ("b", 1)], config());
    let program = net.ready_program(4);
    let job = prove(&mut net, program, Some(2));
    net.run_for(Duration::from_millis(2));
    let task = net.coordinator.job(job).unwrap().tasks[&PartitionId(0)].clone();
    let fence = Fence {
        epoch: Epoch(1),
        job,
        attempt: task.attempt,
    };
    let worker = task.worker.unwrap();
    let reason = "illegal instruction at pc 0x1000".to_owned();
    net.inject(
        &worker,
        FromWorker::Failed {
            fence,
            reason,
            kind: FailureKind::GuestFault,
        },
    );
    match state(&net, job) {
        JobState::Failed(FailureReason::GuestFault { message }) => {
            assert!(message.contains("pc 0x1000"))
        }
        other => panic!("expected a guest fault, got {other:?}"),
    }
    assert!(
        net.coordinator.job(job).unwrap().failures.is_empty(),
        "no retry was charged"
    );
}
