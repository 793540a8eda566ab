//! `zisk`: the client CLI of the proving cluster. See docs/usage.md.

use clap::Parser;
use zisk_bins::cli::{Cli, run_cli};
use zisk_bins::exit_with_error;

fn main() {
    let cli = Cli::parse();
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "error".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .compact()
        .try_init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => exit_with_error(&error.into()),
    };
    if let Err(error) = runtime.block_on(run_cli(cli)) {
        exit_with_error(&error);
    }
}
