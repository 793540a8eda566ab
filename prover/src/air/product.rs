//! The 64-bit product core shared by the mul and div tables:
//! `x * y + z = w (mod 2^64)` on sign- or zero-extended bytes, one equation per byte position
//! `n = 0..8`:
//!
//! `sum_{i+j=n} x_i y_j + z_n + K_{n-1} = w_n + 256 K_n`
//!
//! Each side stays below 2^24 (carries below 2^12, checked below 2^16; bytes checked), so the
//! equations hold over the integers and fix `w` and the carries.

use p3_lookup::InteractionBuilder;

use super::Val;
use super::labels::{Cx, Ex, Labels, constant};

/// Asserts the eight byte equations. Every argument is a byte (or sign-extension byte)
/// expression of degree at most 1.
pub(crate) fn eval_product<AB: InteractionBuilder<F = Val>, L: Labels>(
    cx: &mut Cx<'_, AB, L>,
    name: &'static str,
    x: &[Ex<AB>; 8],
    y: &[Ex<AB>; 8],
    z: &[Ex<AB>; 8],
    w: &[Ex<AB>; 8],
    carries: &[Ex<AB>; 8],
) {
    for n in 0..8 {
        let mut sum = z[n].clone();
        for i in 0..=n {
            sum += x[i].clone() * y[n - i].clone();
        }
        if n > 0 {
            sum += carries[n - 1].clone();
        }
        cx.zero(
            name,
            sum - w[n].clone() - carries[n].clone() * constant::<AB>(256),
        );
    }
}

/// The bytes of `value` extended with `negative` (0xff bytes) to 64 bits.
pub(crate) fn extended_bytes(value: u32, negative: bool) -> [u64; 8] {
    let mut bytes = [if negative { 0xff } else { 0 }; 8];
    for (i, byte) in bytes.iter_mut().take(4).enumerate() {
        *byte = u64::from((value >> (8 * i)) & 0xff);
    }
    bytes
}

/// The bytes of `x * y + z (mod 2^64)` and the carries of the byte equations.
pub(crate) fn product_witness(x: &[u64; 8], y: &[u64; 8], z: &[u64; 8]) -> ([u64; 8], [u64; 8]) {
    let mut w = [0u64; 8];
    let mut carries = [0u64; 8];
    let mut carry = 0u64;
    for n in 0..8 {
        let mut sum = z[n] + carry;
        for i in 0..=n {
            sum += x[i] * y[n - i];
        }
        w[n] = sum & 0xff;
        carry = sum >> 8;
        carries[n] = carry;
    }
    (w, carries)
}
