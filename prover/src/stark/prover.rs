//! Phase 2: LogUp traces under the global challenge, quotient, openings, FRI.

use p3_commit::{OpeningRequest, Pcs as PcsTrait, PolynomialSpace};
use p3_lookup::{LogUpGadget, LookupProtocol, check_multiplicity_height_bound};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_maybe_rayon::prelude::*;

use super::challenges::{
    BusMessage, LookupChallenges, ProofChallenges, derive_lookup_challenges, local_lookup_count,
    sample_local_pairs, table_challenges,
};
use super::check::{TraceView, check_buses, check_constraints, check_exclusive_flags};
use super::config::{Challenge, Challenger, Domain, Pcs, Val, commit, commitment_digest};
use super::errors::ProveError;
use super::keys::ProvingKey;
use super::phase1::Phase1;
use super::proof::{ProofBody, SegmentProof, TableOpening};
use super::quotient::{QuotientInputs, quotient_values};
use super::table::Table;
use super::transcript::{Statement, begin, observe_challenge, observe_digest, sample_challenge};

/// How much checking precedes proving.
#[derive(Clone, Copy, Debug)]
pub enum ProveMode<'a> {
    /// Check every constraint on every row, every local lookup, and every global bus
    /// balanced once the given external messages (public input, segment boundaries) are
    /// added; refuse with a typed error instead of proving a false statement.
    Checked {
        /// Messages the verifier will add with [`crate::stark::bus_fraction`].
        external: &'a [BusMessage],
    },
    /// Like `Checked` but without the global-bus balance, for segments whose buses only
    /// balance together with other segments.
    CheckedConstraintsOnly,
    /// Prove whatever the traces say (negative tests: the verifier must reject).
    Unchecked,
}

/// Builds the LogUp columns with challenges derived from `global_challenge`, commits them,
/// computes and commits the quotient, opens everything at a random point and runs FRI.
pub fn prove_phase2<T: Table>(
    pk: &ProvingKey<T>,
    phase1: Phase1<T>,
    global_challenge: &[u8],
    mode: ProveMode<'_>,
) -> Result<SegmentProof, ProveError> {
    if phase1.vk_digest != *pk.vk.digest_elements() {
        return Err(ProveError::KeyMismatch);
    }
    let infos = &pk.infos;
    let views: Vec<TraceView<'_>> = phase1
        .traces
        .iter()
        .zip(&pk.preprocessed_traces)
        .map(|(main, preprocessed)| TraceView {
            main,
            preprocessed: preprocessed.as_ref(),
            public_values: &phase1.public_values,
        })
        .collect();
    for (index, (info, view)) in infos.iter().zip(&views).enumerate() {
        check_exclusive_flags(index, info, view)?;
    }
    let heights: Vec<usize> = phase1.traces.iter().map(Matrix::height).collect();
    match mode {
        ProveMode::Unchecked => {}
        ProveMode::Checked { .. } | ProveMode::CheckedConstraintsOnly => {
            for (index, (table, view)) in pk.tables.iter().zip(&views).enumerate() {
                check_constraints(index, table, view)?;
            }
            let lookups: Vec<_> = infos.iter().map(|info| info.lookups.clone()).collect();
            check_multiplicity_height_bound(&lookups, &heights).map_err(|e| {
                ProveError::MultiplicityBound {
                    detail: e.to_string(),
                }
            })?;
            let external = match mode {
                ProveMode::Checked { external } => Some(external),
                _ => None,
            };
            check_buses(&pk.vk, infos, &views, external)?;
        }
    }

    let pcs = &pk.pcs;
    let params = pk.vk.params();
    let domains: Vec<Domain> = heights
        .iter()
        .map(|&height| super::config::trace_domain(pcs, height))
        .collect();

    // Step 1-2 of the transcript.
    let mut challenger = begin(&Statement {
        params,
        vk_digest: pk.vk.digest_elements(),
        log_heights: &phase1.log_heights,
        main_commitment: &phase1.main_commitment,
        public_values: &phase1.public_values,
        global_challenge,
    });
    let sources = ProofChallenges {
        vk: &pk.vk,
        global: derive_lookup_challenges(global_challenge),
        scoped: LookupChallenges::proof_scoped(&challenger),
    };
    let local_pairs = sample_local_pairs(&mut challenger, local_lookup_count(infos));
    let mut local_pairs = local_pairs.into_iter();
    let challenges: Vec<Vec<Challenge>> = infos
        .iter()
        .map(|info| table_challenges(info, &sources, &mut local_pairs))
        .collect();

    // LogUp traces: accumulator plus one fraction column per lookup, per table.
    let gadget = LogUpGadget::new();
    let generated: Vec<(RowMajorMatrix<Challenge>, Option<Challenge>)> = infos
        .par_iter()
        .zip(views.par_iter())
        .zip(challenges.par_iter())
        .map(|((info, view), table_challenges)| {
            let (aux, terminal) = gadget.generate_permutation::<Val, Challenge>(
                view.main,
                &view.preprocessed.cloned(),
                view.public_values,
                &info.lookups,
                table_challenges,
            );
            (aux, terminal.map(|t| t.0))
        })
        .collect();
    let terminals: Vec<Option<Challenge>> = generated.iter().map(|(_, t)| *t).collect();
    // Table index -> matrix index in the LogUp commitment.
    let mut aux_index = vec![None; infos.len()];
    let mut aux_inputs = Vec::new();
    for (index, (aux, _)) in generated.into_iter().enumerate() {
        if infos[index].lookups.is_empty() {
            continue;
        }
        aux_index[index] = Some(aux_inputs.len());
        aux_inputs.push((domains[index], aux.flatten_to_base::<Val>()));
    }
    let aux_committed = if aux_inputs.is_empty() {
        None
    } else {
        Some(commit(pcs, aux_inputs).map_err(|source| ProveError::Pcs {
            phase: "LogUp traces",
            source,
        })?)
    };

    // Step 3-4.
    if let Some((commitment, _)) = &aux_committed {
        observe_digest(&mut challenger, &commitment_digest(commitment));
    }
    for terminal in terminals.iter().flatten() {
        observe_challenge(&mut challenger, terminal);
    }
    let alpha = sample_challenge(&mut challenger);

    // Quotients, split into chunks of the trace size.
    let quotient_parts: Vec<Vec<(Domain, RowMajorMatrix<Val>)>> = pk
        .tables
        .par_iter()
        .enumerate()
        .map(|(index, table)| {
            let info = &infos[index];
            let trace_domain = domains[index];
            let quotient_domain =
                trace_domain.create_disjoint_domain(heights[index] << info.log_quotient_chunks);
            let main = pcs_evaluations(pcs, &phase1.main_data, index, quotient_domain);
            let preprocessed = pk.preprocessed_index[index].map(|matrix| {
                let data = pk.preprocessed_data.as_ref().expect("index implies data");
                pcs_evaluations(pcs, data, matrix, quotient_domain)
            });
            let aux = aux_index[index].map(|matrix| {
                let (_, data) = aux_committed.as_ref().expect("index implies commitment");
                pcs_evaluations(pcs, data, matrix, quotient_domain)
            });
            let values = quotient_values(
                table,
                info,
                &QuotientInputs {
                    trace_domain,
                    quotient_domain,
                    main: &main,
                    preprocessed: preprocessed.as_ref(),
                    aux: aux.as_ref(),
                    public_values: &phase1.public_values,
                    lookup_challenges: &challenges[index],
                    terminal: terminals[index],
                    alpha,
                },
            );
            let flat = RowMajorMatrix::new_col(values).flatten_to_base::<Val>();
            let chunks = info.quotient_chunks();
            quotient_domain
                .split_domains(chunks)
                .into_iter()
                .zip(quotient_domain.split_evals(chunks, flat))
                .collect()
        })
        .collect();
    let quotient_inputs: Vec<_> = quotient_parts.into_iter().flatten().collect();
    let (quotient_commitment, quotient_data) =
        commit(pcs, quotient_inputs).map_err(|source| ProveError::Pcs {
            phase: "quotient",
            source,
        })?;

    // Step 5.
    observe_digest(&mut challenger, &commitment_digest(&quotient_commitment));
    let zeta = sample_challenge(&mut challenger);
    let both = |domain: &Domain| -> Vec<Challenge> {
        vec![
            zeta,
            domain
                .next_point(zeta)
                .expect("two-adic domains have a next point"),
        ]
    };

    // Step 6: rounds in the order main, LogUp, quotient, preprocessed.
    let mut rounds: Vec<OpeningRequest<'_, _, Challenge>> = Vec::new();
    rounds.push((&phase1.main_data, domains.iter().map(both).collect()).into());
    if let Some((_, data)) = &aux_committed {
        let points = domains
            .iter()
            .zip(infos)
            .filter(|(_, info)| !info.lookups.is_empty())
            .map(|(domain, _)| both(domain))
            .collect();
        rounds.push((data, points).into());
    }
    let quotient_points = infos
        .iter()
        .flat_map(|info| (0..info.quotient_chunks()).map(|_| vec![zeta]))
        .collect();
    rounds.push((&quotient_data, quotient_points).into());
    if let Some(data) = &pk.preprocessed_data {
        let points = domains
            .iter()
            .zip(&pk.preprocessed_index)
            .filter(|(_, matrix)| matrix.is_some())
            .map(|(domain, _)| both(domain))
            .collect();
        rounds.push((data, points).into());
    }
    let (opened, opening_proof) =
        <Pcs as PcsTrait<Challenge, Challenger>>::open(pcs, rounds, &mut challenger).map_err(
            |source| ProveError::Pcs {
                phase: "opening",
                source,
            },
        )?;

    // Regroup the opened values per table.
    let mut rounds = opened.into_iter();
    let main_round = rounds.next().expect("main round");
    let aux_round = aux_committed
        .as_ref()
        .map(|_| rounds.next().expect("LogUp round"));
    let quotient_round = rounds.next().expect("quotient round");
    let preprocessed_round = pk
        .preprocessed_data
        .as_ref()
        .map(|_| rounds.next().expect("preprocessed round"));
    let mut quotient_matrices = quotient_round.into_iter();
    let openings = infos
        .iter()
        .enumerate()
        .map(|(index, info)| {
            let pair = |points: &Vec<Vec<Challenge>>| (points[0].clone(), points[1].clone());
            let (main_local, main_next) = pair(&main_round[index]);
            let (preprocessed_local, preprocessed_next) = pk.preprocessed_index[index]
                .map(|matrix| pair(&preprocessed_round.as_ref().expect("round")[matrix]))
                .unwrap_or_default();
            let (aux_local, aux_next) = aux_index[index]
                .map(|matrix| pair(&aux_round.as_ref().expect("round")[matrix]))
                .unwrap_or_default();
            let quotient_chunks = (0..info.quotient_chunks())
                .map(|_| quotient_matrices.next().expect("chunk")[0].clone())
                .collect();
            TableOpening {
                main_local,
                main_next,
                preprocessed_local,
                preprocessed_next,
                aux_local,
                aux_next,
                quotient_chunks,
            }
        })
        .collect();

    Ok(SegmentProof {
        params,
        body: ProofBody {
            log_heights: phase1.log_heights,
            main_commitment: phase1.main_commitment,
            aux_commitment: aux_committed.as_ref().map(|(c, _)| commitment_digest(c)),
            quotient_commitment: commitment_digest(&quotient_commitment),
            terminals,
            openings,
            opening_proof,
        },
    })
}

/// The committed matrix `index` of `data` evaluated on `domain`.
fn pcs_evaluations<'a>(
    pcs: &Pcs,
    data: &'a super::config::PcsProverData,
    index: usize,
    domain: Domain,
) -> impl Matrix<Val> + 'a {
    <Pcs as p3_commit::UnivariateStarkPcs<Challenge, Challenger>>::get_evaluations_on_domain(
        pcs, data, index, domain,
    )
}
