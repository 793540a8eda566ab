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
fn prove_fails_loudly_until_the_stark_exists() {
    let scratch = scratch();
    let proof = scratch.path().join("proof.bin");
    let elf = guest("fibonacci");
    let output = run_cli(
        &[
            "prove",
            elf.to_str().unwrap(),
            "--output",
            proof.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("STARK proving is not built yet"),
        "{}",
        describe(&output)
    );
    assert!(!proof.exists(), "no proof file may be written");
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
