//! The coordinator-side invariant checker: a [`StepObserver`] that runs inside the simulated
//! coordinator's core task and checks the protocol's safety properties after every step.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};
use zisk_core::{
    Attempt, ConnectionId, Coordinator, Digest, Epoch, FromWorker, JobId, JobResult, JobState,
    WorkerId,
};
use zisk_net::coordinator::StepObserver;

use crate::model::verify_final_proof;
use crate::state::{Shared, SimState};

/// A fenced result on its way into the core, with what it may not change if it is stale.
struct Pending {
    job: JobId,
    before: Option<String>,
    stale_before: u64,
    stale_connection_before: u64,
    stale_by_fence: bool,
    description: String,
}

/// Checks, after every step of one coordinator incarnation:
///
/// - [`Coordinator::check_invariants`] (one job per worker, bookings agree, terminal jobs hold
///   nothing, the queue, the aggregator is a job worker, proofs held, pool limits);
/// - a terminal job never changes state or result, and never leaves its terminal state;
/// - an `(epoch, job, attempt)` never has two aggregators;
/// - a result the core counts stale, and any result fenced with another epoch or an attempt
///   never issued (which the core must count stale), changes nothing about the job it names;
/// - a completed job's result is what its workers produced: the final proof is a proof of
///   this job and attests the outputs every worker agreed on.
pub struct InvariantObserver {
    shared: Shared,
    epoch: Epoch,
    terminal: BTreeMap<JobId, (JobState, Option<JobResult>)>,
    aggregators: BTreeMap<(JobId, Attempt), WorkerId>,
    pending: Option<Pending>,
}

impl InvariantObserver {
    /// An observer for the incarnation with `epoch`, recording into `shared`.
    pub fn new(shared: Shared, epoch: Epoch) -> Self {
        InvariantObserver {
            shared,
            epoch,
            terminal: BTreeMap::new(),
            aggregators: BTreeMap::new(),
            pending: None,
        }
    }

    fn violation(&self, what: String) {
        SimState::lock(&self.shared).violation(format!("epoch {}: {what}", self.epoch.0));
    }
}

fn job_view(core: &Coordinator, job: JobId) -> Option<String> {
    core.job(job).map(|job| format!("{job:?}"))
}

fn result_matches(job: JobId, result: &JobResult) -> Result<(), String> {
    match result {
        JobResult::Execution { summary, outputs } => {
            if Digest(Sha256::digest(outputs.as_ref()).into()) != summary.outputs_digest {
                return Err(format!(
                    "job {job} completed with outputs that do not match its summary"
                ));
            }
        }
        JobResult::Proof {
            summary,
            proof,
            outputs,
        } => {
            let view = verify_final_proof(proof)
                .map_err(|error| format!("job {job} completed with a bad final proof: {error}"))?;
            if view.job != job {
                return Err(format!(
                    "job {job} completed with the final proof of job {}",
                    view.job
                ));
            }
            if view.outputs != outputs.as_ref()
                || Digest(Sha256::digest(outputs.as_ref()).into()) != summary.outputs_digest
            {
                return Err(format!(
                    "job {job} completed with outputs its workers did not agree on"
                ));
            }
        }
    }
    Ok(())
}

impl StepObserver for InvariantObserver {
    fn before_message(
        &mut self,
        core: &Coordinator,
        _connection: ConnectionId,
        message: &FromWorker,
    ) {
        let Some(fence) = message.fence() else {
            return;
        };
        let never_issued = core
            .job(fence.job)
            .is_some_and(|job| fence.attempt.0 >= job.next_attempt);
        self.pending = Some(Pending {
            job: fence.job,
            before: job_view(core, fence.job),
            stale_before: core.counters().stale_results,
            stale_connection_before: core.counters().stale_connection_messages,
            stale_by_fence: fence.epoch != core.epoch() || never_issued,
            description: format!("{fence}"),
        });
    }

    fn after_step(&mut self, core: &Coordinator) {
        SimState::lock(&self.shared).tally.steps += 1;
        if let Err(broken) = core.check_invariants() {
            self.violation(broken);
        }
        if let Some(pending) = self.pending.take() {
            // A stale result is counted either by its fence (`stale_results`) or, when it
            // arrives on a connection its worker has since replaced (a zombie whose id the
            // restarted worker took back), before any fence is read
            // (`stale_connection_messages`). Either way the core drops it; the job check below
            // still requires that it changed nothing.
            let counters = core.counters();
            let counted = counters.stale_results > pending.stale_before
                || counters.stale_connection_messages > pending.stale_connection_before;
            if pending.stale_by_fence && !counted {
                self.violation(format!(
                    "a result fenced {} (another epoch, or an attempt never issued) was not counted stale",
                    pending.description
                ));
            }
            if counted || pending.stale_by_fence {
                SimState::lock(&self.shared).tally.stale_results_checked += 1;
                if job_view(core, pending.job) != pending.before {
                    self.violation(format!(
                        "a stale result fenced {} changed job {}",
                        pending.description, pending.job
                    ));
                }
            }
        }
        for job in core.jobs() {
            if job.state.is_terminal() {
                match self.terminal.get(&job.id) {
                    Some((state, result)) => {
                        if *state != job.state || *result != job.result {
                            self.violation(format!(
                                "terminal job {} changed from {state:?} to {:?}",
                                job.id, job.state
                            ));
                        }
                    }
                    None => {
                        if job.state == JobState::Completed {
                            match &job.result {
                                Some(result) => {
                                    if let Err(broken) = result_matches(job.id, result) {
                                        self.violation(broken);
                                    }
                                }
                                None => self.violation(format!(
                                    "job {} completed without a result",
                                    job.id
                                )),
                            }
                        }
                        self.terminal
                            .insert(job.id, (job.state.clone(), job.result.clone()));
                    }
                }
            } else if self.terminal.contains_key(&job.id) {
                self.violation(format!("job {} left its terminal state", job.id));
            }
            if let Some(aggregator) = &job.aggregator {
                let holder = self
                    .aggregators
                    .entry((job.id, aggregator.attempt))
                    .or_insert_with(|| aggregator.worker.clone());
                if *holder != aggregator.worker {
                    let holder = holder.clone();
                    self.violation(format!(
                        "job {} attempt {} has two aggregators: {holder} and {}",
                        job.id, aggregator.attempt.0, aggregator.worker
                    ));
                }
            }
        }
    }
}
