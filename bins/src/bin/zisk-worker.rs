//! `zisk-worker`: a proving worker. See docs/usage.md.

use zisk_bins::config::{parse_worker_command_line, resolve_worker};
use zisk_bins::{exit_with_error, logging, worker};

fn main() {
    let matches = parse_worker_command_line();
    let settings = match resolve_worker(&matches, std::env::var("RUST_LOG").ok()) {
        Ok(settings) => settings,
        Err(error) => exit_with_error(&error.into()),
    };
    if matches.get_flag("check_config") {
        println!("{}", settings.describe());
        return;
    }
    let _logging = match logging::init_logging(&settings.logging, "zisk-worker") {
        Ok(guard) => guard,
        Err(error) => exit_with_error(&error),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => exit_with_error(&error.into()),
    };
    if let Err(error) = runtime.block_on(worker::run_worker(settings)) {
        tracing::error!(error = %format!("{error:#}"), "zisk-worker failed");
        exit_with_error(&error);
    }
}
