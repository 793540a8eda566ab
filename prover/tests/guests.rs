//! The committed guest ELFs (guests/bin/*.elf) run with the expected outputs.

mod common;

use common::reference::*;
use common::{R_NAMES, r_fields};
use sha2::{Digest, Sha256};
use zisk_prover::{ExecConfig, ExecError, FaultKind, Program, execute};

fn guest(name: &str) -> Program {
    let path = format!("{}/guests/bin/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    Program::from_elf(&bytes).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn run(program: &Program, input: &[u8]) -> Result<Vec<u8>, ExecError> {
    let config = ExecConfig {
        max_cycles: 1 << 30,
        ..ExecConfig::default()
    };
    execute(program, &config, input).map(|summary| summary.public_outputs)
}

/// Deterministic pseudo-random bytes (xorshift).
fn pseudo_random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

#[test]
fn fibonacci_guest_commits_n_and_fib_n() {
    let program = guest("fibonacci");
    for n in [0u32, 1, 2, 3, 10, 50, 93, 94, 1000] {
        let (mut previous, mut current) = (0u64, 1u64);
        for _ in 0..n {
            (previous, current) = (current, previous.wrapping_add(current));
        }
        let mut expected = n.to_le_bytes().to_vec();
        expected.extend_from_slice(&previous.to_le_bytes());
        assert_eq!(
            run(&program, &n.to_le_bytes()).unwrap(),
            expected,
            "n = {n}"
        );
    }
    // Missing input bytes read as zero.
    assert_eq!(run(&program, &[]).unwrap(), [0u8; 12]);
}

#[test]
fn sha256_guest_matches_the_host_sha2_crate() {
    let program = guest("sha256");
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"abc".to_vec(),
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".to_vec(),
    ];
    for len in [
        1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4095, 4096, 4097, 10_000, 100_003,
    ] {
        inputs.push(pseudo_random_bytes(len, len as u64 + 1));
    }
    for input in inputs {
        let expected = Sha256::digest(&input).to_vec();
        assert_eq!(
            run(&program, &input).unwrap(),
            expected,
            "input of {} bytes",
            input.len()
        );
    }
}

#[test]
fn sha256_guest_digest_of_abc_is_the_fips_example() {
    let digest = run(&guest("sha256"), b"abc").unwrap();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(
        hex,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn sort_guest_sorts_u32_values() {
    let program = guest("sort");
    for count in [0usize, 1, 2, 3, 10, 1000, 5000] {
        let bytes = pseudo_random_bytes(4 * count, count as u64 + 7);
        let mut values: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|chunk| u32::from_le_bytes(chunk.try_into().unwrap()) % 1000)
            .collect();
        let input: Vec<u8> = values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect();
        values.sort_unstable();
        let expected: Vec<u8> = values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect();
        assert_eq!(run(&program, &input).unwrap(), expected, "{count} values");
    }
}

#[test]
fn sort_guest_rejects_a_partial_word_with_exit_code_one() {
    match run(&guest("sort"), &[1, 2, 3, 4, 5]) {
        Err(ExecError::Fault(fault)) => {
            assert_eq!(fault.kind, FaultKind::NonZeroExit { code: 1 });
        }
        other => panic!("expected exit code 1, got {other:?}"),
    }
}

const PAIRS: [(u32, u32); 12] = [
    (0, 0),
    (1, 0xffff_ffff),
    (0x8000_0000, 0xffff_ffff),
    (0x7fff_ffff, 1),
    (0x1234_5678, 0x9abc_def0),
    (0xffff_ffff, 0xffff_ffff),
    (5, 0),
    (0x8000_0000, 0),
    (0xdead_beef, 33),
    (7, 0xffff_fffd),
    (0xffff_fff9, 2),
    (0x8000_0000, 0x8000_0000),
];
const VALUES: [u32; 6] = [0, 1, 0xffff_ffff, 0x8000_0000, 0x7fff_ffff, 0x0000_0800];

/// The results guests/src/rv32im.c commits, in its order, from the reference semantics.
fn expected_rv32im_results() -> Vec<u32> {
    let mut expected = Vec::new();
    for name in R_NAMES {
        expected.extend(PAIRS.iter().map(|&(a, b)| reference_rr(name, a, b)));
    }
    for name in ["addi", "slti", "sltiu", "xori", "ori", "andi"] {
        for imm in [0, 1, -1, 2047, -2048] {
            expected.extend(VALUES.iter().map(|&a| reference_ri(name, a, imm)));
        }
    }
    for name in ["slli", "srli", "srai"] {
        for amount in [0, 1, 4, 31] {
            expected.extend(VALUES.iter().map(|&a| reference_ri(name, a, amount)));
        }
    }
    for name in ["beq", "bne", "blt", "bge", "bltu", "bgeu"] {
        expected.extend(
            PAIRS
                .iter()
                .map(|&(a, b)| u32::from(reference_branch(name, a, b))),
        );
    }
    // Loads from 80 7f ff 01 | 34 12 00 80 | ef be ad de.
    expected.extend([0xffff_ff80, 0x7f, 0xffff_ffff, 0x01, 0xffff_ff80]); // lb 0 1 2 3 7
    expected.extend([0x80, 0x7f, 0xff, 0x01, 0x80]); // lbu 0 1 2 3 7
    expected.extend([0x7f80, 0x01ff, 0x1234, 0xffff_8000]); // lh 0 2 4 6
    expected.extend([0x7f80, 0x01ff, 0x1234, 0x8000]); // lhu 0 2 4 6
    expected.extend([0x01ff_7f80, 0x8000_1234, 0xdead_beef]); // lw 0 4 8
    expected.extend([0x8765_ffcd, 0x66ab_5555]); // stores read back
    expected.extend([0xffff_f000, 0x1234_5000, 0, 0, 0, 0, 0, 0]); // lui x2, auipc/jal/jalr
    expected.extend([0, 7]); // x0, fence
    expected
}

#[test]
fn rv32im_guest_exercises_every_instruction_with_reference_results() {
    let outputs = run(&guest("rv32im"), &[]).unwrap();
    let got: Vec<u32> = outputs
        .chunks_exact(4)
        .map(|chunk| u32::from_le_bytes(chunk.try_into().unwrap()))
        .collect();
    let expected = expected_rv32im_results();
    assert_eq!(got.len(), expected.len());
    for (index, (got, expected)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(got, expected, "result {index}");
    }
}

#[test]
fn rv32im_guest_text_contains_every_rv32im_instruction() {
    // Each (opcode, funct3, funct7) class of RV32IM must appear in the guest's text.
    let program = guest("rv32im");
    let words = program.text_words();
    let has = |predicate: &dyn Fn(u32) -> bool| words.iter().any(|&word| predicate(word));
    let op = |word: u32| word & 0x7f;
    let f3 = |word: u32| (word >> 12) & 7;
    let f7 = |word: u32| word >> 25;
    for name in R_NAMES {
        let (funct7, funct3) = r_fields(name);
        assert!(
            has(&|w| op(w) == 0x33 && f3(w) == funct3 && f7(w) == funct7),
            "{name}"
        );
    }
    for funct3 in [0, 2, 3, 4, 6, 7] {
        assert!(
            has(&|w| op(w) == 0x13 && f3(w) == funct3),
            "op-imm funct3 {funct3}"
        );
    }
    assert!(has(&|w| op(w) == 0x13 && f3(w) == 1 && f7(w) == 0), "slli");
    assert!(has(&|w| op(w) == 0x13 && f3(w) == 5 && f7(w) == 0), "srli");
    assert!(
        has(&|w| op(w) == 0x13 && f3(w) == 5 && f7(w) == 0x20),
        "srai"
    );
    for funct3 in [0, 1, 4, 5, 6, 7] {
        assert!(
            has(&|w| op(w) == 0x63 && f3(w) == funct3),
            "branch funct3 {funct3}"
        );
    }
    for funct3 in [0, 1, 2, 4, 5] {
        assert!(
            has(&|w| op(w) == 0x03 && f3(w) == funct3),
            "load funct3 {funct3}"
        );
    }
    for funct3 in [0, 1, 2] {
        assert!(
            has(&|w| op(w) == 0x23 && f3(w) == funct3),
            "store funct3 {funct3}"
        );
    }
    for opcode in [0x37, 0x17, 0x6f, 0x67, 0x0f] {
        assert!(has(&|w| op(w) == opcode), "opcode {opcode:#x}");
    }
    assert!(has(&|w| w == 0x73), "ecall");
}

#[test]
fn committed_guest_elfs_are_reproducible_when_the_toolchain_is_present() {
    let have = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if !have("clang") || !have("ld.lld") {
        eprintln!("skipped: clang and ld.lld are not installed (apt-get install -y clang lld)");
        return;
    }
    let script = format!("{}/guests/build.sh", env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new("bash")
        .arg(&script)
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script} --check failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
