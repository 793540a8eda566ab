//! Safety invariants of the coordinator, checked by tests and simulations after every step.

use std::collections::BTreeMap;

use super::Coordinator;
use crate::ids::{JobId, WorkerId};
use crate::job::{JobState, Phase, TaskState};

impl Coordinator {
    /// Checks the coordinator's safety invariants; `Err` names the first one broken.
    ///
    /// - no worker is booked by two jobs, and bookings agree with job worker sets;
    /// - reserved workers exist in the pool, so reserved units never exceed the pool's;
    /// - a terminal job holds no workers and no aggregator;
    /// - the queue holds exactly the queued jobs, within its limit;
    /// - a job has at most one aggregator, and it is one of its workers;
    /// - completed phase-2 tasks have a held proof; the pool is within `max_total_workers`.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut booked_by: BTreeMap<&WorkerId, JobId> = BTreeMap::new();
        for job in self.jobs.values() {
            for worker in &job.workers {
                if let Some(other) = booked_by.insert(worker, job.id) {
                    return Err(format!(
                        "worker {worker} is booked by jobs {other} and {}",
                        job.id
                    ));
                }
                match self.workers.get(worker) {
                    None => return Err(format!("job {} holds unknown worker {worker}", job.id)),
                    Some(entry) if entry.booked != Some(job.id) => {
                        return Err(format!(
                            "job {} holds worker {worker} booked by {:?}",
                            job.id, entry.booked
                        ));
                    }
                    Some(_) => {}
                }
            }
            if job.state.is_terminal() && (!job.workers.is_empty() || job.aggregator.is_some()) {
                return Err(format!(
                    "terminal job {} still holds workers or an aggregator",
                    job.id
                ));
            }
            if let Some(aggregator) = &job.aggregator
                && !job.workers.contains(&aggregator.worker)
            {
                return Err(format!(
                    "aggregator of job {} is not one of its workers",
                    job.id
                ));
            }
            if matches!(
                job.state,
                JobState::Running(Phase::Prove | Phase::Aggregate)
            ) {
                for (partition, task) in &job.tasks {
                    if task.state == TaskState::Completed && !job.proofs.contains_key(partition) {
                        return Err(format!(
                            "job {} partition {} completed without a proof",
                            job.id, partition.0
                        ));
                    }
                }
            }
            if job.state == JobState::Completed && job.result.is_none() {
                return Err(format!("completed job {} has no result", job.id));
            }
        }
        for worker in self.workers.values() {
            if let Some(job) = worker.booked
                && booked_by.get(&worker.id) != Some(&job)
            {
                return Err(format!(
                    "worker {} booked by {job} which does not hold it",
                    worker.id
                ));
            }
        }
        let queued = self
            .jobs
            .values()
            .filter(|job| job.state == JobState::Queued)
            .count();
        if queued != self.queue.len()
            || self
                .queue
                .iter()
                .any(|id| self.jobs[id].state != JobState::Queued)
        {
            return Err("queue and queued jobs disagree".to_owned());
        }
        if self.queue.len() > self.config.max_queued_jobs as usize {
            return Err("queue exceeds max_queued_jobs".to_owned());
        }
        if self.workers.len() > self.config.max_total_workers as usize {
            return Err("pool exceeds max_total_workers".to_owned());
        }
        Ok(())
    }
}
