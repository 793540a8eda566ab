//! ELF loading: good files load, bad ones give their typed error and never panic.

mod common;

use common::*;
use proptest::prelude::*;
use zisk_prover::{
    ConfigError, ElfError, ExecConfig, GUEST_MEMORY_START, LoadConfig, Machine, Program, ProgramId,
};

fn guest_bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/guests/bin/{name}.elf",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn text_segment(words: &[u32]) -> SegmentSpec {
    let data: Vec<u8> = words.iter().flat_map(|word| word.to_le_bytes()).collect();
    SegmentSpec {
        vaddr: TEXT_START,
        size_bytes: data.len() as u32,
        data,
        flags: PF_R | PF_X,
    }
}

fn data_segment(vaddr: u32, size_bytes: u32) -> SegmentSpec {
    SegmentSpec {
        vaddr,
        data: vec![1, 2, 3, 4],
        size_bytes,
        flags: PF_R | PF_W,
    }
}

fn load_error(bytes: &[u8]) -> ElfError {
    Program::load(bytes, &test_load_config()).expect_err("the ELF must be rejected")
}

#[test]
fn committed_guests_load_and_are_named_by_their_sha256() {
    for name in ["fibonacci", "sha256", "sort", "rv32im"] {
        let bytes = guest_bytes(name);
        let program = Program::from_elf(&bytes).unwrap();
        assert_eq!(program.id(), ProgramId::of_elf_bytes(&bytes));
        assert_eq!(program.entry(), 0x10000);
        assert!(program.text_range().contains(&program.entry()));
        let hex = program.id().to_string();
        assert_eq!(hex.len(), 64);
        assert_eq!(hex.parse::<ProgramId>().unwrap(), program.id());
    }
}

#[test]
fn any_change_to_the_file_changes_the_program_id() {
    let bytes = program_elf(&halt(), &[]);
    let mut changed = bytes.clone();
    changed.push(0);
    let a = Program::load(&bytes, &test_load_config()).unwrap().id();
    let b = Program::load(&changed, &test_load_config()).unwrap().id();
    assert_ne!(a, b);
}

#[test]
fn bss_is_zero_filled_and_data_is_loaded() {
    let elf = build_elf(
        TEXT_START,
        &[text_segment(&halt()), data_segment(DATA_START, 64)],
    );
    let program = Program::load(&elf, &test_load_config()).unwrap();
    let machine = Machine::new(&program, &ExecConfig::default(), &[]).unwrap();
    assert_eq!(machine.read_word(DATA_START), Some(0x0403_0201));
    assert_eq!(machine.read_word(DATA_START + 4), Some(0));
    assert_eq!(machine.read_word(DATA_START + 60), Some(0));
}

#[test]
fn files_that_are_not_elf_are_rejected() {
    assert_eq!(load_error(b""), ElfError::NotElf);
    assert_eq!(load_error(b"\x7fEL"), ElfError::NotElf);
    assert_eq!(load_error(b"#!/bin/sh\necho hello\n"), ElfError::NotElf);
    assert_eq!(load_error(&[0u8; 4096]), ElfError::NotElf);
}

#[test]
fn every_truncation_of_a_valid_elf_is_rejected_without_panicking() {
    // Section headers and symbols at the end of the file are not needed to load it, so a
    // prefix loads exactly when it holds the headers and all segment data.
    let bytes = guest_bytes("fibonacci");
    let needed = Program::from_elf(&bytes)
        .unwrap()
        .segments()
        .iter()
        .map(|segment| segment.data.len())
        .sum::<usize>();
    let mut first_loading = None;
    for len in 0..=bytes.len() {
        match Program::load(&bytes[..len], &test_load_config()) {
            Ok(_) => {
                first_loading.get_or_insert(len);
            }
            Err(error) => {
                assert_eq!(
                    first_loading, None,
                    "a longer prefix failed: {len}: {error}"
                );
                match len {
                    0..=3 => assert_eq!(error, ElfError::NotElf),
                    _ => assert!(
                        matches!(error, ElfError::Truncated { .. }),
                        "{len}: {error}"
                    ),
                }
            }
        }
    }
    assert!(first_loading.unwrap() > needed);
}

#[test]
fn elf64_files_are_rejected() {
    let mut bytes = program_elf(&halt(), &[]);
    bytes[4] = 2;
    assert_eq!(load_error(&bytes), ElfError::Elf64);
    bytes[4] = 7;
    assert_eq!(load_error(&bytes), ElfError::InvalidClass { class: 7 });
}

#[test]
fn elf_files_for_other_machines_are_rejected() {
    let x86 = build_elf_with(TEXT_START, &[text_segment(&halt())], 3, 1, 2);
    assert_eq!(load_error(&x86), ElfError::WrongMachine { machine: 3 });
    let arm = build_elf_with(TEXT_START, &[text_segment(&halt())], 40, 1, 2);
    assert_eq!(load_error(&arm), ElfError::WrongMachine { machine: 40 });
    let x86_64 = build_elf_with(TEXT_START, &[text_segment(&halt())], 62, 2, 2);
    assert_eq!(load_error(&x86_64), ElfError::Elf64);
}

#[test]
fn big_endian_and_non_executable_files_are_rejected() {
    let mut bytes = program_elf(&halt(), &[]);
    bytes[5] = 2;
    assert_eq!(
        load_error(&bytes),
        ElfError::NotLittleEndian { encoding: 2 }
    );
    let relocatable = build_elf_with(TEXT_START, &[text_segment(&halt())], 243, 1, 1);
    assert_eq!(
        load_error(&relocatable),
        ElfError::NotExecutable { elf_type: 1 }
    );
    let shared = build_elf_with(TEXT_START, &[text_segment(&halt())], 243, 1, 3);
    assert_eq!(load_error(&shared), ElfError::NotExecutable { elf_type: 3 });
}

#[test]
fn compressed_or_float_abi_flags_are_rejected() {
    for flags in [0x1u32, 0x2, 0x4, 0x8, 0x5] {
        let mut bytes = program_elf(&halt(), &[]);
        bytes[36..40].copy_from_slice(&flags.to_le_bytes());
        assert_eq!(load_error(&bytes), ElfError::UnsupportedFlags { flags });
    }
}

#[test]
fn files_above_the_size_limit_are_rejected() {
    let bytes = program_elf(&halt(), &[]);
    let config = LoadConfig {
        max_elf_size_bytes: 64,
        ..test_load_config()
    };
    assert_eq!(
        Program::load(&bytes, &config).unwrap_err(),
        ElfError::FileTooLarge {
            size_bytes: bytes.len(),
            max_elf_size_bytes: 64
        }
    );
}

#[test]
fn huge_declared_sizes_are_rejected_without_allocating() {
    // A segment claiming 4 GiB of memory.
    let elf = build_elf(
        TEXT_START,
        &[text_segment(&halt()), data_segment(DATA_START, u32::MAX)],
    );
    assert!(matches!(
        load_error(&elf),
        ElfError::SegmentOutsideAddressSpace { index: 1, .. }
    ));
    // A segment whose file data lies far past the end of the file.
    let mut elf = build_elf(TEXT_START, &[text_segment(&halt())]);
    elf[52 + 16..52 + 20].copy_from_slice(&0x7fff_ffffu32.to_le_bytes()); // p_filesz
    elf[52 + 20..52 + 24].copy_from_slice(&0x7fff_ffffu32.to_le_bytes()); // p_memsz
    assert!(matches!(
        load_error(&elf),
        ElfError::Truncated {
            what: "segment data",
            ..
        }
    ));
    // 65535 program headers.
    let mut elf = build_elf(TEXT_START, &[text_segment(&halt())]);
    elf[44..46].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_eq!(
        load_error(&elf),
        ElfError::TooManyProgramHeaders {
            count: 65535,
            max: 64
        }
    );
    // A program header table past the end of the file.
    let mut elf = build_elf(TEXT_START, &[text_segment(&halt())]);
    elf[28..32].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        load_error(&elf),
        ElfError::Truncated {
            what: "program header table",
            ..
        }
    ));
}

#[test]
fn segments_outside_guest_memory_are_rejected() {
    for (vaddr, size_bytes) in [
        (0, 16),
        (GUEST_MEMORY_START - 4, 8),
        (TEST_MEMORY_BYTES - 4, 8),
        (TEST_MEMORY_BYTES, 4),
        (0xffff_fff0, 0x20),
    ] {
        let elf = build_elf(
            TEXT_START,
            &[text_segment(&halt()), data_segment(vaddr, size_bytes)],
        );
        assert!(
            matches!(
                load_error(&elf),
                ElfError::SegmentOutsideAddressSpace { .. }
            ),
            "{vaddr:#x}"
        );
    }
    // With a larger memory the same high segment fits.
    let elf = build_elf(
        TEXT_START,
        &[text_segment(&halt()), data_segment(TEST_MEMORY_BYTES, 4)],
    );
    let config = LoadConfig {
        memory_size_bytes: 2 * TEST_MEMORY_BYTES,
        ..LoadConfig::default()
    };
    assert!(Program::load(&elf, &config).is_ok());
}

#[test]
fn overlapping_segments_are_rejected() {
    let elf = build_elf(
        TEXT_START,
        &[
            text_segment(&halt()),
            data_segment(DATA_START, 64),
            data_segment(DATA_START + 60, 8),
        ],
    );
    assert_eq!(
        load_error(&elf),
        ElfError::OverlappingSegments {
            first_vaddr: DATA_START,
            second_vaddr: DATA_START + 60
        }
    );
    let elf = build_elf(
        TEXT_START,
        &[text_segment(&halt()), data_segment(TEXT_START + 8, 8)],
    );
    assert!(matches!(
        load_error(&elf),
        ElfError::OverlappingSegments { .. }
    ));
}

#[test]
fn the_entry_point_must_be_aligned_and_inside_the_text() {
    for entry in [
        0,
        DATA_START,
        TEXT_START + 12,
        TEXT_START + 2,
        TEXT_START - 4,
    ] {
        let elf = build_elf(
            entry,
            &[text_segment(&halt()), data_segment(DATA_START, 16)],
        );
        assert_eq!(
            load_error(&elf),
            ElfError::EntryOutsideText {
                entry,
                text_start: TEXT_START,
                text_end: u64::from(TEXT_START + 12)
            },
            "{entry:#x}"
        );
    }
}

#[test]
fn exactly_one_executable_segment_is_required() {
    let elf = build_elf(TEXT_START, &[data_segment(DATA_START, 16)]);
    assert_eq!(load_error(&elf), ElfError::NoText);
    let mut second_text = text_segment(&halt());
    second_text.vaddr = DATA_START;
    let elf = build_elf(TEXT_START, &[text_segment(&halt()), second_text]);
    assert_eq!(
        load_error(&elf),
        ElfError::MultipleTextSegments { count: 2 }
    );
    let mut misaligned = text_segment(&halt());
    misaligned.vaddr = TEXT_START + 2;
    let elf = build_elf(TEXT_START + 2, &[misaligned]);
    assert_eq!(
        load_error(&elf),
        ElfError::MisalignedText {
            vaddr: TEXT_START + 2
        }
    );
}

#[test]
fn dynamically_linked_files_are_rejected() {
    let mut elf = build_elf(
        TEXT_START,
        &[text_segment(&halt()), data_segment(DATA_START, 16)],
    );
    elf[52 + 32..52 + 36].copy_from_slice(&3u32.to_le_bytes()); // second header: PT_INTERP
    assert_eq!(load_error(&elf), ElfError::DynamicallyLinked);
}

#[test]
fn a_segment_with_more_file_bytes_than_memory_bytes_is_rejected() {
    let elf = build_elf(
        TEXT_START,
        &[text_segment(&halt()), data_segment(DATA_START, 2)],
    );
    assert!(matches!(
        load_error(&elf),
        ElfError::InvalidSegment { index: 1, .. }
    ));
}

#[test]
fn out_of_range_load_settings_are_rejected() {
    let elf = program_elf(&halt(), &[]);
    for config in [
        LoadConfig {
            memory_size_bytes: (1 << 20) + 1,
            ..LoadConfig::default()
        },
        LoadConfig {
            memory_size_bytes: 4096,
            ..LoadConfig::default()
        },
        LoadConfig {
            memory_size_bytes: !4095,
            ..LoadConfig::default()
        },
        LoadConfig {
            max_elf_size_bytes: 0,
            ..LoadConfig::default()
        },
    ] {
        assert!(matches!(
            Program::load(&elf, &config),
            Err(ElfError::Config(ConfigError { .. }))
        ));
    }
}

#[test]
fn error_messages_name_the_problem() {
    assert_eq!(
        ElfError::WrongMachine { machine: 62 }.to_string(),
        "ELF machine 62 is not RISC-V (243)"
    );
    assert!(ElfError::Elf64.to_string().contains("ELF64"));
}

/// Loads arbitrary bytes and, if they load, runs them briefly: nothing may panic.
fn load_and_maybe_run(bytes: &[u8]) {
    if let Ok(program) = Program::load(bytes, &test_load_config()) {
        let config = ExecConfig {
            max_cycles: 2000,
            segment_cycles_log2: 4,
            ..ExecConfig::default()
        };
        let mut machine = Machine::new(&program, &config, b"input").unwrap();
        let _ = machine.record_segment();
        let _ = machine.run_to_end();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        load_and_maybe_run(&bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_header_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        let mut bytes = program_elf(&halt(), &[])[..52].to_vec();
        bytes.extend_from_slice(&tail);
        load_and_maybe_run(&bytes);
    }

    #[test]
    fn mutated_elfs_never_panic(
        which in 0usize..3,
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        truncate in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = match which {
            0 => guest_bytes("fibonacci"),
            1 => guest_bytes("sort"),
            _ => program_elf(&[NOP, NOP, NOP, NOP], &[]),
        };
        // Mutate mostly the headers, where the parser looks.
        let header_len = bytes.len().min(256);
        for (index, value) in mutations {
            let position = index.index(header_len);
            bytes[position] = value;
        }
        if let Some(index) = truncate {
            bytes.truncate(index.index(bytes.len() + 1));
        }
        load_and_maybe_run(&bytes);
    }

    #[test]
    fn mutated_text_never_panics(
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u32>()), 1..32),
    ) {
        let mut words = vec![NOP; 64];
        for (index, word) in mutations {
            let position = index.index(words.len());
            words[position] = word;
        }
        load_and_maybe_run(&program_elf(&words, &[]));
    }
}
