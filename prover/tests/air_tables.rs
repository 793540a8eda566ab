//! Shapes of the tables: constraint degrees within the framework's bound, widths, and the
//! framework accepts them.

mod air_common;

use air_common::guest;
use zisk_prover::air::{ProgramTables, RvTable, TableKind, constraint_count, constraint_degrees};
use zisk_prover::stark::{MAX_CONSTRAINT_DEGREE, ParamSet, setup};

#[test]
fn every_constraint_and_lookup_has_degree_at_most_three() {
    let tables = RvTable::all(&ProgramTables::new(&guest("rv32im")));
    for table in &tables {
        let (air, lookup) = constraint_degrees(table);
        println!(
            "{:8} width {:3} constraints {:4} degree {air} lookup degree {lookup}",
            table.kind().name(),
            table.kind().width(),
            constraint_count(table)
        );
        assert!(
            air <= MAX_CONSTRAINT_DEGREE,
            "{:?}: degree {air}",
            table.kind()
        );
        assert!(
            lookup <= MAX_CONSTRAINT_DEGREE,
            "{:?}: lookup degree {lookup}",
            table.kind()
        );
    }
    assert_eq!(tables.len(), TableKind::ALL.len());
}

#[test]
fn the_framework_accepts_the_tables() {
    let tables = RvTable::all(&ProgramTables::new(&guest("fibonacci")));
    setup(ParamSet::Test, &tables).expect("setup");
}
