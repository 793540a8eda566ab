//! The guest syscall ABI: `ecall` with the number in a7, arguments in a0 and a1, result in
//! a0. See docs/guest-abi.md.

use crate::config::{GUEST_MEMORY_START, MAX_SYSCALL_TRANSFER_BYTES};
use crate::fault::FaultKind;
use crate::memory::Memory;
use crate::trace::{MemoryAccess, SyscallRecord, Tracer};

/// `halt(exit_code: a0)`: ends execution. Exit code 0 is success; any other code is a
/// [`FaultKind::NonZeroExit`] guest fault.
pub const SYSCALL_HALT: u32 = 0;
/// `read_input(buffer: a0, len: a1) -> a0`: copies the next `min(len, remaining,
/// MAX_SYSCALL_TRANSFER_BYTES)` input bytes to `buffer` and returns how many; 0 means the
/// input is exhausted (or `len` was 0).
pub const SYSCALL_READ_INPUT: u32 = 1;
/// `commit(buffer: a0, len: a1) -> a0`: appends the first `min(len,
/// MAX_SYSCALL_TRANSFER_BYTES)` bytes at `buffer` to the public output and returns how many.
pub const SYSCALL_COMMIT: u32 = 2;

const A0: usize = 10;
const A1: usize = 11;
const A7: usize = 17;

/// The host side of the guest's I/O.
#[derive(Debug, Clone)]
pub(crate) struct Io {
    pub(crate) input: Vec<u8>,
    pub(crate) input_position: usize,
    pub(crate) output: Vec<u8>,
    pub(crate) max_output_bytes: usize,
}

/// What the machine does after a syscall.
pub(crate) enum SyscallOutcome {
    Continue,
    Halt,
}

/// Checks that `[address, address + len)` is mapped (and writable if `write`).
fn check_range(memory: &Memory, address: u32, len: u32, write: bool) -> Result<(), FaultKind> {
    if len == 0 {
        return Ok(());
    }
    let end = u64::from(address) + u64::from(len);
    if address < GUEST_MEMORY_START {
        return Err(FaultKind::UnmappedAccess { address });
    }
    if end > memory.end() {
        let first_unmapped = u64::from(address).max(memory.end());
        return Err(FaultKind::UnmappedAccess {
            address: first_unmapped as u32,
        });
    }
    let (text_start, text_end) = memory.text_range();
    if write && address < text_end && end > u64::from(text_start) {
        return Err(FaultKind::WriteToText {
            address: address.max(text_start),
        });
    }
    Ok(())
}

/// Touches every word of `[address, address + len)` (already checked to be mapped) in
/// increasing order. `update(byte_address, old_byte) -> new_byte` gives each byte's new value.
fn touch_range<T: Tracer>(
    memory: &mut Memory,
    address: u32,
    len: u32,
    tag: u32,
    tracer: &mut T,
    mut update: impl FnMut(u32, u8) -> u8,
    write: bool,
) {
    if len == 0 {
        return;
    }
    let last = address + (len - 1);
    let mut word_address = address & !3;
    loop {
        let Some(cell) = memory.cell_mut(word_address) else {
            unreachable!("syscall range was checked to be mapped");
        };
        let before = cell[0];
        let mut after = before;
        for lane in 0..4u32 {
            let byte_address = word_address + lane;
            if byte_address >= address && byte_address <= last {
                let old = (before >> (8 * lane)) as u8;
                let new = update(byte_address, old);
                after = (after & !(0xff << (8 * lane))) | (u32::from(new) << (8 * lane));
            }
        }
        let previous_tag = cell[1];
        cell[1] = tag;
        if write {
            cell[0] = after;
        }
        if T::RECORDING {
            if previous_tag != tag {
                tracer.first_touch(word_address, previous_tag, before);
            }
            tracer.syscall_access(MemoryAccess {
                address: word_address,
                is_write: write,
                value_before: before,
                value_after: if write { after } else { before },
            });
        }
        if word_address >= (last & !3) {
            break;
        }
        word_address += 4;
    }
}

/// Runs the syscall named by a7.
#[cold]
#[inline(never)]
pub(crate) fn handle<T: Tracer>(
    registers: &mut [u32; 64],
    memory: &mut Memory,
    io: &mut Io,
    tag: u32,
    cycle: u64,
    tracer: &mut T,
) -> Result<SyscallOutcome, FaultKind> {
    let number = registers[A7];
    let arguments = [registers[A0], registers[A1]];
    let first_access = tracer.syscall_access_count();
    let outcome = match number {
        SYSCALL_HALT => {
            if arguments[0] != 0 {
                return Err(FaultKind::NonZeroExit { code: arguments[0] });
            }
            SyscallOutcome::Halt
        }
        SYSCALL_READ_INPUT => {
            let [buffer, len] = arguments;
            let remaining = io.input.len() - io.input_position;
            let count = len
                .min(MAX_SYSCALL_TRANSFER_BYTES)
                .min(remaining.try_into().unwrap_or(u32::MAX));
            check_range(memory, buffer, count, true)?;
            let start = io.input_position;
            let input = &io.input;
            touch_range(
                memory,
                buffer,
                count,
                tag,
                tracer,
                |byte_address, _| input[start + (byte_address - buffer) as usize],
                true,
            );
            io.input_position += count as usize;
            registers[A0] = count;
            SyscallOutcome::Continue
        }
        SYSCALL_COMMIT => {
            let [buffer, len] = arguments;
            let count = len.min(MAX_SYSCALL_TRANSFER_BYTES);
            if io.output.len() + count as usize > io.max_output_bytes {
                return Err(FaultKind::OutputLimitExceeded {
                    max_output_bytes: io.max_output_bytes,
                });
            }
            check_range(memory, buffer, count, false)?;
            let output = &mut io.output;
            touch_range(
                memory,
                buffer,
                count,
                tag,
                tracer,
                |_, byte| {
                    output.push(byte);
                    byte
                },
                false,
            );
            registers[A0] = count;
            SyscallOutcome::Continue
        }
        number => return Err(FaultKind::UnknownSyscall { number }),
    };
    if T::RECORDING {
        tracer.syscall(SyscallRecord {
            cycle,
            number,
            arguments,
            result: registers[A0],
            accesses: first_access..tracer.syscall_access_count(),
        });
    }
    Ok(outcome)
}
