//! The constraint builders the framework evaluates tables with.
//!
//! Every builder here implements [`p3_lookup::InteractionBuilder`] with `F = Val`, so an AIR
//! written as `impl<AB: InteractionBuilder<F = Val>> Air<AB> for MyTable` runs on all of
//! them. Bus interactions are recorded only by the symbolic builder
//! ([`SymbolicBuilder`], Plonky3's `InteractionSymbolicBuilder`), from which the framework
//! extracts `p3_lookup::Lookups` once at setup; the folders below ignore them and enforce
//! the extracted lookups through `p3_lookup::LogUpGadget` instead.
//!
//! - [`ProverFolder`]: packed evaluation on the quotient domain (prover).
//! - [`VerifierFolder`]: evaluation at the out-of-domain point (verifier).
//! - [`RowCheckFolder`]: evaluation on one trace row, recording the first failing
//!   constraint ([`crate::stark::ProveMode::Checked`]).

mod prover;
mod row_check;
mod verifier;

pub use prover::ProverFolder;
pub use row_check::RowCheckFolder;
pub use verifier::VerifierFolder;

use super::config::{Challenge, Val};

/// The symbolic builder used to extract constraints, degrees and lookups.
pub type SymbolicBuilder = p3_lookup::InteractionSymbolicBuilder<Val, Challenge>;

/// Implements [`p3_lookup::InteractionBuilder`] as a no-op that drains its arguments.
macro_rules! ignore_interactions {
    ($folder:ident) => {
        impl p3_lookup::InteractionBuilder for $folder<'_> {
            fn push_interaction<E: Into<Self::Expr>>(
                &mut self,
                _bus_name: &str,
                fields: impl IntoIterator<Item = E>,
                _count: impl Into<p3_lookup::Count<Self::Expr>>,
            ) {
                fields.into_iter().for_each(drop);
            }

            fn push_local_interaction(
                &mut self,
                tuples: impl IntoIterator<Item = (Vec<Self::Expr>, p3_lookup::Count<Self::Expr>)>,
            ) {
                tuples.into_iter().for_each(drop);
            }
        }
    };
}
pub(crate) use ignore_interactions;
