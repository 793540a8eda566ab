//! Configuration layering and validation of the two binaries, checked through
//! `--check-config` (the binaries print the resolved settings and exit): defaults < TOML <
//! environment < flags, and errors that name their source and key.

use std::path::Path;
use std::process::{Command, Output};

fn run(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary);
    command.args(args).arg("--check-config");
    for (key, _) in std::env::vars() {
        if key.starts_with("ZISK_") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run the binary")
}

fn coordinator(args: &[&str], env: &[(&str, &str)]) -> Output {
    run(env!("CARGO_BIN_EXE_zisk-coordinator"), args, env)
}

fn worker(args: &[&str], env: &[(&str, &str)]) -> Output {
    run(env!("CARGO_BIN_EXE_zisk-worker"), args, env)
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "expected success, got {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr_of_failure(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(2),
        "expected a configuration error, got {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn write(folder: &Path, name: &str, text: &str) -> String {
    let path = folder.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn the_api_port_follows_defaults_then_toml_then_environment_then_flag() {
    let folder = tempfile::tempdir().unwrap();
    let config = write(folder.path(), "coordinator.toml", "[server]\nport = 7000\n");
    let env = [("ZISK_COORDINATOR_API_PORT", "7001")];

    let with_flag = stdout(&coordinator(
        &["--config", &config, "--api-port", "8000"],
        &env,
    ));
    assert!(
        with_flag.contains("server.port = 8000 (flag --api-port)"),
        "{with_flag}"
    );
    let without_flag = stdout(&coordinator(&["--config", &config], &env));
    assert!(
        without_flag
            .contains("server.port = 7001 (environment variable ZISK_COORDINATOR_API_PORT)"),
        "{without_flag}"
    );
    let file_only = stdout(&coordinator(&["--config", &config], &[]));
    assert!(
        file_only.contains(&format!("server.port = 7000 (config file {config})")),
        "{file_only}"
    );
    let defaults = stdout(&coordinator(&[], &[]));
    assert!(
        defaults.contains("server.port = 7000 (built-in default)"),
        "{defaults}"
    );
    assert!(defaults.contains("coordinator.port = 50051"), "{defaults}");
    assert!(defaults.contains("metrics.port = 9090"), "{defaults}");
}

#[test]
fn the_compute_capacity_follows_defaults_then_toml_then_environment_then_flag() {
    let folder = tempfile::tempdir().unwrap();
    let config = write(
        folder.path(),
        "worker.toml",
        "[worker.compute_capacity]\ncompute_units = 10\n",
    );
    let env = [("ZISK_WORKER_COMPUTE_CAPACITY", "16")];
    let key = "worker.compute_capacity.compute_units";

    let with_flag = stdout(&worker(
        &["--config", &config, "--compute-capacity", "32"],
        &env,
    ));
    assert!(
        with_flag.contains(&format!("{key} = 32 (flag --compute-capacity)")),
        "{with_flag}"
    );
    let without_flag = stdout(&worker(&["--config", &config], &env));
    assert!(
        without_flag.contains(&format!(
            "{key} = 16 (environment variable ZISK_WORKER_COMPUTE_CAPACITY)"
        )),
        "{without_flag}"
    );
    let file_only = stdout(&worker(&["--config", &config], &[]));
    assert!(
        file_only.contains(&format!("{key} = 10 (config file {config})")),
        "{file_only}"
    );
    let defaults = stdout(&worker(&[], &[]));
    assert!(
        defaults.contains(&format!("{key} = 10 (built-in default)")),
        "{defaults}"
    );
    assert!(
        defaults.contains("coordinator.url = http://127.0.0.1:50051"),
        "{defaults}"
    );
    assert!(
        defaults.contains("connection.reconnect_interval_seconds = 5"),
        "{defaults}"
    );
    assert!(
        defaults.contains("connection.heartbeat_timeout_seconds = 30"),
        "{defaults}"
    );
}

#[test]
fn the_worker_id_defaults_to_a_random_uuid() {
    let first = stdout(&worker(&[], &[]));
    let second = stdout(&worker(&[], &[]));
    let id = |text: &str| {
        text.lines()
            .find(|line| line.starts_with("worker.worker_id = "))
            .unwrap()
            .to_owned()
    };
    assert_ne!(id(&first), id(&second));
    assert_eq!(
        id(&first).trim_start_matches("worker.worker_id = ").len(),
        36,
        "{first}"
    );
}

#[test]
fn unknown_keys_wrong_types_and_out_of_range_values_name_their_source_and_key() {
    let folder = tempfile::tempdir().unwrap();
    let unknown = write(folder.path(), "unknown.toml", "[server]\nprot = 7000\n");
    let error = stderr_of_failure(&coordinator(&["--config", &unknown], &[]));
    assert!(
        error.contains(&unknown) && error.contains("prot"),
        "{error}"
    );

    let wrong_type = write(folder.path(), "type.toml", "[metrics]\nenabled = \"yes\"\n");
    let error = stderr_of_failure(&coordinator(&["--config", &wrong_type], &[]));
    assert!(
        error.contains(&wrong_type) && error.contains("enabled"),
        "{error}"
    );

    let error = stderr_of_failure(&coordinator(&[], &[("ZISK_COORDINATOR_API_PORT", "seven")]));
    assert!(
        error.contains("environment variable ZISK_COORDINATOR_API_PORT")
            && error.contains("server.port"),
        "{error}"
    );
    let error = stderr_of_failure(&coordinator(&["--metrics-port", "0"], &[]));
    assert!(
        error.contains("flag --metrics-port") && error.contains("metrics.port"),
        "{error}"
    );
    let error = stderr_of_failure(&worker(&["--compute-capacity", "0"], &[]));
    assert!(
        error.contains("flag --compute-capacity") && error.contains("compute_units"),
        "{error}"
    );
    let error = stderr_of_failure(&worker(&[], &[("ZISK_WORKER_COORDINATOR_URL", "nowhere")]));
    assert!(
        error.contains("ZISK_WORKER_COORDINATOR_URL") && error.contains("coordinator.url"),
        "{error}"
    );
    let error = stderr_of_failure(&coordinator(&["--log-level", "loud"], &[]));
    assert!(
        error.contains("flag --log-level") && error.contains("logging.level"),
        "{error}"
    );

    let backend = write(
        folder.path(),
        "backend.toml",
        "[backend]\nmode = \"worker\"\n",
    );
    let error = stderr_of_failure(&coordinator(&["--config", &backend], &[]));
    assert!(error.contains("backend.mode"), "{error}");
}

#[test]
fn the_core_tuning_file_is_read_and_checked() {
    let folder = tempfile::tempdir().unwrap();
    write(
        folder.path(),
        "core.toml",
        "[coordinator]\nmax_workers_per_job = 4\nphase1_timeout_seconds = 60\nreconnect_grace_period_ms = 900\n",
    );
    let config = write(
        folder.path(),
        "coordinator.toml",
        "[coordinator]\nconfig_file = \"core.toml\"\n",
    );
    let settings = stdout(&coordinator(&["--config", &config], &[]));
    for expected in [
        "core.max_workers_per_job = 4",
        "core.phase1_timeout_seconds = 60",
        "core.reconnect_grace_period_ms = 900",
        "core.phase2_timeout_seconds = 1200",
    ] {
        assert!(settings.contains(expected), "{settings}");
    }
    let bad = write(
        folder.path(),
        "bad.toml",
        "[coordinator]\nmax_workers_per_job = 0\n",
    );
    let error = stderr_of_failure(&coordinator(&["--core-config", &bad], &[]));
    assert!(
        error.contains(&bad) && error.contains("coordinator.max_workers_per_job"),
        "{error}"
    );
    let unknown = write(
        folder.path(),
        "unknown.toml",
        "[coordinator]\nmax_worker_per_job = 3\n",
    );
    let error = stderr_of_failure(&coordinator(&["--core-config", &unknown], &[]));
    assert!(
        error.contains(&unknown) && error.contains("max_worker_per_job"),
        "{error}"
    );
}

#[test]
fn an_http_webhook_url_is_accepted_and_https_or_garbage_is_refused_by_key() {
    let folder = tempfile::tempdir().unwrap();
    let webhook = write(
        folder.path(),
        "webhook.toml",
        "[coordinator]\nwebhook_url = \"http://127.0.0.1:8080/zisk\"\n",
    );
    let settings = stdout(&coordinator(&["--core-config", &webhook], &[]));
    assert!(
        settings.contains("core.webhook_url = \"http://127.0.0.1:8080/zisk\""),
        "{settings}"
    );
    let unset = stdout(&coordinator(&[], &[]));
    assert!(unset.contains("core.webhook_url = unset"), "{unset}");
    for (name, url, problem) in [
        (
            "https.toml",
            "https://hooks.example.com/zisk",
            "https is not supported",
        ),
        ("garbage.toml", "not a url", "is not a URL"),
        ("scheme.toml", "ftp://example.com/zisk", "is not supported"),
    ] {
        let file = write(
            folder.path(),
            name,
            &format!("[coordinator]\nwebhook_url = {url:?}\n"),
        );
        let error = stderr_of_failure(&coordinator(&["--core-config", &file], &[]));
        assert!(
            error.contains(&file)
                && error.contains("coordinator.webhook_url")
                && error.contains(problem),
            "{error}"
        );
    }
}

#[test]
fn rust_log_overrides_the_configured_level_but_not_the_flag() {
    let folder = tempfile::tempdir().unwrap();
    let config = write(
        folder.path(),
        "coordinator.toml",
        "[logging]\nlevel = \"warn\"\n",
    );
    let file_only = stdout(&coordinator(&["--config", &config], &[]));
    assert!(
        file_only.contains("logging.filter = \"warn\""),
        "{file_only}"
    );
    let with_rust_log = stdout(&coordinator(
        &["--config", &config],
        &[("RUST_LOG", "debug,h2=info")],
    ));
    assert!(
        with_rust_log
            .contains("logging.filter = \"debug,h2=info\" (environment variable RUST_LOG)"),
        "{with_rust_log}"
    );
    let with_flag = stdout(&coordinator(
        &["--config", &config, "--log-level", "error"],
        &[("RUST_LOG", "debug")],
    ));
    assert!(
        with_flag.contains("logging.filter = \"error\" (flag --log-level)"),
        "{with_flag}"
    );
}

#[test]
fn flags_for_capabilities_not_built_fail_at_start_naming_the_flag() {
    for (args, flag) in [
        (&["--asm", "/opt/zisk/asm"][..], "--asm"),
        (&["--gpu"][..], "--gpu"),
        (&["--max-streams", "4"][..], "--max-streams"),
        (&["--plonk"][..], "--plonk"),
        (&["--preload-plonk"][..], "--preload-plonk"),
        (
            &["--proving-key-snark", "/opt/key"][..],
            "--proving-key-snark",
        ),
    ] {
        let error = stderr_of_failure(&worker(args, &[]));
        assert!(
            error.contains(&format!("flag {flag}")) && error.contains("not supported"),
            "{flag}: {error}"
        );
    }
    let emulator = stdout(&worker(&["--emulator"], &[]));
    assert!(emulator.contains("backend = emulator"), "{emulator}");
}

#[test]
fn the_prover_table_sets_memory_and_parallelism_and_is_range_checked() {
    let folder = tempfile::tempdir().unwrap();
    let defaults = stdout(&worker(&[], &[]));
    assert!(
        defaults.contains("prover.parallel_segments = 1")
            && defaults.contains("prover.max_kept_phase1_cycles = 4194304"),
        "{defaults}"
    );
    let config = write(
        folder.path(),
        "worker.toml",
        "[prover]\nparallel_segments = 2\nmax_kept_phase1_cycles = 0\n",
    );
    let from_file = stdout(&worker(&["--config", &config], &[]));
    assert!(
        from_file.contains("prover.parallel_segments = 2")
            && from_file.contains("prover.max_kept_phase1_cycles = 0"),
        "{from_file}"
    );
    let overridden = stdout(&worker(
        &["--config", &config, "--parallel-segments", "4"],
        &[("ZISK_WORKER_MAX_KEPT_PHASE1_CYCLES", "1048576")],
    ));
    assert!(
        overridden.contains("prover.parallel_segments = 4")
            && overridden.contains("prover.max_kept_phase1_cycles = 1048576"),
        "{overridden}"
    );
    let zero = stderr_of_failure(&worker(&["--parallel-segments", "0"], &[]));
    assert!(
        zero.contains("prover.parallel_segments") && zero.contains("--parallel-segments"),
        "{zero}"
    );
}

#[test]
fn a_proving_key_file_is_refused_rather_than_ignored() {
    let folder = tempfile::tempdir().unwrap();
    let by_flag = stderr_of_failure(&worker(&["--proving-key", "/keys/pk"], &[]));
    assert!(
        by_flag.contains("worker.proving_key") && by_flag.contains("computes each program"),
        "{by_flag}"
    );
    let config = write(
        folder.path(),
        "worker.toml",
        "[worker]\nproving_key = \"/keys/pk\"\n",
    );
    let by_file = stderr_of_failure(&worker(&["--config", &config], &[]));
    assert!(
        by_file.contains("worker.proving_key") && by_file.contains(&config),
        "{by_file}"
    );
}
