//! Proving one segment of the SHA-256 guest with Production parameters: cycles per second of
//! phase 1 (record, trace generation, commitment) and phase 2, peak memory, proof size,
//! verification time and main columns per cycle, at `2^16` and `2^20` cycles.
//!
//! Run with `cargo bench -p zisk-prover --bench segment`. `ZISK_BENCH_LOG_CYCLES` (comma
//! separated, default `16,20`) picks the segment sizes; `cargo test --benches` runs one tiny
//! size with Test parameters.

use std::time::{Duration, Instant};

use zisk_prover::air::{self, SegmentIo, TableKind};
use zisk_prover::pipeline::{self, Aggregator, Checks, Phase1Segment, SegmentWalker};
use zisk_prover::stark::ParamSet;

/// Bytes of SHA-256 input: about 78 cycles per byte, so segment 0 is full up to `2^20`.
const INPUT_BYTES: usize = 16 << 10;

fn input() -> Vec<u8> {
    (0..INPUT_BYTES).map(|i| (i * 7 + 3) as u8).collect()
}

/// Peak resident memory of this process in bytes (`VmHWM`), if the kernel reports it.
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak so that each size reports its own (Linux >= 4.0; ignored elsewhere).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn per_second(cycles: usize, time: Duration) -> String {
    format!("{:.0} cycles/s", cycles as f64 / time.as_secs_f64())
}

fn main() {
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    let mut params = match std::env::var("ZISK_BENCH_PARAMS").as_deref() {
        Ok("test") => ParamSet::Test,
        _ => ParamSet::Production,
    };
    let sizes: Vec<u32> = match std::env::var("ZISK_BENCH_LOG_CYCLES") {
        Ok(text) => text
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        Err(_) if benchmarking => vec![16, 20],
        Err(_) => {
            params = ParamSet::Test;
            vec![10]
        }
    };
    let elf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/guests/bin/sha256.elf"
    ))
    .expect("the sha256 guest");
    let input = input();
    let start = Instant::now();
    let (pk, vk) = pipeline::setup(&elf, params).expect("setup");
    println!(
        "{params} parameters {:?}, {} threads, setup {:.2} s",
        params.fri(),
        p3_maybe_rayon::prelude::current_num_threads(),
        start.elapsed().as_secs_f64()
    );
    for log_cycles in sizes {
        reset_peak_memory();
        let report = pipeline::execute(&pk, &input, log_cycles).expect("the guest halts");

        // Phase 1: record segment 0, build its traces, commit them.
        let start = Instant::now();
        let mut walker = SegmentWalker::new(&pk, &input, log_cycles).expect("walker");
        let recorded = walker.record(0).expect("segment 0");
        let record_time = start.elapsed();
        let cycles = recorded.segment.steps.len();
        assert_eq!(cycles, 1 << log_cycles, "segment 0 is full");
        let start = Instant::now();
        let io = SegmentIo {
            input: &input,
            input_start: recorded.input_start,
            output_start: recorded.output_start,
        };
        let witness = air::segment_traces(pk.tables(), &recorded.segment, &io).expect("traces");
        let trace_time = start.elapsed();
        let shape: Vec<(TableKind, usize, usize)> = TableKind::ALL
            .iter()
            .map(|&kind| {
                let trace = witness.trace(kind);
                (kind, trace.width, trace.values.len() / trace.width)
            })
            .collect();
        let start = Instant::now();
        let phase1 = Phase1Segment::from_witness(&pk, witness, &input, None).expect("commit");
        let commit_time = start.elapsed();
        let phase1_time = record_time + trace_time + commit_time;

        // A stand-in global challenge from this one contribution (the run's would bind all
        // segments; the cost of proving does not depend on it).
        let contribution = phase1.contribution().contribution();
        let challenge = pipeline::derive(
            vk.program_id().as_bytes(),
            &vk.digest(),
            &report.summary,
            &[contribution],
        );
        let start = Instant::now();
        let bundle = pipeline::prove(&pk, phase1, &challenge, Checks::None).expect("proving");
        let phase2_time = start.elapsed();
        let bytes = bundle.to_bytes();

        // Verification of the segment proof as the aggregator does it when it lands.
        let mut aggregator =
            Aggregator::new(&vk, &input, challenge, report.summary.segment_count).expect("agg");
        let start = Instant::now();
        let _ = aggregator.add(bundle).expect("an honest proof verifies");
        let verify_time = start.elapsed();

        let total_time = phase1_time + phase2_time;
        println!(
            "\nSHA-256 segment 0 of 2^{log_cycles} = {cycles} cycles ({params}):\n  \
             phase 1 {:.2} s ({}; record {:.2} s, traces {:.2} s, commit {:.2} s)\n  \
             phase 2 {:.2} s ({})\n  total {:.2} s ({})\n  \
             proof {} bytes ({:.0} KiB), verify {:.1} ms, peak memory {}",
            phase1_time.as_secs_f64(),
            per_second(cycles, phase1_time),
            record_time.as_secs_f64(),
            trace_time.as_secs_f64(),
            commit_time.as_secs_f64(),
            phase2_time.as_secs_f64(),
            per_second(cycles, phase2_time),
            total_time.as_secs_f64(),
            per_second(cycles, total_time),
            bytes.len(),
            bytes.len() as f64 / 1024.0,
            verify_time.as_secs_f64() * 1e3,
            peak_memory_bytes().map_or("unknown".to_owned(), |b| format!(
                "{:.2} GB",
                b as f64 / 1e9
            )),
        );
        let (mut total_columns, mut total_aux) = (0.0, 0.0);
        for ((kind, width, height), table) in shape.into_iter().zip(vk.stark_key().tables()) {
            let per_cycle = (width * height) as f64 / cycles as f64;
            // LogUp: one extension column per packed lookup plus the running sum, four base
            // columns each.
            let aux = if table.lookup_columns == 0 {
                0
            } else {
                4 * (table.lookup_columns + 1)
            };
            let aux_per_cycle = (aux * height) as f64 / cycles as f64;
            total_columns += per_cycle;
            total_aux += aux_per_cycle;
            println!(
                "  {:8} {width:3} main + {aux:3} LogUp columns x 2^{:2} rows = {per_cycle:6.2} main, \
                 {aux_per_cycle:6.2} LogUp columns/cycle",
                kind.name(),
                height.ilog2()
            );
        }
        println!(
            "  total {total_columns:.1} main + {total_aux:.1} LogUp base columns/cycle (padded heights)"
        );
    }
}
