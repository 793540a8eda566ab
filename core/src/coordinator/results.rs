//! Results from workers: fencing, duplicate detection, validation, and what each result moves.

use super::Coordinator;
use crate::digest::Payload;
use crate::events::{JobEventKind, JobResult, MetricEvent};
use crate::ids::{Fence, JobId, PartitionId, WorkerId};
use crate::job::{FailureReason, HeldProof, JobState, Phase, TaskState};
use crate::message::{Contribution, ExecutionSummary, FailureKind, FromWorker};
use crate::partition::segments_of_partition;
use crate::time::Instant;

/// How a result relates to the task it names.
enum Match {
    /// The task is in flight under this fence: apply the result.
    Current,
    /// The task already completed under this fence: ignore.
    Duplicate,
    /// Anything else: reject and count.
    Stale,
}

impl Coordinator {
    pub(super) fn on_result(&mut self, now: Instant, worker: &WorkerId, message: FromWorker) {
        let Some(fence) = message.fence().copied() else {
            return;
        };
        if !self.fence_names_running_job(worker, &fence) {
            return self.reject_stale();
        }
        let id = fence.job;
        match message {
            FromWorker::Accepted { fence } => {
                let job = self.jobs.get_mut(&id).expect("checked");
                for task in job.tasks.values_mut() {
                    if task.attempt == fence.attempt
                        && task.worker.as_ref() == Some(worker)
                        && task.state == TaskState::Assigned
                    {
                        task.state = TaskState::Running;
                    }
                }
            }
            FromWorker::Contributed {
                partition,
                summary,
                contributions,
                ..
            } => {
                if self.jobs[&id].phase() != Some(Phase::Contributions) {
                    return self.reject_stale();
                }
                match self.match_task(id, worker, &fence, partition) {
                    Match::Stale => self.reject_stale(),
                    Match::Duplicate => self.ignore_duplicate(),
                    Match::Current => {
                        self.on_contributed(now, id, worker, partition, summary, contributions)
                    }
                }
            }
            FromWorker::Proved {
                partition,
                contributions,
                proof,
                ..
            } => {
                if !matches!(
                    self.jobs[&id].phase(),
                    Some(Phase::Prove | Phase::Aggregate)
                ) {
                    return self.reject_stale();
                }
                match self.match_task(id, worker, &fence, partition) {
                    Match::Stale => self.reject_stale(),
                    Match::Duplicate => self.ignore_duplicate(),
                    Match::Current => {
                        self.on_proved(now, id, worker, partition, contributions, proof)
                    }
                }
            }
            FromWorker::Executed {
                summary, outputs, ..
            } => {
                if self.jobs[&id].phase() != Some(Phase::Execute) {
                    return self.reject_stale();
                }
                match self.match_task(id, worker, &fence, PartitionId(0)) {
                    Match::Stale => self.reject_stale(),
                    Match::Duplicate => self.ignore_duplicate(),
                    Match::Current => {
                        let task = self
                            .jobs
                            .get_mut(&id)
                            .expect("checked")
                            .tasks
                            .get_mut(&PartitionId(0));
                        task.expect("execute jobs have one task").state = TaskState::Completed;
                        self.complete_job(now, id, JobResult::Execution { summary, outputs });
                    }
                }
            }
            FromWorker::ProofRejected {
                partition, reason, ..
            } => {
                if !self.is_current_aggregator(id, worker, &fence) {
                    return self.reject_stale();
                }
                self.on_proof_rejected(now, id, worker, partition, &reason);
            }
            FromWorker::Aggregated { proof, outputs, .. } => {
                if !self.is_current_aggregator(id, worker, &fence) {
                    return self.reject_stale();
                }
                let job = &self.jobs[&id];
                if job.phase() != Some(Phase::Aggregate) || !job.all_tasks_completed() {
                    // The aggregator cannot have folded proofs it was never sent.
                    return self.reject_stale();
                }
                let summary = job
                    .summary
                    .clone()
                    .expect("prove jobs that aggregate have a summary");
                self.complete_job(
                    now,
                    id,
                    JobResult::Proof {
                        summary,
                        proof,
                        outputs,
                    },
                );
            }
            FromWorker::Failed { reason, kind, .. } => {
                self.on_failed(now, id, worker, &fence, &reason, kind)
            }
            FromWorker::Register { .. }
            | FromWorker::Reconnect { .. }
            | FromWorker::Heartbeat
            | FromWorker::SetupDone { .. }
            | FromWorker::Draining => unreachable!("not a result"),
        }
    }

    fn fence_names_running_job(&self, worker: &WorkerId, fence: &Fence) -> bool {
        fence.epoch == self.epoch
            && self.jobs.get(&fence.job).is_some_and(|job| {
                matches!(job.state, JobState::Running(_)) && job.workers.contains(worker)
            })
    }

    fn match_task(
        &self,
        id: JobId,
        worker: &WorkerId,
        fence: &Fence,
        partition: PartitionId,
    ) -> Match {
        let Some(task) = self.jobs[&id].tasks.get(&partition) else {
            return Match::Stale;
        };
        if task.attempt != fence.attempt || task.worker.as_ref() != Some(worker) {
            return Match::Stale;
        }
        match task.state {
            TaskState::Assigned | TaskState::Running => Match::Current,
            TaskState::Completed => Match::Duplicate,
            TaskState::Pending | TaskState::Failed | TaskState::Cancelled => Match::Stale,
        }
    }

    fn is_current_aggregator(&self, id: JobId, worker: &WorkerId, fence: &Fence) -> bool {
        self.jobs[&id]
            .aggregator
            .as_ref()
            .is_some_and(|aggregator| {
                aggregator.worker == *worker && aggregator.attempt == fence.attempt
            })
    }

    fn reject_stale(&mut self) {
        self.counters.stale_results += 1;
        self.metric(MetricEvent::StaleResultRejected);
    }

    fn ignore_duplicate(&mut self) {
        self.counters.duplicate_results += 1;
        self.metric(MetricEvent::DuplicateResultIgnored);
    }

    fn emit_progress(&mut self, id: JobId) {
        let job = &self.jobs[&id];
        let (done, total) = job.progress();
        let phase = job.phase().expect("running");
        self.emit_job(id, JobEventKind::Progress { phase, done, total });
    }

    fn on_contributed(
        &mut self,
        now: Instant,
        id: JobId,
        worker: &WorkerId,
        partition: PartitionId,
        summary: ExecutionSummary,
        contributions: Vec<Contribution>,
    ) {
        let max = self.config.max_segments_per_job;
        if summary.segment_count > max {
            let reason = FailureReason::TooManySegments {
                segment_count: summary.segment_count,
                max,
            };
            return self.finish_job(now, id, JobState::Failed(reason));
        }
        let job = &self.jobs[&id];
        if summary.segment_count == 0 {
            return self.mark_faulty(now, id, worker, "reported an execution of zero segments");
        }
        if job
            .summary
            .as_ref()
            .is_some_and(|agreed| *agreed != summary)
        {
            return self.mark_faulty(
                now,
                id,
                worker,
                "execution summary disagrees with the other workers",
            );
        }
        let owned: Vec<_> =
            segments_of_partition(partition, job.partition_count, summary.segment_count).collect();
        let reported: Vec<_> = contributions
            .iter()
            .map(|contribution| contribution.segment)
            .collect();
        if owned != reported {
            return self.mark_faulty(
                now,
                id,
                worker,
                "contributions do not cover exactly the partition's segments",
            );
        }
        let job = self.jobs.get_mut(&id).expect("checked");
        job.summary.get_or_insert(summary);
        job.contributions
            .insert(partition, (worker.clone(), contributions));
        job.tasks.get_mut(&partition).expect("matched").state = TaskState::Completed;
        self.emit_progress(id);
        if self.jobs[&id].all_tasks_completed() {
            self.enter_prove(now, id);
        }
    }

    fn on_proved(
        &mut self,
        now: Instant,
        id: JobId,
        worker: &WorkerId,
        partition: PartitionId,
        contributions: Vec<Contribution>,
        proof: Payload,
    ) {
        let job = &self.jobs[&id];
        let recorded = job.contributions.get(&partition);
        if recorded.map(|(_, recorded)| recorded) != Some(&contributions) {
            let contributor_was_faulty =
                recorded.is_some_and(|(contributor, _)| job.faulty_workers.contains(contributor));
            if contributor_was_faulty
                && contributions.len() == recorded.map_or(0, |(_, list)| list.len())
            {
                // The recorded phase-1 commitment came from a worker since found faulty, so
                // the global challenge rests on it: phase 1 starts over.
                return self.restart_contributions(now, id);
            }
            // Commitments are deterministic: a redo that differs from phase 1 is faulty.
            return self.mark_faulty(
                now,
                id,
                worker,
                "phase-2 commitments differ from the phase-1 contributions",
            );
        }
        let incarnation = self
            .workers
            .get(worker)
            .map_or(0, |entry| entry.incarnation);
        let job = self.jobs.get_mut(&id).expect("checked");
        job.tasks.get_mut(&partition).expect("matched").state = TaskState::Completed;
        let held = HeldProof {
            producer: worker.clone(),
            producer_incarnation: incarnation,
            proof,
        };
        job.proofs.insert(partition, held);
        self.emit_progress(id);
        self.forward_proofs(id);
        self.elect_aggregator_if_needed(id);
        if self.jobs[&id].all_tasks_completed() && self.jobs[&id].phase() == Some(Phase::Prove) {
            self.enter_aggregate(now, id);
        }
    }

    fn on_proof_rejected(
        &mut self,
        now: Instant,
        id: JobId,
        aggregator: &WorkerId,
        partition: PartitionId,
        reason: &str,
    ) {
        self.metric(MetricEvent::ProofRejected { partition });
        let job = self.jobs.get_mut(&id).expect("checked");
        let Some(held) = job.proofs.remove(&partition) else {
            return self.reject_stale();
        };
        if let Some(current) = job.aggregator.as_mut() {
            current.sent.remove(&partition);
        }
        if let Some(task) = job.tasks.get_mut(&partition) {
            // Detach the task first so that removing its producer does not charge it twice.
            task.worker = None;
        }
        let error = format!(
            "proof of partition {} rejected by aggregator {aggregator}: {reason}",
            partition.0
        );
        if !self.fail_task(now, id, partition, &error) {
            return;
        }
        let job = self.jobs.get_mut(&id).expect("checked");
        if job.phase() == Some(Phase::Aggregate) {
            job.state = JobState::Running(Phase::Prove);
            job.phase_started_at = now;
            self.timers
                .set(super::Timer::Phase(id), now + self.config.phase2_timeout);
            self.emit_job(id, JobEventKind::PhaseChanged(Phase::Prove));
        }
        if held.producer != *aggregator {
            let job = self.jobs.get_mut(&id).expect("checked");
            job.faulty_workers.insert(held.producer.clone());
        }
        if held.producer != *aggregator && self.workers.contains_key(&held.producer) {
            self.metric(MetricEvent::WorkerFaulty {
                worker: held.producer.clone(),
            });
            self.remove_worker(now, &held.producer, &error);
        }
        self.dispatch_pending(now, id);
    }

    fn on_failed(
        &mut self,
        now: Instant,
        id: JobId,
        worker: &WorkerId,
        fence: &Fence,
        reason: &str,
        kind: FailureKind,
    ) {
        if self.is_current_aggregator(id, worker, fence) {
            return self.worker_left_aggregation(now, id, worker, reason);
        }
        let failed: Vec<PartitionId> = self.jobs[&id]
            .tasks
            .iter()
            .filter(|(_, task)| {
                task.attempt == fence.attempt
                    && task.worker.as_ref() == Some(worker)
                    && matches!(task.state, TaskState::Assigned | TaskState::Running)
            })
            .map(|(partition, _)| *partition)
            .collect();
        if failed.is_empty() {
            return self.reject_stale();
        }
        if kind == FailureKind::GuestFault {
            let reason = FailureReason::GuestFault {
                message: reason.to_owned(),
            };
            return self.finish_job(now, id, JobState::Failed(reason));
        }
        let error = format!("worker {worker} failed: {reason}");
        for partition in failed {
            if !self.fail_task(now, id, partition, &error) {
                return;
            }
        }
        self.dispatch_pending(now, id);
    }

    /// The aggregator gave up: another worker takes over, within the retry budget.
    fn worker_left_aggregation(
        &mut self,
        now: Instant,
        id: JobId,
        worker: &WorkerId,
        reason: &str,
    ) {
        let job = self.jobs.get_mut(&id).expect("checked");
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

    /// A worker returned a result inconsistent with the job: it is removed from the pool, its
    /// contributions in an unfinished phase 1 are discarded, and its work is reassigned.
    pub(crate) fn mark_faulty(&mut self, now: Instant, id: JobId, worker: &WorkerId, reason: &str) {
        self.metric(MetricEvent::WorkerFaulty {
            worker: worker.clone(),
        });
        let error = format!("worker {worker} is faulty: {reason}");
        let job = self.jobs.get_mut(&id).expect("checked");
        job.faulty_workers.insert(worker.clone());
        if job.phase() == Some(Phase::Contributions) {
            let suspect: Vec<PartitionId> = job
                .contributions
                .iter()
                .filter(|(_, (producer, _))| producer == worker)
                .map(|(partition, _)| *partition)
                .collect();
            for partition in suspect {
                self.jobs
                    .get_mut(&id)
                    .expect("checked")
                    .contributions
                    .remove(&partition);
                if !self.fail_task(now, id, partition, &error) {
                    self.remove_worker(now, worker, &error);
                    return;
                }
            }
        }
        self.remove_worker(now, worker, &error);
    }
}
