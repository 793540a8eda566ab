//! Newtyped identifiers. Every id that crosses the protocol has its own type so that a job id
//! can never be passed where a worker id is expected.

use std::fmt;

/// A job's identity, unique within one coordinator process (drawn from the seeded generator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u128);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A worker's self-chosen, stable identity (`--worker-id`, a random UUID by default).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerId(pub String);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for WorkerId {
    fn from(value: &str) -> Self {
        WorkerId(value.to_owned())
    }
}

/// Content hash (SHA-256) of a guest ELF; computed by the adapter, opaque to the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProgramId(pub [u8; 32]);

impl fmt::Display for ProgramId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// The coordinator's incarnation number. A restarted coordinator must use a larger epoch so
/// that results fenced by its predecessor are rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(pub u64);

/// Identifies one transport stream, chosen by the adapter and never reused within an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(pub u64);

/// How many times a worker id has connected to this coordinator (1 for the first connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Generation(pub u64);

/// One unit of a job's work split: a job has one partition per reserved compute unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionId(pub u32);

/// Index of a fixed-size execution segment within one job's execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentIndex(pub u32);

/// Per-job assignment counter: every assignment message takes a fresh attempt number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Attempt(pub u32);

/// What every assignment carries and every result must echo: a result whose fence does not
/// name the current assignment is stale and never applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fence {
    /// The coordinator incarnation that issued the assignment.
    pub epoch: Epoch,
    /// The job the assignment belongs to.
    pub job: JobId,
    /// The assignment's attempt number within the job.
    pub attempt: Attempt,
}

impl fmt::Display for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.epoch.0, self.job, self.attempt.0)
    }
}
