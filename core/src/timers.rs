//! One timer table per core, indexed by a key enum. `poll_timeout` is the earliest deadline;
//! firing a timer that was re-armed or cancelled does nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::time::Instant;

/// Deadlines keyed by `K`, at most one per key, with the earliest found in O(log n).
#[derive(Debug, Clone)]
pub struct TimerTable<K: Ord + Clone> {
    by_key: BTreeMap<K, Instant>,
    by_deadline: BTreeSet<(Instant, K)>,
}

impl<K: Ord + Clone> Default for TimerTable<K> {
    fn default() -> Self {
        TimerTable {
            by_key: BTreeMap::new(),
            by_deadline: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone> TimerTable<K> {
    /// Arms (or re-arms) `key` to fire at `deadline`.
    pub fn set(&mut self, key: K, deadline: Instant) {
        if let Some(old) = self.by_key.insert(key.clone(), deadline) {
            self.by_deadline.remove(&(old, key.clone()));
        }
        self.by_deadline.insert((deadline, key));
    }

    /// Disarms `key`; nothing happens if it was not armed.
    pub fn cancel(&mut self, key: &K) {
        if let Some(old) = self.by_key.remove(key) {
            self.by_deadline.remove(&(old, key.clone()));
        }
    }

    /// The deadline of `key`, if armed.
    pub fn get(&self, key: &K) -> Option<Instant> {
        self.by_key.get(key).copied()
    }

    /// The earliest armed deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.by_deadline.first().map(|(deadline, _)| *deadline)
    }

    /// Removes and returns one key whose deadline is at or before `now`, earliest first.
    pub fn pop_expired(&mut self, now: Instant) -> Option<K> {
        let (deadline, key) = self.by_deadline.first()?.clone();
        if deadline > now {
            return None;
        }
        self.by_deadline.remove(&(deadline, key.clone()));
        self.by_key.remove(&key);
        Some(key)
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rearming_a_timer_replaces_its_deadline() {
        let mut table = TimerTable::default();
        table.set("a", Instant::from_millis(10));
        table.set("a", Instant::from_millis(30));
        table.set("b", Instant::from_millis(20));
        assert_eq!(table.next_deadline(), Some(Instant::from_millis(20)));
        assert_eq!(table.pop_expired(Instant::from_millis(25)), Some("b"));
        assert_eq!(table.pop_expired(Instant::from_millis(25)), None);
        assert_eq!(table.pop_expired(Instant::from_millis(30)), Some("a"));
        assert!(table.is_empty());
    }

    #[test]
    fn cancelled_timer_never_fires() {
        let mut table = TimerTable::default();
        table.set(1u8, Instant::from_millis(5));
        table.cancel(&1);
        assert_eq!(table.pop_expired(Instant::from_millis(100)), None);
        assert_eq!(table.next_deadline(), None);
    }
}
