//! The proof file `zisk prove` writes and `zisk verify` reads: the proof with what a
//! verifier needs besides trust in the verifying key.
//!
//! Layout (integers little-endian): the magic `ZISKPRF3`, then five length-prefixed
//! (`u32`) fields: program id (UTF-8), verifying key (its bytes: parameter set, memory size
//! and the guest ELF, from which the verifier recomputes everything else), public input,
//! public outputs, final proof; then `cycles: u64`, `segment_count: u32` and `flags: u8`
//! (bit 0: the input is external, see below; other bits must be 0). Files of the previous
//! version (`ZISKPRF2`, no flags byte) are still read.
//!
//! The file is self-contained but not self-trusting: `zisk verify` prints the key's digest,
//! and checks it against one given with `--verifying-key` or recomputed from `--elf`. A job
//! proved with `--input-path` (the input read by the workers from their inputs folder) has
//! an external input: the input field is empty and `zisk verify --input FILE` supplies it.

/// The file's first bytes.
pub const PROOF_FILE_MAGIC: &[u8; 8] = b"ZISKPRF3";

/// The first bytes of the previous version (no flags byte; the input is always inside).
const PROOF_FILE_MAGIC_V2: &[u8; 8] = b"ZISKPRF2";

/// Flag bit: the input is not in the file.
const FLAG_INPUT_EXTERNAL: u8 = 1;

/// Largest proof file read.
pub const MAX_PROOF_FILE_BYTES: usize = 512 << 20;

/// A proof with its public statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofFile {
    /// The program id (`<sha256>-<size>`).
    pub program_id: String,
    /// The program's verifying key, as bytes.
    pub verifying_key: Vec<u8>,
    /// The public input the proof is about (empty when [`Self::input_external`]).
    pub input: Vec<u8>,
    /// The input is not in the file (the job read it from the workers' inputs folder): the
    /// verifier must be given it.
    pub input_external: bool,
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
    /// The flags byte has bits this version does not know.
    #[error("unknown proof file flags {0:#04x}")]
    UnknownFlags(u8),
    /// The input is marked external but the file carries input bytes.
    #[error("the proof file marks its input external yet carries {0} input bytes")]
    ExternalInputPresent(usize),
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
        out.push(if self.input_external {
            FLAG_INPUT_EXTERNAL
        } else {
            0
        });
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
        let (rest, has_flags) = match bytes.strip_prefix(PROOF_FILE_MAGIC.as_slice()) {
            Some(rest) => (rest, true),
            None => (
                bytes
                    .strip_prefix(PROOF_FILE_MAGIC_V2.as_slice())
                    .ok_or(ProofFileError::BadMagic)?,
                false,
            ),
        };
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
        let flags = if has_flags {
            reader.take(1, "flags")?[0]
        } else {
            0
        };
        if flags & !FLAG_INPUT_EXTERNAL != 0 {
            return Err(ProofFileError::UnknownFlags(flags));
        }
        let input_external = flags & FLAG_INPUT_EXTERNAL != 0;
        if input_external && !input.is_empty() {
            return Err(ProofFileError::ExternalInputPresent(input.len()));
        }
        if !reader.rest.is_empty() {
            return Err(ProofFileError::TrailingBytes(reader.rest.len()));
        }
        Ok(ProofFile {
            program_id,
            verifying_key,
            input,
            input_external,
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
            input_external: false,
            public_outputs: vec![2, 3],
            proof: vec![4; 100],
            cycles: 99,
            segment_count: 2,
        };
        let bytes = file.to_bytes();
        assert_eq!(ProofFile::from_bytes(&bytes).unwrap(), file);
        assert!(matches!(
            ProofFile::from_bytes(&bytes[..bytes.len() - 1]),
            Err(ProofFileError::Truncated { field: "flags" })
        ));
        assert!(matches!(
            ProofFile::from_bytes(&bytes[..bytes.len() - 2]),
            Err(ProofFileError::Truncated {
                field: "segment_count"
            })
        ));
        assert_eq!(
            ProofFile::from_bytes(b"nope"),
            Err(ProofFileError::BadMagic)
        );
    }

    #[test]
    fn a_proof_file_with_an_external_input_round_trips_and_version_two_still_reads() {
        let external = ProofFile {
            program_id: "ab-12".to_owned(),
            verifying_key: vec![1; 32],
            input: Vec::new(),
            input_external: true,
            public_outputs: vec![2, 3],
            proof: vec![4; 10],
            cycles: 99,
            segment_count: 1,
        };
        let bytes = external.to_bytes();
        assert_eq!(ProofFile::from_bytes(&bytes).unwrap(), external);
        let mut unknown = bytes.clone();
        *unknown.last_mut().unwrap() = 0x80;
        assert_eq!(
            ProofFile::from_bytes(&unknown),
            Err(ProofFileError::UnknownFlags(0x80))
        );

        let inline = ProofFile {
            input: vec![7; 4],
            input_external: false,
            ..external
        };
        let mut version_two = inline.to_bytes();
        version_two.pop();
        version_two[..8].copy_from_slice(b"ZISKPRF2");
        assert_eq!(ProofFile::from_bytes(&version_two).unwrap(), inline);
    }
}
