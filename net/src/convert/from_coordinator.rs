//! Coordinator -> worker, worker side: protobuf back to core [`ToWorker`] messages, with
//! ELFs, inputs and proofs reassembled from their chunks with bounded memory.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};
use zisk_core::{
    Challenge, Epoch, Fence, JobId, PartitionId, ProgramId, ReconnectDirective, ToWorker, WorkerId,
};
use zisk_proto::ChunkAssembler;
use zisk_proto::bytes::Bytes;
use zisk_proto::common::v1::Chunk;
use zisk_proto::worker::v1 as wire;
use zisk_proto::worker::v1::coordinator_message::Kind;

use super::ConvertError;
use super::ids::{fence_from_wire, parse_job_id, parse_program_id};
use super::to_worker::{contributions_from_wire, partitions_from_wire, refusal_from_wire};
use crate::input::JobInput;
use crate::limits::{MAX_ELF_BYTES, MAX_INPUT_BYTES, MAX_PENDING_PAYLOADS, MAX_PROOF_BYTES};

/// One coordinator message the worker adapter can act on, reassembled from its chunks.
#[derive(Clone, Debug)]
pub enum DecodedToWorker {
    /// A message for the core as it is.
    Message(ToWorker),
    /// A complete setup request: keep the ELF, then give the core `ToWorker::Setup`.
    Setup {
        /// The program.
        program: ProgramId,
        /// Its ELF.
        elf: Bytes,
    },
    /// A program's ELF sent ahead of an assignment: keep it; nothing for the core.
    Program {
        /// The program.
        program: ProgramId,
        /// Its ELF.
        elf: Bytes,
    },
    /// An assignment with its complete input (or the path to read it from): keep the input
    /// under the fence, then give the core the message.
    Assignment {
        /// The core message.
        message: ToWorker,
        /// The job input.
        input: JobInput,
        /// Cycles per segment for this job (`0` = the prover's default).
        segment_cycles: u64,
    },
}

struct PendingAssignment {
    message: ToWorker,
    sha256: Vec<u8>,
    segment_cycles: u64,
    input: ChunkAssembler,
}

/// The worker side's stateful decoder of one stream: reassembles ELFs, inputs and proofs.
/// Memory is bounded: at most [`MAX_PENDING_PAYLOADS`] payloads in flight, each within its
/// limit.
#[derive(Default)]
pub struct CoordinatorMessageDecoder {
    setups: BTreeMap<String, ChunkAssembler>,
    assignments: BTreeMap<Fence, PendingAssignment>,
    proofs: BTreeMap<(Fence, u32), ChunkAssembler>,
}

impl CoordinatorMessageDecoder {
    fn pending(&self) -> usize {
        self.setups.len() + self.assignments.len() + self.proofs.len()
    }

    fn check_room(&self) -> Result<(), ConvertError> {
        if self.pending() >= MAX_PENDING_PAYLOADS {
            return Err(ConvertError::other(
                "chunk",
                format!("more than {MAX_PENDING_PAYLOADS} payloads in flight"),
            ));
        }
        Ok(())
    }

    fn start_assignment(
        &mut self,
        fence: Fence,
        message: ToWorker,
        input_size: u64,
        sha256: Bytes,
        input_path: &str,
        segment_cycles: u64,
    ) -> Result<Option<DecodedToWorker>, ConvertError> {
        if let Some(path) = JobInput::from_spec(input_path, input_size)
            .map_err(|error| ConvertError::other("input_path", error.to_string()))?
        {
            return Ok(Some(DecodedToWorker::Assignment {
                message,
                input: JobInput::Path(path),
                segment_cycles,
            }));
        }
        if input_size == 0 {
            return Ok(Some(DecodedToWorker::Assignment {
                message,
                input: JobInput::Inline(Bytes::new()),
                segment_cycles,
            }));
        }
        self.check_room()?;
        let input = ChunkAssembler::with_total_size(input_size, MAX_INPUT_BYTES)
            .map_err(|error| ConvertError::other("input_size", error.to_string()))?;
        self.assignments.insert(
            fence,
            PendingAssignment {
                message,
                sha256: sha256.to_vec(),
                segment_cycles,
                input,
            },
        );
        Ok(None)
    }

    /// Takes one message off the stream; returns what the adapter can act on once a payload
    /// is complete.
    ///
    /// # Errors
    /// A malformed message or a chunking violation.
    pub fn decode(
        &mut self,
        message: wire::CoordinatorMessage,
    ) -> Result<Option<DecodedToWorker>, ConvertError> {
        let kind = message.kind.ok_or_else(|| ConvertError::missing("kind"))?;
        let to_worker = match kind {
            Kind::Registered(registered) => ToWorker::Registered {
                worker: WorkerId(registered.worker_id),
                generation: zisk_core::Generation(registered.connection_generation),
                epoch: Epoch(registered.coordinator_epoch),
                heartbeat_interval_ms: registered.heartbeat_interval_ms,
            },
            Kind::RegisterRejected(rejected) => ToWorker::Refused(refusal_from_wire(&rejected)),
            Kind::ReconnectDirective(directive) => {
                use wire::reconnect_directive::Action;
                let job = directive
                    .fence
                    .as_ref()
                    .map(|fence| parse_job_id(&fence.job_id))
                    .transpose()?;
                let action = Action::try_from(directive.action).unwrap_or(Action::Unspecified);
                ToWorker::Directive(match (action, job) {
                    (Action::KeepComputing, Some(job)) => ReconnectDirective::KeepComputing { job },
                    (Action::Idle, _) | (_, None) => ReconnectDirective::Idle,
                    (_, Some(job)) => ReconnectDirective::CancelStaleJob { job },
                })
            }
            Kind::ProgramElf(program) => {
                let chunk = program.elf.ok_or_else(|| ConvertError::missing("elf"))?;
                return Ok(self
                    .push_elf(&program.program_id, &chunk)?
                    .map(|(program, elf)| DecodedToWorker::Program { program, elf }));
            }
            Kind::Setup(setup) => {
                let chunk = setup.elf.ok_or_else(|| ConvertError::missing("elf"))?;
                return Ok(self
                    .push_elf(&setup.program_id, &chunk)?
                    .map(|(program, elf)| DecodedToWorker::Setup { program, elf }));
            }
            Kind::AssignContributions(assign) => {
                let fence = fence_from_wire(assign.fence.as_ref())?;
                let message = ToWorker::AssignContributions {
                    fence,
                    program: parse_program_id(&assign.program_id)?,
                    partition_count: assign.partition_count,
                    partitions: partitions_from_wire(&assign.partition_ids),
                };
                return self.start_assignment(
                    fence,
                    message,
                    assign.input_size,
                    assign.input_sha256,
                    &assign.input_path,
                    assign.segment_cycles,
                );
            }
            Kind::AssignProve(assign) => {
                let fence = fence_from_wire(assign.fence.as_ref())?;
                let message = ToWorker::AssignProve {
                    fence,
                    program: parse_program_id(&assign.program_id)?,
                    partition_count: assign.partition_count,
                    partitions: partitions_from_wire(&assign.partition_ids),
                    challenge: Challenge(assign.global_challenge.to_vec().into()),
                    expected: contributions_from_wire(&assign.expected)?,
                };
                return self.start_assignment(
                    fence,
                    message,
                    assign.input_size,
                    assign.input_sha256,
                    &assign.input_path,
                    assign.segment_cycles,
                );
            }
            Kind::AssignExecute(assign) => {
                let fence = fence_from_wire(assign.fence.as_ref())?;
                let message = ToWorker::AssignExecute {
                    fence,
                    program: parse_program_id(&assign.program_id)?,
                };
                return self.start_assignment(
                    fence,
                    message,
                    assign.input_size,
                    assign.input_sha256,
                    &assign.input_path,
                    assign.segment_cycles,
                );
            }
            Kind::JobInput(input) => {
                let fence = fence_from_wire(input.fence.as_ref())?;
                let chunk = input.chunk.ok_or_else(|| ConvertError::missing("chunk"))?;
                let Some(pending) = self.assignments.get_mut(&fence) else {
                    return Err(ConvertError::other(
                        "fence",
                        "job input for no pending assignment",
                    ));
                };
                if !push_chunk(&mut pending.input, &chunk)? {
                    return Ok(None);
                }
                let pending = self.assignments.remove(&fence).expect("present");
                let input = pending
                    .input
                    .finish()
                    .map_err(|error| ConvertError::other("chunk", error.to_string()))?;
                if !pending.sha256.is_empty() && Sha256::digest(&input).as_slice() != pending.sha256
                {
                    return Err(ConvertError::other(
                        "input_sha256",
                        "the input does not match it",
                    ));
                }
                return Ok(Some(DecodedToWorker::Assignment {
                    message: pending.message,
                    input: JobInput::Inline(input),
                    segment_cycles: pending.segment_cycles,
                }));
            }
            Kind::StartProve(start) => ToWorker::StartProve {
                fence: fence_from_wire(start.fence.as_ref())?,
                challenge: Challenge(start.global_challenge.to_vec().into()),
                partitions: partitions_from_wire(&start.partition_ids),
            },
            Kind::BecomeAggregator(promotion) => ToWorker::BecomeAggregator {
                fence: fence_from_wire(promotion.fence.as_ref())?,
                partitions: partitions_from_wire(&promotion.partition_ids),
            },
            Kind::PartitionProof(proof) => {
                let fence = fence_from_wire(proof.fence.as_ref())?;
                let chunk = proof.chunk.ok_or_else(|| ConvertError::missing("chunk"))?;
                let key = (fence, proof.partition_id);
                if !self.proofs.contains_key(&key) {
                    self.check_room()?;
                }
                let assembler = self
                    .proofs
                    .entry(key)
                    .or_insert_with(|| ChunkAssembler::new(MAX_PROOF_BYTES));
                if !push_chunk(assembler, &chunk)? {
                    return Ok(None);
                }
                let bytes = self
                    .proofs
                    .remove(&key)
                    .expect("present")
                    .finish()
                    .map_err(|error| ConvertError::other("chunk", error.to_string()))?;
                ToWorker::AggregateProof {
                    fence,
                    partition: PartitionId(proof.partition_id),
                    proof: bytes.to_vec().into(),
                }
            }
            Kind::Cancel(cancel) => {
                let fence = fence_from_wire(cancel.fence.as_ref())?;
                self.forget_job(fence.job);
                ToWorker::Cancel { job: fence.job }
            }
            Kind::HeartbeatAck(_) => ToWorker::HeartbeatAck,
            Kind::Drain(_) => return Ok(None),
            Kind::AggregateProof(_) => {
                return Err(ConvertError::other(
                    "aggregate_proof",
                    "per-segment proofs are not used by this version; expected partition_proof",
                ));
            }
        };
        Ok(Some(DecodedToWorker::Message(to_worker)))
    }

    /// Adds one ELF chunk; returns the program and its ELF once complete and checked.
    fn push_elf(
        &mut self,
        program_id: &str,
        chunk: &Chunk,
    ) -> Result<Option<(ProgramId, Bytes)>, ConvertError> {
        if !self.setups.contains_key(program_id) {
            self.check_room()?;
        }
        let assembler = self
            .setups
            .entry(program_id.to_owned())
            .or_insert_with(|| ChunkAssembler::new(MAX_ELF_BYTES));
        if !push_chunk(assembler, chunk)? {
            return Ok(None);
        }
        let assembler = self.setups.remove(program_id).expect("present");
        let elf = assembler
            .finish()
            .map_err(|error| ConvertError::other("elf", error.to_string()))?;
        let program = parse_program_id(program_id)?;
        if Sha256::digest(&elf).as_slice() != program.0 {
            return Err(ConvertError::other(
                "elf",
                "does not hash to its program id",
            ));
        }
        Ok(Some((program, elf)))
    }

    fn forget_job(&mut self, job: JobId) {
        self.assignments.retain(|fence, _| fence.job != job);
        self.proofs.retain(|(fence, _), _| fence.job != job);
    }
}

pub(crate) fn push_chunk(
    assembler: &mut ChunkAssembler,
    chunk: &Chunk,
) -> Result<bool, ConvertError> {
    assembler
        .push(chunk)
        .map_err(|error| ConvertError::other("chunk", error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::ids::fence_to_wire;
    use crate::convert::to_worker::{OutboundContext, StoredInput, encode_to_worker, message};
    use zisk_core::{Attempt, RegistrationRefusal};

    fn context<'a>(
        programs: &'a BTreeMap<ProgramId, Bytes>,
        inputs: &'a BTreeMap<JobId, StoredInput>,
    ) -> OutboundContext<'a> {
        OutboundContext {
            epoch: Epoch(1),
            heartbeat_timeout_ms: 30_000,
            segment_cycles: 1 << 10,
            heartbeat_sequence: 7,
            programs,
            inputs,
        }
    }

    fn round_trip(
        decoder: &mut CoordinatorMessageDecoder,
        messages: Vec<wire::CoordinatorMessage>,
    ) -> Vec<DecodedToWorker> {
        messages
            .into_iter()
            .filter_map(|message| decoder.decode(message).unwrap())
            .collect()
    }

    #[test]
    fn an_execute_assignment_travels_with_its_chunked_input() {
        let fence = Fence {
            epoch: Epoch(1),
            job: JobId(5),
            attempt: Attempt(1),
        };
        let program = ProgramId([1; 32]);
        let programs = BTreeMap::new();
        let input = Bytes::from(vec![9u8; 3 * zisk_proto::MAX_CHUNK_BYTES + 17]);
        let inputs =
            BTreeMap::from([(fence.job, StoredInput::new(JobInput::Inline(input.clone())))]);
        let messages = encode_to_worker(
            &context(&programs, &inputs),
            &ToWorker::AssignExecute { fence, program },
        )
        .unwrap();
        assert_eq!(
            messages.len(),
            1 + 4,
            "one assignment and four input chunks"
        );
        let decoded = round_trip(&mut CoordinatorMessageDecoder::default(), messages);
        let [
            DecodedToWorker::Assignment {
                message,
                input: got,
                segment_cycles,
            },
        ] = &decoded[..]
        else {
            panic!("expected one assignment, got {decoded:?}");
        };
        assert_eq!(*message, ToWorker::AssignExecute { fence, program });
        assert_eq!(*got, JobInput::Inline(input));
        assert_eq!(*segment_cycles, 1 << 10);
    }

    #[test]
    fn an_assignment_by_input_path_carries_the_path_and_no_chunks() {
        let fence = Fence {
            epoch: Epoch(1),
            job: JobId(6),
            attempt: Attempt(1),
        };
        let program = ProgramId([1; 32]);
        let programs = BTreeMap::new();
        let path = crate::input::InputPath::parse("jobs/fib.in").unwrap();
        let inputs = BTreeMap::from([(fence.job, StoredInput::new(JobInput::Path(path.clone())))]);
        let messages = encode_to_worker(
            &context(&programs, &inputs),
            &ToWorker::AssignExecute { fence, program },
        )
        .unwrap();
        let [
            wire::CoordinatorMessage {
                kind: Some(Kind::AssignExecute(assign)),
            },
        ] = &messages[..]
        else {
            panic!("expected the assignment alone, got {messages:?}");
        };
        assert_eq!(
            (assign.input_size, assign.input_sha256.len()),
            (0, 0),
            "the coordinator never sees the file"
        );
        assert_eq!(assign.input_path, "jobs/fib.in");
        let decoded = round_trip(&mut CoordinatorMessageDecoder::default(), messages);
        assert!(
            matches!(&decoded[..], [DecodedToWorker::Assignment { input: JobInput::Path(got), .. }] if *got == path),
            "{decoded:?}"
        );
    }

    #[test]
    fn a_setup_carries_the_elf_and_is_checked_against_its_program_id() {
        let elf = Bytes::from_static(b"\x7fELF not really");
        let program = ProgramId(Sha256::digest(&elf).into());
        let programs = BTreeMap::from([(program, elf.clone())]);
        let inputs = BTreeMap::new();
        let messages =
            encode_to_worker(&context(&programs, &inputs), &ToWorker::Setup { program }).unwrap();
        let decoded = round_trip(&mut CoordinatorMessageDecoder::default(), messages);
        assert!(
            matches!(&decoded[..], [DecodedToWorker::Setup { program: p, elf: e }] if *p == program && *e == elf)
        );
    }

    #[test]
    fn plain_messages_round_trip() {
        let programs = BTreeMap::new();
        let inputs = BTreeMap::new();
        let fence = Fence {
            epoch: Epoch(2),
            job: JobId(77),
            attempt: Attempt(3),
        };
        for message in [
            ToWorker::Registered {
                worker: WorkerId::from("w"),
                generation: zisk_core::Generation(2),
                epoch: Epoch(2),
                heartbeat_interval_ms: 100,
            },
            ToWorker::Directive(ReconnectDirective::KeepComputing { job: JobId(77) }),
            ToWorker::Directive(ReconnectDirective::Idle),
            ToWorker::HeartbeatAck,
            ToWorker::Cancel { job: JobId(77) },
            ToWorker::StartProve {
                fence,
                challenge: Challenge(vec![1, 2, 3].into()),
                partitions: vec![PartitionId(0), PartitionId(4)],
            },
            ToWorker::BecomeAggregator {
                fence,
                partitions: vec![PartitionId(1)],
            },
            ToWorker::AggregateProof {
                fence,
                partition: PartitionId(1),
                proof: vec![5; 10].into(),
            },
            ToWorker::Refused(RegistrationRefusal::Draining),
        ] {
            let encoded = encode_to_worker(&context(&programs, &inputs), &message).unwrap();
            let decoded = round_trip(&mut CoordinatorMessageDecoder::default(), encoded);
            assert!(
                matches!(&decoded[..], [DecodedToWorker::Message(m)] if *m == message),
                "{message:?} came back as {decoded:?}"
            );
        }
    }

    #[test]
    fn an_input_that_does_not_match_its_hash_is_rejected() {
        let fence = Fence {
            epoch: Epoch(1),
            job: JobId(5),
            attempt: Attempt(1),
        };
        let mut decoder = CoordinatorMessageDecoder::default();
        let assign = message(Kind::AssignExecute(wire::AssignExecute {
            fence: Some(fence_to_wire(&fence)),
            program_id: ProgramId([1; 32]).to_string(),
            input_size: 3,
            input_sha256: Bytes::from(vec![0; 32]),
            input_path: String::new(),
            max_cycles: 0,
            segment_cycles: 0,
        }));
        assert!(decoder.decode(assign).unwrap().is_none());
        let chunk = message(Kind::JobInput(wire::JobInput {
            fence: Some(fence_to_wire(&fence)),
            chunk: Some(Chunk {
                offset: 0,
                total_size: 3,
                data: Bytes::from_static(b"abc"),
            }),
        }));
        assert_eq!(decoder.decode(chunk).unwrap_err().field, "input_sha256");
    }
}
