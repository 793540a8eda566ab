//! The worker plane: one bidirectional `Connect` stream per worker, decoded into core inputs.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use zisk_core::ConnectionId;
use zisk_proto::common::v1::{Backend, ErrorCode};
use zisk_proto::worker::v1::worker_message::Kind;
use zisk_proto::worker::v1::worker_plane_server::WorkerPlane;
use zisk_proto::worker::v1::{CoordinatorMessage, WorkerMessage};

use super::command::Command;
use super::handle::CoordinatorHandle;
use crate::convert::WorkerMessageDecoder;
use crate::limits::WORKER_STREAM_BUFFER;

/// The `WorkerPlane` gRPC service.
#[derive(Clone)]
pub struct WorkerPlaneService {
    handle: CoordinatorHandle,
    next_connection: Arc<AtomicU64>,
}

impl WorkerPlaneService {
    /// A service feeding the core behind `handle`.
    pub fn new(handle: CoordinatorHandle) -> Self {
        WorkerPlaneService {
            handle,
            next_connection: Arc::new(AtomicU64::new(1)),
        }
    }
}

/// The reading task's handle on the stream's outbound half, for a closing status only.
type WeakOutbound = mpsc::WeakSender<Result<CoordinatorMessage, Status>>;

/// Reports the end of a stream to the core however the reading task ends: end of stream,
/// transport error, a malformed message, or the task being dropped (tonic never reaches the
/// end-of-stream branch for a peer that vanished).
struct ClosedGuard {
    handle: CoordinatorHandle,
    connection: ConnectionId,
}

impl Drop for ClosedGuard {
    fn drop(&mut self) {
        let command = Command::Closed {
            connection: self.connection,
        };
        if let Err(mpsc::error::TrySendError::Full(command)) =
            self.handle.commands.try_send(command)
        {
            let handle = self.handle.clone();
            tokio::spawn(async move {
                let _ = handle.send(command).await;
            });
        }
    }
}

fn backend_of(message: &WorkerMessage) -> Option<Backend> {
    let register = match &message.kind {
        Some(Kind::Register(register)) => register,
        Some(Kind::Reconnect(reconnect)) => reconnect.register.as_ref()?,
        _ => return None,
    };
    Backend::try_from(register.backend).ok()
}

async fn read_stream(
    handle: CoordinatorHandle,
    connection: ConnectionId,
    mut inbound: Streaming<WorkerMessage>,
    heartbeat_sequence: Arc<AtomicU64>,
    outbound: WeakOutbound,
) {
    let _guard = ClosedGuard {
        handle: handle.clone(),
        connection,
    };
    let mut decoder = WorkerMessageDecoder::default();
    while let Some(item) = inbound.next().await {
        let message = match item {
            Ok(message) => message,
            Err(status) => {
                tracing::info!(connection = connection.0, %status, "worker stream broke");
                return;
            }
        };
        let backend = backend_of(&message);
        match decoder.decode(message) {
            Ok(Some(message)) => {
                heartbeat_sequence.store(decoder.last_heartbeat_sequence(), Ordering::Relaxed);
                let command = Command::Message {
                    connection,
                    message,
                    backend,
                };
                if handle.send(command).await.is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(connection = connection.0, %error, "malformed worker message; closing the stream");
                // The worker learns why its stream ends: the status goes out before the
                // guard reports the close and the core task drops the stream's sender.
                if let Some(outbound) = outbound.upgrade() {
                    let status = ErrorCode::InvalidArgument
                        .to_status(format!("malformed worker message: {error}"));
                    let _ = outbound.try_send(Err(status));
                }
                return;
            }
        }
    }
    tracing::info!(connection = connection.0, "worker stream ended");
}

#[tonic::async_trait]
impl WorkerPlane for WorkerPlaneService {
    type ConnectStream =
        Pin<Box<dyn Stream<Item = Result<CoordinatorMessage, Status>> + Send + 'static>>;

    async fn connect(
        &self,
        request: Request<Streaming<WorkerMessage>>,
    ) -> Result<Response<Self::ConnectStream>, Status> {
        let connection = ConnectionId(self.next_connection.fetch_add(1, Ordering::Relaxed));
        let (sender, receiver) = mpsc::channel(WORKER_STREAM_BUFFER);
        let heartbeat_sequence = Arc::new(AtomicU64::new(0));
        // Weak, so that the stream still ends when the core task drops its sender.
        let outbound = sender.downgrade();
        self.handle
            .send(Command::Connected {
                connection,
                sender,
                heartbeat_sequence: heartbeat_sequence.clone(),
            })
            .await?;
        tracing::debug!(connection = connection.0, remote = ?request.remote_addr(), "worker stream opened");
        tokio::spawn(read_stream(
            self.handle.clone(),
            connection,
            request.into_inner(),
            heartbeat_sequence,
            outbound,
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}
