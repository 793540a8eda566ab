//! The [`Table`] bound and what the framework learns about a table by evaluating it
//! symbolically.

use p3_air::symbolic::AirLayout;
use p3_air::{Air, BaseAir};
use p3_lookup::{LogUpGadget, LookupProtocol, Lookups, check_bus_widths};
use p3_util::log2_ceil_usize;

use super::builders::{ProverFolder, RowCheckFolder, SymbolicBuilder, VerifierFolder};
use super::config::{Challenge, Val};
use super::errors::SetupError;

/// Highest constraint degree a table may have, lookup constraints included: a selector times
/// a degree-2 expression. It keeps the quotient at two chunks.
pub const MAX_CONSTRAINT_DEGREE: usize = 3;

/// Any AIR the framework can prove: one that evaluates on every framework builder.
///
/// Write tables generically over the builder and they qualify through the blanket impl:
///
/// ```ignore
/// impl<AB: p3_lookup::InteractionBuilder<F = Val>> Air<AB> for MyTable { ... }
/// ```
///
/// An enum of tables qualifies the same way when its `eval` dispatches to the variants.
pub trait Table:
    BaseAir<Val>
    + Air<SymbolicBuilder>
    + for<'a> Air<ProverFolder<'a>>
    + for<'a> Air<VerifierFolder<'a>>
    + for<'a> Air<RowCheckFolder<'a>>
    + Sync
{
}

impl<T> Table for T where
    T: BaseAir<Val>
        + Air<SymbolicBuilder>
        + for<'a> Air<ProverFolder<'a>>
        + for<'a> Air<VerifierFolder<'a>>
        + for<'a> Air<RowCheckFolder<'a>>
        + Sync
{
}

/// What the framework derives from one table (identically at setup, proving and verifying).
#[derive(Debug)]
pub(crate) struct TableInfo {
    pub(crate) main_width: usize,
    pub(crate) preprocessed_width: usize,
    pub(crate) num_public_values: usize,
    /// The table's lookups, same-bus interactions packed into shared columns.
    pub(crate) lookups: Lookups<Val>,
    /// Highest degree over the AIR's constraints and the LogUp constraints.
    pub(crate) constraint_degree: usize,
    pub(crate) log_quotient_chunks: usize,
    /// Emission order of the base- and extension-field constraints.
    pub(crate) base_constraint_indices: Vec<usize>,
    pub(crate) ext_constraint_indices: Vec<usize>,
}

impl TableInfo {
    /// Evaluates `table` symbolically. `index` only names the table in errors.
    pub(crate) fn derive<T: Table>(index: usize, table: &T) -> Result<Self, SetupError> {
        if table.num_periodic_columns() != 0 {
            return Err(SetupError::PeriodicColumns { table: index });
        }
        if !table.public_boundary_io().is_empty() {
            return Err(SetupError::BoundaryIo { table: index });
        }
        let unpacked = Lookups::<Val>::from_air::<Challenge, T>(table);
        check_bus_widths(std::slice::from_ref(&unpacked)).map_err(|e| SetupError::BusWidth {
            detail: e.to_string(),
        })?;
        let gadget = LogUpGadget::new();
        let lookups = unpacked.pack_same_bus(&gadget, MAX_CONSTRAINT_DEGREE);

        let layout = AirLayout {
            preprocessed_width: table.preprocessed_width(),
            main_width: table.width(),
            num_public_values: table.num_public_values(),
            permutation_width: if lookups.is_empty() {
                0
            } else {
                lookups.len() + 1
            },
            num_permutation_challenges: lookups.len() * gadget.num_challenges(),
            num_permutation_values: usize::from(!lookups.is_empty()),
            num_periodic_columns: 0,
        };
        let mut builder = SymbolicBuilder::new(layout);
        gadget.eval_air_and_lookups(table, &mut builder, &lookups);
        let constraint_degree = builder
            .base_constraints()
            .iter()
            .map(|c| c.degree_multiple())
            .chain(
                builder
                    .extension_constraints()
                    .iter()
                    .map(|c| c.degree_multiple()),
            )
            .max()
            .unwrap_or(0);
        if constraint_degree > MAX_CONSTRAINT_DEGREE {
            return Err(SetupError::DegreeTooHigh {
                table: index,
                degree: constraint_degree,
                max: MAX_CONSTRAINT_DEGREE,
            });
        }
        let constraint_layout = builder.constraint_layout();
        Ok(Self {
            main_width: table.width(),
            preprocessed_width: table.preprocessed_width(),
            num_public_values: table.num_public_values(),
            lookups,
            constraint_degree,
            // The quotient has degree about (degree - 1) * n; pad to a power of two chunks.
            log_quotient_chunks: log2_ceil_usize(constraint_degree.max(2) - 1),
            base_constraint_indices: constraint_layout.base_indices,
            ext_constraint_indices: constraint_layout.ext_indices,
        })
    }

    /// Number of quotient chunks committed for this table.
    pub(crate) fn quotient_chunks(&self) -> usize {
        1 << self.log_quotient_chunks
    }

    /// Width in extension elements of the LogUp trace (accumulator plus one fraction column
    /// per lookup), zero for a table without lookups.
    pub(crate) fn aux_width(&self) -> usize {
        if self.lookups.is_empty() {
            0
        } else {
            self.lookups.len() + 1
        }
    }

    /// The weights of `decompose_alpha` for this table's constraints.
    pub(crate) fn decompose_alpha(&self, alpha: Challenge) -> (Vec<Vec<Val>>, Vec<Challenge>) {
        let layout = p3_air::symbolic::ConstraintLayout {
            base_indices: self.base_constraint_indices.clone(),
            ext_indices: self.ext_constraint_indices.clone(),
        };
        layout.decompose_alpha::<Val, Challenge>(alpha)
    }
}

/// Derives every table's info and checks that buses agree on widths across tables.
pub(crate) fn derive_all<T: Table>(tables: &[T]) -> Result<Vec<TableInfo>, SetupError> {
    let infos = tables
        .iter()
        .enumerate()
        .map(|(i, t)| TableInfo::derive(i, t))
        .collect::<Result<Vec<_>, _>>()?;
    let all: Vec<Lookups<Val>> = infos.iter().map(|i| i.lookups.clone()).collect();
    check_bus_widths(&all).map_err(|e| SetupError::BusWidth {
        detail: e.to_string(),
    })?;
    Ok(infos)
}
