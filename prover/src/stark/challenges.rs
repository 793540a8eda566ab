//! LogUp challenges: derived from the global challenge alone, one independent pair per bus.
//!
//! A message `(f_0, ..., f_{k-1})` with multiplicity `m` on bus `b` contributes
//!
//! ```text
//!     m / (alpha_b - (f_0 * beta_b^(k-1) + ... + f_{k-2} * beta_b + f_{k-1}))
//! ```
//!
//! to the bus sum, where `(alpha_b, beta_b)` is drawn from a Poseidon2 duplex challenger
//! that has absorbed a domain tag, the global challenge bytes and the bus name. Every
//! segment of one execution derives the same pairs, so their bus sums add up across
//! segments; pairs of different buses are independent, so buses never mix. A send has
//! `m = +1`, a receive `m = -1` (Plonky3's `Count` convention).
//!
//! That holds for [`BusScope::Execution`](super::keys::BusScope) buses. A
//! [`BusScope::Proof`](super::keys::BusScope) bus draws its pair from a challenger that has
//! also absorbed the proof's statement (verifying key, heights, phase-1 commitment, public
//! values, global challenge): proofs with different statements use independent pairs, so
//! such a bus can only balance inside each proof.

use std::collections::BTreeMap;

use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::Kind;

use super::config::{Challenge, Challenger, Val, new_challenger};
use super::keys::{BusScope, VerifyingKey};
use super::table::TableInfo;
use super::transcript::{observe_bytes, sample_challenge};

/// Domain tag of the lookup-challenge derivation.
const LOOKUP_TAG: &[u8] = b"zisk/segment-stark/lookup-challenges/v1";

/// Domain tag of the proof-scoped derivation, absorbed after the proof's statement.
const PROOF_SCOPE_TAG: &[u8] = b"zisk/segment-stark/proof-scoped-bus-challenges/v1";

/// The challenge pair of one bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusChallenges {
    /// Denominator offset `alpha_b`.
    pub alpha: Challenge,
    /// Field combiner `beta_b`.
    pub beta: Challenge,
}

/// Source of every bus's challenge pair, derived from a global challenge by
/// [`derive_lookup_challenges`].
#[derive(Clone, Debug)]
pub struct LookupChallenges {
    /// The challenger after absorbing the tag and the global challenge.
    seeded: Challenger,
}

/// Derives the lookup challenges from the global challenge bytes, and from nothing else.
#[must_use]
pub fn derive_lookup_challenges(global_challenge: &[u8]) -> LookupChallenges {
    let mut seeded = new_challenger();
    observe_bytes(&mut seeded, LOOKUP_TAG);
    observe_bytes(&mut seeded, global_challenge);
    LookupChallenges { seeded }
}

impl LookupChallenges {
    /// The source of proof-scoped pairs: `transcript` has observed the proof's statement.
    pub(crate) fn proof_scoped(transcript: &Challenger) -> Self {
        let mut seeded = transcript.clone();
        observe_bytes(&mut seeded, PROOF_SCOPE_TAG);
        Self { seeded }
    }

    /// The pair of the bus named `bus`.
    #[must_use]
    pub fn bus(&self, bus: &str) -> BusChallenges {
        let mut challenger = self.seeded.clone();
        observe_bytes(&mut challenger, bus.as_bytes());
        let alpha = sample_challenge(&mut challenger);
        let beta = sample_challenge(&mut challenger);
        BusChallenges { alpha, beta }
    }
}

/// One message outside every table (public input, segment boundary), added by the verifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusMessage {
    /// Bus name, as the tables use it.
    pub bus: String,
    /// The message fields; as many as the bus's width.
    pub fields: Vec<Val>,
    /// `+1` (`Val::ONE`) to send, `-1` (`Val::NEG_ONE`) to receive, or any count.
    pub multiplicity: Val,
}

impl BusMessage {
    /// A message sent once.
    #[must_use]
    pub fn send(bus: &str, fields: Vec<Val>) -> Self {
        Self {
            bus: bus.to_owned(),
            fields,
            multiplicity: Val::ONE,
        }
    }

    /// A message received once.
    #[must_use]
    pub fn receive(bus: &str, fields: Vec<Val>) -> Self {
        Self {
            bus: bus.to_owned(),
            fields,
            multiplicity: Val::NEG_ONE,
        }
    }
}

/// The contribution of a message to a bus sum, exactly as if a table row had pushed it.
///
/// A zero denominator (probability about `2^-123` for a message fixed before the global
/// challenge) contributes zero.
pub fn bus_fraction(
    challenges: &LookupChallenges,
    bus: &str,
    fields: &[Val],
    multiplicity: Val,
) -> Challenge {
    fraction(&challenges.bus(bus), fields, multiplicity)
}

/// The sum of [`bus_fraction`] over `messages`.
pub fn external_bus_sum(challenges: &LookupChallenges, messages: &[BusMessage]) -> Challenge {
    let mut pairs: BTreeMap<&str, BusChallenges> = BTreeMap::new();
    messages
        .iter()
        .map(|message| {
            let pair = *pairs
                .entry(message.bus.as_str())
                .or_insert_with(|| challenges.bus(&message.bus));
            fraction(&pair, &message.fields, message.multiplicity)
        })
        .sum()
}

fn fraction(pair: &BusChallenges, fields: &[Val], multiplicity: Val) -> Challenge {
    // Horner's rule, as p3-lookup's LogUpGadget combines a tuple.
    let combined = fields
        .iter()
        .fold(Challenge::ZERO, |acc, &field| acc * pair.beta + field);
    (pair.alpha - combined)
        .try_inverse()
        .map_or(Challenge::ZERO, |inverse| inverse * multiplicity)
}

/// Where the pairs of one proof come from.
pub(crate) struct ProofChallenges<'a> {
    /// The key: which buses are execution-scoped.
    pub(crate) vk: &'a VerifyingKey,
    /// Execution-scoped pairs.
    pub(crate) global: LookupChallenges,
    /// Proof-scoped pairs.
    pub(crate) scoped: LookupChallenges,
}

/// The challenge vector p3-lookup's gadget reads for one table: `[alpha, beta]` per lookup
/// column, the bus pair for a global lookup (execution- or proof-scoped as the key says) and
/// the next pair of `local` for a local one.
pub(crate) fn table_challenges(
    info: &TableInfo,
    sources: &ProofChallenges<'_>,
    local: &mut impl Iterator<Item = BusChallenges>,
) -> Vec<Challenge> {
    info.lookups
        .iter()
        .flat_map(|lookup| {
            let pair = match &lookup.kind {
                Kind::Global(bus) => match sources.vk.bus_scope(bus) {
                    Some(BusScope::Execution) => sources.global.bus(bus),
                    _ => sources.scoped.bus(bus),
                },
                Kind::Local => local.next().expect("one sampled pair per local lookup"),
            };
            [pair.alpha, pair.beta]
        })
        .collect()
}

/// Number of local lookups over all tables (each takes a pair from the proof transcript).
pub(crate) fn local_lookup_count(infos: &[TableInfo]) -> usize {
    infos
        .iter()
        .flat_map(|info| info.lookups.iter())
        .filter(|lookup| lookup.kind == Kind::Local)
        .count()
}

/// Draws the pairs of every local lookup from the proof transcript.
pub(crate) fn sample_local_pairs(challenger: &mut Challenger, count: usize) -> Vec<BusChallenges> {
    (0..count)
        .map(|_| {
            let alpha = sample_challenge(challenger);
            let beta = sample_challenge(challenger);
            BusChallenges { alpha, beta }
        })
        .collect()
}
