//! What a worker runs: [`execute`] (the summary every worker must agree on), [`contribute`]
//! (phase 1 of its segments), [`prove`] (phase 2 under the global challenge) and
//! [`check_redo`] (phase 1 redone elsewhere must give the same contributions).

use std::time::{Duration, Instant};

use p3_maybe_rayon::prelude::*;

use super::bundle::{RunEnd, SegmentProofBundle};
use super::challenge::{
    Contribution, GlobalChallenge, RunSummary, SegmentContribution, final_memory_digest,
    input_digest, outputs_digest,
};
use super::keys::ProvingKey;
use crate::air::{self, RvTable, SegmentIo, SegmentWitness, TraceError};
use crate::stark::{self, Phase1, ProveMode};
use crate::{ExecConfig, ExecError, Machine, Segment};

/// Why a worker's step failed.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The guest faulted, the settings are invalid, or a segment index is past the end.
    #[error("execution: {0}")]
    Execution(#[from] ExecError),
    /// A segment cannot be turned into traces.
    #[error("segment {segment}: trace generation: {source}")]
    Trace {
        /// The segment.
        segment: u32,
        /// Why.
        source: TraceError,
    },
    /// The segment STARK refused (in checked mode: a constraint or a bus does not hold).
    #[error("segment {segment}: {source}")]
    Stark {
        /// The segment.
        segment: u32,
        /// Why.
        source: stark::ProveError,
    },
    /// The run has more segments than the tables allow.
    #[error("the run has {segment_count} segments, more than the maximum of {max}")]
    TooManySegments {
        /// Segments of the run.
        segment_count: u32,
        /// [`air::MAX_SEGMENTS`].
        max: u32,
    },
    /// Redone phase 1 gives a different contribution than the one claimed.
    #[error("segment {segment}: redone phase 1 gives a different contribution")]
    RedoMismatch {
        /// The segment.
        segment: u32,
    },
}

/// What executing a run tells the coordinator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionReport {
    /// The summary every worker must agree on.
    pub summary: RunSummary,
    /// The public output.
    pub outputs: Vec<u8>,
}

fn config(segment_cycles_log2: u32) -> ExecConfig {
    ExecConfig {
        segment_cycles_log2,
        ..ExecConfig::default()
    }
}

/// Runs the guest on `input` to its halt without recording: the run's summary.
///
/// # Errors
/// Invalid settings, a guest fault, or more than [`air::MAX_SEGMENTS`] segments.
pub fn execute(
    pk: &ProvingKey,
    input: &[u8],
    segment_cycles_log2: u32,
) -> Result<ExecutionReport, ProveError> {
    let summary = crate::execute(pk.program(), &config(segment_cycles_log2), input)?;
    if summary.segment_count > air::MAX_SEGMENTS {
        return Err(ProveError::TooManySegments {
            segment_count: summary.segment_count,
            max: air::MAX_SEGMENTS,
        });
    }
    Ok(ExecutionReport {
        summary: RunSummary {
            segment_count: summary.segment_count,
            cycles: summary.cycles,
            outputs_digest: outputs_digest(&summary.public_outputs),
        },
        outputs: summary.public_outputs,
    })
}

/// One segment as recorded, with where it stands in the run's io and, for the last one, how
/// the run ends.
pub struct RecordedSegment {
    /// The records.
    pub segment: Segment,
    /// Input bytes consumed before the segment.
    pub input_start: u32,
    /// Output bytes committed before the segment.
    pub output_start: u32,
    /// For the last segment: the final memory and the public output.
    pub run_end: Option<RunEnd>,
}

/// Walks one run forward, recording the segments asked for (in increasing order).
pub struct SegmentWalker<'a> {
    pk: &'a ProvingKey,
    input: &'a [u8],
    machine: Machine<'a>,
}

impl<'a> SegmentWalker<'a> {
    /// A walker at the start of the run of `pk`'s program on `input`.
    ///
    /// # Errors
    /// Invalid settings or an oversized input.
    pub fn new(
        pk: &'a ProvingKey,
        input: &'a [u8],
        segment_cycles_log2: u32,
    ) -> Result<Self, ProveError> {
        Ok(Self {
            pk,
            input,
            machine: Machine::new(pk.program(), &config(segment_cycles_log2), input)?,
        })
    }

    /// Fast-forwards to segment `index` and records it.
    ///
    /// # Errors
    /// A segment past the end or behind the walker, or a guest fault.
    pub fn record(&mut self, index: u32) -> Result<RecordedSegment, ProveError> {
        if index >= air::MAX_SEGMENTS {
            return Err(ProveError::TooManySegments {
                segment_count: index + 1,
                max: air::MAX_SEGMENTS,
            });
        }
        self.machine.fast_forward_to_segment(index)?;
        let input_start = position(self.machine.input_position());
        let output_start = position(self.machine.output_position());
        let segment = self.machine.record_segment()?;
        let run_end = segment.halted.then(|| RunEnd {
            final_memory: air::final_memory(self.pk.tables(), &self.machine),
            outputs: self.machine.public_outputs().to_vec(),
        });
        Ok(RecordedSegment {
            segment,
            input_start,
            output_start,
            run_end,
        })
    }

    /// Phase 1 of `segments` (ascending, ahead of the walker): records them one after the
    /// other, then builds and commits their traces in parallel on the rayon pool.
    ///
    /// # Errors
    /// A segment past the end or behind the walker, a guest fault, or trace generation
    /// failed.
    pub fn commit(
        &mut self,
        segments: impl IntoIterator<Item = u32>,
    ) -> Result<Vec<Phase1Segment>, ProveError> {
        let recorded = segments
            .into_iter()
            .map(|index| self.record(index))
            .collect::<Result<Vec<_>, _>>()?;
        let (pk, input) = (self.pk, self.input);
        recorded
            .into_par_iter()
            .map(|recorded| Phase1Segment::from_recorded(pk, recorded, input))
            .collect()
    }
}

fn position(bytes: usize) -> u32 {
    // Inputs are at most 2^30 bytes (segment_traces refuses more), outputs at most
    // `max_output_bytes`; saturate so that the trace builder reports the error.
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// The kept phase-1 data of one segment: its contribution and its committed traces (reused
/// by [`prove`] without recommitting), and for the last segment how the run ends.
pub struct Phase1Segment {
    contribution: SegmentContribution,
    phase1: Phase1<RvTable>,
    run_end: Option<RunEnd>,
    /// Time spent on trace generation and commitment.
    elapsed: Duration,
}

impl Phase1Segment {
    /// Builds phase 1 from a segment's witness (the traces are committed as they are: tests
    /// tamper with them). `input` is the run's public input; `run_end` is required for the
    /// last segment.
    ///
    /// # Errors
    /// The framework's refusal (wrong shapes).
    pub fn from_witness(
        pk: &ProvingKey,
        witness: SegmentWitness,
        input: &[u8],
        run_end: Option<RunEnd>,
    ) -> Result<Self, ProveError> {
        let start = Instant::now();
        let segment = witness.publics.segment_index;
        let phase1 = stark::commit_main(&pk.stark, witness.traces, witness.public_values)
            .map_err(|source| ProveError::Stark { segment, source })?;
        let contribution = SegmentContribution {
            segment,
            commitment: phase1.commitment(),
            publics: witness.publics,
            input_digest: input_digest(input),
            final_memory_digest: run_end
                .as_ref()
                .map(|end| final_memory_digest(&end.final_memory)),
        };
        Ok(Self {
            contribution,
            phase1,
            run_end,
            elapsed: start.elapsed(),
        })
    }

    /// Builds the traces of a recorded segment and commits them.
    ///
    /// # Errors
    /// Trace generation or commitment failed.
    pub fn from_recorded(
        pk: &ProvingKey,
        recorded: RecordedSegment,
        input: &[u8],
    ) -> Result<Self, ProveError> {
        let start = Instant::now();
        let segment = recorded.segment.start.segment_index;
        let io = SegmentIo {
            input,
            input_start: recorded.input_start,
            output_start: recorded.output_start,
        };
        let witness = air::segment_traces(pk.tables(), &recorded.segment, &io)
            .map_err(|source| ProveError::Trace { segment, source })?;
        drop(recorded.segment);
        let mut phase1 = Self::from_witness(pk, witness, input, recorded.run_end)?;
        phase1.elapsed = start.elapsed();
        Ok(phase1)
    }

    /// The segment's contribution.
    #[must_use]
    pub fn contribution(&self) -> &SegmentContribution {
        &self.contribution
    }

    /// The segment's index.
    #[must_use]
    pub fn segment(&self) -> u32 {
        self.contribution.segment
    }

    /// Whether this phase 1 gives the claimed contribution (the redo check).
    #[must_use]
    pub fn matches(&self, claimed: &Contribution) -> bool {
        self.contribution.contribution() == *claimed
    }

    /// Time spent building and committing the traces.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

impl std::fmt::Debug for Phase1Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phase1Segment")
            .field("contribution", &self.contribution)
            .finish_non_exhaustive()
    }
}

/// Phase 1 of `segments` (any order, no repeats) of the run of `pk`'s program on `input`:
/// each segment is recorded (one pass over the run), then its traces are built and committed
/// in parallel. Returns the kept phase-1 data in increasing segment order; send
/// [`Phase1Segment::contribution`]`().contribution()` to the coordinator.
///
/// Every kept segment holds its committed traces (about 2 GB for `2^20` cycles with
/// Production parameters): ask for as many segments at a time as memory allows.
///
/// # Errors
/// A segment past the end, a guest fault, or trace generation failed.
pub fn contribute(
    pk: &ProvingKey,
    input: &[u8],
    segment_cycles_log2: u32,
    segments: &[u32],
) -> Result<Vec<Phase1Segment>, ProveError> {
    let mut sorted = segments.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    SegmentWalker::new(pk, input, segment_cycles_log2)?.commit(sorted)
}

/// How much checking precedes a proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Checks {
    /// None: prove what the traces say (the verifier rejects a false statement).
    #[default]
    None,
    /// Check every constraint on every row and every proof-scoped bus first, refusing with
    /// a typed error instead of proving a false statement (slower; for tests and debugging).
    Constraints,
}

/// Phase 2 of one segment under the global challenge: the segment proof and what the
/// aggregator needs with it.
///
/// # Errors
/// In [`Checks::Constraints`] mode, a constraint or a proof-scoped bus that does not hold.
pub fn prove(
    pk: &ProvingKey,
    phase1: Phase1Segment,
    challenge: &GlobalChallenge,
    checks: Checks,
) -> Result<SegmentProofBundle, ProveError> {
    let Phase1Segment {
        contribution,
        phase1,
        run_end,
        ..
    } = phase1;
    let segment = contribution.segment;
    let mode = match checks {
        Checks::None => ProveMode::Unchecked,
        Checks::Constraints => ProveMode::CheckedConstraintsOnly,
    };
    let proof = stark::prove_phase2(&pk.stark, phase1, &challenge.0, mode)
        .map_err(|source| ProveError::Stark { segment, source })?;
    Ok(SegmentProofBundle {
        publics: contribution.publics,
        input_digest: contribution.input_digest,
        run_end,
        proof,
    })
}

/// The redo check: recomputes phase 1 of the claimed segments on this machine and requires
/// the same contributions (commitments are deterministic, so an honest worker's always
/// match). Returns the recomputed phase-1 data, ready for [`prove`].
///
/// # Errors
/// [`ProveError::RedoMismatch`] naming the first segment whose contribution differs, or
/// phase 1's own errors.
pub fn check_redo(
    pk: &ProvingKey,
    input: &[u8],
    segment_cycles_log2: u32,
    claimed: &[Contribution],
) -> Result<Vec<Phase1Segment>, ProveError> {
    let segments: Vec<u32> = claimed.iter().map(|c| c.segment).collect();
    let redone = contribute(pk, input, segment_cycles_log2, &segments)?;
    for phase1 in &redone {
        let matches = claimed
            .iter()
            .any(|claim| claim.segment == phase1.segment() && phase1.matches(claim));
        if !matches {
            return Err(ProveError::RedoMismatch {
                segment: phase1.segment(),
            });
        }
    }
    Ok(redone)
}
