//! Helpers of the pipeline tests: cached keys per guest, and proving recorded (possibly
//! tampered) witnesses through the pipeline's own pieces.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use zisk_prover::air::SegmentWitness;
use zisk_prover::pipeline::{
    self, AggregateError, Aggregator, Checks, Contribution, FinalProof, GlobalChallenge,
    Phase1Segment, ProveError, ProvingKey, RunEnd, RunSummary, SegmentProofBundle, VerifyingKey,
    derive, outputs_digest,
};
use zisk_prover::stark::ParamSet;

use crate::air_common::Run;

/// The committed ELF of a guest.
pub fn elf(name: &str) -> Vec<u8> {
    let path = format!("{}/guests/bin/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).expect("guest ELF")
}

/// Test-parameter keys of a guest, set up once per test binary.
pub fn keys(name: &str) -> &'static (ProvingKey, VerifyingKey) {
    static KEYS: OnceLock<Mutex<HashMap<String, &'static (ProvingKey, VerifyingKey)>>> =
        OnceLock::new();
    let mut keys = KEYS.get_or_init(Default::default).lock().expect("lock");
    keys.entry(name.to_owned()).or_insert_with(|| {
        Box::leak(Box::new(
            pipeline::setup(&elf(name), ParamSet::Test).expect("setup"),
        ))
    })
}

/// A run's segment proofs with what produced them.
pub struct Proved {
    pub challenge: GlobalChallenge,
    pub contributions: Vec<Contribution>,
    pub bundles: Vec<SegmentProofBundle>,
}

/// The run's summary as the coordinator derives it.
pub fn summary(run: &Run) -> RunSummary {
    let last = &run.witnesses.last().expect("a segment").publics;
    RunSummary {
        segment_count: run.witnesses.len() as u32,
        cycles: last.start_cycle + u64::from(last.cycle_count),
        outputs_digest: outputs_digest(&run.outputs),
    }
}

/// Phase 1 of `witnesses` (the run's, possibly tampered) of `run`.
pub fn phase1(
    pk: &ProvingKey,
    run: &Run,
    witnesses: Vec<SegmentWitness>,
) -> Result<Vec<Phase1Segment>, ProveError> {
    let count = witnesses.len();
    witnesses
        .into_iter()
        .enumerate()
        .map(|(index, witness)| {
            let run_end = (index + 1 == count).then(|| RunEnd {
                final_memory: run.final_memory.clone(),
                outputs: run.outputs.clone(),
            });
            Phase1Segment::from_witness(pk, witness, &run.input, run_end)
        })
        .collect()
}

/// Proves `witnesses` of `run` through phase 1, the challenge derivation and phase 2;
/// `challenge` overrides the derived challenge.
pub fn prove_witnesses(
    pk: &ProvingKey,
    run: &Run,
    witnesses: Vec<SegmentWitness>,
    checks: Checks,
    challenge: Option<GlobalChallenge>,
) -> Result<Proved, ProveError> {
    let phase1 = phase1(pk, run, witnesses)?;
    let contributions: Vec<Contribution> = phase1
        .iter()
        .map(|p| p.contribution().contribution())
        .collect();
    let vk = pk.verifying_key();
    let challenge = challenge.unwrap_or_else(|| {
        derive(
            vk.program_id().as_bytes(),
            &vk.digest(),
            &summary(run),
            &contributions,
        )
    });
    let bundles = phase1
        .into_iter()
        .map(|p| pipeline::prove(pk, p, &challenge, checks))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Proved {
        challenge,
        contributions,
        bundles,
    })
}

/// Aggregates `bundles` in the given order.
pub fn aggregate(
    vk: &VerifyingKey,
    input: &[u8],
    challenge: GlobalChallenge,
    bundles: Vec<SegmentProofBundle>,
    segment_count: u32,
) -> Result<FinalProof, AggregateError> {
    let mut aggregator = Aggregator::new(vk, input, challenge, segment_count)?;
    for bundle in bundles {
        let _ = aggregator.add(bundle)?;
    }
    aggregator.finish()
}
