//! [`Machine`]: the RV32IM emulator, with fast-forward and trace-recording modes.

use crate::Program;
use crate::config::ExecConfig;
use crate::decode::Op;
use crate::fault::{ExecError, FaultKind, GuestFault};
use crate::memory::Memory;
use crate::syscall::{self, Io, SyscallOutcome};
use crate::trace::{MemoryAccess, NoTrace, Segment, SegmentState, StepRecord, Tracer};

/// Index of the stack pointer register.
const SP: usize = 2;

/// The result of running a program to its halt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionSummary {
    /// Instructions executed, the halting ECALL included.
    pub cycles: u64,
    /// Number of segments: `ceil(cycles / 2^segment_cycles_log2)`.
    pub segment_count: u32,
    /// The bytes the guest committed, in order.
    pub public_outputs: Vec<u8>,
}

/// Runs `program` on `input` to its halt, without recording.
///
/// # Errors
/// Invalid settings, oversized input, or the guest's fault.
pub fn execute(
    program: &Program,
    config: &ExecConfig,
    input: &[u8],
) -> Result<ExecutionSummary, ExecError> {
    Machine::new(program, config, input)?.run_to_end()
}

/// Records segment `index` of the run of `program` on `input`: fast-forwards to its start,
/// then records it.
///
/// # Errors
/// Invalid settings, oversized input, a segment past the end, or the guest's fault.
pub fn record_segment(
    program: &Program,
    config: &ExecConfig,
    input: &[u8],
    index: u32,
) -> Result<Segment, ExecError> {
    let mut machine = Machine::new(program, config, input)?;
    machine.fast_forward_to_segment(index)?;
    machine.record_segment()
}

/// An RV32IM machine running one program on one input.
///
/// Method families:
/// - getters: [`pc`](Self::pc), [`cycle`](Self::cycle), [`registers`](Self::registers),
///   [`state`](Self::state), [`is_halted`](Self::is_halted),
///   [`public_outputs`](Self::public_outputs), [`read_word`](Self::read_word),
///   [`touched_words`](Self::touched_words), [`input_position`](Self::input_position),
///   [`output_position`](Self::output_position), [`segment_count`](Self::segment_count);
/// - fast-forward (no recording): [`run_to_end`](Self::run_to_end),
///   [`fast_forward_to_segment`](Self::fast_forward_to_segment);
/// - recording: [`record_segment`](Self::record_segment),
///   [`record_segment_into`](Self::record_segment_into).
///
/// A machine only moves forward. Execution is deterministic: the same program, settings and
/// input give the same states, records and outputs on every host.
#[derive(Debug, Clone)]
pub struct Machine<'p> {
    program: &'p Program,
    config: ExecConfig,
    pc: u32,
    cycle: u64,
    /// `x0..x31`, then slot 32 (the sink for writes to `x0`); 64 slots so that masked
    /// indices need no bounds check.
    registers: [u32; 64],
    memory: Memory,
    io: Io,
    halted: bool,
}

impl<'p> Machine<'p> {
    /// A machine at the program's entry: memory holds the ELF image, `sp` is the end of guest
    /// memory, every other register is 0.
    ///
    /// # Errors
    /// Invalid settings or an input larger than `max_input_bytes`.
    pub fn new(program: &'p Program, config: &ExecConfig, input: &[u8]) -> Result<Self, ExecError> {
        config.validate()?;
        if input.len() > config.max_input_bytes {
            return Err(ExecError::InputTooLarge {
                len_bytes: input.len(),
                max_input_bytes: config.max_input_bytes,
            });
        }
        let mut registers = [0u32; 64];
        registers[SP] = program.memory_size_bytes();
        Ok(Self {
            program,
            config: *config,
            pc: program.entry(),
            cycle: 0,
            registers,
            memory: Memory::new(program),
            io: Io {
                input: input.to_vec(),
                input_position: 0,
                output: Vec::new(),
                max_output_bytes: config.max_output_bytes,
            },
            halted: false,
        })
    }

    /// The next instruction's address (after a fault: the faulting instruction's).
    #[must_use]
    pub fn pc(&self) -> u32 {
        self.pc
    }

    /// Instructions executed so far.
    #[must_use]
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// `x0..x31`.
    #[must_use]
    pub fn registers(&self) -> [u32; 32] {
        let mut registers = [0u32; 32];
        registers.copy_from_slice(&self.registers[..32]);
        registers
    }

    /// The current state as a segment boundary.
    #[must_use]
    pub fn state(&self) -> SegmentState {
        SegmentState {
            segment_index: self.segment_index(),
            cycle: self.cycle,
            pc: self.pc,
            registers: self.registers(),
        }
    }

    /// Whether the guest has halted (successfully).
    #[must_use]
    pub fn is_halted(&self) -> bool {
        self.halted
    }

    /// The bytes committed so far.
    #[must_use]
    pub fn public_outputs(&self) -> &[u8] {
        &self.io.output
    }

    /// The word at `word_address & !3`, or `None` if unmapped.
    #[must_use]
    pub fn read_word(&self, word_address: u32) -> Option<u32> {
        self.memory.read_word(word_address)
    }

    /// Every word touched so far, in address order: (word address, current value, last
    /// segment that touched it). With the program's initial image this is the final memory
    /// image of the cross-segment memory argument.
    pub fn touched_words(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.memory.touched_words()
    }

    /// Input bytes consumed so far (at a segment start: the segment's input position).
    #[must_use]
    pub fn input_position(&self) -> usize {
        self.io.input_position
    }

    /// Output bytes committed so far (at a segment start: the segment's output position).
    #[must_use]
    pub fn output_position(&self) -> usize {
        self.io.output.len()
    }

    /// Index of the segment the current cycle belongs to.
    fn segment_index(&self) -> u32 {
        // ExecConfig::validate bounds max_cycles >> segment_cycles_log2 below u32::MAX.
        (self.cycle >> self.config.segment_cycles_log2) as u32
    }

    /// Segments of the run so far (after the halt: of the whole run).
    #[must_use]
    pub fn segment_count(&self) -> u32 {
        self.cycle.div_ceil(self.config.segment_cycles()) as u32
    }

    fn summary(&self) -> ExecutionSummary {
        ExecutionSummary {
            cycles: self.cycle,
            segment_count: self.segment_count(),
            public_outputs: self.io.output.clone(),
        }
    }

    /// Runs to the halt without recording.
    ///
    /// # Errors
    /// The guest's fault.
    pub fn run_to_end(&mut self) -> Result<ExecutionSummary, ExecError> {
        self.run(u64::MAX, &mut NoTrace)?;
        Ok(self.summary())
    }

    /// Runs without recording to the start of segment `index`.
    ///
    /// # Errors
    /// [`ExecError::SegmentOutOfRange`] if the program halts before segment `index` starts,
    /// [`ExecError::SegmentInPast`] if the machine is already past it, or the guest's fault.
    pub fn fast_forward_to_segment(&mut self, index: u32) -> Result<(), ExecError> {
        let start_cycle = u64::from(index) << self.config.segment_cycles_log2;
        if self.cycle > start_cycle {
            return Err(ExecError::SegmentInPast {
                index,
                cycle: self.cycle,
            });
        }
        self.run(start_cycle, &mut NoTrace)?;
        if self.halted {
            return Err(ExecError::SegmentOutOfRange {
                index,
                segment_count: self.segment_count(),
            });
        }
        Ok(())
    }

    /// Records from the current cycle (a segment start, unless the machine faulted before) to
    /// the end of its segment or the halt.
    ///
    /// # Errors
    /// [`ExecError::Halted`] if there is nothing left to run, or the guest's fault.
    pub fn record_segment(&mut self) -> Result<Segment, ExecError> {
        let mut segment = Segment {
            steps: Vec::with_capacity(self.config.segment_cycles().min(1 << 20) as usize),
            ..Segment::default()
        };
        self.record_segment_into(&mut segment)?;
        Ok(segment)
    }

    /// Like [`record_segment`](Self::record_segment), reusing `segment`'s allocations.
    ///
    /// # Errors
    /// [`ExecError::Halted`] if there is nothing left to run, or the guest's fault.
    pub fn record_segment_into(&mut self, segment: &mut Segment) -> Result<(), ExecError> {
        if self.halted {
            return Err(ExecError::Halted);
        }
        segment.clear();
        segment.start = self.state();
        let end_cycle = (u64::from(self.segment_index()) + 1) << self.config.segment_cycles_log2;
        self.run(end_cycle, segment)?;
        segment.halted = self.halted;
        segment.end = self.state();
        for word in &mut segment.touched_words {
            word.value_at_end = self.memory.read_word(word.word_address).unwrap_or_default();
        }
        segment
            .touched_words
            .sort_unstable_by_key(|word| word.word_address);
        debug_assert_eq!(
            segment.steps.len() as u64,
            segment.end.cycle - segment.start.cycle,
            "one record per cycle"
        );
        Ok(())
    }

    /// Runs until the halt or `end_cycle`, one segment-aligned block at a time.
    fn run<T: Tracer>(&mut self, end_cycle: u64, tracer: &mut T) -> Result<(), ExecError> {
        let log2 = self.config.segment_cycles_log2;
        while !self.halted && self.cycle < end_cycle {
            if self.cycle >= self.config.max_cycles {
                let instruction = self.fetch_word(self.pc);
                return Err(GuestFault {
                    pc: self.pc,
                    instruction,
                    cycle: self.cycle,
                    kind: FaultKind::CycleLimitExceeded {
                        max_cycles: self.config.max_cycles,
                    },
                }
                .into());
            }
            let boundary = ((self.cycle >> log2) + 1) << log2;
            let stop_cycle = boundary.min(end_cycle).min(self.config.max_cycles);
            self.run_block(stop_cycle, tracer)?;
        }
        Ok(())
    }

    /// The instruction word at `pc`, or 0 outside the text.
    fn fetch_word(&self, pc: u32) -> u32 {
        let index = (pc.wrapping_sub(self.program.text_range().start) >> 2) as usize;
        self.program
            .code_words
            .get(index)
            .copied()
            .unwrap_or_default()
    }

    /// The interpreter loop: runs until `stop_cycle` or the halt. The caller ensures that no
    /// segment boundary lies strictly between the current cycle and `stop_cycle`, so the touch
    /// tag is constant.
    #[allow(clippy::too_many_lines)]
    fn run_block<T: Tracer>(&mut self, stop_cycle: u64, tracer: &mut T) -> Result<(), GuestFault> {
        let tag = self.segment_index() + 1;
        let program = self.program;
        let code = &program.code[..];
        let code_words = &program.code_words[..];
        let text_start = program.text_range().start;
        let registers = &mut self.registers;
        let memory = &mut self.memory;
        let io = &mut self.io;
        let mut pc = self.pc;
        let mut cycle = self.cycle;
        let mut halted = false;

        let result = 'run: loop {
            if cycle >= stop_cycle {
                break Ok(());
            }
            let index = (pc.wrapping_sub(text_start) >> 2) as usize;
            let Some(&decoded) = code.get(index) else {
                break Err(GuestFault {
                    pc,
                    instruction: 0,
                    cycle,
                    kind: FaultKind::PcOutsideText,
                });
            };
            macro_rules! fault {
                ($kind:expr) => {
                    break 'run Err(GuestFault {
                        pc,
                        instruction: code_words[index],
                        cycle,
                        kind: $kind,
                    })
                };
            }
            let rs1_value = registers[(decoded.rs1 & 31) as usize];
            let rs2_value = registers[(decoded.rs2 & 31) as usize];
            let rd = (decoded.rd & 63) as usize;
            let imm = decoded.imm;
            let mut next_pc = pc.wrapping_add(4);
            let mut access: Option<MemoryAccess> = None;

            macro_rules! jump {
                ($target:expr) => {{
                    let target: u32 = $target;
                    if target & 3 != 0 {
                        fault!(FaultKind::MisalignedJump { target });
                    }
                    next_pc = target;
                }};
            }
            macro_rules! branch {
                ($taken:expr) => {
                    if $taken {
                        jump!(imm);
                    }
                };
            }
            macro_rules! load {
                ($size:expr) => {{
                    let address = rs1_value.wrapping_add(imm);
                    if !address.is_multiple_of($size) {
                        fault!(FaultKind::MisalignedAccess { address });
                    }
                    let Some(cell) = memory.cell_mut(address) else {
                        fault!(FaultKind::UnmappedAccess { address });
                    };
                    let value = cell[0];
                    let previous_tag = cell[1];
                    cell[1] = tag;
                    if T::RECORDING {
                        if previous_tag != tag {
                            tracer.first_touch(address & !3, previous_tag, value);
                        }
                        access = Some(MemoryAccess {
                            address,
                            is_write: false,
                            value_before: value,
                            value_after: value,
                        });
                    }
                    (value, address)
                }};
            }
            macro_rules! store {
                ($size:expr, $lane_mask:expr) => {{
                    let address = rs1_value.wrapping_add(imm);
                    if !address.is_multiple_of($size) {
                        fault!(FaultKind::MisalignedAccess { address });
                    }
                    if memory.is_text(address) {
                        fault!(FaultKind::WriteToText { address });
                    }
                    let Some(cell) = memory.cell_mut(address) else {
                        fault!(FaultKind::UnmappedAccess { address });
                    };
                    let shift = (address & 3) * 8;
                    let lane_mask: u32 = $lane_mask << shift;
                    let before = cell[0];
                    let after = (before & !lane_mask) | ((rs2_value << shift) & lane_mask);
                    let previous_tag = cell[1];
                    *cell = [after, tag];
                    if T::RECORDING {
                        if previous_tag != tag {
                            tracer.first_touch(address & !3, previous_tag, before);
                        }
                        access = Some(MemoryAccess {
                            address,
                            is_write: true,
                            value_before: before,
                            value_after: after,
                        });
                    }
                }};
            }

            match decoded.op {
                Op::LoadConstant => registers[rd] = imm,
                Op::Jal => {
                    jump!(imm);
                    registers[rd] = pc.wrapping_add(4);
                }
                Op::Jalr => {
                    jump!(rs1_value.wrapping_add(imm) & !1);
                    registers[rd] = pc.wrapping_add(4);
                }
                Op::Beq => branch!(rs1_value == rs2_value),
                Op::Bne => branch!(rs1_value != rs2_value),
                Op::Blt => branch!((rs1_value as i32) < (rs2_value as i32)),
                Op::Bge => branch!((rs1_value as i32) >= (rs2_value as i32)),
                Op::Bltu => branch!(rs1_value < rs2_value),
                Op::Bgeu => branch!(rs1_value >= rs2_value),
                Op::Lb => {
                    let (word, address) = load!(1);
                    registers[rd] = (word >> ((address & 3) * 8)) as u8 as i8 as i32 as u32;
                }
                Op::Lh => {
                    let (word, address) = load!(2);
                    registers[rd] = (word >> ((address & 3) * 8)) as u16 as i16 as i32 as u32;
                }
                Op::Lw => {
                    let (word, _) = load!(4);
                    registers[rd] = word;
                }
                Op::Lbu => {
                    let (word, address) = load!(1);
                    registers[rd] = (word >> ((address & 3) * 8)) & 0xff;
                }
                Op::Lhu => {
                    let (word, address) = load!(2);
                    registers[rd] = (word >> ((address & 3) * 8)) & 0xffff;
                }
                Op::Sb => store!(1, 0xffu32),
                Op::Sh => store!(2, 0xffffu32),
                Op::Sw => store!(4, u32::MAX),
                Op::Addi => registers[rd] = rs1_value.wrapping_add(imm),
                Op::Slti => registers[rd] = u32::from((rs1_value as i32) < (imm as i32)),
                Op::Sltiu => registers[rd] = u32::from(rs1_value < imm),
                Op::Xori => registers[rd] = rs1_value ^ imm,
                Op::Ori => registers[rd] = rs1_value | imm,
                Op::Andi => registers[rd] = rs1_value & imm,
                Op::Slli => registers[rd] = rs1_value << (imm & 31),
                Op::Srli => registers[rd] = rs1_value >> (imm & 31),
                Op::Srai => registers[rd] = ((rs1_value as i32) >> (imm & 31)) as u32,
                Op::Add => registers[rd] = rs1_value.wrapping_add(rs2_value),
                Op::Sub => registers[rd] = rs1_value.wrapping_sub(rs2_value),
                Op::Sll => registers[rd] = rs1_value << (rs2_value & 31),
                Op::Slt => registers[rd] = u32::from((rs1_value as i32) < (rs2_value as i32)),
                Op::Sltu => registers[rd] = u32::from(rs1_value < rs2_value),
                Op::Xor => registers[rd] = rs1_value ^ rs2_value,
                Op::Srl => registers[rd] = rs1_value >> (rs2_value & 31),
                Op::Sra => registers[rd] = ((rs1_value as i32) >> (rs2_value & 31)) as u32,
                Op::Or => registers[rd] = rs1_value | rs2_value,
                Op::And => registers[rd] = rs1_value & rs2_value,
                Op::Mul => registers[rd] = rs1_value.wrapping_mul(rs2_value),
                Op::Mulh => {
                    let product = i64::from(rs1_value as i32) * i64::from(rs2_value as i32);
                    registers[rd] = (product >> 32) as u32;
                }
                Op::Mulhsu => {
                    // |(-2^31) * (2^32 - 1)| < 2^63: the product fits in an i64.
                    let product = i64::from(rs1_value as i32) * i64::from(rs2_value);
                    registers[rd] = (product >> 32) as u32;
                }
                Op::Mulhu => {
                    let product = u64::from(rs1_value) * u64::from(rs2_value);
                    registers[rd] = (product >> 32) as u32;
                }
                Op::Div => {
                    registers[rd] = if rs2_value == 0 {
                        u32::MAX
                    } else {
                        // i32::MIN / -1 overflows to i32::MIN, as RISC-V specifies.
                        (rs1_value as i32).wrapping_div(rs2_value as i32) as u32
                    };
                }
                Op::Divu => {
                    registers[rd] = rs1_value.checked_div(rs2_value).unwrap_or(u32::MAX);
                }
                Op::Rem => {
                    registers[rd] = if rs2_value == 0 {
                        rs1_value
                    } else {
                        // i32::MIN % -1 is 0, as RISC-V specifies.
                        (rs1_value as i32).wrapping_rem(rs2_value as i32) as u32
                    };
                }
                Op::Remu => {
                    registers[rd] = rs1_value.checked_rem(rs2_value).unwrap_or(rs1_value);
                }
                Op::Fence => {}
                Op::Ecall => match syscall::handle(registers, memory, io, tag, cycle, tracer) {
                    Ok(SyscallOutcome::Continue) => {}
                    Ok(SyscallOutcome::Halt) => {
                        next_pc = pc;
                        halted = true;
                    }
                    Err(kind) => fault!(kind),
                },
                Op::Ebreak => fault!(FaultKind::Breakpoint),
                Op::Illegal => fault!(FaultKind::IllegalInstruction),
            }

            if T::RECORDING {
                let instruction = code_words[index];
                tracer.step(StepRecord {
                    cycle,
                    pc,
                    next_pc,
                    instruction,
                    rs1_value,
                    rs2_value,
                    rd_value: registers[((instruction >> 7) & 31) as usize],
                    memory: access,
                });
            }
            pc = next_pc;
            cycle += 1;
            if halted {
                break Ok(());
            }
        };
        self.pc = pc;
        self.cycle = cycle;
        self.halted = halted;
        result
    }
}
