//! Proving through the cluster: a multi-segment proof over two workers that verifies
//! offline, and a worker SIGKILLed in phase 2.

use std::time::Duration;

use nix::sys::signal::Signal;
use sha2::{Digest, Sha256};
use zisk_proto::client::v1 as api;
use zisk_proto::common::v1::JobPhase;
use zisk_prover::pipeline;

use crate::harness::*;

#[test]
fn two_workers_prove_a_multi_segment_guest_and_the_proof_verifies_offline() {
    let scratch = scratch();
    let ports = Ports::free();
    // fib(30) runs 349 cycles: three segments of 128 cycles over two workers.
    let _coordinator =
        start_coordinator_tuned(ports, scratch.path(), "segment_cycles_log2 = 7\n", &[]);
    let _first = start_worker("worker-a", ports, scratch.path());
    let _second = start_worker("worker-b", ports, scratch.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    wait_for_workers(&runtime, ports, 2);

    let input = scratch.path().join("fib.in");
    std::fs::write(&input, 30u32.to_le_bytes()).unwrap();
    let proof = scratch.path().join("proof.bin");
    let url = ports.api_url();
    let elf = guest("fibonacci");
    let output = run_cli(
        &[
            "--coordinator",
            &url,
            "prove",
            elf.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            proof.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("segments: 3"), "{}", describe(&output));
    // fib(30) = 832040 = 0x000cb228.
    let outputs = "1e00000028b20c0000000000";
    assert!(stdout.contains(outputs), "{}", describe(&output));

    // Offline: trusting the file's key, then pinning it by the ELF.
    for extra in [&[][..], &["--elf", elf.to_str().unwrap()][..]] {
        let mut args = vec!["verify", proof.to_str().unwrap()];
        args.extend_from_slice(extra);
        let verified = run_cli(&args, Duration::from_secs(60));
        assert!(verified.status.success(), "{}", describe(&verified));
        let text = String::from_utf8_lossy(&verified.stdout);
        assert!(
            text.contains("valid proof") && text.contains(outputs),
            "{}",
            describe(&verified)
        );
    }
    // Pinning another key, or another guest, refuses the proof.
    let wrong_key = run_cli(
        &[
            "verify",
            proof.to_str().unwrap(),
            "--verifying-key",
            &"00".repeat(32),
        ],
        Duration::from_secs(60),
    );
    assert!(!wrong_key.status.success(), "{}", describe(&wrong_key));
    let sha = guest("sha256");
    let wrong_elf = run_cli(
        &[
            "verify",
            proof.to_str().unwrap(),
            "--elf",
            sha.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert!(!wrong_elf.status.success(), "{}", describe(&wrong_elf));

    // A flipped byte in the proof is refused.
    let mut bytes = std::fs::read(&proof).unwrap();
    let last = bytes.len() - 20_000;
    bytes[last] ^= 0x40;
    let forged = scratch.path().join("forged.bin");
    std::fs::write(&forged, &bytes).unwrap();
    let refused = run_cli(
        &["verify", forged.to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert!(!refused.status.success(), "{}", describe(&refused));

    let (_, metrics) = http_get(ports.metrics, "/metrics").unwrap();
    for expected in [
        "zisk_jobs_total{kind=\"prove\",outcome=\"completed\"} 1",
        "zisk_phase_duration_seconds_bucket{phase=\"prove\"",
        "zisk_phase_duration_seconds_bucket{phase=\"aggregate\"",
    ] {
        assert!(
            metrics.contains(expected),
            "/metrics lacks {expected:?}:\n{metrics}"
        );
    }
}

#[test]
fn a_prove_job_completes_after_a_worker_is_sigkilled_in_phase_two() {
    let scratch = scratch();
    let ports = Ports::free();
    // SHA-256 over 2 KiB: about 170k cycles, eleven segments of 2^14 cycles, seconds of
    // phase 2 on each worker.
    let coordinator =
        start_coordinator_tuned(ports, scratch.path(), "segment_cycles_log2 = 14\n", &[]);
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

    let input = pseudo_random_bytes(2 << 10);
    let expected = Sha256::digest(&input).to_vec();
    let mut client = client(&runtime, ports);
    let elf = std::fs::read(guest("sha256")).unwrap();
    let program = runtime
        .block_on(client.register("sha256", elf.clone()))
        .unwrap();
    let key = runtime.block_on(client.setup(&program.program_id)).unwrap();
    // Ask for every compute unit so that the job spans both workers.
    let units = runtime
        .block_on(client.status())
        .unwrap()
        .compute_units_total;
    let job_id = runtime
        .block_on(client.submit(true, &program.program_id, input.clone(), Some(units)))
        .unwrap();

    wait_for("the job to reach phase 2", Duration::from_secs(120), || {
        let job = runtime.block_on(client.job(&job_id)).ok()?;
        assert_ne!(
            job.state,
            zisk_proto::common::v1::JobState::Failed as i32,
            "{job:?}"
        );
        (job.phase == JobPhase::Prove as i32).then_some(())
    });
    // Kill a worker that holds a part of the job.
    let holders: Vec<String> = runtime
        .block_on(client.workers())
        .unwrap()
        .workers
        .into_iter()
        .filter(|worker| worker.job_ids.contains(&job_id))
        .map(|worker| worker.worker_id)
        .collect();
    assert_eq!(
        holders.len(),
        2,
        "the job should span both workers: {holders:?}"
    );
    let victim = workers
        .iter_mut()
        .find(|(id, _)| *id == holders[1])
        .unwrap();
    let mut process = victim.1.take().unwrap();
    process.signal(Signal::SIGKILL);
    process.wait(Duration::from_secs(5));

    let job = runtime
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(300), client.follow(&job_id, |_| {})).await
        })
        .expect("the job did not finish within 300 s")
        .unwrap();
    let Some(api::job::Outcome::Prove(outcome)) = job.outcome else {
        panic!(
            "the job did not complete: {job:?}\ncoordinator log:\n{}",
            coordinator.log()
        );
    };
    assert_eq!(outcome.public_outputs.to_vec(), expected);
    assert!(outcome.segment_count > 2, "{outcome:?}");

    let proof = runtime.block_on(client.download_proof(&job_id)).unwrap();
    let (_, vk) = pipeline::setup(&elf, zisk_bins::worker::CLUSTER_PARAMS).unwrap();
    assert_eq!(key, vk.digest().to_vec());
    let verified = pipeline::verify_bytes(&vk, &input, &proof).unwrap();
    assert_eq!(verified.outputs, expected);

    let (_, metrics) = http_get(ports.metrics, "/metrics").unwrap();
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("zisk_partitions_reassigned_total")
                && !line.ends_with(" 0")),
        "no reassignment counted:\n{metrics}\ncoordinator log:\n{}",
        coordinator.log()
    );
    drop(workers);
}
