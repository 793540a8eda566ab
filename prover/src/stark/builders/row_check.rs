//! Row-by-row constraint checking on the concrete trace.

use p3_air::{AirBuilder, ExtensionBuilder, PermutationAirBuilder, RowWindow};
use p3_field::PrimeCharacteristicRing;

use super::super::config::{Challenge, Val};
use super::ignore_interactions;

/// Evaluates a table's constraints on one row (and the next, cyclically) of its trace and
/// remembers the index, in emission order, of the first constraint that is not zero.
///
/// The framework also uses it to resolve lookup expressions (message fields,
/// multiplicities) on a row when it checks that the buses balance.
#[derive(Debug)]
pub struct RowCheckFolder<'a> {
    pub(crate) main: RowWindow<'a, Val>,
    pub(crate) preprocessed: RowWindow<'a, Val>,
    pub(crate) public_values: &'a [Val],
    pub(crate) is_first_row: Val,
    pub(crate) is_last_row: Val,
    pub(crate) is_transition: Val,
    pub(crate) next_constraint: usize,
    pub(crate) first_failure: Option<usize>,
}

impl<'a> RowCheckFolder<'a> {
    /// A folder on `row` of a trace of `height` rows, given that row and the next.
    pub(crate) fn new(
        main: RowWindow<'a, Val>,
        preprocessed: RowWindow<'a, Val>,
        public_values: &'a [Val],
        row: usize,
        height: usize,
    ) -> Self {
        Self {
            main,
            preprocessed,
            public_values,
            is_first_row: Val::from_bool(row == 0),
            is_last_row: Val::from_bool(row + 1 == height),
            is_transition: Val::from_bool(row + 1 != height),
            next_constraint: 0,
            first_failure: None,
        }
    }

    fn record(&mut self, is_zero: bool) {
        if !is_zero && self.first_failure.is_none() {
            self.first_failure = Some(self.next_constraint);
        }
        self.next_constraint += 1;
    }
}

impl<'a> AirBuilder for RowCheckFolder<'a> {
    type F = Val;
    type Expr = Val;
    type Var = Val;
    type PreprocessedWindow = RowWindow<'a, Val>;
    type MainWindow = RowWindow<'a, Val>;
    type PublicVar = Val;
    type PeriodicVar = Val;

    fn main(&self) -> Self::MainWindow {
        self.main
    }

    fn preprocessed(&self) -> &Self::PreprocessedWindow {
        &self.preprocessed
    }

    fn is_first_row(&self) -> Self::Expr {
        self.is_first_row
    }

    fn is_last_row(&self) -> Self::Expr {
        self.is_last_row
    }

    fn is_transition(&self) -> Self::Expr {
        self.is_transition
    }

    fn assert_zero<I: Into<Self::Expr>>(&mut self, x: I) {
        let x = x.into();
        self.record(x == Val::ZERO);
    }

    fn public_values(&self) -> &[Self::PublicVar] {
        self.public_values
    }
}

impl ExtensionBuilder for RowCheckFolder<'_> {
    type EF = Challenge;
    type ExprEF = Challenge;
    type VarEF = Challenge;

    fn assert_zero_ext<I: Into<Self::ExprEF>>(&mut self, x: I) {
        let x = x.into();
        self.record(x == Challenge::ZERO);
    }
}

impl<'a> PermutationAirBuilder for RowCheckFolder<'a> {
    type MP = RowWindow<'a, Challenge>;
    type RandomVar = Challenge;
    type PermutationVar = Challenge;

    /// Tables read bus traffic through `InteractionBuilder`, never the permutation trace,
    /// so the row checker offers an empty window.
    fn permutation(&self) -> Self::MP {
        RowWindow::from_two_rows(&[], &[])
    }

    fn permutation_randomness(&self) -> &[Self::RandomVar] {
        &[]
    }

    fn permutation_values(&self) -> &[Self::PermutationVar] {
        &[]
    }
}

ignore_interactions!(RowCheckFolder);
