//! A zombie worker: a second process with a live worker's id (an operator starting the same
//! worker twice, or a stuck old process) that opens its own stream, takes over the id with
//! `Reconnect`, and replays results under stale fences. It is how results fenced with an old
//! epoch or an attempt never issued reach the coordinator through the real adapters: the
//! worker core itself drops an old epoch's work before it reconnects.
//!
//! The results it sends carry a fence the coordinator must reject: the current job and
//! attempt of the worker under the previous epoch (only the epoch tells it apart, and with
//! `reuse_job_ids` the job id names a live job), or the current epoch with an attempt never
//! issued. The coordinator observer checks that each is counted stale and changes nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use zisk_core::{
    Contribution, Digest, Epoch, ExecutionSummary, Fence, FromWorker, Generation, PROTOCOL_VERSION,
    Payload,
};
use zisk_net::convert::{WorkerContext, encode_from_worker};
use zisk_net::limits::ServerLimits;
use zisk_proto::common::v1::Backend;
use zisk_proto::worker::v1::worker_plane_client::WorkerPlaneClient;

use crate::cluster::{worker_id, worker_plane_url};
use crate::schedule::Forge;
use crate::state::{LastCall, Shared, SimState};

/// Runs one zombie of worker `index`: takes the id over, sends two forged results, lingers a
/// moment, and goes away.
pub async fn replay_stale(
    shared: Shared,
    index: usize,
    compute_units: u32,
    forge: Forge,
    epoch: u64,
) {
    let worker = worker_id(index);
    let Some(LastCall {
        fence,
        partitions,
        partition_count,
    }) = SimState::lock(&shared).last_call(&worker)
    else {
        return;
    };
    let forged = match forge {
        Forge::PreviousEpoch => Fence {
            epoch: Epoch(epoch.saturating_sub(1)),
            ..fence
        },
        Forge::AttemptNeverIssued => Fence {
            epoch: Epoch(epoch),
            attempt: zisk_core::Attempt(fence.attempt.0 + 1_000),
            ..fence
        },
    };
    let Ok(channel) = zisk_net::server::dial(&worker_plane_url(), &ServerLimits::default()).await
    else {
        return;
    };
    let mut client = WorkerPlaneClient::new(channel);
    let (sender, receiver) = mpsc::channel(16);
    let program_sizes = BTreeMap::new();
    let context = WorkerContext {
        backend: Backend::Emulator,
        software_version: "zombie",
        previous_session: Some((Epoch(epoch), Generation(1))),
        program_sizes: &program_sizes,
        partition_count: partition_count.max(1),
    };
    let partition = partitions
        .first()
        .copied()
        .unwrap_or(zisk_core::PartitionId(0));
    let summary = ExecutionSummary {
        segment_count: 1,
        cycles: 1,
        outputs_digest: Digest::default(),
    };
    let messages = [
        FromWorker::Reconnect {
            worker: worker.clone(),
            compute_units,
            protocol_version: PROTOCOL_VERSION,
            held: Some(fence),
        },
        FromWorker::Contributed {
            fence: forged,
            partition,
            summary,
            contributions: vec![Contribution {
                segment: zisk_core::SegmentIndex(partition.0),
                commitment: Digest([0xee; 32]),
            }],
        },
        FromWorker::Proved {
            fence: forged,
            partition,
            contributions: Vec::new(),
            proof: Payload::from(vec![0xee; 8]),
        },
    ];
    let mut sequence = 0;
    SimState::lock(&shared).log(format!("zombie {worker} replays {forged} ({forge:?})"));
    let stream = client.connect(ReceiverStream::new(receiver));
    for message in &messages {
        for wire in encode_from_worker(&context, &mut sequence, message) {
            if sender.send(wire).await.is_err() {
                return;
            }
        }
    }
    let Ok(response) = stream.await else {
        return;
    };
    let mut inbound = response.into_inner();
    // Linger while the coordinator answers, then vanish (the real worker takes its id back).
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Ok(Some(_)) = inbound.message().await {}
    })
    .await;
}
