//! [`SlotWriter`]: what a mutation sees while it is applied — the slot's current records (as of the
//! entry's clock) and a batch that is written atomically when the entry is done, together with the slot's
//! updated key counts.
//!
//! The writer is also what keeps the core's value cache (storage/cache.rs) coherent: it records the
//! entry's puts and deletes in order and hands them to the cache only once the batch reached RocksDB.

use bytes::Bytes;
use rocksdb::WriteBatch;

use crate::slot::SlotId;
use crate::storage::keycodec::{KeyBuf, KeyCodec};
use crate::storage::record::{Record, HEADER_LEN};
use crate::storage::{KeyCounts, StorageError, Store};

/// Reads and writes of one log entry against one slot of one database.
pub struct SlotWriter<'a> {
    store: &'a Store,
    pub slot: SlotId,
    pub db: u8,
    /// The entry's clock (Unix ms).
    pub now_ms: u64,
    batch: WriteBatch,
    /// The stored state (expired records included) of every key this entry read or wrote, newest last, so
    /// later reads see the entry's own writes and counting needs no second read.
    overlay: Vec<(Bytes, Option<Record>)>,
    /// Whether the store caches values (read once: nothing can change it while an entry is applied).
    caching: bool,
    /// The entry's writes for the value cache, in order: physical key and new record (`None`: deleted).
    writes: Vec<(KeyBuf, Option<Record>)>,
    /// The entry wiped whole databases (`delete_all`): the value cache is cleared on commit.
    clears_cache: bool,
    counts: Option<KeyCounts>,
    /// Databases of this slot wiped by `delete_all`, whose counts restart from zero.
    wiped: Option<Option<u8>>,
    /// The earliest deadline this entry added to the expire index (the expiry schedule is told after commit).
    pub new_deadline: Option<u64>,
}

impl<'a> SlotWriter<'a> {
    pub fn new(store: &'a Store, slot: SlotId, db: u8, now_ms: u64) -> SlotWriter<'a> {
        SlotWriter {
            store,
            slot,
            db,
            now_ms,
            batch: WriteBatch::default(),
            overlay: Vec::new(),
            caching: store.caches_values(),
            writes: Vec::new(),
            clears_cache: false,
            counts: None,
            wiped: None,
            new_deadline: None,
        }
    }

    /// The stored record of `key`, expired or not.
    pub fn get_stored(&mut self, key: &[u8]) -> Result<Option<Record>, StorageError> {
        if let Some((_, rec)) = self.overlay.iter().rev().find(|(k, _)| k.as_ref() == key) {
            return Ok(rec.clone());
        }
        let rec = self.store.get(self.slot, self.db, key)?;
        self.overlay
            .push((Bytes::copy_from_slice(key), rec.clone()));
        Ok(rec)
    }

    /// The live record of `key` (expired records read as absent).
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Record>, StorageError> {
        let now = self.now_ms;
        Ok(self.get_stored(key)?.filter(|r| !r.is_expired(now)))
    }

    fn adjust(&mut self, old: Option<&Record>, new: Option<&Record>) -> Result<(), StorageError> {
        let mut c = match self.counts {
            Some(c) => c,
            None => self.store.counts(self.slot, self.db)?,
        };
        let volatile = |r: Option<&Record>| r.is_some_and(|r| r.expire_at != 0) as i64;
        c.keys += new.is_some() as i64 - old.is_some() as i64;
        c.volatile += volatile(new) - volatile(old);
        self.counts = Some(c);
        Ok(())
    }

    /// Stores `rec` under `key`. The expire index is kept exact: the old deadline's entry goes, the new
    /// one's comes.
    pub fn put(&mut self, key: &Bytes, rec: Record) -> Result<(), StorageError> {
        let old = self.get_stored(key)?;
        self.adjust(old.as_ref(), Some(&rec))?;
        let old_deadline = old.as_ref().map_or(0, |r| r.expire_at);
        if old_deadline != rec.expire_at {
            if old_deadline != 0 {
                self.batch
                    .delete(KeyCodec::expire_key(self.slot, self.db, old_deadline, key));
            }
            if rec.expire_at != 0 {
                self.batch.put(
                    KeyCodec::expire_key(self.slot, self.db, rec.expire_at, key),
                    [],
                );
                self.new_deadline = Some(
                    self.new_deadline
                        .map_or(rec.expire_at, |d| d.min(rec.expire_at)),
                );
            }
        }
        let pk = KeyCodec::data_key(self.slot, self.db, key);
        let encoded = rec.encode();
        self.batch.put(&pk, &encoded);
        if self.caching {
            // The cached payload is a view of the encoded record (exactly sized, no copy) rather than
            // `rec.payload`, which may be a slice of a connection's read buffer that caching would pin.
            let cached = Record {
                vtype: rec.vtype,
                expire_at: rec.expire_at,
                version: rec.version,
                payload: Bytes::from(encoded).slice(HEADER_LEN..),
            };
            self.writes.push((pk, Some(cached)));
        }
        self.overlay.push((key.clone(), Some(rec)));
        Ok(())
    }

    /// Deletes `key` (and its expire-index entry) if it is stored. Returns whether a record was stored.
    pub fn delete(&mut self, key: &Bytes) -> Result<bool, StorageError> {
        let old = self.get_stored(key)?;
        let Some(old) = old else {
            return Ok(false);
        };
        self.adjust(Some(&old), None)?;
        if old.expire_at != 0 {
            self.batch
                .delete(KeyCodec::expire_key(self.slot, self.db, old.expire_at, key));
        }
        let pk = KeyCodec::data_key(self.slot, self.db, key);
        self.batch.delete(&pk);
        if self.caching {
            self.writes.push((pk, None));
        }
        self.overlay.push((key.clone(), None));
        Ok(true)
    }

    /// Settles an expire-index entry whose record the compaction filter already dropped: the entry goes
    /// and the dropped key leaves the counts (it was counted, with its deadline, until now).
    pub fn settle_dropped(&mut self, raw_index_key: &[u8]) -> Result<(), StorageError> {
        let phantom = Record::string(Bytes::new(), 1, 0);
        self.adjust(Some(&phantom), None)?;
        self.batch.delete(raw_index_key);
        Ok(())
    }

    /// Deletes every key of this slot in `db` (or in every database when `db` is `None`), counts included.
    pub fn delete_all(&mut self, db: Option<u8>) {
        match db {
            Some(db) => {
                let (from, to) = (
                    KeyCodec::slot_db_start(self.slot, db),
                    KeyCodec::slot_db_end(self.slot, db),
                );
                self.batch.delete_range(from, to);
                self.batch.delete_range(
                    &KeyCodec::expire_prefix(self.slot, db)[..],
                    &KeyCodec::expire_prefix_end(self.slot, db)[..],
                );
                self.batch.delete(KeyCodec::slot_counts_key(self.slot, db));
            }
            None => {
                let (from, to) = KeyCodec::slot_range(self.slot);
                self.batch.delete_range(from, to);
            }
        }
        self.overlay.clear();
        // Earlier writes of this entry need not reach the cache: it is cleared on commit (flushes are
        // rare; clearing everything is simpler than finding one slot's keys).
        self.writes.clear();
        self.clears_cache = true;
        self.counts = None;
        self.wiped = Some(db);
    }

    /// Read access to the store, for ops that scan.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// Whether the entry wrote anything.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// Writes the batch atomically, then tells the value cache; returns whether anything was written.
    pub fn commit(mut self) -> Result<bool, StorageError> {
        if self.batch.is_empty() {
            return Ok(false);
        }
        if let Some(wiped) = self.wiped {
            match wiped {
                Some(db) => self.store.reset_counts(self.slot, std::iter::once(db)),
                None => self.store.reset_counts(self.slot, 0..=253u8),
            }
        }
        // An overwrite leaves the counts as they were: then they are not rewritten (most SETs).
        let unchanged = match self.counts {
            Some(c) => c == self.store.counts(self.slot, self.db)?,
            None => true,
        };
        let written = match self.counts {
            Some(c) if !unchanged => {
                self.store
                    .stage_counts(&mut self.batch, self.slot, self.db, c);
                self.store
                    .write_with_counts(self.batch, &[(self.slot, self.db, c)])
            }
            _ => self.store.write(self.batch),
        };
        if let Err(e) = written {
            // The cache was not touched yet, so it still matches RocksDB if the batch left nothing behind;
            // dropping the keys anyway costs nothing and covers a write that failed half-way.
            if self.clears_cache {
                self.store.clear_value_cache();
            }
            self.store
                .cache_forget(self.writes.iter().map(|(pk, _)| &pk[..]));
            return Err(e);
        }
        if self.caching {
            self.store.cache_committed(self.clears_cache, self.writes);
        }
        Ok(true)
    }
}
