//! Helpers of the AIR tests: guests, recorded segments and their witnesses.
#![allow(dead_code, unreachable_pub)]

use zisk_prover::air::{
    FinalWord, ProgramTables, SegmentIo, SegmentWitness, final_memory, segment_traces,
};
use zisk_prover::{ExecConfig, Machine, Program, Segment, execute};

/// A committed guest ELF.
pub fn guest(name: &str) -> Program {
    let path = format!("{}/guests/bin/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    Program::from_elf(&std::fs::read(path).expect("guest ELF")).expect("valid guest")
}

/// A run cut into segments, each with its witness.
pub struct Run {
    pub program: Program,
    pub tables: ProgramTables,
    pub input: Vec<u8>,
    pub outputs: Vec<u8>,
    pub segments: Vec<Segment>,
    pub witnesses: Vec<SegmentWitness>,
    /// The run's final memory (closes the `gmem` bus).
    pub final_memory: Vec<FinalWord>,
}

/// Records every segment of `name` on `input` with segments of `2^segment_cycles_log2` cycles.
pub fn record_run(name: &str, input: &[u8], segment_cycles_log2: u32) -> Run {
    let program = guest(name);
    let tables = ProgramTables::new(&program);
    let config = ExecConfig {
        segment_cycles_log2,
        ..ExecConfig::default()
    };
    let outputs = execute(&program, &config, input)
        .expect("guest runs")
        .public_outputs;
    let mut machine = Machine::new(&program, &config, input).expect("machine");
    let mut witnesses = Vec::new();
    let mut segments = Vec::new();
    while !machine.is_halted() {
        let io = SegmentIo {
            input,
            input_start: machine.input_position() as u32,
            output_start: machine.output_position() as u32,
        };
        let segment = machine.record_segment().expect("segment");
        let witness = segment_traces(&tables, &segment, &io).expect("traces");
        witnesses.push(witness);
        segments.push(segment);
    }
    let final_memory = final_memory(&tables, &machine);
    Run {
        program,
        tables,
        input: input.to_vec(),
        outputs,
        segments,
        witnesses,
        final_memory,
    }
}

/// The sha256 guest's input for tests.
pub fn sha256_input(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// The sort guest's input: `count` pseudo-random u32 values.
pub fn sort_input(count: u32) -> Vec<u8> {
    (0..count)
        .flat_map(|i| (i.wrapping_mul(2_654_435_761) ^ 0x5bd1_e995).to_le_bytes())
        .collect()
}

use p3_field::{PrimeCharacteristicRing, PrimeField32};
use zisk_prover::StepRecord;
use zisk_prover::air::{CheckError, TableKind, Val, check_segment};

/// Fields of an instruction word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields {
    pub opcode: u32,
    pub funct3: u32,
    pub funct7: u32,
    pub rd: u32,
    pub rs1: u32,
    pub rs2: u32,
}

pub fn fields(word: u32) -> Fields {
    Fields {
        opcode: word & 0x7f,
        funct3: (word >> 12) & 7,
        funct7: word >> 25,
        rd: (word >> 7) & 31,
        rs1: (word >> 15) & 31,
        rs2: (word >> 20) & 31,
    }
}

impl Run {
    /// The first cpu row of segment `segment` whose step satisfies `predicate`.
    pub fn row_where(
        &self,
        segment: usize,
        predicate: impl Fn(&StepRecord, Fields) -> bool,
    ) -> usize {
        self.segments[segment]
            .steps
            .iter()
            .position(|step| predicate(step, fields(step.instruction)))
            .expect("the guest executes such an instruction")
    }

    /// Checks segment `segment` with `witness` in place of its own, expecting a failure.
    pub fn check_tampered(&self, segment: usize, witness: &SegmentWitness) -> CheckError {
        self.check_tampered_io(segment, witness, &self.input, &self.outputs)
    }

    /// Like [`Run::check_tampered`] with the given public input and output.
    pub fn check_tampered_io(
        &self,
        segment: usize,
        witness: &SegmentWitness,
        input: &[u8],
        outputs: &[u8],
    ) -> CheckError {
        let _ = segment;
        check_segment(&self.tables, witness, input, outputs)
            .expect_err("the tampered segment must not check")
    }
}

/// Reads a cell.
pub fn get(witness: &SegmentWitness, table: TableKind, row: usize, column: usize) -> u32 {
    let trace = witness.trace(table);
    trace.values[row * trace.width + column].as_canonical_u32()
}

/// Writes a cell.
pub fn set(witness: &mut SegmentWitness, table: TableKind, row: usize, column: usize, value: u32) {
    let trace = witness.trace_mut(table);
    let width = trace.width;
    trace.values[row * width + column] = Val::from_u32(value);
}

/// Replaces a cell by `f(cell)`.
pub fn update(
    witness: &mut SegmentWitness,
    table: TableKind,
    row: usize,
    column: usize,
    f: impl FnOnce(u32) -> u32,
) {
    let value = f(get(witness, table, row, column));
    set(witness, table, row, column, value);
}

/// Writes a cell with a field value given as a signed integer.
pub fn set_signed(
    witness: &mut SegmentWitness,
    table: TableKind,
    row: usize,
    column: usize,
    value: i64,
) {
    let trace = witness.trace_mut(table);
    let width = trace.width;
    trace.values[row * width + column] = Val::from_i64(value);
}

/// The first row of `table` whose `column` is 1.
pub fn table_row_with(witness: &SegmentWitness, table: TableKind, column: usize) -> usize {
    let height = witness.trace(table).values.len() / witness.trace(table).width;
    (0..height)
        .find(|&row| get(witness, table, row, column) == 1)
        .expect("a row with the flag")
}

/// Asserts that `error` is a constraint failure including `name`.
#[track_caller]
pub fn assert_constraint(error: &CheckError, name: &str) {
    let names = error.constraint_names();
    assert!(
        names.contains(&name),
        "expected constraint {name:?}, got {error}: {names:?}"
    );
}

/// Asserts that `error` is a bus imbalance including bus `bus`.
#[track_caller]
pub fn assert_bus(error: &CheckError, bus: &str) {
    let buses = error.bus_names();
    assert!(
        buses.contains(&bus),
        "expected bus {bus:?}, got {error}: {buses:?}"
    );
}

/// Asserts that `error` has an unbalanced message on `bus` sent once more than received
/// (net `+1`) whose fields satisfy `predicate`: the tampered message itself.
#[track_caller]
pub fn assert_sent_unmatched(error: &CheckError, bus: &str, predicate: impl Fn(&[u32]) -> bool) {
    let CheckError::Failed { imbalances, .. } = error else {
        panic!("expected unbalanced buses, got {error}");
    };
    assert!(
        imbalances
            .iter()
            .any(|i| i.bus == bus && i.net == 1 && predicate(&i.fields)),
        "no unmatched message on {bus:?}: {imbalances:?}"
    );
}
