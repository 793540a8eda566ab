//! Constraint folder at the out-of-domain point.

use p3_air::{AirBuilder, ExtensionBuilder, PermutationAirBuilder, RowWindow};

use super::super::config::{Challenge, Val};
use super::ignore_interactions;

/// Evaluates constraints on the opened values at `zeta` and folds them with Horner's rule,
/// `acc = acc * alpha + C_i`, which gives the same combination the prover's
/// [`super::ProverFolder`] computes.
#[derive(Debug)]
pub struct VerifierFolder<'a> {
    pub(crate) main: RowWindow<'a, Challenge>,
    pub(crate) preprocessed: RowWindow<'a, Challenge>,
    pub(crate) public_values: &'a [Val],
    pub(crate) is_first_row: Challenge,
    pub(crate) is_last_row: Challenge,
    pub(crate) is_transition: Challenge,
    pub(crate) permutation: RowWindow<'a, Challenge>,
    pub(crate) permutation_challenges: &'a [Challenge],
    pub(crate) permutation_values: &'a [Challenge],
    pub(crate) alpha: Challenge,
    pub(crate) accumulator: Challenge,
}

impl<'a> AirBuilder for VerifierFolder<'a> {
    type F = Val;
    type Expr = Challenge;
    type Var = Challenge;
    type PreprocessedWindow = RowWindow<'a, Challenge>;
    type MainWindow = RowWindow<'a, Challenge>;
    type PublicVar = Val;
    type PeriodicVar = Challenge;

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
        self.accumulator = self.accumulator * self.alpha + x.into();
    }

    fn public_values(&self) -> &[Self::PublicVar] {
        self.public_values
    }
}

impl ExtensionBuilder for VerifierFolder<'_> {
    type EF = Challenge;
    type ExprEF = Challenge;
    type VarEF = Challenge;

    fn assert_zero_ext<I: Into<Self::ExprEF>>(&mut self, x: I) {
        self.accumulator = self.accumulator * self.alpha + x.into();
    }
}

impl<'a> PermutationAirBuilder for VerifierFolder<'a> {
    type MP = RowWindow<'a, Challenge>;
    type RandomVar = Challenge;
    type PermutationVar = Challenge;

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

ignore_interactions!(VerifierFolder);
