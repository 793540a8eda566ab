//! The parameter sets: ordering, header bytes and the security computation of
//! docs/soundness.md, "Proof system parameters".

use zisk_prover::stark::{MAX_LDE_LOG_HEIGHT, ParamSet};

#[test]
fn production_has_at_least_100_conjectured_bits_at_every_allowed_height() {
    let params = ParamSet::Production;
    let fri = params.fri();
    let largest_lde = params.max_table_log_height() + fri.log_blowup;
    assert!(largest_lde < MAX_LDE_LOG_HEIGHT);
    for lde_log_height in fri.log_blowup..=largest_lde {
        assert!(
            params.conjectured_security_bits(lde_log_height) >= 100,
            "LDE 2^{lde_log_height}"
        );
    }
    // The query phase alone: 2 * 50 + 16.
    assert_eq!(fri.log_blowup * fri.num_queries + fri.query_pow_bits, 116);
    // At the largest allowed LDE (2^23) the field term binds: 123 - 23.
    assert_eq!(params.conjectured_security_bits(largest_lde), 100);
}

#[test]
fn test_parameters_are_weaker_than_production() {
    assert!(ParamSet::Test < ParamSet::Production);
    assert!(ParamSet::Production.is_at_least(ParamSet::Test));
    assert!(!ParamSet::Test.is_at_least(ParamSet::Production));
    assert!(ParamSet::Test.conjectured_security_bits(10) < 100);
}

#[test]
fn header_bytes_name_each_set_uniquely() {
    for params in ParamSet::ALL {
        assert_eq!(ParamSet::from_id(params.id()), Some(params));
    }
    assert_eq!(ParamSet::from_id(0), None);
}

#[test]
fn both_sets_share_the_blowup_so_tables_fit_both() {
    // Tables are written once; the quotient (two chunks at degree 3) fits either blowup.
    assert_eq!(
        ParamSet::Test.fri().log_blowup,
        ParamSet::Production.fri().log_blowup
    );
}
