//! Bad input against one running coordinator (issue 6): each kind is answered with a typed
//! gRPC status (or a registration rejection) whose message says what was wrong, and the
//! coordinator keeps serving: a real worker executes a job to completion afterwards.
//!
//! The seventh kind of the issue, a config file with an unknown key, is not network input:
//! `bins/tests/config.rs::unknown_keys_wrong_types_and_out_of_range_values_name_their_source_and_key`
//! checks it.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Code, Status};
use zisk_net::limits::{MAX_INPUT_BYTES, ServerLimits};
use zisk_proto::MAX_CHUNK_BYTES;
use zisk_proto::bytes::Bytes;
use zisk_proto::client::v1 as api;
use zisk_proto::client::v1::client_api_client::ClientApiClient;
use zisk_proto::common::v1::{ErrorCode, Fence, JobState};
use zisk_proto::worker::v1 as wire;
use zisk_proto::worker::v1::coordinator_message::Kind as FromCoordinator;
use zisk_proto::worker::v1::worker_message::Kind;
use zisk_proto::worker::v1::worker_plane_client::WorkerPlaneClient;

use crate::harness::*;

/// Longest wait for any one answer of the coordinator.
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// Asserts that `result` failed with `code`, the stable `error` code and a message holding
/// every one of `words`.
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    error: ErrorCode,
    words: &[&str],
) {
    let status = result.expect_err("the coordinator accepted bad input");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(ErrorCode::from_status(&status), Some(error), "{status:?}");
    for word in words {
        assert!(
            status.message().contains(word),
            "the message does not name {word:?}: {status:?}"
        );
    }
}

async fn api_client(ports: Ports) -> ClientApiClient<Channel> {
    let limits = ServerLimits::default();
    let channel = zisk_net::server::dial(&ports.api_url(), &limits)
        .await
        .expect("dial the client API");
    ClientApiClient::new(channel).max_encoding_message_size(limits.max_message_bytes)
}

async fn register(
    api: &mut ClientApiClient<Channel>,
    elf: &[u8],
) -> Result<api::RegisterProgramResponse, Status> {
    use api::program_chunk::Part;
    let header = api::ProgramChunk {
        part: Some(Part::Header(api::ProgramHeader {
            name: "bad-input".to_owned(),
            total_size: elf.len() as u64,
            sha256: Bytes::copy_from_slice(&Sha256::digest(elf)),
        })),
    };
    let data = elf.chunks(MAX_CHUNK_BYTES).map(|chunk| api::ProgramChunk {
        part: Some(Part::Data(Bytes::copy_from_slice(chunk))),
    });
    let messages: Vec<_> = std::iter::once(header).chain(data).collect();
    let call = api.register_program(tokio_stream::iter(messages));
    let response = tokio::time::timeout(ANSWER_WAIT, call)
        .await
        .expect("RegisterProgram answered in time");
    response.map(tonic::Response::into_inner)
}

/// Submits an execute job whose spec announces `input.len()` bytes and sends them all.
async fn execute(
    api: &mut ClientApiClient<Channel>,
    program_id: &str,
    input: Bytes,
) -> Result<api::SubmitJobResponse, Status> {
    use api::job_submission::Part;
    let spec = api::JobSubmission {
        part: Some(Part::Spec(api::JobSpec {
            program_id: program_id.to_owned(),
            input_size: input.len() as u64,
            ..Default::default()
        })),
    };
    let data = (0..input.len().div_ceil(MAX_CHUNK_BYTES)).map(move |index| {
        let end = ((index + 1) * MAX_CHUNK_BYTES).min(input.len());
        api::JobSubmission {
            part: Some(Part::Data(input.slice(index * MAX_CHUNK_BYTES..end))),
        }
    });
    let call = api.execute(tokio_stream::iter(std::iter::once(spec).chain(data)));
    let response = tokio::time::timeout(ANSWER_WAIT, call)
        .await
        .expect("Execute answered in time");
    response.map(tonic::Response::into_inner)
}

/// A worker stream driven by hand, message by message.
struct RawWorker {
    outbound: mpsc::Sender<wire::WorkerMessage>,
    inbound: tonic::Streaming<wire::CoordinatorMessage>,
}

impl RawWorker {
    async fn open(ports: Ports) -> Self {
        let url = format!("http://127.0.0.1:{}", ports.cluster);
        let channel = zisk_net::server::dial(&url, &ServerLimits::default())
            .await
            .expect("dial the worker plane");
        let (outbound, receiver) = mpsc::channel(16);
        let mut client = WorkerPlaneClient::new(channel);
        let call = client.connect(ReceiverStream::new(receiver));
        let inbound = tokio::time::timeout(ANSWER_WAIT, call)
            .await
            .expect("Connect answered in time")
            .expect("the coordinator opens a worker stream")
            .into_inner();
        RawWorker { outbound, inbound }
    }

    async fn send(&self, kind: Option<Kind>) {
        self.outbound
            .send(wire::WorkerMessage { kind })
            .await
            .expect("the stream takes a message");
    }

    async fn next(&mut self) -> Result<Option<wire::CoordinatorMessage>, Status> {
        tokio::time::timeout(ANSWER_WAIT, self.inbound.message())
            .await
            .expect("the coordinator answered in time")
    }

    /// The next message's kind; fails on the end of the stream.
    async fn next_kind(&mut self) -> FromCoordinator {
        match self.next().await {
            Ok(Some(wire::CoordinatorMessage { kind: Some(kind) })) => kind,
            other => panic!("expected a message from the coordinator, got {other:?}"),
        }
    }

    /// The status the stream ends with, skipping the messages before it.
    async fn closing_status(&mut self) -> Status {
        loop {
            match self.next().await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("the worker stream ended without a status saying why"),
                Err(status) => return status,
            }
        }
    }

    /// Registers (`reconnect == false`) or reconnects as `worker_id`; returns `Registered`.
    async fn register(&mut self, worker_id: &str, reconnect: bool) -> wire::Registered {
        let register = register_message(worker_id, zisk_proto::PROTOCOL_VERSION);
        let kind = if reconnect {
            Kind::Reconnect(wire::Reconnect {
                register: Some(register),
                ..Default::default()
            })
        } else {
            Kind::Register(register)
        };
        self.send(Some(kind)).await;
        match self.next_kind().await {
            FromCoordinator::Registered(registered) => registered,
            other => panic!("expected Registered, got {other:?}"),
        }
    }

    /// Sends a heartbeat and expects its acknowledgement: the stream is alive.
    async fn assert_alive(&mut self, sequence: u64) {
        self.send(Some(Kind::Heartbeat(wire::Heartbeat { sequence })))
            .await;
        loop {
            match self.next_kind().await {
                FromCoordinator::HeartbeatAck(ack) if ack.sequence == sequence => return,
                // Older acknowledgements, and the directive that follows a `Reconnect`.
                FromCoordinator::HeartbeatAck(_) | FromCoordinator::ReconnectDirective(_) => {}
                other => panic!("expected HeartbeatAck {sequence}, got {other:?}"),
            }
        }
    }
}

/// One compute unit, so that the real worker (more units) is the one a job books.
fn register_message(worker_id: &str, protocol_version: u32) -> wire::Register {
    wire::Register {
        worker_id: worker_id.to_owned(),
        compute_units: 1,
        protocol_version,
        backend: zisk_proto::common::v1::Backend::Emulator as i32,
        ..Default::default()
    }
}

/// Asserts that the first message is a `RegisterRejected` with `error` naming `words`, and
/// that the stream then ends with a status.
async fn assert_registration_rejected(worker: &mut RawWorker, error: ErrorCode, words: &[&str]) {
    match worker.next_kind().await {
        FromCoordinator::RegisterRejected(rejected) => {
            assert_eq!(rejected.code, error as i32, "{rejected:?}");
            for word in words {
                assert!(
                    rejected.message.contains(word),
                    "{rejected:?} lacks {word:?}"
                );
            }
        }
        other => panic!("expected RegisterRejected, got {other:?}"),
    }
    let status = worker.closing_status().await;
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert!(
        status.message().contains("registration refused"),
        "{status:?}"
    );
}

/// Writes `bytes` to a raw TCP connection to `port` and reads until the server closes it;
/// returns what the server wrote. Fails if the server keeps the connection open.
fn raw_tcp_exchange(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the port");
    stream.set_read_timeout(Some(ANSWER_WAIT)).unwrap();
    stream.write_all(bytes).expect("write the garbage");
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
        Err(error) => panic!("the server kept a garbage connection open: {error}"),
    }
    answer
}

/// The HTTP/2 frames in `bytes` as (type, payload); stops at a partial frame.
fn http2_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while bytes.len() >= 9 {
        let length = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]) as usize;
        if bytes.len() < 9 + length {
            break;
        }
        frames.push((bytes[3], bytes[9..9 + length].to_vec()));
        bytes = &bytes[9 + length..];
    }
    frames
}

/// `zisk_stale_results_rejected_total` on `/metrics`.
fn stale_results_rejected(ports: Ports) -> u64 {
    let (status, metrics) = http_get(ports.metrics, "/metrics").expect("GET /metrics");
    assert_eq!(status, 200, "{metrics}");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("zisk_stale_results_rejected_total "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no zisk_stale_results_rejected_total in:\n{metrics}"))
}

#[test]
fn bad_input_of_every_kind_is_refused_by_name_while_the_coordinator_keeps_serving() {
    let scratch = scratch();
    let ports = Ports::free();
    let coordinator = start_coordinator(ports, scratch.path(), &[]);
    let _worker = start_worker("worker-a", ports, scratch.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    wait_for_workers(&runtime, ports, 1);
    let fibonacci = std::fs::read(guest("fibonacci")).expect("read the fibonacci guest");

    runtime.block_on(async {
        let mut api = api_client(ports).await;

        // A malformed ELF: not an ELF at all, and a real guest cut short.
        assert_refused(
            register(&mut api, b"not an elf").await,
            Code::InvalidArgument,
            ErrorCode::InvalidArgumentElf,
            &["not an ELF"],
        );
        assert_refused(
            register(&mut api, &fibonacci[..fibonacci.len() / 2]).await,
            Code::InvalidArgument,
            ErrorCode::InvalidArgumentElf,
            &["ELF", "truncated"],
        );

        // An unknown program id, well formed or not.
        let unknown = hex(&Sha256::digest(b"never registered"));
        assert_refused(
            execute(&mut api, &unknown, Bytes::new()).await,
            Code::NotFound,
            ErrorCode::UnknownProgram,
            &["unknown program", &unknown],
        );
        assert_refused(
            execute(&mut api, "no-such-program", Bytes::new()).await,
            Code::InvalidArgument,
            ErrorCode::InvalidArgument,
            &["program_id", "no-such-program"],
        );

        // An input one byte over MAX_INPUT_BYTES (64 MiB), sent in full by an honest client:
        // the spec's announced size is refused before the data is buffered.
        let program = register(&mut api, &fibonacci)
            .await
            .expect("the real guest registers")
            .program_id;
        let over_limit = MAX_INPUT_BYTES + 1;
        let input = Bytes::from(vec![0u8; over_limit as usize]);
        assert_refused(
            execute(&mut api, &program, input).await,
            Code::InvalidArgument,
            ErrorCode::InvalidChunk,
            &[
                &over_limit.to_string(),
                &MAX_INPUT_BYTES.to_string(),
                "limit",
            ],
        );
    });

    // Garbage on the worker plane's TCP port: random bytes, then a valid HTTP/2 preface
    // followed by a frame of nonsense. The server closes both connections, the second with
    // a GOAWAY frame.
    let _ = raw_tcp_exchange(ports.cluster, &pseudo_random_bytes(4096));
    let mut bogus = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bogus.extend_from_slice(&[0, 0, 8, 0xfe, 0, 0, 0, 0, 1]);
    bogus.extend_from_slice(&pseudo_random_bytes(64));
    let answer = raw_tcp_exchange(ports.cluster, &bogus);
    let frames = http2_frames(&answer);
    // GOAWAY (type 7): last stream id, then the error code, here an error, not NO_ERROR (0):
    // PROTOCOL_ERROR (1) or, as h2 reports a first frame that is not SETTINGS,
    // FRAME_SIZE_ERROR (6).
    let goaway_code = frames
        .iter()
        .find(|(kind, payload)| *kind == 0x7 && payload.len() >= 8)
        .map(|(_, payload)| u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]))
        .unwrap_or_else(|| panic!("no GOAWAY among the frames {frames:?} (raw {answer:?})"));
    assert!(
        matches!(goaway_code, 1 | 6),
        "GOAWAY error code {goaway_code}, frames {frames:?}"
    );

    runtime.block_on(async {
        // A first message that is not a registration.
        let mut worker = RawWorker::open(ports).await;
        worker
            .send(Some(Kind::Heartbeat(wire::Heartbeat { sequence: 1 })))
            .await;
        let status = worker.closing_status().await;
        assert_eq!(status.code(), Code::Aborted, "{status:?}");
        assert!(
            status
                .message()
                .contains("the first message must be Register or Reconnect"),
            "{status:?}"
        );

        // A message that carries nothing.
        let mut worker = RawWorker::open(ports).await;
        worker.send(None).await;
        let status = worker.closing_status().await;
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(
            ErrorCode::from_status(&status),
            Some(ErrorCode::InvalidArgument)
        );
        assert!(
            status.message().contains("malformed worker message")
                && status.message().contains("kind"),
            "{status:?}"
        );

        // Registrations with an empty worker id or another protocol version.
        let mut worker = RawWorker::open(ports).await;
        worker
            .send(Some(Kind::Register(register_message(
                "",
                zisk_proto::PROTOCOL_VERSION,
            ))))
            .await;
        assert_registration_rejected(&mut worker, ErrorCode::InvalidArgument, &["worker id"]).await;
        let mut worker = RawWorker::open(ports).await;
        let other_version = zisk_proto::PROTOCOL_VERSION + 98;
        worker
            .send(Some(Kind::Register(register_message(
                "future",
                other_version,
            ))))
            .await;
        assert_registration_rejected(
            &mut worker,
            ErrorCode::ProtocolVersionMismatch,
            &[&format!("protocol {other_version}")],
        )
        .await;

        // A worker id registering twice while its first stream is up (docs/protocol.md,
        // Workers): a second `Register` is a restarted process, so the first stream is closed
        // with a status saying so; a `Reconnect` is the same process on a new stream, which
        // supersedes the old one with the next connection generation.
        let mut first = RawWorker::open(ports).await;
        let registered = first.register("twin", false).await;
        assert_eq!(registered.connection_generation, 1, "{registered:?}");
        let mut second = RawWorker::open(ports).await;
        let registered = second.register("twin", false).await;
        assert_eq!(registered.connection_generation, 1, "{registered:?}");
        let status = first.closing_status().await;
        assert_eq!(status.code(), Code::Aborted, "{status:?}");
        assert!(status.message().contains("worker restarted"), "{status:?}");
        let mut third = RawWorker::open(ports).await;
        let registered = third.register("twin", true).await;
        assert_eq!(registered.connection_generation, 2, "{registered:?}");
        let status = second.closing_status().await;
        assert_eq!(status.code(), Code::Aborted, "{status:?}");
        assert!(
            status.message().contains("superseded by a reconnection"),
            "{status:?}"
        );
        let mut api = api_client(ports).await;
        let twins: Vec<api::WorkerInfo> = api
            .list_workers(api::ListWorkersRequest {})
            .await
            .expect("ListWorkers")
            .into_inner()
            .workers
            .into_iter()
            .filter(|worker| worker.worker_id == "twin")
            .collect();
        assert_eq!(twins.len(), 1, "{twins:?}");

        // A result for a job the worker does not hold: rejected as stale, counted, and the
        // stream stays up.
        third.assert_alive(1).await;
        let before = stale_results_rejected(ports);
        third
            .send(Some(Kind::ExecuteResult(wire::ExecuteResult {
                fence: Some(Fence {
                    coordinator_epoch: registered.coordinator_epoch,
                    job_id: "0123456789abcdef0123456789abcdef".to_owned(),
                    attempt: 1,
                }),
                cycles: 1,
                segment_count: 1,
                ..Default::default()
            })))
            .await;
        // The core task handles a stream's messages in order, so once the next heartbeat is
        // acknowledged the result has been counted.
        third.assert_alive(2).await;
        assert_eq!(stale_results_rejected(ports), before + 1);
    });

    // The hand-driven worker goes away (its grace period is 300 ms) and the real worker
    // still executes a job: fib(10) = 55.
    let mut client = client(&runtime, ports);
    wait_for(
        "the hand-driven workers to leave",
        Duration::from_secs(10),
        || {
            let status = runtime.block_on(client.status()).ok()?;
            (status.workers_connected == 1 && status.workers_disconnected == 0).then_some(())
        },
    );
    let job = runtime.block_on(async {
        let program = client
            .register("fibonacci", fibonacci)
            .await
            .expect("register the guest")
            .program_id;
        let job_id = client
            .submit(false, &program, 10u32.to_le_bytes().to_vec(), None)
            .await
            .expect("submit the job");
        tokio::time::timeout(Duration::from_secs(30), client.follow(&job_id, |_| {}))
            .await
            .expect("the job ended in time")
            .expect("follow the job")
    });
    assert_eq!(job.state, JobState::Completed as i32, "{job:?}");
    // The guest commits n and fib(n) as little-endian u32 and u64.
    let mut expected = 10u32.to_le_bytes().to_vec();
    expected.extend_from_slice(&55u64.to_le_bytes());
    match &job.outcome {
        Some(api::job::Outcome::Execute(outcome)) => {
            assert_eq!(
                outcome.public_outputs.as_ref(),
                expected.as_slice(),
                "{job:?}"
            );
        }
        other => panic!("expected an execute outcome, got {other:?}"),
    }
    assert_eq!(http_get(ports.metrics, "/health").unwrap().0, 200);
    assert!(
        !coordinator.log().contains("panicked"),
        "the coordinator panicked:\n{}",
        coordinator.log()
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
