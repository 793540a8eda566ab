//! The proof file `zisk prove` writes and `zisk verify` reads: the proof with what a
//! verifier needs besides trust in the verifying key.
//!
//! Layout (integers little-endian): the magic `ZISKPRF2`, then five length-prefixed
//! (`u32`) fields: program id (UTF-8), verifying key (its bytes: parameter set, memory size
//! and the guest ELF, from which the verifier recomputes everything else), public input,
//! public outputs, final proof; then `cycles: u64` and `segment_count: u32`.
//!
//! The file is self-contained but not self-trusting: `zisk verify` prints the key's digest,
//! and checks it against one given with `--verifying-key` or recomputed from `--elf`.

/// The file's first bytes.
pub const PROOF_FILE_MAGIC: &[u8; 8] = b"ZISKPRF2";

/// Largest proof file read.
pub const MAX_PROOF_FILE_BYTES: usize = 512 << 20;

/// A proof with its public statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofFile {
    /// The program id (`<sha256>-<size>`).
    pub program_id: String,
    /// The program's verifying key, as bytes.
    pub verifying_key: Vec<u8>,
    /// The public input the proof is about.
    pub input: Vec<u8>,
    /// The public outputs the proof commits to.
    pub public_outputs: Vec<u8>,
    /// The final proof.
    pub proof: Vec<u8>,
    /// Executed cycles.
    pub cycles: u64,
    /// Segments of the execution.
    pub segment_count: u32,
}

/// Why a proof file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFileError {
    /// Not a zisk proof file.
    #[error("not a zisk proof file (bad magic)")]
    BadMagic,
    /// The file ends early or a length runs past its end.
    #[error("truncated proof file: `{field}` runs past the end")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// Bytes follow the last field.
    #[error("{0} unexpected bytes after the last field")]
    TrailingBytes(usize),
    /// The program id is not UTF-8.
    #[error("the program id is not UTF-8")]
    BadProgramId,
    /// The file is larger than [`MAX_PROOF_FILE_BYTES`].
    #[error("proof file of {0} bytes is larger than the limit")]
    TooLarge(usize),
}

impl ProofFile {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = PROOF_FILE_MAGIC.to_vec();
        for field in [
            self.program_id.as_bytes(),
            &self.verifying_key,
            &self.input,
            &self.public_outputs,
            &self.proof,
        ] {
            out.extend_from_slice(&(field.len() as u32).to_le_bytes());
            out.extend_from_slice(field);
        }
        out.extend_from_slice(&self.cycles.to_le_bytes());
        out.extend_from_slice(&self.segment_count.to_le_bytes());
        out
    }

    /// Parses a file's bytes.
    ///
    /// # Errors
    /// A malformed file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofFileError> {
        if bytes.len() > MAX_PROOF_FILE_BYTES {
            return Err(ProofFileError::TooLarge(bytes.len()));
        }
        let rest = bytes
            .strip_prefix(PROOF_FILE_MAGIC.as_slice())
            .ok_or(ProofFileError::BadMagic)?;
        let mut reader = Reader { rest };
        let program_id = String::from_utf8(reader.field("program_id")?.to_vec())
            .map_err(|_| ProofFileError::BadProgramId)?;
        let verifying_key = reader.field("verifying_key")?.to_vec();
        let input = reader.field("input")?.to_vec();
        let public_outputs = reader.field("public_outputs")?.to_vec();
        let proof = reader.field("proof")?.to_vec();
        let cycles = u64::from_le_bytes(reader.take(8, "cycles")?.try_into().expect("8 bytes"));
        let segment_count = u32::from_le_bytes(
            reader
                .take(4, "segment_count")?
                .try_into()
                .expect("4 bytes"),
        );
        if !reader.rest.is_empty() {
            return Err(ProofFileError::TrailingBytes(reader.rest.len()));
        }
        Ok(ProofFile {
            program_id,
            verifying_key,
            input,
            public_outputs,
            proof,
            cycles,
            segment_count,
        })
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], ProofFileError> {
        if self.rest.len() < len {
            return Err(ProofFileError::Truncated { field });
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    fn field(&mut self, field: &'static str) -> Result<&'a [u8], ProofFileError> {
        let len = u32::from_le_bytes(self.take(4, field)?.try_into().expect("4 bytes")) as usize;
        self.take(len, field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_file_round_trips_and_truncation_is_detected() {
        let file = ProofFile {
            program_id: "ab-12".to_owned(),
            verifying_key: vec![1; 32],
            input: vec![9; 5],
            public_outputs: vec![2, 3],
            proof: vec![4; 100],
            cycles: 99,
            segment_count: 2,
        };
        let bytes = file.to_bytes();
        assert_eq!(ProofFile::from_bytes(&bytes).unwrap(), file);
        assert!(matches!(
            ProofFile::from_bytes(&bytes[..bytes.len() - 1]),
            Err(ProofFileError::Truncated {
                field: "segment_count"
            })
        ));
        assert_eq!(
            ProofFile::from_bytes(b"nope"),
            Err(ProofFileError::BadMagic)
        );
    }
}
