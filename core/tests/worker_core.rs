//! Unit tests of the worker core's transitions, driven by hand.

use std::time::Duration;

use zisk_core::*;

fn at(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

fn config() -> WorkerConfig {
    WorkerConfig {
        compute_units: 4,
        reconnect_interval: Duration::from_secs(5),
        heartbeat_timeout: Duration::from_secs(30),
        max_buffered_results: 2,
    }
}

fn drain(core: &mut WorkerCore) -> Vec<WorkerOutput> {
    std::iter::from_fn(|| core.poll_output()).collect()
}

fn fence(attempt: u32) -> Fence {
    Fence {
        epoch: Epoch(1),
        job: JobId(7),
        attempt: Attempt(attempt),
    }
}

fn registered(generation: u64) -> ToWorker {
    ToWorker::Registered {
        worker: WorkerId::from("w"),
        generation: Generation(generation),
        epoch: Epoch(1),
        heartbeat_interval_ms: 1000,
    }
}

/// A worker connected and registered at t=0.
fn connected() -> WorkerCore {
    let mut core = WorkerCore::new(WorkerId::from("w"), config());
    core.handle_timeout(at(0));
    core.handle(at(0), WorkerInput::Connected);
    core.handle(at(0), WorkerInput::Message(registered(1)));
    drain(&mut core);
    core
}

fn assignment(attempt: u32) -> ToWorker {
    ToWorker::AssignContributions {
        fence: fence(attempt),
        program: ProgramId([1; 32]),
        partition_count: 2,
        partitions: vec![PartitionId(0), PartitionId(1)],
    }
}

fn contributed(attempt: u32, partition: u32) -> WorkResult {
    WorkResult::Contributed {
        fence: fence(attempt),
        partition: PartitionId(partition),
        summary: ExecutionSummary {
            segment_count: 2,
            cycles: 10,
            outputs_digest: Digest::default(),
        },
        contributions: vec![],
    }
}

#[test]
fn new_worker_dials_at_once_and_registers_fresh_on_its_first_stream() {
    let mut core = WorkerCore::new(WorkerId::from("w"), config());
    assert_eq!(core.poll_timeout(), Some(at(0)));
    core.handle_timeout(at(0));
    assert_eq!(drain(&mut core), vec![WorkerOutput::Dial]);
    core.handle(at(1), WorkerInput::Connected);
    let outputs = drain(&mut core);
    assert!(matches!(
        &outputs[..],
        [WorkerOutput::Send(FromWorker::Register {
            compute_units: 4,
            protocol_version: PROTOCOL_VERSION,
            ..
        })]
    ));
}

#[test]
fn failed_dial_is_retried_after_the_reconnect_interval() {
    let mut core = WorkerCore::new(WorkerId::from("w"), config());
    core.handle_timeout(at(0));
    drain(&mut core);
    core.handle(at(10), WorkerInput::Disconnected);
    assert_eq!(core.poll_timeout(), Some(at(5_010)));
    core.handle_timeout(at(5_009));
    assert!(drain(&mut core).is_empty());
    core.handle_timeout(at(5_010));
    assert_eq!(drain(&mut core), vec![WorkerOutput::Dial]);
}

#[test]
fn registered_worker_sends_heartbeats_every_interval() {
    let mut core = connected();
    core.handle_timeout(at(1_000));
    assert_eq!(
        drain(&mut core),
        vec![WorkerOutput::Send(FromWorker::Heartbeat)]
    );
    core.handle_timeout(at(1_500));
    assert!(drain(&mut core).is_empty());
}

#[test]
fn silent_coordinator_makes_the_worker_drop_the_stream_and_reconnect_with_what_it_holds() {
    let mut core = connected();
    core.handle(at(100), WorkerInput::Message(assignment(1)));
    drain(&mut core);
    core.handle_timeout(at(30_100));
    let outputs = drain(&mut core);
    assert!(
        outputs
            .iter()
            .any(|output| matches!(output, WorkerOutput::CloseConnection { .. }))
    );
    assert!(!core.is_connected());
    core.handle_timeout(at(35_100));
    assert_eq!(drain(&mut core), vec![WorkerOutput::Dial]);
    core.handle(at(35_200), WorkerInput::Connected);
    let outputs = drain(&mut core);
    assert!(
        matches!(&outputs[..], [WorkerOutput::Send(FromWorker::Reconnect { held: Some(held), .. })] if *held == fence(1))
    );
}

#[test]
fn assignment_is_acknowledged_and_started_once_even_when_sent_twice() {
    let mut core = connected();
    core.handle(at(1), WorkerInput::Message(assignment(1)));
    let first = drain(&mut core);
    assert_eq!(
        first[0],
        WorkerOutput::Send(FromWorker::Accepted { fence: fence(1) })
    );
    assert!(matches!(
        first[1],
        WorkerOutput::Start(WorkOrder::Contribute { .. })
    ));
    core.handle(at(2), WorkerInput::Message(assignment(1)));
    assert_eq!(
        drain(&mut core),
        vec![WorkerOutput::Send(FromWorker::Accepted { fence: fence(1) })]
    );
    assert_eq!(core.job(), Some(JobId(7)));
}

#[test]
fn results_of_a_cancelled_job_are_dropped() {
    let mut core = connected();
    core.handle(at(1), WorkerInput::Message(assignment(1)));
    drain(&mut core);
    core.handle(
        at(2),
        WorkerInput::Message(ToWorker::Cancel { job: JobId(7) }),
    );
    assert_eq!(
        drain(&mut core),
        vec![WorkerOutput::Abort { job: JobId(7) }]
    );
    core.handle(at(3), WorkerInput::WorkDone(contributed(1, 0)));
    assert!(drain(&mut core).is_empty());
    assert_eq!(core.job(), None);
}

#[test]
fn results_produced_while_disconnected_are_buffered_within_the_limit_and_replayed_on_keep_computing()
 {
    let mut core = connected();
    core.handle(at(1), WorkerInput::Message(assignment(1)));
    drain(&mut core);
    core.handle(at(2), WorkerInput::Disconnected);
    core.handle(at(3), WorkerInput::WorkDone(contributed(1, 0)));
    core.handle(at(4), WorkerInput::WorkDone(contributed(1, 1)));
    assert_eq!(core.buffered_results(), 2);
    core.handle(at(5), WorkerInput::WorkDone(contributed(1, 1)));
    assert_eq!(
        core.buffered_results(),
        2,
        "the buffer is bounded by max_buffered_results"
    );
    core.handle_timeout(at(5_002));
    core.handle(at(5_003), WorkerInput::Connected);
    core.handle(at(5_004), WorkerInput::Message(registered(2)));
    drain(&mut core);
    core.handle(
        at(5_005),
        WorkerInput::Message(ToWorker::Directive(ReconnectDirective::KeepComputing {
            job: JobId(7),
        })),
    );
    let sent = drain(&mut core)
        .into_iter()
        .filter(|output| matches!(output, WorkerOutput::Send(FromWorker::Contributed { .. })))
        .count();
    assert!(sent >= 2, "buffered results are sent after KeepComputing");
}

#[test]
fn cancel_stale_job_directive_drops_the_job_and_its_buffered_results() {
    let mut core = connected();
    core.handle(at(1), WorkerInput::Message(assignment(1)));
    drain(&mut core);
    core.handle(at(2), WorkerInput::Disconnected);
    core.handle(at(3), WorkerInput::WorkDone(contributed(1, 0)));
    core.handle_timeout(at(5_002));
    core.handle(at(5_003), WorkerInput::Connected);
    core.handle(at(5_004), WorkerInput::Message(registered(2)));
    drain(&mut core);
    core.handle(
        at(5_005),
        WorkerInput::Message(ToWorker::Directive(ReconnectDirective::CancelStaleJob {
            job: JobId(7),
        })),
    );
    assert_eq!(
        drain(&mut core),
        vec![WorkerOutput::Abort { job: JobId(7) }]
    );
    assert_eq!(core.buffered_results(), 0);
    assert_eq!(core.job(), None);
}

#[test]
fn repeated_setup_request_is_answered_from_the_finished_setup() {
    let mut core = connected();
    let program = ProgramId([3; 32]);
    core.handle(at(1), WorkerInput::Message(ToWorker::Setup { program }));
    assert_eq!(
        drain(&mut core),
        vec![WorkerOutput::Start(WorkOrder::Setup { program })]
    );
    core.handle(at(2), WorkerInput::Message(ToWorker::Setup { program }));
    assert!(
        drain(&mut core).is_empty(),
        "a running setup is not started twice"
    );
    core.handle(
        at(3),
        WorkerInput::WorkDone(WorkResult::SetupDone {
            program,
            result: Ok(Digest([9; 32])),
        }),
    );
    drain(&mut core);
    core.handle(at(4), WorkerInput::Message(ToWorker::Setup { program }));
    assert_eq!(
        drain(&mut core),
        vec![WorkerOutput::Send(FromWorker::SetupDone {
            program,
            result: Ok(Digest([9; 32]))
        })]
    );
}

#[test]
fn refused_registration_closes_the_stream_and_retries_later() {
    let mut core = WorkerCore::new(WorkerId::from("w"), config());
    core.handle_timeout(at(0));
    core.handle(at(0), WorkerInput::Connected);
    drain(&mut core);
    let refusal = RegistrationRefusal::PoolFull {
        max_total_workers: 1,
    };
    core.handle(
        at(1),
        WorkerInput::Message(ToWorker::Refused(refusal.clone())),
    );
    let outputs = drain(&mut core);
    assert_eq!(outputs[0], WorkerOutput::Refused(refusal));
    assert!(matches!(outputs[1], WorkerOutput::CloseConnection { .. }));
    assert_eq!(core.poll_timeout(), Some(at(5_001)));
}

#[test]
fn draining_worker_refuses_new_assignments_and_exits_after_its_last_result() {
    let mut core = connected();
    core.handle(at(1), WorkerInput::Message(assignment(1)));
    drain(&mut core);
    core.begin_drain(at(2));
    assert_eq!(
        drain(&mut core),
        vec![WorkerOutput::Send(FromWorker::Draining)]
    );
    let other = ToWorker::AssignExecute {
        fence: fence(9),
        program: ProgramId([1; 32]),
    };
    core.handle(at(3), WorkerInput::Message(other));
    assert!(matches!(
        &drain(&mut core)[..],
        [WorkerOutput::Send(FromWorker::Failed { .. })]
    ));
    core.handle(at(4), WorkerInput::WorkDone(contributed(1, 0)));
    assert!(!drain(&mut core).contains(&WorkerOutput::Exit));
    core.handle(at(5), WorkerInput::WorkDone(contributed(1, 1)));
    assert_eq!(drain(&mut core).last(), Some(&WorkerOutput::Exit));
    assert!(core.has_exited());
}

#[test]
fn idle_worker_exits_at_once_on_drain() {
    let mut core = connected();
    core.begin_drain(at(1));
    assert_eq!(
        drain(&mut core),
        vec![WorkerOutput::Send(FromWorker::Draining), WorkerOutput::Exit]
    );
    assert_eq!(core.poll_timeout(), None);
}
