//! [`ProgramId`]: the content hash that names a guest program.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The identity of a guest program: the SHA-256 hash of its ELF file's bytes.
///
/// Two byte-identical ELF files have the same id; any change to the file (code, data, symbols,
/// padding) gives a different one. It displays and parses as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProgramId(pub [u8; 32]);

impl ProgramId {
    /// Hashes `elf_bytes` (the whole file, as uploaded).
    #[must_use]
    pub fn of_elf_bytes(elf_bytes: &[u8]) -> Self {
        Self(Sha256::digest(elf_bytes).into())
    }

    /// The raw 32 hash bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ProgramId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ProgramId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProgramId({self})")
    }
}

/// Error parsing a [`ProgramId`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a program id is 64 hex digits, got {got:?}")]
pub struct ParseProgramIdError {
    /// The text that failed to parse (cut to 80 characters).
    pub got: String,
}

impl FromStr for ProgramId {
    type Err = ParseProgramIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ParseProgramIdError {
            got: text.chars().take(80).collect(),
        };
        let digits = text.as_bytes();
        if digits.len() != 64 {
            return Err(error());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let high = hex_value(pair[0]).ok_or_else(error)?;
            let low = hex_value(pair[1]).ok_or_else(error)?;
            *byte = (high << 4) | low;
        }
        Ok(Self(bytes))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_id_of_empty_input_is_the_sha256_of_nothing() {
        let id = ProgramId::of_elf_bytes(b"");
        assert_eq!(
            id.to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn program_id_round_trips_through_text() {
        let id = ProgramId::of_elf_bytes(b"abc");
        assert_eq!(id.to_string().parse::<ProgramId>(), Ok(id));
        assert!("xyz".parse::<ProgramId>().is_err());
        assert!("g".repeat(64).parse::<ProgramId>().is_err());
        assert!("+1".repeat(32).parse::<ProgramId>().is_err());
    }
}
