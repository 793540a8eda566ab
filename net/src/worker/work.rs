//! Running work orders on blocking threads. A panic in the backend becomes a failed task
//! (or a failed setup), never a dead worker.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;
use zisk_core::{Challenge, Fence, PartitionId, Payload, ProgramId, WorkResult};
use zisk_proto::bytes::Bytes;

use super::backend::{BackendCall, BackendCallKind, BackendError, GuestRun, ProvingBackend};
use crate::input::{JobInput, read_input_file};

/// A job's guest and input as the worker holds them.
#[derive(Clone, Debug)]
pub(crate) struct JobData {
    pub(crate) program: ProgramId,
    pub(crate) elf: Bytes,
    pub(crate) input: JobInput,
    /// Where an input path is resolved (`None`: this worker takes no input paths).
    pub(crate) inputs_folder: Option<Arc<Path>>,
    pub(crate) segment_cycles: u64,
    pub(crate) partition_count: u32,
}

impl JobData {
    /// The input bytes, read from the inputs folder (on this blocking thread) for a path.
    fn input_bytes(&self) -> Result<Bytes, BackendError> {
        match &self.input {
            JobInput::Inline(bytes) => Ok(bytes.clone()),
            JobInput::Path(path) => read_input_file(self.inputs_folder.as_deref(), path)
                .map_err(|error| BackendError::Input(error.to_string())),
        }
    }

    fn run<'a>(&'a self, fence: &Fence, input: &'a [u8]) -> GuestRun<'a> {
        GuestRun {
            job: fence.job,
            program: self.program,
            elf: &self.elf,
            input,
            segment_cycles: self.segment_cycles,
        }
    }
}

/// A unit of blocking work.
pub(crate) enum Work {
    Setup {
        program: ProgramId,
        elf: Bytes,
    },
    Execute {
        fence: Fence,
        data: JobData,
    },
    Contribute {
        fence: Fence,
        data: JobData,
        partitions: Vec<PartitionId>,
    },
    Prove {
        fence: Fence,
        challenge: Challenge,
        partitions: Vec<PartitionId>,
    },
    RedoAndProve {
        fence: Fence,
        data: JobData,
        partitions: Vec<PartitionId>,
        challenge: Challenge,
    },
    Verify {
        fence: Fence,
        partition: PartitionId,
        proof: Payload,
    },
    Aggregate {
        fence: Fence,
        proofs: Vec<(PartitionId, Payload)>,
    },
}

/// What finished work reports to the driver.
pub(crate) enum Finished {
    /// A result for the core.
    Result(WorkResult),
    /// A partial proof given to the aggregator verified.
    Verified {
        fence: Fence,
        partition: PartitionId,
        proof: Payload,
    },
}

fn failed(fence: Fence, error: &BackendError) -> Vec<Finished> {
    vec![Finished::Result(WorkResult::Failed {
        fence,
        reason: error.to_string(),
        kind: error.failure_kind(),
    })]
}

fn proved(fence: Fence, proofs: Vec<super::backend::PartitionProof>) -> Vec<Finished> {
    proofs
        .into_iter()
        .map(|proof| {
            Finished::Result(WorkResult::Proved {
                fence,
                partition: proof.partition,
                contributions: proof.contributions,
                proof: proof.proof,
            })
        })
        .collect()
}

fn perform(backend: &dyn ProvingBackend, work: Work) -> Vec<Finished> {
    match work {
        Work::Setup { program, elf } => vec![Finished::Result(WorkResult::SetupDone {
            program,
            result: backend
                .setup(program, &elf)
                .map_err(|error| error.to_string()),
        })],
        Work::Execute { fence, data } => match data
            .input_bytes()
            .and_then(|input| backend.execute(&data.run(&fence, &input)))
        {
            Ok(execution) => vec![Finished::Result(WorkResult::Executed {
                fence,
                summary: execution.summary,
                outputs: execution.outputs.into(),
            })],
            Err(error) => failed(fence, &error),
        },
        Work::Contribute {
            fence,
            data,
            partitions,
        } => match data.input_bytes().and_then(|input| {
            backend.contribute(&data.run(&fence, &input), data.partition_count, &partitions)
        }) {
            Ok(results) => results
                .into_iter()
                .map(|result| {
                    Finished::Result(WorkResult::Contributed {
                        fence,
                        partition: result.partition,
                        summary: result.summary,
                        contributions: result.contributions,
                    })
                })
                .collect(),
            Err(error) => failed(fence, &error),
        },
        Work::Prove {
            fence,
            challenge,
            partitions,
        } => match backend.prove(fence.job, &challenge, &partitions) {
            Ok(proofs) => proved(fence, proofs),
            Err(error) => failed(fence, &error),
        },
        Work::RedoAndProve {
            fence,
            data,
            partitions,
            challenge,
        } => {
            // Commitments are deterministic: the coordinator compares the redone ones (sent
            // with each proof) with those it recorded.
            let redone = data
                .input_bytes()
                .and_then(|input| {
                    backend.contribute(&data.run(&fence, &input), data.partition_count, &partitions)
                })
                .and_then(|_| backend.prove(fence.job, &challenge, &partitions));
            match redone {
                Ok(proofs) => proved(fence, proofs),
                Err(error) => failed(fence, &error),
            }
        }
        Work::Verify {
            fence,
            partition,
            proof,
        } => match backend.verify_partition(fence.job, partition, &proof) {
            Ok(()) => vec![Finished::Verified {
                fence,
                partition,
                proof,
            }],
            Err(error) => vec![Finished::Result(WorkResult::ProofRejected {
                fence,
                partition,
                reason: error.to_string(),
            })],
        },
        Work::Aggregate { fence, proofs } => match backend.aggregate(fence.job, &proofs) {
            Ok(aggregated) => vec![Finished::Result(WorkResult::Aggregated {
                fence,
                proof: aggregated.proof,
                outputs: aggregated.outputs.into(),
            })],
            Err(error) => failed(fence, &error),
        },
    }
}

/// What a panic turns into: the order's failure.
fn panicked(
    work_fence: Option<Fence>,
    program: Option<ProgramId>,
    message: String,
) -> Vec<Finished> {
    let reason = format!("the prover panicked: {message}");
    match (work_fence, program) {
        (Some(fence), _) => vec![Finished::Result(WorkResult::Failed {
            fence,
            reason,
            kind: zisk_core::FailureKind::Retryable,
        })],
        (None, Some(program)) => vec![Finished::Result(WorkResult::SetupDone {
            program,
            result: Err(reason),
        })],
        (None, None) => Vec::new(),
    }
}

fn fence_of(work: &Work) -> (Option<Fence>, Option<ProgramId>) {
    match work {
        Work::Setup { program, .. } => (None, Some(*program)),
        Work::Execute { fence, .. }
        | Work::Contribute { fence, .. }
        | Work::Prove { fence, .. }
        | Work::RedoAndProve { fence, .. }
        | Work::Verify { fence, .. }
        | Work::Aggregate { fence, .. } => (Some(*fence), None),
    }
}

fn call_of(work: &Work) -> BackendCall {
    let (kind, fence, program, partitions) = match work {
        Work::Setup { program, .. } => (BackendCallKind::Setup, None, Some(*program), vec![]),
        Work::Execute { fence, data } => (
            BackendCallKind::Execute,
            Some(*fence),
            Some(data.program),
            vec![],
        ),
        Work::Contribute {
            fence,
            data,
            partitions,
        } => (
            BackendCallKind::Contribute,
            Some(*fence),
            Some(data.program),
            partitions.clone(),
        ),
        Work::Prove {
            fence, partitions, ..
        } => (
            BackendCallKind::Prove,
            Some(*fence),
            None,
            partitions.clone(),
        ),
        Work::RedoAndProve {
            fence,
            data,
            partitions,
            ..
        } => (
            BackendCallKind::RedoAndProve,
            Some(*fence),
            Some(data.program),
            partitions.clone(),
        ),
        Work::Verify {
            fence, partition, ..
        } => (
            BackendCallKind::Verify,
            Some(*fence),
            None,
            vec![*partition],
        ),
        Work::Aggregate { fence, proofs } => (
            BackendCallKind::Aggregate,
            Some(*fence),
            None,
            proofs.iter().map(|(partition, _)| *partition).collect(),
        ),
    };
    BackendCall {
        kind,
        fence,
        program,
        partitions,
    }
}

/// Runs `work` on a blocking thread and reports every result on `results` (unbounded: the
/// number of results is bounded by the orders the core issued). A backend that models its
/// cost ([`ProvingBackend::modelled_duration`]) has its results reported that much later.
#[cfg_attr(madsim, allow(deprecated))] // madsim runs blocking closures as ordinary tasks
pub(crate) fn spawn_work(
    backend: Arc<dyn ProvingBackend>,
    work: Work,
    results: mpsc::UnboundedSender<Finished>,
) {
    let call = call_of(&work);
    let blocking = tokio::task::spawn_blocking(move || {
        let (fence, program) = fence_of(&work);
        let finished = catch_unwind(AssertUnwindSafe(|| perform(backend.as_ref(), work)))
            .unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                tracing::error!(%message, "the prover panicked; the task fails");
                panicked(fence, program, message)
            });
        let delay = backend.modelled_duration(&call);
        if delay.is_zero() {
            for result in finished {
                let _ = results.send(result);
            }
            return None;
        }
        Some((finished, delay, results))
    });
    tokio::spawn(async move {
        if let Ok(Some((finished, delay, results))) = blocking.await {
            tokio::time::sleep(delay).await;
            for result in finished {
                let _ = results.send(result);
            }
        }
    });
}
