//! Proof bytes: truncated, mutated or foreign input is a typed error or a rejected proof,
//! never a panic.

mod stark_toys;

use std::sync::OnceLock;

use proptest::prelude::*;
use stark_toys::{Fibonacci, Range8, Sender, Toy, fibonacci_trace, range_trace, sender_trace};
use zisk_prover::stark::{
    self, FORMAT_VERSION, ParamSet, ProofFormatError, ProveMode, SegmentProof, Val, VerifyingKey,
};

struct Fixture {
    tables: Vec<Toy>,
    vk: VerifyingKey,
    public_values: Vec<Val>,
    global_challenge: [u8; 32],
    bytes: Vec<u8>,
}

/// One honest Test-parameter proof over three tables, made once.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let tables = vec![
            Toy::Fibonacci(Fibonacci),
            Toy::Sender(Sender),
            Toy::Range8(Range8 { shift: 0 }),
        ];
        let (pk, vk) = stark::setup(ParamSet::Test, &tables).unwrap();
        let sent = [3, 1, 4, 1, 5, 9, 2, 6];
        let (fib, public_values) = fibonacci_trace(8, 1, 2);
        let traces = vec![fib, sender_trace(&sent, 8), range_trace(&sent)];
        let phase1 = stark::commit_main(&pk, traces, public_values.clone()).unwrap();
        let global_challenge = phase1.commitment();
        let proof = stark::prove_phase2(
            &pk,
            phase1,
            &global_challenge,
            ProveMode::Checked { external: &[] },
        )
        .unwrap();
        Fixture {
            tables,
            vk,
            public_values,
            global_challenge,
            bytes: proof.to_bytes(),
        }
    })
}

/// Decodes `bytes`; a decoded proof different from the honest one must not verify.
fn decode_and_verify(bytes: &[u8]) -> Result<(), String> {
    let fixture = fixture();
    match SegmentProof::from_bytes(bytes) {
        Err(_) => Ok(()),
        Ok(proof) if proof.to_bytes() == fixture.bytes => Ok(()),
        Ok(proof) => match stark::verify(
            &fixture.vk,
            &fixture.tables,
            &proof,
            &fixture.public_values,
            &fixture.global_challenge,
            ParamSet::Test,
        ) {
            Err(_) => Ok(()),
            Ok(_) => Err("a modified proof verified".to_owned()),
        },
    }
}

#[test]
fn the_honest_fixture_verifies() {
    let fixture = fixture();
    let proof = SegmentProof::from_bytes(&fixture.bytes).unwrap();
    stark::verify(
        &fixture.vk,
        &fixture.tables,
        &proof,
        &fixture.public_values,
        &fixture.global_challenge,
        ParamSet::Test,
    )
    .unwrap();
}

#[test]
fn header_errors_are_typed() {
    let bytes = &fixture().bytes;
    assert_eq!(
        SegmentProof::from_bytes(&bytes[..5]).unwrap_err(),
        ProofFormatError::Truncated { len: 5, header: 11 }
    );
    let mut bad = bytes.clone();
    bad[0] ^= 0xff;
    assert_eq!(
        SegmentProof::from_bytes(&bad).unwrap_err(),
        ProofFormatError::BadMagic
    );
    let mut bad = bytes.clone();
    bad[8] = 0xee;
    assert!(matches!(
        SegmentProof::from_bytes(&bad).unwrap_err(),
        ProofFormatError::UnsupportedVersion {
            supported: FORMAT_VERSION,
            ..
        }
    ));
    let mut bad = bytes.clone();
    bad[10] = 0x7f;
    assert_eq!(
        SegmentProof::from_bytes(&bad).unwrap_err(),
        ProofFormatError::UnknownParamSet { id: 0x7f }
    );
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        SegmentProof::from_bytes(&long).unwrap_err(),
        ProofFormatError::TrailingBytes { count: 1 }
    );
    // A verifying key is not a proof.
    assert_eq!(
        SegmentProof::from_bytes(&fixture().vk.to_bytes()).unwrap_err(),
        ProofFormatError::BadMagic
    );
}

#[test]
fn every_truncation_is_a_typed_error() {
    let bytes = &fixture().bytes;
    for len in 0..bytes.len() {
        assert!(
            SegmentProof::from_bytes(&bytes[..len]).is_err(),
            "prefix of {len} bytes decoded"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_bytes_never_verify(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let mut bytes = fixture().bytes.clone();
        for (index, xor) in edits {
            let position = index.index(bytes.len());
            bytes[position] ^= xor;
        }
        prop_assert_eq!(decode_and_verify(&bytes), Ok(()));
    }

    #[test]
    fn truncated_and_extended_bytes_never_verify(cut in any::<prop::sample::Index>(), tail in proptest::collection::vec(any::<u8>(), 0..64)) {
        let full = &fixture().bytes;
        let mut bytes = full[..cut.index(full.len())].to_vec();
        bytes.extend(tail);
        prop_assert_eq!(decode_and_verify(&bytes), Ok(()));
    }

    #[test]
    fn random_bytes_after_a_valid_header_are_rejected(body in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut bytes = fixture().bytes[..11].to_vec();
        bytes.extend(body);
        prop_assert_eq!(decode_and_verify(&bytes), Ok(()));
    }

    #[test]
    fn random_verifying_key_bytes_are_typed_errors(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = VerifyingKey::from_bytes(&bytes);
        let mut key = fixture().vk.to_bytes();
        let cut = bytes.len() % (key.len() + 1);
        key.truncate(cut);
        key.extend(&bytes);
        let _ = VerifyingKey::from_bytes(&key);
    }
}
