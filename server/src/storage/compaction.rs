//! Compaction filters: reclaim what is dead without a foreground delete.
//!
//! An expired record is invisible to readers as soon as its deadline passes (lazy expiry), and the active
//! expiry cycle deletes the ones it finds in the expire index. Keys that are never touched again and whose
//! index entry is gone are dropped here, when compaction rewrites their SST file. RocksDB turns a removed
//! entry into a tombstone unless it is at the bottom level, so an older version of the key below cannot
//! resurface.

use std::time::{SystemTime, UNIX_EPOCH};

use rocksdb::compaction_filter::Decision;

use super::keycodec::KeyCodec;
use super::record::expire_at_of;

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
