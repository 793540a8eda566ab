//! Checked proving: the debug checks run before a proof is made.
//!
//! - every constraint of every table on every row ([`check_constraints`]);
//! - every exclusive-interaction flag boolean ([`row_messages`]);
//! - every bus balanced as a multiset, table-local lookups alone and global buses together
//!   with the caller's external messages ([`check_buses`]).

use std::collections::{BTreeMap, HashMap};

use p3_air::{Air, RowWindow};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_lookup::{Kind, Lookup};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_maybe_rayon::prelude::*;

use super::builders::RowCheckFolder;
use super::challenges::BusMessage;
use super::config::Val;
use super::errors::ProveError;
use super::keys::{BusScope, VerifyingKey};
use super::table::{Table, TableInfo};

/// One table's trace data, as the checks read it.
pub(crate) struct TraceView<'a> {
    pub(crate) main: &'a RowMajorMatrix<Val>,
    pub(crate) preprocessed: Option<&'a RowMajorMatrix<Val>>,
    pub(crate) public_values: &'a [Val],
}

impl<'a> TraceView<'a> {
    /// The row checker on `row` (and the next row, cyclically).
    fn folder(&self, row: usize) -> RowCheckFolder<'a> {
        let height = self.main.height();
        let next = (row + 1) % height;
        let preprocessed = self.preprocessed.map_or_else(
            || RowWindow::from_two_rows(&[], &[]),
            |m| two_rows(m, row, next),
        );
        RowCheckFolder::new(
            two_rows(self.main, row, next),
            preprocessed,
            self.public_values,
            row,
            height,
        )
    }
}

/// Rows `row` and `next` of `matrix` as a window.
fn two_rows(matrix: &RowMajorMatrix<Val>, row: usize, next: usize) -> RowWindow<'_, Val> {
    let width = matrix.width;
    RowWindow::from_two_rows(
        &matrix.values[row * width..(row + 1) * width],
        &matrix.values[next * width..(next + 1) * width],
    )
}

/// The first row on which a constraint of `table` fails, with the constraint's index.
pub(crate) fn check_constraints<T: Table>(
    index: usize,
    table: &T,
    view: &TraceView<'_>,
) -> Result<(), ProveError> {
    let failure = (0..view.main.height())
        .into_par_iter()
        .find_map_first(|row| {
            let mut folder = view.folder(row);
            Air::<RowCheckFolder<'_>>::eval(table, &mut folder);
            folder.first_failure.map(|constraint| (row, constraint))
        });
    match failure {
        Some((row, constraint)) => Err(ProveError::ConstraintFailed {
            table: index,
            row,
            constraint,
        }),
        None => Ok(()),
    }
}

/// The messages one lookup emits on one row, `(fields, multiplicity)` with non-zero
/// multiplicity; `Err(())` if an exclusive flag is not boolean.
fn row_messages(
    lookup: &Lookup<Val>,
    folder: &RowCheckFolder<'_>,
) -> Result<Vec<(Vec<Val>, Val)>, ()> {
    let mut messages = Vec::new();
    for (k, (fields, multiplicity)) in lookup
        .elements
        .iter()
        .zip(&lookup.multiplicities)
        .enumerate()
    {
        if let Some(flags) = &lookup.flags {
            let flag = flags[k].resolve(folder);
            if flag != Val::ZERO && flag != Val::ONE {
                return Err(());
            }
            if flag == Val::ZERO {
                continue;
            }
        }
        let multiplicity = multiplicity.resolve(folder);
        if multiplicity != Val::ZERO {
            messages.push((
                fields.iter().map(|f| f.resolve(folder)).collect(),
                multiplicity,
            ));
        }
    }
    if let Some(flags) = &lookup.flags {
        let sum: Val = flags.iter().map(|flag| flag.resolve(folder)).sum();
        if sum != Val::ZERO && sum != Val::ONE {
            return Err(());
        }
    }
    Ok(messages)
}

/// Net multiplicity of every tuple one lookup emits over the whole trace.
fn lookup_multiset(
    index: usize,
    lookup: &Lookup<Val>,
    view: &TraceView<'_>,
) -> Result<HashMap<Vec<Val>, Val>, ProveError> {
    (0..view.main.height())
        .into_par_iter()
        .try_fold(HashMap::new, |mut set: HashMap<Vec<Val>, Val>, row| {
            let folder = view.folder(row);
            let messages =
                row_messages(lookup, &folder).map_err(|()| ProveError::ExclusiveFlag {
                    table: index,
                    lookup: lookup.column,
                    row,
                })?;
            for (fields, multiplicity) in messages {
                *set.entry(fields).or_insert(Val::ZERO) += multiplicity;
            }
            Ok(set)
        })
        .try_reduce(HashMap::new, |mut left, right| {
            for (fields, multiplicity) in right {
                *left.entry(fields).or_insert(Val::ZERO) += multiplicity;
            }
            Ok(left)
        })
}

/// Checks that every exclusive-interaction flag is boolean with at most one set per row;
/// without that, p3-lookup cannot build the LogUp trace.
pub(crate) fn check_exclusive_flags(
    index: usize,
    info: &TableInfo,
    view: &TraceView<'_>,
) -> Result<(), ProveError> {
    for lookup in info.lookups.iter().filter(|lookup| lookup.flags.is_some()) {
        let bad = (0..view.main.height())
            .into_par_iter()
            .find_first(|&row| row_messages(lookup, &view.folder(row)).is_err());
        if let Some(row) = bad {
            return Err(ProveError::ExclusiveFlag {
                table: index,
                lookup: lookup.column,
                row,
            });
        }
    }
    Ok(())
}

/// The unbalanced entry of `set` with the smallest tuple, if any.
fn first_unbalanced(set: &HashMap<Vec<Val>, Val>) -> Option<(Vec<u32>, u32)> {
    set.iter()
        .filter(|(_, net)| **net != Val::ZERO)
        .map(|(fields, net)| {
            (
                fields
                    .iter()
                    .map(PrimeField32::as_canonical_u32)
                    .collect::<Vec<_>>(),
                net.as_canonical_u32(),
            )
        })
        .min()
}

/// Checks that every local lookup and every proof-scoped bus balances and, given `external`
/// messages, that every execution bus balances once they are added (`None` skips the
/// execution buses).
pub(crate) fn check_buses(
    vk: &VerifyingKey,
    infos: &[TableInfo],
    views: &[TraceView<'_>],
    external: Option<&[BusMessage]>,
) -> Result<(), ProveError> {
    let mut buses: BTreeMap<&str, HashMap<Vec<Val>, Val>> = BTreeMap::new();
    for (index, (info, view)) in infos.iter().zip(views).enumerate() {
        for lookup in info.lookups.iter() {
            if let Kind::Global(bus) = &lookup.kind
                && external.is_none()
                && vk.bus_scope(bus) == Some(BusScope::Execution)
            {
                continue;
            }
            let set = lookup_multiset(index, lookup, view)?;
            match &lookup.kind {
                Kind::Local => {
                    if let Some((fields, net_multiplicity)) = first_unbalanced(&set) {
                        return Err(ProveError::LocalLookupUnbalanced {
                            table: index,
                            lookup: lookup.column,
                            fields,
                            net_multiplicity,
                        });
                    }
                }
                Kind::Global(bus) => {
                    let total = buses.entry(bus.as_str()).or_default();
                    for (fields, multiplicity) in set {
                        *total.entry(fields).or_insert(Val::ZERO) += multiplicity;
                    }
                }
            }
        }
    }
    for message in external.unwrap_or_default() {
        let expected = vk
            .bus_width(&message.bus)
            .filter(|_| vk.bus_scope(&message.bus) == Some(BusScope::Execution));
        if expected != Some(message.fields.len()) {
            return Err(ProveError::ExternalMessage {
                bus: message.bus.clone(),
                expected,
                found: message.fields.len(),
            });
        }
        let total = buses.entry(message.bus.as_str()).or_default();
        *total.entry(message.fields.clone()).or_insert(Val::ZERO) += message.multiplicity;
    }
    for (bus, set) in &buses {
        if let Some((fields, net_multiplicity)) = first_unbalanced(set) {
            return Err(ProveError::BusUnbalanced {
                bus: (*bus).to_owned(),
                fields,
                net_multiplicity,
            });
        }
    }
    Ok(())
}
