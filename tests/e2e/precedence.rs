//! Configuration precedence checked by connecting (issue 6): a flag beats the environment,
//! which beats the config file. `bins/tests/config.rs` checks the same layering through
//! `--check-config`; here real processes listen (or dial) where the winning layer says.
//!
//! The issue states it with ports 7000 (TOML), 7001 (environment) and 8000 (flag); free
//! ports stand for them here, because literal ports may be taken on a CI machine.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use crate::harness::*;

/// Asserts that nothing accepts connections on `port` of loopback.
fn assert_nothing_listens(port: u16, what: &str) {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    match TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
        Ok(_) => panic!("something listens on the {what} port {port}"),
        Err(error) => assert_eq!(
            error.kind(),
            ErrorKind::ConnectionRefused,
            "connecting to the {what} port {port}: {error}"
        ),
    }
}

/// Asserts that the client API answers `ClusterStatus` on `api_port`.
fn assert_api_answers(runtime: &tokio::runtime::Runtime, ports: Ports, api_port: u16) {
    let ports = Ports {
        api: api_port,
        ..ports
    };
    let mut client = client(runtime, ports);
    let status = runtime
        .block_on(client.status())
        .unwrap_or_else(|error| panic!("no cluster status on port {api_port}: {error:#}"));
    assert_eq!(status.protocol_version, zisk_proto::PROTOCOL_VERSION);
}

fn write_file(folder: &Path, name: &str, text: &str) -> String {
    let path = folder.join(name);
    std::fs::write(&path, text).expect("write the config file");
    path.display().to_string()
}

#[test]
fn the_client_api_listens_on_the_flag_port_then_the_environment_port_then_the_file_port() {
    let scratch = scratch();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Stand-ins for the 7000 (TOML), 7001 (environment) and 8000 (flag).
    let [file_port, env_port, flag_port] = free_ports();
    let config = write_file(
        scratch.path(),
        "coordinator.toml",
        &format!("[server]\nport = {file_port}\n"),
    );
    let env_value = env_port.to_string();
    let env = [("ZISK_COORDINATOR_API_PORT", env_value.as_str())];
    let flag = flag_port.to_string();

    // File, environment and flag: the flag wins.
    let ports = Ports::free();
    let coordinator = start_coordinator_configured(
        "coordinator-flag",
        ports,
        scratch.path(),
        &["--config", &config, "--api-port", &flag],
        &env,
    );
    assert_api_answers(&runtime, ports, flag_port);
    assert_nothing_listens(env_port, "environment");
    assert_nothing_listens(file_port, "file");
    drop(coordinator);

    // File and environment: the environment wins.
    let ports = Ports::free();
    let coordinator = start_coordinator_configured(
        "coordinator-env",
        ports,
        scratch.path(),
        &["--config", &config],
        &env,
    );
    assert_api_answers(&runtime, ports, env_port);
    assert_nothing_listens(file_port, "file");
    assert_nothing_listens(flag_port, "flag");
    drop(coordinator);

    // The file alone.
    let ports = Ports::free();
    let _coordinator = start_coordinator_configured(
        "coordinator-file",
        ports,
        scratch.path(),
        &["--config", &config],
        &[],
    );
    assert_api_answers(&runtime, ports, file_port);
    assert_nothing_listens(env_port, "environment");
    assert_nothing_listens(flag_port, "flag");
}

#[test]
fn a_worker_dials_the_flag_url_then_the_environment_url_then_the_file_url() {
    let scratch = scratch();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let by_file = Ports::free();
    let by_env = Ports::free();
    let by_flag = Ports::free();
    // One folder each, so that their logs and tuning files stay apart.
    let folder = |name: &str| {
        let folder = scratch.path().join(name);
        std::fs::create_dir_all(&folder).expect("create a log folder");
        folder
    };
    let _file_coordinator = start_coordinator(by_file, &folder("by-file"), &[]);
    let _env_coordinator = start_coordinator(by_env, &folder("by-env"), &[]);
    let _flag_coordinator = start_coordinator(by_flag, &folder("by-flag"), &[]);
    let plane = |ports: Ports| format!("http://127.0.0.1:{}", ports.cluster);
    let config = write_file(
        scratch.path(),
        "worker.toml",
        &format!("[coordinator]\nurl = \"{}\"\n", plane(by_file)),
    );
    let env_url = plane(by_env);
    let env = [("ZISK_WORKER_COORDINATOR_URL", env_url.as_str())];
    let flag_url = plane(by_flag);

    let _from_flag = start_worker_configured(
        "from-flag",
        scratch.path(),
        &["--config", &config, "--coordinator-url", &flag_url],
        &env,
    );
    let _from_env =
        start_worker_configured("from-env", scratch.path(), &["--config", &config], &env);
    let _from_file =
        start_worker_configured("from-file", scratch.path(), &["--config", &config], &[]);

    // Each coordinator sees exactly the worker whose winning layer names it: three workers,
    // three coordinators, one each.
    for (ports, expected) in [
        (by_flag, "from-flag"),
        (by_env, "from-env"),
        (by_file, "from-file"),
    ] {
        let mut client = client(&runtime, ports);
        let ids = wait_for(
            &format!("worker {expected} on its coordinator"),
            Duration::from_secs(20),
            || {
                let workers = runtime.block_on(client.workers()).ok()?.workers;
                let ids: Vec<String> = workers.into_iter().map(|worker| worker.worker_id).collect();
                (!ids.is_empty()).then_some(ids)
            },
        );
        assert_eq!(
            ids,
            [expected],
            "the workers of the coordinator for {expected}"
        );
    }
}
