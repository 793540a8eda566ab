//! Starting real `zisk-coordinator` / `zisk-worker` / `zisk` processes on loopback, with
//! free ports, bounded waits and their logs shown when a test fails.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The guests shipped with the prover.
pub(crate) fn guest(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../prover/guests/bin")
        .join(format!("{name}.elf"))
}

/// `N` distinct ports nobody listens on now, never handed out before in this test process:
/// all `N` are held bound at once (so the system cannot give the same one twice), then
/// released. Tests run in parallel threads, so ports already given to another test are
/// skipped.
pub(crate) fn free_ports<const N: usize>() -> [u16; N] {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut held = Vec::with_capacity(N);
    while held.len() < N {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let port = listener.local_addr().expect("local address").port();
        if given.insert(port) {
            held.push((listener, port));
        }
    }
    let mut ports = [0; N];
    for (slot, (_, port)) in ports.iter_mut().zip(&held) {
        *slot = *port;
    }
    ports
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `limit`.
pub(crate) fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed when dropped; its output goes to a log file.
pub(crate) struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `binary` with `args` and extra environment.
    pub(crate) fn start(
        name: &str,
        binary: &str,
        args: &[String],
        env: &[(&str, &str)],
        logs: &Path,
    ) -> Self {
        let log = logs.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("create the log file");
        let mut command = Command::new(binary);
        command
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone the log file"))
            .stderr(file);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {binary}: {error}"));
        Process {
            name: name.to_owned(),
            child,
            log,
        }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Sends a signal.
    pub(crate) fn signal(&self, signal: Signal) {
        kill(self.pid(), signal)
            .unwrap_or_else(|error| panic!("cannot signal {}: {error}", self.name));
    }

    /// Waits for the process to exit, for at most `limit`.
    pub(crate) fn wait(&mut self, limit: Duration) -> ExitStatus {
        let name = self.name.clone();
        let log = self.log();
        let child = &mut self.child;
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "{name} did not exit within {limit:?}; its log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("----- log of {} -----\n{}", self.name, self.log());
        }
    }
}

/// The ports of one coordinator.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ports {
    /// Client API.
    pub(crate) api: u16,
    /// Worker plane.
    pub(crate) cluster: u16,
    /// `/metrics` and `/health`.
    pub(crate) metrics: u16,
}

impl Ports {
    /// Three free ports.
    pub(crate) fn free() -> Self {
        let [api, cluster, metrics] = free_ports();
        Ports {
            api,
            cluster,
            metrics,
        }
    }

    /// The client API's URL.
    pub(crate) fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api)
    }
}

/// Starts a coordinator on `ports` with a short heartbeat and a short drain window, and
/// waits until `/health` answers.
pub(crate) fn start_coordinator(ports: Ports, logs: &Path, extra: &[&str]) -> Process {
    start_coordinator_tuned(ports, logs, "", extra)
}

/// [`start_coordinator`] with `more_tuning` (lines of its `[coordinator]` table) appended to
/// the core tuning file.
pub(crate) fn start_coordinator_tuned(
    ports: Ports,
    logs: &Path,
    more_tuning: &str,
    extra: &[&str],
) -> Process {
    let tuning = logs.join("coordinator-core.toml");
    std::fs::write(
        &tuning,
        format!("[coordinator]\nheartbeat_interval_ms = 500\nheartbeat_timeout_ms = 3000\nreconnect_grace_period_ms = 300\nshutdown_timeout_seconds = 5\n{more_tuning}"),
    )
    .expect("write the tuning file");
    let (api, tuning) = (ports.api.to_string(), tuning.display().to_string());
    let mut args = vec!["--api-port", &api, "--core-config", &tuning];
    args.extend_from_slice(extra);
    start_coordinator_configured("coordinator", ports, logs, &args, &[])
}

/// Starts a coordinator named `name` that takes its client API port from wherever `args`,
/// `env` and its config file say: unlike [`start_coordinator`] it passes no `--api-port`.
/// The worker plane and `/health` are on `ports.cluster` and `ports.metrics` (`ports.api` is
/// not used). Waits until `/health` answers.
pub(crate) fn start_coordinator_configured(
    name: &str,
    ports: Ports,
    logs: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Process {
    let mut all: Vec<String> = [
        "--host",
        "127.0.0.1",
        "--metrics-host",
        "127.0.0.1",
        "--cluster-port",
        &ports.cluster.to_string(),
        "--metrics-port",
        &ports.metrics.to_string(),
        "--log-format",
        "compact",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    all.extend(args.iter().map(|arg| (*arg).to_owned()));
    let process = Process::start(
        name,
        env!("CARGO_BIN_EXE_zisk-coordinator"),
        &all,
        env,
        logs,
    );
    wait_for(
        &format!("the /health of {name}"),
        Duration::from_secs(20),
        || {
            http_get(ports.metrics, "/health")
                .ok()
                .filter(|(status, _)| *status == 200)
        },
    );
    process
}

/// Starts a worker with `id` that takes the coordinator's URL from wherever `args`, `env`
/// and its config file say: unlike [`start_worker`] it passes no `--coordinator-url`.
pub(crate) fn start_worker_configured(
    id: &str,
    logs: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Process {
    let mut all: Vec<String> = [
        "--worker-id",
        id,
        "--emulator",
        "--reconnect-interval-seconds",
        "1",
        "--log-format",
        "compact",
        "--inputs-folder",
        &logs.join(id).display().to_string(),
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    all.extend(args.iter().map(|arg| (*arg).to_owned()));
    Process::start(id, env!("CARGO_BIN_EXE_zisk-worker"), &all, env, logs)
}

/// Starts a worker with `id` against the coordinator's worker plane.
pub(crate) fn start_worker(id: &str, ports: Ports, logs: &Path) -> Process {
    let url = format!("http://127.0.0.1:{}", ports.cluster);
    start_worker_configured(id, logs, &["--coordinator-url", &url], &[])
}

/// Runs the `zisk` CLI to completion (at most `limit`).
pub(crate) fn run_cli(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zisk"))
        .args(args)
        .env_remove("ZISK_COORDINATOR_URL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zisk");
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().expect("collect output");
            panic!(
                "zisk {args:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("collect output")
}

/// stdout and stderr of a finished command, for assertion messages.
pub(crate) fn describe(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A plain HTTP/1.1 GET on loopback: the status and the body.
pub(crate) fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_owned());
    Ok((status, body))
}

/// A client of the coordinator's API for the test's own checks.
pub(crate) fn client(runtime: &tokio::runtime::Runtime, ports: Ports) -> zisk_bins::cli::Client {
    runtime
        .block_on(zisk_bins::cli::Client::connect(&ports.api_url()))
        .expect("connect to the client API")
}

/// Waits until `count` workers are connected.
pub(crate) fn wait_for_workers(runtime: &tokio::runtime::Runtime, ports: Ports, count: u32) {
    let mut client = client(runtime, ports);
    wait_for(
        &format!("{count} connected workers"),
        Duration::from_secs(20),
        || {
            let status = runtime.block_on(client.status()).ok()?;
            (status.workers_connected == count).then_some(())
        },
    );
}

/// A temporary folder for logs, inputs and outputs.
pub(crate) fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("zisk-e2e-")
        .tempdir()
        .expect("create a temporary folder")
}

/// `len` pseudo-random bytes (a fixed xorshift stream).
pub(crate) fn pseudo_random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
