//! The checking harness: every constraint of every table on every row, and the balance of
//! every bus with the verifier's external messages — without a proof, with failures named by
//! table, row, constraint and bus.

use std::collections::HashMap;

use p3_air::symbolic::AirLayout;
use p3_air::{AirBuilder, BaseAir, RowWindow};
use p3_field::{Field, PrimeCharacteristicRing, PrimeField32};
use p3_lookup::{Count, InteractionBuilder, InteractionSymbolicBuilder, LogUpGadget, Lookups};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;

use super::Val;
use super::boundary::segment_closing_messages;
use super::bus;
use super::program::ProgramTables;
use super::run::{
    BoundaryError, ExternalMessage, FinalWord, check_final_memory, check_first_segment,
    run_external_messages,
};
use super::table::{RvTable, TableKind};
use super::witness::SegmentWitness;

/// Every bus, in a fixed order.
const BUSES: [&str; 10] = [
    bus::ROM_BUS,
    bus::MEMORY_BUS,
    bus::RANGE16_BUS,
    bus::BYTE_PAIR_BUS,
    bus::BYTE_AND_BUS,
    bus::ALU_BUS,
    bus::SYSCALL_BUS,
    bus::IO_LINK_BUS,
    bus::IO_BUS,
    bus::GLOBAL_MEMORY_BUS,
];

/// Most failures reported per table.
const MAX_REPORTED_FAILURES: usize = 64;

/// One constraint that does not hold on one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstraintFailure {
    /// The table.
    pub table: TableKind,
    /// The row.
    pub row: usize,
    /// Index of the constraint in the table's evaluation order.
    pub constraint: usize,
    /// The constraint's name.
    pub name: &'static str,
}

/// A message that is sent more often than received (or the other way round).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusImbalance {
    /// The bus.
    pub bus: &'static str,
    /// The message, canonical field values.
    pub fields: Vec<u32>,
    /// Sends minus receives (as a canonical field value).
    pub net: u32,
}

/// Why a segment's traces do not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// A trace has the wrong width, a height that is no power of two, or a height other than
    /// its preprocessed trace's.
    #[error("table {table:?}: trace shape {height}x{width} is not acceptable")]
    Shape {
        /// The table.
        table: TableKind,
        /// Rows.
        height: usize,
        /// Columns.
        width: usize,
    },
    /// Constraints that do not hold (at most 64 per table are listed) or buses that do not
    /// balance (every unbalanced message, sorted by bus then message).
    #[error(
        "{} constraint failures (first: {:?}), {} unbalanced bus messages (first: {:?})",
        constraints.len(),
        constraints.first(),
        imbalances.len(),
        imbalances.first()
    )]
    Failed {
        /// The constraint failures, by table then row.
        constraints: Vec<ConstraintFailure>,
        /// The unbalanced messages.
        imbalances: Vec<BusImbalance>,
    },
    /// The public boundary data is malformed.
    #[error(transparent)]
    Boundary(#[from] BoundaryError),
}

impl CheckError {
    /// Names of the failing constraints, without repeats.
    #[must_use]
    pub fn constraint_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = match self {
            Self::Failed { constraints, .. } => constraints.iter().map(|f| f.name).collect(),
            _ => Vec::new(),
        };
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Names of the unbalanced buses, without repeats.
    #[must_use]
    pub fn bus_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = match self {
            Self::Failed { imbalances, .. } => imbalances.iter().map(|i| i.bus).collect(),
            _ => Vec::new(),
        };
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// Evaluates one row: records failing constraints and the row's bus messages.
struct RowEvaluator<'a> {
    main: RowWindow<'a, Val>,
    preprocessed: RowWindow<'a, Val>,
    public_values: &'a [Val],
    is_first_row: Val,
    is_last_row: Val,
    is_transition: Val,
    constraint: usize,
    failures: Vec<usize>,
    messages: Vec<(usize, Vec<Val>, Val)>,
}

impl<'a> AirBuilder for RowEvaluator<'a> {
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

    fn is_first_row(&self) -> Val {
        self.is_first_row
    }

    fn is_last_row(&self) -> Val {
        self.is_last_row
    }

    fn is_transition(&self) -> Val {
        self.is_transition
    }

    fn assert_zero<I: Into<Val>>(&mut self, x: I) {
        if x.into() != Val::ZERO {
            self.failures.push(self.constraint);
        }
        self.constraint += 1;
    }

    fn public_values(&self) -> &[Val] {
        self.public_values
    }
}

impl InteractionBuilder for RowEvaluator<'_> {
    fn push_interaction<E: Into<Val>>(
        &mut self,
        bus_name: &str,
        fields: impl IntoIterator<Item = E>,
        count: impl Into<Count<Val>>,
    ) {
        let (count, _) = count.into().into_parts();
        let bus = BUSES
            .iter()
            .position(|&name| name == bus_name)
            .expect("every bus is listed in BUSES");
        if count != Val::ZERO {
            self.messages
                .push((bus, fields.into_iter().map(Into::into).collect(), count));
        }
    }

    fn push_local_interaction(&mut self, tuples: impl IntoIterator<Item = (Vec<Val>, Count<Val>)>) {
        tuples.into_iter().for_each(drop);
    }
}

/// The names of `table`'s constraints, in evaluation order.
fn constraint_names(table: &RvTable) -> Vec<&'static str> {
    let width = table.width();
    let zeros = vec![Val::ZERO; width.max(table.preprocessed_width())];
    let publics = vec![Val::ZERO; table.num_public_values()];
    let mut evaluator = RowEvaluator {
        main: RowWindow::from_two_rows(&zeros[..width], &zeros[..width]),
        preprocessed: RowWindow::from_two_rows(
            &zeros[..table.preprocessed_width()],
            &zeros[..table.preprocessed_width()],
        ),
        public_values: &publics,
        is_first_row: Val::ONE,
        is_last_row: Val::ONE,
        is_transition: Val::ONE,
        constraint: 0,
        failures: Vec::new(),
        messages: Vec::new(),
    };
    let mut names = Vec::new();
    table.eval_labeled(&mut evaluator, &mut names);
    names
}

/// Number of constraints of `table`.
#[must_use]
pub fn constraint_count(table: &RvTable) -> usize {
    constraint_names(table).len()
}

/// The highest degree of `table`'s constraints and of its LogUp constraints (one lookup per
/// interaction, unpacked), as the framework computes them symbolically.
#[must_use]
pub fn constraint_degrees(table: &RvTable) -> (usize, usize) {
    type Challenge = p3_field::extension::BinomialExtensionField<Val, 4>;
    let builder =
        InteractionSymbolicBuilder::<Val, Challenge>::from_air(table, AirLayout::from_air(table));
    let air = builder
        .base_constraints()
        .iter()
        .map(p3_air::SymbolicExpression::degree_multiple)
        .max()
        .unwrap_or(0);
    let gadget = LogUpGadget::new();
    let lookups = Lookups::<Val>::from_air::<Challenge, RvTable>(table);
    let lookup = lookups
        .iter()
        .map(|lookup| p3_lookup::LookupProtocol::constraint_degree(&gadget, lookup))
        .max()
        .unwrap_or(0);
    (air, lookup)
}

/// Checks every constraint of every table on every row, and that every bus balances once
/// `external` is added. `tables` and `traces` are in the same order.
///
/// # Errors
/// The shape problem, or the constraint failures (capped per table) and unbalanced messages.
pub fn check_traces(
    tables: &[RvTable],
    traces: &[RowMajorMatrix<Val>],
    public_values: &[Val],
    external: &[ExternalMessage],
) -> Result<(), CheckError> {
    let mut balance = HashMap::new();
    let failures = evaluate(tables, traces, public_values, &mut balance)?;
    finish(failures, balance, external)
}

/// Evaluates every row of every table: the failing constraints (capped per table), and
/// every bus message added into `balance`.
fn evaluate(
    tables: &[RvTable],
    traces: &[RowMajorMatrix<Val>],
    public_values: &[Val],
    balance: &mut HashMap<(usize, Vec<Val>), Val>,
) -> Result<Vec<ConstraintFailure>, CheckError> {
    let mut failures = Vec::new();
    for (table, trace) in tables.iter().zip(traces) {
        let kind = table.kind();
        let preprocessed = table.preprocessed_trace();
        let height = trace.height();
        let shape_error = CheckError::Shape {
            table: kind,
            height,
            width: trace.width(),
        };
        if trace.width() != table.width()
            || !height.is_power_of_two()
            || preprocessed.as_ref().is_some_and(|p| p.height() != height)
        {
            return Err(shape_error);
        }
        let names = constraint_names(table);
        let empty: Vec<Val> = Vec::new();
        let mut table_failures = 0;
        for row in 0..height {
            let next = (row + 1) % height;
            let (prep_local, prep_next) =
                preprocessed.as_ref().map_or((&empty[..], &empty[..]), |p| {
                    (
                        &p.values[row * p.width..(row + 1) * p.width],
                        &p.values[next * p.width..(next + 1) * p.width],
                    )
                });
            let width = trace.width;
            let mut evaluator = RowEvaluator {
                main: RowWindow::from_two_rows(
                    &trace.values[row * width..(row + 1) * width],
                    &trace.values[next * width..(next + 1) * width],
                ),
                preprocessed: RowWindow::from_two_rows(prep_local, prep_next),
                public_values,
                is_first_row: Val::from_bool(row == 0),
                is_last_row: Val::from_bool(row + 1 == height),
                is_transition: Val::from_bool(row + 1 != height),
                constraint: 0,
                failures: Vec::new(),
                messages: Vec::new(),
            };
            table.eval_labeled(&mut evaluator, &mut ());
            for constraint in evaluator.failures {
                if table_failures < MAX_REPORTED_FAILURES {
                    failures.push(ConstraintFailure {
                        table: kind,
                        row,
                        constraint,
                        name: names[constraint],
                    });
                }
                table_failures += 1;
            }
            for (bus, fields, count) in evaluator.messages {
                *balance.entry((bus, fields)).or_insert(Val::ZERO) += count;
            }
        }
    }
    Ok(failures)
}

/// Adds `external` to `balance` and reports what fails.
fn finish(
    failures: Vec<ConstraintFailure>,
    mut balance: HashMap<(usize, Vec<Val>), Val>,
    external: &[ExternalMessage],
) -> Result<(), CheckError> {
    for message in external {
        let bus = BUSES
            .iter()
            .position(|&name| name == message.bus)
            .expect("external messages use known buses");
        *balance
            .entry((bus, message.fields.clone()))
            .or_insert(Val::ZERO) += message.multiplicity;
    }
    let mut imbalances: Vec<BusImbalance> = balance
        .into_iter()
        .filter(|(_, net)| !net.is_zero())
        .map(|((bus, fields), net)| BusImbalance {
            bus: BUSES[bus],
            fields: fields.iter().map(PrimeField32::as_canonical_u32).collect(),
            net: net.as_canonical_u32(),
        })
        .collect();
    if failures.is_empty() && imbalances.is_empty() {
        return Ok(());
    }
    imbalances.sort_by(|a, b| (a.bus, &a.fields).cmp(&(b.bus, &b.fields)));
    Err(CheckError::Failed {
        constraints: failures,
        imbalances,
    })
}

/// Checks one segment as if the rest of an honest run surrounded it: every constraint, the
/// segment's own buses, and the execution buses closed by [`segment_closing_messages`] (its
/// boundary as the other segments would match it, and the io bytes between its positions;
/// `input` and `output` are the run's whole public input and output).
///
/// # Errors
/// See [`check_traces`]; [`CheckError::Boundary`] for io positions outside the run.
pub fn check_segment(
    program: &ProgramTables,
    witness: &SegmentWitness,
    input: &[u8],
    output: &[u8],
) -> Result<(), CheckError> {
    let external = segment_closing_messages(&witness.publics, &witness.boundary, input, output)?;
    check_traces(
        &RvTable::all(program),
        &witness.traces,
        &witness.public_values,
        &external,
    )
}

/// Checks a whole run: every segment's constraints, the first segment's start, and every bus
/// over all segments together with the verifier's messages (the initial image and
/// `final_memory` on `gmem`, `input` and `output` on `io`). Segment chaining (pcs, cycles,
/// io positions) is the aggregator's and is not checked here.
///
/// # Errors
/// See [`check_traces`], [`check_final_memory`] and [`check_first_segment`].
pub fn check_run(
    program: &ProgramTables,
    witnesses: &[SegmentWitness],
    final_memory: &[FinalWord],
    input: &[u8],
    output: &[u8],
) -> Result<(), CheckError> {
    let first = witnesses.first().ok_or(BoundaryError::NotInitial {
        what: "the run has no segment",
    })?;
    check_first_segment(program, &first.publics)?;
    check_final_memory(program, final_memory, witnesses.len() as u32)?;
    let tables = RvTable::all(program);
    let mut balance = HashMap::new();
    let mut failures = Vec::new();
    for witness in witnesses {
        // Proof-scoped buses must balance inside each segment: check them one by one, then
        // add the execution buses to the run's balance.
        let mut segment_balance = HashMap::new();
        failures.extend(evaluate(
            &tables,
            &witness.traces,
            &witness.public_values,
            &mut segment_balance,
        )?);
        let mut own = HashMap::new();
        for ((bus, fields), count) in segment_balance {
            let target = if bus::EXECUTION_BUSES.contains(&BUSES[bus]) {
                &mut balance
            } else {
                &mut own
            };
            *target.entry((bus, fields)).or_insert(Val::ZERO) += count;
        }
        finish(Vec::new(), own, &[])?;
    }
    let external = run_external_messages(program, final_memory, input, output);
    finish(failures, balance, &external)
}
