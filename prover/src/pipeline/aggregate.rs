//! [`Aggregator`]: verifies segment proofs as they land, in any order, folds adjacent ranges
//! into nodes, and yields the [`FinalProof`] once every segment is in.
//!
//! A node covers segments `first..=last`: it holds their proofs (until recursion exists, a
//! node *is* its leaves), the chain state at both ends, the sum of their bus sums and of
//! their contribution accumulators, and their execution-bus message counts. Two nodes fold
//! when they are adjacent and continuous: the left one ends where the right one starts
//! (pc, cycle, input and output positions) and has not halted. The root, covering every
//! segment, is checked against the global challenge (recomputed from its accumulator and
//! the run summary) and against a zero bus sum once the verifier's messages (initial image,
//! final memory, public input and output) are added.

use std::collections::{BTreeMap, BTreeSet};

use p3_field::PrimeCharacteristicRing;

use super::bundle::SegmentProofBundle;
use super::challenge::{
    Contribution, ContributionAccumulator, GlobalChallenge, RunSummary, global_challenge,
    input_digest, outputs_digest,
};
use super::final_proof::FinalProof;
use super::keys::VerifyingKey;
use crate::air::{self, BoundaryError, TableKind};
use crate::stark::{self, BusMessage, Challenge};

/// The most messages each execution bus (`gmem`, `io`) may carry over a whole run, the
/// verifier's included: below the field's characteristic, so that no message's net count
/// can wrap around (docs/soundness.md).
pub const MAX_EXECUTION_BUS_MESSAGES: u64 = 1 << 30;

/// Why one segment proof is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    /// The segment STARK proof does not verify (under this key, these public values and
    /// this global challenge).
    #[error("the proof does not verify: {0}")]
    Proof(#[from] stark::VerifyError),
    /// The proof was made for another public input.
    #[error("the proof was made for another public input")]
    InputDigest,
    /// The public input length differs from the run's.
    #[error("input length {found}, the run's is {expected}")]
    InputLength {
        /// The run's.
        expected: u32,
        /// The proof's.
        found: u32,
    },
    /// A segment other than the last halts, or the last does not.
    #[error("{what}")]
    Halt {
        /// Which.
        what: &'static str,
    },
    /// The run's end (final memory, output) is missing from the last segment or present in
    /// another.
    #[error("{what}")]
    RunEnd {
        /// Which.
        what: &'static str,
    },
    /// The first segment does not start where a run starts, or the final memory is
    /// malformed.
    #[error(transparent)]
    Boundary(#[from] BoundaryError),
    /// The proof answers for another contribution than the one its worker sent in phase 1.
    #[error("the proof does not match the segment's phase-1 contribution")]
    ContributionMismatch,
}

/// Why the aggregator refused a proof or the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregateError {
    /// One segment's proof is refused; a replacement for it may still be added.
    #[error("segment {segment}: {source}")]
    Leaf {
        /// The segment.
        segment: u32,
        /// Why.
        source: LeafError,
    },
    /// The segment is not part of the run.
    #[error("segment {segment} is not in a run of {segment_count} segments")]
    OutOfRange {
        /// The segment.
        segment: u32,
        /// Segments in the run.
        segment_count: u32,
    },
    /// A second, different proof of a segment that is already in.
    #[error("segment {segment} is already in with another proof")]
    Conflict {
        /// The segment.
        segment: u32,
    },
    /// Two adjacent segments do not chain (the incoming one is refused).
    #[error("segments {left} and {right} do not chain: {what}")]
    Discontinuity {
        /// The earlier segment.
        left: u32,
        /// The later segment.
        right: u32,
        /// What differs.
        what: &'static str,
    },
    /// The run is not complete.
    #[error("segment {segment} is missing")]
    Missing {
        /// The first missing segment.
        segment: u32,
    },
    /// The segment count is zero or above [`air::MAX_SEGMENTS`].
    #[error("a run has 1..={max} segments, not {segment_count}")]
    SegmentCount {
        /// The count.
        segment_count: u32,
        /// The limit.
        max: u32,
    },
    /// The global challenge is not the one the contributions, key and summary derive.
    #[error("the global challenge does not match the segments' contributions")]
    ChallengeMismatch,
    /// The execution buses do not balance over the run: some segment read a value no
    /// earlier segment wrote, or the io bytes differ from the public input or output.
    #[error("the execution buses do not balance over the run")]
    Unbalanced,
    /// The public output differs in length from what the segments committed.
    #[error("the public output has {found} bytes, the segments committed {expected}")]
    OutputLength {
        /// Committed by the segments.
        expected: u32,
        /// Carried by the last segment.
        found: usize,
    },
    /// An execution bus carries more than [`MAX_EXECUTION_BUS_MESSAGES`] messages.
    #[error("execution bus {bus} carries {messages} messages, above {max}")]
    TooManyMessages {
        /// The bus.
        bus: &'static str,
        /// How many.
        messages: u64,
        /// The limit.
        max: u64,
    },
}

/// The chain state at one end of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ChainState {
    pc: u32,
    cycle: u64,
    input_position: u32,
    output_position: u32,
}

/// A verified range of segments.
#[derive(Debug)]
pub(crate) struct Node {
    first: u32,
    last: u32,
    start: ChainState,
    end: ChainState,
    halted: bool,
    bus_sum: Challenge,
    accumulator: ContributionAccumulator,
    gmem_messages: u64,
    io_messages: u64,
    leaves: Vec<SegmentProofBundle>,
}

/// What every leaf is checked against.
pub(crate) struct RunContext {
    pub(crate) vk: VerifyingKey,
    pub(crate) input: Vec<u8>,
    pub(crate) input_digest: [u8; 32],
    pub(crate) challenge: GlobalChallenge,
    pub(crate) segment_count: u32,
}

impl RunContext {
    pub(crate) fn new(
        vk: &VerifyingKey,
        input: &[u8],
        challenge: GlobalChallenge,
        segment_count: u32,
    ) -> Result<Self, AggregateError> {
        if segment_count == 0 || segment_count > air::MAX_SEGMENTS {
            return Err(AggregateError::SegmentCount {
                segment_count,
                max: air::MAX_SEGMENTS,
            });
        }
        Ok(Self {
            vk: vk.clone(),
            input: input.to_vec(),
            input_digest: input_digest(input),
            challenge,
            segment_count,
        })
    }

    /// Verifies one segment proof and makes it a node (pure: leaves check in parallel).
    pub(crate) fn check_leaf(
        &self,
        bundle: SegmentProofBundle,
        expected: Option<&Contribution>,
    ) -> Result<Node, AggregateError> {
        let segment = bundle.segment();
        if segment >= self.segment_count {
            return Err(AggregateError::OutOfRange {
                segment,
                segment_count: self.segment_count,
            });
        }
        let leaf = |source: LeafError| AggregateError::Leaf { segment, source };
        let publics = bundle.publics;
        if bundle.input_digest != self.input_digest {
            return Err(leaf(LeafError::InputDigest));
        }
        let input_len = u32::try_from(self.input.len()).unwrap_or(u32::MAX);
        if publics.input_len != input_len {
            return Err(leaf(LeafError::InputLength {
                expected: input_len,
                found: publics.input_len,
            }));
        }
        let is_last = segment + 1 == self.segment_count;
        if publics.halted != is_last {
            return Err(leaf(LeafError::Halt {
                what: if is_last {
                    "the last segment does not halt"
                } else {
                    "a segment other than the last halts"
                },
            }));
        }
        match (&bundle.run_end, is_last) {
            (Some(end), true) => {
                air::check_final_memory(self.vk.tables(), &end.final_memory, self.segment_count)
                    .map_err(|e| leaf(e.into()))?;
            }
            (None, false) => {}
            (None, true) => {
                return Err(leaf(LeafError::RunEnd {
                    what: "the last segment carries no final memory",
                }));
            }
            (Some(_), false) => {
                return Err(leaf(LeafError::RunEnd {
                    what: "a segment other than the last carries a final memory",
                }));
            }
        }
        if segment == 0 {
            air::check_first_segment(self.vk.tables(), &publics).map_err(|e| leaf(e.into()))?;
        }
        let contribution = bundle.contribution().contribution();
        if expected.is_some_and(|claimed| *claimed != contribution) {
            return Err(leaf(LeafError::ContributionMismatch));
        }
        let verified = stark::verify(
            self.vk.stark_key(),
            &self.vk.inner.rv_tables,
            &bundle.proof,
            &publics.to_field(),
            &self.challenge.0,
            self.vk.params(),
        )
        .map_err(|e| leaf(e.into()))?;
        let height = |kind: TableKind| {
            1u64 << bundle
                .proof
                .log_heights()
                .get(kind as usize)
                .copied()
                .unwrap_or(0)
        };
        let end_cycle = publics.start_cycle + u64::from(publics.cycle_count);
        let mut accumulator = ContributionAccumulator::new();
        accumulator.add(&contribution);
        Ok(Node {
            first: segment,
            last: segment,
            start: ChainState {
                pc: publics.start_pc,
                cycle: publics.start_cycle,
                input_position: publics.input_start,
                output_position: publics.output_start,
            },
            end: ChainState {
                pc: publics.end_pc,
                cycle: end_cycle,
                input_position: publics.input_end,
                output_position: publics.output_end,
            },
            halted: publics.halted,
            bus_sum: verified.bus_sum,
            accumulator,
            // Two gmem messages per boundary row, four io bytes per io row.
            gmem_messages: 2 * height(TableKind::Boundary),
            io_messages: 4 * height(TableKind::Io),
            leaves: vec![bundle],
        })
    }

    /// The root checks: challenge, output, message counts, bus balance.
    pub(crate) fn check_root(&self, root: &Node) -> Result<(), AggregateError> {
        debug_assert!(root.first == 0 && root.last + 1 == self.segment_count);
        let last = root.leaves.last().expect("a node has leaves");
        let run_end = last.run_end.as_ref().expect("checked on the last leaf");
        if last.publics.output_end as usize != run_end.outputs.len() {
            return Err(AggregateError::OutputLength {
                expected: last.publics.output_end,
                found: run_end.outputs.len(),
            });
        }
        let summary = RunSummary {
            segment_count: self.segment_count,
            cycles: root.end.cycle,
            outputs_digest: outputs_digest(&run_end.outputs),
        };
        let expected = global_challenge(
            self.vk.program_id().as_bytes(),
            &self.vk.digest(),
            &summary,
            &root.accumulator,
        );
        if expected != self.challenge {
            return Err(AggregateError::ChallengeMismatch);
        }
        let final_words = run_end.final_memory.len() as u64;
        for (bus, messages) in [
            (
                air::bus::GLOBAL_MEMORY_BUS,
                root.gmem_messages + 2 * final_words,
            ),
            (
                air::bus::IO_BUS,
                root.io_messages + self.input.len() as u64 + run_end.outputs.len() as u64,
            ),
        ] {
            if messages > MAX_EXECUTION_BUS_MESSAGES {
                return Err(AggregateError::TooManyMessages {
                    bus,
                    messages,
                    max: MAX_EXECUTION_BUS_MESSAGES,
                });
            }
        }
        let external: Vec<BusMessage> = air::run_external_messages(
            self.vk.tables(),
            &run_end.final_memory,
            &self.input,
            &run_end.outputs,
        )
        .into_iter()
        .map(|message| BusMessage {
            bus: message.bus.to_owned(),
            fields: message.fields,
            multiplicity: message.multiplicity,
        })
        .collect();
        let challenges = stark::derive_lookup_challenges(&self.challenge.0);
        if root.bus_sum + stark::external_bus_sum(&challenges, &external) != Challenge::ZERO {
            return Err(AggregateError::Unbalanced);
        }
        Ok(())
    }
}

/// Checks that `right` continues `left`.
fn check_chain(left: &Node, right: &Node) -> Result<(), AggregateError> {
    let broken = |what| {
        Err(AggregateError::Discontinuity {
            left: left.last,
            right: right.first,
            what,
        })
    };
    debug_assert_eq!(left.last + 1, right.first);
    if left.halted {
        return broken("the earlier segment halted");
    }
    if left.end.pc != right.start.pc {
        return broken("pc");
    }
    if left.end.cycle != right.start.cycle {
        return broken("cycle");
    }
    if left.end.input_position != right.start.input_position {
        return broken("input position");
    }
    if left.end.output_position != right.start.output_position {
        return broken("output position");
    }
    Ok(())
}

/// Folds two checked, adjacent nodes.
fn merge(mut left: Node, right: Node) -> Node {
    left.last = right.last;
    left.end = right.end;
    left.halted = right.halted;
    left.bus_sum += right.bus_sum;
    left.accumulator.merge(&right.accumulator);
    left.gmem_messages += right.gmem_messages;
    left.io_messages += right.io_messages;
    left.leaves.extend(right.leaves);
    left
}

/// The nodes built so far, keyed by their first segment.
#[derive(Debug, Default)]
pub(crate) struct Forest {
    nodes: BTreeMap<u32, Node>,
}

impl Forest {
    /// Inserts a node and folds it with its neighbours; on a discontinuity nothing changes.
    pub(crate) fn insert(&mut self, node: Node) -> Result<(), AggregateError> {
        let left_key = self
            .nodes
            .range(..node.first)
            .next_back()
            .filter(|(_, left)| left.last + 1 == node.first)
            .map(|(&key, _)| key);
        let right_key = node.last + 1;
        if let Some(key) = left_key {
            check_chain(&self.nodes[&key], &node)?;
        }
        if let Some(right) = self.nodes.get(&right_key) {
            check_chain(&node, right)?;
        }
        let mut node = node;
        if let Some(key) = left_key {
            let left = self.nodes.remove(&key).expect("present");
            node = merge(left, node);
        }
        if let Some(right) = self.nodes.remove(&right_key) {
            node = merge(node, right);
        }
        self.nodes.insert(node.first, node);
        Ok(())
    }

    /// The single node covering `0..segment_count`, or the first missing segment.
    pub(crate) fn into_root(mut self, segment_count: u32) -> Result<Node, AggregateError> {
        let mut expected = 0;
        for (&first, node) in &self.nodes {
            if first != expected {
                return Err(AggregateError::Missing { segment: expected });
            }
            expected = node.last + 1;
        }
        if expected != segment_count || self.nodes.len() != 1 {
            return Err(AggregateError::Missing { segment: expected });
        }
        Ok(self.nodes.remove(&0).expect("one node from 0"))
    }
}

/// Checks one segment proof on its own, as the aggregator does when it lands (without
/// folding): for a coordinator or worker that vets a proof before passing it on.
///
/// # Errors
/// Why the proof is refused, naming the segment.
pub fn verify_segment_proof(
    vk: &VerifyingKey,
    input: &[u8],
    challenge: GlobalChallenge,
    segment_count: u32,
    bundle: &SegmentProofBundle,
) -> Result<(), AggregateError> {
    RunContext::new(vk, input, challenge, segment_count)?
        .check_leaf(bundle.clone(), None)
        .map(drop)
}

/// What [`Aggregator::add`] did with a proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Added {
    /// Verified and folded in.
    Folded,
    /// The same proof (same contribution) was already in: nothing changed.
    Duplicate,
}

/// Folds the segment proofs of one run as they land.
///
/// Method families: [`new`](Self::new) (with the verifying key, the public input, the global
/// challenge and the segment count from the execution summary), optionally
/// [`expect_contributions`](Self::expect_contributions) (the phase-1 contributions the
/// coordinator holds, so that a proof answering for another one is refused on arrival);
/// [`add`](Self::add) / [`add_bytes`](Self::add_bytes) for each proof in any order; the
/// getters [`missing`](Self::missing) and [`is_complete`](Self::is_complete); and
/// [`finish`](Self::finish) for the final proof.
pub struct Aggregator {
    context: RunContext,
    expected: Option<BTreeMap<u32, Contribution>>,
    landed: BTreeMap<u32, [u8; 32]>,
    forest: Forest,
}

impl Aggregator {
    /// An empty aggregation of a run of `segment_count` segments of `vk`'s program on
    /// `input`, proved under `challenge`.
    ///
    /// # Errors
    /// [`AggregateError::SegmentCount`] outside `1..=MAX_SEGMENTS`.
    pub fn new(
        vk: &VerifyingKey,
        input: &[u8],
        challenge: GlobalChallenge,
        segment_count: u32,
    ) -> Result<Self, AggregateError> {
        Ok(Self {
            context: RunContext::new(vk, input, challenge, segment_count)?,
            expected: None,
            landed: BTreeMap::new(),
            forest: Forest::default(),
        })
    }

    /// Refuse, on arrival, a proof whose contribution is not the one claimed in phase 1.
    pub fn expect_contributions(&mut self, contributions: &[Contribution]) {
        self.expected = Some(
            contributions
                .iter()
                .map(|contribution| (contribution.segment, *contribution))
                .collect(),
        );
    }

    /// Verifies one segment proof and folds it in.
    ///
    /// # Errors
    /// The proof is refused (the error names the segment; the aggregation is unchanged, so a
    /// replacement can be added), or it conflicts with one already in.
    pub fn add(&mut self, bundle: SegmentProofBundle) -> Result<Added, AggregateError> {
        let segment = bundle.segment();
        if let Some(digest) = self.landed.get(&segment) {
            return if *digest == bundle.contribution().digest() {
                Ok(Added::Duplicate)
            } else {
                Err(AggregateError::Conflict { segment })
            };
        }
        let expected = self
            .expected
            .as_ref()
            .map(|claims| {
                claims.get(&segment).ok_or(AggregateError::Leaf {
                    segment,
                    source: LeafError::ContributionMismatch,
                })
            })
            .transpose()?;
        let digest = bundle.contribution().digest();
        let node = self.context.check_leaf(bundle, expected)?;
        self.forest.insert(node)?;
        self.landed.insert(segment, digest);
        Ok(Added::Folded)
    }

    /// Decodes and adds a proof sent as bytes.
    ///
    /// # Errors
    /// [`super::VerifyError::Format`] for malformed bytes, else as [`Self::add`].
    pub fn add_bytes(&mut self, bytes: &[u8]) -> Result<Added, super::VerifyError> {
        let bundle = SegmentProofBundle::from_bytes(bytes)?;
        Ok(self.add(bundle)?)
    }

    /// The segments not in yet.
    #[must_use]
    pub fn missing(&self) -> Vec<u32> {
        let landed: BTreeSet<u32> = self.landed.keys().copied().collect();
        (0..self.context.segment_count)
            .filter(|segment| !landed.contains(segment))
            .collect()
    }

    /// Whether every segment is in.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.landed.len() as u32 == self.context.segment_count
    }

    /// The global challenge the proofs are checked against.
    #[must_use]
    pub fn challenge(&self) -> GlobalChallenge {
        self.context.challenge
    }

    /// The final proof, once every segment is in and the root checks pass.
    ///
    /// # Errors
    /// A missing segment, a challenge that the contributions do not derive, or unbalanced
    /// execution buses.
    pub fn finish(self) -> Result<FinalProof, AggregateError> {
        let root = self.forest.into_root(self.context.segment_count)?;
        self.context.check_root(&root)?;
        Ok(FinalProof {
            leaves: root.leaves,
        })
    }
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator")
            .field("segment_count", &self.context.segment_count)
            .field("landed", &self.landed.len())
            .finish_non_exhaustive()
    }
}
