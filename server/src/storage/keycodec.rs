//! The physical key layout, in one place.
//!
//! Every key a core writes to RocksDB starts with the 2-byte big-endian slot id, so one slot is one
//! contiguous key range: it can be scanned, copied into a checkpoint, migrated or dropped
//! (DeleteFilesInRange) as a unit. Keys outside any slot (node metadata) start with `0xFF 0xFF`, which no
//! slot id reaches (slots are < 2048).
//!
//! | column family | key                                               | value                    |
//! |---------------|---------------------------------------------------|--------------------------|
//! | `default`     | slot (u16 BE) · db (u8) · bucket (u8) · user key  | [`Record`](super::record)|
//! | `default`     | slot · `FE` · db · deadline ms (u64 BE) · key     | empty (expire index)     |
//! | `default`     | slot · `FF` · db                                  | key counts of slot · db  |
//! | `default`     | slot · `FF` · `FF`                                | next collection version  |
//! | `default`     | `FF FF` · name                                    | node metadata            |
//! | `sub`         | slot · db · keylen (u32 BE) · key · version · sub | member value             |
//! | `raft`        | slot · `FF` · `FE`                                | last applied Raft log id |
//! | `score`       | slot · db · keylen · key · version · score · member | empty                  |
//!
//! Collections (hash, list, set, sorted set) keep a metadata record under their data key (type, deadline,
//! version, member count) and one record per member in the `sub` family: a hash field and its value, a set
//! member (empty value), a list element under its position, a sorted-set member and its score. Sorted sets
//! also keep `score · member` in the `score` family for range queries. The key's length comes first so
//! one collection's members are one contiguous range that no other key's range overlaps ("ab" + version
//! cannot be mistaken for key "a" + something). The version is the metadata record's: a collection that
//! is deleted, expired or overwritten leaves members under a version no metadata record carries, which
//! readers never look at and the compaction filter (storage/compaction.rs) drops. See
//! docs/storage-format.md.
//!
//! A data key's bucket is a hash of the user key ([`bucket_of`], 0..[`DATA_BUCKETS`]). The data family's
//! memtable hashes on `slot · db · bucket` into small skiplists, so a write or a point read walks the
//! entries of one sixteenth of a slot rather than the whole slot's (docs/architecture.md, "Memtable hashed
//! by slot and bucket"). Within a slot and database, keys are therefore ordered by bucket, then key: a scan
//! visits the buckets one after another ([`KeyCodec::bucket_start`]).
//!
//! Everything about a slot — its records, its expire index and its key counts — lies inside the slot's
//! range, so a slot is copied, migrated or dropped as one range and stays self-consistent. Within a slot
//! and database the expire index is ordered by deadline, so the keys due now are the first entries of one
//! key range. Databases are 0..=253; `FE` and `FF` in the database position mark the slot's own metadata.

use crate::slot::SlotId;
use crc::{Crc, Table, CRC_8_SMBUS};
use smallvec::SmallVec;

/// A physical key buffer; most keys fit without a heap allocation.
pub type KeyBuf = SmallVec<[u8; 64]>;

/// Prefix of node metadata keys.
pub const META_PREFIX: [u8; 2] = [0xFF, 0xFF];
/// Length of the `slot · db · bucket` prefix of a data key.
pub const DATA_PREFIX_LEN: usize = 4;
/// Buckets each `slot · db` of the data family is split into. More buckets mean shorter memtable walks
/// for large slots but more seeks for a scan of a small one: at 16, a slot of 50 keys (100,000 on a core)
/// has ~3 per bucket, and a scan of an empty bucket is one prefix-bloom check per file.
pub const DATA_BUCKETS: u8 = 16;
/// The bucket hash. A CRC of another polynomial than the slot's CRC16, so the keys of one slot spread
/// over all buckets; part of the on-disk format, never to change.
const BUCKET_CRC: Crc<u8, Table<16>> = Crc::<u8, Table<16>>::new(&CRC_8_SMBUS);

/// The bucket of a user key (0 for the empty key, which therefore sorts first in its `slot · db`).
#[inline]
pub fn bucket_of(key: &[u8]) -> u8 {
    BUCKET_CRC.checksum(key) % DATA_BUCKETS
}

/// Length of every key of the raft family (`slot · FF · FE`); its memtable hashes on the whole key.
pub const RAFT_KEY_LEN: usize = 4;
/// Length of the `slot · FE · db` prefix of an expire-index key.
pub const EXPIRE_PREFIX_LEN: usize = 4;

/// The "database" byte that marks a slot's key counts.
pub const SLOT_META_DB: u8 = 0xFF;
/// After [`SLOT_META_DB`]: the slot's last applied log id (databases are 0..=253, so `FE` is free).
pub const SLOT_APPLIED: u8 = 0xFE;
/// The "database" byte that marks a slot's expire index.
pub const SLOT_EXPIRE_DB: u8 = 0xFE;
/// Databases a node can have (0..MAX_DATABASES).
pub const MAX_DATABASES: usize = 254;

/// Encodes and decodes physical keys.
pub struct KeyCodec;

impl KeyCodec {
    /// `slot · db · bucket · key`.
    #[inline]
    pub fn data_key(slot: SlotId, db: u8, key: &[u8]) -> KeyBuf {
        let mut out = KeyBuf::with_capacity(DATA_PREFIX_LEN + key.len());
        out.extend_from_slice(&Self::bucket_start(slot, db, bucket_of(key)));
        out.extend_from_slice(key);
        out
    }

    /// `slot · db · bucket`: the prefix, and the first key, of one bucket of a data family.
    #[inline]
    pub fn bucket_start(slot: SlotId, db: u8, bucket: u8) -> [u8; DATA_PREFIX_LEN] {
        let s = slot.0.to_be_bytes();
        [s[0], s[1], db, bucket]
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

/// A decoded member key.
#[derive(Debug, PartialEq, Eq)]
pub struct SubKeyParts<'a> {
    pub slot: SlotId,
    pub db: u8,
    pub key: &'a [u8],
    pub version: u64,
    pub member: &'a [u8],
}

/// Length of the `slot · db` head of a member key (member keys have no bucket byte).
const SUB_HEAD_LEN: usize = 3;

/// Bytes of `slot · db · keylen · key · version` before a member's own bytes.
pub fn sub_prefix_len(key_len: usize) -> usize {
    SUB_HEAD_LEN + 4 + key_len + 8
}

impl KeyCodec {
    /// `slot · db · keylen · key · version`: the prefix of every member of one collection.
    pub fn sub_prefix(slot: SlotId, db: u8, key: &[u8], version: u64) -> KeyBuf {
        let mut out = KeyBuf::with_capacity(sub_prefix_len(key.len()) + 16);
        out.extend_from_slice(&slot.0.to_be_bytes());
        out.push(db);
        out.extend_from_slice(&(key.len() as u32).to_be_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(&version.to_be_bytes());
        out
    }

    /// `sub_prefix · member`.
    pub fn sub_key(slot: SlotId, db: u8, key: &[u8], version: u64, member: &[u8]) -> KeyBuf {
        let mut out = Self::sub_prefix(slot, db, key, version);
        out.extend_from_slice(member);
        out
    }

    /// The first key after every member of the collection (exclusive upper bound of its range).
    pub fn sub_prefix_end(slot: SlotId, db: u8, key: &[u8], version: u64) -> KeyBuf {
        // version + 1 cannot overflow in practice (versions count up from 1); saturate regardless.
        let mut out = Self::sub_prefix(slot, db, key, version);
        let n = out.len();
        match version.checked_add(1) {
            Some(v) => out[n - 8..].copy_from_slice(&v.to_be_bytes()),
            None => out.push(0xFF),
        }
        out
    }

    /// Splits a `sub` or `score` key into its parts.
    pub fn decode_sub_key(raw: &[u8]) -> Option<SubKeyParts<'_>> {
        const KEY_AT: usize = SUB_HEAD_LEN + 4;
        if raw.len() < KEY_AT {
            return None;
        }
        let slot = SlotId(u16::from_be_bytes([raw[0], raw[1]]));
        let key_len = u32::from_be_bytes(raw[SUB_HEAD_LEN..KEY_AT].try_into().ok()?) as usize;
        let key_end = KEY_AT.checked_add(key_len)?;
        if raw.len() < key_end + 8 {
            return None;
        }
        let version = u64::from_be_bytes(raw[key_end..key_end + 8].try_into().ok()?);
        Some(SubKeyParts {
            slot,
            db: raw[2],
            key: &raw[KEY_AT..key_end],
            version,
            member: &raw[key_end + 8..],
        })
    }

    /// Where a slot's last applied Raft log id is kept, in the `raft` family (a slot-range key, so a
    /// snapshot of the slot can carry it).
    pub fn slot_applied_key(slot: SlotId) -> [u8; RAFT_KEY_LEN] {
        let s = slot.0.to_be_bytes();
        [s[0], s[1], SLOT_META_DB, SLOT_APPLIED]
    }

    /// Where a slot's next collection version is kept (inside the slot's range, after its counts).
    pub fn slot_version_key(slot: SlotId) -> [u8; 4] {
        let s = slot.0.to_be_bytes();
        [s[0], s[1], SLOT_META_DB, 0xFF]
    }
}

/// Encodes a score so that byte order is numeric order: -inf < negatives < 0 < positives < +inf. `-0.0`
/// is stored as `0.0` (Redis treats them as one score). NaN is never stored (commands reject it).
#[inline]
pub fn encode_score(score: f64) -> [u8; 8] {
    let score = if score == 0.0 { 0.0 } else { score };
    let bits = score.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    ordered.to_be_bytes()
}

/// The inverse of [`encode_score`].
#[inline]
pub fn decode_score(raw: [u8; 8]) -> f64 {
    let ordered = u64::from_be_bytes(raw);
    let bits = if ordered >> 63 == 1 {
        ordered & !(1 << 63)
    } else {
        !ordered
    };
    f64::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_order_as_numbers() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -1.0,
            -f64::MIN_POSITIVE,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            2.5,
            1e300,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(
                encode_score(w[0]) < encode_score(w[1]),
                "{} < {}",
                w[0],
                w[1]
            );
        }
        for x in xs {
            assert_eq!(decode_score(encode_score(x)), x);
        }
        assert_eq!(encode_score(-0.0), encode_score(0.0));
    }

    #[test]
    fn sub_keys_round_trip_and_do_not_overlap() {
        let k = KeyCodec::sub_key(SlotId(9), 2, b"ab", 7, b"field");
        assert_eq!(
            sub_prefix_len(2),
            KeyCodec::sub_prefix(SlotId(9), 2, b"ab", 7).len()
        );
        assert_eq!(
            KeyCodec::decode_sub_key(&k),
            Some(SubKeyParts {
                slot: SlotId(9),
                db: 2,
                key: b"ab",
                version: 7,
                member: b"field"
            })
        );
        // Key "a" with any member sorts outside key "ab"'s range, and versions do not overlap either.
        let a = KeyCodec::sub_key(SlotId(9), 2, b"a", 7, b"b\0\0\0\0\0\0\0\x07field");
        let (lo, hi) = (
            KeyCodec::sub_prefix(SlotId(9), 2, b"ab", 7),
            KeyCodec::sub_prefix_end(SlotId(9), 2, b"ab", 7),
        );
        assert!(a < lo || a >= hi);
        assert!(k >= lo && k < hi);
        let v8 = KeyCodec::sub_key(SlotId(9), 2, b"ab", 8, b"");
        assert!(v8 >= hi);
        assert!(KeyCodec::decode_sub_key(&k[..9]).is_none());
    }

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
        assert_eq!(k[3], bucket_of(b"user:1"));
        assert_eq!(bucket_of(b""), 0);
    }

    #[test]
    fn the_data_familys_prefix_extractor_follows_this_codec() {
        // tuning::data_prefix spells the layout out for RocksDB; it must agree with the keys made here.
        let (slot, db) = (SlotId(513), 3);
        let k = KeyCodec::data_key(slot, db, b"user:1");
        assert_eq!(
            tuning::data_prefix(&k),
            &KeyCodec::bucket_start(slot, db, k[3])[..]
        );
        let slot_meta = &slot.0.to_be_bytes()[..];
        for meta in [
            KeyCodec::expire_key(slot, db, 99, b"user:1").to_vec(),
            KeyCodec::slot_counts_key(slot, db).to_vec(),
            KeyCodec::slot_version_key(slot).to_vec(),
        ] {
            assert_eq!(&tuning::data_prefix(&meta)[..2], slot_meta);
            assert_eq!(
                tuning::data_prefix(&meta).len(),
                3,
                "one prefix per slot: {meta:?}"
            );
        }
        assert_eq!(
            tuning::data_prefix(&KeyCodec::meta_key("layout")),
            META_PREFIX
        );
    }

    #[test]
    fn the_keys_of_one_slot_spread_over_every_bucket() {
        // The bucket hash must not repeat the slot's CRC16 bits: keys that share a slot still spread.
        let slot = SlotId::of_key(b"key:000000000001");
        let mut per_bucket = [0u32; DATA_BUCKETS as usize];
        let mut n = 0;
        for i in 0..2_000_000u32 {
            let key = format!("key:{i:012}");
            if SlotId::of_key(key.as_bytes()) == slot {
                per_bucket[bucket_of(key.as_bytes()) as usize] += 1;
                n += 1;
            }
        }
        let fair = n / DATA_BUCKETS as u32;
        assert!(n > 500, "{n} keys in the slot");
        for (b, &count) in per_bucket.iter().enumerate() {
            assert!(
                count > fair / 2 && count < fair * 2,
                "bucket {b}: {count} of {n}"
            );
        }
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
