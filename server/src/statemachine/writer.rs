//! [`SlotWriter`]: what a mutation sees while it is applied — the slot's current records (as of the
//! entry's clock) and a batch that is written atomically when the entry is done, together with the slot's
//! updated key counts.
//!
//! The writer is also what keeps the core's value cache (storage/cache.rs) coherent: it records the
//! entry's puts and deletes in order and hands them to the cache only once the batch reached RocksDB.

use bytes::Bytes;
use rocksdb::WriteBatch;

use crate::slot::SlotId;
use crate::storage::collection::{score_member, CollectionMeta, Family, Value};
use crate::storage::keycodec::{KeyBuf, KeyCodec};
use crate::storage::record::{Record, ValueType, HEADER_LEN};
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
    counts: Option<KeyCounts>,
    /// Databases of this slot wiped by `delete_all`, whose counts restart from zero.
    wiped: Option<Option<u8>>,
    /// Something was written or deleted after `delete_all`: the entry is refused at commit.
    stored_after_wipe: bool,
    /// The earliest deadline this entry added to the expire index (the expiry schedule is told after commit).
    pub new_deadline: Option<u64>,
    /// The slot's next collection version after this entry, when it created collections.
    next_version: Option<u64>,
    /// Member writes of this entry (the latest per member), so its own later point reads see them: a map,
    /// since one SADD or SREM may name hundreds of thousands of members.
    member_overlay: ahash::AHashMap<(Family, KeyBuf), Option<Bytes>>,
    /// User keys this entry stored or deleted (repeats possible), for WATCH and blocked clients.
    written: smallvec::SmallVec<[Bytes; 2]>,
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
            counts: None,
            wiped: None,
            stored_after_wipe: false,
            new_deadline: None,
            next_version: None,
            member_overlay: Default::default(),
            written: smallvec::SmallVec::new(),
        }
    }

    /// Records `key` as written by this entry without rewriting its record: a collection whose members
    /// changed while its metadata did not (HSET of an existing field) is still a write to the key for
    /// WATCH and blocked clients.
    pub fn touch(&mut self, key: &Bytes) {
        self.written.push(key.clone());
    }

    /// The keys this entry stored or deleted so far (repeats possible), and the databases of the slot it
    /// wiped (`Some(None)`: every database). Read before [`SlotWriter::commit`].
    pub fn written(&self) -> (&[Bytes], Option<Option<u8>>) {
        (&self.written, self.wiped)
    }

    /// A fresh version for a collection created by this entry: never handed out before in this slot
    /// (since its last FLUSHALL, which also wiped every member), the same on every replica.
    pub fn new_version(&mut self) -> Result<u64, StorageError> {
        let v = match self.next_version {
            Some(v) => v,
            None => self.store.next_version(self.slot)?,
        };
        self.next_version = Some(v + 1);
        Ok(v)
    }

    /// A new, empty collection record of `vtype` (with a fresh version, no deadline). Not stored until
    /// [`SlotWriter::put`].
    pub fn new_collection(&mut self, vtype: ValueType) -> Result<Record, StorageError> {
        let version = self.new_version()?;
        Ok(CollectionMeta::empty(vtype).record(vtype, 0, version))
    }

    /// The stored value of a member, this entry's own writes included.
    pub fn get_member(
        &mut self,
        family: Family,
        key: &[u8],
        version: u64,
        member: &[u8],
    ) -> Result<Option<Bytes>, StorageError> {
        if !self.member_overlay.is_empty() {
            let k = KeyCodec::sub_key(self.slot, self.db, key, version, member);
            if let Some(v) = self.member_overlay.get(&(family, k)) {
                return Ok(v.clone());
            }
        }
        self.store
            .get_member(family, self.slot, self.db, key, version, member)
    }

    /// Stores a member. The caller keeps the metadata record's count right.
    pub fn put_member(
        &mut self,
        family: Family,
        key: &[u8],
        version: u64,
        member: &[u8],
        value: &[u8],
    ) {
        self.stored_after_wipe |= self.wiped.is_some();
        let k = KeyCodec::sub_key(self.slot, self.db, key, version, member);
        self.batch.put_cf(self.store.cf(family), &k, value);
        self.member_overlay
            .insert((family, k), Some(Bytes::copy_from_slice(value)));
    }

    /// Deletes a member. The caller keeps the metadata record's count right.
    pub fn delete_member(&mut self, family: Family, key: &[u8], version: u64, member: &[u8]) {
        self.stored_after_wipe |= self.wiped.is_some();
        let k = KeyCodec::sub_key(self.slot, self.db, key, version, member);
        self.batch.delete_cf(self.store.cf(family), &k);
        self.member_overlay.insert((family, k), None);
    }

    /// Stores a sorted-set member with its score in both orders (`sub`: member → score, `score`:
    /// score · member). `old` is the member's current score, whose `score` entry goes.
    pub fn put_scored(
        &mut self,
        key: &[u8],
        version: u64,
        member: &[u8],
        score: f64,
        old: Option<f64>,
    ) {
        if let Some(old) = old {
            self.delete_member(Family::Score, key, version, &score_member(old, member));
        }
        self.put_member(
            Family::Sub,
            key,
            version,
            member,
            &crate::storage::collection::score_value(score),
        );
        self.put_member(
            Family::Score,
            key,
            version,
            &score_member(score, member),
            &[],
        );
    }

    /// Deletes a sorted-set member whose current score is `score`, from both orders.
    pub fn delete_scored(&mut self, key: &[u8], version: u64, member: &[u8], score: f64) {
        self.delete_member(Family::Sub, key, version, member);
        self.delete_member(Family::Score, key, version, &score_member(score, member));
    }

    /// Stores a whole key (RENAME, COPY, cross-slot moves): a string as is; a collection under a fresh
    /// version with every member (the `score` order of a sorted set is rebuilt from its members). Whatever
    /// `key` held before is replaced (its members are orphaned by version).
    pub fn put_value(&mut self, key: &Bytes, value: &Value) -> Result<(), StorageError> {
        let mut record = value.record.clone();
        if record.vtype != ValueType::String {
            record.version = self.new_version()?;
            for (member, v) in &value.members {
                self.put_member(Family::Sub, key, record.version, member, v);
                if record.vtype == ValueType::ZSet {
                    let score = crate::storage::collection::parse_score_value(v)?;
                    self.put_member(
                        Family::Score,
                        key,
                        record.version,
                        &score_member(score, member),
                        &[],
                    );
                }
            }
        }
        self.put(key, record)
    }

    /// The stored record of `key`, expired or not.
    pub fn get_stored(&mut self, key: &[u8]) -> Result<Option<Record>, StorageError> {
        self.stored_at(key, None)
    }

    /// [`Self::get_stored`], given the key's physical key when the caller built it already (a write
    /// needs it too: it is not hashed and copied twice).
    fn stored_at(&mut self, key: &[u8], pk: Option<&[u8]>) -> Result<Option<Record>, StorageError> {
        if let Some((_, rec)) = self.overlay.iter().rev().find(|(k, _)| k.as_ref() == key) {
            return Ok(rec.clone());
        }
        let rec = match pk {
            Some(pk) => self.store.get_physical(pk)?,
            None => self.store.get(self.slot, self.db, key)?,
        };
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
        self.stored_after_wipe |= self.wiped.is_some();
        let pk = KeyCodec::data_key(self.slot, self.db, key);
        let old = self.stored_at(key, Some(&pk))?;
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
        self.written.push(key.clone());
        Ok(())
    }

    /// Deletes `key` (and its expire-index entry) if it is stored. Returns whether a record was stored.
    pub fn delete(&mut self, key: &Bytes) -> Result<bool, StorageError> {
        self.stored_after_wipe |= self.wiped.is_some();
        let pk = KeyCodec::data_key(self.slot, self.db, key);
        let old = self.stored_at(key, Some(&pk))?;
        let Some(old) = old else {
            return Ok(false);
        };
        self.adjust(Some(&old), None)?;
        if old.expire_at != 0 {
            self.batch
                .delete(KeyCodec::expire_key(self.slot, self.db, old.expire_at, key));
        }
        self.batch.delete(&pk);
        if self.caching {
            self.writes.push((pk, None));
        }
        self.overlay.push((key.clone(), None));
        self.written.push(key.clone());
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
    /// Nothing may be stored or deleted after it in the same entry: the batch is written without the
    /// memtable switch a range delete needs before the next put (see `Store::write_range_delete`), and the
    /// wiped databases' counts restart from zero. Commit refuses an entry that does
    /// ([`StorageError::StoredAfterWipe`]).
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
                for family in Family::ALL {
                    self.batch.delete_range_cf(self.store.cf(family), from, to);
                }
            }
            None => {
                let (from, to) = KeyCodec::slot_range(self.slot);
                self.batch.delete_range(from, to);
                for family in Family::ALL {
                    self.batch.delete_range_cf(self.store.cf(family), from, to);
                }
                // The version counter went with the range: versions restart, and so do members.
                self.next_version = None;
            }
        }
        self.member_overlay.clear();
        self.overlay.clear();
        // Earlier writes of this entry need not reach the cache: it is cleared on commit.
        self.writes.clear();
        self.counts = None;
        self.wiped = Some(db);
    }

    /// Read access to the store, for ops that scan.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// Stores `log_id` (encoded) as the slot's last applied log id, in this entry's batch: the data and
    /// the position in the log reach RocksDB together.
    pub fn set_applied(&mut self, log_id: &[u8]) {
        self.batch.put_cf(
            self.store.raft_cf(),
            KeyCodec::slot_applied_key(self.slot),
            log_id,
        );
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
            // A wipe stores nothing after its range deletes (see `delete_all`): such an entry is a bug in
            // its mutation, refused whole rather than written without the switch its puts need.
            if self.stored_after_wipe {
                return Err(StorageError::StoredAfterWipe);
            }
            let written = self.store.write_range_delete(self.batch);
            // Flushes are rare: the whole value cache goes rather than one slot's keys (after a refused
            // write too, which costs nothing and covers one that failed half-way).
            self.store.clear_value_cache();
            written?;
            // Only once the write went in: a refused one leaves the cached counts as RocksDB still has them
            // (DBSIZE and FLUSH* read them).
            match wiped {
                Some(db) => self.store.reset_counts(self.slot, std::iter::once(db)),
                None => {
                    self.store.reset_counts(self.slot, 0..=253u8);
                    self.store.forget_versions(self.slot);
                }
            }
            return Ok(true);
        }
        if let Some(next) = self.next_version {
            self.batch
                .put(KeyCodec::slot_version_key(self.slot), next.to_be_bytes());
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
            self.store
                .cache_forget(self.writes.iter().map(|(pk, _)| &pk[..]));
            return Err(e);
        }
        if let Some(next) = self.next_version {
            self.store.set_next_version(self.slot, next);
        }
        if self.caching {
            self.store.cache_committed(self.writes);
        }
        Ok(true)
    }
}
