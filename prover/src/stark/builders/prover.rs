//! Packed constraint folder for the quotient computation.

use p3_air::{AirBuilder, ExtensionBuilder, PermutationAirBuilder, RowWindow};
use p3_field::{Algebra, BasedVectorSpace};

use super::super::config::{Challenge, PackedChallenge, PackedVal, Val};
use super::ignore_interactions;

/// Evaluates constraints on `PackedVal::WIDTH` points of the quotient domain at once and
/// collects them for a random linear combination.
///
/// Base-field constraints stay packed base-field values until they are combined with the
/// decomposed powers of the folding challenge.
#[derive(Debug)]
pub struct ProverFolder<'a> {
    pub(crate) main: RowWindow<'a, PackedVal>,
    pub(crate) preprocessed: RowWindow<'a, PackedVal>,
    pub(crate) public_values: &'a [Val],
    pub(crate) is_first_row: PackedVal,
    pub(crate) is_last_row: PackedVal,
    pub(crate) is_transition: PackedVal,
    pub(crate) permutation: RowWindow<'a, PackedChallenge>,
    pub(crate) permutation_challenges: &'a [PackedChallenge],
    pub(crate) permutation_values: &'a [PackedChallenge],
    pub(crate) base_constraints: Vec<PackedVal>,
    pub(crate) ext_constraints: Vec<PackedChallenge>,
}

impl ProverFolder<'_> {
    /// `sum_i alpha^(K-1-i) * C_i` over every collected constraint, in emission order.
    ///
    /// `base_powers[d][j]` is coordinate `d` of the power for the `j`-th base constraint and
    /// `ext_powers[j]` the power for the `j`-th extension constraint
    /// (`p3_air::symbolic::ConstraintLayout::decompose_alpha`).
    pub(crate) fn finalize(
        &self,
        base_powers: &[Vec<Val>],
        ext_powers: &[Challenge],
    ) -> PackedChallenge {
        assert_eq!(
            base_powers.first().map_or(0, Vec::len),
            self.base_constraints.len()
        );
        assert_eq!(ext_powers.len(), self.ext_constraints.len());
        let base = PackedChallenge::from_basis_coefficients_fn(|d| {
            PackedVal::batched_linear_combination(&self.base_constraints, &base_powers[d])
        });
        base + PackedChallenge::batched_linear_combination(&self.ext_constraints, ext_powers)
    }
}

impl<'a> AirBuilder for ProverFolder<'a> {
    type F = Val;
    type Expr = PackedVal;
    type Var = PackedVal;
    type PreprocessedWindow = RowWindow<'a, PackedVal>;
    type MainWindow = RowWindow<'a, PackedVal>;
    type PublicVar = Val;
    type PeriodicVar = PackedVal;

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
        self.base_constraints.push(x.into());
    }

    fn public_values(&self) -> &[Self::PublicVar] {
        self.public_values
    }
}

impl ExtensionBuilder for ProverFolder<'_> {
    type EF = Challenge;
    type ExprEF = PackedChallenge;
    type VarEF = PackedChallenge;

    fn assert_zero_ext<I: Into<Self::ExprEF>>(&mut self, x: I) {
        self.ext_constraints.push(x.into());
    }
}

impl<'a> PermutationAirBuilder for ProverFolder<'a> {
    type MP = RowWindow<'a, PackedChallenge>;
    type RandomVar = PackedChallenge;
    type PermutationVar = PackedChallenge;

    fn permutation(&self) -> Self::MP {
        self.permutation
    }

    fn permutation_randomness(&self) -> &[Self::RandomVar] {
        self.permutation_challenges
    }

    fn permutation_values(&self) -> &[Self::PermutationVar] {
        self.permutation_values
    }
}

ignore_interactions!(ProverFolder);
