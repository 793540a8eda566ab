//! Reference semantics written from the RISC-V specification, independent of the emulator.

/// The RISC-V specification's result for a register-register instruction.
pub fn reference_rr(name: &str, a: u32, b: u32) -> u32 {
    let (sa, sb) = (i128::from(a as i32), i128::from(b as i32));
    let (ua, ub) = (i128::from(a), i128::from(b));
    let shift = b % 32;
    match name {
        "add" => ((ua + ub) % (1 << 32)) as u32,
        "sub" => ((ua - ub).rem_euclid(1 << 32)) as u32,
        "sll" => ((ua << shift) % (1 << 32)) as u32,
        "slt" => u32::from(sa < sb),
        "sltu" => u32::from(ua < ub),
        "xor" => a ^ b,
        "srl" => (ua >> shift) as u32,
        "sra" => (sa >> shift) as u32,
        "or" => a | b,
        "and" => a & b,
        "mul" => ((ua * ub) % (1 << 32)) as u32,
        "mulh" => ((sa * sb) >> 32) as u32,
        "mulhsu" => ((sa * ub) >> 32) as u32,
        "mulhu" => ((ua * ub) >> 32) as u32,
        // Division by zero gives all ones (quotient) or the dividend (remainder); the only
        // signed overflow, -2^31 / -1, gives -2^31 and remainder 0. Rounding is toward zero.
        "div" if b == 0 => u32::MAX,
        "div" => {
            let quotient = sa / sb;
            if quotient == 1 << 31 {
                0x8000_0000
            } else {
                quotient as u32
            }
        }
        "divu" if b == 0 => u32::MAX,
        "divu" => (ua / ub) as u32,
        "rem" if b == 0 => a,
        "rem" => (sa % sb) as u32,
        "remu" if b == 0 => a,
        "remu" => (ua % ub) as u32,
        _ => unreachable!(),
    }
}

pub fn reference_ri(name: &str, a: u32, imm: i32) -> u32 {
    let imm_u = imm as u32;
    match name {
        "addi" => a.wrapping_add(imm_u),
        "slti" => u32::from((a as i32) < imm),
        "sltiu" => u32::from(a < imm_u),
        "xori" => a ^ imm_u,
        "ori" => a | imm_u,
        "andi" => a & imm_u,
        "slli" => a << imm,
        "srli" => a >> imm,
        "srai" => ((a as i32) >> imm) as u32,
        _ => unreachable!(),
    }
}

pub fn reference_branch(name: &str, a: u32, b: u32) -> bool {
    match name {
        "beq" => a == b,
        "bne" => a != b,
        "blt" => (a as i32) < (b as i32),
        "bge" => (a as i32) >= (b as i32),
        "bltu" => a < b,
        "bgeu" => a >= b,
        _ => unreachable!(),
    }
}
