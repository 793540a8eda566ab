//! [`prove_local`]: the whole pipeline in one process, with the same functions the workers
//! and the aggregator call.

use std::time::{Duration, Instant};

use p3_maybe_rayon::prelude::*;

use super::aggregate::{AggregateError, Aggregator};
use super::challenge::{Contribution, GlobalChallenge, derive};
use super::final_proof::{FinalProof, PublicOutputs, VerifyError, verify};
use super::keys::ProvingKey;
use super::worker::{
    Checks, ExecutionReport, Phase1Segment, ProveError, SegmentWalker, execute, prove,
};

/// Settings of a local run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalOptions {
    /// Segments of `2^segment_cycles_log2` cycles.
    pub segment_cycles_log2: u32,
    /// Segments proved at once (each holds its traces and commitments in memory); 0 means
    /// one per rayon thread.
    pub parallel_segments: usize,
    /// Keep every segment's phase-1 data until phase 2 (fast, memory grows with the run);
    /// otherwise phase 2 records and commits each segment again and checks that the
    /// commitment is unchanged (the redo check), in bounded memory.
    pub keep_phase1: bool,
    /// Checks before proving.
    pub checks: Checks,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            segment_cycles_log2: crate::DEFAULT_SEGMENT_CYCLES_LOG2,
            parallel_segments: 0,
            keep_phase1: false,
            checks: Checks::None,
        }
    }
}

/// Where the time of a local run went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalTimings {
    /// Executing the run to its end (the summary).
    pub execute: Duration,
    /// Phase 1 of every segment: recording, traces, commitments.
    pub phase1: Duration,
    /// Phase 2 of every segment (with the phase-1 redo when phase-1 data is not kept).
    pub phase2: Duration,
    /// Verifying each segment proof as it lands and folding it (overlaps nothing: the
    /// aggregator runs between batches).
    pub aggregate: Duration,
    /// The final [`verify`].
    pub verify: Duration,
}

/// A proved run.
#[derive(Clone, Debug)]
pub struct LocalProof {
    /// The final proof.
    pub proof: FinalProof,
    /// What it proves (already verified).
    pub outputs: PublicOutputs,
    /// The execution summary.
    pub report: ExecutionReport,
    /// The global challenge.
    pub challenge: GlobalChallenge,
    /// Where the time went.
    pub timings: LocalTimings,
}

/// Why a local run produced no proof.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// Execution or proving failed.
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// The aggregator refused a proof (a bug: every proof here is honest).
    #[error(transparent)]
    Aggregate(#[from] AggregateError),
    /// The final proof does not verify (a bug).
    #[error(transparent)]
    Verify(#[from] VerifyError),
}

/// Executes the guest on `input`, splits the run into segments, runs phase 1 of every
/// segment, derives the global challenge, runs phase 2, aggregates the proofs as they land
/// and verifies the final proof. Segments run in parallel batches on the rayon pool.
///
/// # Errors
/// A guest fault, invalid settings, or (a bug) a refused proof.
pub fn prove_local(
    pk: &ProvingKey,
    input: &[u8],
    options: &LocalOptions,
) -> Result<LocalProof, LocalError> {
    let mut timings = LocalTimings::default();
    let log2 = options.segment_cycles_log2;
    let batch = match options.parallel_segments {
        0 => p3_maybe_rayon::prelude::current_num_threads(),
        n => n,
    };

    let start = Instant::now();
    let report = execute(pk, input, log2)?;
    let segment_count = report.summary.segment_count;
    timings.execute = start.elapsed();

    // Phase 1: one pass over the run, a batch of segments at a time.
    let start = Instant::now();
    let indices: Vec<u32> = (0..segment_count).collect();
    let mut walker = SegmentWalker::new(pk, input, log2)?;
    let mut contributions: Vec<Contribution> = Vec::with_capacity(indices.len());
    let mut kept: Vec<Phase1Segment> = Vec::new();
    for batch_indices in indices.chunks(batch) {
        let phase1 = walker.commit(batch_indices.iter().copied())?;
        contributions.extend(phase1.iter().map(|p| p.contribution().contribution()));
        if options.keep_phase1 {
            kept.extend(phase1);
        }
    }
    timings.phase1 = start.elapsed();

    let vk = pk.verifying_key();
    let challenge = derive(
        vk.program_id().as_bytes(),
        &vk.digest(),
        &report.summary,
        &contributions,
    );
    let mut aggregator = Aggregator::new(vk, input, challenge, segment_count)?;
    aggregator.expect_contributions(&contributions);

    // Phase 2, folding each batch's proofs as they land.
    let mut kept = kept.into_iter();
    let mut walker = SegmentWalker::new(pk, input, log2)?;
    for batch_indices in indices.chunks(batch) {
        let start = Instant::now();
        let phase1: Vec<Phase1Segment> = if options.keep_phase1 {
            kept.by_ref().take(batch_indices.len()).collect()
        } else {
            let redone = walker.commit(batch_indices.iter().copied())?;
            for phase1 in &redone {
                if !phase1.matches(&contributions[phase1.segment() as usize]) {
                    return Err(ProveError::RedoMismatch {
                        segment: phase1.segment(),
                    }
                    .into());
                }
            }
            redone
        };
        let bundles = phase1
            .into_par_iter()
            .map(|phase1| prove(pk, phase1, &challenge, options.checks))
            .collect::<Result<Vec<_>, _>>()?;
        timings.phase2 += start.elapsed();
        let start = Instant::now();
        for bundle in bundles {
            let _ = aggregator.add(bundle)?;
        }
        timings.aggregate += start.elapsed();
    }
    let start = Instant::now();
    let proof = aggregator.finish()?;
    timings.aggregate += start.elapsed();

    let start = Instant::now();
    let outputs = verify(vk, input, &proof)?;
    timings.verify = start.elapsed();
    Ok(LocalProof {
        proof,
        outputs,
        report,
        challenge,
        timings,
    })
}
