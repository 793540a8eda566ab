//! Worker -> coordinator: core [`FromWorker`] messages to protobuf (worker side) and back
//! (coordinator side), with proofs in bounded chunks.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};
use zisk_core::{
    Epoch, ExecutionSummary, FailureKind, Fence, FromWorker, Generation, PartitionId, ProgramId,
    WorkerId,
};
use zisk_proto::bytes::Bytes;
use zisk_proto::common::v1::{Backend, ErrorCode, ErrorInfo};
use zisk_proto::worker::v1 as wire;
use zisk_proto::worker::v1::worker_message::Kind;
use zisk_proto::{ChunkAssembler, split_chunks};

use super::from_coordinator::push_chunk;
use super::ids::{fence_from_wire, fence_to_wire, parse_program_id, program_wire_id};
use super::to_worker::{contributions_from_wire, contributions_to_wire};
use super::{ConvertError, digest_from_wire, payload_to_bytes};
use crate::limits::{MAX_PENDING_PAYLOADS, MAX_PROOF_BYTES};

/// What the worker adapter knows that the core's messages leave out.
pub struct WorkerContext<'a> {
    /// The backend the worker runs.
    pub backend: Backend,
    /// The worker software version.
    pub software_version: &'a str,
    /// The session before the stream was lost (for `Reconnect`).
    pub previous_session: Option<(Epoch, Generation)>,
    /// ELF sizes of the programs set up, for their wire ids.
    pub program_sizes: &'a BTreeMap<ProgramId, u64>,
    /// Partition count of the job held, for the contributions' partition ids.
    pub partition_count: u32,
}

fn message(kind: Kind) -> wire::WorkerMessage {
    wire::WorkerMessage { kind: Some(kind) }
}

fn summary_to_wire(summary: &ExecutionSummary) -> wire::ExecutionSummary {
    wire::ExecutionSummary {
        segment_count: u64::from(summary.segment_count),
        public_outputs_hash: Bytes::copy_from_slice(&summary.outputs_digest.0),
        cycles: summary.cycles,
    }
}

fn summary_from_wire(
    summary: Option<&wire::ExecutionSummary>,
) -> Result<ExecutionSummary, ConvertError> {
    let summary = summary.ok_or_else(|| ConvertError::missing("summary"))?;
    Ok(ExecutionSummary {
        segment_count: segment_count(summary.segment_count)?,
        cycles: summary.cycles,
        outputs_digest: digest_from_wire("public_outputs_hash", &summary.public_outputs_hash)?,
    })
}

fn segment_count(count: u64) -> Result<u32, ConvertError> {
    u32::try_from(count).map_err(|_| ConvertError::other("segment_count", "above 2^32 - 1"))
}

/// Encodes one core message as the protobuf messages that carry it, in order.
/// `heartbeat_sequence` is advanced for every heartbeat.
pub fn encode_from_worker(
    context: &WorkerContext<'_>,
    heartbeat_sequence: &mut u64,
    from_worker: &FromWorker,
) -> Vec<wire::WorkerMessage> {
    let register = |worker: &WorkerId, compute_units: u32, protocol_version: u32| wire::Register {
        worker_id: worker.0.clone(),
        compute_units,
        protocol_version,
        backend: context.backend as i32,
        capabilities: Vec::new(),
        software_version: context.software_version.to_owned(),
    };
    let one = |kind| vec![message(kind)];
    match from_worker {
        FromWorker::Register {
            worker,
            compute_units,
            protocol_version,
        } => one(Kind::Register(register(
            worker,
            *compute_units,
            *protocol_version,
        ))),
        FromWorker::Reconnect {
            worker,
            compute_units,
            protocol_version,
            held,
        } => {
            let (epoch, generation) = context
                .previous_session
                .unwrap_or((Epoch(0), Generation(0)));
            one(Kind::Reconnect(wire::Reconnect {
                register: Some(register(worker, *compute_units, *protocol_version)),
                previous_generation: generation.0,
                previous_coordinator_epoch: epoch.0,
                held: held
                    .iter()
                    .map(|fence| wire::HeldAssignment {
                        fence: Some(fence_to_wire(fence)),
                        phase: 0,
                        partition_ids: Vec::new(),
                        result_ready: false,
                    })
                    .collect(),
            }))
        }
        FromWorker::Heartbeat => {
            *heartbeat_sequence += 1;
            one(Kind::Heartbeat(wire::Heartbeat {
                sequence: *heartbeat_sequence,
            }))
        }
        FromWorker::SetupDone { program, result } => {
            let program_id = context.program_sizes.get(program).map_or_else(
                || program.to_string(),
                |size| program_wire_id(*program, *size),
            );
            let outcome = match result {
                Ok(digest) => {
                    wire::setup_result::Outcome::VerifyingKey(Bytes::copy_from_slice(&digest.0))
                }
                Err(reason) => wire::setup_result::Outcome::Error(ErrorInfo {
                    code: ErrorCode::SetupFailed as i32,
                    message: reason.clone(),
                }),
            };
            one(Kind::SetupResult(wire::SetupResult {
                program_id,
                outcome: Some(outcome),
            }))
        }
        FromWorker::Accepted { fence } => one(Kind::TaskAccepted(wire::TaskAccepted {
            fence: Some(fence_to_wire(fence)),
        })),
        FromWorker::Contributed {
            fence,
            partition,
            summary,
            contributions,
        } => one(Kind::ContributionResult(wire::ContributionResult {
            fence: Some(fence_to_wire(fence)),
            contributions: contributions_to_wire(contributions, context.partition_count),
            summary: Some(summary_to_wire(summary)),
            partition_id: partition.0,
        })),
        FromWorker::Proved {
            fence,
            partition,
            contributions,
            proof,
        } => {
            let wire_fence = fence_to_wire(fence);
            let contributions = contributions_to_wire(contributions, context.partition_count);
            split_chunks(payload_to_bytes(proof))
                .map(|chunk| {
                    message(Kind::PartitionProofResult(wire::PartitionProofResult {
                        fence: Some(wire_fence.clone()),
                        partition_id: partition.0,
                        contributions: if chunk.offset == 0 {
                            contributions.clone()
                        } else {
                            Vec::new()
                        },
                        chunk: Some(chunk),
                    }))
                })
                .collect()
        }
        FromWorker::ProofRejected {
            fence,
            partition,
            reason,
        } => one(Kind::ProofRejected(wire::ProofRejected {
            fence: Some(fence_to_wire(fence)),
            partition_id: partition.0,
            reason: reason.clone(),
        })),
        FromWorker::Aggregated {
            fence,
            proof,
            outputs,
        } => {
            let wire_fence = fence_to_wire(fence);
            let chunks: Vec<_> = split_chunks(payload_to_bytes(proof)).collect();
            let last = chunks.len().saturating_sub(1);
            chunks
                .into_iter()
                .enumerate()
                .map(|(index, chunk)| {
                    let public_outputs = if index == last {
                        payload_to_bytes(outputs)
                    } else {
                        Default::default()
                    };
                    message(Kind::AggregateResult(wire::AggregateResult {
                        fence: Some(wire_fence.clone()),
                        chunk: Some(chunk),
                        public_outputs,
                    }))
                })
                .collect()
        }
        FromWorker::Executed {
            fence,
            summary,
            outputs,
        } => one(Kind::ExecuteResult(wire::ExecuteResult {
            fence: Some(fence_to_wire(fence)),
            cycles: summary.cycles,
            public_outputs: payload_to_bytes(outputs),
            exit_code: 0,
            segment_count: u64::from(summary.segment_count),
        })),
        FromWorker::Draining => one(Kind::Draining(wire::Draining {
            reason: "worker is shutting down".to_owned(),
        })),
        FromWorker::Failed {
            fence,
            reason,
            kind,
        } => one(Kind::TaskFailed(wire::TaskFailed {
            fence: Some(fence_to_wire(fence)),
            code: match kind {
                FailureKind::GuestFault => ErrorCode::ExecutionFailed,
                FailureKind::Retryable => ErrorCode::Internal,
            } as i32,
            message: reason.clone(),
        })),
    }
}

struct PendingProof {
    contributions: Vec<zisk_core::Contribution>,
    assembler: ChunkAssembler,
}

/// The coordinator side's stateful decoder of one worker stream: reassembles proofs.
/// Memory is bounded: at most [`MAX_PENDING_PAYLOADS`] proofs in flight, each at most
/// [`MAX_PROOF_BYTES`].
#[derive(Default)]
pub struct WorkerMessageDecoder {
    partition_proofs: BTreeMap<(Fence, u32), PendingProof>,
    final_proofs: BTreeMap<Fence, ChunkAssembler>,
    last_heartbeat_sequence: u64,
}

impl WorkerMessageDecoder {
    /// The sequence of the last heartbeat decoded.
    pub fn last_heartbeat_sequence(&self) -> u64 {
        self.last_heartbeat_sequence
    }

    fn check_room(&self) -> Result<(), ConvertError> {
        if self.partition_proofs.len() + self.final_proofs.len() >= MAX_PENDING_PAYLOADS {
            return Err(ConvertError::other(
                "chunk",
                format!("more than {MAX_PENDING_PAYLOADS} proofs in flight"),
            ));
        }
        Ok(())
    }

    /// Takes one message off the stream; returns the core message once it is complete.
    ///
    /// # Errors
    /// A malformed message or a chunking violation.
    pub fn decode(
        &mut self,
        message: wire::WorkerMessage,
    ) -> Result<Option<FromWorker>, ConvertError> {
        let kind = message.kind.ok_or_else(|| ConvertError::missing("kind"))?;
        let from_worker = match kind {
            Kind::Register(register) => FromWorker::Register {
                worker: WorkerId(register.worker_id),
                compute_units: register.compute_units,
                protocol_version: register.protocol_version,
            },
            Kind::Reconnect(reconnect) => {
                let register = reconnect
                    .register
                    .ok_or_else(|| ConvertError::missing("register"))?;
                let held = reconnect
                    .held
                    .first()
                    .map(|held| fence_from_wire(held.fence.as_ref()))
                    .transpose()?;
                FromWorker::Reconnect {
                    worker: WorkerId(register.worker_id),
                    compute_units: register.compute_units,
                    protocol_version: register.protocol_version,
                    held,
                }
            }
            Kind::Heartbeat(heartbeat) => {
                self.last_heartbeat_sequence = heartbeat.sequence;
                FromWorker::Heartbeat
            }
            Kind::SetupResult(result) => {
                use wire::setup_result::Outcome;
                let program = parse_program_id(&result.program_id)?;
                let result = match result.outcome {
                    Some(Outcome::VerifyingKey(key)) => {
                        Ok(digest_from_wire("verifying_key", &key)?)
                    }
                    Some(Outcome::Error(error)) => Err(error.message),
                    None => return Err(ConvertError::missing("outcome")),
                };
                FromWorker::SetupDone { program, result }
            }
            Kind::TaskAccepted(accepted) => FromWorker::Accepted {
                fence: fence_from_wire(accepted.fence.as_ref())?,
            },
            Kind::ContributionResult(result) => FromWorker::Contributed {
                fence: fence_from_wire(result.fence.as_ref())?,
                partition: PartitionId(result.partition_id),
                summary: summary_from_wire(result.summary.as_ref())?,
                contributions: contributions_from_wire(&result.contributions)?,
            },
            Kind::PartitionProofResult(result) => {
                let fence = fence_from_wire(result.fence.as_ref())?;
                let chunk = result.chunk.ok_or_else(|| ConvertError::missing("chunk"))?;
                let key = (fence, result.partition_id);
                if !self.partition_proofs.contains_key(&key) {
                    self.check_room()?;
                    let contributions = contributions_from_wire(&result.contributions)?;
                    self.partition_proofs.insert(
                        key,
                        PendingProof {
                            contributions,
                            assembler: ChunkAssembler::new(MAX_PROOF_BYTES),
                        },
                    );
                }
                let pending = self.partition_proofs.get_mut(&key).expect("present");
                if !push_chunk(&mut pending.assembler, &chunk)? {
                    return Ok(None);
                }
                let pending = self.partition_proofs.remove(&key).expect("present");
                let proof = pending
                    .assembler
                    .finish()
                    .map_err(|error| ConvertError::other("chunk", error.to_string()))?;
                FromWorker::Proved {
                    fence,
                    partition: PartitionId(result.partition_id),
                    contributions: pending.contributions,
                    proof: proof.to_vec().into(),
                }
            }
            Kind::ProofRejected(rejected) => FromWorker::ProofRejected {
                fence: fence_from_wire(rejected.fence.as_ref())?,
                partition: PartitionId(rejected.partition_id),
                reason: rejected.reason,
            },
            Kind::AggregateResult(result) => {
                let fence = fence_from_wire(result.fence.as_ref())?;
                let chunk = result.chunk.ok_or_else(|| ConvertError::missing("chunk"))?;
                if !self.final_proofs.contains_key(&fence) {
                    self.check_room()?;
                }
                let assembler = self
                    .final_proofs
                    .entry(fence)
                    .or_insert_with(|| ChunkAssembler::new(MAX_PROOF_BYTES));
                if !push_chunk(assembler, &chunk)? {
                    return Ok(None);
                }
                let proof = self
                    .final_proofs
                    .remove(&fence)
                    .expect("present")
                    .finish()
                    .map_err(|error| ConvertError::other("chunk", error.to_string()))?;
                FromWorker::Aggregated {
                    fence,
                    proof: proof.to_vec().into(),
                    outputs: result.public_outputs.to_vec().into(),
                }
            }
            Kind::ExecuteResult(result) => FromWorker::Executed {
                fence: fence_from_wire(result.fence.as_ref())?,
                summary: ExecutionSummary {
                    segment_count: segment_count(result.segment_count)?,
                    cycles: result.cycles,
                    outputs_digest: zisk_core::Digest(
                        Sha256::digest(&result.public_outputs).into(),
                    ),
                },
                outputs: result.public_outputs.to_vec().into(),
            },
            Kind::TaskFailed(failed) => FromWorker::Failed {
                fence: fence_from_wire(failed.fence.as_ref())?,
                kind: if failed.code == ErrorCode::ExecutionFailed as i32 {
                    FailureKind::GuestFault
                } else {
                    FailureKind::Retryable
                },
                reason: failed.message,
            },
            Kind::Draining(_) => FromWorker::Draining,
            Kind::ProofResult(_) => {
                return Err(ConvertError::other(
                    "proof_result",
                    "per-segment proofs are not used by this version; expected partition_proof_result",
                ));
            }
        };
        Ok(Some(from_worker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zisk_core::{Attempt, Contribution, Digest, JobId, SegmentIndex};

    fn fence() -> Fence {
        Fence {
            epoch: Epoch(4),
            job: JobId(12),
            attempt: Attempt(2),
        }
    }

    fn round_trip(message: &FromWorker) -> Vec<FromWorker> {
        let sizes = BTreeMap::new();
        let context = WorkerContext {
            backend: Backend::Emulator,
            software_version: "test",
            previous_session: Some((Epoch(4), Generation(1))),
            program_sizes: &sizes,
            partition_count: 4,
        };
        let mut sequence = 0;
        let mut decoder = WorkerMessageDecoder::default();
        encode_from_worker(&context, &mut sequence, message)
            .into_iter()
            .filter_map(|wire| decoder.decode(wire).unwrap())
            .collect()
    }

    #[test]
    fn worker_messages_round_trip_through_protobuf() {
        let contributions = vec![
            Contribution {
                segment: SegmentIndex(1),
                commitment: Digest([3; 32]),
            },
            Contribution {
                segment: SegmentIndex(5),
                commitment: Digest([4; 32]),
            },
        ];
        let outputs: zisk_core::Payload = vec![1, 2, 3].into();
        let summary = ExecutionSummary {
            segment_count: 9,
            cycles: 1000,
            outputs_digest: Digest(Sha256::digest(&outputs).into()),
        };
        for message in [
            FromWorker::Register {
                worker: WorkerId::from("w1"),
                compute_units: 10,
                protocol_version: 1,
            },
            FromWorker::Reconnect {
                worker: WorkerId::from("w1"),
                compute_units: 10,
                protocol_version: 1,
                held: Some(fence()),
            },
            FromWorker::Heartbeat,
            FromWorker::SetupDone {
                program: ProgramId([8; 32]),
                result: Ok(Digest([9; 32])),
            },
            FromWorker::SetupDone {
                program: ProgramId([8; 32]),
                result: Err("no".to_owned()),
            },
            FromWorker::Accepted { fence: fence() },
            FromWorker::Contributed {
                fence: fence(),
                partition: PartitionId(1),
                summary: summary.clone(),
                contributions: contributions.clone(),
            },
            FromWorker::Contributed {
                fence: fence(),
                partition: PartitionId(3),
                summary: summary.clone(),
                contributions: Vec::new(),
            },
            FromWorker::Proved {
                fence: fence(),
                partition: PartitionId(1),
                contributions,
                proof: vec![7; 2 * zisk_proto::MAX_CHUNK_BYTES + 1].into(),
            },
            FromWorker::ProofRejected {
                fence: fence(),
                partition: PartitionId(2),
                reason: "bad".to_owned(),
            },
            FromWorker::Aggregated {
                fence: fence(),
                proof: vec![1; 10].into(),
                outputs: vec![4, 2].into(),
            },
            FromWorker::Executed {
                fence: fence(),
                summary,
                outputs,
            },
            FromWorker::Draining,
            FromWorker::Failed {
                fence: fence(),
                reason: "guest fault".to_owned(),
                kind: FailureKind::GuestFault,
            },
            FromWorker::Failed {
                fence: fence(),
                reason: "out of memory".to_owned(),
                kind: FailureKind::Retryable,
            },
        ] {
            assert_eq!(round_trip(&message), vec![message.clone()], "{message:?}");
        }
    }

    #[test]
    fn heartbeats_carry_increasing_sequence_numbers() {
        let sizes = BTreeMap::new();
        let context = WorkerContext {
            backend: Backend::Emulator,
            software_version: "test",
            previous_session: None,
            program_sizes: &sizes,
            partition_count: 0,
        };
        let mut sequence = 0;
        let mut decoder = WorkerMessageDecoder::default();
        for expected in 1..=3 {
            for wire in encode_from_worker(&context, &mut sequence, &FromWorker::Heartbeat) {
                decoder.decode(wire).unwrap();
            }
            assert_eq!(decoder.last_heartbeat_sequence(), expected);
        }
    }
}
