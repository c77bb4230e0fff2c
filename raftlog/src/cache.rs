//! The bound on payloads kept in memory, shared by all groups of the engine.
//!
//! openraft reads entries right after appending them (to replicate them to followers and, once
//! committed, to apply them), so the engine keeps every appended payload in memory and serves
//! those reads without touching the disk. Memory is bounded by one byte budget for the whole core:
//! when it is exceeded, payloads are evicted **oldest append first, across all groups**, and later
//! reads of them go to the segment files. A global FIFO (not per-group LRU) because what is read
//! back is overwhelmingly what was appended last, whichever group it belongs to.
//!
//! The queue only records `(group, index, batch)`; the payloads themselves live in each group's
//! cached suffix (see [`crate::group`]). Entries that leave a group by truncation or purge leave
//! stale queue items behind; eviction skips them, and the queue is compacted when stale items
//! outnumber live ones, so it stays proportional to what is cached.
//!
//! A payload whose batch is not yet durable is never evicted: memory is its only copy. The budget
//! can therefore be exceeded for the duration of one fsync.

use std::collections::VecDeque;

use crate::engine::{GroupId, Groups};

#[derive(Debug)]
pub(crate) struct CacheBudget {
    queue: VecDeque<(GroupId, u64, u64)>,
    bytes: usize,
    entries: usize,
    cap: usize,
}

impl CacheBudget {
    pub fn new(cap: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            bytes: 0,
            entries: 0,
            cap,
        }
    }

    /// Whether payloads are cached at all (`cache_bytes` > 0).
    pub fn enabled(&self) -> bool {
        self.cap > 0
    }

    /// Bytes of payload currently cached.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Accounts for a payload that was just cached by a group.
    pub fn admit(&mut self, group: GroupId, index: u64, batch: u64, len: usize) {
        self.queue.push_back((group, index, batch));
        self.bytes += len;
        self.entries += 1;
    }

    /// Accounts for cached payloads a group dropped by itself (truncate, purge).
    pub fn release(&mut self, freed: crate::group::Freed) {
        self.bytes -= freed.bytes;
        self.entries -= freed.entries;
    }

    /// Evicts the oldest payloads of durable batches until the budget holds.
    pub fn evict(&mut self, groups: &mut Groups, durable_batch: u64) {
        while self.bytes > self.cap {
            let Some(&(group, index, batch)) = self.queue.front() else {
                break;
            };
            if batch > durable_batch {
                break;
            }
            self.queue.pop_front();
            if let Some(n) = groups.get_mut(&group).and_then(|g| g.evict(index, batch)) {
                self.bytes -= n;
                self.entries -= 1;
            }
        }
        if self.queue.len() > 2 * self.entries + 1024 {
            self.queue.retain(|&(group, index, batch)| {
                groups
                    .get(&group)
                    .and_then(|g| g.get(index))
                    .and_then(|(_, c)| c.map(|c| c.batch == batch))
                    .unwrap_or(false)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::group::{Cached, GroupLog, Slot};

    fn push(
        groups: &mut Groups,
        budget: &mut CacheBudget,
        g: GroupId,
        i: u64,
        batch: u64,
        n: usize,
    ) {
        let slot = Slot {
            term: 1,
            seg: 1,
            offset: 0,
            len: 0,
        };
        let c = Cached {
            payload: Bytes::from(vec![0u8; n]),
            batch,
        };
        groups.entry(g).or_default().push(i, slot, Some(c));
        budget.admit(g, i, batch, n);
    }

    #[test]
    fn evicts_oldest_durable_first_across_groups() {
        let mut groups = Groups::default();
        let mut b = CacheBudget::new(250);
        push(&mut groups, &mut b, 1, 0, 1, 100);
        push(&mut groups, &mut b, 2, 0, 1, 100);
        push(&mut groups, &mut b, 1, 1, 2, 100);
        b.evict(&mut groups, 0);
        assert_eq!(b.bytes(), 300, "nothing durable yet: nothing evicted");
        b.evict(&mut groups, 2);
        assert_eq!(b.bytes(), 200);
        assert!(groups[&1].get(0).unwrap().1.is_none());
        assert!(groups[&2].get(0).unwrap().1.is_some());
    }

    #[test]
    fn stale_items_are_skipped_and_compacted() {
        let mut groups = Groups::default();
        let mut b = CacheBudget::new(usize::MAX);
        for i in 0..5000 {
            push(&mut groups, &mut b, 1, i, 1, 1);
        }
        let freed = groups.get_mut(&1).unwrap().purge_entries(4990);
        b.release(freed);
        b.evict(&mut groups, 1);
        assert_eq!(b.entries, 9);
        assert!(b.queue.len() <= 9 + 1024 + 9);
        let _ = GroupLog::default();
    }
}
