//! Inputs by path: a file under the worker's `--inputs-folder`, read by the worker; paths
//! that would leave the folder are refused by the coordinator, missing files fail the job.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::harness::*;

/// fib(30): the guest commits n and fib(n) = 832040 as little-endian u32 and u64.
const FIB_30_OUTPUTS: &str = "1e00000028b20c0000000000";

/// A coordinator and worker `worker-a` whose inputs folder holds `fib.in` (30u32 LE).
fn cluster_with_fib_input(scratch: &Path) -> (Ports, Process, Process, tokio::runtime::Runtime) {
    let ports = Ports::free();
    let folder = scratch.join("worker-a");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("fib.in"), 30u32.to_le_bytes()).unwrap();
    let coordinator = start_coordinator(ports, scratch, &[]);
    let worker = start_worker("worker-a", ports, scratch);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    wait_for_workers(&runtime, ports, 1);
    (ports, coordinator, worker, runtime)
}

fn execute_by_path(ports: Ports, path: &str) -> Output {
    let elf = guest("fibonacci");
    run_cli(
        &[
            "--coordinator",
            &ports.api_url(),
            "execute",
            elf.to_str().unwrap(),
            "--input-path",
            path,
        ],
        Duration::from_secs(30),
    )
}

#[test]
fn a_worker_executes_a_guest_on_an_input_read_from_its_inputs_folder() {
    let scratch = scratch();
    let (ports, _coordinator, _worker, _runtime) = cluster_with_fib_input(scratch.path());

    let output = execute_by_path(ports, "fib.in");
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains(&format!("public outputs (12 bytes): {FIB_30_OUTPUTS}")),
        "{}",
        describe(&output)
    );

    // A path that leaves the folder never reaches a worker.
    let escaping = execute_by_path(ports, "../etc/passwd");
    assert!(!escaping.status.success(), "{}", describe(&escaping));
    let stderr = String::from_utf8_lossy(&escaping.stderr);
    assert!(
        stderr.contains("../etc/passwd") && stderr.contains("INVALID_ARGUMENT"),
        "{}",
        describe(&escaping)
    );

    // A missing file fails the job at once, naming the file.
    let missing = execute_by_path(ports, "missing.in");
    assert!(!missing.status.success(), "{}", describe(&missing));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("missing.in") && stderr.contains("EXECUTION_FAILED"),
        "{}",
        describe(&missing)
    );

    // The same path with --input is refused by the CLI itself.
    let both = run_cli(
        &[
            "--coordinator",
            &ports.api_url(),
            "execute",
            guest("fibonacci").to_str().unwrap(),
            "--input-path",
            "fib.in",
            "--input",
            "fib.in",
        ],
        Duration::from_secs(10),
    );
    assert!(!both.status.success(), "{}", describe(&both));
}

#[test]
fn a_proof_of_an_input_read_by_path_verifies_only_with_the_input_given_back() {
    let scratch = scratch();
    let (ports, _coordinator, _worker, _runtime) = cluster_with_fib_input(scratch.path());
    let proof = scratch.path().join("proof.bin");
    let elf = guest("fibonacci");
    let output = run_cli(
        &[
            "--coordinator",
            &ports.api_url(),
            "prove",
            elf.to_str().unwrap(),
            "--input-path",
            "fib.in",
            "--output",
            proof.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(FIB_30_OUTPUTS),
        "{}",
        describe(&output)
    );

    let without_input = run_cli(
        &["verify", proof.to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert!(
        !without_input.status.success(),
        "{}",
        describe(&without_input)
    );
    assert!(
        String::from_utf8_lossy(&without_input.stderr).contains("--input"),
        "{}",
        describe(&without_input)
    );

    let input = scratch.path().join("worker-a/fib.in");
    let verified = run_cli(
        &[
            "verify",
            proof.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert!(verified.status.success(), "{}", describe(&verified));
    assert!(
        String::from_utf8_lossy(&verified.stdout).contains("valid proof"),
        "{}",
        describe(&verified)
    );

    // Another input does not verify.
    let other = scratch.path().join("other.in");
    std::fs::write(&other, 29u32.to_le_bytes()).unwrap();
    let wrong = run_cli(
        &[
            "verify",
            proof.to_str().unwrap(),
            "--input",
            other.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert!(!wrong.status.success(), "{}", describe(&wrong));
}
