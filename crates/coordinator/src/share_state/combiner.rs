//! Merging state batches, as Kafka's `PersisterStateBatchCombiner`: newer batches
//! replace the offsets they cover in older ones, nothing below the share-partition start
//! offset is kept, and neighbours with the same delivery state and count become one.
//!
//! Invariant of the result: sorted by offset, no two batches overlap, no two adjacent
//! batches share state and count, every batch lies at or above the start offset.

use std::collections::BTreeMap;

use super::records::StateBatch;

/// `current` overlaid with `updates` (later batches of `updates` win among themselves
/// too), cut at `start_offset` (none when negative: the start is not known).
pub fn combine(
    current: &[StateBatch],
    updates: &[StateBatch],
    start_offset: i64,
) -> Vec<StateBatch> {
    // first offset → (last offset, state, count); the ranges never overlap.
    let mut ranges: BTreeMap<i64, (i64, i8, i16)> = BTreeMap::new();
    for batch in current.iter().chain(updates) {
        if batch.last_offset < batch.first_offset {
            continue;
        }
        paint(&mut ranges, batch);
    }
    let mut combined: Vec<StateBatch> = Vec::with_capacity(ranges.len());
    for (first, (last, state, count)) in ranges {
        let first = if start_offset >= 0 {
            first.max(start_offset)
        } else {
            first
        };
        if last < first {
            continue;
        }
        match combined.last_mut() {
            Some(prev)
                if prev.last_offset + 1 == first
                    && prev.delivery_state == state
                    && prev.delivery_count == count =>
            {
                prev.last_offset = last;
            }
            _ => combined.push(StateBatch::new(first, last, state, count)),
        }
    }
    combined
}

/// Makes `batch` the state of its offsets: ranges it overlaps keep only their parts
/// outside it.
fn paint(ranges: &mut BTreeMap<i64, (i64, i8, i16)>, batch: &StateBatch) {
    let overlapping: Vec<(i64, (i64, i8, i16))> = ranges
        .range(..=batch.last_offset)
        .rev()
        .take_while(|(_, (last, _, _))| *last >= batch.first_offset)
        .map(|(first, range)| (*first, *range))
        .collect();
    for (first, (last, state, count)) in overlapping {
        ranges.remove(&first);
        if first < batch.first_offset {
            ranges.insert(first, (batch.first_offset - 1, state, count));
        }
        if last > batch.last_offset {
            ranges.insert(batch.last_offset + 1, (last, state, count));
        }
    }
    ranges.insert(
        batch.first_offset,
        (
            batch.last_offset,
            batch.delivery_state,
            batch.delivery_count,
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(first: i64, last: i64, state: i8, count: i16) -> StateBatch {
        StateBatch::new(first, last, state, count)
    }

    #[test]
    fn newer_batches_replace_the_offsets_they_cover() {
        let current = [b(0, 9, 0, 1)];
        assert_eq!(
            combine(&current, &[b(3, 5, 2, 1)], 0),
            vec![b(0, 2, 0, 1), b(3, 5, 2, 1), b(6, 9, 0, 1)]
        );
        // Spanning several ranges, and the later of two updates wins.
        let current = [b(0, 2, 0, 1), b(3, 5, 4, 2), b(6, 9, 0, 3)];
        assert_eq!(
            combine(&current, &[b(1, 7, 2, 1), b(7, 7, 4, 1)], 0),
            vec![b(0, 0, 0, 1), b(1, 6, 2, 1), b(7, 7, 4, 1), b(8, 9, 0, 3)]
        );
    }

    #[test]
    fn neighbours_alike_merge_and_the_start_offset_cuts() {
        assert_eq!(
            combine(&[b(0, 4, 2, 1)], &[b(5, 9, 2, 1), b(12, 12, 2, 1)], 0),
            vec![b(0, 9, 2, 1), b(12, 12, 2, 1)]
        );
        assert_eq!(
            combine(&[b(0, 4, 2, 1), b(5, 9, 0, 1)], &[], 7),
            vec![b(7, 9, 0, 1)]
        );
        assert_eq!(combine(&[b(0, 4, 2, 1)], &[], 5), vec![]);
        // A negative start cuts nothing.
        assert_eq!(combine(&[b(0, 4, 2, 1)], &[], -1), vec![b(0, 4, 2, 1)]);
        // Malformed batches are dropped.
        assert_eq!(combine(&[b(5, 4, 2, 1)], &[], 0), vec![]);
    }
}
