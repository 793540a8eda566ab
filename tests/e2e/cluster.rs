//! The happy path: a coordinator, two workers and the CLI; metrics and health.

use std::time::Duration;

use crate::harness::*;

#[test]
fn a_cluster_of_two_workers_executes_a_guest_through_the_cli() {
    let scratch = scratch();
    let ports = Ports::free();
    let _coordinator = start_coordinator(ports, scratch.path(), &[]);
    let _first = start_worker("worker-a", ports, scratch.path());
    let _second = start_worker("worker-b", ports, scratch.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    wait_for_workers(&runtime, ports, 2);

    let input = scratch.path().join("fib.in");
    std::fs::write(&input, 10u32.to_le_bytes()).unwrap();
    let url = ports.api_url();
    let elf = guest("fibonacci");
    let output = run_cli(
        &[
            "--coordinator",
            &url,
            "execute",
            elf.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    // fib(10) = 55: the guest commits n and fib(n) as little-endian u32 and u64.
    assert!(
        stdout.contains("public outputs (12 bytes): 0a0000003700000000000000"),
        "{}",
        describe(&output)
    );

    let workers = run_cli(&["--coordinator", &url, "workers"], Duration::from_secs(10));
    let listing = String::from_utf8_lossy(&workers.stdout);
    assert!(
        listing.contains("worker-a") && listing.contains("worker-b"),
        "{}",
        describe(&workers)
    );
    let jobs = run_cli(&["--coordinator", &url, "jobs"], Duration::from_secs(10));
    assert!(
        String::from_utf8_lossy(&jobs.stdout).contains("completed"),
        "{}",
        describe(&jobs)
    );

    let (status, metrics) = http_get(ports.metrics, "/metrics").unwrap();
    assert_eq!(status, 200, "{metrics}");
    for expected in [
        "zisk_jobs_total{kind=\"execute\",outcome=\"completed\"} 1",
        "zisk_api_requests_total{method=\"Execute\",status=\"Ok\"} 1",
        "zisk_workers_connected 2",
        "zisk_workers{state=\"ready\"} 2",
        "zisk_programs_registered 1",
        "zisk_active_jobs 0",
        "zisk_queue_depth 0",
        "zisk_job_duration_seconds_bucket",
        "zisk_phase_duration_seconds_bucket{phase=\"execute\"",
        "zisk_partitions_reassigned_total 0",
        "zisk_stale_results_rejected_total 0",
        "zisk_heartbeats_missed_total 0",
    ] {
        assert!(
            metrics.contains(expected),
            "/metrics lacks {expected:?}:\n{metrics}"
        );
    }
    assert_eq!(http_get(ports.metrics, "/health").unwrap().0, 200);
}

#[test]
fn disabled_metrics_still_serve_health() {
    let scratch = scratch();
    let ports = Ports::free();
    let _coordinator = start_coordinator(ports, scratch.path(), &["--metrics-enabled", "false"]);
    assert_eq!(http_get(ports.metrics, "/health").unwrap().0, 200);
    assert_eq!(http_get(ports.metrics, "/metrics").unwrap().0, 404);
}

#[test]
fn workers_reconnect_to_a_restarted_coordinator() {
    let scratch = scratch();
    let ports = Ports::free();
    let coordinator = start_coordinator(ports, scratch.path(), &[]);
    let _worker = start_worker("worker-a", ports, scratch.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    wait_for_workers(&runtime, ports, 1);

    coordinator.signal(nix::sys::signal::Signal::SIGKILL);
    drop(coordinator);
    let _restarted = start_coordinator(ports, scratch.path(), &[]);
    // The worker redials every second (`--reconnect-interval-seconds 1`).
    wait_for_workers(&runtime, ports, 1);

    let elf = guest("fibonacci");
    let output = run_cli(
        &[
            "--coordinator",
            &ports.api_url(),
            "execute",
            elf.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert!(output.status.success(), "{}", describe(&output));
}
