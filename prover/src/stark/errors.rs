//! Typed errors, one enum per surface: setup, proving, verifying, decoding.

use thiserror::Error;

use super::params::ParamSet;

/// Why [`crate::stark::setup`] refused a set of tables.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SetupError {
    /// No tables were given.
    #[error("setup needs at least one table")]
    NoTables,
    /// The table declares periodic columns, which the framework does not support.
    #[error("table {table}: periodic columns are not supported")]
    PeriodicColumns {
        /// Index of the table.
        table: usize,
    },
    /// The table lists boundary public cells; bind public values with constraints instead.
    #[error("table {table}: boundary public cells are not supported; use constraints")]
    BoundaryIo {
        /// Index of the table.
        table: usize,
    },
    /// The preprocessed trace disagrees with the declared preprocessed width.
    #[error("table {table}: preprocessed trace has width {actual}, declared {declared}")]
    PreprocessedWidth {
        /// Index of the table.
        table: usize,
        /// `BaseAir::preprocessed_width`.
        declared: usize,
        /// Width of `BaseAir::preprocessed_trace`.
        actual: usize,
    },
    /// The preprocessed trace height is not a power of two within the allowed range.
    #[error("table {table}: preprocessed height {height} is not a power of two in [{min}, {max}]")]
    PreprocessedHeight {
        /// Index of the table.
        table: usize,
        /// Height of the preprocessed trace.
        height: usize,
        /// Smallest allowed height.
        min: usize,
        /// Largest allowed height under the parameter set.
        max: usize,
    },
    /// A constraint (the table's own or a LogUp constraint) exceeds the degree limit.
    #[error("table {table}: constraint degree {degree} exceeds {max}")]
    DegreeTooHigh {
        /// Index of the table.
        table: usize,
        /// Highest degree found.
        degree: usize,
        /// [`crate::stark::MAX_CONSTRAINT_DEGREE`].
        max: usize,
    },
    /// Two messages on one bus have different widths (a short one could alias a long one).
    #[error("bus width mismatch: {detail}")]
    BusWidth {
        /// Plonky3's description: the bus and both widths.
        detail: String,
    },
    /// Tables declare different non-zero public-value counts.
    #[error("table {table} declares {found} public values, another table {expected}")]
    PublicValueCount {
        /// Index of the table.
        table: usize,
        /// Count declared by an earlier table.
        expected: usize,
        /// Count declared by this table.
        found: usize,
    },
    /// An execution bus named at setup that no table uses.
    #[error("execution bus {bus:?} is used by no table")]
    UnknownBus {
        /// The name.
        bus: String,
    },
    /// The commitment scheme refused the preprocessed traces.
    #[error("committing preprocessed traces: {0}")]
    Commit(#[from] p3_fri::FriProverError),
}

/// Why [`crate::stark::commit_main`] or [`crate::stark::prove_phase2`] produced no proof.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProveError {
    /// The phase-1 state was made with a different proving key.
    #[error("phase 1 was committed with a different proving key")]
    KeyMismatch,
    /// The number of traces differs from the number of tables.
    #[error("expected {expected} traces (one per table), got {found}")]
    TraceCount {
        /// Number of tables.
        expected: usize,
        /// Number of traces.
        found: usize,
    },
    /// A trace's width differs from its table's.
    #[error("table {table}: trace width {found}, table width {expected}")]
    TraceWidth {
        /// Index of the table.
        table: usize,
        /// `BaseAir::width`.
        expected: usize,
        /// Width of the trace.
        found: usize,
    },
    /// A trace height is not a power of two in the allowed range, or differs from the
    /// table's preprocessed height.
    #[error("table {table}: trace height {height} is not allowed ({reason})")]
    TraceHeight {
        /// Index of the table.
        table: usize,
        /// Height of the trace.
        height: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The public values have the wrong length.
    #[error("expected {expected} public values, got {found}")]
    PublicValueCount {
        /// Count fixed by the verifying key.
        expected: usize,
        /// Count given.
        found: usize,
    },
    /// Checked mode: a constraint does not hold on a row.
    #[error("table {table}: constraint {constraint} fails on row {row}")]
    ConstraintFailed {
        /// Index of the table.
        table: usize,
        /// First failing row.
        row: usize,
        /// Index of the first failing constraint on that row, in emission order.
        constraint: usize,
    },
    /// Checked mode: a table-local lookup does not balance.
    #[error(
        "table {table}: local lookup {lookup} unbalanced at {fields:?} (net {net_multiplicity})"
    )]
    LocalLookupUnbalanced {
        /// Index of the table.
        table: usize,
        /// Column of the lookup.
        lookup: usize,
        /// Canonical values of the first unbalanced tuple.
        fields: Vec<u32>,
        /// Its net multiplicity.
        net_multiplicity: u32,
    },
    /// Checked mode: a global bus does not balance, external messages included.
    #[error("bus {bus:?} unbalanced at {fields:?} (net {net_multiplicity})")]
    BusUnbalanced {
        /// Name of the bus.
        bus: String,
        /// Canonical values of the first unbalanced tuple.
        fields: Vec<u32>,
        /// Its net multiplicity.
        net_multiplicity: u32,
    },
    /// Checked mode: an external message names an unknown or proof-scoped bus, or has the
    /// wrong width (`expected` is `None` for a bus that takes no external messages).
    #[error("external message on bus {bus:?}: width {found}, bus width {expected:?}")]
    ExternalMessage {
        /// Name of the bus.
        bus: String,
        /// The bus width, `None` if no table uses the bus or the bus is proof-scoped.
        expected: Option<usize>,
        /// The message width.
        found: usize,
    },
    /// Checked mode: the LogUp multiplicity bound `sum weight * height < p` fails.
    #[error("multiplicity bound: {detail}")]
    MultiplicityBound {
        /// Plonky3's description.
        detail: String,
    },
    /// An exclusive-interaction flag is not boolean, so no LogUp trace exists.
    #[error("table {table}: exclusive flag of lookup {lookup} is not boolean on row {row}")]
    ExclusiveFlag {
        /// Index of the table.
        table: usize,
        /// Column of the lookup.
        lookup: usize,
        /// The row.
        row: usize,
    },
    /// The commitment scheme failed.
    #[error("commitment scheme ({phase}): {source}")]
    Pcs {
        /// Which commitment or opening.
        phase: &'static str,
        /// The scheme's error.
        source: p3_fri::FriProverError,
    },
}

/// Why [`crate::stark::verify`] rejected a proof.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// The proof's parameter set is weaker than the verifier accepts.
    #[error("proof made with {proof} parameters; at least {min} required")]
    WeakParameters {
        /// The proof's set.
        proof: ParamSet,
        /// The weakest set accepted.
        min: ParamSet,
    },
    /// The proof's parameter set differs from the verifying key's.
    #[error("proof made with {proof} parameters, verifying key with {key}")]
    ParamSetMismatch {
        /// The proof's set.
        proof: ParamSet,
        /// The key's set.
        key: ParamSet,
    },
    /// The tables given to the verifier do not match the verifying key.
    #[error("table {table} does not match the verifying key ({what})")]
    TableMismatch {
        /// Index of the table (or the table count for a count mismatch).
        table: usize,
        /// Which property differs.
        what: &'static str,
    },
    /// The public values have the wrong length.
    #[error("expected {expected} public values, got {found}")]
    PublicValueCount {
        /// Count fixed by the verifying key.
        expected: usize,
        /// Count given.
        found: usize,
    },
    /// The proof's shape is inconsistent with the key (a count or width is wrong).
    #[error("malformed proof: {what} (table {table:?})")]
    InvalidShape {
        /// The table concerned, if any.
        table: Option<usize>,
        /// Which part of the proof.
        what: &'static str,
    },
    /// A claimed table height is not allowed.
    #[error("table {table}: claimed log height {log_height} is not allowed")]
    TableHeight {
        /// Index of the table.
        table: usize,
        /// The claimed log2 height.
        log_height: usize,
    },
    /// The LogUp multiplicity bound `sum weight * height < p` fails for the claimed heights.
    #[error("multiplicity bound: {detail}")]
    MultiplicityBound {
        /// Plonky3's description.
        detail: String,
    },
    /// The out-of-domain point fell in a trace domain (negligible for honest proofs).
    #[error("out-of-domain point lies in a trace domain")]
    DegenerateChallenge,
    /// The constraints at the out-of-domain point do not match the quotient.
    #[error("table {table}: constraints do not match the quotient at the out-of-domain point")]
    OodMismatch {
        /// Index of the table.
        table: usize,
    },
    /// The polynomial openings (Merkle paths, FRI) do not verify.
    #[error("opening proof rejected: {detail}")]
    Opening {
        /// The commitment scheme's error.
        detail: String,
    },
}

/// Why [`crate::stark::SegmentProof::from_bytes`] or
/// [`crate::stark::VerifyingKey::from_bytes`] refused a byte string.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofFormatError {
    /// Shorter than the header.
    #[error("{len} bytes is shorter than the {header}-byte header")]
    Truncated {
        /// Length given.
        len: usize,
        /// Header length.
        header: usize,
    },
    /// Longer than the limit.
    #[error("{len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Length given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The magic bytes are wrong: not this kind of object.
    #[error("bad magic bytes")]
    BadMagic,
    /// Unknown format version.
    #[error("format version {found} is not supported (expected {supported})")]
    UnsupportedVersion {
        /// Version in the header.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// Unknown parameter-set byte.
    #[error("unknown parameter set {id}")]
    UnknownParamSet {
        /// The byte.
        id: u8,
    },
    /// The body does not decode.
    #[error("malformed body: {detail}")]
    Body {
        /// The decoder's description.
        detail: String,
    },
    /// Bytes are left after the body.
    #[error("{count} trailing bytes after the body")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A commitment or digest holds a non-canonical field element.
    #[error("non-canonical field element in a digest")]
    NonCanonicalDigest,
}
