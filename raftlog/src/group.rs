//! The in-memory index of one Raft group: where each of its entries lives on disk, which recent
//! payloads are still in memory, and its durable markers.
//!
//! Raft logs have no holes, so the index is a `VecDeque` of fixed-size slots addressed by
//! `index - first`: O(1) lookup, O(1) append at the back, O(1) purge at the front and O(k)
//! truncation of a k-entry suffix, 32 bytes per entry. A `BTreeMap` would cost several times the
//! memory and a pointer chase per lookup for no benefit.
//!
//! Cached payloads are always a *suffix* of the group's log: entries are cached when appended and
//! evicted oldest first (see [`crate::cache`]), so "the last `cache.len()` entries" describes the
//! cache exactly and needs no per-slot flag.

use std::collections::VecDeque;
use std::ops::Range;

use bytes::Bytes;

/// Location of one entry record on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub term: u64,
    /// Segment sequence number.
    pub seg: u64,
    /// Offset of the record header inside the segment.
    pub offset: u64,
    /// Record length (header + payload).
    pub len: u32,
}

/// A payload kept in memory, tagged with the batch it was written in (eviction waits for that
/// batch to be durable: before that, memory is the only copy).
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub payload: Bytes,
    pub batch: u64,
}

/// The purge point of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    /// Entries with an index up to and including this one are gone.
    pub index: u64,
    /// Term of the purged entry, as given to `purge`.
    pub term: u64,
    /// The caller's marker for the purge point (opaque to the engine).
    pub marker: Bytes,
}

/// Cached payloads dropped by an operation, for the global cache accounting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Freed {
    pub entries: usize,
    pub bytes: usize,
}

impl Freed {
    fn add(&mut self, c: &Cached) {
        self.entries += 1;
        self.bytes += c.payload.len();
    }
}

/// A copy of part of a group's index, taken when a read starts (see [`GroupLog::snapshot`]).
#[derive(Debug)]
pub(crate) struct RangeSnapshot {
    /// Index of `slots[0]`.
    pub first: u64,
    pub slots: Vec<Slot>,
    /// Payloads of the last `cached.len()` slots (the cache is a suffix, so a range's cached part
    /// is a suffix of the range).
    pub cached: Vec<Bytes>,
}

/// Which of a group's durable markers a value is (see [`crate::Engine::save_marker`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerKind {
    /// The vote (term + voted-for, in the caller's encoding).
    Vote = 0,
    /// The committed log position.
    Committed = 1,
    /// The applied log position.
    Applied = 2,
}

pub(crate) const PURGE_MARKER: usize = 3;

/// Everything the engine knows about one group.
#[derive(Debug, Default)]
pub(crate) struct GroupLog {
    first: u64,
    slots: VecDeque<Slot>,
    cache: VecDeque<Cached>,
    pub purged: Option<Purged>,
    pub markers: [Option<Bytes>; 3],
    /// Segment holding the latest record of each marker (vote, committed, applied, purge):
    /// before that segment is deleted the marker is written again.
    pub marker_seg: [Option<u64>; 4],
}

/// Why an entry cannot be appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppendConflict {
    /// The log is not empty and the entry is not the next index.
    NotNext { expected: u64 },
    /// The log is empty and the entry is at or below the purge point.
    Purged { purged: u64 },
}

impl GroupLog {
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// First and last index present.
    pub fn range(&self) -> Option<(u64, u64)> {
        (!self.slots.is_empty()).then(|| (self.first, self.first + self.slots.len() as u64 - 1))
    }

    pub fn last(&self) -> Option<(u64, Slot)> {
        self.slots
            .back()
            .map(|s| (self.first + self.slots.len() as u64 - 1, *s))
    }

    /// Whether an entry at `index` may be appended now.
    ///
    /// A non-empty log only grows by its next index. An empty log accepts any index above the
    /// purge point: a follower that installed a snapshot continues after it, and openraft's own
    /// conformance suite starts logs at arbitrary indexes.
    pub fn check_append(&self, index: u64) -> Result<(), AppendConflict> {
        if let Some((_, last)) = self.range() {
            if index != last + 1 {
                return Err(AppendConflict::NotNext { expected: last + 1 });
            }
        } else if let Some(p) = &self.purged {
            if index <= p.index {
                return Err(AppendConflict::Purged { purged: p.index });
            }
        }
        Ok(())
    }

    /// Appends a slot (after [`Self::check_append`]). With `cached`, the payload joins the cached
    /// suffix; without, the cache is emptied first so that it stays a suffix (recovery only).
    /// Returns the cached payloads dropped to keep that invariant.
    pub fn push(&mut self, index: u64, slot: Slot, cached: Option<Cached>) -> Freed {
        if self.slots.is_empty() {
            self.first = index;
        }
        debug_assert_eq!(index, self.first + self.slots.len() as u64);
        self.slots.push_back(slot);
        match cached {
            Some(c) => {
                self.cache.push_back(c);
                Freed::default()
            }
            None => self.clear_cache(),
        }
    }

    /// Drops every cached payload.
    pub fn clear_cache(&mut self) -> Freed {
        let mut freed = Freed::default();
        for c in self.cache.drain(..) {
            freed.add(&c);
        }
        freed
    }

    /// Removes entries with index >= `from`; returns the number removed and the cached payloads
    /// dropped with them.
    pub fn truncate(&mut self, from: u64) -> (usize, Freed) {
        let mut freed = Freed::default();
        let Some((first, last)) = self.range() else {
            return (0, freed);
        };
        if from > last {
            return (0, freed);
        }
        let keep = from.saturating_sub(first) as usize;
        let removed = self.slots.len() - keep;
        self.slots.truncate(keep);
        for _ in 0..removed.min(self.cache.len()) {
            if let Some(c) = self.cache.pop_back() {
                freed.add(&c);
            }
        }
        (removed, freed)
    }

    /// Removes entries with index <= `upto`; returns the cached payloads dropped with them.
    pub fn purge_entries(&mut self, upto: u64) -> Freed {
        let mut freed = Freed::default();
        let Some((first, last)) = self.range() else {
            return freed;
        };
        if upto < first {
            return freed;
        }
        let drop_n = (upto.min(last) - first + 1) as usize;
        let uncached = self.slots.len() - self.cache.len();
        self.slots.drain(..drop_n);
        self.first += drop_n as u64;
        for _ in 0..drop_n.saturating_sub(uncached) {
            if let Some(c) = self.cache.pop_front() {
                freed.add(&c);
            }
        }
        freed
    }

    /// The slot of `index` and its cached payload, if present.
    pub fn get(&self, index: u64) -> Option<(Slot, Option<&Cached>)> {
        let (first, last) = self.range()?;
        if index < first || index > last {
            return None;
        }
        let pos = (index - first) as usize;
        let slot = self.slots[pos];
        let uncached = self.slots.len() - self.cache.len();
        let cached = pos.checked_sub(uncached).map(|c| &self.cache[c]);
        Some((slot, cached))
    }

    /// Copies what a read of `range` needs (clipped to the entries present): the slots, and the
    /// payloads of those that are cached. Stops after the entry that brings the payload bytes
    /// (cached payload length, or record length for a miss) to `max_bytes`, so at least one
    /// entry is taken when the clipped range is not empty.
    pub fn snapshot(&self, range: Range<u64>, max_bytes: usize) -> Option<RangeSnapshot> {
        let (first, last) = self.range()?;
        let start = range.start.max(first);
        let end = range.end.min(last.saturating_add(1));
        if start >= end {
            return None;
        }
        let from = (start - first) as usize;
        let uncached = self.slots.len() - self.cache.len();
        let mut slots = Vec::new();
        let mut cached = Vec::new();
        let mut bytes = 0usize;
        for (pos, slot) in self.slots.range(from..(end - first) as usize).enumerate() {
            if !slots.is_empty() && bytes >= max_bytes {
                break;
            }
            match (from + pos).checked_sub(uncached) {
                Some(c) => {
                    let payload = &self.cache[c].payload;
                    bytes = bytes.saturating_add(payload.len());
                    cached.push(payload.clone());
                }
                None => bytes = bytes.saturating_add(slot.len as usize),
            }
            slots.push(*slot);
        }
        Some(RangeSnapshot {
            first: start,
            slots,
            cached,
        })
    }

    /// Evicts the oldest cached payload if it is the one for `index` written in `batch`.
    /// Returns the bytes freed, or `None` if that payload is no longer cached (purged, truncated,
    /// or replaced by a later entry at the same index).
    pub fn evict(&mut self, index: u64, batch: u64) -> Option<usize> {
        let uncached = self.slots.len() - self.cache.len();
        let oldest_cached_index = self.first + uncached as u64;
        match self.cache.front() {
            Some(c) if oldest_cached_index == index && c.batch == batch => {
                let len = c.payload.len();
                self.cache.pop_front();
                Some(len)
            }
            _ => None,
        }
    }

    /// Number of cached payloads.
    #[cfg(test)]
    pub fn cached_len(&self) -> usize {
        self.cache.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(i: u64) -> Slot {
        Slot {
            term: 1,
            seg: 1,
            offset: i * 100,
            len: 40,
        }
    }

    fn cached(n: usize, batch: u64) -> Option<Cached> {
        Some(Cached {
            payload: Bytes::from(vec![7u8; n]),
            batch,
        })
    }

    #[test]
    fn append_rules() {
        let mut g = GroupLog::default();
        assert_eq!(g.check_append(5), Ok(()));
        g.push(5, slot(5), cached(1, 1));
        assert_eq!(
            g.check_append(7),
            Err(AppendConflict::NotNext { expected: 6 })
        );
        assert_eq!(g.check_append(6), Ok(()));
        g.purged = Some(Purged {
            index: 9,
            term: 1,
            marker: Bytes::new(),
        });
        g.purge_entries(9);
        assert!(g.is_empty());
        assert_eq!(g.check_append(9), Err(AppendConflict::Purged { purged: 9 }));
        assert_eq!(g.check_append(12), Ok(()));
    }

    #[test]
    fn cache_is_a_suffix_through_truncate_and_purge() {
        let mut g = GroupLog::default();
        for i in 0..5 {
            g.push(i, slot(i), None);
        }
        for i in 5..10 {
            g.push(i, slot(i), cached(10, i));
        }
        assert!(g.get(4).unwrap().1.is_none());
        assert_eq!(g.get(5).unwrap().1.unwrap().batch, 5);
        assert_eq!(
            g.truncate(8),
            (
                2,
                Freed {
                    entries: 2,
                    bytes: 20
                }
            )
        );
        assert_eq!(g.range(), Some((0, 7)));
        assert_eq!(g.get(7).unwrap().1.unwrap().batch, 7);
        assert_eq!(
            g.purge_entries(5),
            Freed {
                entries: 1,
                bytes: 10
            }
        );
        assert_eq!(g.range(), Some((6, 7)));
        assert_eq!(g.cached_len(), 2);
        assert_eq!(g.evict(6, 99), None, "batch mismatch must not evict");
        assert_eq!(g.evict(6, 6), Some(10));
        assert!(g.get(6).unwrap().1.is_none());
        assert_eq!(g.get(7).unwrap().1.unwrap().batch, 7);
        assert_eq!(
            g.purge_entries(100),
            Freed {
                entries: 1,
                bytes: 10
            }
        );
        assert_eq!(g.range(), None);
    }

    #[test]
    fn uncached_push_clears_cache() {
        let mut g = GroupLog::default();
        g.push(0, slot(0), cached(3, 1));
        assert_eq!(
            g.push(1, slot(1), None),
            Freed {
                entries: 1,
                bytes: 3
            }
        );
        assert_eq!(g.cached_len(), 0);
    }

    #[test]
    fn snapshot_clips_and_keeps_the_cached_suffix() {
        let mut g = GroupLog::default();
        assert!(g.snapshot(0..10, usize::MAX).is_none());
        for i in 3..6 {
            g.push(i, slot(i), None);
        }
        for i in 6..9 {
            g.push(i, slot(i), cached(10, i));
        }
        let s = g.snapshot(0..100, usize::MAX).unwrap();
        assert_eq!(s.first, 3);
        assert_eq!(s.slots, (3..9).map(slot).collect::<Vec<_>>());
        assert_eq!(s.cached.len(), 3);
        let s = g.snapshot(4..7, usize::MAX).unwrap();
        assert_eq!((s.first, s.slots.len(), s.cached.len()), (4, 3, 1));
        assert!(g.snapshot(9..20, usize::MAX).is_none());
        assert!(g.snapshot(5..5, usize::MAX).is_none());
        // Misses count their record length (40), hits their payload (10); the entry that reaches
        // the limit is the last one taken, and one entry is always taken.
        assert_eq!(g.snapshot(3..9, 80).unwrap().slots.len(), 2);
        assert_eq!(g.snapshot(3..9, 0).unwrap().slots.len(), 1);
        let s = g.snapshot(5..9, 60).unwrap();
        assert_eq!((s.slots.len(), s.cached.len()), (3, 2));
    }
}
