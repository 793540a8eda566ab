//! Segment-STARK proving time and proof size with Production parameters: a 100-column table
//! of degree-3 transition constraints that sends one byte per row to a preprocessed 256-row
//! range table, at `2^16` and `2^20` rows.
//!
//! Run with `cargo bench -p zisk-prover --bench stark`. `ZISK_BENCH_LOG_ROWS` (comma
//! separated, default `16,20`) picks the sizes; `cargo test --benches` runs one tiny size.

#[path = "../tests/stark_toys/mod.rs"]
mod stark_toys;

use std::time::Instant;

use stark_toys::{Range8, Toy, Wide, range_trace, wide_trace};
use zisk_prover::stark::{self, ParamSet, ProveMode};

const WIDTH: usize = 100;

fn main() {
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    let sizes: Vec<usize> = match std::env::var("ZISK_BENCH_LOG_ROWS") {
        Ok(text) => text
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        Err(_) if benchmarking => vec![16, 20],
        Err(_) => vec![10],
    };
    let params = ParamSet::Production;
    let tables = [
        Toy::Wide(Wide { width: WIDTH }),
        Toy::Range8(Range8 { shift: 0 }),
    ];
    let (pk, vk) = stark::setup(params, &tables).expect("toy tables set up");
    println!(
        "{params} parameters: {:?}, {} threads",
        params.fri(),
        p3_maybe_rayon::prelude::current_num_threads()
    );
    for log_rows in sizes {
        let (wide, bytes) = wide_trace(WIDTH, 1 << log_rows);
        let traces = vec![wide, range_trace(&bytes)];

        let start = Instant::now();
        let phase1 = stark::commit_main(&pk, traces, vec![]).expect("shapes are valid");
        let phase1_time = start.elapsed();
        let global_challenge = phase1.commitment();
        let start = Instant::now();
        let proof = stark::prove_phase2(&pk, phase1, &global_challenge, ProveMode::Unchecked)
            .expect("proving succeeds");
        let phase2_time = start.elapsed();
        let bytes = proof.to_bytes();
        let start = Instant::now();
        let verified = stark::verify(&vk, &tables, &proof, &[], &global_challenge, params)
            .expect("honest proof verifies");
        let verify_time = start.elapsed();
        assert_eq!(verified.bus_sum, stark::Challenge::default());
        println!(
            "2^{log_rows} rows x {WIDTH} columns: phase 1 {:.2} s, phase 2 {:.2} s, total {:.2} s, \
             proof {} bytes ({:.0} KiB), verify {:.1} ms",
            phase1_time.as_secs_f64(),
            phase2_time.as_secs_f64(),
            (phase1_time + phase2_time).as_secs_f64(),
            bytes.len(),
            bytes.len() as f64 / 1024.0,
            verify_time.as_secs_f64() * 1e3,
        );
    }
}
