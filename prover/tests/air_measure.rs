//! Measurements (ignored by default; run in release):
//! `cargo test --release -p zisk-prover --test air_measure -- --ignored --nocapture`.

mod air_common;

use std::time::Instant;

use air_common::{guest, sha256_input};
use zisk_prover::air::{ProgramTables, SegmentIo, TableKind, check_segment, segment_traces};
use zisk_prover::{ExecConfig, Machine, execute};

#[test]
#[ignore = "measurement"]
fn sha256_segment_columns_per_cycle_and_trace_generation_speed() {
    let log2 = 16;
    let program = guest("sha256");
    let tables = ProgramTables::new(&program);
    let input = sha256_input(4000);
    let config = ExecConfig {
        segment_cycles_log2: log2,
        ..ExecConfig::default()
    };
    let outputs = execute(&program, &config, &input)
        .expect("runs")
        .public_outputs;
    let mut machine = Machine::new(&program, &config, &input).expect("machine");
    let segment = machine.record_segment().expect("segment");
    assert_eq!(segment.steps.len(), 1 << log2, "a full segment");
    let io = SegmentIo {
        input: &input,
        input_start: 0,
        output_start: 0,
    };

    let rounds = 5;
    let mut best = f64::MAX;
    let mut witness = None;
    for _ in 0..rounds {
        let start = Instant::now();
        witness = Some(segment_traces(&tables, &segment, &io).expect("traces"));
        best = best.min(start.elapsed().as_secs_f64());
    }
    let witness = witness.expect("a round");
    let cycles = segment.steps.len() as f64;
    println!(
        "trace generation: {:.1} ms best of {rounds} for 2^{log2} cycles = {:.2} M cycles/s",
        best * 1e3,
        cycles / best / 1e6
    );
    let (mut padded, mut used) = (0.0, 0.0);
    for kind in TableKind::ALL {
        let trace = witness.trace(kind);
        let height = trace.values.len() / trace.width;
        // Active rows: ALU tables start with one-hot operation flags, the others with IS_REAL.
        let flags = match kind {
            TableKind::Rom | TableKind::Range16 | TableKind::Bytes => 0,
            TableKind::Bitwise => 3,
            TableKind::Mul => 7,
            TableKind::Div => 4,
            _ => 1,
        };
        let real = if flags == 0 {
            height
        } else {
            (0..height)
                .filter(|&r| {
                    let row = &trace.values[r * trace.width..r * trace.width + flags];
                    row.iter().any(|v| *v != zisk_prover::air::Val::default())
                })
                .count()
        };
        let per_cycle = (trace.width * height) as f64 / cycles;
        padded += per_cycle;
        used += (trace.width * real) as f64 / cycles;
        println!(
            "{:8} width {:3} height {:7} ({:7} used) -> {:6.2} columns per cycle",
            kind.name(),
            trace.width,
            height,
            real,
            per_cycle
        );
    }
    println!("main columns per cycle: {padded:.1} with padding, {used:.1} without");
    let start = Instant::now();
    check_segment(&tables, &witness, &input, &outputs).expect("checks");
    println!("full check: {:.0} ms", start.elapsed().as_secs_f64() * 1e3);
}

#[test]
#[ignore = "measurement"]
fn sha256_instruction_mix() {
    let program = guest("sha256");
    let input = sha256_input(4000);
    let config = ExecConfig {
        segment_cycles_log2: 16,
        ..ExecConfig::default()
    };
    let mut machine = Machine::new(&program, &config, &input).expect("machine");
    let segment = machine.record_segment().expect("segment");
    let shifts = segment
        .steps
        .iter()
        .filter(|s| {
            let w = s.instruction;
            let (opcode, funct3, funct7) = (w & 0x7f, (w >> 12) & 7, w >> 25);
            (opcode == 0x13 || opcode == 0x33) && (funct3 == 1 || funct3 == 5) && funct7 != 1
                || opcode == 0x33 && funct7 == 1 && funct3 < 4
        })
        .count();
    println!(
        "mul-table instructions: {shifts} of {}",
        segment.steps.len()
    );
}
