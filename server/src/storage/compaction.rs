//! Compaction filters: reclaim what is dead without a foreground delete.
//!
//! Two kinds: the data family drops expired records by their own header; the member families drop members
//! of collections that were deleted, overwritten or expired, by looking up the collection's metadata record
//! (its version must match the member's). That lookup is why DEL of a million-member hash is O(1).
//!
//! An expired record is invisible to readers as soon as its deadline passes (lazy expiry), and the active
//! expiry cycle deletes the ones it finds in the expire index. Keys that are never touched again and whose
//! index entry is gone are dropped here, when compaction rewrites their SST file. RocksDB turns a removed
//! entry into a tombstone unless it is at the bottom level, so an older version of the key below cannot
//! resurface.

use std::ffi::CStr;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use rocksdb::compaction_filter::{CompactionFilter, Decision};
use rocksdb::compaction_filter_factory::{CompactionFilterContext, CompactionFilterFactory};
use rocksdb::DB;

use super::keycodec::KeyCodec;
use super::record::{decode_header, expire_at_of, ValueType};
use crate::slot::SlotId;

/// Filter for the data column family: drops records whose deadline has passed.
pub fn drop_expired_records(_level: u32, key: &[u8], value: &[u8]) -> Decision {
    if KeyCodec::decode_data_key(key).is_none() {
        return Decision::Keep;
    }
    match expire_at_of(value) {
        Some(deadline) if deadline != 0 && deadline <= now_ms() => Decision::Remove,
        _ => Decision::Keep,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Where the member filters find the metadata records: the instance they run in, set once it is open.
/// Held weakly so a filter never keeps the instance alive; [`super::Store`] cancels background work before
/// it lets go of the instance, so no filter is running when it closes.
pub type DbSlot = Arc<OnceLock<Weak<DB>>>;

/// Makes one [`OrphanFilter`] per compaction run (each is used by a single thread, so it may cache).
pub struct OrphanFilterFactory {
    pub db: DbSlot,
    pub name: &'static CStr,
}

impl CompactionFilterFactory for OrphanFilterFactory {
    type Filter = OrphanFilter;

    fn create(&mut self, _context: CompactionFilterContext) -> OrphanFilter {
        OrphanFilter {
            db: self.db.get().cloned(),
            name: self.name,
            last: None,
            now_ms: now_ms(),
        }
    }

    fn name(&self) -> &CStr {
        self.name
    }
}

/// Filter for the member families (`sub`, `score`): drops members whose collection no longer has them —
/// the metadata record is gone, is not a collection, carries another version (the key was deleted and
/// recreated, or overwritten), or has expired. Consecutive members of one collection share one metadata
/// lookup.
pub struct OrphanFilter {
    db: Option<Weak<DB>>,
    name: &'static CStr,
    /// `(collection prefix, verdict)` of the last collection looked up.
    last: Option<(Vec<u8>, Decision)>,
    now_ms: u64,
}

impl OrphanFilter {
    fn verdict(&self, slot: SlotId, db_index: u8, key: &[u8], version: u64) -> Decision {
        let Some(db) = self.db.as_ref().and_then(Weak::upgrade) else {
            return Decision::Keep;
        };
        let meta = match db.get_pinned(KeyCodec::data_key(slot, db_index, key)) {
            Ok(meta) => meta,
            // When in doubt, keep: a later compaction decides again.
            Err(_) => return Decision::Keep,
        };
        match meta.as_deref().and_then(decode_header) {
            Some((vtype, expire_at, v))
                if vtype != ValueType::String
                    && v == version
                    && (expire_at == 0 || expire_at > self.now_ms) =>
            {
                Decision::Keep
            }
            // A record that cannot be decoded is left alone (and reported by readers).
            None if meta.is_some() => Decision::Keep,
            _ => Decision::Remove,
        }
    }
}

impl CompactionFilter for OrphanFilter {
    fn filter(&mut self, _level: u32, key: &[u8], _value: &[u8]) -> Decision {
        let Some(parts) = KeyCodec::decode_sub_key(key) else {
            return Decision::Keep;
        };
        let prefix = &key[..key.len() - parts.member.len()];
        if let Some((p, d)) = &self.last {
            if p.as_slice() == prefix {
                return clone_decision(d);
            }
        }
        let d = self.verdict(parts.slot, parts.db, parts.key, parts.version);
        self.last = Some((prefix.to_vec(), clone_decision(&d)));
        d
    }

    fn name(&self) -> &CStr {
        self.name
    }
}

fn clone_decision(d: &Decision) -> Decision {
    match d {
        Decision::Remove => Decision::Remove,
        _ => Decision::Keep,
    }
}
