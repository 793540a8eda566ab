//! End-to-end local proving of the SHA-256 guest with Production parameters: execute, split
//! into segments, phase 1 of every segment, global challenge, phase 2, aggregation and
//! verification, in one process (`pipeline::prove_local`, the functions the workers call).
//!
//! ```text
//! cargo bench -p zisk-prover --bench e2e -- [INPUT_BYTES] [SEGMENT_CYCLES_LOG2]
//! ```
//!
//! `INPUT_BYTES` defaults to 1 MiB (about 81 million cycles: roughly an hour of proving on
//! two cores), `SEGMENT_CYCLES_LOG2` to 20. `ZISK_BENCH_PARALLEL_SEGMENTS` (default 1)
//! sets how many segments are proved at once (each takes about 6 GB at `2^20` cycles);
//! `ZISK_BENCH_KEEP_PHASE1=1` keeps phase-1 data between the phases instead of redoing it.
//! `cargo test --benches` runs a tiny input with Test parameters.

use std::time::Instant;

use zisk_prover::pipeline::{self, LocalOptions};
use zisk_prover::stark::ParamSet;

fn input(len: usize) -> Vec<u8> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// Peak resident memory of this process in bytes (`VmHWM`), if the kernel reports it.
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.parse().ok()
}

fn main() {
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|argument| argument.parse().ok())
        .collect();
    let (params, default_bytes, default_log2) = if benchmarking {
        (ParamSet::Production, 1 << 20, 20)
    } else {
        (ParamSet::Test, 64, 12)
    };
    let input_bytes = numbers.first().copied().unwrap_or(default_bytes);
    let log2 = numbers.get(1).map_or(default_log2, |&n| n as u32);
    let options = LocalOptions {
        segment_cycles_log2: log2,
        parallel_segments: env_number("ZISK_BENCH_PARALLEL_SEGMENTS").unwrap_or(1),
        keep_phase1: env_number("ZISK_BENCH_KEEP_PHASE1") == Some(1),
        ..LocalOptions::default()
    };

    let elf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/guests/bin/sha256.elf"
    ))
    .expect("the sha256 guest");
    let (pk, vk) = pipeline::setup(&elf, params).expect("setup");
    let input = input(input_bytes);
    println!(
        "SHA-256 guest over {input_bytes} bytes, {params} parameters, segments of 2^{log2} \
         cycles, {} threads, {} segment(s) at once, phase-1 data {}",
        p3_maybe_rayon::prelude::current_num_threads(),
        options.parallel_segments,
        if options.keep_phase1 {
            "kept"
        } else {
            "redone in phase 2"
        },
    );
    let start = Instant::now();
    let proved = pipeline::prove_local(&pk, &input, &options).expect("the run proves");
    let wall = start.elapsed();
    let bytes = proved.proof.to_bytes();
    let start = Instant::now();
    let outputs = pipeline::verify_bytes(&vk, &input, &bytes).expect("the proof verifies");
    let verify = start.elapsed();
    assert_eq!(outputs.outputs.len(), 32);

    let cycles = proved.report.summary.cycles;
    let segments = proved.report.summary.segment_count;
    let t = proved.timings;
    println!(
        "cycles {cycles}, segments {segments}\n\
         wall {:.1} s = {:.0} cycles/s (execute {:.2} s, phase 1 {:.1} s, phase 2 {:.1} s, \
         aggregate {:.2} s, verify in prove_local {:.2} s)\n\
         final proof {} bytes ({:.2} MiB, {:.0} KiB per segment)\n\
         verify from bytes {:.0} ms ({:.1} ms per segment)\n\
         peak memory {}",
        wall.as_secs_f64(),
        cycles as f64 / wall.as_secs_f64(),
        t.execute.as_secs_f64(),
        t.phase1.as_secs_f64(),
        t.phase2.as_secs_f64(),
        t.aggregate.as_secs_f64(),
        t.verify.as_secs_f64(),
        bytes.len(),
        bytes.len() as f64 / (1 << 20) as f64,
        bytes.len() as f64 / 1024.0 / f64::from(segments),
        verify.as_secs_f64() * 1e3,
        verify.as_secs_f64() * 1e3 / f64::from(segments),
        peak_memory_bytes().map_or("unknown".to_owned(), |b| format!(
            "{:.2} GB",
            b as f64 / 1e9
        )),
    );
}
