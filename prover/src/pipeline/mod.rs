//! The proving pipeline of a run: what the cluster's workers, coordinator and aggregator
//! call, and [`prove_local`], which runs all of it in one process.
//!
//! 1. [`setup`] (once per program): [`ProvingKey`] and [`VerifyingKey`]; the key's
//!    [`digest`](VerifyingKey::digest) is the program's verifying-key digest.
//! 2. [`execute`]: the [`RunSummary`] (segments, cycles, output digest) every worker must
//!    agree on.
//! 3. [`contribute`] (each worker, its segments): phase 1, the kept [`Phase1Segment`]s; each
//!    yields a [`SegmentContribution`] whose 32-byte digest binds the segment's commitment,
//!    public values, the input digest and (last segment) the final memory. The coordinator
//!    sees [`Contribution`]s `(segment, digest)`.
//! 4. [`derive()`] (coordinator, pure): the [`GlobalChallenge`] from the program id, the key
//!    digest, the summary and an order-independent [`ContributionAccumulator`].
//! 5. [`prove`] (each worker): phase 2 under the challenge, reusing the kept phase-1 data:
//!    a [`SegmentProofBundle`] (bytes: [`SegmentProofBundle::to_bytes`]). [`check_redo`]
//!    recomputes phase 1 elsewhere and requires identical contributions.
//! 6. [`Aggregator`] (one worker): verifies bundles as they land, in any order, folds
//!    adjacent ranges, and yields the [`FinalProof`].
//! 7. [`verify`] (client): `(verifying key, public input, final proof) -> PublicOutputs`.
//!
//! The public input is public: the verifier needs its bytes (the io bus is closed with them).
//! The memory argument spans segments through the `gmem` bus (see [`crate::air`] and
//! docs/soundness.md): no segment balances alone; all of them together with the initial
//! image and the final memory do.
//!
//! ```
//! use zisk_prover::pipeline::{self, Aggregator, Checks, derive};
//! use zisk_prover::stark::ParamSet;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let elf = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/guests/bin/fibonacci.elf"))?;
//! let (pk, vk) = pipeline::setup(&elf, ParamSet::Test)?;
//! let input = 30u32.to_le_bytes();
//! let log2 = 8; // segments of 256 cycles
//!
//! // Coordinator: the summary; workers: phase 1 of their segments.
//! let report = pipeline::execute(&pk, &input, log2)?;
//! let segments: Vec<u32> = (0..report.summary.segment_count).collect();
//! let phase1 = pipeline::contribute(&pk, &input, log2, &segments)?;
//! let contributions: Vec<_> = phase1.iter().map(|p| p.contribution().contribution()).collect();
//! let challenge = derive(vk.program_id().as_bytes(), &vk.digest(), &report.summary, &contributions);
//!
//! // Workers: phase 2; aggregator: fold proofs as they land (here in reverse order).
//! let mut aggregator = Aggregator::new(&vk, &input, challenge, report.summary.segment_count)?;
//! for phase1 in phase1.into_iter().rev() {
//!     let bundle = pipeline::prove(&pk, phase1, &challenge, Checks::None)?;
//!     let bytes = bundle.to_bytes();
//!     let _ = aggregator.add_bytes(&bytes)?;
//! }
//! let proof = aggregator.finish()?;
//!
//! // Client.
//! let outputs = pipeline::verify_bytes(&vk, &input, &proof.to_bytes())?;
//! assert_eq!(outputs.outputs[4..], 832_040u64.to_le_bytes());
//! # Ok(())
//! # }
//! ```

mod aggregate;
mod bundle;
mod challenge;
mod encoding;
mod final_proof;
mod keys;
mod local;
mod worker;

pub use aggregate::{
    Added, AggregateError, Aggregator, LeafError, MAX_EXECUTION_BUS_MESSAGES, verify_segment_proof,
};
pub use bundle::{RunEnd, SegmentProofBundle, bundles_from_bytes, bundles_to_bytes};
pub use challenge::{
    ACCUMULATOR_LANES, Contribution, ContributionAccumulator, GlobalChallenge, RunSummary,
    SegmentContribution, derive, final_memory_digest, global_challenge, input_digest,
    outputs_digest,
};
pub use encoding::{
    FormatError, MAX_BUNDLE_BYTES, MAX_FINAL_PROOF_BYTES, MAX_VERIFYING_KEY_BYTES, ObjectKind,
    PIPELINE_FORMAT_VERSION,
};
pub use final_proof::{FinalProof, PublicOutputs, VerifyError, verify, verify_bytes};
pub use keys::{KeyDecodeError, ProvingKey, SetupError, VerifyingKey, setup, setup_with};
pub use local::{LocalError, LocalOptions, LocalProof, LocalTimings, prove_local};
pub use worker::{
    Checks, ExecutionReport, Phase1Segment, ProveError, RecordedSegment, SegmentWalker, check_redo,
    contribute, execute, prove,
};
