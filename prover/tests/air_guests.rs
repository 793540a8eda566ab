//! Every guest, recorded as segments, gives traces on which every constraint holds and every
//! bus balances: each segment with the rest of the run standing in, and the whole run with
//! the initial image, the final memory and the public io; the first segment starts where a
//! run starts.

mod air_common;

use air_common::{Run, record_run, sha256_input, sort_input};
use zisk_prover::air::{check_first_segment, check_run, check_segment};

fn check_every_segment(run: &Run) {
    for (index, witness) in run.witnesses.iter().enumerate() {
        if let Err(error) = check_segment(&run.tables, witness, &run.input, &run.outputs) {
            panic!(
                "segment {index}: {error}\nconstraints: {:?}\nbuses: {:?}",
                error.constraint_names(),
                error.bus_names()
            );
        }
    }
    check_first_segment(&run.tables, &run.witnesses[0].publics)
        .expect("the first segment starts from the initial state");
    if let Err(error) = check_run(
        &run.tables,
        &run.witnesses,
        &run.final_memory,
        &run.input,
        &run.outputs,
    ) {
        panic!(
            "the run: {error}\nconstraints: {:?}\nbuses: {:?}",
            error.constraint_names(),
            error.bus_names()
        );
    }
    let last = run.witnesses.last().expect("a segment");
    assert!(last.publics.halted);
    assert_eq!(last.publics.output_end as usize, run.outputs.len());
    for pair in run.witnesses.windows(2) {
        assert_eq!(pair[0].publics.end_pc, pair[1].publics.start_pc);
        assert_eq!(
            pair[0].publics.start_cycle + u64::from(pair[0].publics.cycle_count),
            pair[1].publics.start_cycle
        );
    }
}

#[test]
fn fibonacci_segments_satisfy_every_constraint_and_bus() {
    let run = record_run("fibonacci", &30u32.to_le_bytes(), 8);
    assert!(run.witnesses.len() > 1);
    check_every_segment(&run);
}

#[test]
fn fibonacci_as_one_segment_satisfies_every_constraint_and_bus() {
    let run = record_run("fibonacci", &1000u32.to_le_bytes(), 20);
    assert_eq!(run.witnesses.len(), 1);
    check_every_segment(&run);
}

#[test]
fn sha256_segments_satisfy_every_constraint_and_bus() {
    let run = record_run("sha256", &sha256_input(300), 12);
    assert!(run.witnesses.len() > 1);
    check_every_segment(&run);
}

#[test]
fn sort_segments_satisfy_every_constraint_and_bus() {
    let run = record_run("sort", &sort_input(64), 11);
    assert!(run.witnesses.len() > 1);
    check_every_segment(&run);
}

#[test]
fn rv32im_segments_satisfy_every_constraint_and_bus() {
    let run = record_run("rv32im", &[], 10);
    assert!(run.witnesses.len() > 1);
    check_every_segment(&run);
}

#[test]
fn rv32im_as_one_segment_satisfies_every_constraint_and_bus() {
    let run = record_run("rv32im", &[], 16);
    assert_eq!(run.witnesses.len(), 1);
    check_every_segment(&run);
}
