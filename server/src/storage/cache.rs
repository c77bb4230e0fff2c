//! [`ValueCache`]: a per-core cache of decoded records in front of RocksDB, so a GET of a hot key (and the
//! read-before-write of a SET) costs one hash lookup instead of a trip through RocksDB.
//!
//! **Layout.** Entries live inline in one open-addressing table (`hashbrown::HashTable`): a lookup reads
//! the table's control bytes, the entry, and one heap block holding the key followed by the payload when
//! the payload is small (≤ [`INLINE_PAYLOAD`] bytes; a larger one is kept as a shared `Bytes`). A hit on a
//! small value is therefore three cache lines, and the reply copies the payload out of a line the key
//! comparison already loaded. The first version used `lru::LruCache` with the payload as a shared `Bytes`:
//! table slot → list node → key box → `Bytes` header (an atomic increment and decrement) → payload, five
//! dependent cache misses that made the lookup ~35% of a pipelined GET's server CPU.
//!
//! **Replacement** is CLOCK over the table's buckets: a hit sets the entry's `referenced` bit, and eviction
//! sweeps a hand over the buckets, clearing set bits and evicting the first entry whose bit is clear. Entries
//! written but never read are not referenced, so a bulk load displaces itself (and other unread entries)
//! before anything that was read. Like Redis's sampled LRU, the order among unread entries is not their age.
//!
//! **Why a cache.** A GET served from RocksDB's memtable spends most of its server CPU in
//! `DBImpl::GetImpl` (super version ref, memtable lookup, lookup key construction) and in the memtable
//! skiplist walk, which is cache miss after cache miss; the record is then decoded and its payload copied.
//! Published figures put cache-resident RocksDB point reads at ~190K/s per thread (~5 µs each). On this
//! machine `Store::get` of a 64-byte value took ~0.5 µs from a small, shallow memtable (10 000 keys over 2048
//! slots' skiplists, before data keys were split into 16 buckets per slot) and ~50 ns from this cache (`cache_hit_is_cheaper_than_rocksdb` in storage/tests.rs
//! prints both); deeper memtables and block-cache reads only widen the gap. Redis does one hash lookup; so do
//! we, for hot keys.
//!
//! **Why it is coherent.** It is keyed by the physical data key (`slot · db · bucket · key`), and every write of a
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
//! table entry and its control byte at the table's load factor, the heap block's allocator header and
//! rounding, and for large payloads the record buffer they share. Entries larger than 1/8 of the budget
//! are not cached, so one huge value cannot flush the hot set. The budget is `value-cache-mb`, node-wide,
//! divided among cores.
//!
//! Payloads of cached records never borrow from a connection's read buffer (a `Bytes` slice of it would
//! pin the whole buffer): small ones are copied into the entry's block, and a large one is a slice of the
//! record the writer encoded for RocksDB (or of the freshly decoded copy after a miss).

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hashbrown::HashTable;

use super::record::{Record, ValueType};

/// Bytes charged per entry on top of key and payload (see the module doc; `entry_overhead` in the tests
/// measures it).
pub const ENTRY_OVERHEAD: usize = 200;

/// Entries larger than `budget / MAX_ENTRY_FRACTION` are not cached.
pub const MAX_ENTRY_FRACTION: usize = 8;

/// Payloads up to this size are kept in the entry's block, after the key, and copied out on a hit.
pub const INLINE_PAYLOAD: usize = 512;

/// Bytes of an entry's block before the key: the record's deadline and version.
const BLOCK_HEADER: usize = 16;

/// A cached record: 32 bytes in the table, the rest in one heap block, so the table stays small enough to
/// stay in cache (100,000 entries: 8 MB with 32-byte entries; 19 MB with the record's fields inline).
struct Entry {
    /// `[expire_at u64][version u64][key][payload when at most INLINE_PAYLOAD bytes]`.
    block: Box<[u8]>,
    /// The payload when it is larger.
    large: Option<Box<Bytes>>,
    key_len: u32,
    vtype: ValueType,
    referenced: bool,
}

impl Entry {
    fn new(key: &[u8], rec: Record) -> Entry {
        let mut e = Entry {
            block: Box::default(),
            large: None,
            key_len: key.len() as u32,
            vtype: rec.vtype,
            referenced: false,
        };
        e.set(key, rec);
        e
    }

    #[inline]
    fn key(&self) -> &[u8] {
        &self.block[BLOCK_HEADER..BLOCK_HEADER + self.key_len as usize]
    }

    #[inline]
    fn expire_at(&self) -> u64 {
        u64::from_ne_bytes(self.block[..8].try_into().unwrap())
    }

    #[inline]
    fn payload_len(&self) -> usize {
        match &self.large {
            None => self.block.len() - BLOCK_HEADER - self.key_len as usize,
            Some(p) => p.len(),
        }
    }

    #[inline]
    fn cost(&self) -> usize {
        cost(self.key_len as usize, self.payload_len())
    }

    /// Replaces the record, reusing the block when the key and payload still fit it exactly.
    fn set(&mut self, key: &[u8], rec: Record) {
        let inline: &[u8] = if rec.payload.len() <= INLINE_PAYLOAD {
            &rec.payload
        } else {
            &[]
        };
        let len = BLOCK_HEADER + key.len() + inline.len();
        if self.block.len() != len {
            let mut block = vec![0; len];
            block[BLOCK_HEADER..BLOCK_HEADER + key.len()].copy_from_slice(key);
            self.block = block.into_boxed_slice();
        }
        self.block[..8].copy_from_slice(&rec.expire_at.to_ne_bytes());
        self.block[8..16].copy_from_slice(&rec.version.to_ne_bytes());
        self.block[BLOCK_HEADER + key.len()..].copy_from_slice(inline);
        self.vtype = rec.vtype;
        self.large = if rec.payload.len() > INLINE_PAYLOAD {
            Some(Box::new(rec.payload))
        } else {
            None
        };
    }

    #[inline]
    fn record(&self) -> Record {
        let payload = match &self.large {
            None => Bytes::copy_from_slice(&self.block[BLOCK_HEADER + self.key_len as usize..]),
            Some(p) => Bytes::clone(p),
        };
        Record {
            vtype: self.vtype,
            expire_at: self.expire_at(),
            version: u64::from_ne_bytes(self.block[8..16].try_into().unwrap()),
            payload,
        }
    }
}

/// A byte-budgeted CLOCK cache from physical data key to decoded record. A budget of 0 disables it.
pub struct ValueCache {
    table: HashTable<Entry>,
    hasher: ahash::RandomState,
    /// The CLOCK hand: the next bucket eviction looks at.
    hand: usize,
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
            table: HashTable::new(),
            hasher: ahash::RandomState::new(),
            hand: 0,
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
        let hash = self.hasher.hash_one(key);
        let Some(entry) = self.table.find_mut(hash, |e| e.key() == key) else {
            self.misses += 1;
            return None;
        };
        let expire_at = entry.expire_at();
        if expire_at != 0 && expire_at <= wall_clock_ms() {
            self.remove(key);
            self.misses += 1;
            return None;
        }
        if !entry.referenced {
            entry.referenced = true;
        }
        self.hits += 1;
        Some(entry.record())
    }

    /// Caches `rec` as the current record of `key`, replacing any cached one. A record that is too large,
    /// or already past its deadline, is not cached (and any older record of the key is dropped).
    pub fn insert(&mut self, key: &[u8], rec: Record) {
        if !self.is_enabled() {
            return;
        }
        let cost = cost(key.len(), rec.payload.len());
        if cost > self.budget / MAX_ENTRY_FRACTION
            || (rec.expire_at != 0 && rec.expire_at <= wall_clock_ms())
        {
            self.remove(key);
            return;
        }
        let hash = self.hasher.hash_one(key);
        match self.table.find_mut(hash, |e| e.key() == key) {
            Some(old) => {
                // Replace in place; a rewrite counts as a use.
                self.bytes -= old.cost();
                old.set(key, rec);
                old.referenced = true;
            }
            None => {
                let hasher = &self.hasher;
                self.table
                    .insert_unique(hash, Entry::new(key, rec), |e| hasher.hash_one(e.key()));
            }
        }
        self.bytes += cost;
        self.evict_to(self.budget);
    }

    /// Drops the cached record of `key`, if any.
    pub fn remove(&mut self, key: &[u8]) {
        let hash = self.hasher.hash_one(key);
        if let Ok(entry) = self.table.find_entry(hash, |e| e.key() == key) {
            let (old, _) = entry.remove();
            self.bytes -= old.cost();
        }
    }

    /// Drops every cached record and gives the table's memory back.
    pub fn clear(&mut self) {
        if !self.table.is_empty() {
            self.table = HashTable::new();
        }
        self.hand = 0;
        self.bytes = 0;
    }

    /// Sweeps the CLOCK hand until within `budget`: a referenced entry loses its bit and stays, the first
    /// unreferenced one goes. Two passes at most, since the first clears every bit it passes.
    fn evict_to(&mut self, budget: usize) {
        while self.bytes > budget && !self.table.is_empty() {
            if self.hand >= self.table.num_buckets() {
                self.hand = 0;
            }
            let i = self.hand;
            self.hand += 1;
            let Ok(mut entry) = self.table.get_bucket_entry(i) else {
                continue;
            };
            if entry.get().referenced {
                entry.get_mut().referenced = false;
                continue;
            }
            let (old, _) = entry.remove();
            self.bytes -= old.cost();
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
        self.table.len()
    }

    /// Whether `key` is cached (does not change its reference bit); for tests and diagnostics.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.table
            .find(self.hasher.hash_one(key), |e| e.key() == key)
            .is_some()
    }
}

/// What the budget charges for an entry.
#[inline]
fn cost(key_len: usize, payload_len: usize) -> usize {
    key_len + payload_len + ENTRY_OVERHEAD
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
    fn budget_counters_and_second_chance() {
        let budget = 8 * (ENTRY_OVERHEAD + 101);
        let mut c = ValueCache::new(budget);
        for i in 0..8u8 {
            c.insert(&[b'k', i], rec(99, 0));
        }
        assert_eq!((c.entries(), c.bytes(), c.evictions()), (8, budget, 0));
        assert!(c.get(b"k\x00").is_some(), "k0 is referenced");
        c.insert(b"k\x08", rec(99, 0));
        assert_eq!((c.entries(), c.evictions()), (8, 1));
        assert!(c.contains(b"k\x00"), "an unreferenced entry goes first");
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
        // 64 entries sit in 128 buckets: 16 evictions move the hand less than one turn, so every entry
        // it passes with its bit set survives.
        let mut c = ValueCache::new(64 * (ENTRY_OVERHEAD + 102));
        for i in 0..64u8 {
            c.insert(&[b'k', i], rec(100, 0));
        }
        for i in 0..16u8 {
            assert!(c.get(&[b'k', i]).is_some());
        }
        for i in 0..16u8 {
            c.insert(&[b'n', i], rec(100, 0));
        }
        assert_eq!((c.evictions(), c.entries()), (16, 64));
        for i in 0..16u8 {
            assert!(
                c.contains(&[b'k', i]),
                "read entry k{i} got a second chance"
            );
        }
    }

    #[test]
    fn eviction_progresses_when_every_entry_was_read() {
        let mut c = ValueCache::new(8 * (ENTRY_OVERHEAD + 102));
        for i in 0..8u8 {
            c.insert(&[b'k', i], rec(100, 0));
            assert!(c.get(&[b'k', i]).is_some());
        }
        c.insert(b"new", rec(99, 0));
        assert_eq!((c.evictions(), c.entries()), (1, 8));
        assert!(c.bytes() <= c.budget());
    }

    #[test]
    fn payloads_move_between_the_block_and_a_shared_buffer() {
        let mut c = ValueCache::new(1 << 20);
        let big = INLINE_PAYLOAD + 1;
        for (len, expire_at) in [
            (3, 0),
            (3, 7),
            (big, 0),
            (big + 5, 9),
            (0, 0),
            (INLINE_PAYLOAD, 0),
        ] {
            let payload = Bytes::from((0..len).map(|i| i as u8).collect::<Vec<u8>>());
            let r = Record {
                vtype: ValueType::Hash,
                expire_at: if expire_at == 0 {
                    0
                } else {
                    wall_clock_ms() + 60_000 + expire_at
                },
                version: len as u64,
                payload,
            };
            c.insert(b"key", r.clone());
            assert_eq!(c.get(b"key"), Some(r), "payload of {len} bytes");
            assert_eq!(c.bytes(), 3 + len + ENTRY_OVERHEAD);
        }
        assert_eq!(c.entries(), 1);
        c.insert(b"ke", rec(big, 0));
        assert_eq!(c.get(b"ke").unwrap().payload.len(), big);
        assert_eq!(c.get(b"key").unwrap().payload.len(), INLINE_PAYLOAD);
    }

    /// Measures what an entry costs in resident memory (run with `--ignored --nocapture`); ENTRY_OVERHEAD
    /// should stay above the figure printed for 16-byte keys and values.
    #[test]
    #[ignore]
    fn entry_overhead() {
        fn rss() -> usize {
            let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
            statm.split(' ').nth(1).unwrap().parse::<usize>().unwrap() * 4096
        }
        let n = 1_000_000usize;
        let before = rss();
        let mut c = ValueCache::new(usize::MAX / 2);
        for i in 0..n {
            let key = format!("key:{i:012}");
            c.insert(key.as_bytes(), rec(16, 0));
        }
        let per_entry = (rss() - before) / n;
        println!(
            "{per_entry} bytes per entry beyond key and payload: {}",
            per_entry - 32
        );
        assert_eq!(c.entries(), n);
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
