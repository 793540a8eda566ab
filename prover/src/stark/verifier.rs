//! Verification of a segment proof.

use p3_air::RowWindow;
use p3_commit::{CommitmentOpening, Pcs as PcsTrait, PolynomialSpace};
use p3_field::{ExtensionField, Field, PrimeCharacteristicRing};
use p3_lookup::{LogUpGadget, LookupProtocol, check_multiplicity_height_bound};

use super::builders::VerifierFolder;
use super::challenges::{
    LookupChallenges, ProofChallenges, derive_lookup_challenges, local_lookup_count,
    sample_local_pairs, table_challenges,
};
use super::config::{
    Challenge, Challenger, Domain, Pcs, Val, digest_commitment, pcs, trace_domain,
};
use super::errors::VerifyError;
use super::keys::{MIN_TABLE_LOG_HEIGHT, VerifyingKey};
use super::params::ParamSet;
use super::proof::{ProofBody, SegmentProof, TableOpening};
use super::table::{Table, TableInfo};
use super::transcript::{Statement, begin, observe_challenge, observe_digest, sample_challenge};

/// What a valid proof establishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The phase-1 commitment the proof is bound to.
    pub main_commitment: [u8; 32],
    /// Sum of every table's LogUp terminal: the in-segment contribution to all buses. The
    /// caller adds external messages ([`crate::stark::bus_fraction`]) and, for a single
    /// segment, requires the total to be zero. Proof-scoped buses are in the sum too (they
    /// cannot be separated per table); an honest proof's are zero, and a sum over proofs
    /// with distinct statements is zero only if each proof's are (docs/soundness.md).
    pub bus_sum: Challenge,
}

/// Verifies `proof` against the key, the tables' code, the public values and the global
/// challenge, refusing proofs made with a parameter set weaker than `min_params`.
pub fn verify<T: Table>(
    vk: &VerifyingKey,
    tables: &[T],
    proof: &SegmentProof,
    public_values: &[Val],
    global_challenge: &[u8],
    min_params: ParamSet,
) -> Result<Verified, VerifyError> {
    if !proof.params.is_at_least(min_params) {
        return Err(VerifyError::WeakParameters {
            proof: proof.params,
            min: min_params,
        });
    }
    if proof.params != vk.params() {
        return Err(VerifyError::ParamSetMismatch {
            proof: proof.params,
            key: vk.params(),
        });
    }
    let infos = vk.check_tables(tables)?;
    if public_values.len() != vk.num_public_values() {
        return Err(VerifyError::PublicValueCount {
            expected: vk.num_public_values(),
            found: public_values.len(),
        });
    }
    let body = &proof.body;
    let heights = check_shape(vk, &infos, body)?;
    let lookups: Vec<_> = infos.iter().map(|info| info.lookups.clone()).collect();
    check_multiplicity_height_bound(&lookups, &heights).map_err(|e| {
        VerifyError::MultiplicityBound {
            detail: e.to_string(),
        }
    })?;

    let pcs = pcs(vk.params());
    let domains: Vec<Domain> = heights.iter().map(|&h| trace_domain(&pcs, h)).collect();

    // Replay the transcript.
    let mut challenger = begin(&Statement {
        params: proof.params,
        vk_digest: vk.digest_elements(),
        log_heights: &body.log_heights,
        main_commitment: &body.main_commitment,
        public_values,
        global_challenge,
    });
    let sources = ProofChallenges {
        vk,
        global: derive_lookup_challenges(global_challenge),
        scoped: LookupChallenges::proof_scoped(&challenger),
    };
    let mut local_pairs =
        sample_local_pairs(&mut challenger, local_lookup_count(&infos)).into_iter();
    let challenges: Vec<Vec<Challenge>> = infos
        .iter()
        .map(|info| table_challenges(info, &sources, &mut local_pairs))
        .collect();
    if let Some(digest) = &body.aux_commitment {
        observe_digest(&mut challenger, digest);
    }
    for terminal in body.terminals.iter().flatten() {
        observe_challenge(&mut challenger, terminal);
    }
    let alpha = sample_challenge(&mut challenger);
    observe_digest(&mut challenger, &body.quotient_commitment);
    let zeta = sample_challenge(&mut challenger);
    if domains
        .iter()
        .any(|domain| domain.vanishing_poly_at_point(zeta).is_zero())
    {
        return Err(VerifyError::DegenerateChallenge);
    }

    // The openings, in the prover's round order: main, LogUp, quotient, preprocessed.
    let quotient_domains: Vec<Vec<Domain>> = infos
        .iter()
        .zip(&domains)
        .map(|(info, domain)| {
            domain
                .create_disjoint_domain(domain.size() << info.log_quotient_chunks)
                .split_domains(info.quotient_chunks())
        })
        .collect();
    let next = |domain: &Domain| {
        domain
            .next_point(zeta)
            .expect("two-adic domains have a next point")
    };
    let pair = |domain: &Domain, local: &[Challenge], next_values: &[Challenge]| {
        (
            *domain,
            vec![(zeta, local.to_vec()), (next(domain), next_values.to_vec())],
        )
    };
    let mut claims: Vec<CommitmentOpening<Challenge, _, Domain>> = Vec::new();
    claims.push(
        (
            digest_commitment(body.main_commitment),
            domains
                .iter()
                .zip(&body.openings)
                .map(|(d, o)| pair(d, &o.main_local, &o.main_next))
                .collect::<Vec<_>>(),
        )
            .into(),
    );
    if let Some(digest) = body.aux_commitment {
        let matrices = domains
            .iter()
            .zip(&body.openings)
            .zip(&infos)
            .filter(|(_, info)| !info.lookups.is_empty())
            .map(|((d, o), _)| pair(d, &o.aux_local, &o.aux_next))
            .collect::<Vec<_>>();
        claims.push((digest_commitment(digest), matrices).into());
    }
    let quotient_matrices = quotient_domains
        .iter()
        .zip(&body.openings)
        .flat_map(|(chunk_domains, o)| {
            chunk_domains
                .iter()
                .zip(&o.quotient_chunks)
                .map(|(d, values)| (*d, vec![(zeta, values.clone())]))
        })
        .collect::<Vec<_>>();
    claims.push(
        (
            digest_commitment(body.quotient_commitment),
            quotient_matrices,
        )
            .into(),
    );
    if let Some(digest) = vk.preprocessed_digest() {
        let matrices = domains
            .iter()
            .zip(&body.openings)
            .zip(vk.tables())
            .filter(|(_, shape)| shape.preprocessed_log_height.is_some())
            .map(|((d, o), _)| pair(d, &o.preprocessed_local, &o.preprocessed_next))
            .collect::<Vec<_>>();
        claims.push((digest_commitment(digest), matrices).into());
    }
    <Pcs as PcsTrait<Challenge, Challenger>>::verify(
        &pcs,
        claims,
        &body.opening_proof,
        &mut challenger,
    )
    .map_err(|e| VerifyError::Opening {
        detail: format!("{e:?}"),
    })?;

    // Constraints at zeta against the quotient, table by table.
    for (index, ((table, info), opening)) in
        tables.iter().zip(&infos).zip(&body.openings).enumerate()
    {
        let folded = fold_constraints(
            table,
            info,
            opening,
            &domains[index],
            zeta,
            alpha,
            public_values,
            &challenges[index],
            body.terminals[index],
        );
        let quotient = recompose_quotient(&quotient_domains[index], &opening.quotient_chunks, zeta);
        if folded * domains[index].vanishing_poly_at_point(zeta).inverse() != quotient {
            return Err(VerifyError::OodMismatch { table: index });
        }
    }

    Ok(Verified {
        main_commitment: proof.main_commitment(),
        bus_sum: body.terminals.iter().flatten().copied().sum(),
    })
}

/// Checks every count and width in the proof against the key; returns the table heights.
fn check_shape(
    vk: &VerifyingKey,
    infos: &[TableInfo],
    body: &ProofBody,
) -> Result<Vec<usize>, VerifyError> {
    let tables = infos.len();
    let shape = |table, what| VerifyError::InvalidShape { table, what };
    if body.log_heights.len() != tables {
        return Err(shape(None, "table height count"));
    }
    if body.terminals.len() != tables || body.openings.len() != tables {
        return Err(shape(None, "per-table entry count"));
    }
    let any_lookups = infos.iter().any(|info| !info.lookups.is_empty());
    if body.aux_commitment.is_some() != any_lookups {
        return Err(shape(None, "LogUp commitment presence"));
    }
    let max_log_height = vk.params().max_table_log_height();
    let dimension = <Challenge as p3_field::BasedVectorSpace<Val>>::DIMENSION;
    let mut heights = Vec::with_capacity(tables);
    for (index, ((info, table_shape), (&log_height, opening))) in infos
        .iter()
        .zip(vk.tables())
        .zip(body.log_heights.iter().zip(&body.openings))
        .enumerate()
    {
        let log_height = usize::from(log_height);
        if log_height < MIN_TABLE_LOG_HEIGHT
            || log_height > max_log_height
            || table_shape
                .preprocessed_log_height
                .is_some_and(|fixed| fixed != log_height)
        {
            return Err(VerifyError::TableHeight {
                table: index,
                log_height,
            });
        }
        heights.push(1 << log_height);
        if body.terminals[index].is_some() == info.lookups.is_empty() {
            return Err(shape(Some(index), "LogUp terminal presence"));
        }
        if !opening_shape_ok(opening, info, dimension) {
            return Err(shape(Some(index), "opened values"));
        }
    }
    Ok(heights)
}

fn opening_shape_ok(opening: &TableOpening, info: &TableInfo, dimension: usize) -> bool {
    let aux_width = info.aux_width() * dimension;
    opening.main_local.len() == info.main_width
        && opening.main_next.len() == info.main_width
        && opening.preprocessed_local.len() == info.preprocessed_width
        && opening.preprocessed_next.len() == info.preprocessed_width
        && opening.aux_local.len() == aux_width
        && opening.aux_next.len() == aux_width
        && opening.quotient_chunks.len() == info.quotient_chunks()
        && opening
            .quotient_chunks
            .iter()
            .all(|chunk| chunk.len() == dimension)
}

/// Every constraint of a table at `zeta`, folded with `alpha`.
#[allow(clippy::too_many_arguments)]
fn fold_constraints<T: Table>(
    table: &T,
    info: &TableInfo,
    opening: &TableOpening,
    domain: &Domain,
    zeta: Challenge,
    alpha: Challenge,
    public_values: &[Val],
    lookup_challenges: &[Challenge],
    terminal: Option<Challenge>,
) -> Challenge {
    let selectors = domain.selectors_at_point(zeta);
    let to_ext = |flat: &[Challenge]| -> Vec<Challenge> {
        flat.chunks_exact(4)
            .map(|coordinates| {
                <Challenge as ExtensionField<Val>>::from_ext_basis_coefficients(coordinates)
                    .expect("chunks of the dimension")
            })
            .collect()
    };
    let aux_local = to_ext(&opening.aux_local);
    let aux_next = to_ext(&opening.aux_next);
    let terminals: Vec<Challenge> = terminal.into_iter().collect();
    let mut folder = VerifierFolder {
        main: RowWindow::from_two_rows(&opening.main_local, &opening.main_next),
        preprocessed: RowWindow::from_two_rows(
            &opening.preprocessed_local,
            &opening.preprocessed_next,
        ),
        public_values,
        is_first_row: selectors.is_first_row,
        is_last_row: selectors.is_last_row,
        is_transition: selectors.is_transition,
        permutation: RowWindow::from_two_rows(&aux_local, &aux_next),
        permutation_challenges: lookup_challenges,
        permutation_values: &terminals,
        alpha,
        accumulator: Challenge::ZERO,
    };
    LogUpGadget::new().eval_air_and_lookups(table, &mut folder, &info.lookups);
    folder.accumulator
}

/// The quotient at `zeta` from its chunks' values (Lagrange interpolation over the chunk
/// cosets, as in Plonky3's uni-stark).
fn recompose_quotient(
    chunk_domains: &[Domain],
    chunks: &[Vec<Challenge>],
    zeta: Challenge,
) -> Challenge {
    chunk_domains
        .iter()
        .zip(chunks)
        .enumerate()
        .map(|(i, (domain, chunk))| {
            let weight: Challenge = chunk_domains
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, other)| {
                    other.vanishing_poly_at_point(zeta)
                        * other
                            .vanishing_poly_at_point(domain.first_point())
                            .inverse()
                })
                .product();
            weight
                * <Challenge as ExtensionField<Val>>::from_ext_basis_coefficients(chunk)
                    .expect("chunk length checked")
        })
        .sum()
}
