//! `zisk-coordinator`: the cluster's single coordinator. See docs/usage.md.

use zisk_bins::config::{parse_coordinator_command_line, resolve_coordinator};
use zisk_bins::{coordinator, exit_with_error, logging};

fn main() {
    let matches = parse_coordinator_command_line();
    let settings = match resolve_coordinator(&matches, std::env::var("RUST_LOG").ok()) {
        Ok(settings) => settings,
        Err(error) => exit_with_error(&error.into()),
    };
    if matches.get_flag("check_config") {
        println!("{}", settings.describe());
        return;
    }
    let _logging = match logging::init_logging(&settings.logging, "zisk-coordinator") {
        Ok(guard) => guard,
        Err(error) => exit_with_error(&error),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => exit_with_error(&error.into()),
    };
    if let Err(error) = runtime.block_on(coordinator::run_coordinator(settings)) {
        tracing::error!(error = %format!("{error:#}"), "zisk-coordinator failed");
        exit_with_error(&error);
    }
}
