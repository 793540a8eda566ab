//! Emulator speed on the SHA-256 guest over a 1 MiB input, in million instructions per
//! second (MIPS): fast-forward (no recording, what a worker does to reach its segment) and
//! trace recording (every segment recorded into a reused buffer).
//!
//! Run with `cargo bench -p zisk-prover --bench emulator`. Set `ZISK_BENCH_ROUNDS` to change
//! the number of timed rounds (default 5); the best and median rounds are reported.

use std::time::{Duration, Instant};

use zisk_prover::{ExecConfig, Machine, Program, Segment};

const INPUT_BYTES: usize = 1 << 20;

fn input() -> Vec<u8> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    (0..INPUT_BYTES)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

fn report(mode: &str, cycles: u64, mut times: Vec<Duration>) {
    times.sort();
    let mips = |time: Duration| cycles as f64 / time.as_secs_f64() / 1e6;
    let best = times[0];
    let median = times[times.len() / 2];
    println!(
        "{mode:<13} {cycles} instructions: best {:.1} ms = {:.1} MIPS, median {:.1} ms = {:.1} MIPS",
        best.as_secs_f64() * 1e3,
        mips(best),
        median.as_secs_f64() * 1e3,
        mips(median),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then run once, quickly.
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    let rounds: usize = if benchmarking {
        std::env::var("ZISK_BENCH_ROUNDS")
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(5)
    } else {
        1
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/guests/bin/sha256.elf");
    let elf = std::fs::read(path).expect("the committed sha256 guest");
    let program = Program::from_elf(&elf).expect("the sha256 guest loads");
    let input = input();
    let config = ExecConfig::default();

    let mut cycles = 0;
    let mut times = Vec::new();
    for _ in 0..rounds {
        let mut machine = Machine::new(&program, &config, &input).expect("valid settings");
        let start = Instant::now();
        let summary = machine.run_to_end().expect("the guest halts");
        times.push(start.elapsed());
        cycles = summary.cycles;
        assert_eq!(summary.public_outputs.len(), 32);
    }
    println!(
        "SHA-256 guest over {INPUT_BYTES} bytes, segments of 2^{} cycles",
        config.segment_cycles_log2
    );
    report("fast-forward", cycles, times);

    let mut times = Vec::new();
    let mut segment = Segment::default();
    for _ in 0..rounds {
        let mut machine = Machine::new(&program, &config, &input).expect("valid settings");
        let mut recorded = 0u64;
        let start = Instant::now();
        while !machine.is_halted() {
            machine
                .record_segment_into(&mut segment)
                .expect("the guest halts");
            recorded += segment.steps.len() as u64;
        }
        times.push(start.elapsed());
        assert_eq!(recorded, cycles);
    }
    report("recording", cycles, times);
}
