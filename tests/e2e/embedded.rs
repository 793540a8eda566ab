//! `zisk` without a coordinator: the embedded single-node cluster.

use std::time::Duration;

use crate::harness::*;

#[test]
fn the_embedded_cluster_executes_a_guest_without_any_other_process() {
    let scratch = scratch();
    let input = scratch.path().join("fib.in");
    let outputs = scratch.path().join("outputs.bin");
    std::fs::write(&input, 10u32.to_le_bytes()).unwrap();
    let elf = guest("fibonacci");
    let output = run_cli(
        &[
            "execute",
            elf.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            outputs.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert!(output.status.success(), "{}", describe(&output));
    let mut expected = 10u32.to_le_bytes().to_vec();
    expected.extend_from_slice(&55u64.to_le_bytes());
    assert_eq!(std::fs::read(&outputs).unwrap(), expected);
}

#[test]
fn the_embedded_cluster_proves_a_guest_and_the_proof_verifies() {
    let scratch = scratch();
    let input = scratch.path().join("fib.in");
    std::fs::write(&input, 10u32.to_le_bytes()).unwrap();
    let proof = scratch.path().join("proof.bin");
    let elf = guest("fibonacci");
    let output = run_cli(
        &[
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
    let verified = run_cli(
        &["verify", proof.to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert!(verified.status.success(), "{}", describe(&verified));
    // fib(10) = 55.
    assert!(
        String::from_utf8_lossy(&verified.stdout).contains("0a0000003700000000000000"),
        "{}",
        describe(&verified)
    );
}

#[test]
fn verify_rejects_a_file_that_is_not_a_proof() {
    let scratch = scratch();
    let proof = scratch.path().join("proof.bin");
    std::fs::write(&proof, b"not a proof").unwrap();
    let output = run_cli(
        &["verify", proof.to_str().unwrap()],
        Duration::from_secs(10),
    );
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not a zisk proof file"),
        "{}",
        describe(&output)
    );
}
