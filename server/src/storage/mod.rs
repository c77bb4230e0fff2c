//! Storage: one RocksDB instance per core, seen through the [`Store`] of that core.
//!
//! Why an instance per core rather than column families in one instance: RocksDB serialises writers of one
//! instance through a single write queue. With one shared instance a write on core 0 would wait in
//! line behind core 1's — a lock across cores on the hottest path, which thread-per-core
//! exists to remove. Separate instances give each core its own write queue, memtables, flushes, compactions
//! and flush cadence, and let an operator tune one core live without touching the others. Slots never move
//! between cores of one node (the slot-to-core map is fixed when the data folder is created and checked at
//! every start), so nothing is lost by the split. See docs/architecture.md for the measurement.
//!
//! Command code never names RocksDB: it reads through [`Store`] and writes through
//! [`crate::statemachine::SlotWriter`]. Reads of single keys go through the core's [`cache::ValueCache`]
//! first; the writer keeps it coherent, which is why no other code may write data keys.

pub mod cache;
pub mod collection;
pub mod compaction;
pub mod keycodec;
pub mod record;
pub mod snapshot;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use rocksdb::{
    ColumnFamilyDescriptor, Direction, IteratorMode, ReadOptions, WriteBatch, WriteOptions, DB,
};

use crate::slot::SlotId;
use cache::ValueCache;
use collection::Family;
use keycodec::{KeyBuf, KeyCodec};
use record::{CorruptRecord, Record};

/// Errors from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error(transparent)]
    Corrupt(#[from] CorruptRecord),
    #[error("data folder {dir}: {reason}")]
    Layout { dir: String, reason: String },
    #[error("slot snapshot: {0}")]
    Snapshot(#[from] snapshot::SnapshotError),
    /// The instance was written in a key layout this build does not read.
    #[error("data folder {dir} holds storage format {found}; this build reads format {STORAGE_FORMAT} only (docs/storage-format.md)")]
    Format { dir: String, found: String },
    /// A log entry wrote after wiping its slot's databases in the same batch (a bug in the mutation).
    #[error("an entry wrote after wiping its slot")]
    StoredAfterWipe,
}

/// The key layout this build writes and reads (docs/storage-format.md). Format 2 put a bucket byte in
/// every data key; format 1 (no marker) had none.
pub const STORAGE_FORMAT: u32 = 2;
/// An empty column family that marks an instance of [`STORAGE_FORMAT`]. A family rather than a key: it is
/// seen before the instance is opened (so nothing, not even a compaction, runs on a folder of another
/// format), and RocksDB refuses to open an instance without naming all its families, so builds that do
/// not know this one refuse the folder too.
const FORMAT_CF: &str = "storage-format-2";
const FORMAT_CF_PREFIX: &str = "storage-format-";

/// Keys and keys-with-a-deadline of one `slot · db`, as DBSIZE and INFO keyspace report them. They count
/// stored records (a key past its deadline counts until it is deleted, as in Redis) and are written in the
/// same batch as the change they count, so they are exact after any crash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyCounts {
    pub keys: i64,
    pub volatile: i64,
}

impl KeyCounts {
    fn encode(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.keys.to_be_bytes());
        out[8..].copy_from_slice(&self.volatile.to_be_bytes());
        out
    }

    fn decode(raw: &[u8]) -> KeyCounts {
        if raw.len() != 16 {
            return KeyCounts::default();
        }
        KeyCounts {
            keys: i64::from_be_bytes(raw[..8].try_into().unwrap()),
            volatile: i64::from_be_bytes(raw[8..].try_into().unwrap()),
        }
    }
}

/// RocksDB's default `level0_slowdown_writes_trigger` (not changed by tuning/), and how far below it a
/// memtable switch is still made without risking a wait for compactions.
const LEVEL0_SLOWDOWN_TRIGGER: u64 = 20;
const LEVEL0_MARGIN: u64 = 2;

/// The column family holding each slot's last applied Raft log id (key `slot · FF · FE`).
pub const RAFT_CF: &str = "raft";

/// One core's RocksDB instance.
pub struct Store {
    db: Arc<DB>,
    write_opts: WriteOptions,
    /// Cache of the counts records, loaded lazily.
    counts: std::cell::RefCell<ahash::AHashMap<(u16, u8), KeyCounts>>,
    /// Cache of each slot's next collection version, loaded lazily.
    versions: std::cell::RefCell<ahash::AHashMap<u16, u64>>,
    /// Decoded records of hot keys; disabled (budget 0) until [`Store::set_cache_budget`].
    cache: std::cell::RefCell<ValueCache>,
    /// Bytes of write batches since the memtables were last checked against their switch size.
    unchecked_bytes: std::cell::Cell<u64>,
    /// Range deletes went in since the last memtable switch: the switch is made before the next write
    /// that is not itself a range delete (or that write fails), or by [`Store::switch_if_owed`].
    switch_owed: std::cell::Cell<bool>,
}

impl Store {
    /// Opens (creating if needed) the instance in `path`.
    pub fn open(
        path: &Path,
        cores: usize,
        cfg: &tuning::RocksConfig,
    ) -> Result<Store, StorageError> {
        let cache = cfg.block_cache(cores);
        let db_opts = cfg.db_options(cores);
        // An existing instance must carry this format's marker (a new one gets it below).
        if let Ok(families) = DB::list_cf(&db_opts, path) {
            if !families.iter().any(|f| f == FORMAT_CF) {
                let found = families
                    .iter()
                    .find_map(|f| f.strip_prefix(FORMAT_CF_PREFIX))
                    .unwrap_or("1");
                return Err(StorageError::Format {
                    dir: path.display().to_string(),
                    found: found.to_owned(),
                });
            }
        }
        const _: () = assert!(tuning::DATA_PREFIX_LEN == keycodec::DATA_PREFIX_LEN);
        let mut data_opts = cfg.data_cf_options(cores, &cache);
        data_opts.set_compaction_filter("slotkv-expired", compaction::drop_expired_records);
        let mut cfs = vec![ColumnFamilyDescriptor::new(
            rocksdb::DEFAULT_COLUMN_FAMILY_NAME,
            data_opts,
        )];
        let db_slot = compaction::DbSlot::default();
        for family in Family::ALL {
            let mut opts = cfg.member_cf_options(cores, &cache);
            opts.set_compaction_filter_factory(compaction::OrphanFilterFactory {
                db: db_slot.clone(),
                name: match family {
                    Family::Sub => c"slotkv-orphaned-members",
                    Family::Score => c"slotkv-orphaned-scores",
                },
            });
            cfs.push(ColumnFamilyDescriptor::new(family.cf_name(), opts));
        }
        // Each slot's last applied log id is rewritten by every write: in a family of its own, updated in
        // place in the memtable, it stays a few thousand keys instead of one memtable entry per write
        // among the data (measured: +33% pipelined SET throughput).
        const _: () = assert!(tuning::RAFT_KEY_LEN == keycodec::RAFT_KEY_LEN);
        cfs.push(ColumnFamilyDescriptor::new(
            RAFT_CF,
            cfg.raft_cf_options(cores, &cache),
        ));
        cfs.push(ColumnFamilyDescriptor::new(
            FORMAT_CF,
            rocksdb::Options::default(),
        ));
        let db = Arc::new(DB::open_cf_descriptors(&db_opts, path, cfs)?);
        let _ = db_slot.set(Arc::downgrade(&db));
        let mut write_opts = WriteOptions::default();
        // Entries are durable in the core's Raft log; RocksDB's state on disk is whatever its atomic
        // memtable flushes wrote, each a prefix of every slot's log (see replication/corelog.rs).
        write_opts.disable_wal(true);
        Ok(Store {
            db,
            write_opts,
            counts: Default::default(),
            versions: Default::default(),
            cache: Default::default(),
            unchecked_bytes: Default::default(),
            switch_owed: Default::default(),
        })
    }

    /// Sets this core's value-cache budget in bytes (0, the default, disables it). Shrinking evicts at once.
    pub fn set_cache_budget(&self, bytes: usize) {
        self.cache.borrow_mut().set_budget(bytes);
    }

    /// The value cache, for its counters (INFO).
    pub fn value_cache(&self) -> std::cell::Ref<'_, ValueCache> {
        self.cache.borrow()
    }

    /// Whether writes should be reported to the value cache.
    #[inline]
    pub(crate) fn caches_values(&self) -> bool {
        self.cache.borrow().is_enabled()
    }

    /// Applies a committed entry's writes to the value cache, in order: `Some` is the key's new record,
    /// `None` a delete. Call only after the batch holding these writes reached RocksDB.
    pub(crate) fn cache_committed(
        &self,
        writes: impl IntoIterator<Item = (KeyBuf, Option<Record>)>,
    ) {
        let mut cache = self.cache.borrow_mut();
        for (pk, rec) in writes {
            match rec {
                Some(rec) => cache.insert(&pk, rec),
                None => cache.remove(&pk),
            }
        }
    }

    /// Drops cached records of `keys` (physical data keys), after a write of them failed.
    pub(crate) fn cache_forget<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) {
        let mut cache = self.cache.borrow_mut();
        for pk in keys {
            cache.remove(pk);
        }
    }

    /// Drops every cached record. Whoever writes data keys other than through the slot writer (a slot
    /// dropped by a range delete, data ingested for a migration) must call this after the write.
    pub fn clear_value_cache(&self) {
        self.cache.borrow_mut().clear();
    }

    /// The record of `key`, expired or not: from the value cache when it holds it, else from RocksDB (and
    /// then cached). Hot path: a hit is one hash lookup and a copy of a small payload.
    #[inline]
    pub fn get(&self, slot: SlotId, db: u8, key: &[u8]) -> Result<Option<Record>, StorageError> {
        self.get_physical(&KeyCodec::data_key(slot, db, key))
    }

    /// [`Store::get`] by physical data key ([`KeyCodec::data_key`]).
    #[inline]
    pub fn get_physical(&self, pk: &[u8]) -> Result<Option<Record>, StorageError> {
        if let Some(rec) = self.cache.borrow_mut().get(pk) {
            return Ok(Some(rec));
        }
        match self.db.get_pinned(pk)? {
            Some(raw) => {
                let rec = Record::decode(&raw)?;
                let mut cache = self.cache.borrow_mut();
                if cache.is_enabled() {
                    cache.insert(pk, rec.clone());
                }
                Ok(Some(rec))
            }
            None => Ok(None),
        }
    }

    /// The live record of `key` at `now_ms` (expired records read as absent).
    #[inline]
    pub fn get_live(
        &self,
        slot: SlotId,
        db: u8,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<Record>, StorageError> {
        Ok(self.get(slot, db, key)?.filter(|r| !r.is_expired(now_ms)))
    }

    /// The key counts of `slot · db`.
    pub fn counts(&self, slot: SlotId, db: u8) -> Result<KeyCounts, StorageError> {
        if let Some(c) = self.counts.borrow().get(&(slot.0, db)) {
            return Ok(*c);
        }
        let c = match self.db.get_pinned(KeyCodec::slot_counts_key(slot, db))? {
            Some(raw) => KeyCounts::decode(&raw),
            None => KeyCounts::default(),
        };
        self.counts.borrow_mut().insert((slot.0, db), c);
        Ok(c)
    }

    /// Adds the new counts of `slot · db` to `batch`; [`Store::write_with_counts`] caches them once written.
    pub(crate) fn stage_counts(&self, batch: &mut WriteBatch, slot: SlotId, db: u8, c: KeyCounts) {
        batch.put(KeyCodec::slot_counts_key(slot, db), c.encode());
    }

    /// Writes a batch that carries new counts, then caches them.
    pub(crate) fn write_with_counts(
        &self,
        batch: WriteBatch,
        counts: &[(SlotId, u8, KeyCounts)],
    ) -> Result<(), StorageError> {
        self.write(batch)?;
        let mut cache = self.counts.borrow_mut();
        for (slot, db, c) in counts {
            cache.insert((slot.0, *db), *c);
        }
        Ok(())
    }

    /// Zeroes the cached counts of a slot's databases (after a range delete of them, which took their
    /// counts records: a database not cached reads as zero from RocksDB, so it is not added — a FLUSHALL
    /// resets all 254 databases of every slot).
    pub(crate) fn reset_counts(&self, slot: SlotId, databases: impl Iterator<Item = u8>) {
        let mut cache = self.counts.borrow_mut();
        for db in databases {
            if let Some(c) = cache.get_mut(&(slot.0, db)) {
                *c = KeyCounts::default();
            }
        }
    }

    /// Writes a batch (not fsynced: durability is the commit tracker's job). Data keys are written through
    /// [`crate::statemachine::SlotWriter`], which keeps the value cache coherent; any other writer of data
    /// keys must call [`Store::clear_value_cache`] afterwards.
    pub fn write(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.switch_if_owed()?;
        self.write_unswitched(batch)
    }

    /// Writes the batch of a range delete (FLUSHDB or FLUSHALL of one slot) and owes the memtable switch
    /// that must follow it (see [`Store::switch_memtables`]) instead of making it: a FLUSHALL writes one
    /// such batch per slot, and a switch after each one (a flush of a tiny memtable each, the core
    /// waiting for flushes) made a FLUSHALL of 2,000 keys take seconds. The batch may hold only deletes,
    /// range deletes and the slot's applied log id (a put in the raft family, which only a slot import
    /// range-deletes, and an import switches at once): none of them updates in place an entry older than
    /// a tombstone, so they may come before an owed switch. Whoever writes such batches makes the switch
    /// once after the last one ([`Store::switch_if_owed`]); any other write makes it first.
    pub(crate) fn write_range_delete(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.write_unswitched(batch)?;
        self.switch_owed.set(true);
        Ok(())
    }

    /// Whether RocksDB takes writes: an empty batch goes through the same checks as any write, so it fails
    /// while a background error stops writes and succeeds once RocksDB has recovered (it retries by
    /// itself after a full disk). Writes nothing, and never waits: a write stall (too many level-0 files)
    /// answers at once, and counts as taking writes, only slowly. (RocksDB also answers "incomplete" when
    /// it gives up delaying a write because of a background error: that is a refusal.)
    pub fn takes_writes(&self) -> bool {
        let mut opts = WriteOptions::default();
        opts.disable_wal(true);
        opts.set_no_slowdown(true);
        match self.db.write_opt(WriteBatch::default(), &opts) {
            Ok(()) => true,
            Err(e) => {
                e.kind() == rocksdb::ErrorKind::Incomplete && e.as_ref().ends_with("Write stall")
            }
        }
    }

    fn write_unswitched(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.unchecked_bytes
            .set(self.unchecked_bytes.get() + batch.size_in_bytes() as u64);
        self.db.write_opt(batch, &self.write_opts)?;
        Ok(())
    }

    /// Makes the memtable switch owed by range deletes, if one is: at the end of a FLUSH command, from the
    /// purger, after replay. A failure leaves it owed.
    pub fn switch_if_owed(&self) -> Result<(), StorageError> {
        if self.switch_owed.get() {
            self.switch_memtables()?;
        }
        Ok(())
    }

    /// Bytes written since the last [`Store::switch_memtables_at`].
    #[inline]
    pub fn unchecked_bytes(&self) -> u64 {
        self.unchecked_bytes.get()
    }

    /// Switches memtables if one reached `switch_at` bytes; returns whether it did. Call it only between
    /// two write steps (see `tuning::MEMTABLE_SWITCH_QUARTERS`).
    pub fn switch_memtables_at(&self, switch_at: u64) -> Result<bool, StorageError> {
        self.unchecked_bytes.set(0);
        if self.largest_active_memtable() < switch_at {
            return Ok(false);
        }
        self.switch_memtables()?;
        Ok(true)
    }

    /// Visits the live keys of `slot · db` starting at `from` (inclusive, a user key), in storage order
    /// (bucket, then key; see `keycodec::bucket_of`), until `f` returns false. `f` gets the user key and
    /// its record. Keys before `from` in that order are not visited, so a scan resumed at the first key not
    /// yet visited misses none.
    pub fn scan_slot(
        &self,
        slot: SlotId,
        db: u8,
        from: &[u8],
        now_ms: u64,
        mut f: impl FnMut(&[u8], &Record) -> bool,
    ) -> Result<(), StorageError> {
        let mut ro = ReadOptions::default();
        // One bucket per seek: the data family's memtable serves ordered reads only within a prefix.
        ro.set_prefix_same_as_start(true);
        ro.fill_cache(false);
        let mut iter = self.db.raw_iterator_opt(ro);
        let first = keycodec::bucket_of(from);
        for bucket in first..keycodec::DATA_BUCKETS {
            if bucket == first {
                iter.seek(KeyCodec::data_key(slot, db, from));
            } else {
                iter.seek(KeyCodec::bucket_start(slot, db, bucket));
            }
            while let (Some(k), Some(v)) = (iter.key(), iter.value()) {
                let rec = Record::decode(v)?;
                if !rec.is_expired(now_ms) {
                    if let Some((_, _, user_key)) = KeyCodec::decode_data_key(k) {
                        if !f(user_key, &rec) {
                            return Ok(());
                        }
                    }
                }
                iter.next();
            }
            iter.status()?;
        }
        Ok(())
    }

    /// Expire-index entries of `slot · db` due at or before `now_ms`, at most `limit`, oldest first:
    /// `(index key, deadline, user key)`.
    pub fn due_expirations(
        &self,
        slot: SlotId,
        db: u8,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<(Bytes, u64, Bytes)>, StorageError> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(KeyCodec::expire_prefix_end(slot, db).to_vec());
        let start = KeyCodec::expire_prefix(slot, db);
        let iter = self
            .db
            .iterator_opt(IteratorMode::From(&start, Direction::Forward), ro);
        let mut out = Vec::new();
        for item in iter {
            let (k, _) = item?;
            let Some((_, _, deadline, key)) = KeyCodec::decode_expire_key(&k) else {
                continue;
            };
            if deadline > now_ms || out.len() >= limit {
                break;
            }
            out.push((
                Bytes::copy_from_slice(&k),
                deadline,
                Bytes::copy_from_slice(key),
            ));
        }
        Ok(out)
    }

    /// The earliest deadline in the expire index of `slot · db`.
    pub fn next_deadline(&self, slot: SlotId, db: u8) -> Result<Option<u64>, StorageError> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(KeyCodec::expire_prefix_end(slot, db).to_vec());
        let mut iter = self.db.raw_iterator_opt(ro);
        iter.seek(KeyCodec::expire_prefix(slot, db));
        iter.status()?;
        Ok(iter
            .key()
            .and_then(KeyCodec::decode_expire_key)
            .map(|(_, _, deadline, _)| deadline))
    }

    /// `(db, earliest deadline)` of every database of `slot` that has keys with a deadline (start-up: seeds
    /// the expiry schedule with one seek per such database).
    pub fn slot_deadlines(&self, slot: SlotId) -> Result<Vec<(u8, u64)>, StorageError> {
        let mut out = Vec::new();
        let mut db: u16 = 0;
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(
            KeyCodec::expire_prefix_end(slot, keycodec::SLOT_EXPIRE_DB - 1).to_vec(),
        );
        let mut iter = self.db.raw_iterator_opt(ro);
        while db < keycodec::MAX_DATABASES as u16 {
            iter.seek(KeyCodec::expire_prefix(slot, db as u8));
            iter.status()?;
            let Some((_, found_db, deadline, _)) = iter.key().and_then(KeyCodec::decode_expire_key)
            else {
                break;
            };
            out.push((found_db, deadline));
            db = found_db as u16 + 1;
        }
        Ok(out)
    }

    /// The raw last applied log id of `slot` (see `replication::corelog`), if it ever applied one.
    pub fn applied_raw(&self, slot: SlotId) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .db
            .get_cf(self.raft_cf(), KeyCodec::slot_applied_key(slot))?)
    }

    /// The family of the applied log ids.
    pub(crate) fn raft_cf(&self) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(RAFT_CF)
            .expect("the raft column family is created at open")
    }

    /// Switches every family to a new memtable (one atomic flush, not waited for). The data and raft
    /// families update values in place in their mutable memtable (`inplace_update_support`), which keeps
    /// the entry's old sequence number; so after a range delete no entry older than the tombstone may stay
    /// in a mutable memtable (a later in-place write would hide behind the tombstone), and a snapshot must
    /// not see a mutable memtable that later writes change. The switch happens before this returns, and
    /// settles any switch owed ([`Store::write_range_delete`]).
    pub fn switch_memtables(&self) -> Result<(), StorageError> {
        let cfs = all_families(&self.db);
        let mut opts = rocksdb::FlushOptions::default();
        opts.set_wait(false);
        self.db.flush_cfs_opt(&cfs, &opts)?;
        self.switch_owed.set(false);
        Ok(())
    }

    /// A node metadata value.
    pub fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.db.get(KeyCodec::meta_key(name))?)
    }

    /// Writes a node metadata value, synced.
    pub fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        let mut b = WriteBatch::default();
        b.put(KeyCodec::meta_key(name), value);
        self.db.write_opt(b, &wo)?;
        Ok(())
    }

    /// An integer RocksDB property summed over every column family (for INFO). Instance-wide properties
    /// (the shared block cache's usage) are per instance: ask [`Store::instance_property_int`].
    pub fn property_int(&self, name: &str) -> Option<u64> {
        all_families(&self.db)
            .into_iter()
            .map(|cf| self.cf_property(cf, name))
            .sum()
    }

    /// An integer RocksDB property of one column family (`None`: unknown or unreadable).
    fn cf_property(&self, cf: &rocksdb::ColumnFamily, name: &str) -> Option<u64> {
        self.db.property_int_value_cf(cf, name).ok().flatten()
    }

    /// An integer RocksDB property of the instance (asked of the data column family).
    pub fn instance_property_int(&self, name: &str) -> Option<u64> {
        self.db.property_int_value(name).ok().flatten()
    }

    /// The size of the largest mutable memtable holding anything among the families, in bytes (an empty
    /// one is not counted: a hash memtable's bucket array alone can be sizeable).
    pub fn largest_active_memtable(&self) -> u64 {
        let prop = |cf, name| self.cf_property(cf, name).unwrap_or(0);
        all_families(&self.db)
            .into_iter()
            .filter(|&cf| prop(cf, "rocksdb.num-entries-active-mem-table") > 0)
            .map(|cf| prop(cf, "rocksdb.cur-size-active-mem-table"))
            .max()
            .unwrap_or(0)
    }

    /// Whether memtables switched out are still waiting to be flushed (or RocksDB cannot tell).
    pub fn flush_pending(&self) -> bool {
        self.property_int("rocksdb.num-immutable-mem-table")
            .is_none_or(|n| n > 0)
    }

    /// Whether a memtable switch now could wait, on the calling thread, for compactions: RocksDB makes a
    /// switch wait while one more level-0 file would slow writes down (near the level-0 slowdown trigger).
    /// It also waits while one more memtable would (`max_write_buffer_number`), but only for a flush —
    /// and RocksDB's own switch would then delay the writes on the same thread anyway.
    pub fn switch_would_wait(&self) -> bool {
        all_families(&self.db).into_iter().any(|cf| {
            let level0 = self
                .cf_property(cf, "rocksdb.num-files-at-level0")
                .unwrap_or(u64::MAX);
            level0.saturating_add(LEVEL0_MARGIN) >= LEVEL0_SLOWDOWN_TRIGGER
        })
    }

    /// Background errors (failed flushes and compactions) since the instance opened.
    pub fn background_errors(&self) -> u64 {
        self.instance_property_int("rocksdb.background-errors")
            .unwrap_or(0)
    }

    /// Applies live column-family option changes to every family.
    pub fn set_options(&self, opts: &[(&str, &str)]) -> Result<(), StorageError> {
        for cf in all_families(&self.db) {
            self.db.set_options_cf(cf, opts)?;
        }
        Ok(())
    }

    /// Flushes the memtables of every column family in one atomic flush and waits for it: afterwards
    /// everything applied before the call is in SST files. Blocking, and it switches memtables from the
    /// calling thread: the server flushes through its purger instead (node.rs, `flush_and_purge`).
    pub fn flush_all(&self) -> Result<(), StorageError> {
        let cfs = all_families(&self.db);
        let mut opts = rocksdb::FlushOptions::default();
        opts.set_wait(true);
        self.db.flush_cfs_opt(&cfs, &opts)?;
        Ok(())
    }
}

/// Every column family of an instance (flushes take them all at once: `atomic_flush`).
fn all_families(db: &DB) -> Vec<&rocksdb::ColumnFamily> {
    [rocksdb::DEFAULT_COLUMN_FAMILY_NAME, RAFT_CF]
        .into_iter()
        .chain(Family::ALL.iter().map(|f| f.cf_name()))
        .filter_map(|name| db.cf_handle(name))
        .collect()
}

impl Drop for Store {
    /// Background compactions run member filters that read this instance; they are stopped (and waited
    /// for) while the instance is still certainly open.
    fn drop(&mut self) {
        self.db.cancel_all_background_work(true);
    }
}
