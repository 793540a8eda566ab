//! Pure functions that split a job's work: partitions over workers by weight, and segments
//! over partitions. Every worker and the coordinator compute the same answer from the same
//! inputs, so ownership never has to be negotiated.

use crate::ids::{PartitionId, SegmentIndex};

/// The partition that owns segment `segment` when a job has `partition_count` partitions.
///
/// Segments are dealt round-robin, so a worker owning `k` of `n` partitions gets `k/n` of the
/// segments, whatever their number.
pub fn partition_of_segment(segment: SegmentIndex, partition_count: u32) -> PartitionId {
    assert!(partition_count > 0, "a job has at least one partition");
    PartitionId(segment.0 % partition_count)
}

/// The segments owned by `partition` in an execution of `segment_count` segments, ascending.
pub fn segments_of_partition(
    partition: PartitionId,
    partition_count: u32,
    segment_count: u32,
) -> impl Iterator<Item = SegmentIndex> {
    assert!(partition.0 < partition_count, "partition out of range");
    (partition.0..segment_count)
        .step_by(partition_count as usize)
        .map(SegmentIndex)
}

/// Deals partitions to workers by weight: worker `i` (in the given order) gets a contiguous
/// run of `weights[i]` partitions. Returns, per worker, its partitions; the total is the sum
/// of the weights.
pub fn spread_partitions(weights: &[u32]) -> Vec<Vec<PartitionId>> {
    let mut next = 0u32;
    weights
        .iter()
        .map(|&weight| {
            let run = (next..next + weight).map(PartitionId).collect();
            next += weight;
            run
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_spread_in_proportion_to_weight() {
        let spread = spread_partitions(&[10, 5]);
        assert_eq!(spread[0].len(), 10);
        assert_eq!(spread[1].len(), 5);
        assert_eq!(spread[1][0], PartitionId(10));
    }

    #[test]
    fn every_segment_belongs_to_exactly_one_partition() {
        let partition_count = 7;
        let segment_count = 23;
        let mut seen = vec![0u32; segment_count as usize];
        for partition in 0..partition_count {
            for segment in
                segments_of_partition(PartitionId(partition), partition_count, segment_count)
            {
                assert_eq!(
                    partition_of_segment(segment, partition_count),
                    PartitionId(partition)
                );
                seen[segment.0 as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&count| count == 1));
    }

    #[test]
    fn partitions_beyond_the_segment_count_own_nothing() {
        assert_eq!(segments_of_partition(PartitionId(5), 8, 3).count(), 0);
    }
}
