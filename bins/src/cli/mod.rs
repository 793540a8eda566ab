//! `zisk`: the client CLI. With `--coordinator URL` (or `ZISK_COORDINATOR_URL`) it talks to
//! a cluster; without one, `prove` and `execute` start an [`EmbeddedCluster`] in-process.

mod commands;
mod embedded;
mod proof_file;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use commands::run_cli;
pub use embedded::EmbeddedCluster;
pub use proof_file::{MAX_PROOF_FILE_BYTES, PROOF_FILE_MAGIC, ProofFile, ProofFileError};
pub use zisk_net::client::{Client, ClientError, InputSource, describe_status, phase_name};

/// The `zisk` command line.
#[derive(Clone, Debug, Parser)]
#[command(name = "zisk", version, about = "Client of the zisk proving cluster")]
pub struct Cli {
    /// The coordinator's client API, e.g. http://127.0.0.1:7000. Without it, `prove` and
    /// `execute` run an embedded single-node cluster.
    #[arg(long, global = true, env = "ZISK_COORDINATOR_URL", value_name = "URL")]
    pub coordinator: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options of the embedded cluster.
#[derive(Clone, Debug, clap::Args)]
pub struct EmbeddedOptions {
    /// Workers of the embedded cluster (without --coordinator).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub workers: u32,
    /// Compute units of each embedded worker.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub worker_compute_units: u32,
}

/// The subcommands.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Upload a guest ELF; prints its program id.
    Register {
        /// The guest ELF.
        elf: PathBuf,
    },
    /// Register a guest and run its setup; prints the verifying key.
    Setup {
        /// The guest ELF.
        elf: PathBuf,
    },
    /// Prove a guest on an input, showing progress phase by phase; writes the proof file.
    Prove {
        /// The guest ELF.
        elf: PathBuf,
        /// The input file (empty input when absent).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Instead of --input: a file under each worker's inputs folder, relative to it
        /// (needs --coordinator). The proof file then leaves the input out: `zisk verify`
        /// needs it back with --input.
        #[arg(long, conflicts_with = "input", value_name = "REL")]
        input_path: Option<String>,
        /// Where to write the proof.
        #[arg(long)]
        output: PathBuf,
        /// Compute units to reserve (the coordinator's default when absent).
        #[arg(long)]
        compute_units: Option<u32>,
        /// Embedded-cluster options.
        #[command(flatten)]
        embedded: EmbeddedOptions,
    },
    /// Execute a guest on an input without proving; prints cycles, segments and outputs.
    Execute {
        /// The guest ELF.
        elf: PathBuf,
        /// The input file (empty input when absent).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Instead of --input: a file under each worker's inputs folder, relative to it
        /// (needs --coordinator).
        #[arg(long, conflicts_with = "input", value_name = "REL")]
        input_path: Option<String>,
        /// Also write the public outputs to this file.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Compute units to reserve (the coordinator's default when absent).
        #[arg(long)]
        compute_units: Option<u32>,
        /// Embedded-cluster options.
        #[command(flatten)]
        embedded: EmbeddedOptions,
    },
    /// The cluster's summary, or one job's state.
    Status {
        /// A job id.
        job: Option<String>,
    },
    /// Follow a job until it ends.
    Watch {
        /// The job id.
        job: String,
    },
    /// Cancel a job.
    Cancel {
        /// The job id.
        job: String,
        /// Why (shown to watchers).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Verify a proof file offline.
    Verify {
        /// The proof file.
        proof: PathBuf,
        /// The verifying-key digest to trust, as hex (printed by `zisk setup`).
        #[arg(long)]
        verifying_key: Option<String>,
        /// A guest ELF to trust: its verifying key is computed here and must be the proof's.
        #[arg(long)]
        elf: Option<PathBuf>,
        /// The public input, for a proof made with --input-path (its file leaves the input
        /// out); for another proof it must equal the input in the file.
        #[arg(long)]
        input: Option<PathBuf>,
    },
    /// List jobs, newest first.
    Jobs {
        /// Most jobs to show.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// List workers.
    Workers,
}
