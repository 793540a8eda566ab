//! The quotient: every constraint of a table, folded with one challenge, divided by the
//! vanishing polynomial, evaluated on a coset `2^log_quotient_chunks` times the trace size.

use p3_air::RowWindow;
use p3_commit::PolynomialSpace;
use p3_field::{BasedVectorSpace, PackedFieldExtension, PackedValue};
use p3_lookup::{LogUpGadget, LookupProtocol};
use p3_matrix::Matrix;
use p3_maybe_rayon::prelude::*;

use super::builders::ProverFolder;
use super::config::{Challenge, Domain, PackedChallenge, PackedVal, Val};
use super::table::{Table, TableInfo};

/// One table's polynomials evaluated on its quotient domain, and what else the folder reads.
pub(crate) struct QuotientInputs<'a, M> {
    pub(crate) trace_domain: Domain,
    pub(crate) quotient_domain: Domain,
    pub(crate) main: &'a M,
    pub(crate) preprocessed: Option<&'a M>,
    /// The LogUp trace flattened to base-field columns.
    pub(crate) aux: Option<&'a M>,
    pub(crate) public_values: &'a [Val],
    pub(crate) lookup_challenges: &'a [Challenge],
    pub(crate) terminal: Option<Challenge>,
    pub(crate) alpha: Challenge,
}

/// `C(x) / Z_H(x)` at every point of the quotient domain, in natural order.
pub(crate) fn quotient_values<T: Table, M: Matrix<Val> + Sync>(
    table: &T,
    info: &TableInfo,
    inputs: &QuotientInputs<'_, M>,
) -> Vec<Challenge> {
    let quotient_size = inputs.quotient_domain.size();
    let next_step = quotient_size / inputs.trace_domain.size();
    let selectors = inputs
        .trace_domain
        .selectors_on_coset(inputs.quotient_domain);
    let (base_powers, ext_powers) = info.decompose_alpha(inputs.alpha);
    let packed_challenges: Vec<PackedChallenge> = inputs
        .lookup_challenges
        .iter()
        .map(|&c| PackedChallenge::from(c))
        .collect();
    let packed_terminal: Vec<PackedChallenge> = inputs
        .terminal
        .iter()
        .map(|&t| PackedChallenge::from(t))
        .collect();
    let dimension = <Challenge as BasedVectorSpace<Val>>::DIMENSION;
    let width = PackedVal::WIDTH;
    let gadget = LogUpGadget::new();

    let mut values = vec![Challenge::default(); quotient_size];
    values
        .par_chunks_mut(width)
        .enumerate()
        .for_each(|(chunk, out)| {
            let start = chunk * width;
            // Packs `width` consecutive points, wrapping around the domain.
            let pack =
                |column: &[Val]| PackedVal::from_fn(|lane| column[(start + lane) % quotient_size]);
            let two_rows = |matrix: &M| -> Vec<PackedVal> {
                matrix
                    .vertically_packed_row(start)
                    .chain(matrix.vertically_packed_row(start + next_step))
                    .collect()
            };
            let main = two_rows(inputs.main);
            let preprocessed = inputs.preprocessed.map(two_rows).unwrap_or_default();
            let aux: Vec<PackedChallenge> = inputs
                .aux
                .map(|aux| {
                    two_rows(aux)
                        .chunks_exact(dimension)
                        .map(|coordinates| {
                            PackedChallenge::from_basis_coefficients_fn(|d| coordinates[d])
                        })
                        .collect()
                })
                .unwrap_or_default();
            let (main_half, pre_half, aux_half) =
                (main.len() / 2, preprocessed.len() / 2, aux.len() / 2);

            let mut folder = ProverFolder {
                main: RowWindow::from_two_rows(&main[..main_half], &main[main_half..]),
                preprocessed: RowWindow::from_two_rows(
                    &preprocessed[..pre_half],
                    &preprocessed[pre_half..],
                ),
                public_values: inputs.public_values,
                is_first_row: pack(&selectors.is_first_row),
                is_last_row: pack(&selectors.is_last_row),
                is_transition: pack(&selectors.is_transition),
                permutation: RowWindow::from_two_rows(&aux[..aux_half], &aux[aux_half..]),
                permutation_challenges: &packed_challenges,
                permutation_values: &packed_terminal,
                base_constraints: Vec::with_capacity(info.base_constraint_indices.len()),
                ext_constraints: Vec::with_capacity(info.ext_constraint_indices.len()),
            };
            gadget.eval_air_and_lookups(table, &mut folder, &info.lookups);
            let quotient =
                folder.finalize(&base_powers, &ext_powers) * pack(&selectors.inv_vanishing);
            for (lane, slot) in out.iter_mut().enumerate() {
                *slot = quotient.extract(lane);
            }
        });
    values
}
