//! Wire-level tests: round trips, truncation, error-code mapping, chunking.

use prost::Message;
use zisk_proto::bytes::Bytes;
use zisk_proto::client::v1::{JobEvent, JobSpec, JobSubmission, job_event, job_submission};
use zisk_proto::common::v1::{Chunk, ErrorCode, Fence, JobPhase};
use zisk_proto::worker::v1::{
    AssignContributions, ContributionResult, CoordinatorMessage, ExecutionSummary,
    SegmentContribution, WorkerMessage, coordinator_message, worker_message,
};
use zisk_proto::{ChunkAssembler, ChunkError, MAX_CHUNK_BYTES, split_chunks};

fn fence() -> Fence {
    Fence {
        coordinator_epoch: 7,
        job_id: "job-42".into(),
        attempt: 2,
    }
}

fn contribution_result() -> WorkerMessage {
    WorkerMessage {
        kind: Some(worker_message::Kind::ContributionResult(
            ContributionResult {
                fence: Some(fence()),
                contributions: (0..3)
                    .map(|i| SegmentContribution {
                        segment_index: i,
                        partition_id: (i % 2) as u32,
                        trace_commitment: Bytes::from(vec![i as u8; 32]),
                        boundary_values: Bytes::from_static(b"boundary"),
                    })
                    .collect(),
                summary: Some(ExecutionSummary {
                    segment_count: 3,
                    public_outputs_hash: Bytes::from(vec![0xab; 32]),
                    cycles: 1_000_000,
                }),
                partition_id: 1,
            },
        )),
    }
}

fn round_trip<M: Message + Default + PartialEq + std::fmt::Debug>(msg: &M) -> Vec<u8> {
    let encoded = msg.encode_to_vec();
    let decoded = M::decode(encoded.as_slice()).expect("decodes");
    assert_eq!(&decoded, msg);
    encoded
}

#[test]
fn worker_message_round_trips() {
    round_trip(&contribution_result());
}

#[test]
fn coordinator_message_round_trips() {
    round_trip(&CoordinatorMessage {
        kind: Some(coordinator_message::Kind::AssignContributions(
            AssignContributions {
                fence: Some(fence()),
                program_id: "ab".repeat(32) + "-4096",
                input_size: 12,
                input_sha256: Bytes::from(vec![1; 32]),
                partition_ids: vec![0, 3, 5],
                partition_count: 8,
                partition_weights: vec![1; 8],
                segment_cycles: 1 << 20,
                input_path: String::new(),
            },
        )),
    });
    round_trip(&CoordinatorMessage {
        kind: Some(coordinator_message::Kind::AssignContributions(
            AssignContributions {
                fence: Some(fence()),
                program_id: "ab".repeat(32) + "-4096",
                partition_ids: vec![0],
                partition_count: 1,
                input_path: "jobs/fib.in".into(),
                ..Default::default()
            },
        )),
    });
}

#[test]
fn client_messages_round_trip() {
    round_trip(&JobSubmission {
        part: Some(job_submission::Part::Spec(JobSpec {
            program_id: "p".into(),
            input_size: 3,
            compute_units: Some(4),
            idempotency_key: "k".into(),
            input_sha256: Bytes::new(),
            input_path: String::new(),
        })),
    });
    round_trip(&JobSubmission {
        part: Some(job_submission::Part::Spec(JobSpec {
            program_id: "p".into(),
            input_path: "jobs/fib.in".into(),
            ..Default::default()
        })),
    });
    // `optional` keeps "unset" distinct from 0.
    let unset = JobSpec {
        compute_units: None,
        ..Default::default()
    };
    let zero = JobSpec {
        compute_units: Some(0),
        ..Default::default()
    };
    assert_ne!(unset.encode_to_vec(), zero.encode_to_vec());
    round_trip(&unset);
    round_trip(&zero);

    round_trip(&JobEvent {
        job_id: "job-1".into(),
        sequence: 5,
        timestamp_ms: 1_700_000_000_000,
        event: Some(job_event::Event::Failed(job_event::Failed {
            phase: JobPhase::Prove as i32,
            error: Some(zisk_proto::common::v1::ErrorInfo {
                code: ErrorCode::RetryBudgetExhausted as i32,
                message: "partition 3 failed 3 times".into(),
            }),
        })),
    });
}

#[test]
fn default_message_encodes_empty() {
    assert!(WorkerMessage::default().encode_to_vec().is_empty());
    assert_eq!(
        WorkerMessage::decode(&[][..]).unwrap(),
        WorkerMessage::default()
    );
}

#[test]
fn truncated_message_fails_to_decode() {
    let encoded = contribution_result().encode_to_vec();
    assert!(encoded.len() > 100);
    let mut failures = 0;
    // Every strict prefix either fails cleanly or (at a field boundary of the
    // outer message) decodes to something different; it never panics.
    for len in 0..encoded.len() {
        match WorkerMessage::decode(&encoded[..len]) {
            Err(_) => failures += 1,
            Ok(msg) => assert_ne!(msg, contribution_result()),
        }
    }
    assert!(failures > 0);
    // Cutting inside the nested message is always an error.
    assert!(WorkerMessage::decode(&encoded[..encoded.len() - 1]).is_err());
    assert!(WorkerMessage::decode(&encoded[..encoded.len() / 2]).is_err());
}

#[test]
fn garbage_does_not_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..2000 {
        let len = (state % 64) as usize;
        let buf: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let _ = WorkerMessage::decode(buf.as_slice());
        let _ = CoordinatorMessage::decode(buf.as_slice());
    }
}

#[test]
fn error_code_mapping_is_total() {
    // ALL lists exactly the values the enum accepts, in order.
    let valid: Vec<ErrorCode> = (-1..1000)
        .filter_map(|v| ErrorCode::try_from(v).ok())
        .collect();
    assert_eq!(valid, ErrorCode::ALL.to_vec());
    for (i, code) in ErrorCode::ALL.iter().enumerate() {
        assert_eq!(*code as i32, i as i32);
    }
    for code in ErrorCode::ALL {
        let grpc = code.grpc_code();
        assert_ne!(grpc, tonic::Code::Ok, "{code:?} maps to Ok");
        assert_eq!(tonic::Code::from(code), grpc);
        let status = code.to_status("detail");
        assert_eq!(status.code(), grpc);
        assert_eq!(status.message(), "detail");
        assert_eq!(ErrorCode::from_status(&status), Some(code));
    }
    assert!(matches!(
        ErrorCode::Unspecified.grpc_code(),
        tonic::Code::Unknown | tonic::Code::Internal
    ));
    assert_eq!(ErrorCode::from_status(&tonic::Status::internal("x")), None);
}

#[test]
fn error_code_table_spot_checks() {
    use tonic::Code;
    assert_eq!(
        ErrorCode::InvalidArgumentElf.grpc_code(),
        Code::InvalidArgument
    );
    assert_eq!(ErrorCode::UnknownProgram.grpc_code(), Code::NotFound);
    assert_eq!(
        ErrorCode::SetupNotReady.grpc_code(),
        Code::FailedPrecondition
    );
    assert_eq!(ErrorCode::QueueFull.grpc_code(), Code::ResourceExhausted);
    assert_eq!(ErrorCode::Draining.grpc_code(), Code::Unavailable);
    assert_eq!(ErrorCode::NotFound.grpc_code(), Code::NotFound);
    assert_eq!(ErrorCode::JobTerminal.grpc_code(), Code::FailedPrecondition);
    assert_eq!(ErrorCode::StaleFence.grpc_code(), Code::Aborted);
    assert_eq!(ErrorCode::Internal.grpc_code(), Code::Internal);
}

#[test]
fn chunks_split_and_reassemble() {
    for len in [
        0,
        1,
        MAX_CHUNK_BYTES - 1,
        MAX_CHUNK_BYTES,
        MAX_CHUNK_BYTES + 1,
        3 * MAX_CHUNK_BYTES + 5,
    ] {
        let payload = Bytes::from((0..len).map(|i| i as u8).collect::<Vec<_>>());
        let chunks: Vec<Chunk> = split_chunks(payload.clone()).collect();
        assert_eq!(chunks.len(), len.div_ceil(MAX_CHUNK_BYTES).max(1));
        let mut assembler = ChunkAssembler::new(len as u64);
        for (i, chunk) in chunks.iter().enumerate() {
            assert!(chunk.data.len() <= MAX_CHUNK_BYTES);
            let done = assembler.push(chunk).unwrap();
            assert_eq!(done, i == chunks.len() - 1);
        }
        assert_eq!(assembler.push(&chunks[0]), Err(ChunkError::AlreadyComplete));
        assert_eq!(assembler.finish().unwrap(), payload);
    }
}

#[test]
fn chunk_rule_violations_are_errors() {
    let chunk = |offset, total_size, data: &'static [u8]| Chunk {
        offset,
        total_size,
        data: Bytes::from_static(data),
    };
    let mut a = ChunkAssembler::new(10);
    assert!(matches!(
        a.push(&chunk(0, 11, b"x")),
        Err(ChunkError::PayloadTooLarge { .. })
    ));
    assert!(matches!(
        a.push(&chunk(1, 4, b"x")),
        Err(ChunkError::UnexpectedOffset { .. })
    ));
    assert_eq!(a.push(&chunk(0, 4, b"ab")), Ok(false));
    assert!(matches!(
        a.push(&chunk(2, 5, b"c")),
        Err(ChunkError::TotalSizeChanged { .. })
    ));
    assert!(matches!(
        a.push(&chunk(0, 4, b"ab")),
        Err(ChunkError::UnexpectedOffset { .. })
    ));
    assert!(matches!(
        a.push(&chunk(2, 4, b"cde")),
        Err(ChunkError::PastEnd { .. })
    ));
    assert!(matches!(
        ChunkAssembler::new(10).finish(),
        Err(ChunkError::UnknownTotalSize)
    ));

    let mut b = ChunkAssembler::with_total_size(4, 10).unwrap();
    assert_eq!(b.push_data(b"abc"), Ok(false));
    let big = vec![0u8; MAX_CHUNK_BYTES + 1];
    let mut c = ChunkAssembler::with_total_size(u64::MAX, u64::MAX).unwrap();
    assert!(matches!(
        c.push_data(&big),
        Err(ChunkError::ChunkTooLarge { .. })
    ));
    assert!(matches!(
        b.finish(),
        Err(ChunkError::Incomplete {
            received: 3,
            total_size: 4
        })
    ));

    let empty = ChunkAssembler::with_total_size(0, 10).unwrap();
    assert!(empty.is_complete());
    assert_eq!(empty.finish().unwrap(), Bytes::new());
    assert_eq!(ChunkError::AlreadyComplete.code(), ErrorCode::InvalidChunk);
}
