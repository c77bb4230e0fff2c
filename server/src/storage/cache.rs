//! [`ValueCache`]: a per-core cache of decoded records in front of RocksDB, so a GET of a hot key (and the
//! read-before-write of a SET) costs one hash lookup instead of a trip through RocksDB.
//!
//! Replacement is second-chance (CLOCK) over an LRU list: a hit only sets the entry's `referenced` bit —
//! no list surgery, whose pointer chasing made the hit path the largest own cost of a pipelined GET
//! (20% of server CPU with a strict LRU) — and eviction gives referenced entries one more round at the
//! young end. Entries written but never read are not referenced, so a bulk load displaces itself first.
//!
//! **Why.** A GET served from RocksDB's memtable spends most of its server CPU in `DBImpl::GetImpl` (super
//! version ref, memtable lookup, lookup key construction) and in the memtable skiplist walk, which is cache
//! miss after cache miss; the record is then decoded and its payload copied. Published figures put
//! cache-resident RocksDB point reads at ~190K/s per thread (~5 µs each). On this machine `Store::get` of a
//! 64-byte value took ~0.5 µs from a small, shallow memtable (10 000 keys over 2048 per-slot skiplists) and
//! ~50 ns from this cache (`cache_hit_is_cheaper_than_rocksdb` in storage/tests.rs prints both); deeper
//! memtables and block-cache reads only widen the gap. Redis does one hash lookup; so do we, for hot keys.
//!
//! **Why it is coherent.** It is keyed by the physical data key (`slot · db · key`), and every write of a
//! data key goes through [`crate::statemachine::SlotWriter`] on the one core that owns the slot; nothing
//! else on that core runs between a write reaching RocksDB and the cache being told. The writer applies
//! its entry's puts and deletes to the cache in order **after** the RocksDB batch was written (a failed
//! write instead drops every key the entry touched), and a flush of a slot clears the whole cache. Absent
//! keys are never cached (bloom filters make misses cheap), so absence here only ever means "ask RocksDB".
//! One thing changes records behind the writer's back: the compaction filter drops records whose deadline
//! has passed by the wall clock. So a cached record whose deadline has passed by the wall clock is treated
//! as a miss and RocksDB decides; a cached record is therefore always one RocksDB still holds.
//!
//! **What it costs.** The budget counts, per entry, the key, the payload and [`ENTRY_OVERHEAD`] bytes: the
//! LRU node (key box, record, list pointers), its hash-table slot, the record header kept with the payload,
//! the shared-buffer header and the allocator's rounding — measured at about 210 bytes with glibc malloc
//! (one million 16-byte keys with 16-byte values took 244 MB of RSS). Entries larger than 1/8 of the budget
//! are not cached, so one huge value cannot flush the hot set. The budget is `value-cache-mb`, node-wide,
//! divided among cores.
//!
//! Payloads of cached records never borrow from a connection's read buffer (a `Bytes` slice of it would
//! pin the whole buffer): the writer caches a slice of the record it encoded for RocksDB, and a miss
//! caches the freshly decoded copy.

use std::time::{SystemTime, UNIX_EPOCH};

use lru::LruCache;

use super::record::Record;

/// Bytes charged per entry on top of key and payload (see the module doc for how it was measured).
pub const ENTRY_OVERHEAD: usize = 200;

/// Entries larger than `budget / MAX_ENTRY_FRACTION` are not cached.
pub const MAX_ENTRY_FRACTION: usize = 8;

/// A cached record and its second-chance bit.
struct Entry {
    rec: Record,
    referenced: std::cell::Cell<bool>,
}

/// A byte-budgeted second-chance cache from physical data key to decoded record. A budget of 0 disables it.
pub struct ValueCache {
    map: LruCache<Box<[u8]>, Entry, ahash::RandomState>,
    budget: usize,
    bytes: usize,
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl Default for ValueCache {
    fn default() -> Self {
        ValueCache::new(0)
    }
}

impl ValueCache {
    pub fn new(budget: usize) -> ValueCache {
        ValueCache {
            map: LruCache::unbounded_with_hasher(ahash::RandomState::new()),
            budget,
            bytes: 0,
            hits: 0,
            misses: 0,
            evictions: 0,
        }
    }

    /// Changes the budget, evicting down to it (0 empties and disables the cache).
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        if budget == 0 {
            self.clear();
        } else {
            self.evict_to(budget);
        }
    }

    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.budget != 0
    }

    /// The cached record of `key`, marking it referenced. A record whose deadline has passed by the wall
    /// clock may already be gone from RocksDB (compaction filter), so it is dropped and reads as a miss.
    #[inline]
    pub fn get(&mut self, key: &[u8]) -> Option<Record> {
        if !self.is_enabled() {
            return None;
        }
        let Some(entry) = self.map.peek(key) else {
            self.misses += 1;
            return None;
        };
        if entry.rec.expire_at != 0 && entry.rec.expire_at <= wall_clock_ms() {
            self.remove(key);
            self.misses += 1;
            return None;
        }
        entry.referenced.set(true);
        self.hits += 1;
        Some(entry.rec.clone())
    }

    /// Caches `rec` as the current record of `key`, replacing any cached one. A record that is too large,
    /// or already past its deadline, is not cached (and any older record of the key is dropped).
    pub fn insert(&mut self, key: &[u8], rec: Record) {
        if !self.is_enabled() {
            return;
        }
        let cost = entry_cost(key.len(), &rec);
        if cost > self.budget / MAX_ENTRY_FRACTION
            || (rec.expire_at != 0 && rec.expire_at <= wall_clock_ms())
        {
            self.remove(key);
            return;
        }
        match self.map.peek_mut(key) {
            Some(old) => {
                // Replace in place: no new key allocation; a rewrite counts as a use.
                self.bytes -= entry_cost(key.len(), &old.rec);
                old.rec = rec;
                old.referenced.set(true);
            }
            None => {
                let entry = Entry {
                    rec,
                    referenced: std::cell::Cell::new(false),
                };
                self.map.put(Box::from(key), entry);
            }
        }
        self.bytes += cost;
        self.evict_to(self.budget);
    }

    /// Drops the cached record of `key`, if any.
    pub fn remove(&mut self, key: &[u8]) {
        if let Some(old) = self.map.pop(key) {
            self.bytes -= entry_cost(key.len(), &old.rec);
        }
    }

    /// Drops every cached record. Replacing the map frees it in one pass over the list (no rehashing per
    /// entry) and gives its table memory back.
    pub fn clear(&mut self) {
        if !self.map.is_empty() {
            self.map = LruCache::unbounded_with_hasher(ahash::RandomState::new());
        }
        self.bytes = 0;
    }

    /// Evicts from the old end until within `budget`; a referenced entry loses its bit and goes back to
    /// the young end instead (at most one such round per entry per call).
    fn evict_to(&mut self, budget: usize) {
        let mut second_chances = self.map.len();
        while self.bytes > budget {
            let Some((key, old)) = self.map.pop_lru() else {
                break;
            };
            if old.referenced.get() && second_chances > 0 {
                second_chances -= 1;
                old.referenced.set(false);
                self.map.put(key, old);
                continue;
            }
            self.bytes -= entry_cost(key.len(), &old.rec);
            self.evictions += 1;
        }
    }

    /// The budget in bytes (0: disabled).
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Lookups that went to RocksDB (absent keys included).
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Entries dropped to stay within the budget.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Bytes charged against the budget.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Cached records.
    pub fn entries(&self) -> usize {
        self.map.len()
    }

    /// Whether `key` is cached (does not change its recency); for tests and diagnostics.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.map.contains(key)
    }
}

#[inline]
fn entry_cost(key_len: usize, rec: &Record) -> usize {
    key_len + rec.payload.len() + ENTRY_OVERHEAD
}

/// The clock the compaction filter judges deadlines by (storage/compaction.rs).
#[inline]
fn wall_clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn rec(len: usize, expire_at: u64) -> Record {
        Record::string(Bytes::from(vec![b'x'; len]), expire_at, 0)
    }

    #[test]
    fn lru_order_budget_and_counters() {
        let budget = 8 * (ENTRY_OVERHEAD + 101);
        let mut c = ValueCache::new(budget);
        for i in 0..8u8 {
            c.insert(&[b'k', i], rec(99, 0));
        }
        assert_eq!((c.entries(), c.bytes(), c.evictions()), (8, budget, 0));
        assert!(c.get(b"k\x00").is_some(), "k0 is referenced");
        c.insert(b"k\x08", rec(99, 0));
        assert_eq!(c.evictions(), 1);
        assert!(
            !c.contains(b"k\x01"),
            "the oldest unreferenced entry goes first"
        );
        assert!(c.contains(b"k\x00"));
        assert!(c.get(b"nope").is_none());
        assert_eq!((c.hits(), c.misses()), (1, 1));
        // Replacing accounts the new size, not both.
        c.insert(b"k\x00", rec(9, 0));
        assert_eq!(c.bytes(), budget - 90);
        assert_eq!(c.get(b"k\x00").unwrap().payload.len(), 9);
        c.remove(b"k\x00");
        assert_eq!(c.bytes(), budget - 90 - (ENTRY_OVERHEAD + 11));
        c.set_budget(ENTRY_OVERHEAD * 10);
        assert!(c.bytes() <= ENTRY_OVERHEAD * 10);
        c.clear();
        assert_eq!((c.entries(), c.bytes()), (0, 0));
    }

    #[test]
    fn read_entries_outlive_a_burst_of_unread_writes() {
        let mut c = ValueCache::new(8 * (ENTRY_OVERHEAD + 101));
        for i in 0..8u8 {
            c.insert(&[b'k', i], rec(99, 0));
        }
        for i in 0..4u8 {
            assert!(c.get(&[b'k', i]).is_some());
        }
        for i in 0..4u8 {
            c.insert(&[b'n', i], rec(99, 0));
        }
        assert_eq!(c.evictions(), 4);
        for i in 0..4u8 {
            assert!(
                c.contains(&[b'k', i]),
                "read entry k{i} got a second chance"
            );
            assert!(!c.contains(&[b'k', i + 4]), "unread entry k{} went", i + 4);
        }
    }

    #[test]
    fn oversized_and_expired_records_are_not_cached_and_evict_older_copies() {
        let mut c = ValueCache::new(8 * 1024);
        c.insert(b"k", rec(10, 0));
        c.insert(b"k", rec(2000, 0));
        assert!(!c.contains(b"k"), "larger than 1/8 of the budget");
        c.insert(b"k", rec(10, 0));
        c.insert(b"k", rec(10, 1));
        assert!(!c.contains(b"k"), "already past its deadline");
        assert_eq!(c.bytes(), 0);
        let later = wall_clock_ms() + 40;
        c.insert(b"t", rec(10, later));
        assert!(c.get(b"t").is_some());
        while wall_clock_ms() < later {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(
            c.get(b"t").is_none(),
            "the compaction filter may have dropped it"
        );
        assert_eq!(c.bytes(), 0);
    }

    #[test]
    fn disabled_cache_stores_nothing() {
        let mut c = ValueCache::default();
        c.insert(b"k", rec(1, 0));
        assert!(c.get(b"k").is_none());
        assert_eq!((c.entries(), c.misses()), (0, 0));
        let mut c = ValueCache::new(1 << 20);
        c.insert(b"k", rec(1, 0));
        c.set_budget(0);
        assert!(!c.is_enabled() && c.entries() == 0);
    }
}
