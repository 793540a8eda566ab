//! Deterministic simulations of the zisk cluster.
//!
//! The real network adapters (`zisk-net`) and protocol cores (`zisk-core`) run under
//! [madsim](https://docs.rs/madsim): one simulated node for the coordinator, one per worker
//! and one per client, talking gRPC through madsim-tonic over a simulated network, all on one
//! thread, with time and randomness drawn from a seed. The same seed gives the same run, bit
//! for bit. Real proving is replaced by a prover model ([`model`]) whose calls take simulated
//! time.
//!
//! - [`schedule`]: a seed draws its own fault mix and timed events (worker and coordinator
//!   SIGKILL and restart, one- and two-way partitions, slow and stalled GPUs, corrupt proofs,
//!   client cancels, submission bursts, workers joining mid-job).
//! - [`cluster`] (madsim only): the `Cluster` helper with its node/address plan and kill,
//!   restart, pause, partition, heal and wait_until.
//! - [`run`] (madsim only): a run: a safety phase that plays the schedule, then a liveness
//!   phase with every fault healed, checking the invariants throughout.
//! - [`observer`], [`state`]: the invariant checks and the event log whose hash the
//!   determinism check compares.
//!
//! ```
//! use zisk_sim::schedule::Schedule;
//!
//! // A seed draws its own cluster and fault mix, always the same one.
//! let schedule = Schedule::from_seed(7);
//! assert_eq!(schedule, Schedule::from_seed(7));
//! println!("{schedule}");
//!
//! // Under madsim (`cargo sim-test`), run it: the real adapters, every invariant checked.
//! #[cfg(madsim)]
//! {
//!     let report = zisk_sim::run::run_seed(7, Default::default()).unwrap_or_else(|failure| panic!("{failure}"));
//!     assert!(report.log_lines > 0);
//! }
//! ```
//!
//! Run them with `cargo sim-test` (`cargo test --features sim` with `--cfg madsim`; see
//! docs/simulation.md). The `sim` feature without the flag is a compile error, so the
//! simulations can never silently run zero tests. Without the feature the crate builds its
//! model, schedules and checks (and their unit tests) on the ordinary runtime.

#[cfg(all(feature = "sim", not(madsim)))]
compile_error!(
    "the `sim` feature runs the madsim simulations and needs `--cfg madsim`: run `cargo sim-test` (see docs/simulation.md)"
);

#[cfg(madsim)]
pub mod client;
#[cfg(madsim)]
pub mod cluster;
pub mod model;
pub mod observer;
#[cfg(madsim)]
pub mod run;
pub mod schedule;
pub mod state;
#[cfg(madsim)]
pub mod zombie;
