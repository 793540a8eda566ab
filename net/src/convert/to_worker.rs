//! Coordinator -> worker, coordinator side: core [`ToWorker`] messages to protobuf, with
//! ELFs, job inputs and proofs in bounded chunks. The worker side is `from_coordinator`.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};
use zisk_core::{
    Attempt, Contribution, Epoch, Fence, JobId, PartitionId, ProgramId, ReconnectDirective,
    RegistrationRefusal, SegmentIndex, ToWorker,
};
use zisk_proto::bytes::Bytes;
use zisk_proto::common::v1::ErrorCode;
use zisk_proto::split_chunks;
use zisk_proto::worker::v1 as wire;
use zisk_proto::worker::v1::coordinator_message::Kind;

use super::ids::{fence_to_wire, program_wire_id};
use super::{ConvertError, digest_from_wire, payload_to_bytes};
use crate::input::{InputPath, JobInput};

/// A job input held by the coordinator adapter: the bytes with their SHA-256, or a path
/// each worker resolves under its inputs folder.
#[derive(Clone, Debug)]
pub enum StoredInput {
    /// Uploaded bytes, sent to workers in `JobInput` chunks.
    Inline {
        /// The input bytes.
        bytes: Bytes,
        /// Their SHA-256.
        sha256: [u8; 32],
    },
    /// A path under each worker's inputs folder, sent in the assignment.
    Path(InputPath),
}

impl StoredInput {
    /// Keeps `input`, hashing uploaded bytes.
    pub fn new(input: JobInput) -> Self {
        match input {
            JobInput::Inline(bytes) => {
                let sha256 = Sha256::digest(&bytes).into();
                StoredInput::Inline { bytes, sha256 }
            }
            JobInput::Path(path) => StoredInput::Path(path),
        }
    }

    /// `(input_size, input_sha256, input_path)` of an assignment.
    fn assignment_fields(&self) -> (u64, Bytes, String) {
        match self {
            StoredInput::Inline { bytes, sha256 } => (
                bytes.len() as u64,
                Bytes::copy_from_slice(sha256),
                String::new(),
            ),
            StoredInput::Path(path) => (0, Bytes::new(), path.as_str().to_owned()),
        }
    }
}

/// What the coordinator adapter knows that the core's messages leave out.
pub struct OutboundContext<'a> {
    /// The coordinator's epoch (for `Cancel` fences).
    pub epoch: Epoch,
    /// Told to workers in `Registered`.
    pub heartbeat_timeout_ms: u64,
    /// Cycles per segment of every execution (`0` = the prover's default).
    pub segment_cycles: u64,
    /// The last heartbeat sequence received on the connection (echoed in `HeartbeatAck`).
    pub heartbeat_sequence: u64,
    /// Registered ELFs.
    pub programs: &'a BTreeMap<ProgramId, Bytes>,
    /// Inputs of unfinished jobs.
    pub inputs: &'a BTreeMap<JobId, StoredInput>,
}

pub(super) fn message(kind: Kind) -> wire::CoordinatorMessage {
    wire::CoordinatorMessage { kind: Some(kind) }
}

fn refusal_to_wire(refusal: &RegistrationRefusal) -> wire::RegisterRejected {
    let (code, text) = match refusal {
        RegistrationRefusal::PoolFull { max_total_workers } => (
            ErrorCode::ResourceExhausted,
            format!("the worker pool is full ({max_total_workers} workers)"),
        ),
        RegistrationRefusal::InvalidComputeUnits { advertised, max } => (
            ErrorCode::CapacityExceeded,
            format!("{advertised} compute units advertised; allowed 1..={max}"),
        ),
        RegistrationRefusal::ProtocolVersion {
            worker,
            coordinator,
        } => (
            ErrorCode::ProtocolVersionMismatch,
            format!("worker speaks protocol {worker}, coordinator speaks {coordinator}"),
        ),
        RegistrationRefusal::InvalidWorkerId => (
            ErrorCode::InvalidArgument,
            "worker id must be 1 to 128 bytes".to_owned(),
        ),
        RegistrationRefusal::Draining => (
            ErrorCode::Draining,
            "the coordinator is draining".to_owned(),
        ),
    };
    wire::RegisterRejected {
        code: code as i32,
        message: text,
    }
}

pub(super) fn refusal_from_wire(rejected: &wire::RegisterRejected) -> RegistrationRefusal {
    match ErrorCode::try_from(rejected.code).unwrap_or(ErrorCode::Unspecified) {
        ErrorCode::ResourceExhausted => RegistrationRefusal::PoolFull {
            max_total_workers: 0,
        },
        ErrorCode::CapacityExceeded => RegistrationRefusal::InvalidComputeUnits {
            advertised: 0,
            max: 0,
        },
        ErrorCode::ProtocolVersionMismatch => RegistrationRefusal::ProtocolVersion {
            worker: zisk_core::PROTOCOL_VERSION,
            coordinator: 0,
        },
        ErrorCode::Draining => RegistrationRefusal::Draining,
        _ => RegistrationRefusal::InvalidWorkerId,
    }
}

pub(crate) fn contributions_to_wire(
    contributions: &[Contribution],
    partition_count: u32,
) -> Vec<wire::SegmentContribution> {
    contributions
        .iter()
        .map(|contribution| wire::SegmentContribution {
            segment_index: u64::from(contribution.segment.0),
            partition_id: if partition_count == 0 {
                0
            } else {
                contribution.segment.0 % partition_count
            },
            trace_commitment: Bytes::copy_from_slice(&contribution.commitment.0),
            boundary_values: Bytes::new(),
        })
        .collect()
}

pub(crate) fn contributions_from_wire(
    contributions: &[wire::SegmentContribution],
) -> Result<Vec<Contribution>, ConvertError> {
    contributions
        .iter()
        .map(|contribution| {
            let segment = u32::try_from(contribution.segment_index).map_err(|_| {
                ConvertError::other("segment_index", "larger than the segment limit")
            })?;
            Ok(Contribution {
                segment: SegmentIndex(segment),
                commitment: digest_from_wire("trace_commitment", &contribution.trace_commitment)?,
            })
        })
        .collect()
}

fn partitions_to_wire(partitions: &[PartitionId]) -> Vec<u32> {
    partitions.iter().map(|partition| partition.0).collect()
}

pub(super) fn partitions_from_wire(partitions: &[u32]) -> Vec<PartitionId> {
    partitions.iter().copied().map(PartitionId).collect()
}

fn input_chunks(
    fence: &Fence,
    input: &StoredInput,
) -> impl Iterator<Item = wire::CoordinatorMessage> {
    let wire_fence = fence_to_wire(fence);
    let bytes = match input {
        StoredInput::Inline { bytes, .. } => bytes.clone(),
        StoredInput::Path(_) => Bytes::new(), // each worker reads the file itself
    };
    let empty = bytes.is_empty();
    split_chunks(bytes)
        .filter(move |_| !empty)
        .map(move |chunk| {
            message(Kind::JobInput(wire::JobInput {
                fence: Some(wire_fence.clone()),
                chunk: Some(chunk),
            }))
        })
}

/// Encodes one core message as the protobuf messages that carry it, in order (payloads in
/// chunks of at most [`zisk_proto::MAX_CHUNK_BYTES`]).
///
/// # Errors
/// The ELF or the input the message needs is not held (a bug in the caller).
pub fn encode_to_worker(
    context: &OutboundContext<'_>,
    to_worker: &ToWorker,
) -> Result<Vec<wire::CoordinatorMessage>, ConvertError> {
    let input_of = |fence: &Fence| {
        context.inputs.get(&fence.job).ok_or_else(|| {
            ConvertError::other("job input", format!("not held for job {}", fence.job))
        })
    };
    let program_id = |program: &ProgramId| {
        context.programs.get(program).map_or_else(
            || program.to_string(),
            |elf| program_wire_id(*program, elf.len() as u64),
        )
    };
    let mut out = Vec::new();
    match to_worker {
        ToWorker::Registered {
            worker,
            generation,
            epoch,
            heartbeat_interval_ms,
        } => out.push(message(Kind::Registered(wire::Registered {
            worker_id: worker.0.clone(),
            connection_generation: generation.0,
            coordinator_epoch: epoch.0,
            heartbeat_interval_ms: *heartbeat_interval_ms,
            heartbeat_timeout_ms: context.heartbeat_timeout_ms,
            protocol_version: zisk_proto::PROTOCOL_VERSION,
        }))),
        ToWorker::Refused(refusal) => {
            out.push(message(Kind::RegisterRejected(refusal_to_wire(refusal))));
        }
        ToWorker::Directive(directive) => {
            let (action, job) = match directive {
                ReconnectDirective::KeepComputing { job } => {
                    (wire::reconnect_directive::Action::KeepComputing, Some(*job))
                }
                ReconnectDirective::CancelStaleJob { job } => (
                    wire::reconnect_directive::Action::CancelStaleJob,
                    Some(*job),
                ),
                ReconnectDirective::Idle => (wire::reconnect_directive::Action::Idle, None),
            };
            out.push(message(Kind::ReconnectDirective(
                wire::ReconnectDirective {
                    action: action as i32,
                    fence: job.map(|job| {
                        fence_to_wire(&Fence {
                            epoch: context.epoch,
                            job,
                            attempt: Attempt(0),
                        })
                    }),
                },
            )));
        }
        ToWorker::Setup { program } => {
            let elf = context.programs.get(program).ok_or_else(|| {
                ConvertError::other("program", format!("ELF of {program} not held"))
            })?;
            let program_id = program_wire_id(*program, elf.len() as u64);
            out.extend(split_chunks(elf.clone()).map(|chunk| {
                message(Kind::Setup(wire::Setup {
                    program_id: program_id.clone(),
                    elf: Some(chunk),
                }))
            }));
        }
        ToWorker::AssignContributions {
            fence,
            program,
            partition_count,
            partitions,
        } => {
            let input = input_of(fence)?;
            let (input_size, input_sha256, input_path) = input.assignment_fields();
            out.push(message(Kind::AssignContributions(
                wire::AssignContributions {
                    fence: Some(fence_to_wire(fence)),
                    program_id: program_id(program),
                    input_size,
                    input_sha256,
                    input_path,
                    partition_ids: partitions_to_wire(partitions),
                    partition_count: *partition_count,
                    partition_weights: Vec::new(),
                    segment_cycles: context.segment_cycles,
                },
            )));
            out.extend(input_chunks(fence, input));
        }
        ToWorker::StartProve {
            fence,
            challenge,
            partitions,
        } => out.push(message(Kind::StartProve(wire::StartProve {
            fence: Some(fence_to_wire(fence)),
            global_challenge: payload_to_bytes(&challenge.0),
            partition_ids: partitions_to_wire(partitions),
        }))),
        ToWorker::AssignProve {
            fence,
            program,
            partition_count,
            partitions,
            challenge,
            expected,
        } => {
            let input = input_of(fence)?;
            let (input_size, input_sha256, input_path) = input.assignment_fields();
            out.push(message(Kind::AssignProve(wire::AssignProve {
                fence: Some(fence_to_wire(fence)),
                program_id: program_id(program),
                input_size,
                input_sha256,
                input_path,
                partition_ids: partitions_to_wire(partitions),
                partition_count: *partition_count,
                global_challenge: payload_to_bytes(&challenge.0),
                expected: contributions_to_wire(expected, *partition_count),
                segment_cycles: context.segment_cycles,
            })));
            out.extend(input_chunks(fence, input));
        }
        ToWorker::BecomeAggregator { fence, partitions } => {
            out.push(message(Kind::BecomeAggregator(wire::BecomeAggregator {
                fence: Some(fence_to_wire(fence)),
                expected_proof_count: partitions.len() as u64,
                partition_ids: partitions_to_wire(partitions),
            })));
        }
        ToWorker::AggregateProof {
            fence,
            partition,
            proof,
        } => {
            let wire_fence = fence_to_wire(fence);
            out.extend(split_chunks(payload_to_bytes(proof)).map(|chunk| {
                message(Kind::PartitionProof(wire::PartitionProof {
                    fence: Some(wire_fence.clone()),
                    source_worker_id: String::new(),
                    partition_id: partition.0,
                    chunk: Some(chunk),
                }))
            }));
        }
        ToWorker::AssignExecute { fence, program } => {
            let input = input_of(fence)?;
            let (input_size, input_sha256, input_path) = input.assignment_fields();
            out.push(message(Kind::AssignExecute(wire::AssignExecute {
                fence: Some(fence_to_wire(fence)),
                program_id: program_id(program),
                input_size,
                input_sha256,
                input_path,
                max_cycles: 0,
                segment_cycles: context.segment_cycles,
            })));
            out.extend(input_chunks(fence, input));
        }
        ToWorker::HeartbeatAck => out.push(message(Kind::HeartbeatAck(wire::HeartbeatAck {
            sequence: context.heartbeat_sequence,
        }))),
        ToWorker::Cancel { job } => out.push(message(Kind::Cancel(wire::Cancel {
            fence: Some(fence_to_wire(&Fence {
                epoch: context.epoch,
                job: *job,
                attempt: Attempt(u32::MAX),
            })),
            reason: ErrorCode::Cancelled as i32,
            message: "the coordinator stopped this job's work on this worker".to_owned(),
        }))),
    }
    Ok(out)
}

/// The `ProgramElf` messages that give a worker a program's ELF ahead of an assignment.
pub fn encode_program_elf(program: ProgramId, elf: &Bytes) -> Vec<wire::CoordinatorMessage> {
    let program_id = program_wire_id(program, elf.len() as u64);
    split_chunks(elf.clone())
        .map(|chunk| {
            message(Kind::ProgramElf(wire::ProgramElf {
                program_id: program_id.clone(),
                elf: Some(chunk),
            }))
        })
        .collect()
}
