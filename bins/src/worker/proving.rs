//! One job's proving on a worker: phase 1 of its segments, phase 2 under the global
//! challenge, and (as aggregator) verifying and folding the other workers' proofs, with the
//! functions of [`zisk_prover::pipeline`].
//!
//! The state of a job is keyed by segment, not by partition: a segment's contribution is the
//! same whoever commits it and however the job is partitioned, so a reassigned partition or
//! a new partition layout reuses what is there.
//!
//! Memory: the committed traces of a segment (about 2 GB at `2^20` cycles) are kept from
//! phase 1 to phase 2 only within [`ProverOptions::max_kept_cycles`] over all jobs; a
//! segment beyond it is recorded and committed again in phase 2 and its contribution is
//! checked to be unchanged (the redo check). At most [`ProverOptions::parallel_segments`]
//! segments are in flight at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use p3_maybe_rayon::prelude::*;
use zisk_core::partition::segments_of_partition;
use zisk_core::{
    Challenge, Contribution, Digest, ExecutionSummary, PartitionId, Payload, SegmentIndex,
};
use zisk_net::worker::{BackendError, PartitionContribution, PartitionProof};
use zisk_prover::pipeline::{
    self, Aggregator, Checks, ExecutionReport, GlobalChallenge, Phase1Segment, ProveError,
    SegmentProofBundle, SegmentWalker,
};

use super::keys::ProgramKeys;

/// How a worker spends memory and cores on proving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProverOptions {
    /// Segments committed or proved at once (each in flight holds its traces: about 6 GB at
    /// `2^20` cycles while it is proved).
    pub parallel_segments: usize,
    /// Most segment cycles whose phase-1 data is kept between the phases, over all jobs.
    pub max_kept_cycles: u64,
}

impl Default for ProverOptions {
    fn default() -> Self {
        Self {
            parallel_segments: 1,
            // Four segments of 2^20 cycles: about 8 GB of committed traces.
            max_kept_cycles: 1 << 22,
        }
    }
}

/// What a job's proving keeps on this worker.
pub struct JobProving {
    keys: Arc<ProgramKeys>,
    input: Arc<[u8]>,
    segment_cycles_log2: u32,
    summary: ExecutionSummary,
    state: Mutex<JobState>,
    /// Held while verifying or folding; separate so that the job's bookkeeping does not wait
    /// on a verification.
    aggregator: Mutex<Option<Aggregator>>,
}

struct JobState {
    partition_count: u32,
    /// This worker's contributions (phase 1 it ran), by segment.
    contributions: BTreeMap<u32, pipeline::Contribution>,
    /// Committed traces kept for phase 2, by segment.
    kept: BTreeMap<u32, Phase1Segment>,
    challenge: Option<GlobalChallenge>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A pipeline error as the coordinator sees it: a guest that faults or a run that cannot be
/// segmented fails the same everywhere; anything else may succeed on a retry.
pub(super) fn backend_error(error: ProveError) -> BackendError {
    match error {
        ProveError::Execution(zisk_prover::ExecError::Fault(_))
        | ProveError::Execution(zisk_prover::ExecError::InputTooLarge { .. })
        | ProveError::Execution(zisk_prover::ExecError::Config(_))
        | ProveError::TooManySegments { .. } => BackendError::Execution(error.to_string()),
        other => BackendError::Internal(other.to_string()),
    }
}

/// The coordinator's summary of a pipeline execution.
pub(super) fn summary_of(report: &ExecutionReport) -> ExecutionSummary {
    ExecutionSummary {
        segment_count: report.summary.segment_count,
        cycles: report.summary.cycles,
        outputs_digest: Digest(report.summary.outputs_digest),
    }
}

fn core_contribution(contribution: &pipeline::Contribution) -> Contribution {
    Contribution {
        segment: SegmentIndex(contribution.segment),
        commitment: Digest(contribution.digest),
    }
}

impl JobProving {
    /// A job's state after executing its run.
    pub fn new(
        keys: Arc<ProgramKeys>,
        input: &[u8],
        segment_cycles_log2: u32,
        report: &ExecutionReport,
        partition_count: u32,
    ) -> Self {
        Self {
            keys,
            input: input.into(),
            segment_cycles_log2,
            summary: summary_of(report),
            state: Mutex::new(JobState {
                partition_count,
                contributions: BTreeMap::new(),
                kept: BTreeMap::new(),
                challenge: None,
            }),
            aggregator: Mutex::new(None),
        }
    }

    /// Whether this state describes the same run (program, input, segment size).
    pub fn is_run(&self, keys: &ProgramKeys, input: &[u8], segment_cycles_log2: u32) -> bool {
        self.keys.vk.digest() == keys.vk.digest()
            && *self.input == *input
            && self.segment_cycles_log2 == segment_cycles_log2
    }

    /// Cycles of kept phase-1 data.
    pub fn kept_cycles(&self) -> u64 {
        lock(&self.state).kept.len() as u64 * (1u64 << self.segment_cycles_log2)
    }

    /// Drops everything kept (phase 1 must be redone).
    pub fn drop_kept(&self) {
        lock(&self.state).kept.clear();
    }

    /// Segments of `partitions` under the current layout, ascending, with their partition.
    fn segments_of(
        &self,
        partition_count: u32,
        partitions: &[PartitionId],
    ) -> Result<Vec<(u32, PartitionId)>, BackendError> {
        let mut segments = Vec::new();
        for &partition in partitions {
            if partition.0 >= partition_count {
                return Err(BackendError::Internal(format!(
                    "partition {} is out of range: the job has {partition_count} partition(s)",
                    partition.0
                )));
            }
            segments.extend(
                segments_of_partition(partition, partition_count, self.summary.segment_count)
                    .map(|segment| (segment.0, partition)),
            );
        }
        segments.sort_unstable();
        segments.dedup();
        Ok(segments)
    }

    /// Phase 1 of `partitions` (of `partition_count`). `may_keep(cycles)` says whether one
    /// more segment's phase-1 data fits the memory budget.
    ///
    /// # Errors
    /// A guest fault, a bad partition, or trace generation failed.
    pub fn contribute(
        &self,
        partition_count: u32,
        partitions: &[PartitionId],
        options: &ProverOptions,
        may_keep: &dyn Fn(u64) -> bool,
    ) -> Result<Vec<PartitionContribution>, BackendError> {
        {
            let mut state = lock(&self.state);
            if state.partition_count != partition_count {
                // A new layout (phase 1 restarted): what was verified under it is stale.
                state.partition_count = partition_count;
                state.challenge = None;
                *lock(&self.aggregator) = None;
            }
        }
        let segments = self.segments_of(partition_count, partitions)?;
        let pk = &self.keys.pk;
        let mut walker =
            SegmentWalker::new(pk, &self.input, self.segment_cycles_log2).map_err(backend_error)?;
        let segment_cycles = 1u64 << self.segment_cycles_log2;
        for batch in segments.chunks(options.parallel_segments.max(1)) {
            let phase1 = walker
                .commit(batch.iter().map(|s| s.0))
                .map_err(backend_error)?;
            for segment in phase1 {
                let index = segment.segment();
                let keep = may_keep(segment_cycles);
                let mut state = lock(&self.state);
                state
                    .contributions
                    .insert(index, segment.contribution().contribution());
                if keep {
                    state.kept.insert(index, segment);
                }
            }
        }
        let state = lock(&self.state);
        Ok(partitions
            .iter()
            .map(|&partition| PartitionContribution {
                partition,
                summary: self.summary.clone(),
                contributions: segments
                    .iter()
                    .filter(|(_, owner)| *owner == partition)
                    .map(|(segment, _)| core_contribution(&state.contributions[segment]))
                    .collect(),
            })
            .collect())
    }

    /// Phase 2 of `partitions` under `challenge`, reusing kept phase-1 data and redoing
    /// (with the redo check) what was not kept.
    ///
    /// # Errors
    /// A partition this worker never committed, a malformed challenge, a redo mismatch.
    pub fn prove(
        &self,
        challenge: &Challenge,
        partitions: &[PartitionId],
        options: &ProverOptions,
    ) -> Result<Vec<PartitionProof>, BackendError> {
        let challenge = GlobalChallenge(challenge.0.as_ref().try_into().map_err(|_| {
            BackendError::Internal(format!(
                "the global challenge is {} bytes, not 32",
                challenge.0.len()
            ))
        })?);
        let (segments, claimed, mut kept) = {
            let mut state = lock(&self.state);
            if state.challenge != Some(challenge) {
                state.challenge = Some(challenge);
                *lock(&self.aggregator) = None;
            }
            let segments = self.segments_of(state.partition_count, partitions)?;
            let mut claimed = BTreeMap::new();
            let mut kept = BTreeMap::new();
            for &(segment, _) in &segments {
                let contribution = state.contributions.get(&segment).ok_or_else(|| {
                    BackendError::Internal(format!(
                        "segment {segment} has no phase-1 contribution on this worker"
                    ))
                })?;
                claimed.insert(segment, *contribution);
                if let Some(phase1) = state.kept.remove(&segment) {
                    kept.insert(segment, phase1);
                }
            }
            (segments, claimed, kept)
        };
        let pk = &self.keys.pk;
        let mut walker = None;
        let mut bundles: BTreeMap<PartitionId, Vec<SegmentProofBundle>> = BTreeMap::new();
        for batch in segments.chunks(options.parallel_segments.max(1)) {
            let missing: Vec<u32> = batch
                .iter()
                .map(|s| s.0)
                .filter(|segment| !kept.contains_key(segment))
                .collect();
            if !missing.is_empty() {
                let walker = match &mut walker {
                    Some(walker) => walker,
                    None => walker.insert(
                        SegmentWalker::new(pk, &self.input, self.segment_cycles_log2)
                            .map_err(backend_error)?,
                    ),
                };
                for redone in walker.commit(missing).map_err(backend_error)? {
                    if !redone.matches(&claimed[&redone.segment()]) {
                        return Err(backend_error(ProveError::RedoMismatch {
                            segment: redone.segment(),
                        }));
                    }
                    kept.insert(redone.segment(), redone);
                }
            }
            let phase1: Vec<(PartitionId, Phase1Segment)> = batch
                .iter()
                .filter_map(|(segment, partition)| Some((*partition, kept.remove(segment)?)))
                .collect();
            let proved = phase1
                .into_par_iter()
                .map(|(partition, phase1)| {
                    pipeline::prove(pk, phase1, &challenge, Checks::None)
                        .map(|bundle| (partition, bundle))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend_error)?;
            for (partition, bundle) in proved {
                bundles.entry(partition).or_default().push(bundle);
            }
        }
        Ok(partitions
            .iter()
            .map(|&partition| {
                let proofs = bundles.remove(&partition).unwrap_or_default();
                PartitionProof {
                    partition,
                    contributions: proofs
                        .iter()
                        .map(|bundle| core_contribution(&claimed[&bundle.segment()]))
                        .collect(),
                    proof: Payload::from(pipeline::bundles_to_bytes(&proofs)),
                }
            })
            .collect())
    }

    /// Verifies the proof of `partition` (one bundle per segment of the partition) against
    /// the job's global challenge and folds it into this worker's aggregation.
    ///
    /// # Errors
    /// [`BackendError::ProofRejected`] naming what is wrong; [`BackendError::Internal`] when
    /// this worker has no challenge for the job yet.
    pub fn verify_partition(
        &self,
        partition: PartitionId,
        proof: &[u8],
    ) -> Result<(), BackendError> {
        let (challenge, partition_count) = {
            let state = lock(&self.state);
            (state.challenge, state.partition_count)
        };
        let challenge = challenge.ok_or_else(|| {
            BackendError::Internal("this worker holds no global challenge for the job".to_owned())
        })?;
        let bundles = decode(partition, proof)?;
        let expected: Vec<u32> = self
            .segments_of(partition_count, &[partition])?
            .into_iter()
            .map(|(segment, _)| segment)
            .collect();
        let carried: Vec<u32> = bundles.iter().map(SegmentProofBundle::segment).collect();
        if carried != expected {
            return Err(BackendError::ProofRejected(format!(
                "partition {} must carry segments {expected:?}, it carries {carried:?}",
                partition.0
            )));
        }
        let mut aggregator = lock(&self.aggregator);
        let aggregator = self.aggregator_in(&mut aggregator, challenge)?;
        fold(aggregator, bundles)
    }

    /// Folds every partition's proof (those already verified are recognised) and returns
    /// the final proof's bytes with the public outputs it attests.
    ///
    /// # Errors
    /// A refused or missing segment proof, or no challenge.
    pub fn aggregate(
        &self,
        proofs: &[(PartitionId, Payload)],
    ) -> Result<(Vec<u8>, Vec<u8>), BackendError> {
        let challenge = lock(&self.state).challenge.ok_or_else(|| {
            BackendError::Internal("this worker holds no global challenge for the job".to_owned())
        })?;
        let mut slot = lock(&self.aggregator);
        let aggregator = self.aggregator_in(&mut slot, challenge)?;
        for (partition, proof) in proofs {
            fold(aggregator, decode(*partition, proof)?)?;
        }
        if !aggregator.is_complete() {
            return Err(BackendError::Internal(format!(
                "cannot aggregate: no proof of segment(s) {:?}",
                aggregator.missing()
            )));
        }
        let aggregator = slot.take().expect("the aggregator was just set");
        let proof = aggregator.finish().map_err(|error| {
            BackendError::ProofRejected(format!("the aggregated run is refused: {error}"))
        })?;
        let outputs = proof
            .claimed_outputs()
            .ok_or_else(|| BackendError::Internal("the final proof has no run end".to_owned()))?
            .outputs;
        Ok((proof.to_bytes(), outputs))
    }

    fn aggregator_in<'a>(
        &self,
        slot: &'a mut Option<Aggregator>,
        challenge: GlobalChallenge,
    ) -> Result<&'a mut Aggregator, BackendError> {
        if slot
            .as_ref()
            .is_some_and(|aggregator| aggregator.challenge() != challenge)
        {
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some(
                Aggregator::new(
                    &self.keys.vk,
                    &self.input,
                    challenge,
                    self.summary.segment_count,
                )
                .map_err(|error| BackendError::Internal(error.to_string()))?,
            );
        }
        Ok(slot.as_mut().expect("just set"))
    }
}

/// The segment proofs a partition's proof carries.
fn decode(partition: PartitionId, proof: &[u8]) -> Result<Vec<SegmentProofBundle>, BackendError> {
    pipeline::bundles_from_bytes(proof)
        .map_err(|error| BackendError::ProofRejected(format!("partition {}: {error}", partition.0)))
}

/// Verifies `bundles` and folds them in (one already in is recognised).
fn fold(aggregator: &mut Aggregator, bundles: Vec<SegmentProofBundle>) -> Result<(), BackendError> {
    for bundle in bundles {
        let segment = bundle.segment();
        let _ = aggregator
            .add(bundle)
            .map_err(|error| BackendError::ProofRejected(format!("segment {segment}: {error}")))?;
    }
    Ok(())
}
