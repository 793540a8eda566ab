//! Identifiers on the wire: program ids, job ids, fences.

use tonic::Status;
use zisk_core::{Attempt, Epoch, Fence, JobId, ProgramId};
use zisk_proto::common::v1 as common;

use super::ConvertError;

/// The wire form of a program id: the lowercase hex SHA-256 of the ELF, `-`, its size.
pub fn program_wire_id(program: ProgramId, size: u64) -> String {
    format!("{program}-{size}")
}

/// Reads a program id, with or without its `-size` suffix; the size is not needed by the
/// core (the hash names the program).
pub fn parse_program_id(text: &str) -> Result<ProgramId, ConvertError> {
    let hash = text.split_once('-').map_or(text, |(hash, _)| hash);
    let bytes = parse_hex::<32>(hash).ok_or_else(|| ConvertError::new("program_id", text))?;
    Ok(ProgramId(bytes))
}

/// The wire form of a job id: 32 lowercase hex digits.
pub fn job_wire_id(job: JobId) -> String {
    job.to_string()
}

/// Reads a job id.
pub fn parse_job_id(text: &str) -> Result<JobId, ConvertError> {
    let bytes = parse_hex::<16>(text).ok_or_else(|| ConvertError::new("job_id", text))?;
    Ok(JobId(u128::from_be_bytes(bytes)))
}

/// A core fence on the wire.
pub fn fence_to_wire(fence: &Fence) -> common::Fence {
    common::Fence {
        coordinator_epoch: fence.epoch.0,
        job_id: job_wire_id(fence.job),
        attempt: fence.attempt.0,
    }
}

/// A wire fence for the core; a missing fence is an error.
pub fn fence_from_wire(fence: Option<&common::Fence>) -> Result<Fence, ConvertError> {
    let fence = fence.ok_or_else(|| ConvertError::missing("fence"))?;
    Ok(Fence {
        epoch: Epoch(fence.coordinator_epoch),
        job: parse_job_id(&fence.job_id)?,
        attempt: Attempt(fence.attempt),
    })
}

/// Parses a job id from a client request, mapping failure to `INVALID_ARGUMENT`.
pub fn job_id_arg(text: &str) -> Result<JobId, Status> {
    parse_job_id(text).map_err(ConvertError::into_status)
}

/// Parses a program id from a client request, mapping failure to `INVALID_ARGUMENT`.
pub fn program_id_arg(text: &str) -> Result<ProgramId, Status> {
    parse_program_id(text).map_err(ConvertError::into_status)
}

fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut bytes = [0u8; N];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_round_trip_through_their_wire_form() {
        let job = JobId(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(parse_job_id(&job_wire_id(job)).unwrap(), job);
        assert!(parse_job_id("xyz").is_err());
    }

    #[test]
    fn program_ids_parse_with_or_without_the_size_suffix() {
        let program = ProgramId([0xab; 32]);
        let wire = program_wire_id(program, 1234);
        assert!(wire.ends_with("-1234"));
        assert_eq!(parse_program_id(&wire).unwrap(), program);
        assert_eq!(parse_program_id(&program.to_string()).unwrap(), program);
        assert!(parse_program_id("ab-12").is_err());
    }

    #[test]
    fn fences_round_trip_and_a_missing_fence_is_an_error() {
        let fence = Fence {
            epoch: Epoch(3),
            job: JobId(9),
            attempt: Attempt(2),
        };
        assert_eq!(
            fence_from_wire(Some(&fence_to_wire(&fence))).unwrap(),
            fence
        );
        assert!(fence_from_wire(None).is_err());
    }
}
