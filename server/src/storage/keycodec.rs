//! The physical key layout, in one place.
//!
//! Every key a core writes to RocksDB starts with the 2-byte big-endian slot id, so one slot is one
//! contiguous key range: it can be scanned, copied into a checkpoint, migrated or dropped
//! (DeleteFilesInRange) as a unit. Keys outside any slot (node metadata) start with `0xFF 0xFF`, which no
//! slot id reaches (slots are < 2048).
//!
//! | column family | key                                               | value                    |
//! |---------------|---------------------------------------------------|--------------------------|
//! | `default`     | slot (u16 BE) · db (u8) · user key                | [`Record`](super::record)|
//! | `default`     | slot · `FE` · db · deadline ms (u64 BE) · key     | empty (expire index)     |
//! | `default`     | slot · `FF` · db                                  | key counts of slot · db  |
//! | `default`     | `FF FF` · name                                    | node metadata            |
//!
//! Everything about a slot — its records, its expire index and its key counts — lies inside the slot's
//! range, so a slot is copied, migrated or dropped as one range and stays self-consistent. Within a slot
//! and database the expire index is ordered by deadline, so the keys due now are the first entries of one
//! prefix. Databases are 0..=253; `FE` and `FF` in the database position mark the slot's own metadata.

use crate::slot::SlotId;
use smallvec::SmallVec;

/// A physical key buffer; most keys fit without a heap allocation.
pub type KeyBuf = SmallVec<[u8; 64]>;

/// Prefix of node metadata keys.
pub const META_PREFIX: [u8; 2] = [0xFF, 0xFF];
/// Length of the `slot · db` prefix of a data key.
pub const DATA_PREFIX_LEN: usize = 3;
/// Length of the `slot · FE · db` prefix of an expire-index key.
pub const EXPIRE_PREFIX_LEN: usize = 4;

/// The "database" byte that marks a slot's key counts.
pub const SLOT_META_DB: u8 = 0xFF;
/// The "database" byte that marks a slot's expire index.
pub const SLOT_EXPIRE_DB: u8 = 0xFE;
/// Databases a node can have (0..MAX_DATABASES).
pub const MAX_DATABASES: usize = 254;

/// Encodes and decodes physical keys.
pub struct KeyCodec;

impl KeyCodec {
    /// `slot · db · key`.
    #[inline]
    pub fn data_key(slot: SlotId, db: u8, key: &[u8]) -> KeyBuf {
        let mut out = KeyBuf::with_capacity(DATA_PREFIX_LEN + key.len());
        out.extend_from_slice(&slot.0.to_be_bytes());
        out.push(db);
        out.extend_from_slice(key);
        out
    }

    /// Splits a data key into its parts; `None` for keys that are not data keys.
    #[inline]
    pub fn decode_data_key(raw: &[u8]) -> Option<(SlotId, u8, &[u8])> {
        if raw.len() < DATA_PREFIX_LEN || raw[..2] == META_PREFIX || raw[2] >= SLOT_EXPIRE_DB {
            return None;
        }
        let slot = u16::from_be_bytes([raw[0], raw[1]]);
        Some((SlotId(slot), raw[2], &raw[DATA_PREFIX_LEN..]))
    }

    /// The first key of `slot · db` (inclusive).
    pub fn slot_db_start(slot: SlotId, db: u8) -> [u8; 3] {
        let s = slot.0.to_be_bytes();
        [s[0], s[1], db]
    }

    /// The first key after every key of `slot · db` (exclusive upper bound).
    pub fn slot_db_end(slot: SlotId, db: u8) -> [u8; 3] {
        let s = slot.0.to_be_bytes();
        if db == u8::MAX {
            let n = (slot.0 + 1).to_be_bytes();
            [n[0], n[1], 0]
        } else {
            [s[0], s[1], db + 1]
        }
    }

    /// `[start, end)` of a whole slot, all databases.
    pub fn slot_range(slot: SlotId) -> ([u8; 2], [u8; 2]) {
        (slot.0.to_be_bytes(), (slot.0 + 1).to_be_bytes())
    }

    /// Where the key counts of `slot · db` are kept: inside the slot's range, so they travel with it.
    pub fn slot_counts_key(slot: SlotId, db: u8) -> [u8; 4] {
        let s = slot.0.to_be_bytes();
        [s[0], s[1], SLOT_META_DB, db]
    }

    /// `[start, end)` of every counts record of a slot.
    pub fn slot_counts_range(slot: SlotId) -> ([u8; 3], [u8; 4]) {
        let s = slot.0.to_be_bytes();
        ([s[0], s[1], SLOT_META_DB], [s[0], s[1], SLOT_META_DB, 0xFF])
    }

    /// A node metadata key.
    pub fn meta_key(name: &str) -> Vec<u8> {
        let mut out = META_PREFIX.to_vec();
        out.extend_from_slice(name.as_bytes());
        out
    }

    /// `slot · FE · db · deadline · key` in the expire index.
    pub fn expire_key(slot: SlotId, db: u8, deadline_ms: u64, key: &[u8]) -> KeyBuf {
        let mut out = KeyBuf::with_capacity(EXPIRE_PREFIX_LEN + 8 + key.len());
        out.extend_from_slice(&Self::expire_prefix(slot, db));
        out.extend_from_slice(&deadline_ms.to_be_bytes());
        out.extend_from_slice(key);
        out
    }

    /// The prefix of every expire-index entry of `slot · db`.
    pub fn expire_prefix(slot: SlotId, db: u8) -> [u8; EXPIRE_PREFIX_LEN] {
        let s = slot.0.to_be_bytes();
        [s[0], s[1], SLOT_EXPIRE_DB, db]
    }

    /// The first key after every expire-index entry of `slot · db`.
    pub fn expire_prefix_end(slot: SlotId, db: u8) -> [u8; EXPIRE_PREFIX_LEN + 1] {
        let p = Self::expire_prefix(slot, db);
        [p[0], p[1], p[2], p[3], 0xFF]
    }

    /// Splits an expire-index key into `(slot, db, deadline, key)`.
    pub fn decode_expire_key(raw: &[u8]) -> Option<(SlotId, u8, u64, &[u8])> {
        if raw.len() < EXPIRE_PREFIX_LEN + 8 || raw[2] != SLOT_EXPIRE_DB {
            return None;
        }
        let slot = SlotId(u16::from_be_bytes([raw[0], raw[1]]));
        let deadline = u64::from_be_bytes(
            raw[EXPIRE_PREFIX_LEN..EXPIRE_PREFIX_LEN + 8]
                .try_into()
                .ok()?,
        );
        Some((slot, raw[3], deadline, &raw[EXPIRE_PREFIX_LEN + 8..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_keys_round_trip_and_order_by_slot() {
        let k = KeyCodec::data_key(SlotId(513), 3, b"user:1");
        assert_eq!(&k[..3], &[2, 1, 3]);
        assert_eq!(
            KeyCodec::decode_data_key(&k),
            Some((SlotId(513), 3, &b"user:1"[..]))
        );
        let a = KeyCodec::data_key(SlotId(1), 15, b"zzz");
        let b = KeyCodec::data_key(SlotId(2), 0, b"");
        assert!(a < b);
        assert!(KeyCodec::decode_data_key(&KeyCodec::meta_key("layout")).is_none());
    }

    #[test]
    fn ranges_cover_exactly_their_keys() {
        let k = KeyCodec::data_key(SlotId(7), 2, b"x");
        assert!(k.as_slice() >= &KeyCodec::slot_db_start(SlotId(7), 2)[..]);
        assert!(k.as_slice() < &KeyCodec::slot_db_end(SlotId(7), 2)[..]);
        assert!(k.as_slice() >= &KeyCodec::slot_db_end(SlotId(7), 1)[..]);
        let (lo, hi) = KeyCodec::slot_range(SlotId(7));
        assert!(k.as_slice() >= &lo[..] && k.as_slice() < &hi[..]);
    }

    #[test]
    fn expire_keys_order_by_deadline_within_slot_and_db() {
        let a = KeyCodec::expire_key(SlotId(7), 0, 100, b"zzz");
        let b = KeyCodec::expire_key(SlotId(7), 0, 101, b"a");
        let c = KeyCodec::expire_key(SlotId(7), 1, 1, b"a");
        assert!(a < b && b < c);
        assert_eq!(
            KeyCodec::decode_expire_key(&a),
            Some((SlotId(7), 0, 100, &b"zzz"[..]))
        );
        assert!(
            KeyCodec::decode_data_key(&a).is_none(),
            "index entries are not data keys"
        );
        let (lo, hi) = KeyCodec::slot_range(SlotId(7));
        assert!(
            a.as_slice() > &lo[..] && a.as_slice() < &hi[..],
            "index lies inside the slot"
        );
        assert!(a.as_slice() >= &KeyCodec::expire_prefix(SlotId(7), 0)[..]);
        assert!(b.as_slice() < &KeyCodec::expire_prefix_end(SlotId(7), 0)[..]);
    }
}
