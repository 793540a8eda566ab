//! Job admission, phase transitions, task dispatch, aggregator election and job endings.

use std::collections::BTreeSet;

use super::{Coordinator, Timer};
use crate::events::{JobEventKind, JobResult, MetricEvent, Output, Record};
use crate::ids::{Fence, JobId, PartitionId, WorkerId};
use crate::job::{Aggregator, FailureReason, Job, JobKind, JobState, Phase, Task, TaskState};
use crate::message::{Contribution, ToWorker};
use crate::partition::{segments_of_partition, spread_partitions};
use crate::program::{LocalSetup, ProgramState};
use crate::time::Instant;

impl Coordinator {
    pub(crate) fn fence(&self, job: JobId, attempt: crate::ids::Attempt) -> Fence {
        Fence {
            epoch: self.epoch,
            job,
            attempt,
        }
    }

    /// Starts queued jobs in FIFO order while capacity allows, then gives pending tasks of
    /// running jobs to free workers. Strict FIFO: a head job that does not fit blocks the
    /// jobs behind it, so large jobs are never starved by small ones.
    pub(crate) fn schedule(&mut self, now: Instant) {
        while let Some(&head) = self.queue.front() {
            let Some(workers) = self.reserve(head) else {
                break;
            };
            self.queue.pop_front();
            self.start_job(now, head, workers);
        }
        let running: Vec<JobId> = self
            .jobs
            .values()
            .filter(|job| {
                job.phase().is_some() && job.tasks.values().any(|task| needs_worker(task.state))
            })
            .map(|job| job.id)
            .collect();
        for job in running {
            self.dispatch_pending(now, job);
        }
    }

    /// Whether an idle worker may take work of a job on this program.
    fn eligible(&self, worker: &crate::pool::Worker, job: &Job) -> bool {
        if !worker.is_idle() {
            return false;
        }
        match job.kind {
            JobKind::Execute => true,
            JobKind::Prove => match self.programs.get(&job.program) {
                Some(ProgramState::Ready { verifying_key }) => {
                    worker.setups.get(&job.program) == Some(&LocalSetup::Done(*verifying_key))
                }
                _ => false,
            },
        }
    }

    /// Idle eligible workers whose units meet the job's request, largest first, within
    /// `max_workers_per_job`; `None` when they do not suffice yet. Nothing is booked here.
    fn reserve(&self, job: JobId) -> Option<Vec<WorkerId>> {
        let job = &self.jobs[&job];
        let mut candidates: Vec<&crate::pool::Worker> = self
            .workers
            .values()
            .filter(|worker| self.eligible(worker, job))
            .collect();
        if job.kind == JobKind::Execute {
            return candidates.first().map(|worker| vec![worker.id.clone()]);
        }
        candidates.sort_by(|a, b| b.compute_units.cmp(&a.compute_units).then(a.id.cmp(&b.id)));
        let mut chosen = Vec::new();
        let mut units = 0u32;
        for worker in candidates
            .into_iter()
            .take(self.config.max_workers_per_job as usize)
        {
            chosen.push(worker.id.clone());
            units = units.saturating_add(worker.compute_units);
            if units >= job.requested_units {
                chosen.sort();
                return Some(chosen);
            }
        }
        None
    }

    fn start_job(&mut self, now: Instant, id: JobId, workers: Vec<WorkerId>) {
        self.timers.cancel(&Timer::Queue(id));
        for worker in &workers {
            let entry = self
                .workers
                .get_mut(worker)
                .expect("reserved workers exist");
            assert!(entry.booked.is_none(), "worker {worker} booked twice");
            entry.booked = Some(id);
        }
        let weights: Vec<u32> = workers
            .iter()
            .map(|worker| self.workers[worker].compute_units)
            .collect();
        let kind = self.jobs[&id].kind;
        let job = self.jobs.get_mut(&id).expect("queued job exists");
        job.workers = workers.iter().cloned().collect();
        job.phase_started_at = now;
        match kind {
            JobKind::Execute => {
                job.partition_count = 1;
                job.state = JobState::Running(Phase::Execute);
                job.tasks.insert(PartitionId(0), Task::pending());
                self.timers
                    .set(Timer::Phase(id), now + self.config.execute_timeout);
            }
            JobKind::Prove => {
                job.partition_count = weights.iter().sum();
                job.state = JobState::Running(Phase::Contributions);
                for (worker, partitions) in workers.iter().zip(spread_partitions(&weights)) {
                    for partition in partitions {
                        let task = Task {
                            state: TaskState::Pending,
                            worker: Some(worker.clone()),
                            attempt: crate::ids::Attempt(0),
                        };
                        job.tasks.insert(partition, task);
                    }
                }
                self.timers
                    .set(Timer::Phase(id), now + self.config.phase1_timeout);
            }
        }
        let partition_count = self.jobs[&id].partition_count;
        self.emit_job(
            id,
            JobEventKind::Started {
                workers: workers.clone(),
                partition_count,
            },
        );
        let phase = self.jobs[&id].phase().expect("just started");
        self.emit_job(id, JobEventKind::PhaseChanged(phase));
        match kind {
            JobKind::Execute => self.dispatch_pending(now, id),
            JobKind::Prove => {
                for worker in workers {
                    let partitions = self.tasks_of(id, &worker, TaskState::Pending);
                    self.assign(id, &worker, partitions);
                }
            }
        }
    }

    /// Partitions of the job's current phase held by `worker` in `state`.
    pub(crate) fn tasks_of(
        &self,
        job: JobId,
        worker: &WorkerId,
        state: TaskState,
    ) -> Vec<PartitionId> {
        self.jobs[&job]
            .tasks
            .iter()
            .filter(|(_, task)| task.state == state && task.worker.as_ref() == Some(worker))
            .map(|(partition, _)| *partition)
            .collect()
    }

    /// Sends `worker` the assignment for `partitions` of the job's current phase under a fresh
    /// attempt; the tasks become Assigned.
    fn assign(&mut self, id: JobId, worker: &WorkerId, partitions: Vec<PartitionId>) {
        if partitions.is_empty() {
            return;
        }
        let job = self.jobs.get_mut(&id).expect("job exists");
        let attempt = job.take_attempt();
        for partition in &partitions {
            let task = job.tasks.get_mut(partition).expect("task exists");
            task.state = TaskState::Assigned;
            task.worker = Some(worker.clone());
            task.attempt = attempt;
        }
        let fence = Fence {
            epoch: self.epoch,
            job: id,
            attempt,
        };
        let message = self.assignment_message(id, fence, partitions);
        self.send(worker, message);
    }

    fn assignment_message(
        &self,
        id: JobId,
        fence: Fence,
        partitions: Vec<PartitionId>,
    ) -> ToWorker {
        let job = &self.jobs[&id];
        match job.phase().expect("assignments are made for running jobs") {
            Phase::Execute => ToWorker::AssignExecute {
                fence,
                program: job.program,
            },
            Phase::Contributions => ToWorker::AssignContributions {
                fence,
                program: job.program,
                partition_count: job.partition_count,
                partitions,
            },
            Phase::Prove | Phase::Aggregate => {
                let challenge = job
                    .challenge
                    .clone()
                    .expect("challenge derived before proving");
                let own: bool = partitions.iter().all(|partition| {
                    job.contributions
                        .get(partition)
                        .map(|(producer, _)| producer)
                        == job.tasks[partition].worker.as_ref()
                });
                if own {
                    ToWorker::StartProve {
                        fence,
                        challenge,
                        partitions,
                    }
                } else {
                    let expected: Vec<Contribution> = partitions
                        .iter()
                        .flat_map(|partition| job.contributions[partition].1.iter().cloned())
                        .collect();
                    ToWorker::AssignProve {
                        fence,
                        program: job.program,
                        partition_count: job.partition_count,
                        partitions,
                        challenge,
                        expected,
                    }
                }
            }
        }
    }

    /// Gives the job's pending and failed tasks to workers: an idle eligible worker is booked
    /// for the job first (within `max_workers_per_job`), then the tasks are dealt round-robin
    /// over the job's connected workers, least loaded first. Tasks stay pending when there is
    /// no worker; the phase timeout bounds the wait.
    pub(crate) fn dispatch_pending(&mut self, _now: Instant, id: JobId) {
        let Some(job) = self.jobs.get(&id) else {
            return;
        };
        if job.phase().is_none() {
            return;
        }
        let pending: Vec<PartitionId> = job
            .tasks
            .iter()
            .filter(|(_, task)| needs_worker(task.state))
            .map(|(partition, _)| *partition)
            .collect();
        if pending.is_empty() {
            return;
        }
        let idle = self
            .workers
            .values()
            .find(|worker| self.eligible(worker, job))
            .map(|worker| worker.id.clone());
        if let Some(worker) = idle
            && job.workers.len() < self.config.max_workers_per_job as usize
        {
            self.workers.get_mut(&worker).expect("exists").booked = Some(id);
            self.jobs
                .get_mut(&id)
                .expect("exists")
                .workers
                .insert(worker);
        }
        let job = &self.jobs[&id];
        let mut targets: Vec<(usize, WorkerId)> = job
            .workers
            .iter()
            .filter(|worker| self.is_connected(worker) && !self.workers[*worker].draining)
            .map(|worker| {
                let load = job
                    .tasks
                    .values()
                    .filter(|task| {
                        task.worker.as_ref() == Some(worker)
                            && !task_done(task.state)
                            && !needs_worker(task.state)
                    })
                    .count();
                (load, worker.clone())
            })
            .collect();
        if targets.is_empty() {
            return;
        }
        targets.sort();
        let reassigned = pending
            .iter()
            .any(|partition| job.tasks[partition].attempt.0 != 0);
        if reassigned {
            self.metric(MetricEvent::PartitionsReassigned {
                job: id,
                count: pending.len() as u32,
            });
        }
        let mut shares: Vec<Vec<PartitionId>> = vec![Vec::new(); targets.len()];
        for (index, partition) in pending.into_iter().enumerate() {
            shares[index % targets.len()].push(partition);
        }
        for ((_, worker), share) in targets.into_iter().zip(shares) {
            self.assign(id, &worker, share);
        }
    }

    /// Counts a failure against a partition's budget and marks its task for reassignment.
    /// Returns false (and fails the job) when the budget is exhausted.
    pub(crate) fn fail_task(
        &mut self,
        now: Instant,
        id: JobId,
        partition: PartitionId,
        error: &str,
    ) -> bool {
        let max = self.config.max_retries_per_partition;
        let job = self.jobs.get_mut(&id).expect("job exists");
        let failures = job.failures.entry(partition).or_insert(0);
        *failures += 1;
        let exhausted = *failures > max;
        if let Some(task) = job.tasks.get_mut(&partition) {
            task.state = TaskState::Failed;
        }
        if exhausted {
            let reason = FailureReason::RetryBudgetExhausted {
                partition,
                last_error: error.to_owned(),
            };
            self.finish_job(now, id, JobState::Failed(reason));
            return false;
        }
        true
    }

    /// A worker stopped working on a job (lost, restarted, faulty): its unfinished tasks are
    /// failed and reassigned; an aggregator is replaced.
    pub(crate) fn worker_left_job(
        &mut self,
        now: Instant,
        id: JobId,
        worker: &WorkerId,
        reason: &str,
    ) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        job.workers.remove(worker);
        if job.state.is_terminal() || job.state == JobState::Queued {
            return;
        }
        let unfinished: Vec<PartitionId> = job
            .tasks
            .iter()
            .filter(|(_, task)| {
                task.worker.as_ref() == Some(worker)
                    && matches!(task.state, TaskState::Assigned | TaskState::Running)
            })
            .map(|(partition, _)| *partition)
            .collect();
        for partition in unfinished {
            if !self.fail_task(now, id, partition, reason) {
                return;
            }
        }
        let job = self.jobs.get_mut(&id).expect("exists");
        if job
            .aggregator
            .as_ref()
            .is_some_and(|aggregator| aggregator.worker == *worker)
        {
            job.aggregator = None;
            job.failed_aggregators.insert(worker.clone());
            job.aggregation_failures += 1;
            if job.aggregation_failures > self.config.max_retries_per_partition {
                let reason = FailureReason::AggregationBudgetExhausted {
                    last_error: reason.to_owned(),
                };
                return self.finish_job(now, id, JobState::Failed(reason));
            }
            self.elect_aggregator_if_needed(id);
        }
        self.dispatch_pending(now, id);
    }

    /// Moves a job from Contributions to Prove once every partition has contributed.
    pub(crate) fn enter_prove(&mut self, now: Instant, id: JobId) {
        let job = &self.jobs[&id];
        let Some(ProgramState::Ready { verifying_key }) = self.programs.get(&job.program) else {
            return self.finish_job(now, id, JobState::Failed(FailureReason::SetupInvalidated));
        };
        let summary = job.summary.clone().expect("contributions imply a summary");
        let mut contributions: Vec<Contribution> = job
            .contributions
            .values()
            .flat_map(|(_, list)| list.iter().cloned())
            .collect();
        contributions.sort_by_key(|contribution| contribution.segment);
        let challenge =
            self.challenger
                .derive(&job.program, verifying_key, &summary, &contributions);
        let duration = now.saturating_since(job.phase_started_at);
        self.metric(MetricEvent::PhaseCompleted {
            phase: Phase::Contributions,
            duration,
        });
        let job = self.jobs.get_mut(&id).expect("exists");
        job.challenge = Some(challenge);
        job.state = JobState::Running(Phase::Prove);
        job.phase_started_at = now;
        job.tasks.clear();
        for partition in (0..job.partition_count).map(PartitionId) {
            if segments_of_partition(partition, job.partition_count, summary.segment_count)
                .next()
                .is_none()
            {
                continue;
            }
            let contributor = job.contributions[&partition].0.clone();
            let mut task = Task::pending();
            if job.workers.contains(&contributor) {
                task.worker = Some(contributor);
            }
            job.tasks.insert(partition, task);
        }
        self.timers
            .set(Timer::Phase(id), now + self.config.phase2_timeout);
        self.emit_job(id, JobEventKind::PhaseChanged(Phase::Prove));
        let workers: Vec<WorkerId> = self.jobs[&id].workers.iter().cloned().collect();
        for worker in workers {
            let partitions = self.tasks_of(id, &worker, TaskState::Pending);
            self.assign(id, &worker, partitions);
        }
        // Tasks whose contributor is gone go to whoever is free.
        self.dispatch_pending(now, id);
        self.elect_aggregator_if_needed(id);
    }

    /// Phase 1 starts over (its challenge rested on a faulty worker's commitment): every
    /// partition is committed again by the job's remaining workers.
    pub(crate) fn restart_contributions(&mut self, now: Instant, id: JobId) {
        let job = self.jobs.get_mut(&id).expect("exists");
        job.state = JobState::Running(Phase::Contributions);
        job.phase_started_at = now;
        job.summary = None;
        job.challenge = None;
        job.contributions.clear();
        job.proofs.clear();
        job.aggregator = None;
        job.restarts += 1;
        job.tasks = (0..job.partition_count)
            .map(|partition| (PartitionId(partition), Task::pending()))
            .collect();
        if job.restarts > self.config.max_retries_per_partition {
            let reason = FailureReason::AggregationBudgetExhausted {
                last_error: "phase 1 restarted too often after faulty contributions".to_owned(),
            };
            return self.finish_job(now, id, JobState::Failed(reason));
        }
        self.timers
            .set(Timer::Phase(id), now + self.config.phase1_timeout);
        self.emit_job(id, JobEventKind::PhaseChanged(Phase::Contributions));
        self.dispatch_pending(now, id);
    }

    /// Elects the first connected worker (not a failed aggregator) that has delivered all of
    /// its phase-2 proofs; in the Aggregate phase any connected job worker will do.
    pub(crate) fn elect_aggregator_if_needed(&mut self, id: JobId) {
        let job = &self.jobs[&id];
        if job.aggregator.is_some() || !matches!(job.phase(), Some(Phase::Prove | Phase::Aggregate))
        {
            return;
        }
        let aggregate_phase = job.phase() == Some(Phase::Aggregate);
        let candidate = job
            .workers
            .iter()
            .filter(|worker| self.is_connected(worker) && !job.failed_aggregators.contains(*worker))
            .find(|worker| {
                aggregate_phase
                    || job.tasks.values().all(|task| {
                        task.worker.as_ref() != Some(*worker) || task.state == TaskState::Completed
                    })
            })
            .cloned();
        if let Some(worker) = candidate {
            self.promote_aggregator(id, worker);
        }
    }

    /// Makes `worker` the job's aggregator and sends it every held proof it did not produce.
    pub(crate) fn promote_aggregator(&mut self, id: JobId, worker: WorkerId) {
        let job = self.jobs.get_mut(&id).expect("exists");
        assert!(
            job.aggregator.is_none(),
            "at most one aggregator per job attempt"
        );
        let attempt = job.take_attempt();
        job.aggregator = Some(Aggregator {
            worker: worker.clone(),
            attempt,
            sent: BTreeSet::new(),
        });
        let partitions: Vec<PartitionId> = job.tasks.keys().copied().collect();
        let fence = self.fence(id, attempt);
        self.send(&worker, ToWorker::BecomeAggregator { fence, partitions });
        self.forward_proofs(id);
    }

    /// Sends the aggregator every completed proof it has not been sent and did not produce.
    pub(crate) fn forward_proofs(&mut self, id: JobId) {
        let job = &self.jobs[&id];
        let Some(aggregator) = &job.aggregator else {
            return;
        };
        let incarnation = self
            .workers
            .get(&aggregator.worker)
            .map(|worker| worker.incarnation);
        let fence = self.fence(id, aggregator.attempt);
        let to_send: Vec<(PartitionId, crate::digest::Payload)> = job
            .proofs
            .iter()
            .filter(|(partition, _)| !aggregator.sent.contains(partition))
            .filter(|(_, held)| {
                !(held.producer == aggregator.worker
                    && Some(held.producer_incarnation) == incarnation)
            })
            .map(|(partition, held)| (*partition, held.proof.clone()))
            .collect();
        let worker = aggregator.worker.clone();
        for (partition, proof) in to_send {
            self.send(
                &worker,
                ToWorker::AggregateProof {
                    fence,
                    partition,
                    proof,
                },
            );
            let job = self.jobs.get_mut(&id).expect("exists");
            job.aggregator
                .as_mut()
                .expect("exists")
                .sent
                .insert(partition);
        }
    }

    /// Moves a job to Aggregate once every partial proof is in.
    pub(crate) fn enter_aggregate(&mut self, now: Instant, id: JobId) {
        let job = self.jobs.get_mut(&id).expect("exists");
        let duration = now.saturating_since(job.phase_started_at);
        job.state = JobState::Running(Phase::Aggregate);
        job.phase_started_at = now;
        self.metric(MetricEvent::PhaseCompleted {
            phase: Phase::Prove,
            duration,
        });
        self.timers
            .set(Timer::Phase(id), now + self.config.aggregate_timeout);
        self.emit_job(id, JobEventKind::PhaseChanged(Phase::Aggregate));
        self.elect_aggregator_if_needed(id);
    }

    /// Re-sends a reconnected worker what its current role in the job needs; the worker
    /// ignores assignments it already holds (same fence).
    pub(crate) fn resync_worker(&mut self, id: JobId, worker: &WorkerId) {
        let Some(job) = self.jobs.get(&id) else {
            return;
        };
        if job.phase().is_none() {
            return;
        }
        let mut by_attempt: std::collections::BTreeMap<crate::ids::Attempt, Vec<PartitionId>> =
            Default::default();
        for (partition, task) in &job.tasks {
            if task.worker.as_ref() == Some(worker)
                && matches!(task.state, TaskState::Assigned | TaskState::Running)
            {
                by_attempt.entry(task.attempt).or_default().push(*partition);
            }
        }
        for (attempt, partitions) in by_attempt {
            let fence = self.fence(id, attempt);
            let message = self.assignment_message(id, fence, partitions);
            self.send(worker, message);
        }
        let job = self.jobs.get_mut(&id).expect("exists");
        if let Some(aggregator) = job.aggregator.as_mut()
            && aggregator.worker == *worker
        {
            aggregator.sent.clear();
            let attempt = aggregator.attempt;
            let partitions: Vec<PartitionId> = job.tasks.keys().copied().collect();
            let fence = self.fence(id, attempt);
            self.send(worker, ToWorker::BecomeAggregator { fence, partitions });
            self.forward_proofs(id);
        }
    }

    /// Ends a job: releases its workers (telling them to stop unless it completed), arms the
    /// TTL, and reports the outcome.
    pub(crate) fn finish_job(&mut self, now: Instant, id: JobId, state: JobState) {
        assert!(state.is_terminal(), "finish_job needs a terminal state");
        let job = self.jobs.get_mut(&id).expect("job exists");
        assert!(!job.state.is_terminal(), "a terminal job never changes");
        let was_queued = job.state == JobState::Queued;
        job.state = state.clone();
        job.finished_at = Some(now);
        job.aggregator = None;
        for task in job.tasks.values_mut() {
            if !task_done(task.state) {
                task.state = TaskState::Cancelled;
            }
        }
        let workers: Vec<WorkerId> = std::mem::take(&mut job.workers).into_iter().collect();
        let kind = job.kind;
        let duration = now.saturating_since(job.admitted_at);
        if was_queued {
            self.queue.retain(|queued| *queued != id);
        }
        for worker in &workers {
            if let Some(entry) = self.workers.get_mut(worker)
                && entry.booked == Some(id)
            {
                entry.booked = None;
            }
            if state != JobState::Completed {
                self.send(worker, ToWorker::Cancel { job: id });
            }
        }
        for timer in [Timer::Queue(id), Timer::Phase(id)] {
            self.timers.cancel(&timer);
        }
        self.timers.set(Timer::Ttl(id), now + self.config.job_ttl);
        self.outputs.push_back(Output::Persist(Record::JobFinished {
            job: id,
            outcome: state.name(),
        }));
        let event = match &state {
            JobState::Completed => JobEventKind::Completed(
                self.jobs[&id]
                    .result
                    .clone()
                    .expect("completed jobs hold a result"),
            ),
            JobState::Failed(reason) => JobEventKind::Failed(reason.clone()),
            _ => JobEventKind::Cancelled,
        };
        self.emit_job(id, event);
        self.metric(MetricEvent::JobFinished {
            kind,
            outcome: state.name(),
            duration,
        });
        self.schedule(now);
        self.check_drain_complete();
    }

    /// Completes a job with its result.
    pub(crate) fn complete_job(&mut self, now: Instant, id: JobId, result: JobResult) {
        let job = self.jobs.get_mut(&id).expect("exists");
        let phase = job.phase().expect("running");
        let duration = now.saturating_since(job.phase_started_at);
        job.result = Some(result);
        self.metric(MetricEvent::PhaseCompleted { phase, duration });
        self.finish_job(now, id, JobState::Completed);
    }

    pub(super) fn on_queue_timeout(&mut self, now: Instant, id: JobId) {
        if self
            .jobs
            .get(&id)
            .is_some_and(|job| job.state == JobState::Queued)
        {
            self.finish_job(now, id, JobState::Failed(FailureReason::QueueTimeout));
        }
    }

    pub(super) fn on_phase_timeout(&mut self, now: Instant, id: JobId) {
        if let Some(phase) = self.jobs.get(&id).and_then(|job| job.phase()) {
            self.finish_job(
                now,
                id,
                JobState::Failed(FailureReason::PhaseTimeout(phase)),
            );
        }
    }

    pub(super) fn on_ttl_expired(&mut self, id: JobId) {
        if self
            .jobs
            .get(&id)
            .is_some_and(|job| job.state.is_terminal())
        {
            self.jobs.remove(&id);
            self.metric(MetricEvent::JobEvicted);
        }
    }
}

/// Whether a task waits for a (new) worker.
fn needs_worker(state: TaskState) -> bool {
    matches!(state, TaskState::Pending | TaskState::Failed)
}

/// Whether a task needs no more work.
fn task_done(state: TaskState) -> bool {
    matches!(state, TaskState::Completed | TaskState::Cancelled)
}
