//! Fault schedules: the cluster a run starts with and a list of timed fault events.
//!
//! A seed draws its own schedule with [`Schedule::from_seed`]: first a *fault mix* (which
//! fault kinds this seed uses and how intensely), then the events. The proptest strategies in
//! `tests/` build schedules directly. Either way the runner executes the events in the
//! safety phase, then heals everything for the liveness phase.

use std::collections::BTreeSet;
use std::fmt;

/// Milliseconds of simulated time.
pub type Millis = u64;

/// One worker machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerSpec {
    /// Compute units it advertises.
    pub compute_units: u32,
    /// Its GPU speed factor in thousandths (1000 = nominal; larger is slower).
    pub speed_milli: u64,
}

/// Which way a worker-coordinator partition cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    /// Nothing from the worker reaches the coordinator.
    WorkerToCoordinator,
    /// Nothing from the coordinator reaches the worker.
    CoordinatorToWorker,
    /// Both ways.
    Both,
}

/// How a zombie worker forges the fences of the results it replays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Forge {
    /// The worker's current job and attempt under the previous epoch.
    PreviousEpoch,
    /// The current epoch and job with an attempt the coordinator never issued.
    AttemptNeverIssued,
}

/// One fault or workload event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A client submits `count` jobs at once (a burst when `count > 1`).
    Submit {
        /// Which client.
        client: u32,
        /// Prove (or execute-only).
        prove: bool,
        /// Segments of the modelled guest.
        segments: u32,
        /// Compute units asked for (`None` = the default).
        compute_units: Option<u32>,
        /// How many jobs.
        count: u32,
    },
    /// A client cancels the `job`-th admitted job (modulo the number admitted).
    Cancel {
        /// Index among admitted jobs.
        job: u32,
    },
    /// SIGKILL a worker process.
    KillWorker {
        /// Worker index.
        worker: u32,
    },
    /// Start a killed worker's process again (same id, fresh state).
    RestartWorker {
        /// Worker index.
        worker: u32,
    },
    /// SIGKILL the coordinator.
    KillCoordinator,
    /// Start the coordinator again with a larger epoch and no state.
    RestartCoordinator,
    /// Cut the links between a worker and the coordinator.
    Partition {
        /// Worker index.
        worker: u32,
        /// Which way.
        direction: Direction,
    },
    /// Restore a worker's links.
    HealPartition {
        /// Worker index.
        worker: u32,
    },
    /// Stall a worker: its process stops being scheduled (SIGSTOP).
    Pause {
        /// Worker index.
        worker: u32,
    },
    /// Let a stalled worker run again.
    Resume {
        /// Worker index.
        worker: u32,
    },
    /// Change a worker GPU's speed factor (thousandths; larger is slower).
    SetSpeed {
        /// Worker index.
        worker: u32,
        /// New factor.
        speed_milli: u64,
    },
    /// A worker's GPU starts (or stops) producing proofs that do not verify.
    CorruptProofs {
        /// Worker index.
        worker: u32,
        /// Whether proofs are corrupt from now on.
        corrupt: bool,
    },
    /// A new worker machine joins the cluster (it takes the next worker index).
    JoinWorker(WorkerSpec),
    /// A zombie process with worker `worker`'s id takes its stream over and replays results
    /// under stale fences.
    ZombieReplay {
        /// Worker index.
        worker: u32,
        /// The stale fence it uses.
        forge: Forge,
    },
}

impl Fault {
    /// The fault kind's name, for coverage reports.
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Submit { count, .. } if *count > 1 => FaultKind::SubmitBurst,
            Fault::Submit { .. } => FaultKind::Submit,
            Fault::Cancel { .. } => FaultKind::ClientCancel,
            Fault::KillWorker { .. } | Fault::RestartWorker { .. } => FaultKind::WorkerKill,
            Fault::KillCoordinator | Fault::RestartCoordinator => FaultKind::CoordinatorKill,
            Fault::Partition {
                direction: Direction::Both,
                ..
            } => FaultKind::PartitionTwoWay,
            Fault::Partition { .. } => FaultKind::PartitionOneWay,
            Fault::HealPartition { .. } => FaultKind::Heal,
            Fault::Pause { .. } | Fault::Resume { .. } => FaultKind::StalledWorker,
            Fault::SetSpeed { .. } => FaultKind::SlowWorker,
            Fault::CorruptProofs { .. } => FaultKind::CorruptProofs,
            Fault::JoinWorker(_) => FaultKind::WorkerJoin,
            Fault::ZombieReplay { .. } => FaultKind::ZombieReplay,
        }
    }
}

/// The kinds of fault a schedule can hold, for coverage reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// One job submitted.
    Submit,
    /// Several jobs submitted at once.
    SubmitBurst,
    /// A client cancels a job.
    ClientCancel,
    /// Worker SIGKILL and restart.
    WorkerKill,
    /// Coordinator SIGKILL and restart.
    CoordinatorKill,
    /// One-way worker-coordinator partition.
    PartitionOneWay,
    /// Two-way worker-coordinator partition.
    PartitionTwoWay,
    /// A partition healed.
    Heal,
    /// A worker stalled (paused) and resumed.
    StalledWorker,
    /// A slow GPU.
    SlowWorker,
    /// A GPU producing proofs that do not verify.
    CorruptProofs,
    /// A worker joining mid-run.
    WorkerJoin,
    /// A zombie process with a live worker's id replaying stale-fenced results.
    ZombieReplay,
}

/// A fault at a simulated time (milliseconds after the safety phase begins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedFault {
    /// When.
    pub at_ms: Millis,
    /// What.
    pub fault: Fault,
}

/// A whole run: the starting cluster and the safety phase's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The workers present from the start (indices `0..`); joiners take the next indices.
    pub workers: Vec<WorkerSpec>,
    /// Client nodes.
    pub clients: u32,
    /// Whether a restarted coordinator draws the same job ids as the one it replaces
    /// (a stronger test of epoch fencing: stale results then name live jobs).
    pub reuse_job_ids: bool,
    /// A calm run: no fault at all, nominal GPUs, a light load of jobs the pool can take.
    /// Every job of a calm run must complete (not merely end).
    pub calm: bool,
    /// Length of the safety phase; events after it are dropped.
    pub safety_ms: Millis,
    /// The events, in time order.
    pub events: Vec<TimedFault>,
}

impl Schedule {
    /// The fault kinds this schedule uses.
    pub fn kinds(&self) -> BTreeSet<FaultKind> {
        self.events.iter().map(|event| event.fault.kind()).collect()
    }

    /// Sorts the events by time (stable: equal times keep their order).
    pub fn sort(&mut self) {
        self.events.sort_by_key(|event| event.at_ms);
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "workers {:?}, clients {}, reuse_job_ids {}, calm {}, safety {} ms",
            self.workers, self.clients, self.reuse_job_ids, self.calm, self.safety_ms
        )?;
        for event in &self.events {
            writeln!(f, "  {:>7} ms  {:?}", event.at_ms, event.fault)?;
        }
        Ok(())
    }
}

/// splitmix64: the schedule generator's own small, portable PRNG.
#[derive(Clone, Debug)]
pub struct SeedRng(u64);

impl SeedRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        SeedRng(seed ^ 0x5a17_c0de_d00d_f00d)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        debug_assert!(low <= high);
        low + self.next_u64() % (high - low + 1)
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next_u64() % 1000 < per_mille
    }
}

/// Which fault kinds a seed enables, and how often each strikes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultMix {
    /// Mean milliseconds between worker kills (0 = none).
    pub worker_kill_every_ms: u64,
    /// Mean milliseconds between coordinator kills (0 = none).
    pub coordinator_kill_every_ms: u64,
    /// Mean milliseconds between partitions (0 = none).
    pub partition_every_ms: u64,
    /// Mean milliseconds between stalls (0 = none).
    pub stall_every_ms: u64,
    /// Mean milliseconds between speed changes (0 = none).
    pub slowdown_every_ms: u64,
    /// Mean milliseconds between corrupt-GPU episodes (0 = none).
    pub corrupt_every_ms: u64,
    /// Mean milliseconds between client cancels (0 = none).
    pub cancel_every_ms: u64,
    /// Mean milliseconds between zombie replays (0 = none).
    pub zombie_every_ms: u64,
    /// Mean milliseconds between submissions.
    pub submit_every_ms: u64,
    /// Per mille of submissions that are bursts.
    pub burst_per_mille: u64,
    /// Workers that join mid-run.
    pub joiners: u32,
}

/// Per mille of seeds that draw a calm run (see [`Schedule::calm`]).
pub const CALM_PER_MILLE: u64 = 120;

impl FaultMix {
    /// Draws a mix: each fault kind is on with its own probability.
    pub fn draw(rng: &mut SeedRng) -> Self {
        let mut every = |per_mille: u64, low: u64, high: u64| {
            if rng.chance(per_mille) {
                rng.range(low, high)
            } else {
                0
            }
        };
        let worker_kill_every_ms = every(600, 8_000, 40_000);
        let coordinator_kill_every_ms = every(250, 40_000, 120_000);
        let partition_every_ms = every(600, 8_000, 40_000);
        let stall_every_ms = every(400, 10_000, 50_000);
        let slowdown_every_ms = every(500, 10_000, 40_000);
        let corrupt_every_ms = every(250, 20_000, 80_000);
        let cancel_every_ms = every(450, 10_000, 40_000);
        let zombie_every_ms = every(300, 5_000, 30_000);
        FaultMix {
            worker_kill_every_ms,
            coordinator_kill_every_ms,
            partition_every_ms,
            stall_every_ms,
            slowdown_every_ms,
            corrupt_every_ms,
            cancel_every_ms,
            zombie_every_ms,
            submit_every_ms: rng.range(2_000, 12_000),
            burst_per_mille: rng.range(0, 300),
            joiners: if rng.chance(350) {
                rng.range(1, 2) as u32
            } else {
                0
            },
        }
    }
}

fn gap(rng: &mut SeedRng, mean_ms: u64) -> u64 {
    rng.range(mean_ms / 4, mean_ms * 7 / 4).max(1)
}

impl Schedule {
    /// The schedule seed `seed` draws: its cluster, its fault mix, then its events.
    pub fn from_seed(seed: u64) -> Schedule {
        let mut rng = SeedRng::new(seed);
        let calm = rng.chance(CALM_PER_MILLE);
        let initial = rng.range(2, 5) as usize;
        let worker = |rng: &mut SeedRng| WorkerSpec {
            compute_units: rng.range(1, 4) as u32,
            speed_milli: if !calm && rng.chance(200) {
                rng.range(2_000, 8_000)
            } else {
                rng.range(700, 1_300)
            },
        };
        let workers: Vec<WorkerSpec> = (0..initial).map(|_| worker(&mut rng)).collect();
        let clients = rng.range(1, 3) as u32;
        let reuse_job_ids = rng.chance(250);
        let safety_ms = rng.range(60_000, 180_000);
        if calm {
            return Self::calm(&mut rng, workers, clients, reuse_job_ids, safety_ms);
        }
        let mix = FaultMix::draw(&mut rng);
        let mut events = Vec::new();
        let mut worker_count = initial as u64;

        for index in 0..mix.joiners {
            let at_ms = rng.range(5_000, safety_ms * 3 / 4);
            events.push(TimedFault {
                at_ms,
                fault: Fault::JoinWorker(worker(&mut rng)),
            });
            let _ = index;
            worker_count += 1;
        }
        let mut at = rng.range(200, 2_000);
        while at < safety_ms {
            let burst = rng.chance(mix.burst_per_mille);
            events.push(TimedFault {
                at_ms: at,
                fault: Fault::Submit {
                    client: rng.range(0, u64::from(clients) - 1) as u32,
                    prove: rng.chance(750),
                    segments: rng.range(1, 16) as u32,
                    compute_units: if rng.chance(300) {
                        None
                    } else {
                        Some(rng.range(1, 6) as u32)
                    },
                    count: if burst { rng.range(2, 6) as u32 } else { 1 },
                },
            });
            at += gap(&mut rng, mix.submit_every_ms);
        }
        let pairs =
            |rng: &mut SeedRng,
             events: &mut Vec<TimedFault>,
             mean_ms: u64,
             make: &mut dyn FnMut(&mut SeedRng) -> (Fault, Fault, u64)| {
                if mean_ms == 0 {
                    return;
                }
                let mut at = gap(rng, mean_ms);
                while at < safety_ms {
                    let (start, end, length_ms) = make(rng);
                    events.push(TimedFault {
                        at_ms: at,
                        fault: start,
                    });
                    events.push(TimedFault {
                        at_ms: at + length_ms,
                        fault: end,
                    });
                    at += length_ms + gap(rng, mean_ms);
                }
            };
        let any_worker = move |rng: &mut SeedRng| rng.range(0, worker_count - 1) as u32;
        pairs(
            &mut rng,
            &mut events,
            mix.worker_kill_every_ms,
            &mut |rng| {
                let worker = any_worker(rng);
                (
                    Fault::KillWorker { worker },
                    Fault::RestartWorker { worker },
                    rng.range(100, 15_000),
                )
            },
        );
        pairs(
            &mut rng,
            &mut events,
            mix.coordinator_kill_every_ms,
            &mut |rng| {
                (
                    Fault::KillCoordinator,
                    Fault::RestartCoordinator,
                    rng.range(100, 10_000),
                )
            },
        );
        pairs(&mut rng, &mut events, mix.partition_every_ms, &mut |rng| {
            let worker = any_worker(rng);
            let direction = match rng.range(0, 2) {
                0 => Direction::WorkerToCoordinator,
                1 => Direction::CoordinatorToWorker,
                _ => Direction::Both,
            };
            (
                Fault::Partition { worker, direction },
                Fault::HealPartition { worker },
                rng.range(200, 20_000),
            )
        });
        pairs(&mut rng, &mut events, mix.stall_every_ms, &mut |rng| {
            let worker = any_worker(rng);
            (
                Fault::Pause { worker },
                Fault::Resume { worker },
                rng.range(200, 15_000),
            )
        });
        pairs(&mut rng, &mut events, mix.slowdown_every_ms, &mut |rng| {
            let worker = any_worker(rng);
            (
                Fault::SetSpeed {
                    worker,
                    speed_milli: rng.range(2_000, 20_000),
                },
                Fault::SetSpeed {
                    worker,
                    speed_milli: 1_000,
                },
                rng.range(2_000, 40_000),
            )
        });
        pairs(&mut rng, &mut events, mix.corrupt_every_ms, &mut |rng| {
            let worker = any_worker(rng);
            (
                Fault::CorruptProofs {
                    worker,
                    corrupt: true,
                },
                Fault::CorruptProofs {
                    worker,
                    corrupt: false,
                },
                rng.range(2_000, 30_000),
            )
        });
        if mix.cancel_every_ms > 0 {
            let mut at = gap(&mut rng, mix.cancel_every_ms);
            while at < safety_ms {
                events.push(TimedFault {
                    at_ms: at,
                    fault: Fault::Cancel {
                        job: rng.range(0, 63) as u32,
                    },
                });
                at += gap(&mut rng, mix.cancel_every_ms);
            }
        }
        if mix.zombie_every_ms > 0 {
            let mut at = gap(&mut rng, mix.zombie_every_ms);
            while at < safety_ms {
                events.push(TimedFault {
                    at_ms: at,
                    fault: Fault::ZombieReplay {
                        worker: any_worker(&mut rng),
                        forge: if rng.chance(500) {
                            Forge::PreviousEpoch
                        } else {
                            Forge::AttemptNeverIssued
                        },
                    },
                });
                at += gap(&mut rng, mix.zombie_every_ms);
            }
        }
        events.retain(|event| event.at_ms < safety_ms);
        let mut schedule = Schedule {
            workers,
            clients,
            reuse_job_ids,
            calm: false,
            safety_ms,
            events,
        };
        schedule.sort();
        schedule
    }

    /// A calm schedule: one job at a time at most every 15 s, each asking for no more units
    /// than the largest `max_workers_per_job` (3) workers offer.
    fn calm(
        rng: &mut SeedRng,
        workers: Vec<WorkerSpec>,
        clients: u32,
        reuse_job_ids: bool,
        safety_ms: Millis,
    ) -> Schedule {
        let mut units: Vec<u32> = workers.iter().map(|worker| worker.compute_units).collect();
        units.sort_unstable_by(|a, b| b.cmp(a));
        let capacity: u32 = units.iter().take(3).sum();
        let mut events = Vec::new();
        let mut at = rng.range(200, 2_000);
        while at < safety_ms {
            let compute_units = rng.range(1, u64::from(capacity)) as u32;
            events.push(TimedFault {
                at_ms: at,
                fault: Fault::Submit {
                    client: rng.range(0, u64::from(clients) - 1) as u32,
                    prove: rng.chance(750),
                    segments: rng.range(1, 16) as u32,
                    compute_units: Some(compute_units),
                    count: 1,
                },
            });
            at += rng.range(15_000, 30_000);
        }
        Schedule {
            workers,
            clients,
            reuse_job_ids,
            calm: true,
            safety_ms,
            events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_draws_the_same_schedule() {
        assert_eq!(Schedule::from_seed(17), Schedule::from_seed(17));
        assert_ne!(Schedule::from_seed(17), Schedule::from_seed(18));
    }

    #[test]
    fn seeds_draw_different_fault_mixes_and_cover_every_kind() {
        let mut kinds = BTreeSet::new();
        let mut mixes = BTreeSet::new();
        for seed in 0..200 {
            let schedule = Schedule::from_seed(seed);
            let used = schedule.kinds();
            mixes.insert(format!("{used:?}"));
            kinds.extend(used);
        }
        assert_eq!(kinds.len(), 13, "{kinds:?}");
        assert!(mixes.len() > 20, "only {} distinct mixes", mixes.len());
    }

    #[test]
    fn events_are_in_time_order_within_the_safety_phase() {
        for seed in 0..50 {
            let schedule = Schedule::from_seed(seed);
            assert!(
                schedule
                    .events
                    .windows(2)
                    .all(|pair| pair[0].at_ms <= pair[1].at_ms)
            );
            assert!(
                schedule
                    .events
                    .iter()
                    .all(|event| event.at_ms < schedule.safety_ms)
            );
        }
    }
}
