//! Cluster simulations: random seeds, the determinism check and the regression seeds.
//!
//! Run with `cargo sim-test` (docs/simulation.md). Environment:
//! - `ZISK_SIM_SEEDS` (default 500): how many seeds `random_seeds_...` runs;
//! - `ZISK_SIM_SEED` (default 1): the first of them (seeds are consecutive);
//! - `ZISK_SIM_THREADS` (default: the machine's cores): seeds run in parallel, one madsim
//!   runtime per thread;
//! - `ZISK_SIM_LOG=1`: print every event of every run (use with one seed).
#![cfg(madsim)]

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use zisk_sim::run::{RunFailure, RunOptions, RunReport, replay_command, run_seed};
use zisk_sim::schedule::FaultKind;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn options() -> RunOptions {
    RunOptions {
        echo_log: std::env::var("ZISK_SIM_LOG").is_ok_and(|value| value == "1"),
    }
}

/// Runs `seeds` on parallel threads; returns the reports and the failures.
fn run_many(seeds: &[u64]) -> (Vec<RunReport>, Vec<RunFailure>) {
    let threads = env_u64(
        "ZISK_SIM_THREADS",
        std::thread::available_parallelism().map_or(2, |n| n.get() as u64),
    )
    .max(1) as usize;
    let next = AtomicU64::new(0);
    let reports = Mutex::new(Vec::new());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.min(seeds.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(&seed) = seeds.get(index) else {
                        return;
                    };
                    match run_seed(seed, options()) {
                        Ok(report) => reports.lock().unwrap().push(report),
                        Err(failure) => {
                            eprintln!("{failure}");
                            failures.lock().unwrap().push(failure);
                        }
                    }
                }
            });
        }
    });
    let mut reports = reports.into_inner().unwrap();
    reports.sort_by_key(|report| report.seed);
    (reports, failures.into_inner().unwrap())
}

fn summarize(what: &str, reports: &[RunReport], elapsed: Duration) {
    let simulated: Duration = reports.iter().map(|report| report.simulated).sum();
    let kinds: BTreeSet<FaultKind> = reports
        .iter()
        .flat_map(|report| report.kinds.iter().copied())
        .collect();
    let sum = |field: fn(&RunReport) -> u64| reports.iter().map(field).sum::<u64>();
    let seconds = elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "{what}: {} seeds in {:.1} s = {:.1} seeds/s; {:.1} simulated hours = {:.2} simulated hours per real second",
        reports.len(),
        seconds,
        reports.len() as f64 / seconds,
        simulated.as_secs_f64() / 3600.0,
        simulated.as_secs_f64() / 3600.0 / seconds
    );
    eprintln!(
        "{what}: jobs completed {} failed {} cancelled {} lost-with-coordinator {} refused {}; stale results checked {}; core steps {}",
        sum(|r| r.outcomes.completed),
        sum(|r| r.outcomes.failed),
        sum(|r| r.outcomes.cancelled),
        sum(|r| r.outcomes.lost),
        sum(|r| r.outcomes.refused),
        sum(|r| r.tally.stale_results_checked),
        sum(|r| r.tally.steps),
    );
    eprintln!("{what}: fault kinds covered: {kinds:?}");
    let mut metrics: std::collections::BTreeMap<String, u64> = Default::default();
    let mut calls: std::collections::BTreeMap<String, u64> = Default::default();
    for report in reports {
        for (name, count) in &report.tally.metrics {
            *metrics.entry(name.clone()).or_default() += count;
        }
        for (name, count) in &report.tally.calls {
            *calls.entry(name.clone()).or_default() += count;
        }
    }
    eprintln!("{what}: coordinator events: {metrics:?}");
    eprintln!("{what}: prover calls: {calls:?}");
    eprintln!(
        "{what}: GPU oversubscription (released work still running when another job's began): {}",
        sum(|r| r.tally.overlapping_released_work)
    );
}

#[test]
fn random_seeds_keep_every_invariant_and_every_job_ends() {
    let count = env_u64("ZISK_SIM_SEEDS", 500);
    let base = env_u64("ZISK_SIM_SEED", 1);
    let seeds: Vec<u64> = (base..base + count).collect();
    let started = Instant::now();
    let (reports, failures) = run_many(&seeds);
    summarize("random seeds", &reports, started.elapsed());
    if !failures.is_empty() {
        let commands: Vec<String> = failures
            .iter()
            .map(|failure| replay_command(failure.seed))
            .collect();
        panic!(
            "{} of {count} seeds failed; replay with:\n  {}",
            failures.len(),
            commands.join("\n  ")
        );
    }
}

/// Environment variable that makes [`one_seed_in_a_child_process`] run a seed.
const CHILD_SEED: &str = "ZISK_SIM_CHILD_SEED";

/// Runs `seed` alone in a fresh process (this test binary, filtered to
/// [`one_seed_in_a_child_process`]); returns its log digest and length.
fn digest_in_a_fresh_process(seed: u64) -> (String, u64) {
    let output = std::process::Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "one_seed_in_a_child_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_SEED, seed.to_string())
        .output()
        .expect("start a child test process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "seed {seed} failed in a child process: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|line| line.split_once("sim-digest ").map(|(_, rest)| rest.trim()))
        .unwrap_or_else(|| panic!("the child process printed no digest: {stdout}"));
    let (digest, lines) = line.split_once(' ').expect("digest and length");
    (digest.to_owned(), lines.parse().expect("a length"))
}

/// Not a test: the entry point of the determinism check's child processes.
#[test]
#[ignore = "run by the_same_seed_in_two_fresh_processes_gives_the_same_event_log"]
fn one_seed_in_a_child_process() {
    let seed: u64 = std::env::var(CHILD_SEED)
        .expect("ZISK_SIM_CHILD_SEED names the seed")
        .parse()
        .expect("a seed");
    let report =
        run_seed(seed, RunOptions::default()).unwrap_or_else(|failure| panic!("{failure}"));
    println!("sim-digest {} {}", report.log_digest, report.log_lines);
}

/// Replaying a seed (`replay_command`) starts a fresh process, so that is what must be
/// deterministic. Two runs in one process can differ: madsim keeps process-wide state across
/// runtimes (docs/simulation.md).
#[test]
fn the_same_seed_in_two_fresh_processes_gives_the_same_event_log() {
    // The first seeds whose schedules kill the coordinator and workers, partition and stall
    // workers, and replay zombies with corrupt GPUs.
    let wanted = [
        [FaultKind::CoordinatorKill, FaultKind::WorkerKill],
        [FaultKind::PartitionOneWay, FaultKind::StalledWorker],
        [FaultKind::ZombieReplay, FaultKind::CorruptProofs],
    ];
    let seeds = wanted.map(|kinds| {
        (1u64..)
            .find(|seed| {
                let used = zisk_sim::schedule::Schedule::from_seed(*seed).kinds();
                kinds.iter().all(|kind| used.contains(kind))
            })
            .expect("some seed draws these faults")
    });
    for seed in seeds {
        let first = digest_in_a_fresh_process(seed);
        let second = digest_in_a_fresh_process(seed);
        assert!(first.1 > 100, "seed {seed} logged only {} events", first.1);
        assert_eq!(
            first,
            second,
            "seed {seed} is not deterministic: replay with {}",
            replay_command(seed)
        );
    }
}

/// `sim/regression-seeds.txt`: one seed per line, then what it caught.
fn regression_seeds() -> Vec<(u64, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/regression-seeds.txt");
    let text = std::fs::read_to_string(path).expect("sim/regression-seeds.txt is readable");
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (seed, what) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let seed = seed
                .parse()
                .unwrap_or_else(|_| panic!("regression-seeds.txt: `{seed}` is not a seed"));
            (seed, what.trim().to_owned())
        })
        .collect()
}

#[test]
fn regression_seeds_still_pass() {
    let seeds = regression_seeds();
    assert!(!seeds.is_empty(), "regression-seeds.txt lists no seed");
    let started = Instant::now();
    let (reports, failures) = run_many(&seeds.iter().map(|(seed, _)| *seed).collect::<Vec<_>>());
    summarize("regression seeds", &reports, started.elapsed());
    for failure in &failures {
        let what = seeds
            .iter()
            .find(|(seed, _)| *seed == failure.seed)
            .map_or("", |(_, what)| what.as_str());
        eprintln!("regression seed {} ({what}) failed again", failure.seed);
    }
    assert!(
        failures.is_empty(),
        "{} regression seeds failed",
        failures.len()
    );
}
