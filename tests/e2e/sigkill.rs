//! A worker killed mid-job: the job completes on the other worker.

use std::time::Duration;

use nix::sys::signal::Signal;
use sha2::{Digest, Sha256};
use zisk_proto::client::v1 as api;
use zisk_proto::client::v1::job_event::Event;

use crate::harness::*;

/// Input of the SHA-256 guest: large enough that one execution takes seconds.
const INPUT_BYTES: usize = 16 << 20;

#[test]
fn a_job_completes_on_another_worker_after_its_worker_is_sigkilled() {
    let scratch = scratch();
    let ports = Ports::free();
    let coordinator = start_coordinator(ports, scratch.path(), &[]);
    let mut workers = [
        (
            "worker-a",
            Some(start_worker("worker-a", ports, scratch.path())),
        ),
        (
            "worker-b",
            Some(start_worker("worker-b", ports, scratch.path())),
        ),
    ];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    wait_for_workers(&runtime, ports, 2);

    let input = pseudo_random_bytes(INPUT_BYTES);
    let expected = Sha256::digest(&input).to_vec();
    let mut client = client(&runtime, ports);
    let elf = std::fs::read(guest("sha256")).unwrap();
    let program = runtime.block_on(client.register("sha256", elf)).unwrap();
    let job_id = runtime
        .block_on(client.submit(false, &program.program_id, input, None))
        .unwrap();

    // Find the worker running the job and kill it.
    let busy = wait_for("a worker to run the job", Duration::from_secs(10), || {
        let workers = runtime.block_on(client.workers()).ok()?;
        workers
            .workers
            .into_iter()
            .find(|worker| {
                worker.job_ids.contains(&job_id) && worker.state == api::WorkerState::Busy as i32
            })
            .map(|worker| worker.worker_id)
    });
    let job = runtime.block_on(client.job(&job_id)).unwrap();
    assert_eq!(
        job.state,
        zisk_proto::common::v1::JobState::Running as i32,
        "the job ended before the kill: make the input larger"
    );
    let victim = workers.iter_mut().find(|(id, _)| *id == busy).unwrap();
    let mut process = victim.1.take().unwrap();
    process.signal(Signal::SIGKILL);
    process.wait(Duration::from_secs(5));

    let mut events = Vec::new();
    let job = runtime
        .block_on(async {
            tokio::time::timeout(
                Duration::from_secs(60),
                client.follow(&job_id, |event| events.push(event.clone())),
            )
            .await
        })
        .expect("the job did not finish within 60 s")
        .unwrap();
    let Some(api::job::Outcome::Execute(outcome)) = job.outcome else {
        panic!(
            "the job did not complete: {job:?}\ncoordinator log:\n{}",
            coordinator.log()
        );
    };
    assert_eq!(outcome.public_outputs.to_vec(), expected);
    assert!(
        !events.iter().any(|event| matches!(event, Event::Failed(_))),
        "{events:?}"
    );

    let (_, metrics) = http_get(ports.metrics, "/metrics").unwrap();
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("zisk_partitions_reassigned_total")
                && !line.ends_with(" 0")),
        "no reassignment counted:\n{metrics}"
    );
    drop(process);
}
