//! One stream to the coordinator: dial, open `Connect`, forward what arrives. Every event
//! carries the link number so that the driver ignores a superseded link.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use zisk_proto::worker::v1::worker_plane_client::WorkerPlaneClient;
use zisk_proto::worker::v1::{CoordinatorMessage, WorkerMessage};

use crate::limits::{ServerLimits, WORKER_STREAM_BUFFER};
use crate::server::dial;

/// What a link reports to the worker driver.
pub(crate) enum LinkEvent {
    Up {
        link: u64,
        sender: mpsc::Sender<WorkerMessage>,
    },
    Message {
        link: u64,
        message: CoordinatorMessage,
    },
    Down {
        link: u64,
        reason: String,
    },
}

/// Reports the link down however its task ends (error, end of stream, abort).
struct DownGuard {
    events: mpsc::Sender<LinkEvent>,
    link: u64,
    reason: String,
}

impl Drop for DownGuard {
    fn drop(&mut self) {
        let event = LinkEvent::Down {
            link: self.link,
            reason: std::mem::take(&mut self.reason),
        };
        if let Err(mpsc::error::TrySendError::Full(event)) = self.events.try_send(event) {
            let events = self.events.clone();
            tokio::spawn(async move {
                let _ = events.send(event).await;
            });
        }
    }
}

/// Dials `url` and runs the stream until it ends.
pub(crate) async fn run_link(
    link: u64,
    url: String,
    limits: ServerLimits,
    events: mpsc::Sender<LinkEvent>,
) {
    let mut guard = DownGuard {
        events: events.clone(),
        link,
        reason: "stream ended".to_owned(),
    };
    let channel = match dial(&url, &limits).await {
        Ok(channel) => channel,
        Err(error) => {
            guard.reason = error.to_string();
            return;
        }
    };
    let mut client = WorkerPlaneClient::new(channel)
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
    let (sender, receiver) = mpsc::channel(WORKER_STREAM_BUFFER);
    let mut inbound = match client.connect(ReceiverStream::new(receiver)).await {
        Ok(response) => response.into_inner(),
        Err(status) => {
            guard.reason = format!("the coordinator refused the stream: {status}");
            return;
        }
    };
    if events.send(LinkEvent::Up { link, sender }).await.is_err() {
        return;
    }
    loop {
        match inbound.message().await {
            Ok(Some(message)) => {
                if events
                    .send(LinkEvent::Message { link, message })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Ok(None) => return,
            Err(status) => {
                guard.reason = format!("stream broke: {status}");
                return;
            }
        }
    }
}
