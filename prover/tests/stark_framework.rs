//! The segment STARK on toy tables: honest proofs verify under both parameter sets, and
//! every kind of tampering is rejected.

mod stark_toys;

use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::RowMajorMatrix;
use stark_toys::{
    Fibonacci, RANGE_BUS, Range8, Sender, Shuffle, Toy, fibonacci_trace, range_trace, sender_trace,
    shuffle_trace,
};
use zisk_prover::stark::{
    self, BusMessage, Challenge, ParamSet, ProveError, ProveMode, SegmentProof, SetupError, Val,
    Verified, VerifyError,
};

const SENT: [u32; 11] = [0, 1, 2, 3, 5, 8, 13, 21, 34, 255, 8];

/// Fibonacci (8 rows, public values), Sender (16 rows) and Range8 (256 preprocessed rows)
/// connected by a global bus.
fn bus_tables() -> Vec<Toy> {
    vec![
        Toy::Fibonacci(Fibonacci),
        Toy::Sender(Sender),
        Toy::Range8(Range8 { shift: 0 }),
    ]
}

fn bus_traces(sent: &[u32], received: &[u32]) -> (Vec<RowMajorMatrix<Val>>, Vec<Val>) {
    let (fib, public_values) = fibonacci_trace(8, 1, 1);
    (
        vec![fib, sender_trace(sent, 16), range_trace(received)],
        public_values,
    )
}

/// Proves a single segment whose global challenge is its own phase-1 commitment.
fn prove(
    pk: &stark::ProvingKey<Toy>,
    traces: Vec<RowMajorMatrix<Val>>,
    public_values: Vec<Val>,
    mode: ProveMode<'_>,
) -> Result<(SegmentProof, [u8; 32]), ProveError> {
    let phase1 = stark::commit_main(pk, traces, public_values)?;
    let global_challenge = phase1.commitment();
    let proof = stark::prove_phase2(pk, phase1, &global_challenge, mode)?;
    Ok((proof, global_challenge))
}

fn checked() -> ProveMode<'static> {
    ProveMode::Checked { external: &[] }
}

fn verify_bus(
    vk: &stark::VerifyingKey,
    proof: &SegmentProof,
    public_values: &[Val],
    global_challenge: &[u8],
    min: ParamSet,
) -> Result<Verified, VerifyError> {
    stark::verify(
        vk,
        &bus_tables(),
        proof,
        public_values,
        global_challenge,
        min,
    )
}

#[test]
fn tables_of_different_heights_on_one_bus_prove_and_verify_with_both_parameter_sets() {
    for params in ParamSet::ALL {
        let (pk, vk) = stark::setup(params, &bus_tables()).unwrap();
        let (traces, public_values) = bus_traces(&SENT, &SENT);
        let (proof, global) = prove(&pk, traces, public_values.clone(), checked()).unwrap();
        let proof = SegmentProof::from_bytes(&proof.to_bytes()).unwrap();
        assert_eq!(proof.log_heights(), &[3, 4, 8]);
        let verified = verify_bus(&vk, &proof, &public_values, &global, params).unwrap();
        assert_eq!(verified.bus_sum, Challenge::ZERO, "{params}");
        assert_eq!(verified.main_commitment, global);
    }
}

#[test]
fn a_single_table_without_lookups_or_preprocessed_columns_proves() {
    let (pk, vk) = stark::setup(ParamSet::Test, &[Fibonacci]).unwrap();
    let (trace, public_values) = fibonacci_trace(64, 2, 3);
    let phase1 = stark::commit_main(&pk, vec![trace], public_values.clone()).unwrap();
    let global = phase1.commitment();
    let proof = stark::prove_phase2(&pk, phase1, &global, checked()).unwrap();
    let verified = stark::verify(
        &vk,
        &[Fibonacci],
        &proof,
        &public_values,
        &global,
        ParamSet::Test,
    )
    .unwrap();
    assert_eq!(verified.bus_sum, Challenge::ZERO);
}

#[test]
fn a_local_lookup_balances_within_its_table() {
    let (pk, vk) = stark::setup(ParamSet::Test, &[Shuffle]).unwrap();
    let phase1 = stark::commit_main(&pk, vec![shuffle_trace(32)], vec![]).unwrap();
    let global = phase1.commitment();
    let proof = stark::prove_phase2(&pk, phase1, &global, checked()).unwrap();
    let verified = stark::verify(&vk, &[Shuffle], &proof, &[], &global, ParamSet::Test).unwrap();
    assert_eq!(verified.bus_sum, Challenge::ZERO);
}

#[test]
fn a_broken_local_lookup_is_refused_when_checked_and_leaves_a_nonzero_sum_when_not() {
    let (pk, vk) = stark::setup(ParamSet::Test, &[Shuffle]).unwrap();
    let mut trace = shuffle_trace(32);
    trace.values[1] = Val::from_u32(1_000_000);
    let phase1 = stark::commit_main(&pk, vec![trace.clone()], vec![]).unwrap();
    let global = phase1.commitment();
    assert!(matches!(
        stark::prove_phase2(&pk, phase1, &global, checked()),
        Err(ProveError::LocalLookupUnbalanced { table: 0, .. })
    ));
    let phase1 = stark::commit_main(&pk, vec![trace], vec![]).unwrap();
    let proof = stark::prove_phase2(&pk, phase1, &global, ProveMode::Unchecked).unwrap();
    let verified = stark::verify(&vk, &[Shuffle], &proof, &[], &global, ParamSet::Test).unwrap();
    assert_ne!(verified.bus_sum, Challenge::ZERO);
}

#[test]
fn external_messages_close_a_bus_exactly_as_a_table_would() {
    // Only the sender is proven; the verifier receives its bytes itself.
    let tables = [Toy::Sender(Sender)];
    let (pk, vk) = stark::setup(ParamSet::Test, &tables).unwrap();
    let external: Vec<BusMessage> = SENT
        .iter()
        .map(|&v| BusMessage::receive(RANGE_BUS, vec![Val::from_u32(v)]))
        .collect();
    let phase1 = stark::commit_main(&pk, vec![sender_trace(&SENT, 16)], vec![]).unwrap();
    let global = phase1.commitment();
    let proof = stark::prove_phase2(
        &pk,
        phase1,
        &global,
        ProveMode::Checked {
            external: &external,
        },
    )
    .unwrap();
    let verified = stark::verify(&vk, &tables, &proof, &[], &global, ParamSet::Test).unwrap();
    let challenges = stark::derive_lookup_challenges(&global);
    assert_eq!(
        verified.bus_sum + stark::external_bus_sum(&challenges, &external),
        Challenge::ZERO
    );
    // One message alone is what bus_fraction says.
    let one = stark::bus_fraction(&challenges, RANGE_BUS, &[Val::from_u32(5)], Val::NEG_ONE);
    assert_eq!(
        one,
        stark::external_bus_sum(&challenges, &[external[4].clone()])
    );

    // A missing external message is found before proving.
    let phase1 = stark::commit_main(&pk, vec![sender_trace(&SENT, 16)], vec![]).unwrap();
    let err = stark::prove_phase2(
        &pk,
        phase1,
        &global,
        ProveMode::Checked {
            external: &external[1..],
        },
    )
    .unwrap_err();
    assert_eq!(
        err,
        ProveError::BusUnbalanced {
            bus: RANGE_BUS.to_owned(),
            fields: vec![0],
            net_multiplicity: 1
        }
    );
}

#[test]
fn a_tampered_main_cell_is_refused_when_checked_and_rejected_when_proven_unchecked() {
    let (pk, vk) = stark::setup(ParamSet::Test, &bus_tables()).unwrap();
    let (mut traces, public_values) = bus_traces(&SENT, &SENT);
    traces[0].values[2 * 5] += Val::ONE; // row 5, column x of Fibonacci
    let err = prove(&pk, traces.clone(), public_values.clone(), checked()).unwrap_err();
    assert!(
        matches!(
            err,
            ProveError::ConstraintFailed {
                table: 0,
                row: 4,
                ..
            }
        ),
        "{err}"
    );

    let (proof, global) = prove(&pk, traces, public_values.clone(), ProveMode::Unchecked).unwrap();
    let err = verify_bus(&vk, &proof, &public_values, &global, ParamSet::Test).unwrap_err();
    assert_eq!(err, VerifyError::OodMismatch { table: 0 });
}

#[test]
fn an_unbalanced_bus_is_refused_when_checked_and_shows_in_the_bus_sum_when_not() {
    let (pk, vk) = stark::setup(ParamSet::Test, &bus_tables()).unwrap();
    // The range table receives 7 where the sender sent 8.
    let mut received = SENT;
    received[5] = 7;
    let (traces, public_values) = bus_traces(&SENT, &received);
    let err = prove(&pk, traces.clone(), public_values.clone(), checked()).unwrap_err();
    assert!(
        matches!(err, ProveError::BusUnbalanced { ref bus, .. } if bus == RANGE_BUS),
        "{err}"
    );

    let (proof, global) = prove(&pk, traces, public_values.clone(), ProveMode::Unchecked).unwrap();
    let verified = verify_bus(&vk, &proof, &public_values, &global, ParamSet::Test).unwrap();
    assert_ne!(verified.bus_sum, Challenge::ZERO);
}

#[test]
fn a_wrong_public_value_is_rejected() {
    let (pk, vk) = stark::setup(ParamSet::Test, &bus_tables()).unwrap();
    let (traces, public_values) = bus_traces(&SENT, &SENT);
    let (proof, global) = prove(&pk, traces, public_values.clone(), checked()).unwrap();
    let mut wrong = public_values.clone();
    wrong[2] += Val::ONE;
    assert!(verify_bus(&vk, &proof, &wrong, &global, ParamSet::Test).is_err());
    // Proving the wrong output (unchecked) is rejected too.
    let (traces, _) = bus_traces(&SENT, &SENT);
    let (proof, global) = prove(&pk, traces, wrong.clone(), ProveMode::Unchecked).unwrap();
    assert_eq!(
        verify_bus(&vk, &proof, &wrong, &global, ParamSet::Test).unwrap_err(),
        VerifyError::OodMismatch { table: 0 }
    );
}

#[test]
fn a_wrong_global_challenge_is_rejected() {
    let (pk, vk) = stark::setup(ParamSet::Test, &bus_tables()).unwrap();
    let (traces, public_values) = bus_traces(&SENT, &SENT);
    let (proof, mut global) = prove(&pk, traces, public_values.clone(), checked()).unwrap();
    global[0] ^= 1;
    assert!(verify_bus(&vk, &proof, &public_values, &global, ParamSet::Test).is_err());
}

#[test]
fn a_wrong_verifying_key_is_rejected() {
    let (pk, _) = stark::setup(ParamSet::Test, &bus_tables()).unwrap();
    let (traces, public_values) = bus_traces(&SENT, &SENT);
    let (proof, global) = prove(&pk, traces, public_values.clone(), checked()).unwrap();

    // Same shapes, different preprocessed column: a different commitment and digest.
    let shifted = vec![
        Toy::Fibonacci(Fibonacci),
        Toy::Sender(Sender),
        Toy::Range8(Range8 { shift: 1 }),
    ];
    let (_, other_vk) = stark::setup(ParamSet::Test, &shifted).unwrap();
    assert_ne!(other_vk.digest(), pk.verifying_key().digest());
    assert!(verify_bus(&other_vk, &proof, &public_values, &global, ParamSet::Test).is_err());

    // A key for other tables does not even match the tables given.
    let (_, fib_vk) = stark::setup(ParamSet::Test, &[Toy::Fibonacci(Fibonacci)]).unwrap();
    assert!(matches!(
        verify_bus(&fib_vk, &proof, &public_values, &global, ParamSet::Test),
        Err(VerifyError::TableMismatch { .. })
    ));

    // A production key does not verify a test proof.
    let (_, production_vk) = stark::setup(ParamSet::Production, &bus_tables()).unwrap();
    assert!(matches!(
        verify_bus(
            &production_vk,
            &proof,
            &public_values,
            &global,
            ParamSet::Test
        ),
        Err(VerifyError::ParamSetMismatch { .. })
    ));
}

#[test]
fn a_test_parameter_proof_is_refused_by_a_production_verifier() {
    let (pk, vk) = stark::setup(ParamSet::Test, &bus_tables()).unwrap();
    let (traces, public_values) = bus_traces(&SENT, &SENT);
    let (proof, global) = prove(&pk, traces, public_values.clone(), checked()).unwrap();
    assert_eq!(
        verify_bus(&vk, &proof, &public_values, &global, ParamSet::Production).unwrap_err(),
        VerifyError::WeakParameters {
            proof: ParamSet::Test,
            min: ParamSet::Production
        }
    );
}

#[test]
fn flipped_proof_bytes_are_rejected() {
    let (pk, vk) = stark::setup(ParamSet::Test, &bus_tables()).unwrap();
    let (traces, public_values) = bus_traces(&SENT, &SENT);
    let (proof, global) = prove(&pk, traces, public_values.clone(), checked()).unwrap();
    let bytes = proof.to_bytes();
    let step = bytes.len() / 97 + 1;
    for position in (0..bytes.len()).step_by(step) {
        let mut flipped = bytes.clone();
        flipped[position] ^= 0x01;
        let Ok(decoded) = SegmentProof::from_bytes(&flipped) else {
            continue;
        };
        if decoded.to_bytes() == bytes {
            continue; // a non-canonical encoding of the same proof
        }
        assert!(
            verify_bus(&vk, &decoded, &public_values, &global, ParamSet::Test).is_err(),
            "flipping byte {position} of {} went unnoticed",
            bytes.len()
        );
    }
}

#[test]
fn verifying_keys_round_trip_through_bytes() {
    let (_, vk) = stark::setup(ParamSet::Production, &bus_tables()).unwrap();
    let decoded = stark::VerifyingKey::from_bytes(&vk.to_bytes()).unwrap();
    assert_eq!(decoded, vk);
    assert_eq!(decoded.digest(), vk.digest());
    assert_eq!(vk.bus_width(RANGE_BUS), Some(1));
    assert_eq!(vk.num_public_values(), 3);
    assert!(stark::VerifyingKey::from_bytes(&vk.to_bytes()[..20]).is_err());
}

#[test]
fn trace_shapes_are_checked_before_committing() {
    let (pk, _) = stark::setup(ParamSet::Test, &bus_tables()).unwrap();
    let (mut traces, public_values) = bus_traces(&SENT, &SENT);
    traces[2] = RowMajorMatrix::new(vec![Val::ZERO; 128], 1);
    assert!(matches!(
        stark::commit_main(&pk, traces, public_values.clone()),
        Err(ProveError::TraceHeight { table: 2, .. })
    ));
    let (traces, _) = bus_traces(&SENT, &SENT);
    assert!(matches!(
        stark::commit_main(&pk, traces, vec![]),
        Err(ProveError::PublicValueCount {
            expected: 3,
            found: 0
        })
    ));
}

/// A degree-4 constraint.
#[derive(Clone, Copy)]
struct Quartic;

impl p3_air::BaseAir<Val> for Quartic {
    fn width(&self) -> usize {
        1
    }
}

impl<AB: p3_lookup::InteractionBuilder<F = Val>> p3_air::Air<AB> for Quartic {
    fn eval(&self, builder: &mut AB) {
        use p3_air::WindowAccess;
        let x: AB::Expr = builder.main().current(0).unwrap().into();
        builder.assert_zero(x.clone() * x.clone() * x.clone() * x);
    }
}

#[test]
fn a_constraint_above_degree_three_is_refused_at_setup() {
    assert!(matches!(
        stark::setup(ParamSet::Test, &[Quartic]),
        Err(SetupError::DegreeTooHigh {
            table: 0,
            degree: 4,
            max: 3
        })
    ));
}

/// Sends the values 0..n on bus "numbers"; the verifier receives them externally.
#[derive(Clone)]
struct Counter;

impl p3_air::BaseAir<Val> for Counter {
    fn width(&self) -> usize {
        1
    }
}

impl<AB: p3_lookup::InteractionBuilder<F = Val>> p3_air::Air<AB> for Counter {
    fn eval(&self, builder: &mut AB) {
        use p3_air::{AirBuilder, WindowAccess};
        let main = builder.main();
        let (x, next) = (main.current(0).unwrap(), main.next(0).unwrap());
        builder.when_first_row().assert_zero(x);
        builder.when_transition().assert_eq(next, x + AB::Expr::ONE);
        builder.push_interaction("numbers", [x], 1);
    }
}

/// The example of the `stark` module documentation, verbatim.
#[test]
fn the_module_example_runs() -> Result<(), Box<dyn std::error::Error>> {
    let (pk, vk) = stark::setup(ParamSet::Test, &[Counter])?;
    let trace = RowMajorMatrix::new((0..8u32).map(Val::from_u32).collect(), 1);
    let phase1 = stark::commit_main(&pk, vec![trace], vec![])?;
    let global_challenge = phase1.commitment();

    let challenges = stark::derive_lookup_challenges(&global_challenge);
    let external: Vec<_> = (0..8u32)
        .map(|i| stark::BusMessage::receive("numbers", vec![Val::from_u32(i)]))
        .collect();
    let proof = stark::prove_phase2(
        &pk,
        phase1,
        &global_challenge,
        ProveMode::Checked {
            external: &external,
        },
    )?;

    let proof = stark::SegmentProof::from_bytes(&proof.to_bytes())?;
    let verified = stark::verify(
        &vk,
        &[Counter],
        &proof,
        &[],
        &global_challenge,
        ParamSet::Test,
    )?;
    let total = verified.bus_sum + stark::external_bus_sum(&challenges, &external);
    assert_eq!(total, stark::Challenge::ZERO);
    Ok(())
}

/// Two proofs under one global challenge whose range bus is unbalanced in opposite ways.
fn opposite_imbalances(
    pk: &stark::ProvingKey<Toy>,
    vk: &stark::VerifyingKey,
) -> (Verified, Verified) {
    let global = [7u8; 32];
    let mut received = SENT;
    received[5] = 7; // proof A: 8 sent, 7 received
    let mut sent = SENT;
    sent[5] = 7; // proof B: 7 sent, 8 received
    let mut verified = Vec::new();
    for (sent, received) in [(SENT, received), (sent, SENT)] {
        let (traces, public_values) = bus_traces(&sent, &received);
        let phase1 = stark::commit_main(pk, traces, public_values.clone()).unwrap();
        let proof = stark::prove_phase2(pk, phase1, &global, ProveMode::Unchecked).unwrap();
        verified.push(verify_bus(vk, &proof, &public_values, &global, ParamSet::Test).unwrap());
    }
    (verified[0], verified[1])
}

#[test]
fn an_execution_bus_balances_across_proofs_but_a_proof_scoped_bus_does_not() {
    // Every bus execution-wide: the two imbalances cancel across the proofs.
    let (pk, vk) = stark::setup(ParamSet::Test, &bus_tables()).unwrap();
    assert_eq!(vk.bus_scope(RANGE_BUS), Some(stark::BusScope::Execution));
    let (a, b) = opposite_imbalances(&pk, &vk);
    assert_ne!(a.bus_sum, Challenge::ZERO);
    assert_eq!(a.bus_sum + b.bus_sum, Challenge::ZERO);

    // The same bus confined to each proof: its challenges depend on the proof's statement,
    // so the imbalances no longer cancel.
    let (pk, vk) = stark::setup_with_execution_buses(ParamSet::Test, &bus_tables(), &[]).unwrap();
    assert_eq!(vk.bus_scope(RANGE_BUS), Some(stark::BusScope::Proof));
    let (a, b) = opposite_imbalances(&pk, &vk);
    assert_ne!(a.bus_sum, Challenge::ZERO);
    assert_ne!(a.bus_sum + b.bus_sum, Challenge::ZERO);
}

#[test]
fn a_proof_scoped_bus_is_checked_inside_the_proof_and_takes_no_external_messages() {
    let (pk, _) = stark::setup_with_execution_buses(ParamSet::Test, &bus_tables(), &[]).unwrap();
    let mut received = SENT;
    received[5] = 7;
    let (traces, public_values) = bus_traces(&SENT, &received);
    let err = prove(
        &pk,
        traces,
        public_values,
        ProveMode::CheckedConstraintsOnly,
    )
    .unwrap_err();
    assert!(
        matches!(err, ProveError::BusUnbalanced { ref bus, .. } if bus == RANGE_BUS),
        "{err}"
    );
    let (traces, public_values) = bus_traces(&SENT, &SENT);
    let external = [BusMessage::send(RANGE_BUS, vec![Val::ONE])];
    let err = prove(
        &pk,
        traces,
        public_values,
        ProveMode::Checked {
            external: &external,
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, ProveError::ExternalMessage { expected: None, .. }),
        "{err}"
    );
    assert!(matches!(
        stark::setup_with_execution_buses(ParamSet::Test, &bus_tables(), &["no-such-bus"]),
        Err(SetupError::UnknownBus { .. })
    ));
}
