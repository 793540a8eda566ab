//! SIGTERM on the coordinator: running jobs finish, new ones are refused, the process exits 0.

use std::time::Duration;

use nix::sys::signal::Signal;
use zisk_proto::client::v1 as api;

use crate::harness::*;

#[test]
fn sigterm_lets_the_running_job_finish_refuses_new_ones_and_exits_zero() {
    let scratch = scratch();
    let ports = Ports::free();
    let mut coordinator =
        start_coordinator(ports, scratch.path(), &["--shutdown-timeout-seconds", "30"]);
    let _worker = start_worker("worker-a", ports, scratch.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    wait_for_workers(&runtime, ports, 1);

    let mut client = client(&runtime, ports);
    let elf = std::fs::read(guest("sha256")).unwrap();
    let program = runtime.block_on(client.register("sha256", elf)).unwrap();
    let job_id = runtime
        .block_on(client.submit(
            false,
            &program.program_id,
            pseudo_random_bytes(4 << 20),
            None,
        ))
        .unwrap();
    let mut watcher = client.clone();
    let watched = job_id.clone();
    let finished = runtime.spawn(async move { watcher.follow(&watched, |_| {}).await });
    wait_for("the job to run", Duration::from_secs(10), || {
        let job = runtime.block_on(client.job(&job_id)).ok()?;
        (job.state == zisk_proto::common::v1::JobState::Running as i32).then_some(())
    });

    coordinator.signal(Signal::SIGTERM);
    let refused = wait_for(
        "the drain to refuse new jobs",
        Duration::from_secs(10),
        || match runtime.block_on(client.submit(false, &program.program_id, vec![1, 2, 3], None)) {
            Err(error) => Some(error.to_string()),
            Ok(_) => None,
        },
    );
    assert!(refused.contains("ERROR_CODE_DRAINING"), "{refused}");

    let job = runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), finished).await })
        .expect("the job did not finish within 60 s")
        .unwrap()
        .unwrap();
    assert!(
        matches!(job.outcome, Some(api::job::Outcome::Execute(_))),
        "{job:?}"
    );
    let status = coordinator.wait(Duration::from_secs(20));
    assert!(
        status.success(),
        "the coordinator exited with {status}; log:\n{}",
        coordinator.log()
    );
    assert!(
        coordinator.log().contains("drain complete"),
        "{}",
        coordinator.log()
    );
}

#[test]
fn sigterm_on_an_idle_worker_drains_it_and_it_exits_zero() {
    let scratch = scratch();
    let ports = Ports::free();
    let _coordinator = start_coordinator(ports, scratch.path(), &[]);
    let mut worker = start_worker("worker-a", ports, scratch.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    wait_for_workers(&runtime, ports, 1);
    worker.signal(Signal::SIGTERM);
    let status = worker.wait(Duration::from_secs(10));
    assert!(
        status.success(),
        "the worker exited with {status}; log:\n{}",
        worker.log()
    );
    assert!(worker.log().contains("worker drained"), "{}", worker.log());
}
